// Package lab starts real Open vSwitch processes (one ovsdb-server serving
// Open_vSwitch and hardware_vtep, and ovs-vswitchd on the userspace
// datapath) in a private directory, and creates simulated switches in them.
// It is used by `vtepsim lab`, by the simulator's tests and by its
// benchmark. Every process it starts is stopped by PID.
package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Schemas and programs, overridable through the environment.
var (
	VswitchSchema = envOr("VTEPSIM_VSWITCH_SCHEMA", "/usr/share/openvswitch/vswitch.ovsschema")
	VtepSchema    = envOr("VTEPSIM_VTEP_SCHEMA", "/usr/share/openvswitch/vtep.ovsschema")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Binaries lists the programs an OVS environment needs.
var Binaries = []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ovs-ofctl", "vtep-ctl"}

// MissingBinaries returns the programs of Binaries not found on PATH
// (/usr/sbin is searched too).
func MissingBinaries(extra ...string) []string {
	var miss []string
	for _, b := range append(append([]string(nil), Binaries...), extra...) {
		if _, err := LookPath(b); err != nil {
			miss = append(miss, b)
		}
	}
	return miss
}

// LookPath finds a program on PATH or in /usr/sbin and /usr/share/openvswitch/scripts.
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/share/openvswitch/scripts"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH (install openvswitch-switch and openvswitch-vtep): %w", name, exec.ErrNotFound)
}

// Env is one OVS environment: a directory with the databases, sockets,
// logs and pidfiles, an ovsdb-server serving both databases on
// unix:<Dir>/db.sock, and an ovs-vswitchd.
type Env struct {
	Dir      string
	Log      *slog.Logger
	procs    []*Proc
	Datapath string // "dummy" or "netdev"
}

// Proc is a process started by this package.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	done chan struct{}
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// DBSock is the unix socket of the ovsdb-server.
func (e *Env) DBSock() string { return filepath.Join(e.Dir, "db.sock") }

// Remote is the OVSDB remote of the ovsdb-server.
func (e *Env) Remote() string { return "unix:" + e.DBSock() }

// VswitchdCtl is the unixctl socket of ovs-vswitchd.
func (e *Env) VswitchdCtl() string { return filepath.Join(e.Dir, "ovs-vswitchd.ctl") }

// Environ returns the environment for OVS tools that use this Env's
// databases and sockets by default.
func (e *Env) Environ() []string {
	env := os.Environ()
	for _, k := range []string{"OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR", "OVN_RUNDIR", "OVN_DBDIR", "OVN_LOGDIR", "OVN_SYSCONFDIR"} {
		env = append(env, k+"="+e.Dir)
	}
	// ovs-vtep and friends look up ovs-* on PATH; keep /usr/sbin there.
	env = append(env, "PATH="+os.Getenv("PATH")+":/usr/sbin:/usr/local/sbin")
	return env
}

// StartOptions configure Start.
type StartOptions struct {
	// Datapath is "dummy" (default) or "netdev".
	Datapath string
	// Netns runs ovs-vswitchd in a new network namespace (unshare -n).
	Netns bool
	Log   *slog.Logger
}

