package testbed

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Emulators for SimOptions.Emulator.
const (
	// EmulatorOVSVTEP runs Debian's ovs-vtep script, which programs
	// ovs-vswitchd from the hardware_vtep database and reports local MACs.
	EmulatorOVSVTEP = "ovs-vtep"
	// EmulatorNone runs no emulator: nobody acts on the vtep database.
	EmulatorNone = "none"
)

// SimOptions configures StartSimSwitch.
type SimOptions struct {
	// Name is the OVS bridge and the vtep Physical_Switch (default
	// "br-vtep"). At most 15 characters: ovs-vtep derives bridge and port
	// names from it.
	Name string
	// TunnelIP is the Physical_Switch's single tunnel_ips entry (default
	// "1.2.3.4"). It is only a value in the database; nothing listens on it.
	TunnelIP string
	// Ports are dummy OVS ports on the bridge (default p0, p1), with
	// ofport_request 1, 2, ...
	Ports []string
	// Emulator is EmulatorOVSVTEP (the default) or EmulatorNone.
	Emulator string
}

// SimSwitch is an emulated hardware VTEP, as OVN's own tests build it: one
// ovsdb-server serving conf.db (Open_vSwitch) and vtep.db (hardware_vtep)
// on DIR/db.sock, ovs-vswitchd with the userspace dummy datapath, and the
// ovs-vtep emulator. The embedded VTEP gives the database and vtep-ctl.
type SimSwitch struct {
	*VTEP
	name     string
	tunnelIP string
	ports    []string
	vswitchd *Process
	emulator *Process // nil with EmulatorNone
}

// StartSimSwitch starts an emulated hardware VTEP in its own directory, so
// several can run side by side. With the ovs-vtep emulator it returns once
// ovs-vtep has mirrored every port into a Physical_Port row.
func StartSimSwitch(t testing.TB, opts SimOptions) *SimSwitch {
	t.Helper()
	s, err := startSimSwitch(t, opts)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return s
}

