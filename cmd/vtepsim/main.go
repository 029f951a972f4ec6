// Command vtepsim is a hardware VTEP simulator on Open vSwitch, a drop-in
// replacement for ovs-vtep. See simulator/README.md. With --gnmi-addr it
// also serves a switch over gNMI (simulator/gnmiface), with --netconf-addr
// over NETCONF (simulator/netconfface).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/cli"
	"github.com/vtepgw/vtepgw/simulator/facedev"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
)

const faceUsage = `  --face-device=sim|memory     what the gNMI and NETCONF faces serve: the simulated
                               switch PS-NAME through its hardware_vtep database
                               (default when PS-NAME is given), or an in-memory
                               switch (default without PS-NAME, and with "lab")
`

// faceDevice takes --face-device out of args.
func faceDevice(args []string) (string, []string, error) {
	mode := ""
	var rest []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "face-device="); ok && strings.HasPrefix(a, "-") {
			if v != "sim" && v != "memory" {
				return "", nil, fmt.Errorf("--face-device=%s: want sim or memory", v)
			}
			mode = v
			continue
		}
		rest = append(rest, a)
	}
	return mode, rest, nil
}

// simTarget returns the OVSDB remote (--db) and PS-NAME of a simulator
// command line, and whether it runs one switch (not "lab").
func simTarget(rest []string) (db, ps string, ok bool) {
	for _, a := range rest {
		if v, found := strings.CutPrefix(strings.TrimLeft(a, "-"), "db="); found && strings.HasPrefix(a, "-") {
			db = v
			continue
		}
		if a == "lab" {
			return "", "", false
		}
		if !strings.HasPrefix(a, "-") && ps == "" {
			ps = a
		}
	}
	return db, ps, ps != ""
}

// serveGNMI serves the gNMI face on the simulated switch, or in memory.
func serveGNMI(ctx context.Context, g *gnmiface.Flags, mode string, rest []string, log *slog.Logger) error {
	db, ps, one := simTarget(rest)
	if mode == "memory" || (mode == "" && !one) {
		return g.Serve(ctx, log)
	}
	if !one {
		return fmt.Errorf("--face-device=sim needs PS-NAME")
	}
	sw, err := simulator.OpenSwitch(ctx, simulator.SwitchOptions{DB: db, Switch: ps, Log: log})
	if err != nil {
		return err
	}
	defer sw.Close()
	dev := facedev.NewGNMI(sw, ps, facedev.GNMIOptions{Log: log})
	defer dev.Close()
	return g.ServeDevice(ctx, log, dev)
}

// serveNETCONF serves the NETCONF face on the simulated switch, or in memory.
func serveNETCONF(ctx context.Context, n *netconfface.Flags, mode string, rest []string, log *slog.Logger) error {
	db, ps, one := simTarget(rest)
	if mode == "memory" || (mode == "" && !one) {
		return n.ServeDevice(ctx, log, n.MemDevice())
	}
	if !one {
		return fmt.Errorf("--face-device=sim needs PS-NAME")
	}
	sw, err := simulator.OpenSwitch(ctx, simulator.SwitchOptions{DB: db, Switch: ps, Log: log})
	if err != nil {
		return err
	}
	defer sw.Close()
	return n.ServeDevice(ctx, log, facedev.NewNETCONF(sw))
}

func main() {
	// The gnmi module logs through glog, which writes files to /tmp unless told.
	_ = flag.Set("logtostderr", "true")
	mode, args, err := faceDevice(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: %v\n%s", err, faceUsage)
		os.Exit(1)
	}
	g, rest, err := gnmiface.ParseFlags(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: %v\n%s", err, gnmiface.Usage)
		os.Exit(1)
	}
	n, rest, err := netconfface.ParseFlags(rest)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: %v\n%s", err, netconfface.Usage)
		os.Exit(1)
	}
	if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		code := cli.Main(rest)
		fmt.Print(gnmiface.Usage)
		fmt.Print(netconfface.Usage)
		fmt.Print(faceUsage)
		os.Exit(code)
	}
	if g == nil && n == nil {
		os.Exit(cli.Main(rest))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	base := slog.New(slog.NewTextHandler(os.Stderr, nil))
	type face struct {
		name  string
		log   *slog.Logger
		serve func(*slog.Logger) error
	}
	var faces []face
	if g != nil {
		faces = append(faces, face{"gNMI", base.With("face", "gnmi"), func(log *slog.Logger) error { return serveGNMI(ctx, g, mode, rest, log) }})
	}
	if n != nil {
		faces = append(faces, face{"NETCONF", base.With("face", "netconf"), func(log *slog.Logger) error { return serveNETCONF(ctx, n, mode, rest, log) }})
	}
	done := make(chan error, len(faces))
	for _, f := range faces {
		go func() {
			err := f.serve(f.log)
			if err != nil && len(rest) > 0 {
				// The face could not start (or died): do not run on without it.
				f.log.Error(f.name+" face failed", "err", err)
				os.Exit(1)
			}
			if err != nil {
				err = fmt.Errorf("%s face: %w", f.name, err)
			}
			done <- err
		}()
	}
	code := 0
	if len(rest) > 0 {
		code = cli.Main(rest) // the OVS-based switch alongside
		cancel()
	}
	for range faces {
		if err := <-done; err != nil {
			base.Error("face failed", "err", err)
			code = 1
			cancel() // one face alone failed: stop the others
		}
	}
	os.Exit(code)
}
