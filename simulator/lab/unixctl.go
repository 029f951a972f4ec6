package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// Unixctl sends one unixctl command (as ovs-appctl does) to a daemon's
// control socket and returns its reply text, without spawning a process.
func Unixctl(ctx context.Context, sock, method string, params ...string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return "", fmt.Errorf("unixctl %s: %w", sock, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if params == nil {
		params = []string{}
	}
	if err := json.NewEncoder(c).Encode(map[string]any{"method": method, "params": params, "id": 0}); err != nil {
		return "", fmt.Errorf("unixctl %s %s: %w", sock, method, err)
	}
	var resp struct {
		Result *string `json:"result"`
		Error  any     `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return "", fmt.Errorf("unixctl %s %s: %w", sock, method, err)
	}
	if resp.Error != nil {
		return "", fmt.Errorf("unixctl %s %s: %v", sock, method, resp.Error)
	}
	if resp.Result == nil {
		return "", nil
	}
	return *resp.Result, nil
}

// Receive injects frames (hex strings or ODP flow strings) on a dummy
// port through ovs-vswitchd's netdev-dummy/receive.
func (e *Env) Receive(ctx context.Context, port string, frames ...string) error {
	_, err := Unixctl(ctx, e.VswitchdCtl(), "netdev-dummy/receive", append([]string{port}, frames...)...)
	return err
}

// Frame builds an Ethernet frame as hex: dst, src, optional VLAN (0 for
// none), ethertype and payload.
func Frame(dst, src net.HardwareAddr, vlan int, ethertype uint16, payload []byte) string {
	b := append([]byte{}, dst...)
	b = append(b, src...)
	if vlan > 0 {
		b = append(b, 0x81, 0x00, byte(vlan>>8), byte(vlan))
	}
	b = append(b, byte(ethertype>>8), byte(ethertype))
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return fmt.Sprintf("%x", b)
}

// RxCounter returns a dummy port's received-packet count; see Inject.
type RxCounter func(ctx context.Context) (uint64, error)

// Inject sends frames into a dummy port without losing any: netdev-dummy
// queues at most 100 frames and ovs-vswitchd takes 32 per main-loop pass,
// so frames go in batches of 32 and each batch waits until rx (the port's
// received count, e.g. from OpenFlow port stats) shows it was taken.
func (e *Env) Inject(ctx context.Context, port string, rx RxCounter, frames []string) error {
	base, err := rx(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < len(frames); i += 32 {
		j := min(i+32, len(frames))
		if err := e.Receive(ctx, port, frames[i:j]...); err != nil {
			return err
		}
		for {
			n, err := rx(ctx)
			if err != nil {
				return err
			}
			if n >= base+uint64(j) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("inject into %s: %d of %d frames taken: %w", port, n-base, j, ctx.Err())
			case <-time.After(100 * time.Microsecond):
			}
		}
	}
	return nil
}
