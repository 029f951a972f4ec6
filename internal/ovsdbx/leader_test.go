package ovsdbx_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/testbed"
)

type sbGlobal struct {
	UUID string `ovsdb:"_uuid"`
}

var connectsRE = regexp.MustCompile(`^connected (\S+) \(.*, (\d+) connects\)$`)

// status returns the endpoint a Conn is connected to and how many
// connections it has made ("" while not connected).
func status(c *ovsdbx.Conn) (string, int) {
	m := connectsRE.FindStringSubmatch(c.Status())
	if m == nil || !c.Connected() {
		return "", 0
	}
	n, _ := strconv.Atoi(m[2])
	return m[1], n
}

// TestLeaderOnly runs a leader-only Conn against a 3-member RAFT cluster of
// the real ovsdb-server: it connects to the leader whatever the order of
// the remotes, follows a leadership transfer to the new leader, and
// reconnecting does not leave goroutines behind (libovsdb's own leader-only
// watch left one, and the client it belonged to, per connection).
func TestLeaderOnly(t *testing.T) {
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool, testbed.BinAppctl)
	cl := testbed.StartCluster(t, testbed.ClusterOptions{Schema: testbed.SBSchema, Name: "sb"})
	// The leader last, so the first remotes tried are followers.
	eps, err := cl.RemotesLeaderLast(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}

	c, err := ovsdbx.New(ovsdbx.Options{Name: "sb", Endpoints: eps, LeaderOnly: true, MinBackoff: 50 * time.Millisecond,
		ModelFor: func(ovsdb.DatabaseSchema) (model.ClientDBModel, error) {
			return model.NewClientDBModel("OVN_Southbound", map[string]model.Model{"SB_Global": &sbGlobal{}})
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	onLeader := func(what string) int {
		t.Helper()
		var n int
		testbed.Eventually(t, 30*time.Second, 20*time.Millisecond, func() (bool, string) {
			l, err := cl.Leader()
			if err != nil {
				return false, err.Error()
			}
			var ep string
			ep, n = status(c)
			if ep != cl.Members[l].UnixRemote() {
				return false, fmt.Sprintf("%s: leader is %s; %s", what, cl.Members[l].UnixRemote(), c.Status())
			}
			return true, ""
		})
		return n
	}
	n := onLeader("start")

	from, to, err := cl.TransferLeadership(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("leadership moved from member %d to %d", from+1, to+1)
	if m := onLeader("after the transfer"); m <= n {
		t.Fatalf("still on connection %d after the transfer", m)
	}

	// Drop the connection a few times; each reconnect must leave no
	// goroutine behind.
	reconnect := func() {
		t.Helper()
		_, before := status(c)
		c.Client().Disconnect()
		testbed.Eventually(t, 30*time.Second, 10*time.Millisecond, func() (bool, string) {
			_, now := status(c)
			return now > before, c.Status()
		})
	}
	settle := func() int {
		// Goroutines of the closed clients end shortly after Close.
		time.Sleep(300 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	reconnect()
	base := settle()
	const rounds = 8
	for range rounds {
		reconnect()
	}
	if got := settle(); got > base+2 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines after %d reconnects, %d before: a leak\n%s", got, rounds, base, truncate(string(buf), 8000))
	}
	onLeader("after the reconnects")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n…"
}
