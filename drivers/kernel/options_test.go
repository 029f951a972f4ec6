package kernel

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vtepgw/vtepgw/drivers"
)

func TestParseOptions(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"tunnel-ip": "10.250.0.1",
			"ports":     map[string]any{"web": []any{map[string]any{"interface": "eth1"}}},
		}
	}
	with := func(kv ...any) map[string]any {
		m := base()
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		params   drivers.Params
		want     *Options // nil: only check there is no error
		problems []string // substrings of the error, one per problem
	}{
		{
			name:   "defaults",
			params: drivers.Params{Name: "gw1", Settings: base()},
			want: &Options{
				Switch: "gw1", TunnelIP: netip.MustParseAddr("10.250.0.1"),
				Ports:        map[string][]PortBinding{"web": {{Interface: "eth1"}}},
				DevicePrefix: "vtep", BridgeName: "{prefix}br{hash}", VXLANPort: 4789,
				ARPSuppression: true, EventBufferSize: 4 << 20,
			},
		},
		{
			name: "everything, YAML-decoded",
			params: drivers.Params{Name: "conn", Settings: map[string]any{
				"netns": "gw", "switch": "gw0", "tunnel_ip": "2001:db8::1",
				"device-prefix": "vx", "bridge-name": "br-{ls}", "vxlan-port": 8472, "mtu": 1450,
				"arp-suppression": false, "max-remote-macs": 4096, "event-buffer-size": 1 << 20,
				"ports": map[string]any{
					"web": []any{"eth1", map[string]any{"interface": "eth2", "vlan": 100}},
					"db":  []any{map[string]any{"interface": "eth2", "vlan": float64(200)}},
				},
			}},
			want: &Options{
				Netns: "gw", Switch: "gw0", TunnelIP: netip.MustParseAddr("2001:db8::1"),
				Ports: map[string][]PortBinding{
					"web": {{Interface: "eth1"}, {Interface: "eth2", VLAN: 100}},
					"db":  {{Interface: "eth2", VLAN: 200}},
				},
				DevicePrefix: "vx", BridgeName: "br-{ls}", VXLANPort: 8472, MTU: 1450,
				MaxRemoteMACs: 4096, EventBufferSize: 1 << 20,
			},
		},
		{
			name: "list form keeps the case of names",
			params: drivers.Params{Name: "c", Settings: with("ports", []any{
				map[string]any{"logical-switch": "Web", "interface": "eth1"},
				map[string]any{"logical-switch": "Web", "interface": "eth2", "vlan": 7},
			})},
			want: &Options{
				Switch: "c", TunnelIP: netip.MustParseAddr("10.250.0.1"),
				Ports:        map[string][]PortBinding{"Web": {{Interface: "eth1"}, {Interface: "eth2", VLAN: 7}}},
				DevicePrefix: "vtep", BridgeName: "{prefix}br{hash}", VXLANPort: 4789,
				ARPSuppression: true, EventBufferSize: 4 << 20,
			},
		},
		{
			name:     "nothing",
			params:   drivers.Params{},
			problems: []string{"no physical switch name", "tunnel-ip", "no logical switch"},
		},
		{
			name:     "endpoints and unknown settings",
			params:   drivers.Params{Name: "c", Endpoints: []string{"tcp:1.2.3.4:6640"}, Settings: with("probe-interval", "5s")},
			problems: []string{"endpoints", `unknown setting "probe-interval"`},
		},
		{
			name:     "bad values",
			params:   drivers.Params{Name: "c", Settings: with("tunnel-ip", "10.250.0.300", "device-prefix", "toolong", "vxlan-port", 0, "mtu", 20, "max-remote-macs", -1, "arp-suppression", "maybe")},
			problems: []string{"tunnel-ip", "device-prefix", "vxlan-port", "mtu", "max-remote-macs", "arp-suppression"},
		},
		{
			name: "bad ports",
			params: drivers.Params{Name: "c", Settings: with("ports", map[string]any{
				"a": []any{map[string]any{"interface": "eth1", "vlan": 4095}},
				"b": []any{map[string]any{"interface": "eth/1"}, map[string]any{"interface": "eth2"}},
				"c": []any{map[string]any{"interface": "eth2"}},
			})},
			problems: []string{"VLAN 4095 out of range", `interface "eth/1"`, `interface "eth2" VLAN 0 is bound to both`},
		},
		{
			name:     "ports of the wrong shape",
			params:   drivers.Params{Name: "c", Settings: with("ports", map[string]any{"a": []any{map[string]any{"iface": "eth1"}}})},
			problems: []string{`unknown key "iface"`},
		},
		{
			name:     "bridge names: too long, and the same for two switches",
			params:   drivers.Params{Name: "c", Settings: with("bridge-name", "bridge-of-{ls}", "ports", map[string]any{"web": []any{"eth1"}, "a-very-long-name": []any{"eth2"}})},
			problems: []string{`bridge name "bridge-of-a-very-long-name"`},
		},
		{
			name:     "one bridge for two switches",
			params:   drivers.Params{Name: "c", Settings: with("bridge-name", "br0", "ports", map[string]any{"web": []any{"eth1"}, "db": []any{"eth2"}})},
			problems: []string{`both get bridge "br0"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOptions(tc.params)
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("ParseOptions: %v", err)
				}
				if tc.want != nil {
					if d := cmp.Diff(*tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
						t.Errorf("options (-want +got):\n%s", d)
					}
				}
				if _, err := (Driver{}).NewConnector(tc.params); err != nil {
					t.Errorf("NewConnector: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseOptions succeeded, want problems %q", tc.problems)
			}
			if !errors.Is(err, drivers.ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			for _, p := range tc.problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error lacks %q:\n%v", p, err)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	o := Options{DevicePrefix: "vtep", BridgeName: "{prefix}br{hash}"}
	if got := o.bridgeName("web"); len(got) != 14 || !strings.HasPrefix(got, "vtepbr") {
		t.Errorf("bridgeName(web) = %q", got)
	}
	if a, b := o.bridgeName("web"), o.bridgeName("db"); a == b {
		t.Errorf("bridgeName is %q for two names", a)
	}
	o.BridgeName = "br-{ls}"
	if got := o.bridgeName("web"); got != "br-web" {
		t.Errorf("bridgeName(web) = %q", got)
	}
	if got := o.vxlanName(16777215); got != "vtepvx16777215" || len(got) > maxIfName {
		t.Errorf("vxlanName = %q", got)
	}
	for _, tc := range []struct {
		iface string
		vlan  int
		want  string
	}{
		{"eth1", 100, "eth1.100"},
		{"enp129s0f1np1", 4094, "vtepv"}, // too long: hashed
	} {
		got := o.vlanName(tc.iface, tc.vlan)
		if !strings.HasPrefix(got, tc.want) || len(got) > maxIfName {
			t.Errorf("vlanName(%s, %d) = %q, want %q… of at most %d characters", tc.iface, tc.vlan, got, tc.want, maxIfName)
		}
	}
	if !aliasVNIZero(aliasFor("web", new(int))) || aliasVNIZero(aliasFor("web", nil)) {
		t.Error("alias marker of VNI 0 does not round-trip")
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("10.250.0.1", "vtep", "{prefix}br{hash}", "ls0", "eth1", 0)
	f.Add("2001:db8::1", "x", "br-{ls}", "web", "eth2", 100)
	f.Fuzz(func(t *testing.T, ip, prefix, template, ls, iface string, vlan int) {
		p := drivers.Params{Name: "fuzz", Settings: map[string]any{
			"tunnel-ip": ip, "device-prefix": prefix, "bridge-name": template,
			"ports": map[string]any{ls: []any{map[string]any{"interface": iface, "vlan": vlan}}},
		}}
		o, err := ParseOptions(p)
		if err != nil {
			if !errors.Is(err, drivers.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, name := range o.LogicalSwitches() {
			if br := o.bridgeName(name); len(br) > maxIfName || !validIfName(br) {
				t.Fatalf("accepted bridge name %q", br)
			}
			for _, pb := range o.Ports[name] {
				if pb.VLAN != 0 {
					if v := o.vlanName(pb.Interface, pb.VLAN); len(v) > maxIfName || !validIfName(v) {
						t.Fatalf("VLAN interface name %q", v)
					}
				}
			}
		}
	})
}
