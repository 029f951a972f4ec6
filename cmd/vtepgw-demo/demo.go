package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/stdr"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/cmd/vtepgw-demo/internal/sbfull"
	"github.com/vtepgw/vtepgw/internal/vtepfull"
	"github.com/vtepgw/vtepgw/vtep"
)

var quietOnce sync.Once

// options configure one run of the demo.
type options struct {
	out io.Writer // the story
	// errOut receives vtepgw's log when a step fails, or all of it (debug
	// level) with verbose.
	errOut  io.Writer
	verbose bool
	// timeout bounds every wait for an expected state.
	timeout time.Duration
}

// The sample topology (docs/peers.md §3 with documentation-range
// addresses; nothing is sent on a network).
const (
	psName     = "br-vtep"
	psIP       = "192.0.2.4"
	portName   = "p0"
	vtepLS     = "lswitch0"
	nbLS       = "ls0"
	dpKey      = 1
	vtepPort   = "ls0-vtep"
	vtepPortTK = 3
	hv1, hv2   = "hv1", "hv2"
	hv1IP      = "198.51.100.1"
	hv2IP      = "198.51.100.2"
	vm1, vm2   = "vm1", "vm2"
	vm1MAC     = "00:00:5e:00:53:01"
	vm2MAC     = "00:00:5e:00:53:02"
	vm2NewMAC  = "00:00:5e:00:53:22"
	learnedMAC = "00:00:5e:00:53:aa"
	// northdVersion is what Debian's ovn-northd 23.03 writes to SB_Global.
	northdVersion = "23.03.1-20.27.0-70.6"
)

// demo is one run.
type demo struct {
	ctx     context.Context
	opts    options
	log     *eventLog
	sb, sw  *dbClient
	marks   []mark
	vtepLog *lockedBuffer
	results []result
	n       int // step number
}

// mark attributes a row change to the actor the demo played when writing
// it; changes nobody claims were made by vtepgw.
type mark struct {
	db, table, uuid string
	op              byte
	who             string
}

