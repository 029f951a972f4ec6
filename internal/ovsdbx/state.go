package ovsdbx

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ConnState is what a self-healing connection reports about itself:
// "connecting", "connected" or "backoff", the endpoint, the last error and
// how many connections it has made. Both database clients (Conn here, the
// southbound's in package sbsync) keep one. The zero value is
// "connecting".
type ConnState struct {
	mu        sync.Mutex
	state     string
	endpoint  string
	lastErr   error
	connects  int
	connected time.Time
}

// Set records a state; ep and err are kept unless given.
func (s *ConnState) Set(state, ep string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = state
	if ep != "" {
		s.endpoint = ep
	}
	if err != nil {
		s.lastErr = err
	}
	if state == "connected" {
		s.connects++
		s.connected = time.Now()
	}
}

// Status is a one-line summary for unixctl and logs.
func (s *ConnState) Status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	state := s.stateLocked()
	if state == "connected" {
		return fmt.Sprintf("connected %s (%s, %d connects)", s.endpoint, time.Since(s.connected).Round(time.Second), s.connects)
	}
	if s.lastErr != nil {
		return fmt.Sprintf("%s (last error: %v)", state, s.lastErr)
	}
	return state
}

// State is "connecting", "connected" or "backoff".
func (s *ConnState) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

// Connection returns the endpoint and the number of connections made while
// connected, and "", 0 otherwise.
func (s *ConnState) Connection() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stateLocked() != "connected" {
		return "", 0
	}
	return s.endpoint, s.connects
}

func (s *ConnState) stateLocked() string {
	if s.state == "" {
		return "connecting"
	}
	return s.state
}

// Rotation orders a connection's endpoints for the next attempt. After a
// failed attempt the first endpoint moves on: clients try the endpoints in
// order under one timeout, so a member that drops packets would otherwise
// cost that whole timeout on every attempt.
type Rotation struct{ first atomic.Int64 }

// Order returns eps starting at the current first endpoint.
func (r *Rotation) Order(eps []string) []string {
	n := len(eps)
	if n < 2 {
		return eps
	}
	i := int(r.first.Load() % int64(n))
	return append(slices.Clone(eps[i:]), eps[:i]...)
}

// Failed moves the first endpoint on.
func (r *Rotation) Failed() { r.first.Add(1) }

// Session is one connection made by Reconnect's connect: Serve keeps it
// until it drops or ctx is done (and cleans it up), returning why it
// ended.
type Session func(ctx context.Context) error

// Reconnect keeps a connection up until ctx is done, and returns nil then:
// connect; serve the connection until it drops; wait minBackoff; again. A
// failed connect waits minBackoff, doubling up to maxBackoff (0: 100 ms
// and 8 s). Every state
// goes to st and every failure to log (db names the database); lost, if
// set, hears why a served connection ended.
func Reconnect(ctx context.Context, db string, log *slog.Logger, st *ConnState, minBackoff, maxBackoff time.Duration,
	connect func(context.Context) (Session, error), lost func(error)) error {
	if minBackoff <= 0 {
		minBackoff = 100 * time.Millisecond
	}
	if maxBackoff <= 0 {
		maxBackoff = 8 * time.Second
	}
	delay := minBackoff
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for {
		serve, err := connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			st.Set("backoff", "", err)
			log.Warn("ovsdb connection failed; retrying", "db", db, "retry_in", delay, "err", err)
			if !wait(delay) {
				return nil
			}
			delay = min(delay*2, maxBackoff)
			continue
		}
		delay = minBackoff
		err = serve(ctx)
		if ctx.Err() != nil {
			return nil
		}
		st.Set("backoff", "", err)
		log.Warn("ovsdb connection lost; reconnecting", "db", db, "err", err)
		if lost != nil {
			lost(err)
		}
		if !wait(minBackoff) {
			return nil
		}
	}
}
