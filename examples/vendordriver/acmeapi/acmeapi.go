// Package acmeapi is the management protocol of the (fictional) Acme VX
// switches, and a client for it. It is what a vendor ships with its
// hardware, independent of vtepgw: the vtepgw driver in package acme
// translates vtepgw's model into it.
//
// The protocol is newline-delimited JSON over TCP. The client sends
// Requests, each with an ID; the switch answers each with a Message that
// carries the same ID and either a Result or an Error. A client that sent
// "subscribe" also receives Messages with an Event (and no ID) for every
// change of the switch's state, its own commits included. The switch
// writes a commit's events before the commit's reply, so a client that
// applies events in order has seen its commit by the time it reads the
// reply.
//
// Commands:
//
//	show-system   Result: System (identity, tunnel address, ports, limits)
//	subscribe     Result: Config (the whole state); events follow
//	show-config   Result: Config
//	commit        Ops, applied all or nothing; Result: CommitResult
//
// Vendor terms: a bridge domain is a VXLAN segment (vtepgw's logical
// switch); a flood group is the list of remote VTEPs a bridge domain
// replicates to, for broadcast and unknown traffic (group "bum") or for
// one multicast MAC.
package acmeapi

import (
	"encoding/json"
	"fmt"
)

// Commands.
const (
	CmdShowSystem = "show-system"
	CmdSubscribe  = "subscribe"
	CmdShowConfig = "show-config"
	CmdCommit     = "commit"
)

// Request is one command from the client.
type Request struct {
	ID  uint64 `json:"id"`
	Cmd string `json:"cmd"`
	Ops []Op   `json:"ops,omitempty"`
}

// Message is one line from the switch: a reply (ID set) or an event.
type Message struct {
	ID     uint64          `json:"id,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	Event  *Event          `json:"event,omitempty"`
}

// Error codes.
const (
	CodeBadRequest   = "bad-request"    // malformed request or value
	CodeNoSuchBD     = "no-such-bd"     // the bridge domain does not exist
	CodeTableFull    = "table-full"     // a bridge domain's MAC table is full
	CodeNotSupported = "not-supported"  // a feature this model lacks
	CodeInternal     = "internal-error" // anything else
)

// Error is a failed command. Nothing of a failed commit was applied.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return "acme: " + e.Code + ": " + e.Message }

// System describes the switch.
type System struct {
	Model    string `json:"model"`
	Serial   string `json:"serial"`
	Hostname string `json:"hostname"`
	// VTEPAddress is the switch's own tunnel source address.
	VTEPAddress string `json:"vtep-address"`
	Ports       []Port `json:"ports"`
	// MaxMACsPerBD is the size of a bridge domain's remote MAC table:
	// remote MACs and flood groups together, "bum" included.
	MaxMACsPerBD int `json:"max-macs-per-bd"`
	// Replication lists the supported replication modes ("ingress").
	Replication []string `json:"replication"`
}

// Port is a front-panel port and its VLAN → bridge domain attachments
// (VLAN 0: untagged).
type Port struct {
	Name     string       `json:"name"`
	Attached []Attachment `json:"attached,omitempty"`
}

// Attachment puts one VLAN of a port into a bridge domain.
type Attachment struct {
	VLAN int    `json:"vlan"`
	BD   string `json:"bd"`
}

// Replication modes.
const (
	// ReplicationIngress: the switch replicates BUM traffic to every VTEP
	// of the flood group itself (head-end replication).
	ReplicationIngress = "ingress"
	// ReplicationServiceNode: the switch sends BUM traffic to one
	// service node, which replicates it (not on every model).
	ReplicationServiceNode = "service-node"
)

// GroupBUM is the flood group of broadcast, unknown-unicast and
// unregistered multicast traffic.
const GroupBUM = "bum"

// Config is the switch's whole state.
type Config struct {
	BridgeDomains []BridgeDomain `json:"bridge-domains"`
	RemoteMACs    []RemoteMAC    `json:"remote-macs,omitempty"`
	FloodGroups   []FloodGroup   `json:"flood-groups,omitempty"`
	LearnedMACs   []LearnedMAC   `json:"learned-macs,omitempty"`
}

// BridgeDomain is one VXLAN segment. Bridge domains are made by the
// switch's operator; controllers set their VNI and replication.
type BridgeDomain struct {
	Name string `json:"name"`
	// VNI is nil while the bridge domain has none.
	VNI         *int   `json:"vni,omitempty"`
	Replication string `json:"replication,omitempty"`
}

// RemoteMAC sends a MAC to a remote VTEP.
type RemoteMAC struct {
	BD   string `json:"bd"`
	MAC  string `json:"mac"`
	VTEP string `json:"vtep"`
	// IP is the host's address, for ARP suppression (optional).
	IP string `json:"ip,omitempty"`
}

// FloodGroup replicates a group's traffic to VTEPs.
type FloodGroup struct {
	BD string `json:"bd"`
	// Group is GroupBUM or a multicast MAC.
	Group string   `json:"group"`
	VTEPs []string `json:"vteps"`
	IP    string   `json:"ip,omitempty"`
}

// LearnedMAC is a MAC the switch learned on one of its ports.
type LearnedMAC struct {
	BD   string `json:"bd"`
	MAC  string `json:"mac"`
	Port string `json:"port"`
	VLAN int    `json:"vlan"`
}

// Op kinds of a commit.
const (
	OpSetBD            = "set-bd"             // BD, VNI (nil clears), Replication ("" keeps)
	OpSetRemoteMAC     = "set-remote-mac"     // BD, MAC, VTEP, IP
	OpDeleteRemoteMAC  = "delete-remote-mac"  // BD, MAC
	OpSetFloodGroup    = "set-flood-group"    // BD, Group, VTEPs, IP
	OpDeleteFloodGroup = "delete-flood-group" // BD, Group
)

// Op is one operation of a commit.
type Op struct {
	Op          string   `json:"op"`
	BD          string   `json:"bd"`
	VNI         *int     `json:"vni,omitempty"`
	Replication string   `json:"replication,omitempty"`
	MAC         string   `json:"mac,omitempty"`
	Group       string   `json:"group,omitempty"`
	VTEP        string   `json:"vtep,omitempty"`
	VTEPs       []string `json:"vteps,omitempty"`
	IP          string   `json:"ip,omitempty"`
}

// CommitResult reports what a commit did.
type CommitResult struct {
	// Applied is the number of operations executed.
	Applied int `json:"applied"`
}

// Event tables.
const (
	TableBridgeDomain = "bridge-domain"
	TableRemoteMAC    = "remote-mac"
	TableFloodGroup   = "flood-group"
	TableLearnedMAC   = "learned-mac"
)

// Event is one changed entry: its new value, or Deleted.
type Event struct {
	Table string `json:"table"`
	// BD names the bridge domain; Key is the MAC (remote-mac,
	// learned-mac) or the group (flood-group).
	BD      string `json:"bd"`
	Key     string `json:"key,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`

	BridgeDomain *BridgeDomain `json:"bridge-domain,omitempty"`
	RemoteMAC    *RemoteMAC    `json:"remote-mac,omitempty"`
	FloodGroup   *FloodGroup   `json:"flood-group,omitempty"`
	LearnedMAC   *LearnedMAC   `json:"learned-mac,omitempty"`
}

func (e Event) String() string {
	if e.Deleted {
		return fmt.Sprintf("%s %s/%s deleted", e.Table, e.BD, e.Key)
	}
	return fmt.Sprintf("%s %s/%s set", e.Table, e.BD, e.Key)
}
