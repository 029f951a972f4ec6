package mcaste2e

import (
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestFloodSetFromMCFlood: the unknown-dst locator set is the chassis of the
// ports in the datapath's _MC_flood group (hypervisors and other gateways),
// never this database's own switches, and follows the group as northd
// changes it: a disabled port leaves _MC_flood in OVN 23.03, and with it
// its chassis leaves the flood set although the port stays bound. A group
// the other gateway's switch joined reaches this one through SB.
func TestFloodSetFromMCFlood(t *testing.T) {
	t.Parallel()
	// Two physical switches in one database, both attached to lsA: each
	// one's vtep port is in _MC_flood, and neither IP may be a target.
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.vctl(t, "add-ps", "br1", "--", "set", "Physical_Switch", "br1", "tunnel_ips=10.0.0.2", "--", "add-port", "br1", "q0")
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.attach(t, "lsA", "vtepA-br1", "br1", "q0", 0, "lsA")

	// Another gateway (its own database and daemon) on the same datapath
	// is a flood target like a hypervisor.
	v2 := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v2.MustVtep(t, "add-ps", "gw2", "--", "set", "Physical_Switch", "gw2", "tunnel_ips=10.0.0.3",
		"--", "add-port", "gw2", "p0", "--", "add-ls", "lsA", "--", "bind-ls", "gw2", "p0", "0", "lsA")
	startGateway(t, s.ovn.SBRemote(), v2.VtepRemote())
	s.nb(t, "lsp-add", "lsA", "vtepA-gw2", "--", "lsp-set-type", "vtepA-gw2", "vtep",
		"--", "lsp-set-options", "vtepA-gw2", "vtep-physical-switch=gw2", "vtep-logical-switch=lsA")

	s.hv(t, "hv1", "127.0.1.1")
	s.hv(t, "hv2", "127.0.1.2")
	s.hv(t, "hv3", "127.0.1.3")
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	s.vif(t, "lsA", "vif2", "", "hv2") // no MAC: reached by flooding only
	// A port of another datapath: hv3 is no flood target of lsA.
	s.nb(t, "ls-add", "lsB")
	s.vif(t, "lsB", "vif3", "f0:00:00:00:00:03", "hv3")

	mcFlood := s.sbGet(func(d db) []string { return d.mcGroups("_MC_flood") })
	mmrs := s.vtepGet(db.mmrs)
	waitEqual(t, "_MC_flood", mcFlood,
		"lsA _MC_flood vif1,vif2,vtepA,vtepA-br1,vtepA-gw2",
		"lsB _MC_flood vif3")
	waitEqual(t, "Mcast_Macs_Remote", mmrs, "lsA unknown-dst - 10.0.0.3,127.0.1.1,127.0.1.2")
	// The other gateway's flood set has our two switches, not itself.
	gw2mmrs := (&stack{vtep: v2}).vtepGet(db.mmrs)
	waitEqual(t, "gw2 Mcast_Macs_Remote", gw2mmrs, "lsA unknown-dst - 10.0.0.1,10.0.0.2,127.0.1.1,127.0.1.2")

	// A disabled port: northd 23.03 drops it from _MC_flood (it keeps its
	// Port_Binding and chassis), so hv2 is no longer flooded to, although
	// "every chassis with a bound port" would still include it.
	s.nb(t, "--wait=sb", "lsp-set-enabled", "vif2", "disabled")
	waitEqual(t, "_MC_flood (vif2 disabled)", mcFlood,
		"lsA _MC_flood vif1,vtepA,vtepA-br1,vtepA-gw2",
		"lsB _MC_flood vif3")
	if got := mustSB(t, s).pbEncap("vif2"); got != "hv2 -" {
		t.Fatalf("disabled vif2 binding: %q, want still bound to hv2", got)
	}
	waitEqual(t, "Mcast_Macs_Remote (vif2 disabled)", mmrs, "lsA unknown-dst - 10.0.0.3,127.0.1.1")
	s.nb(t, "--wait=sb", "lsp-set-enabled", "vif2", "enabled")
	waitEqual(t, "Mcast_Macs_Remote (vif2 enabled)", mmrs, "lsA unknown-dst - 10.0.0.3,127.0.1.1,127.0.1.2")

	// A second port on hv1 and hv1's only port leaving: hv1 stays while
	// one of its ports is in the group.
	s.vif(t, "lsA", "vif1b", "", "hv1")
	s.nb(t, "--wait=sb", "lsp-del", "vif1")
	waitEqual(t, "_MC_flood (vif1 deleted)", mcFlood,
		"lsA _MC_flood vif1b,vif2,vtepA,vtepA-br1,vtepA-gw2",
		"lsB _MC_flood vif3")
	stays(t, "Mcast_Macs_Remote (vif1 deleted, vif1b on hv1)", 300*time.Millisecond, mmrs, "lsA unknown-dst - 10.0.0.3,127.0.1.1,127.0.1.2")
	s.nb(t, "--wait=sb", "lsp-del", "vif1b")
	waitEqual(t, "Mcast_Macs_Remote (hv1 empty)", mmrs, "lsA unknown-dst - 10.0.0.3,127.0.1.2")

	// A port moving to another chassis moves its flood target.
	s.sb(t, "set", "Port_Binding", "vif2", "chassis="+s.sbUUID(t, "Chassis", "name=hv3"))
	waitEqual(t, "Mcast_Macs_Remote (vif2 on hv3)", mmrs, "lsA unknown-dst - 10.0.0.3,127.0.1.3")

	// A group the other gateway's switch joined reaches us through SB
	// (its IGMP_Group, northd's Multicast_Group); it has no row for itself.
	s.nb(t, "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	(&stack{vtep: v2}).mcastLocal(t, "lsA", "01:00:5e:01:01:07", "239.1.1.7", "10.0.0.3")
	waitEqual(t, "Multicast_Group (gw2 joined)", s.sbGet(func(d db) []string { return d.mcGroups("") }), "lsA 239.1.1.7 vtepA-gw2")
	waitEqual(t, "Mcast_Macs_Remote (gw2 joined)", mmrs,
		"lsA 01:00:5e:01:01:07 239.1.1.7 10.0.0.3", "lsA unknown-dst - 10.0.0.3,127.0.1.3")
	stays(t, "gw2 Mcast_Macs_Remote (gw2 joined)", quiet, gw2mmrs, "lsA unknown-dst - 10.0.0.1,10.0.0.2,127.0.1.3")

	// The other gateway leaving the datapath leaves the flood set.
	s.nb(t, "--wait=sb", "lsp-del", "vtepA-gw2")
	waitEqual(t, "Mcast_Macs_Remote (gw2 gone)", mmrs, "lsA unknown-dst - 127.0.1.3")
	waitEqual(t, "IGMP_Group (gw2 gone)", s.sbGet(db.igmpGroups))
}

func mustSB(t testing.TB, s *stack) db {
	t.Helper()
	d, err := dump(s.ovn.SBCtl, sbTables...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
