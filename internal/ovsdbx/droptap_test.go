package ovsdbx

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
)

func TestDropTap(t *testing.T) {
	var buf bytes.Buffer
	var drops atomic.Int32
	inner := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	lg := logr.FromSlogHandler(&dropTap{inner: inner, onDrop: func() { drops.Add(1) }}).V(4)
	// libovsdb logs the drop with V(0) on a logger we gave at V(4): a debug
	// record the inner handler filters out, but the tap must see.
	lg.V(0).Info("dropping event because event buffer is full")
	lg.V(0).Info("other chatter")
	lg.Error(nil, "a real error")
	if drops.Load() != 1 {
		t.Fatalf("drops = %d, want 1", drops.Load())
	}
	out := buf.String()
	if strings.Contains(out, "chatter") || strings.Contains(out, "dropping") || !strings.Contains(out, "a real error") {
		t.Fatalf("forwarding wrong: %q", out)
	}
}

// The tap must not enable libovsdb's chatter below the drop line's level:
// libovsdb formats it (every transaction's operations) when enabled.
func TestDropTapLeavesChatterDisabled(t *testing.T) {
	inner := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})
	lg := logr.FromSlogHandler(&dropTap{inner: inner}).V(4)
	if !lg.V(0).Enabled() {
		t.Error("the drop line's level is disabled")
	}
	if lg.V(1).Enabled() || lg.V(5).Enabled() {
		t.Error("libovsdb's V(1)/V(5) chatter is enabled")
	}
}
