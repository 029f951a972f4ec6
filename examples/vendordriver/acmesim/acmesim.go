// Package acmesim simulates an Acme VX switch: its bridge domains, remote
// MAC and flood tables, the MACs it learns, and its management API
// (package acmeapi) served over TCP. The vendor ships it so that drivers
// and controllers can be tested without hardware; the acme driver's
// conformance test runs against it, and cmd/acme-switchd serves one.
//
// Besides the API, a Switch offers what the device itself would do: learn
// and age MACs (Learn, Age), and what its operator might do at the console
// (DeleteRemoteMAC, DeleteFloodGroup, DropSessions, Config).
package acmesim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"example.com/acme-vtep-driver/acmeapi"
)

// Options describe the simulated switch.
type Options struct {
	// Hostname (default "acme1") and Serial (default "ACM0000001").
	Hostname, Serial string
	// VTEPAddress is the switch's tunnel source address (default
	// "10.250.0.11").
	VTEPAddress string
	// BridgeDomains exist from the start (default "bd10", "bd20"); the
	// i-th is attached untagged to port "xe-0/0/i".
	BridgeDomains []string
	// MaxMACsPerBD is the size of a bridge domain's remote MAC table
	// (default 4096).
	MaxMACsPerBD int
	// EventQueue is how many messages a management session may have
	// waiting to be sent (default 65536); a session that falls further
	// behind is reset, as a real switch resets a stalled client.
	EventQueue int
}

type key struct{ bd, key string }

type state struct {
	bds     map[string]acmeapi.BridgeDomain
	remote  map[key]acmeapi.RemoteMAC
	flood   map[key]acmeapi.FloodGroup
	learned map[key]acmeapi.LearnedMAC
}

func (s *state) clone() *state {
	c := &state{
		bds:     make(map[string]acmeapi.BridgeDomain, len(s.bds)),
		remote:  make(map[key]acmeapi.RemoteMAC, len(s.remote)),
		flood:   make(map[key]acmeapi.FloodGroup, len(s.flood)),
		learned: make(map[key]acmeapi.LearnedMAC, len(s.learned)),
	}
	for k, v := range s.bds {
		if v.VNI != nil {
			n := *v.VNI
			v.VNI = &n
		}
		c.bds[k] = v
	}
	for k, v := range s.remote {
		c.remote[k] = v
	}
	for k, v := range s.flood {
		v.VTEPs = slices.Clone(v.VTEPs)
		c.flood[k] = v
	}
	for k, v := range s.learned {
		c.learned[k] = v
	}
	return c
}

// Switch is one simulated switch. Its methods are safe for concurrent use.
type Switch struct {
	opts Options
	sys  acmeapi.System

	mu        sync.Mutex // guards st, writes, sessions and listeners
	st        *state
	writes    uint64
	sessions  map[*session]bool
	listeners map[net.Listener]bool
	closed    bool
	wg        sync.WaitGroup
}

// New returns a switch with its bridge domains and empty tables.
func New(opts Options) *Switch {
	if opts.Hostname == "" {
		opts.Hostname = "acme1"
	}
	if opts.Serial == "" {
		opts.Serial = "ACM0000001"
	}
	if opts.VTEPAddress == "" {
		opts.VTEPAddress = "10.250.0.11"
	}
	if len(opts.BridgeDomains) == 0 {
		opts.BridgeDomains = []string{"bd10", "bd20"}
	}
	if opts.MaxMACsPerBD == 0 {
		opts.MaxMACsPerBD = 4096
	}
	if opts.EventQueue == 0 {
		opts.EventQueue = 1 << 16
	}
	sw := &Switch{
		opts: opts,
		st: &state{
			bds:     map[string]acmeapi.BridgeDomain{},
			remote:  map[key]acmeapi.RemoteMAC{},
			flood:   map[key]acmeapi.FloodGroup{},
			learned: map[key]acmeapi.LearnedMAC{},
		},
		sessions:  map[*session]bool{},
		listeners: map[net.Listener]bool{},
	}
	sw.sys = acmeapi.System{
		Model:        "VX-48",
		Serial:       opts.Serial,
		Hostname:     opts.Hostname,
		VTEPAddress:  opts.VTEPAddress,
		MaxMACsPerBD: opts.MaxMACsPerBD,
		Replication:  []string{acmeapi.ReplicationIngress},
	}
	for i, bd := range opts.BridgeDomains {
		sw.st.bds[bd] = acmeapi.BridgeDomain{Name: bd}
		sw.sys.Ports = append(sw.sys.Ports, acmeapi.Port{
			Name:     fmt.Sprintf("xe-0/0/%d", i),
			Attached: []acmeapi.Attachment{{VLAN: 0, BD: bd}},
		})
	}
	return sw
}

