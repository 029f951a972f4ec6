package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func rec(body string) string {
	return fmt.Sprintf("OVSDB JSON %d 0000000000000000000000000000000000000000\n%s\n", len(body), body)
}

func TestFollower(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	schema := rec(`{"name":"hardware_vtep","tables":{}}`)
	ins := rec(`{"_date":1700000000123,"_comment":"ovn-controller-vtep: update","_is_diff":true,` +
		`"Ucast_Macs_Remote":{"u1":{"MAC":"02:00:00:00:00:01"},"u2":{"MAC":"02:00:00:00:00:02"}},` +
		`"Port_Binding":{"p1":{"logical_port":"lp1"}}}`)
	upd := rec(`{"_date":1700000000200,"Ucast_Macs_Remote":{"u1":{"ipaddr":"10.0.0.1"},"u2":null}}`)
	if err := os.WriteFile(path, []byte(schema+ins[:len(ins)/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := newFollower(path, map[string]string{"Port_Binding": "logical_port"}, "Ucast_Macs_Remote")
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	if f.mark() != 0 {
		t.Fatalf("a half-written record was parsed: %v", f.records)
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(ins[len(ins)/2:] + upd); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if err := f.poll(); err != nil {
		t.Fatal(err)
	}
	if f.mark() != 2 {
		t.Fatalf("%d records, want 2: %v", f.mark(), f.records)
	}
	r0, r1 := f.records[0], f.records[1]
	if !r0.by("ovn-controller-vtep") || r0.Time != time.UnixMilli(1700000000123) {
		t.Errorf("record 0: %v", r0)
	}
	if r0.Ops["Ucast_Macs_Remote insert"] != 2 || r0.Ops["Port_Binding insert"] != 1 || r0.After["Ucast_Macs_Remote"] != 2 {
		t.Errorf("record 0 ops: %v after %v", r0.Ops, r0.After)
	}
	if r1.Ops["Ucast_Macs_Remote update"] != 1 || r1.Ops["Ucast_Macs_Remote delete"] != 1 || r1.After["Ucast_Macs_Remote"] != 1 {
		t.Errorf("record 1 ops: %v after %v", r1.Ops, r1.After)
	}
	if u, ok := f.uuidOf("Port_Binding", "lp1"); !ok || u != "p1" {
		t.Errorf("uuidOf(lp1) = %q, %v", u, ok)
	}
	// A compacted (shrunk) file is an error, not silently wrong numbers.
	if err := os.WriteFile(path, []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.poll(); err == nil {
		t.Error("no error after the file shrank")
	}
}
