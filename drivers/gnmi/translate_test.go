package gnmi

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
	"github.com/vtepgw/vtepgw/vtep"
)

// testView is a View over a store with a fixed logical switch map.
type testView struct {
	st *store
	ls map[string]int
}

func (v testView) VLAN(ls string) (int, bool) { n, ok := v.ls[ls]; return n, ok }
func (v testView) VNI(vlan int) (int, bool) {
	fs := v.st.lookup(FactVNI, vlan, "")
	if len(fs) != 1 {
		return 0, false
	}
	n, err := strconv.Atoi(fs[0].Value)
	return n, err == nil
}
func (v testView) Lookup(k FactKind, vlan int, key string) []Sourced {
	return v.st.lookup(k, vlan, key)
}
func (v testView) List(k FactKind, vlan int) []Sourced { return v.st.list(k, vlan) }

func vniP(n int) *int { return &n }

func ucastSet(ls, mac, loc string) vtep.UcastChange {
	k := vtep.MACKey{LS: ls, MAC: mac}
	return vtep.UcastChange{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: loc}}
}

func floodSet(ls string, locs ...string) vtep.McastChange {
	k := vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}
	return vtep.McastChange{Key: k, Set: &vtep.McastMAC{MACKey: k, Locators: locs}}
}

// render prints a SetRequest as sorted lines: "delete PATH", "replace PATH
// JSON", "update PATH VALUE".
func render(req *gnmipb.SetRequest) []string {
	var out []string
	for _, d := range req.GetDelete() {
		out = append(out, "delete "+gpath.String(d))
	}
	val := func(v *gnmipb.TypedValue) string {
		switch x := v.GetValue().(type) {
		case *gnmipb.TypedValue_JsonIetfVal:
			var m map[string]any
			_ = json.Unmarshal(x.JsonIetfVal, &m)
			b, _ := json.Marshal(m) // sorted keys
			return string(b)
		case *gnmipb.TypedValue_AsciiVal:
			return strings.ReplaceAll(x.AsciiVal, "\n", "⏎")
		}
		return v.String()
	}
	for _, u := range req.GetReplace() {
		out = append(out, "replace "+gpath.String(u.GetPath())+" "+val(u.GetVal()))
	}
	for _, u := range req.GetUpdate() {
		out = append(out, "update "+gpath.String(u.GetPath())+" "+val(u.GetVal()))
	}
	slices.Sort(out)
	return out
}

