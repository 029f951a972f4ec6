package gnmiface

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// MemConfig seeds an in-memory device.
type MemConfig struct {
	Name     string
	TunnelIP string
	// VTEP defaults to "vtep1", VxlanIf to "Vxlan1".
	VTEP, VxlanIf string
	Ports         []string
	VLANs         []VLANConfig
	// MaxRemoteMACs and MaxVNIs are switch limits (0: none).
	MaxRemoteMACs, MaxVNIs int
}

// VLANConfig is one seeded VLAN: Name is the logical switch; Tagged and
// Untagged list member ports.
type VLANConfig struct {
	ID               int
	Name             string
	Tagged, Untagged []string
}

// MemDevice is an in-memory Device for tests, the driver's conformance
// harness, and vtepsim without a data plane. Learned MACs are injected with
// Learn and Forget.
type MemDevice struct {
	mu      sync.RWMutex // guards st, limit, applies
	st      *State
	limit   struct{ macs, vnis int }
	applies uint64

	wmu      sync.Mutex // guards watchers, nextW; held while notifying (keeps order)
	watchers map[int]func([]Change)
	nextW    int
}

// NewMemDevice returns a device seeded from c.
func NewMemDevice(c MemConfig) (*MemDevice, error) {
	st := &State{Name: c.Name, TunnelIP: c.TunnelIP, VTEP: c.VTEP, VxlanIf: c.VxlanIf, VLANs: map[int]*VLAN{}}
	if st.Name == "" {
		return nil, fmt.Errorf("switch name is required: %w", ErrInvalid)
	}
	if _, err := netip.ParseAddr(c.TunnelIP); err != nil {
		return nil, fmt.Errorf("tunnel IP %q: %w", c.TunnelIP, ErrInvalid)
	}
	if st.VTEP == "" {
		st.VTEP = "vtep1"
	}
	if st.VxlanIf == "" {
		st.VxlanIf = "Vxlan1"
	}
	ports := map[string]bool{}
	for _, p := range c.Ports {
		ports[p] = true
	}
	for _, vc := range c.VLANs {
		if vc.ID < 1 || vc.ID > 4094 {
			return nil, fmt.Errorf("VLAN %d out of range 1..4094: %w", vc.ID, ErrInvalid)
		}
		if _, dup := st.VLANs[vc.ID]; dup {
			return nil, fmt.Errorf("VLAN %d twice: %w", vc.ID, ErrInvalid)
		}
		v := &VLAN{ID: vc.ID, Name: vc.Name, Members: map[string]bool{}, Flood: map[string]bool{},
			Remote: map[string]string{}, Learned: map[string]string{}}
		for _, p := range vc.Tagged {
			v.Members[p], ports[p] = true, true
		}
		for _, p := range vc.Untagged {
			v.Members[p], ports[p] = false, true
		}
		st.VLANs[vc.ID] = v
	}
	for p := range ports {
		st.Ports = append(st.Ports, p)
	}
	slices.Sort(st.Ports)
	d := &MemDevice{st: st, watchers: map[int]func([]Change){}}
	d.limit.macs, d.limit.vnis = c.MaxRemoteMACs, c.MaxVNIs
	return d, nil
}

// Read implements Device.
func (d *MemDevice) Read(f func(*State)) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	f(d.st)
}

