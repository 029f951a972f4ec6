package acmesim_test

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"example.com/acme-vtep-driver/acmeapi"
	"example.com/acme-vtep-driver/acmesim"
)

func serve(t *testing.T, sw *acmesim.Switch) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sw.Serve(ln) }()
	t.Cleanup(func() { _ = sw.Close() })
	return ln.Addr().String()
}

// events collects a connection's events.
type events struct {
	mu  sync.Mutex
	evs []acmeapi.Event
}

func (e *events) add(ev acmeapi.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) take() []acmeapi.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.evs
	e.evs = nil
	return out
}

func vni(n int) *int { return &n }

// A commit is all or nothing, and its events reach the committing client
// before its reply.
func TestCommit(t *testing.T) {
	ctx := t.Context()
	sw := acmesim.New(acmesim.Options{MaxMACsPerBD: 2})
	var evs events
	c, err := acmeapi.Dial(ctx, serve(t, sw), evs.add)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var cfg acmeapi.Config
	if err := c.Call(ctx, acmeapi.CmdSubscribe, nil, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.BridgeDomains) != 2 || len(cfg.RemoteMACs) != 0 {
		t.Fatalf("fresh switch: %+v", cfg)
	}

	good := []acmeapi.Op{
		{Op: acmeapi.OpSetBD, BD: "bd10", VNI: vni(100), Replication: acmeapi.ReplicationIngress},
		{Op: acmeapi.OpSetRemoteMAC, BD: "bd10", MAC: "02:00:00:00:00:0A", VTEP: "192.0.2.1"},
		{Op: acmeapi.OpSetFloodGroup, BD: "bd10", Group: acmeapi.GroupBUM, VTEPs: []string{"192.0.2.2", "192.0.2.1", "192.0.2.2"}},
	}
	var res acmeapi.CommitResult
	if err := c.Call(ctx, acmeapi.CmdCommit, good, &res); err != nil {
		t.Fatal(err)
	}
	if res.Applied != 3 {
		t.Errorf("Applied = %d, want 3", res.Applied)
	}
	if got := evs.take(); len(got) != 3 || got[1].RemoteMAC == nil || got[1].Key != "02:00:00:00:00:0a" {
		t.Errorf("events when the reply arrived: %v, want the commit's 3 (MACs lower-cased)", got)
	}
	cfg = sw.Config()
	if g := cfg.FloodGroups; len(g) != 1 || len(g[0].VTEPs) != 2 || g[0].VTEPs[0] != "192.0.2.1" {
		t.Errorf("flood groups %+v, want VTEPs sorted and de-duplicated", g)
	}
	writes := sw.Writes()

	for _, tc := range []struct {
		name string
		ops  []acmeapi.Op
		code string
	}{
		{"a bad op among good ones", []acmeapi.Op{
			{Op: acmeapi.OpDeleteRemoteMAC, BD: "bd10", MAC: "02:00:00:00:00:0a"},
			{Op: acmeapi.OpSetRemoteMAC, BD: "bd10", MAC: "02:00:00:00:00:0b", VTEP: "not-an-ip"},
		}, acmeapi.CodeBadRequest},
		{"unknown bridge domain", []acmeapi.Op{{Op: acmeapi.OpSetBD, BD: "bd99", VNI: vni(1)}}, acmeapi.CodeNoSuchBD},
		{"service-node replication", []acmeapi.Op{{Op: acmeapi.OpSetBD, BD: "bd10", Replication: acmeapi.ReplicationServiceNode}}, acmeapi.CodeNotSupported},
		{"a third MAC in a table of two", []acmeapi.Op{{Op: acmeapi.OpSetRemoteMAC, BD: "bd10", MAC: "02:00:00:00:00:0c", VTEP: "192.0.2.1"}}, acmeapi.CodeTableFull},
		{"a multicast MAC as a remote MAC", []acmeapi.Op{{Op: acmeapi.OpSetRemoteMAC, BD: "bd20", MAC: "01:00:5e:00:00:01", VTEP: "192.0.2.1"}}, acmeapi.CodeBadRequest},
		{"a unicast MAC as a flood group", []acmeapi.Op{{Op: acmeapi.OpSetFloodGroup, BD: "bd20", Group: "02:00:00:00:00:01", VTEPs: []string{"192.0.2.1"}}}, acmeapi.CodeBadRequest},
		{"VNI out of range", []acmeapi.Op{{Op: acmeapi.OpSetBD, BD: "bd20", VNI: vni(1 << 24)}}, acmeapi.CodeBadRequest},
	} {
		err := c.Call(ctx, acmeapi.CmdCommit, tc.ops, nil)
		var ae *acmeapi.Error
		if !errors.As(err, &ae) || ae.Code != tc.code {
			t.Errorf("%s: commit = %v, want code %s", tc.name, err, tc.code)
		}
	}
	if w := sw.Writes(); w != writes {
		t.Errorf("failed commits wrote: Writes %d → %d", writes, w)
	}
	if got := evs.take(); len(got) != 0 {
		t.Errorf("failed commits made events: %v", got)
	}
	after := sw.Config()
	bd10, bd20 := after.BridgeDomains[0], after.BridgeDomains[1]
	if len(after.RemoteMACs) != 1 || bd10.VNI == nil || *bd10.VNI != 100 || bd20.VNI != nil {
		t.Errorf("state changed by failed commits: %+v", after)
	}
}

// pipeListener hands the switch one end of a synchronous pipe, so that a
// client that stops reading stalls the switch's writer at once.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

// A session that does not read its events is reset once its queue is
// full; the switch carries on.
func TestStalledSessionIsReset(t *testing.T) {
	sw := acmesim.New(acmesim.Options{EventQueue: 4})
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	go func() { _ = sw.Serve(ln) }()
	t.Cleanup(func() { _ = sw.Close() })
	client, server := net.Pipe()
	defer client.Close()
	ln.conns <- server
	if _, err := client.Write([]byte(`{"id":1,"cmd":"subscribe"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, sub := sw.Sessions(); sub == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session did not subscribe")
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 10 { // the reply, then events, none read
		if err := sw.Learn("bd10", net.HardwareAddr{2, 0, 0, 0, 0, byte(i)}.String()); err != nil {
			t.Fatal(err)
		}
	}
	if all, _ := sw.Sessions(); all != 0 {
		t.Errorf("%d sessions after overflowing a stalled one's queue, want 0", all)
	}
	if n := len(sw.Config().LearnedMACs); n != 10 {
		t.Errorf("%d learned MACs, want 10", n)
	}
}
