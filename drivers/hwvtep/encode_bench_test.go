package hwvtep

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbx"
)

// BenchmarkEncodeBulkInsert measures what libovsdb's transport spends
// encoding the transaction of a 5000-MAC convergence (the operations
// txnBuilder.ucast builds), the way its JSON-RPC client does: the transact
// arguments through one json.Encoder. docs/PERFORMANCE.md cites it.
func BenchmarkEncodeBulkInsert(b *testing.B) {
	const n = 5000
	ops := make([]ovsdb.Operation, n)
	for i := range ops {
		ops[i] = ovsdb.Operation{Op: ovsdb.OperationInsert, Table: tUMR, Row: ovsdb.Row{
			"MAC":            fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8&255, i&255),
			"logical_switch": ovsdbx.Ref("0cd97fb1-28db-4071-b91c-21c37f6306e5"),
			"locator":        ovsdbx.Ref("loc1"),
		}}
	}
	req := struct {
		Method string `json:"method"`
		Params []any  `json:"params"`
		ID     int    `json:"id"`
	}{"transact", ovsdb.NewTransactArgs("hardware_vtep", ops...), 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(&req); err != nil {
			b.Fatal(err)
		}
	}
}
