package e2e

// One test per scenario of OVN's tests/ovn-controller-vtep.at (spec section
// C), run against vtepgw. Each test names the .at steps it reproduces.
// Where the .at file checks state right after a wait that may already be
// satisfied (the "racy" checks), waitThen requires the first state that
// shows the change to be the complete expected state.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// C.1 "ovn-controller-vtep - chassis".
func TestChassis(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")

	// 1. The chassis as ovn-sbctl show prints it: no hostname, one encap.
	const show = "Chassis br-vtep\n" +
		"    Encap vxlan\n" +
		"        ip: \"1.2.3.4\"\n" +
		"        options: {csum=\"false\"}"
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got := s.sb(t, "show")
		return got == show, fmt.Sprintf("ovn-sbctl show:\n%s\nwant:\n%s", got, show)
	})
	// 2.
	if got := s.sb(t, "get", "chassis", "br-vtep", "other_config:is-vtep"); got != `"true"` {
		t.Fatalf("other_config:is-vtep = %s, want \"true\"", got)
	}
	// 3. is-vtep removed by someone else is put back.
	s.sb(t, "remove", "chassis", "br-vtep", "other_config", "is-vtep")
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got, err := s.ovn.SBCtl("get", "chassis", "br-vtep", "other_config:is-vtep")
		return err == nil && got == `"true"`, fmt.Sprintf("is-vtep: %q, %v", got, err)
	})
	if len(s.gw.Messages(t, "WARN")) != 0 {
		t.Fatalf("warnings before the chassis was deleted: %q", s.gw.Messages(t, "WARN"))
	}

	// 4. A deleted chassis comes back, with the reference's warning as the
	// only warning so far.
	s.sb(t, "chassis-del", "br-vtep")
	waitLog(t, s.gw, "WARN", regexp.MustCompile(`.`), 1)
	if got, want := s.gw.Messages(t, "WARN"), []string{"Chassis for VTEP physical switch (br-vtep) disappears, maybe deleted by ovn-sbctl, adding it back"}; !slices.Equal(got, want) {
		t.Fatalf("warnings:\n got %q\nwant %q", got, want)
	}
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got := s.sb(t, "show")
		return got == show, fmt.Sprintf("ovn-sbctl show after chassis-del:\n%s", got)
	})

	// 5. A new tunnel IP updates the one Encap in place.
	encap := s.sb(t, "--bare", "--columns=_uuid", "list", "Encap")
	s.vctl(t, "set", "Physical_Switch", "br-vtep", "tunnel_ips=1.2.3.5")
	encaps := func() ([]string, error) {
		out, err := s.ovn.SBCtl("--bare", "--columns=type,ip,options,chassis_name", "list", "Encap")
		return strings.Fields(out), err
	}
	waitEqual(t, "Encap rows", encaps, "vxlan", "1.2.3.5", "csum=false", "br-vtep")
	if got := s.sb(t, "--bare", "--columns=_uuid", "list", "Encap"); got != encap {
		t.Errorf("Encap row replaced (%s, was %s), want it updated in place", got, encap)
	}

	// 6-10. vtep_logical_switches follows the VLAN bindings.
	vls := func() ([]string, error) {
		d, err := sbState(s.ovn)
		if err != nil {
			return nil, err
		}
		return []string{d.vtepLS("br-vtep")}, nil
	}
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0",
		"--", "bind-ls", "br-vtep", "p0", "200", "lswitch0", "--", "bind-ls", "br-vtep", "p1", "300", "lswitch0")
	waitEqual(t, "vtep_logical_switches (6)", vls, "[lswitch0]")
	s.vctl(t, "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p0", "300", "lswitch1")
	waitEqual(t, "vtep_logical_switches (7)", vls, "[lswitch0,lswitch1]")
	s.vctl(t, "unbind-ls", "br-vtep", "p0", "200")
	// lswitch0 is still bound on p0 100 and p1 300: nothing may change.
	time.Sleep(300 * time.Millisecond)
	waitEqual(t, "vtep_logical_switches (8)", vls, "[lswitch0,lswitch1]")
	s.vctl(t, "unbind-ls", "br-vtep", "p0", "100", "--", "unbind-ls", "br-vtep", "p1", "300")
	waitEqual(t, "vtep_logical_switches (9)", vls, "[lswitch1]")
	s.vctl(t, "unbind-ls", "br-vtep", "p0", "300")
	waitEqual(t, "vtep_logical_switches (10)", vls, "[]")

	// 11. A graceful exit removes the chassis.
	s.gw.Exit(t)
	if got := s.sb(t, "--bare", "--columns=name", "list", "Chassis"); got != "" {
		t.Fatalf("chassis after exit: %q", got)
	}
}

