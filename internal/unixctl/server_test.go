package unixctl

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func startServer(t *testing.T) (*Server, string) {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "uctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "t.ctl")
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Register("echo", "ARG...", 0, 3, func(_ context.Context, args []string) (string, error) {
		return strings.Join(args, " ") + "\n", nil
	})
	s.Register("fail", "", 0, 0, func(context.Context, []string) (string, error) {
		return "", errors.New("it failed")
	})
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	s.Register("block", "", 0, 0, func(ctx context.Context, _ []string) (string, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return "", nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return s, path
}

func appctl(t *testing.T, path string, args ...string) (string, string, int) {
	t.Helper()
	bin, err := exec.LookPath("ovs-appctl")
	if err != nil {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatal("ovs-appctl not installed (make test installs it)")
		}
		t.Skip("ovs-appctl not installed; run make test")
	}
	cmd := exec.Command(bin, append([]string{"-T", "5", "-t", path}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestWithRealAppctl(t *testing.T) {
	_, path := startServer(t)
	tests := []struct {
		args     []string
		out, err string
		code     int
	}{
		{[]string{"echo", "a", "b"}, "a b\n", "", 0},
		{[]string{"fail"}, "", "it failed", 2},
		{[]string{"nope"}, "", `"nope" is not a valid command`, 2},
		{[]string{"echo", "1", "2", "3", "4"}, "", "takes at most 3 arguments", 2},
		{[]string{"list-commands"}, "echo", "", 0},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			out, errs, code := appctl(t, path, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Fatalf("got out=%q err=%q code=%d; want out~%q err~%q code=%d", out, errs, code, tc.out, tc.err, tc.code)
			}
		})
	}
}

func TestBlockingCommandDoesNotBlockOthers(t *testing.T) {
	_, path := startServer(t)
	go func() { _, _, _ = appctl(t, path, "block") }()
	time.Sleep(50 * time.Millisecond)
	if out, _, code := appctl(t, path, "echo", "x"); code != 0 || out != "x\n" {
		t.Fatalf("echo while another command blocks: %q %d", out, code)
	}
}

func TestSocketInUse(t *testing.T) {
	s, path := startServer(t)
	if _, err := Listen(path, nil); err == nil {
		t.Fatal("second Listen on a live socket succeeded")
	}
	if s.Path() != path {
		t.Fatalf("Path() = %q", s.Path())
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(`{"method":"exit","params":[],"id":0}`)
	f.Add(`{"method":"x","params":["a",1],"id":"q"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		m, args, _, err := DecodeRequest(strings.NewReader(s))
		if err == nil && m == "" {
			t.Fatalf("accepted a request without a method: %q", s)
		}
		_ = args
	})
}