type result struct {
	what string
	took time.Duration
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// run tells the story. It returns an error when any expected state does
// not appear within opts.timeout.
func run(ctx context.Context, opts options) (err error) {
	if opts.timeout <= 0 {
		opts.timeout = 10 * time.Second
	}
	if opts.errOut == nil {
		opts.errOut = io.Discard
	}
	// libovsdb's server package turns its global logger to verbosity 5
	// at init; errors are still logged. Once: the servers of an earlier
	// run (tests) may still be reading it.
	quietOnce.Do(func() { stdr.SetVerbosity(0) })
	d := &demo{ctx: ctx, opts: opts, log: &eventLog{}, vtepLog: &lockedBuffer{}}
	defer func() {
		if err != nil && !opts.verbose {
			fmt.Fprintf(opts.errOut, "\n--- vtepgw log ---\n%s", d.vtepLog.String())
		}
	}()
	start := time.Now()
	d.printf("vtepgw demo: vtepgw between an in-process OVN southbound and an in-process hardware VTEP switch.\n")
	d.printf("Both databases are libovsdb in-memory OVSDB servers; the demo plays ovn-northd, two hypervisors and the switch.\n")
	d.printf("No external programs or files are used and nothing is sent on a network (documentation-range addresses).\n")
	d.printf("Change lines: time since the step's action, who wrote it, database, + insert / ~ update / - delete.\n")

	// 1. Databases.
	d.header("Start the databases")
	dir, err := os.MkdirTemp("", "vtepgw-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t0 := time.Now()
	sbSrv, err := startSBServer(dir)
	if err != nil {
		return err
	}
	defer sbSrv.Close()
	swSrv, err := startVTEPServer(dir)
	if err != nil {
		return err
	}
	defer swSrv.Close()
	d.sb, err = dialDB(ctx, "sb", sbSrv, sbfull.FullDatabaseModel, d.log)
	if err != nil {
		return err
	}
	defer d.sb.Close()
	d.sw, err = dialDB(ctx, "vtep", swSrv, vtepfull.FullDatabaseModel, d.log, "Physical_Locator", "Physical_Locator_Set")
	if err != nil {
		return err
	}
	defer d.sw.Close()
	d.printf("   %-15s %-8s %s\n", sbSrv.schema.Name, sbSrv.schema.Version, sbSrv.endpoint)
	d.printf("   %-15s %-8s %s\n", swSrv.schema.Name, swSrv.schema.Version, swSrv.endpoint)
	d.printf("   listening in %s\n", ms(time.Since(t0)))
	d.printf("   (libovsdb's in-memory server rejects transactions that carry a comment, and vtepgw\n")
	d.printf("   comments every transaction: the demo drops comments server-side, see quirks.go.)\n")

	// 2. The switch.
	d.header("Seed the switch (the demo plays the hardware VTEP)")
	d.printf("   %s has tunnel IP %s and port %s; VLAN 0 of %s is bound to logical switch %s.\n", psName, psIP, portName, portName, vtepLS)
	t0 = time.Now()
	if err := d.seedSwitch(ctx); err != nil {
		return err
	}
	if err := d.expect(t0, "switch seeded", func() error {
		if d.switchLS() == nil {
			return errors.New("no Logical_Switch " + vtepLS)
		}
		return nil
	}); err != nil {
		return err
	}

	// 3. The southbound.
	d.header("Seed the southbound (the demo plays ovn-northd and hypervisors hv1, hv2)")
	d.printf("   NB switch %s has VIFs %s (%s) and %s (%s), and VTEP port %s (%s on %s);\n", nbLS, vm1, vm1MAC, vm2, vm2MAC, vtepPort, vtepLS, psName)
	d.printf("   ovn-controller on %s (%s) runs %s, on %s (%s) runs %s.\n", hv1, hv1IP, vm1, hv2, hv2IP, vm2)
	t0 = time.Now()
	if err := d.seedSouthbound(ctx); err != nil {
		return err
	}
	if err := d.expect(t0, "southbound seeded", func() error {
		if d.pb(vm2) == nil || d.pb(vm2).Chassis == nil {
			return errors.New("vm2 not bound")
		}
		return nil
	}); err != nil {
		return err
	}

	// 4. vtepgw.
	d.header("Start vtepgw (sbsync + hwvtep driver + reconcile gateway, in this process)")
	d.printf("   Expect: a Chassis for %s, %s bound to it and up, %s keyed with the datapath's VNI %d,\n", psName, vtepPort, vtepLS, dpKey)
	d.printf("   the VMs' MACs as remote MACs, and an unknown-dst flood list with both hypervisors.\n")
	vtepLog := d.vtepgwLogger()
	t0 = time.Now()
	gw, err := startGateway(ctx, sbSrv.endpoint, swSrv.endpoint, vtepLog, d.onBatch)
	if err != nil {
		return err
	}
	defer gw.stop()
	want := map[string]string{vm1MAC: hv1IP, vm2MAC: hv2IP}
	if err := d.expectResult(t0, "vtepgw registered, bound and programmed the switch", func() error {
		return errors.Join(d.checkChassis(), d.checkBound(), d.checkSwitch(want, []string{hv1IP, hv2IP}))
	}); err != nil {
		return err
	}

	// 5. A VM's MAC changes.
	d.header(fmt.Sprintf("VM %s on %s gets a new MAC %s (was %s)", vm2, hv2, vm2NewMAC, vm2MAC))
	d.printf("   The CMS changes the NB port's address; northd rewrites Port_Binding.mac.\n")
	t0 = time.Now()
	pb := d.pb(vm2)
	upd := &sbfull.PortBinding{UUID: pb.UUID, MAC: []string{vm2NewMAC + " 203.0.113.2"}}
	if err := d.updateSB(ctx, "northd", upd, &upd.MAC); err != nil {
		return err
	}
	delete(want, vm2MAC)
	want[vm2NewMAC] = hv2IP
	if err := d.expectResult(t0, "switch has the new MAC, not the old one", func() error {
		return d.checkSwitch(want, []string{hv1IP, hv2IP})
	}); err != nil {
		return err
	}

	// 6. The switch learns a MAC.
	d.header(fmt.Sprintf("The switch learns %s on %s (a Ucast_Macs_Local row, as its hardware would write)", learnedMAC, portName))
	t0 = time.Now()
	if err := d.learn(ctx); err != nil {
		return err
	}
	if err := d.expectResult(t0, "SB FDB row for the learned MAC on "+vtepPort, func() error {
		return d.checkFDB(true)
	}); err != nil {
		return err
	}

	// 7. It ages out.
	d.header(fmt.Sprintf("The switch ages %s out (deletes the Ucast_Macs_Local row)", learnedMAC))
	t0 = time.Now()
	if err := d.unlearn(ctx); err != nil {
		return err
	}
	if err := d.expectResult(t0, "SB FDB row removed", func() error {
		return d.checkFDB(false)
	}); err != nil {
		return err
	}

	// 8. A VM goes away.
	d.header(fmt.Sprintf("VM %s leaves %s (ovn-controller releases its port)", vm1, hv1))
	t0 = time.Now()
	pb = d.pb(vm1)
	rel := &sbfull.PortBinding{UUID: pb.UUID}
	f := false
	rel.Up = &f
	if err := d.updateSB(ctx, hv1, rel, &rel.Chassis, &rel.Up); err != nil {
		return err
	}
	delete(want, vm1MAC)
	if err := d.expectResult(t0, fmt.Sprintf("%s's MAC gone from the switch, %s left the flood list", vm1, hv1), func() error {
		return d.checkSwitch(want, []string{hv2IP})
	}); err != nil {
		return err
	}

	// 9. Stop and summarize.
	d.header("Stop vtepgw (as on SIGTERM: both databases keep their state)")
	gw.stop()
	d.finalState()
	d.printf("\nDEMO OK in %s. vtepgw reaction times:\n", ms(time.Since(start)))
	for _, r := range d.results {
		d.printf("   %8s  %s\n", ms(r.took), r.what)
	}
	return nil
}

// --- output ---

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.opts.out, format, args...) }

