package netconfface

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// junosView shows the state as a subset of Junos configuration for static
// VXLAN (ELS syntax):
//
//	system host-name                                   State.Name
//	interfaces lo0 unit 0 family inet address A/32     State.TunnelIPs (the vtep-source-interface)
//	interfaces P unit 0 family ethernet-switching      State.Ports: interface-mode access + vlan members L → (P, 0) → L;
//	    {interface-mode, vlan members}                 trunk + members L → (P, vlan-id of L) → L;
//	interfaces P native-vlan-id N                      (P, 0) → the vlan whose vlan-id is N
//	switch-options vtep-source-interface lo0.0
//	switch-options remote-vtep-list IP                 State.RemoteVTEPs
//	vlans L vlan-id N                                  from L's tagged bindings (LS.VLANID when it has none)
//	vlans L vxlan vni V                                LS.VNI
//	vlans L vxlan ingress-node-replication             LS.Mode source-node
//	vlans L vxlan static-remote-vtep-list IP           LS.Mcast[unknown-dst]
//
// Remote unicast MACs and multicast groups have no place in Junos static
// VXLAN configuration (the switch learns remote MACs in the data plane);
// they are kept as they are. Learned MACs are served by the operational
// RPC get-ethernet-switching-table-information.
type junosView struct{}

var junosSchema = func() *schema {
	members := ll(checkString)
	members.userOrdered = true
	address := lst([]string{"name"}, kid("name", lf(checkPrefix)))
	unit := lst([]string{"name"},
		kid("name", lf(checkUint(0, 16385))),
		kid("family", ctr(
			kid("inet", ctr(kid("address", address))),
			kid("inet6", ctr(kid("address", lst([]string{"name"}, kid("name", lf(checkPrefix)))))),
			kid("ethernet-switching", ctr(
				kid("interface-mode", lf(checkEnum("access", "trunk"))),
				kid("vlan", ctr(kid("members", members))),
			)),
		)),
	)
	iface := lst([]string{"name"},
		kid("name", lf(checkString)),
		kid("description", lf(nil)),
		kid("native-vlan-id", lf(checkUint(1, 4094))),
		kid("unit", unit),
	)
	vteps := ll(checkIP)
	vteps.userOrdered = true
	static := ll(checkIP)
	static.userOrdered = true
	vlan := lst([]string{"name"},
		kid("name", lf(checkString)),
		kid("description", lf(nil)),
		kid("vlan-id", lf(checkUint(1, 4094))),
		kid("vxlan", ctr(
			kid("vni", lf(checkUint(0, 16777214))),
			kid("ingress-node-replication", &schema{kind: empty}),
			kid("static-remote-vtep-list", static),
		)),
	)
	return ctr(
		kid("system", ctr(kid("host-name", lf(nil)))),
		kid("interfaces", ctr(kid("interface", iface))),
		kid("switch-options", ctr(
			kid("vtep-source-interface", lf(checkString)),
			kid("remote-vtep-list", vteps),
		)),
		kid("vlans", ctr(kid("vlan", vlan))),
	)
}()

func checkPrefix(s string) error {
	if _, err := netip.ParsePrefix(s); err != nil {
		return fmt.Errorf("not an address/length")
	}
	return nil
}

func (junosView) top() (string, string) { return "configuration", "" }

func (junosView) schema() *schema { return junosSchema }

// taggedIDs returns, per logical switch, the lowest VLAN it is bound to
// with a tag.
func taggedIDs(st *State) map[string]int {
	ids := map[string]int{}
	for _, b := range st.Ports {
		for v, ls := range b {
			if v > 0 && (ids[ls] == 0 || v < ids[ls]) {
				ids[ls] = v
			}
		}
	}
	return ids
}

// vlanIDs returns the Junos vlan-id of every logical switch: the lowest
// VLAN it is bound to with a tag, else LS.VLANID.
func vlanIDs(st *State) map[string]int {
	ids := taggedIDs(st)
	for n, l := range st.LS {
		if ids[n] == 0 && l.VLANID > 0 {
			ids[n] = l.VLANID
		}
	}
	return ids
}

const sourceIf = "lo0.0"

func hostPrefix(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
		return ip + "/128"
	}
	return ip + "/32"
}

