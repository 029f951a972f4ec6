package simulator_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/lab"
)

func localMACs(ts *testSwitch, ls string) []string {
	out := ts.vtepctl("list-local-macs", ls)
	var macs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "->") && !strings.Contains(l, "unknown-dst") {
			macs = append(macs, strings.Fields(l)[0])
		}
	}
	sort.Strings(macs)
	return macs
}

func TestLearningToUcastMacsLocal(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "100", "ls0")
	br := ts.lsBridge("ls0")
	ts.ofport("0000-p0-l")
	ts.ofport("0100-p1-l")
	ts.waitFlows(br, "learn flows", `in_port="0000-p0-l" actions=learn(`, `in_port="0100-p1-l" actions=learn(`)
	ts.waitFor("Mcast_Macs_Local unknown-dst", func() (bool, string) {
		out := ts.vtepctl("list-local-macs", "ls0")
		return strings.Contains(out, "unknown-dst -> vxlan_over_ipv4/1.2.3.4"), out
	})
	ctx := context.Background()
	src, _ := net.ParseMAC("00:00:00:00:00:aa")
	tagged, _ := net.ParseMAC("00:00:00:00:00:bb")
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	if err := ts.env.Receive(ctx, "p0", lab.Frame(bcast, src, 0, 0x0800, nil)); err != nil {
		t.Fatal(err)
	}
	if err := ts.env.Receive(ctx, "p1", lab.Frame(bcast, tagged, 100, 0x0800, nil)); err != nil {
		t.Fatal(err)
	}
	// An untagged frame on p1 is not in any binding: not learned.
	other, _ := net.ParseMAC("00:00:00:00:00:cc")
	if err := ts.env.Receive(ctx, "p1", lab.Frame(bcast, other, 0, 0x0800, nil)); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("learned MACs", func() (bool, string) {
		m := localMACs(ts, "ls0")
		return strings.Join(m, " ") == "00:00:00:00:00:aa 00:00:00:00:00:bb", strings.Join(m, " ")
	})
	if out := ts.vtepctl("list-local-macs", "ls0"); !strings.Contains(out, "00:00:00:00:00:aa -> vxlan_over_ipv4/1.2.3.4") {
		t.Errorf("locator of learned MAC: %s", out)
	}
	// Injected "learned" flows (as in ovn-controller-vtep's vtep-macs 3
	// test) are published too, and withdrawn when deleted.
	p0 := ts.ofport("0000-p0-l")
	ts.run("ovs-ofctl", "-O", "OpenFlow14", "add-flow", br, "cookie=0x5000,table=1,priority=1000,dl_dst=aa:bb:cc:dd:ee:01 actions=output:"+p0)
	ts.waitFor("injected MAC", func() (bool, string) {
		m := localMACs(ts, "ls0")
		return len(m) == 3 && m[2] == "aa:bb:cc:dd:ee:01", strings.Join(m, " ")
	})
	ts.run("ovs-ofctl", "-O", "OpenFlow14", "del-flows", br, "table=1,dl_dst=aa:bb:cc:dd:ee:01")
	ts.waitFor("injected MAC withdrawn", func() (bool, string) {
		m := localMACs(ts, "ls0")
		return len(m) == 2, strings.Join(m, " ")
	})
}

func TestLearningAging(t *testing.T) {
	ts := newSwitch(t, func(o *simulator.Options) { o.MACAging = time.Second })
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "learn flow", `actions=learn(table=1,idle_timeout=1,`)
	src, _ := net.ParseMAC("00:00:00:00:00:aa")
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	if err := ts.env.Receive(context.Background(), "p0", lab.Frame(bcast, src, 0, 0x0800, nil)); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("learned", func() (bool, string) {
		m := localMACs(ts, "ls0")
		return len(m) == 1, strings.Join(m, " ")
	})
	t0 := time.Now()
	ts.waitFor("aged out", func() (bool, string) {
		m := localMACs(ts, "ls0")
		return len(m) == 0, strings.Join(m, " ")
	})
	if d := time.Since(t0); d < 500*time.Millisecond {
		t.Errorf("MAC aged out after %s, want about 1 s", d)
	}
}

