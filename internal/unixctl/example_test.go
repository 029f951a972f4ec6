package unixctl_test

import (
	"context"
	"log/slog"

	"github.com/vtepgw/vtepgw/internal/unixctl"
)

// A daemon registers "version" and "exit"; "exit" asks the caller to shut
// down, as ovn-controller-vtep's does.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := unixctl.New(unixctl.Options{Path: "/var/run/ovn/vtepgw.42.ctl", Logger: slog.Default()})
	if err != nil {
		return
	}
	srv.Register("version", "", 0, 0, func(context.Context, []string) (string, error) {
		return "vtepgw 0.1.0", nil
	})
	srv.Register("exit", "", 0, 0, func(context.Context, []string) (string, error) {
		cancel() // Run still sends this reply before it returns
		return "", nil
	})
	_ = srv.Run(ctx) // returns nil after "exit"
}
