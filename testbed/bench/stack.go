package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// Controller kinds.
const (
	kindVTEPGW = "vtepgw"
	kindRef    = "ovn-controller-vtep"
)

// Tables watched in the databases' files.
const (
	tPB  = "Port_Binding"
	tCh  = "Chassis"
	tUMR = "Ucast_Macs_Remote"
)

// errTimeout marks a wait that ran out of time (the reference at large
// scale): the run stops there and the report says so.
var errTimeout = errors.New("timeout")

// stack is one fresh OVN + hardware_vtep stack with one controller.
type stack struct {
	cfg    *config
	t      *benchTB
	kind   string
	prefix string // comment prefix of the controller's transactions
	ovn    *testbed.OVN
	vtep   *testbed.VTEP
	proc   *testbed.Process
	sbf    *follower // SB database file
	vtf    *follower // hardware_vtep database file
	sb     *testbed.OVSDBConn
	chUUID []string // chassis sc01.. UUIDs
	bound  int      // bulk ports 0..bound-1 are bound
	seq    int      // makes transaction comments unique
	gprof  *goProfiler
	// churnHooks run right before a churn's first SB transaction and
	// right after its CPU is read (bystanders read their clocks there).
	churnHooks struct{ before, after func() }
}

func (s *stack) logf(format string, args ...any) {
	log.Printf("[%s] %s", s.kind, fmt.Sprintf(format, args...))
}

func bulkPort(i int) string  { return fmt.Sprintf("bp%05d", i) }
func churnPort(i int) string { return fmt.Sprintf("cp%03d", i) }

func bulkMACs(i, k int) []string {
	macs := make([]string, k)
	for j := range k {
		m := uint32(i*k + j + 1)
		macs[j] = fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", m>>24, m>>16&255, m>>8&255, m&255)
	}
	return macs
}

func churnMAC(i int) string { return fmt.Sprintf("02:01:00:00:%02x:%02x", i>>8&255, i&255) }

// setup starts the databases and northd, builds the topology (NLS vtep
// logical switches bound to NLS NB logical switches through vtep ports,
// CHASSIS fake hypervisor chassis with a vxlan encap), starts the
// controller and waits until it has attached every logical switch.
func (s *stack) setup() {
	t, cfg := s.t, s.cfg
	s.ovn = testbed.StartOVN(t)
	s.vtep = testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})

	vargs := []string{"add-ps", "br-vtep", "--", "set", "Physical_Switch", "br-vtep", "tunnel_ips=1.2.3.4", "--", "add-port", "br-vtep", "p0"}
	nargs := []string{}
	for k := range cfg.nls {
		ls, vls := "ls"+strconv.Itoa(k), "lswitch"+strconv.Itoa(k)
		vargs = append(vargs, "--", "add-ls", vls, "--", "bind-ls", "br-vtep", "p0", strconv.Itoa(k), vls)
		nargs = append(nargs, "--", "ls-add", ls, "--", "lsp-add", ls, ls+"-vtep",
			"--", "lsp-set-type", ls+"-vtep", "vtep",
			"--", "lsp-set-options", ls+"-vtep", "vtep-physical-switch=br-vtep", "vtep-logical-switch="+vls,
			"--", "lsp-set-addresses", ls+"-vtep", "unknown")
	}
	s.vtep.MustVtep(t, vargs...)
	s.ovn.MustNB(t, nargs[1:]...)
	var cargs []string
	for c := 1; c <= cfg.chassis; c++ {
		cargs = append(cargs, "--", "chassis-add", fmt.Sprintf("sc%02d", c), "vxlan", fmt.Sprintf("127.0.101.%d", c))
	}
	s.ovn.MustSB(t, cargs[1:]...)
	if err := s.ovn.Sync(); err != nil {
		t.Fatal(err)
	}

	var err error
	if s.sbf, err = newFollower(s.ovn.SB.DBPath("OVN_Southbound"), map[string]string{tPB: "logical_port", tCh: "name"}, tPB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.sbf.close)
	if s.vtf, err = newFollower(s.vtep.DBPath("hardware_vtep"), nil, tUMR); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.vtf.close)
	for c := 1; c <= cfg.chassis; c++ {
		u, ok := s.sbf.uuidOf(tCh, fmt.Sprintf("sc%02d", c))
		if !ok {
			t.Fatalf("chassis sc%02d not in the SB file", c)
		}
		s.chUUID = append(s.chUUID, u)
	}
	if s.sb, err = dialRPC(filepath.Join(s.ovn.Dir(), "ovnsb_db.sock")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.sb.Close)

	switch s.kind {
	case kindRef:
		s.proc = testbed.StartReferenceController(t, s.vtep.VtepRemote(), s.ovn.SBRemote()).Process
		s.prefix = "ovn-controller-vtep"
	default:
		args := strings.Fields(cfg.vtepgwArgs)
		if cfg.pprofDir != "" {
			port, err := testbed.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			s.gprof = &goProfiler{dir: cfg.pprofDir, addr: "127.0.0.1:" + strconv.Itoa(port)}
			args = append(args, "--metrics-addr="+s.gprof.addr, "--pprof")
		}
		s.proc = startVTEPGW(t, cfg.vtepgw, s.ovn.SBRemote(), s.vtep.VtepRemote(), args...)
		s.prefix = "vtepgw:"
	}
	for k := range cfg.nls {
		s.vtep.MustVtep(t, "wait-until", "Logical_Switch", "lswitch"+strconv.Itoa(k), "tunnel_key!=0", "tunnel_key!=[]")
	}
}