func (junosView) render(st *State) *node {
	n := &node{name: "configuration"}
	if st.Name != "" {
		n.add(&node{name: "system"}).leaf("host-name", st.Name)
	}
	ifs := n.add(&node{name: "interfaces"})
	ids := vlanIDs(st)
	for _, p := range sortedKeys(st.Ports) {
		in := ifs.add(&node{name: "interface"})
		in.leaf("name", p)
		b := st.Ports[p]
		if len(b) == 0 {
			continue
		}
		if ls, ok := b[0]; ok && len(b) == 1 {
			es := in.add(&node{name: "unit"})
			es.leaf("name", "0")
			sw := es.add(&node{name: "family"}).add(&node{name: "ethernet-switching"})
			sw.leaf("interface-mode", "access")
			sw.add(&node{name: "vlan"}).leaf("members", ls)
			continue
		}
		if ls, ok := b[0]; ok && ids[ls] > 0 {
			in.leaf("native-vlan-id", strconv.Itoa(ids[ls]))
		}
		u := in.add(&node{name: "unit"})
		u.leaf("name", "0")
		sw := u.add(&node{name: "family"}).add(&node{name: "ethernet-switching"})
		sw.leaf("interface-mode", "trunk")
		vl := sw.add(&node{name: "vlan"})
		var names []string
		for _, ls := range b {
			if !slices.Contains(names, ls) {
				names = append(names, ls)
			}
		}
		slices.Sort(names)
		for _, ls := range names {
			vl.leaf("members", ls)
		}
	}
	if len(st.TunnelIPs) > 0 {
		lo := ifs.add(&node{name: "interface"})
		lo.leaf("name", "lo0")
		u := lo.add(&node{name: "unit"})
		u.leaf("name", "0")
		inet := u.add(&node{name: "family"})
		var v4, v6 *node
		for _, ip := range st.TunnelIPs {
			fam := &v4
			name := "inet"
			if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
				fam, name = &v6, "inet6"
			}
			if *fam == nil {
				*fam = inet.add(&node{name: name})
			}
			(*fam).add(&node{name: "address"}).leaf("name", hostPrefix(ip))
		}
	}
	so := n.add(&node{name: "switch-options"})
	if len(st.TunnelIPs) > 0 {
		so.leaf("vtep-source-interface", sourceIf)
	}
	for _, ip := range st.RemoteVTEPs {
		so.leaf("remote-vtep-list", ip)
	}
	vls := n.add(&node{name: "vlans"})
	for _, name := range sortedKeys(st.LS) {
		l := st.LS[name]
		v := vls.add(&node{name: "vlan"})
		v.leaf("name", name)
		if id := ids[name]; id > 0 {
			v.leaf("vlan-id", strconv.Itoa(id))
		}
		if l.VNI == nil {
			continue
		}
		vx := v.add(&node{name: "vxlan"})
		vx.leaf("vni", strconv.Itoa(*l.VNI))
		if l.Mode == "source-node" {
			vx.add(&node{name: "ingress-node-replication"})
		}
		for _, ip := range l.Mcast[UnknownDst].TunnelIPs {
			vx.leaf("static-remote-vtep-list", ip)
		}
	}
	return n
}

func junosErr(path, format string, args ...any) error {
	return rpcErr("invalid-value", path, format, args...)
}

