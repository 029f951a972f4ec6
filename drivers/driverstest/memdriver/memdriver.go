// Package memdriver is an in-memory switch and the reference driver for it:
// the fstest.MapFS of the driver conformance suite. It passes
// driverstest.Run, which proves the suite, and its quirks (Options.Quirks)
// make it misbehave in known ways, which proves the suite notices.
//
// A Device is the switch: it holds logical switches, remote and learned
// entries, counts writes, and serves sessions. Its methods Learn, Age,
// DeleteRemote and Disrupt change it from the device's side, as the
// conformance suite's Learner, Editor and Disrupter do. A session keeps
// its own copy of the device's state, filled at every (re)connect and
// kept current by the device's change events, as an OVSDB client's cache
// is.
package memdriver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/vtep"
)

// Options configure a Device.
type Options struct {
	// Switch is the physical switch's name (default "mem0").
	Switch string
	// TunnelIP is its tunnel IP (default "10.250.0.1").
	TunnelIP string
	// LogicalSwitches are created with the device, each bound to port
	// "p<i>" VLAN 0 (default "ls0", "ls1").
	LogicalSwitches []string
	// Capabilities are reported by sessions and enforced by Apply: modes,
	// MaxRemoteMACs, RemoteMACsNeedVNI, NoUcastRemote and FloodListsOnly
	// (ErrUnsupported); with ShadowsUcastIP and ShadowsVNIZero the device
	// stores no IP and no VNI 0, and each session shadows what it wrote.
	Capabilities drivers.Capabilities
	// EntryDelay is how long the device takes to write one entry; Apply
	// stays cancellable meanwhile.
	EntryDelay time.Duration
	// ReconnectDelay is how long a dropped session waits before it
	// reconnects (default 10ms).
	ReconnectDelay time.Duration
	// Quirks make the driver break the contract on purpose.
	Quirks Quirks
}

// Quirks are deliberate contract violations, for testing the suite.
type Quirks struct {
	// NoResync: no vtep.KindResync after a reconnect.
	NoResync bool
	// RewriteUnchanged: Apply writes entries that already hold.
	RewriteUnchanged bool
	// DropIP: the IP of unicast entries is not stored.
	DropIP bool
	// NoValidation: malformed input is written as given.
	NoValidation bool
	// StaleLocal: sessions miss learned MACs that age out.
	StaleLocal bool
	// IgnoreCapabilities: entries that NoUcastRemote or FloodListsOnly
	// rule out are written anyway.
	IgnoreCapabilities bool
}

type state struct {
	vni   map[string]*int
	mode  map[string]string
	ucast map[vtep.MACKey]vtep.UcastMAC
	mcast map[vtep.MACKey]vtep.McastMAC
	local map[vtep.MACKey]vtep.UcastMAC
}

func newState() *state {
	return &state{
		vni:   map[string]*int{},
		mode:  map[string]string{},
		ucast: map[vtep.MACKey]vtep.UcastMAC{},
		mcast: map[vtep.MACKey]vtep.McastMAC{},
		local: map[vtep.MACKey]vtep.UcastMAC{},
	}
}

func (s *state) clone() *state {
	c := &state{
		vni:   maps.Clone(s.vni),
		mode:  maps.Clone(s.mode),
		ucast: maps.Clone(s.ucast),
		mcast: map[vtep.MACKey]vtep.McastMAC{},
		local: maps.Clone(s.local),
	}
	for k, v := range s.mcast {
		v.Locators = slices.Clone(v.Locators)
		c.mcast[k] = v
	}
	return c
}

// copyKey copies one key's value from src into s.
func (s *state) copyKey(src *state, k vtep.Key) {
	mk := k.MACKey()
	switch k.Kind {
	case vtep.KindLogicalSwitch:
		s.vni[k.Name] = src.vni[k.Name]
		s.mode[k.Name] = src.mode[k.Name]
	case vtep.KindUcastRemote:
		copyEntry(s.ucast, src.ucast, mk)
	case vtep.KindMcastRemote:
		copyEntry(s.mcast, src.mcast, mk)
	case vtep.KindUcastLocal:
		copyEntry(s.local, src.local, mk)
	}
}

