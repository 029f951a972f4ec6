package learning

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestSBLeaderChange: vtepgw on a 3-member RAFT SB, connected with the
// members' TCP remotes as one comma-separated --ovnsb-db (leader only).
// Leadership moves twice while the switch is learning: a clean transfer
// (cluster/failure-test transfer-leadership) and a crash of the new
// leader (kill -9; restarted later, it rejoins as a follower). The switch
// keeps learning and ageing meanwhile. At the end SB FDB equals the
// switch's Ucast_Macs_Local, with one row per MAC, the rows that were
// already right kept (same UUIDs: nothing deleted and written again), and
// vtepgw on the leader. After each change the ordinary direction
// converges too: a new hypervisor port's MAC reaches the switch's
// Ucast_Macs_Remote.
func TestSBLeaderChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, config string
	}{
		// The writes span seconds: the changes provably land mid-stream.
		{"rate-limited", "learning:\n  rate: 1500\n  burst: 300\n"},
		// Each switch transaction is one SB transaction: the change lands
		// while it is being read, reconciled or committed.
		{"one transaction", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testLeaderChange(t, tc.config)
		})
	}
}

func testLeaderChange(t *testing.T, config string) {
	if testing.Short() {
		t.Skip("long: a clustered SB and two leader changes")
	}
	s := start(t, StackOptions{SBCluster: 3, Config: config})
	c := s.OVN.SBCluster
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	limited := config != ""
	macs := MACs(0x31, 0, 7000)
	checkOnLeader(t, s)

	s.InsertUML(t, 0, 0, macs[:1000], "learn 1000")
	s.WaitFDBEqualsUML(t, 0, 0, 2*wait)
	before := s.FDB(dp)

	// midStream waits, with a rate limit, until at least n of the
	// learned MACs are in FDB and not all of them.
	midStream := func(n, all int) {
		t.Helper()
		if !limited {
			return
		}
		waitMidStream(t, s, n, all)
	}

	// 1. Leadership transfer in the middle of a batch.
	// SendUML, not InsertUML: waiting for the record in the switch's file
	// took long enough on a loaded machine (make test) for every MAC to be
	// written before the first look, and the check below failed.
	if err := s.SendUML(0, 0, macs[1000:4000], "learn 3000"); err != nil {
		t.Fatal(err)
	}
	midStream(1000+800, 4000)
	from, to, err := c.TransferLeadership(wait)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SBView.Poll(); err != nil {
		t.Fatal(err)
	}
	atChange := len(s.FDBOnPort(dp, pk))
	t.Logf("leadership member %d → %d with %d of 4000 learned MACs in FDB", from+1, to+1, atChange)
	s.InsertUML(t, 0, 0, macs[4000:4500], "learn 500 after transfer")
	s.DeleteUML(t, 0, 0, macs[:100], "age 100 after transfer")
	s.WaitFDBEqualsUML(t, 0, 0, 2*wait)
	checkOnLeader(t, s)
	remoteMAC(t, s, "f0:00:00:00:99:01")

	// 2. The new leader crashes in the middle of a batch; the switch
	// goes on learning and ageing before there is a new one.
	if err := s.SendUML(0, 0, macs[4500:6500], "learn 2000"); err != nil {
		t.Fatal(err)
	}
	midStream(4400+500, 6400)
	if err := c.Members[to].Kill9(); err != nil {
		t.Fatal(err)
	}
	s.InsertUML(t, 0, 0, macs[6500:], "learn 500 while leaderless")
	s.DeleteUML(t, 0, 0, macs[100:200], "age 100 while leaderless")
	next, err := c.WaitLeader(wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("member %d killed; member %d leads", to+1, next+1)
	s.WaitFDBEqualsUML(t, 0, 0, 2*wait)
	checkOnLeader(t, s)
	remoteMAC(t, s, "f0:00:00:00:99:02")

	// The crashed member comes back as a follower; nothing changes.
	if err := c.Members[to].Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(wait); err != nil {
		t.Fatal(err)
	}
	s.WaitFDBEqualsUML(t, 0, 0, wait)
	s.CheckFDBEqualsUML(t, 0, 0)

	// Nothing duplicated: one FDB row per (datapath, MAC) (the schema's
	// index says so; ovn-sbctl lists them all), and the rows that were
	// right before the changes are the same rows.
	all, err := s.ServerFDB()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range all {
		k := strconv.Itoa(e.DP) + "/" + e.MAC
		if seen[k] {
			t.Errorf("two FDB rows for %s", k)
		}
		seen[k] = true
	}
	after := s.FDB(dp)
	changed := 0
	for _, m := range macs[200:1000] {
		if after[m].UUID != before[m].UUID {
			changed++
		}
	}
	if changed > 0 {
		t.Errorf("%d of the 800 FDB rows written before the leader changes were replaced", changed)
	}
	uml, err := s.ServerUML(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(macs) - 200; len(uml) != want {
		t.Errorf("switch has %d learned MACs, want %d", len(uml), want)
	}
	waitStatus(t, s.GW(), "owned = learned", func(st learnStatus) bool { return st.owned == len(uml) })
	remoteMAC(t, s, "f0:00:00:00:99:03")
	if l := append(s.GW().LogLines("WARN", "southbound"), s.GW().LogLines("ERROR")...); len(l) > 0 {
		t.Logf("vtepgw warnings and errors:\n%s", strings.Join(l, "\n"))
	}
}

// waitMidStream waits until the SB has at least n FDB rows on the stack's
// first vtep port, failing if all arrive first (the change would not be
// mid-stream).
func waitMidStream(t *testing.T, s *Stack, n, all int) {
	t.Helper()
	dp, pk := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)]
	testbed.Eventually(t, wait, 5*time.Millisecond, func() (bool, string) {
		if err := s.SBView.Poll(); err != nil {
			return false, err.Error()
		}
		got := len(s.FDBOnPort(dp, pk))
		if got >= all {
			t.Fatalf("all %d MACs written before the leader change: not mid-stream", all)
		}
		return got >= n, fmt.Sprintf("%d FDB rows, waiting for ≥ %d", got, n)
	})
}

