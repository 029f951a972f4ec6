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

// syncChassis makes the Chassis and Encap of one local physical switch
// match it, creating them when missing.
func (s *Southbound) syncChassis(b *batch, name string) error {
	ps := s.topo[name]
	ip := ""
	if len(ps.TunnelIPs) > 0 {
		ip = ps.TunnelIPs[0]
	}
	lss := ps.LogicalSwitchNames()
	if lss == nil {
		lss = []string{}
	}
	uuid, ch := s.chassisByName(name)
	if ch == nil {
		// The (type, ip) index on Encap is unique: a second switch without
		// tunnel IPs (or one sharing another chassis's IP) cannot register.
		if owner := s.encapOwner(ip); owner != "" {
			s.logOnce(slog.LevelError, "encap:"+name, fmt.Sprintf("cannot register physical switch (%s): vxlan encap ip %q is already used by chassis (%s)", name, ip, owner))
			return nil
		}
		if s.chassisSeen[name] {
			s.log.Warn(fmt.Sprintf("Chassis for VTEP physical switch (%s) disappears, maybe deleted by ovn-sbctl, adding it back", name))
		} else {
			s.log.Info(fmt.Sprintf("add Chassis row for VTEP physical switch (%s)", name))
		}
		encName, chName := b.name("encap"), b.name("chassis")
		enc := &sbdb.Encap{UUID: encName, Type: encapVXLAN, IP: ip, Options: map[string]string{"csum": "false"}, ChassisName: name}
		if err := b.add(b.cl.Create(enc)); err != nil {
			return fmt.Errorf("insert encap for %s: %w", name, err)
		}
		row := &sbdb.Chassis{
			UUID:                chName,
			Name:                name,
			Encaps:              []string{encName},
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
	// Encap: the first vxlan encap is ours and is updated in place.
	var enc *sbdb.Encap
	for _, u := range ch.Encaps {
		if e := s.encap(u); e != nil && (enc == nil || e.Type == encapVXLAN && enc.Type != encapVXLAN) {
			enc = e
		}
	}
	if enc != nil && (enc.Type != encapVXLAN || enc.IP != ip || enc.Options["csum"] != "false") {
		if enc.Type != encapVXLAN {
			s.log.Warn(fmt.Sprintf("Chassis for VTEP physical switch (%s) can only have encap type \"vxlan\"", name))
		}
		opts := maps.Clone(enc.Options)
		if opts == nil {
			opts = map[string]string{}
		}
		opts["csum"] = "false"
		row := &sbdb.Encap{UUID: enc.UUID, Type: encapVXLAN, IP: ip, Options: opts}
		if err := b.add(b.cl.Where(row).Update(row, &row.Type, &row.IP, &row.Options)); err != nil {
			return fmt.Errorf("update encap of %s: %w", name, err)
		}
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

// encapOwner returns the chassis that holds a vxlan encap with ip, if any.
func (s *Southbound) encapOwner(ip string) string {
	t := s.c.table("Encap")
	if t == nil {
		return ""
	}
	_, m, err := t.RowByModel(&sbdb.Encap{Type: encapVXLAN, IP: ip})
	if err != nil || m == nil {
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
	}
	return nil
}

func msDuration(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
