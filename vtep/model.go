// Package vtep is vtepgw's switch-neutral model and reconciliation core.
//
// The model describes what a hardware VTEP needs from the controller
// (logical switch ↔ VNI, remote unicast MACs → tunnel IP, flood lists and
// multicast groups) and what it reports back (its physical switches with
// their port/VLAN bindings, and the MACs it learned). It is deliberately
// free of any wire format: drivers (package drivers and its sub-packages)
// translate it to hardware_vtep OVSDB, gNMI, NETCONF or netlink.
//
// The reconcile loop lives in gateway.go: events become Keys in a
// deduplicating Queue; a worker drains the queue in batches, asks the
// Southbound for the desired state of every dirty key, diffs it against the
// Switch's observed state (diff.go) and applies all changes of a batch in one
// Switch.Apply call.
package vtep

import (
	"slices"
	"strings"
)

// UnknownDst is the pseudo-MAC of the flood (broadcast, unknown unicast and
// unregistered multicast) entry of a logical switch.
const UnknownDst = "unknown-dst"

// Replication modes of a logical switch, as in hardware_vtep.
const (
	ReplicationSourceNode  = "source_node"
	ReplicationServiceNode = "service_node"
)

// PhysicalSwitch is one switch behind a driver session, as observed.
type PhysicalSwitch struct {
	Name        string
	Description string
	// TunnelIPs are the switch's own VTEP addresses, in the order the switch
	// reports them. The first one is the default.
	TunnelIPs []string
	Ports     []Port
	// Faults are the switch's fault-status strings, if it reports any.
	Faults []string
}

// Port is a physical port and its VLAN → logical switch bindings.
// VLAN 0 means untagged traffic (the whole port).
type Port struct {
	Name     string
	Bindings map[int]string
}

// LogicalSwitchNames returns the sorted, de-duplicated names of the logical
// switches bound on any port of the switch.
func (ps *PhysicalSwitch) LogicalSwitchNames() []string {
	var names []string
	for _, p := range ps.Ports {
		for _, ls := range p.Bindings {
			names = append(names, ls)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// HasTunnelIP reports whether ip is one of the switch's own tunnel IPs.
func (ps *PhysicalSwitch) HasTunnelIP(ip string) bool {
	return slices.Contains(ps.TunnelIPs, ip)
}

// LogicalSwitch is a layer-2 segment on the switch.
type LogicalSwitch struct {
	Name string
	// VNI is the VXLAN network identifier (hardware_vtep tunnel_key).
	// Nil means unset.
	VNI *int
	// ReplicationMode is ReplicationSourceNode, ReplicationServiceNode or ""
	// (unset, which hardware_vtep defines as service_node).
	ReplicationMode string
}

// MACKey identifies a MAC entry within a logical switch.
type MACKey struct {
	LS  string
	MAC string
}

func (k MACKey) String() string { return k.LS + "/" + k.MAC }

// UcastMAC is a unicast MAC reachable through one tunnel endpoint.
type UcastMAC struct {
	MACKey
	// Locator is the tunnel IP the MAC sits behind.
	Locator string
	// IP is the MAC's IP address, for ARP suppression; may be empty.
	IP string
	// Duplicates counts extra rows a switch holds for the same key. Only
	// observed state sets it; a non-zero value makes the entry differ from
	// any desired state, so the reconciler rewrites it.
	Duplicates int
}

// McastMAC is a multicast MAC, or UnknownDst, replicated to a set of tunnel
// endpoints.
type McastMAC struct {
	MACKey
	IP string
	// Locators is sorted and de-duplicated (see NormalizeLocators).
	Locators   []string
	Duplicates int
}

// NormalizeLocators sorts and de-duplicates a locator list in place and
// returns it.
func NormalizeLocators(l []string) []string {
	slices.Sort(l)
	return slices.Compact(l)
}

// NormalizeMAC lower-cases a MAC address. It leaves anything that is not a
// 6-octet colon-separated MAC untouched.
func NormalizeMAC(mac string) string {
	if len(mac) == 17 {
		return strings.ToLower(mac)
	}
	return mac
}
