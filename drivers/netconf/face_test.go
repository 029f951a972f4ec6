package netconf

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
	"github.com/vtepgw/vtepgw/vtep"
)

// face is the simulator's NETCONF face on an in-memory device, served on
// 127.0.0.1 for one test.
type face struct {
	t        testing.TB
	dev      *netconfface.MemDevice
	srv      *netconfface.Server
	addr     string
	settings map[string]any
}

// faceOpts say how to start a face.
type faceOpts struct {
	candidate bool
	adapter   string
	// ports seed the device (default: p0 untagged → ls0, p1 VLAN 100 → ls1).
	ports map[string]map[int]string
}

func startFace(t testing.TB, o faceOpts) *face {
	t.Helper()
	ports := o.ports
	if ports == nil {
		ports = map[string]map[int]string{"p0": {0: "ls0"}, "p1": {100: "ls1"}}
	}
	f := &face{t: t, dev: netconfface.NewMemDevice(netconfface.MemConfig{Name: "tor1", TunnelIPs: []string{"192.0.2.4"}, Ports: ports})}
	dir := t.TempDir()
	host, err := netconfface.LoadOrCreateHostKey(filepath.Join(dir, "hostkey"))
	must(t, err)
	f.srv, err = netconfface.New(netconfface.Options{Device: f.dev, Candidate: o.candidate,
		Users: map[string]string{"vtepgw": "s3cret"}, HostKey: host})
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	f.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("face: %v", err)
		}
	})
	kh := filepath.Join(dir, "known_hosts")
	must(t, os.WriteFile(kh, []byte(netconfface.KnownHostsLine(f.addr, host.PublicKey())), 0o600))
	adapter := o.adapter
	if adapter == "" {
		adapter = "vtepgw"
	}
	f.settings = map[string]any{"username": "vtepgw", "password": "s3cret", "known-hosts": kh,
		"adapter": adapter, "poll-interval": "50ms", "timeout": "10s"}
	return f
}

func (f *face) Connector() drivers.Connector {
	c, err := drivers.NewConnector(Name, drivers.Params{Name: "tor1", Endpoints: []string{f.addr}, Settings: f.settings})
	if err != nil {
		f.t.Fatalf("NewConnector: %v", err)
	}
	return c
}

func (f *face) LogicalSwitches() []string { return []string{"ls0", "ls1"} }

// Observe reads the simulated device itself.
func (f *face) Observe(ctx context.Context) (*driverstest.State, error) {
	st, err := f.dev.Read(ctx)
	if err != nil {
		return nil, err
	}
	out := &driverstest.State{VNIs: map[string]*int{}, UcastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		McastRemote: map[vtep.MACKey]vtep.McastMAC{}, UcastLocal: map[vtep.MACKey]vtep.UcastMAC{}}
	ps := vtep.PhysicalSwitch{Name: st.Name, TunnelIPs: st.TunnelIPs}
	for name, b := range st.Ports {
		ps.Ports = append(ps.Ports, vtep.Port{Name: name, Bindings: b})
	}
	out.Switches = []vtep.PhysicalSwitch{ps}
	for name, l := range st.LS {
		out.VNIs[name] = l.VNI
		for mac, r := range l.Remote {
			k := vtep.MACKey{LS: name, MAC: strings.ToLower(mac)}
			out.UcastRemote[k] = vtep.UcastMAC{MACKey: k, Locator: r.TunnelIP, IP: r.IP}
		}
		for mac, m := range l.Mcast {
			k := vtep.MACKey{LS: name, MAC: strings.ToLower(mac)}
			out.McastRemote[k] = vtep.McastMAC{MACKey: k, IP: m.IP, Locators: vtep.NormalizeLocators(slices.Clone(m.TunnelIPs))}
		}
		for mac := range l.Learned {
			k := vtep.MACKey{LS: name, MAC: mac}
			out.UcastLocal[k] = vtep.UcastMAC{MACKey: k}
		}
	}
	return out, nil
}

func (f *face) Learn(_ context.Context, ls, mac string) error { return f.dev.Learn(ls, mac, "") }
func (f *face) Age(_ context.Context, ls, mac string) error   { return f.dev.Forget(ls, mac) }
func (f *face) Disrupt(context.Context) error                 { f.srv.Disrupt(); return nil }
func (f *face) DeleteRemote(_ context.Context, k vtep.MACKey) error {
	return f.dev.DeleteRemote(k.LS, k.MAC)
}
func (f *face) Changes(context.Context) (uint64, error) { return f.dev.Changes(), nil }