func copyEntry[V any](dst, src map[vtep.MACKey]V, k vtep.MACKey) {
	if v, ok := src[k]; ok {
		dst[k] = v
	} else {
		delete(dst, k)
	}
}

// Device is an in-memory VTEP switch.
type Device struct {
	opts Options

	mu       sync.Mutex // guards st, writes and sessions
	st       *state
	writes   uint64
	sessions map[*session]bool // connected sessions
}

// NewDevice returns a device with its logical switches and no entries.
func NewDevice(opts Options) *Device {
	if opts.Switch == "" {
		opts.Switch = "mem0"
	}
	if opts.TunnelIP == "" {
		opts.TunnelIP = "10.250.0.1"
	}
	if len(opts.LogicalSwitches) == 0 {
		opts.LogicalSwitches = []string{"ls0", "ls1"}
	}
	if opts.ReconnectDelay == 0 {
		opts.ReconnectDelay = 10 * time.Millisecond
	}
	d := &Device{opts: opts, st: newState(), sessions: map[*session]bool{}}
	for _, ls := range opts.LogicalSwitches {
		d.st.vni[ls] = nil
		d.st.mode[ls] = ""
	}
	return d
}

// LogicalSwitches returns the device's logical switch names.
func (d *Device) LogicalSwitches() []string { return slices.Clone(d.opts.LogicalSwitches) }

// Connector returns a connector to the device.
func (d *Device) Connector() drivers.Connector { return connector{d} }

func (d *Device) physicalSwitch() vtep.PhysicalSwitch {
	ps := vtep.PhysicalSwitch{Name: d.opts.Switch, TunnelIPs: []string{d.opts.TunnelIP}}
	for i, ls := range d.opts.LogicalSwitches {
		ps.Ports = append(ps.Ports, vtep.Port{Name: fmt.Sprintf("p%d", i), Bindings: map[int]string{0: ls}})
	}
	return ps
}

// publish copies the changed keys into every connected session's cache
// and notifies them. d.mu must be held.
func (d *Device) publish(keys []vtep.Key) {
	if len(keys) == 0 {
		return
	}
	if d.opts.Quirks.StaleLocal {
		keys = slices.DeleteFunc(slices.Clone(keys), func(k vtep.Key) bool {
			_, still := d.st.local[k.MACKey()]
			return k.Kind == vtep.KindUcastLocal && !still
		})
	}
	for s := range d.sessions {
		s.mu.Lock()
		for _, k := range keys {
			s.cache.copyKey(d.st, k)
		}
		s.mu.Unlock()
		for _, k := range keys {
			s.notify(k)
		}
	}
}

// Observe returns the device's state: the suite's independent view.
func (d *Device) Observe(context.Context) (*driverstest.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st.clone()
	return &driverstest.State{
		Switches:    []vtep.PhysicalSwitch{d.physicalSwitch()},
		VNIs:        st.vni,
		UcastRemote: st.ucast,
		McastRemote: st.mcast,
		UcastLocal:  st.local,
	}, nil
}

// Changes returns the number of writes the device took.
func (d *Device) Changes(context.Context) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writes, nil
}

// Learn makes the device learn mac on logical switch ls.
func (d *Device) Learn(_ context.Context, ls, mac string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.st.vni[ls]; !ok {
		return fmt.Errorf("no logical switch %q", ls)
	}
	k := vtep.MACKey{LS: ls, MAC: mac}
	d.st.local[k] = vtep.UcastMAC{MACKey: k, Locator: d.opts.TunnelIP}
	d.writes++
	d.publish([]vtep.Key{{Kind: vtep.KindUcastLocal, Name: ls, MAC: mac}})
	return nil
}

// Age makes the device forget a learned MAC.
func (d *Device) Age(_ context.Context, ls, mac string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := vtep.MACKey{LS: ls, MAC: mac}
	if _, ok := d.st.local[k]; !ok {
		return fmt.Errorf("%s is not learned", k)
	}
	delete(d.st.local, k)
	d.writes++
	d.publish([]vtep.Key{{Kind: vtep.KindUcastLocal, Name: ls, MAC: mac}})
	return nil
}

