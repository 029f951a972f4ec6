package gnmiface

import (
	"maps"
	"slices"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
)

// renderer keeps the rows rendered from the device state, per table and
// per render unit, and turns device changes into leaf updates and deletes.
type renderer struct {
	tables []*table
	rows   []map[string]*row         // per table: row path string → row
	units  map[unit]map[string]bool  // unit → its row path strings
	byVLAN map[int]map[unit]struct{} // VLAN → its per-MAC units, for VLAN-wide re-renders
}

func newRenderer(tables []*table) *renderer {
	r := &renderer{tables: tables, rows: make([]map[string]*row, len(tables)),
		units: map[unit]map[string]bool{}, byVLAN: map[int]map[unit]struct{}{}}
	for i := range r.rows {
		r.rows[i] = map[string]*row{}
	}
	return r
}

// leaf is one rendered value.
type leaf struct {
	origin string
	path   []*gnmipb.PathElem
	val    *gnmipb.TypedValue
}

// affected lists the render units a batch of changes touches.
func (r *renderer) affected(st *State, chs []Change) map[unit]struct{} {
	out := map[unit]struct{}{}
	all, global := false, false
	for _, ch := range chs {
		switch ch.Scope {
		case ScopeAll:
			all = true
		case ScopeVLAN, ScopeRemote:
			global = true
		}
	}
	for ti, t := range r.tables {
		switch {
		case t.scope == ScopeAll && (all || global):
			out[unit{table: ti}] = struct{}{}
		case all:
			for u := range r.units {
				if u.table == ti {
					out[u] = struct{}{}
				}
			}
			for id, v := range st.VLANs {
				switch t.scope {
				case ScopeVLAN:
					out[unit{table: ti, vlan: id}] = struct{}{}
				case ScopeRemote:
					for mac := range v.Remote {
						out[unit{table: ti, vlan: id, mac: mac}] = struct{}{}
					}
				case ScopeLearned:
					for mac := range v.Learned {
						out[unit{table: ti, vlan: id, mac: mac}] = struct{}{}
					}
				}
			}
		}
	}
	if all {
		return out
	}
	for _, ch := range chs {
		for ti, t := range r.tables {
			switch {
			case ch.Scope == ScopeVLAN && t.scope == ScopeVLAN:
				out[unit{table: ti, vlan: ch.VLAN}] = struct{}{}
			case ch.Scope == ScopeVLAN && t.scope == ScopeRemote:
				// Remote rows carry the VLAN's VNI.
				for u := range r.byVLAN[ch.VLAN] {
					if u.table == ti {
						out[u] = struct{}{}
					}
				}
				if v, ok := st.VLANs[ch.VLAN]; ok {
					for mac := range v.Remote {
						out[unit{table: ti, vlan: ch.VLAN, mac: mac}] = struct{}{}
					}
				}
			case ch.Scope == t.scope && (ch.Scope == ScopeRemote || ch.Scope == ScopeLearned):
				out[unit{table: ti, vlan: ch.VLAN, mac: ch.MAC}] = struct{}{}
			}
		}
	}
	return out
}

// apply re-renders the units the changes touch and returns the leaves to
// update and the leaf paths to delete.
func (r *renderer) apply(st *State, chs []Change) (upd []leaf, del []leaf) {
	units := r.affected(st, chs)
	oldL := map[string]leaf{}
	newL := map[string]leaf{}
	newRows := make(map[unit][]*row, len(units))
	for u := range units {
		t := r.tables[u.table]
		for k := range r.units[u] {
			row := r.rows[u.table][k]
			for f, v := range row.fields {
				oldL[leafKey(k, f)] = leaf{origin: row.path.Origin, path: leafPath(row.path, f), val: v}
			}
		}
		t.render(st, u, func(vars map[string]string, fields map[string]*gnmipb.TypedValue) {
			rp := t.rowPath(vars)
			rw := &row{path: rp, vars: vars, fields: fields, unit: u}
			newRows[u] = append(newRows[u], rw)
			k := gpath.String(rp)
			for f, v := range fields {
				newL[leafKey(k, f)] = leaf{origin: rp.Origin, path: leafPath(rp, f), val: v}
			}
		})
	}
	for _, k := range slices.Sorted(maps.Keys(newL)) {
		n := newL[k]
		if o, ok := oldL[k]; ok && proto.Equal(o.val, n.val) {
			continue
		}
		upd = append(upd, n)
	}
	for _, k := range slices.Sorted(maps.Keys(oldL)) {
		if _, ok := newL[k]; !ok {
			del = append(del, oldL[k])
		}
	}
	// Bookkeeping: drop the old rows of the units, then add the new ones.
	for u := range units {
		for k := range r.units[u] {
			if rw, ok := r.rows[u.table][k]; ok && rw.unit == u {
				delete(r.rows[u.table], k)
			}
		}
		delete(r.units, u)
		if u.mac != "" {
			if m := r.byVLAN[u.vlan]; m != nil {
				delete(m, u)
				if len(m) == 0 {
					delete(r.byVLAN, u.vlan)
				}
			}
		}
	}
	for u, rows := range newRows {
		keys := make(map[string]bool, len(rows))
		for _, rw := range rows {
			k := gpath.String(rw.path)
			r.rows[u.table][k] = rw
			keys[k] = true
		}
		r.units[u] = keys
		if u.mac != "" {
			if r.byVLAN[u.vlan] == nil {
				r.byVLAN[u.vlan] = map[unit]struct{}{}
			}
			r.byVLAN[u.vlan][u] = struct{}{}
		}
	}
	return upd, del
}

func leafKey(rowKey, field string) string { return rowKey + "/" + field }

func leafPath(rp *gnmipb.Path, field string) []*gnmipb.PathElem {
	parts := strings.Split(field, "/")
	out := make([]*gnmipb.PathElem, 0, len(rp.Elem)+len(parts))
	out = append(out, rp.Elem...)
	out = append(out, gpath.Names(parts...)...)
	return out
}
