// Package sbsync is vtepgw's southbound side: the OVN_Southbound client and
// the mapping between SB rows and the switch-neutral model of package vtep.
//
//   - client.go: one SB connection per process, fanned out to gateways.
//   - southbound.go: one Southbound per switch session (vtep.Southbound):
//     Chassis/Encap per physical switch, Port_Binding binding, and the
//     incremental indexes that turn SB rows into desired switch entries.
//   - fdb.go: switch-learned MACs → SB FDB, other gateways' FDB → remote MACs.
package sbsync

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Options configure the SB client.
type Options struct {
	Endpoints []string
	TLS       *tls.Config
	Logger    *slog.Logger
	// ProbeInterval is the SB inactivity probe (default 5 s, 0 disables).
	ProbeInterval time.Duration
	// FDBRate caps learned MACs per second written to SB by all gateways
	// together (0: unlimited); FDBBurst is the bucket size.
	FDBRate  float64
	FDBBurst int
}

// Client is the process's connection to the OVN southbound database.
type Client struct {
	log  *slog.Logger
	conn *sbConn

	mu        sync.Mutex // guards subs and hasTimestamp
	subs      map[int]func(vtep.Key)
	nextSub   int
	hasFDBTS  bool
	igmpCN    bool // IGMP_Group has chassis_name
	connected chan struct{}
	once      sync.Once
	bucket    *bucket // process-wide learned-MAC rate limit
}

// New validates opts and returns a client; call Run to connect.
func New(opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{log: opts.Logger, subs: map[int]func(vtep.Key){}, connected: make(chan struct{}), bucket: newBucket(opts.FDBRate, opts.FDBBurst)}
	ev := &sbEvents{c: c}
	conn, err := newSBConn(sbConnOptions{
		Endpoints: opts.Endpoints,
		// As ovn-controller-vtep (the OVS IDL's default): with a clustered
		// SB, talk to the leader only, and reconnect (with a full resync)
		// when leadership moves. With one remote there is no other member
		// to go to (a follower forwards writes to the leader), and the
		// leader check needs the _Server database, which servers other
		// than ovsdb-server (libovsdb's own, in the demo) lack.
		LeaderOnly: len(opts.Endpoints) > 1,
		TLS:        opts.TLS,
		Logger:     opts.Logger,
		OnChange:   ev.keys,
		OnConnect: func(schema *ovsdb.DatabaseSchema) {
			_, ts := schema.Tables["FDB"].Columns["timestamp"]
			_, cn := schema.Tables["IGMP_Group"].Columns["chassis_name"]
			c.mu.Lock()
			c.hasFDBTS = ts
			c.igmpCN = cn
			c.mu.Unlock()
			c.once.Do(func() { close(c.connected) })
			c.broadcast(vtep.Key{Kind: vtep.KindResync})
		},
		ProbeInterval: opts.ProbeInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("southbound: %w", err)
	}
	c.conn = conn
	return c, nil
}

// ClientModel returns vtepgw's southbound model (its tables and columns)
// as a libovsdb client model, for tools that measure libovsdb with the
// same tables and columns (the benchmark's bystanders).
func ClientModel() (model.ClientDBModel, error) { return sbModel() }

func sbModel() (model.ClientDBModel, error) {
	m, err := model.NewClientDBModel("OVN_Southbound", sbModels)
	if err != nil {
		return m, fmt.Errorf("southbound model: %w", err)
	}
	return m, nil
}

// Run keeps the connection up until ctx is done.
func (c *Client) Run(ctx context.Context) error { return c.conn.Run(ctx) }

// WaitConnected blocks until the first connection, or ctx is done.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("southbound: waiting for first connection (%s): %w", c.conn.Status(), context.Cause(ctx))
	}
}

// Connected reports whether the SB connection is up.
func (c *Client) Connected() bool { return c.conn.Connected() }

// Status is a one-line summary for unixctl.
func (c *Client) Status() string { return c.conn.Status() }

