package driverstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

var cases = []struct {
	name string
	fn   func(*env)
}{
	{"Connect", caseConnect},
	{"ApplyIdempotent", caseApplyIdempotent},
	{"UpdateDelete", caseUpdateDelete},
	{"LargeBatch", caseLargeBatch},
	{"ObserveDuringApply", caseObserveDuringApply},
	{"Reconnect", caseReconnect},
	{"Restart", caseRestart},
	{"Cancel", caseCancel},
	{"Closed", caseClosed},
	{"LearnAge", caseLearnAge},
	{"ExternalDelete", caseExternalDelete},
	{"BadInput", caseBadInput},
	{"ReplicationModes", caseReplicationModes},
	{"Unsupported", caseUnsupported},
	{"Limits", caseLimits},
}

// Values the suite writes.
const (
	vniA      = 5000
	vniB      = 5001
	vniC      = 5100
	groupMAC  = "01:00:5e:00:00:fb"
	groupMAC2 = "01:00:5e:00:00:fc"
	noSuchLS  = "driverstest-no-such-ls"
	largeN    = 2000
)

func loc(n int) string    { return fmt.Sprintf("10.250.200.%d", n) }
func hostIP(n int) string { return fmt.Sprintf("10.250.100.%d", n) }
func mac(i int) string {
	return fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
}

// gmac is a multicast group MAC, for bulk entries on a switch without
// remote unicast entries.
func gmac(i int) string {
	return fmt.Sprintf("01:00:5e:%02x:%02x:%02x", byte(i>>16)&0x7f, byte(i>>8), byte(i))
}

func vni(v int) *int { return &v }

func setLS(name string, v *int) vtep.LogicalSwitchChange {
	return vtep.LogicalSwitchChange{Name: name, VNI: v}
}

func setU(ls, m, locator, ip string) vtep.UcastChange {
	k := vtep.MACKey{LS: ls, MAC: m}
	return vtep.UcastChange{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: locator, IP: ip}}
}

func delU(ls, m string) vtep.UcastChange {
	return vtep.UcastChange{Key: vtep.MACKey{LS: ls, MAC: m}}
}

func setM(ls, m string, locators ...string) vtep.McastChange {
	k := vtep.MACKey{LS: ls, MAC: m}
	return vtep.McastChange{Key: k, Set: &vtep.McastMAC{MACKey: k, Locators: locators}}
}

func delM(ls, m string) vtep.McastChange {
	return vtep.McastChange{Key: vtep.MACKey{LS: ls, MAC: m}}
}

// base is the state most cases start from: both logical switches with a
// VNI, unicast entries with and without an IP, flood lists and a group,
// less the entries the switch cannot hold (see fit).
func (e *env) base() *vtep.Changeset {
	a, b := e.ls[0], e.ls[1]
	return e.fit(&vtep.Changeset{
		LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniA)), setLS(b, vni(vniB))},
		UcastRemote: []vtep.UcastChange{
			setU(a, mac(1), loc(1), ""),
			setU(a, mac(2), loc(2), hostIP(2)),
			setU(b, mac(0x101), loc(1), ""),
		},
		McastRemote: []vtep.McastChange{
			setM(a, vtep.UnknownDst, loc(1), loc(2)),
			setM(b, vtep.UnknownDst, loc(3)),
			setM(a, groupMAC, loc(3), loc(2)),
		},
	})
}

// fit returns cs without the changes of entries the current session's
// switch cannot hold (drivers.Capabilities.Supports), which the core does
// not diff: remote unicast entries on a NoUcastRemote switch, multicast
// groups on a FloodListsOnly one. Case Unsupported checks that the
// session refuses them.
func (e *env) fit(cs *vtep.Changeset) *vtep.Changeset {
	out := *cs
	out.UcastRemote, out.McastRemote = nil, nil
	for _, c := range cs.UcastRemote {
		if e.caps.Supports(vtep.UcastRemoteKey(c.Key)) {
			out.UcastRemote = append(out.UcastRemote, c)
		}
	}
	for _, c := range cs.McastRemote {
		if e.caps.Supports(vtep.McastRemoteKey(c.Key)) {
			out.McastRemote = append(out.McastRemote, c)
		}
	}
	return &out
}

// update is a small change on logical switch ls, which has a VNI: unicast
// MAC m moved to locator, or, on a switch without remote unicast entries,
// ls's flood list set to locator alone.
func (e *env) update(ls, m, locator string) *vtep.Changeset {
	if e.caps.Supports(vtep.UcastRemoteKey(vtep.MACKey{LS: ls, MAC: m})) {
		return &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(ls, m, locator, "")}}
	}
	return &vtep.Changeset{McastRemote: []vtep.McastChange{setM(ls, vtep.UnknownDst, locator)}}
}

// bulk writes many remote entries on one logical switch: unicast MACs, or
// multicast groups on a switch that holds no remote unicast entries.
type bulk struct {
	ls    string
	group bool
}

// bulk returns how to write many entries on ls, or false when the switch
// can hold only its flood list.
func (e *env) bulk(ls string) (bulk, bool) {
	switch {
	case e.caps.Supports(vtep.UcastRemoteKey(vtep.MACKey{LS: ls, MAC: mac(1)})):
		return bulk{ls: ls}, true
	case e.caps.Supports(vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: gmac(1)})):
		return bulk{ls: ls, group: true}, true
	}
	return bulk{}, false
}

