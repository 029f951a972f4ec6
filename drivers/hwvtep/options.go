package hwvtep

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/internal/ovsdbx"
)

// Driver is the hwvtep driver.
type Driver struct{}

// Options are the driver's settings.
type Options struct {
	// ProbeInterval is the OVSDB inactivity probe towards the switch
	// (setting "probe-interval", a Go duration; default 5s, 0 disables).
	// Like OVS (stream_or_pstream_needs_probes), unix: remotes are not
	// probed unless the setting asks for it: a local server that is busy
	// sending a large update is not dead.
	ProbeInterval time.Duration
}

// NewConnector validates the endpoints and settings.
func (Driver) NewConnector(p drivers.Params) (drivers.Connector, error) {
	if len(p.Endpoints) == 0 {
		return nil, fmt.Errorf("no endpoint (want tcp:IP:PORT, ssl:IP:PORT or unix:PATH): %w", drivers.ErrInvalid)
	}
	for _, ep := range p.Endpoints {
		if err := ovsdbx.ValidateRemote(ep); err != nil {
			return nil, fmt.Errorf("%w: %w", err, drivers.ErrInvalid)
		}
	}
	opts := Options{ProbeInterval: 5 * time.Second}
	if !slices.ContainsFunc(p.Endpoints, func(ep string) bool { return !strings.HasPrefix(ep, "unix:") }) {
		opts.ProbeInterval = 0
	}
	for k, v := range p.Settings {
		switch k {
		case "probe-interval", "probe_interval":
			d, err := parseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("setting %s: %w: %w", k, err, drivers.ErrInvalid)
			}
			opts.ProbeInterval = d
		default:
			return nil, fmt.Errorf("unknown setting %q (known: probe-interval): %w", k, drivers.ErrInvalid)
		}
	}
	return &connector{params: p, opts: opts}, nil
}

func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		return time.ParseDuration(x)
	case time.Duration:
		return x, nil
	case int:
		return time.Duration(x) * time.Millisecond, nil
	}
	return 0, fmt.Errorf("want a duration like 5s, got %v", v)
}
