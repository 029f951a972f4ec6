package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrStopped is wrapped by every call made on a component or process that
// has been stopped (or has exited): it returns at once instead of hanging.
var ErrStopped = errors.New("stopped")

// DefaultStopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const DefaultStopTimeout = 10 * time.Second

// ProcessConfig describes a long-running program started by StartProcess.
type ProcessConfig struct {
	// Name is a short label used in messages and in the name of the file
	// that receives the program's stdout and stderr (Dir/Name.out).
	Name string
	// Path is the program; Args its arguments (without argv[0]).
	Path string
	Args []string
	// Dir is the working directory. The child's OVS_*DIR and OVN_*DIR
	// variables point at it. Required.
	Dir string
	// Env holds extra KEY=VALUE pairs added after the testbed environment.
	Env []string
	// LogPath is the program's own log file, if any: its tail is printed
	// when the test fails.
	LogPath string
	// StopTimeout is the grace period between SIGTERM and SIGKILL
	// (DefaultStopTimeout if zero).
	StopTimeout time.Duration
}

// Process is a program started by StartProcess. It is only ever signalled
// through the handle obtained when it was started (a pidfd on Linux), so a
// recycled PID is never hit. Its methods are safe for concurrent use.
type Process struct {
	cfg     ProcessConfig
	cmd     *exec.Cmd
	outPath string
	done    chan struct{} // closed by the wait goroutine once cmd.Wait returns
	waitErr error         // written before done is closed

	mu       sync.Mutex
	expected bool // guarded by mu: we asked it to exit
}

// StartProcess starts a program in the foreground as a child of the test
// binary, with the testbed environment for cfg.Dir, and registers a cleanup
// that stops it (SIGTERM, then SIGKILL after the stop timeout). If the test
// failed, the cleanup also logs the tail of the program's output and log.
// The child gets SIGKILL if the test binary dies.
func StartProcess(t testing.TB, cfg ProcessConfig) (*Process, error) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Path)
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("start %s: ProcessConfig.Dir is required", cfg.Name)
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	registerDir(cfg.Dir)
	outPath := filepath.Join(cfg.Dir, cfg.Name+".out")
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	defer out.Close() // the child has its own copy

	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Dir = cfg.Dir
	cmd.Env = append(Env(cfg.Dir), cfg.Env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", cfg.Name, cfg.Path, err)
	}
	p := &Process{cfg: cfg, cmd: cmd, outPath: outPath, done: make(chan struct{})}
	registry.add(p)
	go func() { // owned by p: Stop/Kill/Wait wait for done
		p.waitErr = cmd.Wait()
		registry.remove(p)
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.terminate(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("testbed: %s", p.describe())
		}
	})
	return p, nil
}

// spawner starts every daemon from one goroutine locked to an OS thread
// that never exits: Linux delivers the parent-death signal when the
// *thread* that forked the child exits, and the Go runtime does retire
// threads whose goroutine exits while locked (netns code does that).
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd *exec.Cmd
	res chan error
}

func spawn(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		// Lives as long as the process, by design (see spawner).
		go func() {
			runtime.LockOSThread()
			for r := range spawner.reqs {
				r.res <- r.cmd.Start()
			}
		}()
	})
	res := make(chan error, 1)
	spawner.reqs <- spawnReq{cmd, res}
	return <-res
}

// Name returns the process's label.
func (p *Process) Name() string { return p.cfg.Name }

// PID returns the process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// LogPath returns the program's own log file (empty if it has none).
func (p *Process) LogPath() string { return p.cfg.LogPath }

// OutputPath returns the file that receives the program's stdout and stderr.
func (p *Process) OutputPath() string { return p.outPath }

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr returns the result of waiting for the process (nil for status 0),
// or an error saying that it is still running.
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
		return fmt.Errorf("%s (pid %d) is still running", p.cfg.Name, p.PID())
	}
}

// Stop sends SIGTERM, waits up to the stop timeout, then sends SIGKILL and
// waits for the exit. It returns an error wrapping ErrStopped if the
// process had already been stopped or had exited on its own.
func (p *Process) Stop() error { return p.terminate(syscall.SIGTERM) }

// Kill sends SIGKILL and waits for the exit. Same errors as Stop.
func (p *Process) Kill() error { return p.terminate(syscall.SIGKILL) }

// Signal sends sig to the process without waiting.
func (p *Process) Signal(sig os.Signal) error {
	if p.Exited() {
		return fmt.Errorf("signal %s (pid %d): %w", p.cfg.Name, p.PID(), ErrStopped)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("signal %s (pid %d): %w", p.cfg.Name, p.PID(), ErrStopped)
		}
		return fmt.Errorf("signal %s (pid %d): %w", p.cfg.Name, p.PID(), err)
	}
	return nil
}

// expectExit records that the process is about to exit at our request and
// returns whether that had already been recorded.
func (p *Process) expectExit() (already bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	already = p.expected
	p.expected = true
	return already
}

func (p *Process) terminate(sig syscall.Signal) error {
	already := p.expectExit()
	if p.Exited() {
		if already {
			return fmt.Errorf("stop %s (pid %d): %w", p.cfg.Name, p.PID(), ErrStopped)
		}
		return fmt.Errorf("stop %s (pid %d): it had exited by itself (%v): %w", p.cfg.Name, p.PID(), p.waitErr, ErrStopped)
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s (pid %d): %w", p.cfg.Name, p.PID(), err)
	}
	if sig != syscall.SIGKILL {
		timer := time.NewTimer(p.cfg.StopTimeout)
		defer timer.Stop()
		select {
		case <-p.done:
			return nil
		case <-timer.C:
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("kill %s (pid %d) after %v: %w", p.cfg.Name, p.PID(), p.cfg.StopTimeout, err)
		}
	}
	<-p.done // SIGKILL cannot be ignored
	return nil
}

