package robust

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// topology is a converged set-up with some of everything: two physical
// switches, a VTEP logical switch bound on both, three attached and one
// unused logical switch, hypervisor ports with several MACs (one chassis
// geneve+vxlan), an unbound port, and MACs learned by the switches.
type topology struct {
	o *ovn
	v *switchDB
	g *gateway
	// dp: NB logical switch → datapath key.
	dp map[string]string
}

// The addresses used by the topology.
const (
	macA1a = "f0:00:00:00:0a:01"
	macA1b = "f0:00:00:00:0a:02"
	macA2  = "f0:00:00:00:0a:03"
	macB1a = "f0:00:00:00:0b:01"
	macB1b = "f0:00:00:00:0b:02"
	macB2  = "f0:00:00:00:0b:03"
	macC1  = "f0:00:00:00:0c:01"
	macC2  = "f0:00:00:00:0c:02"
	umlA   = "aa:aa:00:00:00:01"
	umlB   = "aa:bb:00:00:00:01"
	umlC   = "aa:cc:00:00:00:01"
)

func newTopology(t testing.TB) *topology {
	t.Helper()
	o := newOVN(t)
	v := newSwitchDB(t, testbed.VTEPOptions{})
	v.ctl("add-ps", "ps0", "--", "set", "Physical_Switch", "ps0", "tunnel_ips=1.2.3.4", "--", "add-port", "ps0", "p0", "--", "add-port", "ps0", "p1",
		"--", "add-ps", "ps1", "--", "set", "Physical_Switch", "ps1", "tunnel_ips=1.2.3.6", "--", "add-port", "ps1", "p0",
		"--", "add-ls", "ls-a", "--", "add-ls", "ls-b", "--", "add-ls", "ls-c", "--", "add-ls", "ls-unused",
		"--", "bind-ls", "ps0", "p0", "100", "ls-a", "--", "bind-ls", "ps0", "p1", "200", "ls-b",
		"--", "bind-ls", "ps1", "p0", "100", "ls-a", "--", "bind-ls", "ps1", "p0", "300", "ls-c")
	o.sb("chassis-add", "ch1", "vxlan", "1.2.3.11")
	o.sb("chassis-add", "ch2", "vxlan", "1.2.3.12")
	o.sb("chassis-add", "ch3", "geneve,vxlan", "1.2.3.13")
	for _, ls := range []string{"nb-a", "nb-b", "nb-c"} {
		o.nb("ls-add", ls)
	}
	o.addVTEPPort("nb-a", "vp-a0", "ps0", "ls-a")
	o.addVTEPPort("nb-a", "vp-a1", "ps1", "ls-a")
	o.addVTEPPort("nb-b", "vp-b", "ps0", "ls-b")
	o.addVTEPPort("nb-c", "vp-c", "ps1", "ls-c")
	o.addVIF("nb-a", "a1", "ch1", macA1a, macA1b+" 10.0.0.2")
	o.addVIF("nb-a", "a2", "ch2", macA2)
	o.addVIF("nb-b", "b1", "ch3", macB1a+" 10.0.1.1", macB1b)
	o.addVIF("nb-b", "b2", "ch1", macB2)
	o.addVIF("nb-c", "c1", "ch2", macC1)
	o.addVIF("nb-c", "c2", "", macC2) // never bound
	v.ctl("add-ucast-local", "ls-a", umlA, "1.2.3.4", "--", "add-ucast-local", "ls-b", umlB, "1.2.3.4",
		"--", "add-ucast-local", "ls-c", umlC, "1.2.3.6")
	g := startGateway(t, o.SBRemote(), v.VtepRemote())
	tp := &topology{o: o, v: v, g: g, dp: map[string]string{}}
	waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, v).umrs() }, tp.wantUMRs()...)
	waitEqual(t, "FDB", func() []string { return sbSnap(t, o).fdbs() }, tp.wantFDB(t)...)
	tp.check(t, "converged")
	g.waitIdle(0, 300*time.Millisecond)
	settle(t, 300*time.Millisecond, v.file(), o.sbFile())
	return tp
}

