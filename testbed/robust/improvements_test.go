package robust

import (
	"bytes"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// newSwitch creates a hardware_vtep database holding one physical switch
// with the given tunnel IP and ports.
func newSwitch(t testing.TB, ps, ip string, ports ...string) *switchDB {
	t.Helper()
	v := newSwitchDB(t, testbed.VTEPOptions{})
	args := []string{"add-ps", ps, "--", "set", "Physical_Switch", ps, "tunnel_ips=" + ip}
	for _, p := range ports {
		args = append(args, "--", "add-port", ps, p)
	}
	v.ctl(args...)
	return v
}

// TestFloodRowNoChurn: in the "vtep-macs 3" topology (one OVN datapath whose
// only bound ports are the VTEP ports of two gateways, each with its own
// switch database and daemon) ovn-controller-vtep on OVN main re-creates the
// unknown-dst Mcast_Macs_Remote on every pass (spec A.4, "Apparent defect").
// vtepgw must program it once and then write nothing: the row keeps its
// UUID and no vtepgw transaction lands in either switch database, nor in
// SB, for several seconds.
func TestFloodRowNoChurn(t *testing.T) {
	o := newOVN(t)
	o.nb("ls-add", "br-test")
	v1 := newSwitch(t, "br-vtep", "1.2.3.4", "p0")
	v2 := newSwitch(t, "br-vtep1", "1.2.3.5", "p0")
	for _, v := range []*switchDB{v1, v2} {
		ps := "br-vtep"
		if v == v2 {
			ps = "br-vtep1"
		}
		v.ctl("add-ls", "lswitch0", "--", "bind-ls", ps, "p0", "100", "lswitch0")
	}
	g1 := startGateway(t, o.SBRemote(), v1.VtepRemote())
	g2 := startGateway(t, o.SBRemote(), v2.VtepRemote())
	o.addVTEPPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	o.addVTEPPort("br-test", "br-vtep1_lswitch0", "br-vtep1", "lswitch0")
	// MACs learned by each switch travel to the other through SB FDB.
	v1.ctl("add-ucast-local", "lswitch0", "aa:bb:cc:dd:ee:01", "1.2.3.4")
	v2.ctl("add-ucast-local", "lswitch0", "aa:bb:cc:dd:ff:01", "1.2.3.5")
	o.sync()

	waitEqual(t, "bindings", func() []string { return sbSnap(t, o).bindings("br-vtep_lswitch0", "br-vtep1_lswitch0") },
		"br-vtep1_lswitch0 br-vtep1 up=true", "br-vtep_lswitch0 br-vtep up=true")
	dp := sbSnap(t, o).dpKeyOf("br-test")
	for _, c := range []struct {
		v       *switchDB
		peerIP  string
		peerMAC string
	}{{v1, "1.2.3.5", "aa:bb:cc:dd:ff:01"}, {v2, "1.2.3.4", "aa:bb:cc:dd:ee:01"}} {
		waitEqual(t, "Mcast_Macs_Remote", func() []string { return vtepSnap(t, c.v).mmrs() }, "lswitch0 unknown-dst "+c.peerIP)
		waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, c.v).umrs() }, "lswitch0 "+c.peerMAC+" "+c.peerIP)
		requireEqual(t, "Logical_Switch", vtepSnap(t, c.v).lswitches(), "lswitch0 "+dp+" source_node")
	}
	s := sbSnap(t, o)
	p1, _ := s.pbKey("br-vtep_lswitch0")
	p2, _ := s.pbKey("br-vtep1_lswitch0")
	requireEqual(t, "FDB", s.fdbs(), "aa:bb:cc:dd:ee:01 "+dp+" "+p1, "aa:bb:cc:dd:ff:01 "+dp+" "+p2)
	g1.waitIdle(0, 300*time.Millisecond)
	g2.waitIdle(0, 300*time.Millisecond)

	// Watch for a few seconds.
	mmr := func(v *switchDB) (string, string) {
		s := vtepSnap(t, v)
		if len(s["Mcast_Macs_Remote"]) != 1 {
			t.Fatalf("Mcast_Macs_Remote: %q", s.mmrs())
		}
		r := s["Mcast_Macs_Remote"][0]
		return r.uuid(), r.str("locator_set")
	}
	mmr1, set1 := mmr(v1)
	mmr2, set2 := mmr(v2)
	m1, m2, msb := len(txLog(t, v1.file())), len(txLog(t, v2.file())), len(txLog(t, o.sbFile()))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if u, s := mmr(v1); u != mmr1 || s != set1 {
			t.Fatalf("switch 1: Mcast_Macs_Remote re-created: %s/%s → %s/%s", mmr1, set1, u, s)
		}
		if u, s := mmr(v2); u != mmr2 || s != set2 {
			t.Fatalf("switch 2: Mcast_Macs_Remote re-created: %s/%s → %s/%s", mmr2, set2, u, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range []struct {
		what string
		path string
		mark int
	}{{"switch 1", v1.file(), m1}, {"switch 2", v2.file(), m2}, {"SB", o.sbFile(), msb}} {
		if x := since(t, c.path, c.mark, ""); len(x) > 0 {
			t.Errorf("%s: %d transactions while idle, want 0: %v", c.what, len(x), x)
		}
	}
	// The whole run wrote the flood row once per switch.
	for i, v := range []*switchDB{v1, v2} {
		n := 0
		for _, x := range since(t, v.file(), 0, ours) {
			n += x.ops["Mcast_Macs_Remote insert"] + x.ops["Mcast_Macs_Remote delete"]
		}
		if n != 1 {
			t.Errorf("switch %d: %d Mcast_Macs_Remote inserts+deletes over the run, want 1", i+1, n)
		}
	}
}

// TestTwoVTEPSwitchesOneDatapath: two different VTEP logical switches
// attached to one OVN datapath (spec A.2 allows it: the one-datapath rule is
// per VTEP logical switch name). ovn-controller-vtep keys its working set by
// tunnel key, so only one of them gets the MACs and the flood row (spec
// A.4); vtepgw programs both, and keeps them in step.
func TestTwoVTEPSwitchesOneDatapath(t *testing.T) {
	for _, tc := range []struct {
		name string
		// ps1 is the physical switch lswitch1 is bound on.
		ps1 string
	}{
		{"one physical switch", "br-vtep"},
		{"two physical switches", "br-vtep2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOVN(t)
			v := newSwitch(t, "br-vtep", "1.2.3.4", "p0", "p1")
			if tc.ps1 != "br-vtep" {
				v.ctl("add-ps", tc.ps1, "--", "set", "Physical_Switch", tc.ps1, "tunnel_ips=1.2.3.14", "--", "add-port", tc.ps1, "p1")
			}
			v.ctl("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0",
				"--", "add-ls", "lswitch1", "--", "bind-ls", tc.ps1, "p1", "200", "lswitch1",
				"--", "add-ls", "lswitch2")
			g := startGateway(t, o.SBRemote(), v.VtepRemote())
			o.sb("chassis-add", "ch0", "vxlan", "1.2.3.5")
			o.sb("chassis-add", "ch1", "vxlan", "1.2.3.6")
			o.nb("ls-add", "br-test")
			o.addVIF("br-test", "vif0", "ch0", "f0:ab:cd:ef:01:01", "f0:ab:cd:ef:01:02 10.0.0.2")
			o.addVIF("br-test", "vif1", "ch1", "f0:ab:cd:ef:02:01")
			o.addVTEPPort("br-test", "vtep0", "br-vtep", "lswitch0")
			o.addVTEPPort("br-test", "vtep1", tc.ps1, "lswitch1")
			o.sync()

			waitEqual(t, "bindings", func() []string { return sbSnap(t, o).bindings("vtep0", "vtep1") },
				"vtep0 br-vtep up=true", "vtep1 "+tc.ps1+" up=true")
			dp := sbSnap(t, o).dpKeyOf("br-test")
			both := func(lines ...string) []string {
				var out []string
				for _, ls := range []string{"lswitch0", "lswitch1"} {
					for _, l := range lines {
						out = append(out, ls+" "+l)
					}
				}
				return out
			}
			waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, v).umrs() },
				both("f0:ab:cd:ef:01:01 1.2.3.5", "f0:ab:cd:ef:01:02 1.2.3.5", "f0:ab:cd:ef:02:01 1.2.3.6")...)
			s := vtepSnap(t, v)
			requireEqual(t, "Mcast_Macs_Remote", s.mmrs(), both("unknown-dst 1.2.3.5,1.2.3.6")...)
			requireEqual(t, "Logical_Switch", s.lswitches(), "lswitch0 "+dp+" source_node", "lswitch1 "+dp+" source_node", "lswitch2 0 []")

			// A change reaches both, in one switch transaction.
			mark := len(txLog(t, v.file()))
			o.nb("lsp-set-addresses", "vif1", "f0:ab:cd:ef:02:02")
			waitEqual(t, "Ucast_Macs_Remote after the address change", func() []string { return vtepSnap(t, v).umrs() },
				both("f0:ab:cd:ef:01:01 1.2.3.5", "f0:ab:cd:ef:01:02 1.2.3.5", "f0:ab:cd:ef:02:02 1.2.3.6")...)
			g.waitIdle(0, 200*time.Millisecond)
			if x := since(t, v.file(), mark, ours); len(x) != 1 || x[0].ops["Ucast_Macs_Remote insert"] != 2 || x[0].ops["Ucast_Macs_Remote delete"] != 2 {
				t.Errorf("address change: want one switch transaction replacing 2 remote MACs, got %v", x)
			}

			// A chassis that leaves shrinks both flood sets.
			o.sb("lsp-unbind", "vif1")
			waitEqual(t, "Mcast_Macs_Remote after unbinding vif1", func() []string { return vtepSnap(t, v).mmrs() },
				both("unknown-dst 1.2.3.5")...)
			requireEqual(t, "Ucast_Macs_Remote after unbinding vif1", vtepSnap(t, v).umrs(),
				both("f0:ab:cd:ef:01:01 1.2.3.5", "f0:ab:cd:ef:01:02 1.2.3.5")...)

			// Detaching one leaves the other alone.
			v.ctl("unbind-ls", tc.ps1, "p1", "200")
			waitEqual(t, "Logical_Switch after unbinding lswitch1", func() []string { return vtepSnap(t, v).lswitches() },
				"lswitch0 "+dp+" source_node", "lswitch1 0 source_node", "lswitch2 0 []")
			waitEqual(t, "Ucast_Macs_Remote after unbinding lswitch1", func() []string { return vtepSnap(t, v).umrs() },
				"lswitch0 f0:ab:cd:ef:01:01 1.2.3.5", "lswitch0 f0:ab:cd:ef:01:02 1.2.3.5")
			s = vtepSnap(t, v)
			requireEqual(t, "Mcast_Macs_Remote after unbinding lswitch1", s.mmrs(), "lswitch0 unknown-dst 1.2.3.5")
			requireEqual(t, "bindings after unbinding lswitch1", sbSnap(t, o).bindings("vtep0", "vtep1"), "vtep0 br-vtep up=true", "vtep1 [] up=true")
		})
	}
}