func (b bulk) key(i int) vtep.MACKey {
	if b.group {
		return vtep.MACKey{LS: b.ls, MAC: gmac(i)}
	}
	return vtep.MACKey{LS: b.ls, MAC: mac(i)}
}

// set adds the change that sets entry i to locator.
func (b bulk) set(cs *vtep.Changeset, i int, locator string) {
	k := b.key(i)
	if b.group {
		cs.McastRemote = append(cs.McastRemote, setM(k.LS, k.MAC, locator))
		return
	}
	cs.UcastRemote = append(cs.UcastRemote, setU(k.LS, k.MAC, locator, ""))
}

// del adds the change that deletes entry i.
func (b bulk) del(cs *vtep.Changeset, i int) {
	k := b.key(i)
	if b.group {
		cs.McastRemote = append(cs.McastRemote, delM(k.LS, k.MAC))
		return
	}
	cs.UcastRemote = append(cs.UcastRemote, delU(k.LS, k.MAC))
}

// read returns entry i's locators as sw reads them.
func (b bulk) read(sw vtep.Switch, i int) (string, bool) {
	k := b.key(i)
	if b.group {
		m, ok := sw.McastRemote(k)
		return fmtMcast(m), ok
	}
	u, ok := sw.UcastRemote(k)
	return fmtUcast(u), ok
}

func (b bulk) String() string {
	if b.group {
		return "multicast groups"
	}
	return "MACs"
}

// start connects, waits for the first resync and applies base.
func (e *env) start() *model {
	e.helper()
	e.connect()
	e.waitResync("after Connect", 0)
	m := newModel(e.ls)
	cs := e.base()
	e.mustApply("base state", cs)
	m.apply(cs)
	return m
}

// changedKeys returns the keys a changeset changes.
func changedKeys(cs *vtep.Changeset) []vtep.Key {
	var out []vtep.Key
	for _, c := range cs.LogicalSwitches {
		out = append(out, vtep.LogicalSwitchKey(c.Name))
	}
	for _, c := range cs.UcastRemote {
		out = append(out, vtep.UcastRemoteKey(c.Key))
	}
	for _, c := range cs.McastRemote {
		out = append(out, vtep.McastRemoteKey(c.Key))
	}
	return out
}

