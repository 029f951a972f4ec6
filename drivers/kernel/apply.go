package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// Apply programs a changeset. It checks the whole changeset first
// (ErrInvalid, ErrUnsupported or ErrLimit, nothing written); then it
// writes only what differs from the kernel, logical switches first, and
// keeps going past a failed entry; the error lists what failed. At the
// end it reads the state back, so reads reflect the writes.
func (s *session) Apply(ctx context.Context, cs *vtep.Changeset) error {
	if err := drivers.ValidateChangeset(cs); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return fmt.Errorf("%w: %w", errClosed, drivers.ErrDisconnected)
	}
	if len(cs.LogicalSwitches)+len(cs.UcastRemote)+len(cs.McastRemote) == 0 {
		return nil
	}
	s.mu.RLock()
	p, err := s.plan(cs, s.v)
	s.mu.RUnlock()
	if err != nil {
		return err
	}
	w := &writer{s: s, h: s.h, ctx: ctx, errs: p.conflicts}
	if len(p.ls) > 0 {
		w.logicalSwitches(p)
		if w.wrote {
			// The MAC changes need the new VXLAN devices' indexes.
			if err := s.reload(); err != nil {
				w.errs = append(w.errs, fmt.Errorf("read back: %w", err))
				return w.err(cs)
			}
		}
	}
	for _, c := range cs.UcastRemote {
		if !p.skip[c.Key.LS] {
			w.ucast(c)
		}
	}
	for _, c := range cs.McastRemote {
		if !p.skip[c.Key.LS] {
			w.mcast(c)
		}
	}
	if w.wrote {
		if err := s.reload(); err != nil {
			w.errs = append(w.errs, fmt.Errorf("read back: %w", err))
		}
	}
	return w.err(cs)
}

// plan is a checked changeset.
type plan struct {
	ls        []vtep.LogicalSwitchChange
	skip      map[string]bool // logical switches whose changes are skipped (VNI conflicts)
	conflicts []error
}

