package ovsdbx

import (
	"encoding/json"

	"github.com/ovn-org/libovsdb/ovsdb"
)

// Ref is a row reference in an operation: a row's UUID, or the
// uuid-name of a row inserted earlier in the same transaction. It encodes
// itself directly; libovsdb's ovsdb.UUID runs a regular expression and a
// nested json.Marshal for every reference.
type Ref string

// MarshalJSON writes ["uuid", R] or ["named-uuid", R], as ovsdb.UUID does.
func (r Ref) MarshalJSON() ([]byte, error) {
	s := string(r)
	kind := "named-uuid"
	if isUUID(s) {
		kind = "uuid"
	} else if !isName(s) {
		return json.Marshal([]string{kind, s})
	}
	out := make([]byte, 0, len(s)+len(kind)+7)
	out = append(out, `["`...)
	out = append(out, kind...)
	out = append(out, `","`...)
	out = append(out, s...)
	return append(out, `"]`...), nil
}

// isUUID reports whether s is a canonical (lower-case) UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// isName reports whether s is a uuid-name as OVSDB allows them
// ([a-zA-Z_][a-zA-Z0-9_]*), which needs no escaping.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// DeleteByUUID is the operation that deletes one row by UUID, built by
// hand: bulk deletes (an unbind of thousands of MACs, an ageing burst) go
// through libovsdb's model mapping and ovsdb.UUID encoding otherwise.
func DeleteByUUID(table, uuid string) []ovsdb.Operation {
	return []ovsdb.Operation{{Op: ovsdb.OperationDelete, Table: table,
		Where: []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: Ref(uuid)}}}}
}
