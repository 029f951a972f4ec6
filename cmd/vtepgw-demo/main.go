// Command vtepgw-demo runs vtepgw end to end in one process, with nothing
// installed: an in-process OVN southbound and an in-process hardware VTEP
// switch (libovsdb in-memory OVSDB servers), a sample topology, and a story
// of MACs flowing both ways. It exits 0 when every expected state appeared,
// 1 otherwise, so it doubles as a smoke test (`make demo`).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	timeout := flag.Duration("timeout", 10*time.Second, "how long to wait for each expected state")
	verbose := flag.Bool("v", false, "write vtepgw's debug log to stderr")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, options{out: os.Stdout, errOut: os.Stderr, verbose: *verbose, timeout: *timeout})
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nDEMO FAILED: %v\n", err)
		os.Exit(1)
	}
}
