// Package unixctl is an OVS-compatible control server: the unix socket that
// OVS and OVN daemons expose to ovs-appctl and ovn-appctl.
//
// The wire protocol is JSON-RPC 1.0 over a unix stream socket, with no
// framing other than the JSON values themselves. A client sends
//
//	{"id":0,"method":"COMMAND","params":["ARG",...]}
//
// and the server answers {"id":0,"result":"TEXT","error":null} or
// {"id":0,"result":null,"error":"TEXT"}. A connection carries any number of
// requests, answered one at a time in order; ovs-appctl sends one and closes.
// ovs-appctl prints a result on stdout and exits 0, or prints an error on
// stderr, adds "ovs-appctl: TARGET: server returned an error" and exits 2.
// Its -T/--timeout is a local alarm (it dies of SIGALRM); nothing about it
// goes over the wire. ovs-appctl 3.4 and later send "set-options" first
// when run with -f json; earlier ones send only the command.
//
// Every server has the built-in commands "list-commands" and
// "set-options". The caller registers the rest, including "version" and
// "exit". The reference ovn-controller-vtep answers "exit" at once and
// then cleans up, so "ovs-appctl exit" returns before the process is gone;
// scripts then wait for the pid. A handler that instead waits for the
// cleanup must also return when its ctx is done, and the server must be
// stopped after the components it controls, not with them.
package unixctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// ErrServerClosed is returned by Run when the server has already run or
// has been closed.
var ErrServerClosed = errors.New("unixctl server closed")

// HandlerFunc runs one command. args holds the arguments without the
// command name; their count is already checked against the registration.
// The returned text is the reply; a non-nil error is sent as an error reply
// with err.Error() as its text. ctx is cancelled when the server stops, and a
// handler that blocks must return once it is: Run waits for it.
type HandlerFunc func(ctx context.Context, args []string) (string, error)

// Options configure a Server.
type Options struct {
	// Path is the socket file. Resolve relative names (OVS puts them in
	// the run directory) before passing them in; see daemon.CtlPath.
	Path string
	// Logger receives connection-level problems. Nil discards them.
	Logger *slog.Logger
}

// maxPathLen is the longest socket path Linux accepts (sun_path is 108
// bytes including the terminating NUL).
const maxPathLen = 107

// writeTimeout bounds writing one reply, so that a client that stops
// reading cannot hold up shutdown.
const writeTimeout = 10 * time.Second

// Server is a unixctl server. Create it with New, register commands, then
// call Run.
type Server struct {
	path   string
	logger *slog.Logger
	ln     *net.UnixListener

	quit      chan struct{} // closed by Close to stop Run
	closeOnce sync.Once
	done      chan struct{} // closed when Run returns

	mu       sync.Mutex
	commands map[string]command       // guarded by mu
	state    serverState              // guarded by mu
	conns    map[*net.UnixConn]func() // guarded by mu; open connections and how to stop their intake
}

type serverState int

const (
	stateNew serverState = iota
	stateRunning
	stateStopped
)

type command struct {
	usage            string
	minArgs, maxArgs int
	fn               func(ctx context.Context, cs *connState, args []string) (any, error)
}

// connState is the per-connection state that set-options changes. It is
// owned by the connection's goroutine.
type connState struct {
	json bool // reply in JSON format ("set-options --format json")
}