// System describes the switch (show-system).
func (sw *Switch) System() acmeapi.System {
	sys := sw.sys
	sys.Ports = slices.Clone(sys.Ports)
	return sys
}

// Config returns the switch's state (show-config), sorted.
func (sw *Switch) Config() acmeapi.Config {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.configLocked()
}

func (sw *Switch) configLocked() acmeapi.Config {
	st := sw.st.clone()
	var c acmeapi.Config
	for _, v := range st.bds {
		c.BridgeDomains = append(c.BridgeDomains, v)
	}
	for _, v := range st.remote {
		c.RemoteMACs = append(c.RemoteMACs, v)
	}
	for _, v := range st.flood {
		c.FloodGroups = append(c.FloodGroups, v)
	}
	for _, v := range st.learned {
		c.LearnedMACs = append(c.LearnedMACs, v)
	}
	sort.Slice(c.BridgeDomains, func(i, j int) bool { return c.BridgeDomains[i].Name < c.BridgeDomains[j].Name })
	sort.Slice(c.RemoteMACs, func(i, j int) bool {
		a, b := c.RemoteMACs[i], c.RemoteMACs[j]
		return a.BD < b.BD || a.BD == b.BD && a.MAC < b.MAC
	})
	sort.Slice(c.FloodGroups, func(i, j int) bool {
		a, b := c.FloodGroups[i], c.FloodGroups[j]
		return a.BD < b.BD || a.BD == b.BD && a.Group < b.Group
	})
	sort.Slice(c.LearnedMACs, func(i, j int) bool {
		a, b := c.LearnedMACs[i], c.LearnedMACs[j]
		return a.BD < b.BD || a.BD == b.BD && a.MAC < b.MAC
	})
	return c
}

// Writes counts the writes the switch took: every executed commit
// operation, learned or aged MAC and operator deletion.
func (sw *Switch) Writes() uint64 {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.writes
}

// Learn makes the switch learn mac in bridge domain bd, on the first port
// attached to it, as a frame from mac arriving there would.
func (sw *Switch) Learn(bd, mac string) error {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 || hw[0]&1 != 0 {
		return fmt.Errorf("learn %q: not a unicast MAC", mac)
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	port, vlan, ok := sw.portOf(bd)
	if !ok {
		return fmt.Errorf("learn %s: no port attached to bridge domain %q", mac, bd)
	}
	k := key{bd, hw.String()}
	v := acmeapi.LearnedMAC{BD: bd, MAC: hw.String(), Port: port, VLAN: vlan}
	if old, had := sw.st.learned[k]; had && old == v {
		return nil
	}
	sw.st.learned[k] = v
	sw.writes++
	sw.publishLocked([]acmeapi.Event{{Table: acmeapi.TableLearnedMAC, BD: bd, Key: k.key, LearnedMAC: &v}})
	return nil
}

// Age makes the switch forget a learned MAC.
func (sw *Switch) Age(bd, mac string) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !removeEntry(sw, sw.st.learned, acmeapi.TableLearnedMAC, bd, mac) {
		return fmt.Errorf("age %s/%s: not learned", bd, mac)
	}
	return nil
}

// removeEntry deletes bd/name from table m, counts the write and publishes
// the deletion; it reports whether the entry was there. sw.mu is held.
func removeEntry[V any](sw *Switch, m map[key]V, table, bd, name string) bool {
	k := key{bd, strings.ToLower(name)}
	if _, ok := m[k]; !ok {
		return false
	}
	delete(m, k)
	sw.writes++
	sw.publishLocked([]acmeapi.Event{{Table: table, BD: bd, Key: k.key, Deleted: true}})
	return true
}

