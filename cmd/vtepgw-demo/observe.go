package main

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/cmd/vtepgw-demo/internal/sbfull"
	"github.com/vtepgw/vtepgw/internal/vtepfull"
)

// entry is one line of a step's story: a row change seen in one database,
// a vtepgw reconcile batch, or a vtepgw log record.
type entry struct {
	at    time.Time
	kind  entryKind
	db    string // "sb" or "vtep" for rows
	table string
	uuid  string
	op    byte // '+', '~', '-'
	text  string
}

type entryKind int

const (
	entryRow entryKind = iota
	entryBatch
	entryLog
)

// eventLog collects entries from the observers' event goroutines, the
// gateway's batch hook and vtepgw's logger.
type eventLog struct {
	mu      sync.Mutex
	entries []entry
	last    time.Time
}

func (l *eventLog) add(e entry) {
	if e.at.IsZero() {
		e.at = time.Now()
	}
	l.mu.Lock()
	l.entries = append(l.entries, e)
	l.last = e.at
	l.mu.Unlock()
}

// take returns and clears the collected entries.
func (l *eventLog) take() []entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.entries
	l.entries = nil
	return out
}

func (l *eventLog) lastAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// dbClient is the demo's own connection to one database: it writes as the
// actors the demo plays (northd, hypervisors, the switch) and observes every
// row change, formatted when it happens so references resolve to names.
type dbClient struct {
	label  string // "sb" or "vtep"
	schema ovsdb.DatabaseSchema
	cl     client.Client
	log    *eventLog
	// hidden tables are shown inline where referenced, not as rows.
	hidden map[string]bool
	// names remembers display names of rows, for references to rows that
	// are gone by the time an event is formatted.
	mu    sync.Mutex
	names map[string]string // guarded by mu
	// barriers counts barrier rows inserted (by barrier) and seen (by
	// the event handler); guarded by mu.
	barriers, barriersSeen int
}

// The barrier rows live in a table vtepgw does not monitor, so they are
// invisible to it: SB Address_Set, hardware_vtep ACL.
const barrierPrefix = "vtepgw-demo-barrier-"

func barrierTable(label string) string {
	if label == "sb" {
		return sbfull.AddressSetTable
	}
	return vtepfull.ACLTable
}

