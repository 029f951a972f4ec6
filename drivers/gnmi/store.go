package gnmi

import (
	"slices"
	"strings"
)

// store is the observed device state: rows as the device streamed (or the
// session wrote) them, and the facts derived from each row, indexed.
// It is not safe for concurrent use; the session guards it.
type store struct {
	ad    Adapter
	cfg   Config
	rows  map[RowID]Row
	facts map[RowID][]Fact
	// idx: (kind, VLAN, key) → source row → value.
	idx map[fkey]map[RowID]string
	// keys: (kind, VLAN) → key → number of facts.
	keys map[kv]map[string]int
}

type fkey struct {
	kind FactKind
	vlan int
	key  string
}

type kv struct {
	kind FactKind
	vlan int
}

func newStore(ad Adapter, cfg Config) *store {
	return &store{ad: ad, cfg: cfg, rows: map[RowID]Row{}, facts: map[RowID][]Fact{},
		idx: map[fkey]map[RowID]string{}, keys: map[kv]map[string]int{}}
}

// setRow replaces a row (nil deletes it) and returns the facts that went
// away and those that appeared.
func (s *store) setRow(id RowID, r Row) (gone, came []Fact) {
	old := s.facts[id]
	var nf []Fact
	if len(r) == 0 {
		delete(s.rows, id)
		delete(s.facts, id)
	} else {
		s.rows[id] = r
		nf = s.ad.Facts(id, r, s.cfg)
		if len(nf) > 0 {
			s.facts[id] = nf
		} else {
			delete(s.facts, id)
		}
	}
	for _, f := range old {
		if !slices.Contains(nf, f) {
			s.unindex(f, id)
			gone = append(gone, f)
		}
	}
	for _, f := range nf {
		if !slices.Contains(old, f) {
			s.index(f, id)
			came = append(came, f)
		}
	}
	return gone, came
}

func (s *store) index(f Fact, id RowID) {
	k := fkey{f.Kind, f.VLAN, f.Key}
	m := s.idx[k]
	if m == nil {
		m = map[RowID]string{}
		s.idx[k] = m
	}
	m[id] = f.Value
	c := s.keys[kv{f.Kind, f.VLAN}]
	if c == nil {
		c = map[string]int{}
		s.keys[kv{f.Kind, f.VLAN}] = c
	}
	c[f.Key]++
}

func (s *store) unindex(f Fact, id RowID) {
	k := fkey{f.Kind, f.VLAN, f.Key}
	if m := s.idx[k]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(s.idx, k)
		}
	}
	if c := s.keys[kv{f.Kind, f.VLAN}]; c != nil {
		if c[f.Key]--; c[f.Key] <= 0 {
			delete(c, f.Key)
		}
		if len(c) == 0 {
			delete(s.keys, kv{f.Kind, f.VLAN})
		}
	}
}

// setField sets (ok) or deletes one field of a row.
func (s *store) setField(id RowID, field, val string, ok bool) (gone, came []Fact) {
	old := s.rows[id]
	if !ok && old == nil {
		return nil, nil
	}
	if ok && old != nil && old[field] == val {
		if _, had := old[field]; had {
			return nil, nil
		}
	}
	r := make(Row, len(old)+1)
	for k, v := range old {
		r[k] = v
	}
	if ok {
		r[field] = val
	} else {
		for k := range r {
			if k == field || strings.HasPrefix(k, field+"/") {
				delete(r, k)
			}
		}
	}
	return s.setRow(id, r)
}

// deleteTable removes every row of a table.
func (s *store) deleteTable(table string) (gone, came []Fact) {
	for id := range s.rows {
		if id.Table == table {
			g, _ := s.setRow(id, nil)
			gone = append(gone, g...)
		}
	}
	return gone, nil
}

// lookup returns the facts with exactly (kind, VLAN, key).
func (s *store) lookup(kind FactKind, vlan int, key string) []Sourced {
	m := s.idx[fkey{kind, vlan, key}]
	if len(m) == 0 {
		return nil
	}
	out := make([]Sourced, 0, len(m))
	for id, v := range m {
		out = append(out, Sourced{Fact: Fact{Kind: kind, VLAN: vlan, Key: key, Value: v}, Row: id})
	}
	slices.SortFunc(out, func(a, b Sourced) int { return strings.Compare(a.Row.String(), b.Row.String()) })
	return out
}

// list returns every fact of a kind in a VLAN, sorted by key then row.
func (s *store) list(kind FactKind, vlan int) []Sourced {
	var out []Sourced
	for _, k := range sortedKeys(s.keys[kv{kind, vlan}]) {
		out = append(out, s.lookup(kind, vlan, k)...)
	}
	return out
}

// vlans returns the VLANs that have facts of a kind, sorted.
func (s *store) vlans(kind FactKind) []int {
	var out []int
	for k := range s.keys {
		if k.kind == kind {
			out = append(out, k.vlan)
		}
	}
	slices.Sort(out)
	return out
}
