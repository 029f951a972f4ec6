package ncwire

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Namespaces and capabilities.
const (
	NS           = "urn:ietf:params:xml:ns:netconf:base:1.0"
	CapBase10    = "urn:ietf:params:netconf:base:1.0"
	CapBase11    = "urn:ietf:params:netconf:base:1.1"
	CapCandidate = "urn:ietf:params:netconf:capability:candidate:1.0"
)

type hello struct {
	XMLName      xml.Name `xml:"urn:ietf:params:xml:ns:netconf:base:1.0 hello"`
	Capabilities []string `xml:"capabilities>capability"`
	SessionID    string   `xml:"session-id,omitempty"`
}

// RPCError is one <rpc-error> of a reply (RFC 6241 §4.3).
type RPCError struct {
	Type     string `xml:"error-type"`
	Tag      string `xml:"error-tag"`
	Severity string `xml:"error-severity"`
	Path     string `xml:"error-path"`
	Message  string `xml:"error-message"`
	AppTag   string `xml:"error-app-tag"`
}

func (e *RPCError) Error() string {
	s := fmt.Sprintf("netconf %s error %s", e.Type, e.Tag)
	if e.Path != "" {
		s += " at " + strings.TrimSpace(e.Path)
	}
	if m := strings.TrimSpace(e.Message); m != "" {
		s += ": " + m
	}
	return s
}

// Reply is a parsed <rpc-reply>.
type Reply struct {
	MessageID string
	// OK is true for <ok/>.
	OK bool
	// Data is the inner XML of <data>, or of the whole reply when it has
	// neither <ok/> nor <data> (operational RPCs answer with their own
	// elements).
	Data   []byte
	Errors []RPCError
	Raw    []byte
}

// Err returns the reply's errors (warnings excluded) joined, or nil.
func (r *Reply) Err() error {
	var errs []error
	for i := range r.Errors {
		if r.Errors[i].Severity != "warning" {
			errs = append(errs, &r.Errors[i])
		}
	}
	return errors.Join(errs...)
}

type replyXML struct {
	XMLName   xml.Name   `xml:"rpc-reply"`
	MessageID string     `xml:"message-id,attr"`
	OK        *struct{}  `xml:"ok"`
	Data      *innerXML  `xml:"data"`
	Errors    []RPCError `xml:"rpc-error"`
	Inner     []byte     `xml:",innerxml"`
}

type innerXML struct {
	Inner []byte `xml:",innerxml"`
}

// ParseReply decodes an <rpc-reply>.
func ParseReply(raw []byte) (*Reply, error) {
	var x replyXML
	if err := xml.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("netconf: bad rpc-reply: %w", err)
	}
	r := &Reply{MessageID: x.MessageID, OK: x.OK != nil, Errors: x.Errors, Raw: raw}
	switch {
	case x.Data != nil:
		r.Data = x.Data.Inner
	case !r.OK && len(x.Errors) == 0:
		r.Data = x.Inner
	}
	return r, nil
}

// Client is the client end of a NETCONF session. Calls are serialised.
type Client struct {
	t       *Transport
	closer  io.Closer
	mu      sync.Mutex // one RPC at a time; guards nextID
	nextID  int
	caps    []string
	session string
}

// ClientHello sends our hello, reads the server's, and switches to base:1.1
// framing when both sides offer it (RFC 6242 §4.1).
func ClientHello(rw io.ReadWriteCloser) (*Client, error) {
	t := NewTransport(rw)
	ours, _ := xml.Marshal(hello{Capabilities: []string{CapBase10, CapBase11}})
	if err := t.WriteMessage(append([]byte(xml.Header), ours...)); err != nil {
		return nil, fmt.Errorf("netconf: send hello: %w", err)
	}
	raw, err := t.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("netconf: read server hello: %w", err)
	}
	var h hello
	if err := xml.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("netconf: bad server hello: %w", err)
	}
	if !slices.Contains(h.Capabilities, CapBase10) && !slices.Contains(h.Capabilities, CapBase11) {
		return nil, errors.New("netconf: server offers neither base:1.0 nor base:1.1")
	}
	if slices.Contains(h.Capabilities, CapBase11) {
		t.SetChunked()
	}
	return &Client{t: t, closer: rw, caps: h.Capabilities, session: strings.TrimSpace(h.SessionID), nextID: 100}, nil
}

// Capabilities returns the server's capabilities.
func (c *Client) Capabilities() []string { return slices.Clone(c.caps) }

// Has reports whether the server advertises a capability (prefix match,
// ignoring parameters after '?').
func (c *Client) Has(capability string) bool {
	for _, s := range c.caps {
		if base, _, _ := strings.Cut(strings.TrimSpace(s), "?"); base == capability {
			return true
		}
	}
	return false
}

// SessionID is the server-assigned session id.
func (c *Client) SessionID() string { return c.session }

// Chunked reports whether base:1.1 framing was negotiated.
func (c *Client) Chunked() bool { return c.t.Chunked() }

