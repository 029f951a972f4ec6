package unixctl_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vtepgw/vtepgw/internal/unixctl"
)

// requireBinary returns the path of a real OVS tool, or skips the test
// (fails it when VTEPGW_REQUIRE_REAL=1).
func requireBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
		t.Fatalf("%s not found on PATH and VTEPGW_REQUIRE_REAL=1: %v", name, err)
	}
	t.Skipf("%s not found on PATH (install it with: apt-get install openvswitch-common openvswitch-switch); "+
		"set VTEPGW_REQUIRE_REAL=1 to make this a failure", name)
	return ""
}

// shortTempDir returns a temporary directory with a short path: socket
// paths must fit in 107 bytes, and t.TempDir() embeds the test name.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "uctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

type appctlResult struct {
	stdout, stderr string
	code           int
}

// appctl runs the real ovs-appctl against the socket at path. -T bounds
// it, and the context kills it if even that fails. Call it from the test
// goroutine; other goroutines use runAppctl.
func appctl(t *testing.T, path string, args ...string) appctlResult {
	t.Helper()
	res, err := runAppctl(t.Context(), requireBinary(t, "ovs-appctl"), path, args...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func runAppctl(ctx context.Context, bin, path string, args ...string) (appctlResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-T", "20", "-t", path}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := appctlResult{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		res.code = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("ovs-appctl %q: %w (stderr %q)", args, err, res.stderr)
	}
	return res, nil
}

// goAppctl runs ovs-appctl in the background; the result arrives on the
// returned channel, and a failure to run it fails the test.
func goAppctl(t *testing.T, path string, args ...string) <-chan appctlResult {
	t.Helper()
	bin := requireBinary(t, "ovs-appctl")
	ch := make(chan appctlResult, 1)
	go func() {
		res, err := runAppctl(t.Context(), bin, path, args...)
		if err != nil {
			t.Error(err)
		}
		ch <- res
	}()
	return ch
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer creates a server in a fresh directory, lets setup register
// commands, runs it, and stops it at cleanup. It returns the server and a
// function that stops it and returns Run's result.
func startServer(t *testing.T, setup func(*unixctl.Server)) (*unixctl.Server, func() error) {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "test.ctl")
	s, err := unixctl.New(unixctl.Options{Path: path, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	var once sync.Once
	var err2 error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err2 = <-runErr:
			case <-time.After(20 * time.Second):
				err2 = errors.New("Run did not return within 20s of cancel")
			}
		})
		return err2
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s, stop
}

func registerTestCommands(s *unixctl.Server) {
	s.Register("echo", "[ARG...]", 0, 3, func(_ context.Context, args []string) (string, error) {
		return strings.Join(args, " "), nil
	})
	s.Register("lines", "", 0, 0, func(context.Context, []string) (string, error) {
		return "a\nb\n", nil
	})
	s.Register("empty", "", 0, 0, func(context.Context, []string) (string, error) {
		return "", nil
	})
	s.Register("fail", "TEXT", 1, 1, func(_ context.Context, args []string) (string, error) {
		return "", errors.New(args[0])
	})
	s.Register("panic", "", 0, 0, func(context.Context, []string) (string, error) {
		panic("oops")
	})
	s.Register("version", "", 0, 0, func(context.Context, []string) (string, error) {
		return "vtepgw (test) 0.0.0\n", nil
	})
}

