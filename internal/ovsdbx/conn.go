// Package ovsdbx keeps a libovsdb client connected: it dials, monitors,
// probes, reconnects with capped backoff forever (libovsdb's own reconnect
// panics after 15 minutes of backoff), and checks every transaction's
// per-operation results (libovsdb's Transact does not).
//
// Every (re)connection uses a fresh libovsdb client, so its cache starts
// empty and fills with add events; OnConnect runs after the initial monitor
// reply is in the cache, and is where callers schedule a full resync.
package ovsdbx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
)

// ErrNotConnected is returned by Transact while no connection is up.
var ErrNotConnected = errors.New("ovsdb: not connected")

// Options configure a Conn.
type Options struct {
	// Name is used in logs and status ("southbound", "vtep tcp:…").
	Name string
	// Endpoints are ovsdb remotes: tcp:IP:PORT, ssl:IP:PORT, unix:PATH.
	// They are tried in order.
	Endpoints []string
	// LeaderOnly connects only to the leader of a clustered (RAFT)
	// database, as the OVS IDL does by default: followers count as down,
	// and the connection is dropped (and made again to the new leader)
	// when the server loses leadership. A standalone server is always
	// its own leader. The server must have the _Server database (every
	// ovsdb-server does; libovsdb's in-memory server does not). See
	// leader.go.
	LeaderOnly bool
	TLS        *tls.Config
	Logger     *slog.Logger
	// ProbeModel is a minimal model (one table every supported schema has)
	// used to read the server's schema before ModelFor picks the real model.
	// Nil means ModelFor is called with an empty schema.
	ProbeModel func() (model.ClientDBModel, error)
	// ModelFor returns the model to use with a server that has schema.
	ModelFor func(schema ovsdb.DatabaseSchema) (model.ClientDBModel, error)
	// Monitor returns the monitor to start; nil means every table of the
	// model with the model's columns (see modelMonitor).
	Monitor func(c client.Client) *client.Monitor
	// Handler receives cache events. It must only enqueue work.
	Handler cache.EventHandler
	// OnConnect runs after the initial monitor reply has been applied.
	OnConnect func(c client.Client)
	// OnDisconnect runs after a connection is lost.
	OnDisconnect func(err error)
	// OnEventsDropped runs when libovsdb drops cache events because its
	// event buffer is full; the caller should resync (it is called from
	// libovsdb's goroutine and must not block).
	OnEventsDropped func()
	// ProbeInterval sends an echo after this much time and drops the
	// connection when it is not answered within the same time. 0 disables.
	ProbeInterval time.Duration
	// MinBackoff and MaxBackoff bound reconnect delays (default 100 ms, 8 s).
	MinBackoff, MaxBackoff time.Duration
}

// Conn is a self-healing connection to one OVSDB database.
type Conn struct {
	opts Options
	log  *slog.Logger
	cur  atomic.Pointer[clientBox]
	// watch is the leader watch of the current connection (LeaderOnly);
	// only Run's goroutine touches it.
	watch *leaderWatch
	probe Probe
	// active is when the connection last showed life (an event or a
	// successful transaction), in UnixNano; the probe only runs after a
	// quiet interval, as OVS's inactivity probe does.
	active atomic.Int64
	rot    Rotation
	state  ConnState

	mu     sync.Mutex // guards schema
	schema ovsdb.DatabaseSchema
}

type clientBox struct{ c client.Client }

// New returns a Conn; call Run to connect.
func New(opts Options) (*Conn, error) {
	if len(opts.Endpoints) == 0 {
		return nil, fmt.Errorf("ovsdb %s: no endpoints", opts.Name)
	}
	if opts.ModelFor == nil {
		return nil, fmt.Errorf("ovsdb %s: no model", opts.Name)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	for _, ep := range opts.Endpoints {
		if err := ValidateRemote(ep); err != nil {
			return nil, err
		}
	}
	c := &Conn{opts: opts, log: opts.Logger}
	c.probe.Init(opts.ProbeInterval)
	return c, nil
}

// Client returns the current client, or nil before the first connection.
// After a disconnect it returns the last client, whose cache is stale.
func (c *Conn) Client() client.Client {
	if b := c.cur.Load(); b != nil {
		return b.c
	}
	return nil
}

// Connected reports whether the connection is up with its cache: libovsdb
// drops the cache as soon as the server goes away but reports Connected
// until the client is closed, and a cache-less client reads as an empty
// database.
func (c *Conn) Connected() bool {
	cl := c.Client()
	return cl != nil && cl.Connected() && cl.Cache() != nil
}

// Schema returns the schema of the server last connected to.
func (c *Conn) Schema() ovsdb.DatabaseSchema {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.schema
}

// SetProbeInterval changes the inactivity probe; 0 disables it, other
// values below 1 s are raised to 1 s (as OVS does).
func (c *Conn) SetProbeInterval(d time.Duration) { c.probe.SetInterval(d) }

// Status is a one-line connection summary for unixctl and logs.
func (c *Conn) Status() string { return c.state.Status() }

// State is "connecting", "connected" or "backoff".
func (c *Conn) State() string { return c.state.State() }

// Run connects and stays connected until ctx is done. It returns nil on a
// clean stop.
func (c *Conn) Run(ctx context.Context) error {
	return Reconnect(ctx, c.opts.Name, c.log, &c.state, c.opts.MinBackoff, c.opts.MaxBackoff,
		func(ctx context.Context) (Session, error) {
			cl, err := c.connect(ctx)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				err := c.serve(ctx, cl)
				cl.Close()
				if c.watch != nil {
					c.watch.close()
					c.watch = nil
				}
				return err
			}, nil
		}, c.opts.OnDisconnect)
}