// plan checks cs against the view: logical switches that exist, modes,
// VNIs for MACs, multicast MACs, locator families and the MAC cap.
func (s *session) plan(cs *vtep.Changeset, v *view) (*plan, error) {
	p := &plan{skip: map[string]bool{}}
	var errs []error
	post := map[string]int{} // VNI after the changeset (0: none)
	for name, l := range v.ls {
		if l.vxlan != 0 {
			post[name] = l.vni
		}
	}
	for _, c := range cs.LogicalSwitches {
		if _, ok := v.ls[c.Name]; !ok {
			errs = append(errs, fmt.Errorf("logical switch %q is not configured (configured: %v): %w", c.Name, s.opts.LogicalSwitches(), drivers.ErrInvalid))
			continue
		}
		if c.ReplicationMode != "" && c.ReplicationMode != vtep.ReplicationSourceNode {
			return nil, fmt.Errorf("logical switch %s: replication mode %s: the kernel replicates to every flood destination itself (source_node only): %w", c.Name, c.ReplicationMode, drivers.ErrUnsupported)
		}
		post[c.Name] = 0
		if c.VNI != nil {
			post[c.Name] = *c.VNI
		}
		p.ls = append(p.ls, c)
	}
	// One VXLAN device per VNI: a second logical switch asking for a VNI
	// in use is skipped (with everything else for it) and reported.
	byVNI := map[int]string{}
	for _, name := range s.opts.LogicalSwitches() {
		n := post[name]
		if n == 0 {
			continue
		}
		if other, dup := byVNI[n]; dup {
			victim := name
			if !slices.ContainsFunc(p.ls, func(c vtep.LogicalSwitchChange) bool { return c.Name == name }) {
				victim = other // the one that asked
			}
			p.skip[victim] = true
			p.conflicts = append(p.conflicts, fmt.Errorf("logical switches %s and %s both want VNI %d, one VXLAN device per VNI: %s skipped: %w", other, name, n, victim, drivers.ErrUnsupported))
			continue
		}
		byVNI[n] = name
	}
	p.ls = slices.DeleteFunc(p.ls, func(c vtep.LogicalSwitchChange) bool { return p.skip[c.Name] })
	tunnel4 := s.opts.TunnelIP.Is4()
	count := map[string]map[string]bool{}
	macs := func(ls string) map[string]bool {
		if count[ls] == nil {
			count[ls] = map[string]bool{}
			if post[ls] != 0 {
				for m := range v.ls[ls].vx {
					count[ls][m] = true
				}
			}
		}
		return count[ls]
	}
	checkLocator := func(what string, k vtep.MACKey, loc string) {
		if a, err := netip.ParseAddr(loc); err == nil && a.Unmap().Is4() != tunnel4 {
			errs = append(errs, fmt.Errorf("%s %s: locator %s is not of the tunnel IP's family: %w", what, k, loc, drivers.ErrInvalid))
		}
	}
	check := func(what string, k vtep.MACKey, set bool) bool {
		if _, ok := v.ls[k.LS]; !ok {
			errs = append(errs, fmt.Errorf("%s %s: logical switch is not configured: %w", what, k, drivers.ErrInvalid))
			return false
		}
		if p.skip[k.LS] {
			return false
		}
		if set && post[k.LS] == 0 {
			errs = append(errs, fmt.Errorf("%s %s: the logical switch has no VNI (remote MACs live in its VXLAN device): %w", what, k, drivers.ErrInvalid))
			return false
		}
		if set {
			macs(k.LS)[kernelMAC(k.MAC)] = true
		} else {
			delete(macs(k.LS), kernelMAC(k.MAC))
		}
		return true
	}
	for _, c := range cs.UcastRemote {
		if check("ucast", c.Key, c.Set != nil) && c.Set != nil {
			checkLocator("ucast", c.Key, c.Set.Locator)
		}
	}
	for _, c := range cs.McastRemote {
		if c.Key.MAC != vtep.UnknownDst && isUnicast(kernelMAC(c.Key.MAC)) {
			errs = append(errs, fmt.Errorf("mcast %s: a unicast MAC (the kernel keeps one FDB entry per MAC; multicast entries need a group MAC): %w", c.Key, drivers.ErrInvalid))
			continue
		}
		if c.Set != nil && c.Set.IP != "" {
			errs = append(errs, fmt.Errorf("mcast %s: IP %s: the kernel cannot store an IP on a multicast entry: %w", c.Key, c.Set.IP, drivers.ErrInvalid))
			continue
		}
		if check("mcast", c.Key, c.Set != nil) && c.Set != nil {
			for _, l := range c.Set.Locators {
				checkLocator("mcast", c.Key, l)
			}
		}
	}
	if max := s.opts.MaxRemoteMACs; max > 0 {
		for _, ls := range slices.Sorted(func(yield func(string) bool) {
			for k := range count {
				if !yield(k) {
					return
				}
			}
		}) {
			if n := len(count[ls]); n > max {
				errs = append(errs, fmt.Errorf("logical switch %s: %d remote MACs, at most %d (max-remote-macs): %w", ls, n, max, drivers.ErrLimit))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// writer performs and records netlink writes.
type writer struct {
	s       *session
	h       *netlink.Handle
	ctx     context.Context
	wrote   bool
	stopped bool
	errs    []error
}

// do runs one write unless ctx is done; a failure is recorded and
// returned as false.
func (w *writer) do(what string, f func() error) bool {
	if w.stopped {
		return false
	}
	if w.ctx.Err() != nil {
		w.stopped = true
		return false
	}
	w.wrote = true
	if err := f(); err != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: %w", what, err))
		return false
	}
	return true
}

// del is do for deletions: a missing object is not an error.
func (w *writer) del(what string, f func() error) bool {
	return w.do(what, func() error {
		if err := f(); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) {
			return err
		}
		return nil
	})
}

func (w *writer) err(cs *vtep.Changeset) error {
	if w.stopped {
		w.errs = append(w.errs, fmt.Errorf("stopped: %w", context.Cause(w.ctx)))
	}
	if len(w.errs) == 0 {
		return nil
	}
	const most = 20
	errs := w.errs
	if len(errs) > most {
		errs = append(errs[:most:most], fmt.Errorf("… and %d more errors", len(w.errs)-most))
	}
	return fmt.Errorf("apply %s: %w", cs, errors.Join(errs...))
}

// links is a fresh link dump with lookups.
type links struct {
	all    []netlink.Link
	byName map[string]netlink.Link
}

func (w *writer) links() (*links, error) {
	all, err := retryDump(w.h.LinkList)
	if err != nil {
		return nil, err
	}
	l := &links{all: all, byName: map[string]netlink.Link{}}
	for _, link := range all {
		l.byName[link.Attrs().Name] = link
	}
	return l, nil
}

// ensureAll makes every logical switch's bridge and ports (Connect).
// Failures are not fatal: they become faults of the physical switch, the
// logical switch reads as needing a repair, and the next Apply of its VNI
// tries again.
func (s *session) ensureAll(ctx context.Context) error {
	w := &writer{s: s, h: s.h, ctx: ctx}
	ls, err := w.links()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	for _, name := range s.opts.LogicalSwitches() {
		if br := w.ensureBridge(ls, name); br != 0 {
			w.ensurePorts(ls, name, br)
		}
	}
	if w.stopped {
		return fmt.Errorf("connect: %w", context.Cause(ctx))
	}
	if len(w.errs) > 0 {
		s.log.Warn("could not set up every bridge and port; see the switch's faults", "switch", s.opts.Switch, "err", errors.Join(w.errs...))
	}
	return nil
}

// fault records (err != nil) or clears the fault of a bridge or port.
func (s *session) fault(what string, err error) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	old, had := s.faults[what]
	if err == nil {
		if had {
			delete(s.faults, what)
			s.faultsDirty.Store(true)
		}
		return
	}
	if s.faults == nil {
		s.faults = map[string]string{}
	}
	if !had || old != err.Error() {
		s.faults[what] = err.Error()
		s.faultsDirty.Store(true)
	}
}

// ensureBridge returns the logical switch's bridge, made and up.
func (w *writer) ensureBridge(ls *links, name string) int {
	brName := w.s.opts.bridgeName(name)
	link := ls.byName[brName]
	if link == nil {
		// A fixed address: by default a bridge takes its lowest port's,
		// and each change of address flushes its neighbour table (the
		// IPs of ARP suppression).
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: brName, HardwareAddr: bridgeMAC(brName)}}
		if !w.do("create bridge "+brName, func() error { return w.h.LinkAdd(br) }) {
			w.s.fault("bridge_error:"+brName, w.lastErr())
			return 0
		}
		var err error
		if link, err = w.h.LinkByName(brName); err != nil {
			w.errs = append(w.errs, fmt.Errorf("bridge %s: %w", brName, err))
			return 0
		}
		ls.all = append(ls.all, link)
		ls.byName[brName] = link
		w.do("alias of "+brName, func() error { return w.h.LinkSetAlias(link, aliasFor(name, nil)) })
		link.Attrs().Alias = aliasFor(name, nil)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		err := fmt.Errorf("logical switch %s: %s exists and is a %s, not a bridge", name, brName, link.Type())
		w.errs = append(w.errs, err)
		w.s.fault("bridge_error:"+brName, err)
		return 0
	}
	w.s.fault("bridge_error:"+brName, nil)
	if !isUp(link) {
		w.do("set "+brName+" up", func() error { return w.h.LinkSetUp(link) })
	}
	return link.Attrs().Index
}

