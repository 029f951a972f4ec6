// Package cli is the command line of vtepsim: the ovs-vtep-compatible
// daemon (`vtepsim [options] PS-NAME`) and the lab (`vtepsim lab`).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
)

const usage = `usage: vtepsim [options] PS-NAME      run one simulated switch (drop-in for ovs-vtep)
       vtepsim lab [lab options]        start ovsdb-server + ovs-vswitchd and N switches

Options (daemon):
  --db=REMOTE            OVSDB remote with Open_vSwitch and hardware_vtep
                         (default unix:$OVS_RUNDIR/db.sock)
  --rundir=DIR           where ovs-vswitchd puts <bridge>.mgmt sockets
  --mac-aging=DUR        learned MAC idle timeout (default 300s)
  --max-learned=N        learned MACs per logical switch (0: no cap)
  --learn-rate=R         newly learned MACs per second (0: unlimited)
  --max-vnis=N --max-remote-vteps=N --max-macs=N   switch limits (0: none)
  --no-source-node       refuse source_node replication (fault)
  --stats-interval=DUR   binding statistics period (default 5s)
  --dp-max-idle=DUR      ovs-vswitchd's other_config:max-idle (datapath flow
                         idle time, global to that ovs-vswitchd; 100ms makes
                         learning bursts fast; default 100ms; 0: leave it alone)
  --log-file[=FILE]      log to FILE (default $OVS_LOGDIR/ovs-vtep.log)
  --pidfile[=FILE]       write a pidfile (default $OVS_RUNDIR/ovs-vtep.pid)
  --unixctl=SOCKET       unixctl socket (default $OVS_RUNDIR/ovs-vtep.PID.ctl)
  --detach               run in the background
  --no-chdir, --monitor, --root-prefix=DIR, -vSPEC, --version
                         accepted for ovs-vtep compatibility
  -v, --verbose          debug logging
`

// Main runs vtepsim with args and returns the exit code.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "lab" {
		return labMain(args[1:])
	}
	o, err := parseDaemon(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Print(usage)
			return 0
		}
		fmt.Fprintf(os.Stderr, "vtepsim: %v\n%s", err, usage)
		return 1
	}
	return runDaemon(o)
}

type daemonOpts struct {
	sim       simulator.Options
	logFile   string
	pidFile   string
	unixctl   string
	detach    bool
	debug     bool
	consoleOn bool
}

func ovsDir(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	if v := os.Getenv("OVS_RUNDIR"); v != "" {
		return v
	}
	return def
}

// defaultDPMaxIdle is --dp-max-idle's default, as in `vtepsim lab`.
const defaultDPMaxIdle = 100 * time.Millisecond

