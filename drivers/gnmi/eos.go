package gnmi

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/vtep"
)

// eos is the adapter for Arista EOS:
//
//	network-instances/network-instance[name=default]/vlans/vlan[vlan-id]/config/name     read: VLANs (name = logical switch)
//	interfaces/interface[name]/ethernet|aggregation/switched-vlan/config                 read: port bindings
//	interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis/vlan-to-vni[vlan] {vlan, vni}  read/write: VNI
//	network-instances/network-instance[name=default]/fdb/mac-table/entries/entry[mac-address][vlan]  read: learned MACs (DYNAMIC)
//	cli: "vxlan vlan V flood vtep IP..." (under interface Vxlan1)                         write: flood list
//	cli: "mac address-table static MAC vlan V interface Vxlan1 vtep IP"                   write: remote MACs
//	Get cli:/show running-config (JSON)                                                  read (polled): flood lists, remote MACs
//
// EOS has no model for static flood lists or static VXLAN MACs, so they
// are written as CLI through the gNMI "cli" origin (as
// sapcc/networking-ccloud does for other commands) and read back from the
// running configuration, which cannot be subscribed: it is polled.
type eos struct{}

func init() { registerAdapter(eos{}) }

func (eos) Name() string { return "eos" }

// Tables.
const (
	tEOSVLAN   = "oc-vlan"
	tEOSSwVLAN = "oc-switched-vlan"
	tEOSVNI    = "eos-vlan-to-vni"
	tEOSMAC    = "oc-mac-table"
	tEOSFlood  = "eos-cli-flood"
	tEOSRemote = "eos-cli-mac"
)

var (
	eosVLANT  = mustTmpl("/network-instances/network-instance[name=$ni]/vlans/vlan[vlan-id=$vlan]")
	eosEthT   = mustTmpl("/interfaces/interface[name=$port]/ethernet/switched-vlan")
	eosAggT   = mustTmpl("/interfaces/interface[name=$port]/aggregation/switched-vlan")
	eosVNIT   = mustTmpl("/interfaces/interface[name=$if]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis/vlan-to-vni[vlan=$vlan]")
	eosMACT   = mustTmpl("/network-instances/network-instance[name=$ni]/fdb/mac-table/entries/entry[mac-address=$mac][vlan=$vlan]")
	eosRunCfg = &gnmipb.Path{Origin: "cli", Elem: []*gnmipb.PathElem{{Name: "show running-config"}}}
)

func eosDefaults(c Config) Config {
	if c.VxlanIf == "" {
		c.VxlanIf = "Vxlan1"
	}
	if c.NetworkInstance == "" {
		c.NetworkInstance = "default"
	}
	return c
}

func (eos) Subscriptions(c Config) []*gnmipb.Path {
	c = eosDefaults(c)
	vars := map[string]string{"ni": c.NetworkInstance, "port": "*", "if": c.VxlanIf}
	vni := eosVNIT.path(vars)
	vni.Elem = vni.Elem[:len(vni.Elem)-1] // .../vlan-to-vnis
	mac := eosMACT.path(vars)
	mac.Elem = mac.Elem[:len(mac.Elem)-1] // .../entries
	vl := eosVLANT.path(vars)
	vl.Elem = vl.Elem[:len(vl.Elem)-1] // .../vlans
	return []*gnmipb.Path{vl, eosEthT.path(vars), eosAggT.path(vars), vni, mac}
}

func (eos) Poll(Config) []*gnmipb.Path { return []*gnmipb.Path{eosRunCfg} }
func (eos) PollTables() []string       { return []string{tEOSFlood, tEOSRemote} }

func (eos) Decode(p *gnmipb.Path, c Config) []Hit {
	c = eosDefaults(c)
	var hits []Hit
	try := func(t ptmpl, table string, key func(map[string]string) (string, bool)) {
		vars, field, row, ok := t.match(p)
		if !ok {
			return
		}
		if ni, has := vars["ni"]; has && ni != c.NetworkInstance {
			return
		}
		if ifn, has := vars["if"]; has && ifn != c.VxlanIf {
			return
		}
		if !row {
			hits = append(hits, Hit{ID: RowID{Table: table}})
			return
		}
		k, ok := key(vars)
		if ok {
			hits = append(hits, Hit{ID: RowID{Table: table, Key: k}, Field: field})
		}
	}
	vlanKey := func(v map[string]string) (string, bool) { return v["vlan"], v["vlan"] != "" }
	try(eosVLANT, tEOSVLAN, vlanKey)
	portKey := func(v map[string]string) (string, bool) { return v["port"], v["port"] != "" }
	try(eosEthT, tEOSSwVLAN, portKey)
	try(eosAggT, tEOSSwVLAN, portKey)
	try(eosVNIT, tEOSVNI, vlanKey)
	try(eosMACT, tEOSMAC, func(v map[string]string) (string, bool) {
		mac, ok := normMAC(v["mac"])
		return v["vlan"] + "/" + mac, ok && v["vlan"] != ""
	})
	return hits
}

