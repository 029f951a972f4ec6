package drivers4

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
	"github.com/vtepgw/vtepgw/testbed/scenario"
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
	waitLong = 30 * time.Second
	poll     = 50 * time.Millisecond
)

// device is a scenario.Device plus its switches[] entry for vtepgw (a YAML
// mapping, without the leading "- ").
type device interface {
	scenario.Device
	switchYAML() map[string]any
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
		finals = map[string]scenario.State{} // case → final state, with the VNI zeroed
		class  = map[string]string{}
	)
	t.Run("group", func(t *testing.T) {
		for _, arp := range []bool{false, true} {
			for _, c := range cases {
				name := c.driver
				if c.adapter != "" {
					name += "-" + c.adapter
				}
				if arp {
					name += "/arp-suppression"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					ovn := testbed.StartOVN(t)
					dev := c.start(t)
					sw := dev.switchYAML()
					sw["name"] = psName
					sw["driver"] = c.driver
					startGateway(t, ovn.SBRemote(), sw, arp)
					final := scenario.Run(t, ovn, dev, scenario.Options{PhysicalSwitch: psName, LogicalSwitch: lsName, ARPSuppression: arp})
					final.VNI = 0 // each OVN numbers its own datapath
					cl := scenario.Class(dev.Caps())
					if arp {
						cl += ", arp-suppression"
					}
					mu.Lock()
					finals[name], class[name] = final, cl
					mu.Unlock()
				})
			}
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

// startGateway runs bin/vtepgw with a YAML configuration naming one switch
// and waits for its control socket.
func startGateway(t *testing.T, sbRemote string, sw map[string]any, arp bool) {
	t.Helper()
	// JSON is YAML: no quoting surprises.
	cfg := fmt.Sprintf("log-level: debug\narp-suppression: %t\nswitches:\n  - %s\n", arp, jsonOf(sw))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vtepgw configuration:\n%s", cfg)
		}
	})
	testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbRemote, Config: cfg, FailLogLines: 60})
}
