package sbsync

import (
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// isMAC reports whether s looks like xx:xx:xx:xx:xx:xx.
func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// portHostIPs maps each MAC of Port_Binding.mac entries ("MAC IP...") to
// its first valid IP address; MACs without one are left out.
func portHostIPs(entries []string) map[string]string {
	var ips map[string]string
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) < 2 || !isMAC(f[0]) {
			continue
		}
		for _, a := range f[1:] {
			if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
				if ips == nil {
					ips = map[string]string{}
				}
				ips[strings.ToLower(f[0])] = ip.String()
				break
			}
		}
	}
	return ips
}

// portMACs extracts the MACs of Port_Binding.mac entries ("MAC [IP...]");
// "unknown", "router" and "dynamic" entries carry none.
func portMACs(entries []string) []string {
	var macs []string
	for _, e := range entries {
		f := strings.Fields(e)
		if len(f) > 0 && isMAC(f[0]) {
			macs = append(macs, strings.ToLower(f[0]))
		}
	}
	return macs
}

// syncPortBinding recomputes what one Port_Binding contributes (MACs and
// flood IP to its datapath), unbinds it when it is ours but no longer
// eligible, and marks its binding groups.
func (s *Southbound) syncPortBinding(b *batch, name string, fdbKeys map[vtep.Key]bool) error {
	pb := s.pbByName(name)
	if u, ok := s.pbUUIDs[name]; ok && (pb == nil || pb.UUID != u) {
		delete(s.pbNames, u)
		delete(s.pbUUIDs, name)
	}
	if pb != nil && s.pbUUIDs[name] != pb.UUID {
		s.pbNames[pb.UUID] = name
		s.pbUUIDs[name] = pb.UUID
		// Groups may have listed the port before we knew its name.
		if dp := s.dpKey(pb.Datapath); dp != 0 && !b.resync {
			defer func() {
				for gname := range s.groups[dp] {
					s.syncMulticastGroup(b, dp, gname)
				}
			}()
		}
	}
	if old, ok := s.pbGroup[name]; ok {
		b.groups[old] = true
		delete(s.pbGroup, name)
	}
	var nc *contribution
	if pb != nil {
		switch pb.Type {
		case "vtep":
			ls, ps := pb.Options[optLogSwitch], pb.Options[optPhysSwitch]
			if ls != "" {
				s.pbGroup[name] = ls
				b.groups[ls] = true
			}
			if _, local := s.topo[ps]; !local && pb.Chassis != nil && !s.isOurChassis(*pb.Chassis) {
				// Another gateway's port: its chassis joins the flood set,
				// and the MACs it learned (FDB) become remote MACs here.
				nc = s.chassisContribution(pb, s.dpKey(pb.Datapath), false)
				for _, f := range s.fdbsBy(s.dpKey(pb.Datapath), pb.TunnelKey) {
					fdbKeys[vtep.Key{Kind: vtep.KindSBFDB, Name: strconv.Itoa(f.DpKey), MAC: f.MAC}] = true
				}
			}
			if pb.Chassis != nil && s.isOurChassis(*pb.Chassis) && !s.eligible(pb) {
				if err := s.setChassis(b, pb, nil); err != nil {
					return err
				}
			}
		case "external":
			// Never published: external ports are reached through their
			// HA chassis, not the chassis they are bound to.
		case "patch":
			// A router port moved or appeared: redirect ports may now
			// resolve differently.
			for _, cr := range s.pbsByType("chassisredirect") {
				if cr.LogicalPort != name && cr.Options["distributed-port"] == name {
					if err := s.syncPortBinding(b, cr.LogicalPort, fdbKeys); err != nil {
						return err
					}
				}
			}
		case "chassisredirect":
			if pb.Chassis != nil {
				if dp := s.redirectDatapath(pb); dp != 0 {
					nc = s.chassisContribution(pb, dp, true)
					if nc != nil {
						nc.redirect = true
					}
				}
			}
		default:
			if pb.Chassis != nil {
				nc = s.chassisContribution(pb, s.dpKey(pb.Datapath), true)
			}
		}
		if pb.Type != "vtep" && pb.Chassis != nil && s.isOurChassis(*pb.Chassis) {
			// Only vtep ports belong on a VTEP chassis.
			if err := s.setChassis(b, pb, nil); err != nil {
				return err
			}
		}
	}
	s.setContribution(b, "pb:"+name, nc)
	return nil
}

