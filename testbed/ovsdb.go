package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DB is one database served by an ovsdb-server.
type DB struct {
	// Name is the base name of the db file (DIR/Name.db). Default: the
	// schema file name without ".ovsschema" ("vtep", "vswitch", ...).
	Name string
	// Schema is the .ovsschema file the database is created from.
	Schema string
	// Raft, when set, creates the file as a member of a RAFT cluster
	// (ovsdb-tool create-cluster or join-cluster) instead of a standalone
	// database. StartCluster sets it; see there.
	Raft *RaftMember
}

// RaftMember says how one server's database file belongs to a RAFT
// cluster.
type RaftMember struct {
	// Local is this member's RAFT address, tcp:127.0.0.1:PORT (not the
	// port clients connect to).
	Local string
	// Join lists existing members' RAFT addresses: the file is created
	// with join-cluster. Empty creates a new cluster with create-cluster.
	Join []string
}

// OVSDBOptions configures StartOVSDB.
type OVSDBOptions struct {
	// DBs are the databases to serve, all on the same sockets. Default: one
	// hardware_vtep database "vtep" with the Debian schema.
	DBs []DB
	// Name labels the server's files: Name.pid, Name.log, Name.ctl,
	// Name.out. Default "ovsdb-server".
	Name string
	// Socket is the unix socket file name. Default "db.sock" (the default
	// of ovs-vsctl and vtep-ctl, relative to OVS_RUNDIR).
	Socket string
	// Dir is the directory for everything; several components may share
	// one. Default: a new directory from NewDir.
	Dir string
	// NoTCP disables the ptcp:0:127.0.0.1 listener.
	NoTCP bool
	// Args are extra ovsdb-server arguments.
	Args []string
}

// OVSDB is a running (or stopped) ovsdb-server. Its methods are safe for
// concurrent use.
type OVSDB struct {
	t       testing.TB
	name    string
	dir     string
	sock    string
	ctl     string
	pidFile string
	logFile string
	dbs     []dbFile
	noTCP   bool
	args    []string

	mu   sync.Mutex // serialises Stop/Kill9/Restart; guards proc and port
	proc *Process   // the current server process
	port int        // TCP port, 0 if NoTCP
}

type dbFile struct {
	name       string // file base name
	schemaName string // database name inside the server
	schema     string
	path       string
	raftPort   int // the RAFT listener's port of a clustered database, else 0
}

// StartOVSDB creates the database files with ovsdb-tool in a fresh
// directory and starts ovsdb-server on them, listening on punix:SOCK and
// (unless NoTCP) ptcp:0:127.0.0.1. It returns once the server accepts
// connections on both, and stops it in t.Cleanup. Call it from the test
// goroutine: it fails the test on error.
func StartOVSDB(t testing.TB, opts OVSDBOptions) *OVSDB {
	t.Helper()
	o, err := startOVSDB(t, opts)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return o
}

