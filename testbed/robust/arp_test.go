package robust

import (
	"testing"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestARPSuppression: with --arp-suppression, each remote MAC goes to the
// switch with its IP address (Ucast_Macs_Remote.ipaddr, the first address
// after the MAC in the logical port's addresses), which ovn-controller-vtep
// never writes. An address change updates the row in place; a MAC without
// an address has none.
func TestARPSuppression(t *testing.T) {
	o := newOVN(t)
	v := newSwitch(t, "br-vtep", "1.2.3.4", "p0")
	v.ctl("add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0")
	o.sb("chassis-add", "hv1", "vxlan", "10.0.0.1")
	o.nb("ls-add", "br-test")
	o.addVTEPPort("br-test", "vp", "br-vtep", "lswitch0")
	o.addVIF("br-test", "vif1", "hv1", "f0:ab:cd:ef:01:01 192.168.0.1 fd00::1")
	o.addVIF("br-test", "vif2", "hv1", "f0:ab:cd:ef:01:02")
	testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: o.SBRemote(),
		VTEPRemotes: []string{v.VtepRemote()}, Args: []string{"--arp-suppression"}, LogPerStart: true, FailLogLines: 100})
	umrs := func() []string { return vtepSnap(t, v).umrs() }
	waitEqual(t, "remote MACs", umrs,
		"lswitch0 f0:ab:cd:ef:01:01 10.0.0.1 ipaddr=192.168.0.1", "lswitch0 f0:ab:cd:ef:01:02 10.0.0.1")
	before := vtepSnap(t, v).find("Ucast_Macs_Remote", "MAC", "f0:ab:cd:ef:01:01").uuid()

	o.nb("lsp-set-addresses", "vif1", "f0:ab:cd:ef:01:01 192.168.0.9")
	waitEqual(t, "remote MACs after the address change", umrs,
		"lswitch0 f0:ab:cd:ef:01:01 10.0.0.1 ipaddr=192.168.0.9", "lswitch0 f0:ab:cd:ef:01:02 10.0.0.1")
	if after := vtepSnap(t, v).find("Ucast_Macs_Remote", "MAC", "f0:ab:cd:ef:01:01").uuid(); after != before {
		t.Errorf("the row was replaced (%s → %s), not updated", before, after)
	}
	o.nb("lsp-set-addresses", "vif1", "f0:ab:cd:ef:01:01")
	waitEqual(t, "remote MACs after the address went", umrs,
		"lswitch0 f0:ab:cd:ef:01:01 10.0.0.1", "lswitch0 f0:ab:cd:ef:01:02 10.0.0.1")
}
