package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	vtepdb "github.com/vtepgw/vtepgw/internal/vtepfull"
)

// This file is the switch API for faces other than hardware_vtep (gNMI,
// NETCONF). The simulated switch's single source of truth stays its
// hardware_vtep database: a Switch reads the switch's rows from its own
// monitor of that database and turns an Update into one hardware_vtep
// transaction. The simulator (Sim) then realises it exactly as if a
// hardware_vtep controller had written it (flows, tunnels, BFD), and its
// learned MACs, snooped groups and BFD status come back through the same
// monitor.

// Replication modes of a logical switch (Logical_Switch.replication_mode).
const (
	ReplicationSourceNode  = "source_node"
	ReplicationServiceNode = "service_node"
)

// UnknownDst is the pseudo-MAC of a logical switch's flood entry.
const UnknownDst = unknownDst

// Errors returned by Switch.Update.
var (
	// ErrReadOnly: the update changes what only the switch writes (its
	// name, tunnel IPs, set of ports, learned MACs).
	ErrReadOnly = errors.New("not writable through this API")
	// ErrInvalid: a value is malformed or inconsistent.
	ErrInvalid = errors.New("invalid switch state")
)

// SwitchState is one consistent view of a simulated switch.
type SwitchState struct {
	// Name is the physical switch name (read-only).
	Name string
	// TunnelIPs are the switch's VTEP addresses, sorted; the first is the
	// locator of learned MACs (read-only).
	TunnelIPs []string
	// Ports maps each physical port to its VLAN bindings (VLAN 0:
	// untagged) → logical switch name. The set of ports is read-only; the
	// bindings are the admin-owned part and writable.
	Ports map[string]map[int]string
	// LS are the logical switches by name.
	LS map[string]*LSState
	// BFD maps a remote tunnel IP to its BFD status (read-only).
	BFD map[string]map[string]string
	// SwitchFaults and PortFaults are the fault status (read-only).
	SwitchFaults []string
	PortFaults   map[string][]string
}

// LSState is one logical switch. VNI, Mode, Ucast and Mcast are written by
// the controller; Learned and LearnedMcast by the switch (read-only).
type LSState struct {
	Name string
	// VNI is Logical_Switch.tunnel_key (nil: unset).
	VNI *int
	// Mode is ReplicationSourceNode, ReplicationServiceNode or "" (unset:
	// service node).
	Mode string
	// Ucast are the remote unicast MACs by MAC (lower-case, colons).
	Ucast map[string]RemoteMAC
	// Mcast are the remote multicast MACs or UnknownDst (the flood list).
	Mcast map[string]RemoteMcast
	// Learned are the MACs learned by the switch (Ucast_Macs_Local).
	Learned map[string]RemoteMAC
	// LearnedMcast are the switch's Mcast_Macs_Local entries (unknown-dst
	// and snooped groups).
	LearnedMcast map[string]RemoteMcast
}

// RemoteMAC is a unicast MAC entry: the tunnel IP it sits behind and an
// optional IP (ARP suppression).
type RemoteMAC struct{ TunnelIP, IP string }

// RemoteMcast is a multicast entry; TunnelIPs are sorted.
type RemoteMcast struct {
	IP        string
	TunnelIPs []string
}

// NewLSState returns an empty logical switch.
func NewLSState(name string) *LSState {
	return &LSState{Name: name, Ucast: map[string]RemoteMAC{}, Mcast: map[string]RemoteMcast{},
		Learned: map[string]RemoteMAC{}, LearnedMcast: map[string]RemoteMcast{}}
}

// Clone returns a deep copy.
func (st *SwitchState) Clone() *SwitchState {
	c := &SwitchState{Name: st.Name, TunnelIPs: slices.Clone(st.TunnelIPs), Ports: map[string]map[int]string{},
		LS: map[string]*LSState{}, BFD: map[string]map[string]string{}, SwitchFaults: slices.Clone(st.SwitchFaults),
		PortFaults: map[string][]string{}}
	for p, b := range st.Ports {
		c.Ports[p] = maps.Clone(b)
		if c.Ports[p] == nil {
			c.Ports[p] = map[int]string{}
		}
	}
	for n, l := range st.LS {
		c.LS[n] = l.Clone()
	}
	for ip, b := range st.BFD {
		c.BFD[ip] = maps.Clone(b)
	}
	for p, f := range st.PortFaults {
		c.PortFaults[p] = slices.Clone(f)
	}
	return c
}

