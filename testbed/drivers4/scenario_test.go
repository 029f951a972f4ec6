package drivers4

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/testbed"
)

// vtepgwBin is the daemon built once by TestMain.
var vtepgwBin string

func TestMain(m *testing.M) {
	os.Exit(testbed.VtepgwMain(m, &vtepgwBin, testbed.VtepgwMainOptions{
		TempPrefix: "vtepgw-drivers4", RaceEnv: "VTEPGW_E2E_RACE", Prebuilt: true}))
}

// The names every device uses, so that one scenario fits all four.
const (
	psName   = "sw1"       // physical switch (SB chassis of the gateway)
	lsName   = "ls0"       // the switch's logical switch
	tunnelIP = "127.0.2.1" // the switch's own VTEP address (data only, or namespace-internal)
	learned  = "02:00:00:00:0a:01"
	waitLong = 30 * time.Second
	poll     = 50 * time.Millisecond
)

// The OVN side of the scenario: two VIFs behind two VXLAN chassis.
var vifs = []struct{ lsp, mac, ip, chassis, encapIP string }{
	{"vif1", "f0:00:00:00:00:01", "10.0.0.1", "hv1", "127.0.1.1"},
	{"vif2", "f0:00:00:00:00:02", "10.0.0.2", "hv2", "127.0.1.2"},
}

// device is what differs between drivers: a switch to manage, its
// configuration for vtepgw, an independent view of it, and a way to make
// it learn a MAC.
type device interface {
	// switchYAML is the switches[] entry selecting the driver (a YAML
	// mapping, without the leading "- ").
	switchYAML() map[string]any
	// caps are the switch's capabilities as the driver reports them
	// (drivers.CapabilityReporter; see the driver's README).
	caps() drivers.Capabilities
	// view reads the logical switch lsName from the device itself.
	view() (switchState, error)
	// learn makes the switch learn mac on lsName's port.
	learn(t testing.TB, mac string)
}

// switchState is one logical switch as a device holds it, normalised.
type switchState struct {
	// VNI is 0 when the device has none.
	VNI int
	// Remote maps a remote unicast MAC to "LOCATOR" or "LOCATOR IP".
	Remote map[string]string
	// Flood is the unknown-dst flood list, sorted.
	Flood []string
	// Learned are the MACs the switch learned, sorted.
	Learned []string
}

func (s switchState) String() string {
	return fmt.Sprintf("VNI %d, remote %v, flood %v, learned %v", s.VNI, s.Remote, s.Flood, s.Learned)
}

// normalise lower-cases MACs and sorts lists, for comparison.
func (s switchState) normalise() switchState {
	out := switchState{VNI: s.VNI, Remote: map[string]string{}}
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

// coreSetsUcastIP says whether vtepgw's core passes a VIF's IP (from its
// logical port addresses) with the remote MAC, for ARP suppression. It does
// not: like ovn-controller-vtep, sbsync writes MAC → locator only, so
// switches that could hold the IP (hardware_vtep ipaddr, the vtepgw YANG
// module, kernel neighbour entries) get none either. Flip it when the core
// learns to.
const coreSetsUcastIP = false

// expected is the state the scenario must leave on a switch of the
// capability class c: one value per class.
func expected(c drivers.Capabilities, vni int, learnedMACs ...string) switchState {
	s := switchState{VNI: vni, Remote: map[string]string{}, Learned: learnedMACs}
	for _, v := range vifs {
		switch {
		case c.NoUcastRemote: // the switch learns remote MACs in the data plane
		case c.ShadowsUcastIP || !coreSetsUcastIP: // MAC → VTEP only
			s.Remote[v.mac] = v.encapIP
		default:
			s.Remote[v.mac] = v.encapIP + " " + v.ip
		}
		s.Flood = append(s.Flood, v.encapIP)
	}
	return s.normalise()
}

// capClass names the class for messages.
func capClass(c drivers.Capabilities) string {
	switch {
	case c.NoUcastRemote:
		return "flood lists only, no remote unicast MACs"
	case c.ShadowsUcastIP:
		return "remote MAC → VTEP without IP"
	}
	return "remote MAC → VTEP with IP"
}

func TestScenario(t *testing.T) {
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool, testbed.BinNorthd, testbed.BinNBctl, testbed.BinSBctl, testbed.BinVtepctl)
	cases := []struct {
		driver, adapter string
		start           func(t *testing.T) device
	}{
		{"hwvtep", "", startHWVTEP},
		{"gnmi", "sonic", startGNMI("sonic")},
		{"gnmi", "eos", startGNMI("eos")},
		{"netconf", "vtepgw", startNetconf("vtepgw")},
		{"netconf", "junos", startNetconf("junos")},
		{"kernel", "", startKernel},
	}
	var (
		mu     sync.Mutex
		finals = map[string]switchState{} // case → final state, with the VNI zeroed
		class  = map[string]string{}
	)
	t.Run("group", func(t *testing.T) {
		for _, c := range cases {
			name := c.driver
			if c.adapter != "" {
				name += "-" + c.adapter
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ovn := testbed.StartOVN(t)
				dev := c.start(t)
				sw := dev.switchYAML()
				sw["name"] = psName
				sw["driver"] = c.driver
				startGateway(t, ovn.SBRemote(), sw)
				final := runScenario(t, ovn, dev)
				final.VNI = 0 // each OVN numbers its own datapath
				mu.Lock()
				finals[name], class[name] = final, capClass(dev.caps())
				mu.Unlock()
			})
		}
	})
	// Equivalent switch state: every switch of a capability class ends
	// identical, whatever its driver.
	byClass := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(finals)) {
		byClass[class[name]] = append(byClass[class[name]], name)
	}
	for cl, names := range byClass {
		for _, n := range names[1:] {
			if !reflect.DeepEqual(finals[n], finals[names[0]]) {
				t.Errorf("class %q: %s ended in %v, %s in %v", cl, n, finals[n], names[0], finals[names[0]])
			}
		}
		t.Logf("class %q: %v end in %v (VNI 0 here: each run has its own datapath key, checked in the run)", cl, names, finals[names[0]])
	}
}

