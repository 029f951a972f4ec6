package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/acme-vtep-driver/acmeapi"
	"example.com/acme-vtep-driver/acmesim"
	"github.com/vtepgw/vtepgw/testbed"
)

// bin is vtepgw-acme, built once by TestMain the way a vendor builds it.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vtepgw-acme")
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "vtepgw-acme")
	code := 1
	if err := build(bin); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: build vtepgw-acme: %v\n", err)
	} else {
		code = m.Run()
		if err := testbed.CheckLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: leaked processes:\n%v\n", err)
			code = 1
		}
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command: the one on PATH (go test puts its own first),
// else the toolchain this test was built with.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	//lint:ignore SA1019 the fallback for a test binary run off PATH
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// build runs `go build` on this package (with the race detector when
// VTEPGW_E2E_RACE=1).
func build(out string) error {
	goBin := goTool()
	args := []string{"build", "-o", out}
	if os.Getenv("VTEPGW_E2E_RACE") == "1" {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, ".")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", goBin, strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

// run runs the binary and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", bin, args, err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

func writeConfig(t *testing.T, cfg string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "vtepgw.yaml")
	if err := os.WriteFile(f, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCheckConfig: the binary knows driver "acme" next to the in-tree
// ones, and vtepgw's configuration check reaches the driver's own
// validation.
func TestCheckConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config string // a file, or YAML
		code   int
		want   []string // in stdout for code 0, in stderr otherwise
	}{
		{"the example configuration", "../../vtepgw-acme.yaml", 0, []string{"configuration OK"}},
		{"bad acme settings", `
ovnsb-db: tcp:127.0.0.1:6642
switches:
  - name: acme1
    driver: acme
    endpoints: ["127.0.0.1:99999"]
    settings: {dial-timeout: soon, colour: blue}
`, 2, []string{
			"switches[0] (acme1): driver acme:",
			`endpoint "127.0.0.1:99999": port "99999" is not a number in 1..65535`,
			"setting dial-timeout:",
			`unknown setting "colour"`,
		}},
		{"no endpoint", `
ovnsb-db: tcp:127.0.0.1:6642
switches:
  - {name: acme1, driver: acme}
`, 2, []string{"driver acme: endpoints: at least one HOST:PORT"}},
		{"an unknown driver lists the linked ones", `
ovnsb-db: tcp:127.0.0.1:6642
switches:
  - {name: x, driver: nosuch, endpoints: ["127.0.0.1:1"]}
`, 2, []string{`unknown driver "nosuch" (registered: [acme gnmi hwvtep kernel netconf])`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.config
			if strings.Contains(tc.config, "\n") {
				file = writeConfig(t, tc.config)
			}
			code, stdout, stderr := run(t, "--config", file, "--check-config")
			if code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			out := stdout
			if tc.code != 0 {
				out = stderr
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestNoRuntimePlugins pins the decision drivers/README.md documents:
// vtepgw has no out-of-process (gRPC) or dynamically loaded drivers, only
// drivers compiled in. TestCheckConfig shows the registry lists exactly
// the linked ones; here, no plugin loader is linked at all.
func TestNoRuntimePlugins(t *testing.T) {
	goBin := goTool()
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "plugin" || strings.Contains(pkg, "go-plugin") {
			t.Errorf("vtepgw-acme links %s: drivers are compiled in, not loaded at run time (update drivers/README.md if that changes)", pkg)
		}
	}
}

// The scenario's names and addresses: the Acme switch "acme1" with bridge
// domain "web", and two VIFs behind two VXLAN chassis.
const (
	psName   = "acme1"
	bdName   = "web"
	vtepAddr = "127.0.2.31"
	learned  = "02:00:00:00:0a:01"
	waitLong = 30 * time.Second
	poll     = 50 * time.Millisecond
)

var vifs = []struct{ lsp, mac, ip, chassis, encapIP string }{
	{"vif1", "f0:00:00:00:00:01", "10.0.0.1", "hv1", "127.0.1.1"},
	{"vif2", "f0:00:00:00:00:02", "10.0.0.2", "hv2", "127.0.1.2"},
}

// TestScenario runs vtepgw-acme for real, against OVN's databases and
// ovn-northd (Debian's packages, as vtepgw's own end-to-end tests) and a
// simulated Acme switch: the OVN topology reaches the switch through the
// out-of-tree driver, and a MAC the switch learns reaches OVN's FDB.
func TestScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs OVN's databases and northd")
	}
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool, testbed.BinNorthd, testbed.BinNBctl, testbed.BinSBctl)
	ovn := testbed.StartOVN(t)

	sw := acmesim.New(acmesim.Options{Hostname: psName, VTEPAddress: vtepAddr, BridgeDomains: []string{bdName}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sw.Serve(ln) }()
	t.Cleanup(func() { _ = sw.Close() })

	acme, _ := json.Marshal(map[string]any{
		"name": psName, "driver": "acme", "endpoints": []string{ln.Addr().String()},
		"settings": map[string]any{"reconnect-backoff": "50ms"},
	})
	cfg := fmt.Sprintf("log-level: debug\nswitches:\n  - %s\n", acme) // JSON is YAML
	testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: bin, SBRemote: ovn.SBRemote(), Config: cfg, FailLogLines: 60})

	// The gateway registers the Acme switch as a chassis.
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := ovn.SBCtl("--bare", "--columns=name", "find", "Chassis", "name="+psName)
		return err == nil && out == psName, fmt.Sprintf("SB chassis %q: %q, %v", psName, out, err)
	})

	// OVN topology → the switch.
	ovn.MustNB(t, "ls-add", "lsw")
	for _, v := range vifs {
		ovn.MustNB(t, "lsp-add", "lsw", v.lsp, "--", "lsp-set-addresses", v.lsp, v.mac+" "+v.ip)
	}
	ovn.MustNB(t, "lsp-add", "lsw", "lsw-vtep", "--", "lsp-set-type", "lsw-vtep", "vtep",
		"--", "lsp-set-options", "lsw-vtep", "vtep-physical-switch="+psName, "vtep-logical-switch="+bdName)
	if err := ovn.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, v := range vifs {
		ovn.MustSB(t, "chassis-add", v.chassis, "vxlan", v.encapIP)
		ovn.MustSB(t, "lsp-bind", v.lsp, v.chassis)
	}
	dpKey := atoi(t, ovn.MustSB(t, "--bare", "--columns=tunnel_key", "find", "Datapath_Binding", "external_ids:name=lsw"))
	portKey := atoi(t, ovn.MustSB(t, "--bare", "--columns=tunnel_key", "find", "Port_Binding", "logical_port=lsw-vtep"))

	want := acmeapi.Config{
		BridgeDomains: []acmeapi.BridgeDomain{{Name: bdName, VNI: &dpKey, Replication: acmeapi.ReplicationIngress}},
		FloodGroups:   []acmeapi.FloodGroup{{BD: bdName, Group: acmeapi.GroupBUM}},
	}
	for _, v := range vifs {
		want.RemoteMACs = append(want.RemoteMACs, acmeapi.RemoteMAC{BD: bdName, MAC: v.mac, VTEP: v.encapIP})
		want.FloodGroups[0].VTEPs = append(want.FloodGroups[0].VTEPs, v.encapIP)
	}
	waitConfig(t, sw, want, "after the OVN topology")

	// The switch learns → OVN's FDB.
	if err := sw.Learn(bdName, learned); err != nil {
		t.Fatal(err)
	}
	wantFDB := fmt.Sprintf("%s %d %d", learned, dpKey, portKey)
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		out, err := ovn.SBCtl("--bare", "--columns=mac,dp_key,port_key", "find", "FDB", `mac="`+learned+`"`)
		got := strings.Join(strings.Fields(out), " ")
		return err == nil && got == wantFDB, fmt.Sprintf("SB FDB: want %q, got %q (err %v)", wantFDB, got, err)
	})
	want.LearnedMACs = []acmeapi.LearnedMAC{{BD: bdName, MAC: learned, Port: "xe-0/0/0"}}
	waitConfig(t, sw, want, "after learning")

	// The switch drops its management sessions: the driver reconnects and
	// resyncs, and an operator's deletion meanwhile is repaired.
	sw.DropSessions()
	if err := sw.DeleteRemoteMAC(bdName, vifs[0].mac); err != nil {
		t.Fatal(err)
	}
	waitConfig(t, sw, want, "after a dropped session and an operator's deletion")
}

// waitConfig waits until the switch's own configuration is want.
func waitConfig(t *testing.T, sw *acmesim.Switch, want acmeapi.Config, when string) {
	t.Helper()
	wantJSON, _ := json.Marshal(want)
	testbed.Eventually(t, waitLong, poll, func() (bool, string) {
		got := sw.Config()
		for i := range got.FloodGroups {
			slices.Sort(got.FloodGroups[i].VTEPs)
		}
		gotJSON, _ := json.Marshal(got)
		return bytes.Equal(gotJSON, wantJSON), fmt.Sprintf("%s: the switch's configuration\n got  %s\n want %s", when, gotJSON, wantJSON)
	})
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
