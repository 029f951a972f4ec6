package kernel_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The tests make their own network namespaces and use only addresses
// inside them (10.250.0.0/16); nothing touches the test's own namespace.

// requireNetns skips unless the test can make network namespaces.
func requireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2's ip (apt-get install iproute2)")
	}
}

// testNS is a network namespace made by a test, deleted at its end.
type testNS struct {
	name string
	ns   netns.NsHandle
	h    *netlink.Handle
}

var nsSeq atomic.Int64

// newNS makes a namespace with IPv6 off (no router solicitations or MLD
// reports to be learned: the bridges see only the test's frames).
func newNS(t testing.TB, role string) *testNS {
	t.Helper()
	name := fmt.Sprintf("vgkt%d-%d-%s", os.Getpid(), nsSeq.Add(1), role)
	mustRun(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	mustRun(t, "ip", "netns", "exec", name, "sysctl", "-qw",
		"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		t.Fatalf("netlink in %s: %v", name, err)
	}
	t.Cleanup(func() {
		h.Close()
		ns.Close()
	})
	return &testNS{name: name, ns: ns, h: h}
}

func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// exec runs a command inside the namespace.
func (n *testNS) exec(name string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.name, name}, args...)...).CombinedOutput()
	return string(out), err
}

func (n *testNS) mustExec(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := n.exec(name, args...)
	if err != nil {
		t.Fatalf("in %s: %s %s: %v: %s", n.name, name, strings.Join(args, " "), err, out)
	}
	return out
}

func (n *testNS) link(t testing.TB, name string) netlink.Link {
	t.Helper()
	l, err := n.h.LinkByName(name)
	if err != nil {
		t.Fatalf("%s in %s: %v", name, n.name, err)
	}
	return l
}

// veth joins a:aName and b:bName and sets b's end up (a's end is left to
// whoever owns it).
func veth(t testing.TB, a *testNS, aName string, b *testNS, bName string) {
	t.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName, PeerNamespace: netlink.NsFd(int(b.ns))}
	if err := a.h.LinkAdd(v); err != nil {
		t.Fatalf("veth %s/%s: %v", aName, bName, err)
	}
	if err := b.h.LinkSetUp(b.link(t, bName)); err != nil {
		t.Fatalf("set %s up: %v", bName, err)
	}
}

// addAddr puts cidr on a link and sets it up.
func (n *testNS) addAddr(t testing.TB, link, cidr string) {
	t.Helper()
	l := n.link(t, link)
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.h.AddrAdd(l, a); err != nil {
		t.Fatalf("address %s on %s: %v", cidr, link, err)
	}
	if err := n.h.LinkSetUp(l); err != nil {
		t.Fatalf("set %s up: %v", link, err)
	}
}

// sendFrame sends one broadcast Ethernet frame from src out of ifname in
// the namespace (802.1Q-tagged when vlan != 0), as a host behind that
// port would: the bridge on the far side learns src.
func (n *testNS) sendFrame(ifname, src string, vlan int) error {
	l, err := n.h.LinkByName(ifname)
	if err != nil {
		return err
	}
	hw, err := net.ParseMAC(src)
	if err != nil {
		return err
	}
	frame := make([]byte, 0, 64)
	frame = append(frame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	frame = append(frame, hw...)
	if vlan != 0 {
		frame = binary.BigEndian.AppendUint16(frame, 0x8100)
		frame = binary.BigEndian.AppendUint16(frame, uint16(vlan))
	}
	frame = binary.BigEndian.AppendUint16(frame, 0x88b5) // local experimental ethertype
	frame = append(frame, make([]byte, 46)...)
	fd, err := n.socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: l.Attrs().Index, Halen: 6})
}

// socket opens a socket inside the namespace (sockets stay in the
// namespace they were made in). It switches a locked thread that it never
// unlocks: the runtime ends that thread with the goroutine, so no other
// code ever runs in the wrong namespace.
func (n *testNS) socket(domain, typ, proto int) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(n.ns); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, err := unix.Socket(domain, typ, proto)
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

var vlanProbe struct {
	once sync.Once
	ok   bool
}

// vlanSupported reports whether the kernel can make 802.1Q VLAN
// interfaces (CONFIG_VLAN_8021Q), trying once in a scratch namespace.
func vlanSupported(t testing.TB) bool {
	vlanProbe.once.Do(func() {
		n := newNS(t, "vlanprobe")
		if err := n.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "v0"}, PeerName: "v1"}); err != nil {
			return
		}
		v0 := n.link(t, "v0")
		err := n.h.LinkAdd(&netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "v0.7", ParentIndex: v0.Attrs().Index}, VlanId: 7})
		vlanProbe.ok = err == nil
	})
	return vlanProbe.ok
}