func (tp *topology) wantUMRs() []string {
	return []string{
		"ls-a " + macA1a + " 1.2.3.11", "ls-a " + macA1b + " 1.2.3.11", "ls-a " + macA2 + " 1.2.3.12",
		"ls-b " + macB1a + " 1.2.3.13", "ls-b " + macB1b + " 1.2.3.13", "ls-b " + macB2 + " 1.2.3.11",
		"ls-c " + macC1 + " 1.2.3.12",
	}
}

// wantFDB derives SB FDB from the switch's learned MACs: each goes on the
// VTEP logical switch's Port_Binding (ls-a has two, on ps0 and ps1: vtepgw
// reports on the lowest-named, vp-a0).
func (tp *topology) wantFDB(t testing.TB) []string {
	t.Helper()
	s, vs := sbSnap(t, tp.o), vtepSnap(t, tp.v)
	port := map[string]string{"ls-a": "vp-a0", "ls-b": "vp-b", "ls-c": "vp-c"}
	out := []string{}
	for _, r := range vs["Ucast_Macs_Local"] {
		key, dp := s.pbKey(port[vs.lsName(r.str("logical_switch"))])
		out = append(out, r.str("MAC")+" "+dp+" "+key)
	}
	slices.Sort(out)
	return out
}

// check requires the converged state of the topology.
func (tp *topology) check(t testing.TB, when string) {
	t.Helper()
	s, vs := sbSnap(t, tp.o), vtepSnap(t, tp.v)
	for _, ls := range []string{"nb-a", "nb-b", "nb-c"} {
		tp.dp[ls] = s.dpKeyOf(ls)
	}
	requireEqual(t, when+": bindings", s.bindings("vp-a0", "vp-a1", "vp-b", "vp-c"),
		"vp-a0 ps0 up=true", "vp-a1 ps1 up=true", "vp-b ps0 up=true", "vp-c ps1 up=true")
	requireEqual(t, when+": Logical_Switch", vs.lswitches(),
		"ls-a "+tp.dp["nb-a"]+" source_node", "ls-b "+tp.dp["nb-b"]+" source_node", "ls-c "+tp.dp["nb-c"]+" source_node", "ls-unused 0 []")
	requireEqual(t, when+": Ucast_Macs_Remote", vs.umrs(), tp.wantUMRs()...)
	requireEqual(t, when+": Mcast_Macs_Remote", vs.mmrs(),
		"ls-a unknown-dst 1.2.3.11,1.2.3.12", "ls-b unknown-dst 1.2.3.11,1.2.3.13", "ls-c unknown-dst 1.2.3.12")
	requireEqual(t, when+": FDB", s.fdbs(), tp.wantFDB(t)...)
	requireEqual(t, when+": VTEP chassis", filter(s.chassis(), "ps"),
		"ps0 vtep_ls=[ls-a ls-b] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.4map[csum:false]",
		"ps1 vtep_ls=[ls-a ls-c] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.6map[csum:false]")
}

