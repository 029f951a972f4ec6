package learning

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

	"github.com/vtepgw/vtepgw/testbed"
)

// Build compiles the vtepgw daemon into out (with the race detector when
// race is set).
func Build(out string, race bool) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/vtepgw/vtepgw/cmd/vtepgw")
	cmd := exec.Command(goBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", goBin, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// GatewayOptions configure StartGateway.
type GatewayOptions struct {
	// Bin is the vtepgw binary.
	Bin string
	// SBRemote and VTEPRemotes are passed as --ovnsb-db and --vtep-db.
	SBRemote    string
	VTEPRemotes []string
	// Config is the YAML configuration (written to a file, --config).
	Config string
	// Metrics serves /metrics on a 127.0.0.1 port the kernel picks.
	Metrics bool
}

// Gateway is a running vtepgw daemon, started as ovn-controller-vtep is
// started. Restart starts it again in the same directory.
type Gateway struct {
	*testbed.Process
	opts                       GatewayOptions
	Dir, LogFile, Ctl, CfgFile string
	metricsPort                int
}

// StartGateway starts vtepgw and waits for its control socket (and its
// metrics listener with Metrics).
func StartGateway(t testing.TB, opts GatewayOptions) *Gateway {
	t.Helper()
	dir := testbed.NewDir(t)
	g := &Gateway{opts: opts, Dir: dir, LogFile: filepath.Join(dir, "vtepgw.log"), Ctl: filepath.Join(dir, "vtepgw.ctl")}
	if opts.Config != "" {
		g.CfgFile = filepath.Join(dir, "vtepgw.yaml")
		if err := os.WriteFile(g.CfgFile, []byte(opts.Config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Registered before the process's own cleanup, so it runs after it:
	// the output is complete.
	t.Cleanup(func() {
		if g.Process == nil {
			return
		}
		if out, err := os.ReadFile(g.OutputPath()); err == nil && bytes.Contains(out, []byte("WARNING: DATA RACE")) {
			t.Errorf("vtepgw reported a data race:\n%s", out)
		}
	})
	g.start(t)
	return g
}

func (g *Gateway) start(t testing.TB) {
	t.Helper()
	args := []string{"-vconsole:off", "--ovnsb-db=" + g.opts.SBRemote,
		"--pidfile=" + filepath.Join(g.Dir, "vtepgw.pid"), "--log-file=" + g.LogFile, "--unixctl=" + g.Ctl}
	for _, r := range g.opts.VTEPRemotes {
		args = append(args, "--vtep-db="+r)
	}
	if g.CfgFile != "" {
		args = append(args, "--config="+g.CfgFile)
	}
	if g.opts.Metrics {
		args = append(args, "--metrics-addr=127.0.0.1:0")
	}
	_ = os.Remove(g.Ctl) // a killed daemon leaves its socket file
	p, err := testbed.StartProcess(t, testbed.ProcessConfig{Name: "vtepgw", Path: g.opts.Bin, Args: args, Dir: g.Dir, LogPath: g.LogFile})
	if err != nil {
		t.Fatal(err)
	}
	g.Process = p
	g.metricsPort = 0
	testbed.Eventually(t, 20*time.Second, 10*time.Millisecond, func() (bool, string) {
		if p.Exited() {
			t.Fatalf("vtepgw exited during start-up: %v", p.ExitErr())
		}
		c, err := net.Dial("unix", g.Ctl)
		if err != nil {
			return false, fmt.Sprintf("control socket: %v", err)
		}
		_ = c.Close()
		if g.opts.Metrics {
			ports, err := testbed.ListeningPorts(p.PID())
			if err != nil || len(ports) == 0 {
				return false, fmt.Sprintf("metrics listener: %v %v", ports, err)
			}
			g.metricsPort = ports[0]
		}
		return true, ""
	})
}

// Kill9 kills the daemon with SIGKILL.
func (g *Gateway) Kill9() error { return g.Kill() }

// Restart starts the daemon again (after Kill9 or Stop), same arguments,
// same directory and log file.
func (g *Gateway) Restart(t testing.TB) {
	t.Helper()
	if !g.Exited() {
		if err := g.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	g.start(t)
}

// AppCtl runs ovs-appctl -t CTL ARGS against the daemon.
func (g *Gateway) AppCtl(args ...string) (string, error) {
	bin, err := testbed.Lookup(testbed.BinAppctl)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--timeout=15", "-t", g.Ctl}, args...)...)
	cmd.Env = testbed.Env(g.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ovs-appctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// LogLines returns the daemon's log lines at level ("WARN", "INFO", …)
// containing every one of the substrings.
func (g *Gateway) LogLines(level string, substrings ...string) []string {
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

// Metrics scrapes /metrics and returns every sample as "name{labels}" →
// value, labels as printed by the Prometheus text format.
func (g *Gateway) Metrics() (map[string]float64, error) {
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
