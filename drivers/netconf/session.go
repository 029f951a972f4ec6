package netconf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
	"github.com/vtepgw/vtepgw/vtep"
)

var errInvalid = drivers.ErrInvalid

type connector struct {
	params  drivers.Params
	opts    Options
	ssh     *ssh.ClientConfig
	adapter adapter
}

// session keeps one NETCONF session to the device. The device's data is
// read with get-config after every change we make and every PollInterval
// (NETCONF has no portable on-change stream for configuration), and the
// differences are reported as keys.
type session struct {
	c      *connector
	log    *slog.Logger
	notify func(vtep.Key)
	cancel context.CancelFunc
	done   chan struct{}

	rpcMu sync.Mutex // one RPC sequence (lock/edit/commit/unlock) at a time
	mu    sync.Mutex // guards the fields below
	nc    *ncwire.Client
	st    *state
	id    string
	err   error
}

// Connect dials the first reachable endpoint and reads the device.
func (c *connector) Connect(ctx context.Context, notify func(vtep.Key)) (drivers.Session, error) {
	log := c.params.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &session{c: c, log: log, notify: notify, st: newState(), done: make(chan struct{})}
	if err := s.reconnect(ctx, false); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go s.run(runCtx)
	return s, nil
}

func (s *session) dial(ctx context.Context) (*ncwire.Client, error) {
	var errs []error
	for _, ep := range s.c.params.Endpoints {
		cctx, cancel := context.WithTimeout(ctx, s.c.opts.Timeout)
		nc, err := ncwire.DialSSH(cctx, ep, s.c.ssh, s.c.opts.PostHelloDelay)
		cancel()
		if err == nil {
			return nc, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %w", errors.Join(errs...), drivers.ErrDisconnected)
}

// reconnect dials, reads the whole state and asks for a full resync;
// report also notifies the keys that changed since the last read.
func (s *session) reconnect(ctx context.Context, report bool) error {
	nc, err := s.dial(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.nc != nil {
		s.nc.Close()
	}
	s.nc, s.err = nc, nil
	s.id = strings.Join(s.c.params.Endpoints, ",")
	s.mu.Unlock()
	if err := s.refresh(ctx, report); err != nil {
		return err
	}
	s.log.Info("netconf session up", "session_id", nc.SessionID(), "candidate", nc.Has(ncwire.CapCandidate), "chunked", nc.Chunked())
	s.notify(vtep.Key{Kind: vtep.KindResync})
	return nil
}

// refresh re-reads the device and reports what changed.
func (s *session) refresh(ctx context.Context, report bool) error {
	nc := s.client()
	if nc == nil {
		return fmt.Errorf("netconf: %w", drivers.ErrDisconnected)
	}
	rctx, cancel := context.WithTimeout(ctx, s.c.opts.Timeout)
	defer cancel()
	r, err := nc.Call(rctx, "<get-config><source><running/></source>"+s.c.adapter.filter()+"</get-config>")
	if err != nil {
		s.fail(err)
		return fmt.Errorf("get-config: %w: %w", err, drivers.ErrDisconnected)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("get-config: %w", err)
	}
	st, err := s.c.adapter.parse(r.Data)
	if err != nil {
		return err
	}
	if op, ok := s.c.adapter.(opReader); ok {
		r, err := nc.Call(rctx, op.opRPC())
		if err != nil {
			s.fail(err)
			return fmt.Errorf("%s: %w: %w", op.opRPC(), err, drivers.ErrDisconnected)
		}
		if err := r.Err(); err != nil {
			return fmt.Errorf("%s: %w", op.opRPC(), err)
		}
		if err := op.parseOp(r.Data, st); err != nil {
			return err
		}
	}
	s.mu.Lock()
	old := s.st
	s.st = st
	s.mu.Unlock()
	if report {
		for _, k := range diffKeys(old, st) {
			s.notify(k)
		}
	}
	return nil
}

func (s *session) client() *ncwire.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil
	}
	return s.nc
}

func (s *session) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// run polls the device and reconnects with backoff when the session dies.
func (s *session) run(ctx context.Context) {
	defer close(s.done)
	delay := 100 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.c.opts.PollInterval):
		}
		if s.client() != nil {
			s.rpcMu.Lock()
			err := s.refresh(ctx, true)
			s.rpcMu.Unlock()
			if err == nil || !errors.Is(err, drivers.ErrDisconnected) {
				continue
			}
			s.log.Warn("netconf session lost; reconnecting", "err", err)
		}
		s.rpcMu.Lock()
		err := s.reconnect(ctx, true)
		s.rpcMu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("netconf reconnect failed", "retry_in", delay, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			delay = min(delay*2, 8*time.Second)
			continue
		}
		delay = 100 * time.Millisecond
	}
}

