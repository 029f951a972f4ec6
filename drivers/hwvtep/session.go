package hwvtep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/hwvtep/vtepdb"
	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/vtep"
)

type connector struct {
	params drivers.Params
	opts   Options
}

// session is a connection to one hardware_vtep database.
type session struct {
	log    *slog.Logger
	notify func(vtep.Key)
	conn   *ovsdbx.Conn
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex // guards feat, id and lsUUIDs
	feat features
	id   string
	// lsUUIDs remembers the UUID of a Logical_Switch name: every MAC row
	// of a batch looks its switch up, and a lookup by UUID is far cheaper
	// than libovsdb's lookup by index. Every hit is checked against the
	// cache, so a stale entry only costs the slow path.
	lsUUIDs map[string]string
}

// Connect dials the database and returns once the first full state has been
// read, or ctx is done.
func (c *connector) Connect(ctx context.Context, notify func(vtep.Key)) (drivers.Session, error) {
	log := c.params.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &session{log: log, notify: notify, done: make(chan struct{})}
	ready := make(chan struct{}, 1)
	conn, err := ovsdbx.New(ovsdbx.Options{
		Name:       "vtep " + c.params.Name,
		Endpoints:  c.params.Endpoints,
		TLS:        c.params.TLS,
		Logger:     log,
		ProbeModel: probeModel,
		ModelFor: func(schema ovsdb.DatabaseSchema) (model.ClientDBModel, error) {
			if schema.Name != "" && schema.Name != "hardware_vtep" {
				return model.ClientDBModel{}, fmt.Errorf("database is %q, want hardware_vtep", schema.Name)
			}
			f := detectFeatures(schema)
			s.mu.Lock()
			s.feat = f
			s.mu.Unlock()
			return f.model()
		},
		Handler: &eventHandler{s: s},
		OnConnect: func(cl client.Client) {
			s.refreshID(cl)
			notify(vtep.Key{Kind: vtep.KindResync})
			notify(vtep.Key{Kind: vtep.KindSBGlobal})
			select {
			case ready <- struct{}{}:
			default:
			}
		},
		ProbeInterval: c.opts.ProbeInterval,
		OnEventsDropped: func() {
			log.Warn("libovsdb dropped cache events (buffer full); resyncing")
			notify(vtep.Key{Kind: vtep.KindResync})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, drivers.ErrInvalid)
	}
	s.conn = conn
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go func() {
		defer close(s.done)
		_ = conn.Run(runCtx)
	}()
	select {
	case <-ready:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("connect to %v: %w (last state: %s)", c.params.Endpoints, context.Cause(ctx), conn.Status())
	}
}

func (s *session) refreshID(cl client.Client) {
	rows := cl.Cache().Table(tGlobal).Rows()
	for uuid := range rows {
		s.mu.Lock()
		s.id = uuid
		s.mu.Unlock()
		return
	}
}

func (s *session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

func (s *session) Connected() bool { return s.conn.Connected() }

func (s *session) Status() string { return s.conn.Status() }

// Close stops the connection; switch state is left as it is.
func (s *session) Close() error {
	s.cancel()
	<-s.done
	if cl := s.conn.Client(); cl != nil {
		cl.Close()
	}
	return nil
}

func (s *session) features() features {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.feat
}

// SetProbeInterval changes the inactivity probe towards the switch.
func (s *session) SetProbeInterval(d time.Duration) { s.conn.SetProbeInterval(d) }

// GlobalConfig returns Global.other_config (empty before schema 1.7.0).
func (s *session) GlobalConfig() map[string]string {
	t := s.table(tGlobal)
	if t == nil {
		return nil
	}
	for _, m := range t.Rows() {
		if g, ok := m.(*vtepdb.GlobalExt); ok {
			return maps.Clone(g.OtherConfig)
		}
	}
	return nil
}

// table returns the cache of a table, or nil before the first connection.
func (s *session) table(name string) tableCache {
	cl := s.conn.Client()
	if cl == nil {
		return nil
	}
	cc := cl.Cache() // nil once the connection drops
	if cc == nil {
		return nil
	}
	if t := cc.Table(name); t != nil {
		return t
	}
	return nil
}

// tables returns the caches of several tables from one snapshot of the
// client's cache, or nil if any is missing. libovsdb sets the cache to nil
// when the connection drops, so separate table calls can see the first
// table and not the next (a reader then called a method on a nil one).
func (s *session) tables(names ...string) []tableCache {
	cl := s.conn.Client()
	if cl == nil {
		return nil
	}
	cc := cl.Cache()
	if cc == nil {
		return nil
	}
	out := make([]tableCache, len(names))
	for i, name := range names {
		t := cc.Table(name)
		if t == nil {
			return nil
		}
		out[i] = t
	}
	return out
}

// tableCache is the part of libovsdb's RowCache we use.
type tableCache interface {
	Row(uuid string) model.Model
	Rows() map[string]model.Model
	RowByModel(m model.Model) (string, model.Model, error)
	RowsByModels(ms []model.Model) (map[string]model.Model, error)
}

func (s *session) PhysicalSwitches() []vtep.PhysicalSwitch {
	ts := s.tables(tPS, tPort, tLS)
	if ts == nil {
		return nil
	}
	psT, portT, lsT := ts[0], ts[1], ts[2]
	var out []vtep.PhysicalSwitch
	for _, m := range psT.Rows() {
		ps := m.(*vtepdb.PhysicalSwitch)
		v := vtep.PhysicalSwitch{
			Name:        ps.Name,
			Description: ps.Description,
			TunnelIPs:   slices.Clone(ps.TunnelIPs),
			Faults:      slices.Clone(ps.SwitchFaultStatus),
		}
		for _, pu := range ps.Ports {
			pm := portT.Row(pu)
			if pm == nil {
				continue
			}
			port := pm.(*vtepdb.PhysicalPort)
			p := vtep.Port{Name: port.Name, Bindings: map[int]string{}}
			for vlan, lsUUID := range port.VLANBindings {
				if lm := lsT.Row(lsUUID); lm != nil {
					if r, ok := toLSRow(lm); ok {
						p.Bindings[vlan] = r.Name
					}
				}
			}
			v.Ports = append(v.Ports, p)
		}
		slices.SortFunc(v.Ports, func(a, b vtep.Port) int { return cmpString(a.Name, b.Name) })
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b vtep.PhysicalSwitch) int { return cmpString(a.Name, b.Name) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *session) LogicalSwitches() []vtep.LogicalSwitch {
	t := s.table(tLS)
	if t == nil {
		return nil
	}
	var out []vtep.LogicalSwitch
	for _, m := range t.Rows() {
		if r, ok := toLSRow(m); ok {
			out = append(out, vtep.LogicalSwitch{Name: r.Name, VNI: r.TunnelKey, ReplicationMode: r.ReplicationMode})
		}
	}
	slices.SortFunc(out, func(a, b vtep.LogicalSwitch) int { return cmpString(a.Name, b.Name) })
	return out
}

func (s *session) lsByName(name string) (lsRow, bool) {
	t := s.table(tLS)
	if t == nil {
		return lsRow{}, false
	}
	s.mu.Lock()
	uuid, known := s.lsUUIDs[name]
	s.mu.Unlock()
	if known {
		if m := t.Row(uuid); m != nil {
			if r, ok := toLSRow(m); ok && r.Name == name {
				return r, true
			}
		}
	}
	r, ok := s.lsByNameIndexed(t, name)
	s.mu.Lock()
	if ok {
		if s.lsUUIDs == nil {
			s.lsUUIDs = make(map[string]string)
		}
		s.lsUUIDs[name] = r.UUID
	} else {
		delete(s.lsUUIDs, name)
	}
	s.mu.Unlock()
	return r, ok
}

func (s *session) lsByNameIndexed(t tableCache, name string) (lsRow, bool) {
	var probe model.Model = &vtepdb.LogicalSwitch{Name: name}
	if s.features().lsExt {
		probe = &vtepdb.LogicalSwitchExt{Name: name}
	}
	_, m, err := t.RowByModel(probe)
	if err != nil || m == nil {
		return lsRow{}, false
	}
	return toLSRow(m)
}

func (s *session) lsName(uuid string) (string, bool) {
	t := s.table(tLS)
	if t == nil {
		return "", false
	}
	m := t.Row(uuid)
	if m == nil {
		return "", false
	}
	r, ok := toLSRow(m)
	return r.Name, ok
}

func (s *session) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	r, ok := s.lsByName(name)
	if !ok {
		return vtep.LogicalSwitch{}, false
	}
	return vtep.LogicalSwitch{Name: r.Name, VNI: r.TunnelKey, ReplicationMode: r.ReplicationMode}, true
}

func (s *session) locatorIP(uuid string) string {
	t := s.table(tLocator)
	if t == nil {
		return ""
	}
	if m := t.Row(uuid); m != nil {
		_, ip, _, _ := plRow(m)
		return ip
	}
	return ""
}

func (s *session) locatorSetIPs(uuid string) []string {
	t := s.table(tLocSet)
	if t == nil {
		return nil
	}
	m := t.Row(uuid)
	if m == nil {
		return nil
	}
	var ips []string
	for _, l := range m.(*vtepdb.PhysicalLocatorSet).Locators {
		if ip := s.locatorIP(l); ip != "" {
			ips = append(ips, ip)
		}
	}
	return vtep.NormalizeLocators(ips)
}

// macRows returns the rows of a MAC table for (ls, mac), sorted by UUID.
func (s *session) macRows(table string, k vtep.MACKey) []model.Model {
	ls, ok := s.lsByName(k.LS)
	if !ok {
		return nil
	}
	t := s.table(table)
	if t == nil {
		return nil
	}
	var probe model.Model
	switch table {
	case tUMR:
		probe = &vtepdb.UcastMacsRemote{LogicalSwitch: ls.UUID, MAC: k.MAC}
	case tUML:
		probe = &vtepdb.UcastMacsLocal{LogicalSwitch: ls.UUID, MAC: k.MAC}
	case tMMR:
		probe = &vtepdb.McastMacsRemote{LogicalSwitch: ls.UUID, MAC: k.MAC}
	case tMML:
		probe = &vtepdb.McastMacsLocal{LogicalSwitch: ls.UUID, MAC: k.MAC}
	}
	rows, err := t.RowsByModels([]model.Model{probe})
	if err != nil || len(rows) == 0 {
		return nil
	}
	out := make([]model.Model, 0, len(rows))
	for _, u := range sortedKeys(rows) {
		// Unicast tables are indexed by MAC only (see features.model).
		if l, m := macRowKey(rows[u]); l == ls.UUID && m == k.MAC {
			out = append(out, rows[u])
		}
	}
	return out
}

func (s *session) ucast(table string, k vtep.MACKey) (vtep.UcastMAC, bool) {
	rows := s.macRows(table, k)
	if len(rows) == 0 {
		return vtep.UcastMAC{}, false
	}
	v := vtep.UcastMAC{MACKey: k, Duplicates: len(rows) - 1}
	switch r := rows[0].(type) {
	case *vtepdb.UcastMacsRemote:
		v.Locator, v.IP = s.locatorIP(r.Locator), r.Ipaddr
	case *vtepdb.UcastMacsLocal:
		v.Locator, v.IP = s.locatorIP(r.Locator), r.Ipaddr
	}
	return v, true
}

func (s *session) mcast(table string, k vtep.MACKey) (vtep.McastMAC, bool) {
	rows := s.macRows(table, k)
	if len(rows) == 0 {
		return vtep.McastMAC{}, false
	}
	v := vtep.McastMAC{MACKey: k, Duplicates: len(rows) - 1}
	switch r := rows[0].(type) {
	case *vtepdb.McastMacsRemote:
		v.Locators, v.IP = s.locatorSetIPs(r.LocatorSet), r.Ipaddr
	case *vtepdb.McastMacsLocal:
		v.Locators, v.IP = s.locatorSetIPs(r.LocatorSet), r.Ipaddr
	}
	return v, true
}

func (s *session) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) { return s.ucast(tUMR, k) }
func (s *session) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool)  { return s.ucast(tUML, k) }
func (s *session) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) { return s.mcast(tMMR, k) }
func (s *session) McastLocal(k vtep.MACKey) (vtep.McastMAC, bool)  { return s.mcast(tMML, k) }

