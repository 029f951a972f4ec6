package driverstest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// model is the state the suite expects on its logical switches.
type model struct {
	ls    []string
	vni   map[string]*int
	ucast map[vtep.MACKey]vtep.UcastMAC
	mcast map[vtep.MACKey]vtep.McastMAC
}

func newModel(ls []string) *model {
	return &model{
		ls:    slices.Clone(ls),
		vni:   map[string]*int{},
		ucast: map[vtep.MACKey]vtep.UcastMAC{},
		mcast: map[vtep.MACKey]vtep.McastMAC{},
	}
}

func (m *model) clone() *model {
	c := newModel(m.ls)
	maps.Copy(c.vni, m.vni)
	maps.Copy(c.ucast, m.ucast)
	for k, v := range m.mcast {
		v.Locators = slices.Clone(v.Locators)
		c.mcast[k] = v
	}
	return c
}

// apply records what a successful Apply of cs must leave.
func (m *model) apply(cs *vtep.Changeset) {
	for _, c := range cs.LogicalSwitches {
		m.vni[c.Name] = c.VNI
	}
	for _, c := range cs.UcastRemote {
		if c.Set == nil {
			delete(m.ucast, c.Key)
			continue
		}
		v := *c.Set
		v.MACKey = c.Key
		m.ucast[c.Key] = v
	}
	for _, c := range cs.McastRemote {
		if c.Set == nil {
			delete(m.mcast, c.Key)
			continue
		}
		v := *c.Set
		v.MACKey = c.Key
		v.Locators = vtep.NormalizeLocators(slices.Clone(v.Locators))
		m.mcast[c.Key] = v
	}
}

func (m *model) has(ls string) bool { return slices.Contains(m.ls, ls) }

// shadowed reports whether cs only sets again what a session of a switch
// with caps forgets when it restarts (ShadowsUcastIP, ShadowsVNIZero), as
// sw reads it: the IP of a unicast entry whose locator sw reads already,
// VNI 0 where sw reads none.
func shadowed(cs *vtep.Changeset, sw vtep.Switch, caps drivers.Capabilities) bool {
	if len(cs.McastRemote) > 0 {
		return false
	}
	for _, c := range cs.LogicalSwitches {
		ls, _ := sw.LogicalSwitch(c.Name)
		if !caps.ShadowsVNIZero || c.VNI == nil || *c.VNI != 0 || ls.VNI != nil || c.ReplicationMode != "" {
			return false
		}
	}
	for _, c := range cs.UcastRemote {
		u, ok := sw.UcastRemote(c.Key)
		if !caps.ShadowsUcastIP || c.Set == nil || !ok || u.Locator != c.Set.Locator || u.IP == c.Set.IP {
			return false
		}
	}
	return true
}

// diff returns the changeset that turns what sw reports into m, computed
// as the core computes it.
func (m *model) diff(sw vtep.Switch) *vtep.Changeset {
	cs := &vtep.Changeset{}
	for _, name := range m.ls {
		obs, ok := sw.LogicalSwitch(name)
		if !ok {
			continue
		}
		if ch := vtep.DiffLogicalSwitch(vtep.LogicalSwitch{Name: name, VNI: m.vni[name]}, obs); ch != nil {
			cs.LogicalSwitches = append(cs.LogicalSwitches, *ch)
		}
	}
	ukeys := map[vtep.MACKey]bool{}
	for k := range m.ucast {
		ukeys[k] = true
	}
	for _, k := range sw.Entries(vtep.KindUcastRemote) {
		if m.has(k.LS) {
			ukeys[k] = true
		}
	}
	for _, k := range sortedMACKeys(ukeys) {
		var want, have *vtep.UcastMAC
		if v, ok := m.ucast[k]; ok {
			want = &v
		}
		if v, ok := sw.UcastRemote(k); ok {
			have = &v
		}
		if ch := vtep.DiffUcast(k, want, have); ch != nil {
			cs.UcastRemote = append(cs.UcastRemote, *ch)
		}
	}
	mkeys := map[vtep.MACKey]bool{}
	for k := range m.mcast {
		mkeys[k] = true
	}
	for _, k := range sw.Entries(vtep.KindMcastRemote) {
		if m.has(k.LS) {
			mkeys[k] = true
		}
	}
	for _, k := range sortedMACKeys(mkeys) {
		var want, have *vtep.McastMAC
		if v, ok := m.mcast[k]; ok {
			want = &v
		}
		if v, ok := sw.McastRemote(k); ok {
			have = &v
		}
		if ch := vtep.DiffMcast(k, want, have); ch != nil {
			cs.McastRemote = append(cs.McastRemote, *ch)
		}
	}
	return cs
}

