package simulator_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/ovsdb"

	vtepdb "github.com/vtepgw/vtepgw/internal/vtepfull"
	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/simulator/openflow"
)

// testSwitch is one simulated switch on its own OVS.
type testSwitch struct {
	t   *testing.T
	env *lab.Env
	sim *simulator.Sim
	ps  string
}

func requireOVS(t *testing.T, extra ...string) {
	t.Helper()
	if miss := lab.MissingBinaries(extra...); len(miss) > 0 {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("missing %v", miss)
		}
		t.Skipf("missing %v: apt-get install openvswitch-switch openvswitch-vtep", miss)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	lvl := slog.LevelInfo
	if os.Getenv("VTEPSIM_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: lvl}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newSwitch starts OVS with switch "br-vtep" (ports p0, p1, tunnel IP
// 1.2.3.4) and a simulator for it.
func newSwitch(t *testing.T, mod func(*simulator.Options)) *testSwitch {
	t.Helper()
	requireOVS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, err := lab.Start(ctx, t.TempDir(), lab.StartOptions{Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ts := &testSwitch{t: t, env: env, ps: "br-vtep"}
	if err := env.AddSwitch(ctx, ts.ps, 2, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	o := simulator.Options{DB: env.Remote(), Switch: ts.ps, RunDir: env.Dir, Log: testLogger(t)}
	if mod != nil {
		mod(&o)
	}
	ts.sim, err = simulator.New(o)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.sim.Run(rctx) }()
	t.Cleanup(func() {
		rcancel()
		if err := <-done; err != nil {
			t.Errorf("simulator Run: %v", err)
		}
	})
	ts.waitFor("2 Physical_Ports", func() (bool, string) {
		out := ts.vtepctl("list-ports", ts.ps)
		return out == "p0\np1\n", out
	})
	return ts
}

func (ts *testSwitch) run(prog string, args ...string) string {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := ts.env.Output(ctx, prog, args...)
	if err != nil {
		ts.t.Fatal(err)
	}
	return out
}

func (ts *testSwitch) vtepctl(args ...string) string { return ts.run("vtep-ctl", args...) }
func (ts *testSwitch) vsctl(args ...string) string   { return ts.run("ovs-vsctl", args...) }
func (ts *testSwitch) appctl(args ...string) string {
	return ts.run("ovs-appctl", append([]string{"-t", ts.env.VswitchdCtl()}, args...)...)
}

// flows returns the flows of a bridge without volatile fields.
func (ts *testSwitch) flows(br string, filter ...string) string {
	args := append([]string{"-O", "OpenFlow14", "--no-stats", "--names", "dump-flows", br}, filter...)
	out := ts.run("ovs-ofctl", args...)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "OFPST_FLOW") {
			continue
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond (every 10 ms, up to 10 s) and fails with its last
// detail when it never holds.
func (ts *testSwitch) waitFor(what string, cond func() (bool, string)) time.Duration {
	ts.t.Helper()
	t0 := time.Now()
	var detail string
	for time.Since(t0) < 10*time.Second {
		var ok bool
		if ok, detail = cond(); ok {
			return time.Since(t0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.t.Fatalf("timed out waiting for %s; last:\n%s", what, detail)
	return 0
}

func (ts *testSwitch) waitFlows(br, what string, want ...string) {
	ts.t.Helper()
	ts.waitFor(what, func() (bool, string) {
		out := ts.flows(br)
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false, fmt.Sprintf("missing %q in\n%s", w, out)
			}
		}
		return true, out
	})
}

func (ts *testSwitch) noFlow(br, what string, bad string) {
	ts.t.Helper()
	ts.waitFor(what, func() (bool, string) {
		out := ts.flows(br)
		return !strings.Contains(out, bad), out
	})
}

// lsBridge returns the OVS bridge of a logical switch.
func (ts *testSwitch) lsBridge(ls string) string {
	ts.t.Helper()
	var br string
	ts.waitFor("bridge of "+ls, func() (bool, string) {
		out := strings.TrimSpace(ts.vsctl("--bare", "--columns=name", "find", "Bridge", "external_ids:logical_switch_name="+ls))
		br = out
		return out != "" && !strings.Contains(out, "\n"), out
	})
	return br
}

func (ts *testSwitch) ofport(name string) string {
	ts.t.Helper()
	var p string
	ts.waitFor("ofport of "+name, func() (bool, string) {
		p = strings.TrimSpace(ts.vsctl("get", "Interface", name, "ofport"))
		return p != "" && p != "-1" && p != "[]", p
	})
	return p
}

// vtepClient connects a raw hardware_vtep client (no monitor) for tests
// that write many rows in one transaction.
func (ts *testSwitch) vtepClient() client.Client {
	ts.t.Helper()
	m, err := vtepdb.FullDatabaseModel()
	if err != nil {
		ts.t.Fatal(err)
	}
	l := logr.Discard()
	c, err := client.NewOVSDBClient(m, client.WithEndpoint(ts.env.Remote()), client.WithLogger(&l))
	if err != nil {
		ts.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(c.Close)
	return c
}

// umrOps returns ops that replace every Ucast_Macs_Remote of ls by macs on
// a new locator for ip (ip must not have a locator yet) .
func umrOps(ls, ip string, macs []string) []ovsdb.Operation {
	ops := []ovsdb.Operation{
		{Op: ovsdb.OperationDelete, Table: "Ucast_Macs_Remote", Where: []ovsdb.Condition{
			{Column: "logical_switch", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: ls}}}},
		{Op: ovsdb.OperationInsert, Table: "Physical_Locator", UUIDName: "loc",
			Row: ovsdb.Row{"dst_ip": ip, "encapsulation_type": "vxlan_over_ipv4"}},
	}
	for _, mac := range macs {
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "Ucast_Macs_Remote",
			Row: ovsdb.Row{"MAC": mac, "logical_switch": ovsdb.UUID{GoUUID: ls}, "locator": ovsdb.UUID{GoUUID: "loc"}}})
	}
	return ops
}

func transactT(t *testing.T, c client.Client, ops []ovsdb.Operation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := c.Transact(ctx, ops...)
	if err == nil {
		_, err = ovsdb.CheckOperationResults(res, ops)
	}
	if err != nil {
		t.Fatalf("transact: %v %+v", err, res)
	}
}

// ofConn opens an OpenFlow connection to a bridge.
func (ts *testSwitch) ofConn(br string) *openflow.Conn {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := openflow.Dial(ctx, filepath.Join(ts.env.Dir, br+".mgmt"))
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { c.Close() })
	return c
}

func macN(prefix byte, i int) string {
	return fmt.Sprintf("%02x:00:%02x:%02x:%02x:%02x", prefix, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// rxCounter reads a physical port's rx_packets through OpenFlow.
func (ts *testSwitch) rxCounter(port string) lab.RxCounter {
	c := ts.ofConn(ts.ps)
	op, err := strconv.Atoi(ts.ofport(port))
	if err != nil {
		ts.t.Fatal(err)
	}
	return func(ctx context.Context) (uint64, error) {
		st, err := c.PortStats(ctx, uint32(op))
		if err != nil || len(st) != 1 {
			return 0, fmt.Errorf("port stats of %s: %v %w", port, st, err)
		}
		return st[0].RxPackets, nil
	}
}
