package facedev

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
)

// NETCONF is a netconfface.Device on a simulated switch. The NETCONF
// state mirrors hardware_vtep one to one (bindings, logical switches with
// VNI and replication mode, remote and local unicast and multicast MACs),
// except for two Junos-view details hardware_vtep has no column for, kept
// in memory: the global remote-vtep-list (shown as what was written plus
// every flood-list address in use) and a logical switch's vlan-id.
// Learned MACs carry no port (hardware_vtep does not record it). Ports,
// tunnel IPs and learned MACs are read-only (ErrReadOnly).
type NETCONF struct {
	sw *simulator.Switch

	mu      sync.Mutex // guards remote, vlanID; serialises Updates
	remote  []string
	vlanIDs map[string]int
}

// NewNETCONF returns a NETCONF device on sw.
func NewNETCONF(sw *simulator.Switch) *NETCONF {
	return &NETCONF{sw: sw, vlanIDs: map[string]int{}}
}

func modeToNC(m string) string   { return strings.ReplaceAll(m, "_", "-") }
func modeFromNC(m string) string { return strings.ReplaceAll(m, "-", "_") }

// convert must be called with mu held.
func (d *NETCONF) convert(ss *simulator.SwitchState) *netconfface.State {
	st := &netconfface.State{Name: ss.Name, TunnelIPs: slices.Clone(ss.TunnelIPs), Ports: map[string]map[int]string{},
		LS: map[string]*netconfface.LS{}}
	for p, b := range ss.Ports {
		st.Ports[p] = maps.Clone(b)
	}
	rv := map[string]bool{}
	for _, ip := range d.remote {
		rv[ip] = true
	}
	for n, l := range ss.LS {
		c := netconfface.NewLS(n)
		if l.VNI != nil {
			v := *l.VNI
			c.VNI = &v
		}
		c.Mode = modeToNC(l.Mode)
		c.VLANID = d.vlanIDs[n]
		for mac, r := range l.Ucast {
			c.Remote[mac] = netconfface.Ucast{TunnelIP: r.TunnelIP, IP: r.IP}
		}
		for mac, r := range l.Mcast {
			c.Mcast[mac] = netconfface.Mcast{IP: r.IP, TunnelIPs: slices.Clone(r.TunnelIPs)}
			if mac == simulator.UnknownDst {
				for _, ip := range r.TunnelIPs {
					rv[ip] = true
				}
			}
		}
		for mac, r := range l.Learned {
			c.Learned[mac] = netconfface.Learned{IP: r.IP}
		}
		for mac, r := range l.LearnedMcast {
			c.LearnedMcast[mac] = netconfface.Mcast{IP: r.IP, TunnelIPs: slices.Clone(r.TunnelIPs)}
		}
		st.LS[n] = c
	}
	st.RemoteVTEPs = slices.Sorted(maps.Keys(rv))
	return st
}

// Read implements netconfface.Device.
func (d *NETCONF) Read(context.Context) (*netconfface.State, error) {
	ss, err := d.sw.Read()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.convert(ss), nil
}

// Update implements netconfface.Device: what f changed becomes one
// hardware_vtep transaction.
func (d *NETCONF) Update(ctx context.Context, f func(st *netconfface.State) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var remote []string
	var vlanIDs map[string]int
	err := d.sw.Update(ctx, func(ss *simulator.SwitchState) error {
		cur := d.convert(ss)
		want := cur.Clone()
		if err := f(want); err != nil {
			return err
		}
		if want.Name != cur.Name || !slices.Equal(want.TunnelIPs, cur.TunnelIPs) {
			return fmt.Errorf("switch name or tunnel IPs: %w", netconfface.ErrReadOnly)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(want.Ports)), slices.Sorted(maps.Keys(cur.Ports))) {
			return fmt.Errorf("set of ports: %w", netconfface.ErrReadOnly)
		}
		for p, b := range want.Ports {
			ss.Ports[p] = maps.Clone(b)
			if ss.Ports[p] == nil {
				ss.Ports[p] = map[int]string{}
			}
		}
		for n := range ss.LS {
			if want.LS[n] == nil {
				delete(ss.LS, n)
			}
		}
		vlanIDs = map[string]int{}
		for n, l := range want.LS {
			if l == nil {
				return fmt.Errorf("logical switch %q: empty: %w", n, simulator.ErrInvalid)
			}
			o := cur.LS[n]
			if o == nil {
				o = netconfface.NewLS(n)
			}
			if !maps.Equal(o.Learned, l.Learned) || !maps.EqualFunc(o.LearnedMcast, l.LearnedMcast, ncMcastEq) {
				return fmt.Errorf("logical switch %s: learned MACs: %w", n, netconfface.ErrReadOnly)
			}
			s := ss.LS[n]
			if s == nil {
				s = simulator.NewLSState(n)
				ss.LS[n] = s
			}
			s.VNI, s.Mode = l.VNI, modeFromNC(l.Mode)
			s.Ucast = map[string]simulator.RemoteMAC{}
			for mac, r := range l.Remote {
				s.Ucast[mac] = simulator.RemoteMAC{TunnelIP: r.TunnelIP, IP: r.IP}
			}
			s.Mcast = map[string]simulator.RemoteMcast{}
			for mac, r := range l.Mcast {
				s.Mcast[mac] = simulator.RemoteMcast{IP: r.IP, TunnelIPs: slices.Clone(r.TunnelIPs)}
			}
			if l.VLANID != 0 {
				vlanIDs[n] = l.VLANID
			}
		}
		remote = slices.Clone(want.RemoteVTEPs)
		return nil
	})
	if err != nil {
		if errors.Is(err, simulator.ErrReadOnly) && !errors.Is(err, netconfface.ErrReadOnly) {
			err = fmt.Errorf("%w (%w)", netconfface.ErrReadOnly, err)
		}
		return err
	}
	d.remote, d.vlanIDs = remote, vlanIDs
	return nil
}

func ncMcastEq(a, b netconfface.Mcast) bool {
	return a.IP == b.IP && slices.Equal(a.TunnelIPs, b.TunnelIPs)
}