// Clone returns a deep copy.
func (l *LSState) Clone() *LSState {
	c := NewLSState(l.Name)
	if l.VNI != nil {
		v := *l.VNI
		c.VNI = &v
	}
	c.Mode = l.Mode
	maps.Copy(c.Ucast, l.Ucast)
	maps.Copy(c.Learned, l.Learned)
	for k, m := range l.Mcast {
		c.Mcast[k] = RemoteMcast{IP: m.IP, TunnelIPs: slices.Clone(m.TunnelIPs)}
	}
	for k, m := range l.LearnedMcast {
		c.LearnedMcast[k] = RemoteMcast{IP: m.IP, TunnelIPs: slices.Clone(m.TunnelIPs)}
	}
	return c
}

func mcastEq(a, b RemoteMcast) bool { return a.IP == b.IP && slices.Equal(a.TunnelIPs, b.TunnelIPs) }

// SwitchOptions configure OpenSwitch.
type SwitchOptions struct {
	// DB is the OVSDB remote serving hardware_vtep (as Options.DB).
	DB string
	// Switch is the physical switch name.
	Switch string
	// Log receives the client's logs.
	Log *slog.Logger
}

// Switch reads and writes one simulated switch through its hardware_vtep
// database. It is safe for concurrent use.
type Switch struct {
	name string
	c    client.Client
	log  *slog.Logger

	upd sync.Mutex // serialises Updates

	wmu      sync.Mutex // guards watchers, nextW; held while notifying
	watchers map[int]func()
	nextW    int
	kick     chan struct{}
	done     chan struct{}
	closeMu  sync.Once
}

// OpenSwitch connects to the hardware_vtep database and monitors it. The
// Physical_Switch row need not exist yet (Read fails until it does).
func OpenSwitch(ctx context.Context, o SwitchOptions) (*Switch, error) {
	if o.Switch == "" {
		return nil, errors.New("physical switch name is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.DB == "" {
		opt := Options{Switch: o.Switch}
		if err := opt.defaults(); err != nil {
			return nil, err
		}
		o.DB = opt.DB
	}
	m, err := vtepdb.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("hardware_vtep model: %w", err)
	}
	logger := logr.FromSlogHandler(o.Log.With("db", "hardware_vtep").Handler()).V(2)
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime = 0
	bo.MaxInterval = 2 * time.Second
	c, err := client.NewOVSDBClient(m, client.WithEndpoint(o.DB), client.WithLogger(&logger),
		client.WithReconnect(5*time.Second, bo))
	if err != nil {
		return nil, fmt.Errorf("hardware_vtep client: %w", err)
	}
	s := &Switch{name: o.Switch, c: c, log: o.Log, watchers: map[int]func(){}, kick: make(chan struct{}, 1),
		done: make(chan struct{})}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Connect(cctx); err != nil {
		return nil, fmt.Errorf("connect hardware_vtep at %s: %w", o.DB, err)
	}
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(string, model.Model) { s.wake() },
		DeleteFunc: func(string, model.Model) { s.wake() },
		UpdateFunc: func(string, model.Model, model.Model) { s.wake() },
	})
	if _, err := c.Monitor(cctx, c.NewMonitor(monitorOpts(vtepTables())...)); err != nil {
		c.Close()
		return nil, fmt.Errorf("monitor hardware_vtep: %w", err)
	}
	go s.notifyLoop()
	return s, nil
}

func vtepTables() []model.Model {
	return []model.Model{
		&vtepdb.Global{}, &vtepdb.PhysicalSwitch{}, &vtepdb.PhysicalPort{}, &vtepdb.LogicalSwitch{},
		&vtepdb.PhysicalLocator{}, &vtepdb.PhysicalLocatorSet{}, &vtepdb.Tunnel{}, &vtepdb.LogicalBindingStats{},
		&vtepdb.UcastMacsLocal{}, &vtepdb.UcastMacsRemote{}, &vtepdb.McastMacsLocal{}, &vtepdb.McastMacsRemote{}}
}

// Close disconnects; watchers are no longer called.
func (s *Switch) Close() {
	s.closeMu.Do(func() {
		close(s.done)
		s.c.Close()
	})
}