// lastErr is the last recorded error.
func (w *writer) lastErr() error {
	if len(w.errs) == 0 {
		return nil
	}
	return w.errs[len(w.errs)-1]
}

// ensurePorts enslaves the logical switch's existing ports to its bridge,
// making VLAN interfaces as needed. Missing interfaces are faults, not
// errors: they are enslaved by a later Apply once they exist.
func (w *writer) ensurePorts(ls *links, name string, bridge int) {
	for _, pb := range w.s.opts.Ports[name] {
		base, port := portLink(ls.all, ls.byName, pb)
		if base == nil {
			continue
		}
		label := pb.Interface
		if pb.VLAN != 0 {
			label += "." + strconv.Itoa(pb.VLAN)
		}
		before := len(w.errs)
		if !isUp(base) {
			w.do("set "+pb.Interface+" up", func() error { return w.h.LinkSetUp(base) })
		}
		if port == nil {
			vname := w.s.opts.vlanName(pb.Interface, pb.VLAN)
			vl := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: vname, ParentIndex: base.Attrs().Index, MasterIndex: bridge}, VlanId: pb.VLAN}
			if !w.do("create VLAN interface "+vname, func() error { return w.h.LinkAdd(vl) }) {
				w.s.fault("port_error:"+label, w.lastErr())
				continue
			}
			var err error
			if port, err = w.h.LinkByName(vname); err != nil {
				w.errs = append(w.errs, fmt.Errorf("VLAN interface %s: %w", vname, err))
				continue
			}
			ls.all = append(ls.all, port)
			ls.byName[vname] = port
		}
		if port.Attrs().MasterIndex != bridge {
			w.do("enslave "+port.Attrs().Name, func() error { return w.h.LinkSetMasterByIndex(port, bridge) })
		}
		if !isUp(port) {
			w.do("set "+port.Attrs().Name+" up", func() error { return w.h.LinkSetUp(port) })
		}
		if len(w.errs) > before {
			w.s.fault("port_error:"+label, w.lastErr())
		} else {
			w.s.fault("port_error:"+label, nil)
		}
	}
}

