package ovsdbwire

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestRawReader reads a unix socket through the raw reader: every byte
// arrives, in order, across waits for the poller, and the peer closing is
// io.EOF.
func TestRawReader(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		for i := 0; i < len(want); i += 100 << 10 {
			_, _ = c.Write(want[i:min(i+100<<10, len(want))])
			time.Sleep(time.Millisecond) // the reader waits in between
		}
		_ = c.Close()
	}()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := newReader(c)
	if _, ok := r.(*rawReader); !ok {
		t.Fatalf("newReader(unix conn) = %T, want the raw reader", r)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d (equal: false)", len(got), len(want))
	}
	// A closed conn is an error, not a hang.
	_ = c.Close()
	if _, err := r.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after close: no error")
	}
}