func (c *Conn) clientOptions(eps []string) []client.Option {
	h := c.log.With("db", c.opts.Name, "component", "libovsdb").Handler()
	lg := logr.FromSlogHandler(&dropTap{inner: h, onDrop: c.opts.OnEventsDropped})
	// libovsdb logs at V(>0) for chatter; keep only errors at our info level.
	lg = lg.V(4)
	opts := []client.Option{client.WithLogger(&lg)}
	for _, ep := range eps {
		opts = append(opts, client.WithEndpoint(ep))
	}
	if c.opts.TLS != nil {
		opts = append(opts, client.WithTLSConfig(OVSTLS(c.opts.TLS)))
	}
	return opts
}

func (c *Conn) connect(ctx context.Context) (cl client.Client, err error) {
	c.state.Set("connecting", "", nil)
	eps := c.rot.Order(c.opts.Endpoints)
	defer func() {
		if err != nil {
			c.rot.Failed()
		}
	}()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var schema ovsdb.DatabaseSchema
	if c.opts.ProbeModel != nil {
		pm, err := c.opts.ProbeModel()
		if err != nil {
			return nil, fmt.Errorf("probe model: %w", err)
		}
		pc, err := client.NewOVSDBClient(pm, c.clientOptions(eps)...)
		if err != nil {
			return nil, fmt.Errorf("new probe client: %w", err)
		}
		if err := pc.Connect(cctx); err != nil {
			return nil, fmt.Errorf("connect to %v: %w", eps, err)
		}
		schema = pc.Schema()
		pc.Close()
	}
	m, err := c.opts.ModelFor(schema)
	if err != nil {
		return nil, fmt.Errorf("model for schema %s %s: %w", schema.Name, schema.Version, err)
	}
	if c.opts.LeaderOnly {
		var ep string
		var watch *leaderWatch
		if ep, watch, err = c.findLeader(cctx, eps, m.Name()); err != nil {
			return nil, err
		}
		eps = []string{ep}
		defer func() {
			if err != nil {
				watch.close()
			} else {
				c.watch = watch
			}
		}()
	}
	cl, err = client.NewOVSDBClient(m, c.clientOptions(eps)...)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	if err := cl.Connect(cctx); err != nil {
		return nil, fmt.Errorf("connect to %v: %w", eps, err)
	}
	cl.Cache().AddEventHandler(&activityHandler{c: c, next: c.opts.Handler})
	if c.opts.Monitor != nil {
		_, err = cl.Monitor(cctx, c.opts.Monitor(cl))
	} else {
		_, err = cl.Monitor(cctx, modelMonitor(cl))
	}
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("monitor %s: %w", m.Name(), err)
	}
	c.mu.Lock()
	c.schema = cl.Schema()
	c.mu.Unlock()
	c.cur.Store(&clientBox{c: cl})
	c.touch()
	c.state.Set("connected", cl.CurrentEndpoint(), nil)
	c.log.Info("ovsdb connected", "db", c.opts.Name, "endpoint", cl.CurrentEndpoint(), "schema_version", cl.Schema().Version)
	if c.opts.OnConnect != nil {
		c.opts.OnConnect(cl)
	}
	return cl, nil
}

// modelMonitor monitors every table of the client's model with exactly the
// model's columns. libovsdb's MonitorAll asks for every column of the
// server's schema, and then fails a whole update message as soon as it
// modifies a column the model lacks (e.g. SB_Global nb_cfg, bumped by every
// ovn-nbctl --wait): the rows of the other tables in that message are
// silently lost and the cache goes stale.
func modelMonitor(cl client.Client) *client.Monitor {
	m := cl.NewMonitor()
	for table, typ := range cl.Cache().DatabaseModel().Types() {
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		var cols []string
		for i := range typ.NumField() {
			if col := typ.Field(i).Tag.Get("ovsdb"); col != "" && col != "_uuid" {
				cols = append(cols, col)
			}
		}
		m.Tables = append(m.Tables, client.TableMonitor{Table: table, Fields: cols})
	}
	return m
}

