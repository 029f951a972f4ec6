package sbsync

import (
	"fmt"
	"log/slog"

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
	want := ""
	if e, ok := sw.McastLocal(k); ok && bound {
		a, err := mcast.LearnedGroup(k.MAC, e.IP)
		if err != nil {
			s.logOnce(slog.LevelWarn, "mml:"+k.String(), "ignoring Mcast_Macs_Local entry that is not a multicast group", "ls", k.LS, "mac", k.MAC, "err", err)
		} else {
			want = a.String()
		}
	}
	ref := igmpRef{dp: own.dp, ps: own.ps, pbUUID: own.pbUUID}
	if hadPrev && (prev.addr != want || prev.ref != ref) {
		if err := s.deleteIGMP(b, prev.addr, prev.ref); err != nil {
			return err
		}
		delete(s.igmp, k)
	}
	if want == "" {
		return nil
	}
	s.igmp[k] = igmpEntry{addr: want, ref: ref}
	return s.ensureIGMP(b, want, ref)
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
	_, m, err := t.RowByModel(&sbdb.IGMPGroup{Address: addr, Datapath: &dpu, Chassis: &ch})
	if err != nil || m == nil {
		return nil
	}
	return m.(*sbdb.IGMPGroup)
}

func (s *Southbound) ensureIGMP(b *batch, addr string, r igmpRef) error {
	dpu := s.dpUUID(r.dp)
	ch := s.chassisRef(b, r.ps)
	if dpu == "" || ch == "" || r.pbUUID == "" {
		return nil
	}
	if row := s.igmpRow(addr, dpu, ch); row != nil {
		if len(row.Ports) == 1 && row.Ports[0] == r.pbUUID {
			return nil
		}
		upd := &sbdb.IGMPGroup{UUID: row.UUID, Ports: []string{r.pbUUID}}
		return b.add(b.cl.Where(upd).Update(upd, &upd.Ports))
	}
	row := ovsdb.Row{
		"address":  addr,
		"datapath": ovsdb.UUID{GoUUID: dpu},
		"chassis":  ovsdb.UUID{GoUUID: ch},
		"ports":    ovsdb.OvsSet{GoSet: []any{ovsdb.UUID{GoUUID: r.pbUUID}}},
	}
	if s.c.igmpHasChassisName() {
		// Newer SB schemas name the chassis too (it survives the chassis
		// row being recreated).
		row["chassis_name"] = r.ps
	}
	b.ops = append(b.ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "IGMP_Group", Row: row})
	return nil
}

func (s *Southbound) deleteIGMP(b *batch, addr string, r igmpRef) error {
	dpu := s.dpUUID(r.dp)
	_, chObj := s.chassisByName(r.ps)
	if chObj == nil || dpu == "" {
		return nil
	}
	row := s.igmpRow(addr, dpu, chObj.UUID)
	if row == nil {
		return nil
	}
	if err := b.add(b.cl.Where(&sbdb.IGMPGroup{UUID: row.UUID}).Delete()); err != nil {
		return fmt.Errorf("delete IGMP_Group %s: %w", addr, err)
	}
	return nil
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