// sbProxy relays one unix socket to the SB server's and can hold back
// everything the server sends (updates and replies) while it is frozen,
// so that a client's cache can be kept stale on purpose.
type sbProxy struct {
	path   string
	target string
	ln     net.Listener

	mu      sync.Mutex
	cond    *sync.Cond
	frozen  bool
	closed  bool
	conns   []net.Conn
	upward  bytes.Buffer  // what clients sent, for sawUp
	sawUp   chan struct{} // closed once upward contains watch
	watch   []string
	watched bool
	wg      sync.WaitGroup
}

func startSBProxy(t testing.TB, target string) *sbProxy {
	t.Helper()
	p := &sbProxy{path: filepath.Join(testbed.NewDir(t), "sb-proxy.sock"), target: target, sawUp: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *sbProxy) remote() string { return "unix:" + p.path }

func (p *sbProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("unix", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s, true)  // server → client
		go p.pipe(s, c, false) // client → server
	}
}

// pipe copies src to dst; down is the server → client direction.
func (p *sbProxy) pipe(dst, src net.Conn, down bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for down && p.frozen && !p.closed {
				p.cond.Wait()
			}
			if !down && !p.watched && len(p.watch) > 0 {
				p.upward.Write(buf[:n])
				all := true
				for _, w := range p.watch {
					all = all && bytes.Contains(p.upward.Bytes(), []byte(w))
				}
				if all {
					p.watched = true
					close(p.sawUp)
				}
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, or closed by close()
		}
	}
}

