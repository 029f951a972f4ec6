package learning

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// StackOptions configure Start.
type StackOptions struct {
	// Bin is the vtepgw binary.
	Bin string
	// Switches is the number of hardware_vtep databases (default 1), each
	// with one physical switch br<i> (tunnel IP TunnelIP(i)).
	Switches int
	// LogicalSwitches is the number of logical switches (default 1): NB
	// ls<j>, VTEP lswitch<j> bound to port p<j> VLAN 0 on every physical
	// switch through NB vtep port vtep<i>_<j>, plus a VIF vif<j> with
	// address "unknown" bound to hypervisor chassis hv1 (127.0.1.1).
	LogicalSwitches int
	// Config is vtepgw's YAML configuration; Metrics enables /metrics.
	Config  string
	Metrics bool
	// GatewayPerSwitch starts one vtepgw per switch database instead of
	// one vtepgw with a --vtep-db per database.
	GatewayPerSwitch bool
	// SBCluster > 0 runs the SB as a RAFT cluster of that many members
	// (testbed.OVNOptions.SBMembers); vtepgw then connects with the
	// members' TCP remotes as one comma-separated --ovnsb-db. The SB
	// state is read from the leader (SBView) instead of a file: Stack.SB
	// is nil.
	SBCluster int
}

// Stack is a running OVN control plane (NB, SB, northd), hardware_vtep
// databases and vtepgw, with followers on the SB and switch database
// files.
type Stack struct {
	OVN   *testbed.OVN
	VTEPs []*testbed.VTEP
	GWs   []*testbed.Vtepgw
	SB    *Follower   // the SB database file (nil with SBCluster)
	VF    []*Follower // the switch database files
	// SBView is how the stack reads SB rows: SB, or a ClusterSB.
	SBView SBReader
	// DP is the datapath key of each logical switch (by VTEP name
	// lswitch<j>); PortKey the tunnel key of each NB port.
	DP      map[string]int
	PortKey map[string]int
	opts    StackOptions
	vconn   []*testbed.OVSDBConn
}

// SBReader reads SB rows: Poll, then Rows (Follower, ClusterSB).
type SBReader interface {
	Poll() error
	Rows(table string) map[string]Row
}

// TunnelIP is the tunnel IP of physical switch br<i>.
func TunnelIP(i int) string { return "10.0.0." + strconv.Itoa(i+1) }

// HVIP is the tunnel IP of the hypervisor chassis hv1.
const HVIP = "127.0.1.1"

// VTEPPort names the NB vtep port of switch i for logical switch j.
func VTEPPort(i, j int) string { return fmt.Sprintf("vtep%d_%d", i, j) }

// LS names VTEP logical switch j.
func LS(j int) string { return "lswitch" + strconv.Itoa(j) }

