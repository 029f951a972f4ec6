// Package mcaste2e tests vtepgw's multicast and multi-encap mapping (issue
// 3) end to end: real OVN NB/SB ovsdb-servers, the real ovn-northd, a
// hardware_vtep ovsdb-server and the vtepgw daemon, all started by package
// testbed.
//
// Hypervisors are simulated the way OVN's own tests do it: fake chassis
// (ovn-sbctl chassis-add, or Chassis/Encap rows written directly when a
// chassis needs several encaps), ports bound with ovn-sbctl lsp-bind, and
// IGMP_Group rows written as ovn-controller writes them. Switch-side state
// (Mcast_Macs_Local) is written with vtep-ctl, as a switch's snooping would.
//
// TestMain builds the daemon once into a temporary directory. Set
// VTEPGW_E2E_RACE=1 to build it with the race detector as well (a race it
// reports fails the test), VTEPGW_BIN to use a prebuilt daemon instead, and
// VTEPGW_E2E_LOGDIR to keep the daemon logs of failed tests there.
package mcaste2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

var vtepgwBin string

func TestMain(m *testing.M) {
	os.Exit(testbed.VtepgwMain(m, &vtepgwBin, testbed.VtepgwMainOptions{TempPrefix: "vtepgw-mcaste2e", RaceEnv: "VTEPGW_E2E_RACE", Prebuilt: true}))
}

const (
	wait = 20 * time.Second
	poll = 25 * time.Millisecond
	// quiet is how long "nothing changes" is watched for, after a
	// barrier showed the change was processed.
	quiet = 300 * time.Millisecond
)

// --- the daemon ---

type gateway struct {
	*testbed.Vtepgw
}

// startGateway starts vtepgw as OVN's tests start ovn-controller-vtep, plus
// extra flags, and waits for its control socket.
func startGateway(t testing.TB, sbRemote, vtepRemote string, extra ...string) *gateway {
	t.Helper()
	g := &gateway{}
	// Registered first, so it runs after the daemon has been stopped: its
	// log is complete.
	t.Cleanup(func() {
		if g.Vtepgw == nil {
			return
		}
		if keep := os.Getenv("VTEPGW_E2E_LOGDIR"); keep != "" && t.Failed() {
			if data, err := g.Log(); err == nil {
				_ = os.WriteFile(filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_")+"-"+filepath.Base(g.Dir)+".log"), []byte(data), 0o644)
			}
		}
	})
	g.Vtepgw = testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbRemote, VTEPRemotes: []string{vtepRemote}, Args: extra})
	return g
}

// appctl runs ovs-appctl -t CTL ARGS against the daemon.
func (g *gateway) appctl(args ...string) (string, error) { return g.AppCtl(args...) }

// logLines returns the daemon's log lines at level ("WARN", "INFO", …).
func (g *gateway) logLines(t testing.TB, level string) []string {
	t.Helper()
	if _, err := g.Log(); err != nil {
		t.Fatalf("read vtepgw log: %v", err)
	}
	return g.LogLines(level)
}

// --- the stack ---

// stack is OVN, one hardware_vtep database holding physical switch PS and
// one vtepgw. The switch has ports p0..p3.
type stack struct {
	ovn  *testbed.OVN
	vtep *testbed.VTEP
	gw   *gateway
}

func newStack(t testing.TB, ps string, tunnelIPs []string, gwFlags ...string) *stack {
	t.Helper()
	o := testbed.StartOVN(t)
	v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v.MustVtep(t, "add-ps", ps, "--", "set", "Physical_Switch", ps, "tunnel_ips="+strings.Join(tunnelIPs, ","),
		"--", "add-port", ps, "p0", "--", "add-port", ps, "p1", "--", "add-port", ps, "p2", "--", "add-port", ps, "p3")
	return &stack{ovn: o, vtep: v, gw: startGateway(t, o.SBRemote(), v.VtepRemote(), gwFlags...)}
}

func (s *stack) nb(t testing.TB, args ...string) string {
	t.Helper()
	return s.ovn.MustNB(t, args...)
}

func (s *stack) sb(t testing.TB, args ...string) string {
	t.Helper()
	return s.ovn.MustSB(t, args...)
}

func (s *stack) vctl(t testing.TB, args ...string) string {
	t.Helper()
	return s.vtep.MustVtep(t, args...)
}

func (s *stack) sync(t testing.TB) {
	t.Helper()
	if err := s.ovn.Sync(); err != nil {
		t.Fatal(err)
	}
}