// chassisContribution builds the contribution of a port bound to a chassis.
func (s *Southbound) chassisContribution(pb *sbdb.PortBinding, dp int, withMACs bool) *contribution {
	if dp == 0 || pb.Chassis == nil {
		return nil
	}
	ch := s.chassis(*pb.Chassis)
	if ch == nil {
		return nil
	}
	ip := s.vxlanIP(ch, pb.Encap)
	if ip == "" {
		s.stats.NoVXLANEncap++
		// A warning (the reference logs INFO on every pass), at most once
		// per chassis every 10 minutes.
		if last, ok := s.warned["noencap:"+ch.Name]; !ok || time.Since(last) > 10*time.Minute {
			s.warned["noencap:"+ch.Name] = time.Now()
			s.log.Warn(fmt.Sprintf("VTEP tunnel encap on chassis (%s) not found", ch.Name), "chassis", ch.Name, "hint", "the chassis has no vxlan encap; its ports are unreachable from the VTEP")
		}
		return nil
	}
	c := &contribution{dp: dp, ip: ip, port: pb.LogicalPort}
	if withMACs {
		c.macs = portMACs(pb.MAC)
		if s.opts.ARPSuppression {
			c.hostIPs = portHostIPs(pb.MAC)
		}
	}
	return c
}

// redirectDatapath resolves a chassisredirect port to the logical switch on
// the other side of its router port: distributed-port → that router port's
// patch binding → its peer → the peer's datapath.
func (s *Southbound) redirectDatapath(cr *sbdb.PortBinding) int {
	lrp := s.pbByName(cr.Options["distributed-port"])
	if lrp == nil {
		return 0
	}
	peer := s.pbByName(lrp.Options["peer"])
	if peer == nil {
		return 0
	}
	return s.dpKey(peer.Datapath)
}

// setContribution replaces the contribution under id and emits keys for
// every MAC and flood set it changes.
func (s *Southbound) setContribution(b *batch, id string, nc *contribution) {
	old, had := s.contrib[id]
	if !had && nc == nil {
		return
	}
	if had && nc != nil && old.dp == nc.dp && old.ip == nc.ip && old.redirect == nc.redirect && slices.Equal(old.macs, nc.macs) {
		if !maps.Equal(old.hostIPs, nc.hostIPs) {
			// Only the published IPs changed: same index entries.
			s.contrib[id] = *nc
			for _, mac := range nc.macs {
				if old.hostIPs[mac] != nc.hostIPs[mac] {
					s.emitMAC(b, nc.dp, mac)
				}
			}
		}
		return
	}
	if port, ok := strings.CutPrefix(id, "pb:"); ok {
		oldIP, newIP := old.ip, ""
		if nc != nil {
			newIP = nc.ip
		}
		if oldIP != newIP {
			// Apply after the index update below, so members resolve to the
			// new IP.
			defer s.moveMember(b, port, oldIP, newIP)
		}
	}
	if had {
		delete(s.contrib, id)
		for _, mac := range old.macs {
			if m := s.macIdx[old.dp][mac]; m != nil {
				delete(m, id)
				if len(m) == 0 {
					delete(s.macIdx[old.dp], mac)
				}
			}
			s.emitMAC(b, old.dp, mac)
		}
		if f := s.floodIdx[old.dp]; f != nil {
			if f[old.ip]--; f[old.ip] <= 0 {
				delete(f, old.ip)
				s.emitFlood(b, old.dp)
			}
		}
		if old.redirect {
			if r := s.redirIdx[old.dp]; r != nil {
				if r[old.ip]--; r[old.ip] <= 0 {
					delete(r, old.ip)
					s.emitFlood(b, old.dp)
				}
			}
		}
	}
	if nc == nil {
		return
	}
	s.contrib[id] = *nc
	if s.macIdx[nc.dp] == nil {
		s.macIdx[nc.dp] = map[string]map[string]string{}
	}
	for _, mac := range nc.macs {
		m := s.macIdx[nc.dp][mac]
		if m == nil {
			m = map[string]string{}
			s.macIdx[nc.dp][mac] = m
		}
		m[id] = nc.ip
		if len(m) > 1 && len(s.lsByDP[nc.dp]) > 0 {
			s.warnDuplicate(mac, m)
		}
		s.emitMAC(b, nc.dp, mac)
	}
	if s.floodIdx[nc.dp] == nil {
		s.floodIdx[nc.dp] = map[string]int{}
	}
	if s.floodIdx[nc.dp][nc.ip]++; s.floodIdx[nc.dp][nc.ip] == 1 {
		s.emitFlood(b, nc.dp)
	}
	if nc.redirect {
		if s.redirIdx[nc.dp] == nil {
			s.redirIdx[nc.dp] = map[string]int{}
		}
		if s.redirIdx[nc.dp][nc.ip]++; s.redirIdx[nc.dp][nc.ip] == 1 {
			s.emitFlood(b, nc.dp)
		}
	}
}