// converge diffs and applies, as the core does, until the session reads
// m, then checks both views.
func (e *env) converge(what string, m *model) {
	e.helper()
	deadline := time.Now().Add(e.eventTimeout)
	for {
		cs := m.diff(e.s)
		if cs.Empty() {
			break
		}
		err := e.apply(cs)
		if time.Now().After(deadline) {
			e.Fatalf("%s: not converged within %v; last Apply(%s): %v", what, e.eventTimeout, cs, err)
		}
		if err != nil && !errors.Is(err, drivers.ErrDisconnected) {
			e.Logf("%s: Apply(%s) while converging: %v", what, cs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.verify(what, m)
}

func caseConnect(e *env) {
	s := e.connect()
	e.waitResync("after Connect", 0)
	if !s.Connected() {
		e.Errorf("Connected() = false right after Connect")
	}
	if s.ID() == "" {
		e.Errorf("ID() is empty")
	}
	if s.Status() == "" {
		e.Errorf("Status() is empty")
	}
	names := map[string]bool{}
	for _, ls := range s.LogicalSwitches() {
		if names[ls.Name] {
			e.Errorf("LogicalSwitches() lists %q twice", ls.Name)
		}
		names[ls.Name] = true
	}
	for _, n := range e.ls {
		if !names[n] {
			e.Errorf("LogicalSwitches() lacks %q", n)
		}
		if ls, ok := s.LogicalSwitch(n); !ok || ls.Name != n {
			e.Errorf("LogicalSwitch(%q) = %+v, %v", n, ls, ok)
		}
	}
	if _, ok := s.LogicalSwitch(noSuchLS); ok {
		e.Errorf("LogicalSwitch(%q) found a logical switch that does not exist", noSuchLS)
	}
	pss := s.PhysicalSwitches()
	if len(pss) == 0 {
		e.Errorf("PhysicalSwitches() is empty")
	}
	bound := map[string]bool{}
	for _, ps := range pss {
		for _, n := range ps.LogicalSwitchNames() {
			bound[n] = true
		}
	}
	for _, n := range e.ls {
		if !bound[n] {
			e.Errorf("no port of PhysicalSwitches() binds %q", n)
		}
	}
	st, _ := e.checkDevice("fresh device", newModel(e.ls))
	if st.Switches != nil {
		compareSwitches(e, pss, st.Switches)
	}
	e.checkSession("fresh device", s, newModel(e.ls))
	e.checkLocal("fresh device", nil)
	for _, k := range []vtep.MACKey{{LS: e.ls[0], MAC: mac(1)}, {LS: noSuchLS, MAC: mac(1)}} {
		if _, ok := s.UcastRemote(k); ok {
			e.Errorf("UcastRemote(%s) found an entry on a fresh device", k)
		}
		if _, ok := s.UcastLocal(k); ok {
			e.Errorf("UcastLocal(%s) found an entry on a fresh device", k)
		}
	}
	if _, ok := s.McastRemote(vtep.MACKey{LS: e.ls[0], MAC: vtep.UnknownDst}); ok {
		e.Errorf("McastRemote(%s/%s) found an entry on a fresh device", e.ls[0], vtep.UnknownDst)
	}
}

// compareSwitches checks the session's physical switches against the
// device's: names, tunnel IPs and port bindings.
func compareSwitches(e *env, got, want []vtep.PhysicalSwitch) {
	e.helper()
	var p problems
	byName := map[string]vtep.PhysicalSwitch{}
	for _, ps := range got {
		byName[ps.Name] = ps
	}
	for _, w := range want {
		g, ok := byName[w.Name]
		if !ok {
			p.add("physical switch %q missing", w.Name)
			continue
		}
		if !slices.Equal(g.TunnelIPs, w.TunnelIPs) {
			p.add("physical switch %q: tunnel IPs %v, device says %v", w.Name, g.TunnelIPs, w.TunnelIPs)
		}
		ports := map[string]vtep.Port{}
		for _, pt := range g.Ports {
			ports[pt.Name] = pt
		}
		for _, wp := range w.Ports {
			gp, ok := ports[wp.Name]
			if !ok {
				p.add("physical switch %q: port %q missing", w.Name, wp.Name)
				continue
			}
			for vlan, ls := range wp.Bindings {
				if gp.Bindings[vlan] != ls {
					p.add("physical switch %q port %q: VLAN %d bound to %q, device says %q", w.Name, wp.Name, vlan, gp.Bindings[vlan], ls)
				}
			}
			for vlan, ls := range gp.Bindings {
				if _, ok := wp.Bindings[vlan]; !ok {
					p.add("physical switch %q port %q: VLAN %d bound to %q, device has no such binding", w.Name, wp.Name, vlan, ls)
				}
			}
		}
	}
	p.report(e, "physical switches differ from the device's")
}

func caseApplyIdempotent(e *env) {
	e.connect()
	e.waitResync("after Connect", 0)
	m := newModel(e.ls)
	cs := e.base()
	from := e.rec.mark()
	e.mustApply("base state", cs)
	m.apply(cs)
	e.verify("after Apply to an empty switch", m)
	e.waitNotified("own writes", from, changedKeys(cs))
	if d := m.diff(e.s); !d.Empty() {
		e.Errorf("re-diff after Apply is %s (%+v), want empty", d, d)
	}
	c0, counted := e.changes()
	e.mustApply("empty changeset", &vtep.Changeset{})
	e.noWrites("Apply of an empty changeset", c0, counted)
	e.mustApply("the same changeset again", e.base())
	e.noWrites("the same changeset applied again", c0, counted)
	e.verify("after applying the same changeset again", m)
	if !counted {
		e.Logf("device has no driverstest.ChangeCounter: write counts not checked")
	}
}

func caseUpdateDelete(e *env) {
	e.connect()
	e.waitResync("after Connect", 0)
	a, b := e.ls[0], e.ls[1]
	m := newModel(e.ls)
	steps := []struct {
		what string
		cs   *vtep.Changeset
	}{
		{"base state", e.base()},
		{"locator and IP changes", &vtep.Changeset{UcastRemote: []vtep.UcastChange{
			setU(a, mac(1), loc(3), ""),
			setU(a, mac(2), loc(2), hostIP(22)),
			setU(b, mac(0x101), loc(1), hostIP(5)),
		}}},
		{"flood list and group changes", &vtep.Changeset{McastRemote: []vtep.McastChange{
			setM(a, vtep.UnknownDst, loc(2), loc(4)),
			setM(a, groupMAC, loc(1)),
			setM(b, vtep.UnknownDst, loc(5), loc(3), loc(4)),
		}}},
		{"VNI change (entries stay)", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniC))}}},
		{"IP removed, entry added", &vtep.Changeset{UcastRemote: []vtep.UcastChange{
			setU(a, mac(2), loc(2), ""),
			setU(a, mac(3), loc(4), ""),
		}}},
		{"deletes", &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{delU(a, mac(1)), delU(b, mac(0x101))},
			McastRemote: []vtep.McastChange{delM(a, groupMAC), delM(b, vtep.UnknownDst)},
		}},
		{"VNI 0", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(b, vni(0))}}},
		{"VNI unset", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(b, nil)}}},
		{"everything deleted", &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, nil)},
			UcastRemote:     []vtep.UcastChange{delU(a, mac(2)), delU(a, mac(3))},
			McastRemote:     []vtep.McastChange{delM(a, vtep.UnknownDst)},
		}},
	}
	for _, st := range steps {
		st.cs = e.fit(st.cs)
		if st.cs.Empty() {
			continue // the switch holds none of these entries
		}
		from := e.rec.mark()
		e.mustApply(st.what, st.cs)
		m.apply(st.cs)
		e.verify(st.what, m)
		e.waitNotified(st.what, from, changedKeys(st.cs))
		if d := m.diff(e.s); !d.Empty() {
			e.Errorf("%s: re-diff is %s, want empty", st.what, d)
		}
	}
}

