package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain checks, after all tests, that nothing the tests started is still
// running: through the package's own bookkeeping (CheckLeaks) and,
// independently, through pgrep.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := CheckLeaks(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: leaked processes:\n%v\n", err)
		code = 1
	}
	if leaks := pgrepLeaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: pgrep finds leaked processes:\n%s\n", strings.Join(leaks, "\n"))
		code = 1
	}
	os.Exit(code)
}

// pgrepLeaks lists children of this test binary, and testbed daemons whose
// command line names one of the test's directories.
func pgrepLeaks() []string {
	pgrep, err := exec.LookPath("pgrep")
	if err != nil {
		return nil
	}
	var leaks []string
	if out, err := exec.Command(pgrep, "-a", "-P", strconv.Itoa(os.Getpid())).Output(); err == nil {
		leaks = append(leaks, strings.Split(strings.TrimSpace(string(out)), "\n")...)
	}
	out, _ := exec.Command(pgrep, "-a", "-f", "ovsdb-server|ovs-vswitchd|ovn-northd|ovs-vtep|ovn-controller-vtep").Output()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		for _, d := range Dirs() {
			if strings.Contains(line, d+"/") {
				leaks = append(leaks, line)
				break
			}
		}
	}
	return leaks
}

const (
	waitLong = 20 * time.Second
	poll     = 20 * time.Millisecond
)

func TestOVNNorthdBuildsDatapath(t *testing.T) {
	t.Parallel()
	ovn := StartOVN(t)

	if r := ovn.NBRemote(); r != "unix:"+filepath.Join(ovn.Dir(), "ovnnb_db.sock") {
		t.Errorf("NBRemote() = %q", r)
	}
	if r := ovn.SBRemote(); r != "unix:"+filepath.Join(ovn.Dir(), "ovnsb_db.sock") {
		t.Errorf("SBRemote() = %q", r)
	}
	// The TCP listeners really serve the databases.
	for _, tc := range []struct {
		db   *OVSDB
		want string
	}{{ovn.NB, "OVN_Northbound"}, {ovn.SB, "OVN_Southbound"}} {
		if !regexp.MustCompile(`^tcp:127\.0\.0\.1:\d+$`).MatchString(tc.db.TCPRemote()) {
			t.Errorf("%s TCPRemote() = %q", tc.want, tc.db.TCPRemote())
			continue
		}
		if got, err := tc.db.Client("list-dbs", tc.db.TCPRemote()); err != nil || got != tc.want+"\n_Server" {
			t.Errorf("ovsdb-client list-dbs %s = %q, %v; want %q", tc.db.TCPRemote(), got, err, tc.want)
		}
	}
	if got := ovn.MustSB(t, "get", "SB_Global", ".", "nb_cfg"); got != "0" {
		t.Errorf("SB_Global after init: nb_cfg = %q, want 0", got)
	}

	ovn.MustNB(t, "ls-add", "ls0")
	waitDatapath(t, ovn, "ls0")

	// Without northd nothing reaches SB; a new northd catches up.
	if err := ovn.StopNorthd(); err != nil {
		t.Fatalf("StopNorthd: %v", err)
	}
	if err := ovn.StopNorthd(); !errors.Is(err, ErrStopped) {
		t.Errorf("second StopNorthd = %v, want ErrStopped", err)
	}
	if err := ovn.Sync(); !errors.Is(err, ErrStopped) {
		t.Errorf("Sync without northd = %v, want ErrStopped", err)
	}
	ovn.MustNB(t, "ls-add", "ls1")
	time.Sleep(300 * time.Millisecond)
	if got := datapaths(t, ovn); slices.Contains(got, "ls1") {
		t.Errorf("SB has ls1 while northd is stopped: %v", got)
	}
	if err := ovn.StartNorthd(); err != nil {
		t.Fatalf("StartNorthd: %v", err)
	}
	if err := ovn.StartNorthd(); err == nil {
		t.Errorf("StartNorthd while running succeeded")
	}
	if err := ovn.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got := datapaths(t, ovn); !slices.Equal(got, []string{"ls0", "ls1"}) {
		t.Errorf("SB datapaths after Sync = %v, want [ls0 ls1]", got)
	}
}

