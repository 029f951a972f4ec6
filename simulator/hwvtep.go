package simulator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	vtepdb "github.com/vtepgw/vtepgw/internal/vtepfull"
)

// errNoSwitch means the Physical_Switch row does not exist (yet).
var errNoSwitch = errors.New("physical switch not found in hardware_vtep")

// vtepSnap is one consistent read of the hardware_vtep cache.
type vtepSnap struct {
	ps      *vtepdb.PhysicalSwitch
	ports   map[string]*vtepdb.PhysicalPort // by uuid
	ls      map[string]*vtepdb.LogicalSwitch
	pl      map[string]*vtepdb.PhysicalLocator
	pls     map[string]*vtepdb.PhysicalLocatorSet
	tun     map[string]*vtepdb.Tunnel
	stats   map[string]*vtepdb.LogicalBindingStats
	umr     []*vtepdb.UcastMacsRemote
	mmr     []*vtepdb.McastMacsRemote
	uml     []*vtepdb.UcastMacsLocal
	mml     []*vtepdb.McastMacsLocal
	lsNames map[string]*vtepdb.LogicalSwitch
}

func byUUID[T any](in []*T, id func(*T) string) map[string]*T {
	m := make(map[string]*T, len(in))
	for _, r := range in {
		m[id(r)] = r
	}
	return m
}

// rows returns the cached rows of a table without copying them (libovsdb's
// List deep-copies every row through JSON, which dominated a pass). The
// rows are shared with the cache and must be treated as read-only; the
// cache copies a row before it applies an update to it.
func rows[T any](c client.Client, table string) ([]*T, error) {
	cc := c.Cache() // nil once the client is closed
	if cc == nil {
		return nil, fmt.Errorf("table %s: the client has no cache (closed)", table)
	}
	tc := cc.Table(table)
	if tc == nil {
		return nil, fmt.Errorf("table %s is not cached", table)
	}
	m := tc.RowsShallow()
	out := make([]*T, 0, len(m))
	for _, r := range m {
		t, ok := r.(*T)
		if !ok {
			return nil, fmt.Errorf("table %s: unexpected row type %T", table, r)
		}
		out = append(out, t)
	}
	return out, nil
}

func listVtep(ctx context.Context, c client.Client, name string) (*vtepSnap, error) {
	s := &vtepSnap{}
	var err error
	pss, err1 := rows[vtepdb.PhysicalSwitch](c, "Physical_Switch")
	pps, err2 := rows[vtepdb.PhysicalPort](c, "Physical_Port")
	lss, err3 := rows[vtepdb.LogicalSwitch](c, "Logical_Switch")
	pls, err4 := rows[vtepdb.PhysicalLocator](c, "Physical_Locator")
	plss, err5 := rows[vtepdb.PhysicalLocatorSet](c, "Physical_Locator_Set")
	tuns, err6 := rows[vtepdb.Tunnel](c, "Tunnel")
	sts, err7 := rows[vtepdb.LogicalBindingStats](c, "Logical_Binding_Stats")
	s.umr, err = rows[vtepdb.UcastMacsRemote](c, "Ucast_Macs_Remote")
	var err8, err9, err10 error
	s.mmr, err8 = rows[vtepdb.McastMacsRemote](c, "Mcast_Macs_Remote")
	s.uml, err9 = rows[vtepdb.UcastMacsLocal](c, "Ucast_Macs_Local")
	s.mml, err10 = rows[vtepdb.McastMacsLocal](c, "Mcast_Macs_Local")
	if err := errors.Join(err, err1, err2, err3, err4, err5, err6, err7, err8, err9, err10); err != nil {
		return nil, fmt.Errorf("read hardware_vtep cache: %w", err)
	}
	for _, ps := range pss {
		if ps.Name == name {
			s.ps = ps
		}
	}
	if s.ps == nil {
		return nil, fmt.Errorf("%q: %w", name, errNoSwitch)
	}
	s.ports = byUUID(pps, func(p *vtepdb.PhysicalPort) string { return p.UUID })
	s.ls = byUUID(lss, func(p *vtepdb.LogicalSwitch) string { return p.UUID })
	s.lsNames = byUUID(lss, func(p *vtepdb.LogicalSwitch) string { return p.Name })
	s.pl = byUUID(pls, func(p *vtepdb.PhysicalLocator) string { return p.UUID })
	s.pls = byUUID(plss, func(p *vtepdb.PhysicalLocatorSet) string { return p.UUID })
	s.tun = byUUID(tuns, func(p *vtepdb.Tunnel) string { return p.UUID })
	s.stats = byUUID(sts, func(p *vtepdb.LogicalBindingStats) string { return p.UUID })
	return s, nil
}

