package simulator_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/testbed"
)

// compat is the setup of OVN's tests/ovn-controller-vtep.at
// (OVN_CONTROLLER_VTEP_START) with vtepsim in the place of ovs-vtep: one
// ovsdb-server with both databases, ovs-vswitchd (dummy datapath), bridge
// br-vtep with p0/p1, Physical_Switch br-vtep (tunnel_ips 1.2.3.4), OVN NB/SB
// with ovn-northd, and Debian's ovn-controller-vtep.
type compat struct {
	t   *testing.T
	sw  *testbed.SimSwitch
	ovn *testbed.OVN
}

// Controllers of the compatibility matrix: Debian's ovn-controller-vtep
// and vtepgw (built from this repository, run as a process: the simulator
// shares no code with it).
var controllers = []string{"ovn-controller-vtep", "vtepgw"}

var (
	vtepgwOnce sync.Once
	vtepgwBin  string
	vtepgwErr  error
)

func buildVtepgw(t *testing.T) string {
	t.Helper()
	vtepgwOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vtepsim-compat-")
		if err != nil {
			vtepgwErr = err
			return
		}
		vtepgwBin = filepath.Join(dir, "vtepgw")
		out, err := exec.Command("go", "build", "-o", vtepgwBin, "github.com/vtepgw/vtepgw/cmd/vtepgw").CombinedOutput()
		if err != nil {
			vtepgwErr = fmt.Errorf("build vtepgw: %w: %s", err, out)
		}
	})
	if vtepgwErr != nil {
		t.Fatal(vtepgwErr)
	}
	return vtepgwBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if vtepgwBin != "" {
		os.RemoveAll(filepath.Dir(vtepgwBin))
	}
	os.Exit(code)
}

// The compatibility matrix: vtepsim against both controllers, and Debian's
// ovs-vtep against vtepgw (ovs-vtep against ovn-controller-vtep is OVN's
// own test suite). The ovs-vtep cells poll once a second; -short skips them.
var matrix = []struct{ sim, controller string }{
	{"vtepsim", "ovn-controller-vtep"},
	{"vtepsim", "vtepgw"},
	{"ovs-vtep", "vtepgw"},
}

// eachController runs f as a subtest for every cell of the matrix.
func eachController(t *testing.T, f func(t *testing.T, c *compat)) {
	for _, m := range matrix {
		t.Run(m.sim+"_x_"+m.controller, func(t *testing.T) {
			if m.sim == "ovs-vtep" && testing.Short() {
				t.Skip("ovs-vtep cells are slow")
			}
			f(t, startCompat(t, m.sim, m.controller))
		})
	}
}