// C.2 "ovn-controller-vtep - binding 1".
func TestBinding1(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "br-test")
	binds := sbGet(s.ovn, func(d db) []string { return d.bindings() })

	// 1.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0", "--", "bind-ls", "br-vtep", "p1", "300", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	waitEqual(t, "bindings (1)", binds, "br-vtep_lswitch0 br-vtep")
	// Bound ports come up (northd initialises up=false; we set it true).
	waitEqual(t, "up (1)", sbGet(s.ovn, func(d db) []string {
		return []string{d.find("Port_Binding", "logical_port", "br-vtep_lswitch0").str("up")}
	}), "true")

	// 2.
	s.vctl(t, "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p0", "200", "lswitch1")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch1", "br-vtep", "lswitch1")
	waitEqual(t, "bindings (2)", binds, "br-vtep_lswitch0 br-vtep", "br-vtep_lswitch1 br-vtep")

	// 3. A second port for the same (switch, logical switch): one wins,
	// with the reference's warning.
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0_dup", "br-vtep", "lswitch0")
	waitLog(t, s.gw, "WARN", regexp.MustCompile(`has already been associated with logical port`), 1)
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got, _ := binds()
		ok := slices.Equal(got, []string{"br-vtep_lswitch0 br-vtep", "br-vtep_lswitch0_dup []", "br-vtep_lswitch1 br-vtep"}) ||
			slices.Equal(got, []string{"br-vtep_lswitch0 []", "br-vtep_lswitch0_dup br-vtep", "br-vtep_lswitch1 br-vtep"})
		return ok, fmt.Sprintf("bindings (3): %q, want exactly one of the lswitch0 ports bound", got)
	})
	warn := regexp.MustCompile(`^logical switch \(lswitch0\), on vtep gateway chassis \(br-vtep\) has already been associated with logical port \((br-vtep_lswitch0|br-vtep_lswitch0_dup)\), ignore logical port \((br-vtep_lswitch0|br-vtep_lswitch0_dup)\)$`)
	for _, m := range s.gw.Messages(t, "WARN") {
		if !warn.MatchString(m) {
			t.Errorf("unexpected warning %q", m)
		}
	}
	if m := s.gw.Messages(t, "WARN"); len(m) == 1 {
		sm := warn.FindStringSubmatch(m[0])
		if sm[1] == sm[2] {
			t.Errorf("warning names the same port twice: %q", m[0])
		}
	}

	// 4. The ports disappear (ovs-vtep would remove their Physical_Port
	// rows after ovs-vsctl del-port): everything is unbound.
	s.vctl(t, "del-port", "br-vtep", "p0", "--", "del-port", "br-vtep", "p1")
	waitEqual(t, "bindings (4)", binds, "br-vtep_lswitch0 []", "br-vtep_lswitch0_dup []", "br-vtep_lswitch1 []")
	d := mustSB(t, s.ovn)
	if got := d.vtepLS("br-vtep"); got != "[]" {
		t.Errorf("vtep_logical_switches after del-port = %s", got)
	}
}

// C.3 "ovn-controller-vtep - binding 2": one VTEP logical switch name in
// two OVN datapaths.
func TestBinding2(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "br-test")
	binds := sbGet(s.ovn, func(d db) []string { return d.bindings() })

	// 1.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	waitEqual(t, "bindings (1)", binds, "br-vtep_lswitch0 br-vtep")

	// 2. A second physical switch without tunnel IPs binds lswitch0 for a
	// port of another datapath: conflict, the first binding stays.
	s.nb(t, "ls-add", "br-void")
	s.vctl(t, "add-ps", "br-vtep-void", "--", "add-port", "br-vtep-void", "p0-void", "--", "bind-ls", "br-vtep-void", "p0-void", "100", "lswitch0")
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out := s.sb(t, "--bare", "--columns=type,ip,options", "find", "Encap", "chassis_name=br-vtep-void")
		return out == "vxlan\n\ncsum=false", fmt.Sprintf("encap of br-vtep-void: %q", out)
	})
	addVTEPPort(t, s.ovn, "br-void", "br-vtep-void_lswitch0", "br-vtep-void", "lswitch0")
	waitLog(t, s.gw, "WARN", regexp.MustCompile(`.`), 1)
	waitEqual(t, "bindings (2)", binds, "br-vtep-void_lswitch0 []", "br-vtep_lswitch0 br-vtep")

	// 3. The .at file's normalisation of the warnings.
	norm := regexp.MustCompile(`\([-_0-9a-z][-_0-9a-z]*\)`)
	key := regexp.MustCompile(`\(with tunnel key [0-9][0-9]*\)`)
	var got []string
	for _, m := range s.gw.Messages(t, "WARN") {
		m = key.ReplaceAllString(norm.ReplaceAllString(m, "()"), "()")
		if len(got) == 0 || got[len(got)-1] != m {
			got = append(got, m)
		}
	}
	want := []string{"logical switch (), on vtep gateway chassis () has already been associated with logical datapath (), ignore logical port () which belongs to logical datapath ()"}
	if !slices.Equal(got, want) {
		t.Fatalf("warnings:\n got %q\nwant %q", got, want)
	}
	d := mustSB(t, s.ovn)
	exact := fmt.Sprintf("logical switch (lswitch0), on vtep gateway chassis (br-vtep-void) has already been associated with logical datapath (with tunnel key %s), ignore logical port (br-vtep-void_lswitch0) which belongs to logical datapath (with tunnel key %s)",
		d.dpKey("br-vtep_lswitch0"), d.dpKey("br-vtep-void_lswitch0"))
	if m := s.gw.Messages(t, "WARN"); m[0] != exact {
		t.Errorf("warning:\n got %q\nwant %q", m[0], exact)
	}

	// 4.
	s.nb(t, "ls-del", "br-void")
	s.vctl(t, "del-ps", "br-vtep-void")
	waitEqual(t, "bindings (4)", binds, "br-vtep_lswitch0 br-vtep")
	waitEqual(t, "chassis (4)", sbGet(s.ovn, func(d db) []string {
		var out []string
		for _, r := range d["Chassis"] {
			out = append(out, r.str("name"))
		}
		return out
	}), "br-vtep")
}