func (d *demo) header(title string) {
	d.n++
	d.printf("\n== %d. %s\n", d.n, title)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func ms(t time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(t.Microseconds())/1000)
}

// act writes ops as actor who and remembers the rows it touches.
func (d *demo) act(ctx context.Context, who string, db *dbClient, ops ...ovsdb.Operation) error {
	ids, err := db.transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("%s writing to %s: %w", who, db.label, err)
	}
	for _, op := range ops {
		m := mark{db: db.label, table: op.Table, who: who}
		switch op.Op {
		case ovsdb.OperationInsert:
			m.op, m.uuid, ids = '+', ids[0], ids[1:]
		case ovsdb.OperationUpdate, ovsdb.OperationMutate:
			m.op, m.uuid = '~', whereUUID(op)
		case ovsdb.OperationDelete:
			m.op, m.uuid = '-', whereUUID(op)
		default:
			continue
		}
		d.marks = append(d.marks, m)
	}
	return nil
}

func whereUUID(op ovsdb.Operation) string {
	for _, c := range op.Where {
		if c.Column == "_uuid" {
			if u, ok := c.Value.(ovsdb.UUID); ok {
				return u.GoUUID
			}
		}
	}
	return ""
}

// claim returns who wrote a row change: the demo's actor, or vtepgw.
func (d *demo) claim(e entry) string {
	for i, m := range d.marks {
		if m.db == e.db && m.table == e.table && m.uuid == e.uuid && m.op == e.op {
			d.marks = slices.Delete(d.marks, i, i+1)
			return m.who + " (demo)"
		}
	}
	return "vtepgw"
}

// expect waits until check passes (measuring from t0), lets the databases
// settle, and prints what changed.
func (d *demo) expect(t0 time.Time, what string, check func() error) error {
	_, err := d.verify(t0, what, check)
	return err
}

// expectResult is expect for a reaction of vtepgw; its time is reported
// in the summary.
func (d *demo) expectResult(t0 time.Time, what string, check func() error) error {
	took, err := d.verify(t0, what, check)
	if err == nil {
		d.results = append(d.results, result{what: what, took: took})
	}
	return err
}

func (d *demo) verify(t0 time.Time, what string, check func() error) (time.Duration, error) {
	took, err := d.wait(t0, what, check)
	if err == nil {
		// The checks read the caches; let the story catch up with them.
		err = errors.Join(d.sb.barrier(d.ctx, d.opts.timeout), d.sw.barrier(d.ctx, d.opts.timeout))
	}
	d.flush(t0)
	d.marks = nil
	if err != nil {
		d.printf("   FAILED: %v\n", err)
		return 0, err
	}
	d.printf("   ok: %s (%s)\n", what, ms(took))
	return took, nil
}

