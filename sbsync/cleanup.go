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
	cl := s.c.conn.Client()
	if cl == nil || !cl.Connected() {
		return ovsdbx.ErrNotConnected
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &batch{cl: cl}
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
	return attached, macs, st
}
