package lab

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartAddSwitchStop(t *testing.T) {
	if miss := MissingBinaries(); len(miss) > 0 {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("missing %v", miss)
		}
		t.Skipf("missing %v", miss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := Start(ctx, t.TempDir(), StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddSwitch(ctx, "sw0", 3, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	out, err := e.Output(ctx, "vtep-ctl", "--db="+e.Remote(), "get", "Physical_Switch", "sw0", "tunnel_ips")
	if err != nil || strings.TrimSpace(out) != `["192.0.2.1"]` {
		t.Errorf("tunnel_ips %q %v", out, err)
	}
	out, err = e.Output(ctx, "ovs-vsctl", "--db="+e.Remote(), "list-ports", "sw0")
	if err != nil || out != "p0\np1\np2\n" {
		t.Errorf("ports %q %v", out, err)
	}
	if v, err := Unixctl(ctx, e.VswitchdCtl(), "version"); err != nil || !strings.Contains(v, "Open vSwitch") {
		t.Errorf("unixctl version %q %v", v, err)
	}
	pids := e.Pids()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(b), ") Z ") {
				t.Errorf("%s (pid %d) still running after Stop", name, pid)
			}
		}
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
