package main

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
)

// benchTB lets the testbed packages, written for tests, run in this
// program: it implements the testing.TB methods they use. Any other
// method hits the nil embedded interface and panics. Fatal and Skip panic
// with a fatal value that run recovers; run then calls the cleanups (which
// stop every process by PID).
type benchTB struct {
	testing.TB // nil: unimplemented methods panic

	name    string
	verbose bool
	keep    bool

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

type fatal struct{ msg string }

func (t *benchTB) Helper()      {}
func (t *benchTB) Name() string { return t.name }

func (t *benchTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *benchTB) TempDir() string {
	d, err := os.MkdirTemp("", "vl")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() {
		if t.keep {
			log.Printf("%s: kept %s", t.name, d)
			return
		}
		_ = os.RemoveAll(d)
	})
	return d
}

func (t *benchTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *benchTB) setFailed() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

func (t *benchTB) Log(args ...any)                 { t.logf("%s", fmt.Sprintln(args...)) }
func (t *benchTB) Logf(format string, args ...any) { t.logf(format, args...) }
func (t *benchTB) logf(format string, args ...any) {
	if t.verbose || t.Failed() {
		log.Printf("%s: %s", t.name, fmt.Sprintf(format, args...))
	}
}
func (t *benchTB) Error(args ...any) {
	t.setFailed()
	log.Printf("%s: %s", t.name, fmt.Sprint(args...))
}
func (t *benchTB) Errorf(format string, args ...any) {
	t.setFailed()
	log.Printf("%s: %s", t.name, fmt.Sprintf(format, args...))
}
func (t *benchTB) Fatal(args ...any) { t.setFailed(); panic(fatal{fmt.Sprint(args...)}) }
func (t *benchTB) Fatalf(format string, args ...any) {
	t.setFailed()
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (t *benchTB) FailNow()                         { t.Fatal("FailNow") }
func (t *benchTB) Skip(args ...any)                 { t.Fatal(args...) }
func (t *benchTB) Skipf(format string, args ...any) { t.Fatalf(format, args...) }
func (t *benchTB) SkipNow()                         { t.Fatal("SkipNow") }
func (t *benchTB) Skipped() bool                    { return false }

// run calls f with a fresh TB, turns a Fatal into an error, and runs the
// cleanups in reverse order, as the testing package does.
func run(name string, c *config, f func(t *benchTB) error) (err error) {
	t := &benchTB{name: name, verbose: c.verbose, keep: c.keep}
	defer func() {
		r := recover()
		if r != nil {
			ft, ok := r.(fatal)
			if !ok {
				t.finish()
				panic(r)
			}
			err = fmt.Errorf("%s: %s", name, ft.msg)
		}
		if err != nil {
			t.setFailed()
		}
		t.finish()
	}()
	return f(t)
}

func (t *benchTB) finish() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}
