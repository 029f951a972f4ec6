package testbed

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// OVN is an OVN control plane: Northbound and Southbound ovsdb-servers and
// ovn-northd, all in one directory. Its methods are safe for concurrent use.
type OVN struct {
	NB *OVSDB // OVN_Northbound, socket ovnnb_db.sock
	// SB is the standalone OVN_Southbound server (socket ovnsb_db.sock);
	// nil when SBCluster is set.
	SB *OVSDB
	// SBCluster is the clustered OVN_Southbound (OVNOptions.SBMembers),
	// members ovsdb-sb-1… with sockets ovsdb-sb-N.sock; nil otherwise.
	SBCluster *Cluster
	t         testing.TB
	dir       string

	mu     sync.Mutex // serialises StartNorthd/StopNorthd; guards northd
	northd *Process
}

// OVNOptions configure StartOVNWith.
type OVNOptions struct {
	// SBMembers > 0 runs OVN_Southbound as a RAFT cluster of that many
	// ovsdb-servers (OVN.SBCluster) instead of one standalone server.
	// ovn-northd, SBCtl and SBRemote then use every member (a
	// comma-separated multi-remote).
	SBMembers int
	// SBArgs are extra ovsdb-server arguments for a standalone SB (an
	// SSL listener with its key and certificates, for example).
	SBArgs []string
}

// StartOVN starts the NB and SB ovsdb-servers (unix socket plus a
// 127.0.0.1 TCP port each), initialises both databases and starts
// ovn-northd on their unix sockets. Everything is stopped in t.Cleanup.
func StartOVN(t testing.TB) *OVN { return StartOVNWith(t, OVNOptions{}) }

// StartOVNWith is StartOVN with options (a clustered SB).
func StartOVNWith(t testing.TB, opts OVNOptions) *OVN {
	t.Helper()
	Require(t, BinOVSDBServer, BinOVSDBTool, BinAppctl, BinNorthd, BinNBctl, BinSBctl)
	dir := NewDir(t)
	o := &OVN{t: t, dir: dir}
	o.NB = StartOVSDB(t, OVSDBOptions{
		DBs: []DB{{Name: "ovnnb_db", Schema: NBSchema}}, Name: "ovsdb-nb", Socket: "ovnnb_db.sock", Dir: dir,
	})
	if opts.SBMembers > 0 {
		o.SBCluster = StartCluster(t, ClusterOptions{Schema: SBSchema, Name: "ovsdb-sb", Members: opts.SBMembers, Dir: dir, DBName: "ovnsb_db"})
	} else {
		o.SB = StartOVSDB(t, OVSDBOptions{
			DBs: []DB{{Name: "ovnsb_db", Schema: SBSchema}}, Name: "ovsdb-sb", Socket: "ovnsb_db.sock", Dir: dir, Args: opts.SBArgs,
		})
	}
	// Create NB_Global and SB_Global before northd runs, so nothing races
	// to insert them.
	if _, err := o.NBCtl("init"); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if _, err := o.SBCtl("init"); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if err := o.StartNorthd(); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return o
}

// Dir returns the directory shared by the OVN processes.
func (o *OVN) Dir() string { return o.dir }

// NBRemote returns the unix remote of the Northbound database.
func (o *OVN) NBRemote() string { return o.NB.UnixRemote() }

// SBRemote returns the unix remote of the Southbound database (of every
// member, comma-separated, when it is clustered).
func (o *OVN) SBRemote() string {
	if o.SBCluster != nil {
		return o.SBCluster.UnixRemote()
	}
	return o.SB.UnixRemote()
}

// NBCtl runs ovn-nbctl --db=NB ARGS and returns its trimmed output.
func (o *OVN) NBCtl(args ...string) (string, error) {
	return ovnCtl(o.NB, BinNBctl, args)
}

// SBCtl runs ovn-sbctl --db=SB ARGS and returns its trimmed output. With a
// clustered SB it names every member (ovn-sbctl then talks to the leader).
func (o *OVN) SBCtl(args ...string) (string, error) {
	if c := o.SBCluster; c != nil {
		if len(c.Running()) == 0 {
			return "", fmt.Errorf("%s on the SB cluster: %w", BinSBctl, ErrStopped)
		}
		bin, err := Lookup(BinSBctl)
		if err != nil {
			return "", err
		}
		return runCtl(o.dir, bin, append([]string{"--db=" + c.UnixRemote(), ctlTimeoutArg}, args...)...)
	}
	return ovnCtl(o.SB, BinSBctl, args)
}

// MustNB is NBCtl failing the test on error.
func (o *OVN) MustNB(t testing.TB, args ...string) string {
	t.Helper()
	out, err := o.NBCtl(args...)
	return must(t, out, err)
}

// MustSB is SBCtl failing the test on error.
func (o *OVN) MustSB(t testing.TB, args ...string) string {
	t.Helper()
	out, err := o.SBCtl(args...)
	return must(t, out, err)
}

func ovnCtl(db *OVSDB, name string, args []string) (string, error) {
	if err := db.checkRunning(name); err != nil {
		return "", err
	}
	bin, err := Lookup(name)
	if err != nil {
		return "", err
	}
	return runCtl(db.dir, bin, append([]string{"--db=" + db.UnixRemote(), ctlTimeoutArg}, args...)...)
}

// Sync waits until ovn-northd has processed every NB change so far
// (ovn-nbctl --wait=sb sync). It needs a running northd.
func (o *OVN) Sync() error {
	if p := o.Northd(); p == nil || p.Exited() {
		return fmt.Errorf("sync: ovn-northd: %w", ErrStopped)
	}
	if _, err := o.NBCtl("--wait=sb", "sync"); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// Northd returns the current ovn-northd process (nil before the first
// start).
func (o *OVN) Northd() *Process {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.northd
}

// NorthdCtl returns ovn-northd's unixctl socket.
func (o *OVN) NorthdCtl() string { return filepath.Join(o.dir, "ovn-northd.ctl") }

// StartNorthd starts ovn-northd on the NB and SB unix sockets (every SB
// member's with a clustered SB). It is an error if it is already running.
func (o *OVN) StartNorthd() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.northd != nil && !o.northd.Exited() {
		return fmt.Errorf("start ovn-northd: already running as pid %d", o.northd.PID())
	}
	bin, err := Lookup(BinNorthd)
	if err != nil {
		return fmt.Errorf("start ovn-northd: %w", err)
	}
	logFile := filepath.Join(o.dir, "ovn-northd.log")
	p, err := StartProcess(o.t, ProcessConfig{
		Name: "ovn-northd",
		Path: bin,
		Args: []string{
			"-vconsole:off",
			"--pidfile=" + filepath.Join(o.dir, "ovn-northd.pid"),
			"--log-file=" + logFile,
			"--unixctl=" + o.NorthdCtl(),
			"--ovnnb-db=" + o.NB.UnixRemote(),
			"--ovnsb-db=" + o.SBRemote(),
		},
		Dir:     o.dir,
		LogPath: logFile,
	})
	if err != nil {
		return err
	}
	o.northd = p
	if err := p.waitReady(startTimeout, "its unixctl socket", func() error { return dialUnix(o.NorthdCtl()) }); err != nil {
		_ = p.Kill()
		return err
	}
	return nil
}

// StopNorthd stops ovn-northd (SIGTERM). StartNorthd starts a new one.
func (o *OVN) StopNorthd() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.northd == nil {
		return fmt.Errorf("stop ovn-northd: %w", ErrStopped)
	}
	return o.northd.Stop()
}
