package netconf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// junosModel is the adapter for Junos static VXLAN (ELS configuration
// syntax, no EVPN, no controller on the switch):
//
//	logical switch           vlans/vlan[name]            (one VLAN per logical switch)
//	VNI                      vlans/vlan/vxlan/vni        (removing the VNI removes the vxlan stanza)
//	source-node replication  vlans/vlan/vxlan/ingress-node-replication (written with every VNI)
//	unknown-dst flood list   vlans/vlan/vxlan/static-remote-vtep-list, each address also
//	                         in switch-options/remote-vtep-list (added when first used,
//	                         removed when the driver stops using it)
//	bindings (read)          interfaces/interface/unit[0]/family/ethernet-switching:
//	                         interface-mode access + vlan members L → VLAN 0;
//	                         trunk + members L → L's vlan-id; interfaces/interface/native-vlan-id N
//	                         → VLAN 0 of the vlan whose vlan-id is N
//	tunnel IPs (read)        the addresses of switch-options/vtep-source-interface (lo0.0)
//	switch name (read)       system/host-name
//	learned MACs (read)      <get-ethernet-switching-table-information/>: l2ng-mac-entry
//	                         {l2ng-l2-mac-address, l2ng-l2-mac-vlan-name, l2ng-l2-mac-logical-interface};
//	                         entries on vtep.* (learned from a tunnel) and esi.* are remote, not local
//
// What static VXLAN cannot express, the adapter reports in its
// capabilities rather than faking: remote unicast MACs (Junos learns
// them in the data plane from VXLAN traffic), multicast groups other than
// the flood list, service-node replication, the IP of a flood entry, and
// VNI 16777215 (Junos takes 0..16777214).
type junosModel struct{}

// MaxJunosVNI is the largest VNI Junos accepts.
const MaxJunosVNI = 16777214

func (junosModel) capabilities() drivers.Capabilities {
	return drivers.Capabilities{
		ReplicationModes:  []string{vtep.ReplicationSourceNode},
		RemoteMACsNeedVNI: true,
		NoUcastRemote:     true,
		FloodListsOnly:    true,
	}
}

func (junosModel) filter() string {
	return `<filter type="subtree"><configuration><system><host-name/></system><interfaces/><switch-options/><vlans/></configuration></filter>`
}

type jConfig struct {
	XMLName     xml.Name `xml:"configuration"`
	HostName    string   `xml:"system>host-name"`
	Interfaces  []jIf    `xml:"interfaces>interface"`
	SourceIf    string   `xml:"switch-options>vtep-source-interface"`
	RemoteVTEPs []string `xml:"switch-options>remote-vtep-list"`
	VLANs       []jVLAN  `xml:"vlans>vlan"`
}

type jIf struct {
	Name       string  `xml:"name"`
	NativeVLAN string  `xml:"native-vlan-id"`
	Units      []jUnit `xml:"unit"`
}

type jUnit struct {
	Name    string   `xml:"name"`
	Inet    []string `xml:"family>inet>address>name"`
	Inet6   []string `xml:"family>inet6>address>name"`
	Mode    string   `xml:"family>ethernet-switching>interface-mode"`
	Members []string `xml:"family>ethernet-switching>vlan>members"`
}

type jVLAN struct {
	Name   string  `xml:"name"`
	VLANID string  `xml:"vlan-id"`
	VXLAN  *jVXLAN `xml:"vxlan"`
}

type jVXLAN struct {
	VNI    string    `xml:"vni"`
	INR    *struct{} `xml:"ingress-node-replication"`
	Static []string  `xml:"static-remote-vtep-list"`
}

