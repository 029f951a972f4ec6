// Package netconfface is the simulated switch's NETCONF face: an SSH
// server on the "netconf" subsystem (RFC 6241, RFC 6242; wire handling in
// drivers/netconf/ncwire, shared with the driver) that serves one switch's
// state, from a Device, through two data models at once:
//
//   - the project module yang/vtepgw-switch.yang (namespace VtepgwNS,
//     top element vtep), which mirrors vtepgw's switch-neutral model;
//   - a Junos subset: static VXLAN configuration under <configuration>
//     (vlans … vxlan vni / ingress-node-replication /
//     static-remote-vtep-list, switch-options remote-vtep-list,
//     interfaces with ethernet-switching vlan members) and the operational
//     RPC <get-ethernet-switching-table-information/> for learned MACs.
//
// Operations: get, get-config (running or candidate) with subtree filters,
// edit-config with merge / replace / none default operations and the
// merge, replace, create, delete and remove operation attributes, lock and
// unlock, and with Options.Candidate the :candidate capability with commit
// and discard-changes (else :writable-running). An edit is applied to the
// model's tree, validated against the model (types, ranges, patterns,
// mandatory leaves, keys; for Junos its commit checks) and turned back into
// the state, all or nothing; a refused edit is answered with an rpc-error.
//
// Devices: MemDevice (in memory, for tests, the driver's conformance
// harness and benchmarks) and simulator/facedev.NETCONF (the real simulated
// switch, through its hardware_vtep database). Flags and ServeDevice are
// vtepsim's --netconf-* options.
//
// Nothing here knows the controller: the face is the far side of the wire.
package netconfface

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
)

// Capabilities advertised besides base:1.0 and base:1.1.
const (
	CapWritableRunning = "urn:ietf:params:netconf:capability:writable-running:1.0"
	// CapJunos is what Junos devices advertise for their XML API.
	CapJunos = "http://xml.juniper.net/netconf/junos/1.0"
)

// Options configure a Server.
type Options struct {
	Device Device
	// Candidate offers the :candidate datastore (edits there take effect
	// on commit); without it edit-config targets running.
	Candidate bool
	// NoVtepgw and NoJunos turn a data model off.
	NoVtepgw, NoJunos bool
	// Users maps user names to passwords; AuthorizedKeys are the public
	// keys allowed to log in as any user. At least one is required.
	Users          map[string]string
	AuthorizedKeys []ssh.PublicKey
	// HostKey is the server's SSH host key.
	HostKey ssh.Signer
	Logger  *slog.Logger
}

// Server serves a Device over NETCONF.
type Server struct {
	opts  Options
	views []view
	log   *slog.Logger
	ssh   *ncwire.SSHServer

	mu       sync.Mutex     // guards the fields below
	locks    map[string]int // datastore → session holding its lock
	journal  []edit         // candidate: edits since the last commit
	sessions map[int]bool   // sessions seen (their end releases locks)
	conns    map[net.Conn]bool
}

// New checks o and returns a server.
func New(o Options) (*Server, error) {
	if o.Device == nil {
		return nil, errors.New("netconfface: no device")
	}
	if o.HostKey == nil {
		return nil, errors.New("netconfface: no host key")
	}
	if len(o.Users) == 0 && len(o.AuthorizedKeys) == 0 {
		return nil, errors.New("netconfface: no users and no authorized keys: nobody could log in")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, log: o.Logger, locks: map[string]int{}, sessions: map[int]bool{}, conns: map[net.Conn]bool{}}
	if !o.NoVtepgw {
		s.views = append(s.views, vtepgwView{})
	}
	if !o.NoJunos {
		s.views = append(s.views, junosView{})
	}
	if len(s.views) == 0 {
		return nil, errors.New("netconfface: every data model is turned off")
	}
	cfg := &ssh.ServerConfig{}
	if len(o.Users) > 0 {
		cfg.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			want, ok := o.Users[c.User()]
			if ok && subtle.ConstantTimeCompare([]byte(want), pw) == 1 {
				return nil, nil
			}
			return nil, fmt.Errorf("password rejected for %q", c.User())
		}
	}
	if len(o.AuthorizedKeys) > 0 {
		cfg.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range o.AuthorizedKeys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return nil, nil
				}
			}
			return nil, fmt.Errorf("unknown public key for %q", c.User())
		}
	}
	cfg.AddHostKey(o.HostKey)
	caps := []string{}
	if o.Candidate {
		caps = append(caps, ncwire.CapCandidate)
	} else {
		caps = append(caps, CapWritableRunning)
	}
	if !o.NoVtepgw {
		caps = append(caps, VtepgwCapability)
	}
	if !o.NoJunos {
		caps = append(caps, CapJunos)
	}
	s.ssh = &ncwire.SSHServer{Config: cfg, Capabilities: caps, Handler: s.handle, Logger: o.Logger}
	return s, nil
}

// Serve accepts connections on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.ssh.Serve(ctx, &trackingListener{Listener: ln, s: s})
}