// C.4 "ovn-controller-vtep - vtep-lswitch": Logical_Switch tunnel_key.
func TestVTEPLswitch(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "br-test")
	lswitches := vtepGet(s.vtep, db.lswitches)

	// 1. The bound logical switch carries the datapath's key.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		d := mustSB(t, s.ovn)
		return d.dpKey("br-vtep_lswitch0") != "", "no Port_Binding br-vtep_lswitch0"
	})
	key := mustSB(t, s.ovn).dpKey("br-vtep_lswitch0")
	waitEqual(t, "Logical_Switch (1)", lswitches, "lswitch0 "+key+" source_node")

	// 2. A second physical switch binds the same logical switch to the
	// same datapath: both bound, key unchanged.
	s.vctl(t, "add-ps", "br-vtep-void", "--", "add-port", "br-vtep-void", "p0", "--", "bind-ls", "br-vtep-void", "p0", "100", "lswitch0")
	waitEqual(t, "chassis (2)", sbGet(s.ovn, func(d db) []string {
		return []string{d.vtepLS("br-vtep"), d.vtepLS("br-vtep-void")}
	}), "[lswitch0]", "[lswitch0]")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep-void_lswitch0", "br-vtep-void", "lswitch0")
	waitEqual(t, "bindings (2)", sbGet(s.ovn, func(d db) []string { return d.bindings() }),
		"br-vtep-void_lswitch0 br-vtep-void", "br-vtep_lswitch0 br-vtep")
	waitEqual(t, "Logical_Switch (2)", lswitches, "lswitch0 "+key+" source_node")

	// 3.
	s.vctl(t, "del-ps", "br-vtep-void")
	waitEqual(t, "chassis (3)", sbGet(s.ovn, func(d db) []string {
		var out []string
		for _, r := range d["Chassis"] {
			out = append(out, r.str("name"))
		}
		return out
	}), "br-vtep")
	waitEqual(t, "Logical_Switch (3)", lswitches, "lswitch0 "+key+" source_node")

	// 4. The port stops being a vtep port: unbound, key 0.
	s.nb(t, "lsp-set-type", "br-vtep_lswitch0", "")
	waitEqual(t, "Logical_Switch (4)", lswitches, "lswitch0 0 source_node")
	waitEqual(t, "bindings (4)", sbGet(s.ovn, func(d db) []string { return d.bindings() }),
		"br-vtep-void_lswitch0 []", "br-vtep_lswitch0 []")

	// A graceful exit clears the key (empty, not 0).
	s.gw.Exit(t)
	if got := mustVtepState(t, s.vtep).lswitches(); !slices.Equal(got, []string{"lswitch0 [] source_node"}) {
		t.Errorf("Logical_Switch after exit: %q", got)
	}
}