// Start builds the stack and waits until vtepgw has attached every logical
// switch on every switch. Everything stops in t.Cleanup.
func Start(t testing.TB, opts StackOptions) *Stack {
	t.Helper()
	if opts.Switches == 0 {
		opts.Switches = 1
	}
	if opts.LogicalSwitches == 0 {
		opts.LogicalSwitches = 1
	}
	s := &Stack{opts: opts, DP: map[string]int{}, PortKey: map[string]int{}}
	s.OVN = testbed.StartOVNWith(t, testbed.OVNOptions{SBMembers: opts.SBCluster})
	for i := range opts.Switches {
		v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
		ps := "br" + strconv.Itoa(i)
		args := []string{"add-ps", ps, "--", "set", "Physical_Switch", ps, "tunnel_ips=" + TunnelIP(i)}
		for j := range opts.LogicalSwitches {
			p := "p" + strconv.Itoa(j)
			args = append(args, "--", "add-port", ps, p, "--", "add-ls", LS(j), "--", "bind-ls", ps, p, "0", LS(j))
		}
		v.MustVtep(t, args...)
		s.VTEPs = append(s.VTEPs, v)
	}
	var nb []string
	for j := range opts.LogicalSwitches {
		ls := "ls" + strconv.Itoa(j)
		vif := "vif" + strconv.Itoa(j)
		nb = append(nb, "--", "ls-add", ls, "--", "lsp-add", ls, vif, "--", "lsp-set-addresses", vif, "unknown")
		for i := range opts.Switches {
			p := VTEPPort(i, j)
			nb = append(nb, "--", "lsp-add", ls, p, "--", "lsp-set-type", p, "vtep",
				"--", "lsp-set-options", p, "vtep-physical-switch=br"+strconv.Itoa(i), "vtep-logical-switch="+LS(j))
		}
	}
	s.OVN.MustNB(t, nb[1:]...)
	s.OVN.MustSB(t, "chassis-add", "hv1", "vxlan", HVIP)
	if err := s.OVN.Sync(); err != nil {
		t.Fatal(err)
	}
	for j := range opts.LogicalSwitches {
		s.OVN.MustSB(t, "lsp-bind", "vif"+strconv.Itoa(j), "hv1")
		s.DP[LS(j)] = s.sbInt(t, "Datapath_Binding", "external_ids:name=ls"+strconv.Itoa(j))
		s.PortKey["vif"+strconv.Itoa(j)] = s.sbInt(t, "Port_Binding", "logical_port=vif"+strconv.Itoa(j))
		for i := range opts.Switches {
			s.PortKey[VTEPPort(i, j)] = s.sbInt(t, "Port_Binding", "logical_port="+VTEPPort(i, j))
		}
	}
	var err error
	if opts.SBCluster > 0 {
		s.SBView = NewClusterSB(s.OVN.SBCluster)
	} else {
		if s.SB, err = NewFollower(s.OVN.SB.DBPath("ovnsb_db")); err != nil {
			t.Fatal(err)
		}
		s.SBView = s.SB
	}
	for _, v := range s.VTEPs {
		f, err := NewFollower(v.DBPath("vtep"))
		if err != nil {
			t.Fatal(err)
		}
		s.VF = append(s.VF, f)
		c, err := testbed.DialOVSDB(v.SocketPath())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		s.vconn = append(s.vconn, c)
	}
	if opts.GatewayPerSwitch {
		for _, v := range s.VTEPs {
			s.GWs = append(s.GWs, testbed.StartVtepgw(t, s.gwOpts(v.VtepRemote())))
		}
	} else {
		var remotes []string
		for _, v := range s.VTEPs {
			remotes = append(remotes, v.VtepRemote())
		}
		s.GWs = append(s.GWs, testbed.StartVtepgw(t, s.gwOpts(remotes...)))
	}
	s.WaitAttached(t, 30*time.Second)
	return s
}

func (s *Stack) gwOpts(remotes ...string) testbed.VtepgwOptions {
	sb := s.OVN.SBRemote()
	if c := s.OVN.SBCluster; c != nil {
		sb = c.Remote()
	}
	return testbed.VtepgwOptions{Bin: s.opts.Bin, SBRemote: sb, VTEPRemotes: remotes, Config: s.opts.Config, Metrics: s.opts.Metrics}
}

// GW returns the (first) gateway.
func (s *Stack) GW() *testbed.Vtepgw { return s.GWs[0] }

func (s *Stack) sbInt(t testing.TB, table string, cond string) int {
	t.Helper()
	out := s.OVN.MustSB(t, "--bare", "--columns=tunnel_key", "find", table, cond)
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("%s %s tunnel_key %q: %v", table, cond, out, err)
	}
	return n
}

// WaitAttached waits until every VTEP logical switch carries its
// datapath's key and every vtep Port_Binding is bound to its switch's
// chassis.
func (s *Stack) WaitAttached(t testing.TB, timeout time.Duration) {
	t.Helper()
	testbed.Eventually(t, timeout, 25*time.Millisecond, func() (bool, string) {
		for i, f := range s.VF {
			if err := f.Poll(); err != nil {
				return false, err.Error()
			}
			for j := range s.opts.LogicalSwitches {
				key := -1
				for _, r := range f.Rows("Logical_Switch") {
					if r.Str("name") == LS(j) {
						key = r.Int("tunnel_key")
					}
				}
				if key != s.DP[LS(j)] {
					return false, fmt.Sprintf("switch %d: %s tunnel_key %d, want %d", i, LS(j), key, s.DP[LS(j)])
				}
			}
		}
		if err := s.SBView.Poll(); err != nil {
			return false, err.Error()
		}
		chassis := map[string]string{}
		for u, r := range s.SBView.Rows("Chassis") {
			chassis[u] = r.Str("name")
		}
		for i := range s.opts.Switches {
			for j := range s.opts.LogicalSwitches {
				ok := false
				for _, r := range s.SBView.Rows("Port_Binding") {
					if r.Str("logical_port") == VTEPPort(i, j) && chassis[r.UUID("chassis")] == "br"+strconv.Itoa(i) {
						ok = true
					}
				}
				if !ok {
					return false, fmt.Sprintf("Port_Binding %s not bound to br%d", VTEPPort(i, j), i)
				}
			}
		}
		return true, ""
	})
}

