// Package facedev backs vtepsim's gNMI and NETCONF faces with the real
// simulated switch: their Device interfaces are implemented on a
// simulator.Switch, which reads and writes the switch's hardware_vtep
// database. The OVS-based simulator (simulator.Sim) realises whatever is
// written there, so a controller driving the switch through gNMI or
// NETCONF gets the same data plane (flows, tunnels, learning, BFD) as one
// driving it through hardware_vtep, and sees the same learned MACs.
package facedev

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vtepgw/vtepgw/simulator"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
)

// applyTimeout bounds one Apply or Update (transaction plus waiting for
// the monitor to show it).
const applyTimeout = 20 * time.Second

// GNMI is a gnmiface.Device on a simulated switch.
//
// The gNMI face is VLAN-centric, hardware_vtep is binding-centric. The
// mapping: each logical switch is a VLAN whose ID is the lowest non-zero
// VLAN it is bound to (a logical switch bound only untagged, or whose VLAN
// ID an earlier logical switch by name already took, is not shown); its
// members are the ports bound to it (tagged unless bound on VLAN 0); the
// VLAN's VNI is the logical switch's tunnel_key, its flood list the
// unknown-dst Mcast_Macs_Remote entry, its static remote MACs the
// Ucast_Macs_Remote rows, and its learned MACs the switch's
// Ucast_Macs_Local rows (hardware_vtep does not record the port a MAC was
// learned on: the port shown is the VLAN's only member, else empty).
type GNMI struct {
	sw            *simulator.Switch
	name          string
	vtep, vxlanIf string
	log           *slog.Logger
	unwatch       func()

	refresh sync.Mutex // serialises refreshes (compute, swap, notify)

	mu sync.RWMutex // guards st
	st *gnmiface.State

	wmu      sync.Mutex // guards watchers, nextW
	watchers map[int]func([]gnmiface.Change)
	nextW    int
}

// GNMIOptions configure NewGNMI.
type GNMIOptions struct {
	// VTEP and VxlanIf name the VXLAN tunnel and interface (defaults
	// "vtep1", "Vxlan1"), as gnmiface.MemConfig.
	VTEP, VxlanIf string
	Log           *slog.Logger
}

// NewGNMI returns a gNMI device on sw; Close stops following it.
func NewGNMI(sw *simulator.Switch, name string, o GNMIOptions) *GNMI {
	if o.VTEP == "" {
		o.VTEP = "vtep1"
	}
	if o.VxlanIf == "" {
		o.VxlanIf = "Vxlan1"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &GNMI{sw: sw, name: name, vtep: o.VTEP, vxlanIf: o.VxlanIf, log: o.Log,
		watchers: map[int]func([]gnmiface.Change){}}
	d.st = d.convert(nil)
	d.update()
	d.unwatch = sw.Watch(d.update)
	return d
}

// Close stops following the switch (the Switch itself stays open).
func (d *GNMI) Close() { d.unwatch() }

// Read implements gnmiface.Device.
func (d *GNMI) Read(f func(st *gnmiface.State)) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	f(d.st)
}

// Watch implements gnmiface.Device.
func (d *GNMI) Watch(fn func([]gnmiface.Change)) func() {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	id := d.nextW
	d.nextW++
	d.watchers[id] = fn
	return func() {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		delete(d.watchers, id)
	}
}

// update re-reads the switch, swaps the state and notifies what changed.
func (d *GNMI) update() {
	d.refresh.Lock()
	defer d.refresh.Unlock()
	ss, err := d.sw.Read()
	if err != nil {
		d.log.Debug("switch not readable", "err", err)
		ss = nil
	}
	nst := d.convert(ss)
	d.mu.Lock()
	old := d.st
	d.st = nst
	d.mu.Unlock()
	chs := changes(old, nst)
	if len(chs) == 0 {
		return
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(d.watchers)) {
		d.watchers[id](chs)
	}
}

// vlanLS maps VLAN IDs to logical switches and members (see GNMI).
func vlanLS(ss *simulator.SwitchState) (map[int]string, map[string]map[string]bool) {
	members := map[string]map[string]bool{}
	low := map[string]int{}
	for p, b := range ss.Ports {
		for vlan, ls := range b {
			if members[ls] == nil {
				members[ls] = map[string]bool{}
			}
			members[ls][p] = members[ls][p] || vlan != 0
			if vlan != 0 && (low[ls] == 0 || vlan < low[ls]) {
				low[ls] = vlan
			}
		}
	}
	ids := map[int]string{}
	names := slices.Sorted(maps.Keys(low))
	for _, ls := range names {
		if _, taken := ids[low[ls]]; !taken {
			ids[low[ls]] = ls
		}
	}
	return ids, members
}

