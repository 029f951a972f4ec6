package learning

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/testbed"
)

// lsFaults returns logical switch j's other_config:vtepgw-faults on switch
// sw (database file).
func lsFaults(s *Stack, sw, j int) string {
	for _, r := range s.VF[sw].Rows("Logical_Switch") {
		if r.Str("name") == LS(j) {
			return r.Map("other_config")["vtepgw-faults"]
		}
	}
	return "?"
}

// psFaults returns physical switch br<sw>'s switch_fault_status, read
// from the server: the column is ephemeral (never in the database file).
func psFaults(t *testing.T, s *Stack, sw int) []string {
	t.Helper()
	out := s.VTEPs[sw].MustVtep(t, "--bare", "get", "Physical_Switch", fmt.Sprintf("br%d", sw), "switch_fault_status")
	var fs []string
	for _, f := range strings.Fields(strings.ReplaceAll(strings.Trim(out, "[]"), ",", " ")) {
		fs = append(fs, strings.Trim(f, `"`))
	}
	return fs
}

// waitPSFault waits until br<sw>'s switch_fault_status has (or lacks) f.
func waitPSFault(t *testing.T, s *Stack, sw int, f string, want bool) {
	t.Helper()
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		got := psFaults(t, s, sw)
		return slices.Contains(got, f) == want, fmt.Sprintf("br%d switch_fault_status %q: want %q present=%v", sw, got, f, want)
	})
}

// fdbUUIDs returns MAC → FDB row UUID for the MACs on port key pk.
func fdbUUIDs(s *Stack, dp, pk int) map[string]string {
	out := map[string]string{}
	for m, e := range s.FDB(dp) {
		if e.PortKey == pk {
			out[m] = e.UUID
		}
	}
	return out
}

// TestCapPerLogicalSwitch: with max-per-logical-switch 5, a switch that
// learns 8 MACs gets 5 FDB rows: the 5 it learned first stay untouched,
// the 3 newer ones are refused, one WARN line says so, the refusals are
// counted (status, /metrics), and the logical switch carries
// other_config:vtepgw-faults=mac_limit_exceeded. Ageing learned MACs out
// frees room: the refused MACs are written, and once none is left over the
// fault clears.
func TestCapPerLogicalSwitch(t *testing.T) {
	t.Parallel()
	s := start(t, StackOptions{Config: "learning:\n  max-per-logical-switch: 5\n", Metrics: true})
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	first, more := MACs(3, 0, 5), MACs(3, 5, 3)
	s.InsertUML(t, 0, 0, first, "learn 5")
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	before := fdbUUIDs(s, dp, pk)

	s.InsertUML(t, 0, 0, more, "learn 3 more")
	waitFor(t, s.VF[0], wait, func() (bool, string) {
		f := lsFaults(s, 0, 0)
		return f == "mac_limit_exceeded", fmt.Sprintf("%s other_config:vtepgw-faults=%q", LS(0), f)
	})
	if err := s.SB.Poll(); err != nil {
		t.Fatal(err)
	}
	if after := fdbUUIDs(s, dp, pk); !mapsEqual(after, before) {
		t.Fatalf("FDB changed past the cap:\nbefore %v\nafter  %v", before, after)
	}
	if warns := s.GW().LogLines("WARN", "MAC limit reached"); len(warns) != 1 {
		t.Errorf("%d WARN lines about the MAC limit, want 1:\n%s", len(warns), strings.Join(warns, "\n"))
	}
	st := waitStatus(t, s.GW(), "3 refused", func(st learnStatus) bool { return st.refused >= 3 })
	if st.owned != 5 {
		t.Errorf("status: %d learned MACs in FDB, want 5", st.owned)
	}
	if v := metric(t, s.GW(), "vtepgw_learned_macs_refused_total"); v < 3 {
		t.Errorf("vtepgw_learned_macs_refused_total = %v, want ≥ 3", v)
	}
	if f := psFaults(t, s, 0); len(f) != 0 {
		t.Errorf("Physical_Switch switch_fault_status %q, want none for a logical-switch cap", f)
	}

	// Two aged out: two of the refused fit, one is still refused.
	s.DeleteUML(t, 0, 0, first[:2], "age 2")
	waitFor(t, s.SB, wait, func() (bool, string) {
		on := s.FDBOnPort(dp, pk)
		n := 0
		for _, m := range more {
			if slices.Contains(on, m) {
				n++
			}
		}
		return len(on) == 5 && n == 2, fmt.Sprintf("FDB %v: want 5 rows, 2 of %v", on, more)
	})
	if err := s.VF[0].Poll(); err != nil {
		t.Fatal(err)
	}
	if f := lsFaults(s, 0, 0); f != "mac_limit_exceeded" {
		t.Errorf("fault cleared with a MAC still refused: vtepgw-faults=%q", f)
	}

	// One more aged out: everything fits, the fault clears.
	s.DeleteUML(t, 0, 0, first[2:3], "age 1")
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	waitFor(t, s.VF[0], wait, func() (bool, string) {
		f := lsFaults(s, 0, 0)
		return f == "", fmt.Sprintf("%s other_config:vtepgw-faults=%q, want none", LS(0), f)
	})
	waitStatus(t, s.GW(), "5 owned", func(st learnStatus) bool { return st.owned == 5 })
	s.CheckFDBEqualsUML(t, 0, 0)
}

