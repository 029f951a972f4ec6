package sbsync

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbwire"
	"github.com/vtepgw/vtepgw/internal/ovsdbx"
)

// sbConn is the connection to the southbound: vtepgw's own OVSDB client
// (package ovsdbwire) rather than libovsdb's, because receiving the SB's
// update notifications is most of the daemon's CPU per change and
// libovsdb's decoding, cloning and index upkeep cost about twice what
// the whole of decoding needs (docs/PERFORMANCE.md, "bystanders").
//
// It behaves as ovsdbx.Conn does for the switch side: it connects to the
// first endpoint that answers (with several, the cluster's leader only,
// following leadership as ovn-controller-vtep does), monitors every model
// column of the tables vtepgw reads (monitor_cond, updates as update2),
// probes an idle connection, and reconnects with a new cache and a full
// resync. A notification is applied to the cache, and its events handed
// over, before the next message is read, so a transaction's reply (which
// ovsdb-server sends after the update it caused) finds the cache current.
type sbConn struct {
	opts sbConnOptions
	log  *slog.Logger

	cur   atomic.Pointer[sbSession]
	probe ovsdbx.Probe
	rot   ovsdbx.Rotation
	state ovsdbx.ConnState
}

type sbConnOptions struct {
	Endpoints  []string
	LeaderOnly bool
	TLS        *tls.Config
	Logger     *slog.Logger
	// OnChange gets every row change, in order, on the reader goroutine.
	OnChange func(table string, old, cur model.Model)
	// OnConnect runs once a new connection's cache is complete.
	OnConnect     func(schema *ovsdb.DatabaseSchema)
	ProbeInterval time.Duration
	MinBackoff    time.Duration
	MaxBackoff    time.Duration
}

// sbSession is one connection and its cache.
type sbSession struct {
	s        *ovsdbwire.Session
	cache    *sbCache
	ops      *opBuilder
	schema   *ovsdb.DatabaseSchema
	endpoint string
	lost     chan struct{} // closed when the connection must be dropped
	lostOnce sync.Once
	lostWhy  atomic.Pointer[error]
}

func (ss *sbSession) drop(why error) {
	ss.lostOnce.Do(func() {
		ss.lostWhy.Store(&why)
		close(ss.lost)
	})
}

const sbDB = "OVN_Southbound"

// Monitor ids of the two monitors a session may have.
const (
	monSB     = `"sb"`
	monServer = `"_Server"`
)

func newSBConn(opts sbConnOptions) (*sbConn, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("no endpoints")
	}
	for _, ep := range opts.Endpoints {
		if err := ovsdbx.ValidateRemote(ep); err != nil {
			return nil, err
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &sbConn{opts: opts, log: opts.Logger}
	c.probe.Init(opts.ProbeInterval)
	return c, nil
}

// session returns the live session, or nil.
func (c *sbConn) session() *sbSession { return c.cur.Load() }

// Connected reports whether a session is up with its cache.
func (c *sbConn) Connected() bool { return c.cur.Load() != nil }

// SetProbeInterval changes the inactivity probe; 0 disables it, other
// values below 1 s are raised to 1 s (as OVS does).
func (c *sbConn) SetProbeInterval(d time.Duration) { c.probe.SetInterval(d) }

// Status is a one-line connection summary for unixctl and logs.
func (c *sbConn) Status() string { return c.state.Status() }

// Run connects and stays connected until ctx is done; nil on a clean stop.
func (c *sbConn) Run(ctx context.Context) error {
	return ovsdbx.Reconnect(ctx, "southbound", c.log, &c.state, c.opts.MinBackoff, c.opts.MaxBackoff,
		func(ctx context.Context) (ovsdbx.Session, error) {
			ss, err := c.connect(ctx)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				err := c.serve(ctx, ss)
				c.cur.Store(nil)
				_ = ss.s.Close()
				<-ss.s.Done()
				return err
			}, nil
		}, nil)
}

// connect tries the endpoints in turn and returns the first session that
// is up (and, leader-only, on the leader) with its cache complete.
func (c *sbConn) connect(ctx context.Context) (*sbSession, error) {
	c.state.Set("connecting", "", nil)
	var errs []error
	for _, ep := range c.rot.Order(c.opts.Endpoints) {
		ss, err := c.open(ctx, ep)
		if err == nil {
			c.cur.Store(ss)
			c.state.Set("connected", ep, nil)
			c.log.Info("ovsdb connected", "db", "southbound", "endpoint", ep, "schema_version", ss.schema.Version)
			if c.opts.OnConnect != nil {
				c.opts.OnConnect(ss.schema)
			}
			return ss, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep, err))
		if ctx.Err() != nil {
			break
		}
	}
	c.rot.Failed()
	return nil, errors.Join(errs...)
}

