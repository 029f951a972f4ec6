package netconfface

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// view is one data model the face serves over the same State.
type view interface {
	// top is the top-level element's name and namespace ("" matches any).
	top() (name, ns string)
	schema() *schema
	// render shows st as a tree rooted at the top element.
	render(st *State) *node
	// parse reads a (validated) tree back into a copy of base: what the
	// model can express is replaced, the rest is kept.
	parse(n *node, base *State) (*State, error)
}

// VtepgwNS is the namespace of yang/vtepgw-switch.yang.
const VtepgwNS = "urn:vtepgw:params:xml:ns:yang:vtepgw-switch"

// VtepgwCapability is the module's capability URI in the hello.
const VtepgwCapability = VtepgwNS + "?module=vtepgw-switch&revision=2026-11-24"

var macRE = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)

func validMAC(s string) bool { return macRE.MatchString(s) }

func checkMAC(s string) error {
	if !validMAC(s) {
		return errors.New("not a MAC address (xx:xx:xx:xx:xx:xx)")
	}
	return nil
}

func checkMcastMAC(s string) error {
	if s == UnknownDst {
		return nil
	}
	return checkMAC(s)
}

func checkIP(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return errors.New("not an IP address")
	}
	return nil
}

func checkUint(lo, hi int) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil || int(v) < lo || int(v) > hi {
			return fmt.Errorf("value %q not in range %d..%d", s, lo, hi)
		}
		return nil
	}
}

func checkEnum(vals ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(vals, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(vals, ", "))
		}
		return nil
	}
}

func checkString(s string) error {
	if s == "" {
		return errors.New("empty string")
	}
	return nil
}

type vtepgwView struct{}

var vtepgwSchema = func() *schema {
	tunnelIPs := ll(checkIP)
	tunnelIPs.userOrdered = true
	binding := lst([]string{"vlan"}, kid("vlan", lf(checkUint(0, 4095))), kid("logical-switch", lf(checkString)))
	binding.mandatory = []string{"logical-switch"}
	remote := lst([]string{"mac"}, kid("mac", lf(checkMAC)), kid("tunnel-ip", lf(checkIP)), kid("ip", lf(checkIP)))
	remote.mandatory = []string{"tunnel-ip"}
	mcastIPs := ll(checkIP)
	mcastIPs.minElements = 1
	mcastIPs.userOrdered = true
	mcast := lst([]string{"mac"}, kid("mac", lf(checkMcastMAC)), kid("ip", lf(checkIP)), kid("tunnel-ip", mcastIPs))
	learnedMcIPs := ll(checkIP)
	learnedMcIPs.userOrdered = true
	return ctr(
		kid("name", lf(nil)),
		kid("tunnel-ip", tunnelIPs),
		kid("port", lst([]string{"name"}, kid("name", lf(checkString)), kid("binding", binding))),
		kid("logical-switch", lst([]string{"name"},
			kid("name", lf(checkString)),
			kid("vni", lf(checkUint(0, 16777215))),
			kid("replication-mode", lf(checkEnum("source-node", "service-node"))),
			kid("remote-mac", remote),
			kid("mcast-remote", mcast),
			kid("learned-mac", lst([]string{"mac"}, kid("mac", lf(checkMAC)), kid("ip", lf(checkIP)))),
			kid("learned-mcast", lst([]string{"mac"}, kid("mac", lf(nil)), kid("ip", lf(checkIP)), kid("tunnel-ip", learnedMcIPs))),
		)),
	)
}()

func (vtepgwView) top() (string, string) { return "vtep", VtepgwNS }

func (vtepgwView) schema() *schema { return vtepgwSchema }

