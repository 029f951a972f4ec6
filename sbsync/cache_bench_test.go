package sbsync

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbwire"
	"github.com/vtepgw/vtepgw/testbed"
)

// BenchmarkCacheApply is the southbound cache's share of one Port_Binding
// change (a hypervisor binding or unbinding its port) at 50k rows:
// decoding the notification's params, applying the row, index upkeep. The
// libovsdb figure for the same change is the "for comparison" line of
// docs/BENCHMARKS.md.
func BenchmarkCacheApply(b *testing.B) {
	data, err := os.ReadFile(testbed.SBSchema)
	if err != nil {
		b.Skip(err)
	}
	var schema ovsdb.DatabaseSchema
	if err := json.Unmarshal(data, &schema); err != nil {
		b.Fatal(err)
	}
	c, err := newSBCache(&schema)
	if err != nil {
		b.Fatal(err)
	}
	const rows = 50000
	uuid := func(i int) string { return fmt.Sprintf("a0000000-0000-4000-8000-%012d", i) }
	ins := ovsdbwire.TableUpdates2{"Port_Binding": {}}
	for i := range rows {
		ins["Port_Binding"][uuid(i)] = ovsdbwire.RowUpdate2{Insert: ovsdbwire.Row{
			"logical_port": json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("lp%d", i))),
			"datapath":     json.RawMessage(`["uuid","d0000000-0000-4000-8000-000000000000"]`),
			"tunnel_key":   json.RawMessage(fmt.Sprint(i + 1)),
			"mac":          json.RawMessage(fmt.Sprintf(`"00:00:00:00:%02x:%02x"`, i>>8&255, i&255)),
		}}
	}
	if _, err := c.apply(ins); err != nil {
		b.Fatal(err)
	}
	msgs := make([][]json.RawMessage, 2*rows)
	for i := range msgs {
		chassis := `["uuid","c0000000-0000-4000-8000-000000000001"]`
		if i/rows%2 == 1 {
			chassis = `["set",[]]`
		}
		msgs[i] = []json.RawMessage{json.RawMessage(`"sb"`), json.RawMessage(fmt.Sprintf(`{"Port_Binding":{%q:{"modify":{"chassis":%s,"up":true}}}}`, uuid(i%rows), chassis))}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, tu, err := ovsdbwire.ParseUpdate2("update2", msgs[i%len(msgs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.apply(tu); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
