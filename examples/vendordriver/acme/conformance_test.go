package acme_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"example.com/acme-vtep-driver/acme"
	"example.com/acme-vtep-driver/acmeapi"
	"example.com/acme-vtep-driver/acmesim"
	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/vtep"
)

// TestConformance runs vtepgw's driver conformance suite against the acme
// driver and a simulated Acme switch, exactly as vtepgw's in-tree drivers
// run it.
func TestConformance(t *testing.T) {
	driverstest.Run(t, harness{})
}

// harness makes a fresh simulated switch per case, serving its API on a
// loopback port. The driver is reached through vtepgw's registry, by name,
// as the daemon reaches it.
type harness struct{}

func (harness) New(t testing.TB) driverstest.Device {
	sw := acmesim.New(acmesim.Options{BridgeDomains: []string{"bd10", "bd20"}, MaxMACsPerBD: 4096})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- sw.Serve(ln) }()
	t.Cleanup(func() {
		_ = sw.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := drivers.NewConnector(acme.Name, drivers.Params{
		Name:      "acme1",
		Endpoints: []string{ln.Addr().String()},
		Settings:  map[string]any{"reconnect-backoff": "10ms", "reconnect-backoff-max": "200ms"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &device{sw: sw, conn: conn}
}

// EventTimeout: everything is local; a stuck notification shows sooner.
func (harness) EventTimeout() time.Duration { return 10 * time.Second }

// device is the switch under test. Its independent view (Observe) and its
// controls use the simulator's own interface, never the driver.
type device struct {
	sw   *acmesim.Switch
	conn drivers.Connector
}

var (
	_ driverstest.Learner       = (*device)(nil)
	_ driverstest.Disrupter     = (*device)(nil)
	_ driverstest.Editor        = (*device)(nil)
	_ driverstest.ChangeCounter = (*device)(nil)
)

func (d *device) Connector() drivers.Connector { return d.conn }

func (d *device) LogicalSwitches() []string { return []string{"bd10", "bd20"} }

// Observe translates the switch's show-config and show-system into the
// suite's terms.
func (d *device) Observe(context.Context) (*driverstest.State, error) {
	sys, cfg := d.sw.System(), d.sw.Config()
	ps := vtep.PhysicalSwitch{Name: sys.Hostname, TunnelIPs: []string{sys.VTEPAddress}}
	for _, p := range sys.Ports {
		port := vtep.Port{Name: p.Name, Bindings: map[int]string{}}
		for _, a := range p.Attached {
			port.Bindings[a.VLAN] = a.BD
		}
		ps.Ports = append(ps.Ports, port)
	}
	st := &driverstest.State{
		Switches:    []vtep.PhysicalSwitch{ps},
		VNIs:        map[string]*int{},
		UcastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		McastRemote: map[vtep.MACKey]vtep.McastMAC{},
		UcastLocal:  map[vtep.MACKey]vtep.UcastMAC{},
	}
	for _, bd := range cfg.BridgeDomains {
		st.VNIs[bd.Name] = bd.VNI
	}
	for _, r := range cfg.RemoteMACs {
		k := vtep.MACKey{LS: r.BD, MAC: r.MAC}
		st.UcastRemote[k] = vtep.UcastMAC{MACKey: k, Locator: r.VTEP, IP: r.IP}
	}
	for _, g := range cfg.FloodGroups {
		k := vtep.MACKey{LS: g.BD, MAC: g.Group}
		if g.Group == acmeapi.GroupBUM {
			k.MAC = vtep.UnknownDst
		}
		if len(g.VTEPs) == 0 {
			st.Problems = append(st.Problems, "flood group "+g.BD+"/"+g.Group+" has no VTEPs")
		}
		st.McastRemote[k] = vtep.McastMAC{MACKey: k, IP: g.IP, Locators: vtep.NormalizeLocators(slices.Clone(g.VTEPs))}
	}
	for _, m := range cfg.LearnedMACs {
		k := vtep.MACKey{LS: m.BD, MAC: m.MAC}
		st.UcastLocal[k] = vtep.UcastMAC{MACKey: k, Locator: sys.VTEPAddress}
	}
	return st, nil
}

func (d *device) Learn(_ context.Context, ls, mac string) error { return d.sw.Learn(ls, mac) }

func (d *device) Age(_ context.Context, ls, mac string) error { return d.sw.Age(ls, mac) }

func (d *device) Disrupt(context.Context) error {
	d.sw.DropSessions()
	return nil
}

func (d *device) DeleteRemote(_ context.Context, k vtep.MACKey) error {
	if k.MAC == vtep.UnknownDst {
		return d.sw.DeleteFloodGroup(k.LS, acmeapi.GroupBUM)
	}
	if hw, err := net.ParseMAC(k.MAC); err == nil && hw[0]&1 != 0 {
		return d.sw.DeleteFloodGroup(k.LS, k.MAC)
	}
	return d.sw.DeleteRemoteMAC(k.LS, k.MAC)
}

func (d *device) Changes(context.Context) (uint64, error) { return d.sw.Writes(), nil }