// startVTEPGW starts the daemon the way ovn-controller-vtep is started and
// waits for its control socket.
func startVTEPGW(t *benchTB, bin, sbRemote, vtepRemote string, extra ...string) *testbed.Process {
	return testbed.StartVtepgw(t, testbed.VtepgwOptions{Bin: bin, SBRemote: sbRemote, VTEPRemotes: []string{vtepRemote}, Args: extra}).Process
}

// createPorts adds every bulk port (K MACs each) and every churn port (one
// MAC each) in one NB transaction, round-robin over the logical switches,
// and waits until northd has created their Port_Bindings. Then, unless
// -keep-northd, it stops northd: from here on the SB only changes by our
// bindings, and northd's recompute of 50k-MAC logical flows after each
// binding does not compete with the controller for the CPUs.
func (s *stack) createPorts() {
	t, cfg := s.t, s.cfg
	nb, err := dialRPC(filepath.Join(s.ovn.Dir(), "ovnnb_db.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	var ops []map[string]any
	members := make([][]any, cfg.nls)
	add := func(name string, ls int, addrs []string) {
		ref := "p" + strconv.Itoa(len(ops))
		ops = append(ops, map[string]any{"op": "insert", "table": "Logical_Switch_Port", "uuid-name": ref,
			"row": map[string]any{"name": name, "addresses": []any{"set", addrs}}})
		members[ls] = append(members[ls], []any{"named-uuid", ref})
	}
	for i := range cfg.bulkPorts() {
		add(bulkPort(i), i%cfg.nls, bulkMACs(i, cfg.macsPerPort))
	}
	for i := range cfg.churn {
		add(churnPort(i), i%cfg.nls, []string{churnMAC(i)})
	}
	for k := range cfg.nls {
		ops = append(ops, map[string]any{"op": "mutate", "table": "Logical_Switch",
			"where":     [][]any{{"name", "==", "ls" + strconv.Itoa(k)}},
			"mutations": [][]any{{"ports", "insert", []any{"set", members[k]}}}})
	}
	ops = append(ops, testbed.CommentOp("bench: create ports"))
	start := time.Now()
	if _, err := nb.Transact("OVN_Northbound", ops...); err != nil {
		t.Fatal(err)
	}
	want := cfg.nls + cfg.bulkPorts() + cfg.churn
	if err := s.sbf.wait(cfg.timeout, 20*time.Millisecond, "northd creates the Port_Bindings", func() bool { return s.sbf.count(tPB) >= want }); err != nil {
		t.Fatal(err)
	}
	if err := s.ovn.Sync(); err != nil {
		t.Fatal(err)
	}
	s.logf("%d ports (%d MACs) created through NB, northd done in %v", cfg.bulkPorts()+cfg.churn, cfg.bulkPorts()*cfg.macsPerPort+cfg.churn, time.Since(start).Round(time.Millisecond))
	if !cfg.keepNorthd {
		if err := s.ovn.StopNorthd(); err != nil {
			t.Fatal(err)
		}
	}
}

// pbOp binds (chassis >= 0) or unbinds (chassis < 0) one Port_Binding,
// as a hypervisor's ovn-controller (or ovn-sbctl lsp-bind) does.
func (s *stack) pbOp(port string, chassis int) map[string]any {
	u, ok := s.sbf.uuidOf(tPB, port)
	if !ok {
		s.t.Fatalf("no Port_Binding %s", port)
	}
	row := map[string]any{"chassis": []any{"set", []any{}}, "up": false}
	if chassis >= 0 {
		row = map[string]any{"chassis": testbed.Ref(s.chUUID[chassis%len(s.chUUID)]), "up": true}
	}
	return map[string]any{"op": "update", "table": tPB, "where": [][]any{{"_uuid", "==", testbed.Ref(u)}}, "row": row}
}

// commitSB runs ops as one SB transaction with a unique comment and
// returns the transaction as the SB file recorded it.
func (s *stack) commitSB(what string, ops []map[string]any) (record, error) {
	s.seq++
	comment := fmt.Sprintf("bench: %s #%d", what, s.seq)
	mark := s.sbf.mark()
	if _, err := s.sb.Transact("OVN_Southbound", append(ops, testbed.CommentOp(comment))...); err != nil {
		return record{}, err
	}
	return s.sbf.findComment(mark, comment, 10*time.Second)
}

// bulkOps binds or unbinds bulk ports [from, to), round-robin over the
// chassis.
func (s *stack) bulkOps(from, to int, bind bool) []map[string]any {
	ops := make([]map[string]any, 0, to-from)
	for i := from; i < to; i++ {
		ch := -1
		if bind {
			ch = i
		}
		ops = append(ops, s.pbOp(bulkPort(i), ch))
	}
	return ops
}

// waitUMR waits until the switch has exactly n Ucast_Macs_Remote rows and
// returns the first transaction at or after mark that left it with n.
func (s *stack) waitUMR(n, mark int) (record, error) {
	err := s.vtf.wait(s.cfg.timeout, 2*time.Millisecond, fmt.Sprintf("%s: switch has %d remote MACs", s.kind, n), func() bool {
		return s.vtf.count(tUMR) == n
	})
	if err != nil {
		if !errors.Is(err, testbed.ErrDBFileShrank) {
			err = fmt.Errorf("%w: %v (it has %d)", errTimeout, err, s.vtf.count(tUMR))
		}
		return record{}, err
	}
	for _, r := range s.vtf.since(mark) {
		if r.After[tUMR] == n {
			return r, nil
		}
	}
	return record{}, fmt.Errorf("switch had %d remote MACs before the change", n)
}

// waitIdle waits until the controller and the SB and switch ovsdb-servers
// used less than 1 ms of CPU each in 250 ms (at most 60 s), so one phase's
// tail (e.g. the server still streaming the update for 50k rows the
// controller just wrote) does not leak into the next phase.
func (s *stack) waitIdle() {
	procs := []*testbed.Process{s.proc, s.ovn.SB.Process(), s.vtep.Process()}
	names := []string{s.kind, "ovsdb-sb", "ovsdb-vtep"}
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	prev := make([]time.Duration, len(procs))
	read := func(out []time.Duration) {
		for i, p := range procs {
			c, err := cpuTime(p.PID())
			if err != nil {
				s.t.Fatal(err)
			}
			out[i] = c
		}
	}
	read(prev)
	cur := make([]time.Duration, len(procs))
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		read(cur)
		busy := false
		var parts []string
		for i := range procs {
			d := cur[i] - prev[i]
			if d >= time.Millisecond {
				busy = true
			}
			parts = append(parts, names[i]+" "+ms(d))
		}
		if s.cfg.verbose {
			s.logf("idle? +%v: %s", time.Since(start).Round(time.Millisecond), strings.Join(parts, ", "))
		}
		if !busy {
			return
		}
		copy(prev, cur)
	}
	s.logf("warning: still busy after 60 s")
}

// profile starts the profilers asked for (-perf, -pprof) on the controller
// for one phase and returns the function that stops them.
func (s *stack) profile(name string) func() {
	stopGo := func() {}
	if s.gprof != nil {
		stopGo = s.gprof.start(s, name)
	}
	stopPerf := s.perfRecord(name)
	return func() {
		stopPerf()
		stopGo()
	}
}

// perfRecord starts `perf record` on the controller when -perf is set and
// returns the function that stops it (by its PID) and waits.
func (s *stack) perfRecord(name string) func() {
	if s.cfg.perfDir == "" {
		return func() {}
	}
	out := filepath.Join(s.cfg.perfDir, s.kind+"-"+name+".data")
	cmd := exec.Command("perf", "record", "-q", "-F", "1999", "-g", "-p", strconv.Itoa(s.proc.PID()), "-o", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		s.logf("perf: %v", err)
		return func() {}
	}
	time.Sleep(300 * time.Millisecond) // let perf attach
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		s.logf("profile written to %s", out)
	}
}