// C.5 "ovn-controller-vtep - vtep-macs 1": Ucast_Macs_Remote, including
// the main-only skip of external ports. This one runs the ovs-vtep
// emulator, whose BFD port for the remote chassis step 7 checks.
func TestVTEPMacs1(t *testing.T) {
	t.Parallel()
	ovn := testbed.StartOVN(t)
	sim := startSim(t, testbed.SimOptions{Name: "br-vtep", TunnelIP: "1.2.3.4"})
	gw := startGateway(t, ovn.SBRemote(), sim.VtepRemote())
	s := &stack{ovn: ovn, vtep: sim.VTEP, gw: gw}
	s.nb(t, "ls-add", "br-test")
	umrs := vtepGet(s.vtep, db.umrs)

	// 1.
	s.nb(t, "lsp-add", "br-test", "vif0", "--", "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:02")
	s.sync(t)
	s.sb(t, "chassis-add", "ch0", "vxlan", "1.2.3.5")
	s.sb(t, "lsp-bind", "vif0", "ch0")
	// 2.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	// 3. The same MAC in a datapath with no VTEP logical switch.
	s.nb(t, "ls-add", "br-void", "--", "lsp-add", "br-void", "vif1", "--", "lsp-set-addresses", "vif1", "f0:ab:cd:ef:01:02")
	s.sync(t)
	s.sb(t, "chassis-add", "ch1", "vxlan", "1.2.3.6")
	s.sb(t, "lsp-bind", "vif1", "ch1")
	// 4. [main] An external port bound to ch1 in br-test is not published.
	s.nb(t, "ha-chassis-group-add", "ext-group1")
	s.nb(t, "ha-chassis-group-add-chassis", "ext-group1", "ch1", "7268")
	s.sb(t, "set", "chassis", "ch0", "other_config:ovn-cms-options=enable-chassis-as-gw")
	s.nb(t, "lsp-add", "br-test", "ext1", "--", "lsp-set-type", "ext1", "external", "--", "lsp-set-addresses", "ext1", "aa:bb:cc:dd:01:02")
	s.sync(t)
	s.sb(t, "lsp-bind", "ext1", "ch1")

	// 5.
	waitEqual(t, "Ucast_Macs_Remote (5)", umrs, "lswitch0 f0:ab:cd:ef:01:02 1.2.3.5")
	// 6. No locator for ch1: br-void has no VTEP logical switch and ext1
	// is skipped. 1.2.3.4 is ovs-vtep's own.
	waitEqual(t, "Physical_Locator (6)", vtepGet(s.vtep, func(d db) []string {
		return slices.DeleteFunc(d.locators(), func(ip string) bool { return ip == "1.2.3.4" })
	}), "1.2.3.5")
	// The flood set has no ch1 either.
	waitEqual(t, "Mcast_Macs_Remote (6)", vtepGet(s.vtep, db.mmrs), "lswitch0 unknown-dst 1.2.3.5")
	// 7. ovs-vtep made its BFD port for the remote locator.
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := sim.VsCtl("--columns=options", "list", "Interface", "bfd1.2.3.5")
		_, v, _ := strings.Cut(out, ":")
		v = strings.ReplaceAll(v, " ", "")
		return err == nil && v == `{remote_ip="1.2.3.5"}`, fmt.Sprintf("Interface bfd1.2.3.5 options: %q, %v", out, err)
	})

	// 8.
	s.nb(t, "--wait=sb", "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:02", "f0:ab:cd:ef:01:03")
	waitThen(t, "Ucast_Macs_Remote (8)", umrs, contains("f0:ab:cd:ef:01:03"),
		"lswitch0 f0:ab:cd:ef:01:02 1.2.3.5", "lswitch0 f0:ab:cd:ef:01:03 1.2.3.5")
	// 9. The old MACs go in the transaction that adds the new one.
	s.nb(t, "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:04 192.168.0.1")
	waitThen(t, "Ucast_Macs_Remote (9)", umrs, contains("f0:ab:cd:ef:01:04"), "lswitch0 f0:ab:cd:ef:01:04 1.2.3.5")
	// 10.
	s.nb(t, "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:04 192.168.0.1", "f0:ab:cd:ef:01:05 192.168.0.2")
	waitThen(t, "Ucast_Macs_Remote (10)", umrs, contains("f0:ab:cd:ef:01:05"),
		"lswitch0 f0:ab:cd:ef:01:04 1.2.3.5", "lswitch0 f0:ab:cd:ef:01:05 1.2.3.5")
	// 11.
	s.nb(t, "--wait=sb", "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:03")
	waitThen(t, "Ucast_Macs_Remote (11)", umrs, contains("f0:ab:cd:ef:01:03"), "lswitch0 f0:ab:cd:ef:01:03 1.2.3.5")
	// 12.
	s.nb(t, "lsp-add", "br-test", "vif2", "--", "lsp-set-addresses", "vif2", "f0:ab:cd:ef:02:02")
	s.sync(t)
	s.sb(t, "chassis-add", "ch2", "vxlan", "1.2.3.7")
	s.sb(t, "lsp-bind", "vif2", "ch2")
	waitEqual(t, "Ucast_Macs_Remote (12)", umrs, "lswitch0 f0:ab:cd:ef:01:03 1.2.3.5", "lswitch0 f0:ab:cd:ef:02:02 1.2.3.7")
	s.nb(t, "lsp-del", "vif2")
	// 13. A MAC in a datapath without VTEP logical switch is not published.
	s.nb(t, "lsp-set-addresses", "vif0")
	s.nb(t, "--wait=sb", "lsp-set-addresses", "vif1", "f0:ab:cd:ef:01:03")
	waitEqual(t, "Ucast_Macs_Remote (13)", umrs)
}

// C.6 "ovn-controller-vtep - vtep-macs 2": duplicate MACs.
func TestVTEPMacs2(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "br-test")
	umrs := vtepGet(s.vtep, db.umrs)

	// 1. Two ports with one MAC in one datapath.
	s.nb(t, "lsp-add", "br-test", "vif0", "--", "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:02")
	s.sync(t)
	s.sb(t, "chassis-add", "ch0", "vxlan", "1.2.3.5")
	s.sb(t, "lsp-bind", "vif0", "ch0")
	s.nb(t, "lsp-add", "br-test", "vif1", "--", "lsp-set-addresses", "vif1", "f0:ab:cd:ef:01:02")
	s.sync(t)
	s.sb(t, "lsp-bind", "vif1", "ch0")
	// 2.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	// 3. One row, and the reference's warning (and no other).
	waitEqual(t, "Ucast_Macs_Remote (3)", umrs, "lswitch0 f0:ab:cd:ef:01:02 1.2.3.5")
	waitLog(t, s.gw, "WARN", regexp.MustCompile(`.`), 1)
	norm := regexp.MustCompile(`\([-_:0-9a-z][-_:0-9a-z]*\)`)
	var got []string
	for _, m := range s.gw.Messages(t, "WARN") {
		m = norm.ReplaceAllString(m, "()")
		if len(got) == 0 || got[len(got)-1] != m {
			got = append(got, m)
		}
	}
	want := []string{"MAC address () has already been known to be on logical port () in the same logical datapath, so just ignore this logical port ()"}
	if !slices.Equal(got, want) {
		t.Fatalf("warnings:\n got %q\nwant %q", got, want)
	}
	if m := s.gw.Messages(t, "WARN")[0]; !strings.Contains(m, "(f0:ab:cd:ef:01:02)") {
		t.Errorf("warning does not name the MAC: %q", m)
	}

	// 4. The duplicate moves to another datapath.
	s.nb(t, "--wait=sb", "lsp-del", "vif1")
	s.nb(t, "ls-add", "br-void", "--", "lsp-add", "br-void", "vif1", "--", "lsp-set-addresses", "vif1", "f0:ab:cd:ef:01:02")
	s.sync(t)
	s.sb(t, "chassis-add", "ch1", "vxlan", "1.2.3.6")
	s.sb(t, "lsp-bind", "vif1", "ch1")
	// 5. A second VTEP logical switch attached to br-void: the same MAC in
	// two logical switches is fine.
	s.vctl(t, "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p0", "200", "lswitch1")
	addVTEPPort(t, s.ovn, "br-void", "br-void_lswitch1", "br-vtep", "lswitch1")
	waitEqual(t, "Ucast_Macs_Remote (5)", umrs, "lswitch0 f0:ab:cd:ef:01:02 1.2.3.5", "lswitch1 f0:ab:cd:ef:01:02 1.2.3.6")
}