// MACs returns n MACs numbered from first: 02:SS:00:NN:NN:NN (SS = seed).
func MACs(seed, first, n int) []string {
	out := make([]string, n)
	for k := range n {
		m := first + k
		out[k] = fmt.Sprintf("02:%02x:00:%02x:%02x:%02x", seed&255, m>>16&255, m>>8&255, m&255)
	}
	return out
}

// selectUUID returns the UUID of the row of table where col == val, or "".
func (s *Stack) selectUUID(sw int, table, col, val string) (string, error) {
	res, err := s.vconn[sw].Transact("hardware_vtep", testbed.Op{"op": "select", "table": table, "where": []any{[]any{col, "==", val}}, "columns": []string{"_uuid"}})
	if err != nil {
		return "", err
	}
	if len(res) == 0 || len(res[0].Rows) == 0 {
		return "", nil
	}
	if u, ok := res[0].Rows[0]["_uuid"].([]any); ok && len(u) == 2 {
		return u[1].(string), nil
	}
	return "", fmt.Errorf("select %s: unexpected reply %v", table, res[0].Rows[0])
}

// InsertUML inserts Ucast_Macs_Local rows for macs on logical switch j of
// switch sw in one transaction, as the switch's agent does when it learns
// them, and returns that transaction as read from the database file.
func (s *Stack) InsertUML(t testing.TB, sw, j int, macs []string, comment string) Record {
	t.Helper()
	mark := s.VF[sw].Mark()
	if err := s.insertUML(sw, j, macs, comment); err != nil {
		t.Fatal(err)
	}
	return s.switchRecord(t, sw, mark, comment)
}

// SendUML is InsertUML without waiting for the transaction to show in the
// database file: it returns once the switch's server has committed it.
// Read the record later with SwitchRecord (the benchmark does, so that
// parsing the file does not compete for CPU with what it measures).
func (s *Stack) SendUML(sw, j int, macs []string, comment string) error {
	return s.insertUML(sw, j, macs, comment)
}

// SendDeleteUML is DeleteUML without waiting for the record (see SendUML).
func (s *Stack) SendDeleteUML(sw, j int, macs []string, comment string) error {
	return s.deleteUML(sw, j, macs, comment)
}

// SwitchRecord returns the transaction with comment committed on switch
// sw after mark, waiting up to 10 s for it to show in the file.
func (s *Stack) SwitchRecord(t testing.TB, sw, mark int, comment string) Record {
	t.Helper()
	return s.switchRecord(t, sw, mark, comment)
}

func (s *Stack) insertUML(sw, j int, macs []string, comment string) error {
	ls, err := s.selectUUID(sw, "Logical_Switch", "name", LS(j))
	if err != nil || ls == "" {
		return fmt.Errorf("logical switch %s: %q %v", LS(j), ls, err)
	}
	loc, err := s.selectUUID(sw, "Physical_Locator", "dst_ip", TunnelIP(sw))
	if err != nil {
		return err
	}
	var locRef []any
	ops := make([]testbed.Op, 0, len(macs)+2)
	if loc == "" {
		ops = append(ops, testbed.Op{"op": "insert", "table": "Physical_Locator", "uuid-name": "loc",
			"row": testbed.Op{"encapsulation_type": "vxlan_over_ipv4", "dst_ip": TunnelIP(sw)}})
		locRef = testbed.NamedRef("loc")
	} else {
		locRef = testbed.Ref(loc)
	}
	for _, m := range macs {
		ops = append(ops, testbed.Op{"op": "insert", "table": "Ucast_Macs_Local",
			"row": testbed.Op{"MAC": m, "logical_switch": testbed.Ref(ls), "locator": locRef}})
	}
	ops = append(ops, testbed.CommentOp(comment))
	_, err = s.vconn[sw].Transact("hardware_vtep", ops...)
	return err
}

