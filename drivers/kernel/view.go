package kernel

import (
	"errors"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// zeroMAC is the kernel's flood (BUM) entry: vtep.UnknownDst.
const zeroMAC = "00:00:00:00:00:00"

// view is the kernel state a session reads: built by load from netlink
// dumps, kept current by events (learned MACs) and reloads (everything
// else). It only ever describes the configured logical switches.
type view struct {
	ls      map[string]*lsView
	owner   map[int]*lsView // ifindex of a bridge or of its VXLAN device → logical switch
	missing []string        // configured interfaces that do not exist
	ageing  time.Duration   // the bridges' MAC ageing time
}

// lsView is one logical switch: its bridge, VXLAN device and FDBs.
type lsView struct {
	name     string
	bridge   int // ifindex; 0 when missing
	brUp     bool
	brAlias  string
	vxlan    int // ifindex of the VXLAN device on the bridge; 0: none
	vxlans   int // VXLAN devices on the bridge
	vni      int
	vxOK     bool // the VXLAN device is configured as the options say
	portsBad bool // an existing configured port is not in the bridge
	// vx is the VXLAN FDB (NTF_SELF): MAC → destinations, in the
	// kernel's order.
	vx map[string][]string
	// br is the bridge FDB, minus the bridge device's own entries.
	br map[string]brEntry
	// ips are permanent neighbour entries on the bridge (ARP/ND
	// suppression): MAC → IPs.
	ips map[string][]string
}

type brEntry struct {
	port  int
	state int
	flags int
}

// learned: an entry the bridge learned, not one somebody added.
func (e brEntry) learned() bool {
	return e.state&(netlink.NUD_PERMANENT|netlink.NUD_NOARP) == 0 || e.flags&netlink.NTF_EXT_LEARNED != 0
}

// static: added by hand, not local ("bridge fdb add … master static").
func (e brEntry) static() bool {
	return e.state&netlink.NUD_NOARP != 0 && e.state&netlink.NUD_PERMANENT == 0
}

func newLSView(name string) *lsView {
	return &lsView{name: name, vx: map[string][]string{}, br: map[string]brEntry{}, ips: map[string][]string{}}
}

// healthy: bridge up, every existing configured port in it, at most one
// VXLAN device and that one configured as the options say.
func (l *lsView) healthy() bool {
	return l.bridge != 0 && l.brUp && !l.portsBad && l.vxlans <= 1 && (l.vxlan == 0 || l.vxOK)
}

// observedVNI: the VXLAN device's VNI; 0 when there is none and the bridge
// is marked vni=0; unset when there is none or the logical switch needs a
// repair (so the core's next Apply of the VNI repairs it).
func (l *lsView) observedVNI() *int {
	if !l.healthy() {
		return nil
	}
	if l.vxlan != 0 {
		v := l.vni
		return &v
	}
	if aliasVNIZero(l.brAlias) {
		v := 0
		return &v
	}
	return nil
}

func (l *lsView) logicalSwitch() vtep.LogicalSwitch {
	return vtep.LogicalSwitch{Name: l.name, VNI: l.observedVNI(), ReplicationMode: vtep.ReplicationSourceNode}
}

// ucastRemote derives the remote unicast entry of a MAC. An entry with
// extra destinations, no static bridge entry on the VXLAN port or several
// IPs counts those as Duplicates, so the core rewrites it.
func (l *lsView) ucastRemote(mac string) (vtep.UcastMAC, bool) {
	if !isUnicast(mac) {
		return vtep.UcastMAC{}, false
	}
	dsts := l.vx[mac]
	if len(dsts) == 0 {
		return vtep.UcastMAC{}, false
	}
	u := vtep.UcastMAC{MACKey: vtep.MACKey{LS: l.name, MAC: mac}, Locator: dsts[0], Duplicates: len(dsts) - 1}
	if e, ok := l.br[mac]; !ok || e.port != l.vxlan || !e.static() {
		u.Duplicates++
	}
	if ips := l.ips[mac]; len(ips) > 0 {
		u.IP = ips[0]
		u.Duplicates += len(ips) - 1
	}
	return u, true
}

// mcastRemote derives a multicast entry; mac is zeroMAC for unknown-dst.
func (l *lsView) mcastRemote(mac string) (vtep.McastMAC, bool) {
	if isUnicast(mac) {
		return vtep.McastMAC{}, false
	}
	dsts := l.vx[mac]
	if len(dsts) == 0 {
		return vtep.McastMAC{}, false
	}
	return vtep.McastMAC{MACKey: vtep.MACKey{LS: l.name, MAC: modelMAC(mac)}, Locators: vtep.NormalizeLocators(slices.Clone(dsts))}, true
}

// local reports whether mac is learned on one of the bridge's own ports.
func (l *lsView) local(mac string) bool {
	e, ok := l.br[mac]
	return ok && e.learned() && e.port != l.vxlan && e.port != l.bridge && isUnicast(mac)
}

// isUnicast: a MAC whose group bit is clear, other than the zero MAC.
func isUnicast(mac string) bool {
	hw, ok := drivers.ParseMAC(mac)
	return ok && hw[0]&1 == 0 && mac != zeroMAC
}

// kernelMAC maps a model MAC to the kernel's (unknown-dst → zero MAC).
func kernelMAC(mac string) string {
	if mac == vtep.UnknownDst {
		return zeroMAC
	}
	return strings.ToLower(mac)
}

// modelMAC maps a kernel MAC to the model's.
func modelMAC(mac string) string {
	if mac == zeroMAC {
		return vtep.UnknownDst
	}
	return mac
}

func aliasFor(ls string, vni *int) string {
	a := "vtepgw ls=" + ls
	if vni != nil && *vni == 0 {
		a += " vni=0"
	}
	return a
}

func aliasVNIZero(alias string) bool {
	f := strings.Fields(alias)
	return len(f) > 0 && f[0] == "vtepgw" && slices.Contains(f[1:], "vni=0")
}

// retryDump runs a netlink dump, again when the kernel interrupted it
// (the state changed under it; results may be partial).
func retryDump[T any](dump func() ([]T, error)) ([]T, error) {
	var out []T
	var err error
	for range 10 {
		out, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return nil, err
}

func isUp(l netlink.Link) bool { return l.Attrs().Flags&net.FlagUp != 0 }

// vxlanOK: the VXLAN device is what the options ask for.
func (o *Options) vxlanOK(vx *netlink.Vxlan) bool {
	return vx.VxlanId >= 1 && vx.VxlanId <= drivers.MaxVNI &&
		vx.SrcAddr != nil && vx.SrcAddr.Equal(net.IP(o.TunnelIP.AsSlice())) &&
		vx.Port == o.VXLANPort && !vx.Learning && isUp(vx) &&
		(o.MTU == 0 || vx.MTU == o.MTU) && vx.Limit == o.MaxRemoteMACs
}

// portLink finds the link of a port binding: the interface, or its VLAN
// interface for that VLAN (whatever its name).
func portLink(links []netlink.Link, byName map[string]netlink.Link, pb PortBinding) (base, port netlink.Link) {
	base = byName[pb.Interface]
	if base == nil || pb.VLAN == 0 {
		return base, base
	}
	for _, l := range links {
		if v, ok := l.(*netlink.Vlan); ok && v.ParentIndex == base.Attrs().Index && v.VlanId == pb.VLAN {
			return base, v
		}
	}
	return base, nil
}

// load reads the kernel state of the configured logical switches.
func load(h *netlink.Handle, o *Options) (*view, error) {
	links, err := retryDump(h.LinkList)
	if err != nil {
		return nil, err
	}
	byName := map[string]netlink.Link{}
	for _, l := range links {
		byName[l.Attrs().Name] = l
	}
	v := &view{ls: map[string]*lsView{}, owner: map[int]*lsView{}}
	for _, name := range o.LogicalSwitches() {
		l := newLSView(name)
		v.ls[name] = l
		if br, ok := byName[o.bridgeName(name)].(*netlink.Bridge); ok {
			l.bridge, l.brUp, l.brAlias = br.Index, isUp(br), br.Alias
			v.owner[br.Index] = l
			if br.AgeingTime != nil && v.ageing == 0 {
				v.ageing = time.Duration(*br.AgeingTime) * 10 * time.Millisecond
			}
		}
	}
	vxPrefix := o.DevicePrefix + "vx"
	for _, link := range links {
		vx, ok := link.(*netlink.Vxlan)
		if !ok || vx.MasterIndex == 0 {
			continue
		}
		l := v.owner[vx.MasterIndex]
		if l == nil || l.bridge != vx.MasterIndex {
			continue
		}
		l.vxlans++
		if l.vxlan == 0 || strings.HasPrefix(vx.Name, vxPrefix) {
			l.vxlan, l.vni, l.vxOK = vx.Index, vx.VxlanId, o.vxlanOK(vx)
		}
	}
	missing := map[string]bool{}
	for _, l := range v.ls {
		if l.vxlan != 0 {
			v.owner[l.vxlan] = l
		}
		for _, pb := range o.Ports[l.name] {
			base, port := portLink(links, byName, pb)
			switch {
			case base == nil:
				missing[pb.Interface] = true
			case port == nil || port.Attrs().MasterIndex != l.bridge || l.bridge == 0:
				l.portsBad = true
			}
		}
	}
	v.missing = slices.Sorted(func(yield func(string) bool) {
		for m := range missing {
			if !yield(m) {
				return
			}
		}
	})

	fdb, err := retryDump(func() ([]netlink.Neigh, error) { return h.NeighList(0, unix.AF_BRIDGE) })
	if err != nil {
		return nil, err
	}
	for _, n := range fdb {
		mac := strings.ToLower(n.HardwareAddr.String())
		if len(mac) != 17 {
			continue
		}
		if n.Flags&netlink.NTF_SELF != 0 {
			if l := v.owner[n.LinkIndex]; l != nil && l.vxlan == n.LinkIndex && n.IP != nil {
				l.vx[mac] = append(l.vx[mac], n.IP.String())
			}
			continue
		}
		if l := v.owner[n.MasterIndex]; l != nil && l.bridge == n.MasterIndex && n.LinkIndex != l.bridge {
			l.br[mac] = brEntry{port: n.LinkIndex, state: n.State, flags: n.Flags}
		}
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		ns, err := retryDump(func() ([]netlink.Neigh, error) { return h.NeighList(0, fam) })
		if err != nil {
			if fam == unix.AF_INET6 {
				continue // IPv6 disabled
			}
			return nil, err
		}
		for _, n := range ns {
			l := v.owner[n.LinkIndex]
			if l == nil || l.bridge != n.LinkIndex || n.State&netlink.NUD_PERMANENT == 0 || len(n.HardwareAddr) != 6 || n.IP == nil {
				continue
			}
			mac := strings.ToLower(n.HardwareAddr.String())
			l.ips[mac] = append(l.ips[mac], n.IP.String())
		}
	}
	for _, l := range v.ls {
		for _, ips := range l.ips {
			slices.Sort(ips)
		}
	}
	return v, nil
}

// diffKeys returns the keys whose observed state differs between two
// views of the same configuration.
func diffKeys(old, cur *view, sw string) []vtep.Key {
	var keys []vtep.Key
	if !slices.Equal(old.missing, cur.missing) {
		keys = append(keys, vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: sw})
	}
	for name, nl := range cur.ls {
		ol := old.ls[name]
		if ol == nil {
			continue
		}
		if ov, nv := ol.observedVNI(), nl.observedVNI(); (ov == nil) != (nv == nil) || (ov != nil && *ov != *nv) {
			keys = append(keys, vtep.LogicalSwitchKey(name))
		}
		macs := map[string]bool{}
		for _, l := range []*lsView{ol, nl} {
			for m := range l.vx {
				macs[m] = true
			}
			for m := range l.br {
				macs[m] = true
			}
			for m := range l.ips {
				macs[m] = true
			}
		}
		for mac := range macs {
			mk := vtep.MACKey{LS: name, MAC: modelMAC(mac)}
			if !isUnicast(mac) {
				om, ook := ol.mcastRemote(mac)
				nm, nok := nl.mcastRemote(mac)
				if ook != nok || !slices.Equal(om.Locators, nm.Locators) {
					keys = append(keys, vtep.McastRemoteKey(mk))
				}
				continue
			}
			ou, ook := ol.ucastRemote(mac)
			nu, nok := nl.ucastRemote(mac)
			if ook != nok || ou != nu {
				keys = append(keys, vtep.UcastRemoteKey(mk))
			}
			if ol.local(mac) != nl.local(mac) {
				keys = append(keys, vtep.Key{Kind: vtep.KindUcastLocal, Name: name, MAC: mac})
			}
		}
	}
	return keys
}
