package gnmi

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/vtep"
)

// An Adapter translates between the switch-neutral model and one family of
// device paths. OpenConfig has no configuration for static flood lists or
// static remote MAC → VTEP entries, so every device family needs one.
//
// Observed state flows notifications → rows → facts: Decode names the row
// and field a notification leaf belongs to, the session keeps the rows, and
// Facts derives the switch-neutral facts of one row. Desired state flows
// the other way: Translate turns a changeset into one SetRequest plus the
// rows that request writes, which the session applies to its observed state
// when the Set succeeds (read-your-writes before the stream confirms).
//
// Adapters are pure: no I/O, no goroutines, no clocks.
type Adapter interface {
	// Name is the adapter's configuration name.
	Name() string
	// Subscriptions are the paths (origin set) of the session's single
	// STREAM subscription, all ON_CHANGE.
	Subscriptions(c Config) []*gnmipb.Path
	// Poll are paths read with Get after every (re)connect and every poll
	// interval, for state that cannot be subscribed; nil if none.
	Poll(c Config) []*gnmipb.Path
	// PollTables are the tables DecodePoll fills (replaced wholesale).
	PollTables() []string
	// Decode maps a notification path (prefix applied, origin set) to the
	// rows it touches. A Hit with an empty Field is a whole row, with an
	// empty Key a whole table (deletes only). Paths that are not the
	// adapter's yield nothing.
	Decode(p *gnmipb.Path, c Config) []Hit
	// DecodePoll turns a Get response for Poll into the complete poll rows.
	DecodePoll(ns []*gnmipb.Notification, c Config) (map[RowID]Row, error)
	// Facts derives the facts of one row.
	Facts(id RowID, r Row, c Config) []Fact
	// Translate turns a changeset into one SetRequest and the rows it
	// writes. Remote multicast groups other than vtep.UnknownDst never reach
	// it (see Capabilities).
	Translate(cs *vtep.Changeset, v View, c Config) (*gnmipb.SetRequest, []RowEdit, error)
}

// Config is what adapters know of the switch configuration.
type Config struct {
	// VTEP is the VXLAN tunnel name (SONiC VXLAN_TUNNEL key); empty: the
	// device's own.
	VTEP string
	// VxlanIf is the VXLAN interface (EOS "Vxlan1").
	VxlanIf string
	// NetworkInstance is the OpenConfig network instance holding the
	// VLANs and the FDB ("default").
	NetworkInstance string
}

// RowID names one row of observed device data.
type RowID struct{ Table, Key string }

func (id RowID) String() string { return id.Table + "|" + id.Key }

// Row is a row's leaves, relative path → value as text (leaf-lists
// comma-separated).
type Row map[string]string

// Hit is one row (and field) a notification path touches.
type Hit struct {
	ID    RowID
	Field string
}

// RowEdit is one row a Set writes; a nil Row deletes it.
type RowEdit struct {
	ID  RowID
	Row Row
}

// FactKind says what a Fact states.
type FactKind uint8

// Fact kinds.
const (
	// FactTunnelIP: the switch's own VTEP address (Value); Key names the
	// tunnel when the device has several.
	FactTunnelIP FactKind = iota + 1
	// FactVLAN: VLAN exists, Value is its name ("" if unnamed).
	FactVLAN
	// FactBinding: port Key carries VLAN with wire tag Value ("0":
	// untagged).
	FactBinding
	// FactVNI: VLAN maps to VNI Value.
	FactVNI
	// FactFlood: remote VTEP Key is in VLAN's flood list.
	FactFlood
	// FactRemote: static remote MAC Key in VLAN sits behind VTEP Value.
	FactRemote
	// FactLearned: MAC Key was learned in VLAN on port Value.
	FactLearned
)

// Fact is one switch-neutral statement derived from a row.
type Fact struct {
	Kind  FactKind
	VLAN  int
	Key   string
	Value string
}

// Sourced is a fact with the row it came from.
type Sourced struct {
	Fact
	Row RowID
}

// View is the observed state Translate may read.
type View interface {
	// VLAN returns the device VLAN of a logical switch.
	VLAN(ls string) (int, bool)
	// VNI returns the VLAN's VNI when the device maps exactly one.
	VNI(vlan int) (int, bool)
	// Lookup returns the facts of a kind with exactly this VLAN and key.
	Lookup(kind FactKind, vlan int, key string) []Sourced
	// List returns every fact of a kind in a VLAN, sorted by key.
	List(kind FactKind, vlan int) []Sourced
}

var adapters = map[string]Adapter{}

func registerAdapter(a Adapter) { adapters[a.Name()] = a }

// adapterNames returns the known adapter names, sorted.
func adapterNames() []string {
	var ns []string
	for n := range adapters {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// ---- helpers shared by adapters ----

// macSeps strips MAC separators.
var macSeps = strings.NewReplacer(":", "", "-", "")

// normMAC returns mac lower-case and colon-separated, accepting the colon,
// dash and dotted (0011.2233.4455) forms.
func normMAC(mac string) (string, bool) {
	s := strings.ToLower(mac)
	var hex string
	switch {
	case len(s) == 17 && (strings.Count(s, ":") == 5 || strings.Count(s, "-") == 5):
		hex = macSeps.Replace(s)
	case len(s) == 14 && strings.Count(s, ".") == 2:
		hex = strings.ReplaceAll(s, ".", "")
	default:
		return "", false
	}
	if len(hex) != 12 || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	return b.String(), true
}

// dottedMAC prints a normalised MAC as 0011.2233.4455.
func dottedMAC(mac string) string {
	h := strings.ReplaceAll(mac, ":", "")
	return h[0:4] + "." + h[4:8] + "." + h[8:12]
}

// macChangeError rejects a MAC the device cannot take.
func badMAC(k vtep.MACKey) error {
	return fmt.Errorf("MAC %q of logical switch %q is not a unicast MAC address", k.MAC, k.LS)
}

// vlanOf resolves a logical switch, or fails with an error naming it.
func vlanOf(v View, ls string) (int, error) {
	id, ok := v.VLAN(ls)
	if !ok {
		return 0, fmt.Errorf("logical switch %q has no VLAN on the device", ls)
	}
	return id, nil
}

// newVNIs returns the VNI each VLAN will have after cs: changed ones from
// cs (0: cleared), others as observed.
func newVNIs(cs *vtep.Changeset, v View) (map[int]int, error) {
	out := map[int]int{}
	for _, c := range cs.LogicalSwitches {
		id, err := vlanOf(v, c.Name)
		if err != nil {
			return nil, err
		}
		out[id] = 0
		if c.VNI != nil {
			out[id] = *c.VNI
		}
	}
	return out, nil
}

func vniAfter(changed map[int]int, v View, vlan int) int {
	if n, ok := changed[vlan]; ok {
		return n
	}
	n, _ := v.VNI(vlan)
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
