// Package unixctl is an OVS-compatible control socket: `ovs-appctl -t
// SOCKET COMMAND [ARG...]` talks JSON-RPC 1.0 to it over a unix stream
// socket, one request per command.
package unixctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
)

// Handler runs one command.
type Handler func(ctx context.Context, args []string) (string, error)

type command struct {
	usage            string
	minArgs, maxArgs int
	fn               Handler
}

// Server serves registered commands on a unix socket.
type Server struct {
	path string
	ln   net.Listener
	log  *slog.Logger

	mu   sync.Mutex // guards cmds
	cmds map[string]command
}

// Listen creates the socket at path, replacing a stale one.
func Listen(path string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use by a running process", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	s := &Server{path: path, ln: ln, log: log, cmds: map[string]command{}}
	s.Register("list-commands", "", 0, 0, func(context.Context, []string) (string, error) {
		return s.list(), nil
	})
	return s, nil
}

// Path returns the socket path.
func (s *Server) Path() string { return s.path }

// Register adds a command taking between minArgs and maxArgs arguments.
func (s *Server) Register(name, usage string, minArgs, maxArgs int, fn Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds[name] = command{usage: usage, minArgs: minArgs, maxArgs: maxArgs, fn: fn}
}

func (s *Server) list() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.cmds))
	for n := range s.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("The available commands are:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-23s %s\n", n, s.cmds[n].usage)
	}
	return b.String()
}

// Serve accepts connections until ctx is done, then closes the listener and
// removes the socket file. It returns nil on a clean stop.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		s.ln.Close()
		_ = os.Remove(s.path)
		wg.Wait()
	}()
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", s.path, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
		}()
	}
}

// Request is a JSON-RPC 1.0 request.
type Request struct {
	Method string          `json:"method"`
	Params []any           `json:"params"`
	ID     json.RawMessage `json:"id"`
}

type response struct {
	Result any             `json:"result"`
	Error  any             `json:"error"`
	ID     json.RawMessage `json:"id"`
}

// DecodeRequest parses one request; every parameter must be a string.
func DecodeRequest(r io.Reader) (string, []string, json.RawMessage, error) {
	var req Request
	if err := json.NewDecoder(r).Decode(&req); err != nil {
		return "", nil, nil, err
	}
	return checkRequest(req)
}

func checkRequest(req Request) (string, []string, json.RawMessage, error) {
	if req.Method == "" {
		return "", nil, req.ID, errors.New("request has no method")
	}
	args := make([]string, 0, len(req.Params))
	for _, p := range req.Params {
		s, ok := p.(string)
		if !ok {
			return req.Method, nil, req.ID, errors.New("command arguments must be strings")
		}
		args = append(args, s)
	}
	return req.Method, args, req.ID, nil
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	dec := json.NewDecoder(c)
	enc := json.NewEncoder(c)
	for {
		var req Request
		if err := dec.Decode(&req); err != nil {
			return
		}
		method, args, id, err := checkRequest(req)
		resp := response{ID: id}
		if err == nil {
			var out string
			out, err = s.dispatch(ctx, method, args)
			resp.Result = out
		}
		if err != nil {
			resp.Result, resp.Error = nil, err.Error()
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

func (s *Server) dispatch(ctx context.Context, method string, args []string) (string, error) {
	s.mu.Lock()
	cmd, ok := s.cmds[method]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%q is not a valid command (use \"list-commands\" to see a list of valid commands)", method)
	}
	if len(args) < cmd.minArgs {
		return "", fmt.Errorf("%q command requires at least %d arguments", method, cmd.minArgs)
	}
	if len(args) > cmd.maxArgs {
		return "", fmt.Errorf("%q command takes at most %d arguments", method, cmd.maxArgs)
	}
	return cmd.fn(ctx, args)
}
