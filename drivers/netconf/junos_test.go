package netconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

const junosConfig = `<configuration xmlns="http://xml.juniper.net/xnm/1.1/xnm" xmlns:junos="http://xml.juniper.net/junos/*/junos" junos:commit-seconds="1">
  <system><host-name>qfx1</host-name></system>
  <interfaces>
    <interface><name>xe-0/0/1</name><unit><name>0</name><family><ethernet-switching><interface-mode>access</interface-mode><vlan><members>v100</members></vlan></ethernet-switching></family></unit></interface>
    <interface><name>xe-0/0/2</name><native-vlan-id>100</native-vlan-id><unit><name>0</name><family><ethernet-switching><interface-mode>trunk</interface-mode><vlan><members>v200</members><members>300</members><members>v100</members></vlan></ethernet-switching></family></unit></interface>
    <interface><name>xe-0/0/3</name></interface>
    <interface><name>lo0</name><unit><name>0</name><family><inet><address><name>10.1.1.1/32</name></address><address><name>10.1.1.2/32</name></address></inet></family></unit></interface>
  </interfaces>
  <switch-options><vtep-source-interface>lo0.0</vtep-source-interface><remote-vtep-list>10.0.0.2</remote-vtep-list><remote-vtep-list>10.0.0.3</remote-vtep-list><remote-vtep-list>10.9.9.9</remote-vtep-list></switch-options>
  <vlans>
    <vlan><name>v100</name><vlan-id>100</vlan-id><vxlan><vni>10100</vni><ingress-node-replication/><static-remote-vtep-list>10.0.0.3</static-remote-vtep-list><static-remote-vtep-list>10.0.0.2</static-remote-vtep-list></vxlan></vlan>
    <vlan><name>v200</name><vlan-id>200</vlan-id><vxlan><vni>10200</vni></vxlan></vlan>
    <vlan><name>v300</name><vlan-id>300</vlan-id></vlan>
  </vlans>
</configuration>`

func vni(v int) *int { return &v }

func TestJunosParse(t *testing.T) {
	st, err := junosModel{}.parse([]byte(junosConfig))
	if err != nil {
		t.Fatal(err)
	}
	want := []vtep.PhysicalSwitch{{Name: "qfx1", TunnelIPs: []string{"10.1.1.1", "10.1.1.2"}, Ports: []vtep.Port{
		{Name: "xe-0/0/1", Bindings: map[int]string{0: "v100"}},
		{Name: "xe-0/0/2", Bindings: map[int]string{0: "v100", 100: "v100", 200: "v200", 300: "v300"}},
		{Name: "xe-0/0/3", Bindings: map[int]string{}},
	}}}
	if !reflect.DeepEqual(st.switches, want) {
		t.Errorf("switches = %+v\nwant %+v", st.switches, want)
	}
	wantLS := map[string]vtep.LogicalSwitch{
		"v100": {Name: "v100", VNI: vni(10100), ReplicationMode: vtep.ReplicationSourceNode},
		"v200": {Name: "v200", VNI: vni(10200)},
		"v300": {Name: "v300"},
	}
	if !reflect.DeepEqual(st.ls, wantLS) {
		t.Errorf("ls = %+v", st.ls)
	}
	flood := vtep.MACKey{LS: "v100", MAC: vtep.UnknownDst}
	if len(st.mcastRemote) != 1 || !reflect.DeepEqual(st.mcastRemote[flood].Locators, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Errorf("mcast = %+v", st.mcastRemote)
	}
	if len(st.ucastRemote) != 0 || !reflect.DeepEqual(st.remoteVTEPs, []string{"10.0.0.2", "10.0.0.3", "10.9.9.9"}) {
		t.Errorf("ucast %v, remote-vtep-list %v", st.ucastRemote, st.remoteVTEPs)
	}
	if st, err := (junosModel{}).parse(nil); err != nil || len(st.ls) != 0 || st.switches != nil {
		t.Errorf("empty data: %+v, %v", st, err)
	}
}