func (d *demo) wait(t0 time.Time, what string, check func() error) (time.Duration, error) {
	deadline := time.Now().Add(d.opts.timeout)
	for {
		err := check()
		if err == nil {
			return time.Since(t0), nil
		}
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		if d.ctx.Err() != nil {
			return 0, fmt.Errorf("%s: interrupted (%v) while waiting: %s", what, context.Cause(d.ctx), msg)
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: not reached within %s: %s", what, d.opts.timeout, msg)
		}
		time.Sleep(time.Millisecond)
	}
}

// flush waits for 100 ms without changes (at most 1 s), so that vtepgw's
// follow-up batches land in this step, then prints the step's changes in
// arrival order, relative to t0.
func (d *demo) flush(t0 time.Time) {
	start := time.Now()
	for time.Since(start) < time.Second && (time.Since(start) < 100*time.Millisecond || time.Since(d.log.lastAt()) < 100*time.Millisecond) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, e := range bursts(d.log.take()) {
		at := "+" + ms(e.at.Sub(t0))
		switch e.kind {
		case entryRow:
			d.printf("   %10s  %-13s %-4s  %c %s\n", at, d.claim(e), e.db, e.op, e.text)
		case entryBatch:
			d.printf("   %10s  %-13s %-4s  %s\n", at, "vtepgw", "", e.text)
		case entryLog:
			d.printf("   %10s  %-13s %-4s  %s\n", at, "vtepgw", "log", e.text)
		}
	}
}

// tableOrder lists tables in the order a reader expects to meet them.
var tableOrder = []string{
	"SB_Global", "Datapath_Binding", "Chassis", "Encap", "Port_Binding", "Multicast_Group", "FDB",
	"Global", "Physical_Switch", "Physical_Port", "Logical_Switch",
	"Ucast_Macs_Local", "Mcast_Macs_Local", "Ucast_Macs_Remote", "Mcast_Macs_Remote",
}

// bursts makes the order within one database update deterministic: the
// server sends one transaction's rows together, and libovsdb delivers them
// in map order. Row changes of one database that arrive less than 1 ms
// apart count as one burst; a burst is sorted by table, then row, and
// shown at the time of its first change.
func bursts(es []entry) []entry {
	rank := func(t string) int {
		if i := slices.Index(tableOrder, t); i >= 0 {
			return i
		}
		return len(tableOrder)
	}
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[i].kind == entryRow && es[j].kind == entryRow && es[j].db == es[i].db && es[j].at.Sub(es[j-1].at) < time.Millisecond {
			j++
		}
		b := es[i:j]
		slices.SortStableFunc(b, func(x, y entry) int {
			if c := rank(x.table) - rank(y.table); c != 0 {
				return c
			}
			return strings.Compare(x.text, y.text)
		})
		for k := range b {
			b[k].at = b[0].at
		}
		i = j
	}
	return es
}

// onBatch records the gateway's reconcile batches.
func (d *demo) onBatch(s vtep.BatchStats) {
	text := fmt.Sprintf("reconcile batch: %s -> %s (southbound %s, switch %s)", plural(s.Keys, "key"), plural(s.SwitchChanges, "switch change"), ms(s.Southbound), ms(s.Switch))
	if s.Err != nil {
		text += "; error: " + s.Err.Error()
	}
	d.log.add(entry{kind: entryBatch, text: text})
}

// vtepgwLogger returns the logger vtepgw runs with: info and above appear
// in the story; everything goes to the buffer dumped on failure, or to
// errOut with verbose.
func (d *demo) vtepgwLogger() *slog.Logger {
	var w io.Writer = d.vtepLog
	level := slog.LevelInfo
	if d.opts.verbose {
		w, level = d.opts.errOut, slog.LevelDebug
	}
	return slog.New(&storyHandler{text: slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}), log: d.log})
}

// storyHandler copies vtepgw's info and higher records into the story.
type storyHandler struct {
	text slog.Handler
	log  *eventLog
}

func (h *storyHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.text.Enabled(ctx, l)
}

func (h *storyHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		var b strings.Builder
		if r.Level > slog.LevelInfo {
			b.WriteString(r.Level.String() + ": ")
		}
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		h.log.add(entry{kind: entryLog, at: r.Time, text: b.String()})
	}
	if h.text.Enabled(ctx, r.Level) {
		return h.text.Handle(ctx, r)
	}
	return nil
}

func (h *storyHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &storyHandler{text: h.text.WithAttrs(as), log: h.log}
}

func (h *storyHandler) WithGroup(name string) slog.Handler {
	return &storyHandler{text: h.text.WithGroup(name), log: h.log}
}
