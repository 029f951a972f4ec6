package robust

import (
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// schema130 is the oldest hardware_vtep schema vtepgw supports: no
// Global.other_config, no Logical_Switch.replication_mode or other_config,
// no Physical_Locator.tunnel_key (and none of the later tables).
const schema130 = "../../drivers/hwvtep/vtepdb/vtep-1.3.0.ovsschema"

// TestOldSchema130: everything of the core works against a 1.3.0 switch
// database: chassis, binding, logical switch key (there is no
// replication_mode to set), remote MACs, the flood row, learned MACs to
// FDB, removals, a hitless restart and the graceful exit.
func TestOldSchema130(t *testing.T) {
	o := newOVN(t)
	v := newSwitchDB(t, testbed.VTEPOptions{Schema: schema130})
	v.ctl("add-ps", "br-vtep", "--", "set", "Physical_Switch", "br-vtep", "tunnel_ips=1.2.3.4", "--", "add-port", "br-vtep", "p0",
		"--", "add-ls", "lswitch0", "--", "bind-ls", "br-vtep", "p0", "100", "lswitch0", "--", "add-ls", "lswitch1")
	if ver, err := v.Client("get-schema-version", v.UnixRemote(), "hardware_vtep"); err != nil || ver != "1.3.0" {
		t.Fatalf("schema version %q (%v), want 1.3.0", ver, err)
	}
	g := startGateway(t, o.SBRemote(), v.VtepRemote())
	o.sb("chassis-add", "ch0", "vxlan", "1.2.3.5")
	o.sb("chassis-add", "ch1", "vxlan", "1.2.3.6")
	o.nb("ls-add", "br-test")
	o.addVIF("br-test", "vif0", "ch0", "f0:ab:cd:ef:01:02", "f0:ab:cd:ef:01:03 10.0.0.3")
	o.addVIF("br-test", "vif1", "ch1", "f0:ab:cd:ef:02:02")
	o.addVTEPPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	o.sync()
	v.ctl("add-ucast-local", "lswitch0", "aa:bb:cc:dd:ee:01", "1.2.3.4")

	waitEqual(t, "bindings", func() []string { return sbSnap(t, o).bindings("br-vtep_lswitch0") }, "br-vtep_lswitch0 br-vtep up=true")
	waitEqual(t, "Ucast_Macs_Remote", func() []string { return vtepSnap(t, v).umrs() },
		"lswitch0 f0:ab:cd:ef:01:02 1.2.3.5", "lswitch0 f0:ab:cd:ef:01:03 1.2.3.5", "lswitch0 f0:ab:cd:ef:02:02 1.2.3.6")
	sb := sbSnap(t, o)
	port, dp := sb.pbKey("br-vtep_lswitch0")
	waitEqual(t, "FDB", func() []string { return sbSnap(t, o).fdbs() }, "aa:bb:cc:dd:ee:01 "+dp+" "+port)
	s := vtepSnap(t, v)
	requireEqual(t, "Logical_Switch", s.lswitches(), "lswitch0 "+dp+" []", "lswitch1 0 []")
	requireEqual(t, "Mcast_Macs_Remote", s.mmrs(), "lswitch0 unknown-dst 1.2.3.5,1.2.3.6")
	requireEqual(t, "Chassis", filter(sbSnap(t, o).chassis(), "br-vtep"),
		"br-vtep vtep_ls=[lswitch0] other_config=map[is-vtep:true] encaps=vxlan/1.2.3.4map[csum:false]")
	for _, r := range s["Physical_Locator"] {
		if _, ok := r["tunnel_key"]; ok {
			t.Errorf("Physical_Locator has a tunnel_key column: %v", r)
		}
	}

	// Hitless restart.
	g.waitIdle(0, 300*time.Millisecond)
	sbMark, vtepMark := len(txLog(t, o.sbFile())), len(txLog(t, v.file()))
	g.stop()
	g.start()
	g.waitIdle(0, time.Second)
	if x := since(t, o.sbFile(), sbMark, ""); len(x) > 0 {
		t.Errorf("restart: SB transactions %v, want none", x)
	}
	if x := since(t, v.file(), vtepMark, ""); len(x) > 0 {
		t.Errorf("restart: switch transactions %v, want none", x)
	}

	// Removals.
	o.sb("lsp-unbind", "vif1")
	waitEqual(t, "Mcast_Macs_Remote after unbinding vif1", func() []string { return vtepSnap(t, v).mmrs() }, "lswitch0 unknown-dst 1.2.3.5")
	requireEqual(t, "Ucast_Macs_Remote after unbinding vif1", vtepSnap(t, v).umrs(),
		"lswitch0 f0:ab:cd:ef:01:02 1.2.3.5", "lswitch0 f0:ab:cd:ef:01:03 1.2.3.5")
	v.ctl("del-ucast-local", "lswitch0", "aa:bb:cc:dd:ee:01")
	waitEqual(t, "FDB after the switch forgot the MAC", func() []string { return sbSnap(t, o).fdbs() })
	o.nb("lsp-del", "br-vtep_lswitch0")
	waitEqual(t, "Logical_Switch after deleting the vtep port", func() []string { return vtepSnap(t, v).lswitches() },
		"lswitch0 0 []", "lswitch1 0 []")
	s = vtepSnap(t, v)
	requireEqual(t, "Ucast_Macs_Remote after deleting the vtep port", s.umrs())
	requireEqual(t, "Mcast_Macs_Remote after deleting the vtep port", s.mmrs())

	// Graceful exit: chassis gone, keys cleared.
	o.addVTEPPort("br-test", "br-vtep_lswitch0", "br-vtep", "lswitch0")
	waitEqual(t, "Ucast_Macs_Remote after re-adding the vtep port", func() []string { return vtepSnap(t, v).umrs() },
		"lswitch0 f0:ab:cd:ef:01:02 1.2.3.5", "lswitch0 f0:ab:cd:ef:01:03 1.2.3.5")
	if _, err := g.appctl("exit"); err != nil && !g.Process.Exited() {
		t.Fatal(err)
	}
	if err := g.Process.Wait(15 * time.Second); err != nil {
		t.Fatalf("vtepgw after exit: %v", err)
	}
	s = vtepSnap(t, v)
	requireEqual(t, "Logical_Switch after exit", s.lswitches(), "lswitch0 [] []", "lswitch1 [] []")
	requireEqual(t, "Ucast_Macs_Remote after exit", s.umrs())
	requireEqual(t, "Mcast_Macs_Remote after exit", s.mmrs())
	requireEqual(t, "VTEP chassis after exit", filter(sbSnap(t, o).chassis(), "br-vtep"))
}
