package main

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
)

// benchTB lets package testbed, which is written for tests, run inside this
// program: it implements the testing.TB methods testbed uses (Helper,
// Cleanup, TempDir, Fatal*, Skip*, Error*, Log*, Failed, Name). Any other
// method hits the nil embedded interface and panics, which is the intent:
// it would be a testbed change this program must learn about.
//
// Fatal and Skip panic with a benchFatal value; run recovers it, runs the
// cleanups (which stop every process by PID) and returns the error.
type benchTB struct {
	testing.TB // nil: unimplemented methods panic

	name    string
	keep    bool // keep temporary directories
	verbose bool

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

type benchFatal struct{ msg string }

func newTB(name string, keep, verbose bool) *benchTB {
	return &benchTB{name: name, keep: keep, verbose: verbose}
}

func (t *benchTB) Helper()      {}
func (t *benchTB) Name() string { return t.name }

func (t *benchTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *benchTB) TempDir() string {
	d, err := os.MkdirTemp("", "vb")
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

func (t *benchTB) fail() {
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
func (t *benchTB) Error(args ...any) { t.fail(); log.Printf("%s: %s", t.name, fmt.Sprint(args...)) }
func (t *benchTB) Errorf(format string, args ...any) {
	t.fail()
	log.Printf("%s: %s", t.name, fmt.Sprintf(format, args...))
}
func (t *benchTB) Fatal(args ...any) { t.fail(); panic(benchFatal{fmt.Sprint(args...)}) }
func (t *benchTB) Fatalf(format string, args ...any) {
	t.fail()
	panic(benchFatal{fmt.Sprintf(format, args...)})
}
func (t *benchTB) FailNow()                         { t.Fatal("FailNow") }
func (t *benchTB) Skip(args ...any)                 { t.Fatal(args...) }
func (t *benchTB) Skipf(format string, args ...any) { t.Fatalf(format, args...) }
func (t *benchTB) SkipNow()                         { t.Fatal("SkipNow") }
func (t *benchTB) Skipped() bool                    { return false }

// run calls f, turns a Fatal into an error, and then runs the cleanups in
// reverse order, as the testing package does.
func (t *benchTB) run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			bf, ok := r.(benchFatal)
			if !ok {
				t.finish()
				panic(r)
			}
			err = fmt.Errorf("%s", bf.msg)
		}
		if err != nil {
			t.fail()
		}
		t.finish()
	}()
	return f()
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
