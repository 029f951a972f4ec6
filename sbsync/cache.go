package sbsync

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbwire"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
)

// sbCache holds one connection's copy of the southbound tables vtepgw
// monitors, decoded into sbdb's model structs, and the lookups sbsync makes
// kept as maps (the schema's unique indexes and vtepgw's own). A new
// connection gets a new cache.
//
// Rows are never changed in place (an update stores a new row), so a row
// read from the cache stays valid; the lookups hand out clones anyway,
// because callers build their updates on the rows they read.
type sbCache struct {
	mu     sync.RWMutex
	tables map[string]*cacheTable
}

// cacheTable is one table's rows and indexes.
type cacheTable struct {
	c       *sbCache
	codec   *ovsdbwire.Table
	rows    map[string]model.Model
	indexes map[string]*rowIndex
}

// rowIndex maps a key computed from a row to the rows that have it (a
// row without the key, ok false, is not in the index). A unique index
// (a schema index the server enforces) keeps one UUID per key instead of a
// set: at 50k rows, a set per key was ~100k small maps for the garbage
// collector to walk.
type rowIndex struct {
	key  func(m model.Model) (key string, ok bool)
	one  map[string]string              // unique: key → UUID
	rows map[string]map[string]struct{} // otherwise: key → UUIDs
}

// uniqueIndexes are the schema indexes kept as key → UUID. Within one
// update two rows may hold a key for a moment (one gives it up as the
// other takes it); a row only removes the entry that still names it, so
// the end state is right in any order.
var uniqueIndexes = map[string]bool{idxPBName: true, idxPBDpKey: true, idxDPKey: true, idxChName: true, idxFDBMac: true}

// The lookups by index. Keys join their columns with sep.
const (
	idxPBName    = "logical_port"        // schema index
	idxPBDpKey   = "datapath,tunnel_key" // schema index
	idxPBLS      = "options:vtep-logical-switch"
	idxPBChassis = "chassis"
	idxPBType    = "type"
	idxDPKey     = "tunnel_key" // schema index
	idxChName    = "name"       // schema index
	idxEncap     = "type,ip"    // schema index
	idxFDBMac    = "mac,dp_key" // schema index
	idxFDBPort   = "dp_key,port_key"
	idxMGName    = "datapath,name"            // schema index
	idxIGMP      = "address,datapath,chassis" // schema index
	sep          = "\x00"
)

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// sbIndexes are the indexes of each table.
var sbIndexes = map[string]map[string]func(model.Model) (string, bool){
	"Port_Binding": {
		idxPBName: func(m model.Model) (string, bool) { return m.(*sbdb.PortBinding).LogicalPort, true },
		idxPBDpKey: func(m model.Model) (string, bool) {
			pb := m.(*sbdb.PortBinding)
			return dpKeyKey(pb.Datapath, pb.TunnelKey), true
		},
		idxPBLS: func(m model.Model) (string, bool) {
			if ls, ok := m.(*sbdb.PortBinding).Options[optLogSwitch]; ok {
				return ls, true
			}
			return "", false
		},
		idxPBChassis: func(m model.Model) (string, bool) {
			if ch := m.(*sbdb.PortBinding).Chassis; ch != nil {
				return *ch, true
			}
			return "", false
		},
		idxPBType: func(m model.Model) (string, bool) { return m.(*sbdb.PortBinding).Type, true },
	},
	"Datapath_Binding": {
		idxDPKey: func(m model.Model) (string, bool) { return strconv.Itoa(m.(*sbdb.DatapathBinding).TunnelKey), true },
	},
	"Chassis": {
		idxChName: func(m model.Model) (string, bool) { return m.(*sbdb.Chassis).Name, true },
	},
	"Encap": {
		idxEncap: func(m model.Model) (string, bool) { e := m.(*sbdb.Encap); return e.Type + sep + e.IP, true },
	},
	"FDB": {
		idxFDBMac:  func(m model.Model) (string, bool) { f := m.(*sbdb.FDB); return fdbMacKey(f.MAC, f.DpKey), true },
		idxFDBPort: func(m model.Model) (string, bool) { f := m.(*sbdb.FDB); return fdbPortKey(f.DpKey, f.PortKey), true },
	},
	"Multicast_Group": {
		idxMGName: func(m model.Model) (string, bool) {
			g := m.(*sbdb.MulticastGroup)
			return g.Datapath + sep + g.Name, true
		},
	},
	"IGMP_Group": {
		idxIGMP: func(m model.Model) (string, bool) {
			g := m.(*sbdb.IGMPGroup)
			return g.Address + sep + deref(g.Datapath) + sep + deref(g.Chassis), true
		},
	},
}