// C.8 "ovn-controller-vtep - vtep-Mcast_Macs_Remote".
func TestVTEPMcastMacsRemote(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "br-test")
	mmrs := vtepGet(s.vtep, db.mmrs)

	// 1.
	s.nb(t, "lsp-add", "br-test", "vif0", "--", "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:00")
	s.sync(t)
	s.sb(t, "chassis-add", "ch0", "vxlan", "1.2.3.5")
	s.sb(t, "lsp-bind", "vif0", "ch0")
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	// 2-3. One unknown-dst row whose locators are the hypervisor's only
	// (the VTEP's own 1.2.3.4 is not among them).
	waitEqual(t, "Mcast_Macs_Remote (3)", mmrs, "lswitch0 unknown-dst 1.2.3.5")

	// 4. A port without addresses on another chassis.
	s.nb(t, "lsp-add", "br-test", "vif1", "--", "lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:01")
	s.sync(t)
	s.sb(t, "chassis-add", "ch1", "vxlan", "1.2.3.6")
	s.sb(t, "lsp-bind", "vif1", "ch1")
	// 5. Its chassis joins the flood set, still in one row.
	waitEqual(t, "Mcast_Macs_Remote (5)", mmrs, "lswitch0 unknown-dst 1.2.3.5,1.2.3.6")
	waitEqual(t, "Ucast_Macs_Remote (5)", vtepGet(s.vtep, db.umrs), "lswitch0 f0:ab:cd:ef:01:01 1.2.3.5")
}

// portKeys returns "DP-KEY PORT-KEY" of a logical port, as FDB rows of a
// VTEP port carry them.
func (d db) portKeys(lport string) string {
	pb := d.find("Port_Binding", "logical_port", lport)
	if pb == nil {
		return "no port " + lport
	}
	return d.dpKey(lport) + " " + pb.str("tunnel_key")
}

