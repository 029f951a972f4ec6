package gnmiface

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
)

var (
	errReadOnly    = errors.New("read-only path")
	errUnknownPath = errors.New("unknown path")
)

// Origins served.
const (
	originOC    = ""
	originSONiC = "sonic-db"
	originCLI   = "cli"
)

// Path prefixes of the OpenConfig view: one VLAN-aware default network
// instance holding the VLANs, the VXLAN connection point and the FDB.
const (
	ocNI = "/network-instances/network-instance[name=default]"
	ocEP = ocNI + "/connection-points/connection-point[connection-point-id=vxlan]/endpoints/endpoint[endpoint-id=$ep]"
)

func vlanName(id int) string { return "Vlan" + strconv.Itoa(id) }

// parseVlanName reads "Vlan100".
func parseVlanName(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "Vlan"))
	if !strings.HasPrefix(s, "Vlan") || err != nil || n < 1 || n > 4094 {
		return 0, fmt.Errorf("VLAN %q: want Vlan1..Vlan4094: %w", s, ErrInvalid)
	}
	return n, nil
}

// splitVlanKey splits an APPL_DB/STATE_DB key "Vlan100:rest".
func splitVlanKey(key string) (int, string, error) {
	v, rest, ok := strings.Cut(key, ":")
	if !ok {
		return 0, "", fmt.Errorf("key %q: want VlanN:...: %w", key, ErrInvalid)
	}
	id, err := parseVlanName(v)
	return id, rest, err
}

// ipIndex is a stable l2rib next-hop index for a peer address.
func ipIndex(ip string) int {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
		b := a.As4()
		return int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	}
	h := fnv.New64a()
	h.Write([]byte(ip))
	return int(h.Sum64() >> 1)
}

// peers returns every remote VTEP (flood lists and remote MACs) with the
// VNIs it serves; remoteOnly restricts to remote-MAC next hops.
func peers(st *State, remoteOnly bool) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	add := func(ip string, vni int) {
		if out[ip] == nil {
			out[ip] = map[int]bool{}
		}
		if vni != 0 {
			out[ip][vni] = true
		}
	}
	for _, v := range st.VLANs {
		if !remoteOnly {
			for ip := range v.Flood {
				add(ip, v.VNI)
			}
		}
		for _, ip := range v.Remote {
			add(ip, v.VNI)
		}
	}
	return out
}

type emitFunc = func(vars map[string]string, fields map[string]*gnmipb.TypedValue)

// unmapOthers unmaps vni from every VLAN but keep (a replace keyed by VNI
// moves it).
func unmapOthers(st *State, vni, keep int) []Op {
	var ops []Op
	for _, id := range slices.Sorted(maps.Keys(st.VLANs)) {
		if id != keep && st.VLANs[id].VNI == vni {
			ops = append(ops, Op{Kind: OpSetVNI, VLAN: id})
		}
	}
	return ops
}

