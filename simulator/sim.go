// Package simulator is vtepsim: a hardware VTEP switch simulated on real
// Open vSwitch. It plays the switch side of the hardware_vtep OVSDB schema
// (like OVS's ovs-vtep), watching both databases of one ovsdb-server and
// programming ovs-vswitchd through OVSDB and OpenFlow 1.4 bundles.
//
// It must not share code with the controller it is used to test: it imports
// only generated models and its own wire code.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	vtepdb "github.com/vtepgw/vtepgw/internal/vtepfull"
	"github.com/vtepgw/vtepgw/simulator/internal/vswitchdb"
)

// Options configure a simulated switch.
type Options struct {
	// DB is the OVSDB remote serving both Open_vSwitch and hardware_vtep
	// (default unix:$OVS_RUNDIR/db.sock).
	DB string
	// Switch is the physical switch name (PS-NAME).
	Switch string
	// RunDir holds the bridges' .mgmt sockets (default: $OVS_RUNDIR, else the
	// directory of a unix DB socket, else /var/run/openvswitch).
	RunDir string
	// MACAging is the idle time after which a learned MAC ages out
	// (default 300 s; ovs-vtep uses 15 s).
	MACAging time.Duration
	// MaxLearnedPerLS caps the learned MACs per logical switch (0: none).
	// At the cap the switch reports mac_table_exhaustion.
	MaxLearnedPerLS int
	// LearnRate limits newly learned MACs per second (0: unlimited);
	// MACs over the rate are not learned (the next packet retries).
	LearnRate float64
	// MaxVNIs, MaxRemoteVTEPs and MaxMACs are switch limits (0: none).
	MaxVNIs, MaxRemoteVTEPs, MaxMACs int
	// NoSourceNode makes the switch refuse source-node replication,
	// reporting unsupported_source_node_replication.
	NoSourceNode bool
	// Isolated names the BFD bridge and ports after the switch, so several
	// simulated switches can share one ovs-vswitchd (used by the lab).
	Isolated bool
	// TunnelLocalIP sets options:local_ip on tunnels to the first tunnel
	// IP (needed when several switches share one ovs-vswitchd).
	TunnelLocalIP bool
	// VswitchdCtl is ovs-vswitchd's unixctl socket, used to read the
	// multicast snooping table (default: found in RunDir).
	VswitchdCtl string
	// StatsInterval is how often binding statistics are read, and snooped
	// multicast groups re-read while there are any (default 5 s).
	StatsInterval time.Duration
	// DatapathMaxIdle, when set, is written to ovs-vswitchd's
	// Open_vSwitch other_config:max-idle (global to that ovs-vswitchd):
	// how long an idle datapath flow stays cached (OVS default 10 s,
	// minimum 100 ms). Every learned MAC changes a flow table, after which
	// ovs-vswitchd revalidates every cached datapath flow, and each new
	// source MAC is one more datapath flow; with a short idle time the
	// one-off flows of a learning burst leave the cache quickly and
	// learning stays fast. The cache is a cache: forwarding is the same.
	// 0 leaves the setting alone (as ovs-vtep does).
	DatapathMaxIdle time.Duration
	// Log receives the simulator's logs.
	Log *slog.Logger
}

// LearnBurst is the token-bucket depth of the learning rate limit.
func (o *Options) LearnBurst() float64 {
	if o.LearnRate <= 0 {
		return 0
	}
	return max(o.LearnRate, 1)
}