func TestJunosParseTable(t *testing.T) {
	st, _ := junosModel{}.parse([]byte(junosConfig))
	reply := `<l2ng-l2ald-rtb-macdb xmlns="http://xml.juniper.net/junos/21.4R0/junos-l2al" xmlns:junos="http://xml.juniper.net/junos/*/junos">
<l2ng-l2ald-mac-entry-vlan junos:style="brief-rtb"><mac-count-global>4</mac-count-global><l2ng-l2-mac-routing-instance>default-switch</l2ng-l2-mac-routing-instance><l2ng-l2-vlan-id>100</l2ng-l2-vlan-id>
<l2ng-mac-entry><l2ng-l2-mac-vlan-name>v100</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>AA:BB:CC:00:00:01</l2ng-l2-mac-address><l2ng-l2-mac-flags>D</l2ng-l2-mac-flags><l2ng-l2-mac-logical-interface>xe-0/0/1.0</l2ng-l2-mac-logical-interface></l2ng-mac-entry>
<l2ng-mac-entry><l2ng-l2-mac-vlan-name>v100</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>02:00:00:00:00:09</l2ng-l2-mac-address><l2ng-l2-mac-flags>DR</l2ng-l2-mac-flags><l2ng-l2-mac-logical-interface>vtep.32769</l2ng-l2-mac-logical-interface></l2ng-mac-entry>
<l2ng-mac-entry><l2ng-l2-mac-vlan-name>v100</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>02:00:00:00:00:0a</l2ng-l2-mac-address><l2ng-l2-mac-logical-interface>esi.1234</l2ng-l2-mac-logical-interface></l2ng-mac-entry>
<l2ng-mac-entry><l2ng-l2-mac-vlan-name>other</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>aa:bb:cc:00:00:02</l2ng-l2-mac-address><l2ng-l2-mac-logical-interface>xe-0/0/9.0</l2ng-l2-mac-logical-interface></l2ng-mac-entry>
</l2ng-l2ald-mac-entry-vlan>
<l2ng-l2ald-mac-entry-vlan><l2ng-mac-entry><l2ng-l2-mac-vlan-name>v200</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>aa:bb:cc:00:00:03</l2ng-l2-mac-address><l2ng-l2-mac-logical-interface>xe-0/0/2.0</l2ng-l2-mac-logical-interface></l2ng-mac-entry></l2ng-l2ald-mac-entry-vlan>
</l2ng-l2ald-rtb-macdb>`
	if err := (junosModel{}).parseOp([]byte(reply), st); err != nil {
		t.Fatal(err)
	}
	want := map[vtep.MACKey]vtep.UcastMAC{}
	for _, k := range []vtep.MACKey{{LS: "v100", MAC: "aa:bb:cc:00:00:01"}, {LS: "v200", MAC: "aa:bb:cc:00:00:03"}} {
		want[k] = vtep.UcastMAC{MACKey: k, Locator: "10.1.1.1"}
	}
	if !reflect.DeepEqual(st.ucastLocal, want) {
		t.Errorf("learned = %+v", st.ucastLocal)
	}
	if err := (junosModel{}).parseOp([]byte("<l2ng-mac-entry><unclosed>"), st); err == nil {
		t.Error("malformed table accepted")
	}
}