// runScenario is the scenario every driver runs unchanged.
// It returns the switch's final state.
func runScenario(t *testing.T, ovn *testbed.OVN, dev device) switchState {
	// The gateway registers the switch as a chassis.
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := ovn.SBCtl("--bare", "--columns=name", "find", "Chassis", "name="+psName)
		return err == nil && out == psName, fmt.Sprintf("SB chassis %q: %q, %v", psName, out, err)
	})

	// SB topology → switch.
	ovn.MustNB(t, "ls-add", "lsw")
	for _, v := range vifs {
		ovn.MustNB(t, "lsp-add", "lsw", v.lsp, "--", "lsp-set-addresses", v.lsp, v.mac+" "+v.ip)
	}
	ovn.MustNB(t, "lsp-add", "lsw", "lsw-vtep", "--", "lsp-set-type", "lsw-vtep", "vtep",
		"--", "lsp-set-options", "lsw-vtep", "vtep-physical-switch="+psName, "vtep-logical-switch="+lsName)
	if err := ovn.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, v := range vifs {
		ovn.MustSB(t, "chassis-add", v.chassis, "vxlan", v.encapIP)
		ovn.MustSB(t, "lsp-bind", v.lsp, v.chassis)
	}
	dpKey := atoi(t, ovn.MustSB(t, "--bare", "--columns=tunnel_key", "find", "Datapath_Binding", "external_ids:name=lsw"))
	portKey := atoi(t, ovn.MustSB(t, "--bare", "--columns=tunnel_key", "find", "Port_Binding", "logical_port=lsw-vtep"))

	c := dev.caps()
	want := expected(c, dpKey)
	waitState(t, dev, want, "after SB topology ("+capClass(c)+")")

	// Switch learns → SB.
	dev.learn(t, learned)
	wantFDB := fmt.Sprintf("%s %d %d", learned, dpKey, portKey)
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := ovn.SBCtl("--bare", "--columns=mac,dp_key,port_key", "find", "FDB", `mac="`+learned+`"`)
		got := strings.Join(strings.Fields(out), " ")
		return err == nil && got == wantFDB, fmt.Sprintf("SB FDB: want %q, got %q (err %v)", wantFDB, got, err)
	})
	// Nothing else changed on the switch; the learned MAC is there.
	want = expected(c, dpKey, learned)
	waitState(t, dev, want, "after learning")
	return want
}

func waitState(t *testing.T, dev device, want switchState, when string) {
	t.Helper()
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got, err := dev.view()
		if err != nil {
			return false, fmt.Sprintf("%s: device view: %v", when, err)
		}
		got = got.normalise()
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

// startGateway runs bin/vtepgw with a YAML configuration naming one switch
// and waits for its control socket.
func startGateway(t *testing.T, sbRemote string, sw map[string]any) {
	t.Helper()
	// JSON is YAML: no quoting surprises.
	cfg := fmt.Sprintf("log-level: debug\nswitches:\n  - %s\n", jsonOf(sw))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vtepgw configuration:\n%s", cfg)
		}
	})
	testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbRemote, Config: cfg, FailLogLines: 60})
}
