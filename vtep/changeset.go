package vtep

import (
	"fmt"
	"slices"
)

// LogicalSwitchChange sets the controller-owned fields of an existing
// logical switch. A nil VNI clears it.
type LogicalSwitchChange struct {
	Name            string
	VNI             *int
	ReplicationMode string // "" leaves the mode unchanged
}

// UcastChange creates or replaces (Set != nil) or deletes (Set == nil) the
// remote unicast entry Key.
type UcastChange struct {
	Key MACKey
	Set *UcastMAC
}

// McastChange creates or replaces (Set != nil) or deletes (Set == nil) the
// remote multicast entry Key.
type McastChange struct {
	Key MACKey
	Set *McastMAC
}

// Changeset is everything one reconcile batch changes on a switch. Drivers
// apply it atomically where the protocol allows (one OVSDB transaction, one
// NETCONF commit, one gNMI Set).
type Changeset struct {
	LogicalSwitches []LogicalSwitchChange
	UcastRemote     []UcastChange
	McastRemote     []McastChange
	// Faults are applied only by switches that implement FaultSwitch.
	Faults []FaultChange
	// Tunnels are applied only by switches that implement TunnelSwitch.
	Tunnels []TunnelChange
}

// Empty reports whether the changeset changes nothing.
func (c *Changeset) Empty() bool {
	return len(c.LogicalSwitches) == 0 && len(c.UcastRemote) == 0 && len(c.McastRemote) == 0 && len(c.Faults) == 0 && len(c.Tunnels) == 0
}

// Len returns the number of entries in the changeset.
func (c *Changeset) Len() int {
	return len(c.LogicalSwitches) + len(c.UcastRemote) + len(c.McastRemote) + len(c.Faults) + len(c.Tunnels)
}

func (c *Changeset) String() string {
	s := fmt.Sprintf("%d logical switches, %d ucast, %d mcast", len(c.LogicalSwitches), len(c.UcastRemote), len(c.McastRemote))
	if len(c.Faults) > 0 {
		s += fmt.Sprintf(", %d faults", len(c.Faults))
	}
	if len(c.Tunnels) > 0 {
		s += fmt.Sprintf(", %d tunnels", len(c.Tunnels))
	}
	return s
}

// DiffLogicalSwitch returns the change that turns observed into desired, or
// nil. Only the VNI and, when desired sets it, the replication mode are
// controller-owned.
func DiffLogicalSwitch(desired, observed LogicalSwitch) *LogicalSwitchChange {
	vniEqual := (desired.VNI == nil) == (observed.VNI == nil) &&
		(desired.VNI == nil || *desired.VNI == *observed.VNI)
	modeEqual := desired.ReplicationMode == "" || desired.ReplicationMode == observed.ReplicationMode
	if vniEqual && modeEqual {
		return nil
	}
	ch := &LogicalSwitchChange{Name: desired.Name, VNI: desired.VNI}
	if !modeEqual {
		ch.ReplicationMode = desired.ReplicationMode
	}
	return ch
}

// DiffUcast returns the change that turns the observed entry into the
// desired one, or nil when they are equal.
func DiffUcast(k MACKey, desired *UcastMAC, observed *UcastMAC) *UcastChange {
	switch {
	case desired == nil && observed == nil:
		return nil
	case desired == nil:
		return &UcastChange{Key: k}
	case observed != nil && observed.Duplicates == 0 &&
		observed.Locator == desired.Locator && observed.IP == desired.IP:
		return nil
	}
	d := *desired
	d.MACKey = k
	d.Duplicates = 0
	return &UcastChange{Key: k, Set: &d}
}

// DiffMcast returns the change that turns the observed entry into the
// desired one, or nil when they are equal. A desired entry with no locators
// means "no entry" (hardware_vtep requires at least one).
func DiffMcast(k MACKey, desired *McastMAC, observed *McastMAC) *McastChange {
	if desired != nil && len(desired.Locators) == 0 {
		desired = nil
	}
	if desired != nil {
		d := *desired
		d.Locators = NormalizeLocators(slices.Clone(d.Locators))
		desired = &d
	}
	switch {
	case desired == nil && observed == nil:
		return nil
	case desired == nil:
		return &McastChange{Key: k}
	case observed != nil && observed.Duplicates == 0 && observed.IP == desired.IP &&
		slices.Equal(observed.Locators, desired.Locators):
		return nil
	}
	d := *desired
	d.MACKey = k
	d.Duplicates = 0
	return &McastChange{Key: k, Set: &d}
}

// CleanupChangeset returns the changes that remove the controller's state
// from a switch: every remote entry deleted and every logical switch's VNI
// cleared (ovn-controller-vtep's graceful exit).
func CleanupChangeset(sw Switch) *Changeset {
	cs := &Changeset{}
	for _, ls := range sw.LogicalSwitches() {
		if ls.VNI != nil {
			cs.LogicalSwitches = append(cs.LogicalSwitches, LogicalSwitchChange{Name: ls.Name})
		}
	}
	for _, k := range sw.Entries(KindUcastRemote) {
		cs.UcastRemote = append(cs.UcastRemote, UcastChange{Key: k})
	}
	for _, k := range sw.Entries(KindMcastRemote) {
		cs.McastRemote = append(cs.McastRemote, McastChange{Key: k})
	}
	return cs
}