func TestJunosEdit(t *testing.T) {
	cur, _ := junosModel{}.parse([]byte(junosConfig))
	v100, v200, v300 := "v100", "v200", "v300"
	floodKey := func(ls string) vtep.MACKey { return vtep.MACKey{LS: ls, MAC: vtep.UnknownDst} }
	setFlood := func(ls string, ips ...string) vtep.McastChange {
		return vtep.McastChange{Key: floodKey(ls), Set: &vtep.McastMAC{Locators: ips}}
	}
	const pre = `<configuration xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">`
	for _, tc := range []struct {
		name string
		cs   *vtep.Changeset
		want string
		err  error
	}{
		{"nothing", &vtep.Changeset{}, "", nil},
		{"same VNI and mode", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v100, VNI: vni(10100), ReplicationMode: vtep.ReplicationSourceNode}}}, "", nil},
		{"VNI with ingress replication", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v300, VNI: vni(10300)}}},
			pre + `<vlans><vlan><name>v300</name><vxlan><vni>10300</vni><ingress-node-replication/></vxlan></vlan></vlans></configuration>`, nil},
		{"mode added to an existing VNI", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v200, VNI: vni(10200), ReplicationMode: vtep.ReplicationSourceNode}}},
			pre + `<vlans><vlan><name>v200</name><vxlan><vni>10200</vni><ingress-node-replication/></vxlan></vlan></vlans></configuration>`, nil},
		{"flood list changed: the global list follows", &vtep.Changeset{McastRemote: []vtep.McastChange{setFlood(v100, "10.0.0.3", "10.0.0.4")}},
			pre + `<switch-options><remote-vtep-list>10.0.0.4</remote-vtep-list><remote-vtep-list nc:operation="delete">10.0.0.2</remote-vtep-list></switch-options>` +
				`<vlans><vlan><name>v100</name><vxlan><static-remote-vtep-list>10.0.0.4</static-remote-vtep-list><static-remote-vtep-list nc:operation="delete">10.0.0.2</static-remote-vtep-list></vxlan></vlan></vlans></configuration>`, nil},
		{"flood list on a second vlan keeps shared addresses", &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v300, VNI: vni(10300)}},
			McastRemote:     []vtep.McastChange{setFlood(v300, "10.0.0.2"), {Key: floodKey(v100)}},
		}, pre + `<switch-options><remote-vtep-list nc:operation="delete">10.0.0.3</remote-vtep-list></switch-options><vlans>` +
			`<vlan><name>v100</name><vxlan><static-remote-vtep-list nc:operation="delete">10.0.0.2</static-remote-vtep-list><static-remote-vtep-list nc:operation="delete">10.0.0.3</static-remote-vtep-list></vxlan></vlan>` +
			`<vlan><name>v300</name><vxlan><vni>10300</vni><ingress-node-replication/><static-remote-vtep-list>10.0.0.2</static-remote-vtep-list></vxlan></vlan></vlans></configuration>`, nil},
		{"VNI cleared: the stanza and its list go", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v100}}},
			pre + `<switch-options><remote-vtep-list nc:operation="delete">10.0.0.2</remote-vtep-list><remote-vtep-list nc:operation="delete">10.0.0.3</remote-vtep-list></switch-options>` +
				`<vlans><vlan><name>v100</name><vxlan nc:operation="delete"/></vlan></vlans></configuration>`, nil},
		{"VNI already unset", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v300}}}, "", nil},
		{"deleting absent unsupported entries is a no-op", &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{{Key: vtep.MACKey{LS: v100, MAC: "02:00:00:00:00:01"}}},
			McastRemote: []vtep.McastChange{{Key: vtep.MACKey{LS: v100, MAC: "01:00:5e:00:00:01"}}},
		}, "", nil},
		{"remote unicast MAC", &vtep.Changeset{UcastRemote: []vtep.UcastChange{{Key: vtep.MACKey{LS: v100, MAC: "02:00:00:00:00:01"}, Set: &vtep.UcastMAC{Locator: "10.0.0.2"}}}}, "", drivers.ErrUnsupported},
		{"multicast group", &vtep.Changeset{McastRemote: []vtep.McastChange{{Key: vtep.MACKey{LS: v100, MAC: "01:00:5e:00:00:01"}, Set: &vtep.McastMAC{Locators: []string{"10.0.0.2"}}}}}, "", drivers.ErrUnsupported},
		{"service node", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v100, VNI: vni(1), ReplicationMode: vtep.ReplicationServiceNode}}}, "", drivers.ErrUnsupported},
		{"flood entry with an IP", &vtep.Changeset{McastRemote: []vtep.McastChange{{Key: floodKey(v100), Set: &vtep.McastMAC{IP: "10.1.1.1", Locators: []string{"10.0.0.2"}}}}}, "", drivers.ErrUnsupported},
		{"flood list without a VNI", &vtep.Changeset{McastRemote: []vtep.McastChange{setFlood(v300, "10.0.0.2")}}, "", drivers.ErrInvalid},
		{"flood list while the VNI is cleared", &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v100}},
			McastRemote:     []vtep.McastChange{setFlood(v100, "10.0.0.2")},
		}, "", drivers.ErrInvalid},
		{"VNI beyond Junos' range", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: v100, VNI: vni(16777215)}}}, "", drivers.ErrInvalid},
		{"unknown vlan", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "nope", VNI: vni(1)}}}, "", drivers.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := junosModel{}.edit(tc.cs, cur)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("edit =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestCapabilitiesByAdapter(t *testing.T) {
	j := junosModel{}.capabilities()
	if !j.NoUcastRemote || !j.FloodListsOnly || !j.RemoteMACsNeedVNI || j.SupportsMode(vtep.ReplicationServiceNode) || !j.SupportsMode(vtep.ReplicationSourceNode) {
		t.Errorf("junos capabilities %+v", j)
	}
	v := vtepgwModel{}.capabilities()
	if v.NoUcastRemote || v.FloodListsOnly || !v.SupportsMode(vtep.ReplicationServiceNode) {
		t.Errorf("vtepgw capabilities %+v", v)
	}
	if !strings.Contains(junosModel{}.filter(), "<vlans/>") {
		t.Error("filter")
	}
}