func parseDaemon(args []string) (*daemonOpts, error) {
	o := &daemonOpts{consoleOn: true}
	// The simulated switch is the whole ovs-vswitchd, so its datapath flow
	// idle time is the switch's to set: learning bursts leave one
	// datapath flow per source MAC, and OVS re-translates every cached
	// flow after each learned MAC.
	o.sim.DatapathMaxIdle = defaultDPMaxIdle
	var rest []string
	for _, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			continue
		}
		var err error
		switch name {
		case "h", "help":
			return nil, flag.ErrHelp
		case "version", "V":
			fmt.Println("vtepsim (ovs-vtep compatible) 1.0")
			os.Exit(0)
		case "db":
			o.sim.DB = val
		case "rundir":
			o.sim.RunDir = val
		case "mac-aging":
			o.sim.MACAging, err = time.ParseDuration(val)
		case "max-learned":
			o.sim.MaxLearnedPerLS, err = strconv.Atoi(val)
		case "learn-rate":
			o.sim.LearnRate, err = strconv.ParseFloat(val, 64)
		case "max-vnis":
			o.sim.MaxVNIs, err = strconv.Atoi(val)
		case "max-remote-vteps":
			o.sim.MaxRemoteVTEPs, err = strconv.Atoi(val)
		case "max-macs":
			o.sim.MaxMACs, err = strconv.Atoi(val)
		case "no-source-node":
			o.sim.NoSourceNode = true
		case "stats-interval":
			o.sim.StatsInterval, err = time.ParseDuration(val)
		case "dp-max-idle":
			o.sim.DatapathMaxIdle, err = time.ParseDuration(val)
		case "log-file":
			o.logFile = val
			if !hasVal {
				o.logFile = filepath.Join(ovsDir("OVS_LOGDIR", "/var/log/openvswitch"), "ovs-vtep.log")
			}
		case "pidfile":
			o.pidFile = val
			if !hasVal {
				o.pidFile = filepath.Join(ovsDir("OVS_RUNDIR", "/var/run/openvswitch"), "ovs-vtep.pid")
			}
		case "unixctl":
			o.unixctl = val
		case "detach":
			o.detach = true
		case "no-chdir", "monitor", "root-prefix", "overwrite-pidfile":
		case "v", "verbose":
			if hasVal || name == "verbose" || a == "-v" {
				o.debug = true
			}
		default:
			if strings.HasPrefix(name, "v") {
				// -vconsole:off, -vfile:dbg, ... (OVS vlog syntax)
				if strings.Contains(name, "console:off") {
					o.consoleOn = false
				}
				if strings.Contains(name, "dbg") {
					o.debug = true
				}
				continue
			}
			return nil, fmt.Errorf("unknown option %s", a)
		}
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", a, err)
		}
	}
	if len(rest) != 1 {
		return nil, errors.New("exactly one PS-NAME argument is required")
	}
	o.sim.Switch = rest[0]
	return o, nil
}

func logger(o *daemonOpts) (*slog.Logger, func(), error) {
	lvl := slog.LevelInfo
	if o.debug {
		lvl = slog.LevelDebug
	}
	var ws []io.Writer
	closeFn := func() {}
	if o.consoleOn && !o.detach {
		ws = append(ws, os.Stderr)
	}
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		ws = append(ws, f)
		closeFn = func() { f.Close() }
	}
	return slog.New(slog.NewTextHandler(io.MultiWriter(ws...), &slog.HandlerOptions{Level: lvl})), closeFn, nil
}

func runDaemon(o *daemonOpts) int {
	if o.detach && os.Getenv("VTEPSIM_DETACHED") == "" {
		return detach(o)
	}
	log, closeLog, err := logger(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: %v\n", err)
		return 1
	}
	defer closeLog()
	o.sim.Log = log
	sim, err := simulator.New(o.sim)
	if err != nil {
		log.Error("bad options", "err", err)
		return 1
	}
	if o.pidFile != "" {
		if err := os.WriteFile(o.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("pidfile", "err", err)
			return 1
		}
		defer os.Remove(o.pidFile)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctlPath := o.unixctl
	if ctlPath == "" {
		base := "ovs-vtep"
		if o.pidFile != "" {
			base = strings.TrimSuffix(filepath.Base(o.pidFile), ".pid")
		}
		ctlPath = filepath.Join(ovsDir("OVS_RUNDIR", "/var/run/openvswitch"), fmt.Sprintf("%s.%d.ctl", base, os.Getpid()))
	}
	ctl, err := serveUnixctl(ctlPath, cancel, log)
	if err != nil {
		log.Warn("no unixctl socket", "err", err)
	} else {
		defer ctl.Close()
	}
	if prof := os.Getenv("VTEPSIM_CPUPROFILE"); prof != "" {
		if f, err := os.Create(prof); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	if err := sim.Run(ctx); err != nil {
		log.Error("vtepsim failed", "err", err)
		return 1
	}
	return 0
}

// detach re-executes vtepsim in a new session and waits for it to write
// its pidfile (or to run for a moment when there is none).
func detach(o *daemonOpts) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: detach: %v\n", err)
		return 1
	}
	if o.pidFile != "" {
		os.Remove(o.pidFile)
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "VTEPSIM_DETACHED=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: detach: %v\n", err)
		return 1
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if o.pidFile == "" {
			time.Sleep(200 * time.Millisecond)
			return 0
		}
		if _, err := os.Stat(o.pidFile); err == nil {
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "vtepsim: detached child did not write its pidfile")
	return 1
}
