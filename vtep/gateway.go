package vtep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// BatchStats describes one processed batch, for metrics.
type BatchStats struct {
	Gateway string
	Keys    int
	// SwitchChanges is the number of entries applied to the switch.
	SwitchChanges int
	// Latency runs from the oldest key's enqueue to the end of the batch.
	Latency time.Duration
	// Southbound and Switch are the time spent in each side; Diff is the
	// time spent comparing desired with observed switch entries (between
	// the two).
	Southbound time.Duration
	Diff       time.Duration
	Switch     time.Duration
	Err        error
}

// GatewayOptions configure a Gateway.
type GatewayOptions struct {
	// Name identifies the gateway in logs and metrics.
	Name   string
	Logger *slog.Logger
	// BatchTimeout bounds one batch (southbound and switch writes).
	// Default 60 s.
	BatchTimeout time.Duration
	// Settle is how long the worker waits for more events after the first
	// one, so that the rows of one upstream transaction land in one batch.
	// Default 2 ms.
	Settle time.Duration
	// OnBatch, if set, is called after every batch.
	OnBatch func(BatchStats)
}

// Gateway reconciles one switch session against the southbound: the
// reconcile loop of vtepgw. Event handlers call Enqueue; Run owns
// everything else.
type Gateway struct {
	opts  GatewayOptions
	log   *slog.Logger
	sw    Switch
	sb    Southbound
	queue *Queue

	mu      sync.Mutex // guards stopped
	stopped bool
}

// NewGateway returns a gateway for sw and sb. Call Run to start it.
func NewGateway(sw Switch, sb Southbound, opts GatewayOptions) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 60 * time.Second
	}
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Millisecond
	}
	return &Gateway{
		opts:  opts,
		log:   opts.Logger,
		sw:    sw,
		sb:    sb,
		queue: NewQueue(),
	}
}

// Enqueue marks k for reconciliation. It never blocks and is safe to call
// from event handlers.
func (g *Gateway) Enqueue(k Key) { g.queue.Add(k) }

// Resync asks for a full resync of both sides.
func (g *Gateway) Resync() { g.queue.Add(Key{Kind: KindResync}) }

// Pending returns the number of keys waiting.
func (g *Gateway) Pending() int { return g.queue.Len() }

// ErrStopped is returned by calls into a gateway whose Run has returned.
var ErrStopped = errors.New("gateway stopped")

// Run processes batches until ctx is done. It returns nil on a clean stop.
func (g *Gateway) Run(ctx context.Context) error {
	defer func() {
		g.mu.Lock()
		g.stopped = true
		g.mu.Unlock()
		g.queue.Shutdown()
	}()
	for g.queue.Wait(ctx) {
		g.settle(ctx)
		keys, since := g.queue.Drain()
		if len(keys) == 0 {
			continue
		}
		g.runBatch(ctx, keys, since)
	}
	return nil
}

// settle waits until no key has arrived for opts.Settle, at most 50 ×
// Settle, so one upstream transaction becomes one batch. The bound is for
// a stream that never pauses; it must stay well above the time libovsdb
// takes to hand over the rows of one large update (5k MACs took 40 ms and
// more on a loaded 2-CPU machine, and a lower bound split that update over
// two switch transactions).
func (g *Gateway) settle(ctx context.Context) {
	deadline := time.Now().Add(50 * g.opts.Settle)
	n := g.queue.Len()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(g.opts.Settle):
		}
		m := g.queue.Len()
		if m == n {
			return
		}
		n = m
	}
}

func (g *Gateway) runBatch(ctx context.Context, keys []Key, since time.Time) {
	stats := BatchStats{Gateway: g.opts.Name, Keys: len(keys)}
	defer func() {
		if r := recover(); r != nil {
			stats.Err = fmt.Errorf("panic in reconcile: %v", r)
			g.log.Error("reconcile panicked; retrying the batch", "err", stats.Err, "stack", string(debug.Stack()))
			g.retry(keys)
		}
		stats.Latency = time.Since(since)
		if g.opts.OnBatch != nil {
			g.opts.OnBatch(stats)
		}
	}()
	if !g.sb.Ready() {
		// Not connected, or paused by a version mismatch: hold the keys.
		g.queue.AddAllAfter(keys, 500*time.Millisecond)
		return
	}
	if cs, ok := g.sw.(ConnectedSwitch); ok && !cs.Connected() {
		// The switch's reads are empty or stale: acting on them would
		// delete what it holds. Hold the keys; its reconnect resyncs.
		g.queue.AddAllAfter(keys, 500*time.Millisecond)
		return
	}
	ctx, cancel := context.WithTimeoutCause(ctx, g.opts.BatchTimeout, errors.New("reconcile batch deadline exceeded"))
	defer cancel()

	t0 := time.Now()
	more, err := g.sb.Reconcile(ctx, g.sw, keys)
	stats.Southbound = time.Since(t0)
	if errors.Is(err, ErrNotReady) {
		g.queue.AddAllAfter(keys, 500*time.Millisecond)
		return
	}
	if err != nil {
		stats.Err = err
		d := g.retry(keys)
		g.log.Warn("southbound reconcile failed; will retry", "keys", len(keys), "retry_in", d, "err", err)
		return
	}

	tDiff := time.Now()
	cs, switchKeys := g.changeset(keys, more)
	stats.Diff = time.Since(tDiff)
	if cs.Empty() {
		g.forget(keys)
		return
	}
	t1 := time.Now()
	err = g.sw.Apply(ctx, cs)
	stats.Switch = time.Since(t1)
	stats.SwitchChanges = cs.Len()
	if err != nil {
		stats.Err = err
		d := g.retry(switchKeys)
		g.log.Warn("switch apply failed; will retry", "changes", cs.Len(), "retry_in", d, "err", err)
		return
	}
	g.log.Debug("applied", "changes", cs.String(), "keys", len(keys),
		"queued", t0.Sub(since).Round(time.Microsecond), "southbound", stats.Southbound.Round(time.Microsecond), "diff", stats.Diff.Round(time.Microsecond), "switch", stats.Switch.Round(time.Microsecond))
	g.forget(keys)
	// Applying may change what the southbound wants (Port_Binding.up, for
	// example, follows the programmed VNI), so let it look again.
	for _, c := range cs.LogicalSwitches {
		g.queue.Add(Key{Kind: KindSBGroup, Name: c.Name})
	}
}

