package kernel

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vtepgw/vtepgw/drivers"
)

// Driver is the Linux kernel driver.
type Driver struct{}

// Options are the driver's settings, decoded and validated.
type Options struct {
	// Netns is the network namespace: "" for the daemon's own, a name
	// (as `ip netns` names it, under /run/netns) or a path such as
	// /proc/PID/ns/net.
	Netns string
	// Switch is the physical switch's name (default: the connection name).
	Switch string
	// TunnelIP is the VTEP's own address, the VXLAN devices' local IP.
	TunnelIP netip.Addr
	// Ports binds interfaces to logical switches: logical switch name →
	// ports. The logical switches are exactly these.
	Ports map[string][]PortBinding
	// DevicePrefix starts the name of every VXLAN device the driver makes
	// ("{prefix}vx{vni}") and of VLAN interfaces whose natural name is too
	// long (default "vtep", at most 5 characters).
	DevicePrefix string
	// BridgeName is the template of a logical switch's bridge name, with
	// {prefix}, {ls} (the logical switch name) and {hash} (8 hex digits
	// of the name's FNV-1a hash). Default "{prefix}br{hash}".
	BridgeName string
	// VXLANPort is the UDP port (default 4789).
	VXLANPort int
	// MTU of the VXLAN devices (0: the kernel's default).
	MTU int
	// ARPSuppression answers ARP and ND for remote MACs with a known IP
	// from the bridge (neigh_suppress on the VXLAN port); default true.
	ARPSuppression bool
	// MaxRemoteMACs caps remote MACs per logical switch (the VXLAN
	// device's maxaddress); 0: no cap.
	MaxRemoteMACs int
	// EventBufferSize is the receive buffer of the netlink event sockets,
	// in bytes (default 4 MiB; set with SO_RCVBUFFORCE when allowed).
	EventBufferSize int
}

// PortBinding is one interface (VLAN 0: untagged, the whole interface) or
// one VLAN of it, as a port of a logical switch's bridge.
type PortBinding struct {
	Interface string
	VLAN      int
}

const (
	defaultPrefix     = "vtep"
	defaultBridgeName = "{prefix}br{hash}"
	defaultVXLANPort  = 4789
	defaultEventBuf   = 4 << 20
	maxIfName         = 15 // IFNAMSIZ - 1
)

var settingNames = []string{
	"netns", "switch", "tunnel-ip", "ports", "device-prefix", "bridge-name",
	"vxlan-port", "mtu", "arp-suppression", "max-remote-macs", "event-buffer-size",
}

// NewConnector decodes and validates the settings; it does no I/O.
func (Driver) NewConnector(p drivers.Params) (drivers.Connector, error) {
	opts, err := ParseOptions(p)
	if err != nil {
		return nil, err
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &connector{opts: opts, log: log}, nil
}

// ParseOptions decodes Params into Options and validates them, returning
// every problem found, each wrapping drivers.ErrInvalid.
func ParseOptions(p drivers.Params) (Options, error) {
	o := Options{
		Switch:          p.Name,
		DevicePrefix:    defaultPrefix,
		BridgeName:      defaultBridgeName,
		VXLANPort:       defaultVXLANPort,
		ARPSuppression:  true,
		EventBufferSize: defaultEventBuf,
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalid)...))
	}
	if len(p.Endpoints) > 0 {
		bad("endpoints %v: the kernel driver has none (it programs the local kernel)", p.Endpoints)
	}
	for k, v := range p.Settings {
		var err error
		switch strings.ReplaceAll(k, "_", "-") {
		case "netns":
			o.Netns, err = asString(v)
		case "switch":
			o.Switch, err = asString(v)
		case "tunnel-ip":
			var s string
			if s, err = asString(v); err == nil {
				o.TunnelIP, err = netip.ParseAddr(s)
				o.TunnelIP = o.TunnelIP.Unmap()
			}
		case "ports":
			o.Ports, err = parsePorts(v)
		case "device-prefix":
			o.DevicePrefix, err = asString(v)
		case "bridge-name":
			o.BridgeName, err = asString(v)
		case "vxlan-port":
			o.VXLANPort, err = asInt(v)
		case "mtu":
			o.MTU, err = asInt(v)
		case "arp-suppression":
			o.ARPSuppression, err = asBool(v)
		case "max-remote-macs":
			o.MaxRemoteMACs, err = asInt(v)
		case "event-buffer-size":
			o.EventBufferSize, err = asInt(v)
		default:
			bad("unknown setting %q (known: %s)", k, strings.Join(settingNames, ", "))
			continue
		}
		if err != nil {
			bad("setting %s: %v", k, err)
		}
	}
	if err := o.validate(); err != nil {
		errs = append(errs, err)
	}
	return o, errors.Join(errs...)
}

