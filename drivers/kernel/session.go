package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

type connector struct {
	opts Options
	log  *slog.Logger
}

// Timing of the event loop.
const (
	// reloadDelay batches the events that ask for a reload.
	reloadDelay = 50 * time.Millisecond
	// resubscribeBackoff is the first wait before resubscribing after a
	// failure; it doubles up to resubscribeMax.
	resubscribeBackoff = 50 * time.Millisecond
	resubscribeMax     = 5 * time.Second
	// socketTimeout bounds every netlink request.
	socketTimeout = 10 * time.Second
)

// session programs one network namespace.
type session struct {
	opts   *Options
	log    *slog.Logger
	notify func(vtep.Key)
	ns     netns.NsHandle
	h      *netlink.Handle
	id     string

	cancel context.CancelFunc
	done   chan struct{} // closed when the event loop has stopped

	applyMu sync.Mutex // serialises Apply
	// loadMu serialises loads and the incremental updates of learned
	// MACs, so a load that started later always stores later and an
	// event never overwrites a newer load with older news.
	loadMu      sync.Mutex
	loadStarted atomic.Int64 // UnixNano of the last load's start

	faultMu sync.Mutex        // guards faults
	faults  map[string]string // bridge and port set-up failures: what → error
	// faultsDirty: faults changed since the last reload's notifications.
	faultsDirty atomic.Bool

	mu        sync.RWMutex // guards v
	v         *view
	connected atomic.Bool
	closed    atomic.Bool
	restarts  atomic.Int64 // event subscriptions restarted
}

// Connect opens the namespace, subscribes to its link and neighbour
// events, makes the bridges and enslaves the ports (only what is missing:
// existing state is adopted as it is), loads the state and notifies
// KindResync.
func (c *connector) Connect(ctx context.Context, notify func(vtep.Key)) (drivers.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("connect: %w", context.Cause(ctx))
	}
	ns, err := openNetns(c.opts.Netns)
	if err != nil {
		return nil, err
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netlink in netns %s: %w", c.nsName(), err)
	}
	_ = h.SetSocketTimeout(socketTimeout)
	s := &session{
		opts:   &c.opts,
		log:    c.log,
		notify: notify,
		ns:     ns,
		h:      h,
		id:     "kernel:" + machineID() + ":" + c.opts.Switch,
		done:   make(chan struct{}),
	}
	fail := func(err error) (drivers.Session, error) {
		h.Close()
		ns.Close()
		return nil, err
	}
	sub, err := s.subscribe()
	if err != nil {
		return fail(fmt.Errorf("subscribe to netlink events in netns %s: %w", c.nsName(), err))
	}
	if err := s.ensureAll(ctx); err != nil {
		sub.close()
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		sub.close()
		return fail(fmt.Errorf("connect: %w", context.Cause(ctx)))
	}
	if err := s.reload(); err != nil {
		sub.close()
		return fail(fmt.Errorf("read netns %s: %w", c.nsName(), err))
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.connected.Store(true)
	go s.run(runCtx, sub)
	s.log.Info("kernel switch connected", "switch", c.opts.Switch, "netns", c.nsName(), "logical_switches", len(c.opts.Ports))
	notify(vtep.Key{Kind: vtep.KindResync})
	return s, nil
}

func (c *connector) nsName() string {
	if c.opts.Netns == "" {
		return "(own)"
	}
	return c.opts.Netns
}

// openNetns opens "" (the daemon's own), a name under /run/netns or a
// path.
func openNetns(spec string) (netns.NsHandle, error) {
	var ns netns.NsHandle
	var err error
	switch {
	case spec == "":
		ns, err = netns.GetFromPath("/proc/self/ns/net")
	case strings.Contains(spec, "/"):
		ns, err = netns.GetFromPath(spec)
	default:
		ns, err = netns.GetFromPath("/run/netns/" + spec)
	}
	if err != nil {
		return ns, fmt.Errorf("open netns %q: %w", spec, err)
	}
	return ns, nil
}

// machineID names the host in the session's ID.
func machineID() string {
	if b, err := os.ReadFile("/etc/machine-id"); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b))
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "unknown"
}

func (s *session) ID() string { return s.id }

