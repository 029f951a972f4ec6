package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CtlTimeout bounds every ctl tool invocation (ovs-vsctl, vtep-ctl,
// ovn-nbctl, ovs-appctl, ...). The tools also get --timeout where they
// support it, so they give up on their own before being killed.
const CtlTimeout = 30 * time.Second

// startTimeout bounds how long a daemon may take to become ready.
const startTimeout = 20 * time.Second

// Eventually calls cond every interval until it returns true, and fails the
// test with cond's last message if that has not happened within timeout.
// It must be called from the test goroutine.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() (ok bool, msg string)) {
	t.Helper()
	if err := Poll(timeout, interval, cond); err != nil {
		t.Fatal(err)
	}
}

// Poll is Eventually returning an error instead of failing a test; it can
// be used from any goroutine.
func Poll(timeout, interval time.Duration, cond func() (ok bool, msg string)) error {
	deadline := time.Now().Add(timeout)
	start := time.Now()
	for {
		ok, msg := cond()
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("condition not met after %v: %s", time.Since(start).Round(time.Millisecond), msg)
		}
		time.Sleep(min(interval, time.Until(deadline)+time.Millisecond))
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Prefer listening on port 0 and reading the port back where possible.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// maxDirLen keeps dir + the longest file name the testbed creates in it
// (ovn-controller-vtep.PID.ctl, BRIDGE.mgmt, BRIDGE.snoop) well below the
// 108-byte limit of a unix socket path.
const maxDirLen = 64

// NewDir returns a fresh, short directory for one component: t.TempDir()
// if its path is short enough for unix sockets, else a directory under
// /tmp removed in t.Cleanup. Either way it is removed after the processes
// started in it have been stopped (cleanups run last-in first-out).
func NewDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if len(d) > maxDirLen {
		var err error
		d, err = os.MkdirTemp("/tmp", "tb")
		if err != nil {
			t.Fatalf("testbed: short temp dir: %v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(d) })
	}
	registerDir(d)
	return d
}

// runCtl runs a short-lived tool with the testbed environment of dir and
// returns its trimmed stdout. Errors carry the command line and stderr.
func runCtl(dir, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CtlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = Env(dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second // don't hang on pipes inherited by grandchildren
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (killed after %v)", err, CtlTimeout)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return strings.TrimSpace(stdout.String()), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), quoteArgs(args), err, msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// ctlTimeoutArg is the --timeout option passed to the ctl tools.
var ctlTimeoutArg = "--timeout=" + strconv.Itoa(int(CtlTimeout/time.Second)-5)

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\{}[]") {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// dialUnix checks that something accepts connections on a unix socket.
func dialUnix(path string) error {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// must fails the test with err, if any, and returns out otherwise.
func must(t testing.TB, out string, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var errNotReady = errors.New("not ready")
