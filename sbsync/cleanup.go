package sbsync

import (
	"context"
	"fmt"

	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Cleanup removes this gateway from the southbound, as ovn-controller-vtep
// does on "exit": it unbinds every Port_Binding bound to a local switch's
// chassis and deletes those chassis, in one transaction. FDB rows it wrote
// are left for northd to age, as the reference does.
func (s *Southbound) Cleanup(ctx context.Context, sw vtep.Switch) error {
	ss := s.c.conn.session()
	if ss == nil {
		return ovsdbx.ErrNotConnected
	}
	cl := ss.ops
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &batch{ss: ss, cl: cl}
	for _, ps := range sw.PhysicalSwitches() {
		uuid, ch := s.chassisByName(ps.Name)
		if ch == nil {
			continue
		}
		for _, pb := range s.pbsByChassis(uuid) {
			if err := s.setChassis(b, pb, nil); err != nil {
				return err
			}
		}
		if err := b.add(cl.Where(&sbdb.Chassis{UUID: uuid}).Delete()); err != nil {
			return fmt.Errorf("delete chassis %s: %w", ps.Name, err)
		}
	}
	return s.commit(ctx, b)
}

// Counts returns how many remote MACs and bound logical switches the
// gateway currently wants, for status and metrics.
func (s *Southbound) Counts() (attached map[string]int, macs int, st Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	attached = map[string]int{}
	for ls, dp := range s.attach {
		attached[ls] = dp
		macs += len(s.macIdx[dp])
	}
	st = s.stats
	st.LearnedOwned = len(s.owned)
	st.IGMPGroups = len(s.igmp)
	for dp := range s.lsByDP {
		for _, g := range s.groups[dp] {
			if g.mac != "" {
				st.McastGroups++
			}
		}
	}
	st.ChassisWithoutVXLAN = s.chassisWithoutVXLAN()
	return attached, macs, st
}

// chassisWithoutVXLAN counts chassis hosting bound ports of attached
// datapaths that have no vxlan encap (O(ports of attached datapaths); for
// status and metrics scrapes only).
func (s *Southbound) chassisWithoutVXLAN() int {
	t := s.c.table("Port_Binding")
	if t == nil {
		return 0
	}
	seen := map[string]bool{}
	n := 0
	for _, m := range t.Rows() {
		pb := m.(*sbdb.PortBinding)
		if pb.Chassis == nil || seen[*pb.Chassis] || pb.Type == "vtep" || pb.Type == "external" {
			continue
		}
		if _, ok := s.lsByDP[s.dpKey(pb.Datapath)]; !ok {
			continue
		}
		seen[*pb.Chassis] = true
		if ch := s.chassis(*pb.Chassis); ch != nil && s.vxlanIP(ch, nil) == "" {
			n++
		}
	}
	return n
}