// Connected reports whether the event subscriptions are up.
func (s *session) Connected() bool { return s.connected.Load() && !s.closed.Load() }

func (s *session) Status() string {
	if s.closed.Load() {
		return "closed"
	}
	s.mu.RLock()
	n, withVNI := len(s.v.ls), 0
	for _, l := range s.v.ls {
		if v := l.observedVNI(); v != nil && *v != 0 {
			withVNI++
		}
	}
	s.mu.RUnlock()
	ev := "events up"
	if !s.connected.Load() {
		ev = "events resubscribing"
	}
	ns := s.opts.Netns
	if ns == "" {
		ns = "(own)"
	}
	return fmt.Sprintf("netns %s: %d logical switches, %d with a VNI, %s, %d resubscriptions", ns, n, withVNI, ev, s.restarts.Load())
}

// Close stops the event loop and releases the namespace. The kernel
// state stays as it is.
func (s *session) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	<-s.done
	s.applyMu.Lock() // wait for an Apply in progress
	s.h.Close()
	s.ns.Close()
	s.applyMu.Unlock()
	return nil
}

// Capabilities: source-node replication only (the kernel replicates to
// every flood destination itself), the configured MAC cap, and remote
// MACs live in the VXLAN device.
func (s *session) Capabilities() drivers.Capabilities {
	s.mu.RLock()
	ageing := s.v.ageing
	s.mu.RUnlock()
	return drivers.Capabilities{
		ReplicationModes:  []string{vtep.ReplicationSourceNode},
		MaxRemoteMACs:     s.opts.MaxRemoteMACs,
		RemoteMACsNeedVNI: true,
		LearnedMACAging:   ageing,
	}
}

// --- reads ---

func (s *session) PhysicalSwitches() []vtep.PhysicalSwitch {
	ports := map[string]map[int]string{}
	for ls, pbs := range s.opts.Ports {
		for _, pb := range pbs {
			if ports[pb.Interface] == nil {
				ports[pb.Interface] = map[int]string{}
			}
			ports[pb.Interface][pb.VLAN] = ls
		}
	}
	ps := vtep.PhysicalSwitch{
		Name:        s.opts.Switch,
		Description: "Linux kernel VXLAN",
		TunnelIPs:   []string{s.opts.TunnelIP.String()},
	}
	for _, name := range slices.Sorted(maps.Keys(ports)) {
		ps.Ports = append(ps.Ports, vtep.Port{Name: name, Bindings: ports[name]})
	}
	s.mu.RLock()
	for _, m := range s.v.missing {
		ps.Faults = append(ps.Faults, "port_missing:"+m)
	}
	s.mu.RUnlock()
	s.faultMu.Lock()
	for _, what := range slices.Sorted(maps.Keys(s.faults)) {
		ps.Faults = append(ps.Faults, what+": "+s.faults[what])
	}
	s.faultMu.Unlock()
	return []vtep.PhysicalSwitch{ps}
}

func (s *session) LogicalSwitches() []vtep.LogicalSwitch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]vtep.LogicalSwitch, 0, len(s.v.ls))
	for _, name := range slices.Sorted(maps.Keys(s.v.ls)) {
		out = append(out, s.v.ls[name].logicalSwitch())
	}
	return out
}

func (s *session) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.v.ls[name]
	if !ok {
		return vtep.LogicalSwitch{}, false
	}
	return l.logicalSwitch(), true
}

func (s *session) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.v.ls[k.LS]
	if !ok {
		return vtep.UcastMAC{}, false
	}
	u, ok := l.ucastRemote(kernelMAC(k.MAC))
	u.MACKey = k
	return u, ok
}

func (s *session) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.v.ls[k.LS]
	if !ok {
		return vtep.McastMAC{}, false
	}
	m, ok := l.mcastRemote(kernelMAC(k.MAC))
	m.MACKey = k
	return m, ok
}

// UcastLocal: a MAC the bridge learned on one of its ports (not the VXLAN
// device), located at the switch's tunnel IP.
func (s *session) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.v.ls[k.LS]
	if !ok || !l.local(kernelMAC(k.MAC)) {
		return vtep.UcastMAC{}, false
	}
	return vtep.UcastMAC{MACKey: k, Locator: s.opts.TunnelIP.String()}, true
}

