package acme

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
)

// Options are the driver's settings, decoded and validated.
type Options struct {
	// Endpoints are the switch's management addresses (HOST:PORT), tried
	// in order at every (re)connect.
	Endpoints []string
	// DialTimeout bounds one connection attempt (default 5s).
	DialTimeout time.Duration
	// ReconnectBackoff and ReconnectBackoffMax bound the exponential
	// delay between reconnect attempts (default 100ms and 5s).
	ReconnectBackoff, ReconnectBackoffMax time.Duration
	// Logger gets the session's connection events (default: discarded).
	Logger *slog.Logger
}

const (
	defaultDialTimeout  = 5 * time.Second
	defaultBackoff      = 100 * time.Millisecond
	defaultBackoffMax   = 5 * time.Second
	settingDialTimeout  = "dial-timeout"
	settingBackoff      = "reconnect-backoff"
	settingBackoffMax   = "reconnect-backoff-max"
	defaultEndpointPort = "7170"
)

// ParseOptions decodes and validates the settings of one configured
// switch. Every problem is reported, each wrapping drivers.ErrInvalid.
// It does no I/O.
func ParseOptions(p drivers.Params) (Options, error) {
	var errs problems
	o := Options{
		DialTimeout:         defaultDialTimeout,
		ReconnectBackoff:    defaultBackoff,
		ReconnectBackoffMax: defaultBackoffMax,
		Logger:              p.Logger,
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(p.Endpoints) == 0 {
		errs.add("endpoints: at least one HOST:PORT of the switch's management API is required")
	}
	for _, ep := range p.Endpoints {
		addr, err := parseEndpoint(ep)
		if err != nil {
			errs.add("endpoint %q: %v", ep, err)
			continue
		}
		o.Endpoints = append(o.Endpoints, addr)
	}
	if p.TLS != nil {
		errs.add("TLS is configured, but the Acme management API is plain TCP (run it on a management network)")
	}
	for _, name := range slices.Sorted(maps.Keys(p.Settings)) {
		v := p.Settings[name]
		var dst *time.Duration
		switch name {
		case settingDialTimeout:
			dst = &o.DialTimeout
		case settingBackoff:
			dst = &o.ReconnectBackoff
		case settingBackoffMax:
			dst = &o.ReconnectBackoffMax
		default:
			errs.add("unknown setting %q (known: %s, %s, %s)", name, settingDialTimeout, settingBackoff, settingBackoffMax)
			continue
		}
		d, err := duration(v)
		if err != nil {
			errs.add("setting %s: %v", name, err)
			continue
		}
		*dst = d
	}
	if o.ReconnectBackoffMax < o.ReconnectBackoff {
		errs.add("setting %s (%v) is below %s (%v)", settingBackoffMax, o.ReconnectBackoffMax, settingBackoff, o.ReconnectBackoff)
	}
	return o, errs.err()
}

// parseEndpoint accepts HOST:PORT, tcp:HOST:PORT, or HOST alone (port
// 7170, the API's default).
func parseEndpoint(ep string) (string, error) {
	ep, _ = strings.CutPrefix(ep, "tcp:")
	host, port, err := net.SplitHostPort(ep)
	if err != nil {
		host, port = ep, defaultEndpointPort
	}
	if host == "" {
		return "", fmt.Errorf("no host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

// duration accepts a Go duration string ("500ms") or a time.Duration.
func duration(v any) (time.Duration, error) {
	var d time.Duration
	switch v := v.(type) {
	case time.Duration:
		d = v
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("want a duration such as \"5s\", got %T %v", v, v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%v is not positive", d)
	}
	return d, nil
}

// problems collects validation errors.
type problems []error

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalid)...))
}

func (p problems) err() error { return errors.Join(p...) }
