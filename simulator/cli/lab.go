package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/lab"
)

func labMain(args []string) int {
	fs := flag.NewFlagSet("vtepsim lab", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory for databases, sockets and logs (default: a new temp dir, removed on exit)")
	n := fs.Int("switches", 2, "number of simulated switches (named sim0, sim1, ...)")
	ports := fs.Int("ports", 4, "ports per switch (p0..pN-1)")
	dp := fs.String("datapath", "dummy", "OVS datapath type: dummy, or netdev (tap ports; use with --netns)")
	netns := fs.Bool("netns", false, "run ovs-vswitchd in a new network namespace")
	ipBase := fs.String("tunnel-net", "192.0.2.", "tunnel IPs are <tunnel-net><1+i> (keep them outside 127/8)")
	keep := fs.Bool("keep", false, "keep the directory on exit")
	verbose := fs.Bool("v", false, "debug logging")
	aging := fs.Duration("mac-aging", 300*time.Second, "learned MAC idle timeout")
	maxIdle := fs.Duration("dp-max-idle", 100*time.Millisecond, "ovs-vswitchd datapath flow idle time (other_config:max-idle; 0: OVS default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	lvl := slog.LevelInfo
	if *verbose {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d := *dir
	if d == "" {
		t, err := os.MkdirTemp("", "vtepsim-lab-")
		if err != nil {
			log.Error("temp dir", "err", err)
			return 1
		}
		d = t
		if !*keep {
			defer os.RemoveAll(d)
		}
	}
	env, err := lab.Start(ctx, d, lab.StartOptions{Datapath: *dp, Netns: *netns, Log: log})
	if err != nil {
		log.Error("start OVS", "err", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			log.Warn("stop OVS", "err", err)
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := 0; i < *n; i++ {
		name := fmt.Sprintf("sim%d", i)
		ip := fmt.Sprintf("%s%d", *ipBase, i+1)
		// OVS port names are global to ovs-vswitchd: prefix them.
		var pn []string
		for j := 0; j < *ports; j++ {
			pn = append(pn, fmt.Sprintf("%s-p%d", name, j))
		}
		if err := env.AddSwitchPorts(ctx, name, pn, ip); err != nil {
			log.Error("add switch", "switch", name, "err", err)
			return 1
		}
		s, err := simulator.New(simulator.Options{DB: env.Remote(), Switch: name, RunDir: env.Dir, Isolated: true,
			TunnelLocalIP: true, MACAging: *aging, DatapathMaxIdle: *maxIdle, Log: log})
		if err != nil {
			log.Error("simulator", "err", err)
			return 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				log.Error("simulator stopped", "switch", name, "err", err)
				cancel()
			}
		}()
		fmt.Printf("switch %s: ports %s-p0..%s-p%d, tunnel_ip %s\n", name, name, name, *ports-1, ip)
	}
	fmt.Printf(`
vtepsim lab is running (pids %v).
  hardware_vtep + Open_vSwitch remote: %s
  vtep-ctl --db=%s show
  export OVS_RUNDIR=%s   # then ovs-vsctl, ovs-ofctl, ovs-appctl, vtep-ctl use this lab
  inject (dummy datapath): ovs-appctl -t %s netdev-dummy/receive sim0-p0 'in_port(1),eth(src=00:00:00:00:00:aa,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0800)'
Press Ctrl-C to stop and clean up.
`, env.Pids(), env.Remote(), env.Remote(), env.Dir, env.VswitchdCtl())
	<-ctx.Done()
	fmt.Println("stopping lab")
	return 0
}
