package drivers

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/vtep"
)

// Optional capabilities. The core checks for them with a type assertion and
// falls back when a session lacks one.

// GlobalConfigReader is implemented by sessions whose device carries
// controller options (hardware_vtep Global.other_config, schema ≥ 1.7.0):
// ovn-remote-probe-interval and ovn-match-northd-version.
type GlobalConfigReader interface {
	GlobalConfig() map[string]string
}

// CapabilityReporter is implemented by sessions that know what their switch
// can do. A session without it makes no promise beyond the base contract,
// and the conformance suite skips the capability and limit cases.
type CapabilityReporter interface {
	Capabilities() Capabilities
}

// Capabilities describe what a switch supports. The zero value means
// "unknown": no mode is refused and no limit is known.
type Capabilities struct {
	// ReplicationModes lists the logical-switch replication modes the
	// switch implements (vtep.ReplicationSourceNode,
	// vtep.ReplicationServiceNode). A LogicalSwitchChange asking for a mode
	// not listed fails with ErrUnsupported and nothing is written. Empty
	// means unknown: every mode is passed on.
	ReplicationModes []string
	// MaxRemoteMACs is the most remote MAC entries one logical switch can
	// hold: unicast and multicast entries together, unknown-dst included
	// (each distinct MAC counts once, whatever its number of locators).
	// An Apply that would leave more fails with ErrLimit and writes
	// nothing. 0 means no known limit.
	MaxRemoteMACs int
	// RemoteMACsNeedVNI says remote entries live inside the logical
	// switch's tunnel: a logical switch holds remote entries only while its
	// VNI is set and non-zero, clearing the VNI removes them, and setting an
	// entry on a logical switch without a VNI (after the changeset's own
	// logical-switch changes) is ErrInvalid. Changing the VNI from one
	// non-zero value to another keeps the entries. When false (hardware_vtep),
	// entries are independent of the VNI.
	RemoteMACsNeedVNI bool
	// LearnedMACAging is how long the device keeps a learned MAC it no
	// longer sees (0: unknown). Informational: aging is the device's.
	LearnedMACAging time.Duration
	// NoUcastRemote says the switch cannot hold remote unicast MAC
	// entries: it learns remote MACs in the data plane, from VXLAN traffic
	// (Junos static VXLAN). Entries(KindUcastRemote) is empty, an Apply
	// that sets such an entry fails with ErrUnsupported and writes
	// nothing, and the core does not diff KindUcastRemote keys
	// (vtep.PartialSwitch).
	NoUcastRemote bool
	// FloodListsOnly says the switch's only remote multicast entries are
	// the logical switches' unknown-dst flood lists: multicast MACs are
	// flooded with the other BUM traffic. An Apply that sets a multicast
	// MAC's entry fails with ErrUnsupported and writes nothing, and the
	// core does not diff those keys.
	FloodListsOnly bool
	// ShadowsUcastIP says the switch stores no IP address with a remote
	// unicast entry (hardware_vtep's ipaddr, used for ARP suppression):
	// static VXLAN on SONiC and EOS holds MAC → VTEP only. The session
	// reports the IP it last wrote for as long as the switch's entry keeps
	// that locator, and forgets it when it restarts (the core then sets it
	// again, which writes nothing to the switch); the switch's own view has
	// no IP.
	ShadowsUcastIP bool
	// ShadowsVNIZero says the switch's VNIs are 1..16777215: VNI 0 leaves
	// the logical switch without a VNI on the switch, and the session
	// reports 0 until another VNI is set or the session restarts; the
	// switch's own view shows no VNI.
	ShadowsVNIZero bool
}

// Supports reports whether a switch with these capabilities can hold the
// entry k names (see NoUcastRemote and FloodListsOnly); keys of other
// kinds are supported. Sessions implement vtep.PartialSwitch with it and
// SupportsMode.
func (c Capabilities) Supports(k vtep.Key) bool {
	switch k.Kind {
	case vtep.KindUcastRemote:
		return !c.NoUcastRemote
	case vtep.KindMcastRemote:
		return !c.FloodListsOnly || k.MAC == vtep.UnknownDst
	}
	return true
}

// SupportsMode reports whether mode may be asked for. Every mode may when
// ReplicationModes is empty.
func (c Capabilities) SupportsMode(mode string) bool {
	if mode == "" || len(c.ReplicationModes) == 0 {
		return true
	}
	for _, m := range c.ReplicationModes {
		if m == mode {
			return true
		}
	}
	return false
}

// ErrLimit means an Apply would exceed a limit the session reports in
// Capabilities; nothing was written. It wraps ErrInvalid: retrying the same
// changeset will not help until entries are removed.
var ErrLimit = fmt.Errorf("switch limit reached: %w", ErrInvalid)