// largeCount is how many MACs a large batch may use on one logical switch.
func (e *env) largeCount(n int) int {
	if cr, ok := e.s.(drivers.CapabilityReporter); ok {
		if max := cr.Capabilities().MaxRemoteMACs; max > 0 && n > max-1 {
			n = max - 1
		}
	}
	return n
}

func caseLargeBatch(e *env) {
	e.connect()
	e.waitResync("after Connect", 0)
	a := e.ls[0]
	b, ok := e.bulk(a)
	if !ok {
		e.Skipf("the switch holds no remote entries but flood lists (Capabilities.NoUcastRemote, FloodListsOnly)")
	}
	n := e.largeCount(largeN)
	if n < 10 {
		e.Skipf("MaxRemoteMACs leaves room for %d MACs only", n)
	}
	m := newModel(e.ls)
	cs := &vtep.Changeset{
		LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniA))},
		McastRemote:     []vtep.McastChange{setM(a, vtep.UnknownDst, loc(1), loc(2), loc(3))},
	}
	for i := range n {
		b.set(cs, 0x10000+i, loc(1+i%8))
	}
	t0 := time.Now()
	e.mustApply(fmt.Sprintf("%d %s", n, b), cs)
	e.Logf("applied %d %s in %v", n, b, time.Since(t0))
	m.apply(cs)
	e.verify(fmt.Sprintf("%d %s added", n, b), m)

	up := &vtep.Changeset{}
	for i := 0; i < n; i += 2 {
		b.set(up, 0x10000+i, loc(10+i%8))
	}
	t0 = time.Now()
	e.mustApply(fmt.Sprintf("%d %s moved", up.Len(), b), up)
	e.Logf("moved %d %s in %v", up.Len(), b, time.Since(t0))
	m.apply(up)
	e.verify(fmt.Sprintf("%d %s moved", up.Len(), b), m)

	del := &vtep.Changeset{
		LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, nil)},
		McastRemote:     []vtep.McastChange{delM(a, vtep.UnknownDst)},
	}
	for i := range n {
		b.del(del, 0x10000+i)
	}
	t0 = time.Now()
	e.mustApply(fmt.Sprintf("%d %s deleted", n, b), del)
	e.Logf("deleted %d %s in %v", n, b, time.Since(t0))
	m.apply(del)
	e.verify("all deleted", m)
}

func caseObserveDuringApply(e *env) {
	s := e.connect()
	e.waitResync("after Connect", 0)
	a := e.ls[0]
	b, ok := e.bulk(a)
	if !ok {
		e.Skipf("the switch holds no remote entries but flood lists (Capabilities.NoUcastRemote, FloodListsOnly)")
	}
	n := e.largeCount(500)
	m := newModel(e.ls)
	cs := &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniA))}}
	want := map[int]string{}
	for i := range n {
		b.set(cs, 0x20000+i, loc(1+i%5))
	}
	m.apply(cs)
	for i := range n {
		k := b.key(0x20000 + i)
		if b.group {
			want[i] = fmtMcast(m.mcast[k])
		} else {
			want[i] = fmtUcast(m.ucast[k])
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	var mu sync.Mutex
	var bad []string
	for r := range 3 {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("a read panicked: %v", p))
					mu.Unlock()
				}
			}()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s.PhysicalSwitches()
				s.LogicalSwitches()
				s.LogicalSwitch(a)
				s.Connected()
				s.Status()
				for _, kind := range []vtep.Kind{vtep.KindUcastRemote, vtep.KindMcastRemote, vtep.KindUcastLocal, vtep.KindMcastLocal} {
					s.Entries(kind)
				}
				j := i % n
				if got, ok := b.read(s, 0x20000+j); ok && got != want[j] {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("during Apply, %s reads %s, want absent or %s", b.key(0x20000+j), got, want[j]))
					mu.Unlock()
				}
				s.UcastLocal(vtep.MACKey{LS: a, MAC: mac(0x20000 + j)})
				s.McastRemote(vtep.MACKey{LS: a, MAC: vtep.UnknownDst})
				s.McastLocal(vtep.MACKey{LS: a, MAC: vtep.UnknownDst})
				reads.Add(1)
			}
		})
	}
	err := e.apply(cs)
	close(stop)
	wg.Wait()
	if err != nil {
		e.Fatalf("Apply of %d MACs with concurrent reads: %v", n, err)
	}
	for _, b := range trim(bad) {
		e.Errorf("%s", b)
	}
	e.Logf("%d read rounds during Apply", reads.Load())
	e.verify("after Apply with concurrent reads", m)
}