func (s *stack) cpu() time.Duration {
	c, err := cpuTime(s.proc.PID())
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *stack) rss() testbed.MemStats {
	m, err := s.proc.Memory()
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// connectionDrops counts the database connections the controller's log
// says it lost (vtepgw: "ovsdb connection lost"; ovn-controller-vtep, via
// OVS's reconnect module: "connection dropped" / "connection closed").
func (s *stack) connectionDrops() int {
	data, err := os.ReadFile(s.proc.LogPath())
	if err != nil {
		s.logf("warning: %v", err)
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "ovsdb connection lost") ||
			(strings.Contains(line, "|reconnect|") && (strings.Contains(line, "connection dropped") || strings.Contains(line, "connection closed"))) {
			n++
		}
	}
	return n
}

// bindPhase is one SB transaction binding many MACs at once.
type bindPhase struct {
	MACs    int           // MACs the transaction bound
	Latency time.Duration // SB commit -> switch commit that completed it
	First   time.Duration // SB commit -> first controller switch commit
	Txns    int           // controller switch transactions until complete
	CPU     time.Duration // controller CPU, bind until idle
	RSS     uint64        // controller RSS after it
}

// bindBulk binds bulk ports [s.bound, to) in one SB transaction and
// measures until the switch has every MAC.
func (s *stack) bindBulk(to int) (bindPhase, error) {
	from := s.bound
	k := s.cfg.macsPerPort
	ph := bindPhase{MACs: (to - from) * k}
	ops := s.bulkOps(from, to, true)
	s.waitIdle()
	defer s.profile(fmt.Sprintf("bind-%d-%d", from*k, to*k))()
	vmark := s.vtf.mark()
	c0 := s.cpu()
	rec, err := s.commitSB(fmt.Sprintf("bind %d ports", to-from), ops)
	if err != nil {
		return ph, err
	}
	s.bound = to
	done, err := s.waitUMR(to*k, vmark)
	if err != nil {
		return ph, err
	}
	s.waitIdle()
	ph.CPU = s.cpu() - c0
	ph.Latency = done.Time.Sub(rec.Time)
	ph.First = -1
	for _, r := range s.vtf.since(vmark) {
		if r.Index > done.Index {
			break
		}
		if r.by(s.prefix) {
			if ph.First < 0 {
				ph.First = r.Time.Sub(rec.Time)
			}
			ph.Txns++
		}
	}
	if !done.by(s.prefix) {
		s.logf("warning: completing switch transaction not by the controller: %v", done)
	}
	ph.RSS = s.rss().RSS
	return ph, nil
}