// DeleteUML deletes the Ucast_Macs_Local rows of macs on logical switch j
// of switch sw in one transaction (the switch aged them out).
func (s *Stack) DeleteUML(t testing.TB, sw, j int, macs []string, comment string) Record {
	t.Helper()
	mark := s.VF[sw].Mark()
	if err := s.deleteUML(sw, j, macs, comment); err != nil {
		t.Fatal(err)
	}
	return s.switchRecord(t, sw, mark, comment)
}

func (s *Stack) deleteUML(sw, j int, macs []string, comment string) error {
	ls, err := s.selectUUID(sw, "Logical_Switch", "name", LS(j))
	if err != nil || ls == "" {
		return fmt.Errorf("logical switch %s: %q %v", LS(j), ls, err)
	}
	// Delete by UUID: a delete whose where clause names MAC scans the
	// table, and 10k of them keep the switch's server busy for seconds.
	res, err := s.vconn[sw].Transact("hardware_vtep", testbed.Op{"op": "select", "table": "Ucast_Macs_Local",
		"where": []any{[]any{"logical_switch", "==", testbed.Ref(ls)}}, "columns": []string{"_uuid", "MAC"}})
	if err != nil {
		return err
	}
	byMAC := map[string][]string{}
	for _, r := range res[0].Rows {
		u, _ := r["_uuid"].([]any)
		mac, _ := r["MAC"].(string)
		if len(u) == 2 {
			byMAC[mac] = append(byMAC[mac], u[1].(string))
		}
	}
	ops := make([]testbed.Op, 0, len(macs)+1)
	for _, m := range macs {
		for _, u := range byMAC[m] {
			ops = append(ops, testbed.Op{"op": "delete", "table": "Ucast_Macs_Local",
				"where": []any{[]any{"_uuid", "==", testbed.Ref(u)}}})
		}
	}
	ops = append(ops, testbed.CommentOp(comment))
	_, err = s.vconn[sw].Transact("hardware_vtep", ops...)
	return err
}

