package mcaste2e

import (
	"testing"
	"time"
)

// TestRestartAndExit: multicast state changed on both sides while vtepgw
// is down (SIGTERM leaves everything in place) is found by the resync of
// the next daemon: withdrawn learned groups leave SB, new ones arrive, and
// Mcast_Macs_Remote follows the groups that exist now. "ovs-appctl exit"
// then removes the gateway: its chassis (and with it, through northd, its
// IGMP_Group rows and replicator encap) and every Mcast_Macs_Remote row.
func TestRestartAndExit(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.nb(t, "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	s.hv(t, "hv1", "127.0.1.1")
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	igmp := s.sbGet(db.igmpGroups)
	mmrs := s.vtepGet(db.mmrs)
	g1 := s.igmpJoin(t, "239.1.1.1", "lsA", "hv1", "vif1")
	s.mcastLocal(t, "lsA", "01:00:5e:01:01:02", "239.1.1.2", "10.0.0.1")
	s.vctl(t, "add-mcast-local", "lsA", "unknown-dst", "10.9.9.9")
	waitEqual(t, "IGMP_Group (before)", igmp, "239.1.1.1 lsA hv1 vif1", "239.1.1.2 lsA br0 vtepA")
	waitEqual(t, "Mcast_Macs_Remote (before)", mmrs, "lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1", "lsA unknown-dst - 127.0.1.1")
	waitEqual(t, "vtepA encap (before)", s.sbGet(func(d db) []string { return []string{d.pbEncap("vtepA")} }), "br0 vxlan/10.9.9.9")

	if err := s.gw.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.gw.Wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// While down: the switch withdraws 239.1.1.2 and joins 239.1.1.4;
	// hv1 leaves 239.1.1.1 and joins 239.1.1.5.
	s.vctl(t, "del-mcast-local", "lsA", "01:00:5e:01:01:02", "10.0.0.1")
	s.mcastLocal(t, "lsA", "01:00:5e:01:01:04", "239.1.1.4", "10.0.0.1")
	s.sb(t, "destroy", "IGMP_Group", g1)
	s.igmpJoin(t, "239.1.1.5", "lsA", "hv1", "vif1")
	s.sync(t)
	// Nothing followed yet.
	stays(t, "IGMP_Group (down)", quiet, igmp, "239.1.1.2 lsA br0 vtepA", "239.1.1.5 lsA hv1 vif1")
	stays(t, "Mcast_Macs_Remote (down)", quiet, mmrs, "lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1", "lsA unknown-dst - 127.0.1.1")

	s.gw = startGateway(t, s.ovn.SBRemote(), s.vtep.VtepRemote())
	waitEqual(t, "IGMP_Group (restarted)", igmp, "239.1.1.4 lsA br0 vtepA", "239.1.1.5 lsA hv1 vif1")
	waitEqual(t, "Mcast_Macs_Remote (restarted)", mmrs, "lsA 01:00:5e:01:01:05 239.1.1.5 127.0.1.1", "lsA unknown-dst - 127.0.1.1")
	waitEqual(t, "Multicast_Group (restarted)", s.sbGet(func(d db) []string { return d.mcGroups("") }),
		"lsA 239.1.1.4 vtepA", "lsA 239.1.1.5 vif1")
	waitEqual(t, "vtepA encap (restarted)", s.sbGet(func(d db) []string { return []string{d.pbEncap("vtepA")} }), "br0 vxlan/10.9.9.9")
	// What the new daemon found is tracked: a withdrawal is followed.
	s.vctl(t, "del-mcast-local", "lsA", "01:00:5e:01:01:04", "10.0.0.1")
	waitEqual(t, "IGMP_Group (withdrawn after restart)", igmp, "239.1.1.5 lsA hv1 vif1")
	s.mcastLocal(t, "lsA", "01:00:5e:01:01:04", "239.1.1.4", "10.0.0.1")
	waitEqual(t, "IGMP_Group (joined after restart)", igmp, "239.1.1.4 lsA br0 vtepA", "239.1.1.5 lsA hv1 vif1")

	if _, err := s.gw.appctl("exit"); err != nil && !s.gw.Exited() {
		t.Fatal(err)
	}
	if err := s.gw.Wait(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitEqual(t, "Mcast_Macs_Remote (exit)", mmrs)
	waitEqual(t, "IGMP_Group (exit)", igmp, "239.1.1.5 lsA hv1 vif1")
	waitEqual(t, "Encap rows (exit)", s.sbGet(db.allEncaps), "hv1 vxlan 127.0.1.1")
	waitEqual(t, "vtepA binding (exit)", s.sbGet(func(d db) []string { return []string{d.pbEncap("vtepA")} }), "- -")
}
