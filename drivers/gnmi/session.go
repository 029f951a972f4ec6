package gnmi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

type connector struct {
	params drivers.Params
	opts   Options
	eps    []endpoint
	ad     Adapter
}

// session is a connection to one gNMI target.
type session struct {
	opts   Options
	cfg    Config
	ad     Adapter
	eps    []endpoint
	log    *slog.Logger
	notify func(vtep.Key)
	dial   dialer
	cancel context.CancelFunc
	done   chan struct{}

	// applyMu serialises Apply and polls (a poll must not overwrite the
	// rows of a Set that completed while its Get was in flight).
	applyMu sync.Mutex

	mu        sync.RWMutex // guards everything below
	st        *store
	client    gnmipb.GNMIClient
	connected bool
	status    string
	lastErr   error          // of the last failed connection attempt
	lsVLAN    map[string]int // logical switch → device VLAN
	vlanLS    map[int]string // device VLAN → logical switch
	// Shadows of what the device cannot hold: logical switches last set
	// to VNI 0 (the devices take 1..16777215; 0 leaves the VLAN unmapped),
	// and the IP of remote MACs (ARP suppression).
	vniZero map[string]bool
	ucastIP map[vtep.MACKey][2]string // → {locator, IP}
}

// Connect dials and returns once the first full state has been read, or
// ctx is done.
func (c *connector) Connect(ctx context.Context, notify func(vtep.Key)) (drivers.Session, error) {
	log := c.params.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d, err := c.dialer()
	if err != nil {
		return nil, err
	}
	s := &session{
		opts: c.opts, ad: c.ad, eps: c.eps, log: log, notify: notify, dial: d, done: make(chan struct{}),
		cfg:    Config{VTEP: c.opts.VTEP, VxlanIf: c.opts.VxlanIf, NetworkInstance: c.opts.NetworkInstance},
		status: "connecting", vniZero: map[string]bool{}, ucastIP: map[vtep.MACKey][2]string{},
	}
	s.st = newStore(s.ad, s.cfg)
	s.remapLocked()
	ready := make(chan struct{})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go s.run(runCtx, ready)
	select {
	case <-ready:
		return s, nil
	case <-ctx.Done():
		st := s.Status()
		s.Close()
		return nil, fmt.Errorf("connect to %v: %w (last state: %s)", c.params.Endpoints, context.Cause(ctx), st)
	}
}

func (s *session) ID() string { return "gnmi:" + s.opts.SwitchName }

func (s *session) Connected() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.connected
}

func (s *session) Status() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.status
}

// Close stops the connection; switch state is left as it is.
func (s *session) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Capabilities implements drivers.CapabilityReporter. The devices
// replicate BUM traffic to every member of a static flood list (source
// node replication) and have no other remote multicast entries; SONiC
// keeps remote entries in the VNI's APPL_DB rows.
func (s *session) Capabilities() drivers.Capabilities {
	return drivers.Capabilities{
		ReplicationModes:  []string{vtep.ReplicationSourceNode},
		MaxRemoteMACs:     s.opts.MaxRemoteMACs,
		RemoteMACsNeedVNI: s.ad.Name() == "sonic",
		FloodListsOnly:    true,
		ShadowsUcastIP:    true,
		ShadowsVNIZero:    true,
	}
}

// Supports implements vtep.PartialSwitch.
func (s *session) Supports(k vtep.Key) bool { return s.Capabilities().Supports(k) }

// SupportsMode implements vtep.PartialSwitch.
func (s *session) SupportsMode(mode string) bool { return s.Capabilities().SupportsMode(mode) }

var _ vtep.PartialSwitch = (*session)(nil)

// remapLocked rebuilds the logical switch ↔ VLAN maps.
func (s *session) remapLocked() {
	s.lsVLAN, s.vlanLS = map[string]int{}, map[int]string{}
	if s.opts.LogicalSwitches != nil {
		for ls, v := range s.opts.LogicalSwitches {
			s.lsVLAN[ls] = v
			if old, ok := s.vlanLS[v]; !ok || ls < old {
				s.vlanLS[v] = ls
			}
		}
		return
	}
	for _, v := range s.st.vlans(FactVLAN) {
		name := "Vlan" + strconv.Itoa(v)
		if fs := s.st.lookup(FactVLAN, v, ""); len(fs) > 0 && fs[0].Value != "" {
			name = fs[0].Value
		}
		if _, dup := s.lsVLAN[name]; dup {
			continue // the lower VLAN keeps a duplicated name
		}
		s.lsVLAN[name], s.vlanLS[v] = v, name
	}
}

