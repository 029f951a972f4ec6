package ovsdbx

import (
	"context"
	"log/slog"
	"strings"
)

// libovsdb's cache hands events to handlers through a buffered channel and,
// when it is full, drops them with only a log line ("dropping event because
// event buffer is full", at a debug level). A dropped event is a missed
// key, so the state would stay wrong until the next resync. dropTap watches
// libovsdb's log for that line and reports it, so the caller can resync.
type dropTap struct {
	inner  slog.Handler
	onDrop func()
}

// dropLevel is the slog level of the drop line: libovsdb logs it with V(0)
// on the logger we give it, which is at V(4) (see clientOptions).
const dropLevel = slog.Level(-4)

// Enabled lets the drop line through, and whatever the inner handler wants.
// Not everything: libovsdb builds its V(4) and V(5) chatter only when the
// level is enabled (every transaction's operations formatted with %+v, a
// record for every row of every update), which made a 10k-row transaction
// or update cost tens of milliseconds more for lines nobody keeps.
func (d *dropTap) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= dropLevel || d.inner.Enabled(ctx, l)
}

func (d *dropTap) Handle(ctx context.Context, r slog.Record) error {
	if d.onDrop != nil && strings.HasPrefix(r.Message, "dropping event") {
		d.onDrop()
	}
	if !d.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return d.inner.Handle(ctx, r)
}

func (d *dropTap) WithAttrs(as []slog.Attr) slog.Handler {
	return &dropTap{inner: d.inner.WithAttrs(as), onDrop: d.onDrop}
}

func (d *dropTap) WithGroup(name string) slog.Handler {
	return &dropTap{inner: d.inner.WithGroup(name), onDrop: d.onDrop}
}
