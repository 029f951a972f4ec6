// Command drivers measures every in-tree driver's convergence for 1000
// remote MACs: one changeset of 1000 new remote unicast MACs on one
// logical switch, from the driver's Apply until the device's own view (not
// the driver's) shows all of them, and one changeset deleting them again.
// The devices, each reached through the driver's own session
// (drivers.NewConnector, Connect, Apply):
//
//   - hwvtep: Debian's ovsdb-server with a hardware_vtep database
//     (testbed.StartVTEP); view: vtep-ctl list-remote-macs;
//   - gnmi, adapters sonic and eos: the simulator's gNMI face over TLS
//     (simulator/gnmiface, in-memory device, in this process); view: the
//     in-memory device's state;
//   - netconf, adapter vtepgw: the simulator's NETCONF face and Debian's
//     netconfd (yuma123) behind sshd, with the running and the candidate
//     target; view: the face's device state, a second session's get-config
//     for netconfd (what testbed/bench/netconf measured, same method);
//   - kernel: a network namespace this program creates (and deletes);
//     view: a netlink dump of the VXLAN device's FDB in that namespace.
//
// Usage (as root for the kernel row):
//
//	go run ./testbed/bench/drivers -out docs/BENCHMARKS.md
//
// appends (or replaces) the "Driver convergence" section of the file,
// leaving every other section alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	_ "github.com/vtepgw/vtepgw/drivers/all"
	"github.com/vtepgw/vtepgw/internal/benchdoc"
	"github.com/vtepgw/vtepgw/testbed"
	"github.com/vtepgw/vtepgw/vtep"
)

type config struct {
	out, yang, only string
	macs, n         int
	keep, verbose   bool
}

// target is one device the driver programs.
type target struct {
	driver    string
	settings  map[string]any
	addr      string // the driver's endpoint ("" for none)
	locPrefix string // locators are locPrefix.1 … locPrefix.8 (default 198.51.100)
	// count returns how many remote MACs of ls0 the device itself holds.
	count func(ctx context.Context) (int, error)
	stop  func()
}

type result struct {
	driver, name   string
	apply, visible []time.Duration
	del, gone      []time.Duration
	err            error
}

type maker struct {
	driver, name string
	fn           func(t *benchTB, c *config) (*target, error)
}

var makers = []maker{
	{"hwvtep", "ovsdb-server (hardware_vtep), unix socket", func(t *benchTB, _ *config) (*target, error) { return startHWVTEP(t) }},
	{"gnmi", "simulator gNMI face (TLS), adapter sonic", func(t *benchTB, _ *config) (*target, error) { return startGNMI(t, "sonic") }},
	{"gnmi", "simulator gNMI face (TLS), adapter eos", func(t *benchTB, _ *config) (*target, error) { return startGNMI(t, "eos") }},
	{"netconf", "simulator face, running", func(*benchTB, *config) (*target, error) { return startFace(false) }},
	{"netconf", "simulator face, candidate", func(*benchTB, *config) (*target, error) { return startFace(true) }},
	{"netconf", "netconfd (yuma123) + sshd, running", func(_ *benchTB, c *config) (*target, error) { return startNetconfd(c.yang, "running") }},
	{"netconf", "netconfd (yuma123) + sshd, candidate", func(_ *benchTB, c *config) (*target, error) { return startNetconfd(c.yang, "candidate") }},
	{"kernel", "network namespace (VXLAN device + bridge)", func(t *benchTB, _ *config) (*target, error) { return startKernel(t) }},
}

func main() {
	var c config
	flag.StringVar(&c.out, "out", "", "append (or replace) this benchmark's section in FILE")
	flag.StringVar(&c.yang, "yang", "drivers/netconf/yang/vtepgw-switch.yang", "the project module, for netconfd")
	flag.StringVar(&c.only, "only", "", "comma-separated drivers to run (hwvtep,gnmi,netconf,kernel); default all")
	flag.IntVar(&c.macs, "macs", 1000, "remote MACs per changeset")
	flag.IntVar(&c.n, "n", 7, "runs per target")
	flag.BoolVar(&c.keep, "keep", false, "keep temporary directories")
	flag.BoolVar(&c.verbose, "verbose", false, "log what the testbed logs")
	flag.Parse()
	started := time.Now()
	load0 := testbed.LoadAvg()
	var results []*result
	for _, mk := range makers {
		if c.only != "" && !slices.Contains(strings.Split(c.only, ","), mk.driver) {
			continue
		}
		r := &result{driver: mk.driver, name: mk.name}
		results = append(results, r)
		err := runTB(mk.driver, &c, func(tb *benchTB) error {
			t, err := mk.fn(tb, &c)
			if err != nil {
				return err
			}
			defer t.stop()
			return run(&c, t, r)
		})
		r.err = err
		if err != nil {
			log.Printf("%s, %s: %v", mk.driver, mk.name, err)
		}
		log.Printf("%s, %s: apply %s; visible %s; delete %s; gone %s", r.driver, r.name, stats(r.apply), stats(r.visible), stats(r.del), stats(r.gone))
	}
	rep := report(&c, results, started, load0, testbed.LoadAvg())
	fmt.Print(rep)
	if c.out != "" {
		if err := benchdoc.WriteSection(c.out, sectionTitle, rep, legacyTitle); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s", c.out)
	}
	for _, r := range results {
		if r.err != nil {
			os.Exit(1)
		}
	}
}

