package vtep

import (
	"maps"
	"slices"
	"strings"
)

// Tunnel is a switch's tunnel to one remote VTEP, with its BFD session.
// The controller sets BFDParams (hardware_vtep bfd_params: enable, min_rx,
// min_tx, …); the switch reports BFDStatus (state, forwarding, …).
type Tunnel struct {
	Switch    string
	Local     string
	Remote    string
	BFDParams map[string]string
	BFDStatus map[string]string
}

// BFDUp reports whether the tunnel's BFD session is up.
func (t Tunnel) BFDUp() bool { return t.BFDStatus["state"] == "up" }

// TunnelChange creates a tunnel or sets its BFD parameters.
type TunnelChange struct {
	Switch    string
	Local     string
	Remote    string
	BFDParams map[string]string
}

// TunnelSwitch is implemented by switches whose tunnels (and BFD) the
// controller can see and configure.
type TunnelSwitch interface {
	Tunnels() []Tunnel
}

// TunnelSource is implemented by southbounds that want tunnels with BFD
// (service-node replication).
type TunnelSource interface {
	DesiredTunnels() []Tunnel
}

// DiffTunnels returns the changes that give every desired tunnel its BFD
// parameters. Observed tunnels that carry parameters nobody wants any more
// get them cleared; the tunnel rows themselves belong to the switch.
func DiffTunnels(desired, observed []Tunnel) []TunnelChange {
	key := func(t Tunnel) string { return t.Switch + "\x00" + t.Remote }
	have := map[string]Tunnel{}
	for _, t := range observed {
		have[key(t)] = t
	}
	want := map[string]bool{}
	var out []TunnelChange
	for _, t := range desired {
		want[key(t)] = true
		if o, ok := have[key(t)]; ok && maps.Equal(o.BFDParams, t.BFDParams) {
			continue
		}
		out = append(out, TunnelChange{Switch: t.Switch, Local: t.Local, Remote: t.Remote, BFDParams: maps.Clone(t.BFDParams)})
	}
	for _, o := range observed {
		if !want[key(o)] && o.BFDParams["enable"] == "true" {
			out = append(out, TunnelChange{Switch: o.Switch, Local: o.Local, Remote: o.Remote, BFDParams: map[string]string{}})
		}
	}
	slices.SortFunc(out, func(a, b TunnelChange) int {
		return strings.Compare(a.Switch+"\x00"+a.Remote, b.Switch+"\x00"+b.Remote)
	})
	return out
}