// validate checks decoded options.
func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, drivers.ErrInvalid)...))
	}
	if o.Switch == "" {
		bad("setting switch: no physical switch name (and no connection name)")
	}
	if !o.TunnelIP.IsValid() || o.TunnelIP.Zone() != "" || o.TunnelIP.IsUnspecified() {
		bad("setting tunnel-ip: want the VTEP's own IP address")
	}
	if n := len(o.DevicePrefix); n == 0 || n > 5 || !validIfChars(o.DevicePrefix) {
		bad("setting device-prefix %q: want 1 to 5 letters, digits, '-' or '_'", o.DevicePrefix)
	}
	if o.VXLANPort < 1 || o.VXLANPort > 65535 {
		bad("setting vxlan-port %d: want 1..65535", o.VXLANPort)
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		bad("setting mtu %d: want 68..65535, or 0 for the kernel's default", o.MTU)
	}
	if o.MaxRemoteMACs < 0 || o.MaxRemoteMACs > math.MaxInt32 {
		bad("setting max-remote-macs %d: want 0 (no cap) or more", o.MaxRemoteMACs)
	}
	if o.EventBufferSize < 0 || o.EventBufferSize > math.MaxInt32 {
		bad("setting event-buffer-size %d: want 0 (kernel default) or more bytes", o.EventBufferSize)
	}
	if len(o.Ports) == 0 {
		bad("setting ports: no logical switch")
	}
	bridges := map[string]string{}
	used := map[PortBinding]string{}
	for _, ls := range o.LogicalSwitches() {
		if ls == "" {
			bad("setting ports: empty logical switch name")
			continue
		}
		br := o.bridgeName(ls)
		switch {
		case len(br) > maxIfName || !validIfName(br):
			bad("logical switch %q: bridge name %q (from bridge-name %q) is not a valid interface name of at most %d characters", ls, br, o.BridgeName, maxIfName)
		case bridges[br] != "":
			bad("logical switches %q and %q both get bridge %q: put {ls} or {hash} in bridge-name", bridges[br], ls, br)
		}
		bridges[br] = ls
		for _, pb := range o.Ports[ls] {
			if len(pb.Interface) > maxIfName || !validIfName(pb.Interface) {
				bad("logical switch %q: interface %q is not a valid interface name", ls, pb.Interface)
			}
			if pb.VLAN < 0 || pb.VLAN > 4094 {
				bad("logical switch %q: interface %q: VLAN %d out of range 0..4094", ls, pb.Interface, pb.VLAN)
			}
			if other, dup := used[pb]; dup {
				bad("interface %q VLAN %d is bound to both %q and %q", pb.Interface, pb.VLAN, other, ls)
			}
			used[pb] = ls
		}
	}
	for pb := range used {
		if _, clash := bridges[pb.Interface]; clash {
			bad("interface %q is also a bridge name", pb.Interface)
		}
	}
	return errors.Join(errs...)
}

// LogicalSwitches returns the configured logical switch names, sorted.
func (o *Options) LogicalSwitches() []string {
	names := make([]string, 0, len(o.Ports))
	for ls := range o.Ports {
		names = append(names, ls)
	}
	slices.Sort(names)
	return names
}

