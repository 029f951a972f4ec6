// Package app is the vtepgw daemon: flags and configuration, logging,
// signals, the control socket and metrics, and the wiring of the southbound
// client, switch sessions and one reconcile gateway per session.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/vtepgw/vtepgw/drivers"
	procutil "github.com/vtepgw/vtepgw/internal/daemon"
	"github.com/vtepgw/vtepgw/internal/unixctl"
	"github.com/vtepgw/vtepgw/sbsync"
	"github.com/vtepgw/vtepgw/vtep"
)

// Version is set at build time with -ldflags "-X .../app.Version=…".
var Version = "0.1.0-dev"

// Main runs the daemon and returns the process exit code: 0 on a clean
// stop, 1 on a runtime failure, 2 on bad flags or configuration.
func Main(args []string) int {
	fs := newFlagSet()
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, errHelp(err)) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "vtepgw: %v\n", err)
		return 2
	}
	if v, _ := fs.GetBool("version"); v {
		fmt.Printf("vtepgw %s\n", Version)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "vtepgw: unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	cfg, err := load(fs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepgw: invalid configuration:\n  %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	if c, _ := fs.GetBool("check-config"); c {
		fmt.Println("configuration OK")
		return 0
	}
	if d, _ := fs.GetBool("detach"); d && os.Getenv("VTEPGW_DETACHED") == "" {
		return detach(args, cfg)
	}
	console := true
	verbose, _ := fs.GetStringSlice("verbose")
	for _, v := range verbose {
		if strings.Contains(v, "console:off") {
			console = false
		}
	}
	d := &daemon{cfg: cfg}
	if err := d.setupLogging(console); err != nil {
		fmt.Fprintf(os.Stderr, "vtepgw: %v\n", err)
		return 2
	}
	if err := d.run(); err != nil {
		d.log.Error("vtepgw stopped with an error", "err", err)
		return 1
	}
	return 0
}

func errHelp(err error) error {
	if err != nil && strings.Contains(err.Error(), "help requested") {
		return err
	}
	return errors.New("not help")
}

// detach re-executes the daemon in the background and returns once it has
// written its pidfile (or its control socket appeared).
func detach(args []string, cfg *Config) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepgw: --detach: %v\n", err)
		return 1
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "VTEPGW_DETACHED=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "vtepgw: --detach: %v\n", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for {
		if cfg.Pidfile == "" {
			return 0
		}
		if b, err := os.ReadFile(cfg.Pidfile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			return 0
		}
		select {
		case err := <-exited:
			fmt.Fprintf(os.Stderr, "vtepgw: background process exited during start-up: %v\n", err)
			return 1
		case <-deadline:
			fmt.Fprintln(os.Stderr, "vtepgw: background process did not write its pidfile within 30s")
			return 1
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// daemon is one running vtepgw.
type daemon struct {
	cfg      *Config
	log      *slog.Logger
	level    slog.LevelVar
	logClose io.Closer
	logFile  *procutil.ReopenableFile
	metrics  *metrics
	sb       *sbsync.Client

	mu       sync.Mutex // guards gateways
	gateways []*gatewayRun

	stop context.CancelFunc
	// stopGateways stops every reconcile worker; gwDone is closed when they
	// have all returned (the exit command cleans up only after that).
	stopGateways context.CancelFunc
	gwWG         sync.WaitGroup
}

// gatewayRun is one switch connection and its reconcile gateway.
type gatewayRun struct {
	cfg     SwitchConfig
	buf     keyBuffer
	session drivers.Session
	sb      *sbsync.Southbound
	gw      *vtep.Gateway
}

// keyBuffer holds keys a session reports before its gateway exists.
type keyBuffer struct {
	mu      sync.Mutex
	pending []vtep.Key
	gw      *vtep.Gateway
}

func (b *keyBuffer) notify(k vtep.Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gw != nil {
		b.gw.Enqueue(k)
		return
	}
	b.pending = append(b.pending, k)
}

func (b *keyBuffer) attach(gw *vtep.Gateway) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gw = gw
	for _, k := range b.pending {
		gw.Enqueue(k)
	}
	b.pending = nil
}

