package openflow

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by calls on a closed or broken connection.
var ErrClosed = errors.New("openflow: connection closed")

// Error is an OFPT_ERROR received from the switch.
type Error struct {
	Type, Code uint16
	XID        uint32
}

func (e *Error) Error() string {
	return fmt.Sprintf("openflow error type %d code %d (xid %d)", e.Type, e.Code, e.XID)
}

type pending struct {
	ch    chan []byte // replies (multipart parts, or one message)
	multi bool
}

// Conn is one OpenFlow 1.4 connection to a bridge.
type Conn struct {
	nc     net.Conn
	wmu    sync.Mutex // serialises writes
	xid    atomic.Uint32
	mu     sync.Mutex          // guards pend, errs, closed, monitor
	pend   map[uint32]*pending // replies expected, by xid
	errs   map[uint32]error    // errors for fire-and-forget xids being tracked
	track  map[uint32]bool     // xids whose errors are collected into errs
	closed bool
	mon    func([]FlowUpdate) // flow-monitor update sink
	// monFlags are the OFPFMF_* flags of Monitor; see SetMonitorInstructions.
	monFlags uint16
	done     chan struct{}
	err      error
}

// Dial connects to a unix socket (a bridge's .mgmt socket) and negotiates
// OpenFlow 1.4.
func Dial(ctx context.Context, path string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	c := &Conn{nc: nc, monFlags: 1 | 2 | 4 | 8 | 16, pend: map[uint32]*pending{}, errs: map[uint32]error{}, track: map[uint32]bool{}, done: make(chan struct{})}
	// HELLO with a version bitmap that holds only 1.4.
	hello := make([]byte, 16)
	binary.BigEndian.PutUint16(hello[8:], 1) // OFPHET_VERSIONBITMAP
	binary.BigEndian.PutUint16(hello[10:], 8)
	binary.BigEndian.PutUint32(hello[12:], 1<<Version)
	putHeader(hello, TypeHello, c.nextXID())
	if _, err := nc.Write(hello); err != nil {
		nc.Close()
		return nil, fmt.Errorf("send hello to %s: %w", path, err)
	}
	br := bufio.NewReaderSize(nc, 1<<16)
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	msg, err := readMsg(br)
	stop()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("read hello from %s: %w", path, err)
	}
	h := parseHeader(msg)
	if h.Type != TypeHello {
		nc.Close()
		return nil, fmt.Errorf("%s: expected hello, got type %d", path, h.Type)
	}
	if h.Version < Version {
		// The peer may still support 1.4 via its bitmap; check it.
		if !helloHas(msg, Version) {
			nc.Close()
			return nil, fmt.Errorf("%s: switch does not speak OpenFlow 1.4 (enable OpenFlow14 in Bridge protocols)", path)
		}
	}
	go c.readLoop(br)
	// A barrier proves that the version was accepted.
	if err := c.Barrier(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: negotiate OpenFlow 1.4: %w", path, err)
	}
	return c, nil
}

func helloHas(msg []byte, v uint8) bool {
	b := msg[8:]
	for len(b) >= 4 {
		typ := binary.BigEndian.Uint16(b)
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			return false
		}
		if typ == 1 && l >= 8 {
			bm := binary.BigEndian.Uint32(b[4:])
			if v < 32 && bm&(1<<v) != 0 {
				return true
			}
		}
		b = b[min(pad8(l), len(b)):]
	}
	return false
}

