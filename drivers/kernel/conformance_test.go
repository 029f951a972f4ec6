package kernel_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/drivers/kernel"
	"github.com/vtepgw/vtepgw/vtep"
)

// TestConformance runs the driver conformance suite against the kernel
// driver, each case in fresh namespaces: "gw", which the driver programs
// (logical switch ls0 on port p0, ls1 on VLAN 100 of p1), and "peer",
// which holds the far ends of p0 and p1 and sends the frames the bridges
// learn from. The suite's independent view is netlink dumps of gw read by
// this file (as `ip -d link` and `bridge fdb show` print them); its write
// counter counts netlink change events in gw.
func TestConformance(t *testing.T) {
	requireNetns(t)
	driverstest.Run(t, harness{})
}

const (
	tunnelIP  = "10.250.0.1"
	maxMACs   = 2100
	vlanOfLS1 = 100
)

type harness struct{}

func (harness) New(t testing.TB) driverstest.Device {
	vlan := vlanOfLS1
	if !vlanSupported(t) {
		vlan = 0
		t.Log("this kernel has no 802.1Q VLAN interfaces (CONFIG_VLAN_8021Q): ls1 uses p1 untagged")
	}
	gw := newNS(t, "gw")
	peer := newNS(t, "pe")
	veth(t, gw, "p0", peer, "q0")
	veth(t, gw, "p1", peer, "q1")
	veth(t, gw, "mk0", gw, "mk1")                             // the change counter's marker
	if err := gw.h.LinkSetUp(gw.link(t, "mk0")); err != nil { // only an up link announces alias changes
		t.Fatal(err)
	}
	d := &device{gw: gw, peer: peer}
	d.params = drivers.Params{Name: "conformance", Settings: map[string]any{
		"netns":           gw.name,
		"switch":          "gw0",
		"tunnel-ip":       tunnelIP,
		"bridge-name":     "br-{ls}",
		"max-remote-macs": maxMACs,
		// Smaller than the default, so Disrupt's burst surely overflows it.
		"event-buffer-size": 1 << 20,
		"ports": map[string]any{
			"ls0": []any{map[string]any{"interface": "p0"}},
			"ls1": []any{map[string]any{"interface": "p1", "vlan": vlan}},
		},
	}}
	d.vlan = vlan
	d.counter = startCounter(t, gw)
	return d
}

type device struct {
	gw, peer *testNS
	vlan     int // ls1's VLAN on p1
	params   drivers.Params
	counter  *counter
}

func (d *device) Connector() drivers.Connector {
	c, err := kernel.Driver{}.NewConnector(d.params)
	if err != nil {
		panic(err) // constant parameters
	}
	return c
}

func (d *device) LogicalSwitches() []string { return []string{"ls0", "ls1"} }

func bridgeOf(ls string) string { return "br-" + ls }