// logicalSwitches sets VNIs: it repairs the bridge and ports, deletes
// VXLAN devices that do not match (keeping their FDB to re-install), then
// creates the missing ones.
func (w *writer) logicalSwitches(p *plan) {
	ls, err := w.links()
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("list links: %w", err))
		return
	}
	type step struct {
		c        vtep.LogicalSwitchChange
		bridge   int
		keep     bool
		carry    map[string][]string
		carryIPs map[string][]string
	}
	var steps []*step
	for _, c := range p.ls {
		st := &step{c: c, bridge: w.ensureBridge(ls, c.Name)}
		if st.bridge == 0 {
			continue
		}
		w.ensurePorts(ls, c.Name, st.bridge)
		w.s.mu.RLock()
		old := w.s.v.ls[c.Name]
		oldVX, oldFDB, oldIPs := old.vxlan, cloneFDB(old.vx), cloneFDB(old.ips)
		w.s.mu.RUnlock()
		for _, link := range ls.all {
			vx, ok := link.(*netlink.Vxlan)
			if !ok || vx.MasterIndex != st.bridge {
				continue
			}
			if c.VNI != nil && *c.VNI == vx.VxlanId && !st.keep && w.s.opts.vxlanOK(vx) {
				st.keep = true
				continue
			}
			if vx.Index == oldVX && c.VNI != nil && *c.VNI != 0 {
				st.carry, st.carryIPs = oldFDB, oldIPs
			}
			w.del("delete VXLAN device "+vx.Name, func() error { return w.h.LinkDel(vx) })
		}
		steps = append(steps, st)
	}
	for _, st := range steps {
		c := st.c
		if c.VNI != nil && *c.VNI != 0 && !st.keep {
			w.createVXLAN(ls, c.Name, *c.VNI, st.bridge, st.carry, st.carryIPs)
		}
		if br := ls.byName[w.s.opts.bridgeName(c.Name)]; br != nil && br.Attrs().Alias != aliasFor(c.Name, c.VNI) {
			w.do("alias of "+br.Attrs().Name, func() error { return w.h.LinkSetAlias(br, aliasFor(c.Name, c.VNI)) })
		}
	}
}

// bridgeMAC is a stable, locally administered address for a bridge.
func bridgeMAC(name string) net.HardwareAddr {
	h := hash32("vtepgw bridge " + name)
	return net.HardwareAddr{0x02, 0x76, byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}
}