func readMsg(r *bufio.Reader) ([]byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	l := int(binary.BigEndian.Uint16(h[2:]))
	if l < 8 {
		return nil, fmt.Errorf("bad openflow message length %d", l)
	}
	msg := make([]byte, l)
	copy(msg, h[:])
	if _, err := io.ReadFull(r, msg[8:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func (c *Conn) nextXID() uint32 { return c.xid.Add(1) }

// Done is closed when the connection breaks or is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection.
func (c *Conn) Close() error {
	err := c.nc.Close()
	<-c.done
	return err
}

func (c *Conn) readLoop(br *bufio.Reader) {
	var err error
	for {
		var msg []byte
		msg, err = readMsg(br)
		if err != nil {
			break
		}
		c.dispatch(msg)
	}
	c.mu.Lock()
	c.closed = true
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		err = ErrClosed
	}
	c.err = err
	for x, p := range c.pend {
		close(p.ch)
		delete(c.pend, x)
	}
	c.mu.Unlock()
	close(c.done)
}

func (c *Conn) dispatch(msg []byte) {
	h := parseHeader(msg)
	switch h.Type {
	case TypeEchoRequest:
		reply := append([]byte(nil), msg...)
		putHeader(reply, TypeEchoReply, h.XID)
		_ = c.write(reply)
		return
	case TypeError:
		var e Error
		e.XID = h.XID
		if len(msg) >= 12 {
			e.Type = binary.BigEndian.Uint16(msg[8:])
			e.Code = binary.BigEndian.Uint16(msg[10:])
		}
		c.mu.Lock()
		if c.track[h.XID] {
			c.errs[h.XID] = &e
		}
		p := c.pend[h.XID]
		if p != nil {
			delete(c.pend, h.XID)
		}
		c.mu.Unlock()
		if p != nil {
			p.ch <- msg
			close(p.ch)
		}
		return
	case TypeMultipartReply:
		if len(msg) >= 16 && binary.BigEndian.Uint16(msg[8:]) == multipartFlowMon {
			c.mu.Lock()
			sink := c.mon
			p := c.pend[h.XID]
			more := binary.BigEndian.Uint16(msg[10:])&multipartReplyMore != 0
			if p != nil && !more {
				delete(c.pend, h.XID)
			}
			c.mu.Unlock()
			if ups, err := decodeFlowUpdates(msg[16:]); err == nil && sink != nil {
				sink(ups)
			}
			if p != nil && !more {
				p.ch <- nil
				close(p.ch)
			}
			return
		}
	}
	c.mu.Lock()
	p := c.pend[h.XID]
	last := true
	if p != nil && p.multi && h.Type == TypeMultipartReply && len(msg) >= 12 {
		last = binary.BigEndian.Uint16(msg[10:])&multipartReplyMore == 0
	}
	if p != nil && last {
		delete(c.pend, h.XID)
	}
	c.mu.Unlock()
	if p != nil {
		p.ch <- msg
		if last {
			close(p.ch)
		}
	}
}

func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	if err != nil {
		return fmt.Errorf("openflow write: %w", err)
	}
	return nil
}

func (c *Conn) expect(xid uint32, multi bool) (*pending, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	p := &pending{ch: make(chan []byte, 1024), multi: multi}
	c.pend[xid] = p
	return p, nil
}

func (c *Conn) forget(xid uint32) {
	c.mu.Lock()
	delete(c.pend, xid)
	c.mu.Unlock()
}

// wait collects the reply messages for a request.
func (c *Conn) wait(ctx context.Context, xid uint32, p *pending) ([][]byte, error) {
	var out [][]byte
	for {
		select {
		case <-ctx.Done():
			c.forget(xid)
			return out, fmt.Errorf("openflow xid %d: %w", xid, ctx.Err())
		case m, ok := <-p.ch:
			if !ok {
				if len(out) == 0 {
					return nil, c.closedErr()
				}
				return out, nil
			}
			if m != nil && parseHeader(m).Type == TypeError {
				e := &Error{XID: xid}
				if len(m) >= 12 {
					e.Type = binary.BigEndian.Uint16(m[8:])
					e.Code = binary.BigEndian.Uint16(m[10:])
				}
				return out, e
			}
			out = append(out, m)
			if !p.multi {
				return out, nil
			}
		}
	}
}

func (c *Conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return ErrClosed
}

// Barrier sends a barrier request and waits for the reply.
func (c *Conn) Barrier(ctx context.Context) error {
	xid := c.nextXID()
	p, err := c.expect(xid, false)
	if err != nil {
		return err
	}
	b := make([]byte, 8)
	putHeader(b, TypeBarrierRequest, xid)
	if err := c.write(b); err != nil {
		c.forget(xid)
		return err
	}
	_, err = c.wait(ctx, xid, p)
	return err
}

func bundleCtrl(xid, id uint32, typ uint16) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b[8:], id)
	binary.BigEndian.PutUint16(b[12:], typ)
	binary.BigEndian.PutUint16(b[14:], bundleFlagAtomic|bundleFlagOrdered)
	putHeader(b, TypeBundleControl, xid)
	return b
}

var bundleID atomic.Uint32

// Bundle applies the flow mods atomically as one OpenFlow bundle (atomic and
// ordered): either all of them take effect at once, or none do.
func (c *Conn) Bundle(ctx context.Context, mods []FlowMod) error {
	if len(mods) == 0 {
		return nil
	}
	p, err := c.Prepare(ctx, mods)
	if err != nil {
		return err
	}
	return p.Commit(ctx)
}

// Prepared is an open bundle whose messages the switch has all accepted;
// Commit applies it atomically, Discard drops it. OpenFlow 1.4 has no
// prepare request: the switch checks each message as it is added, so a
// bundle that got this far fails at commit only for reasons found then
// (e.g. a full table).
type Prepared struct {
	c    *Conn
	id   uint32
	mods []FlowMod
	xids []uint32 // of the messages, to report commit-time errors
	done bool
}