func caseReconnect(e *env) {
	d, ok := e.dev.(Disrupter)
	if !ok {
		e.Skipf("device does not implement driverstest.Disrupter")
	}
	m := e.start()
	e.verify("before the disruption", m)
	from := e.rec.mark()
	if err := d.Disrupt(e.ctx); err != nil {
		e.Fatalf("Disrupt: %v", err)
	}
	e.waitResync("after Disrupt", from)
	if ok, _ := e.eventually(func() (bool, string) { return e.s.Connected(), "" }); !ok {
		e.Fatalf("Connected() still false %v after the resync", e.eventTimeout)
	}
	e.verify("after reconnecting", m)
	if l, ok := e.dev.(Learner); ok {
		k := vtep.MACKey{LS: e.ls[0], MAC: mac(0xaa0001)}
		from := e.rec.mark()
		if err := l.Learn(e.ctx, k.LS, k.MAC); err != nil {
			e.Fatalf("Learn: %v", err)
		}
		e.waitNotified("learned after reconnecting", from, []vtep.Key{{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC}})
		e.checkLocal("learned after reconnecting", map[vtep.MACKey]bool{k: true})
	}
	up := e.update(e.ls[0], mac(1), loc(5))
	e.mustApply("update after reconnecting", up)
	m.apply(up)
	e.verify("update after reconnecting", m)

	// Again, in the middle of a large Apply.
	n := e.largeCount(1000) - 10
	big := &vtep.Changeset{}
	if b, ok := e.bulk(e.ls[0]); ok {
		for i := range n {
			b.set(big, 0x30000+i, loc(1+i%4))
		}
	} else {
		big = &vtep.Changeset{McastRemote: []vtep.McastChange{setM(e.ls[0], vtep.UnknownDst, loc(7), loc(8))}}
		n = big.Len()
	}
	from = e.rec.mark()
	var applyErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		applyErr = e.apply(big)
	}()
	time.Sleep(2 * time.Millisecond)
	if err := d.Disrupt(e.ctx); err != nil {
		e.Fatalf("Disrupt during Apply: %v", err)
	}
	<-done
	e.Logf("Apply of %d entries disrupted midway returned %v", n, applyErr)
	if errors.Is(applyErr, drivers.ErrInvalid) {
		e.Errorf("Apply disrupted midway: %v: the input was valid; want nil or a retryable error such as drivers.ErrDisconnected", applyErr)
	}
	e.waitResync("after Disrupt during Apply", from)
	m.apply(big)
	e.converge("after Disrupt during Apply", m)
}

func caseRestart(e *env) {
	m := e.start()
	learned := map[vtep.MACKey]bool{}
	if l, ok := e.dev.(Learner); ok {
		k := vtep.MACKey{LS: e.ls[1], MAC: mac(0xaa0002)}
		from := e.rec.mark()
		if err := l.Learn(e.ctx, k.LS, k.MAC); err != nil {
			e.Fatalf("Learn: %v", err)
		}
		e.waitNotified("learned before the restart", from, []vtep.Key{{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC}})
		learned[k] = true
	}
	id := e.s.ID()
	e.closeSession()
	e.checkDevice("after Close", m)
	c0, counted := e.changes()
	s := e.connect()
	e.waitResync("after reconnecting a new session", 0)
	e.noWrites("a new session adopting existing state", c0, counted)
	if got := s.ID(); got != id {
		e.Errorf("ID() = %q after a restart, was %q: the identity must be stable", got, id)
	}
	if d := m.diff(s); !d.Empty() {
		if !shadowed(d, s, e.caps) {
			e.Errorf("new session's re-diff is %s, want empty: adopt without delete and re-add", d)
		} else {
			// The switch does not store these (Capabilities.ShadowsUcastIP,
			// ShadowsVNIZero): the new session does not know them, and
			// setting them again writes nothing to the switch.
			c1, counted := e.changes()
			e.mustApply("values the switch does not store, set again after a restart", d)
			e.noWrites("values the switch does not store, set again after a restart", c1, counted)
			if d := m.diff(s); !d.Empty() {
				e.Errorf("new session's re-diff after setting them again is %s, want empty", d)
			}
		}
	}
	e.checkSession("new session", s, m)
	if len(learned) > 0 {
		e.checkLocal("new session", learned)
	}
	up := e.update(e.ls[1], mac(0x102), loc(2))
	e.mustApply("update from the new session", up)
	m.apply(up)
	e.verify("update from the new session", m)
}

func caseCancel(e *env) {
	cancelled, cancel := context.WithCancel(e.ctx)
	cancel()
	var s drivers.Session
	var err error
	if w := within(promptly, func() { s, err = e.dev.Connector().Connect(cancelled, func(vtep.Key) {}) }); w != nil {
		e.Fatalf("Connect with a cancelled context %v", w)
	}
	switch {
	case err == nil && s == nil:
		e.Errorf("Connect with a cancelled context returned neither a session nor an error")
	case err == nil:
		_ = s.Close()
	case !errors.Is(err, context.Canceled):
		e.Errorf("Connect with a cancelled context: %v, want an error wrapping context.Canceled", err)
	}

	m := e.start()
	small := e.update(e.ls[0], mac(0x40000), loc(1))
	if w := within(promptly, func() { err = e.s.Apply(cancelled, small) }); w != nil {
		e.Fatalf("Apply with a cancelled context %v", w)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		e.Errorf("Apply with a cancelled context: %v, want nil or an error wrapping context.Canceled", err)
	}
	m.apply(small)

	n := e.largeCount(largeN) - 10
	big := &vtep.Changeset{}
	if b, ok := e.bulk(e.ls[0]); ok {
		for i := range n {
			b.set(big, 0x50000+i, loc(1+i%4))
		}
	} else {
		big = &vtep.Changeset{McastRemote: []vtep.McastChange{setM(e.ls[0], vtep.UnknownDst, loc(7), loc(8))}}
		n = big.Len()
	}
	ctx, cancelBig := context.WithCancel(e.ctx)
	defer cancelBig()
	time.AfterFunc(5*time.Millisecond, cancelBig)
	t0 := time.Now()
	if w := within(promptly+time.Second, func() { err = e.s.Apply(ctx, big) }); w != nil {
		e.Fatalf("Apply of %d entries cancelled after 5ms %v", n, w)
	}
	e.Logf("Apply of %d entries cancelled after 5ms returned after %v: %v", n, time.Since(t0), err)
	if err != nil && !errors.Is(err, context.Canceled) {
		e.Errorf("Apply cancelled midway: %v, want nil or an error wrapping context.Canceled", err)
	}
	m.apply(big)
	e.converge("after a cancelled Apply", m)
}