// freeze holds back server → client traffic from now on, and arms sawUp to
// fire once the clients have sent everything in watch (in any order).
func (p *sbProxy) freeze(watch ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
	p.watch = watch
	p.upward.Reset()
}

func (p *sbProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = false
	p.cond.Broadcast()
}

func (p *sbProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.frozen = false
	p.cond.Broadcast()
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// TestFDBClash: SB FDB has a unique index (mac, dp_key). When the switch
// learns a MAC that OVN has already learned on another port of the
// datapath, ovn-controller-vtep's insert fails the whole SB transaction of
// its pass, Chassis and binding changes included, again on every pass
// (spec A.5). vtepgw must apply the rest of the batch and get the MAC in.
func TestFDBClash(t *testing.T) {
	const (
		mac  = "aa:bb:cc:dd:ee:01" // OVN learned it on vif0 first
		mac2 = "aa:bb:cc:dd:ee:02" // only the switch has it
	)
	for _, tc := range []struct {
		name string
		// race: OVN's row appears after vtepgw's cache was last updated,
		// so vtepgw's insert meets it at commit time.
		race bool
	}{
		{"row already in the cache (a move)", false},
		{"row inserted concurrently (a commit-time clash)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOVN(t)
			v := newSwitch(t, "br-vtep", "1.2.3.4", "p0", "p1")
			v.ctl("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
			sbRemote := o.SBRemote()
			var px *sbProxy
			if tc.race {
				px = startSBProxy(t, o.SB.SocketPath())
				sbRemote = px.remote()
			}
			g := startGateway(t, sbRemote, v.VtepRemote())
			o.sb("chassis-add", "ch0", "vxlan", "1.2.3.5")
			o.nb("ls-add", "br-test")
			o.addVIF("br-test", "vif0", "ch0", "f0:ab:cd:ef:01:01")
			o.addVTEPPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
			o.sync()
			waitEqual(t, "bindings", func() []string { return sbSnap(t, o).bindings("br-vtep_lswitch0", "vif0") },
				"br-vtep_lswitch0 br-vtep up=true", "vif0 ch0 up=true")
			g.waitIdle(0, 200*time.Millisecond)
			s := sbSnap(t, o)
			vifKey, dp := s.pbKey("vif0")
			vtepKey, _ := s.pbKey("br-vtep_lswitch0")

			if tc.race {
				// vtepgw sees neither OVN's row nor the reply to its own
				// transaction until thawed.
				px.freeze(`"transact"`, `"FDB"`, mac2)
			}
			o.sb("create", "FDB", `mac="`+mac+`"`, "dp_key="+dp, "port_key="+vifKey)
			if !tc.race {
				g.waitIdle(0, 200*time.Millisecond)
			}
			mark := len(txLog(t, o.sbFile()))
			// One switch transaction: both MACs learned, and a new VLAN
			// binding that changes the chassis's vtep_logical_switches.
			v.ctl("add-ucast-local", "lswitch0", mac, "1.2.3.4", "--", "add-ucast-local", "lswitch0", mac2, "1.2.3.4",
				"--", "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p1", "200", "lswitch1")
			if tc.race {
				select {
				case <-px.sawUp:
				case <-time.After(10 * time.Second):
					px.thaw()
					t.Fatal("vtepgw sent no FDB transaction")
				}
				time.Sleep(300 * time.Millisecond) // let the server answer
				px.thaw()
			}
			want := []string{mac + " " + dp + " " + vtepKey, mac2 + " " + dp + " " + vtepKey}
			waitEqual(t, "FDB", func() []string { return sbSnap(t, o).fdbs() }, want...)
			waitEqual(t, "Chassis", func() []string { return sbSnap(t, o).chassis() },
				"br-vtep vtep_ls=[lswitch0 lswitch1] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.4map[csum:false]",
				"ch0 vtep_ls=[] other_config=map[] encaps=vxlan/1.2.3.5map[csum:true]")
			g.waitIdle(0, 1500*time.Millisecond) // past the 1 s FDB retry
			requireEqual(t, "FDB after settling", sbSnap(t, o).fdbs(), want...)
			requireEqual(t, "Logical_Switch", vtepSnap(t, v).lswitches(), "lswitch0 "+dp+" source_node", "lswitch1 0 []")

			x := since(t, o.sbFile(), mark, ours)
			t.Logf("vtepgw's SB transactions: %v", x)
			st, _ := g.appctl("status")
			if !tc.race {
				// No clash: one transaction moves OVN's row, adds the other
				// MAC and updates the chassis.
				if len(x) != 1 || x[0].ops["FDB update"] != 1 || x[0].ops["FDB insert"] != 1 || x[0].ops["Chassis update"] != 1 {
					t.Fatalf("want one SB transaction with FDB update 1, FDB insert 1, Chassis update 1; got %v", x)
				}
				if n := g.count("MAC moved to the VTEP", mac); n != 1 {
					t.Errorf("%d 'MAC moved' log lines for %s, want 1", n, mac)
				}
				if !strings.Contains(st, "fdb_clashes=0") {
					t.Errorf("status: want fdb_clashes=0:\n%s", st)
				}
				return
			}
			// The clash: the first transaction vtepgw got through carries
			// the chassis change and no FDB write; the FDB writes follow.
			if len(x) < 2 || !x[0].touches("Chassis") || x[0].touches("FDB") {
				t.Fatalf("want the chassis change committed without FDB writes first, then the FDB writes; got %v", x)
			}
			fdbOps := 0
			for _, y := range x[1:] {
				if y.touches("Chassis") {
					t.Errorf("chassis written again after the fallback: %v", x)
				}
				fdbOps += y.ops["FDB insert"] + y.ops["FDB update"]
			}
			if fdbOps != 2 {
				t.Errorf("want 2 FDB writes (move %s, insert %s) after the fallback, got %v", mac, mac2, x)
			}
			if n := g.count("level=WARN", "FDB index clash"); n != 1 {
				t.Errorf("%d 'FDB index clash' warnings, want 1", n)
			}
			if !strings.Contains(st, "fdb_clashes=1") {
				t.Errorf("status: want fdb_clashes=1:\n%s", st)
			}
		})
	}
}

// TestStaleChassisRemovedAtStart: ovn-controller-vtep remembers its chassis
// in memory only, so the Chassis of a physical switch deleted while it was
// down stays in SB for ever (spec A.1). vtepgw records ownership in SB
// (external_ids:vtepgw-gateway) and removes such chassis at start, while
// chassis of hypervisors, of other gateways and of other VTEP controllers
// stay exactly as they are.
func TestStaleChassisRemovedAtStart(t *testing.T) {
	o := newOVN(t)
	v := newSwitch(t, "br-vtep", "1.2.3.4", "p0")
	v.ctl("add-ps", "br-old", "--", "set", "Physical_Switch", "br-old", "tunnel_ips=1.2.3.9", "--", "add-port", "br-old", "p0",
		"--", "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0", "--", "bind-ls", "br-old", "p0", "100", "lswitch0")
	// Other controllers' chassis: a hypervisor, another vtepgw's switch, and
	// a switch served by ovn-controller-vtep (is-vtep, no owner).
	o.sb("chassis-add", "hv1", "vxlan", "10.0.0.1")
	o.sb("chassis-add", "other-gw", "vxlan", "10.0.0.2", "--", "set", "Chassis", "other-gw",
		"external_ids:vtepgw-gateway=00000000-0000-0000-0000-000000000001", "other_config:is-vtep=true")
	o.sb("chassis-add", "ref-vtep", "vxlan", "10.0.0.3", "--", "set", "Chassis", "ref-vtep", "other_config:is-vtep=true")
	o.nb("ls-add", "br-test")
	o.addVTEPPort("br-test", "vp-new", "br-vtep", "lswitch0")
	o.addVTEPPort("br-test", "vp-old", "br-old", "lswitch0")
	o.sync()

	g := startGateway(t, o.SBRemote(), v.VtepRemote())
	waitEqual(t, "bindings", func() []string { return sbSnap(t, o).bindings("vp-new", "vp-old") },
		"vp-new br-vtep up=true", "vp-old br-old up=true")
	id := v.globalUUID()
	s := sbSnap(t, o)
	for _, name := range []string{"br-vtep", "br-old"} {
		if r := s.find("Chassis", "name", name); r == nil || r.smap("external_ids")["vtepgw-gateway"] != id {
			t.Fatalf("chassis %s: want external_ids:vtepgw-gateway=%s, got %v", name, id, r)
		}
	}
	g.waitIdle(0, 200*time.Millisecond)
	before := sbSnap(t, o)

	g.stop()
	v.ctl("del-ps", "br-old")
	g.start()
	waitEqual(t, "chassis names", func() []string {
		var out []string
		for _, r := range sbSnap(t, o)["Chassis"] {
			out = append(out, r.str("name"))
		}
		slices.Sort(out)
		return out
	}, "br-vtep", "hv1", "other-gw", "ref-vtep")
	g.waitIdle(0, 300*time.Millisecond)
	after := sbSnap(t, o)
	for _, name := range []string{"br-vtep", "hv1", "other-gw", "ref-vtep"} {
		b, a := before.find("Chassis", "name", name), after.find("Chassis", "name", name)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("chassis %s changed:\nbefore %v\n after %v", name, b, a)
		}
		for _, e := range b.set("encaps") {
			if !reflect.DeepEqual(before.byUUID("Encap", e), after.byUUID("Encap", e)) {
				t.Errorf("encap %s of %s changed: %v → %v", e, name, before.byUUID("Encap", e), after.byUUID("Encap", e))
			}
		}
	}
	if e := after.find("Encap", "ip", "1.2.3.9"); e != nil {
		t.Errorf("encap of the deleted switch is still there: %v", e)
	}
	requireEqual(t, "bindings after restart", after.bindings("vp-new", "vp-old"), "vp-new br-vtep up=true", "vp-old [] up=true")
	if n := g.count("delete Chassis row for removed VTEP physical switch (br-old)"); n != 1 {
		t.Errorf("%d log lines about deleting br-old's chassis, want 1", n)
	}
}

