// Package gnmiface is the simulated switch's gNMI face: a gNMI target
// (Capabilities, Get, Set, Subscribe) over a Device, the switch state
// store. The same state is shown through several schemas at once:
//
//   - OpenConfig (no origin, or "openconfig"): VLANs, switched-vlan port
//     membership, VXLAN connection points (local-endpoint-vni config,
//     endpoint-vnis and endpoint-peers state), the FDB mac-table and l2rib
//     next-hops;
//   - SONiC databases (origin "sonic-db", /DB/localhost/TABLE/KEY/field):
//     VXLAN_TUNNEL, VXLAN_TUNNEL_MAP, VLAN, VLAN_MEMBER, VXLAN_REMOTE_VNI_TABLE,
//     VXLAN_FDB_TABLE, FDB_TABLE, VXLAN_TUNNEL_TABLE;
//   - Arista EOS: arista-exp-eos-vxlan vlan-to-vni, and the "cli" origin
//     for static flood lists and static remote MACs (Set with CLI lines,
//     Get of "show running-config" as JSON).
//
// A Set is translated into Device operations and applied atomically; the
// device reports changes, which the face renders into the gnmi cache that
// serves Get and Subscribe (STREAM, ONCE, POLL). Nothing here is shared with
// the vtepgw driver except the path codec: the simulator is the far side of
// the wire.
package gnmiface

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// State is one simulated switch as the gNMI face shows it.
type State struct {
	// Name is the switch name (also the default gNMI target).
	Name string
	// TunnelIP is the switch's own VTEP address.
	TunnelIP string
	// VTEP names the VXLAN tunnel (SONiC VXLAN_TUNNEL key, OpenConfig
	// endpoint-id); VxlanIf the VXLAN interface (EOS "Vxlan1").
	VTEP, VxlanIf string
	// Ports are the front-panel ports.
	Ports []string
	// VLANs are the bridge domains by VLAN ID.
	VLANs map[int]*VLAN
}

// VLAN is one bridge domain.
type VLAN struct {
	ID int
	// Name is the VLAN name; the controller uses it as the logical switch.
	Name string
	// VNI is the VXLAN network identifier, 0 when unmapped.
	VNI int
	// Members maps a port to whether it carries the VLAN tagged (false:
	// untagged / native).
	Members map[string]bool
	// Flood is the static flood list (ingress replication) of remote VTEPs.
	Flood map[string]bool
	// Remote maps a static remote MAC to its VTEP address.
	Remote map[string]string
	// Learned maps a learned MAC to the port it was learned on.
	Learned map[string]string
}

// Clone returns a deep copy.
func (v *VLAN) Clone() *VLAN {
	c := *v
	c.Members = maps.Clone(v.Members)
	c.Flood = maps.Clone(v.Flood)
	c.Remote = maps.Clone(v.Remote)
	c.Learned = maps.Clone(v.Learned)
	return &c
}

// FloodList returns the flood list sorted.
func (v *VLAN) FloodList() []string {
	return slices.Sorted(maps.Keys(v.Flood))
}

// OpKind says what an Op does.
type OpKind uint8

// Operations a controller can ask for.
const (
	// OpSetVNI maps VLAN to VNI (0 unmaps).
	OpSetVNI OpKind = iota + 1
	// OpAddFlood and OpDelFlood add or remove IP in VLAN's flood list.
	OpAddFlood
	OpDelFlood
	// OpSetFlood replaces VLAN's flood list with IPs.
	OpSetFlood
	// OpSetRemote points MAC in VLAN at the VTEP IP; OpDelRemote removes it.
	OpSetRemote
	OpDelRemote
)

// Op is one change asked by a controller. Apply validates every field.
type Op struct {
	Kind OpKind
	VLAN int
	VNI  int
	MAC  string
	IP   string
	IPs  []string
}

func (o Op) String() string {
	switch o.Kind {
	case OpSetVNI:
		return fmt.Sprintf("vlan %d vni %d", o.VLAN, o.VNI)
	case OpAddFlood:
		return fmt.Sprintf("vlan %d flood add %s", o.VLAN, o.IP)
	case OpDelFlood:
		return fmt.Sprintf("vlan %d flood remove %s", o.VLAN, o.IP)
	case OpSetFlood:
		return fmt.Sprintf("vlan %d flood %v", o.VLAN, o.IPs)
	case OpSetRemote:
		return fmt.Sprintf("vlan %d mac %s vtep %s", o.VLAN, o.MAC, o.IP)
	case OpDelRemote:
		return fmt.Sprintf("vlan %d no mac %s", o.VLAN, o.MAC)
	}
	return fmt.Sprintf("op(%d)", o.Kind)
}

// Scope says which part of the state a Change touches.
type Scope uint8

// Change scopes.
const (
	// ScopeAll: anything (topology, tunnel address, VLANs added/removed).
	ScopeAll Scope = iota
	// ScopeVLAN: a VLAN's VNI or flood list.
	ScopeVLAN
	// ScopeRemote: a static remote MAC (VLAN, MAC).
	ScopeRemote
	// ScopeLearned: a learned MAC (VLAN, MAC).
	ScopeLearned
)

// Change names what changed; the face re-reads the state for it.
type Change struct {
	Scope Scope
	VLAN  int
	MAC   string
}

// Device is the switch state store behind the face. Implementations are
// safe for concurrent use.
type Device interface {
	// Read calls f with the current state; f must neither modify nor keep it.
	Read(f func(st *State))
	// Apply applies ops atomically: all of them, or none and an error
	// wrapping ErrInvalid, ErrNotFound or ErrLimit.
	Apply(ops []Op) error
	// Watch registers fn, called after every change with what changed, in
	// order, and never concurrently with itself. The returned func
	// unregisters it.
	Watch(fn func([]Change)) (stop func())
}

// Errors returned by Device.Apply; the face maps them to gRPC codes.
var (
	// ErrInvalid: a value is malformed (InvalidArgument).
	ErrInvalid = errors.New("invalid value")
	// ErrNotFound: the VLAN does not exist (NotFound).
	ErrNotFound = errors.New("not found")
	// ErrLimit: a switch limit would be exceeded (ResourceExhausted).
	ErrLimit = errors.New("switch limit exceeded")
)
