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
	"strings"
	"testing"

	"example.com/acme-vtep-driver/acmeapi"
	"example.com/acme-vtep-driver/acmesim"
	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/testbed"
	"github.com/vtepgw/vtepgw/testbed/scenario"
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
// domain "web".
const (
	psName   = "acme1"
	bdName   = "web"
	vtepAddr = "127.0.2.31"
)

// acmeDevice is the simulated Acme switch as package scenario sees it: its
// own configuration, read directly (not through the driver).
type acmeDevice struct{ sw *acmesim.Switch }

// Caps: Acme holds remote MACs with their IPs (no Shadows*, no
// NoUcastRemote), so the scenario expects the full state.
func (d acmeDevice) Caps() drivers.Capabilities { return drivers.Capabilities{} }

func (d acmeDevice) View() (scenario.State, error) {
	cfg := d.sw.Config()
	s := scenario.State{Remote: map[string]string{}}
	found := false
	for _, bd := range cfg.BridgeDomains {
		if bd.Name == bdName {
			found = true
			if bd.VNI != nil {
				s.VNI = *bd.VNI
			}
		}
	}
	if !found {
		return s, fmt.Errorf("no bridge domain %s", bdName)
	}
	for _, m := range cfg.RemoteMACs {
		if m.BD == bdName {
			s.Remote[m.MAC] = strings.TrimSpace(m.VTEP + " " + m.IP)
		}
	}
	for _, g := range cfg.FloodGroups {
		if g.BD == bdName && g.Group == acmeapi.GroupBUM {
			s.Flood = append(s.Flood, g.VTEPs...)
		}
	}
	for _, m := range cfg.LearnedMACs {
		if m.BD == bdName {
			s.Learned = append(s.Learned, m.MAC)
		}
	}
	return s, nil
}

func (d acmeDevice) Learn(t testing.TB, mac string) {
	t.Helper()
	if err := d.sw.Learn(bdName, mac); err != nil {
		t.Fatal(err)
	}
}

// TestScenario runs vtepgw-acme for real, against OVN's databases and
// ovn-northd (Debian's packages, as vtepgw's own end-to-end tests) and a
// simulated Acme switch, through the same scenario vtepgw's in-tree
// drivers run (package testbed/scenario): the OVN topology reaches the
// switch through the out-of-tree driver (with the VIFs' IPs when vtepgw
// runs with arp-suppression), and a MAC the switch learns reaches OVN's
// FDB. Then the switch drops its sessions and an operator deletes an entry:
// the driver reconnects and the resync repairs it.
func TestScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs OVN's databases and northd")
	}
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool, testbed.BinNorthd, testbed.BinNBctl, testbed.BinSBctl)
	for _, arp := range []bool{false, true} {
		t.Run(fmt.Sprintf("arp-suppression=%t", arp), func(t *testing.T) {
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
			cfg := fmt.Sprintf("log-level: debug\narp-suppression: %t\nswitches:\n  - %s\n", arp, acme) // JSON is YAML
			testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: bin, SBRemote: ovn.SBRemote(), Config: cfg, FailLogLines: 60})

			dev := acmeDevice{sw}
			want := scenario.Run(t, ovn, dev, scenario.Options{PhysicalSwitch: psName, LogicalSwitch: bdName, ARPSuppression: arp})

			// The switch drops its management sessions: the driver
			// reconnects and resyncs, and an operator's deletion meanwhile
			// is repaired.
			sw.DropSessions()
			if err := sw.DeleteRemoteMAC(bdName, scenario.VIFs[0].MAC); err != nil {
				t.Fatal(err)
			}
			scenario.WaitState(t, dev, want, "after a dropped session and an operator's deletion")
		})
	}
}
