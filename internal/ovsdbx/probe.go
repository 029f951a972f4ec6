package ovsdbx

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Probe is a connection's inactivity probe, as OVS's: after an interval
// with no traffic, send an echo; give up on the peer only after an
// interval with no sign of life at all. Both database clients use it.
type Probe struct{ iv atomic.Int64 } // interval, ns; 0: off

// SetInterval changes the interval; 0 disables the probe, other values
// below 1 s are raised to 1 s (as OVS does).
func (p *Probe) SetInterval(d time.Duration) {
	if d > 0 && d < time.Second {
		d = time.Second
	}
	p.iv.Store(int64(d))
}

// Init sets the configured interval as it is (the 1 s floor applies to
// changes the switch asks for, through SetInterval).
func (p *Probe) Init(d time.Duration) { p.iv.Store(int64(d)) }

// Interval is the current interval.
func (p *Probe) Interval() time.Duration { return time.Duration(p.iv.Load()) }

// Timer returns a serve loop's probe timer: one per connection, used by
// that loop only.
func (p *Probe) Timer() *ProbeTimer { return &ProbeTimer{p: p} }

// ProbeTimer fires once per interval. It is kept across the serve loop's
// turns (re-arming it on every turn would postpone the probe forever on a
// busy connection) and re-armed when the interval changes.
type ProbeTimer struct {
	p     *Probe
	tick  <-chan time.Time
	armed time.Duration
}

// C is the channel to wait on this turn (nil while the probe is off).
func (t *ProbeTimer) C() <-chan time.Time {
	if iv := t.p.Interval(); iv != t.armed || t.tick == nil {
		t.tick, t.armed = nil, iv
		if iv > 0 {
			t.tick = time.After(iv)
		}
	}
	return t.tick
}

// Fired probes the connection after C fired: nothing when there was
// traffic within the interval (last is when the connection last showed
// life); otherwise echo, and an error only when an echo failed and
// nothing at all came in meanwhile (a large update being decoded on the
// goroutine that answers echo is not a dead peer).
func (t *ProbeTimer) Fired(ctx context.Context, last func() time.Time, echo func(context.Context) error) error {
	iv := t.armed
	t.tick = nil // re-armed by the next C
	if time.Since(last()) < iv {
		return nil
	}
	for {
		before := last()
		pctx, cancel := context.WithTimeout(ctx, iv)
		err := echo(pctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if last().Equal(before) {
			return fmt.Errorf("no reply to inactivity probe within %s: %w", iv, err)
		}
	}
}
