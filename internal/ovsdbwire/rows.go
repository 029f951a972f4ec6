package ovsdbwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
)

// Table decodes one table's rows into a model struct type (the structs
// libovsdb's modelgen writes: fields tagged `ovsdb:"column"`, "_uuid" for
// the row's UUID). Rows are values: Insert returns a new one and Modify a
// modified copy, never changing the row it was given, so readers may keep
// a row without locks.
type Table struct {
	Name    string
	typ     reflect.Type // the struct type
	uuid    int          // field index of _uuid
	cols    map[string]*column
	Columns []string // the model's columns, sorted (what to monitor)
}

type fieldKind uint8

const (
	kString fieldKind = iota
	kInt
	kBool
	kOptString // *string: a set of at most one
	kOptInt
	kOptBool
	kStrings   // []string
	kStringMap // map[string]string
)

// diffKind is how an update2 "modify" carries a column (OVSDB's
// monitor_cond extension of RFC 7047): the new value for an atom or a set
// of at most one; the elements to toggle for a larger set; for a map, the
// pairs to add, change (same key, new value) or remove (same key and
// value).
type diffKind uint8

const (
	diffReplace diffKind = iota
	diffToggle
	diffMap
)

type column struct {
	name  string
	field int
	kind  fieldKind
	diff  diffKind
}

// NewTable builds the codec for model m (a pointer to a struct) of table
// name, checked against the server's schema of the table: a model column
// the server lacks is an error, as in libovsdb.
func NewTable(name string, m model.Model, ts *ovsdb.TableSchema) (*Table, error) {
	typ := reflect.TypeOf(m)
	if typ == nil || typ.Kind() != reflect.Pointer || typ.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("table %s: model %T is not a pointer to a struct", name, m)
	}
	typ = typ.Elem()
	if ts == nil {
		return nil, fmt.Errorf("table %s: not in the server's schema", name)
	}
	t := &Table{Name: name, typ: typ, uuid: -1, cols: map[string]*column{}}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("ovsdb")
		if tag == "" {
			continue
		}
		if tag == "_uuid" {
			if f.Type.Kind() != reflect.String {
				return nil, fmt.Errorf("table %s: _uuid field %s is not a string", name, f.Name)
			}
			t.uuid = i
			continue
		}
		cs := ts.Column(tag)
		if cs == nil {
			return nil, fmt.Errorf("table %s: the server's schema has no column %s", name, tag)
		}
		kind, err := kindOf(f.Type)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", name, tag, err)
		}
		c := &column{name: tag, field: i, kind: kind}
		switch cs.Type {
		case ovsdb.TypeMap:
			c.diff = diffMap
			if kind != kStringMap {
				return nil, fmt.Errorf("table %s column %s: a map in the schema, %s in the model", name, tag, f.Type)
			}
		case ovsdb.TypeSet:
			// ovsdb-server sends a set of at most one whole (its new
			// value, ["set", []] when emptied); only larger sets come as
			// a difference.
			if max := cs.TypeObj.Max(); max > 1 || max == ovsdb.Unlimited {
				c.diff = diffToggle
				if kind != kStrings {
					return nil, fmt.Errorf("table %s column %s: a set in the schema, %s in the model", name, tag, f.Type)
				}
			} else if kind != kOptString && kind != kOptInt && kind != kOptBool {
				return nil, fmt.Errorf("table %s column %s: an optional value in the schema, %s in the model", name, tag, f.Type)
			}
		default:
			if kind != kString && kind != kInt && kind != kBool {
				return nil, fmt.Errorf("table %s column %s: an atom in the schema, %s in the model", name, tag, f.Type)
			}
		}
		t.cols[tag] = c
		t.Columns = append(t.Columns, tag)
	}
	if t.uuid < 0 {
		return nil, fmt.Errorf("table %s: model %T has no _uuid field", name, m)
	}
	slices.Sort(t.Columns)
	return t, nil
}

func kindOf(t reflect.Type) (fieldKind, error) {
	switch t.Kind() {
	case reflect.String:
		return kString, nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		return kInt, nil
	case reflect.Bool:
		return kBool, nil
	case reflect.Pointer:
		switch t.Elem().Kind() {
		case reflect.String:
			return kOptString, nil
		case reflect.Int, reflect.Int64, reflect.Int32:
			return kOptInt, nil
		case reflect.Bool:
			return kOptBool, nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return kStrings, nil
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return kStringMap, nil
		}
	}
	return 0, fmt.Errorf("unsupported field type %s", t)
}