func mac(i int) string {
	return fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
}

// run is testbed/bench/netconf's loop, for any driver, plus the time until
// the device no longer holds the deleted MACs.
func run(c *config, t *target, r *result) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := drivers.Params{Name: "bench", Settings: t.settings}
	if c.verbose {
		p.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if t.addr != "" {
		p.Endpoints = []string{t.addr}
	}
	conn, err := drivers.NewConnector(t.driver, p)
	if err != nil {
		return err
	}
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	s, err := conn.Connect(cctx, func(vtep.Key) {})
	ccancel()
	if err != nil {
		return err
	}
	defer s.Close()
	vni := 5000
	if err := s.Apply(ctx, &vtep.Changeset{LogicalSwitches: []vtep.LogicalSwitchChange{{Name: "ls0", VNI: &vni}}}); err != nil {
		return err
	}
	loc := t.locPrefix
	if loc == "" {
		loc = "198.51.100"
	}
	for run := range c.n {
		cs := &vtep.Changeset{}
		del := &vtep.Changeset{}
		for i := range c.macs {
			k := vtep.MACKey{LS: "ls0", MAC: mac(run*c.macs + i)}
			cs.UcastRemote = append(cs.UcastRemote, vtep.UcastChange{Key: k, Set: &vtep.UcastMAC{MACKey: k, Locator: fmt.Sprintf("%s.%d", loc, 1+i%8)}})
			del.UcastRemote = append(del.UcastRemote, vtep.UcastChange{Key: k})
		}
		t0 := time.Now()
		if err := s.Apply(ctx, cs); err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		applied := time.Since(t0)
		if err := waitCount(ctx, t, t0, c.macs); err != nil {
			return fmt.Errorf("run %d: %w", run, err)
		}
		r.apply = append(r.apply, applied)
		r.visible = append(r.visible, time.Since(t0))
		t0 = time.Now()
		if err := s.Apply(ctx, del); err != nil {
			return fmt.Errorf("run %d: delete: %w", run, err)
		}
		r.del = append(r.del, time.Since(t0))
		if err := waitCount(ctx, t, t0, 0); err != nil {
			return fmt.Errorf("run %d: delete: %w", run, err)
		}
		r.gone = append(r.gone, time.Since(t0))
	}
	return nil
}

