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

func (d *dropTap) Enabled(context.Context, slog.Level) bool { return true }

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
