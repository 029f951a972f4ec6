package testbed

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VtepgwPackage is the import path of the daemon BuildVtepgw compiles.
const VtepgwPackage = "github.com/vtepgw/vtepgw/cmd/vtepgw"

// BuildVtepgw compiles the vtepgw daemon into out (with the race detector
// when race is set). It uses the go command on PATH (go test puts its own
// first), else the one of the running toolchain's GOROOT.
func BuildVtepgw(out string, race bool) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		//lint:ignore SA1019 the fallback for a test binary run off PATH: the toolchain it was built with
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	args = append(args, VtepgwPackage)
	cmd := exec.Command(goBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", goBin, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// VtepgwMainOptions configure VtepgwMain.
type VtepgwMainOptions struct {
	// TempPrefix names the temporary directory the daemon is built in
	// ("vtepgw-e2e").
	TempPrefix string
	// RaceEnv is the environment variable that, set to 1, builds the
	// daemon with the race detector (VTEPGW_E2E_RACE).
	RaceEnv string
	// Prebuilt lets $VTEPGW_BIN name a prebuilt daemon instead.
	Prebuilt bool
}

// VtepgwMain is the body of a TestMain for packages that run the daemon:
// it builds vtepgw once into a temporary directory and stores its path in
// *bin, runs the tests, then fails if any process outlived them
// (CheckLeaks). It returns the exit code: os.Exit(testbed.VtepgwMain(...)).
func VtepgwMain(m *testing.M, bin *string, opts VtepgwMainOptions) int {
	dir, err := os.MkdirTemp("", opts.TempPrefix)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, "vtepgw")
	if prebuilt := os.Getenv("VTEPGW_BIN"); opts.Prebuilt && prebuilt != "" {
		*bin = prebuilt
	} else if err := BuildVtepgw(*bin, opts.RaceEnv != "" && os.Getenv(opts.RaceEnv) == "1"); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: build vtepgw: %v\n", err)
		return 1
	}
	code := m.Run()
	if err := CheckLeaks(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: leaked processes:\n%v\n", err)
		code = 1
	}
	return code
}

// VtepgwOptions configure StartVtepgw.
type VtepgwOptions struct {
	// Bin is the vtepgw binary.
	Bin string
	// SBRemote and VTEPRemotes are passed as --ovnsb-db and --vtep-db.
	SBRemote    string
	VTEPRemotes []string
	// Config is the YAML configuration (written to a file, --config).
	Config string
	// Metrics serves /metrics on a 127.0.0.1 port the kernel picks.
	Metrics bool
	// Args are extra command-line flags, after the others.
	Args []string
	// LogPerStart gives every start its own log file (vtepgw.N.log) and
	// process name (vtepgw-N), so that log checks see one run. Without
	// it every start appends to vtepgw.log.
	LogPerStart bool
	// FailLogLines is how many trailing lines of each log file are
	// logged when the test fails (0: none beyond the testbed's own 20).
	FailLogLines int
}

// Vtepgw is a running vtepgw daemon, started the way OVN's tests start
// ovn-controller-vtep. Process is the current (last started) process;
// Restart or Start starts it again in the same directory. When the test
// ends, after the processes have been stopped, a data race reported by a
// daemon built with -race fails the test.
type Vtepgw struct {
	*Process
	Opts VtepgwOptions
	// Dir is the daemon's directory; Ctl its control socket; CfgFile the
	// configuration file ("" without Config); LogFile the current log.
	Dir, LogFile, Ctl, PidFile, CfgFile string
	// Logs and Procs hold every start's log file and process.
	Logs  []string
	Procs []*Process

	metricsPort int
}

