package main

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/sbsync"
)

// libFloor is what libovsdb itself spends on one Port_Binding change before
// any vtepgw code runs, measured in this process with testing.Benchmark:
// decoding the update3 notification as its JSON-RPC codec does, and
// applying the row to a cache built with vtepgw's own client model and
// indexes (clone, index upkeep, event). The switch side pays the same
// again for the echo of the Ucast_Macs_Remote row vtepgw writes.
type libFloor struct {
	Decode time.Duration
	Cache  map[int]time.Duration // rows in the table → per change
}

// readSchema reads an .ovsschema file.
func readSchema(path string) (ovsdb.DatabaseSchema, error) {
	var schema ovsdb.DatabaseSchema
	data, err := os.ReadFile(path)
	if err != nil {
		return schema, err
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		return schema, fmt.Errorf("%s: %w", path, err)
	}
	return schema, nil
}

func measureLibFloor(schemaPath string, sizes []int) (*libFloor, error) {
	schema, err := readSchema(schemaPath)
	if err != nil {
		return nil, err
	}
	f := &libFloor{Cache: map[int]time.Duration{}}
	msg := fmt.Appendf(nil, `{"id":null,"method":"update3","params":[["monid","OVN_Southbound"],"9a7d2b4c-0000-0000-0000-000000000001",{"Port_Binding":{%q:{"modify":{"chassis":["uuid",%q],"up":true}}}}]}`,
		"5f0c1f8e-0000-4000-8000-000000000001", "7c6f2e1a-0000-4000-8000-000000000002")
	var failed error
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			var env struct {
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
				ID     any             `json:"id"`
			}
			var params []json.RawMessage
			var tu ovsdb.TableUpdates2
			if err := json.Unmarshal(msg, &env); err != nil {
				failed = err
				return
			}
			if err := json.Unmarshal(env.Params, &params); err != nil {
				failed = err
				return
			}
			if err := json.Unmarshal(params[2], &tu); err != nil {
				failed = err
				return
			}
		}
	})
	if failed != nil {
		return nil, failed
	}
	f.Decode = time.Duration(r.NsPerOp())
	for _, rows := range sizes {
		d, err := cacheUpdateCost(schema, rows)
		if err != nil {
			return nil, err
		}
		f.Cache[rows] = d
	}
	return f, nil
}

func cacheUpdateCost(schema ovsdb.DatabaseSchema, rows int) (time.Duration, error) {
	cm, err := sbsync.ClientModel()
	if err != nil {
		return 0, err
	}
	change, stop, err := pbCache(schema, cm, rows)
	if err != nil {
		return 0, err
	}
	defer stop()
	var failed error
	r := testing.Benchmark(func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := change(i); err != nil {
				failed = err
				return
			}
			i++
		}
	})
	if failed != nil {
		return 0, failed
	}
	return time.Duration(r.NsPerOp()), nil
}

// pbCache builds a libovsdb table cache for schema and model cm holding
// rows Port_Bindings of one datapath, and returns the function that applies
// change i (bind or unbind row i%rows, as a hypervisor's binding does) and
// the one that stops the cache.
func pbCache(schema ovsdb.DatabaseSchema, cm model.ClientDBModel, rows int) (func(i int) error, func(), error) {
	dbm, errs := model.NewDatabaseModel(schema, cm)
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("database model: %v", errs)
	}
	tc, err := cache.NewTableCache(dbm, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	stop := make(chan struct{})
	go tc.Run(stop) // delivers the events, as the client does
	dp := ovsdb.UUID{GoUUID: "d0000000-0000-4000-8000-000000000000"}
	uuid := func(i int) string { return fmt.Sprintf("a0000000-0000-4000-8000-%012d", i) }
	ins := ovsdb.TableUpdates2{"Port_Binding": {}}
	for i := range rows {
		row := ovsdb.Row{
			"logical_port": fmt.Sprintf("lp%d", i), "datapath": dp, "tunnel_key": i + 1, "type": "",
			"mac":     ovsdb.OvsSet{GoSet: []any{fmt.Sprintf("00:00:00:00:%02x:%02x", i>>8&255, i&255)}},
			"options": ovsdb.OvsMap{GoMap: map[any]any{}},
		}
		ins["Port_Binding"][uuid(i)] = &ovsdb.RowUpdate2{Insert: &row}
	}
	if err := tc.Populate2(ins); err != nil {
		close(stop)
		return nil, nil, err
	}
	chassis := ovsdb.OvsSet{GoSet: []any{ovsdb.UUID{GoUUID: "c0000000-0000-4000-8000-000000000001"}}}
	change := func(i int) error {
		bind := i/rows%2 == 0
		row := ovsdb.Row{"chassis": ovsdb.OvsSet{}, "up": ovsdb.OvsSet{GoSet: []any{bind}}}
		if bind {
			row["chassis"] = chassis
		}
		return tc.Populate2(ovsdb.TableUpdates2{"Port_Binding": {uuid(i % rows): &ovsdb.RowUpdate2{Modify: &row}}})
	}
	return change, func() { close(stop) }, nil
}
