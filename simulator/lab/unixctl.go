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
	c, err := DialUnixctl(ctx, sock)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.Call(ctx, method, params...)
}

// UnixctlConn is one session with a daemon's control socket, for many
// commands (the unixctl server answers them in order on one connection).
type UnixctlConn struct {
	sock string
	c    net.Conn
	enc  *json.Encoder
	dec  *json.Decoder
	id   int
}

// DialUnixctl connects to a daemon's unixctl socket.
func DialUnixctl(ctx context.Context, sock string) (*UnixctlConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("unixctl %s: %w", sock, err)
	}
	return &UnixctlConn{sock: sock, c: c, enc: json.NewEncoder(c), dec: json.NewDecoder(c)}, nil
}

// Close ends the session.
func (u *UnixctlConn) Close() error { return u.c.Close() }

// Call runs one command and returns its reply text.
func (u *UnixctlConn) Call(ctx context.Context, method string, params ...string) (string, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = u.c.SetDeadline(dl)
	} else {
		_ = u.c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if params == nil {
		params = []string{}
	}
	u.id++
	if err := u.enc.Encode(map[string]any{"method": method, "params": params, "id": u.id}); err != nil {
		return "", fmt.Errorf("unixctl %s %s: %w", u.sock, method, err)
	}
	var resp struct {
		Result *string `json:"result"`
		Error  any     `json:"error"`
	}
	if err := u.dec.Decode(&resp); err != nil {
		return "", fmt.Errorf("unixctl %s %s: %w", u.sock, method, err)
	}
	if resp.Error != nil {
		return "", fmt.Errorf("unixctl %s %s: %v", u.sock, method, resp.Error)
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

// DummyQueue is how many frames netdev-dummy queues per port; frames
// received beyond it are dropped. ovs-vswitchd takes one frame per port
// from the queue per main-loop iteration.
const DummyQueue = 100

// Inject sends frames into a dummy port without losing any and without
// letting the port's queue run dry: over one unixctl session it keeps up
// to DummyQueue frames in flight (sent but not yet counted by rx, the
// port's received count, e.g. from OpenFlow port stats), topping the queue
// up whenever it is at most half full, and reads rx every 2 ms while it
// waits (50 frames last ovs-vswitchd 10 ms at 5000 frames/s). The injector
// costs ovs-vswitchd one unixctl request per 50-100 frames and one
// port-stats request per 2 ms.
func (e *Env) Inject(ctx context.Context, port string, rx RxCounter, frames []string) error {
	base, err := rx(ctx)
	if err != nil {
		return err
	}
	uc, err := DialUnixctl(ctx, e.VswitchdCtl())
	if err != nil {
		return err
	}
	defer uc.Close()
	sent, taken := 0, 0
	for taken < len(frames) {
		if inflight := sent - taken; sent < len(frames) && inflight <= DummyQueue/2 {
			j := min(sent+DummyQueue-inflight, len(frames))
			if _, err := uc.Call(ctx, "netdev-dummy/receive", append([]string{port}, frames[sent:j]...)...); err != nil {
				return err
			}
			sent = j
		} else {
			select {
			case <-ctx.Done():
				return fmt.Errorf("inject into %s: %d of %d frames taken: %w", port, taken, len(frames), ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
		n, err := rx(ctx)
		if err != nil {
			return err
		}
		taken = int(n - base)
	}
	return nil
}

func csum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// IPv4 builds an IPv4 packet (header with checksum, TTL 1) around payload.
func IPv4(src, dst net.IP, proto byte, payload []byte) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	l := 20 + len(payload)
	h[2], h[3] = byte(l>>8), byte(l)
	h[8] = 1
	h[9] = proto
	copy(h[12:16], src.To4())
	copy(h[16:20], dst.To4())
	c := csum(h)
	h[10], h[11] = byte(c>>8), byte(c)
	return append(h, payload...)
}

// IGMPReport builds an Ethernet frame (hex) with an IGMPv2 membership
// report (join=true) or leave for group from src.
func IGMPReport(srcMAC net.HardwareAddr, src, group net.IP, vlan int, join bool) string {
	g := group.To4()
	typ, dst := byte(0x16), g
	if !join {
		typ, dst = 0x17, net.IPv4(224, 0, 0, 2).To4()
	}
	igmp := []byte{typ, 0, 0, 0, g[0], g[1], g[2], g[3]}
	c := csum(igmp)
	igmp[2], igmp[3] = byte(c>>8), byte(c)
	d := dst.To4()
	dmac := net.HardwareAddr{0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]}
	return Frame(dmac, srcMAC, vlan, 0x0800, IPv4(src, dst, 2, igmp))
}

// IGMPv3Report builds an Ethernet frame (hex) with an IGMPv3 membership
// report (to 224.0.0.22) for the groups: join=true records each group as
// CHANGE_TO_EXCLUDE_MODE with no source (join), false as
// CHANGE_TO_INCLUDE_MODE with no source (leave).
func IGMPv3Report(srcMAC net.HardwareAddr, src net.IP, groups []net.IP, vlan int, join bool) string {
	rec := byte(3) // CHANGE_TO_INCLUDE_MODE
	if join {
		rec = 4 // CHANGE_TO_EXCLUDE_MODE
	}
	igmp := []byte{0x22, 0, 0, 0, 0, 0, byte(len(groups) >> 8), byte(len(groups))}
	for _, g := range groups {
		igmp = append(igmp, rec, 0, 0, 0)
		igmp = append(igmp, g.To4()...)
	}
	c := csum(igmp)
	igmp[2], igmp[3] = byte(c>>8), byte(c)
	dmac := net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}
	return Frame(dmac, srcMAC, vlan, 0x0800, IPv4(src, net.IPv4(224, 0, 0, 22), 2, igmp))
}

// MLDv2Report builds an Ethernet frame (hex) with an MLDv2 listener report
// (to ff02::16, hop-by-hop router alert, hop limit 1) for the IPv6 groups:
// join=true records each group as CHANGE_TO_EXCLUDE_MODE with no source,
// false as CHANGE_TO_INCLUDE_MODE with no source (leave).
func MLDv2Report(srcMAC net.HardwareAddr, src net.IP, groups []net.IP, vlan int, join bool) string {
	rec := byte(3)
	if join {
		rec = 4
	}
	icmp := []byte{143, 0, 0, 0, 0, 0, byte(len(groups) >> 8), byte(len(groups))}
	for _, g := range groups {
		icmp = append(icmp, rec, 0, 0, 0)
		icmp = append(icmp, g.To16()...)
	}
	dst := net.ParseIP("ff02::16")
	// ICMPv6 checksum over the pseudo-header: src, dst, length, next header 58.
	pseudo := append(append([]byte{}, src.To16()...), dst.To16()...)
	pseudo = append(pseudo, 0, 0, byte(len(icmp)>>8), byte(len(icmp)), 0, 0, 0, 58)
	c := csum(append(pseudo, icmp...))
	icmp[2], icmp[3] = byte(c>>8), byte(c)
	// Hop-by-hop options: next header ICMPv6, router alert (MLD), PadN.
	hbh := []byte{58, 0, 5, 2, 0, 0, 1, 0}
	payload := append(hbh, icmp...)
	ip6 := []byte{0x60, 0, 0, 0, byte(len(payload) >> 8), byte(len(payload)), 0, 1}
	ip6 = append(ip6, src.To16()...)
	ip6 = append(ip6, dst.To16()...)
	dmac := net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x16}
	return Frame(dmac, srcMAC, vlan, 0x86dd, append(ip6, payload...))
}
