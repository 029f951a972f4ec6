package simulator_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/simulator"
)

// TestBFDAndServiceNode enables BFD on one of two flood locators: with no
// peer it never comes up, so service-node flooding moves to the other
// locator, and the Tunnel row reports the BFD state.
func TestBFDAndServiceNode(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=3",
		"--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.5", "--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.6")
	br := ts.lsBridge("ls0")
	tunnelOf := func(ip string) string {
		out := strings.TrimSpace(ts.vsctl("--bare", "--columns=name", "find", "Interface", "type=vxlan", "options:remote_ip="+ip, "options:key=3"))
		return out
	}
	flood := func() string {
		for _, l := range strings.Split(ts.flows(br, "table=1"), "\n") {
			if strings.Contains(l, "priority=0 ") {
				return l
			}
		}
		return ""
	}
	var vx5, vx6 string
	ts.waitFor("flood to 1.2.3.5", func() (bool, string) {
		vx5, vx6 = tunnelOf("1.2.3.5"), tunnelOf("1.2.3.6")
		f := flood()
		return vx5 != "" && vx6 != "" && strings.Contains(f, "output:"+vx5) && !strings.Contains(f, "output:"+vx6), f
	})
	// The Tunnel row to 1.2.3.5 gets bfd_params:enable=true.
	var tun string
	ts.waitFor("Tunnel rows", func() (bool, string) {
		out := ts.vtepctl("--bare", "--columns=_uuid,remote", "list", "Tunnel")
		for _, rec := range strings.Split(strings.TrimSpace(out), "\n\n") {
			f := strings.Fields(rec)
			if len(f) == 2 && strings.Contains(ts.vtepctl("get", "Physical_Locator", f[1], "dst_ip"), "1.2.3.5") {
				tun = f[0]
			}
		}
		return tun != "", out
	})
	ts.vtepctl("set", "Tunnel", tun, "bfd_params:enable=true", "bfd_params:min_tx=100", "bfd_params:min_rx=100")
	ts.waitFor("BFD on the OVS interface", func() (bool, string) {
		out := ts.vsctl("get", "Interface", "bfd1.2.3.5", "bfd")
		return strings.Contains(out, `enable="true"`) && strings.Contains(out, `min_tx="100"`), out
	})
	ts.waitFor("bfd_status written back", func() (bool, string) {
		out := ts.vtepctl("get", "Tunnel", tun, "bfd_status")
		return strings.Contains(out, `enabled="true"`) && strings.Contains(out, "state=") && strings.Contains(out, `forwarding="false"`), out
	})
	ts.waitFor("service node moved to 1.2.3.6", func() (bool, string) {
		f := flood()
		return strings.Contains(f, "output:"+vx6) && !strings.Contains(f, "output:"+vx5), f
	})
	if out := ts.vtepctl("get", "Tunnel", tun, "bfd_config_local"); !strings.Contains(out, `bfd_dst_ip="169.254.1.0"`) {
		t.Errorf("bfd_config_local: %s", out)
	}
}

// TestMcastMacsRemote: a real multicast MAC goes only to its locators
// (plus local ports), not to the unknown-dst flood set.
func TestMcastMacsRemote(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=3",
		"--", "set-replication-mode", "ls0", "source_node",
		"--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.5", "--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.6",
		"--", "add-mcast-remote", "ls0", "01:00:5e:01:02:03", "1.2.3.7")
	br := ts.lsBridge("ls0")
	var vx7 string
	ts.waitFor("tunnel to 1.2.3.7", func() (bool, string) {
		vx7 = strings.TrimSpace(ts.vsctl("--bare", "--columns=name", "find", "Interface", "type=vxlan", "options:remote_ip=1.2.3.7", "options:key=3"))
		return vx7 != "", vx7
	})
	ts.waitFlows(br, "multicast MAC flows",
		fmt.Sprintf(`priority=1100,metadata=0,dl_dst=01:00:5e:01:02:03 actions=output:"0000-p0-l",output:%s`, vx7),
		`priority=1100,metadata=0x1,dl_dst=01:00:5e:01:02:03 actions=output:"0000-p0-l"`)
	// 1.2.3.7 is not in the unknown-dst set.
	for _, l := range strings.Split(ts.flows(br, "table=1"), "\n") {
		if strings.Contains(l, "priority=0 ") && (strings.Contains(l, vx7+",") || strings.HasSuffix(l, vx7)) {
			t.Errorf("flood flow includes the multicast-only locator: %s", l)
		}
	}
}

// TestLimitsAndFaults: limits are reported through the fault columns, and
// nothing is deleted from the database.
func TestLimitsAndFaults(t *testing.T) {
	ts := newSwitch(t, func(o *simulator.Options) {
		o.MaxVNIs, o.MaxRemoteVTEPs, o.MaxMACs, o.NoSourceNode = 1, 1, 2, true
	})
	ts.vtepctl("add-ls", "ls0", "--", "add-ls", "ls1", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "0", "ls1",
		"--", "set", "Logical_Switch", "ls0", "tunnel_key=1", "--", "set-replication-mode", "ls0", "source_node",
		"--", "add-ucast-remote", "ls0", "00:00:00:00:01:01", "1.2.3.5", "--", "add-ucast-remote", "ls0", "00:00:00:00:01:02", "1.2.3.5",
		"--", "add-ucast-remote", "ls0", "00:00:00:00:01:03", "1.2.3.5", "--", "add-ucast-remote", "ls0", "00:00:00:00:01:04", "1.2.3.6")
	ts.waitFor("switch faults", func() (bool, string) {
		out := ts.vtepctl("get", "Physical_Switch", ts.ps, "switch_fault_status")
		return strings.Contains(out, "mac_table_exhaustion") && strings.Contains(out, "tunnel_exhaustion") &&
			strings.Contains(out, "unsupported_source_node_replication"), out
	})
	ts.waitFor("port fault on the binding past the VNI limit", func() (bool, string) {
		out := ts.vtepctl("get", "Physical_Port", "p1", "port_fault_status")
		return strings.Contains(out, "invalid_vlan_map"), out
	})
	br := ts.lsBridge("ls0")
	ts.waitFor("only 2 MAC flows", func() (bool, string) {
		out := ts.flows(br, "table=1")
		return strings.Count(out, "priority=1000,metadata=0,dl_dst=") == 2, out
	})
	if out := ts.vsctl("list-br"); strings.Contains(out, "ls2") {
		t.Errorf("a second LS bridge was created past MaxVNIs: %s", out)
	}
	if out := ts.vtepctl("list-remote-macs", "ls0"); strings.Count(out, "->") != 4 {
		t.Errorf("remote MAC rows were touched: %s", out)
	}
	// Raising nothing but removing MACs clears the MAC fault.
	ts.vtepctl("del-ucast-remote", "ls0", "00:00:00:00:01:03", "--", "del-ucast-remote", "ls0", "00:00:00:00:01:04")
	ts.waitFor("faults cleared", func() (bool, string) {
		out := ts.vtepctl("get", "Physical_Switch", ts.ps, "switch_fault_status")
		return !strings.Contains(out, "mac_table_exhaustion") && !strings.Contains(out, "tunnel_exhaustion"), out
	})
}
