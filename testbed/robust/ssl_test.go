package robust

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestSSLRemotes: vtepgw reaches both databases over ssl:IP:PORT remotes,
// served by the real ovsdb-server with --private-key/--certificate/
// --ca-cert, using certificates shaped like ovs-pki's (a common name, no
// host name or IP address: OVS checks the chain and nothing else). A
// daemon whose certificate another CA signed is refused by both servers
// and says so in its log; it converges nothing.
func TestSSLRemotes(t *testing.T) {
	pki := testbed.NewPKI(t, "", "testca")
	server := pki.Issue(t, "ovsdb-server")
	client := pki.Issue(t, "vtepgw")
	sbPort, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	o := &ovn{OVN: testbed.StartOVNWith(t, testbed.OVNOptions{SBArgs: pki.SSLArgs(server, sbPort)}), t: t}
	vtepPort, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	v := newSwitchDB(t, testbed.VTEPOptions{Args: pki.SSLArgs(server, vtepPort)})
	v.ctl("add-ps", "br-vtep", "--", "set", "Physical_Switch", "br-vtep", "tunnel_ips=1.2.3.4", "--", "add-port", "br-vtep", "p0",
		"--", "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	o.sb("chassis-add", "hv1", "vxlan", "10.0.0.1")
	o.nb("ls-add", "br-test")
	o.addVTEPPort("br-test", "vp", "br-vtep", "lswitch0")
	o.addVIF("br-test", "vif1", "hv1", "f0:ab:cd:ef:01:02")

	sbSSL := "ssl:127.0.0.1:" + strconv.Itoa(sbPort)
	vtepSSL := "ssl:127.0.0.1:" + strconv.Itoa(vtepPort)

	// A stranger: right protocol, certificate from another CA.
	other := testbed.NewPKI(t, "", "otherca")
	stranger := other.Issue(t, "stranger")
	bad := testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbSSL, VTEPRemotes: []string{vtepSSL},
		Args: []string{"--private-key=" + stranger.Key, "--certificate=" + stranger.Cert, "--ca-cert=" + pki.CACert}})
	time.Sleep(3 * time.Second)
	if s := sbSnap(t, o); s.find("Chassis", "name", "br-vtep") != nil {
		t.Fatal("a daemon with a certificate from another CA registered the switch's chassis")
	}
	logText := func(g *testbed.Vtepgw) string {
		var b strings.Builder
		for _, f := range g.Logs {
			data, _ := os.ReadFile(f)
			b.Write(data)
		}
		return b.String()
	}
	if l := logText(bad); !strings.Contains(l, "certificate") {
		t.Errorf("the refused daemon's log does not say why (no word of the certificate):\n%s", l)
	}
	if err := bad.Stop(); err != nil {
		t.Fatal(err)
	}

	g := &gateway{Vtepgw: testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbSSL, VTEPRemotes: []string{vtepSSL},
		Args:        []string{"--private-key=" + client.Key, "--certificate=" + client.Cert, "--ca-cert=" + pki.CACert},
		LogPerStart: true, FailLogLines: 100}), t: t}
	waitEqual(t, "binding", func() []string { return sbSnap(t, o).bindings("vp") }, "vp br-vtep up=true")
	waitEqual(t, "remote MACs", func() []string {
		var out []string
		s := vtepSnap(t, v)
		for _, r := range s["Ucast_Macs_Remote"] {
			out = append(out, r.str("MAC")+" "+s.byUUID("Physical_Locator", r.str("locator")).str("dst_ip"))
		}
		return out
	}, "f0:ab:cd:ef:01:02 10.0.0.1")
	for _, cmd := range []string{"sb-connection-status", "vtep-connection-status"} {
		out, err := g.appctl(cmd)
		if err != nil || !strings.Contains(out, "connected") || strings.Contains(out, "not connected") {
			t.Errorf("%s over ssl: %q, %v", cmd, out, err)
		}
	}
}