// Watch implements Device.
func (d *MemDevice) Watch(fn func([]Change)) func() {
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

// notify calls the watchers; the caller must not hold mu. Holding wmu
// during the calls keeps notifications in order.
func (d *MemDevice) notify(chs []Change) {
	if len(chs) == 0 {
		return
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	for _, id := range slices.Sorted(mapsKeys(d.watchers)) {
		d.watchers[id](chs)
	}
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// macSeps strips MAC separators.
var macSeps = strings.NewReplacer(":", "", "-", "")

// NormalizeMAC returns mac as lower-case colon-separated hex, accepting
// the colon, dash and Cisco/Arista dotted forms.
func NormalizeMAC(mac string) (string, error) {
	s := strings.ToLower(mac)
	var hex string
	switch {
	case len(s) == 17 && (strings.Count(s, ":") == 5 || strings.Count(s, "-") == 5):
		hex = macSeps.Replace(s)
	case len(s) == 14 && strings.Count(s, ".") == 2:
		hex = strings.ReplaceAll(s, ".", "")
	default:
		return "", fmt.Errorf("MAC %q: %w", mac, ErrInvalid)
	}
	if len(hex) != 12 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("MAC %q: %w", mac, ErrInvalid)
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	return b.String(), nil
}

func checkIP(ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("IP %q: %w", ip, ErrInvalid)
	}
	return a.String(), nil
}

// Apply implements Device: ops run in order on a copy of the touched
// VLANs, switch-wide checks run on the result, and only then is the state
// replaced.
func (d *MemDevice) Apply(ops []Op) error {
	d.mu.Lock()
	staged := map[int]*VLAN{}
	get := func(id int) (*VLAN, error) {
		if v, ok := staged[id]; ok {
			return v, nil
		}
		v, ok := d.st.VLANs[id]
		if !ok {
			return nil, fmt.Errorf("VLAN %d: %w", id, ErrNotFound)
		}
		v = v.Clone()
		staged[id] = v
		return v, nil
	}
	var chs []Change
	err := func() error {
		for _, op := range ops {
			v, err := get(op.VLAN)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			switch op.Kind {
			case OpSetVNI:
				if op.VNI < 0 || op.VNI > 1<<24-1 {
					return fmt.Errorf("%s: VNI out of range 1..16777215: %w", op, ErrInvalid)
				}
				if v.VNI != op.VNI {
					v.VNI = op.VNI
					chs = append(chs, Change{Scope: ScopeVLAN, VLAN: v.ID})
				}
			case OpAddFlood, OpDelFlood:
				ip, err := checkIP(op.IP)
				if err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				if v.Flood[ip] != (op.Kind == OpAddFlood) {
					if op.Kind == OpAddFlood {
						v.Flood[ip] = true
					} else {
						delete(v.Flood, ip)
					}
					chs = append(chs, Change{Scope: ScopeVLAN, VLAN: v.ID})
				}
			case OpSetFlood:
				want := map[string]bool{}
				for _, s := range op.IPs {
					ip, err := checkIP(s)
					if err != nil {
						return fmt.Errorf("%s: %w", op, err)
					}
					want[ip] = true
				}
				if !mapsEqual(want, v.Flood) {
					v.Flood = want
					chs = append(chs, Change{Scope: ScopeVLAN, VLAN: v.ID})
				}
			case OpSetRemote, OpDelRemote:
				mac, err := NormalizeMAC(op.MAC)
				if err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				if op.Kind == OpDelRemote {
					if _, ok := v.Remote[mac]; ok {
						delete(v.Remote, mac)
						chs = append(chs, Change{Scope: ScopeRemote, VLAN: v.ID, MAC: mac})
					}
					continue
				}
				ip, err := checkIP(op.IP)
				if err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				if v.Remote[mac] != ip {
					v.Remote[mac] = ip
					chs = append(chs, Change{Scope: ScopeRemote, VLAN: v.ID, MAC: mac})
				}
				// A static entry overrides a learned one.
				if _, ok := v.Learned[mac]; ok {
					delete(v.Learned, mac)
					chs = append(chs, Change{Scope: ScopeLearned, VLAN: v.ID, MAC: mac})
				}
			default:
				return fmt.Errorf("%s: unknown operation: %w", op, ErrInvalid)
			}
		}
		return d.checkLimits(staged)
	}()
	if err != nil {
		d.mu.Unlock()
		return err
	}
	for id, v := range staged {
		d.st.VLANs[id] = v
	}
	if len(ops) > 0 {
		d.applies++
	}
	d.mu.Unlock()
	d.notify(chs)
	return nil
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// checkLimits runs the switch-wide checks on the staged result.
func (d *MemDevice) checkLimits(staged map[int]*VLAN) error {
	vniOwner := map[int]int{}
	vnis, macs := 0, 0
	for id, v := range d.st.VLANs {
		if s, ok := staged[id]; ok {
			v = s
		}
		if v.VNI != 0 {
			vnis++
			if other, dup := vniOwner[v.VNI]; dup {
				return fmt.Errorf("VNI %d mapped to VLANs %d and %d: %w", v.VNI, min(other, id), max(other, id), ErrInvalid)
			}
			vniOwner[v.VNI] = id
		}
		macs += len(v.Remote)
	}
	if d.limit.vnis > 0 && vnis > d.limit.vnis {
		return fmt.Errorf("%d VNIs, at most %d: %w", vnis, d.limit.vnis, ErrLimit)
	}
	if d.limit.macs > 0 && macs > d.limit.macs {
		return fmt.Errorf("%d remote MACs, at most %d: %w", macs, d.limit.macs, ErrLimit)
	}
	return nil
}

// Learn records mac as learned on port in vlan. It reports false when the
// MAC has a static remote entry there (static wins) or nothing changed.
func (d *MemDevice) Learn(vlan int, mac, port string) (bool, error) {
	mac, err := NormalizeMAC(mac)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	v, ok := d.st.VLANs[vlan]
	if !ok {
		d.mu.Unlock()
		return false, fmt.Errorf("VLAN %d: %w", vlan, ErrNotFound)
	}
	if _, static := v.Remote[mac]; static || v.Learned[mac] == port {
		d.mu.Unlock()
		return false, nil
	}
	v.Learned[mac] = port
	d.mu.Unlock()
	d.notify([]Change{{Scope: ScopeLearned, VLAN: vlan, MAC: mac}})
	return true, nil
}

// Forget ages mac out of vlan. It reports whether it was learned.
func (d *MemDevice) Forget(vlan int, mac string) (bool, error) {
	mac, err := NormalizeMAC(mac)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	v, ok := d.st.VLANs[vlan]
	if !ok || v.Learned[mac] == "" {
		d.mu.Unlock()
		return false, nil
	}
	delete(v.Learned, mac)
	d.mu.Unlock()
	d.notify([]Change{{Scope: ScopeLearned, VLAN: vlan, MAC: mac}})
	return true, nil
}

// Reset empties every VLAN's controller state (VNI, flood list, remote
// MACs), as a switch reload would; learned MACs and topology stay.
func (d *MemDevice) Reset() {
	d.mu.Lock()
	for _, v := range d.st.VLANs {
		v.VNI, v.Flood, v.Remote = 0, map[string]bool{}, map[string]string{}
	}
	d.mu.Unlock()
	d.notify([]Change{{Scope: ScopeAll}})
}

// Applies counts the successful Apply calls that carried operations: a
// controller's writes, whether or not they changed anything.
func (d *MemDevice) Applies() uint64 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.applies
}

// Snapshot returns a deep copy of the state (for tests).
func (d *MemDevice) Snapshot() *State {
	d.mu.RLock()
	defer d.mu.RUnlock()
	st := *d.st
	st.Ports = slices.Clone(d.st.Ports)
	st.VLANs = make(map[int]*VLAN, len(d.st.VLANs))
	for id, v := range d.st.VLANs {
		st.VLANs[id] = v.Clone()
	}
	return &st
}