// attach creates NB logical switch ls with a vtep port lsp bound to VTEP
// logical switch vls on physical switch ps port (created and bound to VLAN
// vlan here), and waits until vtepgw programmed the datapath key.
func (s *stack) attach(t testing.TB, ls, lsp, ps, port string, vlan int, vls string) {
	t.Helper()
	if _, err := s.vtep.VtepCtl("get", "Logical_Switch", vls, "name"); err != nil {
		s.vctl(t, "add-ls", vls)
	}
	s.vctl(t, "bind-ls", ps, port, strconv.Itoa(vlan), vls)
	if _, err := s.ovn.NBCtl("get", "Logical_Switch", ls, "name"); err != nil {
		s.nb(t, "ls-add", ls)
	}
	s.nb(t, "lsp-add", ls, lsp, "--", "lsp-set-type", lsp, "vtep",
		"--", "lsp-set-options", lsp, "vtep-physical-switch="+ps, "vtep-logical-switch="+vls)
	s.sync(t)
	key := strings.TrimSpace(s.sb(t, "--bare", "--columns=tunnel_key", "find", "Datapath_Binding", "external_ids:name="+ls))
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		out, err := s.vtep.VtepCtl("--bare", "--columns=tunnel_key", "list", "Logical_Switch", vls)
		return err == nil && strings.TrimSpace(out) == key, fmt.Sprintf("Logical_Switch %s tunnel_key %q (%v), want %s", vls, out, err, key)
	})
}

// hv makes a fake hypervisor chassis with one vxlan encap.
func (s *stack) hv(t testing.TB, name, ip string) {
	t.Helper()
	s.sb(t, "chassis-add", name, "vxlan", ip)
}

// vif adds NB port lsp (with MAC mac, or none) to ls and binds it to
// chassis ch.
func (s *stack) vif(t testing.TB, ls, lsp, mac, ch string) {
	t.Helper()
	args := []string{"lsp-add", ls, lsp}
	if mac != "" {
		args = append(args, "--", "lsp-set-addresses", lsp, mac)
	}
	s.nb(t, args...)
	s.sync(t)
	s.sb(t, "lsp-bind", lsp, ch)
}

// uuid returns the UUID of the only row of table matching conditions.
func (s *stack) uuid(t testing.TB, ctl func(...string) (string, error), table string, conds ...string) string {
	t.Helper()
	out, err := ctl(append([]string{"--bare", "--columns=_uuid", "find", table}, conds...)...)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) != 1 {
		t.Fatalf("find %s %v: %d rows: %q", table, conds, len(f), out)
	}
	return f[0]
}

func (s *stack) sbUUID(t testing.TB, table string, conds ...string) string {
	t.Helper()
	return s.uuid(t, s.ovn.SBCtl, table, conds...)
}

func (s *stack) vtepUUID(t testing.TB, table string, conds ...string) string {
	t.Helper()
	return s.uuid(t, s.vtep.VtepCtl, table, conds...)
}

// igmpJoin writes an IGMP_Group row as ovn-controller on chassis ch does
// when port lsp of logical switch ls joins group addr.
func (s *stack) igmpJoin(t testing.TB, addr, ls, ch string, lsps ...string) string {
	t.Helper()
	var pbs []string
	for _, p := range lsps {
		pbs = append(pbs, s.sbUUID(t, "Port_Binding", "logical_port="+p))
	}
	return strings.TrimSpace(s.sb(t, "create", "IGMP_Group", fmt.Sprintf("address=%q", addr),
		"datapath="+s.sbUUID(t, "Datapath_Binding", "external_ids:name="+ls),
		"chassis="+s.sbUUID(t, "Chassis", "name="+ch),
		"ports="+strings.Join(pbs, ",")))
}

// mcastLocal writes a Mcast_Macs_Local row in one transaction, as a
// snooping switch does: MAC and ipaddr for logical switch ls, replicated to
// locator ip.
func (s *stack) mcastLocal(t testing.TB, ls, mac, ipaddr, ip string) {
	t.Helper()
	loc := []string{"--", "--id=@loc", "create", "Physical_Locator", "encapsulation_type=vxlan_over_ipv4", "dst_ip=" + ip}
	if out, err := s.vtep.VtepCtl("--bare", "--columns=_uuid", "find", "Physical_Locator", fmt.Sprintf("dst_ip=%q", ip)); err == nil && len(strings.Fields(out)) == 1 {
		loc = []string{"--", "--id=@loc", "get", "Physical_Locator", strings.TrimSpace(out)}
	}
	args := append([]string{"--id=@ls", "get", "Logical_Switch", ls}, loc...)
	s.vctl(t, append(args,
		"--", "--id=@set", "create", "Physical_Locator_Set", "locators=@loc",
		"--", "create", "Mcast_Macs_Local", fmt.Sprintf("MAC=%q", mac), fmt.Sprintf("ipaddr=%q", ipaddr), "logical_switch=@ls", "locator_set=@set")...)
}

