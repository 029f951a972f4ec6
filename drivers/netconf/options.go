package netconf

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/vtepgw/vtepgw/drivers"
)

// Driver is the NETCONF driver.
type Driver struct{}

// Options are the driver's settings (drivers.Params.Settings).
type Options struct {
	Username string
	// Password (setting password, or password-file: a file holding it) or
	// PrivateKey (a file) authenticate.
	Password   string
	PrivateKey string
	// KnownHosts is the known_hosts file the server's host key must be in.
	KnownHosts string
	// Adapter names the data model: "vtepgw" (default; the project's
	// YANG module) or "junos" (Junos static VXLAN).
	Adapter string
	// PollInterval is how often learned entries are read (default 1s).
	PollInterval time.Duration
	// PostHelloDelay waits after the hello exchange (yuma123 netconfd needs
	// about 200ms; default 0).
	PostHelloDelay time.Duration
	// Timeout bounds connecting and each RPC (default 30s).
	Timeout time.Duration
}

var knownSettings = "username, password, password-file, private-key, known-hosts, adapter, poll-interval, post-hello-delay, timeout"

// NewConnector validates endpoints (HOST:PORT) and settings; no I/O but
// reading the key and known_hosts files.
func (Driver) NewConnector(p drivers.Params) (drivers.Connector, error) {
	if len(p.Endpoints) == 0 {
		return nil, fmt.Errorf("no endpoint (want HOST:PORT of the NETCONF SSH server): %w", drivers.ErrInvalid)
	}
	for _, ep := range p.Endpoints {
		if _, _, err := net.SplitHostPort(ep); err != nil {
			return nil, fmt.Errorf("endpoint %q: %w: %w", ep, err, drivers.ErrInvalid)
		}
	}
	o := Options{Adapter: "vtepgw", PollInterval: time.Second, Timeout: 30 * time.Second}
	for k, v := range p.Settings {
		s := fmt.Sprint(v)
		var err error
		switch k {
		case "username":
			o.Username = s
		case "password":
			o.Password = s
		case "password-file":
			var b []byte
			if b, err = os.ReadFile(s); err == nil {
				o.Password = strings.TrimRight(string(b), "\r\n")
			}
		case "private-key":
			o.PrivateKey = s
		case "known-hosts":
			o.KnownHosts = s
		case "adapter":
			o.Adapter = s
		case "poll-interval":
			o.PollInterval, err = time.ParseDuration(s)
		case "post-hello-delay":
			o.PostHelloDelay, err = time.ParseDuration(s)
		case "timeout":
			o.Timeout, err = time.ParseDuration(s)
		default:
			return nil, fmt.Errorf("unknown setting %q (known: %s): %w", k, knownSettings, drivers.ErrInvalid)
		}
		if err != nil {
			return nil, fmt.Errorf("setting %s: %w: %w", k, err, drivers.ErrInvalid)
		}
	}
	var errs []string
	if o.Username == "" {
		errs = append(errs, "username is required")
	}
	if o.Password == "" && o.PrivateKey == "" {
		errs = append(errs, "password or private-key is required")
	}
	if o.KnownHosts == "" {
		errs = append(errs, "known-hosts is required (host keys are always verified)")
	}
	if _, ok := adapters[o.Adapter]; !ok {
		errs = append(errs, fmt.Sprintf("unknown adapter %q", o.Adapter))
	}
	if o.PollInterval <= 0 || o.Timeout <= 0 {
		errs = append(errs, "poll-interval and timeout must be positive")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(errs, "; "), drivers.ErrInvalid)
	}
	cfg, err := o.sshConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, drivers.ErrInvalid)
	}
	return &connector{params: p, opts: o, ssh: cfg, adapter: adapters[o.Adapter]}, nil
}

func (o Options) sshConfig() (*ssh.ClientConfig, error) {
	hk, err := knownhosts.New(o.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("known-hosts %s: %w", o.KnownHosts, err)
	}
	cfg := &ssh.ClientConfig{User: o.Username, HostKeyCallback: hk, Timeout: o.Timeout}
	if o.PrivateKey != "" {
		pem, err := os.ReadFile(o.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("private-key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("private-key %s: %w", o.PrivateKey, err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if o.Password != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(o.Password))
	}
	return cfg, nil
}
