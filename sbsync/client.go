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

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbx"
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
	conn *ovsdbx.Conn

	mu        sync.Mutex // guards subs and hasTimestamp
	subs      map[int]func(vtep.Key)
	nextSub   int
	hasFDBTS  bool
	igmpCN    bool // IGMP_Group has chassis_name
	connected chan struct{}
	once      sync.Once
	bucket    *bucket // process-wide learned-MAC rate limit
	fdbIdx    fdbIndex
}

// New validates opts and returns a client; call Run to connect.
func New(opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{log: opts.Logger, subs: map[int]func(vtep.Key){}, connected: make(chan struct{}), bucket: newBucket(opts.FDBRate, opts.FDBBurst)}
	conn, err := ovsdbx.New(ovsdbx.Options{
		Name:      "southbound",
		Endpoints: opts.Endpoints,
		// As ovn-controller-vtep (the OVS IDL's default): with a clustered
		// SB, talk to the leader only, and reconnect (with a full resync)
		// when leadership moves. With one remote there is no other member
		// to go to (a follower forwards writes to the leader), and
		// libovsdb's leader check needs the _Server database, which
		// servers other than ovsdb-server (libovsdb's own, in the demo)
		// lack.
		LeaderOnly: len(opts.Endpoints) > 1,
		TLS:        opts.TLS,
		Logger:     opts.Logger,
		ModelFor: func(ovsdb.DatabaseSchema) (model.ClientDBModel, error) {
			return sbModel()
		},
		Handler: &sbEvents{c: c},
		OnConnect: func(cl client.Client) {
			_, ts := cl.Schema().Tables["FDB"].Columns["timestamp"]
			_, cn := cl.Schema().Tables["IGMP_Group"].Columns["chassis_name"]
			c.mu.Lock()
			c.hasFDBTS = ts
			c.igmpCN = cn
			c.mu.Unlock()
			c.fdbIdx.invalidate() // a fresh cache
			c.once.Do(func() { close(c.connected) })
			c.broadcast(vtep.Key{Kind: vtep.KindResync})
		},
		ProbeInterval: opts.ProbeInterval,
		OnEventsDropped: func() {
			opts.Logger.Warn("libovsdb dropped southbound cache events (buffer full); resyncing")
			c.broadcast(vtep.Key{Kind: vtep.KindResync})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("southbound: %w", err)
	}
	c.conn = conn
	return c, nil
}

// ClientModel returns the client database model vtepgw monitors the
// southbound with (its tables, columns and client indexes), for tools that
// measure libovsdb with exactly what the daemon uses.
func ClientModel() (model.ClientDBModel, error) { return sbModel() }

func sbModel() (model.ClientDBModel, error) {
	m, err := model.NewClientDBModel("OVN_Southbound", map[string]model.Model{
		"SB_Global":        &sbdb.SBGlobal{},
		"Chassis":          &sbdb.Chassis{},
		"Encap":            &sbdb.Encap{},
		"Datapath_Binding": &sbdb.DatapathBinding{},
		"Port_Binding":     &sbdb.PortBinding{},
		"FDB":              &sbdb.FDB{},
		"Multicast_Group":  &sbdb.MulticastGroup{},
		"IGMP_Group":       &sbdb.IGMPGroup{},
	})
	if err != nil {
		return m, fmt.Errorf("southbound model: %w", err)
	}
	// Client indexes; see noMatch in southbound.go before adding one.
	m.SetIndexes(map[string][]model.ClientIndex{
		"Port_Binding": {
			{Columns: []model.ColumnKey{{Column: "options", Key: "vtep-logical-switch"}}},
			{Columns: []model.ColumnKey{{Column: "chassis"}}},
			{Columns: []model.ColumnKey{{Column: "type"}}},
		},
		"FDB": {{Columns: []model.ColumnKey{{Column: "dp_key"}, {Column: "port_key"}}}},
	})
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

// cache returns the table cache, or nil before the first connection.
func (c *Client) table(name string) tableCache {
	cl := c.conn.Client()
	if cl == nil {
		return nil
	}
	// libovsdb sets the cache to nil when the connection drops; events
	// already queued are still delivered then.
	cc := cl.Cache()
	if cc == nil {
		return nil
	}
	if t := cc.Table(name); t != nil {
		return t
	}
	return nil
}

type tableCache interface {
	Row(uuid string) model.Model
	Rows() map[string]model.Model
	// RowsShallow is Rows without cloning the models: read them only.
	RowsShallow() map[string]model.Model
	Len() int
	RowByModel(m model.Model) (string, model.Model, error)
	RowsByModels(ms []model.Model) (map[string]model.Model, error)
}

// sbEvents maps SB cache events to keys and fans them out.
type sbEvents struct{ c *Client }

func (h *sbEvents) OnAdd(table string, m model.Model) { h.keys(nil, m) }
func (h *sbEvents) OnUpdate(table string, old, m model.Model) {
	h.keys(old, m)
}
func (h *sbEvents) OnDelete(table string, m model.Model) { h.keys(m, nil) }

func (h *sbEvents) keys(old, cur model.Model) {
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
			h.c.fdbIdx.invalidate()
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