var sbEndpointRE = regexp.MustCompile(`southbound: connected (tcp:127\.0\.0\.1:\d+) `)

// checkOnLeader waits until vtepgw's SB connection is to the cluster's
// leader.
func checkOnLeader(t *testing.T, s *Stack) {
	t.Helper()
	c := s.OVN.SBCluster
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		leader, err := c.Leader()
		if err != nil {
			return false, err.Error()
		}
		out, err := s.GW().AppCtl("status")
		if err != nil {
			return false, err.Error()
		}
		m := sbEndpointRE.FindStringSubmatch(out)
		if m == nil || m[1] != c.Members[leader].TCPRemote() {
			return false, fmt.Sprintf("leader is member %d (%s); vtepgw status:\n%s", leader+1, c.Members[leader].TCPRemote(), out)
		}
		return true, ""
	})
}

// remoteMAC adds a hypervisor port with mac on ls0, bound to hv1, and
// waits until the switch has it as a remote MAC behind hv1's tunnel IP.
func remoteMAC(t *testing.T, s *Stack, mac string) {
	t.Helper()
	port := "vm" + strings.ReplaceAll(mac[len(mac)-5:], ":", "")
	s.OVN.MustNB(t, "lsp-add", "ls0", port, "--", "lsp-set-addresses", port, mac)
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		_, err := s.OVN.SBCtl("lsp-bind", port, "hv1")
		return err == nil, fmt.Sprintf("lsp-bind %s: %v", port, err)
	})
	f := s.VF[0]
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		if err := f.Poll(); err != nil {
			return false, err.Error()
		}
		var got []string
		for _, r := range f.Rows("Ucast_Macs_Remote") {
			ip := f.Rows("Physical_Locator")[r.UUID("locator")].Str("dst_ip")
			got = append(got, r.Str("MAC")+"@"+ip)
		}
		slices.Sort(got)
		return slices.Contains(got, mac+"@"+HVIP), fmt.Sprintf("Ucast_Macs_Remote %v, want %s@%s", got, mac, HVIP)
	})
}