// waitCount polls the device's own view (1 ms apart) until it holds want
// remote MACs, for up to a minute from t0.
func waitCount(ctx context.Context, t *target, t0 time.Time, want int) error {
	for {
		n, err := t.count(ctx)
		if err != nil {
			return err
		}
		if n == want {
			return nil
		}
		if time.Since(t0) > time.Minute {
			return fmt.Errorf("the device holds %d MACs after a minute, want %d", n, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %s, min %s, max %s (n=%d)", ms(s[len(s)/2]), ms(s[0]), ms(s[len(s)-1]), len(s))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

const sectionTitle = "## Driver convergence: 1000 remote MACs (issue 5)"

// legacyTitle is the section testbed/bench/netconf wrote; this one
// replaces it in place.
const legacyTitle = "## NETCONF driver: 1000 remote MACs (issue 5)"

func report(c *config, rs []*result, started time.Time, load0, load1 string) string {
	var b strings.Builder
	m := testbed.DescribeMachine()
	fmt.Fprintf(&b, "%s\n\n", sectionTitle)
	cmd := "go run ./testbed/bench/drivers -out docs/BENCHMARKS.md"
	if c.only != "" {
		cmd += " -only " + c.only
	}
	fmt.Fprintf(&b, "Generated by `%s` (run by `make bench`, as root for the kernel row) on %s; the whole run took %s.\n\n",
		cmd, started.UTC().Format("2006-01-02 15:04 UTC"), time.Since(started).Round(time.Second))
	fmt.Fprintf(&b, "- nproc: %d\n- CPU: %s\n- kernel: %s\n- Go: %s\n- load average at the start: %s; at the end: %s\n\n",
		m.CPUs, m.CPUModel, m.Kernel, m.Go, load0, load1)
	fmt.Fprintf(&b, "One changeset of %d new remote unicast MACs (8 locators) on one logical switch with VNI 5000, applied through the driver's own session "+
		"(`drivers.NewConnector`, `Connect`, `Apply`); then one changeset deleting them. **visible** runs from the start of `Apply` until the device's own view, "+
		"read by the benchmark and not through the driver, holds all %d; **gone** from the start of the deleting `Apply` until it holds none. "+
		"Each row is a fresh device and session, %d runs each, new MACs every run; median, min and max.\n\n", c.macs, c.macs, c.n)
	b.WriteString("| Driver | Device | Apply returns | visible on the device | delete: Apply returns | delete: gone from the device |\n|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.err != nil && len(r.visible) == 0 {
			fmt.Fprintf(&b, "| %s | %s | error: %v | - | - | - |\n", r.driver, r.name, r.err)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.driver, r.name, stats(r.apply), stats(r.visible), stats(r.del), stats(r.gone))
	}
	b.WriteString(`
The device's own view, and what one ` + "`Apply`" + ` of the 1000 is:

- **hwvtep**: Debian's ovsdb-server serving a hardware_vtep database (testbed.StartVTEP, a separate process), reached over its unix socket. ` + "`Apply`" + ` is one OVSDB ` + "`transact`" + ` (the 1000 ` + "`Ucast_Macs_Remote`" + ` rows and their ` + "`Physical_Locator`" + `s), returning on its reply. View: ` + "`vtep-ctl list-remote-macs ls0`" + `, a new vtep-ctl process per poll (about one process start and one OVSDB dump of the table in every figure).
- **gnmi**: the simulator's gNMI face (simulator/gnmiface) over TLS on 127.0.0.1 with certificate verification and password metadata, serving an in-memory device in this process. ` + "`Apply`" + ` is one gNMI ` + "`Set`" + `: SONiC ` + "`APPL_DB VXLAN_FDB_TABLE`" + ` rows (` + "`sonic`" + `), or CLI ` + "`mac address-table static … vtep IP`" + ` lines (` + "`eos`" + `). View: the in-memory device's state (a read lock, no RPC).
- **netconf**: unchanged from the previous NETCONF-only benchmark (testbed/bench/netconf): adapter ` + "`vtepgw`" + ` over SSH on 127.0.0.1. ` + "`Apply`" + ` is ` + "`lock`" + `, one ` + "`edit-config`" + `, ` + "`commit`" + ` (candidate), ` + "`unlock`" + ` and the driver's read-back ` + "`get-config`" + `. View: the in-memory device's state for the face; a second NETCONF session's ` + "`get-config`" + ` for netconfd. The face runs in the benchmark's process (its CPU competes with the driver's); netconfd and sshd are separate processes. Both validate every value against the module. netconfd needs the driver's 200 ms post-hello pause (yuma123 stalls otherwise); it is paid once per connection, not per changeset. The Junos adapter has no row: Junos static VXLAN holds no remote unicast MACs (they are learned from VXLAN traffic), and the driver reports that (` + "`Capabilities().NoUcastRemote`" + `).
- **kernel**: a network namespace the benchmark creates (port ` + "`p0`" + `, a veth; tunnel IP 10.250.0.1; deleted at the end). ` + "`Apply`" + ` is two netlink requests per MAC (VXLAN FDB entry ` + "`MAC dst LOCATOR self permanent`" + ` and the bridge's ` + "`MAC master static`" + `) followed by the driver's full netlink dump of the namespace (read-your-writes). View: the benchmark's own netlink socket in the namespace, one ` + "`RTM_GETNEIGH`" + ` ` + "`AF_BRIDGE`" + ` dump counting the VXLAN device's ` + "`self`" + ` entries with a destination.

Every driver here returns from ` + "`Apply`" + ` once the device has committed the change, so **visible** is ` + "`Apply`" + ` plus one read of the view, and the cost of that read differs per device (a vtep-ctl process, an in-memory read, a NETCONF RPC, a netlink dump): compare the **Apply** columns across drivers, the **visible** columns only within a driver. All devices but ovsdb-server, netconfd and sshd run in the benchmark's process and share its CPUs with the driver.
`)
	return b.String()
}