// TestLearnedMACsFollowBinding: the FDB rows vtepgw writes for the switch's
// learned MACs sit on the Port_Binding that binds the VTEP logical switch
// here. When that binding goes away (found by the differential test: the
// VLAN binding was moved to another logical switch) the rows must go too,
// or OVN keeps sending those MACs to a port nobody serves, and the rows
// outlive the MACs; when the binding moves to another port of the same
// datapath, the rows move with it. This holds across restarts too.
func TestLearnedMACsFollowBinding(t *testing.T) {
	const mac = "aa:bb:cc:dd:ee:01"
	o := newOVN(t)
	v := newSwitch(t, "ps0", "1.2.3.4", "p0")
	v.ctl("add-ps", "ps1", "--", "set", "Physical_Switch", "ps1", "tunnel_ips=1.2.3.6", "--", "add-port", "ps1", "p0",
		"--", "add-ls", "vls0", "--", "add-ls", "vls1", "--", "bind-ls", "ps0", "p0", "100", "vls0")
	g := startGateway(t, o.SBRemote(), v.VtepRemote())
	o.nb("ls-add", "ls0")
	o.addVTEPPort("ls0", "vp0", "ps0", "vls0")
	o.addVTEPPort("ls0", "vp1", "ps1", "vls0")
	o.sync()
	v.ctl("add-ucast-local", "vls0", mac, "1.2.3.4")
	s := sbSnap(t, o)
	vp0, dp := s.pbKey("vp0")
	vp1, _ := s.pbKey("vp1")
	fdb := func() []string { return sbSnap(t, o).fdbs() }
	waitEqual(t, "FDB", fdb, mac+" "+dp+" "+vp0)

	// The VLAN binding moves to another logical switch: vp0 is unbound.
	v.ctl("unbind-ls", "ps0", "p0", "100", "--", "bind-ls", "ps0", "p0", "100", "vls1")
	waitEqual(t, "bindings after moving the VLAN", func() []string { return sbSnap(t, o).bindings("vp0", "vp1") }, "vp0 [] up=true", "vp1 [] up=false")
	waitEqual(t, "FDB after vp0 lost its binding", fdb)

	// Bound again: the row is back.
	v.ctl("unbind-ls", "ps0", "p0", "100", "--", "bind-ls", "ps0", "p0", "100", "vls0")
	waitEqual(t, "FDB after binding vp0 again", fdb, mac+" "+dp+" "+vp0)

	// The logical switch is bound on ps1 too, then ps0 lets go: the row
	// moves to vp1, in one update.
	v.ctl("bind-ls", "ps1", "p0", "100", "vls0")
	waitEqual(t, "bindings with both switches", func() []string { return sbSnap(t, o).bindings("vp0", "vp1") }, "vp0 ps0 up=true", "vp1 ps1 up=true")
	g.waitIdle(0, 200*time.Millisecond)
	before := sbSnap(t, o)
	mark := len(txLog(t, o.sbFile()))
	v.ctl("unbind-ls", "ps0", "p0", "100")
	waitEqual(t, "FDB after ps0 let go", fdb, mac+" "+dp+" "+vp1)
	g.waitIdle(0, 200*time.Millisecond)
	if u := sbSnap(t, o).find("FDB", "mac", mac).uuid(); u != before.find("FDB", "mac", mac).uuid() {
		t.Errorf("FDB row re-created (%s → %s), want it updated in place", before.find("FDB", "mac", mac).uuid(), u)
	}
	for _, x := range since(t, o.sbFile(), mark, ours) {
		if x.ops["FDB delete"] > 0 || x.ops["FDB insert"] > 0 {
			t.Errorf("FDB row deleted or inserted: %v", x)
		}
	}

	// Unbound while vtepgw is down: the restart removes the row.
	g.stop()
	v.ctl("unbind-ls", "ps1", "p0", "100")
	g.start()
	waitEqual(t, "FDB after vp1 lost its binding while vtepgw was down", fdb)
	v.ctl("del-ucast-local", "vls0", mac)
	v.ctl("bind-ls", "ps0", "p0", "100", "vls0")
	waitEqual(t, "bindings at the end", func() []string { return sbSnap(t, o).bindings("vp0", "vp1") }, "vp0 ps0 up=true", "vp1 [] up=true")
	g.waitIdle(0, 300*time.Millisecond)
	requireEqual(t, "FDB at the end", sbSnap(t, o).fdbs())
	if st, _ := g.appctl("status"); !strings.Contains(st, "learned macs in fdb=0 ") {
		t.Errorf("status: want learned macs in fdb=0:\n%s", st)
	}

	// The physical switch itself goes: its chassis and learned MACs too.
	v.ctl("add-ucast-local", "vls0", mac, "1.2.3.4")
	waitEqual(t, "FDB after learning again", fdb, mac+" "+dp+" "+vp0)
	v.ctl("del-ps", "ps0")
	waitEqual(t, "FDB after deleting ps0", fdb)
	requireEqual(t, "chassis after deleting ps0", filter(sbSnap(t, o).chassis(), "ps"),
		"ps1 vtep_ls=[] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.6map[csum:false]")
}
