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

// TestIGMPv3AndMLDSnooping: an IGMPv3 report (two groups in one message)
// and an MLDv2 report (an IPv6 group) on bound ports are snooped by OVS and
// published as Mcast_Macs_Local rows (01:00:5e:… / 33:33:… with the group
// in ipaddr), the groups' traffic from tunnels goes to the member port
// only, and the leave records withdraw the rows.
func TestIGMPv3AndMLDSnooping(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "20", "ls0",
		"--", "set", "Logical_Switch", "ls0", "tunnel_key=9")
	br := ts.lsBridge("ls0")
	ts.waitFlows(br, "MLD flows", `priority=200,icmp6,in_port="0000-p0-l",icmp_type=143 actions=`)
	ctx := context.Background()
	v4host, _ := net.ParseMAC("00:00:00:00:00:a4")
	v6host, _ := net.ParseMAC("00:00:00:00:00:a6")
	g1, g2 := net.IPv4(239, 1, 1, 1), net.IPv4(239, 2, 2, 2)
	g6 := net.ParseIP("ff0e::1:3")
	if err := ts.env.Receive(ctx, "p0", lab.IGMPv3Report(v4host, net.IPv4(10, 0, 0, 4), []net.IP{g1, g2}, 0, true)); err != nil {
		t.Fatal(err)
	}
	if err := ts.env.Receive(ctx, "p1", lab.MLDv2Report(v6host, net.ParseIP("fe80::a6"), []net.IP{g6}, 20, true)); err != nil {
		t.Fatal(err)
	}
	rows := func() string { return ts.vtepctl("--columns=MAC,ipaddr", "list", "Mcast_Macs_Local") }
	ts.waitFor("Mcast_Macs_Local for the three groups", func() (bool, string) {
		out := rows()
		for _, want := range []string{`"01:00:5e:01:01:01"`, `"239.1.1.1"`, `"01:00:5e:02:02:02"`, `"239.2.2.2"`,
			`"33:33:00:01:00:03"`, `"ff0e::1:3"`} {
			if !strings.Contains(out, want) {
				return false, out + ts.appctl("mdb/show", br)
			}
		}
		return true, out
	})
	ts.waitFlows(br, "group flows to the member only",
		`priority=1100,metadata=0x1,dl_dst=01:00:5e:01:01:01 actions=output:"0000-p0-l"`,
		`priority=1100,metadata=0x1,dl_dst=01:00:5e:02:02:02 actions=output:"0000-p0-l"`,
		`priority=1100,metadata=0x1,dl_dst=33:33:00:01:00:03 actions=output:"0020-p1-l"`)
	if err := ts.env.Receive(ctx, "p0", lab.IGMPv3Report(v4host, net.IPv4(10, 0, 0, 4), []net.IP{g1}, 0, false)); err != nil {
		t.Fatal(err)
	}
	if err := ts.env.Receive(ctx, "p1", lab.MLDv2Report(v6host, net.ParseIP("fe80::a6"), []net.IP{g6}, 20, false)); err != nil {
		t.Fatal(err)
	}
	ts.waitFor("left groups withdrawn", func() (bool, string) {
		out := rows()
		return !strings.Contains(out, "239.1.1.1") && !strings.Contains(out, "ff0e::1:3") && strings.Contains(out, "239.2.2.2"),
			out + ts.appctl("mdb/show", br)
	})
}
