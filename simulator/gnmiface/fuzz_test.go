package gnmiface

import (
	"testing"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
)

// FuzzParseCLI: CLI text from clients never panics the face, and what it
// accepts names only known operations.
func FuzzParseCLI(f *testing.F) {
	f.Add("interface Vxlan1\n   vxlan vlan 100 flood vtep 10.0.0.2 10.0.0.3\nmac address-table static 0011.2233.4455 vlan 100 interface Vxlan1 vtep 10.0.0.2\n")
	f.Add("interface Vxlan1\n   no vxlan vlan 100 flood vtep\n   vxlan vlan 1 vni 2\nexit\nno mac address-table static 0011.2233.4455 vlan 100\n")
	f.Add("no\n \tvxlan vlan x\n!")
	st := &State{Name: "sw1", VxlanIf: "Vxlan1"}
	f.Fuzz(func(t *testing.T, text string) {
		ops, err := parseCLI(text, st)
		if err != nil {
			return
		}
		for _, o := range ops {
			if o.Kind < OpSetVNI || o.Kind > OpDelRemote {
				t.Fatalf("unknown op %v from %q", o, text)
			}
		}
	})
}

// FuzzFlatten: JSON values of Set updates never panic the face.
func FuzzFlatten(f *testing.F) {
	f.Add(`{"vni":"10100","vlan":"Vlan100"}`, "sonic-db:/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|x")
	f.Add(`{"vlan-to-vni":[{"vlan":100,"vni":10100}]}`, "/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis")
	f.Add(`[{"vni":7,"config":{"bridge-domain":1}}]`, "/a/local-endpoint-vni")
	f.Add(`[1,"a",true,null,1.5,-3]`, "/x")
	lk := listKeys(schema())
	f.Fuzz(func(t *testing.T, js, path string) {
		p, err := gpath.Parse(path)
		if err != nil {
			return
		}
		ls, err := flatten(p, &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}, lk)
		if err != nil {
			return
		}
		ed := newEdit(schema(), make([]map[string]*row, len(schema())), lk)
		for _, l := range ls {
			_ = ed.update(l.path, l.val)
		}
		_, _ = ed.compile(&State{VLANs: map[int]*VLAN{}, VTEP: "vtep1", VxlanIf: "Vxlan1"})
	})
}
