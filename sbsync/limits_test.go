package sbsync

import (
	"testing"
	"time"
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
