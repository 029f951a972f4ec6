package vtep

import (
	"slices"
	"strings"
)

// Fault is a condition the controller reports on the switch, through the
// switch's own fault-status columns where the driver has them. Switch names
// a physical switch; LS, when set, narrows it to a logical switch.
type Fault struct {
	Switch string
	LS     string
	// Code is a short snake_case condition, e.g. "mac_limit_exceeded".
	Code string
}

func (f Fault) String() string {
	if f.LS != "" {
		return f.Switch + "/" + f.LS + ":" + f.Code
	}
	return f.Switch + ":" + f.Code
}

// FaultChange raises (Set) or clears a fault.
type FaultChange struct {
	Fault Fault
	Set   bool
}

// FaultSwitch is implemented by switches that can carry controller-raised
// faults. Faults returns the ones currently raised by the controller.
type FaultSwitch interface {
	ControllerFaults() []Fault
}

// FaultSource is implemented by southbounds that raise faults.
type FaultSource interface {
	DesiredFaults() []Fault
}

// DiffFaults returns the changes that turn observed into desired.
func DiffFaults(desired, observed []Fault) []FaultChange {
	key := func(f Fault) string { return f.String() }
	want := map[string]Fault{}
	for _, f := range desired {
		want[key(f)] = f
	}
	have := map[string]bool{}
	for _, f := range observed {
		have[key(f)] = true
	}
	var out []FaultChange
	for k, f := range want {
		if !have[k] {
			out = append(out, FaultChange{Fault: f, Set: true})
		}
	}
	for _, f := range observed {
		if _, ok := want[key(f)]; !ok {
			out = append(out, FaultChange{Fault: f})
		}
	}
	slices.SortFunc(out, func(a, b FaultChange) int { return strings.Compare(a.Fault.String(), b.Fault.String()) })
	return out
}
