// Package ovsdbwire is a small OVSDB client transport (RFC 7047 JSON-RPC
// over tcp:, ssl: or unix: streams) and a typed row codec for update2
// notifications, for connections whose update rate makes libovsdb's
// reflection-driven decoding and cache upkeep the daemon's main cost (the
// southbound; see docs/PERFORMANCE.md). It decodes rows straight into the
// model structs libovsdb's modelgen generates, so code reading them does
// not change.
package ovsdbwire

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Dial opens an ovsdb remote: tcp:IP:PORT, ssl:IP:PORT (with tlsConf) or
// unix:PATH.
func Dial(ctx context.Context, remote string, tlsConf *tls.Config) (net.Conn, error) {
	scheme, addr, ok := strings.Cut(remote, ":")
	if !ok || addr == "" {
		return nil, fmt.Errorf("remote %q: want tcp:IP:PORT, ssl:IP:PORT or unix:PATH", remote)
	}
	var d net.Dialer
	switch scheme {
	case "unix":
		return d.DialContext(ctx, "unix", addr)
	case "tcp":
		return d.DialContext(ctx, "tcp", addr)
	case "ssl":
		if tlsConf == nil {
			return nil, fmt.Errorf("remote %q: ssl needs a TLS configuration (--private-key, --certificate, --ca-cert)", remote)
		}
		td := tls.Dialer{NetDialer: &d, Config: tlsConf}
		return td.DialContext(ctx, "tcp", addr)
	}
	return nil, fmt.Errorf("remote %q: unsupported scheme %q", remote, scheme)
}

// Notify receives each notification (a request without an id: update2,
// update3, locked, ...) on the session's reader goroutine, in order. The
// next message is read only after it returns, so a reply to a request
// sent after a notification's changes were committed is delivered after
// that notification has been handled.
type Notify func(method string, params []json.RawMessage)

// Session is one JSON-RPC session. Requests may be sent from any
// goroutine; the server's echo requests are answered by the reader.
type Session struct {
	c      net.Conn
	notify Notify

	wmu sync.Mutex // serialises writes
	enc *json.Encoder

	mu      sync.Mutex // guards nextID, pending, err
	nextID  uint64
	pending map[uint64]chan response
	err     error

	done   chan struct{} // closed when the reader stops
	lastRx atomic.Int64  // unix ns of the last message read
}

type response struct {
	result json.RawMessage
	err    error
}

// message is any JSON-RPC message.
type message struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	Result json.RawMessage   `json:"result"`
	Error  json.RawMessage   `json:"error"`
}

// ErrClosed is a call on a session that has ended.
var ErrClosed = errors.New("ovsdb session closed")

// New starts a session on c.
func New(c net.Conn, notify Notify) *Session {
	s := &Session{c: c, notify: notify, enc: json.NewEncoder(c), pending: map[uint64]chan response{}, done: make(chan struct{})}
	s.lastRx.Store(time.Now().UnixNano())
	go s.read()
	return s
}

// Done is closed when the session has ended (Close, or the peer went away).
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session ended (nil while it runs).
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// LastActivity is when the last message came in.
func (s *Session) LastActivity() time.Time { return time.Unix(0, s.lastRx.Load()) }

// Close ends the session; pending calls fail with ErrClosed. It does not
// wait for the reader (a Notify may call it); Done does.
func (s *Session) Close() error { return s.c.Close() }

func (s *Session) read() {
	dec := json.NewDecoder(newReader(s.c))
	var err error
	for {
		var m message
		if err = dec.Decode(&m); err != nil {
			break
		}
		s.lastRx.Store(time.Now().UnixNano())
		if m.Method != "" {
			s.request(&m)
			continue
		}
		s.deliver(&m)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	_ = s.c.Close()
	s.mu.Lock()
	s.err = err
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, ch := range pending {
		ch <- response{err: err}
	}
	close(s.done)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func (s *Session) request(m *message) {
	if isNull(m.ID) {
		if s.notify != nil {
			s.notify(m.Method, m.Params)
		}
		return
	}
	reply := map[string]any{"id": m.ID, "result": nil, "error": nil}
	switch m.Method {
	case "echo":
		reply["result"] = m.Params
	case "update", "update2", "update3":
		// RFC 7047 sends these as notifications; libovsdb's server (the
		// demo's southbound) sends them as requests and wants a reply with
		// a non-null result (it drops the connection on "result": null).
		if s.notify != nil {
			s.notify(m.Method, m.Params)
		}
		reply["result"] = []any{}
	default:
		reply["error"] = "unknown method " + m.Method
	}
	_ = s.write(reply)
}

func (s *Session) deliver(m *message) {
	id, err := strconv.ParseUint(string(m.ID), 10, 64)
	if err != nil {
		return // not one of ours
	}
	s.mu.Lock()
	ch := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if ch == nil {
		return
	}
	r := response{result: m.Result}
	if !isNull(m.Error) {
		r.err = &RPCError{Raw: string(m.Error)}
	}
	ch <- r
}

func (s *Session) write(v any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.enc.Encode(v)
}

// RPCError is an error reply.
type RPCError struct{ Raw string }

func (e *RPCError) Error() string { return "ovsdb error reply: " + e.Raw }

// Call sends a request and waits for its reply's result.
func (s *Session) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	ch := make(chan response, 1)
	s.mu.Lock()
	if s.pending == nil {
		err := s.err
		s.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	s.nextID++
	id := s.nextID
	s.pending[id] = ch
	s.mu.Unlock()
	if err := s.write(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		s.forget(id)
		return nil, fmt.Errorf("%s: send: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%s: %w", method, r.err)
		}
		return r.result, nil
	case <-ctx.Done():
		s.forget(id)
		return nil, fmt.Errorf("%s: %w", method, context.Cause(ctx))
	}
}

func (s *Session) forget(id uint64) {
	s.mu.Lock()
	if s.pending != nil {
		delete(s.pending, id)
	}
	s.mu.Unlock()
}