// SetProbeInterval changes the SB inactivity probe.
func (c *Client) SetProbeInterval(d time.Duration) { c.conn.SetProbeInterval(d) }

func (c *Client) igmpHasChassisName() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.igmpCN
}

func (c *Client) fdbHasTimestamp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hasFDBTS
}

// subscribe registers fn for every SB key; the returned func unsubscribes.
func (c *Client) subscribe(fn func(vtep.Key)) func() {
	c.mu.Lock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

func (c *Client) broadcast(k vtep.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fn := range c.subs {
		fn(k)
	}
}

// table returns a table of the live connection's cache, or nil while
// disconnected.
func (c *Client) table(name string) tableCache {
	ss := c.conn.session()
	if ss == nil {
		return nil
	}
	if t := ss.cache.table(name); t != nil {
		return t
	}
	return nil
}

// tableCache is one table of the southbound cache (cacheTable).
type tableCache interface {
	Row(uuid string) model.Model
	// RowShallow is Row without copying the row: read it only.
	RowShallow(uuid string) model.Model
	Rows() map[string]model.Model
	// RowsShallow is Rows without copying the rows: read them only.
	RowsShallow() map[string]model.Model
	Len() int
	// Lookup and LookupOne find rows by one of the table's indexes
	// (sbIndexes).
	Lookup(index, key string) map[string]model.Model
	LookupOne(index, key string) (string, model.Model)
}

// sbEvents maps SB cache changes to keys and fans them out.
type sbEvents struct{ c *Client }

func (h *sbEvents) keys(_ string, old, cur model.Model) {
	for _, m := range []model.Model{old, cur} {
		if m == nil {
			continue
		}
		switch r := m.(type) {
		case *sbdb.PortBinding:
			h.c.broadcast(vtep.Key{Kind: vtep.KindSBPortBinding, Name: r.LogicalPort})
		case *sbdb.Chassis:
			h.c.broadcast(vtep.Key{Kind: vtep.KindSBChassis, Name: r.Name})
		case *sbdb.Encap:
			h.c.broadcast(vtep.Key{Kind: vtep.KindSBChassis, Name: r.ChassisName})
		case *sbdb.FDB:
			h.c.broadcast(vtep.Key{Kind: vtep.KindSBFDB, Name: strconv.Itoa(r.DpKey), MAC: r.MAC})
		case *sbdb.SBGlobal:
			h.c.broadcast(vtep.Key{Kind: vtep.KindSBGlobal})
		case *sbdb.DatapathBinding:
			// Only a key change matters: a datapath's ports bring their own
			// events. A renumbering is rare and moves everything.
			if o, ok := old.(*sbdb.DatapathBinding); ok && cur != nil && o.TunnelKey != cur.(*sbdb.DatapathBinding).TunnelKey {
				h.c.broadcast(vtep.Key{Kind: vtep.KindResync})
			}
			return
		case *sbdb.MulticastGroup:
			if dp := h.c.table("Datapath_Binding"); dp != nil {
				if d := dp.Row(r.Datapath); d != nil {
					h.c.broadcast(vtep.Key{Kind: vtep.KindSBMulticastGroup, Name: strconv.Itoa(d.(*sbdb.DatapathBinding).TunnelKey), MAC: r.Name})
				}
			}
		case *sbdb.IGMPGroup:
			// The same key as the Multicast_Group northd names after the
			// address: the gateway rewrites its own IGMP_Group rows that
			// others deleted (e.g. northd, after ovn-sbctl chassis-del).
			if dp := h.c.table("Datapath_Binding"); dp != nil && r.Datapath != nil {
				if d := dp.Row(*r.Datapath); d != nil {
					h.c.broadcast(vtep.Key{Kind: vtep.KindSBMulticastGroup, Name: strconv.Itoa(d.(*sbdb.DatapathBinding).TunnelKey), MAC: r.Address})
				}
			}
		}
	}
}