// emitAttached emits every key of a logical switch attached to dp.
func (s *Southbound) emitAttached(b *batch, ls string, dp int) {
	b.keys = append(b.keys, vtep.LogicalSwitchKey(ls), vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}))
	for mac := range s.macIdx[dp] {
		b.keys = append(b.keys, vtep.UcastRemoteKey(vtep.MACKey{LS: ls, MAC: mac}))
	}
	for _, g := range s.groups[dp] {
		if g.mac != "" {
			b.keys = append(b.keys, vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: g.mac}))
		}
	}
}

func (s *Southbound) emitMAC(b *batch, dp int, mac string) {
	for _, ls := range s.lsByDP[dp] {
		b.keys = append(b.keys, vtep.UcastRemoteKey(vtep.MACKey{LS: ls, MAC: mac}))
	}
}

func (s *Southbound) emitFlood(b *batch, dp int) {
	for _, ls := range s.lsByDP[dp] {
		b.keys = append(b.keys, vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}))
	}
}

// eligible reports whether a vtep Port_Binding names a local physical
// switch that has its VTEP logical switch bound on some port.
func (s *Southbound) eligible(pb *sbdb.PortBinding) bool {
	ps, ok := s.topo[pb.Options[optPhysSwitch]]
	return ok && slices.Contains(ps.LogicalSwitchNames(), pb.Options[optLogSwitch])
}

// chassisRef returns the UUID (or, when inserted in this batch, the named
// UUID) of a local switch's chassis.
func (s *Southbound) chassisRef(b *batch, ps string) string {
	if n, ok := b.newCh[ps]; ok {
		return n
	}
	u, _ := s.chassisByName(ps)
	return u
}

func (s *Southbound) setChassis(b *batch, pb *sbdb.PortBinding, chassis *string) error {
	row := &sbdb.PortBinding{UUID: pb.UUID, Chassis: chassis}
	if err := b.add(b.cl.Where(row).Update(row, &row.Chassis)); err != nil {
		return fmt.Errorf("set chassis of %s: %w", pb.LogicalPort, err)
	}
	return nil
}