// Learn sends frames from mac into the logical switch's port until the
// bridge has learned it (a port just set up forwards only once the kernel
// has seen its carrier, up to a second later).
func (d *device) Learn(ctx context.Context, ls, mac string) error {
	port, vlan := "q0", 0
	switch ls {
	case "ls0":
	case "ls1":
		port, vlan = "q1", d.vlan
	default:
		return fmt.Errorf("no logical switch %q", ls)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := d.peer.sendFrame(port, mac, vlan); err != nil {
			return err
		}
		st, err := d.Observe(ctx)
		if err != nil {
			return err
		}
		if _, ok := st.UcastLocal[vtep.MACKey{LS: ls, MAC: mac}]; ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s sent from %s for 10s, %s did not learn it", mac, port, bridgeOf(ls))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Age deletes the learned entry, as its ageing out does.
func (d *device) Age(_ context.Context, ls, mac string) error {
	br, err := d.gw.h.LinkByName(bridgeOf(ls))
	if err != nil {
		return err
	}
	fdb, err := d.gw.h.NeighList(0, unix.AF_BRIDGE)
	if err != nil {
		return err
	}
	for _, n := range fdb {
		if n.MasterIndex == br.Attrs().Index && n.HardwareAddr.String() == mac {
			return d.gw.h.NeighDel(&netlink.Neigh{LinkIndex: n.LinkIndex, Family: unix.AF_BRIDGE, Flags: netlink.NTF_MASTER, HardwareAddr: n.HardwareAddr})
		}
	}
	return fmt.Errorf("%s is not in %s's FDB", mac, br.Attrs().Name)
}

// DeleteRemote deletes a remote entry as `bridge fdb del` would.
func (d *device) DeleteRemote(_ context.Context, k vtep.MACKey) error {
	mac := k.MAC
	if mac == vtep.UnknownDst {
		mac = "00:00:00:00:00:00"
	}
	st, err := d.read()
	if err != nil {
		return err
	}
	vx := st.vxlan[k.LS]
	if vx == nil {
		return fmt.Errorf("%s has no VXLAN device", k.LS)
	}
	deleted := false
	for _, n := range st.fdb {
		if n.LinkIndex != vx.Index || !strings.EqualFold(n.HardwareAddr.String(), mac) {
			continue
		}
		n.Family = unix.AF_BRIDGE
		n.MasterIndex = 0
		if n.Flags&netlink.NTF_SELF == 0 {
			n.Flags = netlink.NTF_MASTER
			n.IP = nil
		}
		if err := d.gw.h.NeighDel(&n); err != nil {
			return fmt.Errorf("delete %s: %w", k, err)
		}
		deleted = true
	}
	if !deleted {
		return fmt.Errorf("no entry %s on %s", k, vx.Name)
	}
	return nil
}

// Disrupt overflows the driver's event sockets, as a busy kernel does:
// a scratch bridge gets many static FDB entries and is deleted, which
// the kernel announces in one burst. The driver must resubscribe and
// resync.
func (d *device) Disrupt(context.Context) error {
	const n = 10000 // 10000 events of ~1 KiB each: the burst overflows 1 MiB
	h := d.gw.h
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "flood-br"}}
	if err := h.LinkAdd(br); err != nil {
		return err
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "flood0", MasterIndex: br.Index}, PeerName: "flood1"}
	if err := h.LinkAdd(v); err != nil {
		return err
	}
	port, err := h.LinkByName("flood0")
	if err != nil {
		return err
	}
	d.counter.ignore(br.Index, port.Attrs().Index)
	for i := range n {
		mac := net.HardwareAddr{0x02, 0xfe, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		if err := h.NeighAdd(&netlink.Neigh{LinkIndex: port.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_NOARP, Flags: netlink.NTF_MASTER, HardwareAddr: mac}); err != nil {
			return err
		}
	}
	if err := h.LinkDel(br); err != nil {
		return err
	}
	return h.LinkDel(port)
}

// Changes counts change events, after a barrier that makes sure every
// event of a write that completed before the call has been counted.
func (d *device) Changes(context.Context) (uint64, error) { return d.counter.barrier() }

// snapshot is one read of gw.
type snapshot struct {
	links  []netlink.Link
	byName map[string]netlink.Link
	vxlan  map[string]*netlink.Vxlan // logical switch → its VXLAN device
	fdb    []netlink.Neigh
	arp    []netlink.Neigh
}

func (d *device) read() (*snapshot, error) {
	h := d.gw.h
	s := &snapshot{byName: map[string]netlink.Link{}, vxlan: map[string]*netlink.Vxlan{}}
	var err error
	if s.links, err = h.LinkList(); err != nil {
		return nil, err
	}
	for _, l := range s.links {
		s.byName[l.Attrs().Name] = l
	}
	for _, ls := range d.LogicalSwitches() {
		br := s.byName[bridgeOf(ls)]
		if br == nil {
			continue
		}
		for _, l := range s.links {
			if vx, ok := l.(*netlink.Vxlan); ok && vx.MasterIndex == br.Attrs().Index {
				s.vxlan[ls] = vx
			}
		}
	}
	if s.fdb, err = h.NeighList(0, unix.AF_BRIDGE); err != nil {
		return nil, err
	}
	if s.arp, err = h.NeighList(0, unix.AF_INET); err != nil {
		return nil, err
	}
	return s, nil
}

