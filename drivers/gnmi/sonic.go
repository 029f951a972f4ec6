package gnmi

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
	"github.com/vtepgw/vtepgw/vtep"
)

// sonic is the adapter for SONiC through sonic-gnmi's database paths
// (origin "sonic-db", /DB/localhost/TABLE/KEY/field):
//
//	CONFIG_DB VXLAN_TUNNEL|vtep1 {src_ip}                       read: tunnel IP
//	CONFIG_DB VLAN|Vlan100 {vlanid, description}                read: VLANs (description = logical switch)
//	CONFIG_DB VLAN_MEMBER|Vlan100|Ethernet0 {tagging_mode}      read: port bindings
//	CONFIG_DB VXLAN_TUNNEL_MAP|vtep1|map_10100_Vlan100 {vni, vlan}        read/write: VNI
//	APPL_DB VXLAN_REMOTE_VNI_TABLE:Vlan100:10.0.0.2 {vni}       read/write: flood list
//	APPL_DB VXLAN_FDB_TABLE:Vlan100:00:11:22:33:44:55 {remote_vtep, type, vni}  read/write: remote MACs
//	STATE_DB FDB_TABLE|Vlan100:00:11:22:33:44:55 {port, type}   read: learned MACs
type sonic struct{}

func init() { registerAdapter(sonic{}) }

func (sonic) Name() string { return "sonic" }

const sonicOrigin = "sonic-db"

// SONiC tables the adapter reads, as "DB/TABLE".
const (
	tVxlanTunnel = "CONFIG_DB/VXLAN_TUNNEL"
	tVLAN        = "CONFIG_DB/VLAN"
	tVLANMember  = "CONFIG_DB/VLAN_MEMBER"
	tTunnelMap   = "CONFIG_DB/VXLAN_TUNNEL_MAP"
	tRemoteVNI   = "APPL_DB/VXLAN_REMOTE_VNI_TABLE"
	tVxlanFDB    = "APPL_DB/VXLAN_FDB_TABLE"
	tFDB         = "STATE_DB/FDB_TABLE"
)

var sonicTables = []string{tVxlanTunnel, tVLAN, tVLANMember, tTunnelMap, tRemoteVNI, tVxlanFDB, tFDB}

func sonicPath(table, key string) *gnmipb.Path {
	db, tbl, _ := strings.Cut(table, "/")
	names := []string{db, "localhost", tbl}
	if key != "" {
		names = append(names, key)
	}
	return gpath.New(sonicOrigin, gpath.Names(names...)...)
}

func (sonic) Subscriptions(Config) []*gnmipb.Path {
	out := make([]*gnmipb.Path, len(sonicTables))
	for i, t := range sonicTables {
		out[i] = sonicPath(t, "")
	}
	return out
}

func (sonic) Poll(Config) []*gnmipb.Path { return nil }
func (sonic) PollTables() []string       { return nil }

func (sonic) DecodePoll([]*gnmipb.Notification, Config) (map[RowID]Row, error) { return nil, nil }

func (sonic) Decode(p *gnmipb.Path, _ Config) []Hit {
	if p.GetOrigin() != sonicOrigin || len(p.Elem) < 1 {
		return nil
	}
	names := make([]string, len(p.Elem))
	for i, e := range p.Elem {
		names[i] = e.Name
	}
	if len(names) < 3 {
		// A delete above the tables: every table under it.
		var hits []Hit
		for _, t := range sonicTables {
			if db, _, _ := strings.Cut(t, "/"); db == names[0] {
				hits = append(hits, Hit{ID: RowID{Table: t}})
			}
		}
		return hits
	}
	table := names[0] + "/" + names[2]
	known := false
	for _, t := range sonicTables {
		known = known || t == table
	}
	if !known {
		return nil
	}
	h := Hit{ID: RowID{Table: table}}
	if len(names) > 3 {
		h.ID.Key = names[3]
	}
	if len(names) > 4 {
		h.Field = strings.Join(names[4:], "/")
	}
	return []Hit{h}
}

// parseSonicVLAN reads "Vlan100".
func parseSonicVLAN(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "Vlan"))
	return n, strings.HasPrefix(s, "Vlan") && err == nil && n >= 1 && n <= 4094
}

// splitSonicKey splits "Vlan100:rest" (APPL_DB and STATE_DB keys).
func splitSonicKey(key string) (int, string, bool) {
	v, rest, ok := strings.Cut(key, ":")
	id, ok2 := parseSonicVLAN(v)
	return id, rest, ok && ok2 && rest != ""
}

