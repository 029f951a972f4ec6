package simulator_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/lab"
)

// readPcap returns the frames of a pcap file written by netdev-dummy.
func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out [][]byte
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		if off+16+n > len(b) {
			break
		}
		out = append(out, b[off+16:off+16+n])
		off += 16 + n
	}
	return out
}

type vxlanFrame struct {
	outerSrc, outerDst net.IP
	dport              uint16
	vni                uint32
	inner              []byte
}

func parseVXLAN(f []byte) (vxlanFrame, bool) {
	var v vxlanFrame
	if len(f) < 14+20+8+8+14 || binary.BigEndian.Uint16(f[12:]) != 0x0800 || f[23] != 17 {
		return v, false
	}
	ihl := int(f[14]&0x0f) * 4
	udp := f[14+ihl:]
	v.outerSrc, v.outerDst = net.IP(f[26:30]), net.IP(f[30:34])
	v.dport = binary.BigEndian.Uint16(udp[2:])
	v.vni = binary.BigEndian.Uint32(udp[12:]) >> 8
	v.inner = udp[16:]
	return v, true
}

// TestDataPlaneVXLAN pushes frames through the simulated switch on an
// all-dummy underlay (as peers.md §4 did with ovs-vtep) and asserts on
// what leaves the datapath, read from pcap files:
//   - a VLAN-100 frame on p0 leaves on the underlay as VXLAN to the right
//     remote VTEP with the logical switch's VNI and our tunnel IP, with the
//     inner frame untagged;
//   - a VXLAN frame with that VNI coming from the underlay leaves p0 tagged
//     with VLAN 100; one with another VNI is dropped;
//   - after a tunnel_key change, traffic uses the new VNI.
func TestDataPlaneVXLAN(t *testing.T) {
	requireOVS(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private network namespace")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// ovs-vswitchd in its own network namespace: its routes and addresses
	// never touch the host.
	env, err := lab.Start(ctx, t.TempDir(), lab.StartOptions{Netns: true, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ts := &testSwitch{t: t, env: env, ps: "br-vtep"}
	if err := env.AddSwitch(ctx, ts.ps, 2, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(simulator.Options{DB: env.Remote(), Switch: ts.ps, RunDir: env.Dir, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(rctx) }()
	t.Cleanup(func() { rcancel(); <-done })
	ts.waitFor("Physical_Ports", func() (bool, string) {
		out := ts.vtepctl("list-ports", ts.ps)
		return out == "p0\np1\n", out
	})

	uPcap, pPcap := filepath.Join(env.Dir, "eth-u.pcap"), filepath.Join(env.Dir, "p0.pcap")
	ts.vsctl("add-br", "br-underlay", "--", "set", "bridge", "br-underlay", "datapath_type=dummy",
		"--", "add-port", "br-underlay", "eth-u", "--", "set", "Interface", "eth-u", "type=dummy", "options:tx_pcap="+uPcap,
		"--", "set", "Interface", "p0", "options:tx_pcap="+pPcap)
	ts.appctl("netdev-dummy/ip4addr", "br-underlay", "1.2.3.4/24")
	ts.appctl("ovs/route/add", "1.2.3.0/24", "br-underlay")
	ts.appctl("tnl/arp/set", "br-underlay", "1.2.3.5", "aa:bb:cc:00:00:05")

	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "100", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=5",
		"--", "add-ucast-remote", "ls0", "00:00:00:00:00:01", "1.2.3.5", "--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.5")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "remote MAC flow", "dl_dst=00:00:00:00:00:01 actions=output:vx")
	ts.waitFlows(ts.ps, "vlan flow", "dl_vlan=100 actions=pop_vlan")

	host, _ := net.ParseMAC("00:00:00:00:00:dd")
	vm, _ := net.ParseMAC("00:00:00:00:00:01")
	payload := lab.IPv4(net.IPv4(10, 0, 0, 103), net.IPv4(10, 0, 0, 1), 1, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0})
	encap := func(vni uint32) []vxlanFrame {
		var vs []vxlanFrame
		for _, f := range readPcap(t, uPcap) {
			if v, ok := parseVXLAN(f); ok && v.vni == vni {
				vs = append(vs, v)
			}
		}
		return vs
	}
	send := func() {
		if err := env.Receive(ctx, "p0", lab.Frame(vm, host, 100, 0x0800, payload)); err != nil {
			t.Fatal(err)
		}
	}
	send()
	ts.waitFor("VXLAN frame on the underlay", func() (bool, string) {
		return len(encap(5)) > 0, fmt.Sprintf("%d frames in eth-u.pcap", len(readPcap(t, uPcap)))
	})
	v := encap(5)[0]
	if !v.outerSrc.Equal(net.IPv4(1, 2, 3, 4)) || !v.outerDst.Equal(net.IPv4(1, 2, 3, 5)) || v.dport != 4789 {
		t.Errorf("outer header %s -> %s udp %d, want 1.2.3.4 -> 1.2.3.5 udp 4789", v.outerSrc, v.outerDst, v.dport)
	}
	if d, s := net.HardwareAddr(v.inner[0:6]), net.HardwareAddr(v.inner[6:12]); d.String() != vm.String() || s.String() != host.String() {
		t.Errorf("inner frame %s -> %s", s, d)
	}
	if et := binary.BigEndian.Uint16(v.inner[12:]); et != 0x0800 {
		t.Errorf("inner ethertype %#x: the VLAN tag was not removed", et)
	}

	// Decap: VXLAN from 1.2.3.5 to us.
	brMAC := strings.Trim(strings.TrimSpace(ts.vsctl("get", "Interface", "br-underlay", "mac_in_use")), `"`)
	um, _ := net.ParseMAC(brMAC)
	remote, _ := net.ParseMAC("aa:bb:cc:00:00:05")
	vxlan := func(vni uint32) string {
		inner, _ := hex.DecodeString(lab.Frame(host, vm, 0, 0x0800, payload))
		vx := []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
		udp := make([]byte, 8)
		binary.BigEndian.PutUint16(udp[0:], 40000)
		binary.BigEndian.PutUint16(udp[2:], 4789)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(vx)+len(inner)))
		pkt := append(append(udp, vx...), inner...)
		return lab.Frame(um, remote, 0, 0x0800, lab.IPv4(net.IPv4(1, 2, 3, 5), net.IPv4(1, 2, 3, 4), 17, pkt))
	}
	tagged := func() int {
		n := 0
		for _, f := range readPcap(t, pPcap) {
			if len(f) > 18 && binary.BigEndian.Uint16(f[12:]) == 0x8100 && binary.BigEndian.Uint16(f[14:])&0xfff == 100 &&
				net.HardwareAddr(f[0:6]).String() == host.String() && net.HardwareAddr(f[6:12]).String() == vm.String() {
				n++
			}
		}
		return n
	}
	if err := env.Receive(ctx, "eth-u", vxlan(6)); err != nil { // wrong VNI first: dropped
		t.Fatal(err)
	}
	if err := env.Receive(ctx, "eth-u", vxlan(5)); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("decapsulated frame on p0, tagged 100", func() (bool, string) {
		return tagged() >= 1, fmt.Sprintf("%d frames in p0.pcap", len(readPcap(t, pPcap)))
	})
	time.Sleep(200 * time.Millisecond)
	if n := tagged(); n != 1 {
		t.Errorf("%d frames reached p0, want 1 (the VNI 6 frame must be dropped)", n)
	}

	// A tunnel_key change moves the same tunnel to the new VNI.
	ts.vtepctl("set", "Logical_Switch", "ls0", "tunnel_key=6")
	ts.waitFor("tunnel key 6", func() (bool, string) {
		out := ts.vsctl("--bare", "--columns=options", "find", "Interface", "type=vxlan", "options:key=6")
		return strings.Contains(out, "remote_ip=1.2.3.5"), out
	})
	// ovs-vswitchd applies the new key asynchronously: resend until seen.
	last := time.Time{}
	ts.waitFor("VXLAN frame with VNI 6", func() (bool, string) {
		if time.Since(last) > 100*time.Millisecond {
			send()
			last = time.Now()
		}
		return len(encap(6)) > 0, fmt.Sprintf("%d frames in eth-u.pcap", len(readPcap(t, uPcap)))
	})
	// Flooded (unknown destination) traffic goes to the unknown-dst locator.
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	if err := env.Receive(ctx, "p0", lab.Frame(bcast, host, 100, 0x0806, make([]byte, 28))); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("flooded frame on the underlay", func() (bool, string) {
		for _, v := range encap(6) {
			if net.HardwareAddr(v.inner[0:6]).String() == bcast.String() {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d VNI-6 frames", len(encap(6)))
	})
}
