package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultRPCTimeout bounds one OVSDBConn call unless Timeout is set.
const DefaultRPCTimeout = time.Minute

// OVSDBConn is a minimal OVSDB JSON-RPC client (RFC 7047) over a unix
// socket: synchronous transact calls, echo answered, nothing monitored. It
// writes rows the way a switch's own agent, a hypervisor or a CMS does,
// thousands in one transaction, with no client-side cost that grows with
// the database (as ovn-sbctl's does). Safe for concurrent use (calls are
// serialised); set the fields before the first call.
type OVSDBConn struct {
	// Timeout bounds each call, reply included (DefaultRPCTimeout if 0).
	Timeout time.Duration
	// RequireOneRow makes Transact also fail unless every update and
	// mutate operation matched exactly one row.
	RequireOneRow bool

	mu  sync.Mutex
	c   net.Conn
	enc *json.Encoder
	dec *json.Decoder
	id  int
}

// DialOVSDB connects to an ovsdb-server unix socket.
func DialOVSDB(sock string) (*OVSDBConn, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &OVSDBConn{c: c, enc: json.NewEncoder(c), dec: json.NewDecoder(c)}, nil
}

// Close closes the connection.
func (r *OVSDBConn) Close() { _ = r.c.Close() }

type rpcMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func (r *OVSDBConn) call(method string, params any) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id++
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultRPCTimeout
	}
	_ = r.c.SetDeadline(time.Now().Add(timeout))
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

// OpResult is one element of a transact reply.
type OpResult struct {
	Count   *int             `json:"count"`
	UUID    []any            `json:"uuid"`
	Rows    []map[string]any `json:"rows"`
	Error   string           `json:"error"`
	Details string           `json:"details"`
}

// Op is one OVSDB operation.
type Op = map[string]any

// Transact runs ops on db as one transaction and checks every result (and,
// with RequireOneRow, that each update and mutate matched exactly one row).
func (r *OVSDBConn) Transact(db string, ops ...Op) ([]OpResult, error) {
	p, err := PrepareTransact(db, ops...)
	if err != nil {
		return nil, err
	}
	return r.TransactPrepared(p)
}

// Prepared is a transaction encoded in advance, so that timing its
// TransactPrepared leaves out the client's encoding (all but a scan of the
// prepared JSON).
type Prepared struct {
	db     string
	ops    []Op
	params json.RawMessage
}

// PrepareTransact encodes ops on db as one transaction.
func PrepareTransact(db string, ops ...Op) (*Prepared, error) {
	params := make([]any, 0, len(ops)+1)
	params = append(params, db)
	for _, o := range ops {
		params = append(params, o)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("transact on %s: %w", db, err)
	}
	return &Prepared{db: db, ops: ops, params: raw}, nil
}

// TransactPrepared runs a prepared transaction; see Transact.
func (r *OVSDBConn) TransactPrepared(p *Prepared) ([]OpResult, error) {
	db, ops := p.db, p.ops
	raw, err := r.call("transact", p.params)
	if err != nil {
		return nil, err
	}
	var res []OpResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("transact reply: %w", err)
	}
	var errs []error
	for i, x := range res {
		if x.Error != "" {
			errs = append(errs, fmt.Errorf("op %d: %s: %s", i, x.Error, x.Details))
			continue
		}
		if r.RequireOneRow && i < len(ops) {
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

// CommentOp is a comment operation: the transaction's comment in the
// database file.
func CommentOp(c string) Op { return Op{"op": "comment", "comment": c} }

// Ref is a reference value.
func Ref(uuid string) []any { return []any{"uuid", uuid} }

// NamedRef is a reference to a row inserted in the same transaction.
func NamedRef(name string) []any { return []any{"named-uuid", name} }
