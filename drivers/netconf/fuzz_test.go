package netconf

import "testing"

// FuzzReplies feeds arbitrary <data> and operational replies, as a switch
// sends them, to both data models' parsers: whatever the bytes, nothing
// panics (errors are the answer to a malformed reply).
func FuzzReplies(f *testing.F) {
	for _, s := range []string{
		junosConfig,
		`<data><vtep xmlns="urn:x"><name>tor1</name><tunnel-ip>192.0.2.4</tunnel-ip><port><name>p0</name><binding><vlan>0</vlan><logical-switch>ls0</logical-switch></binding></port><logical-switch><name>ls0</name><vni>5</vni><remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>192.0.2.9</tunnel-ip></remote-mac></logical-switch></vtep></data>`,
		`<l2ng-l2ald-rtb-macdb><l2ng-mac-entry><l2ng-l2-mac-vlan-name>v100</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>AA:BB:CC:00:00:01</l2ng-l2-mac-address><l2ng-l2-mac-logical-interface>xe-0/0/1.0</l2ng-l2-mac-logical-interface></l2ng-mac-entry></l2ng-l2ald-rtb-macdb>`,
		`<configuration><vlans><vlan><name>v</name><vlan-id>x</vlan-id></vlan></vlans></configuration>`,
		`<a><b>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, err := (junosModel{}).parse(b); err == nil {
			_ = (junosModel{}).parseOp(b, st)
		}
		_, _ = (vtepgwModel{}).parse(b)
	})
}
