package acmeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by calls on a connection that has failed or been
// closed; Conn.Err says why.
var ErrClosed = errors.New("acme: connection closed")

// Conn is a management connection to a switch. Its methods are safe for
// concurrent use; several calls may be outstanding at once.
type Conn struct {
	nc      net.Conn
	onEvent func(Event)

	writeMu sync.Mutex // serialises requests on the wire
	enc     *json.Encoder

	mu      sync.Mutex // guards nextID, pending and err
	nextID  uint64
	pending map[uint64]chan Message
	err     error
	done    chan struct{} // closed when the connection ends
}

// Dial connects to a switch at addr (host:port). onEvent, when not nil,
// receives the switch's events once the connection has subscribed, in
// order, from the connection's reader goroutine; it must not block. The
// reply to a command is delivered only after every event the switch sent
// before it has been handed to onEvent.
func Dial(ctx context.Context, addr string, onEvent func(Event)) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewConn(nc, onEvent), nil
}

// NewConn runs the protocol over an established connection.
func NewConn(nc net.Conn, onEvent func(Event)) *Conn {
	c := &Conn{
		nc:      nc,
		onEvent: onEvent,
		enc:     json.NewEncoder(nc),
		pending: map[uint64]chan Message{},
		done:    make(chan struct{}),
	}
	go c.read()
	return c
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection.
func (c *Conn) Close() error {
	c.fail(ErrClosed)
	return nil
}

// RemoteAddr is the switch's address.
func (c *Conn) RemoteAddr() string { return c.nc.RemoteAddr().String() }

func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	_ = c.nc.Close()
	close(c.done)
	for id, ch := range c.pending {
		delete(c.pending, id)
		close(ch)
	}
}

func (c *Conn) read() {
	dec := json.NewDecoder(c.nc)
	for {
		var m Message
		if err := dec.Decode(&m); err != nil {
			c.fail(fmt.Errorf("%w: %w", ErrClosed, err))
			return
		}
		if m.Event != nil {
			if c.onEvent != nil {
				c.onEvent(*m.Event)
			}
			continue
		}
		c.mu.Lock()
		ch, ok := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ok {
			ch <- m // buffered
		}
	}
}

// Call sends a command and decodes its result into result (which may be
// nil). A failed command returns an *Error. When ctx ends first, Call
// returns an error wrapping ctx's cause; the switch may still execute the
// command.
func (c *Conn) Call(ctx context.Context, cmd string, ops []Op, result any) error {
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	if err := c.write(ctx, Request{ID: id, Cmd: cmd, Ops: ops}); err != nil {
		forget()
		return err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return c.Err()
		}
		if m.Error != nil {
			return m.Error
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("acme: %s: decode result: %w", cmd, err)
		}
		return nil
	case <-ctx.Done():
		forget()
		return fmt.Errorf("acme: %s: %w", cmd, context.Cause(ctx))
	}
}

// write sends one request. A write that ctx interrupts leaves a partial
// line on the wire, so it ends the connection.
func (c *Conn) write(ctx context.Context, req Request) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("acme: %s: %w", req.Cmd, context.Cause(ctx))
	}
	_ = c.nc.SetWriteDeadline(time.Time{})
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		_ = c.nc.SetWriteDeadline(time.Now())
	})
	err := c.enc.Encode(req)
	if !stop() {
		<-interrupted
		if err != nil {
			cause := context.Cause(ctx)
			c.fail(fmt.Errorf("%w: a write was interrupted: %w", ErrClosed, cause))
			return fmt.Errorf("acme: %s: %w", req.Cmd, cause)
		}
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
		c.fail(err)
		return err
	}
	return nil
}