// DeleteRemoteMAC removes a remote MAC, as an operator at the console.
func (sw *Switch) DeleteRemoteMAC(bd, mac string) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !removeEntry(sw, sw.st.remote, acmeapi.TableRemoteMAC, bd, mac) {
		return fmt.Errorf("no remote MAC %s/%s", bd, mac)
	}
	return nil
}

// DeleteFloodGroup removes a flood group, as an operator at the console.
func (sw *Switch) DeleteFloodGroup(bd, group string) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !removeEntry(sw, sw.st.flood, acmeapi.TableFloodGroup, bd, group) {
		return fmt.Errorf("no flood group %s/%s", bd, group)
	}
	return nil
}

// DropSessions resets every management connection and returns how many
// there were.
func (sw *Switch) DropSessions() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	n := len(sw.sessions)
	for s := range sw.sessions {
		s.closeLocked()
	}
	return n
}

// Sessions returns the number of management connections, and how many of
// them have subscribed.
func (sw *Switch) Sessions() (all, subscribed int) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for s := range sw.sessions {
		all++
		if s.subscribed {
			subscribed++
		}
	}
	return all, subscribed
}

func (sw *Switch) portOf(bd string) (string, int, bool) {
	for _, p := range sw.sys.Ports {
		for _, a := range p.Attached {
			if a.BD == bd {
				return p.Name, a.VLAN, true
			}
		}
	}
	return "", 0, false
}

// Serve accepts management connections on ln until ln or the switch is
// closed.
func (sw *Switch) Serve(ln net.Listener) error {
	sw.mu.Lock()
	if sw.closed {
		sw.mu.Unlock()
		_ = ln.Close()
		return net.ErrClosed
	}
	sw.listeners[ln] = true
	sw.mu.Unlock()
	defer func() {
		sw.mu.Lock()
		delete(sw.listeners, ln)
		sw.mu.Unlock()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		sw.mu.Lock()
		if sw.closed {
			sw.mu.Unlock()
			_ = nc.Close()
			return nil
		}
		s := &session{sw: sw, nc: nc, out: make(chan []byte, sw.opts.EventQueue), gone: make(chan struct{})}
		sw.sessions[s] = true
		sw.wg.Add(2)
		sw.mu.Unlock()
		go s.readLoop()
		go s.writeLoop()
	}
}

// Close stops serving: listeners and management connections are closed.
// The switch's state stays readable.
func (sw *Switch) Close() error {
	sw.mu.Lock()
	sw.closed = true
	for ln := range sw.listeners {
		_ = ln.Close()
	}
	for s := range sw.sessions {
		s.closeLocked()
	}
	sw.mu.Unlock()
	sw.wg.Wait()
	return nil
}

// publishLocked sends events to every subscribed session. sw.mu is held.
func (sw *Switch) publishLocked(evs []acmeapi.Event) {
	if len(evs) == 0 {
		return
	}
	lines := make([][]byte, len(evs))
	for i := range evs {
		lines[i] = mustMarshal(acmeapi.Message{Event: &evs[i]})
	}
	for s := range sw.sessions {
		if !s.subscribed {
			continue
		}
		for _, l := range lines {
			if !s.sendLocked(l) {
				break
			}
		}
	}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	return append(b, '\n')
}

// session is one management connection.
type session struct {
	sw  *Switch
	nc  net.Conn
	out chan []byte
	// guarded by sw.mu
	subscribed bool
	closed     bool
	gone       chan struct{} // closed with closed
}

// sendLocked queues a line; a session whose queue is full is reset.
func (s *session) sendLocked(line []byte) bool {
	if s.closed {
		return false
	}
	select {
	case s.out <- line:
		return true
	default:
		s.closeLocked()
		return false
	}
}

func (s *session) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	delete(s.sw.sessions, s)
	close(s.gone)
	_ = s.nc.Close()
}

func (s *session) writeLoop() {
	defer s.sw.wg.Done()
	w := bufio.NewWriter(s.nc)
	for {
		select {
		case <-s.gone:
			return
		case line := <-s.out:
			if _, err := w.Write(line); err != nil {
				s.close()
				return
			}
			if len(s.out) == 0 {
				if err := w.Flush(); err != nil {
					s.close()
					return
				}
			}
		}
	}
}

func (s *session) close() {
	s.sw.mu.Lock()
	defer s.sw.mu.Unlock()
	s.closeLocked()
}