func (s *Switch) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// notifyLoop calls the watchers once per burst of cache events.
func (s *Switch) notifyLoop() {
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		}
		s.notify()
	}
}

func (s *Switch) notify() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(s.watchers)) {
		s.watchers[id]()
	}
}

// Watch registers fn, called (never concurrently with itself or other
// watchers) after the switch's database changed; a burst of changes may
// give one call. fn re-reads what it needs with Read. The returned func
// unregisters it.
func (s *Switch) Watch(fn func()) (stop func()) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	id := s.nextW
	s.nextW++
	s.watchers[id] = fn
	return func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		delete(s.watchers, id)
	}
}

// Read returns a snapshot of the switch (the caller owns it).
func (s *Switch) Read() (*SwitchState, error) {
	st, _, err := s.read()
	return st, err
}

// rowRefs are the row uuids behind a SwitchState, for Update.
type rowRefs struct {
	snap  *vtepSnap
	ls    map[string]string              // LS name → uuid
	ports map[string]string              // port name → uuid
	umr   map[string]map[string][]string // LS → MAC → Ucast_Macs_Remote uuids
	mmr   map[string]map[string][]string
	uml   map[string][]string // LS → Ucast_Macs_Local uuids
	mml   map[string][]string
}

func (s *Switch) read() (*SwitchState, *rowRefs, error) {
	snap, err := listVtep(context.Background(), s.c, s.name)
	if err != nil {
		return nil, nil, err
	}
	ps := snap.ps
	st := &SwitchState{Name: ps.Name, TunnelIPs: slices.Clone(ps.TunnelIPs), Ports: map[string]map[int]string{},
		LS: map[string]*LSState{}, BFD: map[string]map[string]string{}, SwitchFaults: slices.Clone(ps.SwitchFaultStatus),
		PortFaults: map[string][]string{}}
	sort.Strings(st.TunnelIPs)
	sort.Strings(st.SwitchFaults)
	refs := &rowRefs{snap: snap, ls: map[string]string{}, ports: map[string]string{},
		umr: map[string]map[string][]string{}, mmr: map[string]map[string][]string{},
		uml: map[string][]string{}, mml: map[string][]string{}}
	for u, ls := range snap.ls {
		l := NewLSState(ls.Name)
		if ls.TunnelKey != nil {
			v := *ls.TunnelKey
			l.VNI = &v
		}
		if ls.ReplicationMode != nil {
			l.Mode = *ls.ReplicationMode
		}
		st.LS[ls.Name] = l
		refs.ls[ls.Name] = u
	}
	for _, pu := range ps.Ports {
		pp := snap.ports[pu]
		if pp == nil {
			continue
		}
		b := map[int]string{}
		for vlan, lsu := range pp.VLANBindings {
			if ls := snap.ls[lsu]; ls != nil {
				b[vlan] = ls.Name
			}
		}
		st.Ports[pp.Name] = b
		refs.ports[pp.Name] = pu
		if len(pp.PortFaultStatus) > 0 {
			f := slices.Clone(pp.PortFaultStatus)
			sort.Strings(f)
			st.PortFaults[pp.Name] = f
		}
	}
	lsOf := func(u string) *LSState {
		if ls := snap.ls[u]; ls != nil {
			return st.LS[ls.Name]
		}
		return nil
	}
	add := func(m map[string]map[string][]string, ls, mac, u string) {
		if m[ls] == nil {
			m[ls] = map[string][]string{}
		}
		m[ls][mac] = append(m[ls][mac], u)
	}
	for _, r := range snap.umr {
		l, pl := lsOf(r.LogicalSwitch), snap.pl[r.Locator]
		if l == nil {
			continue
		}
		mac := normMAC(r.MAC)
		add(refs.umr, l.Name, mac, r.UUID)
		if pl != nil {
			l.Ucast[mac] = RemoteMAC{TunnelIP: pl.DstIP, IP: r.Ipaddr}
		}
	}
	for _, r := range snap.mmr {
		l, set := lsOf(r.LogicalSwitch), snap.pls[r.LocatorSet]
		if l == nil {
			continue
		}
		mac := normMAC(r.MAC)
		add(refs.mmr, l.Name, mac, r.UUID)
		if set != nil {
			l.Mcast[mac] = RemoteMcast{IP: r.Ipaddr, TunnelIPs: snap.ips(set)}
		}
	}
	own := map[string]bool{}
	for _, ip := range st.TunnelIPs {
		own[ip] = true
	}
	// Local rows: only those on this switch's locators are its own (other
	// switches may share the database).
	for _, r := range snap.uml {
		l, pl := lsOf(r.LogicalSwitch), snap.pl[r.Locator]
		if l == nil {
			continue
		}
		refs.uml[l.Name] = append(refs.uml[l.Name], r.UUID)
		if pl != nil && own[pl.DstIP] {
			l.Learned[normMAC(r.MAC)] = RemoteMAC{TunnelIP: pl.DstIP, IP: r.Ipaddr}
		}
	}
	for _, r := range snap.mml {
		l, set := lsOf(r.LogicalSwitch), snap.pls[r.LocatorSet]
		if l == nil {
			continue
		}
		refs.mml[l.Name] = append(refs.mml[l.Name], r.UUID)
		if set == nil {
			continue
		}
		ips := snap.ips(set)
		mine := len(ips) > 0
		for _, ip := range ips {
			mine = mine && own[ip]
		}
		if mine {
			l.LearnedMcast[normMAC(r.MAC)] = RemoteMcast{IP: r.Ipaddr, TunnelIPs: ips}
		}
	}
	for _, tu := range ps.Tunnels {
		if t := snap.tun[tu]; t != nil {
			if pl := snap.pl[t.Remote]; pl != nil {
				st.BFD[pl.DstIP] = maps.Clone(t.BFDStatus)
			}
		}
	}
	return st, refs, nil
}

