package netconf

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// adapter maps the switch-neutral model onto one YANG data model.
type adapter interface {
	// filter is the get-config subtree filter for the adapter's data.
	filter() string
	// parse turns the inner XML of get-config's <data> into a snapshot.
	parse(data []byte) (*state, error)
	// edit renders a changeset as the content of edit-config's <config>.
	// It returns "" when nothing needs writing.
	edit(cs *vtep.Changeset, cur *state) (string, error)
	// capabilities says what the model can express.
	capabilities() drivers.Capabilities
}

// opReader is implemented by adapters that read learned entries with an
// operational RPC rather than from configuration data.
type opReader interface {
	// opRPC is the operation to call after get-config.
	opRPC() string
	// parseOp adds the reply's entries to st.
	parseOp(data []byte, st *state) error
}

var adapters = map[string]adapter{"vtepgw": vtepgwModel{}, "junos": junosModel{}}

// Namespace of yang/vtepgw-switch.yang.
const vswNS = "urn:vtepgw:params:xml:ns:yang:vtepgw-switch"

const ncNS = "urn:ietf:params:xml:ns:netconf:base:1.0"

type vswVTEP struct {
	XMLName   xml.Name  `xml:"vtep"`
	Name      string    `xml:"name"`
	TunnelIPs []string  `xml:"tunnel-ip"`
	Ports     []vswPort `xml:"port"`
	LS        []vswLS   `xml:"logical-switch"`
}

type vswPort struct {
	Name     string       `xml:"name"`
	Bindings []vswBinding `xml:"binding"`
}

type vswBinding struct {
	VLAN int    `xml:"vlan"`
	LS   string `xml:"logical-switch"`
}

type vswLS struct {
	Name      string     `xml:"name"`
	VNI       *int       `xml:"vni"`
	Mode      string     `xml:"replication-mode"`
	Remote    []vswUcast `xml:"remote-mac"`
	McastRem  []vswMcast `xml:"mcast-remote"`
	Learned   []vswUcast `xml:"learned-mac"`
	LearnedMc []vswMcast `xml:"learned-mcast"`
}

type vswUcast struct {
	MAC      string `xml:"mac"`
	TunnelIP string `xml:"tunnel-ip"`
	IP       string `xml:"ip"`
}

type vswMcast struct {
	MAC       string   `xml:"mac"`
	IP        string   `xml:"ip"`
	TunnelIPs []string `xml:"tunnel-ip"`
}

// vtepgwModel is the adapter for the project's own YANG module.
type vtepgwModel struct{}

// The module has a place for every part of the model; it has no limits of
// its own.
func (vtepgwModel) capabilities() drivers.Capabilities {
	return drivers.Capabilities{ReplicationModes: []string{vtep.ReplicationSourceNode, vtep.ReplicationServiceNode}}
}

func (vtepgwModel) filter() string {
	return `<filter type="subtree"><vtep xmlns="` + vswNS + `"/></filter>`
}

var modes = map[string]string{"source-node": vtep.ReplicationSourceNode, "service-node": vtep.ReplicationServiceNode}