// schema returns every table the face serves.
func schema() []*table {
	return []*table{
		// ---- OpenConfig ----
		{
			name: "openconfig vlan", origin: originOC, scope: ScopeVLAN,
			tmpl:   tmpl(ocNI + "/vlans/vlan[vlan-id=$vlan]"),
			fields: []string{"config/vlan-id", "config/name", "state/vlan-id", "state/name"},
			render: func(st *State, u unit, emit emitFunc) {
				v, ok := st.VLANs[u.vlan]
				if !ok {
					return
				}
				f := map[string]*gnmipb.TypedValue{"config/vlan-id": uintVal(v.ID), "state/vlan-id": uintVal(v.ID)}
				if v.Name != "" {
					f["config/name"], f["state/name"] = strVal(v.Name), strVal(v.Name)
				}
				emit(map[string]string{"vlan": strconv.Itoa(v.ID)}, f)
			},
		},
		{
			name: "openconfig switched-vlan", origin: originOC, scope: ScopeAll,
			tmpl: tmpl("/interfaces/interface[name=$port]"),
			fields: []string{"config/name", "ethernet/switched-vlan/config/interface-mode",
				"ethernet/switched-vlan/config/access-vlan", "ethernet/switched-vlan/config/native-vlan",
				"ethernet/switched-vlan/config/trunk-vlans"},
			render: func(st *State, _ unit, emit emitFunc) {
				for _, p := range st.Ports {
					var native, tagged []int
					for _, id := range slices.Sorted(maps.Keys(st.VLANs)) {
						if t, ok := st.VLANs[id].Members[p]; ok {
							if t {
								tagged = append(tagged, id)
							} else {
								native = append(native, id)
							}
						}
					}
					f := map[string]*gnmipb.TypedValue{"config/name": strVal(p)}
					const sv = "ethernet/switched-vlan/config/"
					switch {
					case len(tagged) == 0 && len(native) > 0:
						f[sv+"interface-mode"], f[sv+"access-vlan"] = strVal("ACCESS"), uintVal(native[0])
					case len(tagged) > 0:
						f[sv+"interface-mode"], f[sv+"trunk-vlans"] = strVal("TRUNK"), uintList(tagged)
						if len(native) > 0 {
							f[sv+"native-vlan"] = uintVal(native[0])
						}
					}
					emit(map[string]string{"port": p}, f)
				}
			},
		},
		{
			// OpenConfig's VNI configuration: writable.
			name: "openconfig local-endpoint-vni", origin: originOC, scope: ScopeVLAN, writable: true,
			tmpl:   tmpl(ocEP + "/vxlan/local-endpoint-vnis/local-endpoint-vni[vni=$vni]"),
			fields: []string{"config/vni", "config/vni-type", "config/bridge-domain"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok && v.VNI != 0 {
					emit(map[string]string{"ep": st.VTEP, "vni": strconv.Itoa(v.VNI)}, map[string]*gnmipb.TypedValue{
						"config/vni": uintVal(v.VNI), "config/vni-type": strVal("L2"), "config/bridge-domain": uintVal(v.ID)})
				}
			},
			compile: func(st *State, removed, set []*row) ([]Op, error) {
				var ops []Op
				for _, r := range removed {
					bd, err := atoiField(r, "config/bridge-domain", 1, 4094)
					if err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpSetVNI, VLAN: bd})
				}
				for _, r := range set {
					if r.vars["ep"] != st.VTEP {
						return nil, fmt.Errorf("endpoint %q (the switch has %q): %w", r.vars["ep"], st.VTEP, ErrNotFound)
					}
					vni, err := strconv.Atoi(r.vars["vni"])
					if err != nil || vni < 1 || vni > 1<<24-1 {
						return nil, fmt.Errorf("vni key %q: %w", r.vars["vni"], ErrInvalid)
					}
					if s := r.str("config/vni"); s != "" && s != r.vars["vni"] {
						return nil, fmt.Errorf("config/vni %s differs from the key %d: %w", s, vni, ErrInvalid)
					}
					if s := r.str("config/vni-type"); s != "" && localName(s) != "L2" {
						return nil, fmt.Errorf("vni-type %s: only L2 VNIs are supported: %w", s, ErrInvalid)
					}
					bd, err := atoiField(r, "config/bridge-domain", 1, 4094)
					if err != nil {
						return nil, err
					}
					ops = append(ops, unmapOthers(st, vni, bd)...)
					ops = append(ops, Op{Kind: OpSetVNI, VLAN: bd, VNI: vni})
				}
				return ops, nil
			},
		},
		{
			name: "openconfig endpoint-vni", origin: originOC, scope: ScopeVLAN,
			tmpl: tmpl(ocEP + "/vxlan/endpoint-vnis/endpoint-vni[vni=$vni]"),
			fields: []string{"state/vni", "state/vni-type", "state/bridge-domain", "state/multidestination-traffic",
				"state/vni-state", "state/learning-mode"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok && v.VNI != 0 {
					emit(map[string]string{"ep": st.VTEP, "vni": strconv.Itoa(v.VNI)}, map[string]*gnmipb.TypedValue{
						"state/vni": uintVal(v.VNI), "state/vni-type": strVal("L2"), "state/bridge-domain": uintVal(v.ID),
						"state/multidestination-traffic": strVal("STATIC_INGRESS_REPLICATION"),
						"state/vni-state":                strVal("UP"), "state/learning-mode": strVal("DATA_PLANE")})
				}
			},
		},
		{
			name: "openconfig vxlan endpoint", origin: originOC, scope: ScopeAll,
			tmpl:   tmpl(ocEP),
			fields: []string{"vxlan/config/enabled", "vxlan/config/source-interface", "vxlan/state/enabled", "vxlan/state/source-interface"},
			render: func(st *State, _ unit, emit emitFunc) {
				emit(map[string]string{"ep": st.VTEP}, map[string]*gnmipb.TypedValue{
					"vxlan/config/enabled": boolVal(true), "vxlan/config/source-interface": strVal("Loopback1"),
					"vxlan/state/enabled": boolVal(true), "vxlan/state/source-interface": strVal("Loopback1")})
			},
		},
		{
			name: "openconfig endpoint-peer", origin: originOC, scope: ScopeAll,
			tmpl:   tmpl(ocEP + "/vxlan/endpoint-peers/endpoint-peer[peer-address=$ip]"),
			fields: []string{"state/peer-address", "state/peer-state", "state/control-plane-vnis"},
			render: func(st *State, _ unit, emit emitFunc) {
				for ip, vnis := range peers(st, false) {
					f := map[string]*gnmipb.TypedValue{"state/peer-address": strVal(ip), "state/peer-state": strVal("UP")}
					if len(vnis) > 0 {
						f["state/control-plane-vnis"] = uintList(slices.Sorted(maps.Keys(vnis)))
					}
					emit(map[string]string{"ep": st.VTEP, "ip": ip}, f)
				}
			},
		},
		{
			name: "openconfig mac-table (learned)", origin: originOC, scope: ScopeLearned,
			tmpl: tmpl(ocNI + "/fdb/mac-table/entries/entry[mac-address=$mac][vlan=$vlan]"),
			fields: []string{"state/mac-address", "state/vlan", "state/entry-type",
				"interface/interface-ref/state/interface"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					if port, ok := v.Learned[u.mac]; ok {
						emit(map[string]string{"mac": u.mac, "vlan": strconv.Itoa(v.ID)}, map[string]*gnmipb.TypedValue{
							"state/mac-address": strVal(u.mac), "state/vlan": uintVal(v.ID), "state/entry-type": strVal("DYNAMIC"),
							"interface/interface-ref/state/interface": strVal(port)})
					}
				}
			},
		},
		{
			name: "openconfig mac-table (static)", origin: originOC, scope: ScopeRemote,
			tmpl: tmpl(ocNI + "/fdb/mac-table/entries/entry[mac-address=$mac][vlan=$vlan]"),
			fields: []string{"state/mac-address", "state/vlan", "state/entry-type",
				"interface/interface-ref/state/interface"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					if _, ok := v.Remote[u.mac]; ok {
						emit(map[string]string{"mac": u.mac, "vlan": strconv.Itoa(v.ID)}, map[string]*gnmipb.TypedValue{
							"state/mac-address": strVal(u.mac), "state/vlan": uintVal(v.ID), "state/entry-type": strVal("STATIC"),
							"interface/interface-ref/state/interface": strVal(st.VxlanIf)})
					}
				}
			},
		},
		{
			name: "openconfig l2rib next-hop", origin: originOC, scope: ScopeAll,
			tmpl:   tmpl(ocNI + "/fdb/l2rib/mac-table/next-hops/next-hop[index=$idx]"),
			fields: []string{"state/index", "state/peer-ip", "state/resolved"},
			render: func(st *State, _ unit, emit emitFunc) {
				for ip := range peers(st, true) {
					idx := ipIndex(ip)
					emit(map[string]string{"idx": strconv.Itoa(idx)}, map[string]*gnmipb.TypedValue{
						"state/index": uintVal(idx), "state/peer-ip": strVal(ip), "state/resolved": boolVal(true)})
				}
			},
		},

		// ---- SONiC databases ----
		{
			name: "CONFIG_DB VXLAN_TUNNEL", origin: originSONiC, scope: ScopeAll,
			tmpl: tmpl("/CONFIG_DB/$ns/VXLAN_TUNNEL/$key"), fields: []string{"src_ip"},
			render: func(st *State, _ unit, emit emitFunc) {
				emit(map[string]string{"ns": "localhost", "key": st.VTEP}, map[string]*gnmipb.TypedValue{"src_ip": strVal(st.TunnelIP)})
			},
		},
		{
			name: "CONFIG_DB VXLAN_EVPN_NVO", origin: originSONiC, scope: ScopeAll,
			tmpl: tmpl("/CONFIG_DB/$ns/VXLAN_EVPN_NVO/$key"), fields: []string{"source_vtep"},
			render: func(st *State, _ unit, emit emitFunc) {
				emit(map[string]string{"ns": "localhost", "key": "nvo1"}, map[string]*gnmipb.TypedValue{"source_vtep": strVal(st.VTEP)})
			},
		},
		{
			name: "CONFIG_DB VLAN", origin: originSONiC, scope: ScopeVLAN,
			tmpl: tmpl("/CONFIG_DB/$ns/VLAN/$key"), fields: []string{"vlanid", "description"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					f := map[string]*gnmipb.TypedValue{"vlanid": strVal(strconv.Itoa(v.ID))}
					if v.Name != "" {
						f["description"] = strVal(v.Name)
					}
					emit(map[string]string{"ns": "localhost", "key": vlanName(v.ID)}, f)
				}
			},
		},
		{
			name: "CONFIG_DB VLAN_MEMBER", origin: originSONiC, scope: ScopeVLAN,
			tmpl: tmpl("/CONFIG_DB/$ns/VLAN_MEMBER/$key"), fields: []string{"tagging_mode"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					for p, tagged := range v.Members {
						mode := "untagged"
						if tagged {
							mode = "tagged"
						}
						emit(map[string]string{"ns": "localhost", "key": vlanName(v.ID) + "|" + p}, map[string]*gnmipb.TypedValue{"tagging_mode": strVal(mode)})
					}
				}
			},
		},
		{
			name: "CONFIG_DB VXLAN_TUNNEL_MAP", origin: originSONiC, scope: ScopeVLAN, writable: true,
			tmpl: tmpl("/CONFIG_DB/$ns/VXLAN_TUNNEL_MAP/$key"), fields: []string{"vni", "vlan"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok && v.VNI != 0 {
					emit(map[string]string{"ns": "localhost", "key": fmt.Sprintf("%s|map_%d_%s", st.VTEP, v.VNI, vlanName(v.ID))},
						map[string]*gnmipb.TypedValue{"vni": strVal(strconv.Itoa(v.VNI)), "vlan": strVal(vlanName(v.ID))})
				}
			},
			compile: func(st *State, removed, set []*row) ([]Op, error) {
				var ops []Op
				for _, r := range removed {
					id, err := parseVlanName(r.str("vlan"))
					if err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpSetVNI, VLAN: id})
				}
				for _, r := range set {
					if tun, _, _ := strings.Cut(r.vars["key"], "|"); tun != st.VTEP {
						return nil, fmt.Errorf("VXLAN_TUNNEL %q (the switch has %q): %w", tun, st.VTEP, ErrNotFound)
					}
					vni, err := atoiField(r, "vni", 1, 1<<24-1)
					if err != nil {
						return nil, err
					}
					id, err := parseVlanName(r.str("vlan"))
					if err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpSetVNI, VLAN: id, VNI: vni})
				}
				return ops, nil
			},
		},
		{
			name: "APPL_DB VXLAN_REMOTE_VNI_TABLE", origin: originSONiC, scope: ScopeVLAN, writable: true,
			tmpl: tmpl("/APPL_DB/$ns/VXLAN_REMOTE_VNI_TABLE/$key"), fields: []string{"vni"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					for ip := range v.Flood {
						f := map[string]*gnmipb.TypedValue{}
						if v.VNI != 0 {
							f["vni"] = strVal(strconv.Itoa(v.VNI))
						}
						emit(map[string]string{"ns": "localhost", "key": vlanName(v.ID) + ":" + ip}, f)
					}
				}
			},
			compile: func(st *State, removed, set []*row) ([]Op, error) {
				var ops []Op
				for _, r := range removed {
					id, ip, err := splitVlanKey(r.vars["key"])
					if err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpDelFlood, VLAN: id, IP: ip})
				}
				for _, r := range set {
					id, ip, err := splitVlanKey(r.vars["key"])
					if err != nil {
						return nil, err
					}
					if _, err := atoiField(r, "vni", 1, 1<<24-1); err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpAddFlood, VLAN: id, IP: ip})
				}
				return ops, nil
			},
		},
		{
			name: "APPL_DB VXLAN_FDB_TABLE", origin: originSONiC, scope: ScopeRemote, writable: true,
			tmpl: tmpl("/APPL_DB/$ns/VXLAN_FDB_TABLE/$key"), fields: []string{"remote_vtep", "type", "vni"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					if ip, ok := v.Remote[u.mac]; ok {
						f := map[string]*gnmipb.TypedValue{"remote_vtep": strVal(ip), "type": strVal("static")}
						if v.VNI != 0 {
							f["vni"] = strVal(strconv.Itoa(v.VNI))
						}
						emit(map[string]string{"ns": "localhost", "key": vlanName(v.ID) + ":" + u.mac}, f)
					}
				}
			},
			compile: func(st *State, removed, set []*row) ([]Op, error) {
				var ops []Op
				for _, r := range removed {
					id, mac, err := splitVlanKey(r.vars["key"])
					if err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpDelRemote, VLAN: id, MAC: mac})
				}
				for _, r := range set {
					id, mac, err := splitVlanKey(r.vars["key"])
					if err != nil {
						return nil, err
					}
					if ty := r.str("type"); ty != "" && ty != "static" && ty != "dynamic" {
						return nil, fmt.Errorf("type %q: want static or dynamic: %w", ty, ErrInvalid)
					}
					if _, ok := r.fields["vni"]; ok {
						if _, err := atoiField(r, "vni", 1, 1<<24-1); err != nil {
							return nil, err
						}
					}
					vtep := r.str("remote_vtep")
					if vtep == "" {
						return nil, fmt.Errorf("%s: remote_vtep is required: %w", r.vars["key"], ErrInvalid)
					}
					ops = append(ops, Op{Kind: OpSetRemote, VLAN: id, MAC: mac, IP: vtep})
				}
				return ops, nil
			},
		},
		{
			name: "STATE_DB FDB_TABLE", origin: originSONiC, scope: ScopeLearned,
			tmpl: tmpl("/STATE_DB/$ns/FDB_TABLE/$key"), fields: []string{"port", "type"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok {
					if port, ok := v.Learned[u.mac]; ok {
						emit(map[string]string{"ns": "localhost", "key": vlanName(v.ID) + ":" + u.mac},
							map[string]*gnmipb.TypedValue{"port": strVal(port), "type": strVal("dynamic")})
					}
				}
			},
		},
		{
			name: "STATE_DB VXLAN_TUNNEL_TABLE", origin: originSONiC, scope: ScopeAll,
			tmpl: tmpl("/STATE_DB/$ns/VXLAN_TUNNEL_TABLE/$key"), fields: []string{"SRC_IP", "DST_IP", "tnl_src", "operstatus"},
			render: func(st *State, _ unit, emit emitFunc) {
				for ip := range peers(st, false) {
					emit(map[string]string{"ns": "localhost", "key": "EVPN_" + ip}, map[string]*gnmipb.TypedValue{
						"SRC_IP": strVal(st.TunnelIP), "DST_IP": strVal(ip), "tnl_src": strVal("EVPN"), "operstatus": strVal("up")})
				}
			},
		},

		// ---- Arista EOS ----
		{
			name: "arista-vxlan vlan-to-vni", origin: originOC, scope: ScopeVLAN, writable: true,
			tmpl:   tmpl("/interfaces/interface[name=$if]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis/vlan-to-vni[vlan=$vlan]"),
			fields: []string{"vlan", "vni"},
			render: func(st *State, u unit, emit emitFunc) {
				if v, ok := st.VLANs[u.vlan]; ok && v.VNI != 0 {
					emit(map[string]string{"if": st.VxlanIf, "vlan": strconv.Itoa(v.ID)},
						map[string]*gnmipb.TypedValue{"vlan": uintVal(v.ID), "vni": uintVal(v.VNI)})
				}
			},
			compile: func(st *State, removed, set []*row) ([]Op, error) {
				var ops []Op
				for _, r := range removed {
					id, _ := strconv.Atoi(r.vars["vlan"])
					ops = append(ops, Op{Kind: OpSetVNI, VLAN: id})
				}
				for _, r := range set {
					if r.vars["if"] != st.VxlanIf {
						return nil, fmt.Errorf("interface %q (the switch has %q): %w", r.vars["if"], st.VxlanIf, ErrNotFound)
					}
					id, err := strconv.Atoi(r.vars["vlan"])
					if err != nil {
						return nil, fmt.Errorf("vlan key %q: %w", r.vars["vlan"], ErrInvalid)
					}
					if s := r.str("vlan"); s != "" && s != r.vars["vlan"] {
						return nil, fmt.Errorf("vlan %s differs from the key %d: %w", s, id, ErrInvalid)
					}
					vni, err := atoiField(r, "vni", 1, 1<<24-1)
					if err != nil {
						return nil, err
					}
					ops = append(ops, Op{Kind: OpSetVNI, VLAN: id, VNI: vni})
				}
				return ops, nil
			},
		},
		{
			name: "arista-vxlan state", origin: originOC, scope: ScopeAll,
			tmpl:   tmpl("/interfaces/interface[name=$if]/arista-exp-eos-vxlan:arista-vxlan/state"),
			fields: []string{"src-ip-intf", "udp-port"},
			render: func(st *State, _ unit, emit emitFunc) {
				emit(map[string]string{"if": st.VxlanIf}, map[string]*gnmipb.TypedValue{
					"src-ip-intf": strVal("Loopback1"), "udp-port": uintVal(4789)})
			},
		},
	}
}

// listKeys maps every list element name of the schema to its key names,
// to turn JSON arrays into keyed path elements.
func listKeys(tables []*table) map[string][]string {
	out := map[string][]string{}
	for _, t := range tables {
		for _, te := range t.tmpl {
			if len(te.keys) > 0 && !strings.HasPrefix(te.name, "$") {
				out[localName(te.name)] = slices.Sorted(maps.Keys(te.keys))
			}
		}
	}
	return out
}