func (d *daemon) setupLogging(console bool) error {
	var w []io.Writer
	if console {
		w = append(w, os.Stderr)
	}
	if d.cfg.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(d.cfg.LogFile), 0o755); err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		f, err := procutil.OpenLogFile(d.cfg.LogFile)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		d.logFile = f
		d.logClose = f
		w = append(w, f)
	}
	d.setLevel(d.cfg.LogLevel)
	out := io.MultiWriter(w...)
	opts := &slog.HandlerOptions{Level: &d.level}
	var h slog.Handler = slog.NewTextHandler(out, opts)
	if d.cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(out, opts)
	}
	d.log = slog.New(h)
	return nil
}

func (d *daemon) setLevel(s string) {
	switch s {
	case "debug":
		d.level.Set(slog.LevelDebug)
	case "warn":
		d.level.Set(slog.LevelWarn)
	case "error":
		d.level.Set(slog.LevelError)
	default:
		d.level.Set(slog.LevelInfo)
	}
}

func (d *daemon) run() error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	d.stop = stop
	if d.cfg.Pidfile != "" {
		release, err := procutil.CreatePidfile(d.cfg.Pidfile)
		if err != nil {
			return err
		}
		defer func() { _ = release() }()
	}
	d.metrics = newMetrics()
	sb, err := sbsync.New(sbsync.Options{
		Endpoints:     d.cfg.OVNSBDB,
		TLS:           d.cfg.tls,
		Logger:        d.log.With("component", "southbound"),
		ProbeInterval: sbProbe(d.cfg),
		FDBRate:       d.cfg.LearningRate,
	})
	if err != nil {
		return err
	}
	d.sb = sb
	d.metrics.register(d)

	ctl, err := d.startControl()
	if err != nil {
		return err
	}
	procs, why := applyProcs(d.cfg)
	d.log.Info("vtepgw starting", "version", Version, "ovnsb_db", d.cfg.OVNSBDB, "switches", len(d.cfg.Switches), "control", ctl.Path(), "max_procs", procs, "max_procs_from", why)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ctl.Run(gctx) })
	g.Go(func() error { return sb.Run(gctx) })
	if d.cfg.MetricsAddr != "" {
		g.Go(func() error { return d.serveMetrics(gctx) })
	}
	gwCtx, stopGateways := context.WithCancel(gctx)
	defer stopGateways()
	d.stopGateways = stopGateways
	for _, sc := range d.cfg.Switches {
		d.gwWG.Add(1)
		g.Go(func() error {
			defer d.gwWG.Done()
			return d.runSwitch(gwCtx, sc)
		})
	}
	g.Go(func() error { return d.signals(gctx) })
	err = g.Wait()
	d.closeSessions()
	if d.logClose != nil {
		defer d.logClose.Close()
	}
	d.log.Info("vtepgw stopped")
	return err
}

// runSwitch connects one switch (retrying) and runs its gateway.
func (d *daemon) runSwitch(ctx context.Context, sc SwitchConfig) error {
	log := d.log.With("switch", sc.Name, "driver", sc.Driver)
	conn, err := drivers.NewConnector(sc.Driver, drivers.Params{
		Name: sc.Name, Endpoints: sc.Endpoints, TLS: d.cfg.tls, Settings: sc.Settings, Logger: log,
	})
	if err != nil {
		return err
	}
	gr := &gatewayRun{cfg: sc}
	delay := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		s, err := conn.Connect(cctx, gr.buf.notify)
		cancel()
		if err == nil {
			gr.session = s
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("switch connection failed; retrying", "retry_in", delay, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 8*time.Second)
	}
	if err := d.sb.WaitConnected(ctx); err != nil {
		return nil
	}
	gr.sb = d.sb.NewSouthbound(sbsync.SouthboundOptions{
		GatewayID:     gr.session.ID(),
		Logger:        log,
		NorthdVersion: d.cfg.NorthdVersion,
		Limits: sbsync.Limits{
			Rate: sc.Learning.Rate, Burst: sc.Learning.Burst,
			MaxPerLS: sc.Learning.MaxPerLogicalSwitch, MaxPerSwitch: sc.Learning.MaxPerSwitch,
		},
		Replication:    sc.Replication.options(),
		ARPSuppression: d.cfg.ARPSuppression,
	}, gr.buf.notify)
	defer gr.sb.Close()
	gr.gw = vtep.NewGateway(gr.session, gr.sb, vtep.GatewayOptions{
		Name:    sc.Name,
		Logger:  log,
		OnBatch: d.metrics.observeBatch,
	})
	gr.buf.attach(gr.gw)
	gr.gw.Resync()
	d.mu.Lock()
	d.gateways = append(d.gateways, gr)
	d.mu.Unlock()
	log.Info("switch connected", "id", gr.session.ID())
	return gr.gw.Run(ctx)
}