func dpKeyKey(dp string, key int) string  { return dp + sep + strconv.Itoa(key) }
func fdbMacKey(mac string, dp int) string { return mac + sep + strconv.Itoa(dp) }
func fdbPortKey(dp, port int) string      { return strconv.Itoa(dp) + sep + strconv.Itoa(port) }

// sbModels are the tables vtepgw monitors and their model types.
var sbModels = map[string]model.Model{
	"SB_Global":        &sbdb.SBGlobal{},
	"Chassis":          &sbdb.Chassis{},
	"Encap":            &sbdb.Encap{},
	"Datapath_Binding": &sbdb.DatapathBinding{},
	"Port_Binding":     &sbdb.PortBinding{},
	"FDB":              &sbdb.FDB{},
	"Multicast_Group":  &sbdb.MulticastGroup{},
	"IGMP_Group":       &sbdb.IGMPGroup{},
}

// newSBCache builds an empty cache for the server's schema.
func newSBCache(schema *ovsdb.DatabaseSchema) (*sbCache, error) {
	c := &sbCache{tables: map[string]*cacheTable{}}
	for name, m := range sbModels {
		codec, err := ovsdbwire.NewTable(name, m, schema.Table(name))
		if err != nil {
			return nil, fmt.Errorf("southbound model: %w", err)
		}
		t := &cacheTable{c: c, codec: codec, rows: map[string]model.Model{}, indexes: map[string]*rowIndex{}}
		for iname, keys := range sbIndexes[name] {
			ix := &rowIndex{key: keys}
			if uniqueIndexes[iname] {
				ix.one = map[string]string{}
			} else {
				ix.rows = map[string]map[string]struct{}{}
			}
			t.indexes[iname] = ix
		}
		c.tables[name] = t
	}
	return c, nil
}

// monitorRequests is the monitor_cond request: every model column of
// every table.
func (c *sbCache) monitorRequests() map[string]any {
	out := make(map[string]any, len(c.tables))
	for name, t := range c.tables {
		// One request object per table, with "select" spelled out (RFC
		// 7047 also allows an array of requests and defaults select to
		// everything; libovsdb's server, the demo's southbound, needs both
		// this way).
		out[name] = map[string]any{"columns": t.codec.Columns, "select": monitorAll}
	}
	return out
}

// monitorAll selects every kind of change.
var monitorAll = map[string]bool{"initial": true, "insert": true, "delete": true, "modify": true}

// rowChange is one row's change, for the event handler: old nil for an
// insert, cur nil for a delete.
type rowChange struct {
	table    string
	old, cur model.Model
}

// apply applies table updates and returns the changes, in no particular
// order. On an error the cache may hold part of the update; the caller
// drops the connection (the next one starts from a new cache).
func (c *sbCache) apply(tu ovsdbwire.TableUpdates2) ([]rowChange, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var changes []rowChange
	for table, rows := range tu {
		t := c.tables[table]
		if t == nil {
			continue
		}
		for uuid, ru := range rows {
			old := t.rows[uuid]
			var cur model.Model
			var err error
			switch {
			case ru.Initial != nil:
				cur, err = t.codec.Insert(uuid, ru.Initial)
			case ru.Insert != nil:
				cur, err = t.codec.Insert(uuid, ru.Insert)
			case ru.Modify != nil:
				if old == nil {
					return changes, fmt.Errorf("%s: modify of row %s, which the cache does not have", table, uuid)
				}
				cur, err = t.codec.Modify(old, ru.Modify)
			case ru.Delete != nil:
				if old == nil {
					continue
				}
			default:
				return changes, fmt.Errorf("%s row %s: an update with no initial, insert, modify or delete", table, uuid)
			}
			if err != nil {
				return changes, err
			}
			t.store(uuid, old, cur)
			changes = append(changes, rowChange{table: table, old: old, cur: cur})
		}
	}
	return changes, nil
}

