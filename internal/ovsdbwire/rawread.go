package ovsdbwire

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// rawReader reads a socket with a raw read(2) from inside the runtime's
// poller callback instead of through net.Conn.Read.
//
// Why: a Go syscall (net.Conn.Read) tells the scheduler it may block, and
// when the process was idle that wakes the runtime's monitor thread
// (sysmon), which then polls every 20 µs until the process is idle again.
// A daemon woken by one small update notification at a time paid for that
// on every message: on the benchmark machine sysmon was a fifth of
// vtepgw's CPU per SB change. The socket is non-blocking, so the raw read
// returns at once (EAGAIN hands the wait back to the poller), and nothing
// else changes: deadlines and Close work as with Read.
type rawReader struct {
	rc syscall.RawConn
}

// newReader returns a raw reader for c when it is a plain socket (tcp,
// unix), and c itself otherwise (TLS).
func newReader(c net.Conn) io.Reader {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &rawReader{rc: rc}
}

func (r *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
				n, errno = int(r1), 0
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait for the poller
			default:
				n, errno = 0, e
				return true
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
