package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/sbsync"
)

// SwitchConfig is one switch connection.
type SwitchConfig struct {
	// Name identifies the connection in logs, status and metrics.
	Name string `mapstructure:"name"`
	// Driver is a registered driver name (default hwvtep).
	Driver string `mapstructure:"driver"`
	// Endpoints are the driver's remotes (hwvtep: ovsdb remotes).
	Endpoints []string `mapstructure:"endpoints"`
	// Settings are driver-specific options.
	Settings map[string]any `mapstructure:"settings"`
	// Learning overrides the top-level learning limits for this switch.
	Learning *LearningConfig `mapstructure:"learning"`
	// Replication overrides the top-level replication settings.
	Replication *ReplicationConfig `mapstructure:"replication"`
}

// ReplicationConfig selects source-node or service-node replication.
type ReplicationConfig struct {
	// Default mode: source_node (default) or service_node.
	Default string `mapstructure:"default"`
	// LogicalSwitches maps VTEP logical switch names to a mode.
	LogicalSwitches map[string]string `mapstructure:"logical-switches"`
	// Replicators are SB chassis names used as replicators, in addition
	// to chassis with "vtep-replicator" in other_config:ovn-cms-options.
	Replicators []string `mapstructure:"replicators"`
	// BFD holds Tunnel bfd_params for replicator tunnels: min_rx, min_tx,
	// decay_min_rx (ms), cpath_down, check_tnl_key.
	BFD map[string]string `mapstructure:"bfd"`
}

// LearningConfig bounds switch-learned MACs written to the southbound.
type LearningConfig struct {
	// Rate is MACs per second per switch connection (0: unlimited).
	Rate float64 `mapstructure:"rate"`
	// Burst is how many may be written at once (default: Rate).
	Burst int `mapstructure:"burst"`
	// MaxPerLogicalSwitch and MaxPerSwitch cap FDB rows (0: unlimited).
	MaxPerLogicalSwitch int `mapstructure:"max-per-logical-switch"`
	MaxPerSwitch        int `mapstructure:"max-per-switch"`
}

// Config is a validated, immutable configuration snapshot.
type Config struct {
	OVNSBDB     []string       `mapstructure:"ovnsb-db"`
	VTEPDB      []string       `mapstructure:"vtep-db"`
	Switches    []SwitchConfig `mapstructure:"switches"`
	LogLevel    string         `mapstructure:"log-level"`
	LogFormat   string         `mapstructure:"log-format"`
	LogFile     string         `mapstructure:"log-file"`
	Pidfile     string         `mapstructure:"pidfile"`
	Unixctl     string         `mapstructure:"unixctl"`
	MetricsAddr string         `mapstructure:"metrics-addr"`
	// Pprof also serves Go's runtime profiles under /debug/pprof/ on the
	// metrics listener (for profiling a live daemon; off by default).
	Pprof         bool   `mapstructure:"pprof"`
	PrivateKey    string `mapstructure:"private-key"`
	Certificate   string `mapstructure:"certificate"`
	CACert        string `mapstructure:"ca-cert"`
	NorthdVersion string `mapstructure:"northd-version"`
	// SBProbeInterval is the SB inactivity probe unless the switch sets
	// ovn-remote-probe-interval.
	SBProbeInterval time.Duration `mapstructure:"sb-probe-interval"`
	// Learning is the default per-switch learning limit.
	Learning LearningConfig `mapstructure:"learning"`
	// Replication is the default replication configuration.
	Replication ReplicationConfig `mapstructure:"replication"`
	// LearningRate caps learned MACs per second for all switches together
	// (the bucket holds as many; 0: unlimited). The default, 20000, keeps
	// a learning storm on many switches from flooding the SB while one
	// switch's burst of 10k MACs still goes out in one transaction.
	LearningRate float64 `mapstructure:"learning-rate"`
	// ARPSuppression publishes remote MACs' IP addresses to the switches
	// (Ucast_Macs_Remote.ipaddr), which ovn-controller-vtep never does.
	ARPSuppression bool `mapstructure:"arp-suppression"`
	// MaxProcs is how many CPUs may run vtepgw's code at once (GOMAXPROCS);
	// 0 chooses one per switch connection (see planProcs).
	MaxProcs int `mapstructure:"max-procs"`

	tls *tls.Config
}

// DefaultLearningRate is the default of learning-rate: learned MACs per
// second written to SB FDB by all switches together.
const DefaultLearningRate = 20000

// defaults are written into viper so env-only keys decode too.
var defaults = map[string]any{
	"ovnsb-db":          []string{},
	"vtep-db":           []string{},
	"switches":          []map[string]any{},
	"log-level":         "info",
	"log-format":        "text",
	"log-file":          "",
	"pidfile":           "",
	"unixctl":           "",
	"metrics-addr":      "",
	"pprof":             false,
	"arp-suppression":   false,
	"max-procs":         0,
	"private-key":       "",
	"certificate":       "",
	"ca-cert":           "",
	"northd-version":    "",
	"sb-probe-interval": "5s",
	"learning":          map[string]any{"rate": 0, "burst": 0, "max-per-logical-switch": 0, "max-per-switch": 0},
	"learning-rate":     DefaultLearningRate,
	"replication":       map[string]any{"default": "source_node"},
}