// syncGroup decides the bindings of one VTEP logical switch name: at most
// one datapath per name across this database's switches, and at most one
// Port_Binding per (physical switch, logical switch). Ties go to what is
// already bound (stable across restarts), then to the lowest datapath key
// and port name (deterministic, unlike the reference's hash order).
func (s *Southbound) syncGroup(b *batch, sw vtep.Switch, ls string) error {
	cands := s.pbsByLS(ls)
	var elig []*sbdb.PortBinding
	for _, pb := range cands {
		if pb.Type == "vtep" && pb.Options[optLogSwitch] == ls && s.eligible(pb) {
			elig = append(elig, pb)
		}
	}
	boundHere := func(pb *sbdb.PortBinding) bool {
		return pb.Chassis != nil && s.isOurChassis(*pb.Chassis)
	}
	// The datapath: the lowest key among those already bound here, else
	// the lowest key overall.
	dp, boundDP := 0, 0
	for _, pb := range elig {
		k := s.dpKey(pb.Datapath)
		if k == 0 {
			continue
		}
		if dp == 0 || k < dp {
			dp = k
		}
		if boundHere(pb) && (boundDP == 0 || k < boundDP) {
			boundDP = k
		}
	}
	if boundDP != 0 {
		dp = boundDP
	}
	winners := map[string]*sbdb.PortBinding{} // physical switch → port
	for _, pb := range elig {
		ps := pb.Options[optPhysSwitch]
		if k := s.dpKey(pb.Datapath); k != dp {
			s.stats.Conflicts++
			s.logOnce(slog.LevelWarn, "conflict:"+pb.LogicalPort, fmt.Sprintf("logical switch (%s), on vtep gateway chassis (%s) has already been associated with logical datapath (with tunnel key %d), ignore logical port (%s) which belongs to logical datapath (with tunnel key %d)", ls, ps, dp, pb.LogicalPort, k))
			continue
		}
		if w := winners[ps]; w == nil || boundHere(pb) && !boundHere(w) {
			winners[ps] = pb
		}
	}
	for _, pb := range elig {
		ps := pb.Options[optPhysSwitch]
		w := winners[ps]
		if w != nil && w != pb && s.dpKey(pb.Datapath) == dp {
			s.stats.Conflicts++
			s.logOnce(slog.LevelWarn, "conflict:"+pb.LogicalPort, fmt.Sprintf("logical switch (%s), on vtep gateway chassis (%s) has already been associated with logical port (%s), ignore logical port (%s)", ls, ps, w.LogicalPort, pb.LogicalPort))
		}
		if w == pb {
			delete(s.logged, "conflict:"+pb.LogicalPort)
			ref := s.chassisRef(b, ps)
			if ref == "" {
				continue // chassis could not be registered
			}
			if pb.Chassis == nil || *pb.Chassis != ref {
				s.log.Info(fmt.Sprintf("bind logical port (%s) to vtep gateway chassis (%s)", pb.LogicalPort, ps))
				if err := s.setChassis(b, pb, &ref); err != nil {
					return err
				}
			} else if pb.Up != nil && !*pb.Up && s.programmed(sw, ls, dp) {
				t := true
				row := &sbdb.PortBinding{UUID: pb.UUID, Up: &t}
				if err := b.add(b.cl.Where(row).Update(row, &row.Up)); err != nil {
					return fmt.Errorf("set up of %s: %w", pb.LogicalPort, err)
				}
			}
			if err := s.setBindingEncap(b, pb, ps, ls); err != nil {
				return err
			}
			continue
		}
		if boundHere(pb) {
			if err := s.setChassis(b, pb, nil); err != nil {
				return err
			}
		}
	}
	// Our binding for learned MACs: the lowest-named winner.
	var own *ownBinding
	for _, ps := range slices.Sorted(maps.Keys(winners)) {
		w := winners[ps]
		if own == nil || w.LogicalPort < own.pb {
			own = &ownBinding{pb: w.LogicalPort, pbUUID: w.UUID, ps: ps, dp: dp, portKey: w.TunnelKey}
		}
	}
	s.setAttach(b, ls, dp, len(winners) > 0)
	prev, had := s.own[ls]
	if own != nil {
		s.own[ls] = *own
	} else {
		delete(s.own, ls)
	}
	if (own == nil) != !had || own != nil && *own != prev {
		if _, ok := s.replicator[ls]; ok {
			// The switch-side replicator's encap follows the binding
			// (replicator.go): recheck the chassis it leaves and joins.
			if had {
				s.notify(vtep.Key{Kind: vtep.KindSBChassis, Name: prev.ps})
			}
			if own != nil {
				s.notify(vtep.Key{Kind: vtep.KindSBChassis, Name: own.ps})
			}
		}
		// The port learned MACs are reported on changed: revisit this
		// logical switch's learned entries (rare; O(learned entries)).
		for _, k := range sw.Entries(vtep.KindUcastLocal) {
			if k.LS == ls {
				if err := s.syncLocalMAC(b, sw, k, true); err != nil {
					return err
				}
			}
		}
		for _, k := range sw.Entries(vtep.KindMcastLocal) {
			if k.LS == ls {
				if err := s.syncLocalMcast(b, sw, k); err != nil {
					return err
				}
			}
		}
		// What the loop above did not move to the new port (the logical
		// switch is no longer bound here, or bound in another datapath)
		// must not stay on a port nobody serves.
		if had && (own == nil || own.dp != prev.dp || own.portKey != prev.portKey) {
			for _, f := range s.fdbsBy(prev.dp, prev.portKey) {
				k := vtep.MACKey{LS: ls, MAC: f.MAC}
				if _, learned := sw.UcastLocal(k); learned && own != nil && own.dp == prev.dp {
					continue // moved
				}
				s.setOwned(k, prev.ps, false)
				if err := b.add(b.cl.Where(&sbdb.FDB{UUID: f.UUID}).Delete()); err != nil {
					return fmt.Errorf("delete FDB %s: %w", f.MAC, err)
				}
			}
		}
	}
	return nil
}

