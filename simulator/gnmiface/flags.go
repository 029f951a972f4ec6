package gnmiface

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
)

// Usage documents the vtepsim flags that turn the gNMI face on.
const Usage = `gNMI face (vtepsim --gnmi-addr=HOST:PORT [...] [PS-NAME | lab ...]):
  --gnmi-addr=HOST:PORT        serve gNMI (Capabilities, Get, Set, Subscribe) there
  --gnmi-tls-cert=FILE --gnmi-tls-key=FILE
                               serve TLS with this certificate (default: plaintext)
  --gnmi-tls-client-ca=FILE    also require client certificates signed by this CA
  --gnmi-username=NAME --gnmi-password-file=FILE (or --gnmi-password=PW)
                               require these credentials in the RPC metadata
  --gnmi-target=NAME           gNMI target (default: the switch name)
  --gnmi-switch=NAME           switch name (default: PS-NAME, else sw1)
  --gnmi-tunnel-ip=IP          the switch's VTEP address (default 192.0.2.1)
  --gnmi-vlan=ID:NAME[:PORT[,PORT=untagged]...]
                               a VLAN (logical switch NAME) and its member ports,
                               tagged unless "=untagged"; repeatable (default:
                               100:ls0:Ethernet0,Ethernet4=untagged and 200:ls1:Ethernet0)
  With PS-NAME the face serves that simulated switch (simulator/facedev;
  --gnmi-tunnel-ip and --gnmi-vlan are then unused); without PS-NAME, with
  "lab" or with --face-device=memory it serves an in-memory switch, and
  without PS-NAME vtepsim runs the gNMI face alone.
`

// Flags are vtepsim's gNMI face flags.
type Flags struct {
	Addr               string
	TLSCert, TLSKey    string
	TLSClientCA        string
	Username, Password string
	PasswordFile       string
	Target, Switch     string
	TunnelIP           string
	VLANs              []VLANConfig
}

// ParseFlags takes the --gnmi-* flags out of args. It returns nil Flags
// when --gnmi-addr is absent (and then rejects other --gnmi-* flags), and
// the remaining arguments in order.
func ParseFlags(args []string) (*Flags, []string, error) {
	f := &Flags{TunnelIP: "192.0.2.1"}
	var rest []string
	seen := false
	for _, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--gnmi-") && !strings.HasPrefix(a, "-gnmi-") {
			rest = append(rest, a)
			continue
		}
		seen = true
		if !hasVal {
			return nil, nil, fmt.Errorf("option %s needs =VALUE", a)
		}
		switch name {
		case "gnmi-addr":
			f.Addr = val
		case "gnmi-tls-cert":
			f.TLSCert = val
		case "gnmi-tls-key":
			f.TLSKey = val
		case "gnmi-tls-client-ca":
			f.TLSClientCA = val
		case "gnmi-username":
			f.Username = val
		case "gnmi-password":
			f.Password = val
		case "gnmi-password-file":
			f.PasswordFile = val
		case "gnmi-target":
			f.Target = val
		case "gnmi-switch":
			f.Switch = val
		case "gnmi-tunnel-ip":
			f.TunnelIP = val
		case "gnmi-vlan":
			v, err := parseVLANFlag(val)
			if err != nil {
				return nil, nil, fmt.Errorf("option --gnmi-vlan: %w", err)
			}
			f.VLANs = append(f.VLANs, v)
		default:
			return nil, nil, fmt.Errorf("unknown option %s", strings.SplitN(a, "=", 2)[0])
		}
	}
	if !seen {
		return nil, rest, nil
	}
	if f.Addr == "" {
		return nil, nil, errors.New("--gnmi-* options need --gnmi-addr=HOST:PORT")
	}
	if _, _, err := net.SplitHostPort(f.Addr); err != nil {
		return nil, nil, fmt.Errorf("--gnmi-addr: %w", err)
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return nil, nil, errors.New("--gnmi-tls-cert and --gnmi-tls-key go together")
	}
	if f.TLSClientCA != "" && f.TLSCert == "" {
		return nil, nil, errors.New("--gnmi-tls-client-ca needs --gnmi-tls-cert")
	}
	if (f.Password != "" || f.PasswordFile != "") && f.Username == "" {
		return nil, nil, errors.New("a gNMI password needs --gnmi-username")
	}
	if f.Username != "" && f.Password == "" && f.PasswordFile == "" {
		return nil, nil, errors.New("--gnmi-username needs --gnmi-password-file or --gnmi-password")
	}
	if f.Switch == "" {
		for _, a := range rest {
			if !strings.HasPrefix(a, "-") && a != "lab" {
				f.Switch = a
				break
			}
		}
	}
	if f.Switch == "" {
		f.Switch = "sw1"
	}
	if len(f.VLANs) == 0 {
		f.VLANs = []VLANConfig{
			{ID: 100, Name: "ls0", Tagged: []string{"Ethernet0"}, Untagged: []string{"Ethernet4"}},
			{ID: 200, Name: "ls1", Tagged: []string{"Ethernet0"}},
		}
	}
	return f, rest, nil
}

