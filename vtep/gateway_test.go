package vtep_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/vtep"
	"github.com/vtepgw/vtepgw/vtep/vteptest"
)

func startGateway(t *testing.T, sw *vteptest.Switch, sb *vteptest.Southbound) (*vtep.Gateway, *batchLog) {
	t.Helper()
	bl := &batchLog{}
	g := vtep.NewGateway(sw, sb, vtep.GatewayOptions{Name: "t", OnBatch: bl.add})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return g, bl
}

type batchLog struct {
	mu sync.Mutex
	bs []vtep.BatchStats
}

func (b *batchLog) add(s vtep.BatchStats) {
	b.mu.Lock()
	b.bs = append(b.bs, s)
	b.mu.Unlock()
}

func (b *batchLog) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.bs)
}

func waitFor(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestGatewayConvergesAndIsIdempotent(t *testing.T) {
	sw := vteptest.NewSwitch("ls0", "ls1")
	sb := vteptest.NewSouthbound()
	mk := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:01"}
	sb.VNI["ls0"] = 7
	sb.Ucast[mk] = "10.0.0.1"
	sb.Flood["ls0"] = []string{"10.0.0.2", "10.0.0.1"}
	g, bl := startGateway(t, sw, sb)
	g.Resync()
	waitFor(t, "convergence", func() bool { _, ok := sw.UcastRemote(mk); return ok && sw.Applies() == 1 })

	if ls, _ := sw.LogicalSwitch("ls0"); ls.VNI == nil || *ls.VNI != 7 || ls.ReplicationMode != vtep.ReplicationSourceNode {
		t.Fatalf("ls0 = %+v, want VNI 7 source_node", ls)
	}
	if m, _ := sw.McastRemote(vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst}); len(m.Locators) != 2 || m.Locators[0] != "10.0.0.1" {
		t.Fatalf("flood = %+v, want sorted [10.0.0.1 10.0.0.2]", m)
	}
	if ls, _ := sw.LogicalSwitch("ls1"); ls.VNI != nil {
		t.Fatalf("ls1 got VNI %d; the fake wants none", *ls.VNI)
	}
	// Everything again: nothing to write.
	n := bl.len()
	g.Resync()
	g.Enqueue(vtep.UcastRemoteKey(mk))
	waitFor(t, "second batch", func() bool { return bl.len() > n })
	if got := sw.Applies(); got != 1 {
		t.Fatalf("applies after an unchanged resync = %d, want 1: %+v", got, sw.Applied[1])
	}
}

func TestGatewayOneApplyPerBatch(t *testing.T) {
	sw := vteptest.NewSwitch("ls0")
	sb := vteptest.NewSouthbound()
	sb.VNI["ls0"] = 1
	g, _ := startGateway(t, sw, sb)
	var keys []vtep.Key
	for i := range 500 {
		mk := vtep.MACKey{LS: "ls0", MAC: macN(i)}
		sb.Set(func(f *vteptest.Southbound) { f.Ucast[mk] = "10.0.0.1" })
		keys = append(keys, vtep.UcastRemoteKey(mk))
	}
	for _, k := range keys {
		g.Enqueue(k)
	}
	waitFor(t, "500 MACs", func() bool { return len(sw.Entries(vtep.KindUcastRemote)) == 500 })
	if got := sw.Applies(); got != 1 {
		t.Fatalf("500 keys enqueued together took %d applies, want 1", got)
	}
}

func TestGatewayRetriesFailures(t *testing.T) {
	sw := vteptest.NewSwitch("ls0")
	sw.FailApply = 2
	sb := vteptest.NewSouthbound()
	sb.FailNext = 1
	sb.PanicNext = true
	mk := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:01"}
	sb.Ucast[mk] = "10.0.0.1"
	gw, _ := startGateway(t, sw, sb)
	gw.Enqueue(vtep.UcastRemoteKey(mk))
	waitFor(t, "retry to succeed", func() bool { _, ok := sw.UcastRemote(mk); return ok })
	sb.Set(func(f *vteptest.Southbound) {
		if f.PanicNext || f.FailNext > 0 {
			t.Errorf("faults not consumed: panic=%v fail=%d", f.PanicNext, f.FailNext)
		}
	})
}

func TestGatewayResyncSweepsStrayEntries(t *testing.T) {
	sw := vteptest.NewSwitch("ls0")
	stray := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:99"}
	sw.Ucast[stray] = vtep.UcastMAC{MACKey: stray, Locator: "10.9.9.9"}
	sw.Mcast[vtep.MACKey{LS: "ls0", MAC: "01:00:5e:00:00:01"}] = vtep.McastMAC{Locators: []string{"10.9.9.9"}}
	sb := vteptest.NewSouthbound()
	g, _ := startGateway(t, sw, sb)
	g.Resync()
	waitFor(t, "sweep", func() bool {
		return len(sw.Entries(vtep.KindUcastRemote)) == 0 && len(sw.Entries(vtep.KindMcastRemote)) == 0
	})
}

func TestGatewayHoldsKeysWhileNotReady(t *testing.T) {
	sw := vteptest.NewSwitch("ls0")
	sb := vteptest.NewSouthbound()
	sb.NotReady = true
	mk := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:01"}
	sb.Ucast[mk] = "10.0.0.1"
	g, _ := startGateway(t, sw, sb)
	g.Enqueue(vtep.UcastRemoteKey(mk))
	time.Sleep(100 * time.Millisecond)
	if sw.Applies() != 0 {
		t.Fatal("applied while the southbound was not ready")
	}
	sb.Set(func(f *vteptest.Southbound) { f.NotReady = false })
	waitFor(t, "held key to be applied", func() bool { _, ok := sw.UcastRemote(mk); return ok })
}

