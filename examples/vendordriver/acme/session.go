package acme

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"example.com/acme-vtep-driver/acmeapi"
	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// Connector dials one Acme switch.
type Connector struct{ opts Options }

// NewConnector returns a connector for options from ParseOptions, or
// built by hand (zero durations and a nil Logger take the defaults).
func NewConnector(o Options) *Connector {
	if o.DialTimeout <= 0 {
		o.DialTimeout = defaultDialTimeout
	}
	if o.ReconnectBackoff <= 0 {
		o.ReconnectBackoff = defaultBackoff
	}
	if o.ReconnectBackoffMax <= 0 {
		o.ReconnectBackoffMax = defaultBackoffMax
	}
	o.ReconnectBackoffMax = max(o.ReconnectBackoffMax, o.ReconnectBackoff)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Connector{opts: o}
}

// Connect dials the switch, reads its system description and subscribes
// to its state; the session then keeps itself connected until Close.
func (c *Connector) Connect(ctx context.Context, notify func(vtep.Key)) (drivers.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acme: connect: %w", context.Cause(ctx))
	}
	if notify == nil {
		notify = func(vtep.Key) {}
	}
	life, cancel := context.WithCancel(context.Background())
	s := &Session{opts: c.opts, log: c.opts.Logger, notify: notify, life: life, cancel: cancel}
	l, err := s.dial(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	if !s.install(l) {
		cancel()
		return nil, fmt.Errorf("acme: connect: %w", drivers.ErrDisconnected)
	}
	s.wg.Go(func() { s.supervise(l) })
	return s, nil
}

// link is one management connection and what it loaded.
type link struct {
	conn *acmeapi.Conn
	sys  acmeapi.System
	cfg  acmeapi.Config
	// guarded by Session.mu
	loaded  bool
	backlog []acmeapi.Event // events that arrived before the snapshot was installed
}

// Session is a connection to one Acme switch. Its reads come from a copy
// of the switch's state, loaded at every (re)connect by "subscribe" and
// kept current by the switch's events, which cover the session's own
// commits too.
type Session struct {
	opts   Options
	log    *slog.Logger
	notify func(vtep.Key)
	life   context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	applyMu sync.Mutex // serialises Apply

	mu        sync.Mutex // guards the fields below
	cur       *link
	sys       acmeapi.System
	view      *view
	connected bool
	closed    bool
	lastErr   error
}

// dial connects to the first endpoint that answers and loads its state.
func (s *Session) dial(ctx context.Context) (*link, error) {
	if len(s.opts.Endpoints) == 0 {
		return nil, fmt.Errorf("acme: connect: no endpoints: %w", drivers.ErrInvalid)
	}
	var errs []error
	for _, ep := range s.opts.Endpoints {
		l, err := s.dialOne(ctx, ep)
		if err == nil {
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("acme: connect %s: %w", ep, context.Cause(ctx))
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep, err))
	}
	return nil, fmt.Errorf("acme: connect: %w", errors.Join(errs...))
}

func (s *Session) dialOne(ctx context.Context, ep string) (*link, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	l := &link{}
	conn, err := acmeapi.Dial(ctx, ep, func(ev acmeapi.Event) { s.event(l, ev) })
	if err != nil {
		return nil, err
	}
	l.conn = conn
	if err := conn.Call(ctx, acmeapi.CmdShowSystem, nil, &l.sys); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := conn.Call(ctx, acmeapi.CmdSubscribe, nil, &l.cfg); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return l, nil
}

// install makes l the session's connection and notifies the resync. It
// returns false when the session was closed meanwhile.
func (s *Session) install(l *link) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = l.conn.Close()
		return false
	}
	if s.sys.Serial != "" && s.sys.Serial != l.sys.Serial {
		s.log.Warn("a different Acme switch answers at the endpoint", "was", s.sys.Serial, "now", l.sys.Serial)
	}
	s.cur, s.sys = l, l.sys
	s.view = newView(l.cfg)
	for _, ev := range l.backlog {
		s.view.apply(ev)
	}
	l.backlog, l.loaded = nil, true
	s.connected, s.lastErr = true, nil
	s.mu.Unlock()
	s.notify(vtep.Key{Kind: vtep.KindResync})
	return true
}

