// Package vteptest provides in-memory fakes of vtep.Switch and
// vtep.Southbound with fault hooks, for tests of the reconcile core.
package vteptest

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/vtepgw/vtepgw/vtep"
)

// Switch is an in-memory vtep.Switch.
type Switch struct {
	mu        sync.Mutex // guards all fields
	Switches  []vtep.PhysicalSwitch
	LSes      map[string]vtep.LogicalSwitch
	Ucast     map[vtep.MACKey]vtep.UcastMAC
	Mcast     map[vtep.MACKey]vtep.McastMAC
	LocalU    map[vtep.MACKey]vtep.UcastMAC
	Applied   []*vtep.Changeset
	FailApply int // the next FailApply calls to Apply fail
	Notify    func(vtep.Key)
}

// NewSwitch returns an empty switch with the given logical switches.
func NewSwitch(lsNames ...string) *Switch {
	s := &Switch{LSes: map[string]vtep.LogicalSwitch{}, Ucast: map[vtep.MACKey]vtep.UcastMAC{}, Mcast: map[vtep.MACKey]vtep.McastMAC{}, LocalU: map[vtep.MACKey]vtep.UcastMAC{}}
	for _, n := range lsNames {
		s.LSes[n] = vtep.LogicalSwitch{Name: n}
	}
	return s
}

// ErrInjected is returned by injected faults.
var ErrInjected = errors.New("injected fault")

func (s *Switch) PhysicalSwitches() []vtep.PhysicalSwitch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.Switches)
}

func (s *Switch) LogicalSwitches() []vtep.LogicalSwitch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []vtep.LogicalSwitch
	for _, ls := range s.LSes {
		out = append(out, ls)
	}
	return out
}

func (s *Switch) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.LSes[name]
	return ls, ok
}

func (s *Switch) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.Ucast[k]
	return v, ok
}

func (s *Switch) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.Mcast[k]
	return v, ok
}

func (s *Switch) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.LocalU[k]
	return v, ok
}

func (s *Switch) McastLocal(vtep.MACKey) (vtep.McastMAC, bool) { return vtep.McastMAC{}, false }

func (s *Switch) Entries(kind vtep.Kind) []vtep.MACKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []vtep.MACKey
	switch kind {
	case vtep.KindUcastRemote:
		for k := range s.Ucast {
			out = append(out, k)
		}
	case vtep.KindMcastRemote:
		for k := range s.Mcast {
			out = append(out, k)
		}
	case vtep.KindUcastLocal:
		for k := range s.LocalU {
			out = append(out, k)
		}
	}
	return out
}

// Apply records the changeset and applies it, unless a fault is injected.
func (s *Switch) Apply(_ context.Context, cs *vtep.Changeset) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailApply > 0 {
		s.FailApply--
		return ErrInjected
	}
	s.Applied = append(s.Applied, cs)
	for _, c := range cs.LogicalSwitches {
		ls := s.LSes[c.Name]
		ls.VNI = c.VNI
		if c.ReplicationMode != "" {
			ls.ReplicationMode = c.ReplicationMode
		}
		s.LSes[c.Name] = ls
	}
	for _, c := range cs.UcastRemote {
		if c.Set == nil {
			delete(s.Ucast, c.Key)
		} else {
			s.Ucast[c.Key] = *c.Set
		}
	}
	for _, c := range cs.McastRemote {
		if c.Set == nil {
			delete(s.Mcast, c.Key)
		} else {
			s.Mcast[c.Key] = *c.Set
		}
	}
	return nil
}

// Applies returns how many changesets were applied.
func (s *Switch) Applies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Applied)
}

// Southbound is a fake vtep.Southbound whose desired state is set directly.
type Southbound struct {
	mu        sync.Mutex // guards all fields
	VNI       map[string]int
	Ucast     map[vtep.MACKey]string // MAC → locator
	Flood     map[string][]string    // LS → locators
	NotReady  bool
	FailNext  int
	PanicNext bool
	Batches   [][]vtep.Key
	// More is returned from every Reconcile (keys whose desired state
	// changed as a result of the batch).
	More []vtep.Key
}

// NewSouthbound returns an empty fake southbound.
func NewSouthbound() *Southbound {
	return &Southbound{VNI: map[string]int{}, Ucast: map[vtep.MACKey]string{}, Flood: map[string][]string{}}
}

func (f *Southbound) Ready() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.NotReady
}

func (f *Southbound) Reconcile(_ context.Context, _ vtep.Switch, keys []vtep.Key) ([]vtep.Key, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Batches = append(f.Batches, slices.Clone(keys))
	if f.PanicNext {
		f.PanicNext = false
		panic("injected panic")
	}
	if f.FailNext > 0 {
		f.FailNext--
		return nil, ErrInjected
	}
	more := slices.Clone(f.More)
	f.More = nil
	if slices.ContainsFunc(keys, func(k vtep.Key) bool { return k.Kind == vtep.KindResync }) {
		// Like the real southbound: a resync returns every desired key.
		for k := range f.Ucast {
			more = append(more, vtep.UcastRemoteKey(k))
		}
		for ls := range f.Flood {
			more = append(more, vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}))
		}
	}
	return more, nil
}

func (f *Southbound) LogicalSwitch(obs vtep.LogicalSwitch) vtep.LogicalSwitch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.VNI[obs.Name]; ok {
		return vtep.LogicalSwitch{Name: obs.Name, VNI: &v, ReplicationMode: vtep.ReplicationSourceNode}
	}
	return vtep.LogicalSwitch{Name: obs.Name}
}

func (f *Southbound) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ip, ok := f.Ucast[k]
	return vtep.UcastMAC{MACKey: k, Locator: ip}, ok
}

func (f *Southbound) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k.MAC != vtep.UnknownDst {
		return vtep.McastMAC{}, false
	}
	l, ok := f.Flood[k.LS]
	return vtep.McastMAC{MACKey: k, Locators: slices.Clone(l)}, ok
}

// Set runs fn with the fake locked, to change desired state.
func (f *Southbound) Set(fn func(f *Southbound)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}