// vniLocked returns the VLAN's VNI when the device maps exactly one.
func (s *session) vniLocked(vlan int) (int, bool) {
	fs := s.st.lookup(FactVNI, vlan, "")
	if len(fs) == 0 {
		return 0, false
	}
	for _, f := range fs[1:] {
		if f.Value != fs[0].Value {
			return 0, false // ambiguous: report none, so the controller rewrites it
		}
	}
	n, err := strconv.Atoi(fs[0].Value)
	return n, err == nil
}

func (s *session) tunnelIPsLocked() []string {
	if s.opts.TunnelIP != "" {
		return []string{s.opts.TunnelIP}
	}
	var ips []string
	for _, f := range s.st.list(FactTunnelIP, 0) {
		if !slices.Contains(ips, f.Value) {
			ips = append(ips, f.Value)
		}
	}
	return ips
}

// view gives Translate the observed state; the caller holds mu.
type view struct{ s *session }

func (v view) VLAN(ls string) (int, bool) { id, ok := v.s.lsVLAN[ls]; return id, ok }
func (v view) VNI(vlan int) (int, bool)   { return v.s.vniLocked(vlan) }
func (v view) Lookup(kind FactKind, vlan int, key string) []Sourced {
	return v.s.st.lookup(kind, vlan, key)
}
func (v view) List(kind FactKind, vlan int) []Sourced { return v.s.st.list(kind, vlan) }

func (s *session) PhysicalSwitches() []vtep.PhysicalSwitch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := vtep.PhysicalSwitch{Name: s.opts.SwitchName, TunnelIPs: s.tunnelIPsLocked()}
	ports := map[string]map[int]string{}
	bind := func(port string, tag int, ls string) {
		if ports[port] == nil {
			ports[port] = map[int]string{}
		}
		ports[port][tag] = ls
	}
	if len(s.opts.Bindings) > 0 {
		for _, b := range s.opts.Bindings {
			bind(b.Port, b.Tag, b.LS)
		}
	} else {
		for _, v := range s.st.vlans(FactBinding) {
			ls, ok := s.vlanLS[v]
			if !ok {
				continue
			}
			for _, f := range s.st.list(FactBinding, v) {
				if tag, err := strconv.Atoi(f.Value); err == nil {
					bind(f.Key, tag, ls)
				}
			}
		}
	}
	for _, p := range sortedKeys(ports) {
		ps.Ports = append(ps.Ports, vtep.Port{Name: p, Bindings: ports[p]})
	}
	return []vtep.PhysicalSwitch{ps}
}

func (s *session) lsLocked(name string) (vtep.LogicalSwitch, bool) {
	v, ok := s.lsVLAN[name]
	if !ok {
		return vtep.LogicalSwitch{}, false
	}
	ls := vtep.LogicalSwitch{Name: name, ReplicationMode: vtep.ReplicationSourceNode}
	if n, ok := s.vniLocked(v); ok {
		ls.VNI = &n
	} else if s.vniZero[name] && len(s.st.lookup(FactVNI, v, "")) == 0 {
		zero := 0
		ls.VNI = &zero
	}
	return ls, true
}

func (s *session) LogicalSwitches() []vtep.LogicalSwitch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]vtep.LogicalSwitch, 0, len(s.lsVLAN))
	for _, name := range sortedKeys(s.lsVLAN) {
		ls, _ := s.lsLocked(name)
		out = append(out, ls)
	}
	return out
}

func (s *session) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lsLocked(name)
}

// macFacts looks a MAC entry up; the caller holds mu.
func (s *session) macFacts(kind FactKind, k vtep.MACKey) []Sourced {
	v, ok := s.lsVLAN[k.LS]
	if !ok {
		return nil
	}
	mac, ok := normMAC(k.MAC)
	if !ok {
		return nil
	}
	return s.st.lookup(kind, v, mac)
}

func (s *session) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fs := s.macFacts(FactRemote, k)
	if len(fs) == 0 {
		return vtep.UcastMAC{}, false
	}
	u := vtep.UcastMAC{MACKey: k, Locator: fs[0].Value, Duplicates: len(fs) - 1}
	if sh, ok := s.ucastIP[k]; ok && sh[0] == u.Locator {
		u.IP = sh[1]
	}
	return u, true
}

func (s *session) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fs := s.macFacts(FactLearned, k)
	if len(fs) == 0 {
		return vtep.UcastMAC{}, false
	}
	u := vtep.UcastMAC{MACKey: k, Duplicates: len(fs) - 1}
	if ips := s.tunnelIPsLocked(); len(ips) > 0 {
		u.Locator = ips[0]
	}
	return u, true
}

