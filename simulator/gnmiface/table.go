package gnmiface

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
)

// A table is one kind of row in one schema: a path template down to the
// row (a list entry or a database key), the leaves under it, how the state
// renders into rows, and, for writable tables, how changed rows compile
// into device operations. Every schema is a list of tables (schema.go).
type table struct {
	name   string
	origin string
	// tmpl is the row path; a name or key value "$x" is the variable x.
	tmpl []tmplElem
	// fields are the leaves under a row, as relative paths ("config/vni").
	fields   []string
	writable bool
	// scope is the render unit: ScopeAll (one unit for the table),
	// ScopeVLAN (per VLAN), ScopeRemote or ScopeLearned (per VLAN and MAC).
	scope  Scope
	render func(st *State, u unit, emit func(vars map[string]string, fields map[string]*gnmipb.TypedValue))
	// compile turns the rows a Set removed and those it added or changed
	// into operations (removals first).
	compile func(st *State, removed, set []*row) ([]Op, error)
}

type tmplElem struct {
	name string
	keys map[string]string
}

// tmpl builds a template from a path string with "$var" placeholders.
func tmpl(s string) []tmplElem {
	p := gpath.MustParse(s)
	out := make([]tmplElem, len(p.Elem))
	for i, e := range p.Elem {
		out[i] = tmplElem{name: e.Name, keys: e.Key}
	}
	return out
}

// unit is one render unit of one table.
type unit struct {
	table int
	vlan  int
	mac   string
}

// row is one rendered or staged row.
type row struct {
	path   *gnmipb.Path // the row path (origin and elements)
	vars   map[string]string
	fields map[string]*gnmipb.TypedValue
	unit   unit
}

func (r *row) clone() *row {
	c := *r
	c.fields = maps.Clone(r.fields)
	return &c
}

func (r *row) str(field string) string { return valString(r.fields[field]) }

// rowPath builds the row path of t for vars.
func (t *table) rowPath(vars map[string]string) *gnmipb.Path {
	p := &gnmipb.Path{Origin: t.origin, Elem: make([]*gnmipb.PathElem, len(t.tmpl))}
	sub := func(s string) string {
		if strings.HasPrefix(s, "$") {
			return vars[s[1:]]
		}
		return s
	}
	for i, te := range t.tmpl {
		e := &gnmipb.PathElem{Name: sub(te.name)}
		if len(te.keys) > 0 {
			e.Key = make(map[string]string, len(te.keys))
			for k, v := range te.keys {
				e.Key[k] = sub(v)
			}
		}
		p.Elem[i] = e
	}
	return p
}