// DeleteRemote deletes a remote entry behind the driver's back.
func (d *Device) DeleteRemote(_ context.Context, k vtep.MACKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.st.ucast[k]; ok {
		delete(d.st.ucast, k)
		d.writes++
		d.publish([]vtep.Key{vtep.UcastRemoteKey(k)})
		return nil
	}
	if _, ok := d.st.mcast[k]; ok {
		delete(d.st.mcast, k)
		d.writes++
		d.publish([]vtep.Key{vtep.McastRemoteKey(k)})
		return nil
	}
	return fmt.Errorf("no remote entry %s", k)
}

// Disrupt drops every session's connection; each reconnects after
// ReconnectDelay and resyncs.
func (d *Device) Disrupt(context.Context) error {
	d.mu.Lock()
	dropped := slices.Collect(maps.Keys(d.sessions))
	clear(d.sessions)
	d.mu.Unlock()
	for _, s := range dropped {
		s.dropped()
	}
	return nil
}

// attach connects s: its cache is loaded from the device.
func (d *Device) attach(s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s.mu.Lock()
	s.cache = d.st.clone()
	s.connected = true
	s.mu.Unlock()
	d.sessions[s] = true
}

func (d *Device) detach(s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.sessions, s)
}

// Driver makes connectors from drivers.Params whose Settings["device"] is
// a *Device. It is not registered; tests that want it by name call
// drivers.Register("mem", memdriver.Driver{}).
type Driver struct{}

// NewConnector returns a connector to Settings["device"].
func (Driver) NewConnector(p drivers.Params) (drivers.Connector, error) {
	d, ok := p.Settings["device"].(*Device)
	if !ok || d == nil {
		return nil, fmt.Errorf("setting device: want a *memdriver.Device, got %T: %w", p.Settings["device"], drivers.ErrInvalid)
	}
	return connector{d}, nil
}

type connector struct{ d *Device }

// Connect attaches a new session to the device.
func (c connector) Connect(ctx context.Context, notify func(vtep.Key)) (drivers.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.d.opts.Switch, context.Cause(ctx))
	}
	s := &session{d: c.d, notify: notify, stop: make(chan struct{}),
		shadowIP: map[vtep.MACKey]vtep.UcastMAC{}, shadowVNI0: map[string]bool{}}
	c.d.attach(s)
	notify(vtep.Key{Kind: vtep.KindResync})
	return s, nil
}

// session is one connection to a Device.
type session struct {
	d      *Device
	notify func(vtep.Key)
	stop   chan struct{} // closed by Close
	wg     sync.WaitGroup

	applyMu sync.Mutex // serialises Apply

	mu        sync.Mutex // guards cache, connected, closed and the shadows
	cache     *state
	connected bool
	closed    bool
	// What the session wrote and the device does not store
	// (ShadowsUcastIP, ShadowsVNIZero); kept across reconnects, not by a
	// new session.
	shadowIP   map[vtep.MACKey]vtep.UcastMAC // Locator and IP as written
	shadowVNI0 map[string]bool
}

// dropped is called by the device when it drops the session: the session
// reconnects after a delay, like a real client.
func (s *session) dropped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = false
	if s.closed {
		return
	}
	// Started under s.mu, so never after Close's Wait began.
	s.wg.Go(func() {
		select {
		case <-s.stop:
			return
		case <-time.After(s.d.opts.ReconnectDelay):
		}
		s.d.attach(s)
		if !s.d.opts.Quirks.NoResync {
			s.notify(vtep.Key{Kind: vtep.KindResync})
		}
	})
}

func (s *session) ID() string { return "mem:" + s.d.opts.Switch }

func (s *session) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected && !s.closed
}

func (s *session) Status() string {
	if s.Connected() {
		return "connected to in-memory switch " + s.d.opts.Switch
	}
	return "disconnected from in-memory switch " + s.d.opts.Switch
}

