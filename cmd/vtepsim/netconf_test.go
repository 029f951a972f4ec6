package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
)

// The test binary runs as vtepsim when this is set (see TestMain).
const asVtepsim = "VTEPSIM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asVtepsim) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// vtepsim runs this test binary as vtepsim with args; it is stopped by PID
// (SIGTERM) when the test ends.
func vtepsim(t *testing.T, env []string, args ...string) *syncBuf {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), asVtepsim+"=1"), env...)
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("vtepsim output:\n%s", out.String())
		}
	})
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dialFace waits for the face, verifying its host key from the .pub file
// vtepsim wrote next to --netconf-host-key.
func dialFace(t *testing.T, addr, hostKey string, auth ssh.AuthMethod) *ncwire.Client {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(hostKey + ".pub")
		var host ssh.PublicKey
		if err == nil {
			host, _, _, _, err = ssh.ParseAuthorizedKey(b)
		}
		if err == nil {
			cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(host), Timeout: 5 * time.Second}
			c, err := ncwire.DialSSH(context.Background(), addr, cfg, 0)
			if err == nil {
				t.Cleanup(func() { c.Close() })
				return c
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
		} else if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func call(t *testing.T, c *ncwire.Client, op string) *ncwire.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Call(ctx, op)
	if err == nil {
		err = r.Err()
	}
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return r
}

const vsw = `<vtep xmlns="` + netconfface.VtepgwNS + `">`

// vtepsim --netconf-addr without PS-NAME: the face alone, in memory.
func TestNETCONFFaceAlone(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := vtepsim(t, nil, "--netconf-addr="+addr, "--netconf-password-file="+pw, "--netconf-host-key="+filepath.Join(dir, "hk"),
		"--netconf-switch=qfx1", "--netconf-binding=xe-0/0/1:100:web")
	c := dialFace(t, addr, filepath.Join(dir, "hk"), ssh.Password("secret"))
	call(t, c, "<edit-config><target><running/></target><config><configuration><vlans><vlan><name>web</name><vxlan><vni>10100</vni></vxlan></vlan></vlans></configuration></config></edit-config>")
	r := call(t, c, `<get-config><source><running/></source><filter>`+vsw+`<logical-switch><name>web</name></logical-switch></vtep></filter></get-config>`)
	if !strings.Contains(string(r.Data), "<vni>10100</vni>") {
		t.Fatalf("after a Junos edit: %s", r.Data)
	}
	if !strings.Contains(out.String(), "known_hosts") {
		t.Errorf("the face did not log its known_hosts line: %s", out.String())
	}
}