// Observe reads gw with netlink dumps, knowing only the configuration.
func (d *device) Observe(context.Context) (*driverstest.State, error) {
	s, err := d.read()
	if err != nil {
		return nil, err
	}
	st := &driverstest.State{
		VNIs:        map[string]*int{},
		UcastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		McastRemote: map[vtep.MACKey]vtep.McastMAC{},
		UcastLocal:  map[vtep.MACKey]vtep.UcastMAC{},
	}
	problem := func(format string, args ...any) { st.Problems = append(st.Problems, fmt.Sprintf(format, args...)) }
	ps := vtep.PhysicalSwitch{Name: "gw0", TunnelIPs: []string{tunnelIP}}
	for _, ls := range d.LogicalSwitches() {
		br, ok := s.byName[bridgeOf(ls)].(*netlink.Bridge)
		if !ok {
			problem("no bridge %s", bridgeOf(ls))
			continue
		}
		vxCount := 0
		for _, l := range s.links {
			if l.Type() == "vxlan" && l.Attrs().MasterIndex == br.Index {
				vxCount++
			}
		}
		vx := s.vxlan[ls]
		switch {
		case vxCount > 1:
			problem("%s has %d VXLAN devices", br.Name, vxCount)
		case vx != nil:
			n := vx.VxlanId
			st.VNIs[ls] = &n
			if !vx.SrcAddr.Equal(net.ParseIP(tunnelIP)) || vx.Learning || vx.Port != 4789 || vx.Flags&net.FlagUp == 0 {
				problem("%s: local %v, learning %v, port %d, flags %v; want local %s, nolearning, port 4789, up", vx.Name, vx.SrcAddr, vx.Learning, vx.Port, vx.Flags, tunnelIP)
			}
		case slices.Contains(strings.Fields(br.Alias), "vni=0"):
			zero := 0
			st.VNIs[ls] = &zero
		default:
			st.VNIs[ls] = nil
		}
		// Ports: a binding counts only when the kernel has it.
		switch ls {
		case "ls0":
			if p := s.byName["p0"]; p != nil && p.Attrs().MasterIndex == br.Index {
				ps.Ports = append(ps.Ports, vtep.Port{Name: "p0", Bindings: map[int]string{0: ls}})
			}
		case "ls1":
			bound := d.vlan == 0 && s.byName["p1"].Attrs().MasterIndex == br.Index
			for _, l := range s.links {
				if v, ok := l.(*netlink.Vlan); ok && v.VlanId == d.vlan && v.ParentIndex == s.byName["p1"].Attrs().Index && v.MasterIndex == br.Index {
					bound = true
				}
			}
			if bound {
				ps.Ports = append(ps.Ports, vtep.Port{Name: "p1", Bindings: map[int]string{d.vlan: ls}})
			}
		}
		self := map[string][]string{}
		bridgeEntry := map[string]netlink.Neigh{}
		for _, n := range s.fdb {
			mac := n.HardwareAddr.String()
			if vx != nil && n.LinkIndex == vx.Index && n.Flags&netlink.NTF_SELF != 0 {
				self[mac] = append(self[mac], n.IP.String())
			} else if n.MasterIndex == br.Index && n.LinkIndex != br.Index {
				bridgeEntry[mac] = n
			}
		}
		ips := map[string][]string{}
		for _, n := range s.arp {
			if n.LinkIndex == br.Index && n.State&netlink.NUD_PERMANENT != 0 {
				ips[n.HardwareAddr.String()] = append(ips[n.HardwareAddr.String()], n.IP.String())
			}
		}
		for mac, dsts := range self {
			hw, _ := net.ParseMAC(mac)
			k := vtep.MACKey{LS: ls, MAC: mac}
			switch {
			case mac == "00:00:00:00:00:00":
				k.MAC = vtep.UnknownDst
				st.McastRemote[k] = vtep.McastMAC{MACKey: k, Locators: vtep.NormalizeLocators(dsts)}
			case hw[0]&1 != 0:
				st.McastRemote[k] = vtep.McastMAC{MACKey: k, Locators: vtep.NormalizeLocators(dsts)}
			default:
				u := vtep.UcastMAC{MACKey: k, Locator: dsts[0], Duplicates: len(dsts) - 1}
				if len(ips[mac]) > 0 {
					u.IP = ips[mac][0]
					u.Duplicates += len(ips[mac]) - 1
				}
				st.UcastRemote[k] = u
				be, ok := bridgeEntry[mac]
				if !ok || be.LinkIndex != vx.Index || be.State != netlink.NUD_NOARP {
					problem("%s: remote MAC without a static bridge entry on %s (have %+v)", k, vx.Name, be)
				}
			}
		}
		for mac, n := range bridgeEntry {
			k := vtep.MACKey{LS: ls, MAC: mac}
			learned := n.State&(netlink.NUD_PERMANENT|netlink.NUD_NOARP) == 0
			switch {
			case vx != nil && n.LinkIndex == vx.Index && len(self[mac]) == 0 && n.State&netlink.NUD_PERMANENT == 0:
				problem("%s: static bridge entry on %s without a VXLAN entry", k, vx.Name)
			case learned && (vx == nil || n.LinkIndex != vx.Index):
				st.UcastLocal[k] = vtep.UcastMAC{MACKey: k, Locator: tunnelIP}
			}
		}
	}
	st.Switches = []vtep.PhysicalSwitch{ps}
	return st, nil
}

