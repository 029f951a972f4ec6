package sbsync

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"

	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// fdbsBy returns the FDB rows of one port (datapath and port tunnel keys).
func (s *Southbound) fdbsBy(dp, port int) []*sbdb.FDB {
	t := s.c.table("FDB")
	if t == nil {
		return nil
	}
	rows := t.Lookup(idxFDBPort, fdbPortKey(dp, port))
	out := make([]*sbdb.FDB, 0, len(rows))
	for _, m := range rows {
		out = append(out, m.(*sbdb.FDB))
	}
	return out
}

// fdbRow returns the FDB row for (mac, dp), unique in SB.
func (s *Southbound) fdbRow(mac string, dp int) *sbdb.FDB {
	t := s.c.table("FDB")
	if t == nil {
		return nil
	}
	_, m := t.LookupOne(idxFDBMac, fdbMacKey(mac, dp))
	if m == nil {
		return nil
	}
	return m.(*sbdb.FDB)
}

// growForFDB makes room in the batch for its switch-learned MACs at once:
// a learning storm appends one operation (about 200 bytes) per MAC, and
// growing the slice and maps step by step cost more than building them.
// SB-side FDB keys (the echo of our own writes, a resync) rarely write and
// are not counted.
func growForFDB(b *batch, keys map[vtep.Key]bool) {
	n := 0
	for k := range keys {
		if k.Kind == vtep.KindUcastLocal {
			n++
		}
	}
	if n < 256 {
		return
	}
	b.ops = slices.Grow(b.ops, n)
	if len(b.fdbOps) == 0 {
		b.fdbOps = make(map[int]vtep.Key, n)
	}
	if len(b.fdbSeen) == 0 {
		b.fdbSeen = make(map[string]bool, n)
	}
}

// syncFDBKey handles an FDB row change (KindSBFDB) or a switch-learned MAC
// change (KindUcastLocal).
func (s *Southbound) syncFDBKey(b *batch, sw vtep.Switch, k vtep.Key) error {
	switch k.Kind {
	case vtep.KindSBFDB:
		dp, err := strconv.Atoi(k.Name)
		if err != nil {
			return nil
		}
		s.syncRemoteFDB(b, dp, k.MAC)
		// Ours, deleted by someone else: write it back while the switch
		// still has the MAC. Moved to another port: leave it there.
		for _, ls := range s.lsByDP[dp] {
			if err := s.syncLocalMAC(b, sw, vtep.MACKey{LS: ls, MAC: k.MAC}, false); err != nil {
				return err
			}
		}
	case vtep.KindUcastLocal:
		return s.syncLocalMAC(b, sw, k.MACKey(), true)
	}
	return nil
}

// syncRemoteFDB turns an FDB row learned by another VTEP gateway into a
// remote MAC behind that gateway's tunnel IP.
func (s *Southbound) syncRemoteFDB(b *batch, dp int, mac string) {
	id := "fdb:" + strconv.Itoa(dp) + "/" + mac
	var nc *contribution
	if f := s.fdbRow(mac, dp); f != nil && !s.ourPort(dp, f.PortKey) {
		if dpu := s.dpUUID(dp); dpu != "" {
			if pb := s.pbAt(dpu, f.PortKey); pb != nil && pb.Type == "vtep" && pb.Chassis != nil && !s.isOurChassis(*pb.Chassis) {
				if _, local := s.topo[pb.Options[optPhysSwitch]]; !local {
					if c := s.chassisContribution(pb, dp, false); c != nil {
						c.macs = []string{f.MAC}
						nc = c
					}
				}
			}
		}
	}
	s.setContribution(b, id, nc)
}

// ourPort reports whether port key pk of datapath dp is one of our vtep
// ports (then an FDB row on it is ours, not another gateway's).
func (s *Southbound) ourPort(dp, pk int) bool {
	for _, ls := range s.lsByDP[dp] {
		if own, ok := s.own[ls]; ok && own.dp == dp && own.portKey == pk {
			return true
		}
	}
	return false
}

func (s *Southbound) pbAt(datapath string, key int) *sbdb.PortBinding {
	t := s.c.table("Port_Binding")
	if t == nil {
		return nil
	}
	_, m := t.LookupOne(idxPBDpKey, dpKeyKey(datapath, key))
	if m == nil {
		return nil
	}
	return m.(*sbdb.PortBinding)
}

