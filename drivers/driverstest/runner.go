package driverstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// Timeouts of the suite.
const (
	// opTimeout bounds one Connect or Apply.
	opTimeout = 60 * time.Second
	// defaultEventTimeout bounds the wait for a notification or a
	// recovery (see Patience).
	defaultEventTimeout = 20 * time.Second
	// promptly is how soon a cancelled or closed operation must return.
	promptly = 5 * time.Second
)

// runner is a case's testing.T stand-in: it works both under Run and
// Check. Only the case's own goroutine may call Fatalf or Skipf.
type runner struct {
	ctx          context.Context
	eventTimeout time.Duration
	// helper is testing.T.Helper under Run (failures then point at the
	// case's line), a no-op under Check.
	helper   func()
	errorf   func(string)
	logf     func(string)
	cleanups []func()
}

type abortCase struct{}

type skipCase struct{ why string }

func (r *runner) Errorf(format string, args ...any) {
	r.helper()
	r.errorf(fmt.Sprintf(format, args...))
}

func (r *runner) Logf(format string, args ...any) {
	r.helper()
	r.logf(fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the case.
func (r *runner) Fatalf(format string, args ...any) {
	r.helper()
	r.Errorf(format, args...)
	panic(abortCase{})
}

// Skipf ends the case as skipped.
func (r *runner) Skipf(format string, args ...any) {
	panic(skipCase{fmt.Sprintf(format, args...)})
}

// Cleanup registers f to run when the case ends, last registered first.
func (r *runner) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// run runs fn on d and reports whether the case was skipped.
func (r *runner) run(fn func(*env), d Device) (skipped bool, why string) {
	defer func() {
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
	}()
	defer func() {
		switch p := recover().(type) {
		case nil, abortCase:
		case skipCase:
			skipped, why = true, p.why
		default:
			panic(p)
		}
	}()
	ls := d.LogicalSwitches()
	if len(ls) < 2 {
		r.Fatalf("device names %d logical switches, want at least 2", len(ls))
	}
	fn(&env{runner: r, dev: d, ls: ls[:2]})
	return false, ""
}

// recorder captures a session's notifications. Its notify never blocks.
type recorder struct {
	mu   sync.Mutex // guards keys and wake
	keys []vtep.Key
	wake chan struct{} // closed and replaced on every key
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{})} }

func (c *recorder) notify(k vtep.Key) {
	c.mu.Lock()
	c.keys = append(c.keys, k)
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

// mark returns a position to wait from.
func (c *recorder) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

// waitAll waits until every key in want has been notified after position
// from; it returns the ones still missing at the timeout.
func (c *recorder) waitAll(ctx context.Context, from int, want []vtep.Key, timeout time.Duration) []vtep.Key {
	missing := map[vtep.Key]bool{}
	for _, k := range want {
		missing[k] = true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := from
	for {
		c.mu.Lock()
		for _, k := range c.keys[seen:] {
			delete(missing, k)
		}
		seen = len(c.keys)
		wake := c.wake
		c.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-wake:
		case <-deadline.C:
			return sortedKeys(missing)
		case <-ctx.Done():
			return sortedKeys(missing)
		}
	}
}

func sortedKeys(m map[vtep.Key]bool) []vtep.Key {
	out := make([]vtep.Key, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b vtep.Key) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		if a.Name != b.Name {
			return cmpStr(a.Name, b.Name)
		}
		return cmpStr(a.MAC, b.MAC)
	})
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// env is what a case works with: the runner, the device, the suite's two
// logical switches, and the current session with its recorder.
type env struct {
	*runner
	dev Device
	ls  []string
	s   drivers.Session
	rec *recorder
	// caps are the current session's capabilities
	// (drivers.CapabilityReporter); the zero value, which holds every
	// entry and stores every value, when it reports none.
	caps drivers.Capabilities
}

// connect opens a new session (closing it when the case ends) and makes
// it current.
func (e *env) connect() drivers.Session {
	e.helper()
	rec := newRecorder()
	ctx, cancel := context.WithTimeout(e.ctx, opTimeout)
	defer cancel()
	s, err := e.dev.Connector().Connect(ctx, rec.notify)
	if err != nil {
		e.Fatalf("Connect: %v", err)
	}
	if s == nil {
		e.Fatalf("Connect returned a nil session and no error")
	}
	closed := false
	e.Cleanup(func() {
		if !closed {
			_ = s.Close()
		}
	})
	e.s, e.rec = s, rec
	e.caps = drivers.Capabilities{}
	if cr, ok := s.(drivers.CapabilityReporter); ok {
		e.caps = cr.Capabilities()
	}
	return s
}

// closeSession closes the current session within the prompt bound.
func (e *env) closeSession() {
	e.helper()
	s := e.s
	if err := within(promptly*2, func() { _ = s.Close() }); err != nil {
		e.Fatalf("Close: %v", err)
	}
}

// within runs f and reports an error if it does not return in d (f keeps
// running in the background).
func within(d time.Duration, f func()) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("did not return within %v", d)
	}
}

// apply applies cs with the operation timeout.
func (e *env) apply(cs *vtep.Changeset) error {
	ctx, cancel := context.WithTimeout(e.ctx, opTimeout)
	defer cancel()
	return e.s.Apply(ctx, cs)
}

// mustApply applies cs and ends the case on error. ErrDisconnected is
// retried until the event timeout, as the core would after the resync.
func (e *env) mustApply(what string, cs *vtep.Changeset) {
	e.helper()
	deadline := time.Now().Add(e.eventTimeout)
	for {
		err := e.apply(cs)
		if err == nil {
			return
		}
		if errors.Is(err, drivers.ErrDisconnected) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		e.Fatalf("%s: Apply(%s): %v", what, cs, err)
	}
}

// waitNotified checks that every key in want is notified after from.
func (e *env) waitNotified(what string, from int, want []vtep.Key) {
	e.helper()
	if missing := e.rec.waitAll(e.ctx, from, want, e.eventTimeout); len(missing) > 0 {
		e.Errorf("%s: not notified within %v: %v", what, e.eventTimeout, trim(missing))
	}
}

// waitResync waits for vtep.KindResync after from.
func (e *env) waitResync(what string, from int) {
	e.helper()
	if missing := e.rec.waitAll(e.ctx, from, []vtep.Key{{Kind: vtep.KindResync}}, e.eventTimeout); len(missing) > 0 {
		e.Fatalf("%s: no %v notified within %v", what, vtep.KindResync, e.eventTimeout)
	}
}

// eventually polls cond until it holds or the event timeout passes, and returns
// cond's last message.
func (e *env) eventually(cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(e.eventTimeout)
	for {
		ok, msg := cond()
		if ok || time.Now().After(deadline) || e.ctx.Err() != nil {
			return ok, msg
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// changes reads the device's change counter, or returns false when the
// device has none.
func (e *env) changes() (uint64, bool) {
	e.helper()
	cc, ok := e.dev.(ChangeCounter)
	if !ok {
		return 0, false
	}
	n, err := cc.Changes(e.ctx)
	if err != nil {
		e.Fatalf("Changes: %v", err)
	}
	return n, true
}

// noWrites checks that the change counter did not move since before.
func (e *env) noWrites(what string, before uint64, ok bool) {
	e.helper()
	if !ok {
		return
	}
	after, _ := e.changes()
	if after != before {
		e.Errorf("%s: the device was written to (changes %d → %d), want no writes", what, before, after)
	}
}

func trim[T any](s []T) []T {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