func (v junosView) parse(n *node, base *State) (*State, error) {
	st := base.Clone()
	orig := v.render(base)
	section := func(t *node, name string) *node {
		if s := t.child(name); s != nil {
			return s
		}
		return &node{name: name}
	}
	// Commit checks, as Junos makes them.
	so := section(n, "switch-options")
	global := map[string]bool{}
	for _, ip := range so.children("remote-vtep-list") {
		global[ip.text] = true
	}
	vnis := map[string]string{}
	vlanByName := map[string]*node{}
	vlanByID := map[int]string{}
	for _, vn := range section(n, "vlans").children("vlan") {
		name := vn.childText("name")
		vlanByName[name] = vn
		path := "/configuration/vlans/vlan[name='" + name + "']"
		if id := vn.childText("vlan-id"); id != "" {
			x, _ := strconv.Atoi(id)
			if other, dup := vlanByID[x]; dup {
				return nil, junosErr(path+"/vlan-id", "vlan-id %d is already used by vlan %s", x, other)
			}
			vlanByID[x] = name
		}
		vx := vn.child("vxlan")
		if vx == nil {
			continue
		}
		vni := vx.childText("vni")
		if vni == "" {
			return nil, rpcErr("missing-element", path+"/vxlan/vni", "vlan %s: vxlan vni must be configured", name)
		}
		if other, dup := vnis[vni]; dup {
			return nil, junosErr(path+"/vxlan/vni", "vni %s is already used by vlan %s", vni, other)
		}
		vnis[vni] = name
		for _, ip := range vx.children("static-remote-vtep-list") {
			if !global[ip.text] {
				return nil, junosErr(path+"/vxlan/static-remote-vtep-list", "vlan %s: static-remote-vtep-list %s is not configured under switch-options remote-vtep-list", name, ip.text)
			}
		}
	}

	if sys := section(n, "system"); !treeEqual(sys, section(orig, "system")) {
		st.Name = sys.childText("host-name")
	}
	st.RemoteVTEPs = nil
	for _, ip := range so.children("remote-vtep-list") {
		st.RemoteVTEPs = append(st.RemoteVTEPs, ip.text)
	}

	// VLANs: logical switches with their VNI, mode and flood list.
	tagged := taggedIDs(base)
	renamed := map[string][2]int{} // ls → old, new vlan-id
	lss := map[string]*LS{}
	for name, vn := range vlanByName {
		l := base.LS[name]
		if l == nil {
			l = NewLS(name)
		} else {
			l = l.Clone()
		}
		l.VLANID = 0
		if id := vn.childText("vlan-id"); id != "" {
			x, _ := strconv.Atoi(id)
			switch old := tagged[name]; {
			case old == 0:
				l.VLANID = x
			case old != x:
				renamed[name] = [2]int{old, x}
			}
		}
		vx := vn.child("vxlan")
		had := l.VNI != nil
		if vx != nil {
			x, _ := strconv.Atoi(vx.childText("vni"))
			l.VNI = &x
		} else {
			l.VNI = nil
		}
		switch {
		case vx != nil && vx.child("ingress-node-replication") != nil:
			l.Mode = "source-node"
		case l.Mode == "source-node":
			l.Mode = ""
		}
		var flood []string
		if vx != nil {
			for _, ip := range vx.children("static-remote-vtep-list") {
				flood = append(flood, ip.text)
			}
		}
		if vx != nil || had {
			if len(flood) == 0 {
				delete(l.Mcast, UnknownDst)
			} else {
				l.Mcast[UnknownDst] = Mcast{IP: l.Mcast[UnknownDst].IP, TunnelIPs: flood}
			}
		}
		lss[name] = l
	}
	st.LS = lss

	// Interfaces: ports and bindings, and the tunnel IPs of the VTEP
	// source interface. Unchanged sections keep the state as it was (the
	// Junos form cannot show every binding: a logical switch has one
	// vlan-id here).
	ifs := section(n, "interfaces")
	srcChanged := so.childText("vtep-source-interface") != section(orig, "switch-options").childText("vtep-source-interface")
	if treeEqual(ifs, section(orig, "interfaces")) && !srcChanged {
		for name, ids := range renamed {
			for _, b := range st.Ports {
				if b[ids[0]] == name {
					delete(b, ids[0])
					b[ids[1]] = name
				}
			}
		}
	} else {
		src := so.childText("vtep-source-interface")
		srcIf, srcUnit, _ := strings.Cut(src, ".")
		st.TunnelIPs = nil
		st.Ports = map[string]map[int]string{}
		for _, in := range ifs.children("interface") {
			name := in.childText("name")
			path := "/configuration/interfaces/interface[name='" + name + "']"
			if name == srcIf {
				for _, u := range in.children("unit") {
					if u.childText("name") != srcUnit {
						continue
					}
					fam := section(u, "family")
					for _, f := range []string{"inet", "inet6"} {
						for _, a := range section(fam, f).children("address") {
							p, _ := netip.ParsePrefix(a.childText("name"))
							st.TunnelIPs = append(st.TunnelIPs, p.Addr().String())
						}
					}
				}
				continue
			}
			if strings.HasPrefix(name, "lo") {
				continue
			}
			b := map[int]string{}
			for _, u := range in.children("unit") {
				sw := section(section(u, "family"), "ethernet-switching")
				trunk := sw.childText("interface-mode") == "trunk"
				for _, m := range section(sw, "vlan").children("members") {
					ls := m.text
					if x, err := strconv.Atoi(m.text); err == nil {
						ls = vlanByID[x]
					}
					vn := vlanByName[ls]
					if vn == nil {
						return nil, junosErr(path+"/unit/family/ethernet-switching/vlan/members", "interface %s: vlan members %s: no such vlan", name, m.text)
					}
					if !trunk {
						b[0] = ls
						continue
					}
					id, _ := strconv.Atoi(vn.childText("vlan-id"))
					if id == 0 {
						return nil, junosErr(path+"/unit/family/ethernet-switching/vlan/members", "interface %s: vlan %s has no vlan-id", name, ls)
					}
					b[id] = ls
				}
			}
			if nv := in.childText("native-vlan-id"); nv != "" {
				x, _ := strconv.Atoi(nv)
				ls, ok := vlanByID[x]
				if !ok {
					return nil, junosErr(path+"/native-vlan-id", "interface %s: native-vlan-id %d: no vlan with that vlan-id", name, x)
				}
				b[0] = ls
			}
			st.Ports[name] = b
		}
	}
	for p, b := range st.Ports {
		for v, ls := range b {
			if st.LS[ls] == nil {
				return nil, junosErr("/configuration/vlans", "vlan %s is used by interface %s (VLAN %d) and cannot be deleted", ls, p, v)
			}
		}
	}
	return st, nil
}

