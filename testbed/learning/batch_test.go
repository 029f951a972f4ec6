package learning

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestRateLimitedBatching: 2000 MACs learned in one switch transaction,
// with `learning: {rate: 500}` (burst defaults to the rate). All 2000 FDB
// rows arrive, in many SB transactions, never faster than the token
// bucket allows (at most 500 + 500/s × elapsed written at any commit), so
// the last one lands at least 3 s after the switch commit. The deferrals
// show in /metrics and status; the row counts in /metrics.
func TestRateLimitedBatching(t *testing.T) {
	t.Parallel()
	const n, rate, burst = 2000, 500, 500
	s := start(t, StackOptions{Config: "learning:\n  rate: 500\n", Metrics: true})
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	mark := s.SB.Mark()
	vrec := s.InsertUML(t, 0, 0, MACs(1, 0, n), "learn 2000")
	waitFor(t, s.SB, wait, func() (bool, string) {
		got := len(s.FDBOnPort(dp, pk))
		return got == n, fmt.Sprintf("%d FDB rows on the vtep port, want %d", got, n)
	})
	recs := s.GatewayRecords(mark, "FDB")
	total := 0
	for _, r := range recs {
		total += r.Count("FDB", "insert")
		elapsed := r.Time.Sub(vrec.Time).Seconds()
		// ms timestamps on both sides: allow 2 ms of rounding.
		if limit := burst + rate*(elapsed+0.002); float64(total) > limit {
			t.Errorf("%d FDB rows written %.3f s after the switch commit: over the %d + %d/s × t = %.0f the rate allows", total, elapsed, burst, rate, limit)
		}
	}
	if total != n {
		t.Errorf("vtepgw inserted %d FDB rows, want %d", total, n)
	}
	took := recs[len(recs)-1].Time.Sub(vrec.Time)
	t.Logf("%d MACs at %d/s (burst %d): %d SB transactions, switch commit → last FDB commit %s (first batch %d rows)",
		n, rate, burst, len(recs), ms(took), recs[0].Count("FDB", "insert"))
	if took < 3*time.Second-2*time.Millisecond {
		t.Errorf("all %d MACs written %v after the switch commit: faster than %d/s with burst %d allows (≥ 3 s)", n, took, rate, burst)
	}
	if len(recs) < 4 {
		t.Errorf("%d SB transactions, want several (rate-limited batches)", len(recs))
	}

	if v := metric(t, s.GW(), "vtepgw_learned_macs_rate_limited_total"); v <= 0 {
		t.Errorf("vtepgw_learned_macs_rate_limited_total = %v, want > 0", v)
	}
	st := waitStatus(t, s.GW(), "2000 learned", func(st learnStatus) bool { return st.owned == n })
	if st.deferred == 0 || st.refused != 0 {
		t.Errorf("status counters %+v: want deferred > 0, refused 0", st)
	}
	checkRowMetrics(t, s, n)
	s.CheckFDBEqualsUML(t, 0, 0)
}

// checkRowMetrics: /metrics has the learned-MAC gauge and every switch
// table's row count.
func checkRowMetrics(t *testing.T, s *Stack, learned int) {
	t.Helper()
	g := s.GW()
	if v := metric(t, g, "vtepgw_learned_macs"); int(v) != learned {
		t.Errorf("vtepgw_learned_macs = %v, want %d", v, learned)
	}
	if v := metric(t, g, "vtepgw_switch_rows", `table="ucast_macs_local"`); int(v) != learned {
		t.Errorf(`vtepgw_switch_rows{table="ucast_macs_local"} = %v, want %d`, v, learned)
	}
	// One flood entry (unknown-dst → hv1) per logical switch.
	if v := metric(t, g, "vtepgw_switch_rows", `table="mcast_macs_remote"`); v < 1 {
		t.Errorf(`vtepgw_switch_rows{table="mcast_macs_remote"} = %v, want ≥ 1`, v)
	}
	for _, table := range []string{"mcast_macs_local", "ucast_macs_remote"} {
		metric(t, g, "vtepgw_switch_rows", `table="`+table+`"`)
	}
	for _, name := range []string{"vtepgw_learned_macs_refused_total", "vtepgw_fdb_clashes_total"} {
		metric(t, g, name)
	}
}

