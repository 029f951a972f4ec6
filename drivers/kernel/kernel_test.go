package kernel_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/kernel"
	"github.com/vtepgw/vtepgw/vtep"
)

// connectNS connects the driver to a namespace with two logical switches:
// ls0 on p0, ls1 on p1 (neither interface exists yet).
func connectNS(t *testing.T, ns *testNS) (drivers.Session, *keyLog) {
	t.Helper()
	c, err := kernel.Driver{}.NewConnector(drivers.Params{Name: "t", Settings: map[string]any{
		"netns":       ns.name,
		"tunnel-ip":   "10.250.0.1",
		"bridge-name": "br-{ls}",
		"ports":       map[string]any{"ls0": []any{"p0"}, "ls1": []any{"p1"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	kl := &keyLog{}
	s, err := c.Connect(t.Context(), kl.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, kl
}

type keyLog struct {
	mu   sync.Mutex
	keys []vtep.Key
}

func (l *keyLog) add(k vtep.Key) {
	l.mu.Lock()
	l.keys = append(l.keys, k)
	l.mu.Unlock()
}

func (l *keyLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// wait waits for k to be notified after position from.
func (l *keyLog) wait(t *testing.T, from int, k vtep.Key) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		ok := slices.Contains(l.keys[from:], k)
		l.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not notified", k)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func vniOf(s drivers.Session, ls string) *int {
	l, _ := s.LogicalSwitch(ls)
	return l.VNI
}

// A missing port is a fault, not an error; once it exists, the next Apply
// of the logical switch's VNI enslaves it.
func TestMissingPortHeals(t *testing.T) {
	requireNetns(t)
	gw, peer := newNS(t, "gw"), newNS(t, "pe")
	veth(t, gw, "p0", peer, "q0")
	s, kl := connectNS(t, gw)
	faults := s.PhysicalSwitches()[0].Faults
	if !slices.Contains(faults, "port_missing:p1") {
		t.Errorf("faults = %v, want port_missing:p1", faults)
	}
	vni := 7
	if err := s.Apply(t.Context(), &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls1", VNI: &vni}}}); err != nil {
		t.Fatal(err)
	}
	if v := vniOf(s, "ls1"); v == nil || *v != 7 {
		t.Fatalf("ls1 VNI = %v, want 7 (a missing port does not stop the rest)", v)
	}
	from := kl.mark()
	veth(t, gw, "p1", peer, "q1")
	// The new, unbridged port makes ls1 read as needing a repair.
	kl.wait(t, from, vtep.LogicalSwitchKey("ls1"))
	if v := vniOf(s, "ls1"); v != nil {
		t.Fatalf("ls1 VNI = %d with p1 outside its bridge, want unset (repair needed)", *v)
	}
	if err := s.Apply(t.Context(), &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls1", VNI: &vni}}}); err != nil {
		t.Fatal(err)
	}
	if v := vniOf(s, "ls1"); v == nil || *v != 7 {
		t.Fatalf("after the repair, ls1 VNI = %v, want 7", v)
	}
	if m := gw.link(t, "p1").Attrs().MasterIndex; m != gw.link(t, "br-ls1").Attrs().Index {
		t.Errorf("p1 not enslaved to br-ls1")
	}
	if f := s.PhysicalSwitches()[0].Faults; len(f) != 0 {
		t.Errorf("faults = %v after the port appeared", f)
	}
}

// An operator deleting a bridge is seen, and the next Apply rebuilds it.
func TestDeletedBridgeRebuilt(t *testing.T) {
	requireNetns(t)
	gw, peer := newNS(t, "gw"), newNS(t, "pe")
	veth(t, gw, "p0", peer, "q0")
	veth(t, gw, "p1", peer, "q1")
	s, kl := connectNS(t, gw)
	vni := 10
	k := vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}
	cs := &vtep.Changeset{
		LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni}},
		UcastRemote:     []vtep.UcastChange{{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: "10.250.0.9"}}},
	}
	if err := s.Apply(t.Context(), cs); err != nil {
		t.Fatal(err)
	}
	from := kl.mark()
	if err := gw.h.LinkDel(gw.link(t, "br-ls0")); err != nil {
		t.Fatal(err)
	}
	kl.wait(t, from, vtep.UcastRemoteKey(k))
	if v := vniOf(s, "ls0"); v != nil {
		t.Fatalf("VNI %d without a bridge", *v)
	}
	if err := s.Apply(t.Context(), cs); err != nil {
		t.Fatal(err)
	}
	if u, ok := s.UcastRemote(k); !ok || u.Locator != "10.250.0.9" || u.Duplicates != 0 {
		t.Fatalf("UcastRemote after the rebuild = %+v, %v", u, ok)
	}
	if v := vniOf(s, "ls0"); v == nil || *v != 10 {
		t.Fatalf("VNI after the rebuild = %v", v)
	}
}

// Two logical switches asking for one VNI: one VXLAN device per VNI, so
// the second is skipped with an error, and the rest applies.
func TestVNIConflict(t *testing.T) {
	requireNetns(t)
	gw, peer := newNS(t, "gw"), newNS(t, "pe")
	veth(t, gw, "p0", peer, "q0")
	veth(t, gw, "p1", peer, "q1")
	s, _ := connectNS(t, gw)
	vni := 42
	k0 := vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}
	k1 := vtep.MACKey{LS: "ls1", MAC: "02:00:00:00:00:01"}
	err := s.Apply(t.Context(), &vtep.Changeset{
		LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni}, {Name: "ls1", VNI: &vni}},
		UcastRemote: []vtep.UcastChange{
			{Key: k0, Set: &vtep.UcastMAC{MACKey: k0, Locator: "10.250.0.9"}},
			{Key: k1, Set: &vtep.UcastMAC{MACKey: k1, Locator: "10.250.0.9"}},
		},
	})
	if !errors.Is(err, drivers.ErrUnsupported) || !strings.Contains(err.Error(), "VNI 42") {
		t.Fatalf("Apply = %v, want a VNI conflict wrapping ErrUnsupported", err)
	}
	if v := vniOf(s, "ls0"); v == nil || *v != 42 {
		t.Errorf("ls0 VNI = %v, want 42", v)
	}
	if v := vniOf(s, "ls1"); v != nil {
		t.Errorf("ls1 VNI = %d, want unset", *v)
	}
	if _, ok := s.UcastRemote(k0); !ok {
		t.Errorf("ls0's MAC was not applied")
	}
}

