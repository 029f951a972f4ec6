package openflow

import (
	"bytes"
	"testing"
)

// The decoders below read what ovs-vswitchd sends over the OpenFlow
// connection. Whatever the bytes, they must not panic; a match that
// decodes encodes back to the same fields.

func FuzzDecodeMatch(f *testing.F) {
	m := Match{}
	f.Add(m.encode())
	f.Add([]byte{0, 1, 0, 4, 0, 0, 0, 0})
	f.Add([]byte{0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, n, err := decodeMatch(b)
		if err != nil {
			return
		}
		if n > len(b) || n < 4 {
			t.Fatalf("decodeMatch(%x) consumed %d of %d bytes", b, n, len(b))
		}
		again, _, err := decodeMatch(got.encode())
		if err != nil {
			t.Fatalf("re-decode of %x: %v", got.encode(), err)
		}
		if !bytes.Equal(again.oxmFields(), got.oxmFields()) {
			t.Fatalf("match %x does not survive encode/decode", b)
		}
	})
}

func FuzzDecodeFlowStats(f *testing.F) {
	f.Add(make([]byte, 56))
	f.Add([]byte{0, 48})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeFlowStats(b)
	})
}

func FuzzDecodeFlowUpdates(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add([]byte{0, 8, 0, 3, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeFlowUpdates(b)
		_ = decodeOutPorts(b)
		_ = parseHeader(append(b, make([]byte, 8)...))
	})
}
