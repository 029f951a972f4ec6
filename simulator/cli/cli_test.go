package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator/lab"
)

func TestParseDaemon(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(*daemonOpts) bool
	}{
		{"ovs-vtep style", []string{"--log-file=/tmp/x.log", "--pidfile", "--detach", "--no-chdir", "-vconsole:off", "br-vtep"}, false,
			func(o *daemonOpts) bool {
				return o.sim.Switch == "br-vtep" && o.detach && !o.consoleOn && o.logFile == "/tmp/x.log" && strings.HasSuffix(o.pidFile, "ovs-vtep.pid")
			}},
		{"knobs", []string{"--db=unix:/x/db.sock", "--mac-aging=15s", "--max-learned=10", "--learn-rate=100", "--max-vnis=4", "sw"}, false,
			func(o *daemonOpts) bool {
				return o.sim.DB == "unix:/x/db.sock" && o.sim.MACAging == 15*time.Second && o.sim.MaxLearnedPerLS == 10 &&
					o.sim.LearnRate == 100 && o.sim.MaxVNIs == 4
			}},
		{"no switch", []string{"--detach"}, true, nil},
		{"two switches", []string{"a", "b"}, true, nil},
		{"bad duration", []string{"--mac-aging=soon", "a"}, true, nil},
		{"unknown option", []string{"--frobnicate", "a"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseDaemon(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(o) {
				t.Errorf("parsed %+v", o)
			}
		})
	}
}

// TestDaemonExitByUnixctl runs the daemon against a real OVS and stops it
// the way OVN's test macros stop ovs-vtep: ovs-appctl -t ... exit.
func TestDaemonExitByUnixctl(t *testing.T) {
	if miss := lab.MissingBinaries(); len(miss) > 0 {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("missing %v", miss)
		}
		t.Skipf("missing %v", miss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, err := lab.Start(ctx, t.TempDir(), lab.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	if err := env.AddSwitch(ctx, "br-vtep", 1, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	ctl := filepath.Join(env.Dir, "ovs-vtep.ctl")
	pid := filepath.Join(env.Dir, "ovs-vtep.pid")
	code := make(chan int, 1)
	go func() {
		code <- Main([]string{"--db=" + env.Remote(), "--rundir=" + env.Dir, "--unixctl=" + ctl, "--pidfile=" + pid,
			"--log-file=" + filepath.Join(env.Dir, "ovs-vtep.log"), "-vconsole:off", "br-vtep"})
	}()
	for {
		out, _ := env.Output(ctx, "vtep-ctl", "--db="+env.Remote(), "list-ports", "br-vtep")
		if out == "p0\n" {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("Physical_Port p0 never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(pid); err != nil {
		t.Errorf("pidfile: %v", err)
	}
	if out, err := env.Output(ctx, "ovs-appctl", "-t", ctl, "version"); err != nil || !strings.Contains(out, "vtepsim") {
		t.Errorf("version: %q %v", out, err)
	}
	if _, err := env.Output(ctx, "ovs-appctl", "-t", ctl, "exit"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d", c)
		}
	case <-ctx.Done():
		t.Fatal("vtepsim did not exit after unixctl exit")
	}
	if _, err := os.Stat(pid); err == nil {
		t.Error("pidfile left behind")
	}
}