func (s *Stack) switchRecord(t testing.TB, sw, mark int, comment string) Record {
	t.Helper()
	r, err := s.VF[sw].FindComment(mark, comment, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// FDBEntry is one SB FDB row.
type FDBEntry struct {
	UUID    string
	MAC     string
	DP      int
	PortKey int
}

// FDB returns the SB FDB rows as read from the database file (the leader
// with SBCluster) at the last poll, by MAC, of datapath dp.
func (s *Stack) FDB(dp int) map[string]FDBEntry {
	out := map[string]FDBEntry{}
	for u, r := range s.SBView.Rows("FDB") {
		if r.Int("dp_key") == dp {
			out[r.Str("mac")] = FDBEntry{UUID: u, MAC: r.Str("mac"), DP: dp, PortKey: r.Int("port_key")}
		}
	}
	return out
}

// FDBOnPort returns the MACs whose FDB row of dp is on port key pk, sorted.
func (s *Stack) FDBOnPort(dp, pk int) []string {
	var out []string
	for m, e := range s.FDB(dp) {
		if e.PortKey == pk {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// UML returns the MACs of switch sw's Ucast_Macs_Local rows on logical
// switch j, as read from the database file, sorted.
func (s *Stack) UML(sw, j int) []string {
	lsUUID := ""
	for u, r := range s.VF[sw].Rows("Logical_Switch") {
		if r.Str("name") == LS(j) {
			lsUUID = u
		}
	}
	var out []string
	for _, r := range s.VF[sw].Rows("Ucast_Macs_Local") {
		if r.UUID("logical_switch") == lsUUID {
			out = append(out, r.Str("MAC"))
		}
	}
	slices.Sort(out)
	return out
}

// WaitFDBEqualsUML waits until the FDB rows on switch sw's vtep port for
// logical switch j are exactly its learned MACs (database files).
func (s *Stack) WaitFDBEqualsUML(t testing.TB, sw, j int, timeout time.Duration) {
	t.Helper()
	dp, pk := s.DP[LS(j)], s.PortKey[VTEPPort(sw, j)]
	testbed.Eventually(t, timeout, 20*time.Millisecond, func() (bool, string) {
		if err := s.VF[sw].Poll(); err != nil {
			return false, err.Error()
		}
		if err := s.SBView.Poll(); err != nil {
			return false, err.Error()
		}
		uml, fdb := s.UML(sw, j), s.FDBOnPort(dp, pk)
		return slices.Equal(uml, fdb), diff("FDB on "+VTEPPort(sw, j), fdb, "Ucast_Macs_Local", uml)
	})
}

// CheckFDBEqualsUML compares the servers' own view (ovn-sbctl, vtep-ctl),
// not the files: FDB of switch sw's vtep port on logical switch j equals
// the switch's Ucast_Macs_Local.
func (s *Stack) CheckFDBEqualsUML(t testing.TB, sw, j int) {
	t.Helper()
	fdb, err := s.ServerFDB()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range fdb {
		if e.DP == s.DP[LS(j)] && e.PortKey == s.PortKey[VTEPPort(sw, j)] {
			got = append(got, e.MAC)
		}
	}
	slices.Sort(got)
	uml, err := s.ServerUML(sw, j)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, uml) {
		t.Fatal(diff("ovn-sbctl FDB on "+VTEPPort(sw, j), got, "vtep-ctl Ucast_Macs_Local", uml))
	}
}

// ServerFDB lists FDB with ovn-sbctl.
func (s *Stack) ServerFDB() ([]FDBEntry, error) {
	out, err := s.OVN.SBCtl("--format=json", "--columns=_uuid,mac,dp_key,port_key", "list", "FDB")
	if err != nil {
		return nil, err
	}
	var res struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("ovn-sbctl list FDB: %w", err)
	}
	var fdb []FDBEntry
	for _, d := range res.Data {
		r := Row{"_uuid": d[0], "mac": d[1], "dp_key": d[2], "port_key": d[3]}
		fdb = append(fdb, FDBEntry{UUID: r.UUID("_uuid"), MAC: r.Str("mac"), DP: r.Int("dp_key"), PortKey: r.Int("port_key")})
	}
	return fdb, nil
}

// ServerUML lists switch sw's learned MACs on logical switch j with
// vtep-ctl, sorted.
func (s *Stack) ServerUML(sw, j int) ([]string, error) {
	out, err := s.VTEPs[sw].VtepCtl("list-local-macs", LS(j))
	if err != nil {
		return nil, err
	}
	var macs []string
	ucast := false
	for _, l := range strings.Split(out, "\n") {
		// "ucast-mac-local" then "  MAC -> vxlan_over_ipv4/IP" lines, then
		// "mcast-mac-local" and its lines.
		switch l = strings.TrimSpace(l); {
		case l == "ucast-mac-local":
			ucast = true
		case l == "mcast-mac-local":
			ucast = false
		case ucast:
			if mac, _, ok := strings.Cut(l, " -> "); ok && !slices.Contains(macs, mac) {
				macs = append(macs, mac)
			}
		}
	}
	slices.Sort(macs)
	return macs, nil
}

// SBDir returns the SB server's directory (its socket lives there).
func (s *Stack) SBDir() string { return filepath.Dir(s.OVN.SB.SocketPath()) }

func diff(an string, a []string, bn string, b []string) string {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		as[x] = true
	}
	for _, x := range b {
		bs[x] = true
	}
	var onlyA, onlyB []string
	for x := range as {
		if !bs[x] {
			onlyA = append(onlyA, x)
		}
	}
	for x := range bs {
		if !as[x] {
			onlyB = append(onlyB, x)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	return fmt.Sprintf("%s has %d, %s has %d; only in the first: %s; only in the second: %s",
		an, len(a), bn, len(b), head(onlyA), head(onlyB))
}

func head(x []string) string {
	if len(x) > 8 {
		return fmt.Sprintf("%v … (%d)", x[:8], len(x))
	}
	return fmt.Sprint(x)
}

// GatewayRecords returns vtepgw's SB transactions since mark that touched
// FDB.
func (s *Stack) GatewayRecords(mark int, table string) []Record {
	var out []Record
	for _, r := range s.SB.Since(mark) {
		if r.By("vtepgw:") && len(r.Changes[table]) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// SortedKeys returns m's keys sorted.
func SortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// FloodSet returns the locator IPs of switch sw's unknown-dst
// Mcast_Macs_Remote row for logical switch j, sorted (nil if there is no
// such row), from the database file.
func (s *Stack) FloodSet(sw, j int) []string {
	f := s.VF[sw]
	lsUUID := ""
	for u, r := range f.Rows("Logical_Switch") {
		if r.Str("name") == LS(j) {
			lsUUID = u
		}
	}
	for _, r := range f.Rows("Mcast_Macs_Remote") {
		if r.Str("MAC") != "unknown-dst" || r.UUID("logical_switch") != lsUUID {
			continue
		}
		ips := []string{}
		if set, ok := f.Rows("Physical_Locator_Set")[r.UUID("locator_set")]; ok {
			for _, l := range set.Set("locators") {
				ips = append(ips, f.Rows("Physical_Locator")[l].Str("dst_ip"))
			}
		}
		slices.Sort(ips)
		return ips
	}
	return nil
}

// ReplicationMode returns switch sw's Logical_Switch replication_mode for
// logical switch j ("" when unset), from the database file.
func (s *Stack) ReplicationMode(sw, j int) string {
	for _, r := range s.VF[sw].Rows("Logical_Switch") {
		if r.Str("name") == LS(j) {
			return strings.Join(r.Set("replication_mode"), ",")
		}
	}
	return "?"
}

// Tunnels returns br<sw>'s Tunnel rows by remote IP: UUID and bfd_params,
// from the database file (bfd_status is ephemeral: never in the file).
func (s *Stack) Tunnels(sw int) map[string]TunnelRow {
	f := s.VF[sw]
	out := map[string]TunnelRow{}
	for u, r := range f.Rows("Tunnel") {
		remote := f.Rows("Physical_Locator")[r.UUID("remote")].Str("dst_ip")
		local := f.Rows("Physical_Locator")[r.UUID("local")].Str("dst_ip")
		out[remote] = TunnelRow{UUID: u, Local: local, BFDParams: r.Map("bfd_params")}
	}
	return out
}

// TunnelRow is one Tunnel row.
type TunnelRow struct {
	UUID      string
	Local     string
	BFDParams map[string]string
}

// SetBFDState writes bfd_status:state on a Tunnel of switch sw, as the
// switch's BFD implementation does, and returns the times just before the
// request was sent and just after the reply (the commit lies in between;
// bfd_status is ephemeral, so the database file does not time it).
func (s *Stack) SetBFDState(sw int, uuid, state string) (before, after time.Time, err error) {
	before = time.Now()
	_, err = s.vconn[sw].Transact("hardware_vtep", testbed.Op{"op": "update", "table": "Tunnel",
		"where": []any{[]any{"_uuid", "==", testbed.Ref(uuid)}},
		"row":   testbed.Op{"bfd_status": []any{"map", []any{[]any{"state", state}}}}})
	return before, time.Now(), err
}

// FirstGatewayRecord returns vtepgw's first transaction since mark on
// switch sw that changed any of tables.
func (s *Stack) FirstGatewayRecord(sw, mark int, tables ...string) (Record, bool) {
	for _, r := range s.VF[sw].Since(mark) {
		if !r.By("vtepgw:") {
			continue
		}
		for _, t := range tables {
			if len(r.Changes[t]) > 0 {
				return r, true
			}
		}
	}
	return Record{}, false
}

// AddReplicator adds SB chassis name with a vxlan encap at ip, tagged
// ovn-cms-options=vtep-replicator.
func (s *Stack) AddReplicator(t testing.TB, name, ip string) {
	t.Helper()
	s.OVN.MustSB(t, "chassis-add", name, "vxlan", ip, "--", "set", "chassis", name, "other_config:ovn-cms-options=vtep-replicator")
}
