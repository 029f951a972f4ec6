package sbsync

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// checkVersion applies the switch's Global options: the SB probe interval
// and northd version pinning (ovn-controller-vtep's
// ovn-remote-probe-interval and ovn-match-northd-version).
func (s *Southbound) checkVersion(sw vtep.Switch) {
	var cfg map[string]string
	if g, ok := sw.(drivers.GlobalConfigReader); ok {
		cfg = g.GlobalConfig()
	}
	if v, ok := cfg["ovn-remote-probe-interval"]; ok {
		if ms, err := strconv.Atoi(v); err == nil && ms >= 0 {
			s.c.SetProbeInterval(msDuration(ms))
		} else {
			s.logOnce(slog.LevelWarn, "probe-interval", "ignoring bad Global other_config:ovn-remote-probe-interval", "value", v)
		}
	}
	northd := ""
	if t := s.c.table("SB_Global"); t != nil {
		for _, m := range t.Rows() {
			northd = m.(*sbdb.SBGlobal).Options["northd_internal_version"]
		}
	}
	if s.pinned == "" && northd != "" {
		s.pinned = northd
		s.log.Info(fmt.Sprintf("OVN internal version is : [%s]", s.pinned))
	}
	match := cfg["ovn-match-northd-version"] == "true"
	wasPaused := s.paused
	s.paused = match && northd != s.pinned
	if s.paused {
		s.logOnce(slog.LevelWarn, "version", fmt.Sprintf("controller-vtep version - %s mismatch with northd version - %s", s.pinned, northd))
	} else if wasPaused {
		s.log.Info("northd version matches again; resuming", "version", northd)
		delete(s.logged, "version")
	}
}

// encapSpec is one Encap a local switch's chassis should have.
type encapSpec struct {
	ip   string
	opts map[string]string
}

// wantEncaps lists a switch's encaps: one per tunnel IP (OVN's TODO
// "multiple tunnel encaps") plus one per replicator IP its logical switches
// asked hypervisors to use (see replicator.go); the first tunnel IP's is
// marked is_default when there are several. A switch without tunnel IPs gets one with ip "", as
// ovn-controller-vtep registers it.
func (s *Southbound) wantEncaps(ps vtep.PhysicalSwitch) []encapSpec {
	ips := ps.TunnelIPs
	if len(ips) == 0 {
		ips = []string{""}
	}
	var out []encapSpec
	seen := map[string]bool{}
	for _, ip := range ips {
		if seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, encapSpec{ip: ip, opts: map[string]string{"csum": "false"}})
	}
	for _, ip := range slices.Sorted(maps.Keys(s.replicatorIPs(ps.Name))) {
		if !seen[ip] {
			seen[ip] = true
			out = append(out, encapSpec{ip: ip, opts: map[string]string{"csum": "false", "vtepgw-replicator": "true"}})
		}
	}
	if len(out) > 1 {
		// A replicator encap counts too: ports that name no encap must
		// not be reached at a replicator.
		out[0].opts["is_default"] = "true"
	}
	return out
}

