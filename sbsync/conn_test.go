package sbsync

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/testbed"
)

// startSB starts a real OVN_Southbound ovsdb-server.
func startSB(t *testing.T) *testbed.OVSDB {
	t.Helper()
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool)
	return testbed.StartOVSDB(t, testbed.OVSDBOptions{DBs: []testbed.DB{{Name: "ovnsb_db", Schema: testbed.SBSchema}},
		Name: "ovsdb-sb", Socket: "ovnsb_db.sock", NoTCP: true})
}

// runConn runs a native southbound connection until the test ends and
// waits for its first cache.
func runConn(t *testing.T, eps []string, onChange func(string, model.Model, model.Model)) *sbConn {
	t.Helper()
	up := make(chan struct{}, 1)
	c, err := newSBConn(sbConnOptions{Endpoints: eps, LeaderOnly: len(eps) > 1, OnChange: onChange,
		OnConnect: func(*ovsdb.DatabaseSchema) {
			select {
			case up <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatalf("no connection: %s", c.Status())
	}
	return c
}

// snapshot returns every row of the native cache, by table and UUID.
func nativeRows(c *sbConn) map[string]map[string]model.Model {
	out := map[string]map[string]model.Model{}
	ss := c.session()
	if ss == nil {
		return out
	}
	for name := range sbModels {
		out[name] = ss.cache.table(name).RowsShallow()
	}
	return out
}

func libovsdbRows(cl client.Client) map[string]map[string]model.Model {
	out := map[string]map[string]model.Model{}
	for name := range sbModels {
		out[name] = cl.Cache().Table(name).Rows()
	}
	return out
}

// normalize makes nil and empty sets and maps compare equal (libovsdb
// decodes an empty set as an empty slice, the native codec as nil).
func normalize(m model.Model) any {
	v := reflect.ValueOf(m).Elem()
	out := map[string]any{}
	for i := range v.NumField() {
		f := v.Field(i)
		tag := v.Type().Field(i).Tag.Get("ovsdb")
		switch f.Kind() {
		case reflect.Slice:
			s := slices.Clone(f.Interface().([]string))
			slices.Sort(s)
			out[tag] = fmt.Sprint(s)
		case reflect.Map:
			if f.Len() == 0 {
				out[tag] = "map[]"
			} else {
				out[tag] = fmt.Sprint(f.Interface())
			}
		case reflect.Pointer:
			if f.IsNil() {
				out[tag] = "<nil>"
			} else {
				out[tag] = fmt.Sprint(f.Elem().Interface())
			}
		default:
			out[tag] = fmt.Sprint(f.Interface())
		}
	}
	return out
}

func diffRows(a, b map[string]map[string]model.Model) string {
	var out []string
	for name := range sbModels {
		for u, ra := range a[name] {
			rb, ok := b[name][u]
			if !ok {
				out = append(out, fmt.Sprintf("%s %s: only in the native cache", name, u))
				continue
			}
			if na, nb := normalize(ra), normalize(rb); !reflect.DeepEqual(na, nb) {
				out = append(out, fmt.Sprintf("%s %s:\n  native   %v\n  libovsdb %v", name, u, na, nb))
			}
		}
		for u := range b[name] {
			if _, ok := a[name][u]; !ok {
				out = append(out, fmt.Sprintf("%s %s: only in libovsdb's cache", name, u))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestCacheMatchesLibovsdb runs random transactions on every table and
// column kind vtepgw monitors (atoms, references, optional columns, sets
// and maps, inserts, modifications and deletions) against a real SB
// ovsdb-server, and checks after each batch that the native cache holds
// exactly what libovsdb's cache holds for the same model.
func TestCacheMatchesLibovsdb(t *testing.T) {
	sb := startSB(t)
	ep := "unix:" + sb.SocketPath()
	var mu sync.Mutex
	events := 0
	c := runConn(t, []string{ep}, func(string, model.Model, model.Model) { mu.Lock(); events++; mu.Unlock() })

	cm, err := sbModel()
	if err != nil {
		t.Fatal(err)
	}
	lib, err := client.NewOVSDBClient(cm, client.WithEndpoint(ep))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := lib.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	mon := lib.NewMonitor()
	for name, tab := range c.session().cache.tables {
		mon.Tables = append(mon.Tables, client.TableMonitor{Table: name, Fields: tab.codec.Columns})
	}
	if _, err := lib.Monitor(ctx, mon); err != nil {
		t.Fatal(err)
	}

	rpc, err := testbed.DialOVSDB(sb.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	defer rpc.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	w := &sbWriter{t: t, rpc: rpc, rng: rng, names: map[string]string{}}
	w.setup()
	for round := range 300 {
		w.randomTxn()
		// Both caches have the update once a request sent after the
		// commit is answered (the server flushes updates first); poll a
		// little for libovsdb's asynchronous cache.
		var d string
		for range 100 {
			if d = diffRows(nativeRows(c), libovsdbRows(lib)); d == "" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if d != "" {
			t.Fatalf("round %d (%s): caches differ:\n%s", round, w.last, d)
		}
		if err := checkIndexes(c); err != nil {
			t.Fatalf("round %d (%s): %v", round, w.last, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if events == 0 {
		t.Fatal("no change events")
	}
}

// checkIndexes recomputes every index of the native cache from its rows.
func checkIndexes(c *sbConn) error {
	ss := c.session()
	ss.cache.mu.RLock()
	defer ss.cache.mu.RUnlock()
	for name, t := range ss.cache.tables {
		for iname, ix := range t.indexes {
			want := map[string]map[string]struct{}{}
			for u, m := range t.rows {
				if k, ok := ix.key(m); ok {
					if want[k] == nil {
						want[k] = map[string]struct{}{}
					}
					want[k][u] = struct{}{}
				}
			}
			got := ix.rows
			if ix.one != nil {
				got = map[string]map[string]struct{}{}
				for k, u := range ix.one {
					got[k] = map[string]struct{}{u: {}}
				}
			}
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("%s index %s: %v, rows say %v", name, iname, got, want)
			}
		}
	}
	return nil
}

// sbWriter makes random SB transactions.
type sbWriter struct {
	t       *testing.T
	rpc     *testbed.OVSDBConn
	rng     *rand.Rand
	chassis []string // UUIDs
	dps     []string
	pbs     []string
	names   map[string]string // PB UUID → logical_port
	last    string
}

func (w *sbWriter) transact(what string, ops ...testbed.Op) []string {
	w.t.Helper()
	w.last = what
	res, err := w.rpc.Transact("OVN_Southbound", ops...)
	if err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	uuids := make([]string, len(res))
	for i, r := range res {
		if r.UUID != nil {
			uuids[i] = r.UUID[1].(string)
		}
	}
	return uuids
}

func (w *sbWriter) setup() {
	ops := []testbed.Op{{"op": "insert", "table": "SB_Global", "row": map[string]any{}}}
	for i := range 3 {
		ops = append(ops,
			testbed.Op{"op": "insert", "table": "Encap", "uuid-name": fmt.Sprintf("e%d", i), "row": map[string]any{"type": "vxlan", "ip": fmt.Sprintf("192.0.2.%d", i+1), "chassis_name": fmt.Sprintf("ch%d", i)}},
			testbed.Op{"op": "insert", "table": "Chassis", "uuid-name": fmt.Sprintf("c%d", i), "row": map[string]any{"name": fmt.Sprintf("ch%d", i), "encaps": testbed.NamedRef(fmt.Sprintf("e%d", i))}},
			testbed.Op{"op": "insert", "table": "Datapath_Binding", "row": map[string]any{"tunnel_key": i + 1}})
	}
	u := w.transact("setup", ops...)
	for i := range 3 {
		w.chassis = append(w.chassis, u[2+3*i])
		w.dps = append(w.dps, u[3+3*i])
	}
}

func (w *sbWriter) pick(s []string) string { return s[w.rng.IntN(len(s))] }

func (w *sbWriter) randomTxn() {
	r := w.rng
	var ops []testbed.Op
	what := []string{}
	for range 1 + r.IntN(4) {
		switch k := r.IntN(10); {
		case k < 3 || len(w.pbs) == 0:
			name := fmt.Sprintf("p%d", r.IntN(1_000_000))
			row := map[string]any{"logical_port": name, "datapath": testbed.Ref(w.pick(w.dps)), "tunnel_key": 1 + r.IntN(30000),
				"mac": []any{"set", []any{"02:00:00:00:00:01", "02:00:00:00:00:02 10.0.0.2"}}, "type": []string{"", "vtep", "chassisredirect"}[r.IntN(3)],
				"options": []any{"map", []any{[]any{"vtep-logical-switch", "ls0"}, []any{"vtep-physical-switch", "br0"}}}}
			if r.IntN(2) == 0 {
				row["chassis"] = testbed.Ref(w.pick(w.chassis))
			}
			ops = append(ops, testbed.Op{"op": "insert", "table": "Port_Binding", "row": row})
			what = append(what, "insert PB")
		case k < 7:
			pb := w.pick(w.pbs)
			var row map[string]any
			switch r.IntN(6) {
			case 0:
				row = map[string]any{"chassis": testbed.Ref(w.pick(w.chassis))}
			case 1:
				row = map[string]any{"chassis": []any{"set", []any{}}}
			case 2:
				row = map[string]any{"mac": []any{"set", []any{"02:00:00:00:00:03", "02:00:00:00:00:01"}}}
			case 3:
				row = map[string]any{"options": []any{"map", []any{[]any{"vtep-logical-switch", fmt.Sprintf("ls%d", r.IntN(3))}, []any{"extra", "x"}}}}
			case 4:
				row = map[string]any{"up": r.IntN(2) == 0, "type": "vtep"}
			case 5:
				row = map[string]any{"options": []any{"map", []any{}}, "mac": []any{"set", []any{}}}
			}
			ops = append(ops, testbed.Op{"op": "update", "table": "Port_Binding", "where": [][]any{{"_uuid", "==", testbed.Ref(pb)}}, "row": row})
			what = append(what, fmt.Sprintf("update PB %v", row))
		case k < 8 && len(w.pbs) >= 2 && r.IntN(2) == 0:
			// Two ports swap names in one transaction: for a moment,
			// while the update is applied, both hold one name.
			a, b := w.pbs[r.IntN(len(w.pbs))], w.pbs[r.IntN(len(w.pbs))]
			if a == b {
				continue
			}
			// The server checks the name index at commit only.
			ops = append(ops,
				testbed.Op{"op": "update", "table": "Port_Binding", "where": [][]any{{"_uuid", "==", testbed.Ref(a)}}, "row": map[string]any{"logical_port": w.names[b]}},
				testbed.Op{"op": "update", "table": "Port_Binding", "where": [][]any{{"_uuid", "==", testbed.Ref(b)}}, "row": map[string]any{"logical_port": w.names[a]}})
			w.names[a], w.names[b] = w.names[b], w.names[a]
			what = append(what, "swap PB names")
		case k < 8:
			pb := w.pick(w.pbs)
			ops = append(ops, testbed.Op{"op": "delete", "table": "Port_Binding", "where": [][]any{{"_uuid", "==", testbed.Ref(pb)}}})
			w.pbs = slices.DeleteFunc(w.pbs, func(s string) bool { return s == pb })
			what = append(what, "delete PB")
		case k < 9:
			ops = append(ops, testbed.Op{"op": "insert", "table": "FDB", "row": map[string]any{
				"mac": fmt.Sprintf("02:00:00:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256)), "dp_key": 1 + r.IntN(3), "port_key": 1 + r.IntN(9)}})
			what = append(what, "insert FDB")
		default:
			ch := w.pick(w.chassis)
			ops = append(ops, testbed.Op{"op": "update", "table": "Chassis", "where": [][]any{{"_uuid", "==", testbed.Ref(ch)}},
				"row": map[string]any{"external_ids": []any{"map", []any{[]any{"k", fmt.Sprint(r.IntN(3))}}}, "other_config": []any{"map", []any{[]any{"is-vtep", "true"}}}}})
			what = append(what, "update Chassis")
		}
	}
	u := w.transact(strings.Join(what, "; "), ops...)
	for i, op := range ops {
		if op["op"] == "insert" && op["table"] == "Port_Binding" {
			w.pbs = append(w.pbs, u[i])
			w.names[u[i]] = op["row"].(map[string]any)["logical_port"].(string)
		}
	}
}

// TestLeaderOnlyNative runs the southbound connection against a 3-member
// RAFT cluster of the real ovsdb-server with the leader listed last: it
// connects to the leader, follows a leadership transfer (the _Server
// monitor on the same session reports the loss), and leaves no goroutine
// behind across reconnects.
func TestLeaderOnlyNative(t *testing.T) {
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool, testbed.BinAppctl)
	cl := testbed.StartCluster(t, testbed.ClusterOptions{Schema: testbed.SBSchema, Name: "sb"})
	eps, err := cl.RemotesLeaderLast(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := runConn(t, eps, nil)

	onLeader := func(what string) int {
		t.Helper()
		var n int
		testbed.Eventually(t, 30*time.Second, 20*time.Millisecond, func() (bool, string) {
			l, err := cl.Leader()
			if err != nil {
				return false, err.Error()
			}
			var ep string
			ep, n = c.state.Connection()
			if ep != cl.Members[l].UnixRemote() {
				return false, fmt.Sprintf("%s: leader is %s; %s", what, cl.Members[l].UnixRemote(), c.Status())
			}
			return true, ""
		})
		return n
	}
	n := onLeader("start")
	if n != 1 {
		t.Errorf("%d connections to reach the leader, want 1 (followers are skipped before monitoring)", n)
	}
	from, to, err := cl.TransferLeadership(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leadership moved from member %d to %d", from+1, to+1)
	if m := onLeader("after the transfer"); m <= n {
		t.Fatalf("still on connection %d after the transfer", m)
	}

	// Reconnects leave no goroutine behind.
	reconnect := func() {
		t.Helper()
		_, before := c.state.Connection()
		if ss := c.session(); ss != nil {
			_ = ss.s.Close()
		}
		testbed.Eventually(t, 30*time.Second, 10*time.Millisecond, func() (bool, string) {
			_, now := c.state.Connection()
			return now > before, c.Status()
		})
	}
	reconnect()
	time.Sleep(300 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 8 {
		reconnect()
	}
	time.Sleep(300 * time.Millisecond)
	if now := runtime.NumGoroutine(); now > base {
		t.Fatalf("%d goroutines after 8 reconnects, %d before", now, base)
	}
}
