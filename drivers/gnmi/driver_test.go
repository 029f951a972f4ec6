package gnmi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	gnmidrv "github.com/vtepgw/vtepgw/drivers/gnmi"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
	"github.com/vtepgw/vtepgw/vtep"
	"github.com/vtepgw/vtepgw/vtep/vteptest"
)

var adapters = []string{"sonic", "eos"}

func vni(n int) *int { return &n }

func setU(ls, mac, loc, ip string) vtep.UcastChange {
	k := vtep.MACKey{LS: ls, MAC: mac}
	return vtep.UcastChange{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: loc, IP: ip}}
}

func setFlood(ls string, locs ...string) vtep.McastChange {
	k := vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}
	return vtep.McastChange{Key: k, Set: &vtep.McastMAC{MACKey: k, Locators: locs}}
}

// TestRoundTrip: TLS and a password, topology read from the device, one
// changeset applied with one Set and read back through both views.
func TestRoundTrip(t *testing.T) {
	for _, ad := range adapters {
		t.Run(ad, func(t *testing.T) {
			t.Parallel()
			d := harness{adapter: ad}.start(t)
			s, k := d.connect(t)
			eventually(t, "resync", func() bool { return k.has(vtep.Key{Kind: vtep.KindResync}) })
			if !s.Connected() || !strings.Contains(s.Status(), "connected to 127.0.0.1:") || s.ID() != "gnmi:sw1" {
				t.Fatalf("Connected %v, Status %q, ID %q", s.Connected(), s.Status(), s.ID())
			}
			want := []vtep.PhysicalSwitch{{Name: "sw1", TunnelIPs: []string{"192.0.2.1"}, Ports: []vtep.Port{
				{Name: "Ethernet0", Bindings: map[int]string{100: "ls0", 200: "ls1"}},
				{Name: "Ethernet4", Bindings: map[int]string{0: "ls0"}},
			}}}
			if got := s.PhysicalSwitches(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("PhysicalSwitches = %+v\nwant %+v", got, want)
			}
			if ls := s.LogicalSwitches(); len(ls) != 2 || ls[0].Name != "ls0" || ls[0].VNI != nil || ls[1].Name != "ls1" {
				t.Fatalf("LogicalSwitches = %+v", ls)
			}

			before := d.dev.Applies()
			cs := &vtep.Changeset{
				LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vni(5000)}, {Name: "ls1", VNI: vni(5001)}},
				UcastRemote: []vtep.UcastChange{
					setU("ls0", "02:00:00:00:00:01", "192.0.2.11", ""),
					setU("ls0", "02:00:00:00:00:02", "192.0.2.12", "10.0.0.2"),
					setU("ls1", "02:00:00:00:01:01", "192.0.2.11", ""),
				},
				McastRemote: []vtep.McastChange{setFlood("ls0", "192.0.2.12", "192.0.2.11"), setFlood("ls1", "192.0.2.13")},
			}
			if err := s.Apply(t.Context(), cs); err != nil {
				t.Fatal(err)
			}
			if n := d.dev.Applies() - before; n != 1 {
				t.Fatalf("%d device writes, want 1 (one Set)", n)
			}
			st := d.dev.Snapshot()
			v0, v1 := st.VLANs[100], st.VLANs[200]
			if v0.VNI != 5000 || v1.VNI != 5001 || v0.Remote["02:00:00:00:00:02"] != "192.0.2.12" ||
				v1.Remote["02:00:00:00:01:01"] != "192.0.2.11" || !slices.Equal(v0.FloodList(), []string{"192.0.2.11", "192.0.2.12"}) {
				t.Fatalf("device: %+v %+v", v0, v1)
			}
			// Read-your-writes, and the core's re-diff is empty.
			for _, c := range cs.UcastRemote {
				got, ok := s.UcastRemote(c.Key)
				if !ok || vtep.DiffUcast(c.Key, c.Set, &got) != nil {
					t.Fatalf("UcastRemote(%s) = %+v, %v", c.Key, got, ok)
				}
			}
			for _, c := range cs.McastRemote {
				got, ok := s.McastRemote(c.Key)
				if !ok || vtep.DiffMcast(c.Key, c.Set, &got) != nil {
					t.Fatalf("McastRemote(%s) = %+v, %v", c.Key, got, ok)
				}
			}
			for _, c := range cs.LogicalSwitches {
				got, _ := s.LogicalSwitch(c.Name)
				if vtep.DiffLogicalSwitch(vtep.LogicalSwitch{Name: c.Name, VNI: c.VNI, ReplicationMode: vtep.ReplicationSourceNode}, got) != nil {
					t.Fatalf("LogicalSwitch(%s) = %+v", c.Name, got)
				}
			}
			if n := len(s.Entries(vtep.KindUcastRemote)); n != 3 {
				t.Fatalf("Entries(ucast) = %d", n)
			}
			// The same changeset again writes nothing.
			before = d.dev.Applies()
			if err := s.Apply(t.Context(), cs); err != nil {
				t.Fatal(err)
			}
			if n := d.dev.Applies() - before; n != 0 {
				t.Fatalf("reapplying wrote %d times", n)
			}
			// What the devices lack is refused before anything is written.
			grp := vtep.MACKey{LS: "ls0", MAC: "01:00:5e:00:00:fb"}
			err := s.Apply(t.Context(), &vtep.Changeset{
				UcastRemote: []vtep.UcastChange{setU("ls0", "02:00:00:00:00:09", "192.0.2.11", "")},
				McastRemote: []vtep.McastChange{{Key: grp, Set: &vtep.McastMAC{MACKey: grp, Locators: []string{"192.0.2.11"}}}},
			})
			if !errors.Is(err, drivers.ErrUnsupported) || d.dev.Applies() != before {
				t.Fatalf("multicast group: %v", err)
			}
			err = s.Apply(t.Context(), &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vni(1), ReplicationMode: vtep.ReplicationServiceNode}}})
			if !errors.Is(err, drivers.ErrUnsupported) {
				t.Fatalf("service_node: %v", err)
			}
			s.Close()
			if err := s.Apply(t.Context(), cs); !errors.Is(err, drivers.ErrDisconnected) || s.Connected() {
				t.Fatalf("Apply after Close = %v", err)
			}
		})
	}
}

