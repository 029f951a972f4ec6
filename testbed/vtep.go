package testbed

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// VTEPOptions configures StartVTEP.
type VTEPOptions struct {
	// Schema is the hardware_vtep schema file. Default: Debian's
	// /usr/share/openvswitch/vtep.ovsschema.
	Schema string
	// Dir is the directory to use (default: a new one).
	Dir string
	// NoTCP disables the 127.0.0.1 TCP listener.
	NoTCP bool
	// Args are extra ovsdb-server arguments (an SSL listener, say).
	Args []string
}

// VTEP is an ovsdb-server serving one hardware_vtep database ("vtep.db").
type VTEP struct {
	*OVSDB
}

// StartVTEP starts an ovsdb-server with a hardware_vtep database. Its Global
// row does not exist yet: the first vtep-ctl write creates it.
func StartVTEP(t testing.TB, opts VTEPOptions) *VTEP {
	t.Helper()
	Require(t, BinVtepctl)
	if opts.Schema == "" {
		opts.Schema = VTEPSchema
	}
	db := StartOVSDB(t, OVSDBOptions{
		DBs:   []DB{{Name: "vtep", Schema: opts.Schema}},
		Name:  "ovsdb-vtep",
		Dir:   opts.Dir,
		NoTCP: opts.NoTCP,
		Args:  opts.Args,
	})
	return &VTEP{OVSDB: db}
}

// VtepRemote returns the unix remote of the hardware_vtep database.
func (v *VTEP) VtepRemote() string { return v.UnixRemote() }

// VtepCtl runs vtep-ctl --db=UNIX-REMOTE ARGS and returns its trimmed output.
func (v *VTEP) VtepCtl(args ...string) (string, error) {
	return vtepCtl(v.OVSDB, args...)
}

// MustVtep is VtepCtl failing the test on error.
func (v *VTEP) MustVtep(t testing.TB, args ...string) string {
	t.Helper()
	out, err := v.VtepCtl(args...)
	return must(t, out, err)
}

func vtepCtl(o *OVSDB, args ...string) (string, error) {
	if err := o.checkRunning("vtep-ctl"); err != nil {
		return "", err
	}
	bin, err := Lookup(BinVtepctl)
	if err != nil {
		return "", err
	}
	return runCtl(o.dir, bin, append([]string{"--db=" + o.UnixRemote(), ctlTimeoutArg}, args...)...)
}

// RefController is a running Debian ovn-controller-vtep.
type RefController struct {
	*Process
	dir string
}

// StartReferenceController starts Debian's ovn-controller-vtep against the
// given hardware_vtep and OVN Southbound remotes (e.g. vtep.VtepRemote(),
// ovn.SBRemote()), in its own directory, and stops it with SIGTERM in
// t.Cleanup (SIGTERM leaves its rows in both databases; use Exit for a
// graceful exit that removes them).
func StartReferenceController(t testing.TB, vtepRemote, sbRemote string) *RefController {
	t.Helper()
	Require(t, BinControllerVTEP, BinAppctl)
	bin, _ := Lookup(BinControllerVTEP)
	dir := NewDir(t)
	logFile := filepath.Join(dir, "ovn-controller-vtep.log")
	p, err := StartProcess(t, ProcessConfig{
		Name: "ovn-controller-vtep",
		Path: bin,
		Args: []string{
			"-vconsole:off",
			"--vtep-db=" + vtepRemote, "--ovnsb-db=" + sbRemote,
			"--pidfile=" + filepath.Join(dir, "ovn-controller-vtep.pid"),
			"--log-file=" + logFile,
		},
		Dir:     dir,
		LogPath: logFile,
	})
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	c := &RefController{Process: p, dir: dir}
	// It has no --unixctl option: its socket is $OVN_RUNDIR/NAME.PID.ctl.
	if err := p.waitReady(startTimeout, "its unixctl socket", func() error { return dialUnix(c.Ctl()) }); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return c
}

// Dir returns the controller's directory.
func (c *RefController) Dir() string { return c.dir }

// Ctl returns the controller's unixctl socket.
func (c *RefController) Ctl() string {
	return filepath.Join(c.dir, "ovn-controller-vtep."+strconv.Itoa(c.PID())+".ctl")
}

// AppCtl runs ovs-appctl -t CTL ARGS against the controller.
func (c *RefController) AppCtl(args ...string) (string, error) {
	if c.Exited() {
		return "", fmt.Errorf("ovs-appctl on %s (pid %d): %w", c.Name(), c.PID(), ErrStopped)
	}
	appctl, err := Lookup(BinAppctl)
	if err != nil {
		return "", err
	}
	return runCtl(c.dir, appctl, append([]string{ctlTimeoutArg, "-t", c.Ctl()}, args...)...)
}

// Exit asks the controller to exit gracefully (ovs-appctl exit), which
// makes it delete its Chassis and clear what it wrote in both databases,
// and waits for it to exit (SIGKILL after DefaultStopTimeout).
func (c *RefController) Exit() error {
	if c.expectExit() || c.Exited() {
		return fmt.Errorf("exit %s (pid %d): %w", c.Name(), c.PID(), ErrStopped)
	}
	if _, err := c.AppCtl("exit"); err != nil {
		// It may have exited before answering; otherwise the request failed.
		if c.Wait(time.Second) != nil && !c.Exited() {
			return fmt.Errorf("exit %s: %w", c.Name(), err)
		}
	}
	if err := c.Wait(DefaultStopTimeout); err != nil {
		_ = c.Kill()
		return fmt.Errorf("exit %s: %w", c.Name(), err)
	}
	return nil
}
