// Package ncwire is NETCONF's wire layer (RFC 6241, RFC 6242): message
// framing for base:1.0 (end-of-message marker) and base:1.1 (chunked), the
// hello exchange, and the rpc / rpc-reply envelope. It has no controller
// logic, so both the NETCONF driver and the simulator's NETCONF face use it.
package ncwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// EOM is the base:1.0 end-of-message marker.
const EOM = "]]>]]>"

// MaxMessage bounds one message (64 MiB), so a peer cannot make us buffer
// without limit.
const MaxMessage = 64 << 20

// MaxChunk is the largest chunk size RFC 6242 allows.
const MaxChunk = 4294967295

// ErrFraming reports a malformed message frame.
var ErrFraming = errors.New("netconf: bad framing")

// Transport reads and writes framed messages on a stream. It starts in
// base:1.0 framing; SetChunked switches both directions to base:1.1 after
// the hello exchange.
type Transport struct {
	r  *bufio.Reader
	wm sync.Mutex // serialises writes
	w  io.Writer
	// chunked is read and written only by the goroutines that own reading
	// and writing; SetChunked is called between the hello and the first RPC.
	chunked bool
}

// NewTransport wraps a stream.
func NewTransport(rw io.ReadWriter) *Transport {
	return &Transport{r: bufio.NewReaderSize(rw, 64<<10), w: rw}
}

// SetChunked switches to base:1.1 chunked framing.
func (t *Transport) SetChunked() { t.chunked = true }

// Chunked reports whether base:1.1 framing is on.
func (t *Transport) Chunked() bool { return t.chunked }

// WriteMessage frames and writes one message.
func (t *Transport) WriteMessage(msg []byte) error {
	t.wm.Lock()
	defer t.wm.Unlock()
	var buf bytes.Buffer
	if t.chunked {
		// One chunk per 1 MiB keeps chunks readable for peers with small
		// buffers and still exercises multi-chunk decoding for big replies.
		for len(msg) > 0 {
			n := min(len(msg), 1<<20)
			fmt.Fprintf(&buf, "\n#%d\n", n)
			buf.Write(msg[:n])
			msg = msg[n:]
		}
		buf.WriteString("\n##\n")
	} else {
		buf.Write(msg)
		buf.WriteString(EOM)
	}
	_, err := t.w.Write(buf.Bytes())
	return err
}

// ReadMessage reads one message.
func (t *Transport) ReadMessage() ([]byte, error) {
	if t.chunked {
		return readChunked(t.r)
	}
	return readEOM(t.r)
}

func readEOM(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && len(bytes.TrimSpace(msg)) > 0 {
				return nil, fmt.Errorf("%w: end of stream inside a message", ErrFraming)
			}
			return nil, err
		}
		msg = append(msg, b)
		if b == '>' && bytes.HasSuffix(msg, []byte(EOM)) {
			return msg[:len(msg)-len(EOM)], nil
		}
		if len(msg) > MaxMessage {
			return nil, fmt.Errorf("%w: message over %d bytes", ErrFraming, MaxMessage)
		}
	}
}

// readChunked decodes RFC 6242 §4.2 chunked framing:
// 1*(LF HASH chunk-size LF chunk-data) LF HASH HASH LF.
func readChunked(r *bufio.Reader) ([]byte, error) {
	var msg []byte
	first := true
	for {
		if err := expect(r, '\n'); err != nil {
			if first && err == io.EOF {
				return nil, io.EOF
			}
			return nil, err
		}
		if err := expect(r, '#'); err != nil {
			return nil, err
		}
		c, err := r.ReadByte()
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		if c == '#' {
			if err := expect(r, '\n'); err != nil {
				return nil, err
			}
			if first {
				return nil, fmt.Errorf("%w: end-of-chunks before any chunk", ErrFraming)
			}
			return msg, nil
		}
		// chunk-size = [1-9][0-9]*, at most 4294967295.
		if c < '1' || c > '9' {
			return nil, fmt.Errorf("%w: chunk size starts with %q", ErrFraming, c)
		}
		digits := []byte{c}
		for {
			c, err = r.ReadByte()
			if err != nil {
				return nil, unexpectedEOF(err)
			}
			if c == '\n' {
				break
			}
			if c < '0' || c > '9' || len(digits) >= 10 {
				return nil, fmt.Errorf("%w: bad chunk size", ErrFraming)
			}
			digits = append(digits, c)
		}
		n, err := strconv.ParseUint(string(digits), 10, 64)
		if err != nil || n > MaxChunk {
			return nil, fmt.Errorf("%w: chunk size %s", ErrFraming, digits)
		}
		if uint64(len(msg))+n > MaxMessage {
			return nil, fmt.Errorf("%w: message over %d bytes", ErrFraming, MaxMessage)
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(r, msg[start:]); err != nil {
			return nil, unexpectedEOF(err)
		}
		first = false
	}
}

func expect(r *bufio.Reader, want byte) error {
	c, err := r.ReadByte()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("%w: got %q, want %q", ErrFraming, c, want)
	}
	return nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: end of stream inside a chunk", ErrFraming)
	}
	return err
}
