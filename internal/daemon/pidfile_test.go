package daemon_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/internal/daemon"
	"github.com/vtepgw/vtepgw/internal/unixctl"
)

const (
	helperModeEnv    = "VTEPGW_DAEMON_TEST_HELPER"
	helperPidfileEnv = "VTEPGW_DAEMON_TEST_PIDFILE"
)

// TestHelperProcess is not a test: other tests run the test binary again
// with helperModeEnv set, to get a second process of the same program.
// It prints "ready", then waits for stdin to close.
//
//	hold:    CreatePidfile($VTEPGW_DAEMON_TEST_PIDFILE) and keep it
//	locktmp: hold an fcntl lock on $VTEPGW_DAEMON_TEST_PIDFILE.tmp, like a
//	         process halfway through CreatePidfile
//	idle:    nothing
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperModeEnv)
	if mode == "" {
		return
	}
	path := os.Getenv(helperPidfileEnv)
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	switch mode {
	case "hold":
		release, err := daemon.CreatePidfile(path)
		if err != nil {
			fail(err)
		}
		defer func() { _ = release() }()
	case "locktmp":
		f, err := os.OpenFile(path+".tmp", os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			fail(err)
		}
		defer func() { _ = f.Close() }()
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
		if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
			fail(err)
		}
	case "idle":
	default:
		fail(fmt.Errorf("unknown helper mode %q", mode))
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startHelper runs TestHelperProcess in a child process and returns its
// PID once it is ready. The child exits at cleanup.
func startHelper(t *testing.T, mode, pidfile string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	// GORACE: the race detector otherwise sleeps 1s before exiting.
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperPidfileEnv+"="+pidfile, "GORACE=atexit_sleep_ms=0")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper %s: got %q, %v; want \"ready\"", mode, line, err)
	}
	return cmd.Process.Pid
}

// readFile reads path from another process. Opening a pidfile we hold from
// this process, then closing it, would drop our lock.
func readFile(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "cat", path).Output()
	if err != nil {
		t.Fatalf("cat %s: %v", path, err)
	}
	return string(out)
}

// lockHolder returns the PID holding a POSIX write lock on path, per
// /proc/locks, or 0.
func lockHolder(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("cannot read /proc/locks: %v", err)
	}
	// "1: POSIX  ADVISORY  WRITE 9956 fe:00:9978818 0 EOF"
	for line := range strings.Lines(string(locks)) {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == "POSIX" && f[3] == "WRITE" && strings.HasSuffix(f[5], fmt.Sprintf(":%d", ino)) {
			pid, _ := strconv.Atoi(f[4])
			return pid
		}
	}
	return 0
}

func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func otherProgramPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

func assertNoTmp(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.tmp left behind: %v", path, err)
	}
}

func TestCreatePidfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog.pid")
	self := os.Getpid()

	release, err := daemon.CreatePidfile(path)
	if err != nil {
		t.Fatalf("CreatePidfile: %v", err)
	}
	if got, want := readFile(t, path), fmt.Sprintf("%d\n", self); got != want {
		t.Errorf("pidfile content = %q, want %q", got, want)
	}
	if got := lockHolder(t, path); got != self {
		t.Errorf("lock holder = %d, want us (%d)", got, self)
	}
	assertNoTmp(t, path)

	_, err = daemon.CreatePidfile(path)
	var inUse *daemon.PidfileInUseError
	if !errors.As(err, &inUse) || inUse.PID != self {
		t.Fatalf("second CreatePidfile = %v, want PidfileInUseError for pid %d", err, self)
	}
	if want := fmt.Sprintf("pidfile %s already in use by pid %d", path, self); err.Error() != want {
		t.Errorf("error text = %q, want %q", err.Error(), want)
	}
	if got := lockHolder(t, path); got != self {
		t.Errorf("after the failed second create, lock holder = %d, want us (%d)", got, self)
	}
	assertNoTmp(t, path)

	if err := release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile still there after release: %v", err)
	}
	if err := release(); err != nil {
		t.Errorf("second release: %v", err)
	}

	release, err = daemon.CreatePidfile(path)
	if err != nil {
		t.Fatalf("CreatePidfile after release: %v", err)
	}
	if err := release(); err != nil {
		t.Fatalf("release: %v", err)
	}
}