// JunosL2NS is the namespace of the ethernet-switching table reply.
const JunosL2NS = "http://xml.juniper.net/junos/21.4R0/junos-l2al"

// JunosNS is the namespace of the junos: attributes.
const JunosNS = "http://xml.juniper.net/junos/*/junos"

// ethernetSwitchingTable renders the reply to
// <get-ethernet-switching-table-information/>: one
// l2ng-l2ald-mac-entry-vlan per VLAN. MACs learned on ports show the port's
// logical interface (P.0, flags D); remote unicast MACs the controller
// wrote through the vtepgw module show as VXLAN-learned (vtep.32769, flags
// DR), as a Junos switch shows remote MACs it learned from tunnels.
func ethernetSwitchingTable(st *State, vlanName string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<l2ng-l2ald-rtb-macdb xmlns="%s" xmlns:junos="%s">`, JunosL2NS, JunosNS)
	ids := vlanIDs(st)
	firstPort := map[string]string{}
	for _, p := range sortedKeys(st.Ports) {
		for _, ls := range st.Ports[p] {
			if _, ok := firstPort[ls]; !ok {
				firstPort[ls] = p
			}
		}
	}
	for _, name := range sortedKeys(st.LS) {
		if vlanName != "" && vlanName != name {
			continue
		}
		l := st.LS[name]
		type entry struct{ mac, ifl, flags string }
		var es []entry
		for _, mac := range sortedKeys(l.Learned) {
			p := l.Learned[mac].Port
			if p == "" {
				p = firstPort[name]
			}
			es = append(es, entry{strings.ToLower(mac), p + ".0", "D"})
		}
		for _, mac := range sortedKeys(l.Remote) {
			es = append(es, entry{strings.ToLower(mac), "vtep.32769", "DR"})
		}
		if len(es) == 0 {
			continue
		}
		b.WriteString(`<l2ng-l2ald-mac-entry-vlan junos:style="brief-rtb">`)
		fmt.Fprintf(&b, "<mac-count-global>%d</mac-count-global><learnt-mac-count>%d</learnt-mac-count>", len(es), len(es))
		b.WriteString("<l2ng-l2-mac-routing-instance>default-switch</l2ng-l2-mac-routing-instance>")
		fmt.Fprintf(&b, "<l2ng-l2-vlan-id>%d</l2ng-l2-vlan-id>", ids[name])
		for _, e := range es {
			b.WriteString("<l2ng-mac-entry><l2ng-l2-mac-vlan-name>")
			escape(&b, name)
			fmt.Fprintf(&b, "</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>%s</l2ng-l2-mac-address>", e.mac)
			fmt.Fprintf(&b, "<l2ng-l2-mac-flags>%s</l2ng-l2-mac-flags><l2ng-l2-mac-age>-</l2ng-l2-mac-age>", e.flags)
			b.WriteString("<l2ng-l2-mac-logical-interface>")
			escape(&b, e.ifl)
			b.WriteString("</l2ng-l2-mac-logical-interface><l2ng-l2-mac-fwd-next-hop>0</l2ng-l2-mac-fwd-next-hop><l2ng-l2-mac-rtr-id>0</l2ng-l2-mac-rtr-id></l2ng-mac-entry>")
		}
		b.WriteString("</l2ng-l2ald-mac-entry-vlan>")
	}
	b.WriteString("</l2ng-l2ald-rtb-macdb>")
	return b.Bytes()
}