// bridgeName renders the bridge-name template for a logical switch.
func (o *Options) bridgeName(ls string) string {
	r := strings.NewReplacer("{prefix}", o.DevicePrefix, "{ls}", ls, "{hash}", fmt.Sprintf("%08x", hash32(ls)))
	return r.Replace(o.BridgeName)
}

// vxlanName is the name of the VXLAN device for a VNI.
func (o *Options) vxlanName(vni int) string { return o.DevicePrefix + "vx" + strconv.Itoa(vni) }

// vlanName is the name of a VLAN interface the driver creates:
// IFACE.VLAN, or {prefix}v{hash}.VLAN when that is too long.
func (o *Options) vlanName(iface string, vlan int) string {
	name := iface + "." + strconv.Itoa(vlan)
	if len(name) <= maxIfName {
		return name
	}
	return fmt.Sprintf("%sv%04x.%d", o.DevicePrefix, hash32(iface)&0xffff, vlan)
}

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func validIfChars(s string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validIfName follows the kernel's dev_valid_name.
func validIfName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if c == '/' || c == ':' || c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// parsePorts accepts the map form {LS: [PORT, ...]} and the list form
// [{logical-switch: LS, interface: IF, vlan: N}, ...]; a PORT is
// {interface: IF, vlan: N} or the string IF (VLAN 0).
func parsePorts(v any) (map[string][]PortBinding, error) {
	out := map[string][]PortBinding{}
	switch x := v.(type) {
	case map[string][]PortBinding:
		for ls, pbs := range x {
			out[ls] = slices.Clone(pbs)
		}
		return out, nil
	case map[string]any:
		for ls, list := range x {
			items, ok := list.([]any)
			if !ok {
				if list != nil {
					return nil, fmt.Errorf("logical switch %q: want a list of ports, got %T", ls, list)
				}
			}
			out[ls] = []PortBinding{}
			for i, it := range items {
				pb, _, err := parsePort(it, false)
				if err != nil {
					return nil, fmt.Errorf("logical switch %q port %d: %w", ls, i, err)
				}
				out[ls] = append(out[ls], pb)
			}
		}
		return out, nil
	case []any:
		for i, it := range x {
			pb, ls, err := parsePort(it, true)
			if err != nil {
				return nil, fmt.Errorf("port %d: %w", i, err)
			}
			out[ls] = append(out[ls], pb)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a map of logical switch → ports, or a list of {logical-switch, interface, vlan}; got %T", v)
}

func parsePort(v any, wantLS bool) (PortBinding, string, error) {
	if s, ok := v.(string); ok && !wantLS {
		return PortBinding{Interface: s}, "", nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return PortBinding{}, "", fmt.Errorf("want {interface, vlan}, got %T", v)
	}
	var pb PortBinding
	var ls string
	for k, val := range m {
		var err error
		switch strings.ReplaceAll(k, "_", "-") {
		case "interface":
			pb.Interface, err = asString(val)
		case "vlan":
			pb.VLAN, err = asInt(val)
		case "logical-switch":
			if !wantLS {
				return pb, "", fmt.Errorf("logical-switch is only for the list form")
			}
			ls, err = asString(val)
		default:
			return pb, "", fmt.Errorf("unknown key %q (known: interface, vlan%s)", k, map[bool]string{true: ", logical-switch"}[wantLS])
		}
		if err != nil {
			return pb, "", fmt.Errorf("%s: %w", k, err)
		}
	}
	if pb.Interface == "" {
		return pb, "", fmt.Errorf("no interface")
	}
	if wantLS && ls == "" {
		return pb, "", fmt.Errorf("no logical-switch")
	}
	return pb, ls, nil
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

func asInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case uint64:
		if x > math.MaxInt32 {
			return 0, fmt.Errorf("%d is too large", x)
		}
		return int(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
			return 0, fmt.Errorf("want an integer, got %v", x)
		}
		return int(x), nil
	case string:
		return strconv.Atoi(x)
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		return strconv.ParseBool(x)
	}
	return false, fmt.Errorf("want true or false, got %T", v)
}
