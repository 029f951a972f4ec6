package ovsdbwire

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
)

// row is a model with one column of each kind the codec handles.
type row struct {
	UUID    string            `ovsdb:"_uuid"`
	Name    string            `ovsdb:"name"`
	Key     int               `ovsdb:"key"`
	On      bool              `ovsdb:"on"`
	Ref     *string           `ovsdb:"ref"`
	Up      *bool             `ovsdb:"up"`
	MACs    []string          `ovsdb:"macs"`
	Options map[string]string `ovsdb:"options"`
}

const rowSchema = `{"columns":{
 "name":{"type":"string"},
 "key":{"type":"integer"},
 "on":{"type":"boolean"},
 "ref":{"type":{"key":{"type":"uuid"},"min":0,"max":1}},
 "up":{"type":{"key":{"type":"boolean"},"min":0,"max":1}},
 "macs":{"type":{"key":{"type":"string"},"min":0,"max":"unlimited"}},
 "options":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}},
 "other":{"type":"string"}}}`

func rowTable(t testing.TB) *Table {
	t.Helper()
	var ts ovsdb.TableSchema
	if err := json.Unmarshal([]byte(rowSchema), &ts); err != nil {
		t.Fatal(err)
	}
	tab, err := NewTable("T", &row{}, &ts)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func ptr[T any](v T) *T { return &v }

func TestInsertAndModify(t *testing.T) {
	tab := rowTable(t)
	base := `{"name":"a","key":7,"on":true,"ref":["uuid","r1"],"up":false,"macs":["set",["m1","m2"]],"options":["map",[["k1","v1"],["k2","v2"]]],"other":"ignored"}`
	want0 := &row{UUID: "u", Name: "a", Key: 7, On: true, Ref: ptr("r1"), Up: ptr(false), MACs: []string{"m1", "m2"}, Options: map[string]string{"k1": "v1", "k2": "v2"}}
	tests := []struct {
		name   string
		modify string
		want   func(r *row)
	}{
		{"atoms are replaced", `{"name":"b","key":8,"on":false}`, func(r *row) { r.Name, r.Key, r.On = "b", 8, false }},
		{"an optional value comes whole", `{"ref":["uuid","r2"]}`, func(r *row) { r.Ref = ptr("r2") }},
		{"an optional value emptied", `{"ref":["set",[]],"up":["set",[]]}`, func(r *row) { r.Ref, r.Up = nil, nil }},
		{"a set's difference toggles", `{"macs":["set",["m1","m3"]]}`, func(r *row) { r.MACs = []string{"m2", "m3"} }},
		{"a single-element set difference", `{"macs":"m2"}`, func(r *row) { r.MACs = []string{"m1"} }},
		{"a set emptied", `{"macs":["set",["m1","m2"]]}`, func(r *row) { r.MACs = nil }},
		{"map: add, change, remove", `{"options":["map",[["k3","v3"],["k1","x"],["k2","v2"]]]}`, func(r *row) { r.Options = map[string]string{"k1": "x", "k3": "v3"} }},
		{"unknown columns are ignored", `{"other":"x"}`, func(*row) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tab.Insert("u", mustRow(t, base))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, want0) {
				t.Fatalf("insert = %+v, want %+v", m, want0)
			}
			before := *m.(*row)
			got, err := tab.Modify(m, mustRow(t, tc.modify))
			if err != nil {
				t.Fatal(err)
			}
			want := *want0
			want.MACs = append([]string(nil), want0.MACs...)
			want.Options = map[string]string{"k1": "v1", "k2": "v2"}
			tc.want(&want)
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("modify %s = %+v, want %+v", tc.modify, got, &want)
			}
			// The old row is unchanged (readers may hold it).
			if !reflect.DeepEqual(*m.(*row), before) || !reflect.DeepEqual(m, want0) {
				t.Errorf("modify changed the old row: %+v", m)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tab := rowTable(t)
	for _, in := range []string{
		`{"name":7}`, `{"key":"x"}`, `{"on":"yes"}`, `{"ref":["set",[["uuid","a"],["uuid","b"]]]}`,
		`{"macs":["set",[1]]}`, `{"options":["set",[]]}`, `{"options":["map",[["k"]]]}`, `[1]`, `{"ref":["nope","x"]}`,
	} {
		var r Row
		if json.Unmarshal([]byte(in), &r) != nil {
			continue // not a row object: the update's decoding refuses it
		}
		if _, err := tab.Insert("u", r); err == nil {
			t.Errorf("Insert(%s): no error", in)
		}
	}
}

func TestNewTableChecksTheModel(t *testing.T) {
	var ts ovsdb.TableSchema
	if err := json.Unmarshal([]byte(rowSchema), &ts); err != nil {
		t.Fatal(err)
	}
	type missing struct {
		UUID string `ovsdb:"_uuid"`
		X    string `ovsdb:"not_in_schema"`
	}
	type wrongKind struct {
		UUID string   `ovsdb:"_uuid"`
		Name []string `ovsdb:"name"`
	}
	type noUUID struct {
		Name string `ovsdb:"name"`
	}
	for _, m := range []model.Model{&missing{}, &wrongKind{}, &noUUID{}, row{}} {
		if _, err := NewTable("T", m, &ts); err == nil {
			t.Errorf("NewTable(%T): no error", m)
		}
	}
}

func TestParseUpdate2(t *testing.T) {
	id, tu, err := ParseUpdate2("update3", params(t, `["sb","00000000-0000-0000-0000-000000000000",{"T":{"u1":{"insert":{"name":"a"}},"u2":{"delete":null},"u3":{"modify":{"key":1}}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if string(id) != `"sb"` || tu["T"]["u1"].Insert == nil || tu["T"]["u2"].Delete == nil || tu["T"]["u3"].Modify == nil || tu["T"]["u2"].Insert != nil {
		t.Fatalf("id %s, updates %+v", id, tu)
	}
	if _, _, err := ParseUpdate2("update2", params(t, `["sb","x",{}]`)); err == nil {
		t.Error("update2 with three params: no error")
	}
}

func mustRow(t *testing.T, s string) Row {
	t.Helper()
	var r Row
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func params(t *testing.T, s string) []json.RawMessage {
	t.Helper()
	var p []json.RawMessage
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzRowCodec feeds the codec arbitrary notification params: it must
// return errors, never panic, and never change a row it was given.
func FuzzRowCodec(f *testing.F) {
	f.Add(`["sb",{"T":{"u":{"modify":{"macs":["set",["m1"]],"options":["map",[["k","v"]]],"ref":["uuid","x"]}}}}]`)
	f.Add(`["sb",{"T":{"u":{"insert":{"name":"a","key":1,"on":true,"up":["set",[true]]}}}}]`)
	f.Add(`["sb",{"T":{"u":{"delete":null}}}]`)
	f.Add(`[]`)
	tab := rowTable(f)
	f.Fuzz(func(t *testing.T, in string) {
		var p []json.RawMessage
		if json.Unmarshal([]byte(in), &p) != nil {
			return
		}
		_, tu, err := ParseUpdate2("update2", p)
		if err != nil {
			return
		}
		base := &row{UUID: "u", Name: "a", MACs: []string{"m1"}, Options: map[string]string{"k": "v"}, Ref: ptr("x")}
		snap := *base
		snap.MACs = []string{"m1"}
		snap.Options = map[string]string{"k": "v"}
		for _, ru := range tu["T"] {
			if ru.Insert != nil {
				_, _ = tab.Insert("u", ru.Insert)
			}
			if ru.Modify != nil {
				_, _ = tab.Modify(base, ru.Modify)
			}
		}
		if !reflect.DeepEqual(*base, snap) {
			t.Fatalf("Modify changed its input row: %+v", base)
		}
	})
}