// filter keeps the lines that start with prefix.
func filter(lines []string, prefix string) []string {
	out := []string{}
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// state is both databases, every row with its UUID.
type state struct{ sb, vtep snap }

func (tp *topology) state(t testing.TB) state {
	t.Helper()
	return state{sb: sbSnap(t, tp.o), vtep: vtepSnap(t, tp.v)}
}

// diffState reports every row inserted, deleted or changed between a and b.
func diffState(a, b state) []string {
	var out []string
	for _, db := range []struct {
		name string
		a, b snap
	}{{"SB", a.sb, b.sb}, {"vtep", a.vtep, b.vtep}} {
		for table, rows := range db.a {
			for _, r := range rows {
				o := db.b.byUUID(table, r.uuid())
				if o == nil {
					out = append(out, fmt.Sprintf("%s %s: deleted %v", db.name, table, r))
				} else if !reflect.DeepEqual(r, o) {
					out = append(out, fmt.Sprintf("%s %s: changed\n  %v\n→ %v", db.name, table, r, o))
				}
			}
			for _, r := range db.b[table] {
				if db.a.byUUID(table, r.uuid()) == nil {
					out = append(out, fmt.Sprintf("%s %s: inserted %v", db.name, table, r))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// marks counts the transactions of both database files.
func (tp *topology) marks(t testing.TB) (sb, vtep int) {
	t.Helper()
	return len(txLog(t, tp.o.sbFile())), len(txLog(t, tp.v.file()))
}

// requireNoWrites fails if anyone, vtepgw included, wrote to either
// database since the marks, or if any row differs from before.
func (tp *topology) requireNoWrites(t testing.TB, what string, before state, sbMark, vtepMark int) {
	t.Helper()
	if x := since(t, tp.o.sbFile(), sbMark, ""); len(x) > 0 {
		t.Errorf("%s: %d SB transactions, want 0: %v", what, len(x), x)
	}
	if x := since(t, tp.v.file(), vtepMark, ""); len(x) > 0 {
		t.Errorf("%s: %d switch transactions, want 0: %v", what, len(x), x)
	}
	if d := diffState(before, tp.state(t)); len(d) > 0 {
		t.Errorf("%s: rows changed:\n%s", what, strings.Join(d, "\n"))
	}
}

// TestHitlessRestart: stopping vtepgw with SIGTERM or kill -9 and starting
// it again deletes and re-creates no row, and writes no transaction, in
// either database. When something did change while it was down, it writes
// exactly that change.
func TestHitlessRestart(t *testing.T) {
	tp := newTopology(t)
	before := tp.state(t)
	for _, how := range []string{"SIGTERM", "kill -9"} {
		sbMark, vtepMark := tp.marks(t)
		if how == "SIGTERM" {
			tp.g.stop()
		} else {
			tp.g.kill9()
		}
		tp.g.start()
		tp.g.waitIdle(0, time.Second)
		tp.requireNoWrites(t, how+" and start", before, sbMark, vtepMark)
		tp.check(t, how+" and start")
	}

	// Changed while down: a2 gets another MAC. The restart writes one
	// remote MAC swap and touches nothing else (the flood row stays).
	tp.g.stop()
	tp.o.nb("lsp-set-addresses", "a2", "f0:00:00:00:0a:04")
	tp.o.sync()
	sbMark, vtepMark := tp.marks(t)
	tp.g.start()
	waitEqual(t, "Ucast_Macs_Remote after the change", func() []string { return vtepSnap(t, tp.v).umrs() },
		"ls-a "+macA1a+" 1.2.3.11", "ls-a "+macA1b+" 1.2.3.11", "ls-a f0:00:00:00:0a:04 1.2.3.12",
		"ls-b "+macB1a+" 1.2.3.13", "ls-b "+macB1b+" 1.2.3.13", "ls-b "+macB2+" 1.2.3.11",
		"ls-c "+macC1+" 1.2.3.12")
	tp.g.waitIdle(0, 500*time.Millisecond)
	if x := since(t, tp.o.sbFile(), sbMark, ours); len(x) > 0 {
		t.Errorf("SB: vtepgw wrote %v, want nothing", x)
	}
	x := since(t, tp.v.file(), vtepMark, "")
	if len(x) != 1 || !strings.HasPrefix(x[0].comment, ours) || !reflect.DeepEqual(x[0].ops, map[string]int{"Ucast_Macs_Remote insert": 1, "Ucast_Macs_Remote delete": 1}) {
		t.Errorf("switch: want one vtepgw transaction replacing one remote MAC, got %v", x)
	}
	after := tp.state(t)
	if !reflect.DeepEqual(before.vtep["Mcast_Macs_Remote"], after.vtep["Mcast_Macs_Remote"]) {
		t.Errorf("Mcast_Macs_Remote rows changed:\n%v\n%v", before.vtep["Mcast_Macs_Remote"], after.vtep["Mcast_Macs_Remote"])
	}
}

// TestReconnectResync: after any reconnect vtepgw reads both databases
// again and converges; libovsdb gives no delete events for rows removed
// while it was disconnected, so the resync must find them. When nothing
// changed it writes nothing.
func TestReconnectResync(t *testing.T) {
	tp := newTopology(t)
	o, v, g := tp.o, tp.v, tp.g
	conns := 2 // "ovsdb connected" lines so far in the current log

	t.Run("nothing changed", func(t *testing.T) {
		before := tp.state(t)
		sbMark, vtepMark := tp.marks(t)
		for _, c := range []struct {
			what string
			do   func() error
		}{
			{"SB ovsdb-server/reconnect", o.SB.Reconnect},
			{"switch ovsdb-server/reconnect", v.Reconnect},
			{"SB server restart", o.SB.Restart},
			{"switch server restart", v.Restart},
		} {
			if err := c.do(); err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
			conns++
			g.waitIdle(conns, 500*time.Millisecond)
			if x := since(t, o.sbFile(), sbMark, ours); len(x) > 0 {
				t.Errorf("%s: vtepgw wrote to SB: %v", c.what, x)
			}
			if x := since(t, v.file(), vtepMark, ours); len(x) > 0 {
				t.Errorf("%s: vtepgw wrote to the switch: %v", c.what, x)
			}
		}
		tp.requireNoWrites(t, "reconnects", before, sbMark, vtepMark)
	})

	t.Run("switch edited while disconnected", func(t *testing.T) {
		before := vtepSnap(t, v)
		lsUUID := func(name string) []any { return []any{"uuid", before.find("Logical_Switch", "name", name).uuid()} }
		var ownLoc string
		for _, r := range before["Physical_Locator"] {
			if r.str("dst_ip") == "1.2.3.4" {
				ownLoc = r.uuid()
			}
		}
		if err := v.Stop(); err != nil {
			t.Fatal(err)
		}
		offlineTransact(t, v.file(), "hardware_vtep",
			// A remote MAC removed: must come back.
			map[string]any{"op": "delete", "table": "Ucast_Macs_Remote", "where": []any{[]any{"MAC", "==", macA1a}}},
			// A stale remote MAC: must go.
			map[string]any{"op": "insert", "table": "Physical_Locator", "uuid-name": "pl",
				"row": map[string]any{"dst_ip": "9.9.9.9", "encapsulation_type": "vxlan_over_ipv4"}},
			map[string]any{"op": "insert", "table": "Ucast_Macs_Remote",
				"row": map[string]any{"MAC": "de:ad:be:ef:00:01", "logical_switch": lsUUID("ls-b"), "locator": []any{"named-uuid", "pl"}}},
			// A wrong key: must be put back.
			map[string]any{"op": "update", "table": "Logical_Switch", "where": []any{[]any{"name", "==", "ls-c"}}, "row": map[string]any{"tunnel_key": 4000}},
			// A flood row removed: must come back.
			map[string]any{"op": "delete", "table": "Mcast_Macs_Remote", "where": []any{[]any{"logical_switch", "==", lsUUID("ls-b")}}},
			// A learned MAC gone and a new one: SB FDB must follow.
			map[string]any{"op": "delete", "table": "Ucast_Macs_Local", "where": []any{[]any{"MAC", "==", umlB}}},
			map[string]any{"op": "insert", "table": "Ucast_Macs_Local",
				"row": map[string]any{"MAC": "aa:aa:00:00:00:02", "logical_switch": lsUUID("ls-a"), "locator": []any{"uuid", ownLoc}}},
		)
		vtepMark := len(txLog(t, v.file()))
		if err := v.Restart(); err != nil {
			t.Fatal(err)
		}
		conns++
		waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, v).umrs() }, tp.wantUMRs()...)
		wantFDB := tp.wantFDB(t)
		if len(wantFDB) != 3 || !slices.ContainsFunc(wantFDB, func(l string) bool { return strings.HasPrefix(l, "aa:aa:00:00:00:02 ") }) {
			t.Fatalf("learned MACs after the edit: %q", wantFDB)
		}
		waitEqual(t, "FDB", func() []string { return sbSnap(t, o).fdbs() }, wantFDB...)
		g.waitIdle(conns, 500*time.Millisecond)
		after := vtepSnap(t, v)
		requireEqual(t, "Logical_Switch", after.lswitches(),
			"ls-a "+tp.dp["nb-a"]+" source_node", "ls-b "+tp.dp["nb-b"]+" source_node", "ls-c "+tp.dp["nb-c"]+" source_node", "ls-unused 0 []")
		requireEqual(t, "Mcast_Macs_Remote", after.mmrs(),
			"ls-a unknown-dst 1.2.3.11,1.2.3.12", "ls-b unknown-dst 1.2.3.11,1.2.3.13", "ls-c unknown-dst 1.2.3.12")
		if r := after.find("Physical_Locator", "dst_ip", "9.9.9.9"); r != nil {
			t.Errorf("the stale remote MAC's locator is still there: %v", r)
		}
		// Exactly the damage was repaired; untouched rows kept their UUIDs.
		ops := map[string]int{}
		for _, x := range since(t, v.file(), vtepMark, ours) {
			for k, n := range x.ops {
				if !strings.HasPrefix(k, "Physical_Locator") { // sets and locators come and go with the rows
					ops[k] += n
				}
			}
		}
		wantOps := map[string]int{"Ucast_Macs_Remote insert": 1, "Ucast_Macs_Remote delete": 1, "Logical_Switch update": 1, "Mcast_Macs_Remote insert": 1}
		if !reflect.DeepEqual(ops, wantOps) {
			t.Errorf("vtepgw's switch writes after the reconnect: %v, want %v", ops, wantOps)
		}
		for _, table := range []string{"Ucast_Macs_Remote", "Mcast_Macs_Remote"} {
			for _, r := range before[table] {
				if r.str("MAC") == macA1a || r.str("logical_switch") == lsUUID("ls-b")[1] && table == "Mcast_Macs_Remote" {
					continue
				}
				if a := after.byUUID(table, r.uuid()); !reflect.DeepEqual(a, r) {
					t.Errorf("%s row %s changed: %v → %v", table, r.uuid(), r, a)
				}
			}
		}
	})

	t.Run("SB edited while disconnected", func(t *testing.T) {
		before := sbSnap(t, o)
		ps1 := before.find("Chassis", "name", "ps1").uuid()
		ch3 := before.find("Chassis", "name", "ch3").uuid()
		portB, dpB := before.pbKey("vp-b")
		if err := o.SB.Stop(); err != nil {
			t.Fatal(err)
		}
		offlineTransact(t, o.sbFile(), "OVN_Southbound",
			// A port unbound and another bound: its MACs go and come.
			map[string]any{"op": "update", "table": "Port_Binding", "where": []any{[]any{"logical_port", "==", "a1"}},
				"row": map[string]any{"chassis": []any{"set", []any{}}}},
			map[string]any{"op": "update", "table": "Port_Binding", "where": []any{[]any{"logical_port", "==", "c2"}},
				"row": map[string]any{"chassis": []any{"uuid", ch3}}},
			// Our chassis deleted (its ports lose their chassis): re-created
			// and the ports bound again.
			map[string]any{"op": "delete", "table": "Chassis", "where": []any{[]any{"_uuid", "==", []any{"uuid", ps1}}}},
			// Our learned MAC's row deleted, and a stale one on our port.
			map[string]any{"op": "delete", "table": "FDB", "where": []any{[]any{"mac", "==", umlA}}},
			map[string]any{"op": "insert", "table": "FDB", "row": map[string]any{"mac": "aa:bb:00:00:00:99", "dp_key": atoiT(t, dpB), "port_key": atoiT(t, portB)}},
		)
		if err := o.SB.Restart(); err != nil {
			t.Fatal(err)
		}
		conns++
		want := []string{
			"ls-a " + macA2 + " 1.2.3.12",
			"ls-b " + macB1a + " 1.2.3.13", "ls-b " + macB1b + " 1.2.3.13", "ls-b " + macB2 + " 1.2.3.11",
			"ls-c " + macC1 + " 1.2.3.12", "ls-c " + macC2 + " 1.2.3.13",
		}
		waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, v).umrs() }, want...)
		waitEqual(t, "bindings", func() []string { return sbSnap(t, o).bindings("vp-a0", "vp-a1", "vp-b", "vp-c", "a1", "c2") },
			"a1 [] up=true", "c2 ch3 up=false", "vp-a0 ps0 up=true", "vp-a1 ps1 up=true", "vp-b ps0 up=true", "vp-c ps1 up=true")
		waitEqual(t, "FDB", func() []string { return sbSnap(t, o).fdbs() }, tp.wantFDB(t)...)
		g.waitIdle(conns, 500*time.Millisecond)
		requireEqual(t, "Mcast_Macs_Remote", vtepSnap(t, v).mmrs(),
			"ls-a unknown-dst 1.2.3.12", "ls-b unknown-dst 1.2.3.11,1.2.3.13", "ls-c unknown-dst 1.2.3.12,1.2.3.13")
		s := sbSnap(t, o)
		requireEqual(t, "VTEP chassis", filter(s.chassis(), "ps"),
			"ps0 vtep_ls=[ls-a ls-b] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.4map[csum:false]",
			"ps1 vtep_ls=[ls-a ls-c] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.6map[csum:false]")
		if id := s.find("Chassis", "name", "ps1").smap("external_ids")["vtepgw-gateway"]; id != v.globalUUID() {
			t.Errorf("re-created chassis ps1: vtepgw-gateway=%q, want %q", id, v.globalUUID())
		}
		if n := g.count("level=WARN", "Chassis for VTEP physical switch (ps1) disappears"); n != 1 {
			t.Errorf("%d warnings about ps1's chassis disappearing, want 1", n)
		}
	})

	t.Run("physical switch deleted while disconnected", func(t *testing.T) {
		before := vtepSnap(t, v)
		ps1 := before.find("Physical_Switch", "name", "ps1").uuid()
		if err := v.Stop(); err != nil {
			t.Fatal(err)
		}
		offlineTransact(t, v.file(), "hardware_vtep",
			map[string]any{"op": "mutate", "table": "Global", "where": []any{},
				"mutations": []any{[]any{"switches", "delete", []any{"uuid", ps1}}}})
		if err := v.Restart(); err != nil {
			t.Fatal(err)
		}
		conns++
		waitEqual(t, "VTEP chassis", func() []string { return filter(sbSnap(t, o).chassis(), "ps") },
			"ps0 vtep_ls=[ls-a ls-b] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.4map[csum:false]")
		waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, v).umrs() },
			"ls-a "+macA2+" 1.2.3.12", "ls-b "+macB1a+" 1.2.3.13", "ls-b "+macB1b+" 1.2.3.13", "ls-b "+macB2+" 1.2.3.11")
		g.waitIdle(conns, 500*time.Millisecond)
		s, vs := sbSnap(t, o), vtepSnap(t, v)
		requireEqual(t, "bindings", s.bindings("vp-a0", "vp-a1", "vp-b", "vp-c"),
			"vp-a0 ps0 up=true", "vp-a1 [] up=true", "vp-b ps0 up=true", "vp-c [] up=true")
		requireEqual(t, "Logical_Switch", vs.lswitches(),
			"ls-a "+tp.dp["nb-a"]+" source_node", "ls-b "+tp.dp["nb-b"]+" source_node", "ls-c 0 source_node", "ls-unused 0 []")
		requireEqual(t, "Mcast_Macs_Remote", vs.mmrs(), "ls-a unknown-dst 1.2.3.12", "ls-b unknown-dst 1.2.3.11,1.2.3.13")
		// ps1's learned MAC (umlC, on vp-c) goes with the switch; ps0's stay.
		requireEqual(t, "FDB", s.fdbs(), tp.wantFDB(t)[:2]...)
		if n := g.count("delete Chassis row for removed VTEP physical switch (ps1)"); n != 1 {
			t.Errorf("%d log lines about deleting ps1's chassis, want 1", n)
		}
	})
}

// offlineTransact runs one transaction on a database file whose server is
// stopped (ovsdb-tool transact).
func offlineTransact(t testing.TB, file, dbName string, ops ...any) {
	t.Helper()
	tool, err := testbed.Lookup(testbed.BinOVSDBTool)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(append([]any{dbName}, ops...))
	out, err := exec.Command(tool, "transact", file, string(req)).CombinedOutput()
	if err != nil || strings.Contains(string(out), `"error"`) {
		t.Fatalf("ovsdb-tool transact %s %s: %v: %s", file, req, err, out)
	}
}

func atoiT(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