// Wait waits up to timeout for the process to exit by itself and returns
// its exit status (nil for 0).
func (p *Process) Wait(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.waitErr
	case <-timer.C:
		return fmt.Errorf("%s (pid %d) still running after %v", p.cfg.Name, p.PID(), timeout)
	}
}

// CPUTime returns the user+system CPU time the process has used.
func (p *Process) CPUTime() (time.Duration, error) { return CPUTime(p.PID()) }

// Memory returns the process's resident set size and its peak.
func (p *Process) Memory() (MemStats, error) { return Memory(p.PID()) }

// describe summarises the process state and the tails of its output and log.
func (p *Process) describe() string {
	var b strings.Builder
	state := "running"
	if p.Exited() {
		p.mu.Lock()
		how := "by itself"
		if p.expected {
			how = "as asked"
		}
		p.mu.Unlock()
		state = fmt.Sprintf("exited %s (%v)", how, p.waitErr)
	}
	fmt.Fprintf(&b, "%s pid %d %s", p.cfg.Name, p.PID(), state)
	for _, f := range []string{p.outPath, p.cfg.LogPath} {
		if f == "" {
			continue
		}
		if tail := fileTail(f, 20); tail != "" {
			fmt.Fprintf(&b, "\n--- tail of %s ---\n%s", f, tail)
		}
	}
	return b.String()
}

// failure builds the error returned when a process died or did not become
// ready during start-up.
func (p *Process) failure(what string, cause error) error {
	return fmt.Errorf("%s: %w\n%s", what, cause, p.describe())
}

// waitReady polls check until it returns nil, the process exits, or the
// timeout passes.
func (p *Process) waitReady(timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	interval := 2 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return nil
		}
		if p.Exited() {
			return p.failure(fmt.Sprintf("%s exited while waiting for %s", p.cfg.Name, what), errors.Join(ErrStopped, err))
		}
		if time.Now().After(deadline) {
			return p.failure(fmt.Sprintf("%s: timeout (%v) waiting for %s", p.cfg.Name, timeout, what), err)
		}
		select {
		case <-p.done:
		case <-time.After(interval):
		}
		interval = min(interval*2, 50*time.Millisecond)
	}
}

func fileTail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	data = bytes.TrimRight(data, "\n")
	all := strings.Split(string(data), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// Env returns the environment for a child that lives in dir: the caller's
// environment without any OVS_* or OVN_* variable, the testbed program
// directories in front of PATH, and every OVS/OVN run, db, log and sysconf
// directory set to dir.
func Env(dir string) []string {
	var env []string
	path := os.Getenv("PATH")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OVS_") || strings.HasPrefix(k, "OVN_") || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	dirs := binDirs()
	for _, d := range filepath.SplitList(path) {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	env = append(env, "PATH="+strings.Join(dirs, string(filepath.ListSeparator)))
	for _, k := range []string{"RUNDIR", "DBDIR", "LOGDIR", "SYSCONFDIR"} {
		env = append(env, "OVS_"+k+"="+dir, "OVN_"+k+"="+dir)
	}
	return env
}

// registry tracks what this package started, for CheckLeaks.
var registry = &procRegistry{live: map[*Process]struct{}{}}

type procRegistry struct {
	mu   sync.Mutex
	live map[*Process]struct{} // guarded by mu
	dirs []string              // guarded by mu
}

func (r *procRegistry) add(p *Process) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[p] = struct{}{}
}

func (r *procRegistry) remove(p *Process) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, p)
}

func registerDir(dir string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if !slices.Contains(registry.dirs, dir) {
		registry.dirs = append(registry.dirs, dir)
	}
}

// Dirs returns every directory the testbed has used in this process.
func Dirs() []string {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return slices.Clone(registry.dirs)
}

// CheckLeaks reports, as one joined error, every process that outlived the
// tests: processes started by StartProcess that are still running, live
// (non-zombie) children of this process, and any process whose command
// line or environment names a testbed directory (this also catches the
// ctl tools ovs-vtep spawns). Call it from TestMain after m.Run.
func CheckLeaks() error {
	var errs []error
	registry.mu.Lock()
	for p := range registry.live {
		errs = append(errs, fmt.Errorf("testbed: %s (pid %d) still running", p.cfg.Name, p.PID()))
	}
	dirs := slices.Clone(registry.dirs)
	registry.mu.Unlock()

	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("testbed: scan /proc: %w", err))...)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.state == 'Z' {
			continue // gone, or a zombie someone else will reap
		}
		if st.ppid == self {
			errs = append(errs, fmt.Errorf("testbed: child process %d (%s) still running", pid, st.comm))
			continue
		}
		if d := mentionsDir(pid, dirs); d != "" {
			errs = append(errs, fmt.Errorf("testbed: process %d (%s) still running in %s", pid, st.comm, d))
		}
	}
	return errors.Join(errs...)
}

// mentionsDir returns the testbed dir named by pid's command line or
// environment, if any.
func mentionsDir(pid int, dirs []string) string {
	if len(dirs) == 0 {
		return ""
	}
	for _, f := range []string{"cmdline", "environ"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			continue
		}
		for _, field := range bytes.Split(data, []byte{0}) {
			for _, d := range dirs {
				if bytes.HasSuffix(field, []byte(d)) || bytes.Contains(field, []byte(d+"/")) {
					return d
				}
			}
		}
	}
	return ""
}
