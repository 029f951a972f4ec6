package e2e

// Behaviour from the issue that the .at scenarios do not cover.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// bindVIF adds a port with addresses to a logical switch and binds it to a
// chassis in SB (created with one encap of type encap unless it exists).
func bindVIF(t testing.TB, s *stack, ls, lsp, chassis, encap, ip string, addrs ...string) {
	t.Helper()
	s.nb(t, append([]string{"lsp-add", ls, lsp, "--", "lsp-set-addresses", lsp}, addrs...)...)
	s.sync(t)
	if out, _ := s.ovn.SBCtl("--bare", "--columns=name", "find", "Chassis", "name="+chassis); out == "" {
		s.sb(t, "chassis-add", chassis, encap, ip)
	}
	s.sb(t, "lsp-bind", lsp, chassis)
}

// A chassisredirect port's MACs go into the VTEP logical switch attached
// to the logical switch on the other side of its router port (spec A.4
// loop 1), behind the gateway chassis that holds it; not into logical
// switches attached elsewhere on the router.
func TestChassisRedirectPeerSwitch(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "ls0", "--", "ls-add", "ls1", "--", "lr-add", "lr0",
		"--", "lrp-add", "lr0", "lrp0", "00:00:00:00:ff:01", "10.0.0.1/24",
		"--", "lsp-add", "ls0", "ls0-lr0", "--", "lsp-set-type", "ls0-lr0", "router",
		"--", "lsp-set-addresses", "ls0-lr0", "router", "--", "lsp-set-options", "ls0-lr0", "router-port=lrp0",
		"--", "lrp-add", "lr0", "lrp1", "00:00:00:00:ff:02", "10.0.1.1/24",
		"--", "lsp-add", "ls1", "ls1-lr0", "--", "lsp-set-type", "ls1-lr0", "router",
		"--", "lsp-set-addresses", "ls1-lr0", "router", "--", "lsp-set-options", "ls1-lr0", "router-port=lrp1",
		"--", "lrp-set-gateway-chassis", "lrp0", "gw1", "10")
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0",
		"--", "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p1", "100", "lswitch1")
	addVTEPPort(t, s.ovn, "ls0", "ls0-vtep", "br-vtep", "lswitch0")
	addVTEPPort(t, s.ovn, "ls1", "ls1-vtep", "br-vtep", "lswitch1")
	s.sync(t)
	if got := s.sb(t, "--bare", "--columns=type,options", "find", "Port_Binding", "logical_port=cr-lrp0"); !strings.Contains(got, "chassisredirect") || !strings.Contains(got, "distributed-port=lrp0") {
		t.Fatalf("northd made no chassisredirect port cr-lrp0: %q", got)
	}
	s.sb(t, "chassis-add", "gw1", "vxlan", "1.2.3.9")
	s.sb(t, "chassis-add", "gw2", "vxlan", "1.2.3.10")
	s.sb(t, "lsp-bind", "cr-lrp0", "gw1")
	umrs, mmrs := vtepGet(s.vtep, db.umrs), vtepGet(s.vtep, db.mmrs)
	waitEqual(t, "Ucast_Macs_Remote", umrs, "lswitch0 00:00:00:00:ff:01 1.2.3.9")
	waitEqual(t, "Mcast_Macs_Remote", mmrs, "lswitch0 unknown-dst 1.2.3.9")

	// The gateway moves: the MAC moves with it, in one switch transaction.
	gw2 := s.sb(t, "--bare", "--columns=_uuid", "find", "Chassis", "name=gw2")
	s.sb(t, "set", "Port_Binding", "cr-lrp0", "chassis="+gw2)
	waitThen(t, "Ucast_Macs_Remote after the move", umrs, contains("1.2.3.10"), "lswitch0 00:00:00:00:ff:01 1.2.3.10")
	waitEqual(t, "Mcast_Macs_Remote after the move", mmrs, "lswitch0 unknown-dst 1.2.3.10")

	// The router port loses its gateway: nothing is left.
	s.nb(t, "lrp-del-gateway-chassis", "lrp0", "gw1")
	waitEqual(t, "Ucast_Macs_Remote without gateway", umrs)
	waitEqual(t, "Mcast_Macs_Remote without gateway", mmrs)
}

