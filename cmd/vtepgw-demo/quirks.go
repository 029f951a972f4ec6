package main

import (
	"github.com/ovn-org/libovsdb/database"
	"github.com/ovn-org/libovsdb/ovsdb"
)

// Workarounds for libovsdb's in-memory server (libovsdb
// v0.7.1-0.20240820095311-ce1951614a20). They live in the demo only:
// against a real ovsdb-server vtepgw needs none of them.

// commentless fixes "table \"\" not found in schema": the in-memory
// transaction expands named UUIDs by looking up every operation's table,
// so any transaction with a table-less operation (comment, commit) fails
// as a whole, with the error reported on operation 0. vtepgw comments every
// transaction it writes (as ovn-controller-vtep does), so without this
// nothing it writes would commit. commentless drops those operations before
// the in-memory transaction runs and gives each an empty (successful)
// result, which is what ovsdb-server answers for them.
type commentless struct{ database.Database }

func (c commentless) NewTransaction(db string) database.Transaction {
	return commentlessTxn{c.Database.NewTransaction(db)}
}

type commentlessTxn struct{ database.Transaction }

func tableless(op ovsdb.Operation) bool {
	return op.Table == "" && (op.Op == ovsdb.OperationComment || op.Op == ovsdb.OperationCommit)
}

func (t commentlessTxn) Transact(ops ...ovsdb.Operation) ([]*ovsdb.OperationResult, database.Update) {
	kept := make([]ovsdb.Operation, 0, len(ops))
	for _, op := range ops {
		if !tableless(op) {
			kept = append(kept, op)
		}
	}
	if len(kept) == len(ops) {
		return t.Transaction.Transact(ops...)
	}
	inner, update := t.Transaction.Transact(kept...)
	out := make([]*ovsdb.OperationResult, 0, len(inner)+len(ops)-len(kept))
	failed := false
	for _, op := range ops {
		if tableless(op) {
			if failed {
				out = append(out, nil) // not reached, as after any failure
			} else {
				out = append(out, &ovsdb.OperationResult{})
			}
			continue
		}
		var r *ovsdb.OperationResult
		if len(inner) > 0 {
			r, inner = inner[0], inner[1:]
		}
		if r == nil || r.Error != "" {
			failed = true
		}
		out = append(out, r)
	}
	// A commit-time error comes as one extra result.
	return append(out, inner...), update
}
