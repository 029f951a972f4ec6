package ovsdbx

import (
	"encoding/json"
	"testing"

	"github.com/ovn-org/libovsdb/ovsdb"
)

// TestRefEncodesLikeLibovsdb: ovsRef writes exactly what libovsdb's
// ovsdb.UUID writes for the same reference.
func TestRefEncodesLikeLibovsdb(t *testing.T) {
	for _, s := range []string{
		"5f0c1f8e-0000-4000-8000-000000000001", "pl3", "umr12", "_x",
		"5F0C1F8E-0000-4000-8000-000000000001", // upper case: not canonical
		"5f0c1f8e00004000800000000000000001ab", "a\"b", "", "1abc",
	} {
		got, err := json.Marshal(Ref(s))
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(ovsdb.UUID{GoUUID: s})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%q: Ref %s, ovsdb.UUID %s", s, got, want)
		}
	}
}

// TestDeleteByUUIDMatchesLibovsdb: the hand-built delete encodes as
// libovsdb's Where(model).Delete() does.
func TestDeleteByUUIDMatchesLibovsdb(t *testing.T) {
	u := "5f0c1f8e-0000-4000-8000-000000000001"
	got, err := json.Marshal(DeleteByUUID("Ucast_Macs_Remote", u))
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal([]ovsdb.Operation{{Op: ovsdb.OperationDelete, Table: "Ucast_Macs_Remote",
		Where: []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: u}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