// vtepsim --netconf-addr … PS-NAME: the face serves the simulated switch
// on real OVS. A NETCONF edit becomes hardware_vtep rows and a VXLAN
// tunnel in the data plane; a MAC the data plane learns shows in NETCONF.
func TestNETCONFFaceOnSimulator(t *testing.T) {
	if miss := lab.MissingBinaries(); len(miss) > 0 {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("missing %v", miss)
		}
		t.Skipf("missing %v", miss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env, err := lab.Start(ctx, t.TempDir(), lab.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	if err := env.AddSwitch(ctx, "br-vtep", 2, "1.2.3.4"); err != nil {
		t.Fatal(err)
	}
	vctl := func(args ...string) string {
		t.Helper()
		out, err := env.Output(ctx, "vtep-ctl", append([]string{"--db=" + env.Remote()}, args...)...)
		if err != nil {
			t.Fatalf("vtep-ctl %v: %v", args, err)
		}
		return out
	}
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	client, _ := ssh.NewSignerFromKey(priv)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	vtepsim(t, []string{"OVS_RUNDIR=" + env.Dir}, "--db="+env.Remote(), "--rundir="+env.Dir, "--unixctl="+filepath.Join(env.Dir, "sim.ctl"),
		"--netconf-addr="+addr, "--netconf-authorized-keys="+filepath.Join(dir, "authorized_keys"),
		"--netconf-host-key="+filepath.Join(dir, "hk"), "--netconf-candidate", "-vconsole:off", "br-vtep")
	wait := func(what string, cond func() (bool, string)) {
		t.Helper()
		for {
			ok, last := cond()
			if ok {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: %s", what, last)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The simulator creates the Physical_Port rows; then an operator binds.
	wait("Physical_Port p0", func() (bool, string) {
		out, _ := env.Output(ctx, "vtep-ctl", "--db="+env.Remote(), "list-ports", "br-vtep")
		return strings.Contains(out, "p0"), out
	})
	vctl("add-ls", "ls0", "--", "bind-ls", "br-vtep", "p0", "0", "ls0")
	c := dialFace(t, addr, filepath.Join(dir, "hk"), ssh.PublicKeys(client))

	r := call(t, c, `<get-config><source><running/></source><filter>`+vsw+`<name/><tunnel-ip/><port/></vtep></filter></get-config>`)
	if got := string(r.Data); !strings.Contains(got, "<name>br-vtep</name>") || !strings.Contains(got, "<tunnel-ip>1.2.3.4</tunnel-ip>") ||
		!strings.Contains(got, "<binding><vlan>0</vlan><logical-switch>ls0</logical-switch></binding>") {
		t.Fatalf("the simulated switch through NETCONF: %s", got)
	}
	call(t, c, "<lock><target><candidate/></target></lock>")
	call(t, c, "<edit-config><target><candidate/></target><config>"+vsw+`<logical-switch><name>ls0</name><vni>5000</vni><replication-mode>source-node</replication-mode>
		<remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>1.2.3.5</tunnel-ip></remote-mac>
		<mcast-remote><mac>unknown-dst</mac><tunnel-ip>1.2.3.5</tunnel-ip></mcast-remote></logical-switch></vtep></config></edit-config>`)
	call(t, c, "<commit/>")
	call(t, c, "<unlock><target><candidate/></target></unlock>")
	if got := vctl("list-remote-macs", "ls0"); !strings.Contains(got, "02:00:00:00:00:01 -> vxlan_over_ipv4/1.2.3.5") {
		t.Fatalf("hardware_vtep after the NETCONF commit:\n%s", got)
	}
	// The simulator realises it: a VXLAN tunnel with the VNI.
	var bridge string
	wait("VXLAN tunnel to 1.2.3.5 with key 5000", func() (bool, string) {
		out, _ := env.Output(ctx, "ovs-vsctl", "--bare", "--columns=name", "find", "Interface", "type=vxlan", "options:key=5000", "options:remote_ip=1.2.3.5")
		if strings.TrimSpace(out) == "" {
			return false, out
		}
		br, _ := env.Output(ctx, "ovs-vsctl", "port-to-br", strings.Fields(out)[0])
		bridge = strings.TrimSpace(br)
		return true, ""
	})
	// The data plane learns a MAC (a learned flow, as ovs-vtep's learn
	// action writes it): NETCONF shows it.
	if err := env.Run(ctx, "ovs-ofctl", "-O", "OpenFlow14", "add-flow", bridge,
		"cookie=0x5000,table=1,priority=1000,dl_dst=aa:bb:cc:dd:ee:01,actions=drop"); err != nil {
		t.Fatal(err)
	}
	wait("learned MAC in NETCONF", func() (bool, string) {
		r := call(t, c, `<get><filter>`+vsw+`<logical-switch><name>ls0</name><learned-mac/></logical-switch></vtep></filter></get>`)
		return strings.Contains(string(r.Data), "<mac>aa:bb:cc:dd:ee:01</mac>"), string(r.Data)
	})
	r = call(t, c, "<get-ethernet-switching-table-information/>")
	if !strings.Contains(string(r.Data), "<l2ng-l2-mac-address>aa:bb:cc:dd:ee:01</l2ng-l2-mac-address>") {
		t.Errorf("Junos table: %s", r.Data)
	}
	// What only the switch writes is refused at commit.
	call(t, c, "<edit-config><target><candidate/></target><config>"+vsw+`<port><name>p9</name></port></vtep></config></edit-config>`)
	ctx2, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	rep, err := c.Call(ctx2, "<commit/>")
	if err == nil {
		err = rep.Err()
	}
	var re *ncwire.RPCError
	if !errors.As(err, &re) || re.Tag != "operation-not-supported" {
		t.Errorf("adding a port through NETCONF: %v, want operation-not-supported", err)
	}
	call(t, c, "<discard-changes/>")
}
