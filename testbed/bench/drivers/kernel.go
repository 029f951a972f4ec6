package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// startKernel makes a network namespace with port p0 (a veth whose peer h0
// stays in it too), deleted in t's cleanups. Only namespace-internal
// addresses are used: tunnel IP 10.250.0.1, locators are data.
func startKernel(t *benchTB) (*target, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("needs root to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("needs iproute2's ip")
	}
	name := fmt.Sprintf("vgbench-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	for _, args := range [][]string{
		// IPv6 off: no router solicitations for the bridge to learn.
		{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "p0", "type", "veth", "peer", "name", "h0"},
		{"ip", "link", "set", "h0", "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", name}, args...)...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("in %s: %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	ns, err := netns.GetFromName(name)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, err
	}
	t.Cleanup(h.Close)
	const vxlan = "vtepvx5000" // device-prefix "vtep", VNI 5000
	return &target{
		driver: "kernel",
		settings: map[string]any{
			"netns": name, "switch": "sw1", "tunnel-ip": "10.250.0.1", "bridge-name": "br-{ls}",
			"ports": []any{map[string]any{"logical-switch": "ls0", "interface": "p0"}},
		},
		count: func(context.Context) (int, error) {
			l, err := h.LinkByName(vxlan)
			if err != nil {
				if _, ok := errors.AsType[netlink.LinkNotFoundError](err); ok {
					return 0, nil
				}
				return 0, err
			}
			for {
				fdb, err := h.NeighList(l.Attrs().Index, unix.AF_BRIDGE)
				if errors.Is(err, netlink.ErrDumpInterrupted) {
					continue
				}
				if err != nil {
					return 0, err
				}
				n := 0
				for _, e := range fdb {
					if e.Flags&netlink.NTF_SELF != 0 && e.IP != nil && e.HardwareAddr.String() != "00:00:00:00:00:00" {
						n++
					}
				}
				return n, nil
			}
		},
		stop: func() {},
	}, nil
}