// counter counts netlink change events in a namespace: every neighbour
// event, and link events that change what `ip -d link` configures (not
// operational state, which the kernel updates on its own).
type counter struct {
	ns *testNS
	mk int // mk0's index

	mu      sync.Mutex // guards the fields below
	n       uint64
	seen    map[int]string // ifindex → configuration fingerprint
	ignored map[int]bool
	marks   map[string]chan struct{}
	seq     int
}

func startCounter(t testing.TB, ns *testNS) *counter {
	t.Helper()
	c := &counter{ns: ns, seen: map[int]string{}, ignored: map[int]bool{}, marks: map[string]chan struct{}{}}
	links, err := ns.h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		c.seen[l.Attrs().Index] = fingerprint(l)
	}
	mk := ns.link(t, "mk0")
	c.mk = mk.Attrs().Index
	c.ignored[mk.Attrs().Index] = true
	c.ignored[ns.link(t, "mk1").Attrs().Index] = true
	done := make(chan struct{})
	// Subscribed before returning: a barrier must never precede it.
	lch, nch, stop, err := c.subscribe(done)
	if err != nil {
		t.Fatalf("change counter: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		wg.Wait()
	})
	wg.Go(func() { c.run(t, done, lch, nch, stop) })
	return c
}

func (c *counter) subscribe(done chan struct{}) (chan netlink.LinkUpdate, chan netlink.NeighUpdate, chan struct{}, error) {
	stop := make(chan struct{})
	lch := make(chan netlink.LinkUpdate, 1024)
	nch := make(chan netlink.NeighUpdate, 1<<16)
	const buf = 64 << 20
	if err := netlink.LinkSubscribeWithOptions(lch, stop, netlink.LinkSubscribeOptions{Namespace: &c.ns.ns, ReceiveBufferSize: buf, ReceiveBufferForceSize: true}); err != nil {
		close(stop)
		return nil, nil, nil, err
	}
	if err := netlink.NeighSubscribeWithOptions(nch, stop, netlink.NeighSubscribeOptions{Namespace: &c.ns.ns, ReceiveBufferSize: buf, ReceiveBufferForceSize: true}); err != nil {
		close(stop)
		for range lch {
		}
		return nil, nil, nil, err
	}
	return lch, nch, stop, nil
}

func (c *counter) run(t testing.TB, done chan struct{}, lch chan netlink.LinkUpdate, nch chan netlink.NeighUpdate, stop chan struct{}) {
	for {
		alive := true
		for alive {
			select {
			case <-done:
				close(stop)
				for range lch {
				}
				for range nch {
				}
				return
			case u, ok := <-lch:
				if !ok {
					alive = false
					break
				}
				c.onLink(u)
			case u, ok := <-nch:
				if !ok {
					alive = false
					break
				}
				c.onNeigh(u)
			}
		}
		// Events were lost (the Disrupt flood): count that as a change.
		close(stop)
		for range lch {
		}
		for range nch {
		}
		c.mu.Lock()
		c.n += 1 << 32
		c.mu.Unlock()
		var err error
		if lch, nch, stop, err = c.subscribe(done); err != nil {
			t.Errorf("change counter: subscribe: %v", err)
			return
		}
	}
}

