package gnmi_test

import (
	"context"
	"crypto/tls"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	gnmidrv "github.com/vtepgw/vtepgw/drivers/gnmi"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
	"github.com/vtepgw/vtepgw/vtep"
)

const (
	user = "vtepgw"
	pass = "correct horse battery staple"
)

// harness serves an in-memory switch through the simulator's gNMI face,
// over TLS with a password, for the conformance suite and the driver's own
// tests.
type harness struct {
	adapter string
	// settings are extra driver settings.
	settings map[string]any
}

func (h harness) New(t testing.TB) driverstest.Device { return h.start(t) }

func (harness) EventTimeout() time.Duration { return 15 * time.Second }

// device is one simulated switch and its face.
type device struct {
	t        testing.TB
	adapter  string
	dev      *gnmiface.MemDevice
	ca       *facetest.CA
	srvTLS   *tls.Config
	settings map[string]any

	mu   sync.Mutex // guards face
	face *facetest.Face
}

func (h harness) start(t testing.TB) *device {
	t.Helper()
	dev, err := gnmiface.NewMemDevice(facetest.Switch())
	if err != nil {
		t.Fatal(err)
	}
	ca := facetest.NewCA(t)
	d := &device{t: t, adapter: h.adapter, dev: dev, ca: ca, srvTLS: ca.ServerTLS(t)}
	d.face = facetest.Start(t, "127.0.0.1:0", d.faceOptions())
	d.settings = map[string]any{
		"adapter": h.adapter, "username": user, "password": pass,
		"tls-ca": ca.CAFile, "tls-server-name": facetest.ServerName,
		"reconnect-backoff": "20ms", "reconnect-backoff-max": "200ms",
		// 500 keeps the suite's big cases quick (LargeBatch, Limits);
		// TestBigChangeset does 2000 MACs in one Set.
		"poll-interval": "100ms", "max-remote-macs": 500,
	}
	if h.adapter == "eos" {
		d.settings["tunnel-ip"] = "192.0.2.1"
	}
	maps.Copy(d.settings, h.settings)
	return d
}

func (d *device) faceOptions() gnmiface.Options {
	return gnmiface.Options{Device: d.dev, TLS: d.srvTLS, Username: user, Password: pass}
}

func (d *device) addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.face.Addr
}

func (d *device) params() drivers.Params {
	return drivers.Params{Name: "sw1", Endpoints: []string{d.addr()}, Settings: d.settings}
}

func (d *device) Connector() drivers.Connector {
	c, err := drivers.NewConnector(gnmidrv.Name, d.params())
	if err != nil {
		d.t.Fatalf("NewConnector: %v", err)
	}
	return c
}

func (d *device) LogicalSwitches() []string { return []string{"ls0", "ls1"} }

func (d *device) vlanOf(ls string) (int, string) {
	switch ls {
	case "ls0":
		return 100, "Ethernet4"
	case "ls1":
		return 200, "Ethernet0"
	}
	return 0, ""
}

// Observe reads the device's own state, not through the driver.
func (d *device) Observe(context.Context) (*driverstest.State, error) {
	st := d.dev.Snapshot()
	out := &driverstest.State{
		VNIs:        map[string]*int{},
		UcastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		McastRemote: map[vtep.MACKey]vtep.McastMAC{},
		UcastLocal:  map[vtep.MACKey]vtep.UcastMAC{},
	}
	ps := vtep.PhysicalSwitch{Name: st.Name, TunnelIPs: []string{st.TunnelIP}}
	ports := map[string]map[int]string{}
	for _, id := range slices.Sorted(maps.Keys(st.VLANs)) {
		v := st.VLANs[id]
		for p, tagged := range v.Members {
			if ports[p] == nil {
				ports[p] = map[int]string{}
			}
			tag := 0
			if tagged {
				tag = id
			}
			ports[p][tag] = v.Name
		}
		if v.VNI != 0 {
			n := v.VNI
			out.VNIs[v.Name] = &n
		} else {
			out.VNIs[v.Name] = nil
		}
		for mac, ip := range v.Remote {
			k := vtep.MACKey{LS: v.Name, MAC: mac}
			out.UcastRemote[k] = vtep.UcastMAC{MACKey: k, Locator: ip}
		}
		if len(v.Flood) > 0 {
			k := vtep.MACKey{LS: v.Name, MAC: vtep.UnknownDst}
			out.McastRemote[k] = vtep.McastMAC{MACKey: k, Locators: v.FloodList()}
		}
		for mac := range v.Learned {
			k := vtep.MACKey{LS: v.Name, MAC: mac}
			out.UcastLocal[k] = vtep.UcastMAC{MACKey: k, Locator: st.TunnelIP}
		}
	}
	for _, p := range slices.Sorted(maps.Keys(ports)) {
		ps.Ports = append(ps.Ports, vtep.Port{Name: p, Bindings: ports[p]})
	}
	out.Switches = []vtep.PhysicalSwitch{ps}
	return out, nil
}

func (d *device) Learn(_ context.Context, ls, mac string) error {
	v, port := d.vlanOf(ls)
	_, err := d.dev.Learn(v, mac, port)
	return err
}

func (d *device) Age(_ context.Context, ls, mac string) error {
	v, _ := d.vlanOf(ls)
	_, err := d.dev.Forget(v, mac)
	return err
}

// Disrupt kills the face (every connection drops at once) and serves the
// same device again on the same address.
func (d *device) Disrupt(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.face.Stop()
	d.face = facetest.Start(d.t, d.face.Addr, d.faceOptions())
	return nil
}

func (d *device) DeleteRemote(_ context.Context, k vtep.MACKey) error {
	v, _ := d.vlanOf(k.LS)
	if k.MAC == vtep.UnknownDst {
		return d.dev.Apply([]gnmiface.Op{{Kind: gnmiface.OpSetFlood, VLAN: v}})
	}
	return d.dev.Apply([]gnmiface.Op{{Kind: gnmiface.OpDelRemote, VLAN: v, MAC: k.MAC}})
}

func (d *device) Changes(context.Context) (uint64, error) { return d.dev.Applies(), nil }

// connect opens a session on d and records its notifications.
func (d *device) connect(t *testing.T) (drivers.Session, *keys) {
	t.Helper()
	k := &keys{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Connector().Connect(ctx, k.add)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, k
}

// keys records notifications.
type keys struct {
	mu  sync.Mutex
	got []vtep.Key
}

func (k *keys) add(key vtep.Key) {
	k.mu.Lock()
	k.got = append(k.got, key)
	k.mu.Unlock()
}

func (k *keys) has(want vtep.Key) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Contains(k.got, want)
}

func (k *keys) count(want vtep.Key) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, g := range k.got {
		if g == want {
			n++
		}
	}
	return n
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