// McastLocal: the driver does not report multicast groups snooped by the
// bridge.
func (s *session) McastLocal(vtep.MACKey) (vtep.McastMAC, bool) { return vtep.McastMAC{}, false }

func (s *session) Entries(kind vtep.Kind) []vtep.MACKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []vtep.MACKey
	for name, l := range s.v.ls {
		switch kind {
		case vtep.KindUcastRemote:
			for mac := range l.vx {
				if isUnicast(mac) {
					out = append(out, vtep.MACKey{LS: name, MAC: mac})
				}
			}
		case vtep.KindMcastRemote:
			for mac := range l.vx {
				if !isUnicast(mac) {
					out = append(out, vtep.MACKey{LS: name, MAC: modelMAC(mac)})
				}
			}
		case vtep.KindUcastLocal:
			for mac := range l.br {
				if l.local(mac) {
					out = append(out, vtep.MACKey{LS: name, MAC: mac})
				}
			}
		}
	}
	return out
}

// --- loading and events ---

// reloadBetweenApplies is reload for the event loop: it waits for an
// Apply in progress, so that the view never shows half of one (a remote
// MAC's VXLAN entry without its bridge entry reads as a duplicate). Apply
// reloads by itself when it is done.
func (s *session) reloadBetweenApplies() error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.reload()
}

// reload reads the whole state, replaces the view and notifies what
// changed.
func (s *session) reload() error {
	s.loadMu.Lock()
	s.loadStarted.Store(time.Now().UnixNano())
	v, err := load(s.h, s.opts)
	if err != nil {
		s.loadMu.Unlock()
		return err
	}
	s.mu.Lock()
	old := s.v
	s.v = v
	s.mu.Unlock()
	var keys []vtep.Key
	if old != nil {
		keys = diffKeys(old, v, s.opts.Switch)
	}
	if s.faultsDirty.Swap(false) && old != nil {
		keys = append(keys, vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: s.opts.Switch})
	}
	s.loadMu.Unlock()
	for _, k := range keys {
		s.notify(k)
	}
	return nil
}

// subscription is one pair of netlink event subscriptions.
type subscription struct {
	links  chan netlink.LinkUpdate
	neighs chan netlink.NeighUpdate
	done   chan struct{}
	nLinks bool // the link subscription started (its channel will close)
	nNeigh bool
}

func (s *session) subscribe() (*subscription, error) {
	sub := &subscription{
		links:  make(chan netlink.LinkUpdate, 256),
		neighs: make(chan netlink.NeighUpdate, 4096),
		done:   make(chan struct{}),
	}
	onErr := func(err error) {
		if !s.closed.Load() {
			s.log.Debug("netlink event socket", "err", err)
		}
	}
	var err error
	for _, force := range []bool{true, false} {
		err = netlink.LinkSubscribeWithOptions(sub.links, sub.done, netlink.LinkSubscribeOptions{
			Namespace: &s.ns, ErrorCallback: onErr,
			ReceiveBufferSize: s.opts.EventBufferSize, ReceiveBufferForceSize: force && s.opts.EventBufferSize > 0,
		})
		if err == nil {
			sub.nLinks = true
			err = netlink.NeighSubscribeWithOptions(sub.neighs, sub.done, netlink.NeighSubscribeOptions{
				Namespace: &s.ns, ErrorCallback: onErr,
				ReceiveBufferSize: s.opts.EventBufferSize, ReceiveBufferForceSize: force && s.opts.EventBufferSize > 0,
			})
			if err == nil {
				sub.nNeigh = true
				return sub, nil
			}
		}
		sub.close()
		sub = &subscription{links: make(chan netlink.LinkUpdate, 256), neighs: make(chan netlink.NeighUpdate, 4096), done: make(chan struct{})}
	}
	return nil, err
}

// close stops both subscriptions and waits for their goroutines.
func (sub *subscription) close() {
	close(sub.done)
	if sub.nLinks {
		for range sub.links {
		}
	}
	if sub.nNeigh {
		for range sub.neighs {
		}
	}
}