// C.7 "ovn-controller-vtep - vtep-macs 3" [main]: Ucast_Macs_Local → SB
// FDB, and other VTEP gateways' FDB rows → Ucast_Macs_Remote. Two switch
// databases with one vtepgw each; the switches' learned MACs are written
// with vtep-ctl add-ucast-local instead of ovs-vtep learning flows.
func TestVTEPMacs3(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br-vtep", "1.2.3.4")
	s.nb(t, "ls-add", "br-test", "--", "ls-add", "br-test1")
	s.sync(t)
	fdbs := sbGet(s.ovn, db.fdbs)

	// 1.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	waitEqual(t, "bindings (1)", sbGet(s.ovn, func(d db) []string { return d.bindings() }), "br-vtep_lswitch0 br-vtep")
	// 2. A MAC learned on the switch becomes an FDB row on its port.
	s.vctl(t, "add-ucast-local", "lswitch0", "aa:bb:cc:dd:ee:01", "1.2.3.4")
	k0 := mustSB(t, s.ovn).portKeys("br-vtep_lswitch0")
	waitEqual(t, "FDB (2)", fdbs, "aa:bb:cc:dd:ee:01 "+k0)

	// 3.
	s.vctl(t, "add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p1", "100", "lswitch1")
	addVTEPPort(t, s.ovn, "br-test1", "br-vtep_lswitch1", "br-vtep", "lswitch1")
	waitEqual(t, "bindings (3)", sbGet(s.ovn, func(d db) []string { return d.bindings() }), "br-vtep_lswitch0 br-vtep", "br-vtep_lswitch1 br-vtep")
	s.vctl(t, "add-ucast-local", "lswitch1", "aa:bb:cc:dd:ee:02", "1.2.3.4")
	k1 := mustSB(t, s.ovn).portKeys("br-vtep_lswitch1")
	waitEqual(t, "FDB (3)", fdbs, "aa:bb:cc:dd:ee:01 "+k0, "aa:bb:cc:dd:ee:02 "+k1)

	// Not in the .at file: our FDB rows are kept right against other
	// writers: one deleted while the switch still has the MAC comes back,
	// and one on our port for a MAC the switch does not have goes.
	s.sb(t, "--if-exists", "destroy", "FDB", s.sb(t, "--bare", "--columns=_uuid", "find", "FDB", `mac="aa:bb:cc:dd:ee:02"`))
	waitEqual(t, "FDB (3, deleted by someone)", fdbs, "aa:bb:cc:dd:ee:01 "+k0, "aa:bb:cc:dd:ee:02 "+k1)
	dp0, port0, _ := strings.Cut(k0, " ")
	s.sb(t, "create", "FDB", `mac="aa:bb:cc:dd:ee:99"`, "dp_key="+dp0, "port_key="+port0)
	waitEqual(t, "FDB (3, stale row added)", fdbs, "aa:bb:cc:dd:ee:01 "+k0, "aa:bb:cc:dd:ee:02 "+k1)

	// 4-5. Forgotten MACs leave FDB.
	s.vctl(t, "del-ucast-local", "lswitch0", "aa:bb:cc:dd:ee:01")
	waitEqual(t, "FDB (4)", fdbs, "aa:bb:cc:dd:ee:02 "+k1)
	s.vctl(t, "del-ucast-local", "lswitch1", "aa:bb:cc:dd:ee:02")
	waitEqual(t, "FDB (5)", fdbs)

	// 6. A second VTEP (its own database and gateway) on the same SB.
	v2 := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v2.MustVtep(t, "add-ps", "br-vtep1", "--", "set", "Physical_Switch", "br-vtep1", "tunnel_ips=1.2.3.5",
		"--", "add-port", "br-vtep1", "p0", "--", "add-port", "br-vtep1", "p1")
	startGateway(t, s.ovn.SBRemote(), v2.VtepRemote())
	v2.MustVtep(t, "add-ls", "lswitch0", "--", "bind-ls", "br-vtep1", "p0", "100", "lswitch0")
	addVTEPPort(t, s.ovn, "br-test", "br-vtep1_lswitch0", "br-vtep1", "lswitch0")
	v2.MustVtep(t, "add-ls", "lswitch1", "--", "bind-ls", "br-vtep1", "p1", "100", "lswitch1")
	addVTEPPort(t, s.ovn, "br-test1", "br-vtep1_lswitch1", "br-vtep1", "lswitch1")
	waitEqual(t, "bindings (6)", sbGet(s.ovn, func(d db) []string { return d.bindings() }),
		"br-vtep1_lswitch0 br-vtep1", "br-vtep1_lswitch1 br-vtep1", "br-vtep_lswitch0 br-vtep", "br-vtep_lswitch1 br-vtep")

	// 7. The second switch learns one MAC per logical switch.
	v2.MustVtep(t, "add-ucast-local", "lswitch0", "aa:bb:cc:dd:ff:01", "1.2.3.5")
	v2.MustVtep(t, "add-ucast-local", "lswitch1", "aa:bb:cc:dd:ff:02", "1.2.3.5")
	d := mustSB(t, s.ovn)
	waitEqual(t, "FDB (7)", fdbs,
		"aa:bb:cc:dd:ff:01 "+d.portKeys("br-vtep1_lswitch0"), "aa:bb:cc:dd:ff:02 "+d.portKeys("br-vtep1_lswitch1"))

	// 8. The first gateway publishes them behind the second switch, each
	// in its own logical switch, and floods to the second switch. The
	// second gateway publishes nothing of its own and floods to the first.
	waitEqual(t, "Ucast_Macs_Remote of br-vtep (8)", vtepGet(s.vtep, db.umrs),
		"lswitch0 aa:bb:cc:dd:ff:01 1.2.3.5", "lswitch1 aa:bb:cc:dd:ff:02 1.2.3.5")
	waitEqual(t, "Mcast_Macs_Remote of br-vtep (8)", vtepGet(s.vtep, db.mmrs),
		"lswitch0 unknown-dst 1.2.3.5", "lswitch1 unknown-dst 1.2.3.5")
	waitEqual(t, "Ucast_Macs_Remote of br-vtep1 (8)", vtepGet(v2, db.umrs))
	waitEqual(t, "Mcast_Macs_Remote of br-vtep1 (8)", vtepGet(v2, db.mmrs),
		"lswitch0 unknown-dst 1.2.3.4", "lswitch1 unknown-dst 1.2.3.4")
	// Unlike the reference on main (spec A.4), the flood rows of a
	// datapath whose only bound ports are VTEP ports are not re-created
	// over and over: both switch databases go quiet.
	settle(t, s.vtep.DBPath("hardware_vtep"), 500*time.Millisecond)
	settle(t, v2.DBPath("hardware_vtep"), 500*time.Millisecond)

	// 9. The second switch forgets its MACs.
	v2.MustVtep(t, "del-ucast-local", "lswitch0", "aa:bb:cc:dd:ff:01")
	v2.MustVtep(t, "del-ucast-local", "lswitch1", "aa:bb:cc:dd:ff:02")
	waitEqual(t, "Ucast_Macs_Remote of br-vtep (9)", vtepGet(s.vtep, db.umrs))
	waitEqual(t, "FDB (9)", fdbs)
	waitEqual(t, "Mcast_Macs_Remote of br-vtep (9)", vtepGet(s.vtep, db.mmrs),
		"lswitch0 unknown-dst 1.2.3.5", "lswitch1 unknown-dst 1.2.3.5")
}