func (o *Options) defaults() error {
	if o.Switch == "" {
		return errors.New("physical switch name is required")
	}
	rundir := os.Getenv("OVS_RUNDIR")
	if o.DB == "" {
		d := rundir
		if d == "" {
			d = "/var/run/openvswitch"
		}
		o.DB = "unix:" + filepath.Join(d, "db.sock")
	}
	if o.RunDir == "" {
		switch {
		case rundir != "":
			o.RunDir = rundir
		case strings.HasPrefix(o.DB, "unix:"):
			o.RunDir = filepath.Dir(strings.TrimPrefix(o.DB, "unix:"))
		default:
			o.RunDir = "/var/run/openvswitch"
		}
	}
	if o.MACAging == 0 {
		o.MACAging = 300 * time.Second
	}
	if o.MACAging < time.Second || o.MACAging > 65535*time.Second {
		return fmt.Errorf("MAC aging %s out of range 1s..65535s", o.MACAging)
	}
	if o.DatapathMaxIdle != 0 && (o.DatapathMaxIdle < 100*time.Millisecond || o.DatapathMaxIdle >= 30*time.Minute) {
		return fmt.Errorf("datapath max idle %s out of range 100ms..30m", o.DatapathMaxIdle)
	}
	if o.StatsInterval == 0 {
		o.StatsInterval = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// passGap caps the pause between two passes under load (see Run).
const passGap = 10 * time.Millisecond

// Sim is one running simulated switch.
type Sim struct {
	opt  Options
	log  *slog.Logger
	vs   client.Client
	vt   client.Client
	kick chan struct{}
	dp   *dataplane

	mu        sync.Mutex // guards passes, last, needFull, needLearn
	passes    int
	last      time.Time
	needFull  bool // a full pass is due (configuration changed)
	needLearn bool // a learn-only pass is due (learned MACs changed)

	umlMu    sync.Mutex        // guards umlIdx, umlDirty
	umlIdx   map[umlKey]umlRow // Ucast_Macs_Local (LS uuid, MAC) → row, kept by cache events
	umlDirty map[umlKey]bool   // rows changed by someone (maybe us) since the last learn pass
}

type umlKey struct{ ls, mac string }

// umlRow is what a learn pass needs of a Ucast_Macs_Local row.
type umlRow struct{ uuid, locator string }

// New validates the options. Run connects and runs the switch.
func New(o Options) (*Sim, error) {
	if err := o.defaults(); err != nil {
		return nil, fmt.Errorf("vtepsim options: %w", err)
	}
	s := &Sim{opt: o, log: o.Log.With("switch", o.Switch), kick: make(chan struct{}, 1),
		umlIdx: map[umlKey]umlRow{}, umlDirty: map[umlKey]bool{}}
	return s, nil
}

// Kick schedules a full reconcile pass.
func (s *Sim) Kick() {
	s.mu.Lock()
	s.needFull = true
	s.mu.Unlock()
	s.wake()
}

// kickLearn schedules a pass that only publishes learned MACs.
func (s *Sim) kickLearn() {
	s.mu.Lock()
	s.needLearn = true
	s.mu.Unlock()
	s.wake()
}

func (s *Sim) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Passes returns the number of reconcile passes so far.
func (s *Sim) Passes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passes
}

// monitorOpts monitors exactly the columns of each model (libovsdb's
// MonitorAll would ask for every column of the server's schema, which may be
// newer). Interface.statistics is left out: ovs-vswitchd rewrites it every
// few seconds and the simulator reads counters through OpenFlow.
func monitorOpts(models []model.Model) []client.MonitorOption {
	var opts []client.MonitorOption
	for _, m := range models {
		v := reflect.ValueOf(m).Elem()
		var fields []any
		for i := 0; i < v.NumField(); i++ {
			tag := v.Type().Field(i).Tag.Get("ovsdb")
			if tag == "_uuid" || tag == "statistics" {
				continue
			}
			fields = append(fields, v.Field(i).Addr().Interface())
		}
		opts = append(opts, client.WithTable(m, fields...))
	}
	return opts
}

func (s *Sim) connect(ctx context.Context, dbm func() (model.ClientDBModel, error), name string, tables []model.Model) (client.Client, error) {
	m, err := dbm()
	if err != nil {
		return nil, fmt.Errorf("%s model: %w", name, err)
	}
	logger := logr.FromSlogHandler(s.log.With("db", name).Handler())
	logger = logger.V(2)
	bo := backoff.NewExponentialBackOff()
	bo.MaxElapsedTime = 0
	bo.MaxInterval = 2 * time.Second
	c, err := client.NewOVSDBClient(m, client.WithEndpoint(s.opt.DB), client.WithLogger(&logger),
		client.WithReconnect(5*time.Second, bo))
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", name, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Connect(cctx); err != nil {
		return nil, fmt.Errorf("connect %s at %s: %w", name, s.opt.DB, err)
	}
	// Ucast_Macs_Local is written by the simulator alone (learned MACs):
	// a change there needs only the learn-only pass, which restores it.
	kick := func(table string, old, new model.Model) {
		if table == "Ucast_Macs_Local" {
			s.onUML(old, new)
			s.kickLearn()
			return
		}
		s.Kick()
	}
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(table string, m model.Model) { kick(table, nil, m) },
		DeleteFunc: func(table string, m model.Model) { kick(table, m, nil) },
		UpdateFunc: func(table string, old, new model.Model) { kick(table, old, new) },
	})
	if _, err := c.Monitor(cctx, c.NewMonitor(monitorOpts(tables)...)); err != nil {
		c.Close()
		return nil, fmt.Errorf("monitor %s: %w", name, err)
	}
	return c, nil
}

