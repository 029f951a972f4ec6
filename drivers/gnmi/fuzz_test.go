package gnmi

import (
	"testing"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
)

// FuzzDecodePoll: a device's running configuration never panics the EOS
// adapter.
func FuzzDecodePoll(f *testing.F) {
	f.Add(`{"cmds": {"interface Vxlan1": {"cmds": {"vxlan vlan 100 flood vtep 10.0.0.2": null}}, "mac address-table static 0011.2233.4455 vlan 1 interface Vxlan1 vtep 10.0.0.2": null}}`)
	f.Add(`{"cmds": {"interface Vxlan1": null}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, js string) {
		n := &gnmipb.Notification{Update: []*gnmipb.Update{{Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}}}}
		rows, err := eos{}.DecodePoll([]*gnmipb.Notification{n}, Config{})
		if err != nil {
			return
		}
		st := newStore(eos{}, Config{})
		replacePoll(st, eos{}, rows)
	})
}

// FuzzNotification: whatever a target streams, decoding it into the store
// never panics, for either adapter.
func FuzzNotification(f *testing.F) {
	f.Add("sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55", `{"remote_vtep":"10.0.0.2","type":"static"}`, false)
	f.Add("/interfaces/interface[name=Ethernet1]/ethernet/switched-vlan/config/trunk-vlans", `"1..4094,5"`, false)
	f.Add("/network-instances/network-instance[name=default]/vlans", ``, true)
	f.Fuzz(func(t *testing.T, path, js string, del bool) {
		p, err := gpath.Parse(path)
		if err != nil {
			return
		}
		for _, ad := range []Adapter{sonic{}, eos{}} {
			s := &session{ad: ad}
			st := newStore(ad, Config{})
			n := &gnmipb.Notification{}
			if del {
				n.Delete = []*gnmipb.Path{p}
			} else {
				n.Update = []*gnmipb.Update{{Path: p, Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}}}
			}
			s.applyNotification(st, n)
		}
	})
}