func startOVSDB(t testing.TB, opts OVSDBOptions) (*OVSDB, error) {
	t.Helper()
	Require(t, BinOVSDBServer, BinOVSDBTool, BinAppctl)
	server, _ := Lookup(BinOVSDBServer)
	tool, _ := Lookup(BinOVSDBTool)
	if len(opts.DBs) == 0 {
		opts.DBs = []DB{{Name: "vtep", Schema: VTEPSchema}}
	}
	if opts.Name == "" {
		opts.Name = "ovsdb-server"
	}
	if opts.Socket == "" {
		opts.Socket = "db.sock"
	}
	if opts.Dir == "" {
		opts.Dir = NewDir(t)
	}
	registerDir(opts.Dir)
	o := &OVSDB{
		t:       t,
		name:    opts.Name,
		dir:     opts.Dir,
		sock:    filepath.Join(opts.Dir, opts.Socket),
		ctl:     filepath.Join(opts.Dir, opts.Name+".ctl"),
		pidFile: filepath.Join(opts.Dir, opts.Name+".pid"),
		logFile: filepath.Join(opts.Dir, opts.Name+".log"),
		noTCP:   opts.NoTCP,
		args:    slices.Clone(opts.Args),
	}
	if n := len(o.sock); n > 107 {
		return nil, fmt.Errorf("ovsdb-server %s: socket path %s is %d bytes, over the unix limit", o.name, o.sock, n)
	}
	for _, db := range opts.DBs {
		if db.Schema == "" {
			return nil, fmt.Errorf("ovsdb-server %s: db %q has no schema", o.name, db.Name)
		}
		abs, err := filepath.Abs(db.Schema) // children run in o.dir
		if err != nil {
			return nil, fmt.Errorf("ovsdb-server %s: schema: %w", o.name, err)
		}
		db.Schema = abs
		if db.Name == "" {
			db.Name = strings.TrimSuffix(filepath.Base(db.Schema), ".ovsschema")
		}
		if slices.ContainsFunc(o.dbs, func(f dbFile) bool { return f.name == db.Name }) {
			return nil, fmt.Errorf("ovsdb-server %s: db %q listed twice", o.name, db.Name)
		}
		sn, err := schemaName(db.Schema)
		if err != nil {
			return nil, fmt.Errorf("ovsdb-server %s: %w", o.name, err)
		}
		f := dbFile{name: db.Name, schemaName: sn, schema: db.Schema, path: filepath.Join(o.dir, db.Name+".db")}
		args := []string{"create", f.path, f.schema}
		if r := db.Raft; r != nil {
			port, err := raftPort(r.Local)
			if err != nil {
				return nil, fmt.Errorf("ovsdb-server %s: %w", o.name, err)
			}
			f.raftPort = port
			args = []string{"create-cluster", f.path, f.schema, r.Local}
			if len(r.Join) > 0 {
				args = append([]string{"join-cluster", f.path, sn, r.Local}, r.Join...)
			}
		}
		if _, err := runCtl(o.dir, tool, args...); err != nil {
			return nil, fmt.Errorf("ovsdb-server %s: create db: %w", o.name, err)
		}
		o.dbs = append(o.dbs, f)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.startLocked(server, 0); err != nil {
		return nil, err
	}
	return o, nil
}

// raftPort returns the port of a tcp:127.0.0.1:PORT RAFT address.
func raftPort(addr string) (int, error) {
	i := strings.LastIndexByte(addr, ':')
	if !strings.HasPrefix(addr, "tcp:") || i < 0 {
		return 0, fmt.Errorf("raft address %q: want tcp:IP:PORT", addr)
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil || port <= 0 {
		return 0, fmt.Errorf("raft address %q: bad port", addr)
	}
	return port, nil
}

func schemaName(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read schema: %w", err)
	}
	var s struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return "", fmt.Errorf("schema %s: %w", path, err)
	}
	if s.Name == "" {
		return "", fmt.Errorf("schema %s: no name: %w", path, errBadSchema)
	}
	return s.Name, nil
}

var (
	errBadSchema = errors.New("malformed schema")
	errPortTaken = errors.New("tcp port taken")
)

// startLocked starts the server; port 0 lets the kernel choose.
func (o *OVSDB) startLocked(server string, port int) error {
	args := []string{
		"-vconsole:off", "-vfile:info",
		"--pidfile=" + o.pidFile, "--log-file=" + o.logFile, "--unixctl=" + o.ctl,
		"--remote=punix:" + o.sock,
	}
	if !o.noTCP {
		args = append(args, "--remote=ptcp:"+strconv.Itoa(port)+":127.0.0.1")
	}
	args = append(args, o.args...)
	for _, f := range o.dbs {
		args = append(args, f.path)
	}
	p, err := StartProcess(o.t, ProcessConfig{Name: o.name, Path: server, Args: args, Dir: o.dir, LogPath: o.logFile})
	if err != nil {
		return err
	}
	o.proc = p
	if err := p.waitReady(startTimeout, "its sockets", func() error {
		if err := dialUnix(o.ctl); err != nil {
			return err
		}
		return dialUnix(o.sock)
	}); err != nil {
		_ = p.Kill()
		return err
	}
	if o.noTCP {
		return nil
	}
	wait := startTimeout
	if port != 0 {
		wait = 2 * time.Second // it retries a taken port forever: give up early
	}
	var got int
	err = p.waitReady(wait, "its TCP listener", func() error {
		ports, err := ListeningPorts(p.PID())
		if err != nil {
			return err
		}
		for _, pt := range ports {
			if slices.ContainsFunc(o.dbs, func(f dbFile) bool { return f.raftPort == pt }) {
				continue // a clustered database's RAFT listener
			}
			if port == 0 || pt == port {
				got = pt
				return nil
			}
		}
		return fmt.Errorf("listening on %v: %w", ports, errNotReady)
	})
	if err != nil {
		_ = p.Kill()
		if port != 0 {
			return fmt.Errorf("ovsdb-server %s: port %d: %w: %w", o.name, port, errPortTaken, err)
		}
		return err
	}
	o.port = got
	return nil
}

// Name returns the label of the server's files.
func (o *OVSDB) Name() string { return o.name }

// Dir returns the server's directory.
func (o *OVSDB) Dir() string { return o.dir }