// Row is a row object of an update: column → value, each value still in
// OVSDB's JSON notation (decoded by the table's codec).
type Row map[string]json.RawMessage

// Insert decodes a whole row ("initial" or "insert"; columns left out
// have their default, the zero value).
func (t *Table) Insert(uuid string, row Row) (model.Model, error) {
	v := reflect.New(t.typ)
	e := v.Elem()
	e.Field(t.uuid).SetString(uuid)
	for name, val := range row {
		c := t.cols[name]
		if c == nil {
			continue // not monitored by this model
		}
		if err := c.set(e.Field(c.field), val); err != nil {
			return nil, fmt.Errorf("%s row %s column %s: %w", t.Name, uuid, name, err)
		}
	}
	return v.Interface().(model.Model), nil
}

// Modify returns a copy of old with an update2 "modify" diff applied.
func (t *Table) Modify(old model.Model, row Row) (model.Model, error) {
	ov := reflect.ValueOf(old)
	if ov.Type() != reflect.PointerTo(t.typ) || ov.IsNil() {
		return nil, fmt.Errorf("%s: modify of a %T", t.Name, old)
	}
	v := reflect.New(t.typ)
	e := v.Elem()
	e.Set(ov.Elem()) // shallow: set and map columns are rebuilt below, never changed in place
	for name, val := range row {
		c := t.cols[name]
		if c == nil {
			continue
		}
		var err error
		switch c.diff {
		case diffReplace:
			err = c.set(e.Field(c.field), val)
		case diffToggle:
			err = c.toggle(e.Field(c.field), val)
		case diffMap:
			err = c.mapDiff(e.Field(c.field), val)
		}
		if err != nil {
			return nil, fmt.Errorf("%s row %s column %s: %w", t.Name, e.Field(t.uuid).String(), name, err)
		}
	}
	return v.Interface().(model.Model), nil
}

// set stores a whole value.
func (c *column) set(f reflect.Value, raw json.RawMessage) error {
	switch c.kind {
	case kString:
		s, err := atomString(raw)
		if err != nil {
			return err
		}
		f.SetString(s)
	case kInt:
		n, err := atomInt(raw)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case kBool:
		b, err := atomBool(raw)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case kOptString, kOptInt, kOptBool:
		elems, err := setElems(raw)
		if err != nil {
			return err
		}
		switch len(elems) {
		case 0:
			f.SetZero()
		case 1:
			return c.setOpt(f, elems[0])
		default:
			return fmt.Errorf("%d values for a column of at most one", len(elems))
		}
	case kStrings:
		elems, err := setElems(raw)
		if err != nil {
			return err
		}
		if len(elems) == 0 {
			f.SetZero()
			return nil
		}
		out := make([]string, len(elems))
		for i, el := range elems {
			if out[i], err = atomString(el); err != nil {
				return err
			}
		}
		f.Set(reflect.ValueOf(out).Convert(f.Type()))
	case kStringMap:
		pairs, err := mapPairs(raw)
		if err != nil {
			return err
		}
		out := make(map[string]string, len(pairs))
		for _, p := range pairs {
			out[p[0]] = p[1]
		}
		f.Set(reflect.ValueOf(out).Convert(f.Type()))
	}
	return nil
}

func (c *column) setOpt(f reflect.Value, el json.RawMessage) error {
	p := reflect.New(f.Type().Elem())
	switch c.kind {
	case kOptString:
		s, err := atomString(el)
		if err != nil {
			return err
		}
		p.Elem().SetString(s)
	case kOptInt:
		n, err := atomInt(el)
		if err != nil {
			return err
		}
		p.Elem().SetInt(n)
	case kOptBool:
		b, err := atomBool(el)
		if err != nil {
			return err
		}
		p.Elem().SetBool(b)
	}
	f.Set(p)
	return nil
}

