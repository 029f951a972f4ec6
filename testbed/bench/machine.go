package main

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/vtepgw/vtepgw/testbed"
)

// cpuTime returns the CPU time (user+system, all threads, exited ones
// included) used so far by process pid. It reads the process's CPU-time
// clock (clock_getcpuclockid(3): CPUCLOCK_SCHED of the thread group), which
// counts in nanoseconds; /proc/PID/stat's utime+stime is the same quantity
// rounded to 10 ms ticks, too coarse for a 0.1 ms budget. Falls back to
// /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	const cpuclockSched = 2
	clk := (^uintptr(pid) << 3) | cpuclockSched
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clk, uintptr(unsafe.Pointer(&ts)), 0); e == 0 {
		return time.Duration(ts.Nano()), nil
	}
	return testbed.CPUTime(pid)
}

// machine describes where the benchmark ran.
type machine struct {
	testbed.Machine
	Packages []string // "name version"
	VTEPGW   string   // vtepgw --version
	Ref      string   // ovn-controller-vtep --version, first line
}

func describeMachine(vtepgwBin string) machine {
	m := machine{Machine: testbed.DescribeMachine()}
	for _, p := range []string{"ovn-controller-vtep", "ovn-central", "ovn-common", "openvswitch-switch", "openvswitch-common"} {
		out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", p).Output()
		v := strings.TrimSpace(string(out))
		if err != nil || v == "" {
			v = "?"
		}
		m.Packages = append(m.Packages, p+" "+v)
	}
	if out, err := exec.Command(vtepgwBin, "--version").CombinedOutput(); err == nil {
		m.VTEPGW = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	if bin, err := testbed.Lookup(testbed.BinControllerVTEP); err == nil {
		if out, err := exec.Command(bin, "--version").CombinedOutput(); err == nil {
			m.Ref = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
	}
	return m
}

func (m machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %s, Linux %s, %s", m.CPUs, m.CPUModel, m.MemTotal, m.Kernel, m.Go)
}