// config derives the desired switch Config from the snapshot. ovsPorts are
// the ports that exist on the OVS bridge (OVS is authoritative for ports).
func (s *vtepSnap) config(ovsPorts []string) *Config {
	cfg := &Config{
		Switch:    s.ps.Name,
		TunnelIPs: slices.Clone(s.ps.TunnelIPs),
		Bindings:  map[PortVLAN]string{},
		LS:        map[string]*LSConfig{},
		BFD:       map[string]BFDConfig{},
	}
	sort.Strings(cfg.TunnelIPs)
	exists := map[string]bool{}
	for _, p := range ovsPorts {
		exists[p] = true
	}
	for _, pu := range s.ps.Ports {
		pp := s.ports[pu]
		if pp == nil || !exists[pp.Name] {
			continue
		}
		for vlan, lsu := range pp.VLANBindings {
			ls := s.ls[lsu]
			if ls == nil {
				continue
			}
			cfg.Bindings[PortVLAN{pp.Name, vlan}] = ls.Name
			if cfg.LS[ls.Name] == nil {
				lc := &LSConfig{Name: ls.Name, VNI: ls.TunnelKey, Ucast: map[string]string{}, Mcast: map[string][]string{}}
				lc.SourceNode = ls.ReplicationMode != nil && *ls.ReplicationMode == vtepdb.LogicalSwitchReplicationModeSourceNode
				cfg.LS[ls.Name] = lc
			}
		}
	}
	lsByUUID := map[string]*LSConfig{}
	for u, ls := range s.ls {
		if lc := cfg.LS[ls.Name]; lc != nil {
			lsByUUID[u] = lc
		}
	}
	for _, r := range s.umr {
		lc, pl := lsByUUID[r.LogicalSwitch], s.pl[r.Locator]
		if lc == nil || pl == nil {
			continue
		}
		lc.Ucast[normMAC(r.MAC)] = pl.DstIP
	}
	for _, r := range s.mmr {
		lc, set := lsByUUID[r.LogicalSwitch], s.pls[r.LocatorSet]
		if lc == nil || set == nil {
			continue
		}
		mac := normMAC(r.MAC)
		for _, lu := range set.Locators {
			if pl := s.pl[lu]; pl != nil && !slices.Contains(lc.Mcast[mac], pl.DstIP) {
				lc.Mcast[mac] = append(lc.Mcast[mac], pl.DstIP)
			}
		}
		sort.Strings(lc.Mcast[mac])
	}
	for _, tu := range s.ps.Tunnels {
		t := s.tun[tu]
		if t == nil {
			continue
		}
		if pl := s.pl[t.Remote]; pl != nil {
			cfg.BFD[pl.DstIP] = BFDConfig{Params: t.BFDParams, Remote: t.BFDConfigRemote}
		}
	}
	return cfg
}

// vtepWriter accumulates the operations of one hardware_vtep transaction.
type vtepWriter struct {
	c      client.Client
	s      *vtepSnap
	ops    []ovsdb.Operation
	named  int
	newPL  map[string]string // dst_ip → named uuid
	newPLS map[string]string
	err    error
}

func (w *vtepWriter) add(ops []ovsdb.Operation, err error) {
	if err != nil {
		w.err = errors.Join(w.err, err)
		return
	}
	w.ops = append(w.ops, ops...)
}

func (w *vtepWriter) name() string {
	w.named++
	return "sim" + strconv.Itoa(w.named)
}

// locator returns the uuid (or named uuid) of the vxlan locator for ip.
func (w *vtepWriter) locator(ip string) string {
	for u, pl := range w.s.pl {
		if pl.DstIP == ip && pl.TunnelKey == nil && pl.EncapsulationType == vtepdb.PhysicalLocatorEncapsulationTypeVxlanOverIpv4 {
			return u
		}
	}
	if u, ok := w.newPL[ip]; ok {
		return u
	}
	pl := &vtepdb.PhysicalLocator{UUID: w.name(), DstIP: ip, EncapsulationType: vtepdb.PhysicalLocatorEncapsulationTypeVxlanOverIpv4}
	w.add(w.c.Create(pl))
	w.newPL[ip] = pl.UUID
	return pl.UUID
}