// changeset diffs every switch-desired key of the batch.
func (g *Gateway) changeset(keys, more []Key) (*Changeset, []Key) {
	set := make(map[Key]struct{}, len(keys)+len(more))
	var list []Key
	partial, _ := g.sw.(PartialSwitch)
	add := func(k Key) {
		if !k.IsSwitchDesired() || (partial != nil && !partial.Supports(k)) {
			return
		}
		if _, ok := set[k]; !ok {
			set[k] = struct{}{}
			list = append(list, k)
		}
	}
	resync := false
	for _, k := range keys {
		if k.Kind == KindResync {
			resync = true
		}
		add(k)
	}
	for _, k := range more {
		add(k)
	}
	if resync {
		// Sweep: every observed entry is checked, so rows nobody wants (or
		// whose delete we missed while disconnected) go away.
		for _, ls := range g.sw.LogicalSwitches() {
			add(LogicalSwitchKey(ls.Name))
		}
		for _, mk := range g.sw.Entries(KindUcastRemote) {
			add(UcastRemoteKey(mk))
		}
		for _, mk := range g.sw.Entries(KindMcastRemote) {
			add(McastRemoteKey(mk))
		}
	}
	cs := &Changeset{}
	if resync || slices.ContainsFunc(more, func(k Key) bool { return k.Kind == KindFaults }) ||
		slices.ContainsFunc(keys, func(k Key) bool { return k.Kind == KindFaults }) {
		fs, ok1 := g.sw.(FaultSwitch)
		src, ok2 := g.sb.(FaultSource)
		if ok1 && ok2 {
			cs.Faults = DiffFaults(src.DesiredFaults(), fs.ControllerFaults())
			if len(cs.Faults) > 0 {
				list = append(list, Key{Kind: KindFaults}) // retried with the rest
			}
		}
	}
	if resync || slices.ContainsFunc(more, func(k Key) bool { return k.Kind == KindTunnel }) ||
		slices.ContainsFunc(keys, func(k Key) bool { return k.Kind == KindTunnel }) {
		ts, ok1 := g.sw.(TunnelSwitch)
		src, ok2 := g.sb.(TunnelSource)
		if ok1 && ok2 {
			cs.Tunnels = DiffTunnels(src.DesiredTunnels(), ts.Tunnels())
			if len(cs.Tunnels) > 0 {
				list = append(list, Key{Kind: KindTunnel})
			}
		}
	}
	for _, k := range list {
		switch k.Kind {
		case KindLogicalSwitch:
			obs, ok := g.sw.LogicalSwitch(k.Name)
			if !ok {
				continue
			}
			want := g.sb.LogicalSwitch(obs)
			if partial != nil && !partial.SupportsMode(want.ReplicationMode) {
				want.ReplicationMode = ""
			}
			if ch := DiffLogicalSwitch(want, obs); ch != nil {
				cs.LogicalSwitches = append(cs.LogicalSwitches, *ch)
			}
		case KindUcastRemote:
			mk := k.MACKey()
			var want, have *UcastMAC
			if d, ok := g.sb.UcastRemote(mk); ok {
				want = &d
			}
			if o, ok := g.sw.UcastRemote(mk); ok {
				have = &o
			}
			if ch := DiffUcast(mk, want, have); ch != nil {
				cs.UcastRemote = append(cs.UcastRemote, *ch)
			}
		case KindMcastRemote:
			mk := k.MACKey()
			var want, have *McastMAC
			if d, ok := g.sb.McastRemote(mk); ok {
				want = &d
			}
			if o, ok := g.sw.McastRemote(mk); ok {
				have = &o
			}
			if ch := DiffMcast(mk, want, have); ch != nil {
				cs.McastRemote = append(cs.McastRemote, *ch)
			}
		}
	}
	return cs, list
}

func (g *Gateway) retry(keys []Key) time.Duration {
	return g.queue.RetryAll(keys)
}

func (g *Gateway) forget(keys []Key) {
	for _, k := range keys {
		g.queue.Forget(k)
	}
}