func (s *session) readLoop() {
	defer s.sw.wg.Done()
	defer s.close()
	dec := json.NewDecoder(bufio.NewReader(s.nc))
	for {
		var req acmeapi.Request
		if err := dec.Decode(&req); err != nil {
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if errors.As(err, &syn) || errors.As(err, &typ) {
				s.sw.mu.Lock()
				s.sendLocked(mustMarshal(acmeapi.Message{Error: &acmeapi.Error{Code: acmeapi.CodeBadRequest, Message: err.Error()}}))
				s.sw.mu.Unlock()
			}
			return
		}
		s.handle(req)
	}
}

// handle executes one request and queues its reply. Everything happens
// under sw.mu, so a reply and the events around it are queued in the
// order they happened.
func (s *session) handle(req acmeapi.Request) {
	sw := s.sw
	sw.mu.Lock()
	defer sw.mu.Unlock()
	reply := acmeapi.Message{ID: req.ID}
	var result any
	switch req.Cmd {
	case acmeapi.CmdShowSystem:
		result = sw.System()
	case acmeapi.CmdShowConfig:
		result = sw.configLocked()
	case acmeapi.CmdSubscribe:
		result = sw.configLocked()
		s.subscribed = true
	case acmeapi.CmdCommit:
		res, err := sw.commitLocked(req.Ops)
		if err != nil {
			reply.Error = err
		} else {
			result = res
		}
	default:
		reply.Error = &acmeapi.Error{Code: acmeapi.CodeBadRequest, Message: fmt.Sprintf("unknown command %q", req.Cmd)}
	}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			reply.Error = &acmeapi.Error{Code: acmeapi.CodeInternal, Message: err.Error()}
		} else {
			reply.Result = b
		}
	}
	s.sendLocked(mustMarshal(reply))
}

// commitLocked applies ops all or nothing and publishes the changes.
func (sw *Switch) commitLocked(ops []acmeapi.Op) (*acmeapi.CommitResult, *acmeapi.Error) {
	next := sw.st.clone()
	var order []touchedKey
	seen := map[touchedKey]bool{}
	touch := func(t touchedKey) {
		if !seen[t] {
			seen[t] = true
			order = append(order, t)
		}
	}
	for i, op := range ops {
		t, err := next.apply(op)
		if err != nil {
			err.Message = fmt.Sprintf("op %d (%s %s): %s", i, op.Op, op.BD, err.Message)
			return nil, err
		}
		touch(t)
	}
	full := map[string]int{}
	for _, t := range order {
		if t.table == acmeapi.TableRemoteMAC || t.table == acmeapi.TableFloodGroup {
			full[t.bd] = 0
		}
	}
	for k := range next.remote {
		if _, ok := full[k.bd]; ok {
			full[k.bd]++
		}
	}
	for k := range next.flood {
		if _, ok := full[k.bd]; ok {
			full[k.bd]++
		}
	}
	for _, bd := range slices.Sorted(maps.Keys(full)) {
		if n := full[bd]; n > sw.opts.MaxMACsPerBD {
			return nil, &acmeapi.Error{Code: acmeapi.CodeTableFull,
				Message: fmt.Sprintf("bridge domain %s: %d MACs, the table holds %d", bd, n, sw.opts.MaxMACsPerBD)}
		}
	}
	var evs []acmeapi.Event
	for _, t := range order {
		ev := acmeapi.Event{Table: t.table, BD: t.bd, Key: t.key}
		k := key{t.bd, t.key}
		switch t.table {
		case acmeapi.TableBridgeDomain:
			old, nw := sw.st.bds[t.bd], next.bds[t.bd]
			if sameBD(old, nw) {
				continue
			}
			ev.BridgeDomain = &nw
		case acmeapi.TableRemoteMAC:
			old, had := sw.st.remote[k]
			nw, has := next.remote[k]
			if had == has && old == nw {
				continue
			}
			if has {
				ev.RemoteMAC = &nw
			}
			ev.Deleted = !has
		case acmeapi.TableFloodGroup:
			old, had := sw.st.flood[k]
			nw, has := next.flood[k]
			if had == has && old.IP == nw.IP && slices.Equal(old.VTEPs, nw.VTEPs) {
				continue
			}
			if has {
				ev.FloodGroup = &nw
			}
			ev.Deleted = !has
		}
		evs = append(evs, ev)
	}
	sw.st = next
	sw.writes += uint64(len(ops))
	sw.publishLocked(evs)
	return &acmeapi.CommitResult{Applied: len(ops)}, nil
}