// Entries lists every (logical switch, MAC) of a MAC table.
func (s *session) Entries(kind vtep.Kind) []vtep.MACKey {
	var table string
	switch kind {
	case vtep.KindUcastRemote:
		table = tUMR
	case vtep.KindMcastRemote:
		table = tMMR
	case vtep.KindUcastLocal:
		table = tUML
	case vtep.KindMcastLocal:
		table = tMML
	default:
		return nil
	}
	t := s.table(table)
	if t == nil {
		return nil
	}
	seen := map[vtep.MACKey]struct{}{}
	var out []vtep.MACKey
	for _, m := range t.Rows() {
		ls, mac := macRowKey(m)
		name, ok := s.lsName(ls)
		if !ok {
			continue
		}
		k := vtep.MACKey{LS: name, MAC: mac}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out
}

func macRowKey(m model.Model) (ls, mac string) {
	switch r := m.(type) {
	case *vtepdb.UcastMacsRemote:
		return r.LogicalSwitch, r.MAC
	case *vtepdb.UcastMacsLocal:
		return r.LogicalSwitch, r.MAC
	case *vtepdb.McastMacsRemote:
		return r.LogicalSwitch, r.MAC
	case *vtepdb.McastMacsLocal:
		return r.LogicalSwitch, r.MAC
	}
	return "", ""
}

// errDisconnected wraps drivers.ErrDisconnected with the connection state.
func (s *session) errDisconnected() error {
	return fmt.Errorf("hardware_vtep %s: %w", s.conn.Status(), drivers.ErrDisconnected)
}

// Apply writes the changeset in one transaction.
func (s *session) Apply(ctx context.Context, cs *vtep.Changeset) error {
	if err := drivers.ValidateChangeset(cs); err != nil {
		return err
	}
	cl := s.conn.Client()
	if !usable(cl) {
		return s.errDisconnected()
	}
	// Most changes are one operation; the extra room is for locators,
	// locator sets and the comment.
	t0 := time.Now()
	b := &txnBuilder{s: s, cl: cl, locators: map[string]string{}, ops: make([]ovsdb.Operation, 0, cs.Len()+16)}
	if err := b.build(cs); err != nil {
		if !usable(cl) {
			// The cache went away under the build (a disconnect purges
			// it): not the input's fault, so not ErrInvalid.
			return fmt.Errorf("%w (while building the transaction: %v)", s.errDisconnected(), err)
		}
		return err
	}
	if len(b.ops) == 0 {
		return nil
	}
	comment := fmt.Sprintf("vtepgw: %s", cs.String())
	b.ops = append(b.ops, ovsdb.Operation{Op: ovsdb.OperationComment, Comment: &comment})
	t1 := time.Now()
	if _, err := ovsdbx.Transact(ctx, cl, b.ops); err != nil {
		if !usable(cl) {
			return fmt.Errorf("%w: %w", s.errDisconnected(), err)
		}
		return fmt.Errorf("apply %s: %w", cs.String(), err)
	}
	// transact runs from the first byte encoded to the reply, which
	// libovsdb hands over only after it has decoded and cached the echo
	// of these rows (the server sends that update first).
	s.log.Debug("transaction", "ops", len(b.ops), "build", t1.Sub(t0).Round(time.Microsecond), "transact", time.Since(t1).Round(time.Microsecond))
	return nil
}

// usable reports whether cl is connected with its cache. libovsdb drops
// the cache as soon as the server goes away, but reports Connected until
// the client is closed.
func usable(cl client.Client) bool {
	return cl != nil && cl.Connected() && cl.Cache() != nil
}

var errNoLS = errors.New("logical switch not found")
