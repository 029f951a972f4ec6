package netconf

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
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

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
	"github.com/vtepgw/vtepgw/vtep"
)

// netconfd is Debian's yuma123 netconfd behind OpenSSH's sshd, serving
// yang/vtepgw-switch.yang: a real, validating NETCONF server.
type netconfd struct {
	dir, addr, knownHosts, keyFile string
	clientKey                      ssh.Signer
	hostKey                        ssh.PublicKey
}

func need(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
				t.Fatalf("%s missing (make test installs netconfd, openssh-server)", p)
			}
			t.Skipf("%s missing; run make test to install netconfd and openssh-server", p)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startProc(t *testing.T, name string, logPath string, args ...string) {
	t.Helper()
	startProcEnv(t, nil, name, logPath, args...)
}

// startProcEnv starts name with env added to the environment.
func startProcEnv(t *testing.T, env []string, name string, logPath string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Stdin = nil
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	// netconfd writes files (backup-cfg.xml) into its working directory.
	cmd.Dir = filepath.Dir(logPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			logf.Close()
		})
	})
}

func startNetconfd(t *testing.T, target string) *netconfd {
	t.Helper()
	need(t, "/usr/sbin/netconfd", "/usr/sbin/sshd", "/usr/sbin/netconf-subsystem")
	dir, err := os.MkdirTemp("/tmp", "ncd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"netconfd.out", "netconfd.log", "sshd.out", "driver.log"} {
				if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					if len(b) > 4000 {
						b = b[len(b)-4000:]
					}
					t.Logf("%s (tail):\n%s", f, b)
				}
			}
			if os.Getenv("VTEPGW_KEEP_NETCONFD") != "" {
				t.Logf("netconfd files kept in %s", dir)
				return
			}
		}
		os.RemoveAll(dir)
	})
	yang, err := os.ReadFile("yang/vtepgw-switch.yang")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "vtepgw-switch.yang"), yang, 0o644))
	writeKey := func(name string) ssh.Signer {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		blk, err := ssh.MarshalPrivateKey(priv, "")
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(blk), 0o600))
		s, err := ssh.NewSignerFromKey(priv)
		must(t, err)
		return s
	}
	host := writeKey("hostkey")
	client := writeKey("clientkey")
	must(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600))
	port := freePort(t)
	sock := filepath.Join(dir, "ncx.sock")
	// Its own HOME: netconfd keeps a transaction-id file in ~/.yuma, which
	// two netconfds starting at once would fight over.
	startProcEnv(t, []string{"HOME=" + dir}, "/usr/sbin/netconfd", filepath.Join(dir, "netconfd.out"),
		"--module="+filepath.Join(dir, "vtepgw-switch.yang"), "--target="+target, "--no-startup",
		"--superuser=root", fmt.Sprintf("--port=%d", port), "--ncxserver-sockname="+sock,
		"--log="+filepath.Join(dir, "netconfd.log"), "--modpath="+dir+":/usr/share/yuma/modules")
	cfg := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/hostkey
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin yes
UsePAM no
StrictModes no
Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname=%d@%s
`, port, dir, dir, dir, port, sock)
	must(t, os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600))
	must(t, os.MkdirAll("/run/sshd", 0o755))
	// netconfd first: the subsystem connects to its socket.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("netconfd did not create its socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	startProc(t, "/usr/sbin/sshd", filepath.Join(dir, "sshd.out"), "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sshd did not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	kh := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(host.PublicKey()))
	must(t, os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(kh), 0o600))
	return &netconfd{dir: dir, addr: addr, knownHosts: filepath.Join(dir, "known_hosts"), keyFile: filepath.Join(dir, "clientkey"), clientKey: client, hostKey: host.PublicKey()}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// device is an independent NETCONF client playing the switch.
func (n *netconfd) device(t *testing.T) *ncwire.Client {
	t.Helper()
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(n.clientKey)}, HostKeyCallback: ssh.FixedHostKey(n.hostKey), Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := ncwire.DialSSH(ctx, n.addr, cfg, 200*time.Millisecond)
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func deviceEdit(t *testing.T, c *ncwire.Client, target, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, op := range []string{
		"<edit-config><target><" + target + "/></target><config>" + body + "</config></edit-config>",
	} {
		r, err := c.Call(ctx, op)
		must(t, err)
		must(t, r.Err())
	}
	if target == "candidate" {
		r, err := c.Call(ctx, "<commit/>")
		must(t, err)
		must(t, r.Err())
	}
}

func deviceGet(t *testing.T, c *ncwire.Client) *state {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, "<get-config><source><running/></source>"+vtepgwModel{}.filter()+"</get-config>")
	must(t, err)
	must(t, r.Err())
	st, err := vtepgwModel{}.parse(r.Data)
	must(t, err)
	return st
}

const seed = `<vtep xmlns="` + vswNS + `"><name>tor1</name><tunnel-ip>192.0.2.4</tunnel-ip>
<port><name>p0</name><binding><vlan>0</vlan><logical-switch>ls0</logical-switch></binding><binding><vlan>100</vlan><logical-switch>ls1</logical-switch></binding></port>
<logical-switch><name>ls0</name></logical-switch><logical-switch><name>ls1</name></logical-switch></vtep>`

func TestDriverAgainstNetconfd(t *testing.T) {
	for _, target := range []string{"running", "candidate"} {
		t.Run(target, func(t *testing.T) {
			n := startNetconfd(t, target)
			dev := n.device(t)
			deviceEdit(t, dev, target, seed)
			if target == "running" {
				// binding/logical-switch is a leafref: netconfd refuses a
				// binding to a logical switch that does not exist, as the
				// simulator's face does (simulator/netconfface).
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				r, err := dev.Call(ctx, `<edit-config><target><running/></target><config><vtep xmlns="`+vswNS+
					`"><port><name>p0</name><binding><vlan>300</vlan><logical-switch>nope</logical-switch></binding></port></vtep></config></edit-config>`)
				cancel()
				must(t, err)
				if r.Err() == nil {
					t.Fatal("netconfd took a binding to a logical switch that does not exist")
				}
			}

			var mu sync.Mutex
			var got []vtep.Key
			notify := func(k vtep.Key) { mu.Lock(); got = append(got, k); mu.Unlock() }
			conn, err := drivers.NewConnector("netconf", drivers.Params{Name: "tor1", Endpoints: []string{n.addr}, Settings: map[string]any{
				"username": "root", "private-key": n.keyFile, "known-hosts": n.knownHosts,
				"post-hello-delay": "200ms", "poll-interval": "100ms",
			}})
			must(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			s, err := conn.Connect(ctx, notify)
			must(t, err)
			defer s.Close()

			ps := s.PhysicalSwitches()
			if len(ps) != 1 || ps[0].Name != "tor1" || ps[0].TunnelIPs[0] != "192.0.2.4" || ps[0].Ports[0].Bindings[100] != "ls1" {
				t.Fatalf("topology = %+v", ps)
			}
			// Program 500 MACs, a flood list and a VNI in one changeset.
			vni := 5001
			cs := &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni, ReplicationMode: vtep.ReplicationSourceNode}}}
			for i := range 500 {
				k := vtep.MACKey{LS: "ls0", MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff)}
				cs.UcastRemote = append(cs.UcastRemote, vtep.UcastChange{Key: k, Set: &vtep.UcastMAC{Locator: "198.51.100.1"}})
			}
			flood := vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst}
			cs.McastRemote = []vtep.McastChange{{Key: flood, Set: &vtep.McastMAC{Locators: []string{"198.51.100.1", "198.51.100.2"}}}}
			must(t, s.Apply(ctx, cs))
			dst := deviceGet(t, dev)
			if len(dst.ucastRemote) != 500 || *dst.ls["ls0"].VNI != 5001 || dst.ls["ls0"].ReplicationMode != vtep.ReplicationSourceNode || len(dst.mcastRemote[flood].Locators) != 2 {
				t.Fatalf("device after apply: %d MACs, ls0=%+v, flood=%+v", len(dst.ucastRemote), dst.ls["ls0"], dst.mcastRemote[flood])
			}
			if _, ok := s.UcastRemote(vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:01:f3"}); !ok {
				t.Fatal("read-your-writes: session does not see the MAC it wrote")
			}
			// Change and delete, then an empty VNI.
			cs = &vtep.Changeset{
				LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0"}},
				UcastRemote: []vtep.UcastChange{
					{Key: vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:00"}},
					{Key: vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}, Set: &vtep.UcastMAC{Locator: "198.51.100.9", IP: "10.0.0.1"}},
				},
				McastRemote: []vtep.McastChange{{Key: flood}},
			}
			must(t, s.Apply(ctx, cs))
			dst = deviceGet(t, dev)
			m1 := dst.ucastRemote[vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"}]
			if len(dst.ucastRemote) != 499 || m1.Locator != "198.51.100.9" || m1.IP != "10.0.0.1" || dst.ls["ls0"].VNI != nil || len(dst.mcastRemote) != 0 {
				t.Fatalf("device after change: %d MACs, m1=%+v ls0=%+v mcast=%v", len(dst.ucastRemote), m1, dst.ls["ls0"], dst.mcastRemote)
			}
			// The switch learns a MAC: the driver reports it.
			deviceEdit(t, dev, target, `<vtep xmlns="`+vswNS+`"><logical-switch><name>ls1</name><learned-mac><mac>aa:bb:cc:00:00:01</mac></learned-mac></logical-switch></vtep>`)
			learned := vtep.Key{Kind: vtep.KindUcastLocal, Name: "ls1", MAC: "aa:bb:cc:00:00:01"}
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				found := false
				for _, k := range got {
					found = found || k == learned
				}
				mu.Unlock()
				if _, ok := s.UcastLocal(learned.MACKey()); ok && found {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("learned MAC not reported")
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Bad input: an unknown logical switch and a VNI out of range.
			bad := 1 << 25
			for _, cs := range []*vtep.Changeset{
				{UcastRemote: []vtep.UcastChange{{Key: vtep.MACKey{LS: "nope", MAC: "02:00:00:00:00:01"}, Set: &vtep.UcastMAC{Locator: "1.1.1.1"}}}},
				{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls1", VNI: &bad}}},
			} {
				if err := s.Apply(ctx, cs); !errors.Is(err, drivers.ErrInvalid) {
					t.Errorf("bad changeset %s: %v, want ErrInvalid", cs, err)
				}
			}
			if n := len(deviceGet(t, dev).ucastRemote); n != 499 {
				t.Fatalf("bad input changed the device: %d MACs", n)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{}, "username is required"},
		{map[string]any{"username": "u", "password": "p"}, "known-hosts is required"},
		{map[string]any{"username": "u", "password": "p", "known-hosts": "/nonexistent"}, "known-hosts"},
		{map[string]any{"username": "u", "password": "p", "known-hosts": "x", "adapter": "zz"}, "unknown adapter"},
		{map[string]any{"bogus": 1}, "unknown setting"},
	} {
		_, err := Driver{}.NewConnector(drivers.Params{Endpoints: []string{"127.0.0.1:830"}, Settings: tc.settings})
		if err == nil || !errors.Is(err, drivers.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.settings, err, tc.want)
		}
	}
	if _, err := (Driver{}).NewConnector(drivers.Params{Endpoints: []string{"no-port"}}); !errors.Is(err, drivers.ErrInvalid) {
		t.Errorf("bad endpoint: %v", err)
	}
}