// run is the event loop: learned MACs update the view directly; anything
// else schedules a reload; a dead subscription is replaced, then the
// state reloaded and KindResync notified.
func (s *session) run(ctx context.Context, sub *subscription) {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	pending := false
	// lastDirty is when the last event that needs a reload was handled:
	// a load that started after it already saw that event's change.
	var lastDirty int64
	markDirty := func() {
		lastDirty = time.Now().UnixNano()
		if !pending {
			pending = true
			timer.Reset(reloadDelay)
		}
	}
	for {
		dead := false
		select {
		case <-ctx.Done():
			sub.close()
			return
		case u, ok := <-sub.neighs:
			if !ok {
				dead = true
				break
			}
			if s.onNeigh(u) {
				markDirty()
			}
		case _, ok := <-sub.links:
			if !ok {
				dead = true
				break
			}
			markDirty()
		case <-timer.C:
			pending = false
			if lastDirty != 0 && s.loadStarted.Load() <= lastDirty {
				if err := s.reloadBetweenApplies(); err != nil {
					s.log.Warn("kernel state reload failed; will retry", "switch", s.opts.Switch, "err", err)
					markDirty()
					continue
				}
			}
			lastDirty = 0
		}
		if !dead {
			continue
		}
		s.connected.Store(false)
		s.restarts.Add(1)
		sub.close()
		s.log.Warn("kernel event subscription died (events lost); resubscribing and resyncing", "switch", s.opts.Switch)
		sub = s.resubscribe(ctx)
		if sub == nil {
			return
		}
		for {
			err := s.reloadBetweenApplies()
			if err == nil {
				break
			}
			s.log.Warn("kernel state reload failed; will retry", "switch", s.opts.Switch, "err", err)
			select {
			case <-ctx.Done():
				sub.close()
				return
			case <-time.After(resubscribeBackoff):
			}
		}
		lastDirty = 0
		s.connected.Store(true)
		s.notify(vtep.Key{Kind: vtep.KindResync})
	}
}

// resubscribe subscribes again with capped backoff; nil when ctx is done.
func (s *session) resubscribe(ctx context.Context) *subscription {
	wait := resubscribeBackoff
	for {
		sub, err := s.subscribe()
		if err == nil {
			return sub
		}
		s.log.Warn("netlink resubscribe failed; will retry", "switch", s.opts.Switch, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, resubscribeMax)
	}
}

// onNeigh applies a learned-MAC event to the view and notifies it. It
// returns true when the event needs a reload instead: anything that is not
// a learned entry (the driver's own static and VXLAN entries, ARP
// entries), or that would replace a static entry.
func (s *session) onNeigh(u netlink.NeighUpdate) bool {
	n := u.Neigh
	s.mu.RLock()
	v := s.v
	ours := v.owner[n.LinkIndex] != nil || v.owner[n.MasterIndex] != nil
	s.mu.RUnlock()
	switch {
	case !ours:
		return false
	case n.Family != unix.AF_BRIDGE || n.Flags&netlink.NTF_SELF != 0 || n.MasterIndex == 0:
		return true
	}
	e := brEntry{port: n.LinkIndex, state: n.State, flags: n.Flags}
	if !e.learned() {
		return true
	}
	mac := strings.ToLower(n.HardwareAddr.String())
	s.loadMu.Lock() // no load in between: see loadMu
	defer s.loadMu.Unlock()
	s.mu.Lock()
	l := s.v.owner[n.MasterIndex]
	if l == nil || l.bridge != n.MasterIndex || n.LinkIndex == l.bridge || len(mac) != 17 {
		s.mu.Unlock()
		return l != nil
	}
	cur, has := l.br[mac]
	wasLocal := l.local(mac)
	switch {
	case u.Type == unix.RTM_NEWNEIGH && e.port != l.vxlan && (!has || cur.learned()):
		l.br[mac] = e
	case u.Type == unix.RTM_DELNEIGH && has && cur.learned() && cur.port == e.port:
		delete(l.br, mac)
	case u.Type == unix.RTM_DELNEIGH && !has:
		// already gone
	default:
		s.mu.Unlock()
		return true
	}
	isLocal := l.local(mac)
	s.mu.Unlock()
	if wasLocal != isLocal {
		s.notify(vtep.Key{Kind: vtep.KindUcastLocal, Name: l.name, MAC: mac})
	}
	return false
}

// errClosed is returned by Apply after Close.
var errClosed = errors.New("kernel session closed")
