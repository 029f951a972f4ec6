package netconfface

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// State is one simulated switch as the NETCONF face shows it: the content
// of the project module yang/vtepgw-switch.yang, plus the global remote
// VTEP list the Junos view has and the port each learned MAC sits on.
type State struct {
	// Name is the switch name (vtep/name; Junos system/host-name).
	Name string
	// TunnelIPs are the switch's own VTEP addresses, the first the default
	// (Junos: the addresses of lo0.0, the vtep-source-interface).
	TunnelIPs []string
	// Ports are the physical ports with their VLAN bindings (VLAN 0:
	// untagged).
	Ports map[string]map[int]string
	// LS are the logical switches by name (Junos: vlans).
	LS map[string]*LS
	// RemoteVTEPs is Junos' global switch-options remote-vtep-list; every
	// address of a VLAN's static-remote-vtep-list must be in it.
	RemoteVTEPs []string
}

// LS is one logical switch.
type LS struct {
	Name string
	// VNI is nil when unset.
	VNI *int
	// Mode is "source-node", "service-node" or "" (unset).
	Mode string
	// Remote are the static remote unicast MACs, by MAC.
	Remote map[string]Ucast
	// Mcast are the remote multicast entries by MAC or "unknown-dst" (the
	// flood list; Junos: vxlan static-remote-vtep-list).
	Mcast map[string]Mcast
	// Learned are the MACs the switch learned on its ports, by MAC.
	Learned map[string]Learned
	// LearnedMcast are snooped groups or unknown-dst, by MAC.
	LearnedMcast map[string]Mcast
	// VLANID is the Junos view's vlan-id of a logical switch that has no
	// tagged binding to take it from (0: none).
	VLANID int
}

// Ucast is a remote unicast MAC entry.
type Ucast struct{ TunnelIP, IP string }

// Mcast is a multicast entry; TunnelIPs keep the order they were written.
type Mcast struct {
	IP        string
	TunnelIPs []string
}

// Learned is a MAC learned on a port.
type Learned struct{ Port, IP string }

// UnknownDst is the flood entry's pseudo-MAC.
const UnknownDst = "unknown-dst"

// NewLS returns an empty logical switch.
func NewLS(name string) *LS {
	return &LS{Name: name, Remote: map[string]Ucast{}, Mcast: map[string]Mcast{},
		Learned: map[string]Learned{}, LearnedMcast: map[string]Mcast{}}
}

// Clone returns a deep copy.
func (st *State) Clone() *State {
	c := &State{Name: st.Name, TunnelIPs: slices.Clone(st.TunnelIPs), RemoteVTEPs: slices.Clone(st.RemoteVTEPs),
		Ports: make(map[string]map[int]string, len(st.Ports)), LS: make(map[string]*LS, len(st.LS))}
	for p, b := range st.Ports {
		c.Ports[p] = maps.Clone(b)
		if c.Ports[p] == nil {
			c.Ports[p] = map[int]string{}
		}
	}
	for n, l := range st.LS {
		c.LS[n] = l.Clone()
	}
	return c
}

// Clone returns a deep copy.
func (l *LS) Clone() *LS {
	c := NewLS(l.Name)
	if l.VNI != nil {
		v := *l.VNI
		c.VNI = &v
	}
	c.Mode = l.Mode
	c.VLANID = l.VLANID
	maps.Copy(c.Remote, l.Remote)
	maps.Copy(c.Learned, l.Learned)
	for k, m := range l.Mcast {
		c.Mcast[k] = Mcast{IP: m.IP, TunnelIPs: slices.Clone(m.TunnelIPs)}
	}
	for k, m := range l.LearnedMcast {
		c.LearnedMcast[k] = Mcast{IP: m.IP, TunnelIPs: slices.Clone(m.TunnelIPs)}
	}
	return c
}

// Equal reports whether two states hold the same data.
func (st *State) Equal(o *State) bool {
	if st.Name != o.Name || !slices.Equal(st.TunnelIPs, o.TunnelIPs) || !slices.Equal(st.RemoteVTEPs, o.RemoteVTEPs) ||
		len(st.Ports) != len(o.Ports) || len(st.LS) != len(o.LS) {
		return false
	}
	for p, b := range st.Ports {
		ob, ok := o.Ports[p]
		if !ok || !maps.Equal(b, ob) {
			return false
		}
	}
	for n, l := range st.LS {
		ol, ok := o.LS[n]
		if !ok || !l.equal(ol) {
			return false
		}
	}
	return true
}

func mcastEqual(a, b Mcast) bool { return a.IP == b.IP && slices.Equal(a.TunnelIPs, b.TunnelIPs) }

