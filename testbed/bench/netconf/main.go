// Command netconf measures the NETCONF driver's convergence for 1000
// remote MACs: one changeset of 1000 new remote unicast MACs, from the
// driver's Apply until the device's own view (not the driver's) shows all
// of them. The devices are the simulator's NETCONF face
// (simulator/netconfface, in-memory device, in this process) and Debian's
// netconfd (yuma123) behind OpenSSH's sshd with the project module, each
// with the running and the candidate target. Usage:
//
//	go run ./testbed/bench/netconf -out docs/BENCHMARKS.md
//
// appends (or replaces) the "NETCONF driver" section of the file, leaving
// every other section alone.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/netconf"
	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
	"github.com/vtepgw/vtepgw/simulator/netconfface"
	"github.com/vtepgw/vtepgw/vtep"
)

const vswNS = netconfface.VtepgwNS

type config struct {
	out, yang string
	macs, n   int
}

// target is one device the driver programs.
type target struct {
	name     string
	settings map[string]any
	addr     string
	// count returns how many remote MACs of ls0 the device itself holds.
	count func(ctx context.Context) (int, error)
	stop  func()
}

type result struct {
	name           string
	apply, visible []time.Duration
	del            []time.Duration
	err            error
}

func main() {
	var c config
	flag.StringVar(&c.out, "out", "", "append (or replace) this benchmark's section in FILE")
	flag.StringVar(&c.yang, "yang", "drivers/netconf/yang/vtepgw-switch.yang", "the project module, for netconfd")
	flag.IntVar(&c.macs, "macs", 1000, "remote MACs per changeset")
	flag.IntVar(&c.n, "n", 7, "runs per target")
	flag.Parse()
	started := time.Now()
	load0 := loadavg()
	var results []*result
	for _, mk := range []struct {
		name string
		fn   func() (*target, error)
	}{
		{"simulator face, running", func() (*target, error) { return startFace(false) }},
		{"simulator face, candidate", func() (*target, error) { return startFace(true) }},
		{"netconfd (yuma123) + sshd, running", func() (*target, error) { return startNetconfd(c.yang, "running") }},
		{"netconfd (yuma123) + sshd, candidate", func() (*target, error) { return startNetconfd(c.yang, "candidate") }},
	} {
		r := &result{name: mk.name}
		results = append(results, r)
		t, err := mk.fn()
		if err != nil {
			r.err = err
			log.Printf("%s: %v", mk.name, err)
			continue
		}
		r.err = run(&c, t, r)
		t.stop()
		log.Printf("%s: apply %s; visible %s; delete %s; err %v", r.name, stats(r.apply), stats(r.visible), stats(r.del), r.err)
	}
	rep := report(&c, results, started, load0, loadavg())
	fmt.Print(rep)
	if c.out != "" {
		if err := writeSection(c.out, rep); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s", c.out)
	}
}

func mac(i int) string {
	return fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
}

func run(c *config, t *target, r *result) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := drivers.NewConnector(netconf.Name, drivers.Params{Name: "bench", Endpoints: []string{t.addr}, Settings: t.settings})
	if err != nil {
		return err
	}
	s, err := conn.Connect(ctx, func(vtep.Key) {})
	if err != nil {
		return err
	}
	defer s.Close()
	vni := 5000
	if err := s.Apply(ctx, &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni}}}); err != nil {
		return err
	}
	for run := range c.n {
		cs := &vtep.Changeset{}
		del := &vtep.Changeset{}
		for i := range c.macs {
			k := vtep.MACKey{LS: "ls0", MAC: mac(run*c.macs + i)}
			cs.UcastRemote = append(cs.UcastRemote, vtep.UcastChange{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: fmt.Sprintf("198.51.100.%d", 1+i%8)}})
			del.UcastRemote = append(del.UcastRemote, vtep.UcastChange{Key: k})
		}
		t0 := time.Now()
		if err := s.Apply(ctx, cs); err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		applied := time.Since(t0)
		for {
			n, err := t.count(ctx)
			if err != nil {
				return err
			}
			if n == c.macs {
				break
			}
			if time.Since(t0) > time.Minute {
				return fmt.Errorf("run %d: the device holds %d of %d MACs after a minute", run, n, c.macs)
			}
			time.Sleep(time.Millisecond)
		}
		r.apply = append(r.apply, applied)
		r.visible = append(r.visible, time.Since(t0))
		t0 = time.Now()
		if err := s.Apply(ctx, del); err != nil {
			return fmt.Errorf("run %d: delete: %w", run, err)
		}
		r.del = append(r.del, time.Since(t0))
		if n, err := t.count(ctx); err != nil || n != 0 {
			return fmt.Errorf("run %d: %d MACs left after the delete (%v)", run, n, err)
		}
	}
	return nil
}

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
		addr: addr,
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