// barrier returns once the event handler has seen every change committed
// to the database before the call: it commits a marker row and waits for
// its event (the server sends updates in commit order, and libovsdb hands
// them to the handler in order). Checks read the cache, which is ahead of
// the handler; the barrier lets the story catch up.
func (d *dbClient) barrier(ctx context.Context, timeout time.Duration) error {
	d.mu.Lock()
	d.barriers++
	n := d.barriers
	d.mu.Unlock()
	name := barrierPrefix + strconv.Itoa(n)
	var m model.Model = &vtepfull.ACL{ACLName: name}
	if d.label == "sb" {
		m = &sbfull.AddressSet{Name: name}
	}
	ops, err := d.cl.Create(m)
	if err != nil {
		return err
	}
	if _, err := d.transact(ctx, ops...); err != nil {
		return fmt.Errorf("%s barrier: %w", d.label, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		d.mu.Lock()
		seen := d.barriersSeen
		d.mu.Unlock()
		if seen >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s barrier: event not seen within %s", d.label, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// sawBarrier records a barrier row's event; it reports whether m is one.
func (d *dbClient) sawBarrier(table string, m model.Model) bool {
	if table != barrierTable(d.label) {
		return false
	}
	var name string
	switch r := m.(type) {
	case *sbfull.AddressSet:
		name = r.Name
	case *vtepfull.ACL:
		name = r.ACLName
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(name, barrierPrefix)); err == nil {
		d.mu.Lock()
		d.barriersSeen = max(d.barriersSeen, n)
		d.mu.Unlock()
	}
	return true
}

func dialDB(ctx context.Context, label string, srv *dbServer, full func() (model.ClientDBModel, error), log *eventLog, hidden ...string) (*dbClient, error) {
	cm, err := full()
	if err != nil {
		return nil, err
	}
	quiet := logr.Discard()
	cl, err := client.NewOVSDBClient(cm, client.WithEndpoint(srv.endpoint), client.WithLogger(&quiet))
	if err != nil {
		return nil, err
	}
	if err := cl.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", srv.endpoint, err)
	}
	d := &dbClient{label: label, schema: srv.schema, cl: cl, log: log, hidden: map[string]bool{}, names: map[string]string{}}
	for _, t := range hidden {
		d.hidden[t] = true
	}
	cl.Cache().AddEventHandler(d)
	if _, err := cl.MonitorAll(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("monitor %s: %w", srv.endpoint, err)
	}
	return d, nil
}

func (d *dbClient) Close() { d.cl.Close() }

// transact sends ops as one transaction and checks every result. It
// returns the UUIDs of inserted rows, in op order.
func (d *dbClient) transact(ctx context.Context, ops ...ovsdb.Operation) ([]string, error) {
	res, err := d.cl.Transact(ctx, ops...)
	if err != nil {
		return nil, err
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		return nil, err
	}
	var ids []string
	for i, op := range ops {
		if op.Op == ovsdb.OperationInsert && i < len(res) {
			ids = append(ids, res[i].UUID.GoUUID)
		}
	}
	return ids, nil
}

// --- cache event handler ---

func (d *dbClient) OnAdd(table string, m model.Model) {
	if d.sawBarrier(table, m) {
		return
	}
	d.remember(table, m)
	if d.hidden[table] {
		return
	}
	text := d.ident(table, m)
	if cols := d.columns(table, m, nil); cols != "" {
		text += "  " + cols
	}
	d.log.add(entry{kind: entryRow, db: d.label, table: table, uuid: uuidOf(m), op: '+', text: text})
}

func (d *dbClient) OnUpdate(table string, old, m model.Model) {
	if d.sawBarrier(table, m) {
		return
	}
	d.remember(table, m)
	if d.hidden[table] {
		return
	}
	cols := d.columns(table, m, old)
	if cols == "" {
		return
	}
	d.log.add(entry{kind: entryRow, db: d.label, table: table, uuid: uuidOf(m), op: '~', text: d.ident(table, m) + "  " + cols})
}

func (d *dbClient) OnDelete(table string, m model.Model) {
	if d.hidden[table] || table == barrierTable(d.label) {
		return
	}
	d.log.add(entry{kind: entryRow, db: d.label, table: table, uuid: uuidOf(m), op: '-', text: d.ident(table, m)})
}

func (d *dbClient) remember(table string, m model.Model) {
	n := d.display(table, m)
	d.mu.Lock()
	d.names[uuidOf(m)] = n
	d.mu.Unlock()
}

// --- formatting ---

// identCols are the columns that name a row; they are shown first and not
// repeated among its other columns.
var identCols = map[string][]string{
	"Chassis":           {"name"},
	"Encap":             {"type", "ip"},
	"Port_Binding":      {"logical_port"},
	"FDB":               {"mac"},
	"Multicast_Group":   {"name"},
	"Physical_Switch":   {"name"},
	"Physical_Port":     {"name"},
	"Logical_Switch":    {"name"},
	"Physical_Locator":  {"dst_ip"},
	"Ucast_Macs_Remote": {"MAC"},
	"Ucast_Macs_Local":  {"MAC"},
	"Mcast_Macs_Remote": {"MAC"},
	"Mcast_Macs_Local":  {"MAC"},
}

// ident is "Table name" for a row.
func (d *dbClient) ident(table string, m model.Model) string {
	if n := d.display(table, m); n != "" {
		return table + " " + n
	}
	return table
}

// display is the short name of a row, used for it and for references to it.
func (d *dbClient) display(table string, m model.Model) string {
	switch r := m.(type) {
	case *sbfull.DatapathBinding:
		if n := r.ExternalIDs["name"]; n != "" {
			return n
		}
		return "key" + strconv.Itoa(r.TunnelKey)
	case *vtepfull.PhysicalLocatorSet:
		ips := make([]string, 0, len(r.Locators))
		for _, u := range r.Locators {
			ips = append(ips, d.nameOf("Physical_Locator", u))
		}
		slices.Sort(ips)
		return "{" + strings.Join(ips, ", ") + "}"
	case *sbfull.SBGlobal, *vtepfull.Global:
		return ""
	}
	cols, ok := identCols[table]
	if !ok {
		return short(uuidOf(m))
	}
	v := reflect.ValueOf(m).Elem()
	var parts []string
	for _, c := range cols {
		if f, ok := fieldByColumn(v, c); ok {
			parts = append(parts, fmt.Sprint(f.Interface()))
		}
	}
	return strings.Join(parts, " ")
}

// nameOf resolves a reference: the row in the cache, else a row seen
// before, else the UUID's first 8 characters.
func (d *dbClient) nameOf(table, uuid string) string {
	if t := d.cl.Cache().Table(table); t != nil {
		if m := t.Row(uuid); m != nil {
			return d.display(table, m)
		}
	}
	d.mu.Lock()
	n, ok := d.names[uuid]
	d.mu.Unlock()
	if ok {
		return n
	}
	return short(uuid)
}

// columns formats a row's non-default columns (old == nil) or the columns
// that changed from old, skipping the identifying ones.
func (d *dbClient) columns(table string, m, old model.Model) string {
	ts := d.schema.Table(table)
	if ts == nil {
		return ""
	}
	v := reflect.ValueOf(m).Elem()
	var ov reflect.Value
	if old != nil {
		ov = reflect.ValueOf(old).Elem()
	}
	var parts []string
	for i := 0; i < v.NumField(); i++ {
		col := v.Type().Field(i).Tag.Get("ovsdb")
		if col == "" || col == "_uuid" || slices.Contains(identCols[table], col) {
			continue
		}
		cs := ts.Column(col)
		if cs == nil {
			continue
		}
		keyRef, valRef := refTables(cs)
		now := d.format(v.Field(i), keyRef, valRef)
		if old == nil {
			if !isDefault(v.Field(i)) {
				parts = append(parts, col+"="+now)
			}
			continue
		}
		was := d.format(ov.Field(i), keyRef, valRef)
		if was != now {
			parts = append(parts, col+": "+was+" -> "+now)
		}
	}
	return strings.Join(parts, "  ")
}

func refTables(cs *ovsdb.ColumnSchema) (key, value string) {
	if cs.TypeObj == nil {
		return "", ""
	}
	if cs.TypeObj.Key != nil {
		key, _ = cs.TypeObj.Key.RefTable()
	}
	if cs.TypeObj.Value != nil {
		value, _ = cs.TypeObj.Value.RefTable()
	}
	return key, value
}

func (d *dbClient) format(v reflect.Value, keyRef, valRef string) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "[]"
		}
		return d.scalar(v.Elem(), keyRef)
	case reflect.Slice:
		s := make([]string, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			s = append(s, d.scalar(v.Index(i), keyRef))
		}
		slices.Sort(s)
		return "[" + strings.Join(s, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		s := make([]string, 0, len(keys))
		for _, k := range keys {
			s = append(s, d.scalar(k, keyRef)+"="+d.scalar(v.MapIndex(k), valRef))
		}
		slices.Sort(s)
		return "{" + strings.Join(s, ", ") + "}"
	}
	return d.scalar(v, keyRef)
}

func (d *dbClient) scalar(v reflect.Value, ref string) string {
	if v.Kind() == reflect.String {
		s := v.String()
		if ref != "" {
			return d.nameOf(ref, s)
		}
		if s == "" || strings.ContainsAny(s, " ,={}[]\"") {
			return strconv.Quote(s)
		}
		return s
	}
	return fmt.Sprint(v.Interface())
}

func isDefault(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer:
		return v.IsNil()
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

func fieldByColumn(v reflect.Value, col string) (reflect.Value, bool) {
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("ovsdb") == col {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func uuidOf(m model.Model) string {
	if f, ok := fieldByColumn(reflect.ValueOf(m).Elem(), "_uuid"); ok {
		return f.String()
	}
	return ""
}

func short(uuid string) string {
	if len(uuid) > 8 {
		return uuid[:8]
	}
	return uuid
}

// rows lists a table's rows from the cache, sorted by UUID.
func rows[T model.Model](d *dbClient, table string) []T {
	t := d.cl.Cache().Table(table)
	if t == nil {
		return nil
	}
	all := t.Rows()
	out := make([]T, 0, len(all))
	for _, u := range slices.Sorted(maps.Keys(all)) {
		out = append(out, all[u].(T))
	}
	return out
}