// parseVLANList reads OpenConfig trunk-vlans: "100,200,300..305".
func parseVLANList(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "..")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 || a > 4094 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b > 4094 {
				continue
			}
		}
		for v := a; v <= b; v++ {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func first(r Row, keys ...string) string {
	for _, k := range keys {
		if v := r[k]; v != "" {
			return v
		}
	}
	return ""
}

func (eos) Facts(id RowID, r Row, c Config) []Fact {
	c = eosDefaults(c)
	switch id.Table {
	case tEOSVLAN:
		if v, err := strconv.Atoi(id.Key); err == nil {
			return []Fact{{Kind: FactVLAN, VLAN: v, Value: first(r, "config/name", "state/name")}}
		}
	case tEOSSwVLAN:
		mode := first(r, "config/interface-mode", "state/interface-mode")
		var out []Fact
		add := func(vlan int, tag int) {
			f := Fact{Kind: FactBinding, VLAN: vlan, Key: id.Key, Value: strconv.Itoa(tag)}
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		if local(mode) != "TRUNK" {
			if v, err := strconv.Atoi(first(r, "config/access-vlan", "state/access-vlan")); err == nil {
				add(v, 0)
			}
			return out
		}
		if v, err := strconv.Atoi(first(r, "config/native-vlan", "state/native-vlan")); err == nil {
			add(v, 0)
		}
		for _, v := range parseVLANList(first(r, "config/trunk-vlans", "state/trunk-vlans")) {
			add(v, v)
		}
		return out
	case tEOSVNI:
		v, err1 := strconv.Atoi(id.Key)
		vni, err2 := strconv.Atoi(first(r, "vni", "config/vni"))
		if err1 == nil && err2 == nil && vni > 0 {
			return []Fact{{Kind: FactVNI, VLAN: v, Value: strconv.Itoa(vni)}}
		}
	case tEOSMAC:
		vs, mac, _ := strings.Cut(id.Key, "/")
		v, err := strconv.Atoi(vs)
		port := r["interface/interface-ref/state/interface"]
		if err == nil && local(r["state/entry-type"]) == "DYNAMIC" && port != "" && !strings.EqualFold(port, c.VxlanIf) {
			return []Fact{{Kind: FactLearned, VLAN: v, Key: mac, Value: port}}
		}
	case tEOSFlood:
		v, err := strconv.Atoi(id.Key)
		if err != nil {
			return nil
		}
		var out []Fact
		for _, ip := range strings.Fields(r["vteps"]) {
			f := Fact{Kind: FactFlood, VLAN: v, Key: ip}
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		return out
	case tEOSRemote:
		vs, mac, _ := strings.Cut(id.Key, "/")
		if v, err := strconv.Atoi(vs); err == nil && r["vtep"] != "" {
			return []Fact{{Kind: FactRemote, VLAN: v, Key: mac, Value: r["vtep"]}}
		}
	}
	return nil
}

// eosConfig is EOS's JSON form of "show running-config": nested "cmds".
type eosConfig struct {
	Cmds map[string]*eosConfig `json:"cmds"`
}

// DecodePoll reads the flood lists and static VXLAN MACs from the running
// configuration.
func (eos) DecodePoll(ns []*gnmipb.Notification, c Config) (map[RowID]Row, error) {
	c = eosDefaults(c)
	out := map[RowID]Row{}
	found := false
	for _, n := range ns {
		for _, u := range n.GetUpdate() {
			var raw []byte
			switch x := u.GetVal().GetValue().(type) {
			case *gnmipb.TypedValue_JsonIetfVal:
				raw = x.JsonIetfVal
			case *gnmipb.TypedValue_JsonVal:
				raw = x.JsonVal
			case *gnmipb.TypedValue_StringVal:
				raw = []byte(x.StringVal)
			case *gnmipb.TypedValue_AsciiVal:
				raw = []byte(x.AsciiVal)
			default:
				continue
			}
			var cfg eosConfig
			if err := json.Unmarshal(raw, &cfg); err != nil {
				return nil, fmt.Errorf("show running-config: %w", err)
			}
			found = true
			for line, sub := range cfg.Cmds {
				f := strings.Fields(line)
				switch {
				case len(f) == 2 && f[0] == "interface" && strings.EqualFold(f[1], c.VxlanIf) && sub != nil:
					for l := range sub.Cmds {
						g := strings.Fields(l)
						if len(g) >= 6 && g[0] == "vxlan" && g[1] == "vlan" && g[3] == "flood" && g[4] == "vtep" {
							if _, err := strconv.Atoi(g[2]); err == nil {
								out[RowID{Table: tEOSFlood, Key: g[2]}] = Row{"vteps": strings.Join(g[5:], " ")}
							}
						}
					}
				case len(f) == 10 && f[0] == "mac" && f[1] == "address-table" && f[2] == "static" && f[4] == "vlan" &&
					f[6] == "interface" && strings.EqualFold(f[7], c.VxlanIf) && f[8] == "vtep":
					mac, ok := normMAC(f[3])
					if _, err := strconv.Atoi(f[5]); err == nil && ok {
						out[RowID{Table: tEOSRemote, Key: f[5] + "/" + mac}] = Row{"vtep": f[9]}
					}
				}
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("show running-config: no JSON in the reply")
	}
	return out, nil
}

func (eos) Translate(cs *vtep.Changeset, v View, c Config) (*gnmipb.SetRequest, []RowEdit, error) {
	c = eosDefaults(c)
	req := &gnmipb.SetRequest{}
	var edits []RowEdit
	var top, vx []string
	for _, ch := range cs.LogicalSwitches {
		vlan, err := vlanOf(v, ch.Name)
		if err != nil {
			return nil, nil, err
		}
		vars := map[string]string{"if": c.VxlanIf, "vlan": strconv.Itoa(vlan)}
		id := RowID{Table: tEOSVNI, Key: strconv.Itoa(vlan)}
		have := v.List(FactVNI, vlan)
		if ch.VNI == nil || *ch.VNI == 0 {
			if len(have) == 0 {
				continue
			}
			req.Delete = append(req.Delete, eosVNIT.path(vars))
			edits = append(edits, RowEdit{ID: id})
			continue
		}
		if n, ok := v.VNI(vlan); ok && n == *ch.VNI && len(have) == 1 {
			continue
		}
		js, _ := json.Marshal(map[string]int{"vlan": vlan, "vni": *ch.VNI})
		req.Replace = append(req.Replace, &gnmipb.Update{Path: eosVNIT.path(vars),
			Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: js}}})
		edits = append(edits, RowEdit{ID: id, Row: Row{"vlan": strconv.Itoa(vlan), "vni": strconv.Itoa(*ch.VNI)}})
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
		id := RowID{Table: tEOSRemote, Key: strconv.Itoa(vlan) + "/" + mac}
		if ch.Set == nil {
			if len(v.Lookup(FactRemote, vlan, mac)) > 0 {
				top = append(top, fmt.Sprintf("no mac address-table static %s vlan %d", dottedMAC(mac), vlan))
				edits = append(edits, RowEdit{ID: id})
			}
			continue
		}
		a, err := netip.ParseAddr(ch.Set.Locator)
		if err != nil {
			return nil, nil, fmt.Errorf("MAC %s: locator %q is not an IP address", ch.Key, ch.Set.Locator)
		}
		if have := v.Lookup(FactRemote, vlan, mac); len(have) == 1 && have[0].Value == a.String() {
			continue
		}
		top = append(top, fmt.Sprintf("mac address-table static %s vlan %d interface %s vtep %s", dottedMAC(mac), vlan, c.VxlanIf, a))
		edits = append(edits, RowEdit{ID: id, Row: Row{"vtep": a.String()}})
	}
	for _, ch := range cs.McastRemote {
		vlan, err := vlanOf(v, ch.Key.LS)
		if err != nil {
			return nil, nil, err
		}
		id := RowID{Table: tEOSFlood, Key: strconv.Itoa(vlan)}
		var ips []string
		if ch.Set != nil {
			for _, ip := range ch.Set.Locators {
				a, err := netip.ParseAddr(ip)
				if err != nil {
					return nil, nil, fmt.Errorf("flood list of %s: locator %q is not an IP address", ch.Key.LS, ip)
				}
				ips = append(ips, a.String())
			}
		}
		slices.Sort(ips)
		ips = slices.Compact(ips)
		if len(ips) == 0 {
			if len(v.List(FactFlood, vlan)) > 0 {
				vx = append(vx, fmt.Sprintf("no vxlan vlan %d flood vtep", vlan))
				edits = append(edits, RowEdit{ID: id})
			}
			continue
		}
		var have []string
		for _, f := range v.List(FactFlood, vlan) {
			have = append(have, f.Key)
		}
		if slices.Equal(have, ips) {
			continue
		}
		vx = append(vx, fmt.Sprintf("vxlan vlan %d flood vtep %s", vlan, strings.Join(ips, " ")))
		edits = append(edits, RowEdit{ID: id, Row: Row{"vteps": strings.Join(ips, " ")}})
	}
	if len(top)+len(vx) > 0 {
		var b strings.Builder
		for _, l := range top {
			b.WriteString(l + "\n")
		}
		if len(vx) > 0 {
			b.WriteString("interface " + c.VxlanIf + "\n")
			for _, l := range vx {
				b.WriteString("   " + l + "\n")
			}
			b.WriteString("exit\n")
		}
		req.Update = append(req.Update, &gnmipb.Update{Path: &gnmipb.Path{Origin: "cli"},
			Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_AsciiVal{AsciiVal: b.String()}}})
	}
	return req, edits, nil
}