func (vtepgwView) render(st *State) *node {
	n := &node{name: "vtep", ns: VtepgwNS}
	if st.Name != "" {
		n.leaf("name", st.Name)
	}
	for _, ip := range st.TunnelIPs {
		n.leaf("tunnel-ip", ip)
	}
	for _, p := range sortedKeys(st.Ports) {
		pn := n.add(&node{name: "port"})
		pn.leaf("name", p)
		vlans := make([]int, 0, len(st.Ports[p]))
		for v := range st.Ports[p] {
			vlans = append(vlans, v)
		}
		slices.Sort(vlans)
		for _, v := range vlans {
			b := pn.add(&node{name: "binding"})
			b.leaf("vlan", strconv.Itoa(v))
			b.leaf("logical-switch", st.Ports[p][v])
		}
	}
	for _, name := range sortedKeys(st.LS) {
		l := st.LS[name]
		ln := n.add(&node{name: "logical-switch"})
		ln.leaf("name", name)
		if l.VNI != nil {
			ln.leaf("vni", strconv.Itoa(*l.VNI))
		}
		if l.Mode != "" {
			ln.leaf("replication-mode", l.Mode)
		}
		for _, mac := range sortedKeys(l.Remote) {
			r := l.Remote[mac]
			e := ln.add(&node{name: "remote-mac"})
			e.leaf("mac", mac)
			e.leaf("tunnel-ip", r.TunnelIP)
			if r.IP != "" {
				e.leaf("ip", r.IP)
			}
		}
		renderMcast(ln, "mcast-remote", l.Mcast)
		for _, mac := range sortedKeys(l.Learned) {
			e := ln.add(&node{name: "learned-mac"})
			e.leaf("mac", mac)
			if ip := l.Learned[mac].IP; ip != "" {
				e.leaf("ip", ip)
			}
		}
		renderMcast(ln, "learned-mcast", l.LearnedMcast)
	}
	return n
}

func renderMcast(ln *node, name string, m map[string]Mcast) {
	for _, mac := range sortedKeys(m) {
		e := ln.add(&node{name: name})
		e.leaf("mac", mac)
		if m[mac].IP != "" {
			e.leaf("ip", m[mac].IP)
		}
		for _, ip := range m[mac].TunnelIPs {
			e.leaf("tunnel-ip", ip)
		}
	}
}

func (vtepgwView) parse(n *node, base *State) (*State, error) {
	st := &State{Name: n.childText("name"), Ports: map[string]map[int]string{}, LS: map[string]*LS{}, RemoteVTEPs: slices.Clone(base.RemoteVTEPs)}
	for _, k := range n.children("tunnel-ip") {
		st.TunnelIPs = append(st.TunnelIPs, k.text)
	}
	for _, p := range n.children("port") {
		b := map[int]string{}
		for _, bn := range p.children("binding") {
			v, _ := strconv.Atoi(bn.childText("vlan"))
			b[v] = bn.childText("logical-switch")
		}
		st.Ports[p.childText("name")] = b
	}
	for _, ln := range n.children("logical-switch") {
		l := NewLS(ln.childText("name"))
		if v := ln.child("vni"); v != nil {
			x, _ := strconv.Atoi(v.text)
			l.VNI = &x
		}
		l.Mode = ln.childText("replication-mode")
		for _, e := range ln.children("remote-mac") {
			l.Remote[e.childText("mac")] = Ucast{TunnelIP: e.childText("tunnel-ip"), IP: e.childText("ip")}
		}
		for _, e := range ln.children("mcast-remote") {
			l.Mcast[e.childText("mac")] = parseMcast(e)
		}
		for _, e := range ln.children("learned-mac") {
			mac := e.childText("mac")
			port := ""
			if bl := base.LS[l.Name]; bl != nil {
				port = bl.Learned[mac].Port
			}
			l.Learned[mac] = Learned{Port: port, IP: e.childText("ip")}
		}
		for _, e := range ln.children("learned-mcast") {
			l.LearnedMcast[e.childText("mac")] = parseMcast(e)
		}
		st.LS[l.Name] = l
	}
	// binding/logical-switch is a leafref: a binding names an existing
	// logical switch (as a hardware_vtep vlan_binding references its
	// Logical_Switch row, and as the Junos view requires).
	for _, p := range sortedKeys(st.Ports) {
		for _, v := range slices.Sorted(maps.Keys(st.Ports[p])) {
			if ls := st.Ports[p][v]; st.LS[ls] == nil {
				e := rpcErr("data-missing", fmt.Sprintf("/vtep/port[name='%s']/binding[vlan='%d']/logical-switch", p, v),
					"port %s VLAN %d is bound to logical switch %q, which does not exist", p, v, ls)
				e.AppTag = "instance-required"
				return nil, e
			}
		}
	}
	return st, nil
}

func parseMcast(e *node) Mcast {
	m := Mcast{IP: e.childText("ip")}
	for _, t := range e.children("tunnel-ip") {
		m.TunnelIPs = append(m.TunnelIPs, t.text)
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
