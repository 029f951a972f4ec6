package ncwire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type rw struct {
	io.Reader
	io.Writer
}

func TestRoundTrip(t *testing.T) {
	big := strings.Repeat("<mac>00:00:00:00:00:01</mac>", 100000) // ~2.9 MB: several chunks
	for _, chunked := range []bool{false, true} {
		var wire bytes.Buffer
		w := NewTransport(rw{&wire, &wire})
		if chunked {
			w.SetChunked()
		}
		msgs := []string{"<hello/>", "", big, "<rpc message-id=\"1\"/>"}
		for _, m := range msgs {
			if chunked && m == "" {
				continue // a chunked message has at least one chunk
			}
			if err := w.WriteMessage([]byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		r := NewTransport(rw{&wire, io.Discard})
		if chunked {
			r.SetChunked()
		}
		for _, m := range msgs {
			if chunked && m == "" {
				continue
			}
			got, err := r.ReadMessage()
			if err != nil {
				t.Fatalf("chunked=%v: %v", chunked, err)
			}
			if string(got) != m {
				t.Fatalf("chunked=%v: got %d bytes, want %d", chunked, len(got), len(m))
			}
		}
		if _, err := r.ReadMessage(); err != io.EOF {
			t.Fatalf("after last message: %v, want EOF", err)
		}
	}
}

func TestChunkedDecodeRFCExample(t *testing.T) {
	// RFC 6242 §4.2 example, with the message split across two chunks.
	in := "\n#4\n<rpc\n#18\n message-id=\"102\"\n\n##\n"
	r := NewTransport(rw{strings.NewReader(in), io.Discard})
	r.SetChunked()
	got, err := r.ReadMessage()
	if err != nil || string(got) != "<rpc message-id=\"102\"\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestChunkedErrors(t *testing.T) {
	for _, in := range []string{
		"\n#0\nx\n##\n",     // zero size
		"\n#01\nx\n##\n",    // leading zero
		"\n##\n",            // no chunk
		"\n#5\nabc",         // short chunk
		"\n#99999999999\nx", // too many digits
		"#4\nabcd\n##\n",    // missing LF
		"\n#4\nabcd\n#x\n",  // bad marker
		"\n#4x\nabcd\n##\n", // bad size
	} {
		r := NewTransport(rw{strings.NewReader(in), io.Discard})
		r.SetChunked()
		if _, err := r.ReadMessage(); err == nil || err == io.EOF {
			t.Errorf("%q: err = %v, want a framing error", in, err)
		} else if !errors.Is(err, ErrFraming) {
			t.Errorf("%q: err = %v, not ErrFraming", in, err)
		}
	}
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("\n#4\n<rpc\n##\n"))
	f.Add([]byte("\n#1\na\n#2\nbc\n##\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewTransport(rw{bytes.NewReader(in), io.Discard})
		r.SetChunked()
		msg, err := r.ReadMessage()
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to a stream that decodes the same.
		var wire bytes.Buffer
		w := NewTransport(rw{&wire, &wire})
		w.SetChunked()
		if err := w.WriteMessage(msg); err != nil {
			t.Fatal(err)
		}
		again, err := NewTransportChunked(&wire).ReadMessage()
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func FuzzEOM(f *testing.F) {
	f.Add([]byte("<hello/>]]>]]>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewTransport(rw{bytes.NewReader(in), io.Discard})
		msg, err := r.ReadMessage()
		if err == nil && bytes.Contains(msg, []byte(EOM)) {
			t.Fatalf("message contains the end marker: %q", msg)
		}
	})
}

func NewTransportChunked(r io.Reader) *Transport {
	t := NewTransport(rw{r, io.Discard})
	t.SetChunked()
	return t
}