// programmed reports whether the switch already carries the datapath's VNI
// for ls: then the binding is up.
func (s *Southbound) programmed(sw vtep.Switch, ls string, dp int) bool {
	l, ok := sw.LogicalSwitch(ls)
	return ok && l.VNI != nil && *l.VNI == dp
}

// setAttach records which datapath a VTEP logical switch is attached to and
// emits keys for everything that moves with it.
func (s *Southbound) setAttach(b *batch, ls string, dp int, attached bool) {
	old, had := s.attach[ls]
	if had == attached && old == dp {
		return
	}
	if had {
		s.emitAttached(b, ls, old)
		s.lsByDP[old] = slices.DeleteFunc(s.lsByDP[old], func(x string) bool { return x == ls })
		if len(s.lsByDP[old]) == 0 {
			delete(s.lsByDP, old)
		}
		delete(s.attach, ls)
	}
	b.keys = append(b.keys, vtep.LogicalSwitchKey(ls))
	if attached {
		s.attach[ls] = dp
		s.lsByDP[dp] = append(s.lsByDP[dp], ls)
		s.emitAttached(b, ls, dp)
		for mac, m := range s.macIdx[dp] {
			if len(m) > 1 {
				s.warnDuplicate(mac, m)
			}
		}
		s.log.Info("logical switch attached", "ls", ls, "vni", dp)
	}
}

// warnDuplicate logs, once per loser, that a MAC is on several ports of one
// attached datapath; the lowest-ordered contributor wins.
func (s *Southbound) warnDuplicate(mac string, m map[string]string) {
	first := slices.Min(slices.Collect(maps.Keys(m)))
	for id := range m {
		if id != first {
			s.logOnce(slog.LevelWarn, "dupmac:"+id+mac, fmt.Sprintf("MAC address (%s) has already been known to be on logical port (%s) in the same logical datapath, so just ignore this logical port (%s)", mac, s.contrib[first].port, s.contrib[id].port))
		}
	}
}
