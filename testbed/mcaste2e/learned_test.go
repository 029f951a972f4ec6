package mcaste2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestMcastLocalToIGMPGroup: a group the switch joined (Mcast_Macs_Local
// with a multicast MAC and the matching ipaddr) becomes an SB IGMP_Group
// exactly as ovn-controller reports one (address, datapath, the switch's
// chassis, the vtep Port_Binding); the real northd then puts the vtep port
// into the group's Multicast_Group. Withdrawn entries, and the vtep port
// leaving, remove the row; entries that are no group are ignored with a
// warning.
func TestMcastLocalToIGMPGroup(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.nb(t, "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	s.hv(t, "hv1", "127.0.1.1")
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	igmp := s.sbGet(db.igmpGroups)
	groups := s.sbGet(func(d db) []string { return d.mcGroups("") })
	mmrs := s.vtepGet(db.mmrs)
	flood := "lsA unknown-dst - 127.0.1.1"
	waitEqual(t, "Mcast_Macs_Remote (start)", mmrs, flood)

	// As with vtep-ctl by hand: the entry first, then its group address.
	s.vctl(t, "add-mcast-local", "lsA", "01:00:5e:01:01:02", "10.0.0.1")
	mml := s.vtepUUID(t, "Mcast_Macs_Local", `MAC="01:00:5e:01:01:02"`)
	s.vctl(t, "set", "Mcast_Macs_Local", mml, `ipaddr="239.1.1.2"`)
	waitEqual(t, "IGMP_Group (239.1.1.2 learned)", igmp, "239.1.1.2 lsA br0 vtepA")
	waitEqual(t, "Multicast_Group (239.1.1.2 learned)", groups, "lsA 239.1.1.2 vtepA")
	// Only the switch itself is in the group: no remote row for it.
	stays(t, "Mcast_Macs_Remote (only the switch in 239.1.1.2)", quiet, mmrs, flood)

	// A hypervisor joins as well: the remote row has it, never the
	// switch's own IP.
	s.igmpJoin(t, "239.1.1.2", "lsA", "hv1", "vif1")
	waitEqual(t, "Multicast_Group (239.1.1.2 + hv1)", groups, "lsA 239.1.1.2 vif1,vtepA")
	waitEqual(t, "Mcast_Macs_Remote (239.1.1.2 + hv1)", mmrs, "lsA 01:00:5e:01:01:02 239.1.1.2 127.0.1.1", flood)

	// IPv6, written in one transaction as a snooping switch does.
	s.mcastLocal(t, "lsA", "33:33:00:00:00:02", "ff0e::2", "10.0.0.1")
	waitEqual(t, "IGMP_Group (+ff0e::2)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "ff0e::2 lsA br0 vtepA")
	waitEqual(t, "Multicast_Group (+ff0e::2)", groups, "lsA 239.1.1.2 vif1,vtepA", "lsA ff0e::2 vtepA")

	// Bogus entries: a MAC that is not the group's, a unicast group
	// address, a unicast MAC. Each is warned about and ignored.
	bogus := map[string]string{
		"01:00:5e:01:01:09": "239.1.1.3", // MAC of 239.1.1.9
		"01:00:5e:01:01:0a": "10.1.1.10", // not a multicast address
		"00:00:5e:01:01:0b": "239.1.1.11",
	}
	for mac, ip := range bogus {
		s.mcastLocal(t, "lsA", mac, ip, "10.0.0.1")
	}
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		var missing []string
		warns := s.gw.logLines(t, "WARN")
		for mac := range bogus {
			if !slices.ContainsFunc(warns, func(l string) bool {
				return strings.Contains(l, "Mcast_Macs_Local") && strings.Contains(l, "mac="+mac)
			}) {
				missing = append(missing, mac)
			}
		}
		return len(missing) == 0, fmt.Sprintf("no warning for %q; warnings: %q", missing, warns)
	})
	stays(t, "IGMP_Group (bogus entries)", quiet, igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "ff0e::2 lsA br0 vtepA")

	// A bogus entry fixed becomes a group.
	fix := s.vtepUUID(t, "Mcast_Macs_Local", `MAC="01:00:5e:01:01:09"`)
	s.vctl(t, "set", "Mcast_Macs_Local", fix, `ipaddr="239.1.1.9"`)
	waitEqual(t, "IGMP_Group (239.1.1.9 fixed)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "239.1.1.9 lsA br0 vtepA", "ff0e::2 lsA br0 vtepA")
	// A group changing address moves the IGMP_Group.
	s.vctl(t, "set", "Mcast_Macs_Local", fix, `ipaddr="239.129.1.9"`)
	waitEqual(t, "IGMP_Group (239.1.1.9 -> 239.129.1.9)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "239.129.1.9 lsA br0 vtepA", "ff0e::2 lsA br0 vtepA")
	// Bogus again: the group goes, and it is warned about again.
	s.vctl(t, "set", "Mcast_Macs_Local", fix, `ipaddr="239.1.1.3"`)
	waitEqual(t, "IGMP_Group (239.129.1.9 -> bogus)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "ff0e::2 lsA br0 vtepA")
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		var n []string
		for _, l := range s.gw.logLines(t, "WARN") {
			if strings.Contains(l, "mac=01:00:5e:01:01:09") {
				n = append(n, l)
			}
		}
		return len(n) == 2, fmt.Sprintf("%d warnings for 01:00:5e:01:01:09, want 2: %q", len(n), n)
	})
	s.vctl(t, "set", "Mcast_Macs_Local", fix, `ipaddr="239.129.1.9"`)
	waitEqual(t, "IGMP_Group (bogus -> 239.129.1.9)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "239.129.1.9 lsA br0 vtepA", "ff0e::2 lsA br0 vtepA")

	// The switch's rows are the gateway's to keep: deleted by someone
	// else, rewritten; deleted by northd after the chassis was deleted
	// (vtepgw adds the chassis back), rewritten for the new chassis.
	s.sb(t, "destroy", "IGMP_Group", s.sbUUID(t, "IGMP_Group", `address="ff0e::2"`))
	waitEqual(t, "IGMP_Group (ff0e::2 destroyed)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "239.129.1.9 lsA br0 vtepA", "ff0e::2 lsA br0 vtepA")
	s.sb(t, "chassis-del", "br0")
	waitEqual(t, "IGMP_Group (chassis deleted)", igmp,
		"239.1.1.2 lsA br0 vtepA", "239.1.1.2 lsA hv1 vif1", "239.129.1.9 lsA br0 vtepA", "ff0e::2 lsA br0 vtepA")
	waitEqual(t, "Multicast_Group (chassis deleted)", groups,
		"lsA 239.1.1.2 vif1,vtepA", "lsA 239.129.1.9 vtepA", "lsA ff0e::2 vtepA")

	// The switch withdraws 239.1.1.2: its IGMP_Group goes, hv1's stays,
	// and northd drops the vtep port from the group.
	s.vctl(t, "del-mcast-local", "lsA", "01:00:5e:01:01:02", "10.0.0.1")
	waitEqual(t, "IGMP_Group (239.1.1.2 withdrawn)", igmp,
		"239.1.1.2 lsA hv1 vif1", "239.129.1.9 lsA br0 vtepA", "ff0e::2 lsA br0 vtepA")
	waitEqual(t, "Multicast_Group (239.1.1.2 withdrawn)", groups,
		"lsA 239.1.1.2 vif1", "lsA 239.129.1.9 vtepA", "lsA ff0e::2 vtepA")

	// The vtep port leaves OVN: the switch's groups go with it, and come
	// back with a new port.
	s.nb(t, "--wait=sb", "lsp-del", "vtepA")
	waitEqual(t, "IGMP_Group (vtepA deleted)", igmp, "239.1.1.2 lsA hv1 vif1")
	s.nb(t, "lsp-add", "lsA", "vtepA2", "--", "lsp-set-type", "vtepA2", "vtep",
		"--", "lsp-set-options", "vtepA2", "vtep-physical-switch=br0", "vtep-logical-switch=lsA")
	waitEqual(t, "IGMP_Group (vtepA2 added)", igmp,
		"239.1.1.2 lsA hv1 vif1", "239.129.1.9 lsA br0 vtepA2", "ff0e::2 lsA br0 vtepA2")

	// All withdrawn.
	s.vctl(t, "clear-local-macs", "lsA")
	waitEqual(t, "IGMP_Group (all withdrawn)", igmp, "239.1.1.2 lsA hv1 vif1")
}

// TestMcastLocalTwoLogicalSwitchesOneDatapath: two VTEP logical switches
// of one physical switch bound to one OVN datapath. A group both joined is
// one IGMP_Group row (one per address, datapath and chassis, as
// ovn-controller writes it) listing both vtep ports; each leaving removes
// its port. Both logical switches get the datapath's remote rows.
func TestMcastLocalTwoLogicalSwitchesOneDatapath(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.attach(t, "lsA", "vtepB", "br0", "p1", 0, "lsB")
	s.nb(t, "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	s.hv(t, "hv1", "127.0.1.1")
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	igmp := s.sbGet(db.igmpGroups)
	groups := s.sbGet(func(d db) []string { return d.mcGroups("") })

	s.mcastLocal(t, "lsA", "01:00:5e:01:01:02", "239.1.1.2", "10.0.0.1")
	s.mcastLocal(t, "lsB", "01:00:5e:01:01:02", "239.1.1.2", "10.0.0.1")
	s.igmpJoin(t, "239.1.1.2", "lsA", "hv1", "vif1")
	waitEqual(t, "IGMP_Group (both joined)", igmp, "239.1.1.2 lsA br0 vtepA,vtepB", "239.1.1.2 lsA hv1 vif1")
	waitEqual(t, "Multicast_Group (both joined)", groups, "lsA 239.1.1.2 vif1,vtepA,vtepB")
	waitEqual(t, "Mcast_Macs_Remote (both joined)", s.vtepGet(db.mmrs),
		"lsA 01:00:5e:01:01:02 239.1.1.2 127.0.1.1", "lsA unknown-dst - 127.0.1.1",
		"lsB 01:00:5e:01:01:02 239.1.1.2 127.0.1.1", "lsB unknown-dst - 127.0.1.1")

	s.vctl(t, "del-mcast-local", "lsA", "01:00:5e:01:01:02", "10.0.0.1")
	waitEqual(t, "IGMP_Group (lsA left)", igmp, "239.1.1.2 lsA br0 vtepB", "239.1.1.2 lsA hv1 vif1")
	waitEqual(t, "Multicast_Group (lsA left)", groups, "lsA 239.1.1.2 vif1,vtepB")
	s.vctl(t, "del-mcast-local", "lsB", "01:00:5e:01:01:02", "10.0.0.1")
	waitEqual(t, "IGMP_Group (lsB left)", igmp, "239.1.1.2 lsA hv1 vif1")
	waitEqual(t, "Multicast_Group (lsB left)", groups, "lsA 239.1.1.2 vif1")
}
