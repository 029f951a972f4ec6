// Package scenario is the end-to-end scenario every vtepgw driver runs
// unchanged, against the real OVN stack (testbed.StartOVN) and the real
// daemon: the in-tree drivers in testbed/drivers4, and a vendor's driver in
// its own module (examples/vendordriver shows how).
//
//   - SB topology → switch: a logical switch with two VIF ports bound to
//     VXLAN chassis and a vtep port gives the switch's logical switch the
//     datapath's VNI, the VIF MACs as remote MACs behind the chassis IPs
//     (with the VIFs' IPs when vtepgw runs with arp-suppression and the
//     switch can hold them), and both chassis in the flood list;
//   - switch learns → SB: a MAC the switch learns becomes an SB FDB row on
//     the vtep port, and nothing else on the switch changes.
//
// A Device gives the switch's own view (not the driver's), normalised into
// a State, which is compared with the value Expected for the switch's
// capability class (drivers.Capabilities).
package scenario

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/testbed"
)

// LearnedMAC is the MAC the switch learns in the scenario.
const LearnedMAC = "02:00:00:00:0a:01"

const (
	waitLong = 30 * time.Second
	poll     = 50 * time.Millisecond
)

// VIF is a hypervisor port of the scenario.
type VIF struct{ LSP, MAC, IP, Chassis, EncapIP string }

// VIFs are the OVN side of the scenario: two VIFs behind two VXLAN chassis.
var VIFs = []VIF{
	{"vif1", "f0:00:00:00:00:01", "10.0.0.1", "hv1", "127.0.1.1"},
	{"vif2", "f0:00:00:00:00:02", "10.0.0.2", "hv2", "127.0.1.2"},
}

// Device is what differs between drivers: a switch to manage, an
// independent view of it, and a way to make it learn a MAC.
type Device interface {
	// Caps are the switch's capabilities as its driver reports them
	// (drivers.CapabilityReporter).
	Caps() drivers.Capabilities
	// View reads the scenario's logical switch from the device itself.
	View() (State, error)
	// Learn makes the switch learn mac on the logical switch's port.
	Learn(t testing.TB, mac string)
}

// Options name the switch the scenario binds.
type Options struct {
	// PhysicalSwitch is the switch's name as vtepgw reports it (its SB
	// chassis); LogicalSwitch is the switch-side logical switch the vtep
	// port binds.
	PhysicalSwitch, LogicalSwitch string
	// ARPSuppression says vtepgw runs with arp-suppression: remote MACs
	// come with their IPs to switches that can hold them.
	ARPSuppression bool
}

// State is one logical switch as a device holds it.
type State struct {
	// VNI is 0 when the device has none.
	VNI int
	// Remote maps a remote unicast MAC to "LOCATOR" or "LOCATOR IP".
	Remote map[string]string
	// Flood is the unknown-dst flood list.
	Flood []string
	// Learned are the MACs the switch learned.
	Learned []string
}

func (s State) String() string {
	return fmt.Sprintf("VNI %d, remote %v, flood %v, learned %v", s.VNI, s.Remote, s.Flood, s.Learned)
}

// Normalise lower-cases MACs and sorts lists, for comparison.
func (s State) Normalise() State {
	out := State{VNI: s.VNI, Remote: map[string]string{}}
	for m, v := range s.Remote {
		out.Remote[strings.ToLower(m)] = v
	}
	out.Flood = slices.Sorted(slices.Values(s.Flood))
	for _, m := range s.Learned {
		out.Learned = append(out.Learned, strings.ToLower(m))
	}
	slices.Sort(out.Learned)
	if out.Flood == nil {
		out.Flood = []string{}
	}
	if out.Learned == nil {
		out.Learned = []string{}
	}
	return out
}