func rundir() string {
	for _, e := range []string{"OVN_RUNDIR", "OVS_RUNDIR"} {
		if v := os.Getenv(e); v != "" {
			return v
		}
	}
	return "/var/run/ovn"
}

func ovsRundir() string {
	if v := os.Getenv("OVS_RUNDIR"); v != "" {
		return v
	}
	return "/var/run/openvswitch"
}

func logdir() string {
	for _, e := range []string{"OVN_LOGDIR", "OVS_LOGDIR"} {
		if v := os.Getenv(e); v != "" {
			return v
		}
	}
	return "/var/log/ovn"
}

// newFlagSet declares the command line. OVS-style optional values
// (--pidfile, --log-file) use NoOptDefVal "-" to mean "the default path".
func newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("vtepgw", pflag.ContinueOnError)
	fs.StringArray("vtep-db", nil, "hardware_vtep database remote (tcp:IP:PORT, ssl:IP:PORT, unix:PATH); repeatable")
	fs.String("ovnsb-db", "", "OVN southbound database remote; comma-separated for a cluster")
	fs.String("config", "", "YAML configuration file")
	fs.String("pidfile", "", "write the process ID to FILE (default <rundir>/vtepgw.pid)")
	fs.Lookup("pidfile").NoOptDefVal = "-"
	fs.String("log-file", "", "log to FILE as well (default <logdir>/vtepgw.log)")
	fs.Lookup("log-file").NoOptDefVal = "-"
	fs.String("unixctl", "", "control socket (default <rundir>/vtepgw.<pid>.ctl)")
	fs.String("private-key", "", "SSL private key file")
	fs.String("certificate", "", "SSL certificate file")
	fs.String("ca-cert", "", "SSL CA certificate file")
	fs.String("metrics-addr", "", "serve Prometheus /metrics on HOST:PORT")
	fs.Bool("pprof", false, "also serve Go profiles under /debug/pprof/ on the metrics address")
	fs.Bool("arp-suppression", false, "publish remote MACs' IP addresses (Ucast_Macs_Remote.ipaddr) for switch-side ARP/ND suppression")
	fs.String("log-level", "", "debug, info, warn or error")
	fs.String("log-format", "", "text or json")
	fs.Int("max-procs", 0, "CPUs that may run vtepgw's code at once (GOMAXPROCS); 0: one per switch connection")
	fs.String("northd-version", "", "northd internal version to pin when ovn-match-northd-version is set")
	fs.Bool("check-config", false, "validate the configuration and exit")
	fs.BoolP("version", "V", false, "print the version and exit")
	fs.StringSliceP("verbose", "v", nil, "OVS-style log settings (accepted for compatibility: -vconsole:off, -vdbg, -vinfo)")
	fs.Bool("detach", false, "run in the background")
	fs.Bool("no-chdir", false, "accepted for compatibility")
	fs.Bool("monitor", false, "accepted for compatibility")
	return fs
}

// load builds a Config from flags, environment (VTEPGW_*) and file.
func load(fs *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix("VTEPGW")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	if f, _ := fs.GetString("config"); f != "" {
		v.SetConfigFile(f)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config %s: %w", f, err)
		}
	}
	for _, name := range []string{"ovnsb-db", "pidfile", "log-file", "unixctl", "private-key", "certificate", "ca-cert", "metrics-addr", "log-level", "log-format", "northd-version", "max-procs"} {
		if fl := fs.Lookup(name); fl != nil && fl.Changed {
			v.Set(name, fl.Value.String())
		}
	}
	for _, name := range []string{"pprof", "arp-suppression"} {
		if fl := fs.Lookup(name); fl != nil && fl.Changed {
			on, _ := fs.GetBool(name)
			v.Set(name, on)
		}
	}
	if fl := fs.Lookup("vtep-db"); fl.Changed {
		dbs, _ := fs.GetStringArray("vtep-db")
		v.Set("vtep-db", dbs)
	}
	mergeSwitchLearning(v)
	var c Config
	if err := v.UnmarshalExact(&c, viperDecodeHook()); err != nil {
		return nil, fmt.Errorf("decode configuration: %w", err)
	}
	if err := c.finish(fs); err != nil {
		return nil, err
	}
	return &c, nil
}

// mergeSwitchLearning fills the keys a switch's learning block leaves out
// from the top-level block, so that a switch can override one limit and
// keep the others.
func mergeSwitchLearning(v *viper.Viper) {
	var sws []any
	switch s := v.Get("switches").(type) {
	case []any:
		sws = s
	case []map[string]any:
		for _, m := range s {
			sws = append(sws, m)
		}
	default:
		return
	}
	top := v.GetStringMap("learning")
	changed := false
	for _, s := range sws {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		l, ok := m["learning"].(map[string]any)
		if !ok {
			continue
		}
		for k, val := range top {
			if _, set := l[k]; !set {
				l[k] = val
				changed = true
			}
		}
	}
	if changed {
		v.Set("switches", sws)
	}
}