// Run connects to the databases and runs until ctx ends. It returns nil on
// a clean stop. Switch state is left in place on exit.
func (s *Sim) Run(ctx context.Context) error {
	var err error
	if s.vs, err = s.connect(ctx, vswitchdb.FullDatabaseModel, "Open_vSwitch",
		[]model.Model{&vswitchdb.OpenvSwitch{}, &vswitchdb.Bridge{}, &vswitchdb.Port{}, &vswitchdb.Interface{}}); err != nil {
		return err
	}
	defer s.vs.Close()
	if s.vt, err = s.connect(ctx, vtepdb.FullDatabaseModel, "hardware_vtep", []model.Model{
		&vtepdb.Global{}, &vtepdb.PhysicalSwitch{}, &vtepdb.PhysicalPort{}, &vtepdb.LogicalSwitch{},
		&vtepdb.PhysicalLocator{}, &vtepdb.PhysicalLocatorSet{}, &vtepdb.Tunnel{}, &vtepdb.LogicalBindingStats{},
		&vtepdb.UcastMacsLocal{}, &vtepdb.UcastMacsRemote{}, &vtepdb.McastMacsLocal{}, &vtepdb.McastMacsRemote{}}); err != nil {
		return err
	}
	defer s.vt.Close()
	s.dp = newDataplane(s.vs, &s.opt, s.log, s.Kick, s.kickLearn)
	defer s.dp.close()
	s.log.Info("vtepsim running", "db", s.opt.DB, "rundir", s.opt.RunDir)

	stats := time.NewTicker(s.opt.StatsInterval)
	defer stats.Stop()
	var retry <-chan time.Time
	delay := 50 * time.Millisecond
	s.Kick()
	lastErr := ""
	var lastEnd time.Time
	lastWrote := false
	var lastDur time.Duration
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-retry:
		case <-stats.C:
			changed, err := s.dp.readStats(ctx, s.opt.Switch)
			if groups := s.dp.refreshIGMP(); (err != nil || !changed) && !groups {
				continue
			}
			s.mu.Lock()
			s.needFull = true
			s.mu.Unlock()
		}
		// Under a stream of changes (a learning burst), coalesce: after a
		// pass that wrote something, the next one waits as long as that
		// pass took (at most passGap), so passes use at most half of a
		// core and batch more work each. An isolated change runs at once.
		if wait := min(lastDur, passGap) - time.Since(lastEnd); lastWrote && wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			select {
			case <-s.kick:
			default:
			}
		}
		s.mu.Lock()
		full, learn := s.needFull, s.needLearn
		s.needFull, s.needLearn = false, false
		s.mu.Unlock()
		var err error
		var wrote bool
		t0 := time.Now()
		switch {
		case full:
			wrote, err = s.pass(ctx)
		case learn:
			wrote, err = s.learnPass(ctx)
		}
		lastEnd, lastWrote = time.Now(), wrote
		lastDur = lastEnd.Sub(t0)
		if ctx.Err() != nil {
			return nil
		}
		retry = nil
		if err != nil {
			s.mu.Lock()
			s.needFull = true
			s.mu.Unlock()
			if msg := err.Error(); msg != lastErr {
				lvl := slog.LevelWarn
				if errors.Is(err, errNotReady) || errors.Is(err, errNoSwitch) || errors.Is(err, errNoBridge) {
					lvl = slog.LevelInfo
				}
				s.log.Log(ctx, lvl, "reconcile incomplete, will retry", "err", err)
				lastErr = msg
			}
			retry = time.After(delay)
			delay = min(delay*2, 2*time.Second)
			continue
		}
		lastErr = ""
		delay = 50 * time.Millisecond
	}
}

