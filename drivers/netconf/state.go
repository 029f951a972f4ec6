package netconf

import (
	"maps"
	"slices"

	"github.com/vtepgw/vtepgw/vtep"
)

// state is a parsed snapshot of the device's data.
type state struct {
	switches    []vtep.PhysicalSwitch
	ls          map[string]vtep.LogicalSwitch
	ucastRemote map[vtep.MACKey]vtep.UcastMAC
	ucastLocal  map[vtep.MACKey]vtep.UcastMAC
	mcastRemote map[vtep.MACKey]vtep.McastMAC
	mcastLocal  map[vtep.MACKey]vtep.McastMAC
	// remoteVTEPs is Junos' switch-options remote-vtep-list.
	remoteVTEPs []string
}

func newState() *state {
	return &state{
		ls:          map[string]vtep.LogicalSwitch{},
		ucastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		ucastLocal:  map[vtep.MACKey]vtep.UcastMAC{},
		mcastRemote: map[vtep.MACKey]vtep.McastMAC{},
		mcastLocal:  map[vtep.MACKey]vtep.McastMAC{},
	}
}

// diffKeys returns the keys whose entries differ between two snapshots.
func diffKeys(a, b *state) []vtep.Key {
	var keys []vtep.Key
	if !slices.EqualFunc(a.switches, b.switches, psEqual) {
		names := map[string]bool{}
		for _, ps := range a.switches {
			names[ps.Name] = true
		}
		for _, ps := range b.switches {
			names[ps.Name] = true
		}
		for n := range names {
			keys = append(keys, vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: n})
		}
	}
	for n := range union(a.ls, b.ls) {
		x, ok1 := a.ls[n]
		y, ok2 := b.ls[n]
		if ok1 != ok2 || !lsEqual(x, y) {
			keys = append(keys, vtep.LogicalSwitchKey(n))
		}
	}
	keys = ucastKeys(keys, vtep.KindUcastRemote, a.ucastRemote, b.ucastRemote)
	keys = ucastKeys(keys, vtep.KindUcastLocal, a.ucastLocal, b.ucastLocal)
	keys = mcastKeys(keys, vtep.KindMcastRemote, a.mcastRemote, b.mcastRemote)
	keys = mcastKeys(keys, vtep.KindMcastLocal, a.mcastLocal, b.mcastLocal)
	return keys
}

func union[K comparable, V any](a, b map[K]V) map[K]bool {
	out := make(map[K]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func ucastKeys(keys []vtep.Key, kind vtep.Kind, a, b map[vtep.MACKey]vtep.UcastMAC) []vtep.Key {
	for k := range union(a, b) {
		if x, y := a[k], b[k]; x != y {
			keys = append(keys, vtep.Key{Kind: kind, Name: k.LS, MAC: k.MAC})
		}
	}
	return keys
}

func mcastKeys(keys []vtep.Key, kind vtep.Kind, a, b map[vtep.MACKey]vtep.McastMAC) []vtep.Key {
	for k := range union(a, b) {
		x, ok1 := a[k]
		y, ok2 := b[k]
		if ok1 != ok2 || x.IP != y.IP || !slices.Equal(x.Locators, y.Locators) {
			keys = append(keys, vtep.Key{Kind: kind, Name: k.LS, MAC: k.MAC})
		}
	}
	return keys
}

func lsEqual(a, b vtep.LogicalSwitch) bool {
	return a.Name == b.Name && a.ReplicationMode == b.ReplicationMode &&
		(a.VNI == nil) == (b.VNI == nil) && (a.VNI == nil || *a.VNI == *b.VNI)
}

func psEqual(a, b vtep.PhysicalSwitch) bool {
	return a.Name == b.Name && slices.Equal(a.TunnelIPs, b.TunnelIPs) &&
		slices.EqualFunc(a.Ports, b.Ports, func(x, y vtep.Port) bool { return x.Name == y.Name && maps.Equal(x.Bindings, y.Bindings) })
}
