package simulator_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/simulator/lab"
)

// TestIGMPSnoopingToMcastMacsLocal: an IGMP join on a bound port is
// snooped by OVS (mcast_snooping on the LS bridge) and published as a
// Mcast_Macs_Local row with the group in ipaddr; the group's traffic from
// tunnels goes to the member port only; a leave withdraws the row.
func TestIGMPSnoopingToMcastMacsLocal(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "20", "ls0",
		"--", "set", "Logical_Switch", "ls0", "tunnel_key=9")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "IGMP flows", `priority=200,ip,in_port="0000-p0-l",nw_proto=2 actions=`)
	host, _ := net.ParseMAC("00:00:00:00:00:aa")
	frame := lab.IGMPReport(host, net.IPv4(10, 0, 0, 1), net.IPv4(239, 1, 2, 3), 0, true)
	if err := ts.env.Receive(context.Background(), "p0", frame); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("Mcast_Macs_Local for the group", func() (bool, string) {
		out := ts.vtepctl("--columns=MAC,ipaddr", "list", "Mcast_Macs_Local")
		return strings.Contains(out, `"01:00:5e:01:02:03"`) && strings.Contains(out, `"239.1.2.3"`), out
	})
	ts.waitFlows(br, "group flow to the member only",
		`priority=1100,metadata=0x1,dl_dst=01:00:5e:01:02:03 actions=output:"0000-p0-l"`)
	leave := lab.IGMPReport(host, net.IPv4(10, 0, 0, 1), net.IPv4(239, 1, 2, 3), 0, false)
	if err := ts.env.Receive(context.Background(), "p0", leave); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("group withdrawn", func() (bool, string) {
		out := ts.vtepctl("--columns=MAC,ipaddr", "list", "Mcast_Macs_Local")
		return !strings.Contains(out, "239.1.2.3"), out + ts.appctl("mdb/show", br)
	})
}