func (sonic) Facts(id RowID, r Row, c Config) []Fact {
	switch id.Table {
	case tVxlanTunnel:
		if ip := r["src_ip"]; ip != "" && (c.VTEP == "" || c.VTEP == id.Key) {
			return []Fact{{Kind: FactTunnelIP, Key: id.Key, Value: ip}}
		}
	case tVLAN:
		if v, ok := parseSonicVLAN(id.Key); ok {
			return []Fact{{Kind: FactVLAN, VLAN: v, Value: r["description"]}}
		}
	case tVLANMember:
		vs, port, ok := strings.Cut(id.Key, "|")
		v, ok2 := parseSonicVLAN(vs)
		if ok && ok2 && port != "" {
			tag := "0"
			if r["tagging_mode"] == "tagged" {
				tag = strconv.Itoa(v)
			}
			return []Fact{{Kind: FactBinding, VLAN: v, Key: port, Value: tag}}
		}
	case tTunnelMap:
		v, ok := parseSonicVLAN(r["vlan"])
		vni, err := strconv.Atoi(r["vni"])
		if ok && err == nil && vni > 0 {
			return []Fact{{Kind: FactVNI, VLAN: v, Value: strconv.Itoa(vni)}}
		}
	case tRemoteVNI:
		if v, ip, ok := splitSonicKey(id.Key); ok {
			if a, err := netip.ParseAddr(ip); err == nil {
				return []Fact{{Kind: FactFlood, VLAN: v, Key: a.String()}}
			}
		}
	case tVxlanFDB:
		if v, m, ok := splitSonicKey(id.Key); ok && r["remote_vtep"] != "" {
			if mac, ok := normMAC(m); ok {
				return []Fact{{Kind: FactRemote, VLAN: v, Key: mac, Value: r["remote_vtep"]}}
			}
		}
	case tFDB:
		if v, m, ok := splitSonicKey(id.Key); ok && r["type"] != "static" && r["port"] != "" {
			if mac, ok := normMAC(m); ok {
				return []Fact{{Kind: FactLearned, VLAN: v, Key: mac, Value: r["port"]}}
			}
		}
	}
	return nil
}

// setBuilder collects the rows of one SetRequest by path, so a later
// change to the same row replaces an earlier one.
type setBuilder struct {
	order []string
	ops   map[string]setOp
}

type setOp struct {
	id   RowID
	path *gnmipb.Path
	row  Row // nil: delete
}

func newSetBuilder() *setBuilder { return &setBuilder{ops: map[string]setOp{}} }

func (b *setBuilder) put(id RowID, p *gnmipb.Path, r Row) {
	k := id.String()
	if _, ok := b.ops[k]; !ok {
		b.order = append(b.order, k)
	}
	b.ops[k] = setOp{id: id, path: p, row: r}
}

func (b *setBuilder) has(id RowID) bool { _, ok := b.ops[id.String()]; return ok }

// request renders deletes and JSON_IETF replaces of whole rows.
func (b *setBuilder) request() (*gnmipb.SetRequest, []RowEdit, error) {
	req := &gnmipb.SetRequest{}
	var edits []RowEdit
	for _, k := range b.order {
		op := b.ops[k]
		edits = append(edits, RowEdit{ID: op.id, Row: op.row})
		if op.row == nil {
			req.Delete = append(req.Delete, op.path)
			continue
		}
		js, err := json.Marshal(map[string]string(op.row))
		if err != nil {
			return nil, nil, err
		}
		req.Replace = append(req.Replace, &gnmipb.Update{Path: op.path,
			Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: js}}})
	}
	return req, edits, nil
}

