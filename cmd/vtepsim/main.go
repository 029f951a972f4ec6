// Command vtepsim is a hardware VTEP simulator on Open vSwitch, a drop-in
// replacement for ovs-vtep. See simulator/README.md. With --gnmi-addr it
// also serves a switch over gNMI (simulator/gnmiface).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/vtepgw/vtepgw/simulator/cli"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
)

func main() {
	// The gnmi module logs through glog, which writes files to /tmp unless told.
	_ = flag.Set("logtostderr", "true")
	g, rest, err := gnmiface.ParseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "vtepsim: %v\n%s", err, gnmiface.Usage)
		os.Exit(1)
	}
	if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" || a == "-help" }) {
		code := cli.Main(rest)
		fmt.Print(gnmiface.Usage)
		os.Exit(code)
	}
	if g == nil {
		os.Exit(cli.Main(rest))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("face", "gnmi")
	done := make(chan error, 1)
	go func() {
		err := g.Serve(ctx, log)
		if err != nil && len(rest) > 0 {
			// The face could not start (or died): do not run on without it.
			log.Error("gNMI face failed", "err", err)
			os.Exit(1)
		}
		done <- err
	}()
	code := 0
	if len(rest) > 0 {
		code = cli.Main(rest) // the OVS-based switch alongside
		cancel()
	}
	if err := <-done; err != nil {
		log.Error("gNMI face failed", "err", err)
		code = 1
	}
	os.Exit(code)
}
