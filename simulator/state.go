package simulator

import (
	"sort"
	"time"
)

// This file is the simulator's internal "switch state" API. A face (today
// the hardware_vtep OVSDB face in hwvtep.go; later gNMI or NETCONF) turns
// what a controller asked for into a Config, and the data plane (dataplane.go,
// on ovs-vswitchd) realises a Config and reports a Status, which the face
// publishes back. Neither side knows about the other's wire format.

// Config is the desired state of one simulated switch, as written by a
// controller (the NVC side of hardware_vtep).
type Config struct {
	// Switch is the physical switch name (also the OVS bridge name).
	Switch string
	// TunnelIPs are the switch's own VTEP addresses; the first is the
	// locator of learned MACs.
	TunnelIPs []string
	// Bindings maps (port, VLAN) to a logical switch; VLAN 0 is untagged.
	Bindings map[PortVLAN]string
	// LS holds the logical switches that have at least one binding.
	LS map[string]*LSConfig
	// BFD holds per remote tunnel IP the BFD parameters (Tunnel.bfd_params
	// and bfd_config_remote) set by the controller.
	BFD map[string]BFDConfig
}

// PortVLAN names one VLAN binding.
type PortVLAN struct {
	Port string
	VLAN int
}

// LSConfig is one logical switch as seen by the switch.
type LSConfig struct {
	Name string
	// VNI is the VXLAN network identifier (Logical_Switch.tunnel_key); nil
	// means the controller has not set one, and remote MACs are ignored.
	VNI *int
	// SourceNode is true for source-node replication (flood to every
	// locator), false for service-node (one healthy locator).
	SourceNode bool
	// Ucast maps a remote unicast MAC to its tunnel IP.
	Ucast map[string]string
	// Mcast maps "unknown-dst" or a multicast MAC to its tunnel IPs.
	Mcast map[string][]string
}

// BFDConfig is the controller's BFD request for one tunnel.
type BFDConfig struct {
	Params map[string]string // Tunnel.bfd_params
	Remote map[string]string // Tunnel.bfd_config_remote
}

// Learned is one MAC learned on a logical switch.
type Learned struct {
	MAC   string
	Port  uint32 // OpenFlow port on the LS bridge it was learned on
	Since time.Time
}

// Group is one multicast group joined on a logical switch (IGMP snooping).
type Group struct {
	Group string // group address, IPv4 (IGMP) or IPv6 (MLD)
	MAC   string // its multicast MAC
}

// Counters are per-binding statistics.
type Counters struct {
	PacketsFromLocal, BytesFromLocal, PacketsToLocal, BytesToLocal int
}

// Status is what the switch reports back (the HSC side of hardware_vtep).
type Status struct {
	// Ports are the physical ports of the switch.
	Ports []string
	// Realized holds the logical switches instantiated in the data plane
	// (those past the VNI limit are not).
	Realized map[string]bool
	// Learned holds, per logical switch, the published learned MACs.
	Learned map[string][]Learned
	// Groups holds, per logical switch, the snooped multicast groups.
	Groups map[string][]Group
	// BFD holds per remote tunnel IP the BFD status.
	BFD map[string]map[string]string
	// Stats holds per binding the traffic counters.
	Stats map[PortVLAN]Counters
	// SwitchFaults and PortFaults are the fault-status values.
	SwitchFaults []string
	PortFaults   map[string][]string
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (st *Status) realized(ls string) bool { return st.Realized[ls] }
