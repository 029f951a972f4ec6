package main

import (
	"context"
	"strings"

	"github.com/vtepgw/vtepgw/testbed"
)

// startHWVTEP starts Debian's ovsdb-server with a hardware_vtep database
// (stopped by PID in t's cleanups) and seeds it as testbed/drivers4 does:
// physical switch sw1 with port p0 bound to logical switch ls0.
func startHWVTEP(t *benchTB) (*target, error) {
	v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v.MustVtep(t, "add-ps", "sw1", "--", "set", "Physical_Switch", "sw1", "tunnel_ips=127.0.2.1",
		"--", "add-port", "sw1", "p0", "--", "add-ls", "ls0", "--", "bind-ls", "sw1", "p0", "0", "ls0")
	return &target{
		driver: "hwvtep",
		addr:   v.VtepRemote(),
		count: func(context.Context) (int, error) {
			out, err := v.VtepCtl("list-remote-macs", "ls0")
			if err != nil {
				return 0, err
			}
			return countUcast(out), nil
		},
		stop: func() {},
	}, nil
}

// countUcast counts the "MAC -> encap/IP" lines of list-remote-macs'
// ucast-mac-remote part (the mcast-mac-remote part follows it).
func countUcast(out string) int {
	n, ucast := 0, false
	for _, line := range strings.Split(out, "\n") {
		switch strings.TrimSpace(line) {
		case "ucast-mac-remote":
			ucast = true
			continue
		case "mcast-mac-remote":
			ucast = false
			continue
		}
		if ucast && strings.Contains(line, " -> ") {
			n++
		}
	}
	return n
}
