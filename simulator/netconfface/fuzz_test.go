package netconfface

import (
	"context"
	"testing"
)

// FuzzEditConfig feeds arbitrary <config> bodies, as a NETCONF client sends
// them, through the face's parsing, editing, validation and model mapping
// (both data models). Whatever the input, nothing panics; an accepted edit
// leaves a state that renders and reads back to itself.
func FuzzEditConfig(f *testing.F) {
	for _, s := range []string{
		vsw + `<logical-switch><name>ls0</name><vni>7</vni><remote-mac><mac>02:00:00:00:00:03</mac><vtep>192.0.2.9</vtep><ip>10.0.0.3</ip></remote-mac></logical-switch></vtep>`,
		vsw + `<logical-switch nc:operation="delete"><name>ls1</name></logical-switch></vtep>`,
		vsw + `<logical-switch><name>ls0</name><flood><vtep>192.0.2.8</vtep></flood><mcast><mac>01:00:5e:00:00:01</mac><vtep>192.0.2.8</vtep></mcast></logical-switch></vtep>`,
		`<configuration><vlans><vlan><name>ls0</name><vxlan><vni>5</vni><static-remote-vtep-list>192.0.2.7</static-remote-vtep-list></vxlan></vlan></vlans></configuration>`,
		`<configuration><switch-options><remote-vtep-list>192.0.2.5</remote-vtep-list></switch-options></configuration>`,
		`<vtep xmlns="urn:x"><bogus/></vtep>`, `<a><b>`, ``,
	} {
		f.Add(s, "merge")
	}
	f.Add(vsw+`<logical-switch><name>ls0</name><vni>9</vni></logical-switch></vtep>`, "replace")
	f.Add(vsw+`<logical-switch><name>ls0</name></logical-switch></vtep>`, "none")
	views := []view{vtepgwView{}, junosView{}}
	f.Fuzz(func(t *testing.T, body, defop string) {
		switch defop {
		case "merge", "replace", "none":
		default:
			return
		}
		nodes, err := parseXML([]byte(body))
		if err != nil {
			return
		}
		var edits []edit
		for _, top := range nodes {
			for _, v := range views {
				if name, ns := v.top(); top.name == name && (ns == "" || top.ns == ns) {
					edits = append(edits, edit{v: v, tree: top, defop: defop})
				}
			}
		}
		if len(edits) == 0 {
			return
		}
		st, err := seedDevice().Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := applyEdits(st, edits); err != nil {
			return
		}
		for _, v := range views {
			again, err := v.parse(v.render(st), st)
			if err != nil {
				t.Fatalf("%T: the accepted state does not read back: %v\ninput %q", v, err, body)
			}
			if a, b := v.render(again), v.render(st); !treeEqual(a, b) {
				t.Fatalf("%T: render/parse is not stable for input %q", v, body)
			}
		}
	})
}