func sortedMACKeys(m map[vtep.MACKey]bool) []vtep.MACKey {
	out := make([]vtep.MACKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b vtep.MACKey) int { return cmpStr(a.String(), b.String()) })
	return out
}

func fmtVNI(v *int) string {
	if v == nil {
		return "unset"
	}
	return strconv.Itoa(*v)
}

func sameVNI(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// problems collects differences, reported as one failure.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) report(e *env, what string) bool {
	e.helper()
	if len(p) == 0 {
		return true
	}
	extra := ""
	if len(p) > 10 {
		extra = fmt.Sprintf("\n\t… and %d more", len(p)-10)
	}
	msg := ""
	for _, s := range trim(p) {
		msg += "\n\t" + s
	}
	e.Errorf("%s:%s%s", what, msg, extra)
	return false
}

// checkSession compares what the session reads with m.
func (e *env) checkSession(what string, sw vtep.Switch, m *model) bool {
	e.helper()
	var p problems
	for _, name := range m.ls {
		ls, ok := sw.LogicalSwitch(name)
		if !ok {
			p.add("LogicalSwitch(%q) not found", name)
			continue
		}
		if !sameVNI(ls.VNI, m.vni[name]) {
			p.add("LogicalSwitch(%q).VNI = %s, want %s", name, fmtVNI(ls.VNI), fmtVNI(m.vni[name]))
		}
	}
	for _, key := range sortedMACKeys(keySet(m.ucast)) {
		want := m.ucast[key]
		got, ok := sw.UcastRemote(key)
		switch {
		case !ok:
			p.add("UcastRemote(%s) missing, want %s", key, fmtUcast(want))
		case got.Locator != want.Locator || got.IP != want.IP || got.Duplicates != 0:
			p.add("UcastRemote(%s) = %s, want %s", key, fmtUcast(got), fmtUcast(want))
		}
	}
	for _, key := range sortedMACKeys(keySet(m.mcast)) {
		want := m.mcast[key]
		got, ok := sw.McastRemote(key)
		switch {
		case !ok:
			p.add("McastRemote(%s) missing, want %s", key, fmtMcast(want))
		case !slices.Equal(got.Locators, want.Locators) || got.IP != want.IP || got.Duplicates != 0:
			p.add("McastRemote(%s) = %s, want %s", key, fmtMcast(got), fmtMcast(want))
		}
	}
	for _, kind := range []vtep.Kind{vtep.KindUcastRemote, vtep.KindMcastRemote} {
		have := map[vtep.MACKey]bool{}
		for _, key := range sw.Entries(kind) {
			if !m.has(key.LS) {
				continue
			}
			if have[key] {
				p.add("Entries(%v) lists %s twice", kind, key)
			}
			have[key] = true
		}
		want := keySet(m.ucast)
		if kind == vtep.KindMcastRemote {
			want = keySet(m.mcast)
		}
		for _, key := range sortedMACKeys(have) {
			if !want[key] {
				p.add("Entries(%v) lists %s, which should not exist", kind, key)
			}
		}
		for _, key := range sortedMACKeys(want) {
			if !have[key] {
				p.add("Entries(%v) does not list %s", kind, key)
			}
		}
	}
	return p.report(e, what+": session reads differ from what was applied")
}