// Adopting state made by an earlier session (or by hand) writes nothing,
// and the state survives Close.
func TestAdoptAfterRestart(t *testing.T) {
	requireNetns(t)
	gw, peer := newNS(t, "gw"), newNS(t, "pe")
	veth(t, gw, "p0", peer, "q0")
	veth(t, gw, "p1", peer, "q1")
	s, _ := connectNS(t, gw)
	vni := 5
	if err := s.Apply(t.Context(), &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni}}}); err != nil {
		t.Fatal(err)
	}
	before := gw.link(t, "vtepvx5").Attrs().Index
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(t.Context(), &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0"}}}); !errors.Is(err, drivers.ErrDisconnected) {
		t.Errorf("Apply after Close = %v, want ErrDisconnected", err)
	}
	s2, _ := connectNS(t, gw)
	if v := vniOf(s2, "ls0"); v == nil || *v != 5 {
		t.Fatalf("adopted VNI = %v", v)
	}
	if got := gw.link(t, "vtepvx5").Attrs().Index; got != before {
		t.Errorf("the VXLAN device was re-created on adoption")
	}
	if vx, ok := gw.link(t, "vtepvx5").(*netlink.Vxlan); !ok || vx.Learning {
		t.Errorf("vtepvx5 = %+v", gw.link(t, "vtepvx5"))
	}
}
