package gnmi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
	"github.com/vtepgw/vtepgw/vtep"
)

// passCred sends the username and password as gRPC metadata on every
// RPC, under the keys gnmi_cli and most targets use.
type passCred struct {
	user, pass string
	secure     bool
}

func (c passCred) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"username": c.user, "password": c.pass}, nil
}

func (c passCred) RequireTransportSecurity() bool { return c.secure }

// dialer makes client connections to one endpoint.
type dialer func(ep endpoint) (*grpc.ClientConn, error)

// maxMsg bounds gNMI messages: a big changeset is one SetRequest.
const maxMsg = 256 << 20

// dialer reads the TLS and password files and returns the dial function.
func (c *connector) dialer() (dialer, error) {
	o := c.opts
	var tc *tls.Config
	if c.params.TLS != nil {
		tc = c.params.TLS.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.TLSCA != "" {
		pem, err := os.ReadFile(o.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("setting tls-ca: %w: %w", err, drivers.ErrInvalid)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("setting tls-ca: no certificate in %s: %w", o.TLSCA, drivers.ErrInvalid)
		}
		tc.RootCAs = pool
	}
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("settings tls-cert/tls-key: %w: %w", err, drivers.ErrInvalid)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if o.TLSServerName != "" {
		tc.ServerName = o.TLSServerName
	}
	pass := o.Password
	if o.PasswordFile != "" {
		b, err := os.ReadFile(o.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("setting password-file: %w: %w", err, drivers.ErrInvalid)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	return func(ep endpoint) (*grpc.ClientConn, error) {
		opts := []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		}
		if ep.plaintext {
			opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		} else {
			opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		}
		if o.Username != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(passCred{user: o.Username, pass: pass, secure: !ep.plaintext}))
		}
		if o.Keepalive > 0 {
			opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: o.Keepalive, Timeout: o.Keepalive, PermitWithoutStream: true}))
		}
		return grpc.NewClient(ep.addr, opts...)
	}, nil
}

// run keeps the session connected until ctx ends: one endpoint after the
// other, with capped exponential backoff and jitter between attempts.
func (s *session) run(ctx context.Context, ready chan struct{}) {
	defer close(s.done)
	var once sync.Once
	onReady := func() { once.Do(func() { close(ready) }) }
	delay := s.opts.ReconnectBackoff
	for i := 0; ; i++ {
		ep := s.eps[i%len(s.eps)]
		synced, err := s.serve(ctx, ep, onReady)
		s.mu.Lock()
		wasUp := s.connected
		s.connected, s.client = false, nil
		s.lastErr = err
		s.status = fmt.Sprintf("disconnected from %s: %v", ep.addr, err)
		s.mu.Unlock()
		if ctx.Err() != nil {
			s.mu.Lock()
			s.status = "closed"
			s.mu.Unlock()
			return
		}
		if wasUp {
			s.log.Warn("gNMI connection lost; reconnecting", "endpoint", ep.addr, "err", err)
		} else {
			s.log.Debug("gNMI connection attempt failed", "endpoint", ep.addr, "retry_in", delay, "err", err)
		}
		if synced {
			delay = s.opts.ReconnectBackoff
		}
		wait := delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.status = "closed"
			s.mu.Unlock()
			return
		case <-time.After(wait):
		}
		delay = min(delay*2, s.opts.ReconnectBackoffMax)
	}
}