// localName strips a YANG module prefix ("arista-exp-eos-vxlan:arista-vxlan").
func localName(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// matchElem matches a concrete (or wildcarded) path element against a
// template element, adding variable constraints to vars. "*" and missing
// keys match anything.
func matchElem(te tmplElem, e *gnmipb.PathElem, vars map[string]string) bool {
	if strings.HasPrefix(te.name, "$") {
		if e.Name != "*" {
			vars[te.name[1:]] = e.Name
		}
	} else if e.Name != "*" && localName(e.Name) != localName(te.name) {
		return false
	}
	for k, v := range e.Key {
		tv, ok := te.keys[k]
		if !ok {
			return false
		}
		if v == "*" {
			continue
		}
		if strings.HasPrefix(tv, "$") {
			vars[tv[1:]] = v
		} else if tv != v {
			return false
		}
	}
	return true
}

// matchRow reports whether the row's variables satisfy the constraints.
func matchRow(r *row, cons map[string]string) bool {
	for k, v := range cons {
		if r.vars[k] != v {
			return false
		}
	}
	return true
}

// edit is a Set in progress: staged copies of the tables it touches.
type edit struct {
	tables []*table
	cur    []map[string]*row // rendered rows, per table (read only)
	staged map[int]map[string]*row
	// listKeys maps a list name to its key names, for JSON values.
	listKeys map[string][]string
}

func newEdit(tables []*table, cur []map[string]*row, listKeys map[string][]string) *edit {
	return &edit{tables: tables, cur: cur, staged: map[int]map[string]*row{}, listKeys: listKeys}
}

func (ed *edit) stage(ti int) map[string]*row {
	if m, ok := ed.staged[ti]; ok {
		return m
	}
	m := maps.Clone(ed.cur[ti])
	if m == nil {
		m = map[string]*row{}
	}
	ed.staged[ti] = m
	return m
}

func (ed *edit) rows(ti int) map[string]*row {
	if m, ok := ed.staged[ti]; ok {
		return m
	}
	return ed.cur[ti]
}

// delete removes everything at or under p (p carries the origin).
func (ed *edit) delete(p *gnmipb.Path) error {
	hitRO, hitRW := false, false
	for ti, t := range ed.tables {
		if t.origin != p.Origin {
			continue
		}
		cons := map[string]string{}
		n := min(len(p.Elem), len(t.tmpl))
		ok := true
		for i := 0; i < n && ok; i++ {
			ok = matchElem(t.tmpl[i], p.Elem[i], cons)
		}
		if !ok {
			continue
		}
		field := ""
		if len(p.Elem) > len(t.tmpl) {
			var parts []string
			for _, e := range p.Elem[len(t.tmpl):] {
				if len(e.Key) > 0 {
					ok = false
					break
				}
				parts = append(parts, e.Name)
			}
			if !ok {
				continue
			}
			field = strings.Join(parts, "/")
			if !slices.ContainsFunc(t.fields, func(f string) bool { return f == field || strings.HasPrefix(f, field+"/") }) {
				continue
			}
		}
		var hits []string
		if len(p.Elem) >= len(t.tmpl) && len(cons) == t.nvars() {
			// One concrete row: look it up instead of scanning.
			k := gpath.String(t.rowPath(cons))
			if _, ok := ed.rows(ti)[k]; ok {
				hits = append(hits, k)
			}
		} else {
			for k, r := range ed.rows(ti) {
				if matchRow(r, cons) {
					hits = append(hits, k)
				}
			}
		}
		if len(hits) == 0 {
			continue
		}
		if !t.writable {
			hitRO = true
			continue
		}
		hitRW = true
		m := ed.stage(ti)
		for _, k := range hits {
			if field == "" {
				delete(m, k)
				continue
			}
			r := m[k].clone()
			for f := range r.fields {
				if f == field || strings.HasPrefix(f, field+"/") {
					delete(r.fields, f)
				}
			}
			if len(r.fields) == 0 {
				delete(m, k)
			} else {
				m[k] = r
			}
		}
	}
	if hitRO && !hitRW {
		return fmt.Errorf("%s is read-only: %w", gpath.String(p), errReadOnly)
	}
	return nil
}

// update sets one leaf (the path carries the origin).
func (ed *edit) update(p *gnmipb.Path, v *gnmipb.TypedValue) error {
	for ti, t := range ed.tables {
		if t.origin != p.Origin || len(p.Elem) <= len(t.tmpl) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for i, te := range t.tmpl {
			e := p.Elem[i]
			if e.Name == "*" || len(e.Key) != len(te.keys) {
				ok = false
				break
			}
			for _, kv := range e.Key {
				if kv == "*" {
					ok = false
				}
			}
			if !ok || !matchElem(te, e, vars) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		var parts []string
		for _, e := range p.Elem[len(t.tmpl):] {
			if len(e.Key) > 0 {
				ok = false
			}
			parts = append(parts, localName(e.Name))
		}
		field := strings.Join(parts, "/")
		if !ok {
			continue
		}
		if last := p.Elem[len(t.tmpl)-1]; !slices.Contains(t.fields, field) && len(parts) == 1 && last.Key[field] != "" {
			// The key leaf an OpenConfig list entry repeats (leafref).
			if valString(v) != last.Key[field] {
				return fmt.Errorf("%s: %s differs from the key %q: %w", gpath.String(p), field, last.Key[field], ErrInvalid)
			}
			return nil
		}
		if !slices.Contains(t.fields, field) {
			continue
		}
		if !t.writable {
			return fmt.Errorf("%s is read-only: %w", gpath.String(p), errReadOnly)
		}
		rp := t.rowPath(vars)
		key := gpath.String(rp)
		m := ed.stage(ti)
		r, ok := m[key]
		if ok {
			r = r.clone()
		} else {
			r = &row{path: rp, vars: vars, fields: map[string]*gnmipb.TypedValue{}}
		}
		r.fields[field] = v
		m[key] = r
		return nil
	}
	return fmt.Errorf("%s: %w", gpath.String(p), errUnknownPath)
}

// compile diffs the staged tables against the rendered ones.
func (ed *edit) compile(st *State) ([]Op, error) {
	var ops []Op
	for _, ti := range slices.Sorted(maps.Keys(ed.staged)) {
		t, cur, m := ed.tables[ti], ed.cur[ti], ed.staged[ti]
		var removed, set []*row
		for _, k := range slices.Sorted(maps.Keys(cur)) {
			if _, ok := m[k]; !ok {
				removed = append(removed, cur[k])
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			r := m[k]
			if old, ok := cur[k]; ok && fieldsEqual(old.fields, r.fields) {
				continue
			}
			set = append(set, r)
		}
		if len(removed) == 0 && len(set) == 0 {
			continue
		}
		o, err := t.compile(st, removed, set)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

func fieldsEqual(a, b map[string]*gnmipb.TypedValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if valString(v) != valString(b[k]) {
			return false
		}
	}
	return true
}

// valString renders a scalar value as text (leaf-lists comma-separated).
func valString(v *gnmipb.TypedValue) string {
	switch x := v.GetValue().(type) {
	case *gnmipb.TypedValue_StringVal:
		return x.StringVal
	case *gnmipb.TypedValue_UintVal:
		return strconv.FormatUint(x.UintVal, 10)
	case *gnmipb.TypedValue_IntVal:
		return strconv.FormatInt(x.IntVal, 10)
	case *gnmipb.TypedValue_BoolVal:
		return strconv.FormatBool(x.BoolVal)
	case *gnmipb.TypedValue_AsciiVal:
		return x.AsciiVal
	case *gnmipb.TypedValue_DoubleVal:
		return strconv.FormatFloat(x.DoubleVal, 'g', -1, 64)
	case *gnmipb.TypedValue_LeaflistVal:
		var parts []string
		for _, e := range x.LeaflistVal.GetElement() {
			parts = append(parts, valString(e))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func strVal(s string) *gnmipb.TypedValue {
	return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_StringVal{StringVal: s}}
}

func uintVal(u int) *gnmipb.TypedValue {
	return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_UintVal{UintVal: uint64(u)}}
}

func boolVal(b bool) *gnmipb.TypedValue {
	return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_BoolVal{BoolVal: b}}
}

func uintList(us []int) *gnmipb.TypedValue {
	l := &gnmipb.ScalarArray{}
	for _, u := range us {
		l.Element = append(l.Element, uintVal(u))
	}
	return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_LeaflistVal{LeaflistVal: l}}
}

// atoiField parses an integer field of a row.
func atoiField(r *row, field string, lo, hi int) (int, error) {
	s := r.str(field)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %s=%q: want %d..%d: %w", gpath.String(r.path), field, s, lo, hi, ErrInvalid)
	}
	return n, nil
}

// nvars counts the template's variables.
func (t *table) nvars() int {
	n := 0
	for _, te := range t.tmpl {
		if strings.HasPrefix(te.name, "$") {
			n++
		}
		for _, v := range te.keys {
			if strings.HasPrefix(v, "$") {
				n++
			}
		}
	}
	return n
}