// C.10 "ovn -- check ovn-northd and ovn-controller-vtep version pinning".
// vtepgw pins the northd_internal_version it finds at start.
func TestVersionPinning(t *testing.T) {
	t.Parallel()
	s := newStack(t, "vtep1", "1.2.3.4")
	vls := sbGet(s.ovn, func(d db) []string { return []string{d.vtepLS("vtep1")} })

	// 1.
	s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "vtep1", "p0", "100", "lswitch0",
		"--", "bind-ls", "vtep1", "p0", "200", "lswitch0", "--", "bind-ls", "vtep1", "p1", "300", "lswitch0")
	waitEqual(t, "vtep_logical_switches (1)", vls, "[lswitch0]")

	// 2. The version is logged once at start.
	version := strings.Trim(s.sb(t, "get", "SB_Global", ".", "options:northd_internal_version"), `"`)
	if version == "" {
		t.Fatal("northd wrote no northd_internal_version")
	}
	countLines := func(sub string) int {
		n := 0
		for _, l := range strings.Split(s.gw.Log(t), "\n") {
			if strings.Contains(l, sub) {
				n++
			}
		}
		return n
	}
	if n := countLines(version); n != 1 {
		t.Fatalf("%d log lines name the version %s, want 1:\n%s", n, version, s.gw.Log(t))
	}
	if n := countLines("OVN internal version is : [" + version + "]"); n != 1 {
		t.Fatalf("no line \"OVN internal version is : [%s]\" in the log:\n%s", version, s.gw.Log(t))
	}

	// 3. Without ovn-match-northd-version, another northd version changes
	// nothing: our chassis is still kept right.
	if err := s.ovn.StopNorthd(); err != nil {
		t.Fatal(err)
	}
	s.sb(t, "set", "SB_Global", ".", "options:northd_internal_version=foo")
	s.sb(t, "set", "Chassis", "vtep1", "vtep_logical_switches=foo")
	waitEqual(t, "vtep_logical_switches (3)", vls, "[lswitch0]")

	// 4. With it, processing pauses with the reference's warning.
	s.vctl(t, "set", "global", ".", "other_config:ovn-match-northd-version=true")
	mismatch := "controller-vtep version - " + version + " mismatch with northd version - foo"
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		n := countLines(mismatch)
		return n == 1, fmt.Sprintf("%d lines %q", n, mismatch)
	})

	// 5. Paused: a wrong vtep_logical_switches stays.
	s.sb(t, "set", "Chassis", "vtep1", "vtep_logical_switches=foo")
	time.Sleep(time.Second)
	if got, _ := vls(); !slices.Equal(got, []string{"[foo]"}) {
		t.Fatalf("vtep_logical_switches while paused = %q, want [foo]", got)
	}

	// 6. The pinned version is back: processing resumes.
	s.sb(t, "set", "SB_Global", ".", "options:northd_internal_version="+version)
	waitEqual(t, "vtep_logical_switches (6)", vls, "[lswitch0]")
	if n := countLines(mismatch); n != 1 {
		t.Errorf("%d lines %q, want 1", n, mismatch)
	}
}

// hypervisor is ovn-controller on an OVS with the userspace (dummy)
// datapath: ovn_attach of OVN's tests.
type hypervisor struct {
	ovs  *testbed.SimSwitch
	proc *testbed.Process
}

// startHV starts ovs-vswitchd with bridge br-phys and ovn-controller as
// chassis name with encaps geneve,vxlan on ip, and waits for the chassis.
// (ovn-controller has no --unixctl: its socket is DIR/ovn-controller.PID.ctl.)
func startHV(t testing.TB, o *testbed.OVN, name, ip string, monitorAll bool) *hypervisor {
	t.Helper()
	testbed.Require(t, "ovn-controller")
	ovs := testbed.StartSimSwitch(t, testbed.SimOptions{Name: "br-phys", Ports: []string{}, Emulator: testbed.EmulatorNone})
	ovs.MustVsCtl(t,
		"--", "set", "Open_vSwitch", ".", "external-ids:system-id="+name,
		"--", "set", "Open_vSwitch", ".", "external-ids:ovn-remote="+o.SBRemote(),
		"--", "set", "Open_vSwitch", ".", "external-ids:ovn-encap-type=geneve,vxlan",
		"--", "set", "Open_vSwitch", ".", "external-ids:ovn-encap-ip="+ip,
		"--", "set", "Open_vSwitch", ".", "external-ids:ovn-bridge-datapath-type=dummy",
		"--", "set", "Open_vSwitch", ".", "external-ids:ovn-monitor-all="+strconv.FormatBool(monitorAll),
		"--", "--may-exist", "add-br", "br-int",
		"--", "set", "bridge", "br-int", "fail-mode=secure", "other-config:disable-in-band=true", "datapath_type=dummy")
	bin, err := testbed.Lookup("ovn-controller")
	if err != nil {
		t.Skip(err)
	}
	dir := ovs.Dir()
	logFile := filepath.Join(dir, "ovn-controller.log")
	p, err := testbed.StartProcess(t, testbed.ProcessConfig{
		Name: "ovn-controller", Path: bin, Dir: dir, LogPath: logFile,
		Args: []string{"-vconsole:off", "--pidfile=" + filepath.Join(dir, "ovn-controller.pid"),
			"--log-file=" + logFile, ovs.UnixRemote()},
	})
	if err != nil {
		t.Fatal(err)
	}
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		if p.Exited() {
			t.Fatalf("ovn-controller exited: %v", p.ExitErr())
		}
		out, err := o.SBCtl("--bare", "--columns=type", "find", "Encap", "chassis_name="+name)
		got := strings.Fields(out)
		slices.Sort(got)
		return err == nil && slices.Equal(got, []string{"geneve", "vxlan"}), fmt.Sprintf("encaps of chassis %s: %q, %v", name, got, err)
	})
	return &hypervisor{ovs: ovs, proc: p}
}

