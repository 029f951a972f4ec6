package app

import (
	"runtime"
	"strings"
	"testing"
)

func TestPlanProcs(t *testing.T) {
	tests := []struct {
		name               string
		maxProcs, switches int
		env                bool
		available, want    int
		wantReason         string
	}{
		{"one switch on a big machine", 0, 1, false, 32, 1, "one per switch"},
		{"several switches", 0, 4, false, 32, 4, "one per switch"},
		{"more switches than CPUs", 0, 10, false, 2, 2, "one per switch"},
		{"no switch configured yet", 0, 0, false, 8, 1, "one per switch"},
		{"explicit wins over everything", 3, 10, true, 2, 3, "max-procs"},
		{"environment left alone", 0, 4, true, 32, 0, "GOMAXPROCS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := planProcs(tc.maxProcs, tc.switches, tc.env, tc.available)
			if p.n != tc.want {
				t.Errorf("n = %d, want %d", p.n, tc.want)
			}
			if p.reason == "" || !strings.Contains(p.reason, tc.wantReason) {
				t.Errorf("reason %q lacks %q", p.reason, tc.wantReason)
			}
		})
	}
}

// TestApplyProcs sets GOMAXPROCS from the configuration, flag and
// environment variable alike.
func TestApplyProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	c, err := loadArgs(t, "--max-procs=3", "--vtep-db=tcp:127.0.0.1:6640")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := applyProcs(c); n != 3 || runtime.GOMAXPROCS(0) != 3 {
		t.Fatalf("--max-procs=3: applied %d, runtime has %d", n, runtime.GOMAXPROCS(0))
	}
	t.Setenv("VTEPGW_MAX_PROCS", "2")
	c, err = loadArgs(t, "--vtep-db=tcp:127.0.0.1:6640")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := applyProcs(c); n != 2 {
		t.Fatalf("VTEPGW_MAX_PROCS=2: applied %d", n)
	}
}
