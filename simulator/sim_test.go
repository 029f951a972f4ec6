package simulator_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestPortsAndBindings(t *testing.T) {
	ts := newSwitch(t, nil)
	// Physical_Port follows the OVS bridge; patch ports are not ports.
	ts.vsctl("add-port", ts.ps, "p2", "--", "set", "Interface", "p2", "type=dummy")
	ts.waitFor("p2 added", func() (bool, string) {
		out := ts.vtepctl("list-ports", ts.ps)
		return out == "p0\np1\np2\n", out
	})
	// A trunk: two VLANs of p0 on two logical switches, untagged p1.
	ts.vtepctl("add-ls", "ls0", "--", "add-ls", "ls1",
		"--", "bind-ls", ts.ps, "p0", "100", "ls0", "--", "bind-ls", ts.ps, "p0", "200", "ls1",
		"--", "bind-ls", ts.ps, "p1", "0", "ls0")
	br0, br1 := ts.lsBridge("ls0"), ts.lsBridge("ls1")
	if br0 == br1 || !strings.HasPrefix(br0, "br-vtep_vtep_ls") {
		t.Fatalf("LS bridges %q %q", br0, br1)
	}
	ts.waitFlows(ts.ps, "trunk flows",
		`priority=200,in_port=p0,dl_vlan=100 actions=pop_vlan,output:"0100-p0-p"`,
		`priority=200,in_port=p0,dl_vlan=200 actions=pop_vlan,output:"0200-p0-p"`,
		`priority=200,in_port="0100-p0-p" actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:p0`,
		`priority=100,in_port=p1 actions=output:"0000-p1-p"`,
		`priority=100,in_port="0000-p1-p" actions=output:p1`)
	ts.waitFlows(br0, "ls0 local ports learn",
		`in_port="0100-p0-l" actions=learn(table=1,idle_timeout=300,priority=1000,cookie=0x5000,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),goto_table:1`,
		`in_port="0000-p1-l" actions=learn(`)
	// vlan_stats rows exist for each binding.
	ts.waitFor("vlan_stats", func() (bool, string) {
		out := ts.vtepctl("--bare", "--columns=vlan_stats", "list", "Physical_Port", "p0")
		return strings.Contains(out, "100=") && strings.Contains(out, "200="), out
	})
	// Unbinding the last VLAN of ls1 removes its bridge.
	ts.vtepctl("unbind-ls", ts.ps, "p0", "200")
	ts.waitFor("ls1 bridge removed", func() (bool, string) {
		out := ts.vsctl("list-br")
		return !strings.Contains(out, br1+"\n"), out
	})
	ts.noFlow(ts.ps, "vlan 200 flows removed", "dl_vlan=200")
	// Deleting an OVS port deletes the Physical_Port and its bindings.
	ts.vsctl("del-port", "p0")
	ts.waitFor("p0 removed", func() (bool, string) {
		out := ts.vtepctl("list-ports", ts.ps)
		return out == "p1\np2\n", out
	})
	ts.noFlow(ts.ps, "p0 flows removed", "dl_vlan=100")
}

func TestRemoteMACsTunnelsAndKeyChange(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=5")
	br := ts.lsBridge("ls0")
	ts.vtepctl("add-ucast-remote", "ls0", "f0:ab:cd:ef:01:02", "1.2.3.5",
		"--", "add-ucast-remote", "ls0", "f0:ab:cd:ef:01:03", "1.2.3.6")
	var vx5, vx6 string
	ts.waitFor("tunnels", func() (bool, string) {
		out := ts.vsctl("--bare", "--columns=name,options", "find", "Interface", "type=vxlan")
		vx5, vx6 = "", ""
		for _, rec := range strings.Split(out, "\n\n") {
			f := strings.Fields(rec)
			if len(f) < 2 {
				continue
			}
			if strings.Contains(rec, "remote_ip=1.2.3.5") && strings.Contains(rec, "key=5") {
				vx5 = f[0]
			}
			if strings.Contains(rec, "remote_ip=1.2.3.6") && strings.Contains(rec, "key=5") {
				vx6 = f[0]
			}
		}
		return strings.HasPrefix(vx5, "vx") && strings.HasPrefix(vx6, "vx"), out
	})
	ts.waitFlows(br, "remote MAC flows",
		"priority=1000,metadata=0,dl_dst=f0:ab:cd:ef:01:02 actions=output:"+vx5,
		"priority=1000,metadata=0,dl_dst=f0:ab:cd:ef:01:03 actions=output:"+vx6,
		"priority=1000,in_port="+vx5+" actions=write_metadata:0x1,goto_table:1")
	// BFD port and Tunnel row per remote IP (ovs-vtep layout).
	if out := ts.vsctl("--columns=options", "list", "Interface", "bfd1.2.3.5"); !strings.Contains(out, `{remote_ip="1.2.3.5"}`) {
		t.Errorf("bfd port options: %s", out)
	}
	ts.waitFor("Tunnel rows", func() (bool, string) {
		out := ts.vtepctl("--bare", "--columns=tunnels", "list", "Physical_Switch", ts.ps)
		return len(strings.Fields(out)) == 2, out
	})
	// A tunnel key change updates the existing tunnels in place.
	ts.vtepctl("set", "Logical_Switch", "ls0", "tunnel_key=7")
	ts.waitFor("key 7 on the same ports", func() (bool, string) {
		a := ts.vsctl("get", "Interface", vx5, "options:key")
		b := ts.vsctl("get", "Interface", vx6, "options:key")
		return a == "\"7\"\n" && b == "\"7\"\n", a + b
	})
	// Removing a MAC removes its flow and, when unused, its tunnel.
	ts.vtepctl("del-ucast-remote", "ls0", "f0:ab:cd:ef:01:03")
	ts.noFlow(br, "MAC 03 removed", "f0:ab:cd:ef:01:03")
	ts.waitFor("tunnel to 1.2.3.6 removed", func() (bool, string) {
		out := ts.vsctl("list-ports", br)
		return !strings.Contains(out, vx6+"\n"), out
	})
	ts.waitFor("one Tunnel row", func() (bool, string) {
		out := ts.vtepctl("--bare", "--columns=tunnels", "list", "Physical_Switch", ts.ps)
		return len(strings.Fields(out)) == 1, out
	})
}

