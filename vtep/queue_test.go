package vtep

import (
	"context"
	"testing"
	"time"
)

func TestQueueDedupAndOrder(t *testing.T) {
	q := NewQueue()
	a, b := LogicalSwitchKey("a"), LogicalSwitchKey("b")
	q.Add(a)
	q.Add(b)
	q.Add(a)
	keys, since := q.Drain()
	if len(keys) != 2 || keys[0] != a || keys[1] != b {
		t.Fatalf("Drain = %v, want [a b]", keys)
	}
	if since.IsZero() {
		t.Fatal("Drain returned zero enqueue time")
	}
	if q.Len() != 0 {
		t.Fatalf("Len after drain = %d", q.Len())
	}
	// A key added after its batch was drained is drained again.
	q.Add(a)
	if keys, _ := q.Drain(); len(keys) != 1 || keys[0] != a {
		t.Fatalf("re-added key: %v", keys)
	}
}

func TestQueueRetryBackoff(t *testing.T) {
	q := NewQueue()
	q.BaseDelay = 10 * time.Millisecond
	q.MaxDelay = 40 * time.Millisecond
	k := LogicalSwitchKey("x")
	var delays []time.Duration
	for range 4 {
		delays = append(delays, q.Retry(k))
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays = %v, want %v", delays, want)
		}
	}
	if got := q.Failures(k); got != 4 {
		t.Fatalf("Failures = %d, want 4", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if !q.Wait(ctx) {
		t.Fatal("retried key never came back")
	}
	q.Forget(k)
	if got := q.Failures(k); got != 0 {
		t.Fatalf("Failures after Forget = %d", got)
	}
}

func TestQueueShutdown(t *testing.T) {
	q := NewQueue()
	q.AddAfter(LogicalSwitchKey("late"), time.Hour)
	q.Shutdown()
	q.Add(LogicalSwitchKey("x"))
	done := make(chan bool)
	go func() { done <- q.Wait(context.Background()) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("Wait returned true after Shutdown")
		}
	case <-time.After(time.Second):
		t.Fatal("Wait hung after Shutdown")
	}
}
