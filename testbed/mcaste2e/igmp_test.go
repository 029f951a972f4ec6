package mcaste2e

import (
	"strconv"
	"testing"
)

// TestIGMPGroupsToMcastMacsRemote: hypervisors report IGMP/MLD joins as
// ovn-controller does (IGMP_Group rows), the real northd builds the
// IP-named Multicast_Groups, and vtepgw turns each into one
// Mcast_Macs_Remote row: MAC = the group's multicast MAC, ipaddr = the
// group, locators = the tunnel IPs of the chassis hosting the group's
// ports. Groups sharing a MAC become one row with the union of locators.
func TestIGMPGroupsToMcastMacsRemote(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.nb(t, "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	// lsB has no VTEP logical switch: its groups reach no switch.
	s.nb(t, "ls-add", "lsB", "--", "set", "Logical_Switch", "lsB", "other_config:mcast_snoop=true")
	for i, hv := range []string{"hv1", "hv2", "hv3", "hv4"} {
		s.hv(t, hv, "127.0.1."+strconv.Itoa(i+1))
	}
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	s.vif(t, "lsA", "vif2", "f0:00:00:00:00:02", "hv2")
	s.vif(t, "lsA", "vif3", "f0:00:00:00:00:03", "hv3")
	s.vif(t, "lsB", "vif4", "f0:00:00:00:00:04", "hv4")
	mmrs := s.vtepGet(db.mmrs)
	groups := s.sbGet(func(d db) []string { return d.mcGroups("") })
	flood := "lsA unknown-dst - 127.0.1.1,127.0.1.2,127.0.1.3"
	waitEqual(t, "Mcast_Macs_Remote (no groups)", mmrs, flood)

	// One hypervisor joins.
	g1hv1 := s.igmpJoin(t, "239.1.1.1", "lsA", "hv1", "vif1")
	waitEqual(t, "Multicast_Group (239.1.1.1 hv1)", groups, "lsA 239.1.1.1 vif1")
	waitEqual(t, "Mcast_Macs_Remote (239.1.1.1 hv1)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1", flood)

	// A second chassis joins the same group.
	g1hv2 := s.igmpJoin(t, "239.1.1.1", "lsA", "hv2", "vif2")
	waitEqual(t, "Multicast_Group (239.1.1.1 hv1+hv2)", groups, "lsA 239.1.1.1 vif1,vif2")
	waitEqual(t, "Mcast_Macs_Remote (239.1.1.1 hv1+hv2)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1,127.0.1.2", flood)

	// IPv6 (MLD): 33:33 + the low 32 bits.
	g6 := s.igmpJoin(t, "ff0e::1", "lsA", "hv3", "vif3")
	// A group of a datapath without VTEP logical switch.
	s.igmpJoin(t, "239.2.2.2", "lsB", "hv4", "vif4")
	waitEqual(t, "Multicast_Group (+ff0e::1, lsB)", groups,
		"lsA 239.1.1.1 vif1,vif2", "lsA ff0e::1 vif3", "lsB 239.2.2.2 vif4")
	waitEqual(t, "Mcast_Macs_Remote (+ff0e::1)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1,127.0.1.2",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.3", flood)

	// 239.129.1.1 maps to the same MAC as 239.1.1.1 (only 23 bits are
	// kept): one row, the union of both groups' chassis, the lowest group
	// address as ipaddr.
	g129 := s.igmpJoin(t, "239.129.1.1", "lsA", "hv3", "vif3")
	waitEqual(t, "Multicast_Group (+239.129.1.1)", groups,
		"lsA 239.1.1.1 vif1,vif2", "lsA 239.129.1.1 vif3", "lsA ff0e::1 vif3", "lsB 239.2.2.2 vif4")
	waitEqual(t, "Mcast_Macs_Remote (+239.129.1.1)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1,127.0.1.2,127.0.1.3",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.3", flood)

	// A member port unbound from its chassis: its chassis leaves the
	// group's locators (and the flood set).
	s.sb(t, "lsp-unbind", "vif2")
	waitEqual(t, "Mcast_Macs_Remote (vif2 unbound)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1,127.0.1.3",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.3", "lsA unknown-dst - 127.0.1.1,127.0.1.3")
	s.sb(t, "lsp-bind", "vif2", "hv2")
	waitEqual(t, "Mcast_Macs_Remote (vif2 bound again)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1,127.0.1.2,127.0.1.3",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.3", flood)

	// Leaving: hv1 leaves 239.1.1.1; then 239.1.1.1 is gone and the
	// shared MAC row carries 239.129.1.1 alone.
	s.sb(t, "destroy", "IGMP_Group", g1hv1)
	waitEqual(t, "Mcast_Macs_Remote (hv1 left 239.1.1.1)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.2,127.0.1.3",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.3", flood)
	s.sb(t, "destroy", "IGMP_Group", g1hv2)
	waitEqual(t, "Multicast_Group (239.1.1.1 gone)", groups,
		"lsA 239.129.1.1 vif3", "lsA ff0e::1 vif3", "lsB 239.2.2.2 vif4")
	waitEqual(t, "Mcast_Macs_Remote (239.1.1.1 gone)", mmrs,
		"lsA 01:00:5e:01:01:01 239.129.1.1 127.0.1.3",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.3", flood)
	s.sb(t, "destroy", "IGMP_Group", g129, "--", "destroy", "IGMP_Group", g6)
	waitEqual(t, "Mcast_Macs_Remote (all left)", mmrs, flood)
}
