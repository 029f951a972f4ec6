package learning

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNothingLost: whatever happens to the connections and processes, SB
// FDB for the switch's port ends up equal to the switch's
// Ucast_Macs_Local. Each fault comes with switch changes made while
// vtepgw cannot write them: an SB ovsdb-server/reconnect (all clients
// dropped), an SB kill -9 and restart from its file, and a vtepgw kill -9
// and restart (meanwhile some of our FDB rows are deleted and a stale one
// is added on our port).
func TestNothingLost(t *testing.T) {
	t.Parallel()
	s := start(t, StackOptions{})
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	macs := MACs(8, 0, 300)
	s.InsertUML(t, 0, 0, macs[:100], "learn 100")
	s.WaitFDBEqualsUML(t, 0, 0, wait)

	step := func(name string, from int) {
		t.Helper()
		s.InsertUML(t, 0, 0, macs[from:from+50], name+": learn 50")
		s.DeleteUML(t, 0, 0, macs[from-100:from-80], name+": age 20")
	}

	// SB drops every client.
	if err := s.OVN.SB.Reconnect(); err != nil {
		t.Fatal(err)
	}
	step("sb reconnect", 100)
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	s.CheckFDBEqualsUML(t, 0, 0)

	// SB crashes; the switch goes on learning and ageing.
	if err := s.OVN.SB.Kill9(); err != nil {
		t.Fatal(err)
	}
	step("sb down", 150)
	time.Sleep(300 * time.Millisecond) // vtepgw notices and retries
	if err := s.OVN.SB.Restart(); err != nil {
		t.Fatal(err)
	}
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	s.CheckFDBEqualsUML(t, 0, 0)

	// vtepgw crashes; the switch changes, and SB FDB is changed behind its
	// back: five of our rows deleted, a stale row added on our port.
	if err := s.GW().Kill9(); err != nil {
		t.Fatal(err)
	}
	step("vtepgw down", 200)
	fdb := s.FDB(dp)
	var del []string
	for _, m := range macs[120:125] {
		del = append(del, "--", "destroy", "FDB", fdb[m].UUID)
	}
	s.OVN.MustSB(t, del[1:]...)
	const stale = "02:08:ff:00:00:01"
	s.OVN.MustSB(t, "create", "FDB", fmt.Sprintf("mac=%q", stale), "dp_key="+strconv.Itoa(dp), "port_key="+strconv.Itoa(pk))
	s.GW().Restart(t)
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	s.CheckFDBEqualsUML(t, 0, 0)
	uml, _ := s.ServerUML(0, 0)
	waitStatus(t, s.GW(), "owned = learned", func(st learnStatus) bool { return st.owned == len(uml) })
}

// TestSBKilledMidBatch: the SB ovsdb-server is killed (-9) while vtepgw is
// writing a large batch of learned MACs, the switch changes while the SB is
// down, the SB restarts from its database file, and FDB ends up equal to
// Ucast_Macs_Local. With a rate limit the writes span seconds and the kill
// provably lands in the middle (part of the batch is in the file); without
// one the whole batch is one SB transaction and the kill lands as soon as
// the switch committed the rows.
func TestSBKilledMidBatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, config string
	}{
		{"rate-limited", "learning:\n  rate: 1000\n  burst: 500\n"},
		{"one transaction", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testKillMidBatch(t, tc.config)
		})
	}
}

func testKillMidBatch(t *testing.T, config string) {
	const n = 5000
	s := start(t, StackOptions{Config: config})
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	macs := MACs(9, 0, n+100)
	mark := s.SB.Mark()
	s.InsertUML(t, 0, 0, macs[:n], "learn 5000")
	if config != "" {
		// Mid-stream: some, not all, written.
		waitFor(t, s.SB, wait, func() (bool, string) {
			got := len(s.FDBOnPort(dp, pk))
			return got >= 1000, fmt.Sprintf("%d FDB rows, waiting for ≥ 1000", got)
		})
	}
	if err := s.OVN.SB.Kill9(); err != nil {
		t.Fatal(err)
	}
	if err := s.SB.Poll(); err != nil {
		t.Fatal(err)
	}
	atKill := len(s.FDBOnPort(dp, pk))
	recs := s.GatewayRecords(mark, "FDB")
	t.Logf("SB killed with %d of %d learned MACs in FDB (%d vtepgw FDB transactions)", atKill, n, len(recs))
	if config != "" && atKill >= n {
		t.Fatalf("all %d MACs written before the kill: not mid-batch", n)
	}
	// While the SB is down the switch learns more and ages some out.
	s.InsertUML(t, 0, 0, macs[n:], "learn 100 more")
	s.DeleteUML(t, 0, 0, macs[:200], "age 200")
	time.Sleep(300 * time.Millisecond)
	if err := s.OVN.SB.Restart(); err != nil {
		t.Fatal(err)
	}
	s.WaitFDBEqualsUML(t, 0, 0, 60*time.Second)
	s.CheckFDBEqualsUML(t, 0, 0)
	if log := s.GW().LogLines("ERROR"); len(log) > 0 {
		t.Logf("vtepgw errors:\n%s", strings.Join(log, "\n"))
	}
}
