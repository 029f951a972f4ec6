package daemon_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vtepgw/vtepgw/internal/daemon"
)

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, w *daemon.ReopenableFile, s string) {
	t.Helper()
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatalf("Write(%q): %v", s, err)
	}
}

func TestLogFileReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vtepgw.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	w, err := daemon.OpenLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	write(t, w, "one\n")
	if err := w.Reopen(); err != nil { // unchanged name: a no-op
		t.Fatalf("Reopen without rotation: %v", err)
	}
	write(t, w, "two\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, w, "three\n") // still the renamed file
	if err := w.Reopen(); err != nil {
		t.Fatalf("Reopen after rotation: %v", err)
	}
	write(t, w, "four\n")

	if got, want := readString(t, path+".1"), "old\none\ntwo\nthree\n"; got != want {
		t.Errorf("rotated file = %q, want %q", got, want)
	}
	if got, want := readString(t, path), "four\n"; got != want {
		t.Errorf("new file = %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o660 != 0 {
		t.Errorf("new log file mode %v, want at most 0660 (as OVS)", perm)
	}
	if w.Path() != path {
		t.Errorf("Path() = %q, want %q", w.Path(), path)
	}
}

func TestLogFileReopenFailureKeepsOldFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := daemon.OpenLogFile(filepath.Join(dir, "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err == nil {
		t.Fatal("Reopen into a missing directory succeeded")
	}
	write(t, w, "still here\n")
	if got := readString(t, filepath.Join(moved, "x.log")); got != "still here\n" {
		t.Errorf("old file = %q, want the write after the failed reopen", got)
	}
}

func TestLogFileClosed(t *testing.T) {
	w, err := daemon.OpenLogFile(filepath.Join(t.TempDir(), "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
	if err := w.Reopen(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Reopen after Close = %v, want os.ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestOpenLogFileMissingDir(t *testing.T) {
	if _, err := daemon.OpenLogFile(filepath.Join(t.TempDir(), "no", "x.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenLogFile in a missing directory = %v, want ErrNotExist", err)
	}
}

// TestLogFileConcurrentRotation writes from several goroutines while
// rotating; every line must land whole in exactly one file.
func TestLogFileConcurrentRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	w, err := daemon.OpenLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	const writers, lines, rotations = 8, 200, 5
	var want []string
	for g := range writers {
		for i := range lines {
			want = append(want, fmt.Sprintf("writer %d line %d", g, i))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				if _, err := fmt.Fprintf(w, "writer %d line %d\n", g, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for r := range rotations {
			if err := os.Rename(path, fmt.Sprintf("%s.%d", path, r)); err != nil {
				errs <- err
				return
			}
			if err := w.Reopen(); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var got []string
	files, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got = append(got, strings.Split(strings.TrimSuffix(readString(t, f), "\n"), "\n")...)
	}
	got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines across rotated files (-want +got):\n%s", diff)
	}
}
