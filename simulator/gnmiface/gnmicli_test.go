package gnmiface_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
)

// gnmiCLI finds or builds the gnmi module's gnmi_cli: $VTEPGW_GNMI_CLI,
// then gnmi_cli on PATH, then a build from the module cache (in the gnmi
// module's own context, whose go.sum covers its extra dependencies) kept
// in the user cache directory.
func gnmiCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VTEPGW_GNMI_CLI"); p != "" {
		return p
	}
	if p, err := exec.LookPath("gnmi_cli"); err == nil {
		return p
	}
	skip := func(why string, args ...any) {
		t.Helper()
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf(why, args...)
		}
		t.Skipf(why+" (install with: go install github.com/openconfig/gnmi/cmd/gnmi_cli@v0.14.1, or set VTEPGW_GNMI_CLI)", args...)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/openconfig/gnmi").Output()
	if err != nil {
		skip("go list gnmi module: %v", err)
	}
	dir, ver, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = t.TempDir()
	}
	bin := filepath.Join(cache, "vtepgw", "gnmi_cli-"+ver)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		skip("cache dir: %v", err)
	}
	tmp := bin + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/gnmi_cli")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		skip("build gnmi_cli: %v\n%s", err, b)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestGnmiCLI drives the face with the real third-party client: TLS with
// the test CA, username and password from GNMI_USER/GNMI_PASS.
func TestGnmiCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gnmi_cli")
	}
	bin := gnmiCLI(t)
	e := start(t, facetest.Switch())
	base := []string{"-address", e.face.Addr, "-ca_crt", e.ca.CAFile, "-server_name", facetest.ServerName,
		"-with_user_pass", "-timeout", "10s", "-logtostderr"}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		cmd.Env = append(os.Environ(), "GNMI_USER=admin", "GNMI_PASS=s3cret")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("gnmi_cli %v: %v\nstdout: %s\nstderr: %s", args, err, out.String(), errb.String())
		}
		return out.String()
	}

	caps := run("-capabilities")
	if !strings.Contains(caps, "openconfig-network-instance") || !strings.Contains(caps, "gNMI_version") {
		t.Fatalf("capabilities: %s", caps)
	}

	// Set: a flood-list member and a remote MAC in SONiC's APPL_DB.
	run("-set", "-proto", `prefix: <origin: "sonic-db" target: "sw1">
update: <path: <elem: <name: "APPL_DB"> elem: <name: "localhost"> elem: <name: "VXLAN_REMOTE_VNI_TABLE"> elem: <name: "Vlan100:192.0.2.2"> elem: <name: "vni">> val: <string_val: "10100">>
update: <path: <elem: <name: "APPL_DB"> elem: <name: "localhost"> elem: <name: "VXLAN_FDB_TABLE"> elem: <name: "Vlan100:00:aa:bb:cc:dd:ee"> elem: <name: "remote_vtep">> val: <string_val: "192.0.2.2">>`)
	st := e.dev.Snapshot()
	if !st.VLANs[100].Flood["192.0.2.2"] || st.VLANs[100].Remote["00:aa:bb:cc:dd:ee"] != "192.0.2.2" {
		t.Fatalf("after gnmi_cli set: %+v", st.VLANs[100])
	}

	// Get it back, through the OpenConfig mac-table.
	got := run("-get", "-proto", `prefix: <target: "sw1">
path: <elem: <name: "network-instances"> elem: <name: "network-instance" key: <key: "name" value: "default">> elem: <name: "fdb"> elem: <name: "mac-table">>`)
	if !strings.Contains(got, "00:aa:bb:cc:dd:ee") || !strings.Contains(got, "STATIC") {
		t.Fatalf("get: %s", got)
	}

	// ONCE subscription with a query path.
	once := run("-qt", "once", "-t", "sw1", "-q", "/network-instances/network-instance[name=default]/vlans")
	if !strings.Contains(once, "ls0") || !strings.Contains(once, "ls1") {
		t.Fatalf("subscribe once: %s", once)
	}

	// STREAM: a MAC learned while subscribed shows up.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(base, "-qt", "s", "-t", "sw1", "-dt", "s",
		"-q", "/network-instances/network-instance[name=default]/fdb/mac-table/entries")...)
	cmd.Env = append(os.Environ(), "GNMI_USER=admin", "GNMI_PASS=s3cret")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	defer func() {
		cancel()
		_ = cmd.Wait()
		wg.Wait()
	}()
	wait := func(substr string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("gnmi_cli ended before %q; stderr: %s", substr, errb.String())
				}
				if strings.Contains(l, substr) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %q from gnmi_cli; stderr: %s", substr, errb.String())
			}
		}
	}
	wait("00:aa:bb:cc:dd:ee") // the initial sync
	if _, err := e.dev.Learn(100, "02:00:00:00:00:99", "Ethernet4"); err != nil {
		t.Fatal(err)
	}
	wait("02:00:00:00:00:99")
}