// serve runs one connection: subscribe, load the full state into a fresh
// store, swap it in, announce a resync, then follow the stream (and the
// poll) until the connection fails. synced reports whether the initial
// sync completed.
func (s *session) serve(ctx context.Context, ep endpoint, onReady func()) (synced bool, err error) {
	conn, err := s.dial(ep)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	cl := gnmipb.NewGNMIClient(conn)
	sctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel(nil)
		wg.Wait()
	}()
	s.mu.Lock()
	s.status = "connecting to " + ep.addr
	if s.lastErr != nil {
		s.status += fmt.Sprintf(" (last error: %v)", s.lastErr)
	}
	s.mu.Unlock()

	stream, err := cl.Subscribe(sctx)
	if err != nil {
		return false, err
	}
	sl := &gnmipb.SubscriptionList{Prefix: &gnmipb.Path{Target: s.opts.Target}, Mode: gnmipb.SubscriptionList_STREAM,
		Encoding: gnmipb.Encoding_JSON_IETF}
	for _, p := range s.ad.Subscriptions(s.cfg) {
		sl.Subscription = append(sl.Subscription, &gnmipb.Subscription{Path: p, Mode: gnmipb.SubscriptionMode_ON_CHANGE})
	}
	if err := stream.Send(&gnmipb.SubscribeRequest{Request: &gnmipb.SubscribeRequest_Subscribe{Subscribe: sl}}); err != nil {
		if errors.Is(err, io.EOF) {
			// The server ended the stream: Recv has the real status.
			_, err = stream.Recv()
		}
		return false, err
	}

	fresh := newStore(s.ad, s.cfg)
	timer := time.AfterFunc(s.opts.SyncTimeout, func() { cancel(errSyncTimeout) })
	for {
		resp, err := stream.Recv()
		if err != nil {
			timer.Stop()
			if cause := context.Cause(sctx); cause == errSyncTimeout {
				return false, cause
			}
			return false, err
		}
		if resp.GetSyncResponse() {
			break
		}
		if n := resp.GetUpdate(); n != nil {
			s.applyNotification(fresh, n)
		}
	}
	if !timer.Stop() {
		return false, errSyncTimeout
	}
	if len(s.ad.Poll(s.cfg)) > 0 {
		rows, err := s.pollRows(sctx, cl)
		if err != nil {
			return false, fmt.Errorf("initial poll: %w", err)
		}
		replacePoll(fresh, s.ad, rows)
	}

	s.mu.Lock()
	s.st = fresh
	s.remapLocked()
	s.client, s.connected = cl, true
	s.status = fmt.Sprintf("connected to %s (adapter %s, target %s)", ep.addr, s.ad.Name(), s.opts.Target)
	s.mu.Unlock()
	s.log.Info("gNMI switch connected and synced; resyncing", "endpoint", ep.addr, "adapter", s.ad.Name())
	s.notify(vtep.Key{Kind: vtep.KindResync})
	onReady()

	if len(s.ad.Poll(s.cfg)) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.pollLoop(sctx, cl)
		}()
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return true, err
		}
		if n := resp.GetUpdate(); n != nil {
			s.mu.Lock()
			facts := s.applyNotification(s.st, n)
			keys := s.keysLocked(facts)
			s.mu.Unlock()
			s.emit(keys)
		}
	}
}

// applyNotification folds one notification into st and returns the facts
// that changed.
func (s *session) applyNotification(st *store, n *gnmipb.Notification) []Fact {
	prefix := n.GetPrefix()
	var facts []Fact
	add := func(gone, came []Fact) { facts = append(append(facts, gone...), came...) }
	join := func(p *gnmipb.Path) *gnmipb.Path {
		j, err := gpath.Join(&gnmipb.Path{Origin: prefix.GetOrigin(), Elem: prefix.GetElem()}, p)
		if err != nil {
			return nil
		}
		if j.Origin == "openconfig" {
			j.Origin = ""
		}
		return j
	}
	for _, u := range n.GetUpdate() {
		p := join(u.GetPath())
		if p == nil {
			continue
		}
		for _, l := range leaves(p, u.GetVal()) {
			for _, h := range s.ad.Decode(l.path, s.cfg) {
				if h.ID.Key != "" && h.Field != "" {
					add(st.setField(h.ID, h.Field, l.text, true))
				}
			}
		}
	}
	for _, d := range n.GetDelete() {
		p := join(d)
		if p == nil {
			continue
		}
		for _, h := range s.ad.Decode(p, s.cfg) {
			switch {
			case h.ID.Key == "":
				add(st.deleteTable(h.ID.Table))
			case h.Field == "":
				add(st.setRow(h.ID, nil))
			default:
				add(st.setField(h.ID, h.Field, "", false))
			}
		}
	}
	return facts
}

type textLeaf struct {
	path *gnmipb.Path
	text string
}