func cloneFDB(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// createVXLAN makes the VXLAN device of a VNI on a bridge and re-installs
// the FDB of the device it replaces.
func (w *writer) createVXLAN(ls *links, name string, vni, bridge int, carry, ips map[string][]string) {
	o := w.s.opts
	vxName := o.vxlanName(vni)
	if stale := ls.byName[vxName]; stale != nil {
		// A leftover (a crash between delete and create) or another
		// logical switch's device for the same VNI, which the plan
		// should have caught.
		if m := stale.Attrs().MasterIndex; m != 0 && m != bridge {
			w.errs = append(w.errs, fmt.Errorf("logical switch %s: %s is enslaved to another bridge: %w", name, vxName, drivers.ErrUnsupported))
			return
		}
		w.del("delete stale "+vxName, func() error { return w.h.LinkDel(stale) })
	}
	vx := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: vxName, MTU: o.MTU, MasterIndex: bridge},
		VxlanId:   vni,
		SrcAddr:   net.IP(o.TunnelIP.AsSlice()),
		Port:      o.VXLANPort,
		Learning:  false,
		Limit:     o.MaxRemoteMACs,
	}
	if !w.do("create VXLAN device "+vxName+" (VNI "+strconv.Itoa(vni)+")", func() error { return w.h.LinkAdd(vx) }) {
		return
	}
	link, err := w.h.LinkByName(vxName)
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("VXLAN device %s: %w", vxName, err))
		return
	}
	w.do("bridge learning off on "+vxName, func() error { return w.h.LinkSetLearning(link, false) })
	if o.ARPSuppression {
		w.do("neigh_suppress on "+vxName, func() error { return w.h.LinkSetBrNeighSuppress(link, true) })
	}
	w.do("set "+vxName+" up", func() error { return w.h.LinkSetUp(link) })
	idx := link.Attrs().Index
	for _, mac := range slices.Sorted(func(yield func(string) bool) {
		for k := range carry {
			if !yield(k) {
				return
			}
		}
	}) {
		dsts := carry[mac]
		hw, _ := net.ParseMAC(mac)
		if isUnicast(mac) {
			w.do("re-add "+mac, func() error { return w.h.NeighSet(selfEntry(idx, hw, dsts[0])) })
			w.do("re-add bridge entry "+mac, func() error { return w.h.NeighSet(masterEntry(idx, hw)) })
			for _, ip := range ips[mac] {
				// In case the bridge's neighbour table was flushed.
				w.do("re-add IP "+ip+" of "+mac, func() error { return w.h.NeighSet(ipEntry(bridge, hw, ip)) })
			}
			continue
		}
		for _, d := range dsts {
			w.do("re-add "+mac+" → "+d, func() error { return w.h.NeighAppend(selfEntry(idx, hw, d)) })
		}
	}
}

// selfEntry is a VXLAN FDB entry: MAC → remote VTEP.
func selfEntry(vxlan int, mac net.HardwareAddr, dst string) *netlink.Neigh {
	return &netlink.Neigh{
		LinkIndex: vxlan, Family: unix.AF_BRIDGE,
		State: netlink.NUD_PERMANENT | netlink.NUD_NOARP, Flags: netlink.NTF_SELF,
		IP: net.ParseIP(dst), HardwareAddr: mac,
	}
}

// masterEntry is a static bridge FDB entry pointing a MAC at the VXLAN
// port (NUD_NOARP: static; NUD_PERMANENT would make it local).
func masterEntry(vxlan int, mac net.HardwareAddr) *netlink.Neigh {
	return &netlink.Neigh{
		LinkIndex: vxlan, Family: unix.AF_BRIDGE,
		State: netlink.NUD_NOARP, Flags: netlink.NTF_MASTER,
		HardwareAddr: mac,
	}
}

// ipEntry is a permanent neighbour entry on the bridge, which
// neigh_suppress answers ARP/ND from.
func ipEntry(bridge int, mac net.HardwareAddr, ip string) *netlink.Neigh {
	a := net.ParseIP(ip)
	fam := unix.AF_INET6
	if a.To4() != nil {
		fam = unix.AF_INET
	}
	return &netlink.Neigh{LinkIndex: bridge, Family: fam, State: netlink.NUD_PERMANENT, IP: a, HardwareAddr: mac}
}