// SocketPath returns the path of the unix socket.
func (o *OVSDB) SocketPath() string { return o.sock }

// UnixRemote returns "unix:SOCKET".
func (o *OVSDB) UnixRemote() string { return "unix:" + o.sock }

// TCPRemote returns "tcp:127.0.0.1:PORT", or "" with NoTCP.
func (o *OVSDB) TCPRemote() string {
	port := o.TCPPort()
	if port == 0 {
		return ""
	}
	return "tcp:127.0.0.1:" + strconv.Itoa(port)
}

// TCPPort returns the TCP port, or 0 with NoTCP. It changes on Restart only
// if the old port was taken meanwhile.
func (o *OVSDB) TCPPort() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.port
}

// Ctl returns the path of the server's unixctl socket (ovs-appctl -t).
func (o *OVSDB) Ctl() string { return o.ctl }

// LogPath returns the server's log file.
func (o *OVSDB) LogPath() string { return o.logFile }

// PidFile returns the server's pidfile.
func (o *OVSDB) PidFile() string { return o.pidFile }

// DBPath returns the file of a database, by file name (DB.Name) or by
// database name ("hardware_vtep"); "" if there is no such database.
func (o *OVSDB) DBPath(name string) string {
	for _, f := range o.dbs {
		if f.name == name || f.schemaName == name {
			return f.path
		}
	}
	return ""
}

// DBNames returns the names of the served databases, as in the schemas.
func (o *OVSDB) DBNames() []string {
	names := make([]string, len(o.dbs))
	for i, f := range o.dbs {
		names[i] = f.schemaName
	}
	return names
}

// Process returns the current server process (a new one after Restart).
func (o *OVSDB) Process() *Process {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.proc
}

// PID returns the PID of the current server process.
func (o *OVSDB) PID() int { return o.Process().PID() }

// Running reports whether the server is running.
func (o *OVSDB) Running() bool { return !o.Process().Exited() }

// checkRunning returns an error wrapping ErrStopped if the server is down.
func (o *OVSDB) checkRunning(op string) error {
	if p := o.Process(); p.Exited() {
		return fmt.Errorf("%s on ovsdb-server %s: %w", op, o.name, ErrStopped)
	}
	return nil
}

// AppCtl runs ovs-appctl -t CTL ARGS against the server.
func (o *OVSDB) AppCtl(args ...string) (string, error) {
	if err := o.checkRunning("ovs-appctl"); err != nil {
		return "", err
	}
	appctl, err := Lookup(BinAppctl)
	if err != nil {
		return "", err
	}
	return runCtl(o.dir, appctl, append([]string{ctlTimeoutArg, "-t", o.ctl}, args...)...)
}

// Client runs ovsdb-client ARGS (give the remote yourself, e.g.
// "dump", o.UnixRemote(), "hardware_vtep") for an independent view of the
// database.
func (o *OVSDB) Client(args ...string) (string, error) {
	if err := o.checkRunning("ovsdb-client"); err != nil {
		return "", err
	}
	client, err := Lookup(BinOVSDBClient)
	if err != nil {
		return "", err
	}
	return runCtl(o.dir, client, args...)
}

// Reconnect makes the server drop every client connection
// (ovsdb-server/reconnect); clients reconnect by themselves.
func (o *OVSDB) Reconnect() error {
	if _, err := o.AppCtl("ovsdb-server/reconnect"); err != nil {
		return fmt.Errorf("reconnect: %w", err)
	}
	return nil
}

// Stop stops the server with SIGTERM (SIGKILL after DefaultStopTimeout).
// The files stay; Restart brings it back.
func (o *OVSDB) Stop() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.proc.Stop()
}

// Kill9 kills the server with SIGKILL, as a crash would.
func (o *OVSDB) Kill9() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.proc.Kill()
}

// Restart stops the server if it is running and starts it again on the
// same database files, unix socket and (if it is still free) TCP port.
func (o *OVSDB) Restart() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.proc.Exited() {
		if err := o.proc.Stop(); err != nil {
			return fmt.Errorf("restart ovsdb-server %s: %w", o.name, err)
		}
	}
	server, err := Lookup(BinOVSDBServer)
	if err != nil {
		return fmt.Errorf("restart ovsdb-server %s: %w", o.name, err)
	}
	port := o.port
	if port != 0 && !portFree(port) {
		port = 0
	}
	err = o.startLocked(server, port)
	if errors.Is(err, errPortTaken) {
		err = o.startLocked(server, 0)
	}
	if err != nil {
		return fmt.Errorf("restart ovsdb-server %s: %w", o.name, err)
	}
	return nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