// syncChassis makes the Chassis and Encaps of one local physical switch
// match it, creating them when missing.
func (s *Southbound) syncChassis(b *batch, name string) error {
	ps := s.topo[name]
	lss := ps.LogicalSwitchNames()
	if lss == nil {
		lss = []string{}
	}
	want := s.wantEncaps(ps)
	uuid, ch := s.chassisByName(name)
	if ch == nil {
		// The (type, ip) index on Encap is unique: a second switch without
		// tunnel IPs (or one sharing another chassis's IP) cannot register.
		var encs []string
		for _, e := range want {
			if owner := s.encapOwner(e.ip); owner != "" {
				s.logOnce(slog.LevelError, "encap:"+name+e.ip, fmt.Sprintf("cannot register vxlan encap ip %q of physical switch (%s): already used by chassis (%s)", e.ip, name, owner))
				continue
			}
			n := b.name("encap")
			enc := &sbdb.Encap{UUID: n, Type: encapVXLAN, IP: e.ip, Options: e.opts, ChassisName: name}
			if err := b.add(b.cl.Create(enc)); err != nil {
				return fmt.Errorf("insert encap for %s: %w", name, err)
			}
			b.newEncap[name+"/"+e.ip] = n
			encs = append(encs, n)
		}
		if len(encs) == 0 {
			return nil // a chassis needs at least one encap
		}
		if s.chassisSeen[name] {
			s.log.Warn(fmt.Sprintf("Chassis for VTEP physical switch (%s) disappears, maybe deleted by ovn-sbctl, adding it back", name))
		} else {
			s.log.Info(fmt.Sprintf("add Chassis row for VTEP physical switch (%s)", name))
		}
		chName := b.name("chassis")
		row := &sbdb.Chassis{
			UUID:                chName,
			Name:                name,
			Encaps:              encs,
			OtherConfig:         map[string]string{"is-vtep": "true"},
			ExternalIDs:         map[string]string{ExternalIDGateway: s.opts.GatewayID},
			VtepLogicalSwitches: lss,
		}
		if err := b.add(b.cl.Create(row)); err != nil {
			return fmt.Errorf("insert chassis %s: %w", name, err)
		}
		b.newCh[name] = chName
		s.chassisSeen[name] = true
		return nil
	}
	s.chassisSeen[name] = true
	if err := s.syncEncaps(b, name, ch, want); err != nil {
		return err
	}
	row := &sbdb.Chassis{UUID: uuid}
	var fields []any
	if ch.OtherConfig["is-vtep"] != "true" {
		row.OtherConfig = maps.Clone(ch.OtherConfig)
		if row.OtherConfig == nil {
			row.OtherConfig = map[string]string{}
		}
		row.OtherConfig["is-vtep"] = "true"
		fields = append(fields, &row.OtherConfig)
	}
	if ch.ExternalIDs[ExternalIDGateway] != s.opts.GatewayID {
		row.ExternalIDs = maps.Clone(ch.ExternalIDs)
		if row.ExternalIDs == nil {
			row.ExternalIDs = map[string]string{}
		}
		row.ExternalIDs[ExternalIDGateway] = s.opts.GatewayID
		fields = append(fields, &row.ExternalIDs)
	}
	have := slices.Clone(ch.VtepLogicalSwitches)
	slices.Sort(have)
	if !slices.Equal(have, lss) {
		row.VtepLogicalSwitches = lss
		fields = append(fields, &row.VtepLogicalSwitches)
	}
	if len(fields) > 0 {
		if err := b.add(b.cl.Where(row).Update(row, fields...)); err != nil {
			return fmt.Errorf("update chassis %s: %w", name, err)
		}
	}
	return nil
}