// locatorSet returns a locator set for exactly these ips.
func (w *vtepWriter) locatorSet(ips []string) string {
	key := fmt.Sprint(ips)
	if u, ok := w.newPLS[key]; ok {
		return u
	}
	for u, set := range w.s.pls {
		if slices.Equal(w.s.ips(set), ips) {
			return u
		}
	}
	set := &vtepdb.PhysicalLocatorSet{UUID: w.name()}
	for _, ip := range ips {
		set.Locators = append(set.Locators, w.locator(ip))
	}
	w.add(w.c.Create(set))
	w.newPLS[key] = set.UUID
	return set.UUID
}

func (s *vtepSnap) ips(set *vtepdb.PhysicalLocatorSet) []string {
	var ips []string
	for _, u := range set.Locators {
		if pl := s.pl[u]; pl != nil {
			ips = append(ips, pl.DstIP)
		}
	}
	sort.Strings(ips)
	return ips
}

func (w *vtepWriter) mutatePS(field any, mut ovsdb.Mutator, uuids ...string) {
	ps := &vtepdb.PhysicalSwitch{UUID: w.s.ps.UUID}
	var f any
	switch field {
	case "ports":
		f = &ps.Ports
	case "tunnels":
		f = &ps.Tunnels
	}
	w.add(w.c.Where(ps).Mutate(ps, model.Mutation{Field: f, Mutator: mut, Value: uuids}))
}

const ownDescription = "vtepsim: simulated hardware VTEP on Open vSwitch"