// parseVLANFlag reads ID:NAME[:PORT[,PORT=untagged]...].
func parseVLANFlag(s string) (VLANConfig, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 {
		return VLANConfig{}, fmt.Errorf("%q: want ID:NAME[:PORTS]", s)
	}
	id, err := strconv.Atoi(parts[0])
	if err != nil || id < 1 || id > 4094 || parts[1] == "" {
		return VLANConfig{}, fmt.Errorf("%q: want a VLAN 1..4094 and a name", s)
	}
	v := VLANConfig{ID: id, Name: parts[1]}
	if len(parts) == 3 && parts[2] != "" {
		for _, p := range strings.Split(parts[2], ",") {
			port, mode, _ := strings.Cut(p, "=")
			switch {
			case port == "":
				return VLANConfig{}, fmt.Errorf("%q: empty port", s)
			case mode == "" || mode == "tagged":
				v.Tagged = append(v.Tagged, port)
			case mode == "untagged":
				v.Untagged = append(v.Untagged, port)
			default:
				return VLANConfig{}, fmt.Errorf("%q: port mode %q (want tagged or untagged)", s, mode)
			}
		}
	}
	return v, nil
}

// Serve builds the in-memory switch and serves it until ctx is done.
func (f *Flags) Serve(ctx context.Context, log *slog.Logger) error {
	dev, err := NewMemDevice(MemConfig{Name: f.Switch, TunnelIP: f.TunnelIP, VLANs: f.VLANs})
	if err != nil {
		return fmt.Errorf("gNMI switch: %w", err)
	}
	return f.ServeDevice(ctx, log, dev)
}

// ServeDevice serves dev (the real simulated switch, or an in-memory one)
// until ctx is done; --gnmi-tunnel-ip and --gnmi-vlan only seed Serve's
// in-memory switch.
func (f *Flags) ServeDevice(ctx context.Context, log *slog.Logger, dev Device) error {
	o := Options{Device: dev, Target: f.Target, Username: f.Username, Password: f.Password, Logger: log}
	if f.PasswordFile != "" {
		b, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			return fmt.Errorf("--gnmi-password-file: %w", err)
		}
		o.Password = strings.TrimRight(string(b), "\r\n")
	}
	if f.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey)
		if err != nil {
			return fmt.Errorf("gNMI TLS: %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if f.TLSClientCA != "" {
			pem, err := os.ReadFile(f.TLSClientCA)
			if err != nil {
				return fmt.Errorf("--gnmi-tls-client-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--gnmi-tls-client-ca: no certificate in %s", f.TLSClientCA)
			}
			o.TLS.ClientCAs, o.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	srv, err := New(o)
	if err != nil {
		return err
	}
	defer srv.Close()
	lis, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return fmt.Errorf("gNMI listen: %w", err)
	}
	log.Info("gNMI face serving", "addr", lis.Addr().String(), "target", srv.Target(),
		"tls", o.TLS != nil, "auth", o.Username != "")
	return srv.Serve(ctx, lis)
}