func sameBD(a, b acmeapi.BridgeDomain) bool {
	return (a.VNI == nil) == (b.VNI == nil) && (a.VNI == nil || *a.VNI == *b.VNI) && a.Replication == b.Replication
}

type touchedKey struct{ table, bd, key string }

// apply executes one operation on st, validating it first.
func (st *state) apply(op acmeapi.Op) (touchedKey, *acmeapi.Error) {
	bad := func(format string, args ...any) (touchedKey, *acmeapi.Error) {
		return touchedKey{}, &acmeapi.Error{Code: acmeapi.CodeBadRequest, Message: fmt.Sprintf(format, args...)}
	}
	bd, ok := st.bds[op.BD]
	if !ok {
		return touchedKey{}, &acmeapi.Error{Code: acmeapi.CodeNoSuchBD, Message: fmt.Sprintf("no bridge domain %q", op.BD)}
	}
	switch op.Op {
	case acmeapi.OpSetBD:
		if op.VNI != nil && (*op.VNI < 0 || *op.VNI > 1<<24-1) {
			return bad("vni %d out of range 0..16777215", *op.VNI)
		}
		switch op.Replication {
		case "", acmeapi.ReplicationIngress:
		case acmeapi.ReplicationServiceNode:
			return touchedKey{}, &acmeapi.Error{Code: acmeapi.CodeNotSupported, Message: "VX-48 replicates at ingress only"}
		default:
			return bad("replication %q", op.Replication)
		}
		bd.VNI = nil
		if op.VNI != nil {
			n := *op.VNI
			bd.VNI = &n
		}
		if op.Replication != "" {
			bd.Replication = op.Replication
		}
		st.bds[op.BD] = bd
		return touchedKey{acmeapi.TableBridgeDomain, op.BD, ""}, nil
	case acmeapi.OpSetRemoteMAC, acmeapi.OpDeleteRemoteMAC:
		hw, err := net.ParseMAC(op.MAC)
		if err != nil || len(hw) != 6 || hw[0]&1 != 0 {
			return bad("mac %q is not a unicast MAC", op.MAC)
		}
		k := key{op.BD, hw.String()}
		t := touchedKey{acmeapi.TableRemoteMAC, op.BD, k.key}
		if op.Op == acmeapi.OpDeleteRemoteMAC {
			delete(st.remote, k)
			return t, nil
		}
		if !isIP(op.VTEP) {
			return bad("vtep %q is not an IP address", op.VTEP)
		}
		if op.IP != "" && !isIP(op.IP) {
			return bad("ip %q is not an IP address", op.IP)
		}
		st.remote[k] = acmeapi.RemoteMAC{BD: op.BD, MAC: k.key, VTEP: op.VTEP, IP: op.IP}
		return t, nil
	case acmeapi.OpSetFloodGroup, acmeapi.OpDeleteFloodGroup:
		group := op.Group
		if group != acmeapi.GroupBUM {
			hw, err := net.ParseMAC(op.Group)
			if err != nil || len(hw) != 6 || hw[0]&1 == 0 {
				return bad("group %q is neither %q nor a multicast MAC", op.Group, acmeapi.GroupBUM)
			}
			group = hw.String()
		}
		k := key{op.BD, group}
		t := touchedKey{acmeapi.TableFloodGroup, op.BD, group}
		if op.Op == acmeapi.OpDeleteFloodGroup {
			delete(st.flood, k)
			return t, nil
		}
		if len(op.VTEPs) == 0 {
			return bad("flood group without VTEPs")
		}
		for _, v := range op.VTEPs {
			if !isIP(v) {
				return bad("vtep %q is not an IP address", v)
			}
		}
		if op.IP != "" && !isIP(op.IP) {
			return bad("ip %q is not an IP address", op.IP)
		}
		vteps := slices.Clone(op.VTEPs)
		slices.Sort(vteps)
		st.flood[k] = acmeapi.FloodGroup{BD: op.BD, Group: group, VTEPs: slices.Compact(vteps), IP: op.IP}
		return t, nil
	}
	return bad("unknown op %q", op.Op)
}

func isIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}