// open connects to one endpoint.
func (c *sbConn) open(ctx context.Context, ep string) (_ *sbSession, err error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nc, err := ovsdbwire.Dial(cctx, ep, ovsdbx.OVSTLS(c.opts.TLS))
	if err != nil {
		return nil, err
	}
	ss := &sbSession{endpoint: ep, lost: make(chan struct{})}
	var (
		mu      sync.Mutex // guards ready, backlog; held while applying
		ready   bool
		backlog []ovsdbwire.TableUpdates2 // updates that came before the monitor's reply was applied
		srv     = &serverState{db: sbDB}
	)
	notify := func(method string, params []json.RawMessage) {
		if method != "update2" && method != "update3" {
			return
		}
		id, tu, err := ovsdbwire.ParseUpdate2(method, params)
		if err != nil {
			ss.drop(err)
			return
		}
		switch string(id) {
		case monServer:
			srv.update(tu)
		case monSB:
			mu.Lock()
			defer mu.Unlock()
			if !ready {
				backlog = append(backlog, tu)
				return
			}
			if err := c.apply(ss, tu); err != nil {
				c.log.Error("southbound update could not be applied; reconnecting for a full resync", "err", err)
				ss.drop(err)
			}
		}
	}
	ss.s = ovsdbwire.New(nc, notify)
	defer func() {
		if err != nil {
			_ = ss.s.Close()
		}
	}()

	raw, err := ss.s.Call(cctx, "get_schema", sbDB)
	if err != nil {
		return nil, err
	}
	var schema ovsdb.DatabaseSchema
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("get_schema: %w", err)
	}
	ss.schema = &schema
	if ss.ops, err = newOpBuilder(schema); err != nil {
		return nil, err
	}
	if ss.cache, err = newSBCache(&schema); err != nil {
		return nil, err
	}
	if c.opts.LeaderOnly {
		raw, err := ss.s.Call(cctx, "monitor_cond", "_Server", json.RawMessage(monServer),
			map[string]any{"Database": map[string]any{"columns": []string{"name", "model", "connected", "leader"}, "select": monitorAll}})
		if err != nil {
			return nil, fmt.Errorf("monitor _Server: %w", err)
		}
		var tu ovsdbwire.TableUpdates2
		if err := json.Unmarshal(raw, &tu); err != nil {
			return nil, fmt.Errorf("monitor _Server: %w", err)
		}
		if err := srv.start(tu, func(err error) { ss.drop(fmt.Errorf("leader-only: %w", err)) }); err != nil {
			return nil, err
		}
	}
	raw, err = ss.s.Call(cctx, "monitor_cond", sbDB, json.RawMessage(monSB), ss.cache.monitorRequests())
	if err != nil {
		return nil, fmt.Errorf("monitor %s: %w", sbDB, err)
	}
	var initial ovsdbwire.TableUpdates2
	if err := json.Unmarshal(raw, &initial); err != nil {
		return nil, fmt.Errorf("monitor %s: %w", sbDB, err)
	}
	mu.Lock()
	err = c.apply(ss, initial)
	for _, tu := range backlog {
		if err != nil {
			break
		}
		err = c.apply(ss, tu)
	}
	backlog, ready = nil, true
	mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("monitor %s: %w", sbDB, err)
	}
	return ss, nil
}

// apply applies updates to the session's cache and hands the changes over.
func (c *sbConn) apply(ss *sbSession, tu ovsdbwire.TableUpdates2) error {
	changes, err := ss.cache.apply(tu)
	if c.opts.OnChange != nil {
		for _, ch := range changes {
			c.opts.OnChange(ch.table, ch.old, ch.cur)
		}
	}
	return err
}

// serve waits for the session to end (or ctx), probing it meanwhile.
func (c *sbConn) serve(ctx context.Context, ss *sbSession) error {
	probe := c.probe.Timer()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ss.s.Done():
			if err := ss.s.Err(); err != nil {
				return err
			}
			return errors.New("connection closed")
		case <-ss.lost:
			return *ss.lostWhy.Load()
		case <-probe.C():
			echo := func(ctx context.Context) error {
				_, err := ss.s.Call(ctx, "echo", "vtepgw echo")
				return err
			}
			if err := probe.Fired(ctx, ss.s.LastActivity, echo); err != nil {
				return err
			}
		}
	}
}