func (s *session) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	if k.MAC != vtep.UnknownDst {
		return vtep.McastMAC{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.lsVLAN[k.LS]
	if !ok {
		return vtep.McastMAC{}, false
	}
	var locs []string
	for _, f := range s.st.list(FactFlood, v) {
		locs = append(locs, f.Key)
	}
	if len(locs) == 0 {
		return vtep.McastMAC{}, false
	}
	return vtep.McastMAC{MACKey: k, Locators: vtep.NormalizeLocators(locs)}, true
}

// McastLocal: the adapters report no switch-learned multicast groups.
func (s *session) McastLocal(vtep.MACKey) (vtep.McastMAC, bool) { return vtep.McastMAC{}, false }

func (s *session) Entries(kind vtep.Kind) []vtep.MACKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var fk FactKind
	switch kind {
	case vtep.KindUcastRemote:
		fk = FactRemote
	case vtep.KindMcastRemote:
		fk = FactFlood
	case vtep.KindUcastLocal:
		fk = FactLearned
	default:
		return nil
	}
	var out []vtep.MACKey
	for _, v := range s.st.vlans(fk) {
		ls, ok := s.vlanLS[v]
		if !ok {
			continue
		}
		if fk == FactFlood {
			out = append(out, vtep.MACKey{LS: ls, MAC: vtep.UnknownDst})
			continue
		}
		for _, mac := range sortedKeys(s.st.keys[kv{fk, v}]) {
			out = append(out, vtep.MACKey{LS: ls, MAC: mac})
		}
	}
	return out
}

// keysLocked maps changed facts to reconcile keys. A change of the
// logical switch ↔ VLAN map (a VLAN renamed, added or removed) asks for a
// resync: every entry key of the VLAN changed.
func (s *session) keysLocked(facts []Fact) []vtep.Key {
	var out []vtep.Key
	remap := false
	for _, f := range facts {
		if f.Kind == FactVLAN && s.opts.LogicalSwitches == nil {
			remap = true
		}
	}
	if remap {
		before := s.vlanLS
		s.remapLocked()
		if !mapsEqualIS(before, s.vlanLS) {
			return []vtep.Key{{Kind: vtep.KindResync}}
		}
	}
	for _, f := range facts {
		ls, ok := s.vlanLS[f.VLAN]
		switch f.Kind {
		case FactTunnelIP, FactBinding:
			out = append(out, vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: s.opts.SwitchName})
		case FactVLAN, FactVNI:
			if ok {
				out = append(out, vtep.LogicalSwitchKey(ls))
			}
		case FactFlood:
			if ok {
				out = append(out, vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}))
			}
		case FactRemote:
			if ok {
				out = append(out, vtep.UcastRemoteKey(vtep.MACKey{LS: ls, MAC: f.Key}))
			}
		case FactLearned:
			if ok {
				out = append(out, vtep.Key{Kind: vtep.KindUcastLocal, Name: ls, MAC: f.Key})
			}
		}
	}
	slices.SortFunc(out, func(a, b vtep.Key) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.MAC, b.MAC)
	})
	return slices.Compact(out)
}

func mapsEqualIS(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (s *session) emit(keys []vtep.Key) {
	for _, k := range keys {
		s.notify(k)
	}
}

// Apply writes the changeset with one gNMI Set. It checks everything
// first: malformed values, unknown logical switches (ErrInvalid),
// replication modes and multicast groups the devices lack
// (ErrUnsupported) and the remote-MAC limit (ErrLimit); entries that
// already hold are left out of the Set.
func (s *session) Apply(ctx context.Context, cs *vtep.Changeset) error {
	if err := drivers.ValidateChangeset(cs); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply %s: %w", cs, context.Cause(ctx))
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.RLock()
	cl, up, st := s.client, s.connected, s.status
	err := s.checkLocked(cs)
	s.mu.RUnlock()
	if !up {
		return fmt.Errorf("gNMI %s: %w", st, drivers.ErrDisconnected)
	}
	if err != nil {
		return err
	}
	work := &vtep.Changeset{LogicalSwitches: cs.LogicalSwitches, UcastRemote: cs.UcastRemote}
	for _, c := range cs.McastRemote {
		if c.Key.MAC == vtep.UnknownDst {
			work.McastRemote = append(work.McastRemote, c)
		} // other groups can only be deletes here: nothing to delete
	}
	s.mu.RLock()
	req, edits, err := s.ad.Translate(work, view{s}, s.cfg)
	s.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("translate %s: %w: %w", work, err, drivers.ErrInvalid)
	}
	if len(req.Delete)+len(req.Replace)+len(req.Update) > 0 {
		req.Prefix = &gnmipb.Path{Target: s.opts.Target}
		if _, err := cl.Set(ctx, req); err != nil {
			return s.setError(ctx, work, err)
		}
	}
	s.mu.Lock()
	var facts []Fact
	for _, e := range edits {
		gone, came := s.st.setRow(e.ID, e.Row)
		facts = append(append(facts, gone...), came...)
	}
	for _, c := range work.LogicalSwitches {
		s.vniZero[c.Name] = c.VNI != nil && *c.VNI == 0
	}
	for _, c := range work.UcastRemote {
		if c.Set != nil && c.Set.IP != "" {
			s.ucastIP[c.Key] = [2]string{c.Set.Locator, c.Set.IP}
		} else {
			delete(s.ucastIP, c.Key)
		}
	}
	keys := append(s.keysLocked(facts), changedKeys(cs)...)
	s.mu.Unlock()
	s.emit(keys)
	return nil
}