// unbindAll unbinds every bound bulk port in one SB transaction and waits
// until the switch has no remote MAC left.
func (s *stack) unbindAll() error {
	if s.bound == 0 {
		return nil
	}
	vmark := s.vtf.mark()
	if _, err := s.commitSB("unbind all", s.bulkOps(0, s.bound, false)); err != nil {
		return err
	}
	s.bound = 0
	_, err := s.waitUMR(0, vmark)
	return err
}

// churnPhase is CHURN single-port changes sent back to back.
type churnPhase struct {
	Level    int           // remote MACs installed before
	Changes  int           // single-port SB transactions
	CPU      time.Duration // controller CPU for all of them, until idle
	PerTxn   time.Duration // CPU / Changes
	Lag      time.Duration // last SB commit -> last switch commit
	Total    time.Duration // first SB commit -> last switch commit
	SwitchTx int           // controller switch transactions for them
	Sent     time.Duration // time to send them all (each waits for its reply)
	// Windows is the CPU per change of each window when the churn was
	// repeated (-churn-repeat); the fields above are then the sums over
	// all windows (PerTxn: all CPU over all changes) and the last
	// window's latencies.
	Windows []time.Duration
}

// churn binds the churn ports one SB transaction each, back to back over
// one connection (each waits for its reply, as an ovn-controller's
// transaction would), then unbinds them again in one transaction.
func (s *stack) churn() (churnPhase, error) {
	n := s.cfg.churn
	level := s.bound * s.cfg.macsPerPort
	ph := churnPhase{Level: level, Changes: n}
	opsets := make([][]map[string]any, n)
	for i := range n {
		opsets[i] = []map[string]any{s.pbOp(churnPort(i), i)}
	}
	s.waitIdle()
	stop := s.profile(fmt.Sprintf("churn-%d", level))
	vmark, smark := s.vtf.mark(), s.sbf.mark()
	first := s.seq + 1
	if s.churnHooks.before != nil {
		s.churnHooks.before()
	}
	c0 := s.cpu()
	start := time.Now()
	for i := range n {
		s.seq++
		ops := append(opsets[i], testbed.CommentOp(fmt.Sprintf("bench: churn #%d", s.seq)))
		if _, err := s.sb.Transact("OVN_Southbound", ops...); err != nil {
			return ph, err
		}
	}
	ph.Sent = time.Since(start)
	last := s.seq
	done, err := s.waitUMR(level+n, vmark)
	if err != nil {
		return ph, err
	}
	s.waitIdle()
	ph.CPU = s.cpu() - c0
	if s.churnHooks.after != nil {
		s.churnHooks.after()
	}
	stop()
	ph.PerTxn = ph.CPU / time.Duration(n)
	recFirst, err := s.sbf.findComment(smark, fmt.Sprintf("bench: churn #%d", first), 10*time.Second)
	if err != nil {
		return ph, err
	}
	recLast, err := s.sbf.findComment(smark, fmt.Sprintf("bench: churn #%d", last), 10*time.Second)
	if err != nil {
		return ph, err
	}
	ph.Lag = done.Time.Sub(recLast.Time)
	ph.Total = done.Time.Sub(recFirst.Time)
	for _, r := range s.vtf.since(vmark) {
		if r.Index > done.Index {
			break
		}
		if r.by(s.prefix) {
			ph.SwitchTx++
		}
	}
	// Reset: unbind the churn ports again.
	ops := make([]map[string]any, n)
	for i := range n {
		ops[i] = s.pbOp(churnPort(i), -1)
	}
	vmark = s.vtf.mark()
	if _, err := s.commitSB("unbind churn", ops); err != nil {
		return ph, err
	}
	_, err = s.waitUMR(level, vmark)
	return ph, err
}