func (sonic) Translate(cs *vtep.Changeset, v View, c Config) (*gnmipb.SetRequest, []RowEdit, error) {
	b := newSetBuilder()
	vnis, err := newVNIs(cs, v)
	if err != nil {
		return nil, nil, err
	}
	tunnel := c.VTEP
	if tunnel == "" {
		if ts := v.List(FactTunnelIP, 0); len(ts) > 0 {
			tunnel = ts[0].Row.Key
		} else {
			tunnel = "vtep1"
		}
	}
	// APPL_DB VXLAN rows need the VNI (vxlanorch drops them otherwise).
	var noVNI []string
	vniField := func(ls string, r Row, vni int) Row {
		if vni == 0 {
			noVNI = append(noVNI, ls)
		}
		r["vni"] = strconv.Itoa(vni)
		return r
	}
	put := func(table, key string, r Row) {
		id := RowID{Table: table, Key: key}
		b.put(id, sonicPath(table, key), r)
	}
	for _, ch := range cs.LogicalSwitches {
		vlan, _ := v.VLAN(ch.Name) // newVNIs checked it
		vni := vnis[vlan]
		want := ""
		if vni != 0 {
			want = fmt.Sprintf("%s|map_%d_Vlan%d", tunnel, vni, vlan)
		}
		have := v.List(FactVNI, vlan)
		if vni != 0 && len(have) == 1 && have[0].Row.Key == want {
			continue // already mapped
		}
		for _, f := range have {
			if f.Row.Key != want {
				put(tTunnelMap, f.Row.Key, nil)
			}
		}
		if vni == 0 {
			// The APPL_DB rows live in the VNI: they go with it.
			for _, f := range v.List(FactFlood, vlan) {
				put(tRemoteVNI, f.Row.Key, nil)
			}
			for _, f := range v.List(FactRemote, vlan) {
				put(tVxlanFDB, f.Row.Key, nil)
			}
			continue
		}
		put(tTunnelMap, want, Row{"vni": strconv.Itoa(vni), "vlan": "Vlan" + strconv.Itoa(vlan)})
		// APPL_DB rows carry the VNI: rewrite them (changes below win).
		if old, _ := v.VNI(vlan); old != vni {
			for _, f := range v.List(FactFlood, vlan) {
				put(tRemoteVNI, f.Row.Key, vniField(ch.Name, Row{}, vni))
			}
			for _, f := range v.List(FactRemote, vlan) {
				put(tVxlanFDB, f.Row.Key, vniField(ch.Name, Row{"remote_vtep": f.Value, "type": "static"}, vni))
			}
		}
	}
	for _, ch := range cs.UcastRemote {
		vlan, err := vlanOf(v, ch.Key.LS)
		if err != nil {
			return nil, nil, err
		}
		mac, ok := normMAC(ch.Key.MAC)
		if !ok {
			return nil, nil, badMAC(ch.Key)
		}
		want := fmt.Sprintf("Vlan%d:%s", vlan, mac)
		have := v.Lookup(FactRemote, vlan, mac)
		if ch.Set != nil && len(have) == 1 && have[0].Row.Key == want && have[0].Value == ch.Set.Locator &&
			!b.has(RowID{Table: tVxlanFDB, Key: want}) {
			continue // already there
		}
		for _, f := range have {
			if f.Row.Key != want || ch.Set == nil {
				put(tVxlanFDB, f.Row.Key, nil)
			}
		}
		if ch.Set == nil {
			continue
		}
		if _, err := netip.ParseAddr(ch.Set.Locator); err != nil {
			return nil, nil, fmt.Errorf("MAC %s: locator %q is not an IP address", ch.Key, ch.Set.Locator)
		}
		put(tVxlanFDB, want, vniField(ch.Key.LS, Row{"remote_vtep": ch.Set.Locator, "type": "static"}, vniAfter(vnis, v, vlan)))
	}
	for _, ch := range cs.McastRemote {
		vlan, err := vlanOf(v, ch.Key.LS)
		if err != nil {
			return nil, nil, err
		}
		want := map[string]bool{}
		if ch.Set != nil {
			for _, ip := range ch.Set.Locators {
				a, err := netip.ParseAddr(ip)
				if err != nil {
					return nil, nil, fmt.Errorf("flood list of %s: locator %q is not an IP address", ch.Key.LS, ip)
				}
				want[a.String()] = true
			}
		}
		have := map[string]bool{}
		for _, f := range v.List(FactFlood, vlan) {
			have[f.Key] = true
			if !want[f.Key] {
				put(tRemoteVNI, f.Row.Key, nil)
			}
		}
		for _, ip := range sortedKeys(want) {
			key := fmt.Sprintf("Vlan%d:%s", vlan, ip)
			if !have[ip] && !b.has(RowID{Table: tRemoteVNI, Key: key}) {
				put(tRemoteVNI, key, vniField(ch.Key.LS, Row{}, vniAfter(vnis, v, vlan)))
			}
		}
	}
	if len(noVNI) > 0 {
		slices.Sort(noVNI)
		return nil, nil, fmt.Errorf("logical switch %q has no VNI: SONiC needs one for its APPL_DB VXLAN rows", slices.Compact(noVNI)[0])
	}
	return b.request()
}
