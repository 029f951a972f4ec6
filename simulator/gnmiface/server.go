package gnmiface

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/openconfig/gnmi/cache"
	"github.com/openconfig/gnmi/ctree"
	gnmipath "github.com/openconfig/gnmi/path"
	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmi/subscribe"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
)

// Options configure a face.
type Options struct {
	// Device is the state served. Required.
	Device Device
	// Target is the gNMI target name (default: the device's switch name).
	// Requests may also leave the target empty.
	Target string
	// TLS, when set, serves TLS (set ClientAuth and ClientCAs to require
	// client certificates). Nil serves plaintext.
	TLS *tls.Config
	// Username and Password, when Username is set, are required in every
	// RPC's metadata ("username", "password"), as gnmi_cli sends them.
	Username, Password string
	// MaxMsgSize bounds request and response messages (default 64 MiB).
	MaxMsgSize int
	Logger     *slog.Logger
}

// Server is a gNMI target over a Device.
type Server struct {
	gnmipb.UnimplementedGNMIServer
	opt    Options
	log    *slog.Logger
	target string
	dev    Device
	cache  *cache.Cache
	sub    *subscribe.Server
	tables []*table
	lkeys  map[string][]string

	setMu sync.Mutex // serialises Sets: compile against the rendered rows, then Apply
	mu    sync.Mutex // guards r and ts; held while pushing to the cache (keeps order)
	r     *renderer
	ts    int64

	stopWatch func()
	smu       sync.Mutex // guards served, closed
	served    bool
	closed    bool
}

// New renders the device state and starts following its changes. Call
// Serve to accept connections and Close to stop following.
func New(o Options) (*Server, error) {
	if o.Device == nil {
		return nil, errors.New("gnmiface: Device is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMsgSize <= 0 {
		o.MaxMsgSize = 64 << 20
	}
	s := &Server{opt: o, log: o.Logger, dev: o.Device, tables: schema()}
	s.target = o.Target
	if s.target == "" {
		o.Device.Read(func(st *State) { s.target = st.Name })
	}
	s.lkeys = listKeys(s.tables)
	s.r = newRenderer(s.tables)
	s.cache = cache.New([]string{s.target})
	sub, err := subscribe.NewServer(s.cache)
	if err != nil {
		return nil, fmt.Errorf("gnmiface: subscribe server: %w", err)
	}
	s.sub = sub
	s.cache.SetClient(sub.Update)
	s.stopWatch = o.Device.Watch(s.onChange)
	s.onChange([]Change{{Scope: ScopeAll}})
	return s, nil
}

// Target returns the gNMI target name.
func (s *Server) Target() string { return s.target }

// Close stops following the device. Serve must have returned.
func (s *Server) Close() {
	s.smu.Lock()
	defer s.smu.Unlock()
	if !s.closed {
		s.closed = true
		s.stopWatch()
	}
}

// Serve answers gNMI on lis until ctx is done, then closes every
// connection at once (as a crashed switch would) and returns nil.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	s.smu.Lock()
	if s.served || s.closed {
		s.smu.Unlock()
		lis.Close()
		return errors.New("gnmiface: Serve called twice or after Close")
	}
	s.served = true
	s.smu.Unlock()
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.opt.MaxMsgSize), grpc.MaxSendMsgSize(s.opt.MaxMsgSize),
		// Let clients probe dead connections with HTTP/2 pings (gRPC's
		// default policy answers pings more often than 5 min with GOAWAY).
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := s.auth(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := s.auth(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
	if s.opt.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.opt.TLS)))
	}
	gs := grpc.NewServer(opts...)
	gnmipb.RegisterGNMIServer(gs, s)
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	select {
	case <-ctx.Done():
		gs.Stop()
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}

// auth checks the username and password in the request metadata.
func (s *Server) auth(ctx context.Context) error {
	if s.opt.Username == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	one := func(k string) string {
		if v := md.Get(k); len(v) == 1 {
			return v[0]
		}
		return ""
	}
	u, p := one("username"), one("password")
	okU := subtle.ConstantTimeCompare([]byte(u), []byte(s.opt.Username)) == 1
	okP := subtle.ConstantTimeCompare([]byte(p), []byte(s.opt.Password)) == 1
	if !okU || !okP {
		s.log.Warn("gNMI authentication failed", "username", u)
		return status.Error(codes.Unauthenticated, "bad username or password")
	}
	return nil
}

// onChange renders device changes into the cache.
func (s *Server) onChange(chs []Change) {
	var upd, del []leaf
	s.dev.Read(func(st *State) {
		s.mu.Lock()
		upd, del = s.r.apply(st, chs)
	})
	defer s.mu.Unlock()
	if len(upd) == 0 && len(del) == 0 {
		return
	}
	s.ts = max(time.Now().UnixNano(), s.ts+1)
	byOrigin := map[string]*gnmipb.Notification{}
	note := func(origin string) *gnmipb.Notification {
		n, ok := byOrigin[origin]
		if !ok {
			n = &gnmipb.Notification{Timestamp: s.ts, Prefix: &gnmipb.Path{Target: s.target, Origin: origin}}
			byOrigin[origin] = n
		}
		return n
	}
	for _, l := range upd {
		n := note(l.origin)
		n.Update = append(n.Update, &gnmipb.Update{Path: &gnmipb.Path{Elem: l.path}, Val: l.val})
	}
	for _, l := range del {
		n := note(l.origin)
		n.Delete = append(n.Delete, &gnmipb.Path{Elem: l.path})
	}
	for _, n := range byOrigin {
		if err := s.cache.GnmiUpdate(n); err != nil {
			s.log.Error("gNMI cache update failed", "err", err)
		}
	}
}