// serve waits for the connection to drop (or ctx), probing it meanwhile.
func (c *Conn) serve(ctx context.Context, cl client.Client) error {
	disc := cl.DisconnectNotify()
	var lost <-chan struct{}
	if c.watch != nil {
		lost = c.watch.lost
	}
	// libovsdb sends its disconnect notice only to a receiver already
	// waiting (a non-blocking send): one that comes while this loop is not
	// in select (before it starts, or during a probe) is lost. Its cache
	// going away is the notice that stays.
	alive := time.NewTicker(time.Second)
	defer alive.Stop()
	probe := c.probe.Timer()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-disc:
			return errors.New("connection closed")
		case <-alive.C:
			if cl.Cache() == nil {
				return errors.New("connection closed")
			}
			if c.watch != nil && c.watch.cl.Cache() == nil {
				// The same missed notice, on the leader watch's session.
				cl.Disconnect()
				return errors.New("leader-only: the connection to the server's _Server database was lost")
			}
		case <-lost:
			cl.Disconnect()
			if err := c.watch.check(); err != nil {
				return fmt.Errorf("leader-only: %w", err)
			}
			return errors.New("leader-only: the connection to the server's _Server database was lost")
		case <-probe.C():
			last := func() time.Time { return time.Unix(0, c.active.Load()) }
			if err := probe.Fired(ctx, last, cl.Echo); err != nil {
				cl.Disconnect()
				return err
			}
		}
	}
}

// OpError is a failed operation of a transaction.
type OpError struct {
	// Index is the failed operation's position, or -1 when the failure came
	// at commit (an index or referential-integrity violation).
	Index int
	Err   error
}

func (e *OpError) Error() string {
	if e.Index < 0 {
		return "commit: " + e.Err.Error()
	}
	return fmt.Sprintf("operation %d: %v", e.Index, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Transact sends ops in one transaction and checks every operation's
// result. It returns the results (with inserted UUIDs) or an error that
// wraps *OpError values for each failed operation.
func (c *Conn) Transact(ctx context.Context, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	cl := c.Client()
	if cl == nil || !cl.Connected() {
		return nil, ErrNotConnected
	}
	res, err := Transact(ctx, cl, ops)
	c.touch()
	return res, err
}

func (c *Conn) touch() { c.active.Store(time.Now().UnixNano()) }

// activityHandler records cache events as signs of life and passes them on.
type activityHandler struct {
	c    *Conn
	next cache.EventHandler
}

func (h *activityHandler) OnAdd(table string, m model.Model) {
	h.c.touch()
	if h.next != nil {
		h.next.OnAdd(table, m)
	}
}

func (h *activityHandler) OnUpdate(table string, old, m model.Model) {
	h.c.touch()
	if h.next != nil {
		h.next.OnUpdate(table, old, m)
	}
}

func (h *activityHandler) OnDelete(table string, m model.Model) {
	h.c.touch()
	if h.next != nil {
		h.next.OnDelete(table, m)
	}
}

// Transact is Conn.Transact for a bare client.
func Transact(ctx context.Context, cl client.Client, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	res, err := cl.Transact(ctx, ops...)
	if err != nil {
		return nil, fmt.Errorf("transact %d operations: %w", len(ops), err)
	}
	return res, CheckResults(res, ops)
}

// CheckResults turns the failed operations of a transaction's results into
// one error (nil when every operation succeeded): libovsdb's Transact
// reports only transport errors.
func CheckResults(res []ovsdb.OperationResult, ops []ovsdb.Operation) error {
	if len(res) < len(ops) {
		return fmt.Errorf("transact: %d operations sent, %d results", len(ops), len(res))
	}
	var errs []error
	for i, r := range res {
		if r.Error == "" {
			continue
		}
		idx := i
		if i >= len(ops) {
			idx = -1
		}
		errs = append(errs, &OpError{Index: idx, Err: fmt.Errorf("%s: %s", r.Error, r.Details)})
	}
	if len(errs) > 0 {
		return fmt.Errorf("transaction failed: %w", errors.Join(errs...))
	}
	return nil
}

// ValidateRemote checks an ovsdb remote string: tcp:IP:PORT, ssl:IP:PORT or
// unix:PATH.
func ValidateRemote(r string) error {
	var scheme, rest string
	for i := 0; i < len(r); i++ {
		if r[i] == ':' {
			scheme, rest = r[:i], r[i+1:]
			break
		}
	}
	switch scheme {
	case "unix":
		if rest == "" {
			return fmt.Errorf("remote %q: unix: needs a socket path", r)
		}
		return nil
	case "tcp", "ssl":
		host, port, ok := cutLast(rest, ':')
		if !ok || host == "" || port == "" {
			return fmt.Errorf("remote %q: want %s:IP:PORT", r, scheme)
		}
		for _, ch := range port {
			if ch < '0' || ch > '9' {
				return fmt.Errorf("remote %q: bad port %q", r, port)
			}
		}
		return nil
	}
	return fmt.Errorf("remote %q: unsupported; use tcp:IP:PORT, ssl:IP:PORT or unix:PATH", r)
}

func cutLast(s string, sep byte) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
