package testbed

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
)

// ProgramTB lets this package, which is written for tests, run inside a
// program (the benchmarks): it implements the testing.TB methods the
// testbed uses (Helper, Cleanup, TempDir, Fatal*, Skip*, Error*, Log*,
// Failed, Name). Any other method hits the nil embedded interface and
// panics, which is the intent: it would be a testbed change the program
// must learn about.
//
// Fatal and Skip panic with a *TBFatal; Run recovers it, runs the cleanups
// (which stop every process by PID) and returns it as the error. Messages
// go to the log package's standard logger; Log and Logf only when verbose
// or once the TB has failed.
type ProgramTB struct {
	testing.TB // nil: unimplemented methods panic

	name       string
	tempPrefix string
	keep       bool // keep temporary directories
	verbose    bool

	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

// TBFatal is the error Run returns for a Fatal (or Skip) call.
type TBFatal struct{ Msg string }

func (f *TBFatal) Error() string { return f.Msg }

// NewProgramTB returns a TB named name whose TempDir directories are named
// after tempPrefix and, with keep, are left in place (and logged).
func NewProgramTB(name, tempPrefix string, keep, verbose bool) *ProgramTB {
	return &ProgramTB{name: name, tempPrefix: tempPrefix, keep: keep, verbose: verbose}
}

func (t *ProgramTB) Helper()      {}
func (t *ProgramTB) Name() string { return t.name }

func (t *ProgramTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *ProgramTB) TempDir() string {
	d, err := os.MkdirTemp("", t.tempPrefix)
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

func (t *ProgramTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *ProgramTB) fail() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

func (t *ProgramTB) Log(args ...any)                 { t.logf("%s", fmt.Sprintln(args...)) }
func (t *ProgramTB) Logf(format string, args ...any) { t.logf(format, args...) }
func (t *ProgramTB) logf(format string, args ...any) {
	if t.verbose || t.Failed() {
		log.Printf("%s: %s", t.name, fmt.Sprintf(format, args...))
	}
}
func (t *ProgramTB) Error(args ...any) { t.fail(); log.Printf("%s: %s", t.name, fmt.Sprint(args...)) }
func (t *ProgramTB) Errorf(format string, args ...any) {
	t.fail()
	log.Printf("%s: %s", t.name, fmt.Sprintf(format, args...))
}
func (t *ProgramTB) Fatal(args ...any) { t.fail(); panic(&TBFatal{fmt.Sprint(args...)}) }
func (t *ProgramTB) Fatalf(format string, args ...any) {
	t.fail()
	panic(&TBFatal{fmt.Sprintf(format, args...)})
}
func (t *ProgramTB) FailNow()                         { t.Fatal("FailNow") }
func (t *ProgramTB) Skip(args ...any)                 { t.Fatal(args...) }
func (t *ProgramTB) Skipf(format string, args ...any) { t.Fatalf(format, args...) }
func (t *ProgramTB) SkipNow()                         { t.Fatal("SkipNow") }
func (t *ProgramTB) Skipped() bool                    { return false }

// Run calls f, turns a Fatal into a *TBFatal error, and then runs the
// cleanups in reverse order, as the testing package does. Any other panic
// runs the cleanups and goes on.
func (t *ProgramTB) Run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			tf, ok := r.(*TBFatal)
			if !ok {
				t.finish()
				panic(r)
			}
			err = tf
		}
		if err != nil {
			t.fail()
		}
		t.finish()
	}()
	return f()
}

func (t *ProgramTB) finish() {
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