// Close detaches the session; the device keeps its state.
func (s *session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.connected = false
	s.mu.Unlock()
	close(s.stop)
	s.d.detach(s)
	s.wg.Wait()
	s.d.detach(s) // a reconnect may have raced with Close
	return nil
}

// Capabilities reports Options.Capabilities.
func (s *session) Capabilities() drivers.Capabilities { return s.d.opts.Capabilities }

func (s *session) PhysicalSwitches() []vtep.PhysicalSwitch {
	return []vtep.PhysicalSwitch{s.d.physicalSwitch()}
}

func (s *session) LogicalSwitches() []vtep.LogicalSwitch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []vtep.LogicalSwitch
	for _, name := range slices.Sorted(maps.Keys(s.cache.vni)) {
		out = append(out, s.lsLocked(name))
	}
	return out
}

func (s *session) lsLocked(name string) vtep.LogicalSwitch {
	ls := vtep.LogicalSwitch{Name: name, ReplicationMode: s.cache.mode[name]}
	if v := s.cache.vni[name]; v != nil {
		n := *v
		ls.VNI = &n
	} else if s.shadowVNI0[name] {
		ls.VNI = new(int)
	}
	return ls
}

// viewLocked is what the session reads for k, as a comparable string.
func (s *session) viewLocked(k vtep.Key) string {
	switch k.Kind {
	case vtep.KindLogicalSwitch:
		ls := s.lsLocked(k.Name)
		return fmt.Sprint(fmtVNI(ls.VNI), ls.ReplicationMode)
	case vtep.KindUcastRemote:
		v, ok := s.ucastLocked(k.MACKey())
		return fmt.Sprintf("%v %s %s", ok, v.Locator, v.IP)
	case vtep.KindMcastRemote:
		v, ok := s.cache.mcast[k.MACKey()]
		return fmt.Sprintf("%v %v %s", ok, v.Locators, v.IP)
	}
	return ""
}

func (s *session) ucastLocked(k vtep.MACKey) (vtep.UcastMAC, bool) {
	v, ok := s.cache.ucast[k]
	if sh, shadowed := s.shadowIP[k]; ok && shadowed && sh.Locator == v.Locator {
		v.IP = sh.IP
	}
	return v, ok
}

func (s *session) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache.vni[name]; !ok {
		return vtep.LogicalSwitch{}, false
	}
	return s.lsLocked(name), true
}

func (s *session) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ucastLocked(k)
}

func (s *session) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache.mcast[k]
	v.Locators = slices.Clone(v.Locators)
	return v, ok
}

func (s *session) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache.local[k]
	return v, ok
}

// McastLocal: the in-memory switch learns no multicast groups.
func (s *session) McastLocal(vtep.MACKey) (vtep.McastMAC, bool) { return vtep.McastMAC{}, false }

func (s *session) Entries(kind vtep.Kind) []vtep.MACKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []vtep.MACKey
	switch kind {
	case vtep.KindUcastRemote:
		keys = slices.Collect(maps.Keys(s.cache.ucast))
	case vtep.KindMcastRemote:
		keys = slices.Collect(maps.Keys(s.cache.mcast))
	case vtep.KindUcastLocal:
		keys = slices.Collect(maps.Keys(s.cache.local))
	}
	return keys
}