// StartVtepgw starts vtepgw and waits for its control socket (and its
// metrics listener with Metrics). It fails the test on error.
func StartVtepgw(t testing.TB, opts VtepgwOptions) *Vtepgw {
	t.Helper()
	dir := NewDir(t)
	g := &Vtepgw{Opts: opts, Dir: dir, Ctl: filepath.Join(dir, "vtepgw.ctl"), PidFile: filepath.Join(dir, "vtepgw.pid")}
	if opts.Config != "" {
		g.CfgFile = filepath.Join(dir, "vtepgw.yaml")
		if err := os.WriteFile(g.CfgFile, []byte(opts.Config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Registered before the processes' own cleanups, so it runs after
	// them: the output and logs are complete.
	t.Cleanup(func() {
		for _, p := range g.Procs {
			if out, err := os.ReadFile(p.OutputPath()); err == nil && bytes.Contains(out, []byte("DATA RACE")) {
				t.Errorf("%s reported a data race:\n%s", p.Name(), out)
			}
		}
		if opts.FailLogLines == 0 || !t.Failed() {
			return
		}
		for _, f := range g.Logs {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			n := min(len(lines), opts.FailLogLines)
			t.Logf("vtepgw log %s (last %d lines):\n%s", f, n, strings.Join(lines[len(lines)-n:], "\n"))
		}
	})
	g.Start(t)
	return g
}

// Start starts a new daemon process (the previous one must have exited)
// and waits until it is ready.
func (g *Vtepgw) Start(t testing.TB) {
	t.Helper()
	name, logFile := "vtepgw", filepath.Join(g.Dir, "vtepgw.log")
	if g.Opts.LogPerStart {
		n := len(g.Procs) + 1
		name, logFile = fmt.Sprintf("vtepgw-%d", n), filepath.Join(g.Dir, fmt.Sprintf("vtepgw.%d.log", n))
	}
	if len(g.Logs) == 0 || g.Logs[len(g.Logs)-1] != logFile {
		g.Logs = append(g.Logs, logFile)
	}
	g.LogFile = logFile
	args := []string{"-vconsole:off", "--ovnsb-db=" + g.Opts.SBRemote,
		"--pidfile=" + g.PidFile, "--log-file=" + logFile, "--unixctl=" + g.Ctl}
	for _, r := range g.Opts.VTEPRemotes {
		args = append(args, "--vtep-db="+r)
	}
	if g.CfgFile != "" {
		args = append(args, "--config="+g.CfgFile)
	}
	if g.Opts.Metrics {
		args = append(args, "--metrics-addr=127.0.0.1:0")
	}
	args = append(args, g.Opts.Args...)
	_ = os.Remove(g.Ctl) // a killed daemon leaves its socket file
	p, err := StartProcess(t, ProcessConfig{Name: name, Path: g.Opts.Bin, Args: args, Dir: g.Dir, LogPath: logFile})
	if err != nil {
		t.Fatal(err)
	}
	g.Process = p
	g.Procs = append(g.Procs, p)
	g.metricsPort = 0
	Eventually(t, startTimeout, 10*time.Millisecond, func() (bool, string) {
		if p.Exited() {
			t.Fatalf("vtepgw exited during start-up: %v", p.ExitErr())
		}
		c, err := net.Dial("unix", g.Ctl)
		if err != nil {
			return false, fmt.Sprintf("control socket: %v", err)
		}
		_ = c.Close()
		if g.Opts.Metrics {
			ports, err := ListeningPorts(p.PID())
			if err != nil || len(ports) == 0 {
				return false, fmt.Sprintf("metrics listener: %v %v", ports, err)
			}
			g.metricsPort = ports[0]
		}
		return true, ""
	})
}

// Restart starts the daemon again (after Kill9 or Stop; a running one is
// stopped first), same arguments, same directory.
func (g *Vtepgw) Restart(t testing.TB) {
	t.Helper()
	if !g.Exited() {
		if err := g.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	g.Start(t)
}

// Kill9 kills the daemon with SIGKILL.
func (g *Vtepgw) Kill9() error { return g.Kill() }

// AppCtl runs ovs-appctl -t CTL ARGS against the daemon.
func (g *Vtepgw) AppCtl(args ...string) (string, error) {
	bin, err := Lookup(BinAppctl)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--timeout=15", "-t", g.Ctl}, args...)...)
	cmd.Env = Env(g.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ovs-appctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Log returns the current log file's contents.
func (g *Vtepgw) Log() (string, error) {
	data, err := os.ReadFile(g.LogFile)
	return string(data), err
}

// LogLines returns the current log's lines at level ("WARN", "INFO", …)
// containing every one of the substrings (nil if the log cannot be read).
func (g *Vtepgw) LogLines(level string, substrings ...string) []string {
	data, err := os.ReadFile(g.LogFile)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, " level="+level+" ") {
			continue
		}
		for _, s := range substrings {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// Metrics scrapes /metrics (Metrics option) and returns every sample as
// "name{labels}" → value, labels as printed by the Prometheus text format.
func (g *Vtepgw) Metrics() (map[string]float64, error) {
	if g.metricsPort == 0 {
		return nil, fmt.Errorf("metrics not enabled")
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(g.metricsPort) + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			continue
		}
		out[l[:i]] = v
	}
	return out, nil
}

// Metric returns the sum of the samples of metric name whose labels contain
// every one of the label pairs (`table="ucast_macs_local"`), and whether
// there was any.
func Metric(all map[string]float64, name string, labels ...string) (float64, bool) {
	sum, found := 0.0, false
	for k, v := range all {
		n, rest, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
			}
		}
		if ok {
			sum += v
			found = true
		}
	}
	return sum, found
}