// store replaces row uuid (old → cur; either may be nil) and its index
// entries.
func (t *cacheTable) store(uuid string, old, cur model.Model) {
	for _, ix := range t.indexes {
		var oldKey, newKey string
		var hadOld, hasNew bool
		if old != nil {
			oldKey, hadOld = ix.key(old)
		}
		if cur != nil {
			newKey, hasNew = ix.key(cur)
		}
		if hadOld && hasNew && oldKey == newKey {
			continue
		}
		if ix.one != nil {
			if hadOld && ix.one[oldKey] == uuid {
				delete(ix.one, oldKey)
			}
			if hasNew {
				ix.one[newKey] = uuid
			}
			continue
		}
		if hadOld {
			if set := ix.rows[oldKey]; set != nil {
				delete(set, uuid)
				if len(set) == 0 {
					delete(ix.rows, oldKey)
				}
			}
		}
		if hasNew {
			set := ix.rows[newKey]
			if set == nil {
				set = map[string]struct{}{}
				ix.rows[newKey] = set
			}
			set[uuid] = struct{}{}
		}
	}
	if cur == nil {
		delete(t.rows, uuid)
	} else {
		t.rows[uuid] = cur
	}
}

// table returns a table's view, or nil for a table vtepgw does not monitor.
func (c *sbCache) table(name string) *cacheTable { return c.tables[name] }

func clone(m model.Model) model.Model {
	if cl, ok := m.(model.CloneableModel); ok {
		return cl.CloneModel()
	}
	return m
}

// Row returns a copy of row uuid, or nil.
func (t *cacheTable) Row(uuid string) model.Model {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	if m := t.rows[uuid]; m != nil {
		return clone(m)
	}
	return nil
}

// RowShallow returns row uuid without copying it (or nil): read it only.
func (t *cacheTable) RowShallow(uuid string) model.Model {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	return t.rows[uuid]
}

// Rows returns copies of every row.
func (t *cacheTable) Rows() map[string]model.Model {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	out := make(map[string]model.Model, len(t.rows))
	for u, m := range t.rows {
		out[u] = clone(m)
	}
	return out
}

// RowsShallow returns every row without copying them: read them only.
func (t *cacheTable) RowsShallow() map[string]model.Model {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	out := make(map[string]model.Model, len(t.rows))
	for u, m := range t.rows {
		out[u] = m
	}
	return out
}

// Len is the number of rows.
func (t *cacheTable) Len() int {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	return len(t.rows)
}

// Lookup returns copies of the rows whose index key is key.
func (t *cacheTable) Lookup(index, key string) map[string]model.Model {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	out := map[string]model.Model{}
	t.index(index).each(key, func(u string) bool {
		out[u] = clone(t.rows[u])
		return true
	})
	return out
}

// LookupOne returns the UUID and a copy of a row whose index key is key
// (the indexes that use it are unique), or "" and nil.
func (t *cacheTable) LookupOne(index, key string) (uuid string, m model.Model) {
	t.c.mu.RLock()
	defer t.c.mu.RUnlock()
	t.index(index).each(key, func(u string) bool {
		uuid, m = u, clone(t.rows[u])
		return false
	})
	return uuid, m
}

// index returns one of the table's indexes; asking for one it does not
// have is a bug in sbsync.
func (t *cacheTable) index(name string) *rowIndex {
	ix := t.indexes[name]
	if ix == nil {
		panic(fmt.Sprintf("sbsync: table %s has no index %q", t.codec.Name, name))
	}
	return ix
}

// each calls fn with the UUID of every row whose key is key, until fn
// returns false.
func (ix *rowIndex) each(key string, fn func(uuid string) bool) {
	if ix.one != nil {
		if u, ok := ix.one[key]; ok {
			fn(u)
		}
		return
	}
	for u := range ix.rows[key] {
		if !fn(u) {
			return
		}
	}
}