func (d *GNMI) convert(ss *simulator.SwitchState) *gnmiface.State {
	st := &gnmiface.State{Name: d.name, VTEP: d.vtep, VxlanIf: d.vxlanIf, VLANs: map[int]*gnmiface.VLAN{}}
	if ss == nil {
		return st
	}
	st.Name = ss.Name
	if len(ss.TunnelIPs) > 0 {
		st.TunnelIP = ss.TunnelIPs[0]
	}
	st.Ports = slices.Sorted(maps.Keys(ss.Ports))
	ids, members := vlanLS(ss)
	for id, name := range ids {
		l := ss.LS[name]
		if l == nil {
			continue
		}
		v := &gnmiface.VLAN{ID: id, Name: name, Members: maps.Clone(members[name]), Flood: map[string]bool{},
			Remote: map[string]string{}, Learned: map[string]string{}}
		if l.VNI != nil {
			v.VNI = *l.VNI
		}
		for _, ip := range l.Mcast[simulator.UnknownDst].TunnelIPs {
			v.Flood[ip] = true
		}
		for mac, r := range l.Ucast {
			v.Remote[mac] = r.TunnelIP
		}
		port := ""
		if len(v.Members) == 1 {
			for p := range v.Members {
				port = p
			}
		}
		for mac := range l.Learned {
			if _, static := v.Remote[mac]; !static {
				v.Learned[mac] = port
			}
		}
		st.VLANs[id] = v
	}
	return st
}

// changes lists what differs between two states.
func changes(a, b *gnmiface.State) []gnmiface.Change {
	all := []gnmiface.Change{{Scope: gnmiface.ScopeAll}}
	if a.Name != b.Name || a.TunnelIP != b.TunnelIP || !slices.Equal(a.Ports, b.Ports) || len(a.VLANs) != len(b.VLANs) {
		return all
	}
	var chs []gnmiface.Change
	for _, id := range slices.Sorted(maps.Keys(b.VLANs)) {
		nv, ov := b.VLANs[id], a.VLANs[id]
		if ov == nil || ov.Name != nv.Name || !maps.Equal(ov.Members, nv.Members) {
			return all
		}
		if ov.VNI != nv.VNI || !maps.Equal(ov.Flood, nv.Flood) {
			chs = append(chs, gnmiface.Change{Scope: gnmiface.ScopeVLAN, VLAN: id})
		}
		for _, mac := range diffKeys(ov.Remote, nv.Remote) {
			chs = append(chs, gnmiface.Change{Scope: gnmiface.ScopeRemote, VLAN: id, MAC: mac})
		}
		for _, mac := range diffKeys(ov.Learned, nv.Learned) {
			chs = append(chs, gnmiface.Change{Scope: gnmiface.ScopeLearned, VLAN: id, MAC: mac})
		}
	}
	return chs
}

func diffKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func gnmiIP(op gnmiface.Op, ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("%s: IP %q: %w", op, ip, gnmiface.ErrInvalid)
	}
	return a.String(), nil
}

// Apply implements gnmiface.Device: the ops become one hardware_vtep
// transaction.
func (d *GNMI) Apply(ops []gnmiface.Op) error {
	if len(ops) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	err := d.sw.Update(ctx, func(ss *simulator.SwitchState) error {
		ids, _ := vlanLS(ss)
		for _, op := range ops {
			name, ok := ids[op.VLAN]
			l := ss.LS[name]
			if !ok || l == nil {
				return fmt.Errorf("%s: VLAN %d: %w", op, op.VLAN, gnmiface.ErrNotFound)
			}
			switch op.Kind {
			case gnmiface.OpSetVNI:
				if op.VNI < 0 || op.VNI > 1<<24-1 {
					return fmt.Errorf("%s: VNI out of range 1..16777215: %w", op, gnmiface.ErrInvalid)
				}
				if op.VNI == 0 {
					l.VNI = nil
				} else {
					v := op.VNI
					l.VNI = &v
				}
			case gnmiface.OpAddFlood, gnmiface.OpDelFlood, gnmiface.OpSetFlood:
				flood := map[string]bool{}
				for _, ip := range l.Mcast[simulator.UnknownDst].TunnelIPs {
					flood[ip] = true
				}
				switch op.Kind {
				case gnmiface.OpSetFlood:
					clear(flood)
					for _, s := range op.IPs {
						ip, err := gnmiIP(op, s)
						if err != nil {
							return err
						}
						flood[ip] = true
					}
				default:
					ip, err := gnmiIP(op, op.IP)
					if err != nil {
						return err
					}
					if op.Kind == gnmiface.OpAddFlood {
						flood[ip] = true
					} else {
						delete(flood, ip)
					}
				}
				if len(flood) == 0 {
					delete(l.Mcast, simulator.UnknownDst)
				} else {
					l.Mcast[simulator.UnknownDst] = simulator.RemoteMcast{IP: l.Mcast[simulator.UnknownDst].IP,
						TunnelIPs: slices.Sorted(maps.Keys(flood))}
				}
			case gnmiface.OpSetRemote, gnmiface.OpDelRemote:
				mac, err := gnmiface.NormalizeMAC(op.MAC)
				if err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				if op.Kind == gnmiface.OpDelRemote {
					delete(l.Ucast, mac)
					continue
				}
				ip, err := gnmiIP(op, op.IP)
				if err != nil {
					return err
				}
				l.Ucast[mac] = simulator.RemoteMAC{TunnelIP: ip, IP: l.Ucast[mac].IP}
			default:
				return fmt.Errorf("%s: unknown operation: %w", op, gnmiface.ErrInvalid)
			}
		}
		return nil
	})
	if errors.Is(err, simulator.ErrInvalid) && !errors.Is(err, gnmiface.ErrInvalid) {
		err = fmt.Errorf("%w (%w)", gnmiface.ErrInvalid, err)
	}
	if err != nil {
		return err
	}
	d.update()
	return nil
}
