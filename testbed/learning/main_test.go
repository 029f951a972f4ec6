package learning

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

var vtepgwBin string

func TestMain(m *testing.M) {
	os.Exit(testbed.VtepgwMain(m, &vtepgwBin, testbed.VtepgwMainOptions{TempPrefix: "vtepgw-learning", RaceEnv: "VTEPGW_LEARNING_RACE", Prebuilt: true}))
}

const (
	wait = 30 * time.Second
	poll = 20 * time.Millisecond
)

func start(t *testing.T, opts StackOptions) *Stack {
	t.Helper()
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool, testbed.BinNorthd, testbed.BinNBctl,
		testbed.BinSBctl, testbed.BinVtepctl, testbed.BinAppctl)
	opts.Bin = vtepgwBin
	return Start(t, opts)
}

// statusCounters parses the learned-MAC line of `ovs-appctl status`.
var statusRE = regexp.MustCompile(`learned macs in fdb=(\d+) deferred_by_rate=(\d+) refused_by_limit=(\d+)`)

type learnStatus struct{ owned, deferred, refused int }

func status(t *testing.T, g *testbed.Vtepgw) (learnStatus, string) {
	t.Helper()
	out, err := g.AppCtl("status")
	if err != nil {
		t.Fatal(err)
	}
	m := statusRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("status has no learned-MAC line:\n%s", out)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return learnStatus{n(m[1]), n(m[2]), n(m[3])}, out
}

// waitStatus waits until cond holds for the status counters.
func waitStatus(t *testing.T, g *testbed.Vtepgw, what string, cond func(learnStatus) bool) learnStatus {
	t.Helper()
	var st learnStatus
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		var out string
		st, out = status(t, g)
		return cond(st), fmt.Sprintf("%s: status:\n%s", what, out)
	})
	return st
}

// metric scrapes one metric (sum over matching samples), failing if absent.
func metric(t *testing.T, g *testbed.Vtepgw, name string, labels ...string) float64 {
	t.Helper()
	all, err := g.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := testbed.Metric(all, name, labels...)
	if !ok {
		t.Fatalf("no metric %s{%s}", name, strings.Join(labels, ","))
	}
	return v
}

// waitFor polls a database file until cond holds.
func waitFor(t *testing.T, f *Follower, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	if err := f.Wait(timeout, poll, cond); err != nil {
		t.Fatal(err)
	}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