// partialSwitch holds no remote unicast MACs and replicates service-node
// only; it refuses changesets asking for more, as a driver must.
type partialSwitch struct{ *vteptest.Switch }

func (partialSwitch) Supports(k vtep.Key) bool { return k.Kind != vtep.KindUcastRemote }

func (partialSwitch) SupportsMode(m string) bool { return m == "" || m == vtep.ReplicationServiceNode }

func (p partialSwitch) Apply(ctx context.Context, cs *vtep.Changeset) error {
	if len(cs.UcastRemote) > 0 {
		return fmt.Errorf("remote unicast MACs: %w", vteptest.ErrInjected)
	}
	for _, c := range cs.LogicalSwitches {
		if !p.SupportsMode(c.ReplicationMode) {
			return fmt.Errorf("mode %s: %w", c.ReplicationMode, vteptest.ErrInjected)
		}
	}
	return p.Switch.Apply(ctx, cs)
}

// A switch that cannot hold some kinds gets the rest, and the gateway does
// not retry what the switch cannot do.
func TestGatewaySkipsUnsupported(t *testing.T) {
	sw := vteptest.NewSwitch("ls0")
	sb := vteptest.NewSouthbound()
	mk := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:01"}
	sb.VNI["ls0"] = 7 // the fake wants source_node
	sb.Ucast[mk] = "10.0.0.1"
	sb.Flood["ls0"] = []string{"10.0.0.2"}
	bl := &batchLog{}
	g := vtep.NewGateway(partialSwitch{sw}, sb, vtep.GatewayOptions{Name: "t", OnBatch: bl.add})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() { cancel(); <-done }()
	g.Resync()
	g.Enqueue(vtep.UcastRemoteKey(mk))
	waitFor(t, "VNI and flood list", func() bool {
		_, ok := sw.McastRemote(vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst})
		ls, _ := sw.LogicalSwitch("ls0")
		return ok && ls.VNI != nil && *ls.VNI == 7
	})
	time.Sleep(300 * time.Millisecond)
	if _, ok := sw.UcastRemote(mk); ok {
		t.Fatal("unsupported remote MAC written")
	}
	if ls, _ := sw.LogicalSwitch("ls0"); ls.ReplicationMode != "" {
		t.Fatalf("unsupported mode written: %+v", ls)
	}
	bl.mu.Lock()
	defer bl.mu.Unlock()
	for _, b := range bl.bs {
		if b.Err != nil {
			t.Errorf("batch failed (the gateway asked for something unsupported): %v", b.Err)
		}
	}
	if g.Pending() != 0 {
		t.Errorf("%d keys still pending (retried)", g.Pending())
	}
}

func TestCleanupChangeset(t *testing.T) {
	sw := vteptest.NewSwitch("ls0", "ls1")
	v := 3
	sw.LSes["ls0"] = vtep.LogicalSwitch{Name: "ls0", VNI: &v}
	mk := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:01"}
	sw.Ucast[mk] = vtep.UcastMAC{MACKey: mk, Locator: "10.0.0.1"}
	cs := vtep.CleanupChangeset(sw)
	if len(cs.LogicalSwitches) != 1 || cs.LogicalSwitches[0].VNI != nil || len(cs.UcastRemote) != 1 || cs.UcastRemote[0].Set != nil {
		t.Fatalf("cleanup = %+v", cs)
	}
	if err := sw.Apply(context.Background(), cs); err != nil || len(sw.Entries(vtep.KindUcastRemote)) != 0 {
		t.Fatalf("apply cleanup: %v", err)
	}
	sw.FailApply = 1
	if err := sw.Apply(context.Background(), cs); !errors.Is(err, vteptest.ErrInjected) {
		t.Fatalf("fault hook: %v", err)
	}
}

func macN(i int) string {
	return fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8&0xff, i&0xff)
}

// downSwitch is a switch whose session is down: its reads are empty, as a
// driver's are while it reconnects.
type downSwitch struct {
	*vteptest.Switch
	mu sync.Mutex
	up bool
}

func (d *downSwitch) Connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.up
}

func (d *downSwitch) setUp() {
	d.mu.Lock()
	d.up = true
	d.mu.Unlock()
}

// TestGatewayHoldsKeysWhileSwitchDown: a batch that ran on a disconnected
// switch's empty reads would tell the southbound that every physical
// switch is gone (deleting their chassis). The gateway holds the keys, and
// processes them once the switch is back.
func TestGatewayHoldsKeysWhileSwitchDown(t *testing.T) {
	sw := &downSwitch{Switch: vteptest.NewSwitch("ls0")}
	sb := vteptest.NewSouthbound()
	mk := vtep.MACKey{LS: "ls0", MAC: "00:00:00:00:00:01"}
	sb.Ucast[mk] = "10.0.0.1"
	g := vtep.NewGateway(sw, sb, vtep.GatewayOptions{Name: "t"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = g.Run(ctx) }()
	g.Enqueue(vtep.UcastRemoteKey(mk))
	g.Enqueue(vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: "ps0"})
	time.Sleep(100 * time.Millisecond)
	var n int
	sb.Set(func(f *vteptest.Southbound) { n = len(f.Batches) })
	if n != 0 {
		t.Fatalf("the southbound reconciled %d times against a disconnected switch", n)
	}
	if sw.Applies() != 0 {
		t.Fatal("applied to a disconnected switch")
	}
	sw.setUp()
	waitFor(t, "held key to be applied", func() bool { _, ok := sw.UcastRemote(mk); return ok })
}
