// Package e2e runs vtepgw against the real Debian OVN/OVS stack started by
// package testbed: every scenario of OVN's tests/ovn-controller-vtep.at
// (scenarios_test.go) and the behaviour the issue asks for beyond them
// (behaviour_test.go).
//
// TestMain builds bin/vtepgw once into a temporary directory. Set
// VTEPGW_E2E_RACE=1 to build the daemon with the race detector as well.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
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
	os.Exit(testbed.VtepgwMain(m, &vtepgwBin, testbed.VtepgwMainOptions{TempPrefix: "vtepgw-e2e", RaceEnv: "VTEPGW_E2E_RACE"}))
}

// Timing of the waits. ovs-vtep polls once a second; everything else is
// event driven and converges in milliseconds.
const (
	waitLong = 30 * time.Second
	poll     = 50 * time.Millisecond
)

// --- the daemon ---

// Gateway is a running vtepgw.
type Gateway struct {
	*testbed.Vtepgw
}

// startGateway starts vtepgw the way OVN's tests start ovn-controller-vtep
// and waits for its control socket. On failure the test logs the last 200
// lines of its log.
func startGateway(t testing.TB, sbRemote string, vtepRemotes ...string) *Gateway {
	t.Helper()
	return &Gateway{testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: vtepgwBin, SBRemote: sbRemote, VTEPRemotes: vtepRemotes, FailLogLines: 200})}
}

// Exit asks the daemon to clean up and exit (ovs-appctl exit) and waits.
func (g *Gateway) Exit(t testing.TB) {
	t.Helper()
	if _, err := g.AppCtl("exit"); err != nil && !g.Exited() {
		t.Fatalf("exit: %v", err)
	}
	if err := g.Wait(15 * time.Second); err != nil {
		t.Fatalf("vtepgw after exit: %v", err)
	}
}

// Log returns the daemon's log file.
func (g *Gateway) Log(t testing.TB) string {
	t.Helper()
	data, err := g.Vtepgw.Log()
	if err != nil {
		t.Fatalf("read vtepgw log: %v", err)
	}
	return data
}

// Messages returns the msg of every log line at level ("WARN", "INFO"…).
func (g *Gateway) Messages(t testing.TB, level string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(g.Log(t)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if lvl, msg, ok := parseLogLine(sc.Text()); ok && lvl == level {
			out = append(out, msg)
		}
	}
	return out
}

// parseLogLine extracts level and msg from a slog text line
// (time=… level=WARN msg="…" key=value…).
func parseLogLine(line string) (level, msg string, ok bool) {
	_, rest, found := strings.Cut(line, " level=")
	if !found {
		return "", "", false
	}
	level, rest, _ = strings.Cut(rest, " ")
	_, rest, found = strings.Cut(" "+rest, " msg=")
	if !found {
		return "", "", false
	}
	if strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return "", "", false
		}
		msg, _ = strconv.Unquote(q)
		return level, msg, true
	}
	msg, _, _ = strings.Cut(rest, " ")
	return level, msg, true
}

// waitLog waits until the log has count messages at level matching re.
func waitLog(t testing.TB, g *Gateway, level string, re *regexp.Regexp, count int) {
	t.Helper()
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		n := 0
		for _, m := range g.Messages(t, level) {
			if re.MatchString(m) {
				n++
			}
		}
		return n == count, fmt.Sprintf("%d %s messages match %q, want %d; %s messages: %q", n, level, re, count, level, g.Messages(t, level))
	})
}

// --- the standard topology ---

// stack is OVN plus one hardware_vtep database with one physical switch
// (ports p0 and p1) served by one vtepgw: OVN_CONTROLLER_VTEP_START with
// the Physical_Port rows written by vtep-ctl instead of ovs-vtep.
type stack struct {
	ovn  *testbed.OVN
	vtep *testbed.VTEP
	gw   *Gateway
}

func newStack(t testing.TB, ps, ip string) *stack {
	t.Helper()
	ovn := testbed.StartOVN(t)
	v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v.MustVtep(t, "add-ps", ps, "--", "set", "Physical_Switch", ps, "tunnel_ips="+ip,
		"--", "add-port", ps, "p0", "--", "add-port", ps, "p1")
	return &stack{ovn: ovn, vtep: v, gw: startGateway(t, ovn.SBRemote(), v.VtepRemote())}
}