// changedKeys names every entry of a changeset (shadowed fields change
// without a device write, and are notified all the same).
func changedKeys(cs *vtep.Changeset) []vtep.Key {
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

// checkLocked runs the checks that need the observed state; the caller
// holds mu.
func (s *session) checkLocked(cs *vtep.Changeset) error {
	var errs []error
	known := func(ls string) bool { _, ok := s.lsVLAN[ls]; return ok }
	for _, c := range cs.UcastRemote {
		if !known(c.Key.LS) {
			errs = append(errs, fmt.Errorf("ucast %s: no logical switch %q on the device: %w", c.Key, c.Key.LS, drivers.ErrInvalid))
		}
	}
	for _, c := range cs.McastRemote {
		if !known(c.Key.LS) {
			errs = append(errs, fmt.Errorf("mcast %s: no logical switch %q on the device: %w", c.Key, c.Key.LS, drivers.ErrInvalid))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, c := range cs.LogicalSwitches {
		if !s.SupportsMode(c.ReplicationMode) {
			return fmt.Errorf("logical switch %q: replication mode %s: the devices replicate to every flood-list member (source_node) only: %w",
				c.Name, c.ReplicationMode, drivers.ErrUnsupported)
		}
	}
	for _, c := range cs.McastRemote {
		if !s.Supports(vtep.McastRemoteKey(c.Key)) && c.Set != nil {
			return fmt.Errorf("mcast %s: the %s adapter has no remote multicast MAC entries (multicast is flooded with BUM traffic): %w",
				c.Key, s.ad.Name(), drivers.ErrUnsupported)
		}
	}
	return s.checkLimitLocked(cs)
}

// checkLimitLocked enforces MaxRemoteMACs per logical switch: distinct
// remote MACs, the flood list counting as one.
func (s *session) checkLimitLocked(cs *vtep.Changeset) error {
	max := s.opts.MaxRemoteMACs
	if max <= 0 {
		return nil
	}
	delta := map[string]map[string]bool{} // LS → MAC → present after cs
	for _, c := range cs.UcastRemote {
		if delta[c.Key.LS] == nil {
			delta[c.Key.LS] = map[string]bool{}
		}
		mac, _ := normMAC(c.Key.MAC)
		delta[c.Key.LS][mac] = c.Set != nil
	}
	for _, c := range cs.McastRemote {
		if c.Key.MAC == vtep.UnknownDst {
			if delta[c.Key.LS] == nil {
				delta[c.Key.LS] = map[string]bool{}
			}
			delta[c.Key.LS][vtep.UnknownDst] = c.Set != nil
		}
	}
	for ls, d := range delta {
		v := s.lsVLAN[ls]
		n := len(s.st.keys[kv{FactRemote, v}])
		if len(s.st.keys[kv{FactFlood, v}]) > 0 {
			n++
		}
		for mac, present := range d {
			had := len(s.st.keys[kv{FactFlood, v}]) > 0
			if mac != vtep.UnknownDst {
				had = s.st.keys[kv{FactRemote, v}][mac] > 0
			}
			switch {
			case present && !had:
				n++
			case !present && had:
				n--
			}
		}
		if n > max {
			return fmt.Errorf("logical switch %q would hold %d remote MACs, at most %d: %w", ls, n, max, drivers.ErrLimit)
		}
	}
	return nil
}

// setError classifies a failed Set.
func (s *session) setError(ctx context.Context, cs *vtep.Changeset, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("gNMI Set of %s: %w", cs, context.Cause(ctx))
	}
	switch status.Code(err) {
	case codes.ResourceExhausted:
		return fmt.Errorf("gNMI Set of %s: %w: %w", cs, err, drivers.ErrLimit)
	case codes.Unavailable, codes.Canceled:
		return fmt.Errorf("gNMI Set of %s: %w: %w", cs, err, drivers.ErrDisconnected)
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.OutOfRange, codes.AlreadyExists, codes.Unimplemented:
		return fmt.Errorf("gNMI Set of %s rejected: %w: %w", cs, err, drivers.ErrInvalid)
	}
	return fmt.Errorf("gNMI Set of %s: %w", cs, err)
}

// errSyncTimeout ends a connection whose initial sync took too long.
var errSyncTimeout = errors.New("initial sync timed out")