// Disrupt closes every connection, as a switch reboot or a cut cable
// would; clients must reconnect.
func (s *Server) Disrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.conns[c] = true
	l.s.mu.Unlock()
	return &trackedConn{Conn: c, s: l.s}, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c.Conn)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// edit is one edit-config of one model.
type edit struct {
	v     view
	tree  *node
	defop string
}

// applyEdits applies edits to st in order and replaces st's content with
// the result.
func applyEdits(st *State, edits []edit) error {
	cur := st
	for _, e := range edits {
		name, _ := e.v.top()
		root := &node{kids: []*node{e.v.render(cur)}}
		rootSchema := ctr(kid(name, e.v.schema()))
		ed := &editor{}
		if err := ed.apply(root, &node{kids: []*node{e.tree}}, rootSchema, e.defop, ""); err != nil {
			return err
		}
		if !ed.changed {
			continue
		}
		tree := root.child(name)
		if tree == nil {
			tree = &node{name: name}
		}
		if err := validate(tree, e.v.schema(), "/"+name); err != nil {
			return err
		}
		next, err := e.v.parse(tree, cur)
		if err != nil {
			return err
		}
		cur = next
	}
	*st = *cur
	return nil
}

func protoErr(tag, format string, args ...any) *ncwire.RPCError {
	e := rpcErr(tag, "", format, args...)
	e.Type = "protocol"
	return e
}

// session notes a session the first time it calls, so that its end
// releases its locks (and discards the candidate when it held that lock).
func (s *Server) session(ctx context.Context) int {
	id := ncwire.SessionIDFrom(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sessions[id] {
		s.sessions[id] = true
		context.AfterFunc(ctx, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.sessions, id)
			for ds, holder := range s.locks {
				if holder == id {
					delete(s.locks, ds)
					if ds == "candidate" {
						s.journal = nil
					}
				}
			}
		})
	}
	return id
}

// datastore reads <target> or <source>.
func (s *Server) datastore(op *node, which string) (string, error) {
	t := op.child(which)
	if t == nil || len(t.kids) != 1 {
		return "", protoErr("missing-element", "<%s> must name one datastore", which)
	}
	ds := t.kids[0].name
	switch ds {
	case "running":
	case "candidate":
		if !s.opts.Candidate {
			return "", protoErr("invalid-value", "no candidate datastore (the :candidate capability is not offered)")
		}
	case "startup":
		return "", protoErr("invalid-value", "no startup datastore")
	default:
		return "", protoErr("invalid-value", "unknown datastore %s", ds)
	}
	return ds, nil
}

// lockedByOther reports an in-use error when another session holds ds's
// lock. s.mu must be held.
func (s *Server) lockedByOther(ds string, id int) error {
	if holder, ok := s.locks[ds]; ok && holder != id {
		return protoErr("in-use", "the %s datastore is locked by session %d", ds, holder)
	}
	return nil
}

func (s *Server) handle(ctx context.Context, rpc *ncwire.RPC) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("netconf face: panic in an RPC", "op", rpc.Op, "panic", p, "stack", string(debug.Stack()))
			data, err = nil, rpcErr("operation-failed", "", "internal error: %v", p)
		}
	}()
	id := s.session(ctx)
	nodes, err := parseXML(rpc.Body)
	if err != nil || len(nodes) == 0 {
		return nil, protoErr("malformed-message", "cannot parse the operation: %v", err)
	}
	op := nodes[0]
	switch rpc.Op {
	case "get-config", "get":
		ds := "running"
		if rpc.Op == "get-config" {
			if ds, err = s.datastore(op, "source"); err != nil {
				return nil, err
			}
		}
		st, err := s.read(ctx, ds)
		if err != nil {
			return nil, err
		}
		return s.data(st, op.child("filter"))
	case "edit-config":
		return nil, s.editConfig(ctx, id, op)
	case "lock", "unlock":
		ds, err := s.datastore(op, "target")
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		holder, held := s.locks[ds]
		if rpc.Op == "unlock" {
			if !held || holder != id {
				return nil, protoErr("operation-failed", "the %s datastore is not locked by this session", ds)
			}
			delete(s.locks, ds)
			return nil, nil
		}
		if held {
			return nil, protoErr("lock-denied", "the %s datastore is locked by session %d", ds, holder)
		}
		if ds == "candidate" && len(s.journal) > 0 {
			return nil, protoErr("lock-denied", "the candidate datastore has uncommitted changes")
		}
		s.locks[ds] = id
		return nil, nil
	case "commit", "discard-changes":
		if !s.opts.Candidate {
			return nil, protoErr("operation-not-supported", "%s needs the :candidate capability", rpc.Op)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.lockedByOther("candidate", id); err != nil {
			return nil, err
		}
		if rpc.Op == "discard-changes" {
			s.journal = nil
			return nil, nil
		}
		if err := s.lockedByOther("running", id); err != nil {
			return nil, err
		}
		if len(s.journal) == 0 {
			return nil, nil
		}
		if err := s.update(ctx, s.journal); err != nil {
			return nil, err
		}
		s.journal = nil
		return nil, nil
	case "get-ethernet-switching-table-information":
		if s.opts.NoJunos {
			break
		}
		st, err := s.opts.Device.Read(ctx)
		if err != nil {
			return nil, deviceErr(err)
		}
		return ethernetSwitchingTable(st, op.childText("vlan-name")), nil
	}
	return nil, protoErr("operation-not-supported", "operation %s is not supported", rpc.Op)
}

