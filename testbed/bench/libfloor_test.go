package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/sbsync"
	"github.com/vtepgw/vtepgw/testbed"
)

// BenchmarkPortBindingCacheUpdate is libovsdb's cache update for one
// Port_Binding change at 50k rows with vtepgw's model, and what the indexes
// cost in it: without vtepgw's client indexes, and also without the
// schema's (datapath, tunnel_key) index, which libovsdb keeps whatever the
// client wants (docs/PERFORMANCE.md).
func BenchmarkPortBindingCacheUpdate(b *testing.B) {
	data, err := os.ReadFile(testbed.SBSchema)
	if err != nil {
		b.Skip(err)
	}
	var schema ovsdb.DatabaseSchema
	if err := json.Unmarshal(data, &schema); err != nil {
		b.Fatal(err)
	}
	noDPKey := schema
	noDPKey.Tables = map[string]ovsdb.TableSchema{}
	for name, t := range schema.Tables {
		if name == "Port_Binding" {
			t.Indexes = [][]string{{"logical_port"}}
		}
		noDPKey.Tables[name] = t
	}
	for _, tc := range []struct {
		name          string
		schema        ovsdb.DatabaseSchema
		clientIndexes bool
	}{
		{"model", schema, true},
		{"no-client-indexes", schema, false},
		{"no-client-or-dp-key-index", noDPKey, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cm, err := sbsync.ClientModel()
			if err != nil {
				b.Fatal(err)
			}
			if !tc.clientIndexes {
				cm.SetIndexes(map[string][]model.ClientIndex{})
			}
			change, stop, err := pbCache(tc.schema, cm, 50000)
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if err := change(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
