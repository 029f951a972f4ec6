package openflow_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/simulator/openflow"
)

func startEnv(t *testing.T) *lab.Env {
	t.Helper()
	if miss := lab.MissingBinaries(); len(miss) > 0 {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("missing %v", miss)
		}
		t.Skipf("missing %v: apt-get install openvswitch-switch openvswitch-vtep", miss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := lab.Start(ctx, t.TempDir(), lab.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	return e
}

func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }

func TestBundleLearnMonitor(t *testing.T) {
	e := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.AddSwitch(ctx, "br0", 2); err != nil {
		t.Fatal(err)
	}
	c, err := openflow.Dial(ctx, filepath.Join(e.Dir, "br0.mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var mu sync.Mutex
	var ups []openflow.FlowUpdate
	if err := c.Monitor(ctx, 1, 1, func(u []openflow.FlowUpdate) {
		mu.Lock()
		ups = append(ups, u...)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC("00:00:00:00:00:01")
	md := uint64(1)
	mods := []openflow.FlowMod{
		{Command: openflow.FlowAdd, Cookie: 7, Table: 0, Priority: 100, Match: openflow.Match{InPort: u32(1)},
			Instr: openflow.Instructions{Actions: []openflow.Action{openflow.Learn{Table: 1, Priority: 1000, IdleTimeout: 15, Cookie: 0x5000}}, GotoTable: 1}},
		{Command: openflow.FlowAdd, Cookie: 7, Table: 0, Priority: 100, Match: openflow.Match{InPort: u32(2), VlanVID: u16(100)},
			Instr: openflow.Instructions{Actions: []openflow.Action{openflow.PopVLAN{}, openflow.Output{Port: 1}}}},
		{Command: openflow.FlowAdd, Cookie: 7, Table: 0, Priority: 90, Match: openflow.Match{InPort: u32(2)},
			Instr: openflow.Instructions{Actions: []openflow.Action{openflow.PushVLAN{VID: 200}, openflow.Output{Port: 1}}, WriteMetadata: &md, GotoTable: 1}},
		{Command: openflow.FlowAdd, Cookie: 7, Table: 1, Priority: 1000, Match: openflow.Match{EthDst: mac},
			Instr: openflow.Instructions{Actions: []openflow.Action{openflow.Output{Port: 2}}}},
		{Command: openflow.FlowAdd, Cookie: 7, Table: 1, Priority: 1, Match: openflow.Match{Metadata: &md},
			Instr: openflow.Instructions{Actions: []openflow.Action{openflow.Learn{Table: 1, Priority: 1000, IdleTimeout: 15, Cookie: 0x5000, Limit: 10}, openflow.Output{Port: 2}}}},
	}
	if err := c.Bundle(ctx, mods); err != nil {
		t.Fatal(err)
	}
	out, err := e.Output(ctx, "ovs-ofctl", "-O", "OpenFlow14", "dump-flows", "br0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"in_port=1 actions=learn(table=1,idle_timeout=15,priority=1000,cookie=0x5000,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),goto_table:1",
		"priority=100,in_port=2,dl_vlan=100 actions=pop_vlan,output:1",
		"actions=push_vlan:0x8100,set_field:4296->vlan_vid,output:1,write_metadata:0x1,goto_table:1",
		"priority=1000,dl_dst=00:00:00:00:00:01 actions=output:2",
		"limit=10",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump-flows lacks %q:\n%s", want, out)
		}
	}
	// A bad flow mod fails the whole bundle and leaves the table unchanged.
	bad := []openflow.FlowMod{
		{Command: openflow.FlowAdd, Cookie: 7, Table: 1, Priority: 5, Match: openflow.Match{EthDst: mac},
			Instr: openflow.Instructions{Actions: []openflow.Action{openflow.Output{Port: 2}}}},
		{Command: openflow.FlowAdd, Cookie: 7, Table: 1, Priority: 6, Match: openflow.Match{EthDst: mac},
			Instr: openflow.Instructions{GotoTable: 1}}, // goto to own table is invalid
	}
	if err := c.Bundle(ctx, bad); err == nil {
		t.Error("bundle with an invalid flow mod succeeded")
	}
	fs, err := c.FlowStats(ctx, 1, 7, ^uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Errorf("table 1 has %d flows with cookie 7 after failed bundle, want 2: %+v", len(fs), fs)
	}
	// A learned MAC shows up in the monitor.
	if _, err := e.Appctl(ctx, "netdev-dummy/receive", "p0", "in_port(1),eth(src=00:00:00:00:aa:01,dst=00:00:00:00:00:01),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		found := false
		for _, u := range ups {
			if u.Event == openflow.EventAdded && u.Flow.Cookie == 0x5000 && u.Flow.Match.EthDst.String() == "00:00:00:00:aa:01" {
				found = len(u.Flow.OutPorts) == 1 && u.Flow.OutPorts[0] == 1
			}
		}
		mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("learned flow not reported by the monitor: %+v", ups)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