// Prepare opens a bundle (atomic and ordered) and adds the flow mods to it.
// If the switch rejects any of them the bundle is discarded and Prepare
// returns the errors.
func (c *Conn) Prepare(ctx context.Context, mods []FlowMod) (*Prepared, error) {
	id := bundleID.Add(1)
	openX := c.nextXID()
	var buf []byte
	buf = append(buf, bundleCtrl(openX, id, bundleOpenRequest)...)
	xids := make([]uint32, 0, len(mods))
	for i := range mods {
		x := c.nextXID()
		xids = append(xids, x)
		inner := mods[i].marshal(x)
		add := make([]byte, 16, 16+len(inner))
		binary.BigEndian.PutUint32(add[8:], id)
		binary.BigEndian.PutUint16(add[14:], bundleFlagAtomic|bundleFlagOrdered)
		add = append(add, inner...)
		putHeader(add, TypeBundleAddMsg, x)
		buf = append(buf, add...)
	}
	barX := c.nextXID()
	bar := make([]byte, 8)
	putHeader(bar, TypeBarrierRequest, barX)
	buf = append(buf, bar...)

	b := &Prepared{c: c, id: id, mods: mods, xids: xids}
	tracked := append(slices.Clone(xids), openX)
	c.mu.Lock()
	for _, x := range tracked {
		c.track[x] = true
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.track, openX)
		delete(c.errs, openX)
		c.mu.Unlock()
	}()
	// Open, add every message and a barrier in one write. The switch
	// checks each message as it is added.
	p, err := c.expect(barX, false)
	if err != nil {
		b.untrack()
		return nil, err
	}
	if err := c.write(buf); err != nil {
		c.forget(barX)
		b.untrack()
		return nil, err
	}
	if _, err := c.wait(ctx, barX, p); err != nil {
		b.untrack()
		return nil, fmt.Errorf("bundle barrier: %w", err)
	}
	errs := b.msgErrs()
	c.mu.Lock()
	if e := c.errs[openX]; e != nil {
		errs = append(errs, fmt.Errorf("bundle open: %w", e))
	}
	c.mu.Unlock()
	if len(errs) > 0 {
		if err := b.ctrl(ctx, bundleDiscardReq); err != nil {
			errs = append(errs, fmt.Errorf("bundle discard: %w", err))
		}
		b.untrack()
		return nil, fmt.Errorf("bundle of %d flow mods: %w", len(mods), errors.Join(errs...))
	}
	return b, nil
}

func (b *Prepared) msgErrs() []error {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	var errs []error
	for i, x := range b.xids {
		if e := b.c.errs[x]; e != nil {
			errs = append(errs, fmt.Errorf("flow mod %d (table %d priority %d): %w", i, b.mods[i].Table, b.mods[i].Priority, e))
		}
	}
	return errs
}

func (b *Prepared) untrack() {
	b.done = true
	b.c.mu.Lock()
	for _, x := range b.xids {
		delete(b.c.track, x)
		delete(b.c.errs, x)
	}
	b.c.mu.Unlock()
}

func (b *Prepared) ctrl(ctx context.Context, typ uint16) error {
	x := b.c.nextXID()
	p, err := b.c.expect(x, false)
	if err != nil {
		return err
	}
	if err := b.c.write(bundleCtrl(x, b.id, typ)); err != nil {
		b.c.forget(x)
		return err
	}
	_, err = b.c.wait(ctx, x, p)
	return err
}

// Commit applies the bundle. On error nothing of it took effect.
func (b *Prepared) Commit(ctx context.Context) error {
	if b.done {
		return errors.New("openflow: bundle already committed or discarded")
	}
	defer b.untrack()
	if err := b.ctrl(ctx, bundleCommitRequest); err != nil {
		// Errors of single messages found at commit time came before.
		errs := append([]error{fmt.Errorf("bundle commit: %w", err)}, b.msgErrs()...)
		return fmt.Errorf("bundle of %d flow mods: %w", len(b.mods), errors.Join(errs...))
	}
	return nil
}

// Discard drops the bundle; nothing of it takes effect. Discarding a
// committed or discarded bundle does nothing.
func (b *Prepared) Discard(ctx context.Context) error {
	if b.done {
		return nil
	}
	defer b.untrack()
	return b.ctrl(ctx, bundleDiscardReq)
}

