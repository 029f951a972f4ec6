package sbsync

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
)

// The benchmarks below measure what libovsdb itself spends on one
// Port_Binding change, before any vtepgw code runs: decoding the update
// notification and applying it to the cache (indexes, clone, event). They
// are the floor under "CPU per one-port change" in docs/BENCHMARKS.md.
//
//	go test -run - -bench Libovsdb -benchmem ./sbsync/

const debianSBSchema = "/usr/share/ovn/ovn-sb.ovsschema"

func loadSBSchema(b *testing.B) ovsdb.DatabaseSchema {
	data, err := os.ReadFile(debianSBSchema)
	if err != nil {
		b.Skipf("needs Debian's SB schema: %v", err)
	}
	var s ovsdb.DatabaseSchema
	if err := json.Unmarshal(data, &s); err != nil {
		b.Fatal(err)
	}
	return s
}

// pbUpdate is the update3 notification ovsdb-server sends for one
// Port_Binding bound to a chassis (the benchmark's churn change).
func pbUpdate(uuid, chassis string, up bool) []byte {
	return fmt.Appendf(nil, `{"id":null,"method":"update3","params":[["monid","OVN_Southbound"],"9a7d2b4c-0000-0000-0000-000000000001",{"Port_Binding":{%q:{"modify":{"chassis":["uuid",%q],"up":%t}}}}]}`, uuid, chassis, up)
}

func BenchmarkLibovsdbDecodeUpdate(b *testing.B) {
	msg := pbUpdate("5f0c1f8e-0000-4000-8000-000000000001", "7c6f2e1a-0000-4000-8000-000000000002", true)
	b.ReportAllocs()
	for b.Loop() {
		// As libovsdb's rpc2 codec does: the envelope with raw params,
		// then the params into the handler's argument types.
		var env struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			ID     any             `json:"id"`
		}
		if err := json.Unmarshal(msg, &env); err != nil {
			b.Fatal(err)
		}
		var params []json.RawMessage
		if err := json.Unmarshal(env.Params, &params); err != nil {
			b.Fatal(err)
		}
		var tu ovsdb.TableUpdates2
		if err := json.Unmarshal(params[2], &tu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLibovsdbCacheUpdate(b *testing.B) {
	for _, c := range []struct {
		rows          int
		clientIndexes bool
	}{{1000, true}, {50000, true}, {50000, false}} {
		rows := c.rows
		b.Run(fmt.Sprintf("rows=%d/client-indexes=%t", rows, c.clientIndexes), func(b *testing.B) {
			schema := loadSBSchema(b)
			cm, err := sbModel()
			if err != nil {
				b.Fatal(err)
			}
			if !c.clientIndexes {
				cm.SetIndexes(map[string][]model.ClientIndex{})
			}
			dbm, errs := model.NewDatabaseModel(schema, cm)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			tc, err := cache.NewTableCache(dbm, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go tc.Run(stop) // delivers the events, as the client does
			dp := "d0000000-0000-4000-8000-000000000000"
			ins := ovsdb.TableUpdates2{"Port_Binding": {}}
			for i := range rows {
				row := ovsdb.Row{
					"logical_port": fmt.Sprintf("lp%d", i),
					"datapath":     ovsdb.UUID{GoUUID: dp},
					"tunnel_key":   i + 1,
					"type":         "",
					"mac":          ovsdb.OvsSet{GoSet: []any{fmt.Sprintf("00:00:00:00:%02x:%02x 10.0.%d.%d", i>>8&255, i&255, i>>8&255, i&255)}},
					"options":      ovsdb.OvsMap{GoMap: map[any]any{}},
				}
				ins["Port_Binding"][fmt.Sprintf("a0000000-0000-4000-8000-%012d", i)] = &ovsdb.RowUpdate2{Insert: &row}
			}
			if err := tc.Populate2(ins); err != nil {
				b.Fatal(err)
			}
			chassis := []any{ovsdb.UUID{GoUUID: "c0000000-0000-4000-8000-000000000001"}}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				uuid := fmt.Sprintf("a0000000-0000-4000-8000-%012d", i%rows)
				var ch ovsdb.OvsSet
				if i/rows%2 == 0 {
					ch = ovsdb.OvsSet{GoSet: chassis}
				}
				row := ovsdb.Row{"chassis": ch, "up": ovsdb.OvsSet{GoSet: []any{i/rows%2 == 0}}}
				if err := tc.Populate2(ovsdb.TableUpdates2{"Port_Binding": {uuid: &ovsdb.RowUpdate2{Modify: &row}}}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