func (d *daemon) closeSessions() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, gr := range d.gateways {
		if gr.session != nil {
			_ = gr.session.Close()
		}
	}
}

// signals: INT/TERM stop without touching switch or SB state (a restart is
// hitless); HUP reloads the configuration's reloadable parts.
func (d *daemon) signals(ctx context.Context) error {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-ch:
			if s == syscall.SIGHUP {
				if d.logFile != nil {
					if err := d.logFile.Reopen(); err != nil {
						d.log.Error("reopening the log file failed", "err", err)
					}
				}
				d.reload()
				continue
			}
			d.log.Info("terminating on signal; leaving switch and southbound state in place", "signal", s.String())
			d.stop()
			go func() {
				<-ch
				os.Exit(1)
			}()
			return nil
		}
	}
}

// reload re-reads the configuration. Only the log level and max-procs are reloadable;
// other changes are reported as needing a restart.
func (d *daemon) reload() {
	fs := newFlagSet()
	_ = fs.Parse(os.Args[1:])
	cfg, err := load(fs)
	if err != nil {
		d.metrics.reloadFailures.Inc()
		d.log.Error("configuration reload failed; keeping the running configuration", "err", err)
		return
	}
	d.setLevel(cfg.LogLevel)
	before := runtime.GOMAXPROCS(0)
	if procs, why := applyProcs(cfg); procs != before {
		d.log.Info("max-procs changed", "max_procs", procs, "was", before, "max_procs_from", why)
	}
	if fmt.Sprint(cfg.Switches, cfg.OVNSBDB, cfg.MetricsAddr, cfg.ARPSuppression) != fmt.Sprint(d.cfg.Switches, d.cfg.OVNSBDB, d.cfg.MetricsAddr, d.cfg.ARPSuppression) {
		d.log.Warn("configuration reloaded; switch, southbound, listen address and arp-suppression changes need a restart")
	} else {
		d.log.Info("configuration reloaded", "log_level", cfg.LogLevel)
	}
}

func (d *daemon) serveMetrics(ctx context.Context) error {
	ln, err := net.Listen("tcp", d.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{}))
	if d.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	d.log.Info("serving metrics", "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics server: %w", err)
	}
	return nil
}

