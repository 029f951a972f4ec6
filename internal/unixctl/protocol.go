package unixctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// maxRequestBytes bounds the bytes read for one request. ovs-appctl
// sends its command line, so real requests are tiny; the bound only keeps a
// misbehaving client from growing our buffers without limit.
const maxRequestBytes = 1 << 20

// errRequestTooLarge is returned by budgetReader when a request exceeds
// maxRequestBytes.
var errRequestTooLarge = fmt.Errorf("request larger than %d bytes", maxRequestBytes)

// request is a decoded JSON-RPC 1.0 request.
type request struct {
	ID     json.RawMessage   // any non-null JSON value, echoed verbatim
	Method string            // the command name
	Params []json.RawMessage // the arguments, not yet checked to be strings
}

// decodeRequest parses one JSON-RPC message received on a unixctl
// connection. It follows OVS's jsonrpc_msg_from_json: the message is an
// object whose only members are "method", "params", "result", "error" and
// "id" (exact, case-sensitive names), and a null member counts as absent.
// Only a request is valid here: a string method, an array of params, a
// non-null id and no result or error. OVS drops the connection on anything
// else (notifications included), and so do we.
func decodeRequest(data []byte) (request, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return request{}, fmt.Errorf("message is not a JSON object: %w", err)
	}
	if obj == nil {
		return request{}, errors.New("message is not a JSON object")
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		switch k {
		case "method", "params", "result", "error", "id":
		default:
			return request{}, fmt.Errorf("message has unexpected member %q", k)
		}
	}

	var req request
	method, ok := obj["method"]
	if !ok {
		return request{}, errors.New("message has no \"method\": not a request")
	}
	if !isJSONString(method) {
		return request{}, errors.New("method is not a JSON string")
	}
	if err := json.Unmarshal(method, &req.Method); err != nil {
		return request{}, fmt.Errorf("decode method: %w", err)
	}
	if !isNull(obj["result"]) || !isNull(obj["error"]) {
		return request{}, errors.New("request must not have \"result\" or \"error\"")
	}
	params := obj["params"]
	if isNull(params) {
		return request{}, errors.New("request must have \"params\"")
	}
	if err := json.Unmarshal(params, &req.Params); err != nil || req.Params == nil {
		return request{}, errors.New("\"params\" must be JSON array")
	}
	id := obj["id"]
	if isNull(id) {
		// A notification: unixctl never answers one, and OVS closes the
		// connection.
		return request{}, errors.New("notification (null or missing \"id\") is not a valid unixctl request")
	}
	req.ID = id
	return req, nil
}

// stringArgs converts the params of a request to strings. It reports false
// if any param is not a JSON string (OVS: "command has non-string argument").
func stringArgs(params []json.RawMessage) ([]string, bool) {
	args := make([]string, len(params))
	for i, p := range params {
		if !isJSONString(p) {
			return nil, false
		}
		if err := json.Unmarshal(p, &args[i]); err != nil {
			return nil, false
		}
	}
	return args, true
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func isJSONString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

// response is a JSON-RPC 1.0 reply. Exactly one of Result and Error is
// non-nil, and OVS's reader requires the other to be present as null.
type response struct {
	ID     json.RawMessage `json:"id"`
	Result any             `json:"result"`
	Error  any             `json:"error"`
}

// encodeResponse renders resp as one JSON value followed by a newline,
// which OVS's stream parser skips as whitespace.
func encodeResponse(resp response) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	return buf.Bytes(), nil
}

// withNewline returns s with a trailing newline added when s is non-empty
// and lacks one. OVS 3.1 servers do this to every reply and error body and
// its ovs-appctl prints bodies verbatim; newer ovs-appctl adds the newline
// itself only when it is missing. Doing it here reads the same with both.
func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// budgetReader fails once more than n bytes have been read since the
// caller last set n. The connection loop resets n before each request, so a
// request is bounded by maxRequestBytes plus what the JSON decoder had
// already buffered from the previous read.
type budgetReader struct {
	r io.Reader
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errRequestTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}
