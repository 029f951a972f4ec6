package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
)

// serveUnixctl answers OVS unixctl JSON-RPC requests, so that
// `ovs-appctl -t ovs-vtep exit` (and version, list-commands) work as with
// ovs-vtep.
func serveUnixctl(path string, exit func(), log *slog.Logger) (net.Listener, error) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("unixctl listen %s: %w", path, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("unixctl accept", "err", err)
				}
				return
			}
			go handleUnixctl(c, exit)
		}
	}()
	return l, nil
}

func handleUnixctl(c net.Conn, exit func()) {
	defer c.Close()
	dec := json.NewDecoder(c)
	enc := json.NewEncoder(c)
	for {
		var req struct {
			Method string          `json:"method"`
			Params []string        `json:"params"`
			ID     json.RawMessage `json:"id"`
		}
		if err := dec.Decode(&req); err != nil {
			return
		}
		resp := map[string]any{"id": req.ID, "error": nil, "result": nil}
		switch req.Method {
		case "exit":
			resp["result"] = ""
			_ = enc.Encode(resp)
			exit()
			return
		case "version":
			resp["result"] = "vtepsim (ovs-vtep compatible) 1.0\n"
		case "list-commands":
			resp["result"] = "The available commands are:\n  exit\n  list-commands\n  version\n"
		case "echo":
			resp["id"] = req.ID
			resp["result"] = req.Params
		default:
			resp["error"] = fmt.Sprintf("%q is not a valid command", req.Method)
		}
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}
