package sbsync

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/mcast"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Switch-learned multicast groups (Mcast_Macs_Local) become SB IGMP_Group
// rows, exactly as ovn-controller reports IGMP snooping on a hypervisor:
// address = the group, datapath = the switch's datapath, chassis = the
// switch's chassis, ports = its vtep Port_Binding. northd then puts the vtep
// port into the group's Multicast_Group (with mcast_snoop=true on the NB
// logical switch).

// syncLocalMcast makes SB IGMP_Group match one Mcast_Macs_Local entry.
func (s *Southbound) syncLocalMcast(b *batch, sw vtep.Switch, k vtep.MACKey) error {
	if b.fdbSeen["m:"+k.String()] {
		return nil
	}
	b.fdbSeen["m:"+k.String()] = true
	if k.MAC == vtep.UnknownDst {
		s.syncReplicator(sw, k.LS)
		return nil
	}
	own, bound := s.own[k.LS]
	prev, hadPrev := s.igmp[k]
	want, bogus := "", false
	if e, ok := sw.McastLocal(k); ok && bound {
		a, err := mcast.LearnedGroup(k.MAC, e.IP)
		if err != nil {
			bogus = true
			s.logOnce(slog.LevelWarn, "mml:"+k.String(), "ignoring Mcast_Macs_Local entry that is not a multicast group", "ls", k.LS, "mac", k.MAC, "err", err)
		} else {
			want = a.String()
		}
	}
	if !bogus {
		delete(s.logged, "mml:"+k.String()) // warn again if it turns bogus again
	}
	ref := igmpRef{dp: own.dp, ps: own.ps, pbUUID: own.pbUUID}
	if hadPrev && (prev.addr != want || prev.ref != ref) {
		delete(s.igmp, k)
		b.touchIGMP(prev.addr, prev.ref)
	}
	if want == "" {
		return nil
	}
	s.igmp[k] = igmpEntry{addr: want, ref: ref}
	// Always checked, so a row others deleted is written again.
	b.touchIGMP(want, ref)
	return nil
}

// igmpGroup names one IGMP_Group row we write. ovn-controller writes one
// row per (address, datapath, chassis) listing every local port that
// joined; so do we, for the vtep ports of one physical switch (two VTEP
// logical switches may be bound to one datapath).
type igmpGroup struct {
	addr string
	dp   int
	ps   string
}

// touchIGMP marks a row for flushIGMP.
func (b *batch) touchIGMP(addr string, r igmpRef) {
	if b.igmp == nil {
		b.igmp = map[igmpGroup]bool{}
	}
	b.igmp[igmpGroup{addr: addr, dp: r.dp, ps: r.ps}] = true
}

// flushIGMP writes the IGMP_Group rows the batch touched, each once, with
// the ports of every learned entry that maps to it.
func (s *Southbound) flushIGMP(b *batch) error {
	if len(b.igmp) == 0 {
		return nil
	}
	ports := map[igmpGroup][]string{}
	for _, e := range s.igmp {
		g := igmpGroup{addr: e.addr, dp: e.ref.dp, ps: e.ref.ps}
		if b.igmp[g] && e.ref.pbUUID != "" && !slices.Contains(ports[g], e.ref.pbUUID) {
			ports[g] = append(ports[g], e.ref.pbUUID)
		}
	}
	for g := range b.igmp {
		slices.Sort(ports[g])
		if err := s.writeIGMP(b, g, ports[g]); err != nil {
			return err
		}
	}
	clear(b.igmp)
	return nil
}

// writeIGMP makes one IGMP_Group row list ports, deleting it when none.
func (s *Southbound) writeIGMP(b *batch, g igmpGroup, ports []string) error {
	dpu := s.dpUUID(g.dp)
	if dpu == "" {
		return nil // the datapath is gone, and northd purges its rows
	}
	var row *sbdb.IGMPGroup
	if _, ch := s.chassisByName(g.ps); ch != nil {
		row = s.igmpRow(g.addr, dpu, ch.UUID)
	}
	switch {
	case len(ports) == 0:
		if row == nil {
			return nil
		}
		if err := b.add(b.cl.Where(&sbdb.IGMPGroup{UUID: row.UUID}).Delete()); err != nil {
			return fmt.Errorf("delete IGMP_Group %s: %w", g.addr, err)
		}
		return nil
	case row != nil:
		if slices.Equal(slices.Sorted(slices.Values(row.Ports)), ports) {
			return nil
		}
		upd := &sbdb.IGMPGroup{UUID: row.UUID, Ports: ports}
		return b.add(b.cl.Where(upd).Update(upd, &upd.Ports))
	}
	ch := s.chassisRef(b, g.ps)
	if ch == "" {
		return nil
	}
	set := make([]any, len(ports))
	for i, p := range ports {
		set[i] = ovsdb.UUID{GoUUID: p}
	}
	r := ovsdb.Row{
		"address":  g.addr,
		"datapath": ovsdb.UUID{GoUUID: dpu},
		"chassis":  ovsdb.UUID{GoUUID: ch},
		"ports":    ovsdb.OvsSet{GoSet: set},
	}
	if s.c.igmpHasChassisName() {
		// Newer SB schemas name the chassis too (it survives the chassis
		// row being recreated).
		r["chassis_name"] = g.ps
	}
	b.ops = append(b.ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "IGMP_Group", Row: r})
	return nil
}

type igmpRef struct {
	dp     int
	ps     string
	pbUUID string
}

type igmpEntry struct {
	addr string
	ref  igmpRef
}

func (s *Southbound) igmpRow(addr, dpu, ch string) *sbdb.IGMPGroup {
	t := s.c.table("IGMP_Group")
	if t == nil || ch == "" {
		return nil
	}
	_, m := t.LookupOne(idxIGMP, addr+sep+dpu+sep+ch)
	if m == nil {
		return nil
	}
	return m.(*sbdb.IGMPGroup)
}

// resyncLocalMcast rebuilds the IGMP_Group rows of our chassis from the
// switch's Mcast_Macs_Local: missing ones are written, others deleted.
func (s *Southbound) resyncLocalMcast(b *batch, sw vtep.Switch) error {
	// s.igmp was emptied by the resync's reset, and may already hold
	// entries synced earlier in this batch: keep them.
	for _, k := range sw.Entries(vtep.KindMcastLocal) {
		if err := s.syncLocalMcast(b, sw, k); err != nil {
			return err
		}
	}
	want := map[string]bool{} // address/dp uuid/chassis uuid
	for _, e := range s.igmp {
		_, ch := s.chassisByName(e.ref.ps)
		if ch != nil {
			want[e.addr+"/"+s.dpUUID(e.ref.dp)+"/"+ch.UUID] = true
		}
	}
	t := s.c.table("IGMP_Group")
	if t == nil {
		return nil
	}
	for uuid, m := range t.Rows() {
		g := m.(*sbdb.IGMPGroup)
		if g.Chassis == nil || !s.isOurChassis(*g.Chassis) {
			continue
		}
		dpu := ""
		if g.Datapath != nil {
			dpu = *g.Datapath
		}
		if !want[g.Address+"/"+dpu+"/"+*g.Chassis] {
			if err := b.add(b.cl.Where(&sbdb.IGMPGroup{UUID: uuid}).Delete()); err != nil {
				return fmt.Errorf("delete stale IGMP_Group %s: %w", g.Address, err)
			}
		}
	}
	return nil
}