func caseClosed(e *env) {
	m := e.start()
	e.verify("before Close", m)
	e.closeSession()
	s := e.s
	var err error
	if w := within(promptly, func() { err = s.Apply(e.ctx, e.base()) }); w != nil {
		e.Fatalf("Apply after Close %v", w)
	}
	if !errors.Is(err, drivers.ErrDisconnected) {
		e.Errorf("Apply after Close = %v, want an error wrapping drivers.ErrDisconnected", err)
	}
	if w := within(promptly, func() {
		s.PhysicalSwitches()
		s.LogicalSwitches()
		s.LogicalSwitch(e.ls[0])
		s.UcastRemote(vtep.MACKey{LS: e.ls[0], MAC: mac(1)})
		s.McastRemote(vtep.MACKey{LS: e.ls[0], MAC: vtep.UnknownDst})
		s.UcastLocal(vtep.MACKey{LS: e.ls[0], MAC: mac(1)})
		s.McastLocal(vtep.MACKey{LS: e.ls[0], MAC: vtep.UnknownDst})
		s.Entries(vtep.KindUcastRemote)
		s.Status()
		s.ID()
	}); w != nil {
		e.Errorf("reads after Close %v", w)
	}
	if s.Connected() {
		e.Errorf("Connected() = true after Close")
	}
	e.checkDevice("after Close", m)
}

func caseLearnAge(e *env) {
	l, ok := e.dev.(Learner)
	if !ok {
		e.Skipf("device does not implement driverstest.Learner")
	}
	e.connect()
	e.waitResync("after Connect", 0)
	ka := vtep.MACKey{LS: e.ls[0], MAC: mac(0xaa0003)}
	kb := vtep.MACKey{LS: e.ls[1], MAC: mac(0xaa0004)}
	localKey := func(k vtep.MACKey) []vtep.Key {
		return []vtep.Key{{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC}}
	}
	want := map[vtep.MACKey]bool{}
	for _, k := range []vtep.MACKey{ka, kb} {
		from := e.rec.mark()
		if err := l.Learn(e.ctx, k.LS, k.MAC); err != nil {
			e.Fatalf("Learn(%s): %v", k, err)
		}
		e.waitNotified("learned "+k.String(), from, localKey(k))
		want[k] = true
		e.checkLocal("learned "+k.String(), want)
	}
	for _, k := range []vtep.MACKey{ka, kb} {
		from := e.rec.mark()
		if err := l.Age(e.ctx, k.LS, k.MAC); err != nil {
			e.Fatalf("Age(%s): %v", k, err)
		}
		e.waitNotified("aged "+k.String(), from, localKey(k))
		delete(want, k)
		e.checkLocal("aged "+k.String(), want)
	}
}

func caseExternalDelete(e *env) {
	ed, ok := e.dev.(Editor)
	if !ok {
		e.Skipf("device does not implement driverstest.Editor")
	}
	m := e.start()
	uk := vtep.MACKey{LS: e.ls[0], MAC: mac(1)}
	mk := vtep.MACKey{LS: e.ls[0], MAC: vtep.UnknownDst}
	for _, tc := range []struct {
		k    vtep.MACKey
		key  vtep.Key
		gone func() bool
	}{
		{uk, vtep.UcastRemoteKey(uk), func() bool { _, ok := e.s.UcastRemote(uk); return !ok }},
		{mk, vtep.McastRemoteKey(mk), func() bool { _, ok := e.s.McastRemote(mk); return !ok }},
	} {
		if _, ok := m.ucast[tc.k]; !ok && tc.k == uk {
			continue // the switch holds no remote unicast entries
		}
		from := e.rec.mark()
		if err := ed.DeleteRemote(e.ctx, tc.k); err != nil {
			e.Fatalf("DeleteRemote(%s): %v", tc.k, err)
		}
		e.waitNotified("deleted behind the driver's back", from, []vtep.Key{tc.key})
		if ok, _ := e.eventually(func() (bool, string) { return tc.gone(), "" }); !ok {
			e.Errorf("%s deleted on the device, the session still reads it", tc.k)
		}
		gone := m.clone()
		delete(gone.ucast, tc.k)
		delete(gone.mcast, tc.k)
		e.checkSession("after "+tc.k.String()+" was deleted on the device", e.s, gone)
		e.converge("restored "+tc.k.String(), m)
	}
}

