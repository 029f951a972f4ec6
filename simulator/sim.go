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
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"

	"github.com/vtepgw/vtepgw/simulator/internal/vswitchdb"
	"github.com/vtepgw/vtepgw/simulator/internal/vtepdb"
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
	// StatsInterval is how often binding statistics are read (default 5 s).
	StatsInterval time.Duration
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
	if o.StatsInterval == 0 {
		o.StatsInterval = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Sim is one running simulated switch.
type Sim struct {
	opt  Options
	log  *slog.Logger
	vs   client.Client
	vt   client.Client
	kick chan struct{}
	dp   *dataplane

	mu     sync.Mutex // guards passes, lastPass
	passes int
	last   time.Time
}

// New validates the options. Run connects and runs the switch.
func New(o Options) (*Sim, error) {
	if err := o.defaults(); err != nil {
		return nil, fmt.Errorf("vtepsim options: %w", err)
	}
	s := &Sim{opt: o, log: o.Log.With("switch", o.Switch), kick: make(chan struct{}, 1)}
	return s, nil
}

// Kick schedules a reconcile pass.
func (s *Sim) Kick() {
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
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(string, model.Model) { s.Kick() },
		DeleteFunc: func(string, model.Model) { s.Kick() },
		UpdateFunc: func(table string, old, new model.Model) {
			s.Kick()
		},
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
	s.dp = newDataplane(s.vs, &s.opt, s.log, s.Kick)
	defer s.dp.close()
	s.log.Info("vtepsim running", "db", s.opt.DB, "rundir", s.opt.RunDir)

	stats := time.NewTicker(s.opt.StatsInterval)
	defer stats.Stop()
	var retry <-chan time.Time
	delay := 50 * time.Millisecond
	s.Kick()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-retry:
		case <-stats.C:
			if changed, err := s.dp.readStats(ctx, s.opt.Switch); err != nil || !changed {
				continue
			}
		}
		retry = nil
		err := s.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
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

// pass runs one reconcile pass: hardware_vtep → Config → data plane →
// Status → hardware_vtep.
func (s *Sim) pass(ctx context.Context) error {
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
		return err
	}
	br := os.bridges[s.opt.Switch]
	if br == nil {
		return fmt.Errorf("OVS bridge %q: %w", s.opt.Switch, errNoBridge)
	}
	var ports []string
	for name := range os.bridgePorts(br) {
		ports = append(ports, name)
	}
	snap, err := listVtep(ctx, s.vt, s.opt.Switch)
	if err != nil {
		return err
	}
	cfg := snap.config(ports)
	st, dpErr := s.dp.apply(ctx, cfg)
	if st == nil {
		return dpErr
	}
	n, err := publish(ctx, s.vt, snap, cfg, st)
	if err != nil {
		return errors.Join(dpErr, err)
	}
	if n > 0 {
		s.log.Debug("hardware_vtep updated", "ops", n, "duration_seconds", time.Since(t0).Seconds())
	}
	return dpErr
}