// Start creates the databases in dir and starts ovsdb-server and
// ovs-vswitchd. Call Stop to end them.
func Start(ctx context.Context, dir string, o StartOptions) (*Env, error) {
	if o.Datapath == "" {
		o.Datapath = "dummy"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if miss := MissingBinaries(); len(miss) > 0 {
		return nil, fmt.Errorf("missing OVS programs %v: %w", miss, exec.ErrNotFound)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("lab dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lab dir: %w", err)
	}
	e := &Env{Dir: dir, Log: o.Log, Datapath: o.Datapath}
	for _, db := range []struct{ file, schema string }{{"conf.db", VswitchSchema}, {"vtep.db", VtepSchema}} {
		if err := e.Run(ctx, "ovsdb-tool", "create", filepath.Join(dir, db.file), db.schema); err != nil {
			return nil, err
		}
	}
	if _, err := e.Spawn(ctx, "ovsdb-server", "ovsdb-server",
		"--remote=punix:"+e.DBSock(), "--remote=db:hardware_vtep,Global,managers",
		"--unixctl="+filepath.Join(dir, "ovsdb-server.ctl"),
		"--pidfile="+filepath.Join(dir, "ovsdb-server.pid"),
		"--log-file="+filepath.Join(dir, "ovsdb-server.log"), "-vconsole:off",
		filepath.Join(dir, "conf.db"), filepath.Join(dir, "vtep.db")); err != nil {
		return nil, err
	}
	if err := waitFile(ctx, e.DBSock()); err != nil {
		e.Stop()
		return nil, fmt.Errorf("ovsdb-server did not come up: %w", err)
	}
	if err := e.Run(ctx, "ovs-vsctl", "--no-wait", "init"); err != nil {
		e.Stop()
		return nil, err
	}
	args := []string{"ovs-vswitchd", "--enable-dummy", "--disable-system",
		"--unixctl=" + e.VswitchdCtl(),
		"--pidfile=" + filepath.Join(dir, "ovs-vswitchd.pid"),
		"--log-file=" + filepath.Join(dir, "ovs-vswitchd.log"), "-vconsole:off",
		e.Remote()}
	if o.Netns {
		args = append([]string{"unshare", "--net", "--"}, args...)
	}
	if _, err := e.Spawn(ctx, "ovs-vswitchd", args[0], args[1:]...); err != nil {
		e.Stop()
		return nil, err
	}
	if err := waitFile(ctx, e.VswitchdCtl()); err != nil {
		e.Stop()
		return nil, fmt.Errorf("ovs-vswitchd did not come up: %w", err)
	}
	return e, nil
}

func waitFile(ctx context.Context, p string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", p, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Run runs an OVS tool against this Env and returns an error with its
// output if it fails.
func (e *Env) Run(ctx context.Context, prog string, args ...string) error {
	_, err := e.Output(ctx, prog, args...)
	return err
}

// Output runs an OVS tool against this Env and returns its stdout.
func (e *Env) Output(ctx context.Context, prog string, args ...string) (string, error) {
	path, err := LookPath(prog)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = e.Environ()
	cmd.Dir = e.Dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Appctl runs ovs-appctl against ovs-vswitchd.
func (e *Env) Appctl(ctx context.Context, args ...string) (string, error) {
	return e.Output(ctx, "ovs-appctl", append([]string{"-t", e.VswitchdCtl()}, args...)...)
}

// Spawn starts a long-running process in this Env; Stop ends it. Its
// stdout and stderr go to <Dir>/<name>.out.
func (e *Env) Spawn(ctx context.Context, name, prog string, args ...string) (*Proc, error) {
	path, err := LookPath(prog)
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile(filepath.Join(e.Dir, name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = e.Environ()
	cmd.Dir = e.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	e.procs = append(e.procs, p)
	e.Log.Debug("started", "proc", name, "pid", cmd.Process.Pid)
	return p, nil
}

// StopProc stops one process by PID: SIGTERM, then SIGKILL after 5 s.
func StopProc(p *Proc) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := p.Cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, p.Pid(), err)
	}
	<-p.done
	return nil
}

// Stop stops every process this Env started, newest first.
func (e *Env) Stop() error {
	var errs []error
	for i := len(e.procs) - 1; i >= 0; i-- {
		if err := StopProc(e.procs[i]); err != nil {
			errs = append(errs, err)
		}
	}
	e.procs = nil
	return errors.Join(errs...)
}

// Pids returns the PIDs of the running processes, by name.
func (e *Env) Pids() map[string]int {
	m := map[string]int{}
	for _, p := range e.procs {
		m[p.Name] = p.Pid()
	}
	return m
}

// AddSwitch creates a simulated physical switch the way ovs-vtep expects
// it: an OVS bridge NAME (dummy or netdev datapath, secure fail mode,
// OpenFlow 1.0-1.5) with nports ports p0..pN-1 (type dummy for the dummy
// datapath, ofport_request 1..N), and a Physical_Switch row NAME with the
// given tunnel IPs.
func (e *Env) AddSwitch(ctx context.Context, name string, nports int, tunnelIPs ...string) error {
	ports := make([]string, nports)
	for i := range ports {
		ports[i] = "p" + strconv.Itoa(i)
	}
	return e.AddSwitchPorts(ctx, name, ports, tunnelIPs...)
}

// AddSwitchPorts is AddSwitch with explicit port names. OVS port names are
// global to ovs-vswitchd, so switches sharing one need distinct names.
func (e *Env) AddSwitchPorts(ctx context.Context, name string, ports []string, tunnelIPs ...string) error {
	portType := "dummy"
	if e.Datapath == "netdev" {
		portType = "tap"
	}
	args := []string{"--", "add-br", name, "--", "set", "bridge", name, "datapath_type=" + e.Datapath,
		"fail-mode=secure", "protocols=OpenFlow10,OpenFlow11,OpenFlow12,OpenFlow13,OpenFlow14,OpenFlow15"}
	for i, p := range ports {
		args = append(args, "--", "add-port", name, p, "--", "set", "Interface", p, "type="+portType,
			"ofport_request="+strconv.Itoa(i+1))
	}
	if err := e.Run(ctx, "ovs-vsctl", args...); err != nil {
		return err
	}
	vargs := []string{"add-ps", name}
	if len(tunnelIPs) > 0 {
		vargs = append(vargs, "--", "set", "Physical_Switch", name, "tunnel_ips="+strings.Join(tunnelIPs, ","))
	}
	return e.Run(ctx, "vtep-ctl", vargs...)
}
