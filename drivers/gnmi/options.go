package gnmi

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
)

// Driver is the gNMI driver.
type Driver struct{}

// Options are the driver's settings (see README.md for the YAML keys).
type Options struct {
	// Adapter names the vendor adapter ("sonic", "eos"). Required.
	Adapter string
	// Target is the gNMI target in every request's prefix (default: the
	// switch name).
	Target string
	// SwitchName is the physical switch name reported to the controller
	// (default: the configured switch connection name).
	SwitchName string
	// TunnelIP is the switch's VTEP address; required unless the adapter
	// reads it (sonic reads VXLAN_TUNNEL src_ip).
	TunnelIP string
	// VTEP, VxlanIf and NetworkInstance name the device's tunnel, VXLAN
	// interface and OpenConfig network instance (adapter defaults).
	VTEP, VxlanIf, NetworkInstance string
	// Username and Password (or PasswordFile) travel as gRPC metadata.
	Username, Password, PasswordFile string
	// TLS files and the server name to verify; they override the
	// process-wide TLS settings for this switch.
	TLSCA, TLSCert, TLSKey, TLSServerName string
	// LogicalSwitches maps logical switch names to device VLANs, and
	// Bindings lists port/VLAN bindings: when set they replace what the
	// device reports (for devices whose adapter cannot read them).
	LogicalSwitches map[string]int
	Bindings        []Binding
	// PollInterval is how often polled state is re-read (default 30s).
	PollInterval time.Duration
	// ReconnectBackoff and ReconnectBackoffMax bound the exponential
	// reconnect delay (default 200ms and 10s).
	ReconnectBackoff, ReconnectBackoffMax time.Duration
	// SyncTimeout bounds the initial sync of a (re)connection (default 60s).
	SyncTimeout time.Duration
	// MaxRemoteMACs, if set, is the device's limit of remote MACs per
	// logical switch (the flood list counts as one), checked before writing.
	MaxRemoteMACs int
	// Keepalive, if set, sends HTTP/2 pings at that interval (the target's
	// gRPC enforcement policy must allow it; off by default).
	Keepalive time.Duration
}

// Binding is one configured port/VLAN binding; Tag 0 is untagged.
type Binding struct {
	Port string
	Tag  int
	LS   string
}

// endpoint is one parsed remote.
type endpoint struct {
	addr      string
	plaintext bool
}

func parseEndpoint(s string) (endpoint, error) {
	ep := endpoint{addr: s}
	for _, pre := range []string{"tls:", "ssl:", "tcp:"} {
		if rest, ok := strings.CutPrefix(s, pre); ok {
			ep.addr, ep.plaintext = rest, pre == "tcp:"
		}
	}
	host, port, err := net.SplitHostPort(ep.addr)
	if err != nil {
		return ep, fmt.Errorf("endpoint %q: want [tls:|tcp:]HOST:PORT: %w", s, drivers.ErrInvalid)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return ep, fmt.Errorf("endpoint %q: want [tls:|tcp:]HOST:PORT: %w", s, drivers.ErrInvalid)
	}
	return ep, nil
}

var knownSettings = []string{
	"adapter", "target", "switch-name", "tunnel-ip", "vtep", "vxlan-interface", "network-instance",
	"username", "password", "password-file", "tls-ca", "tls-cert", "tls-key", "tls-server-name",
	"logical-switches", "bindings", "poll-interval", "reconnect-backoff", "reconnect-backoff-max",
	"sync-timeout", "keepalive", "max-remote-macs",
}

