package vtep

import "fmt"

// Kind says what a Key names.
type Kind uint8

// Key kinds. Switch-side kinds are reported by drivers when observed state
// changes; southbound kinds are reported by the southbound source.
const (
	// KindResync asks for a full resync of both sides: after a (re)connect,
	// rows removed while disconnected produce no events, so every key must be
	// recomputed and every observed entry re-checked.
	KindResync Kind = iota
	// KindPhysicalSwitch: a switch, its tunnel IPs, ports or bindings (Name).
	KindPhysicalSwitch
	// KindLogicalSwitch: a logical switch's existence, VNI or mode (Name).
	KindLogicalSwitch
	// KindUcastRemote, KindMcastRemote: controller-written MAC entries.
	KindUcastRemote
	KindMcastRemote
	// KindUcastLocal, KindMcastLocal: switch-learned MAC entries.
	KindUcastLocal
	KindMcastLocal
	// KindTunnel: a tunnel's BFD state changed (Name = remote IP).
	KindTunnel

	// Southbound kinds: the Name is the row's natural key.
	KindSBPortBinding    // logical_port
	KindSBChassis        // chassis name
	KindSBFDB            // Name = datapath key, MAC
	KindSBDatapath       // datapath tunnel key
	KindSBGlobal         // SB_Global, switch Global config
	KindSBMulticastGroup // Name = datapath key, MAC = group name
	// KindSBGroup is the internal binding group of one VTEP logical
	// switch name (Name): which Port_Binding binds it to which datapath.
	KindSBGroup
	// KindFaults asks the core to diff controller-raised faults.
	KindFaults
	kindCount
)

var kindNames = [...]string{
	KindResync:           "resync",
	KindPhysicalSwitch:   "physical-switch",
	KindLogicalSwitch:    "logical-switch",
	KindUcastRemote:      "ucast-remote",
	KindMcastRemote:      "mcast-remote",
	KindUcastLocal:       "ucast-local",
	KindMcastLocal:       "mcast-local",
	KindTunnel:           "tunnel",
	KindSBPortBinding:    "sb-port-binding",
	KindSBChassis:        "sb-chassis",
	KindSBFDB:            "sb-fdb",
	KindSBDatapath:       "sb-datapath",
	KindSBGlobal:         "sb-global",
	KindSBMulticastGroup: "sb-multicast-group",
	KindSBGroup:          "sb-binding-group",
	KindFaults:           "faults",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Key names one unit of reconciliation. It carries identity only, never
// state: many events for one row collapse into one Key, and the reconciler
// reads current state when it processes it (deletes are seen as absence).
type Key struct {
	Kind Kind
	Name string
	MAC  string
}

func (k Key) String() string {
	if k.MAC != "" {
		return k.Kind.String() + ":" + k.Name + "/" + k.MAC
	}
	return k.Kind.String() + ":" + k.Name
}

// MACKey returns the logical-switch/MAC part of a MAC-entry key.
func (k Key) MACKey() MACKey { return MACKey{LS: k.Name, MAC: k.MAC} }

// UcastRemoteKey and friends build keys for MAC entries.
func UcastRemoteKey(k MACKey) Key { return Key{Kind: KindUcastRemote, Name: k.LS, MAC: k.MAC} }

// McastRemoteKey builds the key of a controller-written multicast entry.
func McastRemoteKey(k MACKey) Key { return Key{Kind: KindMcastRemote, Name: k.LS, MAC: k.MAC} }

// LogicalSwitchKey builds the key of a logical switch.
func LogicalSwitchKey(name string) Key { return Key{Kind: KindLogicalSwitch, Name: name} }

// IsSwitchDesired reports whether the core diffs this key against the
// switch (the controller owns the entry's state on the switch).
func (k Key) IsSwitchDesired() bool {
	switch k.Kind {
	case KindLogicalSwitch, KindUcastRemote, KindMcastRemote:
		return true
	}
	return false
}
