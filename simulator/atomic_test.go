package simulator_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFlowUpdatesAreAtomic replaces 1000 remote MACs by 1000 others in one
// hardware_vtep transaction while another OpenFlow connection keeps
// dumping the table: every dump must show all of one set and nothing of
// the other (the simulator installs each pass as one OpenFlow bundle).
func TestFlowUpdatesAreAtomic(t *testing.T) {
	const n = 1000
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=1")
	br := ts.lsBridge("ls0")
	lsUUID := strings.TrimSpace(ts.vtepctl("get", "Logical_Switch", "ls0", "_uuid"))
	c := ts.vtepClient()
	setA, setB := make([]string, n), make([]string, n)
	for i := range n {
		setA[i], setB[i] = macN(0x0a, i), macN(0x0b, i)
	}
	transactT(t, c, umrOps(lsUUID, "1.2.3.5", setA))
	of := ts.ofConn(br)
	count := func() (a, b int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs, err := of.FlowStats(ctx, 1, 0x7673696d, ^uint64(0))
		if err != nil {
			t.Error(err)
			return -1, -1
		}
		for _, f := range fs {
			if f.Priority != 1000 || f.Match.EthDst == nil {
				continue
			}
			switch f.Match.EthDst[0] {
			case 0x0a:
				a++
			case 0x0b:
				b++
			}
		}
		return a, b
	}
	ts.waitFor("set A installed", func() (bool, string) {
		a, b := count()
		return a == n && b == 0, ""
	})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		seen  = map[[2]int]int{}
		stop  = make(chan struct{})
		dumps int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, b := count()
			mu.Lock()
			seen[[2]int{a, b}]++
			dumps++
			mu.Unlock()
		}
	}()
	time.Sleep(20 * time.Millisecond)
	// Set B on a new locator: also a new tunnel in the same pass.
	transactT(t, c, umrOps(lsUUID, "1.2.3.6", setB))
	ts.waitFor("set B installed", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return seen[[2]int{0, n}] > 3, ""
	})
	close(stop)
	wg.Wait()
	var states []string
	for k, v := range seen {
		states = append(states, fmt.Sprintf("%d/%d x%d", k[0], k[1], v))
		if k != [2]int{n, 0} && k != [2]int{0, n} {
			t.Errorf("a dump saw an intermediate state: %d of set A and %d of set B", k[0], k[1])
		}
	}
	sort.Strings(states)
	t.Logf("%d dumps, states (A/B x count): %v", dumps, states)
	if seen[[2]int{n, 0}] == 0 {
		t.Error("no dump saw the old state: the test did not observe the transition")
	}
}