func (c *counter) onNeigh(u netlink.NeighUpdate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u.LinkIndex == c.mk && u.Type == unix.RTM_NEWNEIGH {
		if ch, ok := c.marks["neigh "+u.HardwareAddr.String()]; ok {
			close(ch)
			delete(c.marks, "neigh "+u.HardwareAddr.String())
		}
		return
	}
	if !c.ignored[u.LinkIndex] && !c.ignored[u.MasterIndex] {
		c.n++
	}
}

func (c *counter) onLink(u netlink.LinkUpdate) {
	a := u.Link.Attrs()
	c.mu.Lock()
	defer c.mu.Unlock()
	if a.Name == "mk0" {
		if ch, ok := c.marks["link "+a.Alias]; ok {
			close(ch)
			delete(c.marks, "link "+a.Alias)
		}
		return
	}
	if c.ignored[a.Index] || strings.HasPrefix(a.Name, "flood") {
		return
	}
	if u.Header.Type == unix.RTM_DELLINK {
		delete(c.seen, a.Index)
		c.n++
		return
	}
	if fp := fingerprint(u.Link); c.seen[a.Index] != fp {
		c.seen[a.Index] = fp
		c.n++
	}
}

// fingerprint is a link's configuration, without operational state.
func fingerprint(l netlink.Link) string {
	a := l.Attrs()
	fp := fmt.Sprintf("%s %s master=%d alias=%q up=%v mtu=%d", a.Name, l.Type(), a.MasterIndex, a.Alias, a.Flags&net.FlagUp != 0, a.MTU)
	switch x := l.(type) {
	case *netlink.Vxlan:
		fp += fmt.Sprintf(" vni=%d local=%v port=%d learning=%v limit=%d", x.VxlanId, x.SrcAddr, x.Port, x.Learning, x.Limit)
	case *netlink.Vlan:
		fp += fmt.Sprintf(" vlan=%d parent=%d", x.VlanId, x.ParentIndex)
	}
	return fp
}

func (c *counter) ignore(idx ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range idx {
		c.ignored[i] = true
	}
}

// barrier sets a fresh alias on mk0 and a fresh neighbour entry on it, and
// waits for both events: link and neighbour events come on two sockets, so
// each needs its own marker. Every event queued before them has been
// counted by then.
func (c *counter) barrier() (uint64, error) {
	mk, err := c.ns.h.LinkByName("mk0")
	if err != nil {
		return 0, err
	}
	// A marker is lost only with the events around it, which the run loop
	// counts as a change: try again with a new one.
	for range 10 {
		c.mu.Lock()
		c.seq++
		alias := fmt.Sprintf("mark%d", c.seq)
		mac := net.HardwareAddr{0x02, 0xaa, 0, byte(c.seq >> 16), byte(c.seq >> 8), byte(c.seq)}
		linkCh, neighCh := make(chan struct{}), make(chan struct{})
		c.marks["link "+alias] = linkCh
		c.marks["neigh "+mac.String()] = neighCh
		c.mu.Unlock()
		if err := c.ns.h.LinkSetAlias(mk, alias); err != nil {
			return 0, err
		}
		n := &netlink.Neigh{LinkIndex: mk.Attrs().Index, Family: unix.AF_INET, State: netlink.NUD_PERMANENT, IP: net.ParseIP("10.250.255.1"), HardwareAddr: mac}
		if err := c.ns.h.NeighSet(n); err != nil {
			return 0, err
		}
		timeout := time.After(time.Second)
		select {
		case <-linkCh:
		case <-timeout:
			continue
		}
		select {
		case <-neighCh:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.n, nil
		case <-timeout:
		}
	}
	return 0, fmt.Errorf("change counter: no marker seen in 10s")
}