// onUML keeps the Ucast_Macs_Local index (runs on libovsdb's event goroutine).
func (s *Sim) onUML(old, new model.Model) {
	s.umlMu.Lock()
	defer s.umlMu.Unlock()
	if o, ok := old.(*vtepdb.UcastMacsLocal); ok {
		k := umlKey{o.LogicalSwitch, normMAC(o.MAC)}
		if s.umlIdx[k].uuid == o.UUID {
			delete(s.umlIdx, k)
		}
		s.umlDirty[k] = true
	}
	if n, ok := new.(*vtepdb.UcastMacsLocal); ok {
		k := umlKey{n.LogicalSwitch, normMAC(n.MAC)}
		s.umlIdx[k] = umlRow{n.UUID, n.Locator}
		s.umlDirty[k] = true
	}
}

// learnPass publishes learned-MAC changes only. It falls back to a full
// pass before the first full pass and when the cap fault changes.
func (s *Sim) learnPass(ctx context.Context) (bool, error) {
	if s.dp.lsBridge == nil {
		return s.pass(ctx)
	}
	dirty := s.dp.drainLearned(ctx)
	if s.opt.MaxLearnedPerLS > 0 {
		// With a cap (which picks the oldest MACs), compare everything.
		learned, full := s.dp.learnedStatus()
		if full != s.dp.tableFull {
			return s.pass(ctx)
		}
		snap, err := listVtep(ctx, s.vt, s.opt.Switch)
		if err != nil {
			return false, err
		}
		own := slices.Clone(snap.ps.TunnelIPs)
		sort.Strings(own)
		n, err := publishLearned(ctx, s.vt, snap, own, learned)
		s.log.Debug("learn pass done", "vtep_ops", n, "incremental", false)
		return n > 0, err
	}
	n, err := s.publishDirty(ctx, dirty)
	s.log.Debug("learn pass done", "vtep_ops", n, "incremental", true)
	return n > 0, err
}

