package gnmiface

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// EOS "cli" origin: the subset of EOS configuration commands that static
// VXLAN needs, as EOS accepts them in a gNMI Set with origin "cli":
//
//	interface Vxlan1
//	   vxlan vlan 100 vni 10100
//	   vxlan vlan 100 flood vtep 10.0.0.2 10.0.0.3
//	   vxlan vlan 100 flood vtep add|remove 10.0.0.4
//	   no vxlan vlan 100 flood vtep
//	   no vxlan vlan 100 vni
//	mac address-table static 0011.2233.4455 vlan 100 interface Vxlan1 vtep 10.0.0.2
//	no mac address-table static 0011.2233.4455 vlan 100
//
// and "show running-config" (Get) answered in EOS's JSON form
// {"cmds": {"interface Vxlan1": {"cmds": {...}}, "mac address-table ...": null}}.

// parseCLI turns configuration lines into operations.
func parseCLI(text string, st *State) ([]Op, error) {
	var ops []Op
	inVxlan := false
	for n, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "!") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			inVxlan = false
		}
		f := strings.Fields(t)
		bad := func(why string) error {
			return fmt.Errorf("cli line %d %q: %s: %w", n+1, t, why, ErrInvalid)
		}
		neg := f[0] == "no"
		if neg {
			f = f[1:]
		}
		switch {
		case len(f) == 0:
			return nil, bad("incomplete command")
		case f[0] == "end" || f[0] == "configure":
		case f[0] == "exit":
			inVxlan = false
		case f[0] == "interface" && !neg:
			name := strings.Join(f[1:], "")
			if !strings.EqualFold(name, st.VxlanIf) {
				return nil, bad("only interface " + st.VxlanIf + " is supported")
			}
			inVxlan = true
		case f[0] == "vxlan" && len(f) >= 4 && f[1] == "vlan":
			if !inVxlan {
				return nil, bad("vxlan commands belong under interface " + st.VxlanIf)
			}
			vlan, err := strconv.Atoi(f[2])
			if err != nil {
				return nil, bad("bad VLAN")
			}
			switch {
			case f[3] == "vni" && neg:
				ops = append(ops, Op{Kind: OpSetVNI, VLAN: vlan})
			case f[3] == "vni" && len(f) == 5:
				vni, err := strconv.Atoi(f[4])
				if err != nil {
					return nil, bad("bad VNI")
				}
				ops = append(ops, Op{Kind: OpSetVNI, VLAN: vlan, VNI: vni})
			case f[3] == "flood" && len(f) >= 5 && f[4] == "vtep":
				rest := f[5:]
				switch {
				case neg:
					ops = append(ops, Op{Kind: OpSetFlood, VLAN: vlan})
				case len(rest) > 0 && (rest[0] == "add" || rest[0] == "remove"):
					kind := OpAddFlood
					if rest[0] == "remove" {
						kind = OpDelFlood
					}
					for _, ip := range rest[1:] {
						ops = append(ops, Op{Kind: kind, VLAN: vlan, IP: ip})
					}
				default:
					ops = append(ops, Op{Kind: OpSetFlood, VLAN: vlan, IPs: slices.Clone(rest)})
				}
			default:
				return nil, bad("unsupported vxlan command")
			}
		case len(f) >= 6 && f[0] == "mac" && f[1] == "address-table" && f[2] == "static" && f[4] == "vlan":
			vlan, err := strconv.Atoi(f[5])
			if err != nil {
				return nil, bad("bad VLAN")
			}
			if neg {
				ops = append(ops, Op{Kind: OpDelRemote, VLAN: vlan, MAC: f[3]})
				continue
			}
			if len(f) != 10 || f[6] != "interface" || f[8] != "vtep" {
				return nil, bad("want: mac address-table static MAC vlan V interface " + st.VxlanIf + " vtep IP")
			}
			if !strings.EqualFold(f[7], st.VxlanIf) {
				return nil, bad("static remote MACs must point at interface " + st.VxlanIf)
			}
			ops = append(ops, Op{Kind: OpSetRemote, VLAN: vlan, MAC: f[3], IP: f[9]})
		default:
			return nil, bad("unsupported command (the simulator knows static VXLAN commands only)")
		}
	}
	return ops, nil
}

// dottedMAC prints aa:bb:cc:dd:ee:ff as EOS does: aabb.ccdd.eeff.
func dottedMAC(mac string) string {
	h := strings.ReplaceAll(mac, ":", "")
	if len(h) != 12 {
		return mac
	}
	return h[0:4] + "." + h[4:8] + "." + h[8:12]
}

// runningConfig renders the VXLAN part of the configuration in EOS's JSON
// form of "show running-config".
func runningConfig(st *State) ([]byte, error) {
	vx := map[string]any{
		"vxlan source-interface Loopback1": nil,
		"vxlan udp-port 4789":              nil,
	}
	top := map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(st.VLANs)) {
		v := st.VLANs[id]
		if v.VNI != 0 {
			vx[fmt.Sprintf("vxlan vlan %d vni %d", id, v.VNI)] = nil
		}
		if len(v.Flood) > 0 {
			vx[fmt.Sprintf("vxlan vlan %d flood vtep %s", id, strings.Join(v.FloodList(), " "))] = nil
		}
		for mac, ip := range v.Remote {
			top[fmt.Sprintf("mac address-table static %s vlan %d interface %s vtep %s", dottedMAC(mac), id, st.VxlanIf, ip)] = nil
		}
	}
	top["interface "+st.VxlanIf] = map[string]any{"cmds": vx, "comments": []string{}}
	return json.Marshal(map[string]any{
		"cmds":     top,
		"comments": []string{},
		"header":   []string{"! device: " + st.Name + " (vtepsim gNMI face)"},
	})
}