// Physical_Locator rows are shared by IP: an existing one (here made by
// the switch for a Mcast_Macs_Local row) is reused, one row serves every
// logical switch and the flood sets, and no duplicate is ever inserted.
func TestLocatorReuseByIP(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0",
		"--", "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p1", "100", "lswitch1",
		"--", "add-ls", "other", "--", "add-mcast-local", "other", "unknown-dst", "1.2.3.5")
	pl := mustVtepState(t, s.vtep).find("Physical_Locator", "dst_ip", "1.2.3.5").str("_uuid")
	s.nb(t, "ls-add", "ls0", "--", "ls-add", "ls1")
	addVTEPPort(t, s.ovn, "ls0", "ls0-vtep", "br-vtep", "lswitch0")
	addVTEPPort(t, s.ovn, "ls1", "ls1-vtep", "br-vtep", "lswitch1")
	bindVIF(t, s, "ls0", "vif0", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:01")
	bindVIF(t, s, "ls0", "vif1", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:02")
	bindVIF(t, s, "ls1", "vif2", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:03")
	waitEqual(t, "Ucast_Macs_Remote", vtepGet(s.vtep, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.5", "lswitch0 00:00:00:00:00:02 1.2.3.5", "lswitch1 00:00:00:00:00:03 1.2.3.5")
	waitEqual(t, "Mcast_Macs_Remote", vtepGet(s.vtep, db.mmrs), "lswitch0 unknown-dst 1.2.3.5", "lswitch1 unknown-dst 1.2.3.5")

	// refs lists the locators every remote row points at.
	refs := func(d db) []string {
		var out []string
		for _, r := range d["Ucast_Macs_Remote"] {
			out = append(out, r.str("locator"))
		}
		for _, r := range d["Mcast_Macs_Remote"] {
			out = append(out, d.byUUID("Physical_Locator_Set", r.str("locator_set")).set("locators")...)
		}
		return slices.Compact(slices.Sorted(slices.Values(out)))
	}
	d := mustVtepState(t, s.vtep)
	if got := refs(d); !slices.Equal(got, []string{pl}) {
		t.Errorf("remote rows use locators %q, want only the existing %s", got, pl)
	}
	if got := d.locators(); !slices.Equal(got, []string{"1.2.3.5"}) {
		t.Errorf("Physical_Locator rows %q, want one for 1.2.3.5", got)
	}

	// A port moves to another chassis and back: a new locator while it is
	// needed, then the shared one again.
	s.sb(t, "chassis-add", "ch1", "vxlan", "1.2.3.6")
	ch1 := s.sb(t, "--bare", "--columns=_uuid", "find", "Chassis", "name=ch1")
	ch0 := s.sb(t, "--bare", "--columns=_uuid", "find", "Chassis", "name=ch0")
	s.sb(t, "set", "Port_Binding", "vif2", "chassis="+ch1)
	waitEqual(t, "Ucast_Macs_Remote (moved)", vtepGet(s.vtep, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.5", "lswitch0 00:00:00:00:00:02 1.2.3.5", "lswitch1 00:00:00:00:00:03 1.2.3.6")
	waitEqual(t, "Physical_Locator (moved)", vtepGet(s.vtep, db.locators), "1.2.3.5", "1.2.3.6")
	s.sb(t, "set", "Port_Binding", "vif2", "chassis="+ch0)
	waitEqual(t, "Ucast_Macs_Remote (back)", vtepGet(s.vtep, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.5", "lswitch0 00:00:00:00:00:02 1.2.3.5", "lswitch1 00:00:00:00:00:03 1.2.3.5")
	waitEqual(t, "Physical_Locator (back)", vtepGet(s.vtep, db.locators), "1.2.3.5")
	if got := refs(mustVtepState(t, s.vtep)); !slices.Equal(got, []string{pl}) {
		t.Errorf("remote rows use locators %q after the move, want only %s", got, pl)
	}
}

// One unknown-dst Mcast_Macs_Remote per attached logical switch, whose
// locators are the vxlan IPs of every chassis with a bound port in the
// datapath (with or without MACs), each once; gone with the last bound
// port.
func TestUnknownDstLocatorSet(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0",
		"--", "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p1", "100", "lswitch1")
	s.nb(t, "ls-add", "ls0", "--", "ls-add", "ls1")
	addVTEPPort(t, s.ovn, "ls0", "ls0-vtep", "br-vtep", "lswitch0")
	addVTEPPort(t, s.ovn, "ls1", "ls1-vtep", "br-vtep", "lswitch1")
	bindVIF(t, s, "ls0", "vif0", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:01")
	bindVIF(t, s, "ls0", "vif1", "ch1", "vxlan", "1.2.3.6")
	bindVIF(t, s, "ls0", "vif2", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:02 10.0.0.2")
	bindVIF(t, s, "ls1", "vif3", "ch1", "vxlan", "1.2.3.6", "00:00:00:00:00:03")
	// A chassis without vxlan encap cannot be reached from a VTEP.
	bindVIF(t, s, "ls0", "vif4", "ch2", "geneve", "1.2.3.7", "00:00:00:00:00:04")
	mmrs := vtepGet(s.vtep, db.mmrs)
	waitEqual(t, "Mcast_Macs_Remote", mmrs, "lswitch0 unknown-dst 1.2.3.5,1.2.3.6", "lswitch1 unknown-dst 1.2.3.6")
	waitEqual(t, "Ucast_Macs_Remote", vtepGet(s.vtep, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.5", "lswitch0 00:00:00:00:00:02 1.2.3.5", "lswitch1 00:00:00:00:00:03 1.2.3.6")
	waitLog(t, s.gw, "WARN", regexp.MustCompile(`^VTEP tunnel encap on chassis \(ch2\) not found$`), 1)

	// ch1 leaves ls0 but stays in ls1.
	s.sb(t, "lsp-unbind", "vif1")
	waitEqual(t, "Mcast_Macs_Remote (vif1 unbound)", mmrs, "lswitch0 unknown-dst 1.2.3.5", "lswitch1 unknown-dst 1.2.3.6")
	// One of ch0's two ports goes: nothing changes.
	s.sb(t, "lsp-unbind", "vif2")
	waitEqual(t, "Ucast_Macs_Remote (vif2 unbound)", vtepGet(s.vtep, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.5", "lswitch1 00:00:00:00:00:03 1.2.3.6")
	waitEqual(t, "Mcast_Macs_Remote (vif2 unbound)", mmrs, "lswitch0 unknown-dst 1.2.3.5", "lswitch1 unknown-dst 1.2.3.6")
	// The last reachable port of ls0 goes: its row goes.
	s.sb(t, "lsp-unbind", "vif0")
	waitEqual(t, "Mcast_Macs_Remote (vif0 unbound)", mmrs, "lswitch1 unknown-dst 1.2.3.6")
	if got := mustVtepState(t, s.vtep)["Physical_Locator_Set"]; len(got) != 1 {
		t.Errorf("%d Physical_Locator_Set rows, want 1 (old sets are garbage)", len(got))
	}
}

// Every Ucast/Mcast_Macs_Remote row nobody wants is removed, both those
// found at start and those added behind vtepgw's back, and rows of the
// wanted entries are put back when someone changes them.
func TestStaleRemoteRowsDeleted(t *testing.T) {
	t.Parallel()
	ovn := testbed.StartOVN(t)
	v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v.MustVtep(t, "add-ps", "br-vtep", "--", "set", "Physical_Switch", "br-vtep", "tunnel_ips=1.2.3.4",
		"--", "add-port", "br-vtep", "p0", "--", "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0",
		"--", "add-ls", "unused",
		"--", "add-ucast-remote", "lswitch0", "00:00:00:00:00:99", "1.2.3.99",
		"--", "add-ucast-remote", "unused", "00:00:00:00:00:98", "1.2.3.98",
		"--", "add-mcast-remote", "unused", "unknown-dst", "1.2.3.98",
		"--", "add-mcast-remote", "lswitch0", "01:00:5e:00:00:01", "1.2.3.97")
	s := &stack{ovn: ovn, vtep: v}
	s.nb(t, "ls-add", "ls0")
	addVTEPPort(t, ovn, "ls0", "ls0-vtep", "br-vtep", "lswitch0")
	bindVIF(t, s, "ls0", "vif0", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:01")
	s.gw = startGateway(t, ovn.SBRemote(), v.VtepRemote())
	umrs, mmrs := vtepGet(v, db.umrs), vtepGet(v, db.mmrs)
	waitEqual(t, "Ucast_Macs_Remote", umrs, "lswitch0 00:00:00:00:00:01 1.2.3.5")
	waitEqual(t, "Mcast_Macs_Remote", mmrs, "lswitch0 unknown-dst 1.2.3.5")

	// Added or changed by someone else while running.
	s.vctl(t, "add-ucast-remote", "lswitch0", "00:00:00:00:00:97", "1.2.3.97",
		"--", "add-ucast-remote", "unused", "00:00:00:00:00:96", "1.2.3.97")
	waitEqual(t, "Ucast_Macs_Remote (stray added)", umrs, "lswitch0 00:00:00:00:00:01 1.2.3.5")
	s.vctl(t, "add-mcast-remote", "lswitch0", "unknown-dst", "1.2.3.96")
	waitEqual(t, "Mcast_Macs_Remote (locator added)", mmrs, "lswitch0 unknown-dst 1.2.3.5")
	s.vctl(t, "del-ucast-remote", "lswitch0", "00:00:00:00:00:01")
	waitEqual(t, "Ucast_Macs_Remote (deleted by someone)", umrs, "lswitch0 00:00:00:00:00:01 1.2.3.5")
	waitEqual(t, "Physical_Locator", vtepGet(v, db.locators), "1.2.3.5")
}

// All adds and deletes caused by one change land in one transaction per
// database, counted in the database files' transaction logs by vtepgw's
// transaction comment ("vtepgw: ...").
func TestOneTransactionPerChange(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	vtepFile, sbFile := s.vtep.DBPath("hardware_vtep"), s.ovn.SB.DBPath("OVN_Southbound")
	s.vctl(t, "add-ls", "lswitch0", "--", "add-ls", "lswitch1")
	s.nb(t, "ls-add", "ls0", "--", "ls-add", "ls1")
	addVTEPPort(t, s.ovn, "ls0", "ls0-vtep", "br-vtep", "lswitch0")
	addVTEPPort(t, s.ovn, "ls1", "ls1-vtep", "br-vtep", "lswitch1")
	bindVIF(t, s, "ls0", "vif0", "ch0", "vxlan", "1.2.3.5", "00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03")
	bindVIF(t, s, "ls1", "vif1", "ch1", "vxlan", "1.2.3.6", "00:00:00:00:01:01")
	waitEqual(t, "Logical_Switch (unused)", vtepGet(s.vtep, db.lswitches), "lswitch0 0 []", "lswitch1 0 []")
	settle(t, vtepFile, 300*time.Millisecond)
	settle(t, sbFile, 300*time.Millisecond)

	// Change 1: one vtep-ctl transaction binds two logical switches.
	vMark, sbMark := txnMark(t, vtepFile), txnMark(t, sbFile)
	s.vctl(t, "bind-ls", "br-vtep", "p0", "100", "lswitch0", "--", "bind-ls", "br-vtep", "p1", "100", "lswitch1")
	waitEqual(t, "Ucast_Macs_Remote (1)", vtepGet(s.vtep, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.5", "lswitch0 00:00:00:00:00:02 1.2.3.5", "lswitch0 00:00:00:00:00:03 1.2.3.5",
		"lswitch1 00:00:00:00:01:01 1.2.3.6")
	waitEqual(t, "up (1)", sbGet(s.ovn, func(d db) []string {
		return []string{d.find("Port_Binding", "logical_port", "ls0-vtep").str("up"), d.find("Port_Binding", "logical_port", "ls1-vtep").str("up")}
	}), "true", "true")
	settle(t, vtepFile, 300*time.Millisecond)
	settle(t, sbFile, 300*time.Millisecond)
	// The switch: keys, remote MACs and flood rows of both, in one go.
	vt := txnsSince(t, vtepFile, vMark)
	t.Logf("change 1: switch transactions %v", vt)
	if len(vt) != 1 {
		t.Fatalf("change 1: %d vtepgw transactions in the switch database, want 1: %v", len(vt), vt)
	}
	if x := vt[0]; x.ops["Logical_Switch update"] != 2 || x.ops["Ucast_Macs_Remote insert"] != 4 || x.ops["Mcast_Macs_Remote insert"] != 2 {
		t.Errorf("change 1: switch transaction %v, want 2 Logical_Switch updates, 4 Ucast_Macs_Remote and 2 Mcast_Macs_Remote inserts", x)
	}
	// The southbound: the chassis's logical switches and both bindings in
	// one transaction; up=true follows once the switch is programmed.
	st := txnsSince(t, sbFile, sbMark)
	t.Logf("change 1: southbound transactions %v", st)
	if len(st) == 0 || len(st) > 2 {
		t.Fatalf("change 1: %d vtepgw transactions in the southbound, want 1 or 2: %v", len(st), st)
	}
	if x := st[0]; x.cols["Chassis.vtep_logical_switches"] != 1 || x.cols["Port_Binding.chassis"] != 2 {
		t.Errorf("change 1: first southbound transaction %v, want the chassis's logical switches and both Port_Binding chassis", x)
	}
	for _, x := range st[1:] {
		if x.ops["Port_Binding update"] != x.cols["Port_Binding.up"] || len(x.ops) != 1 {
			t.Errorf("change 1: later southbound transaction %v, want only Port_Binding up", x)
		}
	}

	// Change 2: three MACs replaced by two.
	vMark = txnMark(t, vtepFile)
	s.nb(t, "lsp-set-addresses", "vif0", "00:00:00:00:00:04", "00:00:00:00:00:05")
	waitThen(t, "Ucast_Macs_Remote (2)", vtepGet(s.vtep, db.umrs), contains("00:00:00:00:00:05"),
		"lswitch0 00:00:00:00:00:04 1.2.3.5", "lswitch0 00:00:00:00:00:05 1.2.3.5", "lswitch1 00:00:00:00:01:01 1.2.3.6")
	settle(t, vtepFile, 300*time.Millisecond)
	vt = txnsSince(t, vtepFile, vMark)
	t.Logf("change 2: switch transactions %v", vt)
	if len(vt) != 1 || vt[0].ops["Ucast_Macs_Remote delete"] != 3 || vt[0].ops["Ucast_Macs_Remote insert"] != 2 {
		t.Errorf("change 2: vtepgw switch transactions %v, want one with 3 Ucast_Macs_Remote deletes and 2 inserts", vt)
	}

	// Change 3: the port moves to another chassis: its MACs and the flood
	// row move together.
	vMark = txnMark(t, vtepFile)
	ch1 := s.sb(t, "--bare", "--columns=_uuid", "find", "Chassis", "name=ch1")
	s.sb(t, "set", "Port_Binding", "vif0", "chassis="+ch1)
	waitThen(t, "Ucast_Macs_Remote (3)", vtepGet(s.vtep, db.umrs), lacks("1.2.3.5"),
		"lswitch0 00:00:00:00:00:04 1.2.3.6", "lswitch0 00:00:00:00:00:05 1.2.3.6", "lswitch1 00:00:00:00:01:01 1.2.3.6")
	waitEqual(t, "Mcast_Macs_Remote (3)", vtepGet(s.vtep, db.mmrs), "lswitch0 unknown-dst 1.2.3.6", "lswitch1 unknown-dst 1.2.3.6")
	settle(t, vtepFile, 300*time.Millisecond)
	vt = txnsSince(t, vtepFile, vMark)
	t.Logf("change 3: switch transactions %v", vt)
	if len(vt) != 1 || vt[0].cols["Ucast_Macs_Remote.locator"] != 2 || vt[0].cols["Mcast_Macs_Remote.locator_set"] != 1 {
		t.Errorf("change 3: vtepgw switch transactions %v, want one moving 2 Ucast_Macs_Remote and the Mcast_Macs_Remote", vt)
	}
}

// Global other_config:ovn-remote-probe-interval sets the southbound
// inactivity probe: vtepgw's echo requests ("libovsdb echo") are counted in
// the SB server's jsonrpc debug log. Values below 1000 ms mean 1000, 0
// disables probes, and a bad value is logged.
func TestRemoteProbeInterval(t *testing.T) {
	if testing.Short() {
		t.Skip("counts probes over two 2.5 s windows")
	}
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	if _, err := s.ovn.SB.AppCtl("vlog/set", "jsonrpc:file:dbg"); err != nil {
		t.Fatal(err)
	}
	echoes := func() int {
		data, err := readFile(s.ovn.SB.LogPath())
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(data, `received request, method="echo", params=["vtepgw echo"]`)
	}
	connects := 1
	// reconnect drops vtepgw's SB connection, so the next probe timer
	// starts with the current interval, and waits until it is back.
	reconnect := func() {
		t.Helper()
		if err := s.ovn.SB.Reconnect(); err != nil {
			t.Fatal(err)
		}
		connects++
		testbed.Eventually(t, waitLong, poll, func() (bool, string) {
			st, err := s.gw.AppCtl("status")
			first, _, _ := strings.Cut(st, "\n")
			return err == nil && strings.HasPrefix(first, "southbound: connected") && strings.Contains(first, fmt.Sprintf(", %d connects)", connects)),
				fmt.Sprintf("status: %q, %v", first, err)
		})
	}
	window := func() int {
		n := echoes()
		time.Sleep(2500 * time.Millisecond)
		return echoes() - n
	}
	// applied waits until vtepgw has read the switch's Global row again.
	applied := func(kv string) {
		t.Helper()
		s.vctl(t, "set", "Global", ".", "other_config:ovn-remote-probe-interval="+kv)
		testbed.Eventually(t, waitLong, poll, func() (bool, string) {
			out, err := s.gw.AppCtl("status")
			return err == nil && strings.Contains(out, "pending_keys=0"), out
		})
		time.Sleep(100 * time.Millisecond)
	}

	// 500 ms is raised to 1 s: two probes in 2.5 s (the default, 5 s,
	// would give none; 500 ms would give four or five).
	applied("500")
	reconnect()
	n := window()
	t.Logf("ovn-remote-probe-interval=500: %d echo requests in 2.5 s", n)
	if n < 2 || n > 3 {
		t.Errorf("%d echo requests in 2.5 s with ovn-remote-probe-interval=500, want 2 or 3", n)
	}
	// 0 disables probes.
	applied("0")
	reconnect()
	if n := window(); n != 0 {
		t.Errorf("%d echo requests in 2.5 s with ovn-remote-probe-interval=0, want none", n)
	}
	// A bad value is logged.
	s.vctl(t, "set", "Global", ".", "other_config:ovn-remote-probe-interval=soon")
	waitLog(t, s.gw, "WARN", regexp.MustCompile(`ovn-remote-probe-interval`), 1)
}

// One vtepgw serves two switch databases: each gets its chassis and
// bindings, remote MACs and flood rows, the other switch is a flood target
// and gets the MACs the first learned, and exit cleans up both.
func TestTwoSwitchDBs(t *testing.T) {
	t.Parallel()
	ovn := testbed.StartOVN(t)
	a := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	b := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	for _, sw := range []struct {
		v  *testbed.VTEP
		ps string
		ip string
	}{{a, "br-a", "1.2.3.4"}, {b, "br-b", "1.2.3.5"}} {
		sw.v.MustVtep(t, "add-ps", sw.ps, "--", "set", "Physical_Switch", sw.ps, "tunnel_ips="+sw.ip,
			"--", "add-port", sw.ps, "p0", "--", "add-ls", "lswitch0", "--", "bind-ls", sw.ps, "p0", "100", "lswitch0")
	}
	gw := startGateway(t, ovn.SBRemote(), a.VtepRemote(), b.VtepRemote())
	s := &stack{ovn: ovn, vtep: a, gw: gw}
	s.nb(t, "ls-add", "ls0")
	addVTEPPort(t, ovn, "ls0", "ls0-a", "br-a", "lswitch0")
	addVTEPPort(t, ovn, "ls0", "ls0-b", "br-b", "lswitch0")
	bindVIF(t, s, "ls0", "vif0", "ch0", "vxlan", "1.2.3.9", "00:00:00:00:00:01")

	waitEqual(t, "bindings", sbGet(ovn, func(d db) []string { return d.bindings() }), "ls0-a br-a", "ls0-b br-b", "vif0 ch0")
	waitEqual(t, "Ucast_Macs_Remote of a", vtepGet(a, db.umrs), "lswitch0 00:00:00:00:00:01 1.2.3.9")
	waitEqual(t, "Ucast_Macs_Remote of b", vtepGet(b, db.umrs), "lswitch0 00:00:00:00:00:01 1.2.3.9")
	waitEqual(t, "Mcast_Macs_Remote of a", vtepGet(a, db.mmrs), "lswitch0 unknown-dst 1.2.3.5,1.2.3.9")
	waitEqual(t, "Mcast_Macs_Remote of b", vtepGet(b, db.mmrs), "lswitch0 unknown-dst 1.2.3.4,1.2.3.9")
	key := mustSB(t, ovn).dpKey("ls0-a")
	for name, v := range map[string]*testbed.VTEP{"a": a, "b": b} {
		waitEqual(t, "Logical_Switch of "+name, vtepGet(v, db.lswitches), "lswitch0 "+key+" source_node")
	}

	// A MAC learned on a: FDB, and a remote MAC on b.
	a.MustVtep(t, "add-ucast-local", "lswitch0", "00:00:00:00:aa:01", "1.2.3.4")
	waitEqual(t, "FDB", sbGet(ovn, db.fdbs), "00:00:00:00:aa:01 "+mustSB(t, ovn).portKeys("ls0-a"))
	waitEqual(t, "Ucast_Macs_Remote of b (learned)", vtepGet(b, db.umrs),
		"lswitch0 00:00:00:00:00:01 1.2.3.9", "lswitch0 00:00:00:00:aa:01 1.2.3.4")
	waitEqual(t, "Ucast_Macs_Remote of a (learned)", vtepGet(a, db.umrs), "lswitch0 00:00:00:00:00:01 1.2.3.9")

	st, err := gw.AppCtl("status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"physical switch br-a ", "physical switch br-b ", a.VtepRemote(), b.VtepRemote()} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	if st, err := gw.AppCtl("vtep-connection-status"); err != nil || strings.Count(st, ": connected") != 2 {
		t.Errorf("vtep-connection-status = %q, %v; want two connected switches", st, err)
	}

	// exit cleans up both databases and both chassis.
	gw.Exit(t)
	waitEqual(t, "chassis after exit", sbGet(ovn, func(d db) []string { return d.bindings() }), "ls0-a []", "ls0-b []", "vif0 ch0")
	if got := mustSB(t, ovn)["Chassis"]; len(got) != 1 {
		t.Errorf("%d chassis after exit, want only ch0", len(got))
	}
	for name, v := range map[string]*testbed.VTEP{"a": a, "b": b} {
		d := mustVtepState(t, v)
		if got := slices.Concat(d.umrs(), d.mmrs(), d.lswitches()); !slices.Equal(got, []string{"lswitch0 [] source_node"}) {
			t.Errorf("switch %s after exit: %q, want no remote rows and an empty key", name, got)
		}
	}
}