// TestAuthRejected: a wrong password and an untrusted certificate keep the
// session from connecting, and the password never reaches the logs.
func TestAuthRejected(t *testing.T) {
	d := harness{adapter: "sonic"}.start(t)
	other := facetest.NewCA(t)
	for _, tc := range []struct {
		name     string
		settings map[string]any
		endpoint string
		want     string
	}{
		{"wrong password", map[string]any{"password": "letmein-WRONG"}, "", "Unauthenticated"},
		{"untrusted certificate", map[string]any{"tls-ca": other.CAFile}, "", "certificate"},
		{"wrong server name", map[string]any{"tls-server-name": "evil.example"}, "", "certificate"},
		{"plaintext to a TLS target", nil, "tcp:", "Unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := d.params()
			p.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			p.Settings = map[string]any{}
			for k, v := range d.settings {
				p.Settings[k] = v
			}
			for k, v := range tc.settings {
				p.Settings[k] = v
			}
			p.Endpoints = []string{tc.endpoint + d.addr()}
			c, err := drivers.NewConnector(gnmidrv.Name, p)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			s, err := c.Connect(ctx, func(vtep.Key) {})
			if err == nil {
				s.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Connect: %v, want %q in it", err, tc.want)
			}
			for _, secret := range []string{pass, "letmein-WRONG"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Fatalf("the password leaked:\nerr: %v\nlogs: %s", err, logs.String())
				}
			}
		})
	}
}

// gatewayFor runs a vtep.Gateway over s against sb; notifications before
// the gateway exists are dropped and replaced by a Resync, as the daemon
// does.
type gatewayRun struct {
	gw atomic.Pointer[vtep.Gateway]
}

func (g *gatewayRun) notify(k vtep.Key) {
	if gw := g.gw.Load(); gw != nil {
		gw.Enqueue(k)
	}
}