func TestFloodReplicationMode(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "10", "ls0",
		"--", "set", "Logical_Switch", "ls0", "tunnel_key=1")
	br := ts.lsBridge("ls0")
	ts.vtepctl("add-mcast-remote", "ls0", "unknown-dst", "1.2.3.5", "--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.6",
		"--", "add-mcast-remote", "ls0", "unknown-dst", "1.2.3.7")
	floodPorts := func() []string {
		for _, l := range strings.Split(ts.flows(br, "table=1"), "\n") {
			if strings.Contains(l, "priority=0 ") {
				_, acts, _ := strings.Cut(l, "actions=")
				var ports []string
				for _, a := range strings.Split(acts, ",") {
					ports = append(ports, strings.Trim(strings.TrimPrefix(a, "output:"), `"`))
				}
				sort.Strings(ports)
				return ports
			}
		}
		return nil
	}
	count := func(prefix string, ports []string) int {
		n := 0
		for _, p := range ports {
			if strings.HasPrefix(p, prefix) {
				n++
			}
		}
		return n
	}
	// Unset mode is service_node: exactly one tunnel, plus both local ports.
	ts.waitFor("service-node flood", func() (bool, string) {
		p := floodPorts()
		return count("vx", p) == 1 && count("00", p) == 2, fmt.Sprint(p)
	})
	ts.vtepctl("set-replication-mode", "ls0", "source_node")
	ts.waitFor("source-node flood", func() (bool, string) {
		p := floodPorts()
		return count("vx", p) == 3 && count("00", p) == 2, fmt.Sprint(p)
	})
	// Tunnel ingress floods to local ports only (never back to tunnels).
	ts.waitFor("tunnel ingress flood", func() (bool, string) {
		out := ts.flows(br, "table=1,metadata=1")
		return strings.Count(out, "output:") == 2 && strings.Contains(out, `output:"0000-p0-l"`) &&
			strings.Contains(out, `output:"0010-p1-l"`), out
	})
	ts.vtepctl("set-replication-mode", "ls0", "service_node")
	ts.waitFor("service-node again", func() (bool, string) {
		p := floodPorts()
		return count("vx", p) == 1, fmt.Sprint(p)
	})
}

// TestSeveralTunnelIPs: ovs-vtep refuses more than one tunnel IP; vtepsim
// uses the lowest as the locator of learned MACs and Tunnel rows, and
// advertises all of them in Mcast_Macs_Local unknown-dst.
func TestSeveralTunnelIPs(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("set", "Physical_Switch", ts.ps, "tunnel_ips=[\"1.2.3.4\",\"1.2.3.40\"]")
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=2",
		"--", "add-ucast-remote", "ls0", "00:00:00:00:01:01", "1.2.3.5")
	ts.waitFor("unknown-dst with both tunnel IPs", func() (bool, string) {
		out := ts.vtepctl("list-local-macs", "ls0")
		return strings.Contains(out, "unknown-dst -> vxlan_over_ipv4/1.2.3.4") && strings.Contains(out, "unknown-dst -> vxlan_over_ipv4/1.2.3.40"), out
	})
	ts.waitFor("Tunnel row from 1.2.3.4", func() (bool, string) {
		out := ts.vtepctl("--bare", "--columns=local", "list", "Tunnel")
		if strings.TrimSpace(out) == "" {
			return false, out
		}
		ip := ts.vtepctl("get", "Physical_Locator", strings.TrimSpace(out), "dst_ip")
		return strings.Contains(ip, `"1.2.3.4"`), ip
	})
	if d := ts.vtepctl("get", "Physical_Switch", ts.ps, "description"); !strings.Contains(d, "vtepsim") {
		t.Errorf("description %q", d)
	}
}