func startSimSwitch(t testing.TB, opts SimOptions) (*SimSwitch, error) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "br-vtep"
	}
	if opts.TunnelIP == "" {
		opts.TunnelIP = "1.2.3.4"
	}
	if opts.Ports == nil {
		opts.Ports = []string{"p0", "p1"}
	}
	switch opts.Emulator {
	case "":
		opts.Emulator = EmulatorOVSVTEP
	case EmulatorOVSVTEP, EmulatorNone:
	default:
		return nil, fmt.Errorf("sim switch %s: unknown emulator %q (want %q or %q)", opts.Name, opts.Emulator, EmulatorOVSVTEP, EmulatorNone)
	}
	if len(opts.Name) > 15 {
		return nil, fmt.Errorf("sim switch %s: name longer than 15 characters", opts.Name)
	}
	need := []string{BinOVSDBServer, BinOVSDBTool, BinVswitchd, BinVsctl, BinOfctl, BinAppctl, BinVtepctl}
	if opts.Emulator == EmulatorOVSVTEP {
		need = append(need, BinOVSVTEP, BinPython)
	}
	Require(t, need...)

	db, err := startOVSDB(t, OVSDBOptions{
		DBs:  []DB{{Name: "conf", Schema: VswitchSchema}, {Name: "vtep", Schema: VTEPSchema}},
		Name: "ovsdb-server",
	})
	if err != nil {
		return nil, err
	}
	s := &SimSwitch{VTEP: &VTEP{OVSDB: db}, name: opts.Name, tunnelIP: opts.TunnelIP, ports: slices.Clone(opts.Ports)}
	if _, err := s.VsCtl("--no-wait", "init"); err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}

	vswitchd, _ := Lookup(BinVswitchd)
	logFile := filepath.Join(db.dir, "ovs-vswitchd.log")
	s.vswitchd, err = StartProcess(t, ProcessConfig{
		Name: "ovs-vswitchd",
		Path: vswitchd,
		Args: []string{
			"--enable-dummy", "--disable-system", "-vconsole:off",
			"--pidfile=" + filepath.Join(db.dir, "ovs-vswitchd.pid"),
			"--log-file=" + logFile,
			"--unixctl=" + s.VswitchdCtl(),
			db.UnixRemote(),
		},
		Dir:     db.dir,
		LogPath: logFile,
	})
	if err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}
	if err := s.vswitchd.waitReady(startTimeout, "its unixctl socket", func() error { return dialUnix(s.VswitchdCtl()) }); err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}

	// The bridge, with dummy ports; without --no-wait ovs-vsctl waits for
	// ovs-vswitchd to apply it.
	args := []string{
		"--", "add-br", s.name,
		"--", "set", "Bridge", s.name, "datapath_type=dummy", "fail-mode=secure",
	}
	for i, p := range s.ports {
		args = append(args,
			"--", "add-port", s.name, p,
			"--", "set", "Interface", p, "type=dummy", "ofport_request="+strconv.Itoa(i+1))
	}
	if _, err := s.VsCtl(args...); err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}
	if _, err := s.VtepCtl("add-ps", s.name, "--", "set", "Physical_Switch", s.name, "tunnel_ips="+s.tunnelIP); err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}
	if opts.Emulator == EmulatorNone {
		return s, nil
	}

	python, _ := Lookup(BinPython)
	script, _ := Lookup(BinOVSVTEP)
	logFile = filepath.Join(db.dir, "ovs-vtep.log")
	// ovs-vtep runs ovs-vsctl, ovs-ofctl and vtep-ctl without --db: they
	// find unix:$OVS_RUNDIR/db.sock and $OVS_RUNDIR/BRIDGE.mgmt, which the
	// testbed environment points at this directory.
	s.emulator, err = StartProcess(t, ProcessConfig{
		Name: "ovs-vtep",
		Path: python,
		Args: []string{
			script, "-vconsole:off",
			"--pidfile=" + filepath.Join(db.dir, "ovs-vtep.pid"),
			"--log-file=" + logFile,
			s.name,
		},
		Dir:     db.dir,
		LogPath: logFile,
	})
	if err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}
	want := slices.Sorted(slices.Values(s.ports))
	err = s.emulator.waitReady(startTimeout, "Physical_Port rows "+strings.Join(want, ","), func() error {
		out, err := s.VtepCtl("list-ports", s.name)
		if err != nil {
			return err
		}
		if got := strings.Fields(out); !slices.Equal(got, want) {
			return fmt.Errorf("ports %v: %w", got, errNotReady)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sim switch %s: %w", s.name, err)
	}
	return s, nil
}

// Name returns the bridge / Physical_Switch name.
func (s *SimSwitch) Name() string { return s.name }

// TunnelIP returns the Physical_Switch's tunnel IP.
func (s *SimSwitch) TunnelIP() string { return s.tunnelIP }

// Ports returns the bridge's dummy ports.
func (s *SimSwitch) Ports() []string { return slices.Clone(s.ports) }

// VswitchdCtl returns ovs-vswitchd's unixctl socket.
func (s *SimSwitch) VswitchdCtl() string { return filepath.Join(s.dir, "ovs-vswitchd.ctl") }

// Vswitchd returns the ovs-vswitchd process.
func (s *SimSwitch) Vswitchd() *Process { return s.vswitchd }

// Emulator returns the ovs-vtep process (nil with EmulatorNone).
func (s *SimSwitch) Emulator() *Process { return s.emulator }

// VsCtl runs ovs-vsctl --db=UNIX-REMOTE ARGS.
func (s *SimSwitch) VsCtl(args ...string) (string, error) {
	if err := s.checkRunning("ovs-vsctl"); err != nil {
		return "", err
	}
	bin, err := Lookup(BinVsctl)
	if err != nil {
		return "", err
	}
	return runCtl(s.dir, bin, append([]string{"--db=" + s.UnixRemote(), ctlTimeoutArg}, args...)...)
}

// OfCtl runs ovs-ofctl ARGS; a bridge name as target resolves to
// DIR/BRIDGE.mgmt of this switch.
func (s *SimSwitch) OfCtl(args ...string) (string, error) {
	if s.vswitchd.Exited() {
		return "", fmt.Errorf("ovs-ofctl on sim switch %s: %w", s.name, ErrStopped)
	}
	bin, err := Lookup(BinOfctl)
	if err != nil {
		return "", err
	}
	return runCtl(s.dir, bin, append([]string{ctlTimeoutArg}, args...)...)
}

// AppCtl runs ovs-appctl -t VSWITCHD-CTL ARGS, e.g.
// AppCtl("netdev-dummy/receive", "p0", FLOW) to inject a frame.
func (s *SimSwitch) AppCtl(args ...string) (string, error) {
	if s.vswitchd.Exited() {
		return "", fmt.Errorf("ovs-appctl on sim switch %s: %w", s.name, ErrStopped)
	}
	bin, err := Lookup(BinAppctl)
	if err != nil {
		return "", err
	}
	return runCtl(s.dir, bin, append([]string{ctlTimeoutArg, "-t", s.VswitchdCtl()}, args...)...)
}

// MustVsCtl is VsCtl failing the test on error.
func (s *SimSwitch) MustVsCtl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.VsCtl(args...)
	return must(t, out, err)
}

// MustOfCtl is OfCtl failing the test on error.
func (s *SimSwitch) MustOfCtl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.OfCtl(args...)
	return must(t, out, err)
}

// MustAppCtl is AppCtl failing the test on error.
func (s *SimSwitch) MustAppCtl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.AppCtl(args...)
	return must(t, out, err)
}

// Stop stops the emulator, ovs-vswitchd and the ovsdb-server, in that
// order. A second call returns an error wrapping ErrStopped.
func (s *SimSwitch) Stop() error {
	var errs []error
	stopped := 0
	for _, p := range []*Process{s.emulator, s.vswitchd, s.Process()} {
		if p == nil {
			continue
		}
		err := p.Stop()
		switch {
		case err == nil:
			stopped++
		case !errors.Is(err, ErrStopped):
			errs = append(errs, err)
		}
	}
	if stopped == 0 && len(errs) == 0 {
		return fmt.Errorf("stop sim switch %s: %w", s.name, ErrStopped)
	}
	return errors.Join(errs...)
}

// OVSVTEPPollInterval is how often ovs-vtep polls the databases and its
// learned flows; allow a few of these in Eventually timeouts.
const OVSVTEPPollInterval = time.Second