// entry is what one MAC looks like now.
type entry struct {
	vxlan, bridge int
	dsts          []string
	br            brEntry
	hasBr         bool
	ips           []string
}

func (w *writer) entry(ls, mac string) (entry, bool) {
	w.s.mu.RLock()
	defer w.s.mu.RUnlock()
	l := w.s.v.ls[ls]
	if l == nil {
		return entry{}, false
	}
	e := entry{vxlan: l.vxlan, bridge: l.bridge, dsts: slices.Clone(l.vx[mac]), ips: slices.Clone(l.ips[mac])}
	e.br, e.hasBr = l.br[mac]
	return e, true
}

func (w *writer) ucast(c vtep.UcastChange) {
	mac := kernelMAC(c.Key.MAC)
	hw, _ := net.ParseMAC(mac)
	e, ok := w.entry(c.Key.LS, mac)
	if !ok {
		return
	}
	if c.Set != nil && e.vxlan == 0 {
		w.errs = append(w.errs, fmt.Errorf("ucast %s: logical switch %s has no VXLAN device", c.Key, c.Key.LS))
		return
	}
	if c.Set == nil {
		for _, d := range e.dsts {
			w.del("delete "+c.Key.String()+" → "+d, func() error { return w.h.NeighDel(selfEntry(e.vxlan, hw, d)) })
		}
		if e.hasBr && e.br.port == e.vxlan && e.vxlan != 0 {
			w.del("delete bridge entry "+c.Key.String(), func() error { return w.h.NeighDel(masterEntry(e.vxlan, hw)) })
		}
		for _, ip := range e.ips {
			w.del("delete IP "+ip+" of "+c.Key.String(), func() error { return w.h.NeighDel(ipEntry(e.bridge, hw, ip)) })
		}
		return
	}
	want, ip := normIP(c.Set.Locator), ""
	if c.Set.IP != "" {
		ip = normIP(c.Set.IP)
	}
	if len(e.dsts) != 1 || e.dsts[0] != want {
		if len(e.dsts) > 1 {
			for _, d := range e.dsts {
				w.del("delete "+c.Key.String()+" → "+d, func() error { return w.h.NeighDel(selfEntry(e.vxlan, hw, d)) })
			}
		}
		w.do("set "+c.Key.String()+" → "+want, func() error { return w.h.NeighSet(selfEntry(e.vxlan, hw, want)) })
	}
	if !e.hasBr || e.br.port != e.vxlan || !e.br.static() {
		w.do("set bridge entry "+c.Key.String(), func() error { return w.h.NeighSet(masterEntry(e.vxlan, hw)) })
	}
	for _, old := range e.ips {
		if old != ip {
			w.del("delete IP "+old+" of "+c.Key.String(), func() error { return w.h.NeighDel(ipEntry(e.bridge, hw, old)) })
		}
	}
	if ip != "" && !slices.Contains(e.ips, ip) {
		w.do("set IP "+ip+" of "+c.Key.String(), func() error { return w.h.NeighSet(ipEntry(e.bridge, hw, ip)) })
	}
}

func normIP(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

func (w *writer) mcast(c vtep.McastChange) {
	mac := kernelMAC(c.Key.MAC)
	hw, _ := net.ParseMAC(mac)
	e, ok := w.entry(c.Key.LS, mac)
	if !ok || e.vxlan == 0 {
		return
	}
	var want []string
	if c.Set != nil {
		for _, l := range c.Set.Locators {
			want = append(want, normIP(l))
		}
	}
	for _, d := range want {
		if !slices.Contains(e.dsts, d) {
			w.do("add "+c.Key.String()+" → "+d, func() error { return w.h.NeighAppend(selfEntry(e.vxlan, hw, d)) })
		}
	}
	for _, d := range e.dsts {
		if !slices.Contains(want, d) {
			w.del("delete "+c.Key.String()+" → "+d, func() error { return w.h.NeighDel(selfEntry(e.vxlan, hw, d)) })
		}
	}
}
