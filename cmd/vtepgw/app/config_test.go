package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/vtepgw/vtepgw/drivers/hwvtep"
)

func loadArgs(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	fs := newFlagSet()
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return load(fs)
}

func TestLoadFlags(t *testing.T) {
	t.Setenv("OVN_RUNDIR", "/run/x")
	c, err := loadArgs(t, "--vtep-db=tcp:127.0.0.1:6640", "--vtep-db=unix:/tmp/v2.sock", "--ovnsb-db=tcp:127.0.0.1:6642,tcp:127.0.0.2:6642", "--pidfile", "-vconsole:off")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Switches) != 2 || c.Switches[0].Driver != "hwvtep" || c.Switches[1].Endpoints[0] != "unix:/tmp/v2.sock" {
		t.Fatalf("switches = %+v", c.Switches)
	}
	if len(c.OVNSBDB) != 2 {
		t.Fatalf("ovnsb-db = %v", c.OVNSBDB)
	}
	if c.Pidfile != "/run/x/vtepgw.pid" {
		t.Fatalf("pidfile = %q", c.Pidfile)
	}
}

func TestLoadDefaultsLikeOVS(t *testing.T) {
	t.Setenv("OVN_RUNDIR", "/run/ovn-test")
	t.Setenv("OVS_RUNDIR", "/run/ovs-test")
	t.Setenv("OVN_SB_DB", "")
	c, err := loadArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.OVNSBDB[0] != "unix:/run/ovn-test/ovnsb_db.sock" || c.Switches[0].Endpoints[0] != "unix:/run/ovs-test/db.sock" {
		t.Fatalf("defaults: sb=%v switches=%+v", c.OVNSBDB, c.Switches)
	}
	// Learning: a process-wide rate whose bucket takes one switch's burst
	// of 10k MACs at once; no per-switch limit.
	if c.LearningRate != DefaultLearningRate || DefaultLearningRate < 10000 {
		t.Errorf("learning-rate default = %v (DefaultLearningRate %v), want ≥ 10000", c.LearningRate, DefaultLearningRate)
	}
	if l := c.Switches[0].Learning; l == nil || *l != (LearningConfig{}) {
		t.Errorf("per-switch learning default = %+v, want no limits", l)
	}
	t.Setenv("VTEPGW_LEARNING_RATE", "0")
	if c, err := loadArgs(t); err != nil {
		t.Error(err)
	} else if c.LearningRate != 0 {
		t.Errorf("VTEPGW_LEARNING_RATE=0: learning-rate = %v, want 0 (unlimited)", c.LearningRate)
	}
}

func TestLoadEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	yaml := `
ovnsb-db: tcp:127.0.0.1:6642
log-level: debug
switches:
  - name: tor1
    driver: hwvtep
    endpoints: [tcp:127.0.0.1:6640]
    settings:
      probe-interval: 2s
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VTEPGW_LOG_LEVEL", "warn")
	t.Setenv("VTEPGW_METRICS_ADDR", "127.0.0.1:0")
	c, err := loadArgs(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "warn" || c.MetricsAddr != "127.0.0.1:0" || c.Switches[0].Name != "tor1" {
		t.Fatalf("config = %+v", c)
	}
	// A flag beats the environment.
	c, err = loadArgs(t, "--config", file, "--log-level=error")
	if err != nil || c.LogLevel != "error" {
		t.Fatalf("flag precedence: %v %+v", err, c)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("switches:\n  - name: a\n    driver: nosuch\n  - name: a\n    endpoints: [tcp:x]\nbogus: 1\n"), 0o644)
	badDriver := filepath.Join(dir, "bad2.yaml")
	_ = os.WriteFile(badDriver, []byte("switches:\n  - name: a\n    driver: nosuch\n  - name: a\n    endpoints: [tcp:x]\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad remote", []string{"--ovnsb-db=tcp:1.2.3.4"}, []string{"ovnsb-db", "tcp:IP:PORT"}},
		{"bad vtep remote", []string{"--vtep-db=ptcp:6640"}, []string{"unsupported"}},
		{"bad level", []string{"--log-level=loud"}, []string{"log-level"}},
		{"unknown key", []string{"--config", bad}, []string{"bogus"}},
		{"every problem", []string{"--config", badDriver}, []string{"unknown driver", "duplicate name", "want tcp:IP:PORT"}},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, []string{"read config"}},
		{"half tls", []string{"--private-key=/x"}, []string{"go together"}},
		{"negative max-procs", []string{"--max-procs=-1"}, []string{"max-procs -1"}},
		{"max-procs not a number", []string{"--max-procs=two"}, []string{"max-procs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadArgs(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"--no-such-flag"}, 2},
		{[]string{"--ovnsb-db=bogus", "--check-config"}, 2},
		{[]string{"--vtep-db=tcp:127.0.0.1:6640", "--ovnsb-db=tcp:127.0.0.1:6642", "--check-config"}, 0},
		{[]string{"--version"}, 0},
		{[]string{"extra-arg"}, 2},
	}
	for _, tc := range tests {
		if got := Main(tc.args); got != tc.code {
			t.Errorf("Main(%v) = %d, want %d", tc.args, got, tc.code)
		}
	}
}

// TestSwitchLearningMergesTopLevel: a switch's learning block overrides the
// keys it sets and keeps the top-level values of the others.
func TestSwitchLearningMergesTopLevel(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := `
learning:
  rate: 100
  max-per-switch: 500
switches:
  - name: tor1
    endpoints: [tcp:127.0.0.1:6640]
    learning:
      max-per-switch: 10
  - name: tor2
    endpoints: [tcp:127.0.0.1:6641]
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := loadArgs(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sw   int
		want LearningConfig
	}{
		{0, LearningConfig{Rate: 100, MaxPerSwitch: 10}},
		{1, LearningConfig{Rate: 100, MaxPerSwitch: 500}},
	} {
		if got := *c.Switches[tc.sw].Learning; got != tc.want {
			t.Errorf("switch %s learning = %+v, want %+v", c.Switches[tc.sw].Name, got, tc.want)
		}
	}
}