func (junosModel) parse(data []byte) (*state, error) {
	st := newState()
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return st, nil
	}
	var c jConfig
	if err := xml.Unmarshal(trimmed, &c); err != nil {
		return nil, fmt.Errorf("parse junos configuration: %w", err)
	}
	st.remoteVTEPs = c.RemoteVTEPs
	byID := map[int]string{}
	vlanID := map[string]int{}
	for _, v := range c.VLANs {
		ls := vtep.LogicalSwitch{Name: v.Name}
		if id, err := strconv.Atoi(strings.TrimSpace(v.VLANID)); err == nil {
			byID[id], vlanID[v.Name] = v.Name, id
		}
		if x := v.VXLAN; x != nil {
			if vni, err := strconv.Atoi(strings.TrimSpace(x.VNI)); err == nil {
				ls.VNI = &vni
			}
			if x.INR != nil {
				ls.ReplicationMode = vtep.ReplicationSourceNode
			}
			if ls.VNI != nil && len(x.Static) > 0 {
				k := vtep.MACKey{LS: v.Name, MAC: vtep.UnknownDst}
				st.mcastRemote[k] = vtep.McastMAC{MACKey: k, Locators: vtep.NormalizeLocators(slices.Clone(x.Static))}
			}
		}
		st.ls[v.Name] = ls
	}
	srcIf, srcUnit, _ := strings.Cut(c.SourceIf, ".")
	ps := vtep.PhysicalSwitch{Name: c.HostName}
	for _, in := range c.Interfaces {
		if in.Name == srcIf {
			for _, u := range in.Units {
				if u.Name != srcUnit {
					continue
				}
				for _, a := range append(slices.Clone(u.Inet), u.Inet6...) {
					if p, err := netip.ParsePrefix(strings.TrimSpace(a)); err == nil {
						ps.TunnelIPs = append(ps.TunnelIPs, p.Addr().String())
					}
				}
			}
			continue
		}
		if strings.HasPrefix(in.Name, "lo") {
			continue
		}
		port := vtep.Port{Name: in.Name, Bindings: map[int]string{}}
		for _, u := range in.Units {
			if u.Name != "0" {
				continue
			}
			for _, m := range u.Members {
				name := strings.TrimSpace(m)
				if id, err := strconv.Atoi(name); err == nil {
					name = byID[id]
				}
				if _, ok := st.ls[name]; !ok {
					continue // a range or a vlan we do not know
				}
				if u.Mode == "trunk" {
					if id := vlanID[name]; id > 0 {
						port.Bindings[id] = name
					}
				} else {
					port.Bindings[0] = name
				}
			}
		}
		if id, err := strconv.Atoi(strings.TrimSpace(in.NativeVLAN)); err == nil && byID[id] != "" {
			port.Bindings[0] = byID[id]
		}
		ps.Ports = append(ps.Ports, port)
	}
	slices.SortFunc(ps.Ports, func(a, b vtep.Port) int { return strings.Compare(a.Name, b.Name) })
	if ps.Name != "" || len(ps.TunnelIPs) > 0 || len(ps.Ports) > 0 {
		st.switches = []vtep.PhysicalSwitch{ps}
	}
	return st, nil
}

func (junosModel) opRPC() string { return "<get-ethernet-switching-table-information/>" }

type jMACEntry struct {
	VLAN  string `xml:"l2ng-l2-mac-vlan-name"`
	MAC   string `xml:"l2ng-l2-mac-address"`
	IFL   string `xml:"l2ng-l2-mac-logical-interface"`
	Flags string `xml:"l2ng-l2-mac-flags"`
}

// parseOp adds the learned MACs of an ethernet-switching table reply to
// st. Entries learned from tunnels (vtep.*) or EVPN (esi.*) are remote.
func (junosModel) parseOp(data []byte, st *state) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	locator := ""
	if len(st.switches) > 0 && len(st.switches[0].TunnelIPs) > 0 {
		locator = st.switches[0].TunnelIPs[0]
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("parse ethernet-switching table: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "l2ng-mac-entry" {
			continue
		}
		var e jMACEntry
		if err := dec.DecodeElement(&e, &se); err != nil {
			return fmt.Errorf("parse ethernet-switching table: %w", err)
		}
		ifl := strings.TrimSpace(e.IFL)
		if strings.HasPrefix(ifl, "vtep.") || strings.HasPrefix(ifl, "esi.") {
			continue
		}
		ls := strings.TrimSpace(e.VLAN)
		if _, ok := st.ls[ls]; !ok {
			continue
		}
		k := vtep.MACKey{LS: ls, MAC: vtep.NormalizeMAC(strings.TrimSpace(e.MAC))}
		st.ucastLocal[k] = vtep.UcastMAC{MACKey: k, Locator: locator}
	}
}

