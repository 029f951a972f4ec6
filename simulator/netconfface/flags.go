package netconfface

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Usage documents the vtepsim flags that turn the NETCONF face on.
const Usage = `NETCONF face (vtepsim --netconf-addr=HOST:PORT [...] [PS-NAME | lab ...]):
  --netconf-addr=HOST:PORT     serve NETCONF over SSH (subsystem "netconf") there
  --netconf-user=NAME --netconf-password-file=FILE (or --netconf-password=PW)
                               password login for NAME (default user admin)
  --netconf-authorized-keys=FILE
                               OpenSSH authorized_keys: these keys log in as any user
  --netconf-host-key=FILE      the SSH host key (PEM); when FILE is missing an
                               ed25519 key is made there (and FILE.pub). Without
                               it the key lives in memory; its known_hosts line
                               is logged either way
  --netconf-candidate          offer :candidate (edits apply on commit) instead
                               of :writable-running
  --netconf-models=vtepgw,junos  the data models served (default both)
  --netconf-switch=NAME        switch name (default: PS-NAME, else sw1)
  --netconf-tunnel-ip=IP       the switch's VTEP address (default 192.0.2.1)
  --netconf-binding=PORT:VLAN:LS
                               a port's VLAN bound to a logical switch (VLAN 0:
                               untagged); repeatable (default p0:0:ls0, p1:100:ls1)
  With PS-NAME the face serves that simulated switch (simulator/facedev;
  --netconf-switch, --netconf-tunnel-ip and --netconf-binding are then unused);
  without PS-NAME, with "lab" or with --face-device=memory it serves an
  in-memory switch, and without PS-NAME vtepsim runs the face alone.
`

// Flags are vtepsim's NETCONF face flags.
type Flags struct {
	Addr                   string
	User, Password         string
	PasswordFile           string
	AuthorizedKeys         string
	HostKey                string
	Candidate              bool
	NoVtepgw, NoJunos      bool
	Switch, TunnelIP       string
	Bindings               map[string]map[int]string
	seenUser, seenBindings bool
}

// ParseFlags takes the --netconf-* flags out of args. It returns nil Flags
// when --netconf-addr is absent (and then rejects other --netconf-*
// flags), and the remaining arguments in order.
func ParseFlags(args []string) (*Flags, []string, error) {
	f := &Flags{User: "admin", TunnelIP: "192.0.2.1", Bindings: map[string]map[int]string{}}
	var rest []string
	seen := false
	for _, a := range args {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--netconf-") && !strings.HasPrefix(a, "-netconf-") {
			rest = append(rest, a)
			continue
		}
		seen = true
		if name == "netconf-candidate" {
			if hasVal && val != "true" {
				return nil, nil, fmt.Errorf("option %s takes no value", a)
			}
			f.Candidate = true
			continue
		}
		if !hasVal {
			return nil, nil, fmt.Errorf("option %s needs =VALUE", a)
		}
		switch name {
		case "netconf-addr":
			f.Addr = val
		case "netconf-user":
			f.User, f.seenUser = val, true
		case "netconf-password":
			f.Password = val
		case "netconf-password-file":
			f.PasswordFile = val
		case "netconf-authorized-keys":
			f.AuthorizedKeys = val
		case "netconf-host-key":
			f.HostKey = val
		case "netconf-models":
			f.NoVtepgw, f.NoJunos = true, true
			for _, m := range strings.Split(val, ",") {
				switch m {
				case "vtepgw":
					f.NoVtepgw = false
				case "junos":
					f.NoJunos = false
				default:
					return nil, nil, fmt.Errorf("--netconf-models: unknown model %q (want vtepgw, junos)", m)
				}
			}
		case "netconf-switch":
			f.Switch = val
		case "netconf-tunnel-ip":
			if checkIP(val) != nil {
				return nil, nil, fmt.Errorf("--netconf-tunnel-ip=%s: not an IP address", val)
			}
			f.TunnelIP = val
		case "netconf-binding":
			parts := strings.Split(val, ":")
			if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
				return nil, nil, fmt.Errorf("--netconf-binding=%s: want PORT:VLAN:LS", val)
			}
			vlan, err := strconv.Atoi(parts[1])
			if err != nil || vlan < 0 || vlan > 4095 {
				return nil, nil, fmt.Errorf("--netconf-binding=%s: VLAN must be 0..4095", val)
			}
			if f.Bindings[parts[0]] == nil {
				f.Bindings[parts[0]] = map[int]string{}
			}
			f.Bindings[parts[0]][vlan] = parts[2]
			f.seenBindings = true
		default:
			return nil, nil, fmt.Errorf("unknown option %s", strings.SplitN(a, "=", 2)[0])
		}
	}
	if !seen {
		return nil, rest, nil
	}
	if f.Addr == "" {
		return nil, nil, errors.New("--netconf-* options need --netconf-addr=HOST:PORT")
	}
	if _, _, err := net.SplitHostPort(f.Addr); err != nil {
		return nil, nil, fmt.Errorf("--netconf-addr: %w", err)
	}
	if f.Password != "" && f.PasswordFile != "" {
		return nil, nil, errors.New("--netconf-password and --netconf-password-file: give one")
	}
	if f.Password == "" && f.PasswordFile == "" && f.AuthorizedKeys == "" {
		return nil, nil, errors.New("the NETCONF face needs --netconf-password-file (or --netconf-password) or --netconf-authorized-keys")
	}
	if f.seenUser && f.Password == "" && f.PasswordFile == "" {
		return nil, nil, errors.New("--netconf-user needs --netconf-password-file or --netconf-password")
	}
	if f.NoVtepgw && f.NoJunos {
		return nil, nil, errors.New("--netconf-models: no model")
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
	if !f.seenBindings {
		f.Bindings = map[string]map[int]string{"p0": {0: "ls0"}, "p1": {100: "ls1"}}
	}
	return f, rest, nil
}

// MemDevice returns the in-memory switch the flags describe.
func (f *Flags) MemDevice() *MemDevice {
	return NewMemDevice(MemConfig{Name: f.Switch, TunnelIPs: []string{f.TunnelIP}, Ports: f.Bindings})
}

// ServeDevice serves dev (the real simulated switch, or an in-memory one)
// until ctx is done.
func (f *Flags) ServeDevice(ctx context.Context, log *slog.Logger, dev Device) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := Options{Device: dev, Candidate: f.Candidate, NoVtepgw: f.NoVtepgw, NoJunos: f.NoJunos, Logger: log}
	pw := f.Password
	if f.PasswordFile != "" {
		b, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			return fmt.Errorf("--netconf-password-file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	if pw != "" {
		o.Users = map[string]string{f.User: pw}
	}
	if f.AuthorizedKeys != "" {
		keys, err := LoadAuthorizedKeys(f.AuthorizedKeys)
		if err != nil {
			return fmt.Errorf("--netconf-authorized-keys: %w", err)
		}
		o.AuthorizedKeys = keys
	}
	if f.HostKey != "" {
		k, err := LoadOrCreateHostKey(f.HostKey)
		if err != nil {
			return fmt.Errorf("--netconf-host-key: %w", err)
		}
		o.HostKey = k
	} else {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		if o.HostKey, err = ssh.NewSignerFromKey(priv); err != nil {
			return err
		}
	}
	srv, err := New(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return fmt.Errorf("NETCONF face: %w", err)
	}
	log.Info("NETCONF face listening", "addr", ln.Addr().String(), "candidate", f.Candidate,
		"known_hosts", strings.TrimSpace(KnownHostsLine(ln.Addr().String(), o.HostKey.PublicKey())))
	return srv.Serve(ctx, ln)
}
