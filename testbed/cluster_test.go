package testbed

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseClusterStatus(t *testing.T) {
	out := `9f41
Name: OVN_Southbound
Cluster ID: b264 (b2649a68-8fa3-43af-888d-6566785d5091)
Server ID: 9f41 (9f41a390-9c02-4650-9ca5-ab7a16b3859b)
Address: tcp:127.0.0.1:16701
Status: cluster member
Role: follower
Term: 3
Leader: 28cc
Vote: 28cc
`
	st, err := parseClusterStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	want := ClusterStatus{SID: "9f41", Status: "cluster member", Role: "follower", Term: 3, Leader: "28cc"}
	if st != want {
		t.Errorf("parseClusterStatus = %+v, want %+v", st, want)
	}
	if _, err := parseClusterStatus("no such db"); err == nil {
		t.Error("parseClusterStatus accepted garbage")
	}
}

// TestOVNClusteredSB: a 3-member RAFT SB with northd on it; leadership
// moves by transfer and by a leader crash, and the database carries on
// (northd builds datapaths, ovn-sbctl writes) with each leader.
func TestOVNClusteredSB(t *testing.T) {
	t.Parallel()
	ovn := StartOVNWith(t, OVNOptions{SBMembers: 3})
	c := ovn.SBCluster
	if ovn.SB != nil || c == nil || len(c.Members) != 3 {
		t.Fatalf("SB %v, SBCluster %v", ovn.SB, c)
	}
	if !regexp.MustCompile(`^tcp:127\.0\.0\.1:\d+,tcp:127\.0\.0\.1:\d+,tcp:127\.0\.0\.1:\d+$`).MatchString(c.Remote()) {
		t.Errorf("Remote() = %q", c.Remote())
	}
	if n := strings.Count(ovn.SBRemote(), "unix:"); n != 3 {
		t.Errorf("SBRemote() = %q, want three unix remotes", ovn.SBRemote())
	}
	for i, m := range c.Members {
		if slices.Contains(c.RaftAddrs, m.TCPRemote()) {
			t.Errorf("member %d: client remote %s is its RAFT port", i+1, m.TCPRemote())
		}
		if got, err := m.Client("list-dbs", m.TCPRemote()); err != nil || got != "OVN_Southbound\n_Server" {
			t.Errorf("member %d: ovsdb-client list-dbs = %q, %v", i+1, got, err)
		}
	}
	leader, err := c.WaitLeader(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Members {
		is, err := c.IsLeader(i)
		if err != nil || is != (i == leader) {
			t.Errorf("member %d: _Server leader = %v, %v; cluster/status leader is member %d", i+1, is, err, leader+1)
		}
	}
	ovn.MustNB(t, "ls-add", "ls0")
	waitDatapath(t, ovn, "ls0")

	from, to, err := c.TransferLeadership(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if from == to {
		t.Fatalf("transfer: leader stayed member %d", from+1)
	}
	ovn.MustNB(t, "ls-add", "ls1")
	waitDatapath(t, ovn, "ls1")

	// The leader crashes: the other two elect one; it comes back as a
	// follower and catches up.
	if err := c.Members[to].Kill9(); err != nil {
		t.Fatal(err)
	}
	next, err := c.WaitLeader(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if next == to {
		t.Fatalf("killed member %d is still leader", to+1)
	}
	ovn.MustSB(t, "chassis-add", "hv1", "vxlan", "127.0.1.1")
	if err := c.Members[to].Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(waitLong); err != nil {
		t.Fatal(err)
	}
	Eventually(t, waitLong, poll, func() (bool, string) {
		got, err := c.Members[to].Client("query", c.Members[to].UnixRemote(),
			`["OVN_Southbound",{"op":"select","table":"Chassis","where":[],"columns":["name"]}]`)
		return err == nil && strings.Contains(got, `"hv1"`), fmt.Sprintf("restarted member %d: %s %v", to+1, got, err)
	})
	ovn.MustNB(t, "ls-add", "ls2")
	waitDatapath(t, ovn, "ls2")
}