// TestReconnectResync: the target dies and comes back having lost its
// configuration (and with an entry nobody wants); the session reconnects
// with backoff, announces a resync, and the core's diff converges the
// device again.
func TestReconnectResync(t *testing.T) {
	for _, ad := range adapters {
		t.Run(ad, func(t *testing.T) {
			t.Parallel()
			d := harness{adapter: ad}.start(t)
			var run gatewayRun
			k := &keys{}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			s, err := d.Connector().Connect(ctx, func(key vtep.Key) { k.add(key); run.notify(key) })
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			sb := vteptest.NewSouthbound()
			sb.Set(func(f *vteptest.Southbound) {
				f.VNI["ls0"], f.VNI["ls1"] = 7000, 7001
				for i := range 50 {
					f.Ucast[vtep.MACKey{LS: "ls0", MAC: fmt.Sprintf("02:00:00:00:10:%02x", i)}] = fmt.Sprintf("192.0.2.%d", 20+i%4)
				}
				f.Ucast[vtep.MACKey{LS: "ls1", MAC: "02:00:00:00:20:01"}] = "192.0.2.30"
				f.Flood["ls0"] = []string{"192.0.2.20", "192.0.2.21"}
				f.Flood["ls1"] = []string{"192.0.2.30"}
			})
			gw := vtep.NewGateway(s, sb, vtep.GatewayOptions{Name: "sw1"})
			run.gw.Store(gw)
			gctx, gcancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { _ = gw.Run(gctx) })
			defer func() { gcancel(); wg.Wait() }()
			gw.Resync()

			converged := func() bool {
				st := d.dev.Snapshot()
				v0, v1 := st.VLANs[100], st.VLANs[200]
				return v0.VNI == 7000 && v1.VNI == 7001 && len(v0.Remote) == 50 && len(v1.Remote) == 1 &&
					v0.Remote["02:00:00:00:10:05"] == "192.0.2.21" && len(v0.Flood) == 2 && len(v1.Flood) == 1
			}
			eventually(t, "first convergence", converged)

			resyncs := k.count(vtep.Key{Kind: vtep.KindResync})
			d.mu.Lock()
			d.face.Stop()
			d.mu.Unlock()
			eventually(t, "disconnect noticed", func() bool { return !s.Connected() })
			if err := s.Apply(t.Context(), &vtep.Changeset{UcastRemote: []vtep.UcastChange{setU("ls0", "02:00:00:00:00:99", "192.0.2.1", "")}}); !errors.Is(err, drivers.ErrDisconnected) {
				t.Fatalf("Apply while disconnected = %v", err)
			}
			// The switch reloads: controller state lost, a stale entry appears.
			d.dev.Reset()
			if err := d.dev.Apply([]gnmiface.Op{{Kind: gnmiface.OpSetRemote, VLAN: 100, MAC: "02:00:00:00:ff:ff", IP: "192.0.2.99"}}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // a few failed attempts, backing off
			d.mu.Lock()
			d.face = facetest.Start(t, d.face.Addr, d.faceOptions())
			d.mu.Unlock()
			eventually(t, "resync after reconnect", func() bool { return k.count(vtep.Key{Kind: vtep.KindResync}) > resyncs })
			eventually(t, "convergence after the reload", func() bool {
				_, stale := d.dev.Snapshot().VLANs[100].Remote["02:00:00:00:ff:ff"]
				return converged() && !stale
			})
		})
	}
}

// TestLearnedMACStreamed: MACs the switch learns and ages reach the core
// as KindUcastLocal through the ON_CHANGE stream.
func TestLearnedMACStreamed(t *testing.T) {
	for _, ad := range adapters {
		t.Run(ad, func(t *testing.T) {
			t.Parallel()
			d := harness{adapter: ad}.start(t)
			s, k := d.connect(t)
			key := vtep.MACKey{LS: "ls1", MAC: "02:00:00:00:aa:01"}
			nk := vtep.Key{Kind: vtep.KindUcastLocal, Name: key.LS, MAC: key.MAC}
			t0 := time.Now()
			if _, err := d.dev.Learn(200, key.MAC, "Ethernet0"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "learned MAC notified", func() bool { return k.has(nk) })
			t.Logf("learned MAC notified after %v", time.Since(t0))
			u, ok := s.UcastLocal(key)
			if !ok || u.Locator != "192.0.2.1" || !slices.Contains(s.Entries(vtep.KindUcastLocal), key) {
				t.Fatalf("UcastLocal = %+v, %v; entries %v", u, ok, s.Entries(vtep.KindUcastLocal))
			}
			n := k.count(nk)
			if _, err := d.dev.Forget(200, key.MAC); err != nil {
				t.Fatal(err)
			}
			eventually(t, "aged MAC notified", func() bool { return k.count(nk) > n })
			if _, ok := s.UcastLocal(key); ok || len(s.Entries(vtep.KindUcastLocal)) != 0 {
				t.Fatal("aged MAC still read")
			}
		})
	}
}

