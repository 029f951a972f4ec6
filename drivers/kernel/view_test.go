package kernel

import (
	"slices"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/vtepgw/vtepgw/vtep"
)

func testLS() *lsView {
	l := newLSView("ls0")
	l.bridge, l.brUp, l.vxlan, l.vxlans, l.vni, l.vxOK = 10, true, 11, 1, 5000, true
	return l
}

func TestObservedVNI(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*lsView)
		want *int
	}{
		{"healthy", func(*lsView) {}, new(5000)},
		{"no VXLAN device, no marker", func(l *lsView) { l.vxlan, l.vxlans = 0, 0 }, nil},
		{"no VXLAN device, vni=0 marker", func(l *lsView) { l.vxlan, l.vxlans, l.brAlias = 0, 0, "vtepgw ls=ls0 vni=0" }, new(0)},
		{"bridge missing", func(l *lsView) { l.bridge = 0 }, nil},
		{"bridge down", func(l *lsView) { l.brUp = false }, nil},
		{"port outside the bridge", func(l *lsView) { l.portsBad = true }, nil},
		{"misconfigured VXLAN device", func(l *lsView) { l.vxOK = false }, nil},
		{"two VXLAN devices", func(l *lsView) { l.vxlans = 2 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := testLS()
			tc.mod(l)
			got := l.observedVNI()
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("observedVNI = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDerivedEntries(t *testing.T) {
	const mac = "02:00:00:00:00:01"
	static := brEntry{port: 11, state: netlink.NUD_NOARP}
	for _, tc := range []struct {
		name  string
		vx    []string
		br    *brEntry
		ips   []string
		want  vtep.UcastMAC
		found bool
		local bool
	}{
		{name: "complete", vx: []string{"10.0.0.1"}, br: &static, ips: []string{"10.1.0.1"},
			want: vtep.UcastMAC{Locator: "10.0.0.1", IP: "10.1.0.1"}, found: true},
		{name: "no bridge entry: rewrite", vx: []string{"10.0.0.1"},
			want: vtep.UcastMAC{Locator: "10.0.0.1", Duplicates: 1}, found: true},
		{name: "bridge entry on a local port: rewrite", vx: []string{"10.0.0.1"}, br: &brEntry{port: 3, state: netlink.NUD_NOARP},
			want: vtep.UcastMAC{Locator: "10.0.0.1", Duplicates: 1}, found: true},
		{name: "two destinations and two IPs", vx: []string{"10.0.0.1", "10.0.0.2"}, br: &static, ips: []string{"10.1.0.1", "10.1.0.2"},
			want: vtep.UcastMAC{Locator: "10.0.0.1", IP: "10.1.0.1", Duplicates: 2}, found: true},
		{name: "learned locally", br: &brEntry{port: 3, state: netlink.NUD_REACHABLE}, local: true},
		{name: "stale is still learned", br: &brEntry{port: 3, state: netlink.NUD_STALE}, local: true},
		{name: "the port's own address", br: &brEntry{port: 3, state: netlink.NUD_PERMANENT}},
		{name: "static on a local port", br: &brEntry{port: 3, state: netlink.NUD_NOARP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := testLS()
			if tc.vx != nil {
				l.vx[mac] = tc.vx
			}
			if tc.br != nil {
				l.br[mac] = *tc.br
			}
			if tc.ips != nil {
				l.ips[mac] = tc.ips
			}
			got, ok := l.ucastRemote(mac)
			got.MACKey = vtep.MACKey{}
			if ok != tc.found || got != tc.want {
				t.Errorf("ucastRemote = %+v, %v; want %+v, %v", got, ok, tc.want, tc.found)
			}
			if l.local(mac) != tc.local {
				t.Errorf("local = %v, want %v", l.local(mac), tc.local)
			}
		})
	}
	l := testLS()
	l.vx[zeroMAC] = []string{"10.0.0.2", "10.0.0.1"}
	if m, ok := l.mcastRemote(zeroMAC); !ok || m.MAC != vtep.UnknownDst || !slices.Equal(m.Locators, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Errorf("mcastRemote(zero) = %+v, %v", m, ok)
	}
	if _, ok := l.ucastRemote(zeroMAC); ok {
		t.Error("the flood entry reads as a unicast entry")
	}
}

func TestDiffKeys(t *testing.T) {
	old := &view{ls: map[string]*lsView{"ls0": testLS()}}
	cur := &view{ls: map[string]*lsView{"ls0": testLS()}, missing: []string{"eth9"}}
	cur.ls["ls0"].vni = 5001
	cur.ls["ls0"].vx["02:00:00:00:00:01"] = []string{"10.0.0.1"}
	cur.ls["ls0"].vx[zeroMAC] = []string{"10.0.0.1"}
	cur.ls["ls0"].br["02:00:00:00:00:02"] = brEntry{port: 3, state: netlink.NUD_REACHABLE}
	got := diffKeys(old, cur, "gw")
	want := []vtep.Key{
		{Kind: vtep.KindPhysicalSwitch, Name: "gw"},
		vtep.LogicalSwitchKey("ls0"),
		vtep.UcastRemoteKey(vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}),
		vtep.McastRemoteKey(vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst}),
		{Kind: vtep.KindUcastLocal, Name: "ls0", MAC: "02:00:00:00:00:02"},
	}
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("diffKeys lacks %v (got %v)", k, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("diffKeys = %v, want %v", got, want)
	}
	if keys := diffKeys(cur, cur, "gw"); len(keys) != 0 {
		t.Errorf("diffKeys of a view with itself = %v", keys)
	}
}
