package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// unixctl sends one OVS unixctl command (what ovs-appctl does) and returns
// the reply text, without spawning a process.
func unixctl(ctx context.Context, sock, method string, params ...string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return "", fmt.Errorf("unixctl %s: %w", method, err)
	}
	defer c.Close()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	_ = c.SetDeadline(dl)
	if params == nil {
		params = []string{}
	}
	if err := json.NewEncoder(c).Encode(map[string]any{"method": method, "params": params, "id": 0}); err != nil {
		return "", fmt.Errorf("unixctl %s: %w", method, err)
	}
	var resp struct {
		Result *string `json:"result"`
		Error  any     `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return "", fmt.Errorf("unixctl %s: %w", method, err)
	}
	if resp.Error != nil {
		return "", fmt.Errorf("unixctl %s: %v", method, resp.Error)
	}
	if resp.Result == nil {
		return "", nil
	}
	return *resp.Result, nil
}
