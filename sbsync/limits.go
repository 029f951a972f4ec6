package sbsync

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vtepgw/vtepgw/vtep"
)

// Limits protect the SB from a learning storm: switch-learned MACs reach
// FDB at most Rate per second (per switch, and Client-wide with
// Options.FDBRate), and at most MaxPerLS per logical switch and
// MaxPerSwitch per physical switch are written. Past a cap nothing new is
// written, existing entries stay, and a fault is raised on the switch
// (vtep.Fault code FaultMACLimit) until the refused MACs fit again.
type Limits struct {
	// Rate is learned MACs per second written to SB (0: unlimited).
	Rate float64
	// Burst is how many may be written at once (default max(Rate, 1)).
	Burst int
	// MaxPerLS and MaxPerSwitch cap FDB rows per logical switch and per
	// physical switch (0: unlimited).
	MaxPerLS     int
	MaxPerSwitch int
}

// FaultMACLimit is the fault code raised when a MAC cap refuses entries.
const FaultMACLimit = "mac_limit_exceeded"

// bucket is a token bucket; a nil bucket allows everything.
type bucket struct {
	mu     sync.Mutex // guards tokens and last
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	if rate <= 0 {
		return nil
	}
	b := float64(burst)
	if b <= 0 {
		b = max(rate, 1)
	}
	return &bucket{rate: rate, burst: b, tokens: b, last: time.Now()}
}

// take removes one token if there is one; otherwise it returns how long
// until there will be.
func (b *bucket) take() (bool, time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// waitFor returns how long until the bucket holds n tokens (at most its
// burst); 0 for a nil bucket or when it already does.
func (b *bucket) waitFor(n int) time.Duration {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	need := min(float64(n), b.burst)
	tokens := min(b.burst, b.tokens+time.Since(b.last).Seconds()*b.rate)
	if tokens >= need {
		return 0
	}
	return time.Duration((need - tokens) / b.rate * float64(time.Second))
}

func (b *bucket) refund() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.burst, b.tokens+1)
	b.mu.Unlock()
}

// allowLearn takes a token from the gateway's and the process's buckets.
func (s *Southbound) allowLearn() (bool, time.Duration) {
	ok, wait := s.bucket.take()
	if !ok {
		return false, wait
	}
	if ok, wait := s.c.bucket.take(); !ok {
		s.bucket.refund()
		return false, wait
	}
	return true, 0
}

// deferLearn retries a learned MAC once tokens are back: when the
// buckets hold enough for every MAC deferred so far in this batch (up to a
// burst), not at the next single token. A retry looks every deferred MAC
// up again, so retrying per token would make a large backlog cost
// O(backlog) per token; this way a backlog drains in one batch per refill,
// each writing up to a burst.
func (s *Southbound) deferLearn(b *batch, k vtep.MACKey, wait time.Duration) {
	s.stats.RateDeferred++
	b.deferred = append(b.deferred, vtep.Key{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC})
	n := len(b.deferred)
	b.deferWait = max(b.deferWait, wait, s.bucket.waitFor(n), s.c.bucket.waitFor(n))
}

// setOwned records whether we hold the FDB row of a learned MAC, keeping
// per-logical-switch and per-switch counts for the caps.
func (s *Southbound) setOwned(k vtep.MACKey, ps string, owned bool) {
	cur, had := s.owned[k]
	if owned && had && cur == ps || !owned && !had {
		return
	}
	if had {
		s.lsCount[k.LS]--
		s.psCount[cur]--
		delete(s.owned, k)
		s.freed = true
	}
	if owned {
		s.owned[k] = ps
		s.lsCount[k.LS]++
		s.psCount[ps]++
	}
}

// capped reports whether writing one more MAC for k would pass a cap.
func (s *Southbound) capped(k vtep.MACKey, ps string) bool {
	l := s.opts.Limits
	over := l.MaxPerLS > 0 && s.lsCount[k.LS] >= l.MaxPerLS ||
		l.MaxPerSwitch > 0 && s.psCount[ps] >= l.MaxPerSwitch
	if over {
		if !s.refused[k] {
			s.refused[k] = true
			s.stats.CapRefused++
			s.faultsChanged = true
		}
		s.logOnce(slog.LevelWarn, "cap:"+k.LS, fmt.Sprintf("MAC limit reached: not writing newly learned MACs of logical switch %s to the southbound (per logical switch %d, per switch %d); existing entries stay", k.LS, l.MaxPerLS, l.MaxPerSwitch), "ls", k.LS, "switch", ps)
	}
	return over
}

// unrefuse forgets a refused MAC (written now, or no longer learned).
func (s *Southbound) unrefuse(k vtep.MACKey) {
	if s.refused[k] {
		delete(s.refused, k)
		s.faultsChanged = true
		if len(s.refused) == 0 {
			delete(s.logged, "cap:"+k.LS)
		}
	}
}

// retryRefused re-enqueues refused MACs after room was freed.
func (s *Southbound) retryRefused(b *batch) {
	if !s.freed {
		return
	}
	s.freed = false
	for k := range s.refused {
		b.deferred = append(b.deferred, vtep.Key{Kind: vtep.KindUcastLocal, Name: k.LS, MAC: k.MAC})
	}
}

// DesiredFaults implements vtep.FaultSource: a MAC-limit fault on every
// logical switch, and on every physical switch, with refused MACs.
func (s *Southbound) DesiredFaults() []vtep.Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[vtep.Fault]bool{}
	var out []vtep.Fault
	for k := range s.refused {
		f := vtep.Fault{LS: k.LS, Code: FaultMACLimit}
		if own, ok := s.own[k.LS]; ok && s.opts.Limits.MaxPerSwitch > 0 && s.psCount[own.ps] >= s.opts.Limits.MaxPerSwitch {
			f = vtep.Fault{Switch: own.ps, Code: FaultMACLimit}
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