func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %s, min %s, max %s (n=%d)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]), len(s))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstField(file, key string) string {
	b, _ := os.ReadFile(file)
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

const sectionTitle = "## NETCONF driver: 1000 remote MACs (issue 5)"

func report(c *config, rs []*result, started time.Time, load0, load1 string) string {
	var b strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Fprintf(&b, "%s\n\n", sectionTitle)
	fmt.Fprintf(&b, "Generated by `go run ./testbed/bench/netconf -out docs/BENCHMARKS.md` on %s.\n\n", started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- nproc: %d\n- CPU: %s\n- kernel: %s\n- Go: %s\n- load average at the start: %s; at the end: %s\n\n",
		runtime.NumCPU(), firstField("/proc/cpuinfo", "model name"), strings.TrimSpace(string(kernel)), runtime.Version(), load0, load1)
	fmt.Fprintf(&b, "One changeset of %d new remote unicast MACs on one logical switch, applied by the NETCONF driver (adapter `vtepgw`) "+
		"over SSH on 127.0.0.1; **visible** runs from the start of `Apply` until the device's own view holds all %d "+
		"(the in-memory device's state for the face; a second NETCONF session's `get-config` for netconfd). "+
		"`Apply` is `lock`, one `edit-config`, `commit` (candidate), `unlock` and the driver's read-back `get-config`.\n\n", c.macs, c.macs)
	b.WriteString("| Device | Apply returns | visible on the device | delete the 1000 (one changeset) |\n|---|---|---|---|\n")
	for _, r := range rs {
		if r.err != nil && len(r.visible) == 0 {
			fmt.Fprintf(&b, "| %s | error: %v | - | - |\n", r.name, r.err)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, stats(r.apply), stats(r.visible), stats(r.del))
	}
	b.WriteString(`
Method notes:

- The face runs in the benchmark's process (its CPU competes with the driver's); netconfd and sshd are separate processes. Both validate every value against the module (types, ranges, patterns).
- netconfd needs the driver's 200 ms post-hello pause (yuma123 stalls otherwise); it is paid once per connection, not per changeset.
- The Junos adapter has no row: Junos static VXLAN holds no remote unicast MACs (they are learned from VXLAN traffic), and the driver reports that (` + "`Capabilities().NoUcastRemote`" + `).
`)
	return b.String()
}

// writeSection replaces this benchmark's section of file (from its title
// to the next "## " heading) or appends it, keeping everything else.
func writeSection(file, section string) error {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text := string(old)
	if text == "" {
		text = "# vtepgw benchmarks\n"
	}
	if i := strings.Index(text, sectionTitle); i >= 0 {
		end := len(text)
		if j := strings.Index(text[i+len(sectionTitle):], "\n## "); j >= 0 {
			end = i + len(sectionTitle) + j + 1
		}
		text = text[:i] + section + "\n" + text[end:]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + section
	}
	return os.WriteFile(file, []byte(text), 0o644)
}