// toggle applies a set diff: each element present is removed, each absent
// one added.
func (c *column) toggle(f reflect.Value, raw json.RawMessage) error {
	elems, err := setElems(raw)
	if err != nil {
		return err
	}
	cur := f.Interface().([]string)
	out := slices.Clone(cur)
	for _, el := range elems {
		s, err := atomString(el)
		if err != nil {
			return err
		}
		if i := slices.Index(out, s); i >= 0 {
			out = slices.Delete(out, i, i+1)
		} else {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		f.SetZero()
	} else {
		f.Set(reflect.ValueOf(out))
	}
	return nil
}

// mapDiff applies a map diff: a new key is added; a key with another value
// takes it; a key with the same value is removed.
func (c *column) mapDiff(f reflect.Value, raw json.RawMessage) error {
	pairs, err := mapPairs(raw)
	if err != nil {
		return err
	}
	cur := f.Interface().(map[string]string)
	out := make(map[string]string, len(cur)+len(pairs))
	for k, v := range cur {
		out[k] = v
	}
	for _, p := range pairs {
		if v, ok := out[p[0]]; ok && v == p[1] {
			delete(out, p[0])
		} else {
			out[p[0]] = p[1]
		}
	}
	f.Set(reflect.ValueOf(out))
	return nil
}

// atomString reads a string atom, or a UUID atom ["uuid", "…"] or
// ["named-uuid", "…"] as its string.
func atomString(raw json.RawMessage) (string, error) {
	// Fast paths for what ovsdb-server sends (compact JSON): a string
	// without escapes, and ["uuid","…"].
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	if inner, ok := bytes.CutPrefix(raw, []byte(`["uuid",`)); ok {
		if inner, ok := bytes.CutSuffix(inner, []byte("]")); ok {
			if s, ok := plainString(inner); ok {
				return s, nil
			}
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var pair [2]string
		if err := json.Unmarshal(raw, &pair); err != nil {
			return "", fmt.Errorf("want a string or a UUID: %w", err)
		}
		if pair[0] != "uuid" && pair[0] != "named-uuid" {
			return "", fmt.Errorf("want a UUID, got [%q, …]", pair[0])
		}
		return pair[1], nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("want a string: %w", err)
	}
	return s, nil
}

// plainString returns a JSON string's text when it has no escapes (and is
// valid UTF-8, which is all json.Unmarshal would check beyond that).
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, b := range in {
		if b == '\\' || b == '"' || b < 0x20 || b >= 0x80 {
			return "", false
		}
	}
	return string(in), true
}

func atomInt(raw json.RawMessage) (int64, error) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer: %w", err)
	}
	return n, nil
}

func atomBool(raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want a boolean, got %.40s", raw)
}

// setElems returns a set's elements: ["set", [a, …]] or a single atom.
func setElems(raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var pair []json.RawMessage
		if err := json.Unmarshal(raw, &pair); err != nil {
			return nil, fmt.Errorf("want a set: %w", err)
		}
		if len(pair) == 2 && string(bytes.TrimSpace(pair[0])) == `"set"` {
			var elems []json.RawMessage
			if err := json.Unmarshal(pair[1], &elems); err != nil {
				return nil, fmt.Errorf("want a set's elements: %w", err)
			}
			return elems, nil
		}
		// Otherwise a UUID atom: one element.
	}
	return []json.RawMessage{raw}, nil
}

// mapPairs returns a map's pairs: ["map", [[k, v], …]], with string (or
// UUID) keys and values.
func mapPairs(raw json.RawMessage) ([][2]string, error) {
	var m []json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 2 || string(bytes.TrimSpace(m[0])) != `"map"` {
		return nil, fmt.Errorf("want [\"map\", […]], got %.60s", raw)
	}
	var pairs [][2]json.RawMessage
	if err := json.Unmarshal(m[1], &pairs); err != nil {
		return nil, fmt.Errorf("want a map's pairs: %w", err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		k, err := atomString(p[0])
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		v, err := atomString(p[1])
		if err != nil {
			return nil, fmt.Errorf("map value: %w", err)
		}
		out[i] = [2]string{k, v}
	}
	return out, nil
}

// RowUpdate2 is one row's entry in an update2/update3 notification.
type RowUpdate2 struct {
	Initial Row             `json:"initial"`
	Insert  Row             `json:"insert"`
	Modify  Row             `json:"modify"`
	Delete  json.RawMessage `json:"delete"`
}

// TableUpdates2 is table → row UUID → update.
type TableUpdates2 map[string]map[string]RowUpdate2

// ParseUpdate2 returns the monitor id (raw JSON) and the table updates of
// an update2 ([id, updates]) or update3 ([id, last-txn-id, updates])
// notification's params.
func ParseUpdate2(method string, p []json.RawMessage) (json.RawMessage, TableUpdates2, error) {
	want := 2
	if method == "update3" {
		want = 3
	}
	if len(p) != want {
		return nil, nil, fmt.Errorf("%s: %d params, want %d", method, len(p), want)
	}
	var tu TableUpdates2
	if err := json.Unmarshal(p[want-1], &tu); err != nil {
		return nil, nil, fmt.Errorf("%s updates: %w", method, err)
	}
	return p[0], tu, nil
}
