package robust

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// vtepgwBin is the daemon built by TestMain.
var vtepgwBin string

func TestMain(m *testing.M) {
	os.Exit(testbed.VtepgwMain(m, &vtepgwBin, testbed.VtepgwMainOptions{TempPrefix: "vtepgw-robust", RaceEnv: "VTEPGW_ROBUST_RACE"}))
}

const (
	waitLong = 30 * time.Second
	poll     = 25 * time.Millisecond
)

// --- the daemon ---

// gateway is vtepgw, run the way OVN's tests run ovn-controller-vtep. It
// can be stopped and started again with the same files; every start gets
// its own log file (vtepgw.N.log) so that log checks see one run.
type gateway struct {
	*testbed.Vtepgw
	t testing.TB
}

// startGateway starts vtepgw on one SB and one or more switch databases.
func startGateway(t testing.TB, sbRemote string, vtepRemotes ...string) *gateway {
	t.Helper()
	return &gateway{Vtepgw: testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbRemote, VTEPRemotes: vtepRemotes,
		LogPerStart: true, FailLogLines: 150}), t: t}
}

// start starts a new vtepgw process and waits for its control socket.
func (g *gateway) start() {
	g.t.Helper()
	g.Start(g.t)
}

// stop stops the daemon with SIGTERM (it leaves its state in place).
func (g *gateway) stop() {
	g.t.Helper()
	if err := g.Stop(); err != nil {
		g.t.Fatalf("stop vtepgw: %v", err)
	}
	if err := g.ExitErr(); err != nil {
		g.t.Fatalf("vtepgw exit status after SIGTERM: %v", err)
	}
}

// kill9 kills the daemon with SIGKILL.
func (g *gateway) kill9() {
	g.t.Helper()
	if err := g.Kill(); err != nil {
		g.t.Fatalf("kill vtepgw: %v", err)
	}
}

// appctl runs ovs-appctl -t CTL ARGS against the daemon.
func (g *gateway) appctl(args ...string) (string, error) { return g.AppCtl(args...) }

// log returns the current process's log.
func (g *gateway) log() string {
	data, _ := g.Log()
	return data
}

// count returns how many lines of the current log contain all of subs.
func (g *gateway) count(subs ...string) int {
	n := 0
	for _, l := range strings.Split(g.log(), "\n") {
		ok := true
		for _, s := range subs {
			if !strings.Contains(l, s) {
				ok = false
				break
			}
		}
		if ok && l != "" {
			n++
		}
	}
	return n
}

