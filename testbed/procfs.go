package testbed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStat holds the fields of /proc/PID/stat the testbed uses.
type procStat struct {
	comm         string
	state        byte
	ppid         int
	utime, stime uint64 // clock ticks
}

var errBadProcFile = errors.New("malformed proc file")

// parseStat parses the content of /proc/PID/stat. comm may contain spaces
// and parentheses, so the fields after it are found from the last ')'.
func parseStat(data []byte) (procStat, error) {
	var st procStat
	open := bytes.IndexByte(data, '(')
	closing := bytes.LastIndexByte(data, ')')
	if open < 0 || closing < open {
		return st, fmt.Errorf("stat: no (comm): %w", errBadProcFile)
	}
	st.comm = string(data[open+1 : closing])
	// Fields from 3 (state) on; utime and stime are fields 14 and 15.
	f := strings.Fields(string(data[closing+1:]))
	if len(f) < 13 || len(f[0]) != 1 {
		return st, fmt.Errorf("stat: %d fields after comm: %w", len(f), errBadProcFile)
	}
	st.state = f[0][0]
	var err error
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return st, fmt.Errorf("stat: ppid: %w", err)
	}
	if st.utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return st, fmt.Errorf("stat: utime: %w", err)
	}
	if st.stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return st, fmt.Errorf("stat: stime: %w", err)
	}
	return st, nil
}

func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(data)
	if err != nil {
		return st, fmt.Errorf("pid %d: %w", pid, err)
	}
	return st, nil
}

// CPUTime returns the user+system CPU time used so far by any process
// (utime+stime from /proc/PID/stat). Children are not included.
func CPUTime(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, fmt.Errorf("cpu time of pid %d: %w", pid, err)
	}
	return ticksToDuration(st.utime+st.stime, clockTicks()), nil
}

func ticksToDuration(ticks, hz uint64) time.Duration {
	return time.Duration(ticks) * (time.Second / time.Duration(hz))
}

var clockTicks = sync.OnceValue(func() uint64 {
	// sysconf(_SC_CLK_TCK) without cgo: the AT_CLKTCK entry of the aux vector.
	if data, err := os.ReadFile("/proc/self/auxv"); err == nil {
		if hz := parseAuxvClkTck(data); hz > 0 {
			return hz
		}
	}
	return 100 // USER_HZ on every Linux architecture Go supports
})

func parseAuxvClkTck(data []byte) uint64 {
	const atClkTck = 17
	for len(data) >= 16 {
		k := binary.NativeEndian.Uint64(data)
		v := binary.NativeEndian.Uint64(data[8:])
		if k == 0 {
			break
		}
		if k == atClkTck {
			return v
		}
		data = data[16:]
	}
	return 0
}

// MemStats is the memory use of a process, in bytes.
type MemStats struct {
	RSS uint64 // VmRSS: resident set size now
	HWM uint64 // VmHWM: peak resident set size
}

// Memory returns the resident set size and its peak for any process
// (VmRSS and VmHWM from /proc/PID/status).
func Memory(pid int) (MemStats, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return MemStats{}, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	m, err := parseStatus(data)
	if err != nil {
		return m, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	return m, nil
}

func parseStatus(data []byte) (MemStats, error) {
	var m MemStats
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("status: %s: %q: %w", key, val, errBadProcFile)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("status: %s: %w", key, err)
		}
		if key == "VmRSS" {
			m.RSS = kb * 1024
		} else {
			m.HWM = kb * 1024
		}
		seen++
	}
	if seen != 2 {
		// Kernel threads and zombies have no Vm* lines.
		return m, fmt.Errorf("status: no VmRSS/VmHWM: %w", errBadProcFile)
	}
	return m, nil
}

// ListeningPorts returns the TCP ports on which process pid listens on
// 127.0.0.1, sorted. It matches the socket inodes in /proc/PID/fd against
// /proc/PID/net/tcp, so it does not depend on the program's log format.
func ListeningPorts(pid int) ([]int, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, fmt.Errorf("listening ports of pid %d: %w", pid, err)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return nil, fmt.Errorf("listening ports of pid %d: %w", pid, err)
	}
	socks, err := parseProcNetTCP(data)
	if err != nil {
		return nil, fmt.Errorf("listening ports of pid %d: %w", pid, err)
	}
	var ports []int
	for _, s := range socks {
		if s.listen && s.loopback && inodes[s.inode] {
			ports = append(ports, s.port)
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

func socketInodes(pid int) (map[uint64]bool, error) {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	inodes := map[uint64]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	return inodes, nil
}

type tcpSocket struct {
	port     int
	loopback bool // local address 127.0.0.1
	listen   bool
	inode    uint64
}

// parseProcNetTCP parses /proc/net/tcp (IPv4 only).
func parseProcNetTCP(data []byte) ([]tcpSocket, error) {
	var socks []tcpSocket
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "local_address") {
		return nil, fmt.Errorf("net/tcp: no header: %w", errBadProcFile)
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			return nil, fmt.Errorf("net/tcp: %q: %w", line, errBadProcFile)
		}
		addr, port, ok := strings.Cut(f[1], ":")
		if !ok || len(addr) != 8 {
			return nil, fmt.Errorf("net/tcp: local address %q: %w", f[1], errBadProcFile)
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			return nil, fmt.Errorf("net/tcp: port %q: %w", port, err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("net/tcp: inode %q: %w", f[9], err)
		}
		socks = append(socks, tcpSocket{
			port: int(p),
			// The address is the in-memory (network order) u32 printed as
			// host-order hex: 127.0.0.1 is 0100007F on little endian.
			loopback: addr == hostOrderHex([4]byte{127, 0, 0, 1}),
			listen:   f[3] == "0A",
			inode:    inode,
		})
	}
	return socks, nil
}

func hostOrderHex(ip [4]byte) string {
	return fmt.Sprintf("%08X", binary.NativeEndian.Uint32(ip[:]))
}