// syncEncaps brings an existing chassis's encaps to want: matching ones are
// kept (options fixed in place), a lone encap whose IP changed is updated in
// place (as ovn-controller-vtep does), missing ones are inserted, and extra
// ones are dropped from the chassis (Encap is not a root table, so the
// server deletes them).
func (s *Southbound) syncEncaps(b *batch, name string, ch *sbdb.Chassis, want []encapSpec) error {
	var have []*sbdb.Encap
	for _, u := range ch.Encaps {
		if e := s.encap(u); e != nil {
			have = append(have, e)
		}
	}
	if len(have) == 1 && len(want) == 1 && (have[0].IP != want[0].ip || have[0].Type != encapVXLAN) {
		if have[0].Type != encapVXLAN {
			s.log.Warn(fmt.Sprintf("Chassis for VTEP physical switch (%s) can only have encap type \"vxlan\"", name))
		}
		row := &sbdb.Encap{UUID: have[0].UUID, Type: encapVXLAN, IP: want[0].ip, Options: want[0].opts}
		return b.add(b.cl.Where(row).Update(row, &row.Type, &row.IP, &row.Options))
	}
	byIP := map[string]*sbdb.Encap{}
	for _, e := range have {
		if e.Type == encapVXLAN {
			byIP[e.IP] = e
		}
	}
	var refs []string
	changed := false
	for _, w := range want {
		e, ok := byIP[w.ip]
		if !ok {
			if owner := s.encapOwner(w.ip); owner != "" && owner != name {
				s.logOnce(slog.LevelError, "encap:"+name+w.ip, fmt.Sprintf("cannot register vxlan encap ip %q of physical switch (%s): already used by chassis (%s)", w.ip, name, owner))
				continue
			}
			n := b.name("encap")
			if err := b.add(b.cl.Create(&sbdb.Encap{UUID: n, Type: encapVXLAN, IP: w.ip, Options: w.opts, ChassisName: name})); err != nil {
				return fmt.Errorf("insert encap %s for %s: %w", w.ip, name, err)
			}
			b.newEncap[name+"/"+w.ip] = n
			refs = append(refs, n)
			changed = true
			continue
		}
		refs = append(refs, e.UUID)
		delete(byIP, w.ip)
		if !maps.Equal(e.Options, w.opts) {
			row := &sbdb.Encap{UUID: e.UUID, Options: w.opts}
			if err := b.add(b.cl.Where(row).Update(row, &row.Options)); err != nil {
				return fmt.Errorf("update encap %s of %s: %w", w.ip, name, err)
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	if changed || len(refs) != len(have) {
		row := &sbdb.Chassis{UUID: ch.UUID, Encaps: refs}
		if err := b.add(b.cl.Where(row).Update(row, &row.Encaps)); err != nil {
			return fmt.Errorf("update encaps of %s: %w", name, err)
		}
	}
	return nil
}

// encapOwner returns the chassis that holds a vxlan encap with ip, if any.
func (s *Southbound) encapOwner(ip string) string {
	t := s.c.table("Encap")
	if t == nil {
		return ""
	}
	_, m := t.LookupOne(idxEncap, encapVXLAN+sep+ip)
	if m == nil {
		return ""
	}
	return m.(*sbdb.Encap).ChassisName
}

// deleteOrphanChassis removes chassis this gateway owns (by external_ids,
// so it works across restarts) whose physical switch is gone.
func (s *Southbound) deleteOrphanChassis(b *batch) error {
	t := s.c.table("Chassis")
	if t == nil {
		return nil
	}
	for uuid, m := range t.Rows() {
		ch := m.(*sbdb.Chassis)
		if _, local := s.topo[ch.Name]; local {
			continue
		}
		if ch.ExternalIDs[ExternalIDGateway] != s.opts.GatewayID && !s.chassisSeen[ch.Name] {
			continue
		}
		s.log.Info(fmt.Sprintf("delete Chassis row for removed VTEP physical switch (%s)", ch.Name))
		delete(s.chassisSeen, ch.Name)
		if err := b.add(b.cl.Where(&sbdb.Chassis{UUID: uuid}).Delete()); err != nil {
			return fmt.Errorf("delete chassis %s: %w", ch.Name, err)
		}
		// Its learned MACs: FDB rows on its vtep ports. (A live removal
		// also deletes them in syncGroup; deleting a row twice in one
		// transaction is harmless.)
		for _, pb := range s.pbsByType("vtep") {
			if pb.Options[optPhysSwitch] != ch.Name {
				continue
			}
			for _, f := range s.fdbsBy(s.dpKey(pb.Datapath), pb.TunnelKey) {
				if err := b.add(b.cl.Where(&sbdb.FDB{UUID: f.UUID}).Delete()); err != nil {
					return fmt.Errorf("delete FDB %s: %w", f.MAC, err)
				}
			}
		}
	}
	return nil
}

func msDuration(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