// result is everything measured on one stack.
type result struct {
	Kind     string
	Setup    time.Duration
	RSSIdle  uint64              // after start, topology attached, no ports
	RSSPorts uint64              // all ports created, none bound
	CPUPorts time.Duration       // controller CPU while they were created
	Conv     map[int][]bindPhase // N -> runs: N MACs bound from zero in one txn
	Grow     map[int]bindPhase   // level -> bind up to it from the previous size
	Churn    map[int]churnPhase  // level -> churn
	RSSAt    map[int]uint64      // size -> RSS once reached
	HWM      uint64              // peak RSS
	Drops    int                 // database connections the controller lost and re-opened
	Stopped  string              // why the run stopped early ("" if it did not)
	Skipped  []int               // sizes not run (above -ref-max)
	// Bystanders is a second churn at the largest level, watched by bare
	// SB clients (vtepgw's stack only; nil when not run).
	Bystanders *bystanderPhase
}

// runStack runs every phase on a fresh stack for one controller.
func runStack(cfg *config, kind string) (res *result, err error) {
	res = &result{Kind: kind, Conv: map[int][]bindPhase{}, Grow: map[int]bindPhase{}, Churn: map[int]churnPhase{}, RSSAt: map[int]uint64{}}
	t := newTB(kind, cfg.keep, cfg.verbose)
	err = t.Run(func() error {
		s := &stack{cfg: cfg, t: t, kind: kind}
		start := time.Now()
		s.setup()
		s.waitIdle()
		res.RSSIdle = s.rss().RSS
		c0 := s.cpu()
		stop := s.profile("create-ports")
		s.createPorts()
		s.waitIdle()
		res.CPUPorts = s.cpu() - c0
		stop()
		res.RSSPorts = s.rss().RSS
		res.Setup = time.Since(start)
		s.logf("set up in %v; idle RSS %s, with %d unbound ports %s (controller CPU for them %v)", res.Setup.Round(time.Millisecond), mb(res.RSSIdle), cfg.bulkPorts()+cfg.churn, mb(res.RSSPorts), ms(res.CPUPorts))

		maxSize := cfg.maxSize()
		if kind == kindRef && cfg.refMax < maxSize {
			maxSize = cfg.refMax
		}
		k := cfg.macsPerPort
		for _, size := range cfg.sizes() {
			if size > maxSize {
				res.Skipped = append(res.Skipped, size)
				continue
			}
			if err := s.runSize(res, size, k); err != nil {
				res.Stopped = fmt.Sprintf("stopped at %d MACs: %v", size, err)
				s.logf("%s", res.Stopped)
				if errors.Is(err, errTimeout) {
					break
				}
				return err
			}
			res.RSSAt[size] = s.rss().RSS
		}
		res.HWM = s.rss().HWM
		res.Drops = s.connectionDrops()
		return nil
	})
	return res, err
}