// Contract details that the conformance suite (drivers/driverstest) checks,
// in addition to those in the package documentation:
//
//   - Input. Apply checks the whole changeset before it writes anything: a
//     malformed value (see ValidateChangeset) or a MAC change for a logical
//     switch the session does not have fails with an error wrapping
//     ErrInvalid, and the switch is left exactly as it was. A
//     LogicalSwitchChange for a logical switch that does not exist may be
//     ignored: it can vanish between the diff and the Apply.
//   - Writes. Apply writes only what differs from the switch's state:
//     applying a changeset whose entries already hold, or an empty one,
//     writes nothing, and a new session adopts existing state without
//     deleting and re-adding it.
//   - Notifications. Every change of observed state, the session's own
//     writes included, is notified with the key of the changed entry
//     (KindLogicalSwitch, KindUcastRemote, KindMcastRemote, KindUcastLocal,
//     KindMcastLocal), so changes made behind the driver's back (an operator
//     deleting an entry) reach the core.
//   - Learned MACs. A MAC the switch learns, moves or ages out is notified
//     as KindUcastLocal; UcastLocal then reports it present or absent, and
//     Entries(KindUcastLocal) lists it while present. Its Locator is the
//     tunnel IP of the physical switch that learned it (or empty when the
//     switch does not say). Aging is the switch's: the driver neither ages
//     nor keeps entries the switch no longer reports.
//   - Cancellation. Connect and Apply return promptly when ctx is done. An
//     Apply cut short returns an error wrapping the context's error, may
//     have written part of the changeset, and the session stays usable: the
//     next diff and Apply converge.
//   - Close. After Close, Apply fails with ErrDisconnected and reads return
//     without blocking.

// ValidateChangeset checks the values of a changeset independently of any
// switch, and returns every problem found, each wrapping ErrInvalid:
//
//   - logical switch names are not empty; a VNI is within 0..16777215; a
//     replication mode is empty, source_node or service_node;
//   - MACs are six colon-separated hex octets ("02:00:00:00:00:01", either
//     case); a unicast entry's MAC is not a multicast one; a multicast
//     entry's MAC is vtep.UnknownDst or a MAC;
//   - locators and IPs are IP addresses (an entry's IP may be empty), and a
//     multicast entry has at least one locator;
//   - no entry is changed twice in one changeset.
//
// Drivers call it first in Apply, then add their own checks (logical
// switches that exist, capabilities, limits).
func ValidateChangeset(cs *vtep.Changeset) error {
	if cs == nil {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, ErrInvalid)...))
	}
	lsSeen := map[string]bool{}
	for _, c := range cs.LogicalSwitches {
		switch {
		case c.Name == "":
			bad("logical switch change without a name")
		case lsSeen[c.Name]:
			bad("logical switch %q changed twice", c.Name)
		}
		lsSeen[c.Name] = true
		if c.VNI != nil && (*c.VNI < 0 || *c.VNI > MaxVNI) {
			bad("logical switch %q: VNI %d out of range 0..%d", c.Name, *c.VNI, MaxVNI)
		}
		switch c.ReplicationMode {
		case "", vtep.ReplicationSourceNode, vtep.ReplicationServiceNode:
		default:
			bad("logical switch %q: replication mode %q", c.Name, c.ReplicationMode)
		}
	}
	seen := map[vtep.MACKey]bool{}
	for _, c := range cs.UcastRemote {
		if c.Key.LS == "" {
			bad("ucast %s: no logical switch", c.Key)
		}
		nk := vtep.MACKey{LS: c.Key.LS, MAC: strings.ToLower(c.Key.MAC)}
		if seen[nk] {
			bad("ucast %s changed twice", c.Key)
		}
		seen[nk] = true
		hw, ok := ParseMAC(c.Key.MAC)
		switch {
		case !ok:
			bad("ucast %s: malformed MAC", c.Key)
		case hw[0]&1 != 0:
			bad("ucast %s: multicast MAC in a unicast entry", c.Key)
		}
		if c.Set == nil {
			continue
		}
		if !validIP(c.Set.Locator) {
			bad("ucast %s: locator %q is not an IP address", c.Key, c.Set.Locator)
		}
		if c.Set.IP != "" && !validIP(c.Set.IP) {
			bad("ucast %s: IP %q is not an IP address", c.Key, c.Set.IP)
		}
	}
	seen = map[vtep.MACKey]bool{}
	for _, c := range cs.McastRemote {
		if c.Key.LS == "" {
			bad("mcast %s: no logical switch", c.Key)
		}
		nk := vtep.MACKey{LS: c.Key.LS, MAC: strings.ToLower(c.Key.MAC)}
		if seen[nk] {
			bad("mcast %s changed twice", c.Key)
		}
		seen[nk] = true
		if _, ok := ParseMAC(c.Key.MAC); !ok && c.Key.MAC != vtep.UnknownDst {
			bad("mcast %s: malformed MAC", c.Key)
		}
		if c.Set == nil {
			continue
		}
		if len(c.Set.Locators) == 0 {
			bad("mcast %s: no locator", c.Key)
		}
		for _, l := range c.Set.Locators {
			if !validIP(l) {
				bad("mcast %s: locator %q is not an IP address", c.Key, l)
			}
		}
		if c.Set.IP != "" && !validIP(c.Set.IP) {
			bad("mcast %s: IP %q is not an IP address", c.Key, c.Set.IP)
		}
	}
	return errors.Join(errs...)
}

// MaxVNI is the largest VXLAN network identifier (24 bits).
const MaxVNI = 1<<24 - 1

// ParseMAC parses a MAC written as six colon-separated pairs of hex digits,
// the only form the model uses.
func ParseMAC(s string) ([6]byte, bool) {
	var hw [6]byte
	if len(s) != 17 {
		return hw, false
	}
	for i := range 6 {
		if i > 0 && s[3*i-1] != ':' {
			return hw, false
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return hw, false
		}
		hw[i] = hi<<4 | lo
	}
	return hw, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func validIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}