func TestSONiCTranslate(t *testing.T) {
	ad := sonic{}
	seed := func() *store {
		st := newStore(ad, Config{})
		st.setRow(RowID{tVxlanTunnel, "vtep1"}, Row{"src_ip": "192.0.2.1"})
		st.setRow(RowID{tTunnelMap, "vtep1|map_10100_Vlan100"}, Row{"vni": "10100", "vlan": "Vlan100"})
		st.setRow(RowID{tRemoteVNI, "Vlan100:192.0.2.2"}, Row{"vni": "10100"})
		st.setRow(RowID{tVxlanFDB, "Vlan100:02:00:00:00:00:01"}, Row{"remote_vtep": "192.0.2.2", "type": "static", "vni": "10100"})
		return st
	}
	const (
		fdb = "sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/"
		rvn = "sonic-db:/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE/"
		tm  = "sonic-db:/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/"
	)
	tests := []struct {
		name    string
		cs      *vtep.Changeset
		want    []string
		edits   int
		wantErr string
	}{
		{name: "nothing to do", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vniP(10100)}},
			UcastRemote:     []vtep.UcastChange{ucastSet("ls0", "02:00:00:00:00:01", "192.0.2.2")},
			McastRemote:     []vtep.McastChange{floodSet("ls0", "192.0.2.2")},
		}},
		{name: "new MAC and flood member", cs: &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{ucastSet("ls0", "02:00:00:00:00:0A", "192.0.2.3")},
			McastRemote: []vtep.McastChange{floodSet("ls0", "192.0.2.3", "192.0.2.2")},
		}, want: []string{
			"replace " + fdb + "Vlan100:02:00:00:00:00:0a " + `{"remote_vtep":"192.0.2.3","type":"static","vni":"10100"}`,
			"replace " + rvn + "Vlan100:192.0.2.3 " + `{"vni":"10100"}`,
		}, edits: 2},
		{name: "delete MAC, empty flood list", cs: &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{{Key: vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}}},
			McastRemote: []vtep.McastChange{{Key: vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst}}},
		}, want: []string{
			"delete " + fdb + "Vlan100:02:00:00:00:00:01",
			"delete " + rvn + "Vlan100:192.0.2.2",
		}, edits: 2},
		{name: "VNI change rewrites the APPL_DB rows", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vniP(7)}},
		}, want: []string{
			"delete " + tm + "vtep1|map_10100_Vlan100",
			"replace " + fdb + "Vlan100:02:00:00:00:00:01 " + `{"remote_vtep":"192.0.2.2","type":"static","vni":"7"}`,
			"replace " + rvn + "Vlan100:192.0.2.2 " + `{"vni":"7"}`,
			"replace " + tm + "vtep1|map_7_Vlan100 " + `{"vlan":"Vlan100","vni":"7"}`,
		}, edits: 4},
		{name: "VNI cleared: the entries go with it", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0"}},
		}, want: []string{
			"delete " + fdb + "Vlan100:02:00:00:00:00:01",
			"delete " + rvn + "Vlan100:192.0.2.2",
			"delete " + tm + "vtep1|map_10100_Vlan100",
		}, edits: 3},
		{name: "entry without a VNI", cs: &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{ucastSet("ls1", "02:00:00:00:00:02", "192.0.2.3")},
		}, wantErr: "no VNI"},
		{name: "unknown logical switch", cs: &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{ucastSet("nope", "02:00:00:00:00:02", "192.0.2.3")},
		}, wantErr: "no VLAN"},
		{name: "VNI for a new logical switch and its entries in one Set", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls1", VNI: vniP(20)}},
			UcastRemote:     []vtep.UcastChange{ucastSet("ls1", "02:00:00:00:00:02", "192.0.2.3")},
		}, want: []string{
			"replace " + fdb + "Vlan200:02:00:00:00:00:02 " + `{"remote_vtep":"192.0.2.3","type":"static","vni":"20"}`,
			"replace " + tm + "vtep1|map_20_Vlan200 " + `{"vlan":"Vlan200","vni":"20"}`,
		}, edits: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := testView{st: seed(), ls: map[string]int{"ls0": 100, "ls1": 200}}
			req, edits, err := ad.Translate(tc.cs, v, Config{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := render(req); !slices.Equal(got, tc.want) {
				t.Fatalf("request:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(edits) != tc.edits {
				t.Fatalf("%d edits, want %d: %v", len(edits), tc.edits, edits)
			}
		})
	}
}