// New listens on opts.Path, so clients can connect as soon as it returns;
// requests are served once Run is called. A leftover socket file that
// nobody listens on is removed; a live one is an error, as is any file
// that is not a socket.
func New(opts Options) (*Server, error) {
	if opts.Path == "" {
		return nil, errors.New("unixctl: empty socket path")
	}
	if len(opts.Path) > maxPathLen {
		return nil, fmt.Errorf("unixctl: socket path %q is %d bytes, longer than the %d the kernel accepts",
			opts.Path, len(opts.Path), maxPathLen)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := removeStaleSocket(opts.Path); err != nil {
		return nil, fmt.Errorf("unixctl: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: opts.Path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("unixctl: listen on %s: %w", opts.Path, err)
	}
	ln.SetUnlinkOnClose(true)
	s := &Server{
		path:     opts.Path,
		logger:   logger,
		ln:       ln,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		commands: make(map[string]command),
		conns:    make(map[*net.UnixConn]func()),
	}
	s.register("list-commands", "", 0, 0, s.listCommands)
	s.register("set-options", "[--format text|json]", 1, 2, setOptions)
	return s, nil
}

// removeStaleSocket deletes path if it is a socket that nobody accepts on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check old socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("socket %s is in use by another process", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe old socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Register adds a command. usage is shown by list-commands. The command
// accepts between minArgs and maxArgs arguments; OVS's error texts are
// sent for other counts. Commands may be registered before or while the
// server runs. Register panics on an empty name, a nil fn, a bad argument
// range or a duplicate name: these are programming errors.
func (s *Server) Register(name, usage string, minArgs, maxArgs int, fn HandlerFunc) {
	if fn == nil {
		panic(fmt.Sprintf("unixctl: Register %q with nil handler", name))
	}
	s.register(name, usage, minArgs, maxArgs,
		func(ctx context.Context, _ *connState, args []string) (any, error) {
			return fn(ctx, args)
		})
}

func (s *Server) register(name, usage string, minArgs, maxArgs int,
	fn func(context.Context, *connState, []string) (any, error)) {
	if name == "" {
		panic("unixctl: Register with empty command name")
	}
	if minArgs < 0 || maxArgs < minArgs {
		panic(fmt.Sprintf("unixctl: Register %q with bad argument range [%d, %d]", name, minArgs, maxArgs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.commands[name]; dup {
		panic(fmt.Sprintf("unixctl: Register called twice for command %q", name))
	}
	s.commands[name] = command{usage: usage, minArgs: minArgs, maxArgs: maxArgs, fn: fn}
}

// Run serves connections until ctx is done or Close is called, then stops
// accepting, removes the socket file, cancels the handlers' context, lets
// in-flight requests finish and send their replies, and returns nil. It
// returns an error if the listener fails, and ErrServerClosed if the
// server has already run or been closed.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return fmt.Errorf("unixctl %s: %w", s.path, ErrServerClosed)
	}
	s.state = stateRunning
	s.mu.Unlock()
	defer close(s.done)

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	acceptErr := make(chan error, 1)
	wg.Go(func() { acceptErr <- s.acceptLoop(hctx, &wg) })

	var err error
	select {
	case <-ctx.Done():
	case <-s.quit:
	case err = <-acceptErr:
	}
	cancel()
	s.stop()
	wg.Wait()
	return err
}

// Close stops the server. If Run is active, Close makes it return and
// waits for it; if Run was never called, Close releases the socket. Close
// is safe to call more than once, but not from a command handler: Run
// waits for handlers, so that would deadlock.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.quit) })
	s.mu.Lock()
	state := s.state
	if state == stateNew {
		s.state = stateStopped
	}
	s.mu.Unlock()
	switch state {
	case stateNew:
		if err := s.ln.Close(); err != nil {
			return fmt.Errorf("unixctl: close %s: %w", s.path, err)
		}
	case stateRunning:
		<-s.done
	}
	return nil
}

// stop marks the server stopped, closes the listener (which unlinks the
// socket) and stops reading new requests on open connections.
func (s *Server) stop() {
	s.mu.Lock()
	s.state = stateStopped
	for _, stopIntake := range s.conns {
		stopIntake()
	}
	s.mu.Unlock()
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.logger.Warn("unixctl: close listener", "path", s.path, "err", err)
	}
}

// acceptLoop accepts connections until the listener is closed. Connection
// goroutines are added to wg, which Run waits on.
func (s *Server) acceptLoop(ctx context.Context, wg *sync.WaitGroup) error {
	var delay time.Duration
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !isTransientAcceptError(err) {
				return fmt.Errorf("unixctl: accept on %s: %w", s.path, err)
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger.Warn("unixctl: accept failed, retrying", "path", s.path, "err", err, "retry_seconds", delay.Seconds())
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		s.mu.Lock()
		if s.state == stateStopped {
			s.mu.Unlock()
			_ = c.Close()
			return nil
		}
		s.conns[c] = func() { _ = c.SetReadDeadline(time.Now()) }
		s.mu.Unlock()
		wg.Go(func() { s.serveConn(ctx, c) })
	}
}

func isTransientAcceptError(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS,
		syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// serveConn answers requests on c, one at a time, until the client
// closes, sends something that is not a valid request, or the server stops.
func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	br := &budgetReader{r: c}
	dec := json.NewDecoder(br)
	var cs connState
	for {
		br.n = maxRequestBytes
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				s.logger.Warn("unixctl: dropping connection", "path", s.path, "err", err)
			}
			return
		}
		if ctx.Err() != nil {
			return // stopping: take no new requests
		}
		req, err := decodeRequest(raw)
		if err != nil {
			s.logger.Warn("unixctl: dropping connection after invalid message", "path", s.path, "err", err)
			return
		}
		resp := s.dispatch(ctx, &cs, req)
		out, err := encodeResponse(resp)
		if err != nil {
			s.logger.Error("unixctl: cannot encode reply", "path", s.path, "command", req.Method, "err", err)
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(out); err != nil {
			s.logger.Debug("unixctl: write reply", "path", s.path, "command", req.Method, "err", err)
			return
		}
	}
}

// dispatch checks a request against the command table, as OVS's
// process_command does, runs the command and builds the reply.
func (s *Server) dispatch(ctx context.Context, cs *connState, req request) response {
	fail := func(format string, a ...any) response {
		return response{ID: req.ID, Error: withNewline(fmt.Sprintf(format, a...))}
	}
	s.mu.Lock()
	cmd, ok := s.commands[req.Method]
	s.mu.Unlock()
	switch {
	case !ok:
		return fail(`"%s" is not a valid command (use "list-commands" to see a list of valid commands)`, req.Method)
	case len(req.Params) < cmd.minArgs:
		return fail(`"%s" command requires at least %d arguments`, req.Method, cmd.minArgs)
	case len(req.Params) > cmd.maxArgs:
		return fail(`"%s" command takes at most %d arguments`, req.Method, cmd.maxArgs)
	}
	args, ok := stringArgs(req.Params)
	if !ok {
		return fail(`"%s" command has non-string argument`, req.Method)
	}
	s.logger.Debug("unixctl: request", "command", req.Method, "args", args)
	result, err := s.call(ctx, cmd, cs, req.Method, args)
	if err != nil {
		return fail("%s", err.Error())
	}
	if text, ok := result.(string); ok {
		if cs.json {
			// OVS wraps plain text this way when JSON output is requested.
			result = map[string]string{"reply-format": "plain", "reply": text}
		} else {
			result = withNewline(text)
		}
	}
	return response{ID: req.ID, Result: result}
}

// call runs a command handler, turning a panic into an error reply.
func (s *Server) call(ctx context.Context, cmd command, cs *connState, name string, args []string) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("unixctl: command panicked", "command", name, "panic", r, "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("internal error in %q command", name)
		}
	}()
	return cmd.fn(ctx, cs, args)
}