// TestBigChangeset: 2000 MACs, a VNI and a flood list in one Set.
func TestBigChangeset(t *testing.T) {
	for _, ad := range adapters {
		t.Run(ad, func(t *testing.T) {
			t.Parallel()
			d := harness{adapter: ad, settings: map[string]any{"max-remote-macs": 3000}}.start(t)
			s, _ := d.connect(t)
			cs := &vtep.Changeset{
				LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: vni(9000)}},
				McastRemote:     []vtep.McastChange{setFlood("ls0", "192.0.2.40", "192.0.2.41")},
			}
			for i := range 2000 {
				cs.UcastRemote = append(cs.UcastRemote, setU("ls0", fmt.Sprintf("02:00:00:01:%02x:%02x", i>>8, i&0xff), fmt.Sprintf("192.0.2.%d", 40+i%8), ""))
			}
			before := d.dev.Applies()
			t0 := time.Now()
			if err := s.Apply(t.Context(), cs); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: 2000 MACs applied in %v", ad, time.Since(t0))
			if n := d.dev.Applies() - before; n != 1 {
				t.Fatalf("%d device writes, want 1", n)
			}
			if v := d.dev.Snapshot().VLANs[100]; len(v.Remote) != 2000 || v.VNI != 9000 {
				t.Fatalf("device holds %d MACs, VNI %d", len(v.Remote), v.VNI)
			}
			if n := len(s.Entries(vtep.KindUcastRemote)); n != 2000 {
				t.Fatalf("session reads %d MACs", n)
			}
		})
	}
}

// TestStaticBindings: a device whose bindings the adapter cannot read
// reports the configured ones.
func TestStaticBindings(t *testing.T) {
	d := harness{adapter: "eos", settings: map[string]any{
		"logical-switches": []any{"blue=100", "red=200"},
		"bindings":         []any{"Ethernet1/1/100=blue", "Ethernet1/2/0=red"},
	}}.start(t)
	s, _ := d.connect(t)
	want := "[{sw1  [192.0.2.1] [{Ethernet1/1 map[100:blue]} {Ethernet1/2 map[0:red]}] []}]"
	if got := fmt.Sprint(s.PhysicalSwitches()); got != want {
		t.Fatalf("PhysicalSwitches = %s\nwant %s", got, want)
	}
	if err := s.Apply(t.Context(), &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "red", VNI: vni(42)}}}); err != nil {
		t.Fatal(err)
	}
	if v := d.dev.Snapshot().VLANs[200].VNI; v != 42 {
		t.Fatalf("VLAN 200 VNI = %d", v)
	}
}

func TestOptions(t *testing.T) {
	base := func() map[string]any { return map[string]any{"adapter": "sonic"} }
	for _, tc := range []struct {
		name      string
		endpoints []string
		set       map[string]any
		want      string
	}{
		{"ok", []string{"127.0.0.1:57400"}, nil, ""},
		{"ok tls and tcp", []string{"tls:127.0.0.1:1", "tcp:127.0.0.1:2"}, nil, ""},
		{"no endpoint", nil, nil, "no endpoint"},
		{"bad endpoint", []string{"127.0.0.1"}, nil, "HOST:PORT"},
		{"no adapter", []string{"127.0.0.1:1"}, map[string]any{"adapter": nil}, "adapter"},
		{"unknown adapter", []string{"127.0.0.1:1"}, map[string]any{"adapter": "junos"}, "unknown adapter"},
		{"eos needs tunnel-ip", []string{"127.0.0.1:1"}, map[string]any{"adapter": "eos"}, "tunnel-ip"},
		{"password needs username", []string{"127.0.0.1:1"}, map[string]any{"password": "hunter2"}, "username"},
		{"password not echoed", []string{"127.0.0.1:1"}, map[string]any{"username": "u", "password": 12345678}, "password: want a string"},
		{"unknown setting", []string{"127.0.0.1:1"}, map[string]any{"colour": "red"}, "unknown setting"},
		{"bad binding", []string{"127.0.0.1:1"}, map[string]any{"bindings": []any{"Ethernet0=ls0"}}, "PORT/VLAN=LS"},
		{"untagged binding needs a VLAN", []string{"127.0.0.1:1"}, map[string]any{"bindings": []any{"Ethernet0/0=ls0"}}, "logical-switches"},
		{"bad duration", []string{"127.0.0.1:1"}, map[string]any{"poll-interval": "often"}, "duration"},
		{"cert without key", []string{"127.0.0.1:1"}, map[string]any{"tls-cert": "/x.pem"}, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := base()
			for k, v := range tc.set {
				if v == nil {
					delete(set, k)
				} else {
					set[k] = v
				}
			}
			_, err := gnmidrv.Driver{}.NewConnector(drivers.Params{Name: "sw1", Endpoints: tc.endpoints, Settings: set})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, drivers.ErrInvalid) {
				t.Fatalf("err = %v, want %q and ErrInvalid", err, tc.want)
			}
			if strings.Contains(err.Error(), "12345678") || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the password leaked: %v", err)
			}
		})
	}
}