// transact sends one transaction on this session and checks every
// operation's result. Operations built from one session's rows go to that
// session only: after a reconnect they fail, and the caller's next
// reconcile builds them again from the new cache.
func (ss *sbSession) transact(ctx context.Context, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	params := make([]any, 0, len(ops)+1)
	params = append(params, sbDB)
	for _, op := range ops {
		params = append(params, op)
	}
	raw, err := ss.s.Call(ctx, "transact", params...)
	if err != nil {
		return nil, fmt.Errorf("transact %d operations: %w", len(ops), err)
	}
	var res []ovsdb.OperationResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("transact %d operations: reply: %w", len(ops), err)
	}
	return res, ovsdbx.CheckResults(res, ops)
}

// serverState follows the server's _Server.Database row for one database,
// for leader-only connections.
type serverState struct {
	db      string
	mu      sync.Mutex // guards the fields below
	rows    map[string]*serverDatabase
	started bool
	backlog []ovsdbwire.TableUpdates2 // updates that came before start
	onLost  func(error)
}

// start applies the monitor's initial rows and then any update that came
// before them were applied, and checks the state; from then on a state
// that fails the check calls onLost.
func (s *serverState) start(initial ovsdbwire.TableUpdates2, onLost func(error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started, s.onLost = true, onLost
	for _, tu := range append([]ovsdbwire.TableUpdates2{initial}, s.backlog...) {
		if err := s.apply(tu); err != nil {
			return err
		}
	}
	s.backlog = nil
	return s.check()
}

// update is a monitor notification.
func (s *serverState) update(tu ovsdbwire.TableUpdates2) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.backlog = append(s.backlog, tu)
		return
	}
	err := s.apply(tu)
	if err == nil {
		err = s.check()
	}
	if err != nil {
		s.onLost(err)
	}
}

type serverDatabase struct {
	UUID      string `ovsdb:"_uuid"`
	Name      string `ovsdb:"name"`
	Model     string `ovsdb:"model"`
	Connected bool   `ovsdb:"connected"`
	Leader    bool   `ovsdb:"leader"`
}

// errNotLeader is a server that serves the database as a follower (or a
// member cut off from its cluster).
var errNotLeader = errors.New("not the cluster leader")

var serverDBTable = func() *ovsdbwire.Table {
	var ts ovsdb.TableSchema
	_ = json.Unmarshal([]byte(`{"columns":{"name":{"type":"string"},"model":{"type":"string"},"connected":{"type":"boolean"},"leader":{"type":"boolean"}}}`), &ts)
	t, err := ovsdbwire.NewTable("Database", &serverDatabase{}, &ts)
	if err != nil {
		panic(err)
	}
	return t
}()

// apply applies _Server updates.
func (s *serverState) apply(tu ovsdbwire.TableUpdates2) error {
	if s.rows == nil {
		s.rows = map[string]*serverDatabase{}
	}
	for uuid, ru := range tu["Database"] {
		var m model.Model
		var err error
		switch {
		case ru.Initial != nil:
			m, err = serverDBTable.Insert(uuid, ru.Initial)
		case ru.Insert != nil:
			m, err = serverDBTable.Insert(uuid, ru.Insert)
		case ru.Modify != nil:
			if old := s.rows[uuid]; old != nil {
				m, err = serverDBTable.Modify(old, ru.Modify)
			}
		case ru.Delete != nil:
			delete(s.rows, uuid)
			continue
		}
		if err != nil {
			return fmt.Errorf("_Server: %w", err)
		}
		if m != nil {
			s.rows[uuid] = m.(*serverDatabase)
		}
	}
	return nil
}

// check is nil while the server may serve a leader-only client: the
// database standalone (or active-backup), or clustered, connected to its
// cluster and leader of it.
func (s *serverState) check() error {
	for _, d := range s.rows {
		if d.Name != s.db {
			continue
		}
		if d.Model != "clustered" {
			return nil
		}
		if !d.Connected {
			return fmt.Errorf("%w (the member is not connected to its cluster)", errNotLeader)
		}
		if !d.Leader {
			return errNotLeader
		}
		return nil
	}
	return fmt.Errorf("the server does not serve %s", s.db)
}