// waitIdle waits until the current process has logged at least conns
// "ovsdb connected" lines (0: one per database), its connections are all
// up, no key is pending, and that has stayed so for quiet.
func (g *gateway) waitIdle(conns int, quiet time.Duration) {
	g.t.Helper()
	if conns == 0 {
		conns = 1 + len(g.Opts.VTEPRemotes)
	}
	var since time.Time
	testbed.Eventually(g.t, waitLong, poll, func() (bool, string) {
		if g.Process.Exited() {
			g.t.Fatalf("vtepgw exited: %v", g.Process.ExitErr())
		}
		if n := g.count(`msg="ovsdb connected"`); n < conns {
			since = time.Time{}
			return false, fmt.Sprintf("%d ovsdb connections logged, want %d", n, conns)
		}
		st, err := g.appctl("status")
		if err != nil {
			since = time.Time{}
			return false, err.Error()
		}
		if strings.Count(st, "pending_keys=0") != len(g.Opts.VTEPRemotes) || strings.Count(st, ": connected") < 1+len(g.Opts.VTEPRemotes) ||
			strings.Contains(st, "not connected") {
			since = time.Time{}
			return false, "status:\n" + st
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= quiet, "idle for " + time.Since(since).String()
	})
}

// --- the stack ---

// switchDB is one hardware_vtep database with its ovsdb-server.
type switchDB struct {
	*testbed.VTEP
	t testing.TB
}

func newSwitchDB(t testing.TB, opts testbed.VTEPOptions) *switchDB {
	t.Helper()
	opts.NoTCP = true
	return &switchDB{VTEP: testbed.StartVTEP(t, opts), t: t}
}

// ctl runs vtep-ctl and fails the test on error.
func (v *switchDB) ctl(args ...string) string {
	v.t.Helper()
	return v.MustVtep(v.t, args...)
}

// file is the database file.
func (v *switchDB) file() string { return v.DBPath("vtep") }

// globalUUID is the Global row's UUID: vtepgw's gateway ID.
func (v *switchDB) globalUUID() string {
	v.t.Helper()
	return v.ctl("--bare", "--columns=_uuid", "list", "Global")
}

// ovn wraps testbed.OVN with failing helpers.
type ovn struct {
	*testbed.OVN
	t testing.TB
}

func newOVN(t testing.TB) *ovn {
	t.Helper()
	return &ovn{OVN: testbed.StartOVN(t), t: t}
}

func (o *ovn) nb(args ...string) string { o.t.Helper(); return o.MustNB(o.t, args...) }
func (o *ovn) sb(args ...string) string { o.t.Helper(); return o.MustSB(o.t, args...) }

// sync waits for northd (ovn-nbctl --wait=sb sync).
func (o *ovn) sync() {
	o.t.Helper()
	if err := o.Sync(); err != nil {
		o.t.Fatal(err)
	}
}

func (o *ovn) sbFile() string { return o.SB.DBPath("ovnsb_db") }

// addVTEPPort is OVN_NB_ADD_VTEP_PORT(LS, LSP, PS, VLS).
func (o *ovn) addVTEPPort(ls, lsp, ps, vls string) {
	o.t.Helper()
	o.nb("lsp-add", ls, lsp, "--", "lsp-set-type", lsp, "vtep",
		"--", "lsp-set-options", lsp, "vtep-physical-switch="+ps, "vtep-logical-switch="+vls)
}

// addVIF adds a logical port with addresses and binds it to chassis (which
// must exist).
func (o *ovn) addVIF(ls, lsp, chassis string, addrs ...string) {
	o.t.Helper()
	args := []string{"lsp-add", ls, lsp}
	if len(addrs) > 0 {
		args = append(args, "--", "lsp-set-addresses", lsp)
		args = append(args, addrs...)
	}
	o.nb(args...)
	o.sync()
	if chassis != "" {
		o.sb("lsp-bind", lsp, chassis)
	}
}

// --- database snapshots ---

// row is one database row as OVSDB JSON values, keyed by column.
type row map[string]any

// atom renders one JSON atom ("" for nil, the UUID of a reference).
func atom(v any) string {
	switch v := v.(type) {
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
				s := v[1].([]any)
				switch len(s) {
				case 0:
					return ""
				case 1:
					return atom(s[0])
				}
			}
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// str renders a scalar or optional column.
func (r row) str(col string) string { return atom(r[col]) }

// uuid returns the row's _uuid.
func (r row) uuid() string { return r.str("_uuid") }

// set renders a set column, sorted.
func (r row) set(col string) []string {
	v, ok := r[col].([]any)
	if ok && len(v) == 2 && v[0] == "set" {
		out := []string{}
		for _, e := range v[1].([]any) {
			out = append(out, atom(e))
		}
		slices.Sort(out)
		return out
	}
	if s := r.str(col); s != "" {
		return []string{s}
	}
	return []string{}
}

// smap renders a map column.
func (r row) smap(col string) map[string]string {
	out := map[string]string{}
	v, ok := r[col].([]any)
	if !ok || len(v) != 2 || v[0] != "map" {
		return out
	}
	for _, kv := range v[1].([]any) {
		p := kv.([]any)
		out[atom(p[0])] = atom(p[1])
	}
	return out
}

// snap is a consistent snapshot of some tables, read in one transaction.
type snap map[string][]row

// selectTables reads whole tables with one ovsdb-client transact.
func selectTables(o *testbed.OVSDB, dbName string, tables ...string) (snap, error) {
	ops := []any{dbName}
	for _, tb := range tables {
		ops = append(ops, map[string]any{"op": "select", "table": tb, "where": []any{}})
	}
	req, _ := json.Marshal(ops)
	out, err := o.Client("transact", o.UnixRemote(), string(req))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var res []struct {
		Rows  []row  `json:"rows"`
		Error string `json:"error"`
	}
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("decode select: %w\n%s", err, out)
	}
	if len(res) < len(tables) {
		return nil, fmt.Errorf("select %v: %d results: %s", tables, len(res), out)
	}
	s := snap{}
	for i, tb := range tables {
		if res[i].Error != "" {
			return nil, fmt.Errorf("select %s: %s", tb, res[i].Error)
		}
		for _, r := range res[i].Rows {
			delete(r, "_version") // not kept across server restarts
		}
		s[tb] = res[i].Rows
		slices.SortFunc(s[tb], func(a, b row) int { return strings.Compare(a.uuid(), b.uuid()) })
	}
	return s, nil
}

func (s snap) byUUID(table, uuid string) row {
	for _, r := range s[table] {
		if r.uuid() == uuid {
			return r
		}
	}
	return nil
}

func (s snap) find(table, col, val string) row {
	for _, r := range s[table] {
		if r.str(col) == val {
			return r
		}
	}
	return nil
}

// The tables the tests read.
var (
	vtepTables = []string{"Global", "Physical_Switch", "Physical_Port", "Logical_Switch", "Ucast_Macs_Remote", "Mcast_Macs_Remote",
		"Ucast_Macs_Local", "Mcast_Macs_Local", "Physical_Locator", "Physical_Locator_Set", "Tunnel"}
	sbTables = []string{"SB_Global", "Chassis", "Encap", "Port_Binding", "Datapath_Binding", "FDB", "Multicast_Group"}
)

func vtepSnap(t testing.TB, v *switchDB) snap {
	t.Helper()
	s, err := selectTables(v.OVSDB, "hardware_vtep", vtepTables...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sbSnap(t testing.TB, o *ovn) snap {
	t.Helper()
	s, err := selectTables(o.SB, "OVN_Southbound", sbTables...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// --- renderers (sorted text lines, for exact comparisons) ---

func (s snap) lsName(uuid string) string {
	if r := s.byUUID("Logical_Switch", uuid); r != nil {
		return r.str("name")
	}
	return "?" + uuid
}

func (s snap) locIP(uuid string) string {
	if r := s.byUUID("Physical_Locator", uuid); r != nil {
		return r.str("dst_ip")
	}
	return "?" + uuid
}

// umrs renders Ucast_Macs_Remote as "LS MAC IP" (plus " ipaddr=X" if set).
func (s snap) umrs() []string {
	out := []string{}
	for _, r := range s["Ucast_Macs_Remote"] {
		l := s.lsName(r.str("logical_switch")) + " " + r.str("MAC") + " " + s.locIP(r.str("locator"))
		if ip := r.str("ipaddr"); ip != "" {
			l += " ipaddr=" + ip
		}
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// mmrs renders Mcast_Macs_Remote as "LS MAC IP,IP...".
func (s snap) mmrs() []string {
	out := []string{}
	for _, r := range s["Mcast_Macs_Remote"] {
		var ips []string
		if set := s.byUUID("Physical_Locator_Set", r.str("locator_set")); set != nil {
			for _, l := range set.set("locators") {
				ips = append(ips, s.locIP(l))
			}
		}
		slices.Sort(ips)
		out = append(out, s.lsName(r.str("logical_switch"))+" "+r.str("MAC")+" "+strings.Join(ips, ","))
	}
	slices.Sort(out)
	return out
}

// lswitches renders Logical_Switch as "NAME KEY MODE" ("[]" when empty).
func (s snap) lswitches() []string {
	out := []string{}
	for _, r := range s["Logical_Switch"] {
		out = append(out, r.str("name")+" "+orEmpty(r.str("tunnel_key"))+" "+orEmpty(r.str("replication_mode")))
	}
	slices.Sort(out)
	return out
}

func orEmpty(s string) string {
	if s == "" {
		return "[]"
	}
	return s
}

func (s snap) chassisName(uuid string) string {
	if uuid == "" {
		return "[]"
	}
	if r := s.byUUID("Chassis", uuid); r != nil {
		return r.str("name")
	}
	return "?" + uuid
}

// bindings renders Port_Binding as "LPORT CHASSIS up=UP" for the given
// logical ports (all when none are given).
func (s snap) bindings(ports ...string) []string {
	out := []string{}
	for _, r := range s["Port_Binding"] {
		if len(ports) > 0 && !slices.Contains(ports, r.str("logical_port")) {
			continue
		}
		out = append(out, r.str("logical_port")+" "+s.chassisName(r.str("chassis"))+" up="+orEmpty(r.str("up")))
	}
	slices.Sort(out)
	return out
}

// chassis renders Chassis as "NAME vtep_ls=[..] is-vtep=X encaps=TYPE/IP{opts},..".
func (s snap) chassis() []string {
	out := []string{}
	for _, r := range s["Chassis"] {
		var encs []string
		for _, e := range r.set("encaps") {
			if er := s.byUUID("Encap", e); er != nil {
				encs = append(encs, er.str("type")+"/"+er.str("ip")+fmt.Sprint(er.smap("options")))
			}
		}
		slices.Sort(encs)
		out = append(out, fmt.Sprintf("%s vtep_ls=%v other_config=%v encaps=%s", r.str("name"), r.set("vtep_logical_switches"),
			r.smap("other_config"), strings.Join(encs, ",")))
	}
	slices.Sort(out)
	return out
}

// pbKey returns a logical port's tunnel key and its datapath's key.
func (s snap) pbKey(lport string) (port, dp string) {
	pb := s.find("Port_Binding", "logical_port", lport)
	if pb == nil {
		return "", ""
	}
	if d := s.byUUID("Datapath_Binding", pb.str("datapath")); d != nil {
		dp = d.str("tunnel_key")
	}
	return pb.str("tunnel_key"), dp
}

// dpKeyOf returns the tunnel key of the datapath of NB logical switch name.
func (s snap) dpKeyOf(name string) string {
	for _, r := range s["Datapath_Binding"] {
		if r.smap("external_ids")["name"] == name {
			return r.str("tunnel_key")
		}
	}
	return ""
}

// fdbs renders FDB as "MAC DP-KEY PORT-KEY".
func (s snap) fdbs() []string {
	out := []string{}
	for _, r := range s["FDB"] {
		out = append(out, r.str("mac")+" "+r.str("dp_key")+" "+r.str("port_key"))
	}
	slices.Sort(out)
	return out
}

// --- waiting ---

// waitEqual polls get until it returns exactly want.
func waitEqual(t testing.TB, what string, get func() []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	var got []string
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got = get()
		return slices.Equal(got, want), fmt.Sprintf("%s:\n got %q\nwant %q", what, got, want)
	})
}

// requireEqual fails unless got equals want.
func requireEqual(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// --- database transaction logs ---

// txn is one committed transaction of a standalone database file.
type txn struct {
	comment string
	// ops counts rows per "TABLE insert|update|delete".
	ops map[string]int
}

func (x txn) String() string {
	keys := make([]string, 0, len(x.ops))
	for k := range x.ops {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%q:", x.comment)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, x.ops[k])
	}
	return b.String()
}

// touches reports whether the transaction changed any row of table.
func (x txn) touches(table string) bool {
	for k := range x.ops {
		if strings.HasPrefix(k, table+" ") {
			return true
		}
	}
	return false
}

// readTxns parses a standalone ovsdb database file ("OVSDB JSON LEN SHA1"
// headers, each followed by one JSON record), as peers/dblog.py does, and
// returns its transactions after the schema record. A record still being
// written is ignored.
func readTxns(path string) ([]txn, error) {
	f, err := testbed.OpenDBFile(path, false)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{} // table/uuid of live rows
	var out []txn
	err = f.Read(nil, func(d testbed.DBTxn) error {
		x := txn{comment: d.Comment, ops: map[string]int{}}
		for k, rows := range d.Tables {
			for uuid, r := range rows {
				id := k + "/" + uuid
				switch {
				case string(r) == "null":
					x.ops[k+" delete"]++
					delete(seen, id)
				case seen[id]:
					x.ops[k+" update"]++
				default:
					x.ops[k+" insert"]++
					seen[id] = true
				}
			}
		}
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// txLog reads a database file's transactions, failing the test on error.
func txLog(t testing.TB, path string) []txn {
	t.Helper()
	all, err := readTxns(path)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// since returns the transactions after the first mark ones, optionally only
// those whose comment starts with prefix.
func since(t testing.TB, path string, mark int, prefix string) []txn {
	t.Helper()
	all := txLog(t, path)
	if mark > len(all) {
		t.Fatalf("%s: %d transactions, fewer than the mark %d", path, len(all), mark)
	}
	var out []txn
	for _, x := range all[mark:] {
		if strings.HasPrefix(x.comment, prefix) {
			out = append(out, x)
		}
	}
	return out
}

// ours is the comment prefix of every vtepgw transaction.
const ours = "vtepgw:"

// settle waits until none of the files has had a new transaction for quiet.
func settle(t testing.TB, quiet time.Duration, paths ...string) {
	t.Helper()
	sizes := make([]int64, len(paths))
	var since time.Time
	testbed.Eventually(t, waitLong, quiet/10, func() (bool, string) {
		changed := false
		for i, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != sizes[i] {
				sizes[i], changed = st.Size(), true
			}
		}
		if changed || since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= quiet, fmt.Sprintf("%v still changing", paths)
	})
}
