package vtep

import (
	"context"
	"errors"
)

// ErrNotReady, returned (wrapped) by Southbound.Reconcile, means the
// southbound cannot act now (paused by a version mismatch, say): the gateway
// holds the batch's keys and tries again shortly, without logging a failure.
var ErrNotReady = errors.New("southbound not ready")

// Switch is the observed state of one driver session (one device, which may
// hold several physical switches) and the way to change it. Drivers
// implement it; see package drivers for the full contract.
//
// Reads must reflect every successful Apply (read-your-writes): the core
// diffs against them right after applying.
type Switch interface {
	PhysicalSwitches() []PhysicalSwitch
	LogicalSwitches() []LogicalSwitch
	LogicalSwitch(name string) (LogicalSwitch, bool)
	UcastRemote(k MACKey) (UcastMAC, bool)
	McastRemote(k MACKey) (McastMAC, bool)
	UcastLocal(k MACKey) (UcastMAC, bool)
	McastLocal(k MACKey) (McastMAC, bool)
	// Entries lists the keys of every entry of a MAC kind (KindUcastRemote,
	// KindMcastRemote, KindUcastLocal or KindMcastLocal), for full resyncs.
	Entries(kind Kind) []MACKey
	// Apply makes the changes, atomically where the protocol allows.
	Apply(ctx context.Context, cs *Changeset) error
}

// ConnectedSwitch is implemented by switches whose reads can stop
// reflecting the device: while Connected is false (the session is down or
// still reading the device's state after a reconnect) reads may come back
// empty, and a batch run then would take every entry, physical switch and
// chassis for gone. The gateway holds its keys until Connected is true
// again; the session sends KindResync once it has the device's state.
type ConnectedSwitch interface {
	Switch
	Connected() bool
}

// PartialSwitch is implemented by switches that cannot hold all of the
// model: a Junos switch with static VXLAN has no remote unicast MAC entries
// (it learns remote MACs from VXLAN traffic) and only source-node
// replication. The gateway diffs only what the switch supports: keys for
// which Supports is false are neither diffed, written nor retried, and a
// desired replication mode the switch lacks is left as the switch has it
// (the VNI is still written).
type PartialSwitch interface {
	Supports(k Key) bool
	SupportsMode(mode string) bool
}

// Desired is the state the southbound wants on the switch, per key.
type Desired interface {
	// LogicalSwitch returns the desired controller-owned fields of an
	// existing logical switch.
	LogicalSwitch(observed LogicalSwitch) LogicalSwitch
	UcastRemote(k MACKey) (UcastMAC, bool)
	McastRemote(k MACKey) (McastMAC, bool)
}

// Southbound is the controller's other side (OVN's southbound database for
// vtepgw). One Southbound serves one Gateway.
type Southbound interface {
	Desired
	// Reconcile processes a batch of keys against sw: it writes the
	// southbound changes they cause (chassis, bindings, learned MACs) in one
	// transaction, and returns further keys whose desired switch state may
	// have changed. KindResync in keys means: rebuild everything from
	// scratch and return every key that has desired state.
	Reconcile(ctx context.Context, sw Switch, keys []Key) ([]Key, error)
	// Ready reports whether the southbound may be acted on (connected, and
	// version checks pass). When it is not, the gateway holds its keys.
	Ready() bool
}