func (s *stack) runSize(res *result, size, k int) error {
	cfg := s.cfg
	if slices.Contains(cfg.converge, size) {
		for r := range cfg.repeat {
			if err := s.unbindAll(); err != nil {
				return err
			}
			ph, err := s.bindBulk(size / k)
			if err != nil {
				return err
			}
			res.Conv[size] = append(res.Conv[size], ph)
			s.logf("%d MACs in one SB txn (run %d): SB commit -> switch commit %v (first %v, %d txn), CPU %v", size, r+1, ms(ph.Latency), ms(ph.First), ph.Txns, ms(ph.CPU))
		}
	} else if s.bound*k != size {
		if s.bound*k > size {
			if err := s.unbindAll(); err != nil {
				return err
			}
		}
		from := s.bound * k
		ph, err := s.bindBulk(size / k)
		if err != nil {
			return err
		}
		res.Grow[size] = ph
		s.logf("%d -> %d MACs in one SB txn: SB commit -> switch commit %v (first %v, %d txn), CPU %v", from, size, ms(ph.Latency), ms(ph.First), ph.Txns, ms(ph.CPU))
	}
	if slices.Contains(cfg.levels, size) && cfg.churn > 0 {
		var ph churnPhase
		var windows []time.Duration
		var cpu, sent time.Duration
		var changes, txs int
		for w := range max(cfg.churnRepeat, 1) {
			one, err := s.churn()
			if err != nil {
				return err
			}
			s.logf("churn at %d MACs, window %d: %v per change", size, w+1, us(one.PerTxn))
			windows = append(windows, one.PerTxn)
			cpu, sent, changes, txs = cpu+one.CPU, sent+one.Sent, changes+one.Changes, txs+one.SwitchTx
			ph = one
		}
		ph.CPU, ph.Sent, ph.Changes, ph.SwitchTx, ph.Windows = cpu, sent, changes, txs, windows
		ph.PerTxn = cpu / time.Duration(changes)
		res.Churn[size] = ph
		s.logf("churn at %d MACs: %d one-port txns (sent in %v), CPU %v = %v per change; last SB commit -> last switch commit %v, %d switch txns",
			size, ph.Changes, ms(ph.Sent), ms(ph.CPU), us(ph.PerTxn), ms(ph.Lag), ph.SwitchTx)
		if s.kind == kindVTEPGW && cfg.bystanders && size == slices.Max(cfg.levels) {
			bp, err := s.churnWithBystanders()
			if err != nil {
				return fmt.Errorf("churn with bystanders: %w", err)
			}
			res.Bystanders = bp
			s.logf("churn at %d MACs with bystanders: CPU per change vtepgw %v, libovsdb client %v, raw reader %v, decode %v",
				size, us(bp.PerTxn[kindVTEPGW]), us(bp.PerTxn[bystanderLibovsdb]), us(bp.PerTxn[bystanderRaw]), us(bp.PerTxn[bystanderDecode]))
		}
	}
	return nil
}