// event applies one of the switch's events and notifies its key. It runs
// on the connection's reader goroutine, in the switch's order.
func (s *Session) event(l *link, ev acmeapi.Event) {
	s.mu.Lock()
	if !l.loaded {
		l.backlog = append(l.backlog, ev)
		s.mu.Unlock()
		return
	}
	if s.cur != l {
		s.mu.Unlock()
		return
	}
	k, ok := s.view.apply(ev)
	s.mu.Unlock()
	if ok {
		s.notify(k)
	}
}

// supervise reconnects with backoff whenever the connection ends, until
// Close.
func (s *Session) supervise(l *link) {
	for {
		select {
		case <-s.life.Done():
			return
		case <-l.conn.Done():
		}
		if s.life.Err() != nil {
			return // Close ended the connection
		}
		err := l.conn.Err()
		s.mu.Lock()
		s.connected, s.lastErr = false, err
		s.mu.Unlock()
		s.log.Warn("Acme switch connection lost; reconnecting", "err", err)
		backoff := s.opts.ReconnectBackoff
		for {
			select {
			case <-s.life.Done():
				return
			case <-time.After(backoff):
			}
			nl, err := s.dial(s.life)
			if err == nil {
				if !s.install(nl) {
					return
				}
				s.log.Info("Acme switch reconnected", "addr", nl.conn.RemoteAddr())
				l = nl
				break
			}
			s.mu.Lock()
			s.lastErr = err
			s.mu.Unlock()
			backoff = min(2*backoff, s.opts.ReconnectBackoffMax)
		}
	}
}

// ID is the switch's serial number.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "acme:" + s.sys.Serial
}

// Connected reports whether the management connection is up.
func (s *Session) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected && !s.closed
}

// Status is a one-line connection summary.
func (s *Session) Status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return fmt.Sprintf("closed (Acme %s %s)", s.sys.Model, s.sys.Hostname)
	case s.connected:
		return fmt.Sprintf("connected to Acme %s %s (serial %s) at %s", s.sys.Model, s.sys.Hostname, s.sys.Serial, s.cur.conn.RemoteAddr())
	}
	return fmt.Sprintf("reconnecting to Acme %s %s at %s: %v", s.sys.Model, s.sys.Hostname, strings.Join(s.opts.Endpoints, ", "), s.lastErr)
}

// Close ends the connection; the switch keeps its state.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed, s.connected = true, false
	l := s.cur
	s.mu.Unlock()
	s.cancel()
	if l != nil {
		_ = l.conn.Close()
	}
	s.wg.Wait()
	return nil
}

// Capabilities: the switch's replication modes and MAC table size.
func (s *Session) Capabilities() drivers.Capabilities {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.capsLocked()
}

func (s *Session) capsLocked() drivers.Capabilities {
	c := drivers.Capabilities{MaxRemoteMACs: s.sys.MaxMACsPerBD}
	for _, m := range s.sys.Replication {
		if vm := modeFromAcme(m); vm != "" {
			c.ReplicationModes = append(c.ReplicationModes, vm)
		}
	}
	return c
}

// Supports implements vtep.PartialSwitch: every entry kind is held.
func (s *Session) Supports(k vtep.Key) bool { return s.Capabilities().Supports(k) }

// SupportsMode implements vtep.PartialSwitch: the switch's replication
// modes only, so the core does not ask for others.
func (s *Session) SupportsMode(mode string) bool { return s.Capabilities().SupportsMode(mode) }

// PhysicalSwitches returns the switch with its ports' attachments.
func (s *Session) PhysicalSwitches() []vtep.PhysicalSwitch {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := vtep.PhysicalSwitch{
		Name:        s.sys.Hostname,
		Description: fmt.Sprintf("Acme %s serial %s", s.sys.Model, s.sys.Serial),
		TunnelIPs:   []string{s.sys.VTEPAddress},
	}
	for _, p := range s.sys.Ports {
		port := vtep.Port{Name: p.Name, Bindings: map[int]string{}}
		for _, a := range p.Attached {
			port.Bindings[a.VLAN] = a.BD
		}
		ps.Ports = append(ps.Ports, port)
	}
	return []vtep.PhysicalSwitch{ps}
}

