package simulator_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/testbed"
)

// TestEndToEndHypervisor runs the whole software stack: a host behind a
// vtepsim port reaches a VM port on a hypervisor running the real
// ovn-controller with its own ovs-vswitchd (userspace dummy datapath),
// through a VTEP controller (Debian's ovn-controller-vtep and vtepgw), over
// a VXLAN underlay made of two dummy ports joined by a unix stream socket.
// It asserts on the frames written by the datapaths (pcap), both ways.
func TestEndToEndHypervisor(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	testbed.Require(t, testbed.BinNorthd, testbed.BinControllerVTEP, testbed.BinNBctl, testbed.BinSBctl)
	requireOVS(t, "ovn-controller")
	for _, ctl := range controllers {
		t.Run(ctl, func(t *testing.T) { testEndToEnd(t, ctl) })
	}
}

func testEndToEnd(t *testing.T, controller string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ovn := testbed.StartOVN(t)
	start := func(name string) *testSwitch {
		env, err := lab.Start(ctx, filepath.Join(t.TempDir(), name), lab.StartOptions{Netns: true, Log: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Stop() })
		return &testSwitch{t: t, env: env, ps: "br-vtep"}
	}
	vt, hv := start("vtep"), start("hv1")
	link := filepath.Join(t.TempDir(), "underlay.sock")

	// VTEP side: switch br-vtep (tunnel IP 10.0.0.2), underlay port eth-u.
	if err := vt.env.AddSwitch(ctx, vt.ps, 1, "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	p0pcap := filepath.Join(vt.env.Dir, "p0.pcap")
	vt.vsctl("add-br", "br-underlay", "--", "set", "bridge", "br-underlay", "datapath_type=dummy",
		"--", "add-port", "br-underlay", "eth-u", "--", "set", "Interface", "eth-u", "type=dummy", "options:pstream=punix:"+link,
		"--", "set", "Interface", "p0", "options:tx_pcap="+p0pcap)
	vt.appctl("netdev-dummy/ip4addr", "br-underlay", "10.0.0.2/24")
	vt.appctl("ovs/route/add", "10.0.0.0/24", "br-underlay")
	sim, err := simulator.New(simulator.Options{DB: vt.env.Remote(), Switch: vt.ps, RunDir: vt.env.Dir, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(rctx) }()
	t.Cleanup(func() { rcancel(); <-done })
	vt.waitFor("Physical_Port p0", func() (bool, string) {
		out := vt.vtepctl("list-ports", vt.ps)
		return out == "p0\n", out
	})

	// Hypervisor: br-phys with eth-h (10.0.0.1) joined to eth-u, and
	// ovn-controller with a vxlan encap.
	vifpcap := filepath.Join(hv.env.Dir, "vif0.pcap")
	hv.vsctl("add-br", "br-phys", "--", "set", "bridge", "br-phys", "datapath_type=dummy",
		"--", "add-port", "br-phys", "eth-h", "--", "set", "Interface", "eth-h", "type=dummy", "options:stream=unix:"+link,
		"--", "set", "Open_vSwitch", ".", "external_ids:system-id=hv1", "external_ids:ovn-remote="+ovn.SBRemote(),
		"external_ids:ovn-encap-type=vxlan", "external_ids:ovn-encap-ip=10.0.0.1", "external_ids:ovn-bridge-datapath-type=dummy")
	hv.appctl("netdev-dummy/ip4addr", "br-phys", "10.0.0.1/24")
	hv.appctl("ovs/route/add", "10.0.0.0/24", "br-phys")
	// Static neighbours: nothing answers ARP on a dummy underlay.
	macOf := func(ts *testSwitch, iface string) string {
		return strings.Trim(strings.TrimSpace(ts.vsctl("get", "Interface", iface, "mac_in_use")), `"`)
	}
	vt.appctl("tnl/arp/set", "br-underlay", "10.0.0.1", macOf(hv, "br-phys"))
	hv.appctl("tnl/arp/set", "br-phys", "10.0.0.2", macOf(vt, "br-underlay"))
	if _, err := hv.env.Spawn(ctx, "ovn-controller", "ovn-controller", hv.env.Remote(), "-vconsole:off",
		"--pidfile="+filepath.Join(hv.env.Dir, "ovn-controller.pid"), "--log-file="+filepath.Join(hv.env.Dir, "ovn-controller.log")); err != nil {
		t.Fatal(err)
	}
	hv.waitFor("br-int", func() (bool, string) {
		out := hv.vsctl("list-br")
		return strings.Contains(out, "br-int"), out
	})
	hv.vsctl("add-port", "br-int", "vif0", "--", "set", "Interface", "vif0", "type=dummy", "options:tx_pcap="+vifpcap,
		"external_ids:iface-id=lp0")

	// The VTEP controller.
	switch controller {
	case "ovn-controller-vtep":
		testbed.StartReferenceController(t, vt.env.Remote(), ovn.SBRemote())
	case "vtepgw":
		dir := testbed.NewDir(t)
		log := filepath.Join(dir, "vtepgw.log")
		if _, err := testbed.StartProcess(t, testbed.ProcessConfig{Name: "vtepgw", Path: buildVtepgw(t), Dir: dir, LogPath: log,
			Args: []string{"--vtep-db=" + vt.env.Remote(), "--ovnsb-db=" + ovn.SBRemote(), "--log-file=" + log,
				"--pidfile=" + filepath.Join(dir, "vtepgw.pid"), "--unixctl=" + filepath.Join(dir, "vtepgw.ctl")}}); err != nil {
			t.Fatal(err)
		}
	}

	// Topology: ls0 with the VM port and the VTEP port.
	ovn.MustNB(t, "ls-add", "ls0")
	ovn.MustNB(t, "lsp-add", "ls0", "lp0")
	ovn.MustNB(t, "lsp-set-addresses", "lp0", "00:00:00:00:00:01 10.1.0.1")
	ovn.MustNB(t, "lsp-add", "ls0", "ls0-vtep")
	ovn.MustNB(t, "lsp-set-type", "ls0-vtep", "vtep")
	ovn.MustNB(t, "lsp-set-options", "ls0-vtep", "vtep-physical-switch=br-vtep", "vtep-logical-switch=lswitch0")
	ovn.MustNB(t, "lsp-set-addresses", "ls0-vtep", "unknown")
	vt.vtepctl("add-ls", "lswitch0", "--", "bind-ls", vt.ps, "p0", "0", "lswitch0")

	vt.waitFor("remote MAC of the VM", func() (bool, string) {
		out := vt.vtepctl("list-remote-macs", "lswitch0")
		return strings.Contains(out, "00:00:00:00:00:01 -> vxlan_over_ipv4/10.0.0.1"), out
	})
	br := vt.lsBridge("lswitch0")
	vt.waitFlows(br, "flow to the VM", "dl_dst=00:00:00:00:00:01 actions=output:vx")
	hv.waitFor("ovn-controller flows for the VTEP tunnel", func() (bool, string) {
		out := hv.flows("br-int", "table=0")
		return strings.Contains(out, "priority=110,tun_id="), out
	})

	host, _ := net.ParseMAC("00:00:00:00:00:dd")
	vm, _ := net.ParseMAC("00:00:00:00:00:01")
	icmp := []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0}
	count := func(path string, src, dst net.HardwareAddr) int {
		n := 0
		for _, f := range readPcap(t, path) {
			if len(f) >= 14 && net.HardwareAddr(f[0:6]).String() == dst.String() && net.HardwareAddr(f[6:12]).String() == src.String() &&
				binary.BigEndian.Uint16(f[12:]) == 0x0800 {
				n++
			}
		}
		return n
	}
	// Host → VM.
	last := time.Time{}
	vt.waitFor("host's frame delivered to the VM port", func() (bool, string) {
		if time.Since(last) > 200*time.Millisecond {
			frame := lab.Frame(vm, host, 0, 0x0800, lab.IPv4(net.IPv4(10, 1, 0, 9), net.IPv4(10, 1, 0, 1), 1, icmp))
			if err := vt.env.Receive(ctx, "p0", frame); err != nil {
				t.Fatal(err)
			}
			last = time.Now()
		}
		return count(vifpcap, host, vm) > 0, fmt.Sprintf("vif0.pcap has %d frames", len(readPcap(t, vifpcap)))
	})
	// VM → host (an unknown MAC for OVN: it goes to the vtep port).
	last = time.Time{}
	vt.waitFor("VM's frame delivered to the host port", func() (bool, string) {
		if time.Since(last) > 200*time.Millisecond {
			frame := lab.Frame(host, vm, 0, 0x0800, lab.IPv4(net.IPv4(10, 1, 0, 1), net.IPv4(10, 1, 0, 9), 1, icmp))
			if err := hv.env.Receive(ctx, "vif0", frame); err != nil {
				t.Fatal(err)
			}
			last = time.Now()
		}
		return count(p0pcap, vm, host) > 0, fmt.Sprintf("p0.pcap has %d frames", len(readPcap(t, p0pcap)))
	})
}