// read returns a datastore's content: the device, plus the candidate's
// uncommitted edits.
func (s *Server) read(ctx context.Context, ds string) (*State, error) {
	st, err := s.opts.Device.Read(ctx)
	if err != nil {
		return nil, deviceErr(err)
	}
	if ds == "candidate" {
		s.mu.Lock()
		j := s.journal
		s.mu.Unlock()
		if err := applyEdits(st, j); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// data renders the models, filtered.
func (s *Server) data(st *State, f *node) ([]byte, error) {
	var b bytes.Buffer
	if f == nil {
		for _, v := range s.views {
			render(&b, v.render(st))
		}
		return b.Bytes(), nil
	}
	if t := f.attrs["type"]; t != "" && t != "subtree" {
		return nil, protoErr("operation-not-supported", "filter type %s (only subtree filters are supported)", t)
	}
	for _, fk := range f.kids {
		for _, v := range s.views {
			name, ns := v.top()
			if fk.name != name || (fk.ns != "" && ns != "" && fk.ns != ns) {
				continue
			}
			if r := filter(v.render(st), fk, v.schema()); r != nil {
				render(&b, r)
			}
		}
	}
	return b.Bytes(), nil
}

func (s *Server) editConfig(ctx context.Context, id int, op *node) error {
	ds, err := s.datastore(op, "target")
	if err != nil {
		return err
	}
	defop := "merge"
	if d := op.child("default-operation"); d != nil {
		switch d.text {
		case "merge", "replace", "none":
			defop = d.text
		default:
			return protoErr("invalid-value", "default-operation %q", d.text)
		}
	}
	if t := op.childText("test-option"); t != "" && t != "test-then-set" && t != "set" {
		return protoErr("invalid-value", "test-option %q", t)
	}
	cfg := op.child("config")
	if cfg == nil {
		return protoErr("missing-element", "edit-config without <config> (<url> is not supported)")
	}
	var edits []edit
	for _, top := range cfg.kids {
		var v view
		for _, cand := range s.views {
			name, ns := cand.top()
			if top.name == name && (ns == "" || top.ns == ns) {
				v = cand
			}
		}
		if v == nil {
			e := rpcErr("unknown-element", "/"+top.name, "no data model with top element %s in namespace %q", top.name, top.ns)
			if top.ns != "" {
				e.Tag = "unknown-namespace"
			}
			return e
		}
		edits = append(edits, edit{v: v, tree: top, defop: defop})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.lockedByOther(ds, id); err != nil {
		return err
	}
	if ds == "running" {
		if s.opts.Candidate {
			return protoErr("operation-not-supported", "running is not writable: edit the candidate and commit")
		}
		return s.update(ctx, edits)
	}
	// Candidate: check the edit against the current state, then keep it.
	st, err := s.opts.Device.Read(ctx)
	if err != nil {
		return deviceErr(err)
	}
	all := append(append([]edit{}, s.journal...), edits...)
	if err := applyEdits(st, all); err != nil {
		return err
	}
	s.journal = all
	return nil
}

// update applies edits to the device.
func (s *Server) update(ctx context.Context, edits []edit) error {
	return deviceErr(s.opts.Device.Update(ctx, func(st *State) error { return applyEdits(st, edits) }))
}

func deviceErr(err error) error {
	var re *ncwire.RPCError
	switch {
	case err == nil, errors.As(err, &re):
		return err
	case errors.Is(err, ErrLimit):
		return rpcErr("resource-denied", "", "%v", err)
	case errors.Is(err, ErrReadOnly):
		return rpcErr("operation-not-supported", "", "%v", err)
	}
	return rpcErr("operation-failed", "", "%v", err)
}

func escape(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

// LoadAuthorizedKeys reads an OpenSSH authorized_keys file.
func LoadAuthorizedKeys(path string) ([]ssh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []ssh.PublicKey
	for len(bytes.TrimSpace(data)) > 0 {
		k, _, _, rest, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		keys = append(keys, k)
		data = rest
	}
	return keys, nil
}

// LoadOrCreateHostKey reads a PEM private key, or, when path does not
// exist, makes an ed25519 key and writes it there (mode 0600) with its
// public half in path.pub, as ssh-keygen would.
func LoadOrCreateHostKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return ssh.ParsePrivateKey(data)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "vtepsim netconf host key")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	// Whole files or none: a client may be waiting for path.pub.
	if err := writeAtomic(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return nil, err
	}
	return signer, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// KnownHostsLine returns the known_hosts line for a server at addr
// (HOST:PORT) with host key k.
func KnownHostsLine(addr string, k ssh.PublicKey) string {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && port != "22" {
		host = "[" + host + "]:" + port
	} else if err != nil {
		host = addr
	}
	return host + " " + string(ssh.MarshalAuthorizedKey(k))
}
