package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// macWatch is the benchmark's observer: a plain OVSDB JSON-RPC monitor of
// Ucast_Macs_Local.MAC that records when each MAC first appears. It decodes
// only that column, so that observing a 10k-MAC burst costs the benchmark
// little CPU next to the processes measured (a libovsdb client with a full
// cache cost about as much as vtepsim's own hardware_vtep client).
type macWatch struct {
	conn net.Conn

	mu     sync.Mutex
	seen   map[string]time.Time // MAC → first seen; guarded by mu
	waitN  int                  // wake waitCh when this many MACs with waitPf are seen
	waitPf string
	count  int // MACs seen with waitPf
	waitCh chan struct{}
	err    error // read loop ended
	done   chan struct{}
}

func watchMACs(ctx context.Context, sock string) (*macWatch, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("observer: %w", err)
	}
	w := &macWatch{conn: c, seen: map[string]time.Time{}, done: make(chan struct{})}
	req := map[string]any{"id": "mon", "method": "monitor", "params": []any{"hardware_vtep", "uml",
		map[string]any{"Ucast_Macs_Local": map[string]any{"columns": []string{"MAC"},
			"select": map[string]bool{"initial": true, "insert": true, "delete": false, "modify": false}}}}}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		c.Close()
		return nil, fmt.Errorf("observer: %w", err)
	}
	ready := make(chan error, 1)
	go w.read(ready)
	select {
	case err := <-ready:
		if err != nil {
			c.Close()
			return nil, err
		}
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
	return w, nil
}

type rpcMsg struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	Result json.RawMessage   `json:"result"`
	Error  json.RawMessage   `json:"error"`
}

// tableUpdate is {"Ucast_Macs_Local": {uuid: {"new": {"MAC": m}}}}, the
// shape of a monitor reply and of an "update" notification.
type tableUpdate map[string]map[string]struct {
	New *struct {
		MAC string `json:"MAC"`
	} `json:"new"`
}

func (w *macWatch) read(ready chan<- error) {
	defer close(w.done)
	dec := json.NewDecoder(bufio.NewReaderSize(w.conn, 1<<16))
	enc := json.NewEncoder(w.conn)
	first := true
	for {
		var m rpcMsg
		if err := dec.Decode(&m); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			if first {
				ready <- fmt.Errorf("observer: %w", err)
			}
			return
		}
		now := time.Now()
		switch {
		case m.Method == "echo":
			_ = enc.Encode(map[string]any{"id": m.ID, "result": m.Params, "error": nil})
		case m.Method == "update" && len(m.Params) == 2:
			var u tableUpdate
			if json.Unmarshal(m.Params[1], &u) == nil {
				w.add(u, now)
			}
		case first && string(m.ID) == `"mon"`:
			first = false
			if len(m.Error) > 0 && string(m.Error) != "null" {
				ready <- fmt.Errorf("observer: monitor: %s", m.Error)
				return
			}
			var u tableUpdate
			if err := json.Unmarshal(m.Result, &u); err != nil {
				ready <- fmt.Errorf("observer: monitor reply: %w", err)
				return
			}
			w.add(u, now)
			ready <- nil
		}
	}
}

func (w *macWatch) add(u tableUpdate, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rows := range u {
		for _, r := range rows {
			if r.New == nil || r.New.MAC == "" {
				continue
			}
			mac := strings.ToLower(r.New.MAC)
			if _, ok := w.seen[mac]; ok {
				continue
			}
			w.seen[mac] = now
			if w.waitCh != nil && strings.HasPrefix(mac, w.waitPf) {
				w.count++
				if w.count == w.waitN {
					close(w.waitCh)
					w.waitCh = nil
				}
			}
		}
	}
}

// expect arms a wait for n new MACs starting with prefix (none seen yet).
func (w *macWatch) expect(prefix string, n int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan struct{})
	w.waitPf, w.waitN, w.count, w.waitCh = prefix, n, 0, ch
	for mac := range w.seen {
		if strings.HasPrefix(mac, prefix) {
			w.count++
		}
	}
	if w.count >= n {
		close(ch)
		w.waitCh = nil
	}
	return ch
}

func (w *macWatch) seenAt(mac string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.seen[mac]
	return t, ok
}

func (w *macWatch) close() {
	w.conn.Close()
	<-w.done
}