// churnWithBystanders runs the churn again with the bystanders attached to
// the SB and reads every process's CPU over the same window.
func (s *stack) churnWithBystanders() (*bystanderPhase, error) {
	sock := filepath.Join(s.ovn.Dir(), "ovnsb_db.sock")
	var bys []*bystander
	defer func() {
		for _, b := range bys {
			b.stop()
		}
	}()
	for _, mode := range []string{bystanderLibovsdb, bystanderRaw, bystanderDecode} {
		b, err := startBystander(mode, sock)
		if err != nil {
			return nil, err
		}
		bys = append(bys, b)
	}
	// Their initial monitor reply holds every SB row; let them digest it.
	for _, b := range bys {
		if err := waitCPUIdle(b.cpu, 250*time.Millisecond, 30*time.Second); err != nil {
			return nil, fmt.Errorf("bystander %s: %w", b.mode, err)
		}
	}
	bp := &bystanderPhase{PerTxn: map[string]time.Duration{}}
	c0 := make([]time.Duration, len(bys))
	var cerr error
	read := func(into []time.Duration) {
		for i, b := range bys {
			c, err := b.cpu()
			if err != nil {
				cerr = err
			}
			into[i] = c
		}
	}
	s.churnHooks.before = func() { read(c0) }
	s.churnHooks.after = func() {
		c1 := make([]time.Duration, len(bys))
		read(c1)
		for i, b := range bys {
			bp.PerTxn[b.mode] = (c1[i] - c0[i]) / time.Duration(s.cfg.churn)
		}
	}
	defer func() { s.churnHooks.before, s.churnHooks.after = nil, nil }()
	ph, err := s.churn()
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	bp.Level, bp.Changes, bp.Sent = ph.Level, ph.Changes, ph.Sent
	bp.PerTxn[kindVTEPGW] = ph.PerTxn
	return bp, nil
}

// waitCPUIdle waits until clock has not moved for quiet.
func waitCPUIdle(clock func() (time.Duration, error), quiet, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last, err := clock()
	if err != nil {
		return err
	}
	still := time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		c, err := clock()
		if err != nil {
			return err
		}
		if c != last {
			last, still = c, time.Now()
		} else if time.Since(still) >= quiet {
			return nil
		}
	}
	return fmt.Errorf("still busy after %v", timeout)
}
