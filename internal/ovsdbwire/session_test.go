package ovsdbwire

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// peer is the server end of a session under test.
type peer struct {
	c   net.Conn
	dec *json.Decoder
	enc *json.Encoder
}

func newPair(t *testing.T, notify Notify) (*Session, *peer) {
	t.Helper()
	a, b := net.Pipe()
	s := New(a, notify)
	t.Cleanup(func() { _ = s.Close(); _ = b.Close() })
	return s, &peer{c: b, dec: json.NewDecoder(b), enc: json.NewEncoder(b)}
}

func (p *peer) read(t *testing.T) message {
	t.Helper()
	var m message
	if err := p.dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSession(t *testing.T) {
	var seen []string
	s, p := newPair(t, func(method string, params []json.RawMessage) {
		b, _ := json.Marshal(params)
		seen = append(seen, method+" "+string(b))
	})

	// A call, answered after a notification: the notification is handled
	// first (the reply is read after it).
	done := make(chan error, 1)
	var result json.RawMessage
	go func() {
		var err error
		result, err = s.Call(context.Background(), "transact", "DB", map[string]any{"op": "comment"})
		done <- err
	}()
	req := p.read(t)
	if b, _ := json.Marshal(req.Params); req.Method != "transact" || string(b) != `["DB",{"op":"comment"}]` {
		t.Fatalf("request %+v", req)
	}
	_ = p.enc.Encode(map[string]any{"id": nil, "method": "update2", "params": []any{"sb", map[string]any{}}})
	_ = p.enc.Encode(map[string]any{"id": json.RawMessage(req.ID), "result": []any{map[string]any{}}, "error": nil})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(result) != `[{}]` || len(seen) != 1 || seen[0] != `update2 ["sb",{}]` {
		t.Fatalf("result %s, notifications %q", result, seen)
	}

	// The server's echo is answered with its params.
	_ = p.enc.Encode(map[string]any{"id": "e1", "method": "echo", "params": []any{"x"}})
	if r := p.read(t); string(r.ID) != `"e1"` || string(r.Result) != `["x"]` {
		t.Fatalf("echo reply %+v", r)
	}
	// An update sent as a request (libovsdb's server does) is handled
	// and answered with a non-null result.
	_ = p.enc.Encode(map[string]any{"id": 7, "method": "update2", "params": []any{"sb", map[string]any{}}})
	if r := p.read(t); string(r.ID) != `7` || string(r.Result) != `[]` || len(seen) != 2 {
		t.Fatalf("update2 request: reply %+v, notifications %q", r, seen)
	}
	// An unknown request gets an error reply.
	_ = p.enc.Encode(map[string]any{"id": 9, "method": "lock", "params": []any{"x"}})
	if r := p.read(t); string(r.ID) != `9` || !strings.Contains(string(r.Error), "unknown method") {
		t.Fatalf("lock reply %+v", r)
	}

	// An error reply is an RPCError.
	go func() {
		_, err := s.Call(context.Background(), "get_schema", "nope")
		done <- err
	}()
	req = p.read(t)
	_ = p.enc.Encode(map[string]any{"id": json.RawMessage(req.ID), "result": nil, "error": "unknown database"})
	var rpcErr *RPCError
	if err := <-done; !errors.As(err, &rpcErr) || !strings.Contains(err.Error(), "unknown database") {
		t.Fatalf("error reply: %v", err)
	}

	// A pending call fails when the peer goes away, and Done closes.
	go func() {
		_, err := s.Call(context.Background(), "echo")
		done <- err
	}()
	_ = p.read(t)
	_ = p.c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("pending call after close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending call not failed")
	}
	<-s.Done()
	if _, err := s.Call(context.Background(), "echo"); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after close: %v", err)
	}
}

func TestCallContext(t *testing.T) {
	s, p := newPair(t, nil)
	go func() { _ = p.read(t) }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Call(ctx, "echo"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past its deadline: %v", err)
	}
}

func TestDial(t *testing.T) {
	for _, bad := range []string{"tcp", "tcp:", "ptcp:1", "ssl:127.0.0.1:1"} {
		if _, err := Dial(context.Background(), bad, nil); err == nil {
			t.Errorf("Dial(%q): no error", bad)
		}
	}
}