// NewConnector validates the endpoints and settings. It does no I/O:
// files (TLS, password) are read when connecting.
func (Driver) NewConnector(p drivers.Params) (drivers.Connector, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalid)...))
	}
	var eps []endpoint
	if len(p.Endpoints) == 0 {
		bad("no endpoint (want [tls:|tcp:]HOST:PORT)")
	}
	for _, s := range p.Endpoints {
		ep, err := parseEndpoint(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		eps = append(eps, ep)
	}
	o := Options{PollInterval: 30 * time.Second, ReconnectBackoff: 200 * time.Millisecond,
		ReconnectBackoffMax: 10 * time.Second, SyncTimeout: 60 * time.Second}
	str := func(k string, v any, dst *string) {
		s, ok := v.(string)
		if !ok {
			if k == "password" {
				bad("setting password: want a string") // never print the value
				return
			}
			bad("setting %s: want a string, got %T", k, v)
			return
		}
		*dst = s
	}
	dur := func(k string, v any, dst *time.Duration) {
		var d time.Duration
		var err error
		switch x := v.(type) {
		case string:
			d, err = time.ParseDuration(x)
		case time.Duration:
			d = x
		case int:
			d = time.Duration(x) * time.Millisecond
		default:
			err = fmt.Errorf("got %T", v)
		}
		if err != nil || d < 0 {
			bad("setting %s: want a duration like 5s (%v)", k, err)
			return
		}
		*dst = d
	}
	for _, k := range sortedKeys(p.Settings) {
		v := p.Settings[k]
		switch strings.ReplaceAll(k, "_", "-") {
		case "adapter":
			str(k, v, &o.Adapter)
		case "target":
			str(k, v, &o.Target)
		case "switch-name":
			str(k, v, &o.SwitchName)
		case "tunnel-ip":
			str(k, v, &o.TunnelIP)
		case "vtep":
			str(k, v, &o.VTEP)
		case "vxlan-interface":
			str(k, v, &o.VxlanIf)
		case "network-instance":
			str(k, v, &o.NetworkInstance)
		case "username":
			str(k, v, &o.Username)
		case "password":
			str(k, v, &o.Password)
		case "password-file":
			str(k, v, &o.PasswordFile)
		case "tls-ca":
			str(k, v, &o.TLSCA)
		case "tls-cert":
			str(k, v, &o.TLSCert)
		case "tls-key":
			str(k, v, &o.TLSKey)
		case "tls-server-name":
			str(k, v, &o.TLSServerName)
		case "poll-interval":
			dur(k, v, &o.PollInterval)
		case "reconnect-backoff":
			dur(k, v, &o.ReconnectBackoff)
		case "reconnect-backoff-max":
			dur(k, v, &o.ReconnectBackoffMax)
		case "sync-timeout":
			dur(k, v, &o.SyncTimeout)
		case "keepalive":
			dur(k, v, &o.Keepalive)
		case "max-remote-macs":
			switch x := v.(type) {
			case int:
				o.MaxRemoteMACs = x
			case string:
				n, err := strconv.Atoi(x)
				if err != nil {
					bad("setting max-remote-macs: want a number")
				}
				o.MaxRemoteMACs = n
			default:
				bad("setting max-remote-macs: want a number, got %T", v)
			}
			if o.MaxRemoteMACs < 0 {
				bad("setting max-remote-macs: want ≥ 0")
			}
		case "logical-switches":
			m, err := parseLogicalSwitches(v)
			if err != nil {
				bad("setting logical-switches: %v", err)
			}
			o.LogicalSwitches = m
		case "bindings":
			b, err := parseBindings(v)
			if err != nil {
				bad("setting bindings: %v", err)
			}
			o.Bindings = b
		default:
			bad("unknown setting %q (known: %s)", k, strings.Join(knownSettings, ", "))
		}
	}
	if o.Adapter == "" {
		bad("setting adapter is required (one of %s)", strings.Join(adapterNames(), ", "))
	} else if _, ok := adapters[o.Adapter]; !ok {
		bad("setting adapter: unknown adapter %q (one of %s)", o.Adapter, strings.Join(adapterNames(), ", "))
	}
	if o.TunnelIP != "" {
		if _, err := netip.ParseAddr(o.TunnelIP); err != nil {
			bad("setting tunnel-ip: %q is not an IP address", o.TunnelIP)
		}
	} else if o.Adapter == "eos" {
		bad("setting tunnel-ip is required with adapter eos (EOS reports only the source interface)")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		bad("settings tls-cert and tls-key go together")
	}
	if o.Password != "" && o.PasswordFile != "" {
		bad("settings password and password-file are exclusive")
	}
	if (o.Password != "" || o.PasswordFile != "") && o.Username == "" {
		bad("a password needs setting username")
	}
	if o.ReconnectBackoff == 0 || o.ReconnectBackoffMax < o.ReconnectBackoff {
		bad("settings reconnect-backoff (%s) must be > 0 and ≤ reconnect-backoff-max (%s)", o.ReconnectBackoff, o.ReconnectBackoffMax)
	}
	if o.PollInterval < 100*time.Millisecond {
		bad("setting poll-interval: at least 100ms")
	}
	if o.SyncTimeout == 0 {
		bad("setting sync-timeout must be > 0")
	}
	if len(o.Bindings) > 0 {
		if o.LogicalSwitches == nil {
			o.LogicalSwitches = map[string]int{}
		}
		for _, b := range o.Bindings {
			if _, ok := o.LogicalSwitches[b.LS]; !ok && b.Tag > 0 {
				o.LogicalSwitches[b.LS] = b.Tag
			}
		}
		for _, b := range o.Bindings {
			if _, ok := o.LogicalSwitches[b.LS]; !ok {
				bad("binding %s/%d=%s: untagged, so logical-switches must give %s's VLAN", b.Port, b.Tag, b.LS, b.LS)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.SwitchName == "" {
		o.SwitchName = p.Name
	}
	if o.SwitchName == "" {
		return nil, fmt.Errorf("no switch name (setting switch-name or the switch's name): %w", drivers.ErrInvalid)
	}
	if o.Target == "" {
		o.Target = o.SwitchName
	}
	return &connector{params: p, opts: o, eps: eps, ad: adapters[o.Adapter]}, nil
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("entry %d: want a string, got %T", i, e)
			}
			out[i] = s
		}
		return out, nil
	case string:
		return strings.Fields(strings.ReplaceAll(x, ",", " ")), nil
	}
	return nil, fmt.Errorf("want a list of strings, got %T", v)
}