// TestUnlimitedBatching: with the default limits (no per-switch rate; the
// process-wide learning-rate bucket holds 20000), 2000 MACs learned in one
// switch transaction reach SB FDB in very few SB transactions (one, unless
// a batch boundary splits the burst under load; at most 5), none delayed.
// Also: the switch's Mcast_Macs_Local rows are counted in /metrics and
// status.
func TestUnlimitedBatching(t *testing.T) {
	t.Parallel()
	const n = 2000
	s := start(t, StackOptions{Metrics: true})
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	mark := s.SB.Mark()
	vrec := s.InsertUML(t, 0, 0, MACs(2, 0, n), "learn 2000")
	waitFor(t, s.SB, wait, func() (bool, string) {
		got := len(s.FDBOnPort(dp, pk))
		return got == n, fmt.Sprintf("%d FDB rows on the vtep port, want %d", got, n)
	})
	recs := s.GatewayRecords(mark, "FDB")
	took := recs[len(recs)-1].Time.Sub(vrec.Time)
	t.Logf("%d MACs, no limit: %d SB transaction(s), switch commit → last FDB commit %s", n, len(recs), ms(took))
	if len(recs) > 5 {
		var desc []string
		for _, r := range recs {
			desc = append(desc, r.String())
		}
		t.Errorf("%d SB transactions for one switch transaction, want ≤ 5:\n%s", len(recs), strings.Join(desc, "\n"))
	}
	st := waitStatus(t, s.GW(), "2000 learned", func(st learnStatus) bool { return st.owned == n })
	if st.deferred != 0 || st.refused != 0 {
		t.Errorf("status counters %+v: want nothing deferred or refused", st)
	}

	// A multicast entry learned by the switch is counted.
	s.VTEPs[0].MustVtep(t, "add-mcast-local", LS(0), "unknown-dst", TunnelIP(0))
	waitMetric(t, s.GW(), 1, "vtepgw_switch_rows", `table="mcast_macs_local"`)
	checkRowMetrics(t, s, n)
	_, out := status(t, s.GW())
	if !strings.Contains(out, "mcast_local=1") || !strings.Contains(out, fmt.Sprintf("ucast_local=%d", n)) {
		t.Errorf("status does not show ucast_local=%d mcast_local=1:\n%s", n, out)
	}
}

func waitMetric(t *testing.T, g *testbed.Vtepgw, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		all, err := g.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		v, _ := testbed.Metric(all, name, labels...)
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s{%s} = %v, want %v", name, strings.Join(labels, ","), v, want)
		}
		time.Sleep(poll)
	}
}

// TestGlobalLearningRate: `learning-rate: 400` bounds learned MACs for all
// switches of the process together (the bucket holds 400). Two switches
// learning 400 MACs each at the same moment get all 800 written, never
// more than 400 + 400/s × elapsed (summed over both), so the last lands at
// least 1 s after the first switch commit.
func TestGlobalLearningRate(t *testing.T) {
	t.Parallel()
	const n, rate = 400, 400
	s := start(t, StackOptions{Switches: 2, Config: "learning-rate: 400\n"})
	dp := s.DP[LS(0)]
	mark := s.SB.Mark()
	r0 := s.InsertUML(t, 0, 0, MACs(10, 0, n), "learn 400 on switch 0")
	s.InsertUML(t, 1, 0, MACs(11, 0, n), "learn 400 on switch 1")
	waitFor(t, s.SB, wait, func() (bool, string) {
		a, b := len(s.FDBOnPort(dp, s.PortKey[VTEPPort(0, 0)])), len(s.FDBOnPort(dp, s.PortKey[VTEPPort(1, 0)]))
		return a == n && b == n, fmt.Sprintf("FDB rows: switch 0 %d, switch 1 %d, want %d each", a, b, n)
	})
	total := 0
	recs := s.GatewayRecords(mark, "FDB")
	for _, r := range recs {
		total += r.Count("FDB", "insert")
		elapsed := r.Time.Sub(r0.Time).Seconds()
		if limit := rate + rate*(elapsed+0.002); float64(total) > limit {
			t.Errorf("%d FDB rows written %.3f s after the first switch commit: over the %.0f the process-wide rate allows", total, elapsed, limit)
		}
	}
	took := recs[len(recs)-1].Time.Sub(r0.Time)
	t.Logf("2 × %d MACs at %d/s for the process: %d SB transactions, %s", n, rate, len(recs), ms(took))
	if took < time.Second-2*time.Millisecond {
		t.Errorf("all %d MACs written %v after the first switch commit: faster than %d/s allows (≥ 1 s)", 2*n, took, rate)
	}
}