// publish writes the switch Status into hardware_vtep as one transaction
// and returns the number of operations.
func publish(ctx context.Context, c client.Client, s *vtepSnap, cfg *Config, st *Status) (int, error) {
	w := &vtepWriter{c: c, s: s, newPL: map[string]string{}, newPLS: map[string]string{}}
	ps := s.ps

	// Physical switch: description and faults.
	faults := slices.Clone(st.SwitchFaults)
	sort.Strings(faults)
	cur := slices.Clone(ps.SwitchFaultStatus)
	sort.Strings(cur)
	if !slices.Equal(faults, cur) || ps.Description == "" {
		np := &vtepdb.PhysicalSwitch{UUID: ps.UUID, SwitchFaultStatus: faults, Description: ps.Description}
		if np.Description == "" {
			np.Description = ownDescription
		}
		w.add(c.Where(np).Update(np, &np.SwitchFaultStatus, &np.Description))
	}

	// Physical ports: OVS is authoritative.
	want := map[string]bool{}
	for _, p := range st.Ports {
		want[p] = true
	}
	have := map[string]*vtepdb.PhysicalPort{}
	var drop []string
	for _, pu := range ps.Ports {
		pp := s.ports[pu]
		if pp == nil {
			continue
		}
		if !want[pp.Name] || have[pp.Name] != nil {
			drop = append(drop, pu)
			continue
		}
		have[pp.Name] = pp
	}
	if len(drop) > 0 {
		w.mutatePS("ports", ovsdb.MutateOperationDelete, drop...)
	}
	var addPorts []string
	for _, name := range st.Ports {
		pp := have[name]
		if pp == nil {
			np := &vtepdb.PhysicalPort{UUID: w.name(), Name: name, PortFaultStatus: st.PortFaults[name]}
			w.add(c.Create(np))
			addPorts = append(addPorts, np.UUID)
			continue
		}
		pf := slices.Clone(st.PortFaults[name])
		sort.Strings(pf)
		cf := slices.Clone(pp.PortFaultStatus)
		sort.Strings(cf)
		if !slices.Equal(pf, cf) {
			np := &vtepdb.PhysicalPort{UUID: pp.UUID, PortFaultStatus: pf}
			w.add(c.Where(np).Update(np, &np.PortFaultStatus))
		}
		// vlan_stats: one Logical_Binding_Stats per bound VLAN.
		stats := map[int]string{}
		changed := false
		for vlan := range pp.VLANBindings {
			k := PortVLAN{name, vlan}
			if _, bound := cfg.Bindings[k]; !bound {
				continue
			}
			cn := st.Stats[k]
			if su, ok := pp.VLANStats[vlan]; ok && s.stats[su] != nil {
				stats[vlan] = su
				old := s.stats[su]
				if old.PacketsFromLocal != cn.PacketsFromLocal || old.BytesFromLocal != cn.BytesFromLocal ||
					old.PacketsToLocal != cn.PacketsToLocal || old.BytesToLocal != cn.BytesToLocal {
					ns := &vtepdb.LogicalBindingStats{UUID: su, PacketsFromLocal: cn.PacketsFromLocal, BytesFromLocal: cn.BytesFromLocal,
						PacketsToLocal: cn.PacketsToLocal, BytesToLocal: cn.BytesToLocal}
					w.add(c.Where(ns).Update(ns, &ns.PacketsFromLocal, &ns.BytesFromLocal, &ns.PacketsToLocal, &ns.BytesToLocal))
				}
				continue
			}
			// Written by hand: libovsdb drops an all-default row, and the
			// server then rejects the insert for lacking "row".
			name := w.name()
			w.ops = append(w.ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "Logical_Binding_Stats", UUIDName: name,
				Row: ovsdb.Row{"packets_from_local": cn.PacketsFromLocal, "bytes_from_local": cn.BytesFromLocal,
					"packets_to_local": cn.PacketsToLocal, "bytes_to_local": cn.BytesToLocal}})
			stats[vlan] = name
			changed = true
		}
		if len(stats) != len(pp.VLANStats) {
			changed = true
		}
		if changed {
			np := &vtepdb.PhysicalPort{UUID: pp.UUID, VLANStats: stats}
			w.add(c.Where(np).Update(np, &np.VLANStats))
		}
	}
	if len(addPorts) > 0 {
		w.mutatePS("ports", ovsdb.MutateOperationInsert, addPorts...)
	}

	own := cfg.TunnelIPs
	if len(own) > 0 {
		// Tunnels: one per realised remote IP, with BFD status.
		local := w.locator(own[0])
		haveTun := map[string]*vtepdb.Tunnel{}
		var dropTun []string
		for _, tu := range ps.Tunnels {
			t := s.tun[tu]
			if t == nil {
				continue
			}
			rp, lp := s.pl[t.Remote], s.pl[t.Local]
			if rp == nil || lp == nil || lp.DstIP != own[0] || st.BFD[rp.DstIP] == nil || haveTun[rp.DstIP] != nil {
				dropTun = append(dropTun, tu)
				continue
			}
			haveTun[rp.DstIP] = t
		}
		if len(dropTun) > 0 {
			w.mutatePS("tunnels", ovsdb.MutateOperationDelete, dropTun...)
		}
		var addTun []string
		for _, ip := range sortedKeys(st.BFD) {
			bl := map[string]string{"bfd_dst_ip": bfdLocalIP, "bfd_dst_mac": bfdDefaultMAC}
			if t := haveTun[ip]; t != nil {
				if !maps.Equal(t.BFDStatus, st.BFD[ip]) || !maps.Equal(t.BFDConfigLocal, bl) {
					nt := &vtepdb.Tunnel{UUID: t.UUID, BFDStatus: st.BFD[ip], BFDConfigLocal: bl}
					w.add(c.Where(nt).Update(nt, &nt.BFDStatus, &nt.BFDConfigLocal))
				}
				continue
			}
			nt := &vtepdb.Tunnel{UUID: w.name(), Local: local, Remote: w.locator(ip), BFDStatus: st.BFD[ip], BFDConfigLocal: bl}
			w.add(c.Create(nt))
			addTun = append(addTun, nt.UUID)
		}
		if len(addTun) > 0 {
			w.mutatePS("tunnels", ovsdb.MutateOperationInsert, addTun...)
		}

		w.umlOps(own, local, st.Learned)
		ownIP := map[string]bool{}
		for _, ip := range own {
			ownIP[ip] = true
		}
		lsName := func(u string) string {
			if ls := s.ls[u]; ls != nil {
				return ls.Name
			}
			return ""
		}

		// Mcast_Macs_Local: unknown-dst → our tunnel IPs for every
		// realised LS, plus snooped groups → own[0].
		type mm struct{ ls, mac, ip string }
		wantMML := map[mm][]string{}
		for ls := range cfg.LS {
			if st.realized(ls) {
				wantMML[mm{ls, unknownDst, ""}] = own
			}
		}
		for ls, gs := range st.Groups {
			for _, g := range gs {
				wantMML[mm{ls, g.MAC, g.Group}] = own[:1]
			}
		}
		haveMML := map[mm]bool{}
		for _, r := range s.mml {
			set := s.pls[r.LocatorSet]
			if set == nil {
				continue
			}
			ips := s.ips(set)
			mine := len(ips) > 0
			for _, ip := range ips {
				mine = mine && ownIP[ip]
			}
			if !mine {
				continue
			}
			k := mm{lsName(r.LogicalSwitch), normMAC(r.MAC), r.Ipaddr}
			if wi, ok := wantMML[k]; !ok || haveMML[k] || !slices.Equal(wi, ips) {
				d := &vtepdb.McastMacsLocal{UUID: r.UUID}
				w.add(c.Where(d).Delete())
				continue
			}
			haveMML[k] = true
		}
		keys := make([]mm, 0, len(wantMML))
		for k := range wantMML {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i].ls+keys[i].mac+keys[i].ip < keys[j].ls+keys[j].mac+keys[j].ip
		})
		for _, k := range keys {
			if haveMML[k] || s.lsNames[k.ls] == nil {
				continue
			}
			r := &vtepdb.McastMacsLocal{UUID: w.name(), MAC: k.mac, Ipaddr: k.ip, LogicalSwitch: s.lsNames[k.ls].UUID,
				LocatorSet: w.locatorSet(wantMML[k])}
			w.add(c.Create(r))
		}
	}
	if w.err != nil {
		return 0, fmt.Errorf("build hardware_vtep ops: %w", w.err)
	}
	if len(w.ops) == 0 {
		return 0, nil
	}
	if err := transact(ctx, c, w.ops); err != nil {
		return 0, fmt.Errorf("hardware_vtep: %w", err)
	}
	return len(w.ops), nil
}