// startControl opens the unixctl socket with the ovn-controller-vtep
// commands plus status.
func (d *daemon) startControl() (*unixctl.Server, error) {
	path := d.cfg.Unixctl
	if path == "" {
		path = filepath.Join(rundir(), fmt.Sprintf("vtepgw.%d.ctl", os.Getpid()))
	}
	srv, err := unixctl.New(unixctl.Options{Path: path, Logger: d.log})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	srv.Register("exit", "", 0, 1, func(ctx context.Context, args []string) (string, error) {
		d.exitCleanup(ctx)
		d.stop()
		return "", nil
	})
	srv.Register("version", "", 0, 0, func(context.Context, []string) (string, error) {
		return "vtepgw " + Version + "\n", nil
	})
	srv.Register("sb-connection-status", "", 0, 0, func(context.Context, []string) (string, error) {
		if d.sb.Connected() {
			return "connected\n", nil
		}
		return "not connected\n", nil
	})
	srv.Register("vtep-connection-status", "", 0, 0, func(context.Context, []string) (string, error) {
		var b strings.Builder
		for _, gr := range d.snapshot() {
			st := "not connected"
			if gr.session.Connected() {
				st = "connected"
			}
			if len(d.cfg.Switches) == 1 {
				return st + "\n", nil
			}
			fmt.Fprintf(&b, "%s: %s\n", gr.cfg.Name, st)
		}
		if b.Len() == 0 {
			return "not connected\n", nil
		}
		return b.String(), nil
	})
	srv.Register("status", "", 0, 0, func(context.Context, []string) (string, error) {
		return d.status(), nil
	})
	srv.Register("vlog/reopen", "", 0, 0, func(context.Context, []string) (string, error) {
		if d.logFile == nil {
			return "", errors.New("no log file")
		}
		return "", d.logFile.Reopen()
	})
	srv.Register("vlog/set", "LEVEL", 1, 1, func(_ context.Context, args []string) (string, error) {
		d.setLevel(strings.TrimPrefix(args[0], "ANY:"))
		return "", nil
	})
	return srv, nil
}

func (d *daemon) snapshot() []*gatewayRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*gatewayRun(nil), d.gateways...)
}

// exitCleanup removes our state from both sides, like ovn-controller-vtep's
// graceful exit.
func (d *daemon) exitCleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Stop reconciling first, or the workers would put back what we remove.
	d.stopGateways()
	d.gwWG.Wait()
	for _, gr := range d.snapshot() {
		if err := gr.sb.Cleanup(ctx, gr.session); err != nil {
			d.log.Error("exit: southbound cleanup failed", "switch", gr.cfg.Name, "err", err)
		}
		if err := gr.session.Apply(ctx, vtep.CleanupChangeset(gr.session)); err != nil {
			d.log.Error("exit: switch cleanup failed", "switch", gr.cfg.Name, "err", err)
		}
	}
}

func (d *daemon) status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "southbound: %s\n", d.sb.Status())
	for _, gr := range d.snapshot() {
		fmt.Fprintf(&b, "switch connection %s (%s): %s\n", gr.cfg.Name, gr.cfg.Driver, gr.session.Status())
		attached, macs, st := gr.sb.Counts()
		for _, ps := range gr.session.PhysicalSwitches() {
			fmt.Fprintf(&b, "  physical switch %s tunnel_ips=%v logical_switches=%v\n", ps.Name, ps.TunnelIPs, ps.LogicalSwitchNames())
		}
		names := make([]string, 0, len(attached))
		for n := range attached {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "  logical switch %s vni=%d\n", n, attached[n])
		}
		fmt.Fprintf(&b, "  remote macs wanted=%d ucast_remote=%d mcast_remote=%d ucast_local=%d mcast_local=%d\n",
			macs, len(gr.session.Entries(vtep.KindUcastRemote)), len(gr.session.Entries(vtep.KindMcastRemote)),
			len(gr.session.Entries(vtep.KindUcastLocal)), len(gr.session.Entries(vtep.KindMcastLocal)))
		fmt.Fprintf(&b, "  learned macs in fdb=%d deferred_by_rate=%d refused_by_limit=%d\n", st.LearnedOwned, st.RateDeferred, st.CapRefused)
		fmt.Fprintf(&b, "  multicast: igmp_groups_written=%d ip_groups_mapped=%d\n", st.IGMPGroups, st.McastGroups)
		fmt.Fprintf(&b, "  conflicts=%d fdb_clashes=%d chassis_without_vxlan=%d (ports skipped %d) pending_keys=%d\n", st.Conflicts, st.FDBClashes, st.ChassisWithoutVXLAN, st.NoVXLANEncap, gr.gw.Pending())
	}
	return b.String()
}

// sbProbe is the SB inactivity probe: as in OVS, unix: remotes are not
// probed (a switch's ovn-remote-probe-interval still turns it on).
func sbProbe(c *Config) time.Duration {
	for _, r := range c.OVNSBDB {
		if !strings.HasPrefix(r, "unix:") {
			return c.SBProbeInterval
		}
	}
	return 0
}