func datapaths(t testing.TB, ovn *OVN) []string {
	t.Helper()
	out := ovn.MustSB(t, "--bare", "--columns=external_ids", "list", "Datapath_Binding")
	var names []string
	for _, f := range strings.Fields(out) {
		if n, ok := strings.CutPrefix(f, "name="); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func waitDatapath(t testing.TB, ovn *OVN, name string) {
	t.Helper()
	Eventually(t, waitLong, poll, func() (bool, string) {
		got := datapaths(t, ovn)
		return slices.Contains(got, name), fmt.Sprintf("SB Datapath_Bindings %v, want %s", got, name)
	})
}

func schemaVersion(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Version string }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Version
}

func TestVTEPSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		schema string
	}{
		{"debian", ""},
		{"hardware_vtep-1.3.0", "../drivers/hwvtep/vtepdb/vtep-1.3.0.ovsschema"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := StartVTEP(t, VTEPOptions{Schema: tc.schema})
			want := schemaVersion(t, cmpOr(tc.schema, VTEPSchema))
			if got, err := v.Client("get-schema-version", v.VtepRemote(), "hardware_vtep"); err != nil || got != want {
				t.Errorf("schema version = %q, %v; want %q", got, err, want)
			}
			v.MustVtep(t, "add-ps", "br0", "--", "set", "Physical_Switch", "br0", "tunnel_ips=1.2.3.4")
			if got := v.MustVtep(t, "list-ps"); got != "br0" {
				t.Errorf("list-ps = %q, want br0", got)
			}
			if got := v.MustVtep(t, "get", "Physical_Switch", "br0", "tunnel_ips"); got != `["1.2.3.4"]` {
				t.Errorf("tunnel_ips = %q", got)
			}
			if p := v.DBPath("vtep"); p != filepath.Join(v.Dir(), "vtep.db") || v.DBPath("hardware_vtep") != p {
				t.Errorf("DBPath(vtep) = %q, DBPath(hardware_vtep) = %q", p, v.DBPath("hardware_vtep"))
			}
			if p := v.DBPath("nope"); p != "" {
				t.Errorf("DBPath(nope) = %q", p)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestOVSDBFaults(t *testing.T) {
	t.Parallel()
	v := StartVTEP(t, VTEPOptions{})
	v.MustVtep(t, "add-ps", "br0")
	sock, port, pid0 := v.UnixRemote(), v.TCPPort(), v.PID()
	if port == 0 {
		t.Fatal("TCPPort() = 0")
	}
	listPS := func(remote string) string {
		t.Helper()
		out, err := v.Client("dump", remote, "hardware_vtep", "Physical_Switch", "name")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Reconnect drops an established client connection.
	conn, err := net.Dial("unix", v.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := v.Reconnect(); err != nil {
		t.Fatalf("Reconnect: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after Reconnect: %v, want EOF", err)
	}
	if got := v.MustVtep(t, "list-ps"); got != "br0" {
		t.Errorf("list-ps after Reconnect = %q", got)
	}

	// Restart: new process, same socket and port, same data.
	if err := v.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if v.PID() == pid0 || v.UnixRemote() != sock || v.TCPPort() != port {
		t.Errorf("after Restart: pid %d (was %d), %s (was %s), port %d (was %d)", v.PID(), pid0, v.UnixRemote(), sock, v.TCPPort(), port)
	}
	if got := listPS(v.TCPRemote()); !strings.Contains(got, "br0") {
		t.Errorf("dump over TCP after Restart:\n%s", got)
	}

	// Kill9: calls fail fast; Restart recovers the committed data.
	if err := v.Kill9(); err != nil {
		t.Fatalf("Kill9: %v", err)
	}
	if v.Running() {
		t.Error("Running() after Kill9")
	}
	if _, err := v.VtepCtl("list-ps"); !errors.Is(err, ErrStopped) {
		t.Errorf("VtepCtl after Kill9 = %v, want ErrStopped", err)
	}
	if err := v.Restart(); err != nil {
		t.Fatalf("Restart after Kill9: %v", err)
	}
	if got := v.MustVtep(t, "list-ps"); got != "br0" {
		t.Errorf("list-ps after Kill9+Restart = %q", got)
	}

	// Stop: every call returns ErrStopped without hanging.
	if err := v.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for name, call := range map[string]func() error{
		"Stop":      v.Stop,
		"Kill9":     v.Kill9,
		"Reconnect": v.Reconnect,
		"VtepCtl":   func() error { _, err := v.VtepCtl("list-ps"); return err },
		"AppCtl":    func() error { _, err := v.AppCtl("version"); return err },
	} {
		if err := call(); !errors.Is(err, ErrStopped) {
			t.Errorf("%s after Stop = %v, want ErrStopped", name, err)
		}
	}

	// Restart when the port has been taken meanwhile: a new port.
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("take port %d: %v", port, err)
	}
	defer l.Close()
	if err := v.Restart(); err != nil {
		t.Fatalf("Restart with port taken: %v", err)
	}
	if v.TCPPort() == port || v.TCPPort() == 0 {
		t.Errorf("TCPPort() = %d after Restart with %d taken", v.TCPPort(), port)
	}
	if got := listPS(v.TCPRemote()); !strings.Contains(got, "br0") {
		t.Errorf("dump over new TCP port:\n%s", got)
	}
}

func TestReferenceController(t *testing.T) {
	t.Parallel()
	for _, remotes := range []string{"unix", "tcp"} {
		t.Run(remotes, func(t *testing.T) {
			t.Parallel()
			ovn := StartOVN(t)
			vtep := StartVTEP(t, VTEPOptions{})
			vtep.MustVtep(t, "add-ps", "br-vtep", "--", "set", "Physical_Switch", "br-vtep", "tunnel_ips=1.2.3.4")
			vr, sr := vtep.VtepRemote(), ovn.SBRemote()
			if remotes == "tcp" {
				vr, sr = vtep.TCPRemote(), ovn.SB.TCPRemote()
			}
			c := StartReferenceController(t, vr, sr)

			chassis := func() string {
				return ovn.MustSB(t, "--bare", "--columns=name", "list", "Chassis")
			}
			Eventually(t, waitLong, poll, func() (bool, string) {
				got := chassis()
				return got == "br-vtep", fmt.Sprintf("SB Chassis names %q, want br-vtep", got)
			})
			if got := ovn.MustSB(t, "get", "Chassis", "br-vtep", "other_config:is-vtep"); got != `"true"` {
				t.Errorf("Chassis other_config:is-vtep = %s", got)
			}
			if out, err := c.AppCtl("version"); err != nil || !strings.Contains(out, "ovn-controller-vtep") {
				t.Errorf("AppCtl(version) = %q, %v", out, err)
			}
			if cpu, err := c.CPUTime(); err != nil || cpu < 0 {
				t.Errorf("CPUTime() = %v, %v", cpu, err)
			}
			if m, err := c.Memory(); err != nil || m.RSS < 1<<20 || m.HWM < m.RSS {
				t.Errorf("Memory() = %+v, %v", m, err)
			}
			if data, err := os.ReadFile(c.LogPath()); err != nil || !strings.Contains(string(data), "add Chassis row for VTEP physical switch (br-vtep)") {
				t.Errorf("log %s: %v\n%s", c.LogPath(), err, data)
			}

			// A graceful exit removes the Chassis before the process ends.
			if err := c.Exit(); err != nil {
				t.Fatalf("Exit: %v", err)
			}
			if got := chassis(); got != "" {
				t.Errorf("SB Chassis after Exit = %q, want none", got)
			}
			if err := c.Exit(); !errors.Is(err, ErrStopped) {
				t.Errorf("second Exit = %v, want ErrStopped", err)
			}
			if err := c.Stop(); !errors.Is(err, ErrStopped) {
				t.Errorf("Stop after Exit = %v, want ErrStopped", err)
			}
			if _, err := c.AppCtl("version"); !errors.Is(err, ErrStopped) {
				t.Errorf("AppCtl after Exit = %v, want ErrStopped", err)
			}
		})
	}
}

func TestReferenceControllerSIGTERMLeavesChassis(t *testing.T) {
	t.Parallel()
	ovn := StartOVN(t)
	vtep := StartVTEP(t, VTEPOptions{NoTCP: true})
	if vtep.TCPRemote() != "" {
		t.Errorf("TCPRemote() with NoTCP = %q", vtep.TCPRemote())
	}
	vtep.MustVtep(t, "add-ps", "ps1", "--", "set", "Physical_Switch", "ps1", "tunnel_ips=1.2.3.5")
	c := StartReferenceController(t, vtep.VtepRemote(), ovn.SBRemote())
	Eventually(t, waitLong, poll, func() (bool, string) {
		got := ovn.MustSB(t, "--bare", "--columns=name", "list", "Chassis")
		return got == "ps1", fmt.Sprintf("SB Chassis names %q", got)
	})
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := ovn.MustSB(t, "--bare", "--columns=name", "list", "Chassis"); got != "ps1" {
		t.Errorf("Chassis after SIGTERM = %q, want ps1 left behind", got)
	}
}

func TestSimSwitch(t *testing.T) {
	t.Parallel()
	// Two emulated switches with ovs-vtep and one without, side by side.
	a := StartSimSwitch(t, SimOptions{Name: "br-a", TunnelIP: "1.2.3.4", Ports: []string{"p0", "p1"}, Emulator: EmulatorOVSVTEP})
	b := StartSimSwitch(t, SimOptions{Name: "br-b", TunnelIP: "1.2.3.5", Ports: []string{"q0"}})
	c := StartSimSwitch(t, SimOptions{Name: "br-c", Emulator: EmulatorNone})

	if a.Dir() == b.Dir() || a.Dir() == c.Dir() {
		t.Fatalf("sim switches share a directory: %s %s %s", a.Dir(), b.Dir(), c.Dir())
	}
	for _, tc := range []struct {
		s     *SimSwitch
		ports string
		desc  string
		ip    string
	}{
		{a, "p0 p1", `"OVS VTEP Emulator"`, `["1.2.3.4"]`},
		{b, "q0", `"OVS VTEP Emulator"`, `["1.2.3.5"]`},
		{c, "", `""`, `["1.2.3.4"]`},
	} {
		s := tc.s
		if got := strings.Join(strings.Fields(s.MustVtep(t, "list-ports", s.Name())), " "); got != tc.ports {
			t.Errorf("%s: Physical_Ports %q, want %q", s.Name(), got, tc.ports)
		}
		if got := s.MustVtep(t, "list-ps"); got != s.Name() {
			t.Errorf("%s: list-ps = %q", s.Name(), got)
		}
		if got := s.MustVtep(t, "get", "Physical_Switch", s.Name(), "description"); got != tc.desc {
			t.Errorf("%s: description = %s, want %s", s.Name(), got, tc.desc)
		}
		if got := s.MustVtep(t, "get", "Physical_Switch", s.Name(), "tunnel_ips"); got != tc.ip {
			t.Errorf("%s: tunnel_ips = %s, want %s", s.Name(), got, tc.ip)
		}
		if got := s.DBNames(); !slices.Equal(got, []string{"Open_vSwitch", "hardware_vtep"}) {
			t.Errorf("%s: DBNames() = %v", s.Name(), got)
		}
		show := s.MustOfCtl(t, "show", s.Name())
		for _, p := range s.Ports() {
			if !strings.Contains(show, "("+p+")") {
				t.Errorf("%s: ovs-ofctl show lacks %s:\n%s", s.Name(), p, show)
			}
		}
		if got := s.MustVsCtl(t, "get", "Bridge", s.Name(), "datapath_type"); got != "dummy" {
			t.Errorf("%s: datapath_type = %s", s.Name(), got)
		}
	}
	if got := a.MustVsCtl(t, "list-br"); !strings.Contains(got, "vtep_bfd") {
		t.Errorf("ovs-vtep did not create vtep_bfd: %q", got)
	}

	// Stop on the emulator-less switch; then calls fail fast.
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(); !errors.Is(err, ErrStopped) {
		t.Errorf("second Stop = %v, want ErrStopped", err)
	}
	for name, call := range map[string]func() error{
		"VsCtl":   func() error { _, err := c.VsCtl("list-br"); return err },
		"VtepCtl": func() error { _, err := c.VtepCtl("list-ps"); return err },
		"OfCtl":   func() error { _, err := c.OfCtl("show", "br-c"); return err },
		"AppCtl":  func() error { _, err := c.AppCtl("version"); return err },
	} {
		if err := call(); !errors.Is(err, ErrStopped) {
			t.Errorf("%s after Stop = %v, want ErrStopped", name, err)
		}
	}

	if testing.Short() {
		return
	}
	// ovs-vtep's data path: bind p0 to a logical switch, inject a frame,
	// and the source MAC is learned into Ucast_Macs_Local.
	a.MustVtep(t, "add-ls", "ls0", "--", "bind-ls", "br-a", "p0", "0", "ls0")
	const flow = "in_port(1),eth(src=00:00:00:00:00:aa,dst=00:00:00:00:00:01),eth_type(0x0800)," +
		"ipv4(src=10.0.0.100,dst=10.0.0.1,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)"
	Eventually(t, 10*OVSVTEPPollInterval, 200*time.Millisecond, func() (bool, string) {
		// Inject until ovs-vtep has built the logical switch's bridge.
		if _, err := a.AppCtl("netdev-dummy/receive", "p0", flow); err != nil {
			return false, err.Error()
		}
		out, err := a.VtepCtl("list-local-macs", "ls0")
		return err == nil && strings.Contains(out, "00:00:00:00:00:aa -> vxlan_over_ipv4/1.2.3.4"),
			fmt.Sprintf("list-local-macs ls0: %q, %v", out, err)
	})
}

func TestProcessStop(t *testing.T) {
	t.Parallel()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	dir := NewDir(t)
	p, err := StartProcess(t, ProcessConfig{Name: "sleep", Path: sleep, Args: []string{"60"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() <= 0 || p.Exited() {
		t.Fatalf("PID() = %d, Exited() = %v", p.PID(), p.Exited())
	}
	if _, err := CPUTime(p.PID()); err != nil {
		t.Errorf("CPUTime: %v", err)
	}
	if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID())); err != nil || !strings.Contains(string(env), "\x00OVS_RUNDIR="+dir+"\x00") {
		t.Errorf("child environment lacks OVS_RUNDIR=%s (%v)", dir, err)
	}
	if err := p.Wait(50 * time.Millisecond); err == nil {
		t.Error("Wait on a running process returned nil")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !p.Exited() {
		t.Error("Exited() = false after Stop")
	}
	if err := p.Stop(); !errors.Is(err, ErrStopped) {
		t.Errorf("second Stop = %v, want ErrStopped", err)
	}
	if err := p.Kill(); !errors.Is(err, ErrStopped) {
		t.Errorf("Kill after Stop = %v, want ErrStopped", err)
	}
	if err := p.Signal(os.Interrupt); !errors.Is(err, ErrStopped) {
		t.Errorf("Signal after Stop = %v, want ErrStopped", err)
	}
}

func TestProcessIgnoringSIGTERMIsKilled(t *testing.T) {
	t.Parallel()
	Require(t, BinPython)
	py, _ := Lookup(BinPython)
	dir := NewDir(t)
	p, err := StartProcess(t, ProcessConfig{
		Name:        "stubborn",
		Path:        py,
		Args:        []string{"-c", "import signal,sys,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"},
		Dir:         dir,
		StopTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady(waitLong, "ready", func() error {
		if data, _ := os.ReadFile(p.OutputPath()); strings.Contains(string(data), "ready") {
			return nil
		}
		return errNotReady
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Stop took %v, want just over the 200ms stop timeout", d)
	}
	if err := p.ExitErr(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("ExitErr() = %v, want killed", err)
	}
}

func TestProcessExitingByItself(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	p, err := StartProcess(t, ProcessConfig{Path: sh, Args: []string{"-c", "echo bye; exit 3"}, Dir: NewDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := p.Wait(waitLong); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	if err := p.Stop(); !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "by itself") {
		t.Errorf("Stop after own exit = %v", err)
	}
	if !strings.Contains(p.describe(), "bye") {
		t.Errorf("describe() lacks the output:\n%s", p.describe())
	}
	if _, err := StartProcess(t, ProcessConfig{Path: sh}); err == nil {
		t.Error("StartProcess without Dir succeeded")
	}
	if _, err := StartProcess(t, ProcessConfig{Path: filepath.Join(t.TempDir(), "nope"), Dir: NewDir(t)}); err == nil {
		t.Error("StartProcess of a missing program succeeded")
	}
}

func TestCPUTimeAndMemoryOfSelf(t *testing.T) {
	t.Parallel()
	// Burn a little CPU so the counter moves.
	start := time.Now()
	for x := 0; time.Since(start) < 50*time.Millisecond; x++ {
		_ = x * x
	}
	cpu, err := CPUTime(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("CPUTime(self) = %v, %v", cpu, err)
	}
	m, err := Memory(os.Getpid())
	if err != nil || m.RSS == 0 || m.HWM < m.RSS {
		t.Errorf("Memory(self) = %+v, %v", m, err)
	}
	if _, err := CPUTime(-1); err == nil {
		t.Error("CPUTime(-1) succeeded")
	}
	if hz := clockTicks(); hz != 100 && hz != 250 && hz != 1000 {
		t.Errorf("clockTicks() = %d", hz)
	}
}

func TestListeningPortsOfSelf(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := l.Addr().(*net.TCPAddr).Port
	got, err := ListeningPorts(os.Getpid())
	if err != nil || !slices.Contains(got, want) {
		t.Errorf("ListeningPorts(self) = %v, %v; want it to contain %d", got, err, want)
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listen on FreePort() %d: %v", port, err)
	}
	l.Close()
}

func TestNewDirIsShort(t *testing.T) {
	t.Parallel()
	t.Run(strings.Repeat("a-very-long-subtest-name-", 4), func(t *testing.T) {
		d := NewDir(t)
		if len(d) > maxDirLen {
			t.Errorf("NewDir() = %q (%d bytes)", d, len(d))
		}
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("NewDir() %q: %v", d, err)
		}
		if !slices.Contains(Dirs(), d) {
			t.Errorf("Dirs() lacks %s", d)
		}
	})
}

func TestEnv(t *testing.T) {
	t.Setenv("OVS_RUNDIR", "/var/run/openvswitch")
	t.Setenv("OVN_NB_DB", "unix:/var/run/ovn/ovnnb_db.sock")
	env := Env("/tmp/x")
	count := map[string]int{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		count[k]++
		if strings.HasPrefix(k, "OVS_") || strings.HasPrefix(k, "OVN_") {
			if v != "/tmp/x" {
				t.Errorf("%s", kv)
			}
		}
	}
	for _, k := range []string{"OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR", "OVN_RUNDIR", "OVN_DBDIR", "OVN_LOGDIR", "OVN_SYSCONFDIR", "PATH"} {
		if count[k] != 1 {
			t.Errorf("%s appears %d times", k, count[k])
		}
	}
	if count["OVN_NB_DB"] != 0 {
		t.Error("OVN_NB_DB inherited")
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	extra := t.TempDir()
	fake := filepath.Join(extra, "ovsdb-server")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := lookup("ovsdb-server", extra, ""); err != nil || got != fake {
		t.Errorf("lookup with extra dir = %q, %v; want %q", got, err, fake)
	}
	if _, err := lookup("no-such-program-xyz", extra, os.Getenv("PATH")); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("lookup(missing) = %v, want ErrNotInstalled", err)
	}
	if got, err := lookup(BinOVSVTEP, "", "/nonexistent"); err == nil && filepath.Dir(got) != ovsScriptsDir {
		t.Errorf("lookup(ovs-vtep) = %q", got)
	}
}

// recordTB records Fatal and Skip instead of acting on them; call the code
// under test in its own goroutine (see runTB).
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Fatal(args ...any) { r.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (r *recordTB) Fatalf(f string, args ...any) {
	r.fatal = fmt.Sprintf(f, args...)
	runtime.Goexit()
}
func (r *recordTB) Skip(args ...any) { r.skip = fmt.Sprint(args...); runtime.Goexit() }

func runTB(t *testing.T, f func(tb testing.TB)) *recordTB {
	r := &recordTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestRequireMissing(t *testing.T) {
	// Not parallel: it sets the environment.
	t.Setenv(envRequireReal, "")
	r := runTB(t, func(tb testing.TB) { Require(tb, "no-such-program-xyz") })
	if r.fatal != "" || !strings.Contains(r.skip, "no-such-program-xyz") || !strings.Contains(r.skip, "install-deps.sh") {
		t.Errorf("Require(missing): skip %q, fatal %q", r.skip, r.fatal)
	}
	t.Setenv(envRequireReal, "1")
	r = runTB(t, func(tb testing.TB) { Require(tb, "no-such-program-xyz") })
	if r.skip != "" || !strings.Contains(r.fatal, "no-such-program-xyz") {
		t.Errorf("Require(missing) with %s=1: skip %q, fatal %q", envRequireReal, r.skip, r.fatal)
	}
}

func TestEventually(t *testing.T) {
	t.Parallel()
	n := 0
	r := runTB(t, func(tb testing.TB) {
		Eventually(tb, time.Second, time.Millisecond, func() (bool, string) { n++; return n == 3, "" })
	})
	if r.fatal != "" || n != 3 {
		t.Errorf("Eventually: fatal %q after %d calls", r.fatal, n)
	}
	n = 0
	start := time.Now()
	r = runTB(t, func(tb testing.TB) {
		Eventually(tb, 100*time.Millisecond, 10*time.Millisecond, func() (bool, string) { n++; return false, fmt.Sprintf("try %d", n) })
	})
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("Eventually gave up after %v", d)
	}
	if want := fmt.Sprintf("try %d", n); !strings.HasSuffix(r.fatal, want) {
		t.Errorf("Eventually failure %q, want the last message %q", r.fatal, want)
	}
}

func TestCheckLeaksFindsStrays(t *testing.T) {
	// Not parallel, so that no other test's processes are around.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip(err)
	}
	dir := NewDir(t)
	// A grandchild, as ovs-vtep's ctl tools would be: reparented away from
	// us, recognisable only by the testbed directory in its environment.
	cmd := exec.Command(sh, "-c", "sleep 30 >/dev/null 2>&1 & echo $!")
	cmd.Env = Env(dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	stray, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stray.Kill() })
	if err := CheckLeaks(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("process %d (sleep)", pid)) {
		t.Errorf("CheckLeaks() = %v, want it to report pid %d", err, pid)
	}
	if err := stray.Kill(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, waitLong, poll, func() (bool, string) {
		err := CheckLeaks()
		return err == nil || !strings.Contains(err.Error(), strconv.Itoa(pid)), fmt.Sprint(err)
	})

	// A child started by StartProcess and not stopped yet.
	p, err := StartProcess(t, ProcessConfig{Name: "sleeper", Path: sh, Args: []string{"-c", "exec sleep 30"}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLeaks(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("sleeper (pid %d) still running", p.PID())) {
		t.Errorf("CheckLeaks() = %v, want it to report sleeper", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := CheckLeaks(); err != nil {
		t.Errorf("CheckLeaks() after Stop = %v", err)
	}
}