func startCompat(t *testing.T, simName, controller string) *compat {
	t.Helper()
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinVswitchd, testbed.BinVtepctl, testbed.BinNorthd,
		testbed.BinControllerVTEP, testbed.BinNBctl, testbed.BinSBctl)
	c := &compat{t: t}
	c.ovn = testbed.StartOVN(t)
	if simName == "ovs-vtep" {
		testbed.Require(t, testbed.BinOVSVTEP, testbed.BinPython)
		c.sw = testbed.StartSimSwitch(t, testbed.SimOptions{})
	} else {
		c.sw = testbed.StartSimSwitch(t, testbed.SimOptions{Emulator: testbed.EmulatorNone})
		sim, err := simulator.New(simulator.Options{DB: c.sw.VtepRemote(), Switch: "br-vtep",
			RunDir: filepath.Dir(c.sw.VswitchdCtl()), Log: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sim.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("vtepsim: %v", err)
			}
		})
	}
	// OVN_CONTROLLER_VTEP_START waits for the emulator's 2 Physical_Ports.
	c.wait("2 Physical_Ports", func() (bool, string) {
		out := c.vtep("show")
		return strings.Count(out, "Physical_Port") == 2, out
	})
	switch controller {
	case "ovn-controller-vtep":
		testbed.StartReferenceController(t, c.sw.VtepRemote(), c.ovn.SBRemote())
	case "vtepgw":
		dir := testbed.NewDir(t)
		log := filepath.Join(dir, "vtepgw.log")
		if _, err := testbed.StartProcess(t, testbed.ProcessConfig{Name: "vtepgw", Path: buildVtepgw(t), Dir: dir, LogPath: log,
			Args: []string{"--vtep-db=" + c.sw.VtepRemote(), "--ovnsb-db=" + c.ovn.SBRemote(), "--log-file=" + log,
				"--pidfile=" + filepath.Join(dir, "vtepgw.pid"), "--unixctl=" + filepath.Join(dir, "vtepgw.ctl")}}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *compat) vtep(args ...string) string { return c.sw.MustVtep(c.t, args...) }
func (c *compat) nb(args ...string) string   { return c.ovn.MustNB(c.t, args...) }
func (c *compat) sb(args ...string) string   { return c.ovn.MustSB(c.t, args...) }

func (c *compat) wait(what string, cond func() (bool, string)) {
	c.t.Helper()
	testbed.Eventually(c.t, 20*time.Second, 20*time.Millisecond, func() (bool, string) {
		ok, msg := cond()
		return ok, what + ": " + msg
	})
}

// addVtepPort is OVN_NB_ADD_VTEP_PORT.
func (c *compat) addVtepPort(ls, lsp, ps, vls string) {
	c.nb("lsp-add", ls, lsp)
	c.nb("lsp-set-type", lsp, "vtep")
	c.nb("lsp-set-options", lsp, "vtep-physical-switch="+ps, "vtep-logical-switch="+vls)
}

func (c *compat) column(out string) []string {
	var vals []string
	for _, l := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(l, ":"); ok {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	sort.Strings(vals)
	return vals
}

// TestCompatChassis follows "ovn-controller-vtep - chassis" (C.1).
func TestCompatChassis(t *testing.T) { eachController(t, testCompatChassis) }

func testCompatChassis(t *testing.T, c *compat) {
	c.wait("chassis", func() (bool, string) {
		out := c.sb("show")
		return strings.Contains(out, "Chassis br-vtep") && strings.Contains(out, `ip: "1.2.3.4"`), out
	})
	c.vtep("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "200", "lswitch0",
		"--", "bind-ls", "br-vtep", "p1", "300", "lswitch0")
	lsw := func() string {
		return strings.Join(c.column(c.sb("--columns=vtep_logical_switches", "list", "Chassis")), "")
	}
	c.wait("[lswitch0]", func() (bool, string) { return lsw() == "[lswitch0]", lsw() })
	c.vtep("add-ls", "lswitch1", "--", "bind-ls", "br-vtep", "p0", "300", "lswitch1")
	c.wait("[lswitch0, lswitch1]", func() (bool, string) { return lsw() == "[lswitch0, lswitch1]", lsw() })
	// The simulator built one bridge per logical switch.
	c.wait("LS bridges", func() (bool, string) {
		out := c.sw.MustVsCtl(t, "list-br")
		return strings.Contains(out, "br-vtep_vtep_ls1") && strings.Contains(out, "br-vtep_vtep_ls2"), out
	})
	c.vtep("unbind-ls", "br-vtep", "p0", "100", "--", "unbind-ls", "br-vtep", "p1", "300", "--", "unbind-ls", "br-vtep", "p0", "200")
	c.wait("[lswitch1]", func() (bool, string) { return lsw() == "[lswitch1]", lsw() })
	c.vtep("unbind-ls", "br-vtep", "p0", "300")
	c.wait("[]", func() (bool, string) { return lsw() == "[]", lsw() })
	c.wait("LS bridges removed", func() (bool, string) {
		out := c.sw.MustVsCtl(t, "list-br")
		return !strings.Contains(out, "_vtep_ls"), out
	})
}

// TestCompatBinding follows "ovn-controller-vtep - binding 1" (C.2).
func TestCompatBinding(t *testing.T) { eachController(t, testCompatBinding) }

func testCompatBinding(t *testing.T, c *compat) {
	c.nb("ls-add", "br-test")
	c.vtep("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0", "--", "bind-ls", "br-vtep", "p1", "300", "lswitch0")
	c.addVtepPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	chassis := strings.TrimSpace(c.sb("--bare", "--columns=_uuid", "find", "Chassis", "name=br-vtep"))
	bound := func(lp string) string {
		return strings.TrimSpace(c.sb("--bare", "--columns=chassis", "find", "Port_Binding", "logical_port="+lp))
	}
	c.wait("bound", func() (bool, string) { return bound("br-vtep_lswitch0") == chassis, bound("br-vtep_lswitch0") })
	// Deleting the OVS ports makes the simulator delete the
	// Physical_Ports, which unbinds the port.
	c.sw.MustVsCtl(t, "del-port", "p0", "--", "del-port", "p1")
	c.wait("Physical_Ports gone", func() (bool, string) {
		out := c.vtep("list", "Physical_Port")
		return strings.TrimSpace(out) == "", out
	})
	c.wait("unbound", func() (bool, string) { return bound("br-vtep_lswitch0") == "", bound("br-vtep_lswitch0") })
}

// TestCompatTunnelKey follows "ovn-controller-vtep - vtep-lswitch" (C.4)
// and checks the simulator's tunnels follow the key.
func TestCompatTunnelKey(t *testing.T) { eachController(t, testCompatTunnelKey) }

func testCompatTunnelKey(t *testing.T, c *compat) {
	c.nb("ls-add", "br-test")
	c.vtep("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	c.addVtepPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	dp := strings.TrimSpace(c.sb("--bare", "--columns=datapath", "find", "Port_Binding", "logical_port=br-vtep_lswitch0"))
	c.wait("datapath", func() (bool, string) {
		dp = strings.TrimSpace(c.sb("--bare", "--columns=datapath", "find", "Port_Binding", "logical_port=br-vtep_lswitch0"))
		return dp != "", dp
	})
	key := strings.TrimSpace(c.sb("get", "Datapath_Binding", dp, "tunnel_key"))
	c.wait("tunnel_key", func() (bool, string) {
		out := strings.TrimSpace(c.vtep("get", "Logical_Switch", "lswitch0", "tunnel_key"))
		return out == key, out
	})
	// A remote VM makes a tunnel with that key.
	c.nb("lsp-add", "br-test", "vif0")
	c.nb("lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:02")
	if err := c.ovn.Sync(); err != nil {
		t.Fatal(err)
	}
	c.sb("chassis-add", "ch0", "vxlan", "1.2.3.5")
	c.sb("lsp-bind", "vif0", "ch0")
	c.wait("tunnel with key", func() (bool, string) {
		out := c.sw.MustVsCtl(t, "--bare", "--columns=options", "find", "Interface", "type=vxlan", "options:remote_ip=1.2.3.5", "options:key="+key)
		return strings.TrimSpace(out) != "", out
	})
	// Unset the vtep port type: the key goes back to 0, and the tunnels
	// are updated in place (ovs-vtep keeps the old key).
	c.nb("lsp-set-type", "br-vtep_lswitch0", "")
	c.wait("tunnel_key 0", func() (bool, string) {
		out := strings.TrimSpace(c.vtep("get", "Logical_Switch", "lswitch0", "tunnel_key"))
		return out == "0", out
	})
}

// TestCompatRemoteMACs follows "ovn-controller-vtep - vtep-macs 1" (C.5)
// and "vtep-Mcast_Macs_Remote" (C.8), and checks the flows and the flood
// set (as in ovn.at "vtep: 3 HVs, 1 VIFs/HV, 1 GW, 1 LS").
func TestCompatRemoteMACs(t *testing.T) { eachController(t, testCompatRemoteMACs) }

func testCompatRemoteMACs(t *testing.T, c *compat) {
	c.nb("ls-add", "br-test")
	c.nb("lsp-add", "br-test", "vif0")
	c.nb("lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:02")
	if err := c.ovn.Sync(); err != nil {
		t.Fatal(err)
	}
	c.sb("chassis-add", "ch0", "vxlan", "1.2.3.5")
	c.sb("lsp-bind", "vif0", "ch0")
	c.vtep("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	c.addVtepPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	macs := func() string {
		return strings.Join(c.column(c.vtep("--columns=MAC", "list", "Ucast_Macs_Remote")), " ")
	}
	c.wait("UMR", func() (bool, string) { return macs() == `"f0:ab:cd:ef:01:02"`, macs() })
	c.wait("bfd port", func() (bool, string) {
		out, _ := c.sw.VsCtl("--columns=options", "list", "Interface", "bfd1.2.3.5")
		return strings.Contains(out, `{remote_ip="1.2.3.5"}`), out
	})
	flows := func() string { out, _ := c.sw.OfCtl("-O", "OpenFlow14", "dump-flows", "br-vtep_vtep_ls1"); return out }
	c.wait("remote MAC flow", func() (bool, string) {
		out := flows()
		return strings.Contains(out, "dl_dst=f0:ab:cd:ef:01:02 actions=output:"), out
	})
	// Replace the MACs: old ones disappear in the same transaction.
	c.nb("lsp-set-addresses", "vif0", "f0:ab:cd:ef:01:04 192.168.0.1")
	c.wait("MAC 04", func() (bool, string) {
		out := flows()
		return strings.Contains(out, "dl_dst=f0:ab:cd:ef:01:04") && !strings.Contains(out, "dl_dst=f0:ab:cd:ef:01:02"), out
	})
	// Three hypervisors: source-node replication (set by
	// ovn-controller-vtep) floods to all three tunnels.
	for i, ip := range []string{"1.2.3.6", "1.2.3.7"} {
		vif, ch := "vif"+string(rune('1'+i)), "ch"+string(rune('1'+i))
		c.nb("lsp-add", "br-test", vif)
		c.nb("lsp-set-addresses", vif, "f0:ab:cd:ef:02:0"+string(rune('1'+i)))
		if err := c.ovn.Sync(); err != nil {
			t.Fatal(err)
		}
		c.sb("chassis-add", ch, "vxlan", ip)
		c.sb("lsp-bind", vif, ch)
	}
	c.wait("replication source_node", func() (bool, string) {
		out := c.vtep("get-replication-mode", "lswitch0")
		return strings.Contains(out, "source"), out
	})
	c.wait("flood to 3 tunnels", func() (bool, string) {
		for _, l := range strings.Split(flows(), "\n") {
			if strings.Contains(l, "table=1") && strings.Contains(l, "priority=0 ") {
				return strings.Count(l, "output:") == 4, l // 3 tunnels + p0's patch port
			}
		}
		return false, flows()
	})
	// Mcast_Macs_Remote: one unknown-dst row whose locators are the 3 HVs.
	c.wait("MMR", func() (bool, string) {
		out := c.vtep("list-remote-macs", "lswitch0")
		return strings.Count(out, "unknown-dst ->") == 3, out
	})
	// And the simulator's own Mcast_Macs_Local unknown-dst.
	if out := c.vtep("list-local-macs", "lswitch0"); !strings.Contains(out, "unknown-dst -> vxlan_over_ipv4/1.2.3.4") {
		t.Errorf("Mcast_Macs_Local: %s", out)
	}
}

// TestCompatLocalMACs follows the first half of "vtep-macs 3" (C.7): a
// learned MAC is faked with a cookie-0x5000 table-1 flow and shows up in
// Ucast_Macs_Local; deleting the flow withdraws it. A real frame is learned
// too. (ovn-controller-vtep 23.03 does not copy them to the SB FDB; that
// part of C.7 is main-only.)
func TestCompatLocalMACs(t *testing.T) { eachController(t, testCompatLocalMACs) }

func testCompatLocalMACs(t *testing.T, c *compat) {
	c.nb("ls-add", "br-test")
	c.vtep("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	c.addVtepPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	var p0 string
	c.wait("0100-p0-l ofport", func() (bool, string) {
		out, _ := c.sw.VsCtl("get", "Interface", "0100-p0-l", "ofport")
		p0 = strings.TrimSpace(out)
		return p0 != "" && p0 != "[]" && p0 != "-1", out
	})
	c.sw.MustOfCtl(t, "-O", "OpenFlow14", "add-flow", "br-vtep_vtep_ls1",
		"cookie=0x5000,table=1,priority=1000,dl_dst=aa:bb:cc:dd:ee:01 actions=output:"+p0)
	c.wait("UML ee:01", func() (bool, string) {
		out := c.vtep("list", "Ucast_Macs_Local")
		return strings.Contains(out, "aa:bb:cc:dd:ee:01"), out
	})
	c.sw.MustOfCtl(t, "-O", "OpenFlow14", "del-flows", "br-vtep_vtep_ls1", "table=1,dl_dst=aa:bb:cc:dd:ee:01")
	c.wait("UML ee:01 gone", func() (bool, string) {
		out := c.vtep("list", "Ucast_Macs_Local")
		return !strings.Contains(out, "aa:bb:cc:dd:ee:01"), out
	})
	c.sw.MustAppCtl(t, "netdev-dummy/receive", "p0",
		"in_port(1),eth(src=00:00:00:00:00:aa,dst=ff:ff:ff:ff:ff:ff),eth_type(0x8100),vlan(vid=100,pcp=0),encap(eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0))")
	c.wait("learned 00:00:00:00:00:aa", func() (bool, string) {
		out := c.vtep("list-local-macs", "lswitch0")
		return strings.Contains(out, "00:00:00:00:00:aa -> vxlan_over_ipv4/1.2.3.4"), out
	})
}