// Call sends one operation (the XML inside <rpc>) and returns the reply
// with the same message-id. A ctx that ends first closes the session: the
// stream is then out of step and cannot be reused.
func (c *Client) Call(ctx context.Context, op string) (*Reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	msg := fmt.Sprintf(`<rpc xmlns="%s" message-id="%s">%s</rpc>`, NS, id, op)
	// Close the stream if ctx ends while the call is in flight. A watcher
	// goroutine selecting on ctx.Done and a "call finished" channel would
	// race: the caller's deferred cancel makes both ready, and select may
	// pick ctx.Done after the call returned, closing a healthy session.
	// AfterFunc's stop guarantees the close never runs once we return.
	stop := context.AfterFunc(ctx, func() { c.closer.Close() })
	defer stop()
	if err := c.t.WriteMessage([]byte(msg)); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("netconf: send rpc %s: %w", id, err))
	}
	for {
		raw, err := c.t.ReadMessage()
		if err != nil {
			return nil, c.ctxErr(ctx, fmt.Errorf("netconf: read reply to %s: %w", id, err))
		}
		if bytes.Contains(raw[:min(len(raw), 200)], []byte("<notification")) {
			continue // not ours to handle here
		}
		r, err := ParseReply(raw)
		if err != nil {
			return nil, err
		}
		if r.MessageID != id {
			return nil, fmt.Errorf("netconf: reply for message-id %q while waiting for %q", r.MessageID, id)
		}
		return r, nil
	}
}

func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return err
}

// Close sends close-session (best effort) and closes the stream.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2e9)
	defer cancel()
	_, _ = c.Call(ctx, "<close-session/>")
	return c.closer.Close()
}

// RPC is a request received by a server.
type RPC struct {
	MessageID string
	// Op is the operation element's local name (get-config, edit-config…).
	Op string
	// Body is the operation element, as XML.
	Body []byte
	// Attrs are the <rpc> element's attributes, echoed in the reply.
	Attrs []xml.Attr
}

type rpcXML struct {
	XMLName xml.Name   `xml:"rpc"`
	Attrs   []xml.Attr `xml:",any,attr"`
	Inner   []byte     `xml:",innerxml"`
}

// ParseRPC decodes an <rpc> message.
func ParseRPC(raw []byte) (*RPC, error) {
	var x rpcXML
	if err := xml.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("netconf: bad rpc: %w", err)
	}
	r := &RPC{Body: bytes.TrimSpace(x.Inner), Attrs: x.Attrs}
	for _, a := range x.Attrs {
		if a.Name.Local == "message-id" {
			r.MessageID = a.Value
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(r.Body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("netconf: rpc without an operation")
		}
		if se, ok := tok.(xml.StartElement); ok {
			r.Op = se.Name.Local
			return r, nil
		}
	}
}

// Handler answers one RPC: data (inner XML of <data>, or nil for <ok/>) or
// an error (an *RPCError is sent as is; others as operation-failed). Its
// ctx is the session's: SessionIDFrom(ctx) names the session, and ctx is
// cancelled when the session ends (context.AfterFunc releases what a
// session held, such as its locks).
type Handler func(ctx context.Context, rpc *RPC) (data []byte, err error)

type sessionKey struct{}

// SessionIDFrom returns the id of the session a Handler's ctx belongs to,
// or 0.
func SessionIDFrom(ctx context.Context) int {
	id, _ := ctx.Value(sessionKey{}).(int)
	return id
}

// Serve runs the server end of one session on rw until the client closes
// it, sends close-session, or ctx ends. caps are advertised after base:1.0
// and base:1.1.
func Serve(ctx context.Context, rw io.ReadWriteCloser, sessionID int, caps []string, h Handler) error {
	ctx, cancel := context.WithCancel(context.WithValue(ctx, sessionKey{}, sessionID))
	defer cancel()
	defer rw.Close()
	go func() {
		<-ctx.Done()
		rw.Close()
	}()
	t := NewTransport(rw)
	all := append([]string{CapBase10, CapBase11}, caps...)
	ours, _ := xml.Marshal(hello{Capabilities: all, SessionID: strconv.Itoa(sessionID)})
	if err := t.WriteMessage(append([]byte(xml.Header), ours...)); err != nil {
		return fmt.Errorf("netconf: send hello: %w", err)
	}
	raw, err := t.ReadMessage()
	if err != nil {
		return fmt.Errorf("netconf: read client hello: %w", err)
	}
	var ch hello
	if err := xml.Unmarshal(raw, &ch); err != nil {
		return fmt.Errorf("netconf: bad client hello: %w", err)
	}
	if slices.Contains(ch.Capabilities, CapBase11) {
		t.SetChunked()
	}
	for {
		raw, err := t.ReadMessage()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		rpc, err := ParseRPC(raw)
		var data []byte
		if err == nil {
			if rpc.Op == "close-session" {
				_ = t.WriteMessage(replyXMLFor(rpc, nil, nil))
				return nil
			}
			data, err = h(ctx, rpc)
		} else {
			rpc = &RPC{}
			err = &RPCError{Type: "rpc", Tag: "malformed-message", Severity: "error", Message: err.Error()}
		}
		if werr := t.WriteMessage(replyXMLFor(rpc, data, err)); werr != nil {
			return werr
		}
	}
}

func replyXMLFor(rpc *RPC, data []byte, err error) []byte {
	var b bytes.Buffer
	b.WriteString(`<rpc-reply xmlns="` + NS + `"`)
	for _, a := range rpc.Attrs {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			fmt.Fprintf(&b, ` %s="`, a.Name.Local)
			_ = xml.EscapeText(&b, []byte(a.Value))
			b.WriteString(`"`)
		}
	}
	b.WriteString(">")
	switch {
	case err != nil:
		var re *RPCError
		if !errors.As(err, &re) {
			re = &RPCError{Type: "application", Tag: "operation-failed", Severity: "error", Message: err.Error()}
		}
		x, _ := xml.Marshal(struct {
			XMLName xml.Name `xml:"rpc-error"`
			*RPCError
		}{RPCError: re})
		b.Write(x)
	case data == nil:
		b.WriteString("<ok/>")
	default:
		b.WriteString("<data>")
		b.Write(data)
		b.WriteString("</data>")
	}
	b.WriteString("</rpc-reply>")
	return b.Bytes()
}