// finish fills OVS-style defaults and validates. Every problem is reported.
func (c *Config) finish(fs *pflag.FlagSet) error {
	var errs []error
	c.OVNSBDB = splitRemotes(c.OVNSBDB)
	if len(c.OVNSBDB) == 0 {
		if env := os.Getenv("OVN_SB_DB"); env != "" {
			c.OVNSBDB = splitRemotes([]string{env})
		} else {
			c.OVNSBDB = []string{"unix:" + filepath.Join(rundir(), "ovnsb_db.sock")}
		}
	}
	if c.Pprof && c.MetricsAddr == "" {
		errs = append(errs, errors.New("pprof: needs metrics-addr (profiles are served on the metrics listener)"))
	}
	for _, r := range c.OVNSBDB {
		if err := ovsdbx.ValidateRemote(r); err != nil {
			errs = append(errs, fmt.Errorf("ovnsb-db: %w", err))
		}
	}
	for _, r := range c.VTEPDB {
		c.Switches = append(c.Switches, SwitchConfig{Name: r, Driver: "hwvtep", Endpoints: []string{r}})
	}
	if len(c.Switches) == 0 {
		def := "unix:" + filepath.Join(ovsRundir(), "db.sock")
		c.Switches = []SwitchConfig{{Name: def, Driver: "hwvtep", Endpoints: []string{def}}}
	}
	seen := map[string]bool{}
	for i := range c.Switches {
		sw := &c.Switches[i]
		if sw.Driver == "" {
			sw.Driver = "hwvtep"
		}
		if sw.Name == "" && len(sw.Endpoints) > 0 {
			sw.Name = sw.Endpoints[0]
		}
		if sw.Name == "" {
			errs = append(errs, fmt.Errorf("switches[%d]: needs a name or an endpoint", i))
			continue
		}
		if seen[sw.Name] {
			errs = append(errs, fmt.Errorf("switches[%d]: duplicate name %q", i, sw.Name))
		}
		seen[sw.Name] = true
		if _, err := drivers.NewConnector(sw.Driver, drivers.Params{Name: sw.Name, Endpoints: sw.Endpoints, Settings: sw.Settings}); err != nil {
			errs = append(errs, fmt.Errorf("switches[%d] (%s): %w", i, sw.Name, err))
		}
		if sw.Learning == nil {
			l := c.Learning
			sw.Learning = &l
		}
		if err := sw.Learning.validate(); err != nil {
			errs = append(errs, fmt.Errorf("switches[%d] (%s): learning: %w", i, sw.Name, err))
		}
		if sw.Replication == nil {
			r := c.Replication
			sw.Replication = &r
		}
		if err := sw.Replication.options().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("switches[%d] (%s): replication: %w", i, sw.Name, err))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	if c.Pidfile == "-" {
		c.Pidfile = filepath.Join(rundir(), "vtepgw.pid")
	} else if c.Pidfile != "" && !filepath.IsAbs(c.Pidfile) {
		c.Pidfile = filepath.Join(rundir(), c.Pidfile)
	}
	if c.LogFile == "-" {
		c.LogFile = filepath.Join(logdir(), "vtepgw.log")
	}
	if c.LearningRate < 0 {
		errs = append(errs, errors.New("learning-rate must not be negative"))
	}
	if c.MaxProcs < 0 {
		errs = append(errs, fmt.Errorf("max-procs %d: want 0 (automatic) or a positive number", c.MaxProcs))
	}
	if c.SBProbeInterval < 0 {
		errs = append(errs, fmt.Errorf("sb-probe-interval must not be negative"))
	}
	if c.PrivateKey != "" || c.Certificate != "" || c.CACert != "" {
		t, err := loadTLS(c.PrivateKey, c.Certificate, c.CACert)
		if err != nil {
			errs = append(errs, err)
		}
		c.tls = t
	}
	return errors.Join(errs...)
}

func (r *ReplicationConfig) options() sbsync.ReplicationOptions {
	return sbsync.ReplicationOptions{Default: r.Default, Modes: r.LogicalSwitches, Replicators: r.Replicators, BFD: r.BFD}
}

func (l *LearningConfig) validate() error {
	if l.Rate < 0 || l.Burst < 0 || l.MaxPerLogicalSwitch < 0 || l.MaxPerSwitch < 0 {
		return errors.New("rate, burst and limits must not be negative")
	}
	return nil
}

func splitRemotes(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func loadTLS(key, cert, ca string) (*tls.Config, error) {
	if key == "" || cert == "" || ca == "" {
		return nil, errors.New("ssl: --private-key, --certificate and --ca-cert go together")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("ssl: load key pair: %w", err)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("ssl: read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ssl: no certificates in %s", ca)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