// Apply writes the changeset with lock, edit-config, commit (when the
// device has a candidate datastore) and unlock, then re-reads the device.
func (s *session) Apply(ctx context.Context, cs *vtep.Changeset) error {
	if err := context.Cause(ctx); err != nil {
		// Before any RPC: a cancelled call would cost the session.
		return fmt.Errorf("netconf apply: %w", err)
	}
	s.rpcMu.Lock()
	defer s.rpcMu.Unlock()
	nc := s.client()
	if nc == nil {
		return fmt.Errorf("netconf: %w", drivers.ErrDisconnected)
	}
	if err := drivers.ValidateChangeset(cs); err != nil {
		return err
	}
	caps := s.c.adapter.capabilities()
	for _, c := range cs.LogicalSwitches {
		if !caps.SupportsMode(c.ReplicationMode) {
			return fmt.Errorf("logical switch %q: replication mode %s (the %s adapter supports %v): %w",
				c.Name, c.ReplicationMode, s.c.opts.Adapter, caps.ReplicationModes, drivers.ErrUnsupported)
		}
	}
	s.mu.Lock()
	cur := s.st
	s.mu.Unlock()
	body, err := s.c.adapter.edit(cs, cur)
	if err != nil {
		return err
	}
	if body == "" {
		return nil
	}
	target := "running"
	if nc.Has(ncwire.CapCandidate) {
		target = "candidate"
	}
	call := func(op string) error {
		rctx, cancel := context.WithTimeout(ctx, s.c.opts.Timeout)
		defer cancel()
		r, err := nc.Call(rctx, op)
		if err != nil {
			s.fail(err)
			return fmt.Errorf("%w: %w", err, drivers.ErrDisconnected)
		}
		if err := r.Err(); err != nil {
			var re *ncwire.RPCError
			if errors.As(err, &re) && (re.Tag == "invalid-value" || re.Tag == "bad-element" || re.Tag == "unknown-element" || re.Tag == "data-missing") {
				return fmt.Errorf("%w: %w", err, drivers.ErrInvalid)
			}
			return err
		}
		return nil
	}
	lock := "<lock><target><" + target + "/></target></lock>"
	unlock := "<unlock><target><" + target + "/></target></unlock>"
	if err := call(lock); err != nil {
		return fmt.Errorf("lock %s: %w", target, err)
	}
	edit := "<edit-config><target><" + target + "/></target><default-operation>merge</default-operation><config>" + body + "</config></edit-config>"
	err = call(edit)
	if err == nil && target == "candidate" {
		if err = call("<commit/>"); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	if err != nil && target == "candidate" {
		_ = call("<discard-changes/>")
	}
	if uerr := call(unlock); uerr != nil && err == nil {
		err = fmt.Errorf("unlock: %w", uerr)
	}
	if err != nil {
		return fmt.Errorf("apply %s: %w", cs.String(), err)
	}
	err = s.refresh(ctx, true)
	if errors.Is(err, drivers.ErrDisconnected) && ctx.Err() == nil {
		// The write is in; only the read-back lost the session (netconfd
		// drops one now and then after a large edit). Re-dial once so
		// that the session reads its writes.
		s.log.Warn("netconf session lost after a write; reconnecting", "err", err)
		err = s.reconnect(ctx, true)
	}
	return err
}

// Capabilities reports what the adapter's data model can express.
func (s *session) Capabilities() drivers.Capabilities { return s.c.adapter.capabilities() }

// Supports implements vtep.PartialSwitch: the core does not diff entries
// the data model has no place for.
func (s *session) Supports(k vtep.Key) bool { return s.c.adapter.capabilities().Supports(k) }

// SupportsMode implements vtep.PartialSwitch.
func (s *session) SupportsMode(mode string) bool {
	return s.c.adapter.capabilities().SupportsMode(mode)
}

func (s *session) snapshot() *state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *session) PhysicalSwitches() []vtep.PhysicalSwitch { return s.snapshot().switches }

func (s *session) LogicalSwitches() []vtep.LogicalSwitch {
	st := s.snapshot()
	out := make([]vtep.LogicalSwitch, 0, len(st.ls))
	for _, l := range st.ls {
		out = append(out, l)
	}
	return out
}

func (s *session) LogicalSwitch(name string) (vtep.LogicalSwitch, bool) {
	l, ok := s.snapshot().ls[name]
	return l, ok
}

func (s *session) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	v, ok := s.snapshot().ucastRemote[k]
	return v, ok
}

func (s *session) UcastLocal(k vtep.MACKey) (vtep.UcastMAC, bool) {
	v, ok := s.snapshot().ucastLocal[k]
	return v, ok
}

func (s *session) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	v, ok := s.snapshot().mcastRemote[k]
	return v, ok
}

func (s *session) McastLocal(k vtep.MACKey) (vtep.McastMAC, bool) {
	v, ok := s.snapshot().mcastLocal[k]
	return v, ok
}

func (s *session) Entries(kind vtep.Kind) []vtep.MACKey {
	st := s.snapshot()
	var out []vtep.MACKey
	switch kind {
	case vtep.KindUcastRemote:
		for k := range st.ucastRemote {
			out = append(out, k)
		}
	case vtep.KindUcastLocal:
		for k := range st.ucastLocal {
			out = append(out, k)
		}
	case vtep.KindMcastRemote:
		for k := range st.mcastRemote {
			out = append(out, k)
		}
	case vtep.KindMcastLocal:
		for k := range st.mcastLocal {
			out = append(out, k)
		}
	}
	return out
}

func (s *session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.st.switches) > 0 {
		return "netconf:" + s.st.switches[0].Name
	}
	return "netconf:" + s.id
}

func (s *session) Connected() bool { return s.client() != nil }

func (s *session) Status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "disconnected: " + s.err.Error()
	}
	return "connected " + s.id
}

// Close ends the session; device state is left as it is.
func (s *session) Close() error {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		// Apply fails and Connected is false from now on, even when
		// no RPC fails to tell (an Apply with nothing to write).
		s.err = fmt.Errorf("session closed: %w", drivers.ErrDisconnected)
	}
	if s.nc != nil {
		return s.nc.Close()
	}
	return nil
}