// publishDirty brings the Ucast_Macs_Local rows of the changed MACs (from
// the data plane, or rows changed in the database) in line with the learned
// state, in O(changes).
func (s *Sim) publishDirty(ctx context.Context, dirty map[string]map[string]bool) (int, error) {
	lss, err := rows[vtepdb.LogicalSwitch](s.vt, "Logical_Switch")
	if err != nil {
		return 0, err
	}
	pss, err := rows[vtepdb.PhysicalSwitch](s.vt, "Physical_Switch")
	if err != nil {
		return 0, err
	}
	var own []string
	for _, ps := range pss {
		if ps.Name == s.opt.Switch {
			own = slices.Clone(ps.TunnelIPs)
		}
	}
	if len(own) == 0 {
		return 0, nil
	}
	sort.Strings(own)
	lsUUID, lsName := map[string]string{}, map[string]string{}
	for _, ls := range lss {
		lsUUID[ls.Name], lsName[ls.UUID] = ls.UUID, ls.Name
	}
	brLS := map[string]string{}
	for ls, br := range s.dp.lsBridge {
		brLS[br] = ls
	}
	keys := map[umlKey]bool{}
	for br, macs := range dirty {
		if u := lsUUID[brLS[br]]; u != "" {
			for mac := range macs {
				keys[umlKey{u, mac}] = true
			}
		}
	}
	s.umlMu.Lock()
	for k := range s.umlDirty {
		keys[k] = true
	}
	clear(s.umlDirty)
	have := make(map[umlKey]umlRow, len(keys))
	for k := range keys {
		if u, ok := s.umlIdx[k]; ok {
			have[k] = u
		}
	}
	s.umlMu.Unlock()
	if len(keys) == 0 {
		return 0, nil
	}
	pls, err := rows[vtepdb.PhysicalLocator](s.vt, "Physical_Locator")
	if err != nil {
		return 0, err
	}
	snap := &vtepSnap{pl: byUUID(pls, func(p *vtepdb.PhysicalLocator) string { return p.UUID })}
	w := &vtepWriter{c: s.vt, s: snap, newPL: map[string]string{}, newPLS: map[string]string{}}
	local := w.locator(own[0])
	for k := range keys {
		ls := lsName[k.ls]
		br := s.dp.lsBridge[ls]
		_, want := s.dp.learned[br][k.mac]
		r, exists := have[k]
		u := r.uuid
		if exists {
			// Only rows on our first tunnel IP are ours to keep; rows of
			// other switches (other locators) are left alone.
			pl := snap.pl[r.locator]
			switch {
			case pl == nil || !slices.Contains(own, pl.DstIP):
				exists = false // another switch's row: not ours
			case pl.DstIP != own[0]:
				w.add(s.vt.Where(&vtepdb.UcastMacsLocal{UUID: u}).Delete())
				exists = false
			}
		}
		switch {
		case want && !exists && br != "":
			// A plain insert: libovsdb's Create maps the model by
			// reflection, a measurable share of a learning burst.
			w.ops = append(w.ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "Ucast_Macs_Local", UUIDName: w.name(),
				Row: ovsdb.Row{"MAC": k.mac, "logical_switch": ovsdb.UUID{GoUUID: k.ls}, "locator": ovsdb.UUID{GoUUID: local}}})
		case !want && exists:
			w.add(s.vt.Where(&vtepdb.UcastMacsLocal{UUID: u}).Delete())
		}
	}
	if w.err != nil {
		return 0, fmt.Errorf("build hardware_vtep ops: %w", w.err)
	}
	if len(w.ops) == 0 {
		return 0, nil
	}
	if err := transact(ctx, s.vt, w.ops); err != nil {
		return 0, fmt.Errorf("hardware_vtep: %w", err)
	}
	return len(w.ops), nil
}

// pass runs one reconcile pass: hardware_vtep → Config → data plane →
// Status → hardware_vtep.
func (s *Sim) pass(ctx context.Context) (bool, error) {
	t0 := time.Now()
	defer func() {
		s.mu.Lock()
		s.passes++
		s.last = t0
		s.mu.Unlock()
	}()
	s.dp.drainLearned(ctx)
	os, err := listOVS(ctx, s.vs)
	if err != nil {
		return false, err
	}
	br := os.bridges[s.opt.Switch]
	if br == nil {
		return false, fmt.Errorf("OVS bridge %q: %w", s.opt.Switch, errNoBridge)
	}
	var ports []string
	for name := range os.bridgePorts(br) {
		ports = append(ports, name)
	}
	snap, err := listVtep(ctx, s.vt, s.opt.Switch)
	if err != nil {
		return false, err
	}
	// Rebuild the Ucast_Macs_Local index from the cache: it is kept by
	// cache events, and libovsdb drops events when its buffer is full.
	idx := make(map[umlKey]umlRow, len(snap.uml))
	for _, r := range snap.uml {
		idx[umlKey{r.LogicalSwitch, normMAC(r.MAC)}] = umlRow{r.UUID, r.Locator}
	}
	s.umlMu.Lock()
	s.umlIdx = idx
	s.umlMu.Unlock()
	cfg := snap.config(ports)
	st, dpErr := s.dp.apply(ctx, cfg)
	if st == nil {
		return false, dpErr
	}
	n, err := publish(ctx, s.vt, snap, cfg, st)
	if err != nil {
		return false, errors.Join(dpErr, err)
	}
	s.log.Debug("pass done", "vtep_ops", n, "duration_seconds", time.Since(t0).Seconds())
	return n > 0, dpErr
}
