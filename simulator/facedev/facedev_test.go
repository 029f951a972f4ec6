package facedev_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/facedev"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
)

type rig struct {
	t   *testing.T
	env *lab.Env
	sw  *simulator.Switch
	ps  string
}

type tw struct{ t *testing.T }

func (w tw) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newRig starts OVS with switch br-vtep (ports p0, p1, tunnel IP 1.2.3.4),
// the simulator, and a Switch handle on it.
func newRig(t *testing.T) *rig {
	t.Helper()
	if miss := lab.MissingBinaries(); len(miss) > 0 {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("missing %v", miss)
		}
		t.Skipf("missing %v: apt-get install openvswitch-switch openvswitch-vtep", miss)
	}
	log := slog.New(slog.NewTextHandler(tw{t}, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, err := lab.Start(ctx, t.TempDir(), lab.StartOptions{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	r := &rig{t: t, env: env, ps: "br-vtep"}
	if err := env.AddSwitch(ctx, r.ps, 2, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(simulator.Options{DB: env.Remote(), Switch: r.ps, RunDir: env.Dir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(rctx) }()
	t.Cleanup(func() {
		rcancel()
		if err := <-done; err != nil {
			t.Errorf("simulator Run: %v", err)
		}
	})
	r.sw, err = simulator.OpenSwitch(ctx, simulator.SwitchOptions{DB: env.Remote(), Switch: r.ps, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.sw.Close)
	r.waitFor("2 ports", func() (bool, string) {
		out := r.run("vtep-ctl", "list-ports", r.ps)
		return out == "p0\np1\n", out
	})
	// The admin's part: logical switch ls0 on p0 VLAN 100.
	r.run("vtep-ctl", "add-ls", "ls0", "--", "bind-ls", r.ps, "p0", "100", "ls0")
	r.waitFor("ls0 through the Switch", func() (bool, string) {
		st, err := r.sw.Read()
		if err != nil {
			return false, err.Error()
		}
		return st.Ports["p0"][100] == "ls0", ""
	})
	return r
}

func (r *rig) run(prog string, args ...string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := r.env.Output(ctx, prog, args...)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *rig) waitFor(what string, cond func() (bool, string)) {
	r.t.Helper()
	t0 := time.Now()
	var detail string
	for time.Since(t0) < 10*time.Second {
		var ok bool
		if ok, detail = cond(); ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("timed out waiting for %s; last:\n%s", what, detail)
}

func (r *rig) flows(br string) string {
	return r.run("ovs-ofctl", "-O", "OpenFlow14", "--no-stats", "--names", "dump-flows", br)
}

func (r *rig) lsBridge(ls string) string {
	r.t.Helper()
	var br string
	r.waitFor("bridge of "+ls, func() (bool, string) {
		br = strings.TrimSpace(r.run("ovs-vsctl", "--bare", "--columns=name", "find", "Bridge", "external_ids:logical_switch_name="+ls))
		return br != "" && !strings.Contains(br, "\n"), br
	})
	return br
}

func (r *rig) ofport(name string) string {
	r.t.Helper()
	var p string
	r.waitFor("ofport of "+name, func() (bool, string) {
		p = strings.TrimSpace(r.run("ovs-vsctl", "get", "Interface", name, "ofport"))
		return p != "" && p != "-1" && p != "[]", p
	})
	return p
}

// learn injects a learned MAC as the data plane would record it.
func (r *rig) learn(mac, port string) {
	br := r.lsBridge("ls0")
	r.run("ovs-ofctl", "-O", "OpenFlow14", "add-flow", br,
		"cookie=0x5000,table=1,priority=1000,dl_dst="+mac+" actions=output:"+r.ofport(port))
}

func p(s string) *gnmipb.Path {
	pp, err := gpath.Parse(s)
	if err != nil {
		panic(err)
	}
	return pp
}

func TestGNMIFaceDrivesSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	r := newRig(t)
	dev := facedev.NewGNMI(r.sw, r.ps, facedev.GNMIOptions{})
	t.Cleanup(dev.Close)
	face := facetest.Start(t, "127.0.0.1:0", gnmiface.Options{Device: dev})
	conn, err := grpc.NewClient(face.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cl := gnmipb.NewGNMIClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Subscribe to the mac-table first: learned MACs must stream.
	sub, err := cl.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mt := "/network-instances/network-instance[name=default]/fdb/mac-table/entries"
	if err := sub.Send(&gnmipb.SubscribeRequest{Request: &gnmipb.SubscribeRequest_Subscribe{Subscribe: &gnmipb.SubscriptionList{
		Mode:         gnmipb.SubscriptionList_STREAM,
		Subscription: []*gnmipb.Subscription{{Path: p(mt), Mode: gnmipb.SubscriptionMode_ON_CHANGE}},
	}}}); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := sub.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetSyncResponse() {
			break
		}
	}

	// A VNI and a static remote MAC through SONiC paths.
	str := func(s string) *gnmipb.TypedValue {
		return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_StringVal{StringVal: s}}
	}
	js := func(s string) *gnmipb.TypedValue {
		return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(s)}}
	}
	if _, err := cl.Set(ctx, &gnmipb.SetRequest{
		Prefix: &gnmipb.Path{Origin: "sonic-db"},
		Update: []*gnmipb.Update{
			{Path: p("/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|map_5000_Vlan100"), Val: js(`{"vni":"5000","vlan":"Vlan100"}`)},
			{Path: p("/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:f0:ab:cd:ef:01:02/remote_vtep"), Val: str("1.2.3.5")},
		},
	}); err != nil {
		t.Fatal(err)
	}
	out := r.run("vtep-ctl", "list-remote-macs", "ls0")
	if !strings.Contains(out, "f0:ab:cd:ef:01:02 -> vxlan_over_ipv4/1.2.3.5") {
		t.Fatalf("Ucast_Macs_Remote after Set: %s", out)
	}
	if k := strings.TrimSpace(r.run("vtep-ctl", "get", "Logical_Switch", "ls0", "tunnel_key")); k != "5000" {
		t.Fatalf("tunnel_key = %q", k)
	}
	br := r.lsBridge("ls0")
	r.waitFor("remote MAC flow", func() (bool, string) {
		f := r.flows(br)
		return strings.Contains(f, "priority=1000,metadata=0,dl_dst=f0:ab:cd:ef:01:02 actions=output:"), f
	})
	r.waitFor("vxlan tunnel with key 5000", func() (bool, string) {
		out := r.run("ovs-vsctl", "--bare", "--columns=options", "find", "Interface", "type=vxlan", "options:remote_ip=1.2.3.5")
		return strings.Contains(out, "key=5000") || strings.Contains(out, `key="5000"`), out
	})

	// A MAC learned by the data plane streams as a DYNAMIC entry.
	r.learn("aa:bb:cc:dd:ee:01", "0100-p0-l")
	want := mt + "/entry[mac-address=aa:bb:cc:dd:ee:01][vlan=100]/state/entry-type"
	seen := map[string]string{}
	for seen[want] != "DYNAMIC" {
		resp, err := sub.Recv()
		if err != nil {
			t.Fatalf("Recv (seen %v): %v", seen, err)
		}
		for _, u := range resp.GetUpdate().GetUpdate() {
			seen[gpath.String(&gnmipb.Path{Elem: u.Path.Elem})] = u.GetVal().GetStringVal()
		}
	}
	if out := r.run("vtep-ctl", "list-local-macs", "ls0"); !strings.Contains(out, "aa:bb:cc:dd:ee:01") {
		t.Fatalf("Ucast_Macs_Local: %s", out)
	}

	// Deleting through gNMI removes the row and the flow.
	if _, err := cl.Set(ctx, &gnmipb.SetRequest{Delete: []*gnmipb.Path{
		p("sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:f0:ab:cd:ef:01:02")}}); err != nil {
		t.Fatal(err)
	}
	if out := r.run("vtep-ctl", "list-remote-macs", "ls0"); strings.Contains(out, "f0:ab:cd:ef:01:02") {
		t.Fatalf("Ucast_Macs_Remote after delete: %s", out)
	}
	r.waitFor("remote MAC flow gone", func() (bool, string) {
		f := r.flows(br)
		return !strings.Contains(f, "dl_dst=f0:ab:cd:ef:01:02"), f
	})

	// A bad value is refused and nothing is written.
	if _, err := cl.Set(ctx, &gnmipb.SetRequest{Update: []*gnmipb.Update{
		{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:f0:ab:cd:ef:01:03/remote_vtep"), Val: str("not-an-ip")}}}); err == nil {
		t.Fatal("Set with a bad IP succeeded")
	}
}

func TestNETCONFDeviceDrivesSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	r := newRig(t)
	dev := facedev.NewNETCONF(r.sw)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := dev.Update(ctx, func(st *netconfface.State) error {
		l := st.LS["ls0"]
		vni := 7
		l.VNI, l.Mode = &vni, "source-node"
		l.Remote["f0:ab:cd:ef:01:02"] = netconfface.Ucast{TunnelIP: "1.2.3.5"}
		l.Mcast[netconfface.UnknownDst] = netconfface.Mcast{TunnelIPs: []string{"1.2.3.6", "1.2.3.5"}}
		st.Ports["p1"][0] = "ls0"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := r.run("vtep-ctl", "list-remote-macs", "ls0"); !strings.Contains(out, "f0:ab:cd:ef:01:02 -> vxlan_over_ipv4/1.2.3.5") ||
		!strings.Contains(out, "unknown-dst -> vxlan_over_ipv4/1.2.3.5") {
		t.Fatalf("remote MACs: %s", out)
	}
	br := r.lsBridge("ls0")
	r.waitFor("remote MAC flow and p1 binding", func() (bool, string) {
		f := r.flows(br)
		return strings.Contains(f, "dl_dst=f0:ab:cd:ef:01:02 actions=output:") && strings.Contains(r.flows(r.ps), "in_port=p1"), f
	})
	// Ports are the switch's: read-only.
	err = dev.Update(ctx, func(st *netconfface.State) error { st.Ports["p9"] = map[int]string{}; return nil })
	if err == nil || !strings.Contains(err.Error(), netconfface.ErrReadOnly.Error()) {
		t.Fatalf("adding a port: %v", err)
	}
	// Learned MACs show in Read.
	r.learn("aa:bb:cc:dd:ee:02", "0100-p0-l")
	r.waitFor("learned MAC in NETCONF state", func() (bool, string) {
		st, err := dev.Read(ctx)
		if err != nil {
			return false, err.Error()
		}
		_, ok := st.LS["ls0"].Learned["aa:bb:cc:dd:ee:02"]
		return ok, ""
	})
	st, err := dev.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l := st.LS["ls0"]; l.Mode != "source-node" || l.VNI == nil || *l.VNI != 7 {
		t.Fatalf("ls0 = %+v", l)
	}
}
