package testbed

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Machine describes the host a benchmark runs on.
type Machine struct {
	CPUs     int
	CPUModel string // "?" if unknown
	Kernel   string // "" if unknown
	MemTotal string // "?" if unknown
	Go       string
	LoadAvg  string // "" if unknown
}

// DescribeMachine reads the host's description from /proc.
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadAvg: LoadAvg()}
	m.CPUModel = ProcField("/proc/cpuinfo", "model name")
	m.MemTotal = ProcField("/proc/meminfo", "MemTotal")
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// LoadAvg returns the 1, 5 and 15 minute load averages ("0.52 0.40 0.31"),
// "" if /proc/loadavg cannot be read.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// ProcField returns the value of the first "key: value" line of a file
// such as /proc/cpuinfo, "?" if there is none.
func ProcField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