// LogicalSwitches returns the bridge domains, by name.
func (s *Session) LogicalSwitches() []vtep.LogicalSwitch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []vtep.LogicalSwitch
	for _, name := range slices.Sorted(maps.Keys(s.view.bds)) {
		out = append(out, logicalSwitch(s.view.bds[name]))
	}
	return out
}

// LogicalSwitch returns one bridge domain.
func (s *Session) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bd, ok := s.view.bds[name]
	if !ok {
		return vtep.LogicalSwitch{}, false
	}
	return logicalSwitch(bd), true
}

// UcastRemote returns a remote MAC.
func (s *Session) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.MAC = strings.ToLower(k.MAC)
	r, ok := s.view.remote[k]
	if !ok {
		return vtep.UcastMAC{}, false
	}
	return vtep.UcastMAC{MACKey: k, Locator: r.VTEP, IP: r.IP}, true
}

// McastRemote returns a flood group (unknown-dst: group "bum").
func (s *Session) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.MAC = vtep.NormalizeMAC(k.MAC)
	g, ok := s.view.flood[k]
	if !ok {
		return vtep.McastMAC{}, false
	}
	return vtep.McastMAC{MACKey: k, IP: g.IP, Locators: slices.Clone(g.VTEPs)}, true
}

// UcastLocal returns a learned MAC; its locator is the switch's VTEP
// address.
func (s *Session) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.MAC = strings.ToLower(k.MAC)
	if _, ok := s.view.learned[k]; !ok {
		return vtep.UcastMAC{}, false
	}
	return vtep.UcastMAC{MACKey: k, Locator: s.sys.VTEPAddress}, true
}

// McastLocal: Acme switches do not report learned multicast groups.
func (s *Session) McastLocal(vtep.MACKey) (vtep.McastMAC, bool) { return vtep.McastMAC{}, false }

// Entries lists the keys of one kind of entry.
func (s *Session) Entries(kind vtep.Kind) []vtep.MACKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case vtep.KindUcastRemote:
		return slices.Collect(maps.Keys(s.view.remote))
	case vtep.KindMcastRemote:
		return slices.Collect(maps.Keys(s.view.flood))
	case vtep.KindUcastLocal:
		return slices.Collect(maps.Keys(s.view.learned))
	}
	return nil
}

// Apply translates cs into one commit of the operations that change
// something, which the switch applies all or nothing.
func (s *Session) Apply(ctx context.Context, cs *vtep.Changeset) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	l, up := s.cur, s.connected && !s.closed
	s.mu.Unlock()
	if !up {
		return fmt.Errorf("acme: apply: %w", drivers.ErrDisconnected)
	}
	if cs == nil || cs.Empty() {
		return nil
	}
	if err := drivers.ValidateChangeset(cs); err != nil {
		return err
	}
	s.mu.Lock()
	ops, err := s.opsLocked(cs)
	s.mu.Unlock()
	if err != nil || len(ops) == 0 {
		return err
	}
	err = l.conn.Call(ctx, acmeapi.CmdCommit, ops, nil)
	var ae *acmeapi.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		switch ae.Code {
		case acmeapi.CodeTableFull:
			return fmt.Errorf("acme: apply %s: %w: %w", cs, drivers.ErrLimit, ae)
		case acmeapi.CodeBadRequest, acmeapi.CodeNoSuchBD:
			return fmt.Errorf("acme: apply %s: %w: %w", cs, drivers.ErrInvalid, ae)
		case acmeapi.CodeNotSupported:
			return fmt.Errorf("acme: apply %s: %w: %w", cs, drivers.ErrUnsupported, ae)
		}
		return fmt.Errorf("acme: apply %s: %w", cs, ae)
	case ctx.Err() != nil:
		return fmt.Errorf("acme: apply %s: %w", cs, context.Cause(ctx))
	case errors.Is(err, acmeapi.ErrClosed):
		return fmt.Errorf("acme: apply %s: %w: %w", cs, drivers.ErrDisconnected, err)
	}
	return fmt.Errorf("acme: apply %s: %w", cs, err)
}