// parseLogicalSwitches reads ["ls0=100", ...] (a YAML map also works, but
// viper lower-cases its keys).
func parseLogicalSwitches(v any) (map[string]int, error) {
	out := map[string]int{}
	add := func(ls, vlan string) error {
		n, err := strconv.Atoi(strings.TrimSpace(vlan))
		if ls == "" || err != nil || n < 1 || n > 4094 {
			return fmt.Errorf("%q: want LS=VLAN with VLAN 1..4094", ls+"="+vlan)
		}
		out[ls] = n
		return nil
	}
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := add(k, fmt.Sprint(m[k])); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	list, err := stringList(v)
	if err != nil {
		return nil, err
	}
	for _, e := range list {
		ls, vlan, ok := strings.Cut(e, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want LS=VLAN", e)
		}
		if err := add(strings.TrimSpace(ls), vlan); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseBindings reads ["Ethernet0/100=ls0", "Ethernet1/1/0=ls1"]: the
// last '/' separates the VLAN tag (0: untagged) from the port name.
func parseBindings(v any) ([]Binding, error) {
	list, err := stringList(v)
	if err != nil {
		return nil, err
	}
	var out []Binding
	seen := map[string]bool{}
	for _, e := range list {
		pt, ls, ok := strings.Cut(e, "=")
		i := strings.LastIndexByte(pt, '/')
		if !ok || i <= 0 || ls == "" {
			return nil, fmt.Errorf("%q: want PORT/VLAN=LS", e)
		}
		tag, err := strconv.Atoi(pt[i+1:])
		if err != nil || tag < 0 || tag > 4094 {
			return nil, fmt.Errorf("%q: VLAN must be 0 (untagged) to 4094", e)
		}
		if seen[pt] {
			return nil, fmt.Errorf("%q: port/VLAN bound twice", e)
		}
		seen[pt] = true
		out = append(out, Binding{Port: pt[:i], Tag: tag, LS: strings.TrimSpace(ls)})
	}
	return out, nil
}
