package vtep

import (
	"context"
	"sync"
	"time"
)

// Queue is a deduplicating FIFO of Keys with per-key error backoff.
//
// Guarantees (pinned by queue_test.go):
//   - a key added several times before it is drained is drained once;
//   - a key added while its batch is being processed is drained again in a
//     later batch;
//   - Retry re-adds a key after a capped exponential delay that grows with
//     each consecutive failure; Forget resets it;
//   - after Shutdown, Wait returns false and Add is a no-op.
type Queue struct {
	mu       sync.Mutex // guards every field below
	order    []Key
	dirty    map[Key]struct{}
	failures map[Key]int
	timers   map[Key]*time.Timer
	batches  map[*time.Timer]struct{} // pending AddAllAfter timers
	wake     chan struct{}
	shut     bool
	since    time.Time // when the oldest dirty key was added

	// BaseDelay and MaxDelay bound the retry backoff.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// NewQueue returns an empty queue with a 50 ms to 30 s retry backoff.
func NewQueue() *Queue {
	return &Queue{
		dirty:     make(map[Key]struct{}),
		failures:  make(map[Key]int),
		timers:    make(map[Key]*time.Timer),
		batches:   make(map[*time.Timer]struct{}),
		wake:      make(chan struct{}, 1),
		BaseDelay: 50 * time.Millisecond,
		MaxDelay:  30 * time.Second,
	}
}

// Add marks k dirty.
func (q *Queue) Add(k Key) {
	q.mu.Lock()
	q.addLocked(k)
	q.mu.Unlock()
}

// AddAll marks every key dirty.
func (q *Queue) AddAll(keys []Key) {
	q.mu.Lock()
	for _, k := range keys {
		q.addLocked(k)
	}
	q.mu.Unlock()
}

func (q *Queue) addLocked(k Key) {
	if q.shut {
		return
	}
	if _, ok := q.dirty[k]; ok {
		return
	}
	q.dirty[k] = struct{}{}
	if len(q.order) == 0 {
		q.since = time.Now()
	}
	q.order = append(q.order, k)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// AddAfter marks k dirty once d has passed. A pending delayed add of the
// same key is replaced.
func (q *Queue) AddAfter(k Key, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shut {
		return
	}
	if t, ok := q.timers[k]; ok {
		t.Stop()
	}
	q.timers[k] = time.AfterFunc(d, func() {
		q.mu.Lock()
		delete(q.timers, k)
		q.addLocked(k)
		q.mu.Unlock()
	})
}

// AddAllAfter marks every key dirty once d has passed, with one timer.
func (q *Queue) AddAllAfter(keys []Key, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shut || len(keys) == 0 {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.batches, t)
		for _, k := range keys {
			q.addLocked(k)
		}
	})
	q.batches[t] = struct{}{}
}

// Retry re-adds k after its backoff delay and returns that delay.
func (q *Queue) Retry(k Key) time.Duration {
	return q.RetryAll([]Key{k})
}

// RetryAll re-adds keys after one backoff delay, chosen by the key that has
// failed most often, and returns that delay.
func (q *Queue) RetryAll(keys []Key) time.Duration {
	q.mu.Lock()
	n := 0
	for _, k := range keys {
		n = max(n, q.failures[k])
		q.failures[k]++
	}
	q.mu.Unlock()
	d := q.BaseDelay << min(n, 20)
	if d > q.MaxDelay || d <= 0 {
		d = q.MaxDelay
	}
	q.AddAllAfter(keys, d)
	return d
}

// Failures returns how many consecutive times k has been retried.
func (q *Queue) Failures(k Key) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[k]
}

// Forget clears k's backoff after a success.
func (q *Queue) Forget(k Key) {
	q.mu.Lock()
	delete(q.failures, k)
	q.mu.Unlock()
}

// Len returns the number of dirty keys.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// Drain removes and returns every dirty key, oldest first, and the time the
// oldest of them was added.
func (q *Queue) Drain() ([]Key, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	keys := q.order
	q.order = nil
	if len(keys) > 1024 {
		// clear keeps a map's capacity: after a bulk batch of 50k keys
		// the empty set held ~10 MB, which every GC cycle scanned again.
		// A new map starts small.
		q.dirty = make(map[Key]struct{})
	} else {
		clear(q.dirty)
	}
	return keys, q.since
}

// Wait blocks until a key is dirty (true) or ctx is done or the queue is shut
// down (false).
func (q *Queue) Wait(ctx context.Context) bool {
	for {
		q.mu.Lock()
		n, shut := len(q.order), q.shut
		q.mu.Unlock()
		if shut {
			return false
		}
		if n > 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-q.wake:
		}
	}
}

// Shutdown stops the queue: pending timers are cancelled and Wait returns
// false.
func (q *Queue) Shutdown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shut = true
	for k, t := range q.timers {
		t.Stop()
		delete(q.timers, k)
	}
	for t := range q.batches {
		t.Stop()
		delete(q.batches, t)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