// --- snapshots ---

// row is one database row as ovsdb JSON values, keyed by column.
type row map[string]any

// str renders an atom: "" for an empty optional value, the UUID of a
// reference.
func (r row) str(col string) string {
	switch v := r[col].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		if len(v) == 2 {
			switch v[0] {
			case "uuid", "named-uuid":
				return v[1].(string)
			case "set":
				if s := v[1].([]any); len(s) == 1 {
					return row{"x": s[0]}.str("x")
				} else if len(s) == 0 {
					return ""
				}
			}
		}
	}
	return fmt.Sprint(r[col])
}

// set renders a set column, sorted.
func (r row) set(col string) []string {
	if v, ok := r[col].([]any); ok && len(v) == 2 && v[0] == "set" {
		var out []string
		for _, e := range v[1].([]any) {
			out = append(out, row{"x": e}.str("x"))
		}
		slices.Sort(out)
		return out
	}
	if s := r.str(col); s != "" {
		return []string{s}
	}
	return nil
}

// smap renders a map column as sorted "k=v" pairs joined by ",".
func (r row) smap(col string) string {
	var out []string
	if v, ok := r[col].([]any); ok && len(v) == 2 && v[0] == "map" {
		for _, kv := range v[1].([]any) {
			p := kv.([]any)
			out = append(out, row{"x": p[0]}.str("x")+"="+row{"x": p[1]}.str("x"))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// db is a consistent snapshot of some tables, read in one transaction.
type db map[string][]row

func dump(ctl func(...string) (string, error), tables ...string) (db, error) {
	t, err := testbed.ListTables(ctl, tables...)
	if err != nil {
		return nil, err
	}
	d := db{}
	for tb, rows := range t {
		for _, r := range rows {
			d[tb] = append(d[tb], row(r))
		}
	}
	return d, nil
}

func (d db) byUUID(table, uuid string) row {
	for _, r := range d[table] {
		if r.str("_uuid") == uuid {
			return r
		}
	}
	return nil
}

// name renders a reference by one column of the row it points to.
func (d db) name(table, col, uuid string) string {
	if uuid == "" {
		return "-"
	}
	if r := d.byUUID(table, uuid); r != nil {
		return r.str(col)
	}
	return "?" + uuid
}

// --- vtep database ---

var vtepTables = []string{"Logical_Switch", "Mcast_Macs_Remote", "Ucast_Macs_Remote", "Physical_Locator", "Physical_Locator_Set"}

// mmrs renders Mcast_Macs_Remote as sorted "LS MAC IPADDR LOC,LOC…" lines
// ("-" for an empty ipaddr).
func (d db) mmrs() []string {
	var out []string
	for _, r := range d["Mcast_Macs_Remote"] {
		var ips []string
		if set := d.byUUID("Physical_Locator_Set", r.str("locator_set")); set != nil {
			for _, l := range set.set("locators") {
				ips = append(ips, d.name("Physical_Locator", "dst_ip", l))
			}
		}
		slices.Sort(ips)
		ipaddr := r.str("ipaddr")
		if ipaddr == "" {
			ipaddr = "-"
		}
		out = append(out, d.name("Logical_Switch", "name", r.str("logical_switch"))+" "+r.str("MAC")+" "+ipaddr+" "+strings.Join(ips, ","))
	}
	slices.Sort(out)
	return out
}

// umrs renders Ucast_Macs_Remote as sorted "LS MAC LOCATOR" lines.
func (d db) umrs() []string {
	var out []string
	for _, r := range d["Ucast_Macs_Remote"] {
		out = append(out, d.name("Logical_Switch", "name", r.str("logical_switch"))+" "+r.str("MAC")+" "+d.name("Physical_Locator", "dst_ip", r.str("locator")))
	}
	slices.Sort(out)
	return out
}

func (s *stack) vtepGet(f func(db) []string) func() ([]string, error) {
	return func() ([]string, error) {
		d, err := dump(s.vtep.VtepCtl, vtepTables...)
		if err != nil {
			return nil, err
		}
		return f(d), nil
	}
}

// --- southbound ---

var sbTables = []string{"Chassis", "Encap", "Datapath_Binding", "Port_Binding", "Multicast_Group", "IGMP_Group", "FDB"}

func (d db) dpName(uuid string) string {
	if r := d.byUUID("Datapath_Binding", uuid); r != nil {
		for _, kv := range strings.Split(r.smap("external_ids"), ",") {
			if v, ok := strings.CutPrefix(kv, "name="); ok {
				return v
			}
		}
	}
	return "?" + uuid
}

func (d db) ports(uuids []string) string {
	var out []string
	for _, u := range uuids {
		out = append(out, d.name("Port_Binding", "logical_port", u))
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// igmpGroups renders IGMP_Group as sorted "ADDRESS DATAPATH CHASSIS PORTS"
// lines.
func (d db) igmpGroups() []string {
	var out []string
	for _, r := range d["IGMP_Group"] {
		out = append(out, r.str("address")+" "+d.dpName(r.str("datapath"))+" "+d.name("Chassis", "name", r.str("chassis"))+" "+d.ports(r.set("ports")))
	}
	slices.Sort(out)
	return out
}

// mcGroups renders the Multicast_Groups named name (all but the reserved
// _MC_ ones when name is "") as sorted "DATAPATH NAME PORTS" lines.
func (d db) mcGroups(name string) []string {
	var out []string
	for _, r := range d["Multicast_Group"] {
		n := r.str("name")
		if name == "" && strings.HasPrefix(n, "_MC_") || name != "" && n != name {
			continue
		}
		out = append(out, d.dpName(r.str("datapath"))+" "+n+" "+d.ports(r.set("ports")))
	}
	slices.Sort(out)
	return out
}

// encaps renders the Encaps of chassis as sorted "TYPE IP OPTIONS" lines
// (only those the chassis references).
func (d db) encaps(chassis string) []string {
	var out []string
	for _, c := range d["Chassis"] {
		if c.str("name") != chassis {
			continue
		}
		for _, u := range c.set("encaps") {
			e := d.byUUID("Encap", u)
			if e == nil {
				out = append(out, "?"+u)
				continue
			}
			out = append(out, e.str("type")+" "+e.str("ip")+" "+e.smap("options"))
		}
	}
	slices.Sort(out)
	return out
}

// allEncaps renders every Encap row as "CHASSIS-NAME TYPE IP".
func (d db) allEncaps() []string {
	var out []string
	for _, e := range d["Encap"] {
		out = append(out, e.str("chassis_name")+" "+e.str("type")+" "+e.str("ip"))
	}
	slices.Sort(out)
	return out
}

// pbEncap renders Port_Binding lsp's chassis and encap: "CHASSIS TYPE/IP"
// ("-" when unset).
func (d db) pbEncap(lsp string) string {
	for _, r := range d["Port_Binding"] {
		if r.str("logical_port") != lsp {
			continue
		}
		enc := "-"
		if u := r.str("encap"); u != "" {
			if e := d.byUUID("Encap", u); e != nil {
				enc = e.str("type") + "/" + e.str("ip")
			} else {
				enc = "?" + u
			}
		}
		return d.name("Chassis", "name", r.str("chassis")) + " " + enc
	}
	return "no port " + lsp
}

func (s *stack) sbGet(f func(db) []string) func() ([]string, error) {
	return func() ([]string, error) {
		d, err := dump(s.ovn.SBCtl, sbTables...)
		if err != nil {
			return nil, err
		}
		return f(d), nil
	}
}

// --- waiting ---

// waitEqual polls get until it returns exactly want (nil and empty are the
// same).
func waitEqual(t testing.TB, what string, get func() ([]string, error), want ...string) {
	t.Helper()
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		got, err := get()
		if err != nil {
			return false, fmt.Sprintf("%s: %v", what, err)
		}
		return slices.Equal(got, want), fmt.Sprintf("%s:\n got %q\nwant %q", what, got, want)
	})
}

// stays checks that get keeps returning exactly want for d.
func stays(t testing.TB, what string, d time.Duration, get func() ([]string, error), want ...string) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(poll) {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s changed:\n got %q\nwant %q", what, got, want)
		}
	}
}