// table0Flows returns br-int's table 0 flows of a priority, normalised like
// the .at file does (awk '{print $(NF-1), $NF}', in_port and hex numbers
// masked).
func (h *hypervisor) table0Flows(priority string) ([]string, error) {
	out, err := h.ovs.OfCtl("dump-flows", "br-int", "table=0")
	if err != nil {
		return nil, err
	}
	inPort := regexp.MustCompile(`in_port=[0-9]+`)
	hex := regexp.MustCompile(`0x[0-9a-f]+`)
	var flows []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, "priority="+priority+",") && !strings.Contains(l, "priority="+priority+" ") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		s := f[len(f)-2] + " " + f[len(f)-1]
		flows = append(flows, hex.ReplaceAllString(inPort.ReplaceAllString(s, "in_port=<>"), "0x<>"))
	}
	slices.Sort(flows)
	return flows, nil
}

// C.9 "ovn-controller-vtep - hv flows", run like OVN_FOR_EACH_NORTHD with
// ovn-monitor-all on and off: a hypervisor's ovn-controller installs the
// tunnel ingress flow for the VTEP port once vtepgw has bound it.
func TestHVFlows(t *testing.T) {
	t.Parallel()
	for _, monitorAll := range []bool{true, false} {
		if testing.Short() && !monitorAll {
			continue // one variant is enough for -short
		}
		t.Run(fmt.Sprintf("monitor-all=%v", monitorAll), func(t *testing.T) {
			t.Parallel()
			s := newStack(t, "vtep1", "1.2.3.4")
			hv := startHV(t, s.ovn, "hv1", "192.168.0.1", monitorAll)
			s.nb(t, "ls-add", "lsw0", "--", "lsp-add", "lsw0", "lsp0", "--", "lsp-set-addresses", "lsp0", "f0:00:00:00:00:01")
			hv.ovs.MustVsCtl(t, "add-port", "br-int", "vif0", "--", "set", "Interface", "vif0", "type=dummy", "external-ids:iface-id=lsp0")
			binds := sbGet(s.ovn, func(d db) []string { return d.bindings("lsp-vtep", "lsp0") })
			flows := func() ([]string, error) { return hv.table0Flows("110") }
			const want = "priority=110,tun_id=0x<>,in_port=<> actions=move:NXM_NX_TUN_ID[0..23]->OXM_OF_METADATA[0..23],load:0x<>->NXM_NX_REG14[0..14],load:0x<>->NXM_NX_REG10[1],resubmit(,8)"

			// 1. Not bound yet (no VLAN binding): no flow.
			addVTEPPort(t, s.ovn, "lsw0", "lsp-vtep", "vtep1", "lswitch0")
			waitEqual(t, "bindings (1)", binds, "lsp-vtep []", "lsp0 hv1")
			s.sync(t)
			if got, err := flows(); err != nil || len(got) != 0 {
				t.Fatalf("priority=110 flows before binding: %q, %v", got, err)
			}
			// 2.
			s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "vtep1", "p0", "100", "lswitch0")
			waitEqual(t, "bindings (2)", binds, "lsp-vtep vtep1", "lsp0 hv1")
			waitEqual(t, "priority=110 flows (2)", flows, want)
			// The switch side of it: the hypervisor's MAC behind its vxlan IP.
			waitEqual(t, "Ucast_Macs_Remote (2)", vtepGet(s.vtep, db.umrs), "lswitch0 f0:00:00:00:00:01 192.168.0.1")
			waitEqual(t, "Mcast_Macs_Remote (2)", vtepGet(s.vtep, db.mmrs), "lswitch0 unknown-dst 192.168.0.1")

			// 3. Port and binding go; the logical switch can be deleted.
			s.nb(t, "lsp-del", "lsp-vtep")
			s.vctl(t, "unbind-ls", "vtep1", "p0", "100")
			testbed.Eventually(t, waitLong, poll, func() (bool, string) {
				_, err := s.vtep.VtepCtl("clear-local-macs", "lswitch0", "--", "clear-remote-macs", "lswitch0", "--", "del-ls", "lswitch0")
				return err == nil, fmt.Sprint(err)
			})
			// 4. And everything comes back.
			waitEqual(t, "bindings (4a)", binds, "lsp0 hv1")
			s.vctl(t, "add-ls", "lswitch0", "--", "bind-ls", "vtep1", "p0", "100", "lswitch0")
			addVTEPPort(t, s.ovn, "lsw0", "lsp-vtep", "vtep1", "lswitch0")
			waitEqual(t, "bindings (4)", binds, "lsp-vtep vtep1", "lsp0 hv1")
			waitEqual(t, "priority=110 flows (4)", flows, want)
			waitEqual(t, "Ucast_Macs_Remote (4)", vtepGet(s.vtep, db.umrs), "lswitch0 f0:00:00:00:00:01 192.168.0.1")
			// 5. No ICMP "need to frag" flows in table 0.
			out := hv.ovs.MustOfCtl(t, "dump-flows", "br-int", "table=0")
			if regexp.MustCompile(`icmp_type=3,icmp_code=4|icmp_type=2,icmp_code=0`).MatchString(out) {
				t.Errorf("table 0 has ICMP need-to-frag flows:\n%s", out)
			}
		})
	}
}