// Update calls f with a snapshot of the switch and writes what f changed
// in the writable parts (bindings; logical switches with their VNI,
// replication mode, remote unicast and multicast MACs) as one
// hardware_vtep transaction: all of it or nothing. It returns once the
// change is visible to Read. Changes to read-only parts fail with
// ErrReadOnly (faults and BFD status are ignored), malformed values with
// ErrInvalid. Updates through one Switch are serialised; writers outside
// it (a hardware_vtep controller) are not locked out.
func (s *Switch) Update(ctx context.Context, f func(st *SwitchState) error) error {
	s.upd.Lock()
	defer s.upd.Unlock()
	cur, refs, err := s.read()
	if err != nil {
		return err
	}
	want := cur.Clone()
	if err := f(want); err != nil {
		return err
	}
	if err := normalize(want); err != nil {
		return err
	}
	if err := checkReadOnly(cur, want); err != nil {
		return err
	}
	ops, err := s.diffOps(cur, want, refs)
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	if err := transact(ctx, s.c, ops); err != nil {
		return fmt.Errorf("hardware_vtep: %w", err)
	}
	// Wait for the monitor to show the write.
	t0 := time.Now()
	for {
		got, _, err := s.read()
		if err == nil && writableEqual(got, want) {
			return nil
		}
		if time.Since(t0) > 5*time.Second {
			return errors.New("hardware_vtep: written, but the change did not show in the monitor within 5 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func checkMAC(m string) (string, error) {
	if m == UnknownDst {
		return m, nil
	}
	hw, err := net.ParseMAC(m)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("MAC %q: %w", m, ErrInvalid)
	}
	return hw.String(), nil
}

func checkIPAddr(ip string, optional bool) (string, error) {
	if ip == "" && optional {
		return "", nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("IP %q: %w", ip, ErrInvalid)
	}
	return a.String(), nil
}

// normalize canonicalises MACs and IPs of the writable parts and checks
// them.
func normalize(st *SwitchState) error {
	for name, l := range st.LS {
		if l == nil || l.Name != name || name == "" {
			return fmt.Errorf("logical switch %q: name mismatch: %w", name, ErrInvalid)
		}
		if l.VNI != nil && (*l.VNI < 1 || *l.VNI > 1<<24-1) {
			return fmt.Errorf("logical switch %s: VNI %d out of range 1..16777215: %w", name, *l.VNI, ErrInvalid)
		}
		switch l.Mode {
		case "", ReplicationSourceNode, ReplicationServiceNode:
		default:
			return fmt.Errorf("logical switch %s: replication mode %q: %w", name, l.Mode, ErrInvalid)
		}
		uc := make(map[string]RemoteMAC, len(l.Ucast))
		for m, r := range l.Ucast {
			mac, err := checkMAC(m)
			if err != nil || mac == UnknownDst {
				return fmt.Errorf("logical switch %s: unicast MAC %q: %w", name, m, ErrInvalid)
			}
			if r.TunnelIP, err = checkIPAddr(r.TunnelIP, false); err != nil {
				return fmt.Errorf("logical switch %s MAC %s: %w", name, m, err)
			}
			if r.IP, err = checkIPAddr(r.IP, true); err != nil {
				return fmt.Errorf("logical switch %s MAC %s: %w", name, m, err)
			}
			uc[mac] = r
		}
		l.Ucast = uc
		mc := make(map[string]RemoteMcast, len(l.Mcast))
		for m, r := range l.Mcast {
			mac, err := checkMAC(m)
			if err != nil {
				return fmt.Errorf("logical switch %s: %w", name, err)
			}
			if len(r.TunnelIPs) == 0 {
				return fmt.Errorf("logical switch %s MAC %s: no tunnel IPs: %w", name, m, ErrInvalid)
			}
			var ips []string
			for _, ip := range r.TunnelIPs {
				c, err := checkIPAddr(ip, false)
				if err != nil {
					return fmt.Errorf("logical switch %s MAC %s: %w", name, m, err)
				}
				if !slices.Contains(ips, c) {
					ips = append(ips, c)
				}
			}
			sort.Strings(ips)
			if r.IP, err = checkIPAddr(r.IP, true); err != nil {
				return fmt.Errorf("logical switch %s MAC %s: %w", name, m, err)
			}
			mc[mac] = RemoteMcast{IP: r.IP, TunnelIPs: ips}
		}
		l.Mcast = mc
	}
	for p, b := range st.Ports {
		for vlan, ls := range b {
			if vlan < 0 || vlan > 4095 {
				return fmt.Errorf("port %s: VLAN %d out of range 0..4095: %w", p, vlan, ErrInvalid)
			}
			if st.LS[ls] == nil {
				return fmt.Errorf("port %s VLAN %d: no logical switch %q: %w", p, vlan, ls, ErrInvalid)
			}
		}
	}
	return nil
}

func checkReadOnly(cur, want *SwitchState) error {
	if want.Name != cur.Name || !slices.Equal(want.TunnelIPs, cur.TunnelIPs) {
		return fmt.Errorf("switch name or tunnel IPs: %w", ErrReadOnly)
	}
	if len(want.Ports) != len(cur.Ports) {
		return fmt.Errorf("set of ports: %w", ErrReadOnly)
	}
	for p := range want.Ports {
		if _, ok := cur.Ports[p]; !ok {
			return fmt.Errorf("port %s does not exist: %w", p, ErrReadOnly)
		}
	}
	for n, l := range want.LS {
		c := cur.LS[n]
		if c == nil {
			if len(l.Learned) > 0 || len(l.LearnedMcast) > 0 {
				return fmt.Errorf("logical switch %s: learned MACs: %w", n, ErrReadOnly)
			}
			continue
		}
		if !maps.Equal(c.Learned, l.Learned) || !maps.EqualFunc(c.LearnedMcast, l.LearnedMcast, mcastEq) {
			return fmt.Errorf("logical switch %s: learned MACs: %w", n, ErrReadOnly)
		}
	}
	return nil
}

// writableEqual compares the writable parts.
func writableEqual(a, b *SwitchState) bool {
	if len(a.LS) != len(b.LS) || len(a.Ports) != len(b.Ports) {
		return false
	}
	for p, ab := range a.Ports {
		if !maps.Equal(ab, b.Ports[p]) {
			return false
		}
	}
	for n, al := range a.LS {
		bl := b.LS[n]
		if bl == nil || (al.VNI == nil) != (bl.VNI == nil) || (al.VNI != nil && *al.VNI != *bl.VNI) || al.Mode != bl.Mode ||
			!maps.Equal(al.Ucast, bl.Ucast) || !maps.EqualFunc(al.Mcast, bl.Mcast, mcastEq) {
			return false
		}
	}
	return true
}

// diffOps builds the hardware_vtep operations turning cur into want.
func (s *Switch) diffOps(cur, want *SwitchState, refs *rowRefs) ([]ovsdb.Operation, error) {
	c := s.c
	w := &vtepWriter{c: c, s: refs.snap, newPL: map[string]string{}, newPLS: map[string]string{}}
	lsUUID := maps.Clone(refs.ls)
	del := func(table string, uuids []string) {
		for _, u := range uuids {
			w.ops = append(w.ops, ovsdb.Operation{Op: ovsdb.OperationDelete, Table: table,
				Where: []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: u}}}})
		}
	}
	// Logical switches: created, changed.
	for _, n := range sortedKeys(want.LS) {
		l, old := want.LS[n], cur.LS[n]
		if old == nil {
			nl := &vtepdb.LogicalSwitch{UUID: w.name(), Name: n, TunnelKey: l.VNI}
			if l.Mode != "" {
				m := l.Mode
				nl.ReplicationMode = &m
			}
			w.add(c.Create(nl))
			lsUUID[n] = nl.UUID
			continue
		}
		sameVNI := (l.VNI == nil) == (old.VNI == nil) && (l.VNI == nil || *l.VNI == *old.VNI)
		if !sameVNI || l.Mode != old.Mode {
			nl := &vtepdb.LogicalSwitch{UUID: lsUUID[n], TunnelKey: l.VNI}
			if l.Mode != "" {
				m := l.Mode
				nl.ReplicationMode = &m
			}
			w.add(c.Where(nl).Update(nl, &nl.TunnelKey, &nl.ReplicationMode))
		}
	}
	// Remote MACs.
	for _, n := range sortedKeys(want.LS) {
		l, old := want.LS[n], cur.LS[n]
		if old == nil {
			old = NewLSState(n)
		}
		for _, mac := range sortedKeys(old.Ucast) {
			if r, ok := l.Ucast[mac]; !ok || r != old.Ucast[mac] {
				del("Ucast_Macs_Remote", refs.umr[n][mac])
			}
		}
		for _, mac := range sortedKeys(l.Ucast) {
			r := l.Ucast[mac]
			if o, ok := old.Ucast[mac]; ok && o == r {
				continue
			}
			w.add(c.Create(&vtepdb.UcastMacsRemote{UUID: w.name(), MAC: mac, Ipaddr: r.IP, LogicalSwitch: lsUUID[n],
				Locator: w.locator(r.TunnelIP)}))
		}
		for _, mac := range sortedKeys(old.Mcast) {
			if r, ok := l.Mcast[mac]; !ok || !mcastEq(r, old.Mcast[mac]) {
				del("Mcast_Macs_Remote", refs.mmr[n][mac])
			}
		}
		for _, mac := range sortedKeys(l.Mcast) {
			r := l.Mcast[mac]
			if o, ok := old.Mcast[mac]; ok && mcastEq(o, r) {
				continue
			}
			w.add(c.Create(&vtepdb.McastMacsRemote{UUID: w.name(), MAC: mac, Ipaddr: r.IP, LogicalSwitch: lsUUID[n],
				LocatorSet: w.locatorSet(r.TunnelIPs)}))
		}
	}
	// Bindings.
	for _, p := range sortedKeys(want.Ports) {
		if maps.Equal(want.Ports[p], cur.Ports[p]) {
			continue
		}
		b := map[int]string{}
		for vlan, ls := range want.Ports[p] {
			b[vlan] = lsUUID[ls]
		}
		np := &vtepdb.PhysicalPort{UUID: refs.ports[p], VLANBindings: b}
		w.add(c.Where(np).Update(np, &np.VLANBindings))
	}
	// Logical switches removed: their rows go first (strong references).
	for _, n := range sortedKeys(cur.LS) {
		if want.LS[n] != nil {
			continue
		}
		for _, m := range refs.umr[n] {
			del("Ucast_Macs_Remote", m)
		}
		for _, m := range refs.mmr[n] {
			del("Mcast_Macs_Remote", m)
		}
		del("Ucast_Macs_Local", refs.uml[n])
		del("Mcast_Macs_Local", refs.mml[n])
		del("Logical_Switch", []string{refs.ls[n]})
	}
	if w.err != nil {
		return nil, fmt.Errorf("build hardware_vtep ops: %w", w.err)
	}
	return w.ops, nil
}