// edit renders a changeset as Junos configuration: VNI and flood-list
// changes per vlan, and the global remote-vtep-list kept a superset of
// every vlan's list.
func (m junosModel) edit(cs *vtep.Changeset, cur *state) (string, error) {
	type vlanEdit struct {
		vxlan string // "set", "delete" or ""
		vni   int
		add   []string
		del   []string
	}
	edits := map[string]*vlanEdit{}
	get := func(ls string) *vlanEdit {
		if edits[ls] == nil {
			edits[ls] = &vlanEdit{}
		}
		return edits[ls]
	}
	// The flood lists and VNIs after the changeset.
	hasVNI := map[string]bool{}
	flood := map[string][]string{}
	for n, ls := range cur.ls {
		hasVNI[n] = ls.VNI != nil
		if e, ok := cur.mcastRemote[vtep.MACKey{LS: n, MAC: vtep.UnknownDst}]; ok {
			flood[n] = e.Locators
		}
	}
	oldFlood := map[string][]string{}
	for n, l := range flood {
		oldFlood[n] = l
	}
	for _, c := range cs.LogicalSwitches {
		obs, ok := cur.ls[c.Name]
		if !ok {
			return "", fmt.Errorf("vlan %q does not exist on the switch: %w", c.Name, errInvalid)
		}
		if c.ReplicationMode == vtep.ReplicationServiceNode {
			return "", fmt.Errorf("vlan %q: Junos static VXLAN has no service-node replication: %w", c.Name, drivers.ErrUnsupported)
		}
		if c.VNI == nil {
			if obs.VNI != nil {
				get(c.Name).vxlan = "delete"
			}
			hasVNI[c.Name] = false
			delete(flood, c.Name)
			continue
		}
		if *c.VNI > MaxJunosVNI {
			return "", fmt.Errorf("vlan %q: VNI %d out of Junos' range 0..%d: %w", c.Name, *c.VNI, MaxJunosVNI, errInvalid)
		}
		if obs.VNI == nil || *obs.VNI != *c.VNI || obs.ReplicationMode != vtep.ReplicationSourceNode {
			e := get(c.Name)
			e.vxlan, e.vni = "set", *c.VNI
		}
		hasVNI[c.Name] = true
	}
	for _, c := range cs.UcastRemote {
		if c.Set != nil {
			return "", fmt.Errorf("remote MAC %s: Junos static VXLAN has no static remote MACs (they are learned from VXLAN traffic): %w", c.Key, drivers.ErrUnsupported)
		}
		if _, ok := cur.ls[c.Key.LS]; !ok {
			return "", fmt.Errorf("vlan %q does not exist on the switch: %w", c.Key.LS, errInvalid)
		}
	}
	for _, c := range cs.McastRemote {
		if _, ok := cur.ls[c.Key.LS]; !ok {
			return "", fmt.Errorf("vlan %q does not exist on the switch: %w", c.Key.LS, errInvalid)
		}
		if c.Key.MAC != vtep.UnknownDst {
			if c.Set == nil {
				continue // never present
			}
			return "", fmt.Errorf("multicast MAC %s: Junos static VXLAN floods multicast with the static-remote-vtep-list; per-group lists are not supported: %w", c.Key, drivers.ErrUnsupported)
		}
		if c.Set == nil {
			delete(flood, c.Key.LS)
			continue
		}
		if c.Set.IP != "" {
			return "", fmt.Errorf("flood entry %s: an IP cannot be set on a static-remote-vtep-list: %w", c.Key, drivers.ErrUnsupported)
		}
		if !hasVNI[c.Key.LS] {
			return "", fmt.Errorf("flood entry %s: vlan has no VNI (a static-remote-vtep-list lives in the vxlan stanza): %w", c.Key, errInvalid)
		}
		flood[c.Key.LS] = vtep.NormalizeLocators(slices.Clone(c.Set.Locators))
	}
	// Per-vlan list changes. A deleted vxlan stanza takes its list along.
	for n := range union(flood, oldFlood) {
		if e := edits[n]; e != nil && e.vxlan == "delete" {
			continue
		}
		old, now := oldFlood[n], flood[n]
		for _, ip := range now {
			if !slices.Contains(old, ip) {
				get(n).add = append(get(n).add, ip)
			}
		}
		for _, ip := range old {
			if !slices.Contains(now, ip) {
				get(n).del = append(get(n).del, ip)
			}
		}
	}
	// The global list: add what a vlan now uses, remove what no vlan uses
	// any more and some vlan used before.
	used, before := map[string]bool{}, map[string]bool{}
	for _, l := range flood {
		for _, ip := range l {
			used[ip] = true
		}
	}
	for _, l := range oldFlood {
		for _, ip := range l {
			before[ip] = true
		}
	}
	var gAdd, gDel []string
	for ip := range used {
		if !slices.Contains(cur.remoteVTEPs, ip) {
			gAdd = append(gAdd, ip)
		}
	}
	for ip := range before {
		if !used[ip] && slices.Contains(cur.remoteVTEPs, ip) {
			gDel = append(gDel, ip)
		}
	}
	slices.Sort(gAdd)
	slices.Sort(gDel)
	var b strings.Builder
	for n, e := range edits {
		if e.vxlan == "" && len(e.add) == 0 && len(e.del) == 0 {
			delete(edits, n)
		}
	}
	if len(edits) == 0 && len(gAdd) == 0 && len(gDel) == 0 {
		return "", nil
	}
	fmt.Fprintf(&b, `<configuration xmlns:nc="%s">`, ncNS)
	if len(gAdd)+len(gDel) > 0 {
		b.WriteString("<switch-options>")
		for _, ip := range gAdd {
			fmt.Fprintf(&b, "<remote-vtep-list>%s</remote-vtep-list>", esc(ip))
		}
		for _, ip := range gDel {
			fmt.Fprintf(&b, `<remote-vtep-list nc:operation="delete">%s</remote-vtep-list>`, esc(ip))
		}
		b.WriteString("</switch-options>")
	}
	if len(edits) > 0 {
		b.WriteString("<vlans>")
		names := make([]string, 0, len(edits))
		for n := range edits {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			e := edits[n]
			fmt.Fprintf(&b, "<vlan><name>%s</name>", esc(n))
			if e.vxlan == "delete" {
				b.WriteString(`<vxlan nc:operation="delete"/></vlan>`)
				continue
			}
			b.WriteString("<vxlan>")
			if e.vxlan == "set" {
				fmt.Fprintf(&b, "<vni>%d</vni><ingress-node-replication/>", e.vni)
			}
			slices.Sort(e.add)
			slices.Sort(e.del)
			for _, ip := range e.add {
				fmt.Fprintf(&b, "<static-remote-vtep-list>%s</static-remote-vtep-list>", esc(ip))
			}
			for _, ip := range e.del {
				fmt.Fprintf(&b, `<static-remote-vtep-list nc:operation="delete">%s</static-remote-vtep-list>`, esc(ip))
			}
			b.WriteString("</vxlan></vlan>")
		}
		b.WriteString("</vlans>")
	}
	b.WriteString("</configuration>")
	return b.String(), nil
}