type faceHarness struct {
	candidate bool
	adapter   string
}

func (h faceHarness) New(t testing.TB) driverstest.Device {
	return startFace(t, faceOpts{candidate: h.candidate, adapter: h.adapter})
}

// Both adapters against the simulator's face, both targets. The junos
// adapter holds flood lists only (Capabilities.NoUcastRemote,
// FloodListsOnly), which the suite honours.
func TestConformanceFace(t *testing.T) {
	for _, adapter := range []string{"vtepgw", "junos"} {
		for _, candidate := range []bool{false, true} {
			t.Run(adapter+"/"+map[bool]string{false: "running", true: "candidate"}[candidate], func(t *testing.T) {
				t.Parallel()
				driverstest.Run(t, faceHarness{candidate: candidate, adapter: adapter})
			})
		}
	}
}

// recorder collects notified keys.
type recorder struct {
	mu   sync.Mutex
	keys []vtep.Key
}

func (r *recorder) notify(k vtep.Key) { r.mu.Lock(); r.keys = append(r.keys, k); r.mu.Unlock() }

func (r *recorder) wait(t *testing.T, want vtep.Key) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		found := slices.Contains(r.keys, want)
		r.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v not notified", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The Junos adapter against the face's Junos view: topology, VNI and flood
// lists, learned MACs from the operational RPC, what it refuses, and
// resync after a disruption.
func TestJunosSession(t *testing.T) {
	for _, candidate := range []bool{false, true} {
		t.Run(map[bool]string{false: "running", true: "candidate"}[candidate], func(t *testing.T) {
			f := startFace(t, faceOpts{candidate: candidate, adapter: "junos", ports: map[string]map[int]string{
				"xe-0/0/1": {0: "v100"}, "xe-0/0/2": {100: "v100", 200: "v200"}, "xe-0/0/3": {},
			}})
			rec := &recorder{}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			s, err := f.Connector().Connect(ctx, rec.notify)
			must(t, err)
			defer s.Close()
			rec.wait(t, vtep.Key{Kind: vtep.KindResync})
			ps := s.PhysicalSwitches()
			if len(ps) != 1 || ps[0].Name != "tor1" || !slices.Equal(ps[0].TunnelIPs, []string{"192.0.2.4"}) || len(ps[0].Ports) != 3 ||
				ps[0].Ports[0].Bindings[0] != "v100" || ps[0].Ports[1].Bindings[200] != "v200" || ps[0].Ports[1].Bindings[100] != "v100" {
				t.Fatalf("topology %+v", ps)
			}
			if s.ID() != "netconf:tor1" {
				t.Errorf("ID %q", s.ID())
			}
			caps := s.(drivers.CapabilityReporter).Capabilities()
			partial := s.(vtep.PartialSwitch)
			if !caps.NoUcastRemote || partial.Supports(vtep.UcastRemoteKey(vtep.MACKey{LS: "v100", MAC: "02:00:00:00:00:01"})) ||
				!partial.Supports(vtep.McastRemoteKey(vtep.MACKey{LS: "v100", MAC: vtep.UnknownDst})) || partial.SupportsMode(vtep.ReplicationServiceNode) {
				t.Fatalf("capabilities %+v", caps)
			}

			flood := vtep.MACKey{LS: "v100", MAC: vtep.UnknownDst}
			must(t, s.Apply(ctx, &vtep.Changeset{
				LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "v100", VNI: vni(10100), ReplicationMode: vtep.ReplicationSourceNode}, {Name: "v200", VNI: vni(10200)}},
				McastRemote:     []vtep.McastChange{{Key: flood, Set: &vtep.McastMAC{Locators: []string{"198.51.100.2", "198.51.100.1"}}}},
			}))
			st, _ := f.dev.Read(ctx)
			if *st.LS["v100"].VNI != 10100 || st.LS["v100"].Mode != "source-node" || *st.LS["v200"].VNI != 10200 ||
				!slices.Equal(st.LS["v100"].Mcast[netconfface.UnknownDst].TunnelIPs, []string{"198.51.100.1", "198.51.100.2"}) ||
				!slices.Equal(st.RemoteVTEPs, []string{"198.51.100.1", "198.51.100.2"}) {
				t.Fatalf("device: v100 %+v v200 %+v global %v", st.LS["v100"], st.LS["v200"], st.RemoteVTEPs)
			}
			if ls, _ := s.LogicalSwitch("v200"); ls.ReplicationMode != vtep.ReplicationSourceNode || *ls.VNI != 10200 {
				t.Errorf("read-your-writes: v200 %+v", ls)
			}
			if m, ok := s.McastRemote(flood); !ok || !slices.Equal(m.Locators, []string{"198.51.100.1", "198.51.100.2"}) {
				t.Errorf("read-your-writes: flood %+v", m)
			}
			rec.wait(t, vtep.McastRemoteKey(flood))

			// Move the flood list on and share one address with v200.
			must(t, s.Apply(ctx, &vtep.Changeset{McastRemote: []vtep.McastChange{
				{Key: flood, Set: &vtep.McastMAC{Locators: []string{"198.51.100.2", "198.51.100.3"}}},
				{Key: vtep.MACKey{LS: "v200", MAC: vtep.UnknownDst}, Set: &vtep.McastMAC{Locators: []string{"198.51.100.2"}}},
			}}))
			st, _ = f.dev.Read(ctx)
			if !slices.Equal(st.RemoteVTEPs, []string{"198.51.100.2", "198.51.100.3"}) {
				t.Fatalf("global list %v", st.RemoteVTEPs)
			}
			// Clearing v100's VNI takes its list; the shared address stays.
			must(t, s.Apply(ctx, &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "v100"}}}))
			st, _ = f.dev.Read(ctx)
			if st.LS["v100"].VNI != nil || len(st.LS["v100"].Mcast) != 0 || !slices.Equal(st.RemoteVTEPs, []string{"198.51.100.2"}) {
				t.Fatalf("after clearing the VNI: v100 %+v global %v", st.LS["v100"], st.RemoteVTEPs)
			}
			if _, ok := s.McastRemote(flood); ok {
				t.Error("flood list still read after its VNI was cleared")
			}

			// Learned MACs come from the operational RPC.
			must(t, f.dev.Learn("v200", "AA:BB:CC:00:00:01", "xe-0/0/2"))
			learned := vtep.Key{Kind: vtep.KindUcastLocal, Name: "v200", MAC: "aa:bb:cc:00:00:01"}
			rec.wait(t, learned)
			if u, ok := s.UcastLocal(learned.MACKey()); !ok || u.Locator != "192.0.2.4" {
				t.Fatalf("learned %+v %v", u, ok)
			}
			must(t, f.dev.Forget("v200", "aa:bb:cc:00:00:01"))
			deadline := time.Now().Add(10 * time.Second)
			for _, ok := s.UcastLocal(learned.MACKey()); ok; _, ok = s.UcastLocal(learned.MACKey()) {
				if time.Now().After(deadline) {
					t.Fatal("aged MAC still read")
				}
				time.Sleep(10 * time.Millisecond)
			}

			// What static VXLAN cannot do.
			c0 := f.dev.Changes()
			for _, tc := range []struct {
				cs   *vtep.Changeset
				want error
			}{
				{&vtep.Changeset{UcastRemote: []vtep.UcastChange{{Key: vtep.MACKey{LS: "v200", MAC: "02:00:00:00:00:01"}, Set: &vtep.UcastMAC{Locator: "198.51.100.1"}}}}, drivers.ErrUnsupported},
				{&vtep.Changeset{McastRemote: []vtep.McastChange{{Key: vtep.MACKey{LS: "v200", MAC: "01:00:5e:00:00:01"}, Set: &vtep.McastMAC{Locators: []string{"198.51.100.1"}}}}}, drivers.ErrUnsupported},
				{&vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "v200", VNI: vni(1), ReplicationMode: vtep.ReplicationServiceNode}}}, drivers.ErrUnsupported},
				{&vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "v200", VNI: vni(16777215)}}}, drivers.ErrInvalid},
				{&vtep.Changeset{McastRemote: []vtep.McastChange{{Key: flood, Set: &vtep.McastMAC{Locators: []string{"198.51.100.1"}}}}}, drivers.ErrInvalid},
				{&vtep.Changeset{McastRemote: []vtep.McastChange{{Key: flood, Set: &vtep.McastMAC{Locators: []string{"not-an-ip"}}}}}, drivers.ErrInvalid},
			} {
				if err := s.Apply(ctx, tc.cs); !errors.Is(err, tc.want) {
					t.Errorf("Apply(%s) = %v, want %v", tc.cs, err, tc.want)
				}
			}
			if f.dev.Changes() != c0 {
				t.Error("refused changesets wrote to the device")
			}

			// A dropped session is re-dialled and resynced.
			rec.mu.Lock()
			from := len(rec.keys)
			rec.mu.Unlock()
			f.srv.Disrupt()
			deadline = time.Now().Add(10 * time.Second)
			for {
				rec.mu.Lock()
				ok := slices.Contains(rec.keys[from:], vtep.Key{Kind: vtep.KindResync})
				rec.mu.Unlock()
				if ok && s.Connected() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no resync after the session was dropped")
				}
				time.Sleep(10 * time.Millisecond)
			}
			must(t, s.Apply(ctx, &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "v100", VNI: vni(10101)}}}))
			if ls, _ := s.LogicalSwitch("v100"); ls.VNI == nil || *ls.VNI != 10101 {
				t.Fatalf("after reconnect: %+v", ls)
			}
		})
	}
}