func TestCreatePidfileReplacesStale(t *testing.T) {
	tests := []struct {
		name    string
		content func(t *testing.T) string
	}{
		{name: "empty", content: func(*testing.T) string { return "" }},
		{name: "garbage", content: func(*testing.T) string { return "not a pid\n" }},
		{name: "dead process", content: func(t *testing.T) string { return fmt.Sprintf("%d\n", deadPID(t)) }},
		{name: "our own pid, unlocked", content: func(*testing.T) string { return fmt.Sprintf("%d\n", os.Getpid()) }},
		{name: "live process of another program", content: func(t *testing.T) string {
			return fmt.Sprintf("%d\n", otherProgramPID(t))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prog.pid")
			if err := os.WriteFile(path, []byte(tt.content(t)), 0o644); err != nil {
				t.Fatal(err)
			}
			release, err := daemon.CreatePidfile(path)
			if err != nil {
				t.Fatalf("CreatePidfile over a stale pidfile: %v", err)
			}
			t.Cleanup(func() { _ = release() })
			if got, want := readFile(t, path), fmt.Sprintf("%d\n", os.Getpid()); got != want {
				t.Errorf("pidfile content = %q, want %q", got, want)
			}
			assertNoTmp(t, path)
		})
	}
}

func TestCreatePidfileInUse(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) int // returns the owner's pid
	}{
		{
			name: "locked by another process",
			setup: func(t *testing.T, path string) int {
				return startHelper(t, "hold", path)
			},
		},
		{
			name: "unlocked, naming a live process of the same program",
			setup: func(t *testing.T, path string) int {
				pid := startHelper(t, "idle", path)
				if err := os.WriteFile(path, []byte(fmt.Sprintf("%d\n", pid)), 0o644); err != nil {
					t.Fatal(err)
				}
				return pid
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prog.pid")
			owner := tt.setup(t, path)
			before := readFile(t, path)

			_, err := daemon.CreatePidfile(path)
			var inUse *daemon.PidfileInUseError
			if !errors.As(err, &inUse) || inUse.PID != owner || inUse.Path != path {
				t.Fatalf("CreatePidfile = %v, want PidfileInUseError{%s, %d}", err, path, owner)
			}
			if after := readFile(t, path); after != before {
				t.Errorf("pidfile changed from %q to %q", before, after)
			}
			assertNoTmp(t, path)
		})
	}
}

func TestCreatePidfileConcurrentStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog.pid")
	startHelper(t, "locktmp", path)
	_, err := daemon.CreatePidfile(path)
	if err == nil || !strings.Contains(err.Error(), "another process creating pidfile") {
		t.Fatalf("CreatePidfile while another process holds the .tmp lock = %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile created despite the conflict: %v", err)
	}
}

func TestReleaseKeepsReplacedPidfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prog.pid")
	release, err := daemon.CreatePidfile(path)
	if err != nil {
		t.Fatal(err)
	}
	other := path + ".other"
	if err := os.WriteFile(other, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if got := readFile(t, path); got != "1\n" {
		t.Errorf("release touched a pidfile that is not ours: content %q", got)
	}
}

// TestOvsAppctlFindsDaemon checks the whole OVS convention against the
// real ovs-appctl: "ovs-appctl -t PROGRAM" reads <rundir>/PROGRAM.pid,
// requires it to be locked by the PID it names, and connects to
// <rundir>/PROGRAM.PID.ctl.
func TestOvsAppctlFindsDaemon(t *testing.T) {
	bin, err := exec.LookPath("ovs-appctl")
	if err != nil {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("ovs-appctl not found and VTEPGW_REQUIRE_REAL=1: %v", err)
		}
		t.Skip("ovs-appctl not found on PATH (apt-get install openvswitch-common); " +
			"set VTEPGW_REQUIRE_REAL=1 to make this a failure")
	}
	dir, err := os.MkdirTemp("", "dmn") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// ovs-appctl uses OVS_RUNDIR; we prefer OVN_RUNDIR.
	t.Setenv("OVS_RUNDIR", dir)
	t.Setenv("OVN_RUNDIR", dir)
	const program = "vtepgw-test"

	release, err := daemon.CreatePidfile(daemon.PidfilePath("", program))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = release() })
	srv, err := unixctl.New(unixctl.Options{Path: daemon.CtlPath("", program, os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	srv.Register("version", "", 0, 0, func(context.Context, []string) (string, error) {
		return program + " 0.0.0", nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	appctl := func() (string, string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-T", "20", "-t", program, "version")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	stdout, stderr, err := appctl()
	if err != nil || stdout != program+" 0.0.0\n" {
		t.Fatalf("ovs-appctl -t %s version = %q, %v (stderr %q)", program, stdout, err, stderr)
	}

	if err := release(); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = appctl()
	if err == nil || !strings.Contains(stderr, "cannot read pidfile") {
		t.Errorf("ovs-appctl after release = %v (stderr %q), want \"cannot read pidfile\"", err, stderr)
	}
}