func TestEOSTranslate(t *testing.T) {
	ad := eos{}
	seed := func() *store {
		st := newStore(ad, Config{})
		st.setRow(RowID{tEOSVNI, "100"}, Row{"vlan": "100", "vni": "10100"})
		st.setRow(RowID{tEOSFlood, "100"}, Row{"vteps": "192.0.2.2"})
		st.setRow(RowID{tEOSRemote, "100/02:00:00:00:00:01"}, Row{"vtep": "192.0.2.2"})
		return st
	}
	const v2v = "/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis/vlan-to-vni"
	tests := []struct {
		name string
		cs   *vtep.Changeset
		want []string
	}{
		{name: "nothing to do", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vniP(10100)}},
			UcastRemote:     []vtep.UcastChange{ucastSet("ls0", "02:00:00:00:00:01", "192.0.2.2")},
			McastRemote:     []vtep.McastChange{floodSet("ls0", "192.0.2.2")},
		}},
		{name: "VNI, MAC and flood list", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls1", VNI: vniP(20)}},
			UcastRemote:     []vtep.UcastChange{ucastSet("ls1", "02:00:00:00:00:02", "192.0.2.3")},
			McastRemote:     []vtep.McastChange{floodSet("ls1", "192.0.2.4", "192.0.2.3")},
		}, want: []string{
			"replace " + v2v + "[vlan=200] " + `{"vlan":200,"vni":20}`,
			"update cli:/ mac address-table static 0200.0000.0002 vlan 200 interface Vxlan1 vtep 192.0.2.3⏎interface Vxlan1⏎   vxlan vlan 200 flood vtep 192.0.2.3 192.0.2.4⏎exit⏎",
		}},
		{name: "deletes", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vniP(0)}},
			UcastRemote:     []vtep.UcastChange{{Key: vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}}},
			McastRemote:     []vtep.McastChange{{Key: vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst}}},
		}, want: []string{
			"delete " + v2v + "[vlan=100]",
			"update cli:/ no mac address-table static 0200.0000.0001 vlan 100⏎interface Vxlan1⏎   no vxlan vlan 100 flood vtep⏎exit⏎",
		}},
		{name: "deleting what is not there writes nothing", cs: &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls1"}},
			UcastRemote:     []vtep.UcastChange{{Key: vtep.MACKey{LS: "ls1", MAC: "02:00:00:00:00:09"}}},
			McastRemote:     []vtep.McastChange{{Key: vtep.MACKey{LS: "ls1", MAC: vtep.UnknownDst}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := testView{st: seed(), ls: map[string]int{"ls0": 100, "ls1": 200}}
			req, _, err := ad.Translate(tc.cs, v, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if got := render(req); !slices.Equal(got, tc.want) {
				t.Fatalf("request:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDecodeAndFacts(t *testing.T) {
	tests := []struct {
		ad    Adapter
		path  string
		id    RowID
		field string
		row   Row
		facts []Fact
	}{
		{sonic{}, "sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:02:00:00:00:00:AA/remote_vtep",
			RowID{tVxlanFDB, "Vlan100:02:00:00:00:00:AA"}, "remote_vtep", Row{"remote_vtep": "192.0.2.9"},
			[]Fact{{Kind: FactRemote, VLAN: 100, Key: "02:00:00:00:00:aa", Value: "192.0.2.9"}}},
		{sonic{}, "sonic-db:/STATE_DB/localhost/FDB_TABLE/Vlan200:02:00:00:00:00:01/port",
			RowID{tFDB, "Vlan200:02:00:00:00:00:01"}, "port", Row{"port": "Ethernet0", "type": "dynamic"},
			[]Fact{{Kind: FactLearned, VLAN: 200, Key: "02:00:00:00:00:01", Value: "Ethernet0"}}},
		{sonic{}, "sonic-db:/CONFIG_DB/localhost/VLAN_MEMBER/Vlan100|Ethernet4/tagging_mode",
			RowID{tVLANMember, "Vlan100|Ethernet4"}, "tagging_mode", Row{"tagging_mode": "untagged"},
			[]Fact{{Kind: FactBinding, VLAN: 100, Key: "Ethernet4", Value: "0"}}},
		{sonic{}, "sonic-db:/CONFIG_DB/localhost/VLAN/Vlan100/description",
			RowID{tVLAN, "Vlan100"}, "description", Row{"vlanid": "100"},
			[]Fact{{Kind: FactVLAN, VLAN: 100}}},
		{eos{}, "/interfaces/interface[name=Ethernet1/1]/ethernet/switched-vlan/config/trunk-vlans",
			RowID{tEOSSwVLAN, "Ethernet1/1"}, "config/trunk-vlans",
			Row{"config/interface-mode": "TRUNK", "config/native-vlan": "100", "config/trunk-vlans": "200,300..301"},
			[]Fact{{Kind: FactBinding, VLAN: 100, Key: "Ethernet1/1", Value: "0"},
				{Kind: FactBinding, VLAN: 200, Key: "Ethernet1/1", Value: "200"},
				{Kind: FactBinding, VLAN: 300, Key: "Ethernet1/1", Value: "300"},
				{Kind: FactBinding, VLAN: 301, Key: "Ethernet1/1", Value: "301"}}},
		{eos{}, "/network-instances/network-instance[name=default]/fdb/mac-table/entries/entry[mac-address=02:00:00:00:00:01][vlan=100]/interface/interface-ref/state/interface",
			RowID{tEOSMAC, "100/02:00:00:00:00:01"}, "interface/interface-ref/state/interface",
			Row{"state/entry-type": "DYNAMIC", "interface/interface-ref/state/interface": "Ethernet4"},
			[]Fact{{Kind: FactLearned, VLAN: 100, Key: "02:00:00:00:00:01", Value: "Ethernet4"}}},
		{eos{}, "/network-instances/network-instance[name=default]/fdb/mac-table/entries/entry[mac-address=02:00:00:00:00:02][vlan=100]/state/entry-type",
			RowID{tEOSMAC, "100/02:00:00:00:00:02"}, "state/entry-type",
			Row{"state/entry-type": "STATIC", "interface/interface-ref/state/interface": "Vxlan1"}, nil},
		{eos{}, "/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis/vlan-to-vni[vlan=100]/vni",
			RowID{tEOSVNI, "100"}, "vni", Row{"vni": "10100"},
			[]Fact{{Kind: FactVNI, VLAN: 100, Value: "10100"}}},
	}
	for _, tc := range tests {
		t.Run(tc.ad.Name()+" "+tc.path, func(t *testing.T) {
			hits := tc.ad.Decode(gpath.MustParse(tc.path), Config{})
			if len(hits) != 1 || hits[0].ID != tc.id || hits[0].Field != tc.field {
				t.Fatalf("Decode = %+v, want %v %q", hits, tc.id, tc.field)
			}
			if got := tc.ad.Facts(tc.id, tc.row, Config{}); !slices.Equal(got, tc.facts) {
				t.Fatalf("Facts = %+v, want %+v", got, tc.facts)
			}
		})
	}
	// Deletes above the rows cover whole tables.
	if h := (sonic{}).Decode(gpath.MustParse("sonic-db:/APPL_DB"), Config{}); len(h) != 2 || h[0].ID.Key != "" {
		t.Fatalf("APPL_DB delete = %+v", h)
	}
	if h := (eos{}).Decode(gpath.MustParse("/network-instances/network-instance[name=default]/vlans"), Config{}); len(h) != 1 || h[0].ID != (RowID{Table: tEOSVLAN}) {
		t.Fatalf("vlans delete = %+v", h)
	}
	if h := (eos{}).Decode(gpath.MustParse("/network-instances/network-instance[name=other]/vlans/vlan[vlan-id=1]/config/name"), Config{}); len(h) != 0 {
		t.Fatalf("another network instance decoded: %+v", h)
	}
}

func TestEOSDecodePoll(t *testing.T) {
	js := `{"cmds": {"interface Vxlan1": {"cmds": {"vxlan vlan 100 vni 10100": null,
		"vxlan vlan 100 flood vtep 192.0.2.2 192.0.2.3": null}},
		"mac address-table static 0200.0000.0001 vlan 100 interface Vxlan1 vtep 192.0.2.2": null,
		"mac address-table static 0200.0000.0002 vlan 100 interface Ethernet1": null,
		"hostname sw1": null}}`
	n := &gnmipb.Notification{Update: []*gnmipb.Update{{Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(js)}}}}}
	rows, err := eos{}.DecodePoll([]*gnmipb.Notification{n}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[RowID]Row{
		{tEOSFlood, "100"}:                    {"vteps": "192.0.2.2 192.0.2.3"},
		{tEOSRemote, "100/02:00:00:00:00:01"}: {"vtep": "192.0.2.2"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %v", rows)
	}
	for id, r := range want {
		if !rowsEqual(rows[id], r) {
			t.Fatalf("row %v = %v, want %v", id, rows[id], r)
		}
	}
	if _, err := (eos{}).DecodePoll(nil, Config{}); err == nil {
		t.Fatal("an empty reply decoded")
	}
}

func TestStoreDuplicatesAndDeletes(t *testing.T) {
	st := newStore(sonic{}, Config{})
	st.setRow(RowID{tVxlanFDB, "Vlan100:02:00:00:00:00:01"}, Row{"remote_vtep": "192.0.2.2"})
	if gone, came := st.setRow(RowID{tVxlanFDB, "Vlan100:02:00:00:00:00:01"}, Row{"remote_vtep": "192.0.2.2", "type": "static"}); len(gone)+len(came) != 0 {
		t.Fatalf("same facts again changed facts: %v %v", gone, came)
	}
	st.setRow(RowID{tVxlanFDB, "Vlan100:02-00-00-00-00-01"}, Row{"remote_vtep": "192.0.2.4"})
	if fs := st.lookup(FactRemote, 100, "02:00:00:00:00:01"); len(fs) != 2 {
		t.Fatalf("duplicates = %v", fs)
	}
	gone, _ := st.setField(RowID{tVxlanFDB, "Vlan100:02-00-00-00-00-01"}, "remote_vtep", "", false)
	if len(gone) != 1 || len(st.lookup(FactRemote, 100, "02:00:00:00:00:01")) != 1 {
		t.Fatalf("field delete: gone %v", gone)
	}
	st.deleteTable(tVxlanFDB)
	if len(st.rows) != 0 || len(st.idx) != 0 || len(st.keys) != 0 {
		t.Fatalf("after table delete: %v %v %v", st.rows, st.idx, st.keys)
	}
}
