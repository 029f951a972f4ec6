package kernel_test

import (
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/kernel"
	"github.com/vtepgw/vtepgw/vtep"
)

// TestPingAcrossTunnel: a host behind the gateway pings a remote VTEP's
// address across VXLAN. Four namespaces:
//
//	host  h0 10.250.77.1/24 ── g0 ┐
//	gw    bridge(ls0) = g0 + VXLAN 100 (this driver), u0 10.250.0.1/24 ── u1
//	remote  u1 10.250.0.2/24, static VXLAN 100 to 10.250.0.1, 10.250.77.2/24
//
// The ping fails until the driver has programmed the VNI and an FDB entry,
// works with a unicast entry plus its IP (ARP answered by the bridge), with
// the flood entry alone (ARP across the tunnel), and fails again without
// either.
func TestPingAcrossTunnel(t *testing.T) {
	requireNetns(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping (apt-get install iputils-ping)")
	}
	host, gw, remote := newNS(t, "host"), newNS(t, "gw"), newNS(t, "rem")
	veth(t, gw, "g0", host, "h0")
	veth(t, gw, "u0", remote, "u1")
	host.addAddr(t, "h0", "10.250.77.1/24")
	gw.addAddr(t, "u0", "10.250.0.1/24")
	remote.addAddr(t, "u1", "10.250.0.2/24")
	remote.mustExec(t, "ip", "link", "add", "vx100", "type", "vxlan", "id", "100",
		"local", "10.250.0.2", "remote", "10.250.0.1", "dstport", "4789")
	remote.addAddr(t, "vx100", "10.250.77.2/24")
	remoteMAC := remote.link(t, "vx100").Attrs().HardwareAddr.String()
	hostMAC := host.link(t, "h0").Attrs().HardwareAddr.String()

	c, err := kernel.Driver{}.NewConnector(drivers.Params{Name: "ping", Settings: map[string]any{
		"netns":       gw.name,
		"tunnel-ip":   "10.250.0.1",
		"bridge-name": "br-{ls}",
		"ports":       map[string]any{"ls0": []any{"g0"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var keys []vtep.Key
	s, err := c.Connect(t.Context(), func(k vtep.Key) {
		mu.Lock()
		keys = append(keys, k)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ping := func() bool {
		_, err := host.exec("ping", "-c", "1", "-W", "1", "10.250.77.2")
		return err == nil
	}
	pingWorks := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ping() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: ping 10.250.77.2 from the host fails", what)
			}
		}
	}
	pingFails := func(what string) {
		t.Helper()
		host.mustExec(t, "ip", "neigh", "flush", "dev", "h0")
		if ping() {
			t.Fatalf("%s: ping 10.250.77.2 works, want it to fail", what)
		}
	}
	apply := func(what string, cs *vtep.Changeset) {
		t.Helper()
		if err := s.Apply(t.Context(), cs); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	k := vtep.MACKey{LS: "ls0", MAC: remoteMAC}
	flood := vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst}
	vni := 100

	pingFails("nothing programmed")

	apply("VNI and the remote MAC with its IP", &vtep.Changeset{
		LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni}},
		UcastRemote:     []vtep.UcastChange{{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: "10.250.0.2", IP: "10.250.77.2"}}},
	})
	pingWorks("unicast entry, ARP answered by the bridge")

	// The host's MAC was learned on g0: a local MAC, notified.
	local := vtep.MACKey{LS: "ls0", MAC: hostMAC}
	if u, ok := s.UcastLocal(local); !ok || u.Locator != "10.250.0.1" {
		t.Errorf("UcastLocal(%s) = %+v, %v; want learned at 10.250.0.1", local, u, ok)
	}
	mu.Lock()
	if !slices.Contains(keys, vtep.Key{Kind: vtep.KindUcastLocal, Name: "ls0", MAC: hostMAC}) {
		t.Errorf("the host's MAC %s was not notified as learned: %v", hostMAC, keys)
	}
	mu.Unlock()

	apply("unicast entry replaced by the flood entry", &vtep.Changeset{
		UcastRemote: []vtep.UcastChange{{Key: k}},
		McastRemote: []vtep.McastChange{{Key: flood, Set: &vtep.McastMAC{MACKey: flood, Locators: []string{"10.250.0.2"}}}},
	})
	host.mustExec(t, "ip", "neigh", "flush", "dev", "h0")
	pingWorks("flood entry only")

	apply("flood entry deleted", &vtep.Changeset{McastRemote: []vtep.McastChange{{Key: flood}}})
	pingFails("no FDB entry")

	apply("VNI cleared", &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0"}}})
	if ls, _ := s.LogicalSwitch("ls0"); ls.VNI != nil {
		t.Errorf("VNI after clearing = %d", *ls.VNI)
	}
}