func (l *LS) equal(o *LS) bool {
	return l.Name == o.Name && l.Mode == o.Mode && l.VLANID == o.VLANID &&
		(l.VNI == nil) == (o.VNI == nil) && (l.VNI == nil || *l.VNI == *o.VNI) &&
		maps.Equal(l.Remote, o.Remote) && maps.Equal(l.Learned, o.Learned) &&
		maps.EqualFunc(l.Mcast, o.Mcast, mcastEqual) && maps.EqualFunc(l.LearnedMcast, o.LearnedMcast, mcastEqual)
}

// Device is the switch state store behind the face. Implementations are
// safe for concurrent use.
type Device interface {
	// Read returns a snapshot of the switch; the caller may modify it.
	Read(ctx context.Context) (*State, error)
	// Update calls f with a snapshot and makes what f leaves in it the
	// switch's state, atomically with respect to other Updates: all of it,
	// or nothing and an error (f's own, an *ncwire.RPCError for a value the
	// device refuses, or one wrapping ErrLimit or ErrReadOnly).
	Update(ctx context.Context, f func(st *State) error) error
}

// Errors a Device returns from Update; the face turns them into
// rpc-errors.
var (
	// ErrLimit: a switch limit would be exceeded (resource-denied).
	ErrLimit = errors.New("switch limit exceeded")
	// ErrReadOnly: the edit changes data the device does not let a
	// controller write, such as its ports (operation-not-supported).
	ErrReadOnly = errors.New("not writable by a controller on this device")
)

// MemConfig seeds an in-memory device.
type MemConfig struct {
	Name      string
	TunnelIPs []string
	// Ports maps a port to its VLAN bindings; the logical switches they
	// name are created.
	Ports map[string]map[int]string
	// MaxRemoteMACs caps the remote unicast and multicast entries of one
	// logical switch (0: none).
	MaxRemoteMACs int
}

// MemDevice is an in-memory Device for tests, the driver's conformance
// harness and benchmarks. Like a NETCONF server that stores whatever
// validates (netconfd), it lets a client write every part of the state;
// Learn and Forget play the data plane.
type MemDevice struct {
	mu      sync.Mutex // guards st, changes
	st      *State
	changes uint64
	max     int
}

// NewMemDevice returns a device seeded from c.
func NewMemDevice(c MemConfig) *MemDevice {
	st := &State{Name: c.Name, TunnelIPs: slices.Clone(c.TunnelIPs), Ports: map[string]map[int]string{}, LS: map[string]*LS{}}
	for p, b := range c.Ports {
		st.Ports[p] = maps.Clone(b)
		if st.Ports[p] == nil {
			st.Ports[p] = map[int]string{}
		}
		for _, ls := range b {
			if st.LS[ls] == nil {
				st.LS[ls] = NewLS(ls)
			}
		}
	}
	return &MemDevice{st: st, max: c.MaxRemoteMACs}
}

// Read implements Device.
func (d *MemDevice) Read(context.Context) (*State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.Clone(), nil
}

// Update implements Device.
func (d *MemDevice) Update(_ context.Context, f func(st *State) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.st.Clone()
	if err := f(st); err != nil {
		return err
	}
	if d.max > 0 {
		for _, l := range st.LS {
			n := len(l.Remote)
			for m := range l.Mcast {
				if _, dup := l.Remote[m]; !dup {
					n++
				}
			}
			if n > d.max {
				return fmt.Errorf("logical switch %s: %d remote MACs, the switch holds %d: %w", l.Name, n, d.max, ErrLimit)
			}
		}
	}
	if !st.Equal(d.st) {
		d.st = st
		d.changes++
	}
	return nil
}

// Changes counts the updates that changed the state.
func (d *MemDevice) Changes() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changes
}

// Learn makes the switch learn mac on port in logical switch ls.
func (d *MemDevice) Learn(ls, mac, port string) error {
	return d.Update(context.Background(), func(st *State) error {
		l := st.LS[ls]
		if l == nil {
			return fmt.Errorf("no logical switch %q", ls)
		}
		if !validMAC(mac) {
			return fmt.Errorf("bad MAC %q", mac)
		}
		l.Learned[strings.ToLower(mac)] = Learned{Port: port}
		return nil
	})
}

// Forget ages a learned MAC out.
func (d *MemDevice) Forget(ls, mac string) error {
	return d.Update(context.Background(), func(st *State) error {
		if l := st.LS[ls]; l != nil {
			delete(l.Learned, strings.ToLower(mac))
		}
		return nil
	})
}

// DeleteRemote deletes a remote entry as an operator would: the unicast
// entry mac, or the multicast one.
func (d *MemDevice) DeleteRemote(ls, mac string) error {
	return d.Update(context.Background(), func(st *State) error {
		if l := st.LS[ls]; l != nil {
			delete(l.Remote, mac)
			delete(l.Mcast, mac)
		}
		return nil
	})
}