func TestOvsAppctl(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	s, _ := startServer(t, registerTestCommands)
	path := s.Path()
	serverErr := func(text string) string {
		return text + "ovs-appctl: " + path + ": server returned an error\n"
	}
	tests := []struct {
		name string
		args []string
		want appctlResult
	}{
		{
			name: "success gets a newline",
			args: []string{"echo", "a", "b c"},
			want: appctlResult{stdout: "a b c\n"},
		},
		{
			name: "quotes and unicode survive",
			args: []string{"echo", `"q"`, "é\\x", "<&>"},
			want: appctlResult{stdout: `"q" é\x <&>` + "\n"},
		},
		{
			name: "multi-line text is sent as is",
			args: []string{"lines"},
			want: appctlResult{stdout: "a\nb\n"},
		},
		{
			name: "empty result prints nothing",
			args: []string{"empty"},
			want: appctlResult{},
		},
		{
			name: "version registered by the caller",
			args: []string{"version"},
			want: appctlResult{stdout: "vtepgw (test) 0.0.0\n"},
		},
		{
			name: "handler error exits 2",
			args: []string{"fail", "it broke"},
			want: appctlResult{code: 2, stderr: serverErr("it broke\n")},
		},
		{
			name: "handler panic is an error reply",
			args: []string{"panic"},
			want: appctlResult{code: 2, stderr: serverErr("internal error in \"panic\" command\n")},
		},
		{
			name: "unknown command",
			args: []string{"nope"},
			want: appctlResult{code: 2, stderr: serverErr(
				`"nope" is not a valid command (use "list-commands" to see a list of valid commands)` + "\n")},
		},
		{
			name: "too many arguments",
			args: []string{"echo", "1", "2", "3", "4"},
			want: appctlResult{code: 2, stderr: serverErr(`"echo" command takes at most 3 arguments` + "\n")},
		},
		{
			name: "too few arguments",
			args: []string{"fail"},
			want: appctlResult{code: 2, stderr: serverErr(`"fail" command requires at least 1 arguments` + "\n")},
		},
		{
			name: "list-commands takes no arguments",
			args: []string{"list-commands", "x"},
			want: appctlResult{code: 2, stderr: serverErr(`"list-commands" command takes at most 0 arguments` + "\n")},
		},
		{
			name: "list-commands",
			args: []string{"list-commands"},
			want: appctlResult{stdout: "The available commands are:\n" +
				"  echo                    [ARG...]\n" +
				"  empty                   \n" +
				"  fail                    TEXT\n" +
				"  lines                   \n" +
				"  list-commands           \n" +
				"  panic                   \n" +
				"  set-options             [--format text|json]\n" +
				"  version                 \n"},
		},
		{
			name: "set-options in text mode",
			args: []string{"set-options", "--format", "text"},
			want: appctlResult{},
		},
		{
			name: "set-options rejects a bad format",
			args: []string{"set-options", "--format", "xml"},
			want: appctlResult{code: 2, stderr: serverErr("option format has invalid value xml\n")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appctl(t, path, tt.args...)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(appctlResult{})); diff != "" {
				t.Errorf("ovs-appctl %q mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestMatchesOVSDBServer runs the same malformed calls against a real OVS
// daemon and against us, and requires identical ovs-appctl output.
func TestMatchesOVSDBServer(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	ovsdbServer := requireBinary(t, "ovsdb-server")
	ovsdbTool := requireBinary(t, "ovsdb-tool")
	schema := "/usr/share/openvswitch/vtep.ovsschema"
	if _, err := os.Stat(schema); err != nil {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("no schema for the reference ovsdb-server: %v", err)
		}
		t.Skipf("no schema for the reference ovsdb-server (apt-get install openvswitch-common): %v", err)
	}

	dir := shortTempDir(t)
	db := filepath.Join(dir, "vtep.db")
	if out, err := exec.CommandContext(t.Context(), ovsdbTool, "create", db, schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	refPath := filepath.Join(dir, "ref.ctl")
	ref := exec.Command(ovsdbServer, "--remote=punix:"+filepath.Join(dir, "db.sock"),
		"--unixctl="+refPath, "-vconsole:off", "--log-file="+filepath.Join(dir, "ref.log"), db)
	if err := ref.Start(); err != nil {
		t.Fatalf("start ovsdb-server: %v", err)
	}
	t.Cleanup(func() {
		_ = ref.Process.Kill()
		_ = ref.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(refPath); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovsdb-server did not create %s", refPath)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The same command shapes as ovsdb-server registers them.
	s, _ := startServer(t, func(s *unixctl.Server) {
		s.Register("ovsdb-server/add-db", "DB", 1, 1, func(context.Context, []string) (string, error) { return "", nil })
		s.Register("exit", "", 0, 0, func(context.Context, []string) (string, error) { return "", nil })
	})

	tests := []struct {
		name string
		args []string
	}{
		{name: "unknown command", args: []string{"no/such-command"}},
		{name: "too few", args: []string{"ovsdb-server/add-db"}},
		{name: "too many", args: []string{"ovsdb-server/add-db", "a", "b"}},
		{name: "list-commands with an argument", args: []string{"list-commands", "x"}},
		{name: "exit with an argument", args: []string{"exit", "now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := appctl(t, refPath, tt.args...)
			want.stderr = strings.ReplaceAll(want.stderr, refPath, "SOCKET")
			got := appctl(t, s.Path(), tt.args...)
			got.stderr = strings.ReplaceAll(got.stderr, s.Path(), "SOCKET")
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(appctlResult{})); diff != "" {
				t.Errorf("ovs-appctl %q: ovsdb-server (-) vs us (+):\n%s", tt.args, diff)
			}
		})
	}
}

// TestBlockingHandler checks that a handler that blocks holds up neither
// other connections nor other clients.
func TestBlockingHandler(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	s, _ := startServer(t, func(s *unixctl.Server) {
		registerTestCommands(s)
		s.Register("block", "", 0, 0, func(ctx context.Context, _ []string) (string, error) {
			entered <- struct{}{}
			select {
			case <-release:
				return "released", nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		})
	})

	blocked := goAppctl(t, s.Path(), "block")
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("block handler never ran")
	}

	if got := appctl(t, s.Path(), "echo", "while", "blocked"); got.stdout != "while blocked\n" || got.code != 0 {
		t.Fatalf("echo while another handler blocks = %+v", got)
	}
	select {
	case got := <-blocked:
		t.Fatalf("blocked client returned early: %+v", got)
	default:
	}
	close(release)
	if got := <-blocked; got.stdout != "released\n" || got.code != 0 {
		t.Errorf("blocked client = %+v, want stdout %q", got, "released\n")
	}
}

func TestConcurrentClients(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	s, _ := startServer(t, registerTestCommands)
	const n = 16
	results := make([]<-chan appctlResult, n)
	for i := range n {
		results[i] = goAppctl(t, s.Path(), "echo", fmt.Sprintf("client-%d", i))
	}
	for i, ch := range results {
		want := appctlResult{stdout: fmt.Sprintf("client-%d\n", i)}
		if diff := cmp.Diff(want, <-ch, cmp.AllowUnexported(appctlResult{})); diff != "" {
			t.Errorf("client %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestCallAfterStop: once Run returns, the socket is gone and a client
// fails promptly; Run cannot be restarted.
func TestCallAfterStop(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	s, stop := startServer(t, registerTestCommands)
	if got := appctl(t, s.Path(), "echo", "up"); got.code != 0 {
		t.Fatalf("echo before stop: %+v", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
	if _, err := os.Lstat(s.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there after Run returned: %v", err)
	}
	start := time.Now()
	got := appctl(t, s.Path(), "echo", "down")
	if got.code != 1 || !strings.Contains(got.stderr, "cannot connect to") {
		t.Errorf("ovs-appctl after stop = %+v, want exit 1 and \"cannot connect to\"", got)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("ovs-appctl after stop took %v", d)
	}
	if err := s.Run(t.Context()); !errors.Is(err, unixctl.ErrServerClosed) {
		t.Errorf("second Run = %v, want ErrServerClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Run returned: %v", err)
	}
}

// TestShutdownWithBlockedHandler: stopping cancels the handler's context,
// and the client still gets the handler's reply before Run returns.
func TestShutdownWithBlockedHandler(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	entered := make(chan struct{}, 1)
	s, stop := startServer(t, func(s *unixctl.Server) {
		s.Register("wait", "", 0, 0, func(ctx context.Context, _ []string) (string, error) {
			entered <- struct{}{}
			<-ctx.Done()
			return "", fmt.Errorf("stopped while waiting: %w", context.Cause(ctx))
		})
	})
	blocked := goAppctl(t, s.Path(), "wait")
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("wait handler never ran")
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := <-blocked
	if got.code != 2 || !strings.HasPrefix(got.stderr, "stopped while waiting: context canceled\n") {
		t.Errorf("client of a handler cancelled by shutdown = %+v", got)
	}
}

// TestExitCommand: a handler that stops the server still gets its reply
// out, so "ovs-appctl exit" exits 0.
func TestExitCommand(t *testing.T) {
	requireBinary(t, "ovs-appctl")
	path := filepath.Join(shortTempDir(t), "exit.ctl")
	s, err := unixctl.New(unixctl.Options{Path: path, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s.Register("exit", "", 0, 0, func(context.Context, []string) (string, error) {
		cancel()
		return "bye", nil
	})
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	if got := appctl(t, path, "exit"); got != (appctlResult{stdout: "bye\n"}) {
		t.Errorf("ovs-appctl exit = %+v", got)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after exit")
	}
}

func TestClose(t *testing.T) {
	t.Run("never run", func(t *testing.T) {
		path := filepath.Join(shortTempDir(t), "c.ctl")
		s, err := unixctl.New(unixctl.Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket file left after Close: %v", err)
		}
		if err := s.Run(t.Context()); !errors.Is(err, unixctl.ErrServerClosed) {
			t.Errorf("Run after Close = %v, want ErrServerClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	t.Run("while running", func(t *testing.T) {
		path := filepath.Join(shortTempDir(t), "c.ctl")
		s, err := unixctl.New(unixctl.Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		runErr := make(chan error, 1)
		go func() { runErr <- s.Run(t.Context()) }()
		c := dial(t, path) // make sure Run is serving
		c.roundTrip(t, `{"id":1,"method":"list-commands","params":[]}`)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("Run after Close = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after Close")
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket file left after Close: %v", err)
		}
	})
}

func TestStaleSocket(t *testing.T) {
	dir := shortTempDir(t)

	stale := filepath.Join(dir, "stale.ctl")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	_ = ln.Close() // leaves a socket file nobody listens on
	s, err := unixctl.New(unixctl.Options{Path: stale})
	if err != nil {
		t.Fatalf("New over a stale socket: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })

	if _, err := unixctl.New(unixctl.Options{Path: stale}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("New over a live socket = %v, want an \"in use\" error", err)
	}

	regular := filepath.Join(dir, "file.ctl")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := unixctl.New(unixctl.Options{Path: regular}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("New over a regular file = %v, want a \"not a socket\" error", err)
	}
	if _, err := os.Stat(regular); err != nil {
		t.Errorf("regular file was touched: %v", err)
	}

	long := filepath.Join(dir, strings.Repeat("x", 120))
	if _, err := unixctl.New(unixctl.Options{Path: long}); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("New with a %d-byte path = %v, want a length error", len(long), err)
	}
}

// rawConn is a hand-written client for what ovs-appctl cannot send.
type rawConn struct {
	c   net.Conn
	dec *json.Decoder
}

func dial(t *testing.T, path string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{c: c, dec: json.NewDecoder(bufio.NewReader(c))}
}

func (r *rawConn) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := io.WriteString(r.c, msg); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

func (r *rawConn) recv(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := r.dec.Decode(&m); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return m
}

func (r *rawConn) roundTrip(t *testing.T, msg string) map[string]any {
	t.Helper()
	r.send(t, msg)
	return r.recv(t)
}

func TestRawProtocol(t *testing.T) {
	s, _ := startServer(t, registerTestCommands)

	t.Run("pipelined requests on one connection are answered in order", func(t *testing.T) {
		c := dial(t, s.Path())
		c.send(t, `{"id":1,"method":"echo","params":["one"]}{"id":"two","method":"echo","params":["two"]}`+
			"\n"+`{"method":"nope","params":[],"id":[3]}`)
		want := []map[string]any{
			{"id": 1.0, "result": "one\n", "error": nil},
			{"id": "two", "result": "two\n", "error": nil},
			{"id": []any{3.0}, "result": nil,
				"error": `"nope" is not a valid command (use "list-commands" to see a list of valid commands)` + "\n"},
		}
		for i, w := range want {
			if diff := cmp.Diff(w, c.recv(t)); diff != "" {
				t.Errorf("reply %d mismatch (-want +got):\n%s", i, diff)
			}
		}
	})

	t.Run("non-string argument", func(t *testing.T) {
		got := dial(t, s.Path()).roundTrip(t, `{"id":1,"method":"echo","params":["a",2]}`)
		want := map[string]any{"id": 1.0, "result": nil, "error": `"echo" command has non-string argument` + "\n"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("json format", func(t *testing.T) {
		c := dial(t, s.Path())
		// Like OVS, the reply to set-options itself is already in the new
		// format.
		got := c.roundTrip(t, `{"id":1,"method":"set-options","params":["--format","json"]}`)
		want := map[string]any{"id": 1.0, "error": nil,
			"result": map[string]any{"reply-format": "plain", "reply": ""}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("set-options reply (-want +got):\n%s", diff)
		}
		got = c.roundTrip(t, `{"id":2,"method":"echo","params":["x"]}`)
		want = map[string]any{"id": 2.0, "error": nil,
			"result": map[string]any{"reply-format": "plain", "reply": "x"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("echo in json mode (-want +got):\n%s", diff)
		}
		got = c.roundTrip(t, `{"id":3,"method":"list-commands","params":[]}`)
		cmds, ok := got["result"].(map[string]any)
		if !ok || cmds["echo"] != "[ARG...]" || cmds["set-options"] != "[--format text|json]" {
			t.Errorf("list-commands in json mode = %v", got)
		}
		// The format belongs to the connection.
		got = dial(t, s.Path()).roundTrip(t, `{"id":4,"method":"echo","params":["y"]}`)
		if got["result"] != "y\n" {
			t.Errorf("echo on a fresh connection = %v, want text", got)
		}
	})

	for _, tt := range []struct{ name, msg string }{
		{"notification", `{"method":"echo","params":[],"id":null}`},
		{"reply", `{"id":1,"result":"x","error":null}`},
		{"unexpected member", `{"id":1,"method":"echo","params":[],"x":1}`},
		{"not json", `}`},
	} {
		t.Run("invalid message closes the connection: "+tt.name, func(t *testing.T) {
			c := dial(t, s.Path())
			c.send(t, tt.msg+"\n")
			var m map[string]any
			if err := c.dec.Decode(&m); err == nil {
				t.Fatalf("got reply %v, want the connection closed", m)
			}
			// The server keeps serving others.
			if got := dial(t, s.Path()).roundTrip(t, `{"id":1,"method":"echo","params":["ok"]}`); got["result"] != "ok\n" {
				t.Errorf("echo after a bad client = %v", got)
			}
		})
	}
}

func TestRegisterPanics(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "r.ctl")
	s, err := unixctl.New(unixctl.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	noop := func(context.Context, []string) (string, error) { return "", nil }
	s.Register("x", "", 0, 0, noop)
	tests := []struct {
		name     string
		register func()
	}{
		{"duplicate", func() { s.Register("x", "", 0, 0, noop) }},
		{"duplicate built-in", func() { s.Register("list-commands", "", 0, 0, noop) }},
		{"empty name", func() { s.Register("", "", 0, 0, noop) }},
		{"nil handler", func() { s.Register("y", "", 0, 0, nil) }},
		{"negative min", func() { s.Register("y", "", -1, 0, noop) }},
		{"max below min", func() { s.Register("y", "", 2, 1, noop) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register did not panic")
				}
			}()
			tt.register()
		})
	}
}