// The face's junos view and the driver agree on a device seeded only
// through Junos configuration (as an operator would have set it up).
func TestJunosAdoptsOperatorConfig(t *testing.T) {
	f := startFace(t, faceOpts{adapter: "junos", ports: map[string]map[int]string{"xe-0/0/1": {0: "v100"}}})
	must(t, f.dev.Update(context.Background(), func(st *netconfface.State) error {
		v := 10100
		st.LS["v100"].VNI = &v
		st.LS["v100"].Mode = "source-node"
		st.LS["v100"].Mcast[netconfface.UnknownDst] = netconfface.Mcast{TunnelIPs: []string{"198.51.100.7"}}
		st.RemoteVTEPs = []string{"198.51.100.7", "198.51.100.8"}
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := f.Connector().Connect(ctx, func(vtep.Key) {})
	must(t, err)
	defer s.Close()
	c0 := f.dev.Changes()
	// The state the core would compute: nothing to write.
	must(t, s.Apply(ctx, &vtep.Changeset{}))
	ls, _ := s.LogicalSwitch("v100")
	if d := vtep.DiffLogicalSwitch(vtep.LogicalSwitch{Name: "v100", VNI: vni(10100), ReplicationMode: vtep.ReplicationSourceNode}, ls); d != nil {
		t.Errorf("adopted logical switch differs: %+v", d)
	}
	if d := vtep.DiffMcast(vtep.MACKey{LS: "v100", MAC: vtep.UnknownDst}, &vtep.McastMAC{Locators: []string{"198.51.100.7"}}, ptr(s.McastRemote(vtep.MACKey{LS: "v100", MAC: vtep.UnknownDst}))); d != nil {
		t.Errorf("adopted flood list differs: %+v", d)
	}
	// Dropping the flood list leaves the operator's other address alone.
	must(t, s.Apply(ctx, &vtep.Changeset{McastRemote: []vtep.McastChange{{Key: vtep.MACKey{LS: "v100", MAC: vtep.UnknownDst}}}}))
	st, _ := f.dev.Read(ctx)
	if !slices.Equal(st.RemoteVTEPs, []string{"198.51.100.8"}) || f.dev.Changes() != c0+1 {
		t.Fatalf("global list %v after dropping the flood list (%d writes)", st.RemoteVTEPs, f.dev.Changes()-c0)
	}
}

func ptr[T any](v T, ok bool) *T {
	if !ok {
		return nil
	}
	return &v
}

func TestPasswordFile(t *testing.T) {
	f := startFace(t, faceOpts{})
	pw := filepath.Join(t.TempDir(), "pw")
	must(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	delete(f.settings, "password")
	f.settings["password-file"] = pw
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := f.Connector().Connect(ctx, func(vtep.Key) {})
	must(t, err)
	s.Close()
	f.settings["password-file"] = filepath.Join(t.TempDir(), "missing")
	if _, err := drivers.NewConnector(Name, drivers.Params{Endpoints: []string{f.addr}, Settings: f.settings}); !errors.Is(err, drivers.ErrInvalid) {
		t.Fatalf("missing password file: %v", err)
	}
}

func TestPasswordRejected(t *testing.T) {
	f := startFace(t, faceOpts{})
	f.settings["password"] = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.Connector().Connect(ctx, func(vtep.Key) {}); !errors.Is(err, drivers.ErrDisconnected) {
		t.Fatalf("wrong password: %v", err)
	}
	// A host key that is not the one in known_hosts.
	f = startFace(t, faceOpts{})
	other := startFace(t, faceOpts{})
	f.settings["known-hosts"] = other.settings["known-hosts"]
	_, err := f.Connector().Connect(ctx, func(vtep.Key) {})
	if err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("wrong host key: %v", err)
	}
}