// Expected is the state the scenario must leave on a switch of capability
// class c, normalised.
func Expected(c drivers.Capabilities, arp bool, vni int, learned ...string) State {
	s := State{VNI: vni, Remote: map[string]string{}, Learned: learned}
	for _, v := range VIFs {
		switch {
		case c.NoUcastRemote: // the switch learns remote MACs in the data plane
		case c.ShadowsUcastIP || !arp: // MAC → VTEP only
			s.Remote[v.MAC] = v.EncapIP
		default:
			s.Remote[v.MAC] = v.EncapIP + " " + v.IP
		}
		s.Flood = append(s.Flood, v.EncapIP)
	}
	return s.Normalise()
}

// Class names a capability class, for messages.
func Class(c drivers.Capabilities) string {
	switch {
	case c.NoUcastRemote:
		return "flood lists only, no remote unicast MACs"
	case c.ShadowsUcastIP:
		return "remote MAC → VTEP without IP"
	}
	return "remote MAC → VTEP with IP"
}

// Run runs the scenario on ovn, whose vtepgw (already started) manages dev,
// and returns the switch's final state.
func Run(t *testing.T, ovn *testbed.OVN, dev Device, o Options) State {
	t.Helper()
	// The gateway registers the switch as a chassis.
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := ovn.SBCtl("--bare", "--columns=name", "find", "Chassis", "name="+o.PhysicalSwitch)
		return err == nil && out == o.PhysicalSwitch, fmt.Sprintf("SB chassis %q: %q, %v", o.PhysicalSwitch, out, err)
	})

	// SB topology → switch.
	ovn.MustNB(t, "ls-add", "lsw")
	for _, v := range VIFs {
		ovn.MustNB(t, "lsp-add", "lsw", v.LSP, "--", "lsp-set-addresses", v.LSP, v.MAC+" "+v.IP)
	}
	ovn.MustNB(t, "lsp-add", "lsw", "lsw-vtep", "--", "lsp-set-type", "lsw-vtep", "vtep",
		"--", "lsp-set-options", "lsw-vtep", "vtep-physical-switch="+o.PhysicalSwitch, "vtep-logical-switch="+o.LogicalSwitch)
	if err := ovn.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, v := range VIFs {
		ovn.MustSB(t, "chassis-add", v.Chassis, "vxlan", v.EncapIP)
		ovn.MustSB(t, "lsp-bind", v.LSP, v.Chassis)
	}
	dpKey := atoi(t, ovn.MustSB(t, "--bare", "--columns=tunnel_key", "find", "Datapath_Binding", "external_ids:name=lsw"))
	portKey := atoi(t, ovn.MustSB(t, "--bare", "--columns=tunnel_key", "find", "Port_Binding", "logical_port=lsw-vtep"))

	c := dev.Caps()
	WaitState(t, dev, Expected(c, o.ARPSuppression, dpKey), "after SB topology ("+Class(c)+")")

	// Switch learns → SB.
	dev.Learn(t, LearnedMAC)
	wantFDB := fmt.Sprintf("%s %d %d", LearnedMAC, dpKey, portKey)
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := ovn.SBCtl("--bare", "--columns=mac,dp_key,port_key", "find", "FDB", `mac="`+LearnedMAC+`"`)
		got := strings.Join(strings.Fields(out), " ")
		return err == nil && got == wantFDB, fmt.Sprintf("SB FDB: want %q, got %q (err %v)", wantFDB, got, err)
	})
	// Nothing else changed on the switch; the learned MAC is there.
	want := Expected(c, o.ARPSuppression, dpKey, LearnedMAC)
	WaitState(t, dev, want, "after learning")
	return want
}

// WaitState waits until the device's own view is want.
func WaitState(t *testing.T, dev Device, want State, when string) {
	t.Helper()
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got, err := dev.View()
		if err != nil {
			return false, fmt.Sprintf("%s: device view: %v", when, err)
		}
		got = got.Normalise()
		return reflect.DeepEqual(got, want), fmt.Sprintf("%s:\n got  %v\n want %v", when, got, want)
	})
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