// nb and sb run ovn-nbctl / ovn-sbctl and fail the test on error.
func (s *stack) nb(t testing.TB, args ...string) string { t.Helper(); return s.ovn.MustNB(t, args...) }
func (s *stack) sb(t testing.TB, args ...string) string { t.Helper(); return s.ovn.MustSB(t, args...) }
func (s *stack) vctl(t testing.TB, args ...string) string {
	t.Helper()
	return s.vtep.MustVtep(t, args...)
}

// sync is ovn-nbctl --wait=sb sync.
func (s *stack) sync(t testing.TB) {
	t.Helper()
	if err := s.ovn.Sync(); err != nil {
		t.Fatal(err)
	}
}

// addVTEPPort is OVN_NB_ADD_VTEP_PORT(LS, LSP, PS, VLS).
func addVTEPPort(t testing.TB, o *testbed.OVN, ls, lsp, ps, vls string) {
	t.Helper()
	o.MustNB(t, "lsp-add", ls, lsp, "--", "lsp-set-type", lsp, "vtep",
		"--", "lsp-set-options", lsp, "vtep-physical-switch="+ps, "vtep-logical-switch="+vls)
}

// --- database snapshots ---

// row is one database row as ovsdb JSON values, keyed by column.
type row map[string]any

// str renders an atom ("" for an empty optional value, the UUID of a
// reference).
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
	v, ok := r[col].([]any)
	if ok && len(v) == 2 && v[0] == "set" {
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

// db is a consistent snapshot of some tables, read in one transaction.
type db map[string][]row

// dump lists tables in one ctl invocation (one transaction).
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

func (d db) find(table, col, val string) row {
	for _, r := range d[table] {
		if r.str(col) == val {
			return r
		}
	}
	return nil
}

// vtepTables are the tables vtepState reads.
var vtepTables = []string{"Logical_Switch", "Ucast_Macs_Remote", "Mcast_Macs_Remote", "Physical_Locator", "Physical_Locator_Set", "Ucast_Macs_Local", "Physical_Switch"}

func vtepState(v *testbed.VTEP) (db, error) { return dump(v.VtepCtl, vtepTables...) }

func (d db) lsName(uuid string) string {
	if r := d.byUUID("Logical_Switch", uuid); r != nil {
		return r.str("name")
	}
	return "?" + uuid
}

func (d db) locIP(uuid string) string {
	if r := d.byUUID("Physical_Locator", uuid); r != nil {
		return r.str("dst_ip")
	}
	return "?" + uuid
}

// umrs renders Ucast_Macs_Remote as sorted "LS MAC LOCATOR-IP" lines (plus
// " ipaddr=X" when ipaddr is set, which vtepgw never does).
func (d db) umrs() []string {
	var out []string
	for _, r := range d["Ucast_Macs_Remote"] {
		s := d.lsName(r.str("logical_switch")) + " " + r.str("MAC") + " " + d.locIP(r.str("locator"))
		if ip := r.str("ipaddr"); ip != "" {
			s += " ipaddr=" + ip
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// mmrs renders Mcast_Macs_Remote as sorted "LS MAC IP,IP…" lines.
func (d db) mmrs() []string {
	var out []string
	for _, r := range d["Mcast_Macs_Remote"] {
		var ips []string
		if set := d.byUUID("Physical_Locator_Set", r.str("locator_set")); set != nil {
			for _, l := range set.set("locators") {
				ips = append(ips, d.locIP(l))
			}
		}
		slices.Sort(ips)
		out = append(out, d.lsName(r.str("logical_switch"))+" "+r.str("MAC")+" "+strings.Join(ips, ","))
	}
	slices.Sort(out)
	return out
}

// locators renders Physical_Locator as sorted "IP" lines (duplicates kept).
func (d db) locators() []string {
	var out []string
	for _, r := range d["Physical_Locator"] {
		out = append(out, r.str("dst_ip"))
	}
	slices.Sort(out)
	return out
}

// lswitches renders Logical_Switch as sorted "NAME KEY MODE" lines ("[]"
// for an empty value).
func (d db) lswitches() []string {
	var out []string
	for _, r := range d["Logical_Switch"] {
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

var sbTables = []string{"Chassis", "Encap", "Port_Binding", "Datapath_Binding", "FDB", "SB_Global"}

func sbState(o *testbed.OVN) (db, error) { return dump(o.SBCtl, sbTables...) }

func (d db) chassisName(uuid string) string {
	if uuid == "" {
		return "[]"
	}
	if r := d.byUUID("Chassis", uuid); r != nil {
		return r.str("name")
	}
	return "?" + uuid
}

// bindings renders Port_Binding as sorted "LPORT CHASSIS-NAME" lines for
// the given logical ports (all when none are given).
func (d db) bindings(ports ...string) []string {
	var out []string
	for _, r := range d["Port_Binding"] {
		if len(ports) > 0 && !slices.Contains(ports, r.str("logical_port")) {
			continue
		}
		out = append(out, r.str("logical_port")+" "+d.chassisName(r.str("chassis")))
	}
	slices.Sort(out)
	return out
}

// vtepLS renders the vtep_logical_switches of a chassis like ovn-sbctl
// --columns=vtep_logical_switches | cut | tr does: "[a,b]".
func (d db) vtepLS(chassis string) string {
	r := d.find("Chassis", "name", chassis)
	if r == nil {
		return "no chassis " + chassis
	}
	return "[" + strings.Join(r.set("vtep_logical_switches"), ",") + "]"
}

// dpKey returns the tunnel key of a logical port's datapath.
func (d db) dpKey(lport string) string {
	pb := d.find("Port_Binding", "logical_port", lport)
	if pb == nil {
		return ""
	}
	if dp := d.byUUID("Datapath_Binding", pb.str("datapath")); dp != nil {
		return dp.str("tunnel_key")
	}
	return ""
}

// fdbs renders FDB as sorted "MAC DP-KEY PORT-KEY" lines.
func (d db) fdbs() []string {
	var out []string
	for _, r := range d["FDB"] {
		out = append(out, r.str("mac")+" "+r.str("dp_key")+" "+r.str("port_key"))
	}
	slices.Sort(out)
	return out
}

// --- waiting ---

// waitEqual polls get until it returns exactly want.
func waitEqual(t testing.TB, what string, get func() ([]string, error), want ...string) {
	t.Helper()
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got, err := get()
		if err != nil {
			return false, fmt.Sprintf("%s: %v", what, err)
		}
		return slices.Equal(got, want), fmt.Sprintf("%s:\n got %q\nwant %q", what, got, want)
	})
}

// waitThen polls get until ready accepts its result, and then requires
// that very result to be exactly want. This is how the .at file checks
// "the first state that shows the change shows all of it": adds and
// deletes must land in one transaction.
func waitThen(t testing.TB, what string, get func() ([]string, error), ready func([]string) bool, want ...string) {
	t.Helper()
	var got []string
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		var err error
		got, err = get()
		if err != nil {
			return false, fmt.Sprintf("%s: %v", what, err)
		}
		return ready(got), fmt.Sprintf("%s: still %q", what, got)
	})
	if !slices.Equal(got, want) {
		t.Fatalf("%s: the first state showing the change is\n %q\nwant %q", what, got, want)
	}
}

// contains returns a ready func for waitThen: some line contains sub.
func contains(sub string) func([]string) bool {
	return func(lines []string) bool {
		return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
	}
}

// lacks returns a ready func for waitThen: no line contains sub.
func lacks(sub string) func([]string) bool {
	c := contains(sub)
	return func(lines []string) bool { return !c(lines) }
}

// vtepGet adapts a db renderer to waitEqual on the vtep database.
func vtepGet(v *testbed.VTEP, f func(db) []string) func() ([]string, error) {
	return func() ([]string, error) {
		d, err := vtepState(v)
		if err != nil {
			return nil, err
		}
		return f(d), nil
	}
}

// sbGet adapts a db renderer to waitEqual on the southbound database.
func sbGet(o *testbed.OVN, f func(db) []string) func() ([]string, error) {
	return func() ([]string, error) {
		d, err := sbState(o)
		if err != nil {
			return nil, err
		}
		return f(d), nil
	}
}

func mustSB(t testing.TB, o *testbed.OVN) db {
	t.Helper()
	d, err := sbState(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustVtepState(t testing.TB, v *testbed.VTEP) db {
	t.Helper()
	d, err := vtepState(v)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// --- database transaction logs ---

// txn is one committed transaction of a standalone database file.
type txn struct {
	comment string
	// ops counts rows per "TABLE insert|update|delete".
	ops map[string]int
	// cols counts updated rows per "TABLE.column".
	cols map[string]int
}

func (x txn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q:", x.comment)
	for _, k := range slices.Sorted(maps.Keys(x.ops)) {
		fmt.Fprintf(&b, " %s=%d", k, x.ops[k])
	}
	if len(x.cols) > 0 {
		fmt.Fprintf(&b, " (updated:")
		for _, k := range slices.Sorted(maps.Keys(x.cols)) {
			fmt.Fprintf(&b, " %s=%d", k, x.cols[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

// readTxns parses a standalone ovsdb database file ("OVSDB JSON LEN SHA1"
// headers, each followed by one JSON record) and returns its transactions
// after the schema record. A record still being written is ignored.
func readTxns(path string) ([]txn, error) {
	f, err := testbed.OpenDBFile(path, false)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{} // table/uuid of live rows
	var out []txn
	err = f.Read(nil, func(d testbed.DBTxn) error {
		x := txn{comment: d.Comment, ops: map[string]int{}, cols: map[string]int{}}
		for k, rows := range d.Tables {
			for uuid, r := range rows {
				id := k + "/" + uuid
				switch {
				case string(r) == "null":
					x.ops[k+" delete"]++
					delete(seen, id)
				case seen[id]:
					x.ops[k+" update"]++
					var cols map[string]json.RawMessage
					if err := json.Unmarshal(r, &cols); err == nil {
						for c := range cols {
							x.cols[k+"."+c]++
						}
					}
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

// ourTxns returns the transactions vtepgw committed (comment "vtepgw: …").
func ourTxns(txns []txn) []txn {
	var out []txn
	for _, x := range txns {
		if strings.HasPrefix(x.comment, "vtepgw:") {
			out = append(out, x)
		}
	}
	return out
}

// txnsSince reads the file and returns vtepgw's transactions after the
// first skip transactions of the file.
func txnsSince(t testing.TB, path string, skip int) []txn {
	t.Helper()
	all, err := readTxns(path)
	if err != nil {
		t.Fatal(err)
	}
	if skip > len(all) {
		t.Fatalf("%s: %d transactions, fewer than the mark %d", path, len(all), skip)
	}
	return ourTxns(all[skip:])
}

// txnMark returns the number of transactions in the file so far.
func txnMark(t testing.TB, path string) int {
	t.Helper()
	all, err := readTxns(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// settle waits until the file has had no new transaction for quiet.
func settle(t testing.TB, path string, quiet time.Duration) {
	t.Helper()
	last, since := -1, time.Now()
	testbed.Eventually(t, waitLong, quiet/5, func() (bool, string) {
		n := txnMark(t, path)
		if n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) >= quiet, fmt.Sprintf("%s still changing (%d transactions)", path, n)
	})
}

// --- the ovs-vtep emulator ---

// startSim starts an emulated switch with ovs-vtep. ovs-vtep runs
// ovs-vsctl, ovs-ofctl and vtep-ctl without --timeout; when it is stopped
// while one runs and the database goes next, that child retries forever.
// So before the testbed's own cleanups run, stop ovs-vtep and wait for its
// children to finish while the database is still up.
func startSim(t testing.TB, opts testbed.SimOptions) *testbed.SimSwitch {
	t.Helper()
	sim := testbed.StartSimSwitch(t, opts)
	t.Cleanup(func() {
		if e := sim.Emulator(); e != nil {
			_ = e.Stop()
		}
		keep := map[int]bool{sim.PID(): true, sim.Vswitchd().PID(): true}
		err := testbed.Poll(10*time.Second, 20*time.Millisecond, func() (bool, string) {
			var left []int
			for _, pid := range procsIn(sim.Dir()) {
				if !keep[pid] {
					left = append(left, pid)
				}
			}
			return len(left) == 0, fmt.Sprintf("ovs-vtep children still running: %v", left)
		})
		if err != nil {
			t.Error(err)
		}
	})
	return sim
}

// procsIn lists the processes whose environment has OVS_RUNDIR=dir (the
// testbed's children and everything they spawn).
func procsIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte("OVS_RUNDIR=" + dir)
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		if slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return bytes.Equal(kv, want) }) {
			out = append(out, pid)
		}
	}
	return out
}

// readFile returns a file's contents.
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