// umlOps syncs Ucast_Macs_Local with the learned MACs: locator = own[0].
// Rows whose locator is one of our tunnel IPs are ours.
func (w *vtepWriter) umlOps(own []string, local string, learned map[string][]Learned) {
	s, c := w.s, w.c
	ownIP := map[string]bool{}
	for _, ip := range own {
		ownIP[ip] = true
	}
	type lm struct{ ls, mac string }
	wantUML := map[lm]bool{}
	for ls, l := range learned {
		for _, e := range l {
			wantUML[lm{ls, e.MAC}] = true
		}
	}
	haveUML := map[lm]bool{}
	for _, r := range s.uml {
		pl := s.pl[r.Locator]
		if pl == nil || !ownIP[pl.DstIP] {
			continue
		}
		ls := s.ls[r.LogicalSwitch]
		name := ""
		if ls != nil {
			name = ls.Name
		}
		k := lm{name, r.MAC}
		if !wantUML[k] {
			k.mac = normMAC(r.MAC)
		}
		if !wantUML[k] || haveUML[k] || pl.DstIP != own[0] {
			d := &vtepdb.UcastMacsLocal{UUID: r.UUID}
			w.add(c.Where(d).Delete())
			continue
		}
		haveUML[k] = true
	}
	for _, ls := range sortedKeys(learned) {
		lsRow := s.lsNames[ls]
		if lsRow == nil {
			continue
		}
		for _, e := range learned[ls] {
			if haveUML[lm{ls, e.MAC}] {
				continue
			}
			r := &vtepdb.UcastMacsLocal{UUID: w.name(), MAC: e.MAC, LogicalSwitch: lsRow.UUID, Locator: local}
			w.add(c.Create(r))
		}
	}
}

// publishLearned writes only Ucast_Macs_Local (the learn-only pass).
func publishLearned(ctx context.Context, c client.Client, s *vtepSnap, own []string, learned map[string][]Learned) (int, error) {
	if len(own) == 0 {
		return 0, nil
	}
	w := &vtepWriter{c: c, s: s, newPL: map[string]string{}, newPLS: map[string]string{}}
	w.umlOps(own, w.locator(own[0]), learned)
	if w.err != nil {
		return 0, fmt.Errorf("build hardware_vtep ops: %w", w.err)
	}
	if len(w.ops) == 0 {
		return 0, nil
	}
	if err := transact(ctx, c, w.ops); err != nil {
		return 0, fmt.Errorf("hardware_vtep: %w", err)
	}
	return len(w.ops), nil
}

func transact(ctx context.Context, c client.Client, ops []ovsdb.Operation) error {
	res, err := c.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("transact %d ops: %w", len(ops), err)
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		var details []string
		for i, r := range res {
			if r.Error != "" {
				op := ""
				if i < len(ops) {
					op = ops[i].Op + " " + ops[i].Table
				}
				details = append(details, fmt.Sprintf("op %d (%s): %s: %s", i, op, r.Error, r.Details))
			}
		}
		return fmt.Errorf("transact %d ops: %w: %s", len(ops), err, strings.Join(details, "; "))
	}
	return nil
}
