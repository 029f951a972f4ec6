package mcaste2e

import (
	"testing"
)

// TestGroupsFollowAttachAndEncap: groups that exist before the VTEP
// logical switch is attached are published when it is, and withdrawn when
// it is detached; a hypervisor's encap IP changing moves it in every group
// and in the flood set.
func TestGroupsFollowAttachAndEncap(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.nb(t, "ls-add", "lsA", "--", "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	s.hv(t, "hv1", "127.0.1.1")
	s.hv(t, "hv2", "127.0.1.2")
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	s.vif(t, "lsA", "vif2", "f0:00:00:00:00:02", "hv2")
	s.igmpJoin(t, "239.1.1.1", "lsA", "hv1", "vif1")
	s.igmpJoin(t, "ff0e::1", "lsA", "hv1", "vif1")
	s.igmpJoin(t, "ff0e::1", "lsA", "hv2", "vif2")
	waitEqual(t, "Multicast_Group", s.sbGet(func(d db) []string { return d.mcGroups("") }),
		"lsA 239.1.1.1 vif1", "lsA ff0e::1 vif1,vif2")
	mmrs := s.vtepGet(db.mmrs)

	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	waitEqual(t, "Mcast_Macs_Remote (attached)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.1,127.0.1.2",
		"lsA unknown-dst - 127.0.1.1,127.0.1.2")

	// hv1's tunnel IP changes.
	s.sb(t, "set", "Encap", s.sbUUID(t, "Encap", "chassis_name=hv1"), `ip="127.0.3.1"`)
	waitEqual(t, "Mcast_Macs_Remote (hv1 moved)", mmrs,
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.3.1",
		"lsA 33:33:00:00:00:01 ff0e::1 127.0.1.2,127.0.3.1",
		"lsA unknown-dst - 127.0.1.2,127.0.3.1")
	waitEqual(t, "Ucast_Macs_Remote (hv1 moved)", s.vtepGet(db.umrs),
		"lsA f0:00:00:00:00:01 127.0.3.1", "lsA f0:00:00:00:00:02 127.0.1.2")

	// Detached: every remote row of lsA goes.
	s.nb(t, "--wait=sb", "lsp-del", "vtepA")
	waitEqual(t, "Mcast_Macs_Remote (detached)", mmrs)
	waitEqual(t, "Ucast_Macs_Remote (detached)", s.vtepGet(db.umrs))
}