func pathStr(p *gnmipb.Path) string { return gpath.String(p) }

// origin normalises a request origin.
func origin(o string) (string, error) {
	switch o {
	case "", "openconfig":
		return originOC, nil
	case originSONiC, originCLI:
		return o, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "unknown origin %q (served: openconfig, %s, %s)", o, originSONiC, originCLI)
}

func (s *Server) checkTarget(p *gnmipb.Path) error {
	if t := p.GetTarget(); t != "" && t != s.target {
		return status.Errorf(codes.NotFound, "unknown target %q (this is %q)", t, s.target)
	}
	return nil
}

// full resolves a request path against its prefix.
func full(prefix, p *gnmipb.Path) (*gnmipb.Path, error) {
	if p == nil {
		p = &gnmipb.Path{}
	}
	j, err := gpath.Join(prefix, p)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if j.Origin, err = origin(j.Origin); err != nil {
		return nil, err
	}
	return j, nil
}

// grpcErr maps device and translation errors to gRPC codes.
func grpcErr(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrLimit):
		code = codes.ResourceExhausted
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, errReadOnly), errors.Is(err, ErrInvalid), errors.Is(err, errUnknownPath), errors.Is(err, gpath.ErrSyntax):
		code = codes.InvalidArgument
	}
	return status.Error(code, err.Error())
}

// Capabilities implements gNMI.
func (s *Server) Capabilities(context.Context, *gnmipb.CapabilityRequest) (*gnmipb.CapabilityResponse, error) {
	ver, _ := proto.GetExtension(gnmipb.File_github_com_openconfig_gnmi_proto_gnmi_gnmi_proto.Options(), gnmipb.E_GnmiService).(string)
	return &gnmipb.CapabilityResponse{
		SupportedModels: []*gnmipb.ModelData{
			{Name: "openconfig-network-instance", Organization: "OpenConfig working group", Version: "4.5.1"},
			{Name: "openconfig-evpn", Organization: "OpenConfig working group", Version: "0.11.0"},
			{Name: "openconfig-interfaces", Organization: "OpenConfig working group"},
			{Name: "openconfig-vlan", Organization: "OpenConfig working group"},
			{Name: "arista-exp-eos-vxlan", Organization: "Arista Networks <http://arista.com/>"},
			{Name: "sonic-db", Organization: "SONiC"},
		},
		SupportedEncodings: []gnmipb.Encoding{gnmipb.Encoding_JSON, gnmipb.Encoding_JSON_IETF, gnmipb.Encoding_PROTO, gnmipb.Encoding_ASCII},
		GNMIVersion:        ver,
	}, nil
}

// Get implements gNMI: leaves come from the cache (so Get and Subscribe
// agree); "cli:/show running-config" is rendered from the device.
func (s *Server) Get(ctx context.Context, req *gnmipb.GetRequest) (*gnmipb.GetResponse, error) {
	if err := s.checkTarget(req.GetPrefix()); err != nil {
		return nil, err
	}
	resp := &gnmipb.GetResponse{}
	for _, p := range req.GetPath() {
		fp, err := full(req.GetPrefix(), p)
		if err != nil {
			return nil, err
		}
		n := &gnmipb.Notification{Timestamp: time.Now().UnixNano(), Prefix: &gnmipb.Path{Target: req.GetPrefix().GetTarget(), Origin: fp.Origin}}
		if fp.Origin == originCLI {
			cmd := ""
			if len(fp.Elem) == 1 {
				cmd = fp.Elem[0].Name
			}
			if cmd != "show running-config" {
				return nil, status.Errorf(codes.InvalidArgument, "cli: only \"show running-config\" is supported, not %q", cmd)
			}
			var js []byte
			s.dev.Read(func(st *State) { js, err = runningConfig(st) })
			if err != nil {
				return nil, status.Error(codes.Internal, err.Error())
			}
			n.Update = []*gnmipb.Update{{Path: &gnmipb.Path{Elem: fp.Elem}, Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: js}}}}
			resp.Notification = append(resp.Notification, n)
			continue
		}
		var q []string
		if fp.Origin != "" {
			q = append(q, fp.Origin)
		}
		q = append(q, gnmipath.ToStrings(&gnmipb.Path{Elem: fp.Elem}, false)...)
		type kv struct {
			k string
			u *gnmipb.Update
		}
		var got []kv
		err = s.cache.Query(s.target, q, func(_ []string, _ *ctree.Leaf, v any) error {
			if cn, ok := v.(*gnmipb.Notification); ok {
				for _, u := range cn.GetUpdate() {
					got = append(got, kv{gpath.String(u.GetPath()), u})
				}
			}
			return nil
		})
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		slices.SortFunc(got, func(a, b kv) int {
			switch {
			case a.k < b.k:
				return -1
			case a.k > b.k:
				return 1
			}
			return 0
		})
		for _, g := range got {
			n.Update = append(n.Update, g.u)
		}
		resp.Notification = append(resp.Notification, n)
	}
	return resp, nil
}