func caseBadInput(e *env) {
	m := e.start()
	a := e.ls[0]
	c0, counted := e.changes()
	for _, tc := range []struct {
		what string
		cs   *vtep.Changeset
	}{
		{"ucast on an unknown logical switch", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(noSuchLS, mac(0x500), loc(1), "")}}},
		{"mcast on an unknown logical switch", &vtep.Changeset{McastRemote: []vtep.McastChange{setM(noSuchLS, vtep.UnknownDst, loc(1))}}},
		{"short MAC", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, "02:00:00:00:05", loc(1), "")}}},
		{"non-hex MAC", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, "zz:00:00:00:05:01", loc(1), "")}}},
		{"multicast MAC in a unicast entry", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, groupMAC2, loc(1), "")}}},
		{"unknown-dst in a unicast entry", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, vtep.UnknownDst, loc(1), "")}}},
		{"malformed locator", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, mac(0x501), "10.250.300.1", "")}}},
		{"empty locator", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, mac(0x502), "", "")}}},
		{"malformed IP", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, mac(0x503), loc(1), "not-an-ip")}}},
		{"malformed multicast locator", &vtep.Changeset{McastRemote: []vtep.McastChange{setM(a, vtep.UnknownDst, loc(1), "10.250.200")}}},
		{"multicast entry without locators", &vtep.Changeset{McastRemote: []vtep.McastChange{setM(a, groupMAC2)}}},
		{"malformed multicast MAC", &vtep.Changeset{McastRemote: []vtep.McastChange{setM(a, "01:00:5e:xx:00:01", loc(1))}}},
		{"VNI above 2^24-1", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(1<<24))}}},
		{"negative VNI", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(-1))}}},
		{"one bad change among good ones", &vtep.Changeset{
			LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniC))},
			UcastRemote: []vtep.UcastChange{
				delU(a, mac(1)),
				setU(a, mac(0x504), loc(1), ""),
				setU(a, "02:00:00:00:05:0g", loc(1), ""),
			},
			McastRemote: []vtep.McastChange{setM(a, vtep.UnknownDst, loc(5))},
		}},
		{"the same entry changed twice", &vtep.Changeset{UcastRemote: []vtep.UcastChange{
			setU(a, mac(0x505), loc(1), ""),
			setU(a, mac(0x505), loc(2), ""),
		}}},
	} {
		err := e.apply(tc.cs)
		switch {
		case err == nil:
			e.Errorf("%s: Apply succeeded, want an error wrapping drivers.ErrInvalid", tc.what)
		case errors.Is(err, drivers.ErrUnsupported) && e.fit(tc.cs).Len() < tc.cs.Len() && drivers.ValidateChangeset(tc.cs) == nil:
			// Well-formed, but of a kind the switch cannot hold: refusing
			// it as unsupported is as right as refusing it as invalid.
		case !errors.Is(err, drivers.ErrInvalid):
			e.Errorf("%s: Apply = %v, want an error wrapping drivers.ErrInvalid", tc.what, err)
		}
	}
	e.noWrites("rejected changesets", c0, counted)
	e.verify("after rejected changesets", m)
	up := e.update(a, mac(0x506), loc(1))
	e.mustApply("a good change after bad ones", up)
	m.apply(up)
	e.verify("a good change after bad ones", m)
}

func caseReplicationModes(e *env) {
	s := e.connect()
	e.waitResync("after Connect", 0)
	cr, ok := s.(drivers.CapabilityReporter)
	if !ok {
		e.Skipf("session does not implement drivers.CapabilityReporter")
	}
	caps := cr.Capabilities()
	if len(caps.ReplicationModes) == 0 {
		e.Skipf("Capabilities().ReplicationModes is empty")
	}
	a := e.ls[0]
	m := newModel(e.ls)
	e.mustApply("VNI", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniA))}})
	m.vni[a] = vni(vniA)
	for _, mode := range []string{vtep.ReplicationSourceNode, vtep.ReplicationServiceNode} {
		cs := &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: a, VNI: vni(vniC), ReplicationMode: mode}}}
		if caps.SupportsMode(mode) {
			e.mustApply("mode "+mode, cs)
			m.vni[a] = vni(vniC)
			if ls, _ := s.LogicalSwitch(a); ls.ReplicationMode != mode {
				e.Errorf("replication mode %s applied, LogicalSwitch(%q).ReplicationMode = %q", mode, a, ls.ReplicationMode)
			}
			e.verify("mode "+mode, m)
			e.mustApply("VNI back", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniA))}})
			m.vni[a] = vni(vniA)
			continue
		}
		before, _ := s.LogicalSwitch(a)
		c0, counted := e.changes()
		err := e.apply(cs)
		if !errors.Is(err, drivers.ErrUnsupported) {
			e.Errorf("mode %s is not in Capabilities().ReplicationModes %v: Apply = %v, want an error wrapping drivers.ErrUnsupported", mode, caps.ReplicationModes, err)
		}
		e.noWrites("unsupported mode "+mode, c0, counted)
		if after, _ := s.LogicalSwitch(a); after.ReplicationMode != before.ReplicationMode {
			e.Errorf("unsupported mode %s: ReplicationMode changed from %q to %q", mode, before.ReplicationMode, after.ReplicationMode)
		}
		e.verify("unsupported mode "+mode, m)
	}
}