// Apply validates the whole changeset, waits EntryDelay per entry (the
// device "working"), then commits it atomically.
func (s *session) Apply(ctx context.Context, cs *vtep.Changeset) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if !s.Connected() {
		return fmt.Errorf("in-memory switch %s: %w", s.d.opts.Switch, drivers.ErrDisconnected)
	}
	if cs.Empty() {
		return nil
	}
	if err := s.validate(cs); err != nil {
		return err
	}
	if delay := s.d.opts.EntryDelay; delay > 0 {
		const chunk = 64 // sleep per chunk: timers are coarser than µs
		for n := cs.Len(); n > 0; n -= chunk {
			select {
			case <-ctx.Done():
				return fmt.Errorf("apply %s: %w", cs, context.Cause(ctx))
			case <-time.After(time.Duration(min(n, chunk)) * delay):
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply %s: %w", cs, context.Cause(ctx))
	}
	return s.d.commit(s, cs)
}

// validate checks cs against the device and the capabilities.
func (s *session) validate(cs *vtep.Changeset) error {
	q := s.d.opts.Quirks
	if q.NoValidation {
		return nil
	}
	if err := drivers.ValidateChangeset(cs); err != nil {
		return err
	}
	caps := s.d.opts.Capabilities
	if !q.IgnoreCapabilities {
		for _, c := range cs.UcastRemote {
			if c.Set != nil && !caps.Supports(vtep.UcastRemoteKey(c.Key)) {
				return fmt.Errorf("ucast %s: the switch holds no remote unicast entries: %w", c.Key, drivers.ErrUnsupported)
			}
		}
		for _, c := range cs.McastRemote {
			if c.Set != nil && !caps.Supports(vtep.McastRemoteKey(c.Key)) {
				return fmt.Errorf("mcast %s: the switch holds flood lists only: %w", c.Key, drivers.ErrUnsupported)
			}
		}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.d.st
	var errs []error
	vnis := maps.Clone(st.vni)
	for _, c := range cs.LogicalSwitches {
		if !caps.SupportsMode(c.ReplicationMode) {
			return fmt.Errorf("logical switch %s: replication mode %s: %w", c.Name, c.ReplicationMode, drivers.ErrUnsupported)
		}
		if _, ok := vnis[c.Name]; ok {
			vnis[c.Name] = c.VNI
		}
	}
	count := map[string]map[string]bool{}
	entries := func(ls string) map[string]bool {
		if count[ls] == nil {
			count[ls] = map[string]bool{}
			for k := range st.ucast {
				if k.LS == ls {
					count[ls][k.MAC] = true
				}
			}
			for k := range st.mcast {
				if k.LS == ls {
					count[ls][k.MAC] = true
				}
			}
		}
		return count[ls]
	}
	check := func(what string, k vtep.MACKey, set bool) {
		v, ok := vnis[k.LS]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s %s: no such logical switch: %w", what, k, drivers.ErrInvalid))
			return
		case set && caps.RemoteMACsNeedVNI && (v == nil || *v == 0):
			errs = append(errs, fmt.Errorf("%s %s: logical switch has no VNI: %w", what, k, drivers.ErrInvalid))
		}
		if set {
			entries(k.LS)[k.MAC] = true
		} else {
			delete(entries(k.LS), k.MAC)
		}
	}
	for _, c := range cs.UcastRemote {
		check("ucast", c.Key, c.Set != nil)
	}
	for _, c := range cs.McastRemote {
		check("mcast", c.Key, c.Set != nil)
	}
	if max := caps.MaxRemoteMACs; max > 0 {
		for ls, macs := range count {
			if len(macs) > max {
				errs = append(errs, fmt.Errorf("logical switch %s: %d remote MACs, at most %d: %w", ls, len(macs), max, drivers.ErrLimit))
			}
		}
	}
	return errors.Join(errs...)
}

// commit writes cs if s is still connected.
func (d *Device) commit(s *session, cs *vtep.Changeset) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.sessions[s] {
		return fmt.Errorf("in-memory switch %s: %w", d.opts.Switch, drivers.ErrDisconnected)
	}
	q := d.opts.Quirks
	caps := d.opts.Capabilities
	// The session's reads of what cs changes, to notify the changes that
	// write nothing to the device (shadowed values).
	before := map[vtep.Key]string{}
	s.mu.Lock()
	for _, k := range changeKeys(cs) {
		before[k] = s.viewLocked(k)
	}
	s.mu.Unlock()
	var keys []vtep.Key
	wrote := func(k vtep.Key) {
		d.writes++
		keys = append(keys, k)
	}
	defer func() {
		published := map[vtep.Key]bool{}
		for _, k := range keys {
			published[k] = true
		}
		for _, k := range changeKeys(cs) {
			s.mu.Lock()
			changed := s.viewLocked(k) != before[k]
			s.mu.Unlock()
			if changed && !published[k] {
				s.notify(k)
			}
		}
	}()
	for _, c := range cs.LogicalSwitches {
		old, ok := d.st.vni[c.Name]
		if !ok {
			continue
		}
		mode := d.st.mode[c.Name]
		if c.ReplicationMode != "" {
			mode = c.ReplicationMode
		}
		var v *int
		if c.VNI != nil && (*c.VNI != 0 || !caps.ShadowsVNIZero) {
			n := *c.VNI
			v = &n
		}
		if caps.ShadowsVNIZero {
			s.mu.Lock()
			s.shadowVNI0[c.Name] = c.VNI != nil && *c.VNI == 0
			s.mu.Unlock()
		}
		if q.RewriteUnchanged || !sameVNI(old, v) || mode != d.st.mode[c.Name] {
			d.st.vni[c.Name], d.st.mode[c.Name] = v, mode
			wrote(vtep.LogicalSwitchKey(c.Name))
		}
		if d.opts.Capabilities.RemoteMACsNeedVNI && (c.VNI == nil || *c.VNI == 0) {
			for k := range d.st.ucast {
				if k.LS == c.Name {
					delete(d.st.ucast, k)
					wrote(vtep.UcastRemoteKey(k))
				}
			}
			for k := range d.st.mcast {
				if k.LS == c.Name {
					delete(d.st.mcast, k)
					wrote(vtep.McastRemoteKey(k))
				}
			}
		}
	}
	for _, c := range cs.UcastRemote {
		old, had := d.st.ucast[c.Key]
		if c.Set == nil {
			if had {
				delete(d.st.ucast, c.Key)
				wrote(vtep.UcastRemoteKey(c.Key))
			}
			continue
		}
		v := vtep.UcastMAC{MACKey: c.Key, Locator: c.Set.Locator, IP: c.Set.IP}
		if q.DropIP {
			v.IP = ""
		}
		if caps.ShadowsUcastIP {
			s.mu.Lock()
			if v.IP != "" {
				s.shadowIP[c.Key] = v
			} else {
				delete(s.shadowIP, c.Key)
			}
			s.mu.Unlock()
			v.IP = ""
		}
		if q.RewriteUnchanged || !had || old != v {
			d.st.ucast[c.Key] = v
			wrote(vtep.UcastRemoteKey(c.Key))
		}
	}
	for _, c := range cs.McastRemote {
		old, had := d.st.mcast[c.Key]
		if c.Set == nil {
			if had {
				delete(d.st.mcast, c.Key)
				wrote(vtep.McastRemoteKey(c.Key))
			}
			continue
		}
		v := vtep.McastMAC{MACKey: c.Key, IP: c.Set.IP, Locators: vtep.NormalizeLocators(slices.Clone(c.Set.Locators))}
		if q.RewriteUnchanged || !had || old.IP != v.IP || !slices.Equal(old.Locators, v.Locators) {
			d.st.mcast[c.Key] = v
			wrote(vtep.McastRemoteKey(c.Key))
		}
	}
	d.publish(keys)
	return nil
}

// changeKeys returns the keys cs changes.
func changeKeys(cs *vtep.Changeset) []vtep.Key {
	var out []vtep.Key
	for _, c := range cs.LogicalSwitches {
		out = append(out, vtep.LogicalSwitchKey(c.Name))
	}
	for _, c := range cs.UcastRemote {
		out = append(out, vtep.UcastRemoteKey(c.Key))
	}
	for _, c := range cs.McastRemote {
		out = append(out, vtep.McastRemoteKey(c.Key))
	}
	return out
}

func fmtVNI(v *int) string {
	if v == nil {
		return "unset"
	}
	return fmt.Sprint(*v)
}

func sameVNI(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// Harness is a driverstest.Harness of fresh in-memory devices.
type Harness struct {
	Options Options
	// Patience bounds the suite's waits (driverstest.Patience); 0 keeps
	// the suite's default.
	Patience time.Duration
}

// New returns a fresh device.
func (h Harness) New(testing.TB) driverstest.Device { return NewDevice(h.Options) }

// EventTimeout implements driverstest.Patience.
func (h Harness) EventTimeout() time.Duration { return h.Patience }
