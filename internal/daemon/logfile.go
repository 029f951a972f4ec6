package daemon

import (
	"fmt"
	"os"
	"sync"
)

// logFileMode is what OVS's vlog passes to open(2) for its log file.
const logFileMode = 0o660

// ReopenableFile is an append-only log file that can be reopened by name
// after log rotation (SIGHUP or the unixctl vlog/reopen command). It is safe
// for concurrent use, and usable as the io.Writer of a slog handler.
type ReopenableFile struct {
	path string

	mu sync.Mutex
	f  *os.File // guarded by mu; nil once closed
}

// OpenLogFile opens path for appending, creating it if needed. The
// directory must exist (OVS does not create it either). For the OVS default
// location see LogFilePath.
func OpenLogFile(path string) (*ReopenableFile, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &ReopenableFile{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, logFileMode)
	if err != nil {
		return nil, fmt.Errorf("open log file: %w", err)
	}
	return f, nil
}

// Path returns the name the file is opened and reopened by.
func (r *ReopenableFile) Path() string { return r.path }

// Write appends p to the current file.
func (r *ReopenableFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, fmt.Errorf("write log file %s: %w", r.path, os.ErrClosed)
	}
	return r.f.Write(p)
}

// Reopen opens the file by name again and switches writes to it, as OVS's
// vlog/reopen does. If the name still refers to the open file, nothing
// changes. If the new open fails, writes keep going to the old file and the
// error is returned.
func (r *ReopenableFile) Reopen() error {
	nf, err := openAppend(r.path)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	r.mu.Lock()
	old := r.f
	if old == nil {
		r.mu.Unlock()
		_ = nf.Close()
		return fmt.Errorf("reopen log file %s: %w", r.path, os.ErrClosed)
	}
	if sameOpenFile(old, nf) {
		r.mu.Unlock()
		_ = nf.Close()
		return nil
	}
	r.f = nf
	r.mu.Unlock()
	if err := old.Close(); err != nil {
		return fmt.Errorf("close rotated log file %s: %w", r.path, err)
	}
	return nil
}

func sameOpenFile(a, b *os.File) bool {
	ai, err := a.Stat()
	if err != nil {
		return false
	}
	bi, err := b.Stat()
	if err != nil {
		return false
	}
	return os.SameFile(ai, bi)
}

// Close closes the file. Later writes and reopens fail with os.ErrClosed;
// a second Close returns nil.
func (r *ReopenableFile) Close() error {
	r.mu.Lock()
	f := r.f
	r.f = nil
	r.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close log file %s: %w", r.path, err)
	}
	return nil
}
