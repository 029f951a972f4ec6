package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// PidfileInUseError is returned by CreatePidfile when another live process
// of ours already owns the pidfile.
type PidfileInUseError struct {
	Path string // the pidfile
	PID  int    // the process that owns it
}

func (e *PidfileInUseError) Error() string {
	return fmt.Sprintf("pidfile %s already in use by pid %d", e.Path, e.PID)
}

// fileID identifies a file independently of its name.
type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, true
}

// held lists the pidfiles this process holds. POSIX record locks belong to
// the whole process, and closing any descriptor of a locked file drops
// them, so CreatePidfile must not even open a pidfile this process holds.
// Being process-wide, this has to be a package variable (OVS keeps the same
// thing in its pidfile_dev/pidfile_ino statics).
var held = struct {
	sync.Mutex
	ids map[fileID]bool // guarded by the mutex
}{ids: make(map[fileID]bool)}

// CreatePidfile writes this process's PID to path and holds it, the way
// OVS daemons do, so that "ovs-appctl -t <program>" accepts it.
//
// The PID is written to path+".tmp" under an fcntl write lock, then
// renamed over path, so readers never see a partial file. The lock stays
// held, on an open descriptor, until release: OVS clients treat an
// unlocked pidfile as stale, and they check that the lock's owner is the
// PID in the file. This is why it is a classic POSIX lock and not an
// open-file-description lock (which reports pid -1), and why nothing in
// this process may open and close the pidfile while it is held: closing
// any descriptor of the file drops the lock.
//
// An existing pidfile is in use (a *PidfileInUseError) if some process holds
// its lock, or if it names a live process running the same program (by the
// base name of argv[0]) other than us. Otherwise it is stale and is
// replaced. A concurrent start with the same path fails on the lock of
// path+".tmp".
//
// release removes the pidfile if it is still the file we created and
// still holds our PID, then drops the lock. It is safe to call more than
// once.
func CreatePidfile(path string) (release func() error, err error) {
	pid := os.Getpid()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create pidfile: %w", err)
	}
	locked := false
	done := false
	defer func() {
		if done {
			return
		}
		if locked {
			// The lock makes the temporary file ours to delete.
			_ = os.Remove(tmp)
		}
		_ = f.Close()
	}()

	if err := setLock(f, syscall.F_SETLK, syscall.F_WRLCK); err != nil {
		return nil, fmt.Errorf("lock %s (is another process creating pidfile %s?): %w", tmp, path, err)
	}
	// We may have locked a file that another starter renamed to path
	// after we opened it.
	ours, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", tmp, err)
	}
	if cur, err := os.Stat(tmp); err != nil || !os.SameFile(cur, ours) {
		return nil, fmt.Errorf("create pidfile %s: lost a race with another process starting", path)
	}
	locked = true

	if err := checkExisting(path, pid); err != nil {
		return nil, err
	}
	content := []byte(strconv.Itoa(pid) + "\n")
	if err := f.Truncate(0); err != nil {
		return nil, fmt.Errorf("truncate %s: %w", tmp, err)
	}
	if _, err := f.WriteAt(content, 0); err != nil {
		return nil, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("install pidfile: %w", err)
	}

	id, _ := idOf(ours)
	held.Lock()
	held.ids[id] = true
	held.Unlock()
	done = true

	var once sync.Once
	var releaseErr error
	release = func() error {
		once.Do(func() { releaseErr = releasePidfile(f, ours, id, path, content) })
		return releaseErr
	}
	return release, nil
}

// releasePidfile removes path if it is still our file with our content,
// then closes f, which drops the lock.
func releasePidfile(f *os.File, ours fs.FileInfo, id fileID, path string, content []byte) error {
	var errs []error
	// Stat, unlike open, does not disturb the lock.
	if cur, err := os.Stat(path); err == nil && os.SameFile(cur, ours) {
		buf := make([]byte, 64)
		n, err := f.ReadAt(buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			errs = append(errs, fmt.Errorf("read pidfile %s: %w", path, err))
		} else if bytes.Equal(buf[:n], content) {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove pidfile: %w", err))
			}
		}
	}
	held.Lock()
	delete(held.ids, id)
	held.Unlock()
	if err := f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close pidfile %s: %w", path, err))
	}
	return errors.Join(errs...)
}

// checkExisting returns a *PidfileInUseError if the pidfile at path
// belongs to a live process, nil if there is none or it is stale.
func checkExisting(path string, self int) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check pidfile: %w", err)
	}
	if id, ok := idOf(fi); ok {
		held.Lock()
		mine := held.ids[id]
		held.Unlock()
		if mine {
			return &PidfileInUseError{Path: path, PID: self}
		}
	}

	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed meanwhile
	}
	if err != nil {
		return fmt.Errorf("check pidfile: %w", err)
	}
	defer func() { _ = f.Close() }() // not our lock: closing is harmless

	owner, err := lockOwner(f)
	if err != nil {
		return fmt.Errorf("check lock on pidfile %s: %w", path, err)
	}
	buf := make([]byte, 128)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read pidfile %s: %w", path, err)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 0 {
		pid = 0
	}
	switch {
	case owner > 0:
		return &PidfileInUseError{Path: path, PID: owner}
	case owner < 0: // locked, owner unknown: trust the file
		return &PidfileInUseError{Path: path, PID: pid}
	case pid == 0 || pid == self:
		// Unlocked and garbage, or naming our own PID, left by an earlier
		// process (PIDs repeat, notably in containers): stale.
		return nil
	case sameProgram(pid):
		// Unlocked, but a live process of ours, perhaps one that does not
		// lock its pidfile.
		return &PidfileInUseError{Path: path, PID: pid}
	}
	return nil
}

// sameProgram reports whether process pid is alive and runs a program
// with the same name (base name of argv[0]) as this process.
func sameProgram(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false // gone, or not ours to see
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if len(argv0) == 0 {
		return false // a zombie or kernel thread
	}
	return filepath.Base(string(argv0)) == filepath.Base(os.Args[0])
}

func setLock(f *os.File, cmd int, typ int16) error {
	lk := syscall.Flock_t{Type: typ, Whence: io.SeekStart}
	for {
		err := syscall.FcntlFlock(f.Fd(), cmd, &lk)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// lockOwner returns the PID holding a conflicting lock on f, or 0.
func lockOwner(f *os.File) (int, error) {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return 0, err
	}
	if lk.Type == syscall.F_UNLCK {
		return 0, nil
	}
	if lk.Pid <= 0 {
		// An open-file-description lock: held, owner unknown.
		return -1, nil
	}
	return int(lk.Pid), nil
}
