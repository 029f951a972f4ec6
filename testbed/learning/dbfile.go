package learning

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// Row is one database row as OVSDB JSON values, by column. A row read from
// a database file holds only the columns that were ever written with a
// non-default value.
type Row map[string]json.RawMessage

// Str returns a string column ("" if absent or not a string).
func (r Row) Str(col string) string {
	var s string
	if json.Unmarshal(r[col], &s) == nil {
		return s
	}
	return ""
}

// Int returns an integer column (0 if absent or not an integer).
func (r Row) Int(col string) int {
	var n int
	if json.Unmarshal(r[col], &n) == nil {
		return n
	}
	return 0
}

// UUID returns a (possibly optional) reference column, "" if absent.
func (r Row) UUID(col string) string {
	if s := r.Set(col); len(s) == 1 {
		return s[0]
	}
	return ""
}

// Map returns a string-to-string map column.
func (r Row) Map(col string) map[string]string {
	var v []json.RawMessage
	out := map[string]string{}
	if json.Unmarshal(r[col], &v) != nil || len(v) != 2 {
		return out
	}
	var pairs [][2]string
	if json.Unmarshal(v[1], &pairs) == nil {
		for _, p := range pairs {
			out[p[0]] = p[1]
		}
	}
	return out
}

// Set returns a set column of strings or references (a single atom is a
// set of one).
func (r Row) Set(col string) []string {
	raw := r[col]
	if raw == nil {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var v []json.RawMessage
	if json.Unmarshal(raw, &v) != nil || len(v) != 2 {
		return nil
	}
	var tag string
	_ = json.Unmarshal(v[0], &tag)
	switch tag {
	case "uuid":
		var u string
		_ = json.Unmarshal(v[1], &u)
		return []string{u}
	case "set":
		var elems []json.RawMessage
		_ = json.Unmarshal(v[1], &elems)
		var out []string
		for _, e := range elems {
			out = append(out, Row{"x": e}.Set("x")...)
		}
		slices.Sort(out)
		return out
	}
	return nil
}

// Change is what one transaction did to one row.
type Change struct {
	Op  string // "insert", "update" or "delete"
	Row Row    // the columns written (nil for a delete)
}

// Record is one committed transaction read from a database file. Its time
// is the server's own commit timestamp ("_date", milliseconds), so the
// commits of different servers on this machine compare directly.
type Record struct {
	Index   int
	Time    time.Time
	Comment string
	// Changes: table → row UUID → change.
	Changes map[string]map[string]Change
}

// Count returns how many rows of table the transaction inserted, updated
// or deleted (op "").
func (r Record) Count(table, op string) int {
	n := 0
	for _, c := range r.Changes[table] {
		if op == "" || c.Op == op {
			n++
		}
	}
	return n
}

// By reports whether the transaction's comment starts with prefix.
func (r Record) By(prefix string) bool { return strings.HasPrefix(r.Comment, prefix) }

func (r Record) String() string {
	var ops []string
	for table, rows := range r.Changes {
		n := map[string]int{}
		for _, c := range rows {
			n[c.Op]++
		}
		for op, k := range n {
			ops = append(ops, fmt.Sprintf("%s %s %d", table, op, k))
		}
	}
	slices.Sort(ops)
	return fmt.Sprintf("#%d %s %q [%s]", r.Index, r.Time.Format("15:04:05.000"), r.Comment, strings.Join(ops, ", "))
}

// Follower reads a standalone ovsdb-server database file as the server
// appends to it (testbed.DBFile, opened anew by every Poll) and keeps every
// transaction and a replica of the rows. It never talks to the server, so
// watching costs the server nothing, and the commit times are the
// server's. Not safe for concurrent use.
type Follower struct {
	path string
	file *testbed.DBFile
	// multi: table → column → true for columns that can hold more than
	// one value (those a diff record changes element by element).
	multi   map[string]map[string]bool
	rows    map[string]map[string]Row // table → uuid → row
	records []Record
}

// NewFollower reads the database file at path.
func NewFollower(path string) (*Follower, error) {
	f, err := testbed.OpenDBFile(path, false)
	if err != nil {
		return nil, err
	}
	fl := &Follower{path: path, file: f}
	fl.reset()
	if err := fl.Poll(); err != nil {
		return nil, err
	}
	return fl, nil
}

func (fl *Follower) reset() {
	fl.file.Rewind()
	fl.rows = map[string]map[string]Row{}
	fl.records = nil
}

// Poll reads what was appended since the last call. If the file shrank
// (compacted, or a torn last record truncated after a crash), it is read
// again from the start.
func (fl *Follower) Poll() error {
	err := fl.file.Read(fl.readSchema, fl.apply)
	if errors.Is(err, testbed.ErrDBFileShrank) {
		fl.reset()
		err = fl.file.Read(fl.readSchema, fl.apply)
	}
	return err
}

func (fl *Follower) apply(x testbed.DBTxn) error {
	r := Record{Index: x.Index, Time: x.Time, Comment: x.Comment, Changes: map[string]map[string]Change{}}
	for table, rows := range x.Tables {
		live := fl.rows[table]
		if live == nil {
			live = map[string]Row{}
			fl.rows[table] = live
		}
		ch := map[string]Change{}
		r.Changes[table] = ch
		for uuid, raw := range rows {
			old, exists := live[uuid]
			if string(raw) == "null" {
				ch[uuid] = Change{Op: "delete"}
				delete(live, uuid)
				continue
			}
			var cols Row
			if err := json.Unmarshal(raw, &cols); err != nil {
				return fmt.Errorf("%s: %s row %s: %w", fl.path, table, uuid, err)
			}
			if exists {
				ch[uuid] = Change{Op: "update", Row: cols}
				merged := make(Row, len(old)+len(cols))
				for k, v := range old {
					merged[k] = v
				}
				for k, v := range cols {
					if x.IsDiff && fl.multi[table][k] && old[k] != nil {
						nv, err := applyDiff(old[k], v)
						if err != nil {
							return fmt.Errorf("%s: %s row %s column %s: %w", fl.path, table, uuid, k, err)
						}
						v = nv
					}
					merged[k] = v
				}
				live[uuid] = merged
			} else {
				ch[uuid] = Change{Op: "insert", Row: cols}
				live[uuid] = cols
			}
		}
	}
	fl.records = append(fl.records, r)
	return nil
}

// Rows returns the live rows of table by UUID (do not modify them).
func (fl *Follower) Rows(table string) map[string]Row { return fl.rows[table] }

// Mark returns the number of transactions read so far.
func (fl *Follower) Mark() int { return len(fl.records) }

// Since returns the transactions from index mark on.
func (fl *Follower) Since(mark int) []Record {
	if mark > len(fl.records) {
		return nil
	}
	return fl.records[mark:]
}

// Wait polls the file every interval until cond holds or timeout passes.
func (fl *Follower) Wait(timeout, interval time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	start := time.Now()
	for {
		if err := fl.Poll(); err != nil {
			return err
		}
		ok, msg := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not reached after %v: %s", fl.path, time.Since(start).Round(time.Millisecond), msg)
		}
		time.Sleep(interval)
	}
}