// syncLocalMAC makes SB FDB match one switch-learned MAC: present on the
// switch → an FDB row on our Port_Binding (taking it over from another
// port when the MAC moved here); gone → our row is removed.
//
// takeOver says the switch (re)learned the MAC, or we resync: a row on
// another port is moved to ours. Without it (an SB-side FDB change), a row
// that another port took (OVN learned the MAC on a hypervisor, or another
// VTEP learned it) is a move away and stays there, although this switch
// has not aged the MAC out yet: taking it back would make two learners
// rewrite the row in turn until one of them ages the MAC out.
func (s *Southbound) syncLocalMAC(b *batch, sw vtep.Switch, k vtep.MACKey, takeOver bool) error {
	key := k.String()
	if b.fdbSeen[key] {
		return nil
	}
	own, bound := s.own[k.LS]
	if !takeOver && bound {
		// An SB-side event for our own row, where we put it (typically the
		// echo of our inserts): nothing to do here. Whether the switch still
		// has the MAC is the switch-side key's business, so this does not
		// count as seen: such a key later in the batch still runs.
		if _, mine := s.owned[k]; mine {
			if row := s.fdbRow(k.MAC, own.dp); row != nil && row.PortKey == own.portKey {
				return nil
			}
		}
	}
	b.fdbSeen[key] = true
	if !bound {
		if _, learned := sw.UcastLocal(k); learned {
			s.logOnce(slog.LevelError, "nopb:"+k.LS, fmt.Sprintf("Cannot find port_binding for dynamically learned MAC %s in logical_switch %s", k.MAC, k.LS))
		}
		return nil
	}
	_, learned := sw.UcastLocal(k)
	row := s.fdbRow(k.MAC, own.dp)
	switch {
	case learned && row != nil && row.PortKey != own.portKey && !takeOver:
		if _, mine := s.owned[k]; mine {
			s.log.Info("MAC moved away from the VTEP", "mac", k.MAC, "ls", k.LS, "to_port_key", row.PortKey)
		}
		s.setOwned(k, own.ps, false)
		// A switch-side key for the MAC in this batch still takes it.
		delete(b.fdbSeen, key)
	case learned && (row == nil || row.PortKey != own.portKey):
		if _, mine := s.owned[k]; !mine && s.capped(k, own.ps) {
			return nil
		}
		if ok, wait := s.allowLearn(); !ok {
			s.deferLearn(b, k, wait)
			return nil
		}
		s.unrefuse(k)
		s.setOwned(k, own.ps, true)
		if row == nil {
			b.fdbOps[len(b.ops)] = vtep.Key{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC}
			b.ops = append(b.ops, s.fdbInsert(k.MAC, own))
			return nil
		}
		// The MAC moved here (live migration, or from another VTEP): one
		// update of the existing row keeps the (mac, dp_key) index intact.
		s.log.Info("MAC moved to the VTEP", "mac", k.MAC, "ls", k.LS, "from_port_key", row.PortKey, "to_port", own.pb)
		upd := &sbdb.FDB{UUID: row.UUID, PortKey: own.portKey}
		if err := b.add(b.cl.Where(upd).Update(upd, &upd.PortKey)); err != nil {
			return fmt.Errorf("move FDB %s: %w", k.MAC, err)
		}
	case learned:
		s.unrefuse(k)
		s.setOwned(k, own.ps, true)
	default:
		s.unrefuse(k)
		s.setOwned(k, own.ps, false)
		if row != nil && row.PortKey == own.portKey {
			if err := b.add(ovsdbx.DeleteByUUID("FDB", row.UUID), nil); err != nil {
				return fmt.Errorf("delete FDB %s: %w", k.MAC, err)
			}
		}
	}
	return nil
}

// fdbInsert builds the insert by hand so it can set timestamp where the
// server has it (newer schemas): INT64_MAX keeps northd's FDB aging away
// from MACs the switch owns, as ovn-controller-vtep does.
func (s *Southbound) fdbInsert(mac string, own ownBinding) ovsdb.Operation {
	row := ovsdb.Row{"mac": mac, "dp_key": own.dp, "port_key": own.portKey}
	if s.c.fdbHasTimestamp() {
		row["timestamp"] = math.MaxInt64
	}
	return ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "FDB", Row: row}
}

// resyncLocalMACs checks every learned MAC and every FDB row of our ports.
func (s *Southbound) resyncLocalMACs(b *batch, sw vtep.Switch) error {
	for _, k := range sw.Entries(vtep.KindUcastLocal) {
		if err := s.syncLocalMAC(b, sw, k, true); err != nil {
			return err
		}
	}
	for ls, own := range s.own {
		for _, f := range s.fdbsBy(own.dp, own.portKey) {
			if err := s.syncLocalMAC(b, sw, vtep.MACKey{LS: ls, MAC: f.MAC}, true); err != nil {
				return err
			}
		}
	}
	// Rows on our switches' other vtep ports (their binding went away while
	// we were down or disconnected) are stale, unless being moved above.
	for _, pb := range s.pbsByType("vtep") {
		ls := pb.Options[optLogSwitch]
		own, bound := s.own[ls]
		if _, local := s.topo[pb.Options[optPhysSwitch]]; !local || bound && own.pbUUID == pb.UUID {
			continue
		}
		dp := s.dpKey(pb.Datapath)
		for _, f := range s.fdbsBy(dp, pb.TunnelKey) {
			if _, learned := sw.UcastLocal(vtep.MACKey{LS: ls, MAC: f.MAC}); learned && bound && own.dp == dp {
				continue
			}
			if err := b.add(ovsdbx.DeleteByUUID("FDB", f.UUID), nil); err != nil {
				return fmt.Errorf("delete FDB %s: %w", f.MAC, err)
			}
		}
	}
	return nil
}
