package sbsync

import (
	"fmt"
	"testing"
	"time"

	"github.com/ovn-org/libovsdb/model"

	"github.com/vtepgw/vtepgw/sbsync/sbdb"
)

func TestBucket(t *testing.T) {
	if b := newBucket(0, 100); b != nil {
		t.Fatalf("rate 0: bucket %+v, want nil (unlimited)", b)
	}
	var none *bucket
	if ok, _ := none.take(); !ok || none.waitFor(1e6) != 0 {
		t.Error("a nil bucket must allow everything")
	}
	b := newBucket(1000, 0) // burst defaults to the rate
	if b.burst != 1000 {
		t.Errorf("burst %v, want the rate (1000)", b.burst)
	}
	for i := range 10 {
		if ok, _ := b.take(); !ok {
			t.Fatalf("take %d of a full bucket failed", i+1)
		}
	}
	b.mu.Lock()
	b.tokens, b.last = 0, time.Now() // empty, now
	b.mu.Unlock()
	ok, wait := b.take()
	if ok || wait <= 0 || wait > 2*time.Millisecond {
		t.Errorf("empty bucket: take = %v, %v; want false and ≈ 1 ms", ok, wait)
	}
	// 500 tokens take ≈ 0.5 s at 1000/s; more than a burst waits for a
	// burst (a retry cannot use more).
	if w := b.waitFor(500); w < 450*time.Millisecond || w > 500*time.Millisecond {
		t.Errorf("waitFor(500) = %v, want ≈ 500 ms", w)
	}
	if w1, w2 := b.waitFor(1000), b.waitFor(50000); w1 < 950*time.Millisecond || w2 > time.Second || w2 < w1-50*time.Millisecond {
		t.Errorf("waitFor(1000) = %v, waitFor(50000) = %v; want both ≈ 1 s (capped at a burst)", w1, w2)
	}
	b.refund()
	if ok, _ := b.take(); !ok {
		t.Error("a refunded token was not there")
	}
	if b.waitFor(0) != 0 {
		t.Error("waitFor(0) must not wait")
	}
}

// fakeTable is a tableCache over a map, counting the calls fdbIndex
// avoids.
type fakeTable struct {
	rows    map[string]model.Model
	byModel int
	shallow int
}

func (f *fakeTable) Row(u string) model.Model                                   { return f.rows[u] }
func (f *fakeTable) Rows() map[string]model.Model                               { return f.rows }
func (f *fakeTable) RowsShallow() map[string]model.Model                        { f.shallow++; return f.rows }
func (f *fakeTable) Len() int                                                   { return len(f.rows) }
func (f *fakeTable) RowsByModels([]model.Model) (map[string]model.Model, error) { return nil, nil }
func (f *fakeTable) RowByModel(m model.Model) (string, model.Model, error) {
	f.byModel++
	p := m.(*sbdb.FDB)
	for u, r := range f.rows {
		if r.(*sbdb.FDB).MAC == p.MAC && r.(*sbdb.FDB).DpKey == p.DpKey {
			return u, r, nil
		}
	}
	return "", nil, nil
}

func TestFDBIndex(t *testing.T) {
	tab := &fakeTable{rows: map[string]model.Model{}}
	for i := range 1000 {
		u := fmt.Sprintf("u%d", i)
		tab.rows[u] = &sbdb.FDB{UUID: u, MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&255), DpKey: 1 + i%2, PortKey: 7}
	}
	var x fdbIndex
	// A few lookups go to the cache; past fdbIndexMin (and 1/16 of the
	// table) one pass builds the index, which answers the rest.
	for i := range fdbIndexMin - 1 {
		if _, ok := x.lookup(tab, "02:00:00:00:00:00", 1); ok {
			t.Fatalf("lookup %d answered from the index before %d misses", i+1, fdbIndexMin)
		}
	}
	f, ok := x.lookup(tab, "02:00:00:00:00:02", 1)
	if !ok || f == nil || f.UUID != "u2" {
		t.Fatalf("lookup after %d misses = %v, %v; want u2 from the index", fdbIndexMin, f, ok)
	}
	if f, ok := x.lookup(tab, "02:00:00:00:00:02", 2); !ok || f != nil {
		t.Errorf("(mac of u2, dp 2) = %v, %v; want no row", f, ok)
	}
	if f, ok := x.lookup(tab, "02:00:00:00:03:e7", 2); !ok || f == nil || f.UUID != "u999" {
		t.Errorf("u999 lookup = %v, %v", f, ok)
	}
	if tab.shallow != 1 {
		t.Errorf("%d table scans, want 1", tab.shallow)
	}
	// An FDB event invalidates it: lookups go to the cache again.
	x.invalidate()
	if _, ok := x.lookup(tab, "02:00:00:00:00:02", 1); ok {
		t.Error("lookup after invalidate answered from the stale index")
	}
	// A big table needs more misses (1/16 of it) before a scan.
	for i := 1000; i < 4000; i++ {
		u := fmt.Sprintf("u%d", i)
		tab.rows[u] = &sbdb.FDB{UUID: u, MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&255), DpKey: 3}
	}
	x.invalidate()
	for i := range 4000/16 - 1 {
		if _, ok := x.lookup(tab, "x", 3); ok {
			t.Fatalf("lookup %d of a 4000-row table answered from an index", i+1)
		}
	}
	if _, ok := x.lookup(tab, "x", 3); !ok {
		t.Error("no index after 250 misses on a 4000-row table")
	}
}
