package main

// The NETCONF devices: the simulator's face (in this process) and Debian's
// netconfd (yuma123) behind OpenSSH's sshd. Moved unchanged from
// testbed/bench/netconf, which this program replaces.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers/netconf"
	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
)

const vswNS = netconfface.VtepgwNS

func writeKey(path string) (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

func startFace(candidate bool) (*target, error) {
	dir, err := os.MkdirTemp("", "ncbench")
	if err != nil {
		return nil, err
	}
	dev := netconfface.NewMemDevice(netconfface.MemConfig{Name: "tor1", TunnelIPs: []string{"192.0.2.4"},
		Ports: map[string]map[int]string{"p0": {0: "ls0"}, "p1": {100: "ls1"}}})
	host, err := netconfface.LoadOrCreateHostKey(filepath.Join(dir, "hostkey"))
	if err != nil {
		return nil, err
	}
	srv, err := netconfface.New(netconfface.Options{Device: dev, Candidate: candidate, Users: map[string]string{"bench": "bench"}, HostKey: host})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(netconfface.KnownHostsLine(ln.Addr().String(), host.PublicKey())), 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	return &target{
		driver:   netconf.Name,
		addr:     ln.Addr().String(),
		settings: map[string]any{"username": "bench", "password": "bench", "known-hosts": kh},
		count: func(ctx context.Context) (int, error) {
			st, err := dev.Read(ctx)
			if err != nil {
				return 0, err
			}
			return len(st.LS["ls0"].Remote), nil
		},
		stop: func() { cancel(); <-done; os.RemoveAll(dir) },
	}, nil
}

type proc struct{ cmd *exec.Cmd }

func spawn(dir, logName string, env []string, name string, args ...string) (*proc, error) {
	lf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = lf, lf, dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &proc{cmd}, nil
}

// stop ends the process by its PID: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func startNetconfd(yangPath, ds string) (*target, error) {
	for _, p := range []string{"/usr/sbin/netconfd", "/usr/sbin/sshd", "/usr/sbin/netconf-subsystem"} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s missing (make deps installs netconfd and openssh-server)", p)
		}
	}
	dir, err := os.MkdirTemp("/tmp", "ncbench")
	if err != nil {
		return nil, err
	}
	yang, err := os.ReadFile(yangPath)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "vtepgw-switch.yang"), yang, 0o644); err != nil {
		return nil, err
	}
	host, err := writeKey(filepath.Join(dir, "hostkey"))
	if err != nil {
		return nil, err
	}
	client, err := writeKey(filepath.Join(dir, "clientkey"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sock := filepath.Join(dir, "ncx.sock")
	ncd, err := spawn(dir, "netconfd.out", []string{"HOME=" + dir}, "/usr/sbin/netconfd",
		"--module="+filepath.Join(dir, "vtepgw-switch.yang"), "--target="+ds, "--no-startup",
		"--superuser=root", fmt.Sprintf("--port=%d", port), "--ncxserver-sockname="+sock,
		"--log="+filepath.Join(dir, "netconfd.log"), "--modpath="+dir+":/usr/share/yuma/modules")
	if err != nil {
		return nil, err
	}
	procs := []*proc{ncd}
	fail := func(err error) (*target, error) {
		for _, p := range slices.Backward(procs) {
			p.stop()
		}
		os.RemoveAll(dir)
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("netconfd did not create its socket (see %s)", dir))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cfg := fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s/hostkey\nPidFile %s/sshd.pid\nAuthorizedKeysFile %s/authorized_keys\n"+
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin yes\nUsePAM no\nStrictModes no\n"+
		"Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname=%d@%s\n", port, dir, dir, dir, port, sock)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		return fail(err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fail(err)
	}
	sshd, err := spawn(dir, "sshd.out", nil, "/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if err != nil {
		return fail(err)
	}
	procs = append(procs, sshd)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("sshd did not listen"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(netconfface.KnownHostsLine(addr, host.PublicKey())), 0o600); err != nil {
		return fail(err)
	}
	// The device's own session: seeds the switch and counts what it holds.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dev, err := ncwire.DialSSH(ctx, addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(client)},
		HostKeyCallback: ssh.FixedHostKey(host.PublicKey()), Timeout: 10 * time.Second}, 200*time.Millisecond)
	if err != nil {
		return fail(err)
	}
	seed := `<vtep xmlns="` + vswNS + `"><name>tor1</name><tunnel-ip>192.0.2.4</tunnel-ip>` +
		`<port><name>p0</name><binding><vlan>0</vlan><logical-switch>ls0</logical-switch></binding></port>` +
		`<port><name>p1</name><binding><vlan>100</vlan><logical-switch>ls1</logical-switch></binding></port>` +
		`<logical-switch><name>ls0</name></logical-switch><logical-switch><name>ls1</name></logical-switch></vtep>`
	for _, op := range []string{"<edit-config><target><" + ds + "/></target><config>" + seed + "</config></edit-config>", "<commit/>"} {
		if op == "<commit/>" && ds != "candidate" {
			continue
		}
		r, err := dev.Call(ctx, op)
		if err == nil {
			err = r.Err()
		}
		if err != nil {
			dev.Close()
			return fail(fmt.Errorf("seed: %w", err))
		}
	}
	return &target{
		driver: netconf.Name,
		addr:   addr,
		settings: map[string]any{"username": "root", "private-key": filepath.Join(dir, "clientkey"), "known-hosts": kh,
			"post-hello-delay": "200ms"},
		count: func(ctx context.Context) (int, error) {
			r, err := dev.Call(ctx, `<get-config><source><running/></source><filter type="subtree"><vtep xmlns="`+vswNS+
				`"><logical-switch><name>ls0</name><remote-mac><mac/></remote-mac></logical-switch></vtep></filter></get-config>`)
			if err != nil {
				return 0, err
			}
			if err := r.Err(); err != nil {
				return 0, err
			}
			return strings.Count(string(r.Data), "<remote-mac>"), nil
		},
		stop: func() {
			dev.Close()
			for _, p := range slices.Backward(procs) {
				p.stop()
			}
			os.RemoveAll(dir)
		},
	}, nil
}