// checkDevice compares the device's own view with m.
func (e *env) checkDevice(what string, m *model) (*State, bool) {
	e.helper()
	st, err := e.dev.Observe(e.ctx)
	if err != nil {
		e.Fatalf("%s: Observe: %v", what, err)
	}
	var p problems
	for _, s := range st.Problems {
		p.add("device problem: %s", s)
	}
	for _, name := range m.ls {
		got, ok := st.VNIs[name]
		if !ok {
			p.add("logical switch %q missing on the device", name)
			continue
		}
		want := m.vni[name]
		if e.caps.ShadowsVNIZero && want != nil && *want == 0 {
			want = nil // the switch has no VNI 0: the session shadows it
		}
		if !sameVNI(got, want) {
			p.add("logical switch %q: device VNI %s, want %s", name, fmtVNI(got), fmtVNI(want))
		}
	}
	for key, got := range st.UcastRemote {
		if !m.has(key.LS) {
			continue
		}
		want, ok := m.ucast[key]
		switch {
		case !ok:
			p.add("device has ucast %s = %s, which should not exist", key, fmtUcast(got))
		case got.Locator != want.Locator || got.Duplicates != 0 || (got.IP != want.IP && !e.caps.ShadowsUcastIP):
			if e.caps.ShadowsUcastIP {
				want.IP = "" // the switch stores none: the session shadows it
			}
			p.add("device ucast %s = %s, want %s", key, fmtUcast(got), fmtUcast(want))
		}
	}
	for key, want := range m.ucast {
		if _, ok := st.UcastRemote[key]; !ok {
			p.add("device lacks ucast %s = %s", key, fmtUcast(want))
		}
	}
	for key, got := range st.McastRemote {
		if !m.has(key.LS) {
			continue
		}
		want, ok := m.mcast[key]
		switch {
		case !ok:
			p.add("device has mcast %s = %s, which should not exist", key, fmtMcast(got))
		case !slices.Equal(vtep.NormalizeLocators(slices.Clone(got.Locators)), want.Locators) || got.IP != want.IP || got.Duplicates != 0:
			p.add("device mcast %s = %s, want %s", key, fmtMcast(got), fmtMcast(want))
		}
	}
	for key, want := range m.mcast {
		if _, ok := st.McastRemote[key]; !ok {
			p.add("device lacks mcast %s = %s", key, fmtMcast(want))
		}
	}
	slices.Sort(p)
	return st, p.report(e, what+": the device's own view differs from what was applied")
}

// verify checks both views against m.
func (e *env) verify(what string, m *model) {
	e.helper()
	e.checkSession(what, e.s, m)
	e.checkDevice(what, m)
}

// checkLocal checks that both views list exactly want as learned on the
// suite's logical switches.
func (e *env) checkLocal(what string, want map[vtep.MACKey]bool) bool {
	e.helper()
	var p problems
	tunnelIPs := map[string]bool{}
	for _, ps := range e.s.PhysicalSwitches() {
		for _, ip := range ps.TunnelIPs {
			tunnelIPs[ip] = true
		}
	}
	for key := range want {
		got, ok := e.s.UcastLocal(key)
		if !ok {
			p.add("UcastLocal(%s) missing", key)
			continue
		}
		if got.Locator != "" && !tunnelIPs[got.Locator] {
			p.add("UcastLocal(%s).Locator = %q, not a tunnel IP of the session's physical switches", key, got.Locator)
		}
	}
	have := map[vtep.MACKey]bool{}
	for _, key := range e.s.Entries(vtep.KindUcastLocal) {
		if slices.Contains(e.ls, key.LS) {
			have[key] = true
		}
	}
	for _, key := range sortedMACKeys(have) {
		if !want[key] {
			p.add("Entries(%v) lists %s, which should not exist", vtep.KindUcastLocal, key)
			if _, ok := e.s.UcastLocal(key); ok {
				p.add("UcastLocal(%s) present, want absent", key)
			}
		}
	}
	for _, key := range sortedMACKeys(want) {
		if !have[key] {
			p.add("Entries(%v) does not list %s", vtep.KindUcastLocal, key)
		}
	}
	st, err := e.dev.Observe(e.ctx)
	if err != nil {
		e.Fatalf("%s: Observe: %v", what, err)
	}
	for key := range st.UcastLocal {
		if slices.Contains(e.ls, key.LS) && !want[key] {
			p.add("device lists learned %s, which should not exist", key)
		}
	}
	for key := range want {
		if _, ok := st.UcastLocal[key]; !ok {
			p.add("device does not list learned %s", key)
		}
	}
	return p.report(e, what+": learned MACs differ")
}

func keySet[V any](m map[vtep.MACKey]V) map[vtep.MACKey]bool {
	out := make(map[vtep.MACKey]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func fmtUcast(u vtep.UcastMAC) string {
	s := "→" + u.Locator
	if u.IP != "" {
		s += " ip=" + u.IP
	}
	if u.Duplicates != 0 {
		s += fmt.Sprintf(" duplicates=%d", u.Duplicates)
	}
	return s
}

func fmtMcast(m vtep.McastMAC) string {
	s := fmt.Sprintf("→%v", m.Locators)
	if m.IP != "" {
		s += " ip=" + m.IP
	}
	if m.Duplicates != 0 {
		s += fmt.Sprintf(" duplicates=%d", m.Duplicates)
	}
	return s
}
