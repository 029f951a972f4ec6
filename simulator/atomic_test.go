package simulator_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/simulator/openflow"
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

// TestBindingChangeAcrossBridges moves the VLAN 10 frames of a trunk port
// from one logical switch to another (p0 VLAN 0 stays on ls0, p0 VLAN 10
// joins ls1) while frames keep arriving on p0 with VLAN 10. The change
// touches the physical-switch bridge and the new logical switch's bridge,
// two OpenFlow bundles; in the make-before-break order (see stages) every
// frame is handled by the old configuration (ls0 floods it to p1 as it
// is) or by the new one (ls1 floods it to p1 on VLAN 10): p1 sends each
// frame exactly once, none is lost in between.
func TestBindingChangeAcrossBridges(t *testing.T) {
	ts := newSwitch(t, nil)
	ts.vtepctl("add-ls", "ls0", "--", "add-ls", "ls1",
		"--", "bind-ls", ts.ps, "p0", "0", "ls0", "--", "bind-ls", ts.ps, "p1", "0", "ls0",
		"--", "bind-ls", ts.ps, "p1", "10", "ls1")
	ts.lsBridge("ls0")
	ts.lsBridge("ls1")
	ts.waitFlows(ts.ps, "bindings", `in_port=p0 actions=output:"0000-p0-p"`, `in_port=p1,dl_vlan=10 actions=pop_vlan,output:"0010-p1-p"`)
	ctx := context.Background()
	ps := ts.ofConn(ts.ps)
	p1, err := strconv.Atoi(ts.ofport("p1"))
	if err != nil {
		t.Fatal(err)
	}
	p0, err := strconv.Atoi(ts.ofport("p0"))
	if err != nil {
		t.Fatal(err)
	}
	stats := func(port int) openflow.PortStats {
		st, err := ps.PortStats(ctx, uint32(port))
		if err != nil || len(st) != 1 {
			t.Errorf("port stats of %d: %v %v", port, st, err)
			return openflow.PortStats{}
		}
		return st[0]
	}
	tx := func() uint64 { return stats(p1).TxPackets }
	rx := func() uint64 { return stats(p0).RxPackets }
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	// A new source MAC per frame: each frame misses the datapath flow
	// cache and is translated with the flow tables of that moment.
	frame := func(i int64) string {
		src, _ := net.ParseMAC(macN(0x10, int(i)))
		return lab.Frame(bcast, src, 10, 0x0800, nil)
	}
	uc, err := lab.DialUnixctl(ctx, ts.env.VswitchdCtl())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	before, rxBefore := tx(), rx()
	var sent atomic.Int64
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		// Frames back to back, one unixctl round trip each.
		for {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			if _, err := uc.Call(ctx, "netdev-dummy/receive", "p0", frame(sent.Load())); err != nil {
				errc <- err
				return
			}
			// netdev-dummy queues 100 frames: stay well below.
			if n := sent.Add(1); n%20 == 0 {
				for rx()-rxBefore+40 < uint64(n) {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	ts.vtepctl("bind-ls", ts.ps, "p0", "10", "ls1")
	ts.waitFlows(ts.ps, "p0 VLAN 10 on ls1", `in_port=p0,dl_vlan=10 actions=pop_vlan,output:"0010-p0-p"`)
	atChange := sent.Load()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Every frame taken by the datapath: wait until p1 has sent them all.
	var got uint64
	ts.waitFor("every frame received on p0", func() (bool, string) {
		got = rx() - rxBefore
		return got >= uint64(sent.Load()), fmt.Sprintf("%d of %d", got, sent.Load())
	})
	time.Sleep(200 * time.Millisecond)
	if got, in := tx()-before, rx()-rxBefore; got != in || in != uint64(sent.Load()) {
		t.Errorf("p1 sent %d frames for %d received on p0 VLAN 10 (%d injected)", got, in, sent.Load())
	}
	t.Logf("%d frames, %d of them before the change was seen in the flows", sent.Load(), atChange)
}