// FlowStats reads the flows of a table (TableAll for all) whose cookie
// matches cookie under mask.
func (c *Conn) FlowStats(ctx context.Context, table uint8, cookie, mask uint64) ([]FlowStat, error) {
	xid := c.nextXID()
	m := (&Match{}).encode()
	b := make([]byte, 16+32, 16+32+len(m))
	binary.BigEndian.PutUint16(b[8:], multipartFlow)
	b[16] = table
	binary.BigEndian.PutUint32(b[20:], PortAny)
	binary.BigEndian.PutUint32(b[24:], groupAny)
	binary.BigEndian.PutUint64(b[32:], cookie)
	binary.BigEndian.PutUint64(b[40:], mask)
	b = append(b, m...)
	putHeader(b, TypeMultipartReq, xid)
	p, err := c.expect(xid, true)
	if err != nil {
		return nil, err
	}
	if err := c.write(b); err != nil {
		c.forget(xid)
		return nil, err
	}
	msgs, err := c.wait(ctx, xid, p)
	if err != nil {
		return nil, fmt.Errorf("flow stats: %w", err)
	}
	var out []FlowStat
	for _, msg := range msgs {
		if len(msg) < 16 {
			continue
		}
		fs, err := decodeFlowStats(msg[16:])
		if err != nil {
			return out, fmt.Errorf("decode flow stats: %w", err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

// SetMonitorInstructions chooses whether Monitor asks for the flows'
// instructions (the default); without them updates are smaller and
// FlowStat.OutPorts stays empty. Call it before Monitor.
func (c *Conn) SetMonitorInstructions(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.monFlags = 1 | 2 | 4 | 8
	if on {
		c.monFlags |= 16
	}
}

// Monitor starts an OpenFlow 1.4 flow monitor on a table (TableAll for
// all). The initial flows (EventInitial) and every later add, removal and
// modification are passed to sink, on the connection's read goroutine, so
// sink must not block for long nor call back into the connection. Monitor
// returns once the initial flows have been delivered.
func (c *Conn) Monitor(ctx context.Context, id uint32, table uint8, sink func([]FlowUpdate)) error {
	c.mu.Lock()
	c.mon = sink
	flags := c.monFlags
	c.mu.Unlock()
	xid := c.nextXID()
	m := (&Match{}).encode()
	b := make([]byte, 16+16, 32+len(m))
	binary.BigEndian.PutUint16(b[8:], multipartFlowMon)
	binary.BigEndian.PutUint32(b[16:], id)
	binary.BigEndian.PutUint32(b[20:], PortAny)
	binary.BigEndian.PutUint32(b[24:], groupAny)
	binary.BigEndian.PutUint16(b[28:], flags)
	b[30] = table
	b[31] = 0 // OFPFMC_ADD
	b = append(b, m...)
	putHeader(b, TypeMultipartReq, xid)
	p, err := c.expect(xid, false)
	if err != nil {
		return err
	}
	if err := c.write(b); err != nil {
		c.forget(xid)
		return err
	}
	if _, err := c.wait(ctx, xid, p); err != nil {
		return fmt.Errorf("flow monitor: %w", err)
	}
	return nil
}

// PortStats are the counters of one port.
type PortStats struct {
	Port                                   uint32
	RxPackets, TxPackets, RxBytes, TxBytes uint64
	RxDropped, TxDropped                   uint64
}

// PortStats reads the counters of a port (PortAny for all ports).
func (c *Conn) PortStats(ctx context.Context, port uint32) ([]PortStats, error) {
	xid := c.nextXID()
	b := make([]byte, 24)
	binary.BigEndian.PutUint16(b[8:], 4) // OFPMP_PORT_STATS
	binary.BigEndian.PutUint32(b[16:], port)
	putHeader(b, TypeMultipartReq, xid)
	p, err := c.expect(xid, true)
	if err != nil {
		return nil, err
	}
	if err := c.write(b); err != nil {
		c.forget(xid)
		return nil, err
	}
	msgs, err := c.wait(ctx, xid, p)
	if err != nil {
		return nil, fmt.Errorf("port stats: %w", err)
	}
	var out []PortStats
	for _, msg := range msgs {
		body := msg[min(16, len(msg)):]
		for len(body) >= 80 {
			l := int(binary.BigEndian.Uint16(body))
			if l < 80 || l > len(body) {
				break
			}
			out = append(out, PortStats{
				Port:      binary.BigEndian.Uint32(body[4:]),
				RxPackets: binary.BigEndian.Uint64(body[16:]),
				TxPackets: binary.BigEndian.Uint64(body[24:]),
				RxBytes:   binary.BigEndian.Uint64(body[32:]),
				TxBytes:   binary.BigEndian.Uint64(body[40:]),
				RxDropped: binary.BigEndian.Uint64(body[48:]),
				TxDropped: binary.BigEndian.Uint64(body[56:]),
			})
			body = body[l:]
		}
	}
	return out, nil
}