// opsLocked returns the operations that turn the session's view into what
// cs asks for, leaving out those that would change nothing. A MAC change
// on a bridge domain the switch lacks is ErrInvalid; a replication mode
// it lacks, ErrUnsupported. s.mu is held.
func (s *Session) opsLocked(cs *vtep.Changeset) ([]acmeapi.Op, error) {
	v := s.view
	caps := s.capsLocked()
	var ops []acmeapi.Op
	var errs []error
	for _, c := range cs.LogicalSwitches {
		if c.ReplicationMode != "" && !caps.SupportsMode(c.ReplicationMode) {
			return nil, fmt.Errorf("acme: logical switch %s: replication mode %s: the switch replicates %v only: %w",
				c.Name, c.ReplicationMode, caps.ReplicationModes, drivers.ErrUnsupported)
		}
		bd, ok := v.bds[c.Name]
		if !ok {
			continue // gone since the diff: nothing to set
		}
		want := bd
		want.VNI = nil
		if c.VNI != nil {
			n := *c.VNI
			want.VNI = &n
		}
		if c.ReplicationMode != "" {
			want.Replication = modeToAcme(c.ReplicationMode)
		}
		if sameBD(bd, want) {
			continue
		}
		op := acmeapi.Op{Op: acmeapi.OpSetBD, BD: c.Name, VNI: want.VNI}
		if want.Replication != bd.Replication {
			op.Replication = want.Replication
		}
		ops = append(ops, op)
	}
	noBD := func(what string, k vtep.MACKey) bool {
		if _, ok := v.bds[k.LS]; ok {
			return false
		}
		errs = append(errs, fmt.Errorf("acme: %s %s: the switch has no bridge domain %q: %w", what, k, k.LS, drivers.ErrInvalid))
		return true
	}
	for _, c := range cs.UcastRemote {
		k := vtep.MACKey{LS: c.Key.LS, MAC: strings.ToLower(c.Key.MAC)}
		if noBD("ucast", k) {
			continue
		}
		old, had := v.remote[k]
		if c.Set == nil {
			if had {
				ops = append(ops, acmeapi.Op{Op: acmeapi.OpDeleteRemoteMAC, BD: k.LS, MAC: k.MAC})
			}
			continue
		}
		want := acmeapi.RemoteMAC{BD: k.LS, MAC: k.MAC, VTEP: c.Set.Locator, IP: c.Set.IP}
		if had && old == want {
			continue
		}
		ops = append(ops, acmeapi.Op{Op: acmeapi.OpSetRemoteMAC, BD: k.LS, MAC: k.MAC, VTEP: want.VTEP, IP: want.IP})
	}
	for _, c := range cs.McastRemote {
		k := vtep.MACKey{LS: c.Key.LS, MAC: vtep.NormalizeMAC(c.Key.MAC)}
		if noBD("mcast", k) {
			continue
		}
		group := groupOf(k.MAC)
		old, had := v.flood[k]
		if c.Set == nil {
			if had {
				ops = append(ops, acmeapi.Op{Op: acmeapi.OpDeleteFloodGroup, BD: k.LS, Group: group})
			}
			continue
		}
		vteps := vtep.NormalizeLocators(slices.Clone(c.Set.Locators))
		if had && old.IP == c.Set.IP && slices.Equal(old.VTEPs, vteps) {
			continue
		}
		ops = append(ops, acmeapi.Op{Op: acmeapi.OpSetFloodGroup, BD: k.LS, Group: group, VTEPs: vteps, IP: c.Set.IP})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ops, nil
}

// view is the session's copy of the switch's state, keyed as vtepgw keys
// entries (MACs lower-case, flood group "bum" as unknown-dst).
type view struct {
	bds     map[string]acmeapi.BridgeDomain
	remote  map[vtep.MACKey]acmeapi.RemoteMAC
	flood   map[vtep.MACKey]acmeapi.FloodGroup
	learned map[vtep.MACKey]acmeapi.LearnedMAC
}

func newView(c acmeapi.Config) *view {
	v := &view{
		bds:     map[string]acmeapi.BridgeDomain{},
		remote:  map[vtep.MACKey]acmeapi.RemoteMAC{},
		flood:   map[vtep.MACKey]acmeapi.FloodGroup{},
		learned: map[vtep.MACKey]acmeapi.LearnedMAC{},
	}
	for _, bd := range c.BridgeDomains {
		v.bds[bd.Name] = bd
	}
	for _, r := range c.RemoteMACs {
		v.remote[vtep.MACKey{LS: r.BD, MAC: strings.ToLower(r.MAC)}] = r
	}
	for _, g := range c.FloodGroups {
		v.flood[vtep.MACKey{LS: g.BD, MAC: macOf(g.Group)}] = g
	}
	for _, m := range c.LearnedMACs {
		v.learned[vtep.MACKey{LS: m.BD, MAC: strings.ToLower(m.MAC)}] = m
	}
	return v
}

// apply applies one event and returns the key of the entry it changed.
// Events of tables this driver does not know are ignored.
func (v *view) apply(ev acmeapi.Event) (vtep.Key, bool) {
	switch ev.Table {
	case acmeapi.TableBridgeDomain:
		if ev.Deleted {
			delete(v.bds, ev.BD)
		} else if ev.BridgeDomain != nil {
			v.bds[ev.BD] = *ev.BridgeDomain
		}
		return vtep.LogicalSwitchKey(ev.BD), true
	case acmeapi.TableRemoteMAC:
		k := vtep.MACKey{LS: ev.BD, MAC: strings.ToLower(ev.Key)}
		setOrDelete(v.remote, k, ev.RemoteMAC, ev.Deleted)
		return vtep.UcastRemoteKey(k), true
	case acmeapi.TableFloodGroup:
		k := vtep.MACKey{LS: ev.BD, MAC: macOf(ev.Key)}
		setOrDelete(v.flood, k, ev.FloodGroup, ev.Deleted)
		return vtep.McastRemoteKey(k), true
	case acmeapi.TableLearnedMAC:
		k := vtep.MACKey{LS: ev.BD, MAC: strings.ToLower(ev.Key)}
		setOrDelete(v.learned, k, ev.LearnedMAC, ev.Deleted)
		return vtep.Key{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC}, true
	}
	return vtep.Key{}, false
}

func setOrDelete[V any](m map[vtep.MACKey]V, k vtep.MACKey, v *V, deleted bool) {
	switch {
	case deleted:
		delete(m, k)
	case v != nil:
		m[k] = *v
	}
}

func logicalSwitch(bd acmeapi.BridgeDomain) vtep.LogicalSwitch {
	ls := vtep.LogicalSwitch{Name: bd.Name, ReplicationMode: modeFromAcme(bd.Replication)}
	if bd.VNI != nil {
		n := *bd.VNI
		ls.VNI = &n
	}
	return ls
}

func sameBD(a, b acmeapi.BridgeDomain) bool {
	return (a.VNI == nil) == (b.VNI == nil) && (a.VNI == nil || *a.VNI == *b.VNI) && a.Replication == b.Replication
}

// Replication mode names: vtepgw's (hardware_vtep's) and Acme's.
func modeFromAcme(m string) string {
	switch m {
	case acmeapi.ReplicationIngress:
		return vtep.ReplicationSourceNode
	case acmeapi.ReplicationServiceNode:
		return vtep.ReplicationServiceNode
	}
	return ""
}

func modeToAcme(m string) string {
	switch m {
	case vtep.ReplicationSourceNode:
		return acmeapi.ReplicationIngress
	case vtep.ReplicationServiceNode:
		return acmeapi.ReplicationServiceNode
	}
	return ""
}

// groupOf and macOf translate between a remote multicast entry's MAC and
// an Acme flood group.
func groupOf(mac string) string {
	if mac == vtep.UnknownDst {
		return acmeapi.GroupBUM
	}
	return strings.ToLower(mac)
}

func macOf(group string) string {
	if group == acmeapi.GroupBUM {
		return vtep.UnknownDst
	}
	return strings.ToLower(group)
}
