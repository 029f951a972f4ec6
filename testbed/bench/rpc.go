package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// rpcConn is a minimal OVSDB JSON-RPC client (RFC 7047) over a unix
// socket: synchronous transact calls, echo answered, nothing monitored.
// It stands in for hypervisors (SB bindings) and for a CMS (NB ports)
// without any client-side cost that grows with the database, as
// ovn-sbctl's does.
type rpcConn struct {
	c   net.Conn
	enc *json.Encoder
	dec *json.Decoder
	id  int
}

const rpcTimeout = 5 * time.Minute

func dialRPC(sock string) (*rpcConn, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rpcConn{c: c, enc: json.NewEncoder(c), dec: json.NewDecoder(c)}, nil
}

func (r *rpcConn) close() { _ = r.c.Close() }

type rpcMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func (r *rpcConn) call(method string, params any) (json.RawMessage, error) {
	r.id++
	_ = r.c.SetDeadline(time.Now().Add(rpcTimeout))
	if err := r.enc.Encode(map[string]any{"method": method, "params": params, "id": r.id}); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	want := fmt.Sprint(r.id)
	for {
		var m rpcMsg
		if err := r.dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		if m.Method == "echo" {
			if err := r.enc.Encode(map[string]any{"id": m.ID, "result": m.Params, "error": nil}); err != nil {
				return nil, err
			}
			continue
		}
		if m.Method != "" || string(m.ID) != want {
			continue // a notification or a stale reply
		}
		if len(m.Error) > 0 && string(m.Error) != "null" {
			return nil, fmt.Errorf("%s: %s", method, m.Error)
		}
		return m.Result, nil
	}
}

// opResult is one element of a transact reply.
type opResult struct {
	Count   *int             `json:"count"`
	UUID    []any            `json:"uuid"`
	Rows    []map[string]any `json:"rows"`
	Error   string           `json:"error"`
	Details string           `json:"details"`
}

// transact runs ops on db as one transaction and checks every result
// (and, for updates and mutates, that exactly one row matched).
func (r *rpcConn) transact(db string, ops ...map[string]any) ([]opResult, error) {
	params := make([]any, 0, len(ops)+1)
	params = append(params, db)
	for _, o := range ops {
		params = append(params, o)
	}
	raw, err := r.call("transact", params)
	if err != nil {
		return nil, err
	}
	var res []opResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("transact reply: %w", err)
	}
	var errs []error
	for i, x := range res {
		if x.Error != "" {
			errs = append(errs, fmt.Errorf("op %d: %s: %s", i, x.Error, x.Details))
			continue
		}
		if i < len(ops) {
			switch ops[i]["op"] {
			case "update", "mutate":
				if x.Count == nil || *x.Count != 1 {
					errs = append(errs, fmt.Errorf("op %d (%v %v): matched %v rows, want 1", i, ops[i]["op"], ops[i]["where"], x.Count))
				}
			}
		}
	}
	if len(res) < len(ops) && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%d results for %d ops", len(res), len(ops)))
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("transact on %s: %w", db, errors.Join(errs...))
	}
	return res, nil
}

func commentOp(c string) map[string]any { return map[string]any{"op": "comment", "comment": c} }

func uuidRef(u string) []any { return []any{"uuid", u} }