// TestCapPerSwitch: with max-per-switch 4 and two logical switches on the
// physical switch, the fifth learned MAC (on either logical switch) is
// refused: Physical_Switch switch_fault_status gets vtepgw:mac_limit_exceeded
// (and no logical switch fault), one WARN line, the first four stay. A MAC
// aged out on the other logical switch makes room: the refused one is
// written and the fault clears.
func TestCapPerSwitch(t *testing.T) {
	t.Parallel()
	s := start(t, StackOptions{Config: "learning:\n  max-per-switch: 4\n", LogicalSwitches: 2})
	dp0, pk0 := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	dp1, pk1 := s.DP[LS(1)], s.PortKey[VTEPPort(0, 1)]
	a, b := MACs(4, 0, 2), MACs(4, 10, 3)
	s.InsertUML(t, 0, 0, a, "learn 2 on ls0")
	s.InsertUML(t, 0, 1, b[:2], "learn 2 on ls1")
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	s.WaitFDBEqualsUML(t, 0, 1, wait)
	before0, before1 := fdbUUIDs(s, dp0, pk0), fdbUUIDs(s, dp1, pk1)

	s.InsertUML(t, 0, 1, b[2:], "learn a fifth")
	waitPSFault(t, s, 0, "vtepgw:mac_limit_exceeded", true)
	if err := s.SB.Poll(); err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(fdbUUIDs(s, dp0, pk0), before0) || !mapsEqual(fdbUUIDs(s, dp1, pk1), before1) {
		t.Fatalf("FDB changed past the cap: ls0 %v (was %v), ls1 %v (was %v)", fdbUUIDs(s, dp0, pk0), before0, fdbUUIDs(s, dp1, pk1), before1)
	}
	if err := s.VF[0].Poll(); err != nil {
		t.Fatal(err)
	}
	for j := range 2 {
		if f := lsFaults(s, 0, j); f != "" {
			t.Errorf("%s vtepgw-faults=%q, want none for a switch cap", LS(j), f)
		}
	}
	if warns := s.GW().LogLines("WARN", "MAC limit reached"); len(warns) != 1 {
		t.Errorf("%d WARN lines about the MAC limit, want 1:\n%s", len(warns), strings.Join(warns, "\n"))
	}
	waitStatus(t, s.GW(), "1 refused", func(st learnStatus) bool { return st.refused >= 1 && st.owned == 4 })

	// Room on the switch, freed on the other logical switch.
	s.DeleteUML(t, 0, 0, a[:1], "age one on ls0")
	s.WaitFDBEqualsUML(t, 0, 1, wait)
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	waitPSFault(t, s, 0, "vtepgw:mac_limit_exceeded", false)
	s.CheckFDBEqualsUML(t, 0, 0)
	s.CheckFDBEqualsUML(t, 0, 1)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