// FindComment waits for the transaction whose comment is exactly comment,
// at or after mark.
func (fl *Follower) FindComment(mark int, comment string, timeout time.Duration) (Record, error) {
	var found Record
	err := fl.Wait(timeout, time.Millisecond, func() (bool, string) {
		for _, r := range fl.Since(mark) {
			if r.Comment == comment {
				found = r
				return true, ""
			}
		}
		return false, "no transaction " + strconv.Quote(comment)
	})
	return found, err
}

// readSchema notes which columns are sets or maps: in a "_is_diff" record
// their values are differences (elements to toggle, map pairs to add,
// change or remove), not the new value.
func (fl *Follower) readSchema(body []byte) error {
	var sch struct {
		Tables map[string]struct {
			Columns map[string]struct {
				Type json.RawMessage `json:"type"`
			} `json:"columns"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(body, &sch); err != nil {
		return fmt.Errorf("%s: schema: %w", fl.path, err)
	}
	fl.multi = map[string]map[string]bool{}
	for tn, tb := range sch.Tables {
		cols := map[string]bool{}
		for cn, c := range tb.Columns {
			var ty struct {
				Max json.RawMessage `json:"max"`
			}
			if json.Unmarshal(c.Type, &ty) != nil {
				continue // an atomic type name: a scalar
			}
			// ovsdb_type_is_composite: only columns that can hold more
			// than one value are written as differences.
			var n int
			composite := string(ty.Max) == `"unlimited"` || json.Unmarshal(ty.Max, &n) == nil && n > 1
			cols[cn] = composite
		}
		fl.multi[tn] = cols
	}
	return nil
}

// elems splits a set or map value into atoms (sets) or [key, value] pairs
// (maps), each as canonical JSON.
func elems(v json.RawMessage) (isMap bool, keys []string, vals map[string]string, err error) {
	vals = map[string]string{}
	var arr []json.RawMessage
	if json.Unmarshal(v, &arr) != nil || len(arr) != 2 {
		// a single atom (string, number, bool)
		return false, []string{canon(v)}, vals, nil
	}
	var tag string
	_ = json.Unmarshal(arr[0], &tag)
	switch tag {
	case "set":
		var es []json.RawMessage
		if err := json.Unmarshal(arr[1], &es); err != nil {
			return false, nil, nil, err
		}
		for _, e := range es {
			keys = append(keys, canon(e))
		}
		return false, keys, vals, nil
	case "map":
		var ps [][2]json.RawMessage
		if err := json.Unmarshal(arr[1], &ps); err != nil {
			return true, nil, nil, err
		}
		for _, p := range ps {
			k := canon(p[0])
			keys = append(keys, k)
			vals[k] = canon(p[1])
		}
		return true, keys, vals, nil
	default: // ["uuid", U]: one atom
		return false, []string{canon(v)}, vals, nil
	}
}

func canon(v json.RawMessage) string {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return string(v)
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// applyDiff applies an ovsdb datum diff to old: set elements in the diff
// are toggled; map keys in the diff are added, changed, or (same value)
// removed.
func applyDiff(old, diff json.RawMessage) (json.RawMessage, error) {
	isMap, oldKeys, oldVals, err := elems(old)
	if err != nil {
		return nil, err
	}
	dMap, dKeys, dVals, err := elems(diff)
	if err != nil {
		return nil, err
	}
	isMap = isMap || dMap
	present := map[string]bool{}
	order := slices.Clone(oldKeys)
	for _, k := range oldKeys {
		present[k] = true
	}
	for _, k := range dKeys {
		switch {
		case !present[k]:
			present[k] = true
			order = append(order, k)
			oldVals[k] = dVals[k]
		case isMap && oldVals[k] != dVals[k]:
			oldVals[k] = dVals[k]
		default:
			delete(present, k)
		}
	}
	var out []json.RawMessage
	for _, k := range order {
		if !present[k] {
			continue
		}
		if isMap {
			out = append(out, json.RawMessage("["+k+","+oldVals[k]+"]"))
		} else {
			out = append(out, json.RawMessage(k))
		}
		delete(present, k) // once
	}
	if out == nil {
		out = []json.RawMessage{}
	}
	tag := "set"
	if isMap {
		tag = "map"
	}
	return json.Marshal([]any{tag, out})
}