// Set implements gNMI: deletes, then replaces, then updates, compiled
// into device operations and applied atomically.
func (s *Server) Set(ctx context.Context, req *gnmipb.SetRequest) (*gnmipb.SetResponse, error) {
	if err := s.checkTarget(req.GetPrefix()); err != nil {
		return nil, err
	}
	s.setMu.Lock()
	defer s.setMu.Unlock()
	var results []*gnmipb.UpdateResult
	var cliOps []Op
	var ops []Op
	var buildErr error
	s.dev.Read(func(st *State) {
		s.mu.Lock()
		defer s.mu.Unlock()
		ed := newEdit(s.tables, s.r.rows, s.lkeys)
		buildErr = func() error {
			for _, p := range req.GetDelete() {
				fp, err := full(req.GetPrefix(), p)
				if err != nil {
					return err
				}
				if fp.Origin == originCLI {
					return status.Error(codes.InvalidArgument, "cli: delete is not supported; send \"no ...\" commands")
				}
				if err := ed.delete(fp); err != nil {
					return err
				}
				results = append(results, &gnmipb.UpdateResult{Path: p, Op: gnmipb.UpdateResult_DELETE})
			}
			upd := func(u *gnmipb.Update, replace bool) error {
				fp, err := full(req.GetPrefix(), u.GetPath())
				if err != nil {
					return err
				}
				if fp.Origin == originCLI {
					text := u.GetVal().GetAsciiVal()
					if text == "" {
						text = u.GetVal().GetStringVal()
					}
					o, err := parseCLI(text, st)
					if err != nil {
						return err
					}
					cliOps = append(cliOps, o...)
					return nil
				}
				if replace {
					if err := ed.delete(fp); err != nil {
						return err
					}
				}
				leaves, err := flatten(fp, u.GetVal(), s.lkeys)
				if err != nil {
					return err
				}
				for _, l := range leaves {
					if err := ed.update(l.path, l.val); err != nil {
						return err
					}
				}
				return nil
			}
			for _, u := range req.GetReplace() {
				if err := upd(u, true); err != nil {
					return err
				}
				results = append(results, &gnmipb.UpdateResult{Path: u.GetPath(), Op: gnmipb.UpdateResult_REPLACE})
			}
			for _, u := range req.GetUpdate() {
				if err := upd(u, false); err != nil {
					return err
				}
				results = append(results, &gnmipb.UpdateResult{Path: u.GetPath(), Op: gnmipb.UpdateResult_UPDATE})
			}
			var err error
			ops, err = ed.compile(st)
			return err
		}()
	})
	if buildErr != nil {
		return nil, grpcErr(buildErr)
	}
	ops = append(ops, cliOps...)
	if err := s.dev.Apply(ops); err != nil {
		return nil, grpcErr(err)
	}
	s.log.Debug("gNMI Set applied", "ops", len(ops))
	return &gnmipb.SetResponse{Prefix: req.GetPrefix(), Response: results, Timestamp: time.Now().UnixNano()}, nil
}

// Subscribe implements gNMI through the gnmi module's subscribe server
// (STREAM, ONCE and POLL; every STREAM subscription behaves as ON_CHANGE).
func (s *Server) Subscribe(stream gnmipb.GNMI_SubscribeServer) error {
	return s.sub.Subscribe(&subStream{GNMI_SubscribeServer: stream, s: s})
}

// subStream fills in the target and normalises origins of the first
// request, which the subscribe server requires and indexes literally.
type subStream struct {
	gnmipb.GNMI_SubscribeServer
	s    *Server
	seen bool
}

func (w *subStream) Recv() (*gnmipb.SubscribeRequest, error) {
	req, err := w.GNMI_SubscribeServer.Recv()
	if err != nil || w.seen || req.GetSubscribe() == nil {
		return req, err
	}
	w.seen = true
	req = proto.Clone(req).(*gnmipb.SubscribeRequest)
	sl := req.GetSubscribe()
	if sl.Prefix == nil {
		sl.Prefix = &gnmipb.Path{}
	}
	if err := w.s.checkTarget(sl.Prefix); err != nil {
		return nil, err
	}
	sl.Prefix.Target = w.s.target
	if sl.Prefix.Origin, err = origin(sl.Prefix.Origin); err != nil {
		return nil, err
	}
	for _, sub := range sl.Subscription {
		if sub.Path == nil {
			continue
		}
		if sub.Path.Origin, err = origin(sub.Path.Origin); err != nil {
			return nil, err
		}
		if sub.Path.Origin == originCLI || sl.Prefix.Origin == originCLI {
			return nil, status.Error(codes.InvalidArgument, "cli origin cannot be subscribed")
		}
	}
	return req, nil
}