// leaves turns an update into text leaves; JSON objects (as SONiC sends
// whole rows) are flattened below the path.
func leaves(p *gnmipb.Path, v *gnmipb.TypedValue) []textLeaf {
	var raw []byte
	switch x := v.GetValue().(type) {
	case *gnmipb.TypedValue_JsonIetfVal:
		raw = x.JsonIetfVal
	case *gnmipb.TypedValue_JsonVal:
		raw = x.JsonVal
	default:
		return []textLeaf{{path: p, text: valueText(v)}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil
	}
	var out []textLeaf
	var walk func(elems []*gnmipb.PathElem, x any)
	walk = func(elems []*gnmipb.PathElem, x any) {
		switch y := x.(type) {
		case map[string]any:
			for _, k := range sortedKeys(y) {
				name := k
				if p.Origin == "" {
					name = local(k)
				}
				walk(append(slices.Clip(elems), &gnmipb.PathElem{Name: name}), y[k])
			}
		case []any:
			var parts []string
			for _, e := range y {
				if _, obj := e.(map[string]any); obj {
					return // a keyed list inside a value: not used by the adapters
				}
				parts = append(parts, fmt.Sprint(e))
			}
			out = append(out, textLeaf{path: &gnmipb.Path{Origin: p.Origin, Elem: elems}, text: strings.Join(parts, ",")})
		case nil:
		default:
			out = append(out, textLeaf{path: &gnmipb.Path{Origin: p.Origin, Elem: elems}, text: fmt.Sprint(y)})
		}
	}
	walk(p.Elem, doc)
	return out
}

// valueText renders a scalar as text; leaf-lists are comma-separated.
func valueText(v *gnmipb.TypedValue) string {
	switch x := v.GetValue().(type) {
	case *gnmipb.TypedValue_StringVal:
		return x.StringVal
	case *gnmipb.TypedValue_AsciiVal:
		return x.AsciiVal
	case *gnmipb.TypedValue_UintVal:
		return strconv.FormatUint(x.UintVal, 10)
	case *gnmipb.TypedValue_IntVal:
		return strconv.FormatInt(x.IntVal, 10)
	case *gnmipb.TypedValue_BoolVal:
		return strconv.FormatBool(x.BoolVal)
	case *gnmipb.TypedValue_DoubleVal:
		return strconv.FormatFloat(x.DoubleVal, 'g', -1, 64)
	case *gnmipb.TypedValue_LeaflistVal:
		var parts []string
		for _, e := range x.LeaflistVal.GetElement() {
			parts = append(parts, valueText(e))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func (s *session) pollRows(ctx context.Context, cl gnmipb.GNMIClient) (map[RowID]Row, error) {
	resp, err := cl.Get(ctx, &gnmipb.GetRequest{Prefix: &gnmipb.Path{Target: s.opts.Target},
		Path: s.ad.Poll(s.cfg), Encoding: gnmipb.Encoding_JSON_IETF})
	if err != nil {
		return nil, err
	}
	return s.ad.DecodePoll(resp.GetNotification(), s.cfg)
}

// replacePoll makes the poll tables of st equal rows.
func replacePoll(st *store, ad Adapter, rows map[RowID]Row) []Fact {
	var facts []Fact
	tables := ad.PollTables()
	for id := range st.rows {
		if _, keep := rows[id]; !keep && slices.Contains(tables, id.Table) {
			g, c := st.setRow(id, nil)
			facts = append(append(facts, g...), c...)
		}
	}
	for id, r := range rows {
		if old, ok := st.rows[id]; ok && rowsEqual(old, r) {
			continue
		}
		g, c := st.setRow(id, r)
		facts = append(append(facts, g...), c...)
	}
	return facts
}

func rowsEqual(a, b Row) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// pollLoop re-reads polled state. It holds applyMu, so a Set never
// completes while a Get is in flight.
func (s *session) pollLoop(ctx context.Context, cl gnmipb.GNMIClient) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.applyMu.Lock()
		rows, err := s.pollRows(ctx, cl)
		if err != nil {
			s.applyMu.Unlock()
			s.log.Debug("gNMI poll failed", "err", err)
			continue
		}
		s.mu.Lock()
		keys := s.keysLocked(replacePoll(s.st, s.ad, rows))
		s.mu.Unlock()
		s.applyMu.Unlock()
		s.emit(keys)
	}
}
