package drivers4

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
	"github.com/vtepgw/vtepgw/testbed"
	"github.com/vtepgw/vtepgw/testbed/scenario"
	"github.com/vtepgw/vtepgw/vtep"
)

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// --- hwvtep: a real hardware_vtep ovsdb-server ---

type hwvtepDev struct{ v *testbed.VTEP }

func startHWVTEP(t *testing.T) device {
	v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v.MustVtep(t, "add-ps", psName, "--", "set", "Physical_Switch", psName, "tunnel_ips="+tunnelIP,
		"--", "add-port", psName, "p0", "--", "add-ls", lsName, "--", "bind-ls", psName, "p0", "0", lsName)
	return &hwvtepDev{v: v}
}

func (d *hwvtepDev) switchYAML() map[string]any {
	return map[string]any{"endpoints": []string{d.v.VtepRemote()}}
}

// caps: hardware_vtep holds everything (no CapabilityReporter limits).
func (d *hwvtepDev) Caps() drivers.Capabilities { return drivers.Capabilities{} }

// rows lists a table as ovsdb JSON rows through vtep-ctl.
func (d *hwvtepDev) rows(table string, cols ...string) ([]map[string]any, error) {
	out, err := d.v.VtepCtl("--format=json", "--columns="+strings.Join(cols, ","), "list", table)
	if err != nil {
		return nil, err
	}
	var res struct {
		Data     [][]any  `json:"data"`
		Headings []string `json:"headings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", table, err, out)
	}
	var rows []map[string]any
	for _, r := range res.Data {
		m := map[string]any{}
		for i, h := range res.Headings {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows, nil
}

// atoms flattens an ovsdb JSON value into strings (UUIDs, set members).
func atoms(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case float64:
		return []string{fmt.Sprint(int64(x))}
	case []any:
		if len(x) == 2 {
			switch x[0] {
			case "uuid":
				return []string{x[1].(string)}
			case "set":
				var out []string
				for _, e := range x[1].([]any) {
					out = append(out, atoms(e)...)
				}
				return out
			}
		}
	}
	return nil
}

func one(v any) string {
	if a := atoms(v); len(a) == 1 {
		return a[0]
	}
	return ""
}

func (d *hwvtepDev) View() (scenario.State, error) {
	s := scenario.State{Remote: map[string]string{}}
	lss, err := d.rows("Logical_Switch", "_uuid", "name", "tunnel_key")
	if err != nil {
		return s, err
	}
	var lsUUID string
	for _, r := range lss {
		if one(r["name"]) == lsName {
			lsUUID = one(r["_uuid"])
			if k := one(r["tunnel_key"]); k != "" {
				fmt.Sscan(k, &s.VNI)
			}
		}
	}
	if lsUUID == "" {
		return s, fmt.Errorf("no logical switch %s", lsName)
	}
	locs, err := d.rows("Physical_Locator", "_uuid", "dst_ip")
	if err != nil {
		return s, err
	}
	locIP := map[string]string{}
	for _, r := range locs {
		locIP[one(r["_uuid"])] = one(r["dst_ip"])
	}
	ucast, err := d.rows("Ucast_Macs_Remote", "MAC", "ipaddr", "locator", "logical_switch")
	if err != nil {
		return s, err
	}
	for _, r := range ucast {
		if one(r["logical_switch"]) != lsUUID {
			continue
		}
		v := locIP[one(r["locator"])]
		if ip := one(r["ipaddr"]); ip != "" {
			v += " " + ip
		}
		s.Remote[one(r["MAC"])] = v
	}
	sets, err := d.rows("Physical_Locator_Set", "_uuid", "locators")
	if err != nil {
		return s, err
	}
	setLocs := map[string][]string{}
	for _, r := range sets {
		setLocs[one(r["_uuid"])] = atoms(r["locators"])
	}
	mcast, err := d.rows("Mcast_Macs_Remote", "MAC", "locator_set", "logical_switch")
	if err != nil {
		return s, err
	}
	for _, r := range mcast {
		if one(r["logical_switch"]) == lsUUID && one(r["MAC"]) == vtep.UnknownDst {
			for _, l := range setLocs[one(r["locator_set"])] {
				s.Flood = append(s.Flood, locIP[l])
			}
		}
	}
	local, err := d.rows("Ucast_Macs_Local", "MAC", "logical_switch")
	if err != nil {
		return s, err
	}
	for _, r := range local {
		if one(r["logical_switch"]) == lsUUID {
			s.Learned = append(s.Learned, one(r["MAC"]))
		}
	}
	return s, nil
}

// learn: what ovs-vtep writes when the switch learns a MAC.
func (d *hwvtepDev) Learn(t testing.TB, mac string) {
	d.v.MustVtep(t, "add-ucast-local", lsName, mac, tunnelIP)
}

// --- gnmi: the simulator's gNMI face (adapter sonic), in-process ---

type gnmiDev struct {
	dev      *gnmiface.MemDevice
	settings map[string]any
	addr     string
}

const gnmiVLAN = 100

func startGNMI(adapter string) func(t *testing.T) device {
	return func(t *testing.T) device { return startGNMIAdapter(t, adapter) }
}

func startGNMIAdapter(t *testing.T, adapter string) device {
	dev, err := gnmiface.NewMemDevice(gnmiface.MemConfig{Name: psName, TunnelIP: tunnelIP,
		VLANs: []gnmiface.VLANConfig{{ID: gnmiVLAN, Name: lsName, Untagged: []string{"Ethernet4"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ca := facetest.NewCA(t)
	const user, pass = "vtepgw", "drivers4 secret"
	f := facetest.Start(t, "127.0.0.1:0", gnmiface.Options{Device: dev, TLS: ca.ServerTLS(t), Username: user, Password: pass})
	pw := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pw, []byte(pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &gnmiDev{dev: dev, addr: f.Addr, settings: map[string]any{
		"adapter": adapter, "username": user, "password-file": pw,
		"tls-ca": ca.CAFile, "tls-server-name": facetest.ServerName,
		"reconnect-backoff": "50ms", "reconnect-backoff-max": "1s",
	}}
	if adapter == "eos" {
		// EOS reports only the source interface; its running
		// configuration (flood lists, static MACs) is polled.
		d.settings["tunnel-ip"] = tunnelIP
		d.settings["poll-interval"] = "100ms"
	}
	return d
}

func (d *gnmiDev) switchYAML() map[string]any {
	return map[string]any{"endpoints": []string{d.addr}, "settings": d.settings}
}

// caps: drivers/gnmi/README.md, Capabilities.
func (d *gnmiDev) Caps() drivers.Capabilities {
	return drivers.Capabilities{ReplicationModes: []string{vtep.ReplicationSourceNode}, RemoteMACsNeedVNI: true,
		FloodListsOnly: true, ShadowsUcastIP: true, ShadowsVNIZero: true}
}

func (d *gnmiDev) View() (scenario.State, error) {
	st := d.dev.Snapshot()
	v := st.VLANs[gnmiVLAN]
	if v == nil {
		return scenario.State{}, fmt.Errorf("no VLAN %d", gnmiVLAN)
	}
	s := scenario.State{VNI: v.VNI, Remote: map[string]string{}}
	for mac, ip := range v.Remote {
		s.Remote[mac] = ip
	}
	for ip := range v.Flood {
		s.Flood = append(s.Flood, ip)
	}
	for mac := range v.Learned {
		s.Learned = append(s.Learned, mac)
	}
	return s, nil
}

func (d *gnmiDev) Learn(t testing.TB, mac string) {
	if _, err := d.dev.Learn(gnmiVLAN, mac, "Ethernet4"); err != nil {
		t.Fatal(err)
	}
}

// --- netconf: the simulator's NETCONF face (adapter vtepgw), in-process ---

type netconfDev struct {
	adapter  string
	dev      *netconfface.MemDevice
	addr     string
	settings map[string]any
}

func startNetconf(adapter string) func(t *testing.T) device {
	return func(t *testing.T) device { return startNetconfAdapter(t, adapter) }
}

func startNetconfAdapter(t *testing.T, adapter string) device {
	// Junos takes a VLAN's id from a tagged member.
	dev := netconfface.NewMemDevice(netconfface.MemConfig{Name: psName, TunnelIPs: []string{tunnelIP},
		Ports: map[string]map[int]string{"p0": {100: lsName}}})
	dir := t.TempDir()
	host, err := netconfface.LoadOrCreateHostKey(filepath.Join(dir, "hostkey"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netconfface.New(netconfface.Options{Device: dev, Candidate: true,
		Users: map[string]string{"vtepgw": "s3cret"}, HostKey: host})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("netconf face: %v", err)
		}
	})
	addr := ln.Addr().String()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(netconfface.KnownHostsLine(addr, host.PublicKey())), 0o600); err != nil {
		t.Fatal(err)
	}
	return &netconfDev{adapter: adapter, dev: dev, addr: addr, settings: map[string]any{
		"username": "vtepgw", "password": "s3cret", "known-hosts": kh,
		"adapter": adapter, "poll-interval": "100ms", "timeout": "10s"}}
}

func (d *netconfDev) switchYAML() map[string]any {
	return map[string]any{"endpoints": []string{d.addr}, "settings": d.settings}
}

// caps: the vtepgw module mirrors the switch-neutral model
// (drivers/netconf/README.md); Junos static VXLAN has flood lists only and
// learns remote MACs in the data plane (drivers/netconf/junos.go).
func (d *netconfDev) Caps() drivers.Capabilities {
	if d.adapter == "junos" {
		return drivers.Capabilities{ReplicationModes: []string{vtep.ReplicationSourceNode},
			RemoteMACsNeedVNI: true, NoUcastRemote: true, FloodListsOnly: true}
	}
	return drivers.Capabilities{}
}

func (d *netconfDev) View() (scenario.State, error) {
	st, err := d.dev.Read(context.Background())
	if err != nil {
		return scenario.State{}, err
	}
	l := st.LS[lsName]
	if l == nil {
		return scenario.State{}, fmt.Errorf("no logical switch %s", lsName)
	}
	s := scenario.State{Remote: map[string]string{}}
	if l.VNI != nil {
		s.VNI = *l.VNI
	}
	for mac, r := range l.Remote {
		v := r.TunnelIP
		if r.IP != "" {
			v += " " + r.IP
		}
		s.Remote[mac] = v
	}
	s.Flood = append(s.Flood, l.Mcast[netconfface.UnknownDst].TunnelIPs...)
	for mac := range l.Learned {
		s.Learned = append(s.Learned, mac)
	}
	return s, nil
}

func (d *netconfDev) Learn(t testing.TB, mac string) {
	if err := d.dev.Learn(lsName, mac, "p0"); err != nil {
		t.Fatal(err)
	}
}

// --- kernel: a network namespace made by the test ---

type kernelDev struct {
	ns string
	h  netns.NsHandle
}

var nsSeq atomic.Int64

func startKernel(t *testing.T) device {
	if os.Geteuid() != 0 {
		t.Skip("kernel driver: needs root to make a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("kernel driver: needs iproute2 (ip, bridge)")
	}
	name := fmt.Sprintf("vgd4-%d-%d", os.Getpid(), nsSeq.Add(1))
	mustRun(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	d := &kernelDev{ns: name}
	// IPv6 off: no router solicitations for the bridge to learn.
	d.mustExec(t, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	d.mustExec(t, "ip", "link", "set", "lo", "up")
	// p0 is the switch port; frames sent on h0 arrive on it.
	d.mustExec(t, "ip", "link", "add", "p0", "type", "veth", "peer", "name", "h0")
	d.mustExec(t, "ip", "link", "set", "h0", "up")
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	d.h = h
	return d
}

func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (d *kernelDev) exec(name string, args ...string) ([]byte, error) {
	return exec.Command("ip", append([]string{"netns", "exec", d.ns, name}, args...)...).Output()
}

func (d *kernelDev) mustExec(t testing.TB, name string, args ...string) {
	t.Helper()
	mustRun(t, "ip", append([]string{"netns", "exec", d.ns, name}, args...)...)
}

func (d *kernelDev) switchYAML() map[string]any {
	return map[string]any{"settings": map[string]any{
		"netns": d.ns, "switch": psName, "tunnel-ip": tunnelIP, "bridge-name": "br-{ls}",
		"ports": []any{map[string]any{"logical-switch": lsName, "interface": "p0"}},
	}}
}

// caps: drivers/kernel/README.md, Capabilities.
func (d *kernelDev) Caps() drivers.Capabilities {
	return drivers.Capabilities{ReplicationModes: []string{vtep.ReplicationSourceNode}, RemoteMACsNeedVNI: true}
}

// jsonCmd runs an iproute2 command with -j in the namespace.
func (d *kernelDev) jsonCmd(v any, name string, args ...string) error {
	out, err := d.exec(name, append([]string{"-j"}, args...)...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		return nil
	}
	return json.Unmarshal(out, v)
}

type fdbEntry struct {
	MAC    string   `json:"mac"`
	IfName string   `json:"ifname"`
	Dst    string   `json:"dst"`
	Master string   `json:"master"`
	State  string   `json:"state"`
	Flags  []string `json:"flags"`
}

func (d *kernelDev) View() (scenario.State, error) {
	s := scenario.State{Remote: map[string]string{}}
	br := "br-" + lsName
	var links []struct {
		IfName   string `json:"ifname"`
		Master   string `json:"master"`
		LinkInfo struct {
			Kind string `json:"info_kind"`
			Data struct {
				ID int `json:"id"`
			} `json:"info_data"`
		} `json:"linkinfo"`
	}
	if err := d.jsonCmd(&links, "ip", "-d", "link", "show"); err != nil {
		return s, err
	}
	vx := ""
	for _, l := range links {
		if l.LinkInfo.Kind == "vxlan" && l.Master == br {
			vx, s.VNI = l.IfName, l.LinkInfo.Data.ID
		}
	}
	var fdb []fdbEntry
	if err := d.jsonCmd(&fdb, "bridge", "fdb", "show", "br", br); err != nil {
		return s, err
	}
	var vxfdb []fdbEntry
	if vx != "" {
		if err := d.jsonCmd(&vxfdb, "bridge", "fdb", "show", "dev", vx); err != nil {
			return s, err
		}
	}
	for _, e := range vxfdb {
		if e.Dst == "" {
			continue // the bridge's side of the entry
		}
		if e.MAC == "00:00:00:00:00:00" {
			s.Flood = append(s.Flood, e.Dst)
		} else {
			s.Remote[e.MAC] = e.Dst
		}
	}
	var neigh []struct {
		Dst    string `json:"dst"`
		LLAddr string `json:"lladdr"`
	}
	if err := d.jsonCmd(&neigh, "ip", "neigh", "show", "dev", br); err != nil {
		return s, err
	}
	for _, n := range neigh {
		if v, ok := s.Remote[n.LLAddr]; ok {
			s.Remote[n.LLAddr] = v + " " + n.Dst
		}
	}
	for _, e := range fdb {
		if e.IfName == "p0" && e.State == "" && e.Dst == "" {
			s.Learned = append(s.Learned, e.MAC)
		}
	}
	return s, nil
}

// learn sends frames from mac into p0 (from its peer h0) until the bridge
// has learned it.
func (d *kernelDev) Learn(t testing.TB, mac string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := d.sendFrame("h0", mac); err != nil {
			t.Fatal(err)
		}
		s, err := d.View()
		if err == nil && strings.Contains(fmt.Sprint(s.Learned), mac) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent frames from %s for 10s, the bridge did not learn it (%v, %v)", mac, s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendFrame sends one broadcast frame from src out of ifname.
func (d *kernelDev) sendFrame(ifname, src string) error {
	hw, err := net.ParseMAC(src)
	if err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() {
		// This thread switches namespace and is never unlocked: the
		// runtime ends it with the goroutine.
		runtime.LockOSThread()
		if err := netns.Set(d.h); err != nil {
			ch <- err
			return
		}
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			ch <- err
			return
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			ch <- err
			return
		}
		defer unix.Close(fd)
		frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, hw...)
		frame = binary.BigEndian.AppendUint16(frame, 0x88b5) // local experimental ethertype
		frame = append(frame, make([]byte, 46)...)
		ch <- unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6})
	}()
	return <-ch
}