func (vtepgwModel) parse(data []byte) (*state, error) {
	st := newState()
	var v vswVTEP
	trimmed := strings.TrimSpace(string(data))
	if trimmed == "" {
		return st, nil
	}
	if err := xml.Unmarshal([]byte(trimmed), &v); err != nil {
		return nil, fmt.Errorf("parse vtepgw-switch data: %w", err)
	}
	if v.Name != "" {
		ps := vtep.PhysicalSwitch{Name: v.Name, TunnelIPs: v.TunnelIPs}
		for _, p := range v.Ports {
			port := vtep.Port{Name: p.Name, Bindings: map[int]string{}}
			for _, b := range p.Bindings {
				port.Bindings[b.VLAN] = b.LS
			}
			ps.Ports = append(ps.Ports, port)
		}
		slices.SortFunc(ps.Ports, func(a, b vtep.Port) int { return strings.Compare(a.Name, b.Name) })
		st.switches = []vtep.PhysicalSwitch{ps}
	}
	for _, l := range v.LS {
		st.ls[l.Name] = vtep.LogicalSwitch{Name: l.Name, VNI: l.VNI, ReplicationMode: modes[l.Mode]}
		for _, m := range l.Remote {
			k := vtep.MACKey{LS: l.Name, MAC: vtep.NormalizeMAC(m.MAC)}
			st.ucastRemote[k] = vtep.UcastMAC{MACKey: k, Locator: m.TunnelIP, IP: m.IP}
		}
		for _, m := range l.Learned {
			k := vtep.MACKey{LS: l.Name, MAC: vtep.NormalizeMAC(m.MAC)}
			st.ucastLocal[k] = vtep.UcastMAC{MACKey: k, Locator: m.TunnelIP, IP: m.IP}
		}
		for _, m := range l.McastRem {
			k := vtep.MACKey{LS: l.Name, MAC: vtep.NormalizeMAC(m.MAC)}
			st.mcastRemote[k] = vtep.McastMAC{MACKey: k, IP: m.IP, Locators: vtep.NormalizeLocators(m.TunnelIPs)}
		}
		for _, m := range l.LearnedMc {
			k := vtep.MACKey{LS: l.Name, MAC: vtep.NormalizeMAC(m.MAC)}
			st.mcastLocal[k] = vtep.McastMAC{MACKey: k, IP: m.IP, Locators: vtep.NormalizeLocators(m.TunnelIPs)}
		}
	}
	return st, nil
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// edit renders one edit-config: every change of a logical switch goes into
// that switch's list entry; remote entries are replaced whole, deletes use
// operation="remove" (no error when already gone).
func (vtepgwModel) edit(cs *vtep.Changeset, cur *state) (string, error) {
	per := map[string]*strings.Builder{}
	entry := func(ls string) *strings.Builder {
		b, ok := per[ls]
		if !ok {
			b = &strings.Builder{}
			per[ls] = b
		}
		return b
	}
	for _, c := range cs.LogicalSwitches {
		if _, ok := cur.ls[c.Name]; !ok {
			return "", fmt.Errorf("logical switch %q does not exist on the switch: %w", c.Name, errInvalid)
		}
		b := entry(c.Name)
		if c.VNI == nil {
			b.WriteString(`<vni nc:operation="remove"/>`)
		} else {
			if *c.VNI < 0 || *c.VNI > 16777215 {
				return "", fmt.Errorf("VNI %d out of range: %w", *c.VNI, errInvalid)
			}
			fmt.Fprintf(b, "<vni>%d</vni>", *c.VNI)
		}
		switch c.ReplicationMode {
		case vtep.ReplicationSourceNode:
			b.WriteString("<replication-mode>source-node</replication-mode>")
		case vtep.ReplicationServiceNode:
			b.WriteString("<replication-mode>service-node</replication-mode>")
		}
	}
	for _, c := range cs.UcastRemote {
		if err := checkMACKey(c.Key, cur, false); err != nil {
			return "", err
		}
		b := entry(c.Key.LS)
		if c.Set == nil {
			fmt.Fprintf(b, `<remote-mac nc:operation="remove"><mac>%s</mac></remote-mac>`, esc(c.Key.MAC))
			continue
		}
		fmt.Fprintf(b, `<remote-mac nc:operation="replace"><mac>%s</mac><tunnel-ip>%s</tunnel-ip>`, esc(c.Key.MAC), esc(c.Set.Locator))
		if c.Set.IP != "" {
			fmt.Fprintf(b, "<ip>%s</ip>", esc(c.Set.IP))
		}
		b.WriteString("</remote-mac>")
	}
	for _, c := range cs.McastRemote {
		if err := checkMACKey(c.Key, cur, true); err != nil {
			return "", err
		}
		b := entry(c.Key.LS)
		if c.Set == nil {
			fmt.Fprintf(b, `<mcast-remote nc:operation="remove"><mac>%s</mac></mcast-remote>`, esc(c.Key.MAC))
			continue
		}
		fmt.Fprintf(b, `<mcast-remote nc:operation="replace"><mac>%s</mac>`, esc(c.Key.MAC))
		if c.Set.IP != "" {
			fmt.Fprintf(b, "<ip>%s</ip>", esc(c.Set.IP))
		}
		for _, ip := range c.Set.Locators {
			fmt.Fprintf(b, "<tunnel-ip>%s</tunnel-ip>", esc(ip))
		}
		b.WriteString("</mcast-remote>")
	}
	if len(per) == 0 {
		return "", nil
	}
	var out strings.Builder
	fmt.Fprintf(&out, `<vtep xmlns="%s" xmlns:nc="%s">`, vswNS, ncNS)
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&out, "<logical-switch><name>%s</name>%s</logical-switch>", esc(n), per[n].String())
	}
	out.WriteString("</vtep>")
	return out.String(), nil
}

func checkMACKey(k vtep.MACKey, cur *state, mcastOK bool) error {
	if _, ok := cur.ls[k.LS]; !ok {
		return fmt.Errorf("logical switch %q does not exist on the switch: %w", k.LS, errInvalid)
	}
	if mcastOK && k.MAC == vtep.UnknownDst {
		return nil
	}
	if len(k.MAC) != 17 || strings.Count(k.MAC, ":") != 5 {
		return fmt.Errorf("bad MAC %q: %w", k.MAC, errInvalid)
	}
	return nil
}