func TestLearningCapAndFault(t *testing.T) {
	ts := newSwitch(t, func(o *simulator.Options) { o.MaxLearnedPerLS = 5 })
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "learn flow with limit", `limit=5`)
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	var frames []string
	for i := 0; i < 20; i++ {
		src, _ := net.ParseMAC(macN(0x02, i))
		frames = append(frames, lab.Frame(bcast, src, 0, 0x0800, nil))
	}
	if err := ts.env.Receive(context.Background(), "p0", frames...); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("5 learned and the fault", func() (bool, string) {
		m := localMACs(ts, "ls0")
		f := ts.vtepctl("get", "Physical_Switch", ts.ps, "switch_fault_status")
		return len(m) == 5 && strings.Contains(f, "mac_table_exhaustion"), strings.Join(m, " ") + " / " + f
	})
}

func TestLearningRateLimit(t *testing.T) {
	ts := newSwitch(t, func(o *simulator.Options) { o.LearnRate = 20 })
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "learn flow", `actions=learn(`)
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	var frames []string
	for i := 0; i < 200; i++ {
		src, _ := net.ParseMAC(macN(0x02, i))
		frames = append(frames, lab.Frame(bcast, src, 0, 0x0800, nil))
	}
	if err := ts.env.Receive(context.Background(), "p0", frames...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	n := len(localMACs(ts, "ls0"))
	// Bucket of 20 plus at most ~10 refilled in 0.5 s.
	if n < 10 || n > 40 {
		t.Errorf("%d MACs learned 0.5 s after a burst of 200 at 20/s, want 20-30", n)
	}
	// Refused MACs were removed from the data plane, so they can be
	// learned again later.
	fl := strings.Count(ts.flows(br, "table=1,cookie=0x5000/-1"), "cookie=0x5000")
	if fl > n+15 {
		t.Errorf("%d learned flows in the datapath but %d published", fl, n)
	}
}

func TestLearningBurstComplete(t *testing.T) {
	const n = 2000
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "learn flow", `actions=learn(`)
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	var frames []string
	for i := 0; i < n; i++ {
		src, _ := net.ParseMAC(macN(0x02, i))
		frames = append(frames, lab.Frame(bcast, src, 0, 0x0800, nil))
	}
	t0 := time.Now()
	if err := ts.env.Inject(context.Background(), "p0", ts.rxCounter("p0"), frames); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("all MACs published", func() (bool, string) {
		out := ts.vtepctl("--bare", "--columns=MAC", "find", "Ucast_Macs_Local")
		got := len(strings.Fields(out))
		fl := strings.Count(ts.flows(br, "table=1,cookie=0x5000/-1"), "cookie=0x5000")
		return got == n, fmt.Sprintf("%d published, %d learned flows", got, fl)
	})
	t.Logf("%d MACs learned and published in %s", n, time.Since(t0))
}

func TestBindingStats(t *testing.T) {
	ts := newSwitch(t, func(o *simulator.Options) { o.StatsInterval = 100 * time.Millisecond })
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "7", "ls0")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "learn flows", `in_port="0000-p0-l" actions=learn(`, `in_port="0007-p1-l" actions=learn(`)
	ts.waitFlows(ts.ps, "binding flows", "dl_vlan=7 actions=pop_vlan")
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	src, _ := net.ParseMAC("00:00:00:00:00:aa")
	var frames []string
	for range 3 {
		frames = append(frames, lab.Frame(bcast, src, 0, 0x0800, nil))
	}
	if err := ts.env.Receive(context.Background(), "p0", frames...); err != nil {
		t.Fatal(err)
	}
	stats := func(port, vlan string) string {
		su := strings.TrimSpace(ts.vtepctl("get", "Physical_Port", port, "vlan_stats:"+vlan))
		return ts.vtepctl("--columns=packets_from_local,packets_to_local,bytes_from_local", "list", "Logical_Binding_Stats", su)
	}
	// p0 received 3 frames; they were flooded to p1 (VLAN 7).
	ts.waitFor("counters", func() (bool, string) {
		a, b := stats("p0", "0"), stats("p1", "7")
		return strings.Contains(a, "packets_from_local  : 3") && strings.Contains(b, "packets_to_local    : 3") &&
			strings.Contains(a, "bytes_from_local    : 180"), a + b
	})
}