func caseUnsupported(e *env) {
	s := e.connect()
	e.waitResync("after Connect", 0)
	if _, ok := s.(drivers.CapabilityReporter); !ok {
		e.Skipf("session does not implement drivers.CapabilityReporter")
	}
	if !e.caps.NoUcastRemote && !e.caps.FloodListsOnly {
		e.Skipf("Capabilities() reports every kind of remote entry supported")
	}
	a := e.ls[0]
	uk := vtep.MACKey{LS: a, MAC: mac(0x700)}
	gk := vtep.MACKey{LS: a, MAC: groupMAC2}
	fk := vtep.MACKey{LS: a, MAC: vtep.UnknownDst}
	if p, ok := s.(vtep.PartialSwitch); ok {
		for _, k := range []vtep.Key{vtep.UcastRemoteKey(uk), vtep.McastRemoteKey(gk), vtep.McastRemoteKey(fk)} {
			if got, want := p.Supports(k), e.caps.Supports(k); got != want {
				e.Errorf("Supports(%v) = %v, Capabilities().Supports = %v", k, got, want)
			}
		}
	}
	m := e.start()
	c0, counted := e.changes()
	var tcs []struct {
		what string
		cs   *vtep.Changeset
	}
	add := func(what string, cs *vtep.Changeset) {
		tcs = append(tcs, struct {
			what string
			cs   *vtep.Changeset
		}{what, cs})
	}
	flood := setM(a, vtep.UnknownDst, loc(6))
	if e.caps.NoUcastRemote {
		add("a remote unicast entry (Capabilities.NoUcastRemote)", &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU(a, uk.MAC, loc(1), hostIP(7))}})
		add("a remote unicast entry with a flood-list change", &vtep.Changeset{
			UcastRemote: []vtep.UcastChange{setU(a, uk.MAC, loc(1), "")},
			McastRemote: []vtep.McastChange{flood},
		})
	}
	if e.caps.FloodListsOnly {
		add("a multicast group (Capabilities.FloodListsOnly)", &vtep.Changeset{McastRemote: []vtep.McastChange{setM(a, gk.MAC, loc(1))}})
		add("a multicast group with a flood-list change", &vtep.Changeset{McastRemote: []vtep.McastChange{flood, setM(a, gk.MAC, loc(1), loc(2))}})
	}
	for _, tc := range tcs {
		if err := e.apply(tc.cs); !errors.Is(err, drivers.ErrUnsupported) {
			e.Errorf("%s: Apply = %v, want an error wrapping drivers.ErrUnsupported", tc.what, err)
		}
	}
	e.noWrites("unsupported entries", c0, counted)
	e.verify("after unsupported entries", m)
	if _, ok := s.UcastRemote(uk); ok && e.caps.NoUcastRemote {
		e.Errorf("UcastRemote(%s) found an entry the switch cannot hold", uk)
	}
	if _, ok := s.McastRemote(gk); ok && e.caps.FloodListsOnly {
		e.Errorf("McastRemote(%s) found an entry the switch cannot hold", gk)
	}
	up := &vtep.Changeset{McastRemote: []vtep.McastChange{flood}}
	e.mustApply("a supported change after unsupported ones", up)
	m.apply(up)
	e.verify("a supported change after unsupported ones", m)
}

func caseLimits(e *env) {
	s := e.connect()
	e.waitResync("after Connect", 0)
	cr, ok := s.(drivers.CapabilityReporter)
	if !ok {
		e.Skipf("session does not implement drivers.CapabilityReporter")
	}
	max := cr.Capabilities().MaxRemoteMACs
	switch {
	case max == 0:
		e.Skipf("Capabilities().MaxRemoteMACs is 0 (no known limit)")
	case max > 5000:
		e.Skipf("Capabilities().MaxRemoteMACs is %d, too many to fill in a test", max)
	}
	a := e.ls[0]
	b, ok := e.bulk(a)
	if !ok {
		e.Skipf("the switch holds no remote entries but flood lists (Capabilities.NoUcastRemote, FloodListsOnly)")
	}
	m := newModel(e.ls)
	full := &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{setLS(a, vni(vniA))}}
	for i := range max {
		b.set(full, 0x60000+i, loc(1+i%4))
	}
	over := &vtep.Changeset{}
	b.set(over, 0x60000+max, loc(1))
	e.mustApply(fmt.Sprintf("%d %s (the limit)", max, b), full)
	m.apply(full)
	e.verify("at the limit", m)
	c0, counted := e.changes()
	for _, tc := range []struct {
		what string
		cs   *vtep.Changeset
	}{
		{"one entry over the limit", over},
		{"a flood entry over the limit", &vtep.Changeset{McastRemote: []vtep.McastChange{setM(a, vtep.UnknownDst, loc(1))}}},
	} {
		err := e.apply(tc.cs)
		if !errors.Is(err, drivers.ErrLimit) || !errors.Is(err, drivers.ErrInvalid) {
			e.Errorf("%s: Apply = %v, want an error wrapping drivers.ErrLimit", tc.what, err)
		}
	}
	e.noWrites("changesets over the limit", c0, counted)
	e.verify("after changesets over the limit", m)
	swap := &vtep.Changeset{}
	b.del(swap, 0x60000)
	b.set(swap, 0x60000+max, loc(1))
	e.mustApply("one deleted and one added at the limit", swap)
	m.apply(swap)
	e.verify("one deleted and one added at the limit", m)
}
