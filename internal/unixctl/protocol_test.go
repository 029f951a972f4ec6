package unixctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func raws(vals ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(vals))
	for i, v := range vals {
		out[i] = json.RawMessage(v)
	}
	return out
}

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    request
		wantErr string // substring; empty means success
	}{
		{
			name: "ovs-appctl request",
			in:   `{"id":0,"method":"foo","params":["bar","b\"az"]}`,
			want: request{ID: json.RawMessage(`0`), Method: "foo", Params: raws(`"bar"`, `"b\"az"`)},
		},
		{
			name: "no params and string id",
			in:   `{"method":"list-commands","params":[],"id":"x"}`,
			want: request{ID: json.RawMessage(`"x"`), Method: "list-commands", Params: raws()},
		},
		{
			name: "explicit null result and error are absent",
			in:   `{"method":"a","params":[],"id":1,"result":null,"error":null}`,
			want: request{ID: json.RawMessage(`1`), Method: "a", Params: raws()},
		},
		{
			name: "non-string params are kept for the command check",
			in:   `{"method":"a","params":[1,null],"id":[1]}`,
			want: request{ID: json.RawMessage(`[1]`), Method: "a", Params: raws(`1`, `null`)},
		},
		{name: "not an object", in: `["a"]`, wantErr: "not a JSON object"},
		{name: "null", in: `null`, wantErr: "not a JSON object"},
		{name: "garbage", in: `{"method":`, wantErr: "not a JSON object"},
		{name: "unexpected member", in: `{"method":"a","params":[],"id":1,"x":2}`, wantErr: `unexpected member "x"`},
		{name: "member names are case-sensitive", in: `{"METHOD":"a","params":[],"id":1}`, wantErr: `unexpected member "METHOD"`},
		{name: "no method", in: `{"params":[],"id":1}`, wantErr: "no \"method\""},
		{name: "method not a string", in: `{"method":1,"params":[],"id":1}`, wantErr: "method is not a JSON string"},
		{name: "null method", in: `{"method":null,"params":[],"id":1}`, wantErr: "method is not a JSON string"},
		{name: "missing params", in: `{"method":"a","id":1}`, wantErr: `must have "params"`},
		{name: "null params", in: `{"method":"a","params":null,"id":1}`, wantErr: `must have "params"`},
		{name: "params not an array", in: `{"method":"a","params":{},"id":1}`, wantErr: `"params" must be JSON array`},
		{name: "notification", in: `{"method":"a","params":[],"id":null}`, wantErr: "notification"},
		{name: "missing id", in: `{"method":"a","params":[]}`, wantErr: "notification"},
		{name: "reply", in: `{"method":"a","params":[],"id":1,"result":"x"}`, wantErr: `must not have "result"`},
		{name: "error reply", in: `{"method":"a","params":[],"id":1,"error":"x"}`, wantErr: `must not have "result" or "error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRequest([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("decodeRequest(%s) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeRequest(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decodeRequest(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestStringArgs(t *testing.T) {
	tests := []struct {
		name   string
		params []json.RawMessage
		want   []string
		wantOK bool
	}{
		{name: "empty", params: raws(), want: []string{}, wantOK: true},
		{name: "strings", params: raws(`"a"`, `"\u00e9\n"`), want: []string{"a", "é\n"}, wantOK: true},
		{name: "number", params: raws(`"a"`, `1`), wantOK: false},
		{name: "null", params: raws(`null`), wantOK: false},
		{name: "array", params: raws(`["a"]`), wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := stringArgs(tt.params)
			if ok != tt.wantOK {
				t.Fatalf("stringArgs ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); ok && diff != "" {
				t.Errorf("stringArgs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name string
		resp response
		want string
	}{
		{
			name: "result",
			resp: response{ID: json.RawMessage(`0`), Result: "a <b> & c\n"},
			want: `{"id":0,"result":"a <b> & c\n","error":null}` + "\n",
		},
		{
			name: "error",
			resp: response{ID: json.RawMessage(`"x"`), Error: "boom\n"},
			want: `{"id":"x","result":null,"error":"boom\n"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeResponse(tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("encodeResponse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetOptions(t *testing.T) {
	tests := []struct {
		name     string
		start    bool // initial JSON setting
		args     []string
		wantJSON bool
		wantErr  string
	}{
		{name: "long with separate value", args: []string{"--format", "json"}, wantJSON: true},
		{name: "long with equals", args: []string{"--format=JSON"}, wantJSON: true},
		{name: "unambiguous prefix", args: []string{"--form=json"}, wantJSON: true},
		{name: "short", args: []string{"-f", "json"}, wantJSON: true},
		{name: "short attached", args: []string{"-fjson"}, wantJSON: true},
		{name: "back to text", start: true, args: []string{"--format", "text"}, wantJSON: false},
		{name: "non-option ignored", args: []string{"x"}, wantJSON: false},
		{name: "invalid value", args: []string{"--format", "xml"}, wantErr: "option format has invalid value xml"},
		{name: "missing value", args: []string{"--format"}, wantErr: "option '--format' requires an argument"},
		{name: "unknown long", args: []string{"--pretty"}, wantErr: "unrecognized option '--pretty'"},
		{name: "unknown short", args: []string{"-x"}, wantErr: "unrecognized option 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := connState{json: tt.start}
			_, err := setOptions(context.Background(), &cs, tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("setOptions(%q) error = %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("setOptions(%q): %v", tt.args, err)
			}
			if cs.json != tt.wantJSON {
				t.Errorf("setOptions(%q) json = %v, want %v", tt.args, cs.json, tt.wantJSON)
			}
		})
	}
}

func TestBudgetReader(t *testing.T) {
	br := &budgetReader{r: strings.NewReader(strings.Repeat("x", 10)), n: 4}
	got, err := io.ReadAll(br)
	if !errors.Is(err, errRequestTooLarge) {
		t.Fatalf("ReadAll error = %v, want errRequestTooLarge", err)
	}
	if string(got) != "xxxx" {
		t.Errorf("read %q before the budget ran out, want %q", got, "xxxx")
	}
}

// FuzzDecodeRequest checks that the request parser never panics, and that
// whatever it accepts survives a round trip through our own encoding.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"id":0,"method":"foo","params":["bar","b\"az"]}`,
		`{"method":"list-commands","params":[],"id":"x"}`,
		`{"method":"a","params":[1,null,{"a":[]}],"id":[1],"result":null,"error":null}`,
		`{"method":"a","params":[],"id":null}`,
		`{"method":"a","params":[],"id":1,"result":"x"}`,
		`{"METHOD":"a","params":[],"id":1}`,
		`{"method":"\u0000\ud800","params":["\udfff"],"id":1e400}`,
		`{"method":"a","method":"b","params":[],"id":1}`,
		`[]`, `null`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeRequest(data)
		if err != nil {
			return
		}
		if isNull(req.ID) {
			t.Fatalf("accepted a request without id: %q", data)
		}
		if req.Params == nil {
			t.Fatalf("accepted a request without params: %q", data)
		}
		enc, err := json.Marshal(map[string]any{"id": req.ID, "method": req.Method, "params": req.Params})
		if err != nil {
			t.Fatalf("re-encode accepted request %q: %v", data, err)
		}
		again, err := decodeRequest(enc)
		if err != nil {
			t.Fatalf("re-decode %q (from %q): %v", enc, data, err)
		}
		if again.Method != req.Method || len(again.Params) != len(req.Params) {
			t.Fatalf("round trip changed the request: %+v -> %+v", req, again)
		}
		if !bytes.Equal(compact(t, again.ID), compact(t, req.ID)) {
			t.Fatalf("round trip changed the id: %s -> %s", req.ID, again.ID)
		}
		if args, ok := stringArgs(req.Params); ok && len(args) != len(req.Params) {
			t.Fatalf("stringArgs returned %d args for %d params", len(args), len(req.Params))
		}
	})
}

func compact(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatalf("compact %q: %v", raw, err)
	}
	return buf.Bytes()
}
