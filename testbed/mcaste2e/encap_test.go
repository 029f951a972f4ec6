package mcaste2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestMultipleTunnelIPs: a physical switch gets one SB Encap per tunnel IP
// (the first marked is_default); remote chassis with several encaps are
// reached through the port's own encap when Port_Binding.encap is set,
// else the default vxlan encap, else the only one; a chassis without
// vxlan is skipped, counted in status and logged.
func TestMultipleTunnelIPs(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1", "10.0.0.2"})
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	encaps := s.sbGet(func(d db) []string { return d.encaps("br0") })
	waitEqual(t, "br0 Encaps (two IPs)", encaps,
		"vxlan 10.0.0.1 csum=false,is_default=true", "vxlan 10.0.0.2 csum=false")
	s.vctl(t, "set", "Physical_Switch", "br0", "tunnel_ips=10.0.0.1,10.0.0.2,10.0.0.3")
	waitEqual(t, "br0 Encaps (three IPs)", encaps,
		"vxlan 10.0.0.1 csum=false,is_default=true", "vxlan 10.0.0.2 csum=false", "vxlan 10.0.0.3 csum=false")
	s.vctl(t, "set", "Physical_Switch", "br0", "tunnel_ips=10.0.0.1,10.0.0.3")
	waitEqual(t, "br0 Encaps (10.0.0.2 removed)", encaps,
		"vxlan 10.0.0.1 csum=false,is_default=true", "vxlan 10.0.0.3 csum=false")
	waitEqual(t, "br0 Encap rows (10.0.0.2 removed)", s.sbGet(db.allEncaps), "br0 vxlan 10.0.0.1", "br0 vxlan 10.0.0.3")
	// The default one removed: the new first IP is the default.
	s.vctl(t, "set", "Physical_Switch", "br0", "tunnel_ips=10.0.0.3,10.0.0.4")
	waitEqual(t, "br0 Encaps (10.0.0.1 removed)", encaps,
		"vxlan 10.0.0.3 csum=false,is_default=true", "vxlan 10.0.0.4 csum=false")
	waitEqual(t, "br0 Encap rows (10.0.0.1 removed)", s.sbGet(db.allEncaps), "br0 vxlan 10.0.0.3", "br0 vxlan 10.0.0.4")

	// hv1: geneve on one IP, vxlan on another.
	s.sb(t, "--", "--id=@g", "create", "Encap", "type=geneve", `ip="127.0.1.1"`, "chassis_name=hv1", `options:csum="true"`,
		"--", "--id=@v", "create", "Encap", "type=vxlan", `ip="127.0.2.1"`, "chassis_name=hv1", `options:csum="true"`,
		"--", "create", "Chassis", "name=hv1", "hostname=hv1", "encaps=@g,@v")
	// hv2: two vxlan IPs, the higher one the default.
	s.sb(t, "--", "--id=@a", "create", "Encap", "type=vxlan", `ip="127.0.1.2"`, "chassis_name=hv2", `options:csum="true"`,
		"--", "--id=@b", "create", "Encap", "type=vxlan", `ip="127.0.2.2"`, "chassis_name=hv2", `options:csum="true"`, `options:is_default="true"`,
		"--", "create", "Chassis", "name=hv2", "hostname=hv2", "encaps=@a,@b")
	// hv3: two vxlan IPs, neither the default: the lowest is used.
	s.sb(t, "--", "--id=@a", "create", "Encap", "type=vxlan", `ip="127.0.2.3"`, "chassis_name=hv3", `options:csum="true"`,
		"--", "--id=@b", "create", "Encap", "type=vxlan", `ip="127.0.1.3"`, "chassis_name=hv3", `options:csum="true"`,
		"--", "create", "Chassis", "name=hv3", "hostname=hv3", "encaps=@a,@b")
	// hv4: geneve only.
	s.sb(t, "chassis-add", "hv4", "geneve", "127.0.1.4")

	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	s.vif(t, "lsA", "vif2", "f0:00:00:00:00:02", "hv2")
	s.vif(t, "lsA", "vif2b", "f0:00:00:00:00:2b", "hv2")
	s.vif(t, "lsA", "vif3", "f0:00:00:00:00:03", "hv3")
	s.vif(t, "lsA", "vif4", "f0:00:00:00:00:04", "hv4")
	umrs := s.vtepGet(db.umrs)
	mmrs := s.vtepGet(db.mmrs)
	waitEqual(t, "Ucast_Macs_Remote", umrs,
		"lsA f0:00:00:00:00:01 127.0.2.1",
		"lsA f0:00:00:00:00:02 127.0.2.2",
		"lsA f0:00:00:00:00:03 127.0.1.3",
		"lsA f0:00:00:00:00:2b 127.0.2.2")
	waitEqual(t, "Mcast_Macs_Remote", mmrs, "lsA unknown-dst - 127.0.1.3,127.0.2.1,127.0.2.2")

	// A port that names its encap is reached there.
	a := s.sbUUID(t, "Encap", "chassis_name=hv2", `ip="127.0.1.2"`)
	s.sb(t, "set", "Port_Binding", "vif2b", "encap="+a)
	waitEqual(t, "Ucast_Macs_Remote (vif2b encap)", umrs,
		"lsA f0:00:00:00:00:01 127.0.2.1",
		"lsA f0:00:00:00:00:02 127.0.2.2",
		"lsA f0:00:00:00:00:03 127.0.1.3",
		"lsA f0:00:00:00:00:2b 127.0.1.2")
	waitEqual(t, "Mcast_Macs_Remote (vif2b encap)", mmrs, "lsA unknown-dst - 127.0.1.2,127.0.1.3,127.0.2.1,127.0.2.2")
	// A port naming a geneve encap falls back to the chassis's vxlan one.
	g := s.sbUUID(t, "Encap", "chassis_name=hv1", "type=geneve")
	s.sb(t, "set", "Port_Binding", "vif1", "encap="+g)
	stays(t, "Ucast_Macs_Remote (vif1 geneve encap)", quiet, umrs,
		"lsA f0:00:00:00:00:01 127.0.2.1",
		"lsA f0:00:00:00:00:02 127.0.2.2",
		"lsA f0:00:00:00:00:03 127.0.1.3",
		"lsA f0:00:00:00:00:2b 127.0.1.2")
	s.sb(t, "clear", "Port_Binding", "vif2b", "encap")
	waitEqual(t, "Ucast_Macs_Remote (vif2b encap cleared)", umrs,
		"lsA f0:00:00:00:00:01 127.0.2.1",
		"lsA f0:00:00:00:00:02 127.0.2.2",
		"lsA f0:00:00:00:00:03 127.0.1.3",
		"lsA f0:00:00:00:00:2b 127.0.2.2")

	// The default moving on hv2 moves its ports.
	b := s.sbUUID(t, "Encap", "chassis_name=hv2", `ip="127.0.2.2"`)
	s.sb(t, "remove", "Encap", b, "options", "is_default", "--", "set", "Encap", a, "options:is_default=true")
	waitEqual(t, "Ucast_Macs_Remote (hv2 default moved)", umrs,
		"lsA f0:00:00:00:00:01 127.0.2.1",
		"lsA f0:00:00:00:00:02 127.0.1.2",
		"lsA f0:00:00:00:00:03 127.0.1.3",
		"lsA f0:00:00:00:00:2b 127.0.1.2")
	waitEqual(t, "Mcast_Macs_Remote (hv2 default moved)", mmrs, "lsA unknown-dst - 127.0.1.2,127.0.1.3,127.0.2.1")

	// hv4 (geneve only) is skipped, but not silently.
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		out, err := s.gw.appctl("status")
		m := regexp.MustCompile(`chassis_without_vxlan=(\d+)`).FindStringSubmatch(out)
		return err == nil && m != nil && m[1] != "0", fmt.Sprintf("status: %v\n%s", err, out)
	})
	for _, level := range []string{"INFO", "WARN"} {
		if slices.ContainsFunc(s.gw.logLines(t, level), func(l string) bool {
			return strings.Contains(l, "hv4") && strings.Contains(l, "encap")
		}) {
			return
		}
	}
	t.Fatalf("no log line names hv4's missing vxlan encap:\n%s", strings.Join(s.gw.logLines(t, "INFO"), "\n"))
}
