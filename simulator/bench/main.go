// Command bench measures vtepsim against Debian's ovs-vtep, side by side in
// one run, on the same machine and the same OVS build:
//
//	go run ./simulator/bench -out docs/BENCHMARKS-vtepsim.md
//
// For each simulator it starts a fresh ovsdb-server + ovs-vswitchd (dummy
// datapath) with switch br-vtep (p0, p1, tunnel IP 1.2.3.4), binds p0 to
// logical switch ls0 (VNI 1) and measures:
//   - idle CPU (process and children) and RSS;
//   - 1000 remote MACs on 10 locators, written in one hardware_vtep
//     transaction → all 1000 flows visible in the LS bridge;
//   - one remote MAC change → its flow visible (vtepsim only: repeated);
//   - learning latency: one frame → its Ucast_Macs_Local row;
//   - learning burst: N frames with distinct source MACs injected without
//     loss → all N published in Ucast_Macs_Local (or how many were).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	vtepdb "github.com/vtepgw/vtepgw/internal/vtepfull"
	"github.com/vtepgw/vtepgw/simulator/lab"
	"github.com/vtepgw/vtepgw/simulator/openflow"
)

type result struct {
	name          string
	idleCPU       float64 // fraction of a core
	vswitchdIdle  float64
	rssIdleKB     int
	rssAfterKB    int
	macs1000      time.Duration
	macs1000CPU   time.Duration
	oneMAC        []time.Duration
	learnLatency  []time.Duration
	burst         []burstResult
	notes         []string
	vswitchdRSSKB int
}

type burstResult struct {
	n, published int
	inject, all  time.Duration
	cpu          [3]time.Duration // simulator, ovs-vswitchd, ovsdb-server
}

var (
	out      = flag.String("out", "", "write the Markdown report here (default stdout)")
	idleFor  = flag.Duration("idle", 10*time.Second, "idle CPU measurement window")
	bigBurst = flag.Int("burst", 10000, "large learning burst for vtepsim")
	skipRef  = flag.Bool("skip-ovs-vtep", false, "measure vtepsim only")
)

var startLoad string

func main() {
	flag.Parse()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		startLoad = strings.TrimSpace(string(b))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if miss := lab.MissingBinaries(); len(miss) > 0 {
		log.Error("missing OVS programs", "missing", miss)
		os.Exit(1)
	}
	tmp, err := os.MkdirTemp("", "vtepsim-bench-")
	if err != nil {
		log.Error("temp dir", "err", err)
		os.Exit(1)
	}
	if os.Getenv("VTEPSIM_BENCH_KEEP") == "" {
		defer os.RemoveAll(tmp)
	} else {
		log.Info("keeping", "dir", tmp)
	}
	bin := filepath.Join(tmp, "vtepsim.bin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vtepsim")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		log.Error("build vtepsim (run from the repository root)", "err", err)
		os.Exit(1)
	}
	var results []*result
	impls := []string{"ovs-vtep", "vtepsim"}
	if *skipRef {
		impls = impls[1:]
	}
	for _, impl := range impls {
		log.Info("measuring", "impl", impl)
		r, err := measure(log, filepath.Join(tmp, impl), impl, bin)
		if err != nil {
			log.Error("measure", "impl", impl, "err", err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	report := render(results)
	if *out == "" {
		fmt.Print(report)
		return
	}
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		log.Error("write report", "err", err)
		os.Exit(1)
	}
	log.Info("wrote", "file", *out)
}

// procCPU returns utime+stime+cutime+cstime of a process.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat: %w", err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // fields 14-17 of stat
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil // USER_HZ = 100
}

func procRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(l)[1])
			return v
		}
	}
	return 0
}

type bench struct {
	env  *lab.Env
	log  *slog.Logger
	vt   client.Client
	mu   sync.Mutex
	seen map[string]time.Time // UML MAC → first seen
}

func (b *bench) onUML(m model.Model) {
	if u, ok := m.(*vtepdb.UcastMacsLocal); ok {
		b.mu.Lock()
		if _, ok := b.seen[u.MAC]; !ok {
			b.seen[u.MAC] = time.Now()
		}
		b.mu.Unlock()
	}
}

func (b *bench) connect(ctx context.Context) error {
	m, err := vtepdb.FullDatabaseModel()
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	l := logr.Discard()
	c, err := client.NewOVSDBClient(m, client.WithEndpoint(b.env.Remote()), client.WithLogger(&l))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	u := &vtepdb.UcastMacsLocal{}
	c.Cache().AddEventHandler(&cache.EventHandlerFuncs{AddFunc: func(_ string, m model.Model) { b.onUML(m) }})
	if _, err := c.Monitor(ctx, c.NewMonitor(client.WithTable(u, &u.MAC, &u.LogicalSwitch, &u.Locator))); err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	b.vt = c
	return nil
}

func (b *bench) waitCmd(ctx context.Context, what string, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func measure(log *slog.Logger, dir, impl, bin string) (*result, error) {
	ctx := context.Background()
	env, err := lab.Start(ctx, dir, lab.StartOptions{Log: log})
	if err != nil {
		return nil, err
	}
	defer env.Stop()
	b := &bench{env: env, log: log, seen: map[string]time.Time{}}
	if err := env.AddSwitch(ctx, "br-vtep", 2, "1.2.3.4"); err != nil {
		return nil, err
	}
	var p *lab.Proc
	if impl == "ovs-vtep" {
		py := "/usr/bin/python3"
		script, err := lab.LookPath("ovs-vtep")
		if err != nil {
			return nil, err
		}
		p, err = env.Spawn(ctx, "ovs-vtep", py, script, "--log-file="+filepath.Join(dir, "ovs-vtep.log"),
			"--pidfile="+filepath.Join(dir, "ovs-vtep.pid"), "br-vtep")
		if err != nil {
			return nil, err
		}
	} else {
		p, err = env.Spawn(ctx, "vtepsim", bin, "--db="+env.Remote(), "--rundir="+dir,
			"--log-file="+filepath.Join(dir, "vtepsim.log"), "-vconsole:off", "-v", "br-vtep")
		if err != nil {
			return nil, err
		}
	}
	r := &result{name: impl}
	if err := b.connect(ctx); err != nil {
		return nil, err
	}
	defer b.vt.Close()
	if err := b.waitCmd(ctx, "Physical_Ports", 30*time.Second, func() bool {
		out, _ := env.Output(ctx, "vtep-ctl", "list-ports", "br-vtep")
		return out == "p0\np1\n"
	}); err != nil {
		return nil, err
	}
	if err := env.Run(ctx, "vtep-ctl", "add-ls", "ls0", "--", "bind-ls", "br-vtep", "p0", "0", "ls0",
		"--", "set", "Logical_Switch", "ls0", "tunnel_key=1"); err != nil {
		return nil, err
	}
	br := "br-vtep_vtep_ls1"
	if err := b.waitCmd(ctx, "LS bridge flows", 30*time.Second, func() bool {
		out, _ := env.Output(ctx, "ovs-ofctl", "-O", "OpenFlow14", "dump-flows", br)
		return strings.Contains(out, "learn(")
	}); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second)

	// Idle CPU and RSS.
	vsPid := env.Pids()["ovs-vswitchd"]
	c0, _ := procCPU(p.Pid())
	v0, _ := procCPU(vsPid)
	time.Sleep(*idleFor)
	c1, _ := procCPU(p.Pid())
	v1, _ := procCPU(vsPid)
	r.idleCPU = (c1 - c0).Seconds() / idleFor.Seconds()
	r.vswitchdIdle = (v1 - v0).Seconds() / idleFor.Seconds()
	r.rssIdleKB = procRSS(p.Pid())

	of, err := openflow.Dial(ctx, filepath.Join(dir, br+".mgmt"))
	if err != nil {
		return nil, err
	}
	defer of.Close()
	countFlows := func(prefix byte) int {
		fs, err := of.FlowStats(ctx, 1, 0, 0)
		if err != nil {
			return -1
		}
		n := 0
		for _, f := range fs {
			if f.Match.EthDst != nil && f.Match.EthDst[0] == prefix && f.Cookie != 0x5000 {
				n++
			}
		}
		return n
	}
	lsUUID, err := env.Output(ctx, "vtep-ctl", "get", "Logical_Switch", "ls0", "_uuid")
	if err != nil {
		return nil, err
	}
	lsUUID = strings.TrimSpace(lsUUID)

	// 1000 remote MACs on 10 locators in one transaction.
	ops := []ovsdb.Operation{}
	for i := 0; i < 10; i++ {
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "Physical_Locator", UUIDName: fmt.Sprintf("loc%d", i),
			Row: ovsdb.Row{"dst_ip": fmt.Sprintf("1.2.4.%d", i+1), "encapsulation_type": "vxlan_over_ipv4"}})
	}
	for i := 0; i < 1000; i++ {
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "Ucast_Macs_Remote",
			Row: ovsdb.Row{"MAC": mac(0x0a, i), "logical_switch": ovsdb.UUID{GoUUID: lsUUID},
				"locator": ovsdb.UUID{GoUUID: fmt.Sprintf("loc%d", i%10)}}})
	}
	cpu0, _ := procCPU(p.Pid())
	if err := transact(ctx, b.vt, ops); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := b.waitPoll(ctx, "1000 remote MAC flows", 120*time.Second, func() bool { return countFlows(0x0a) == 1000 }); err != nil {
		r.notes = append(r.notes, err.Error())
	} else {
		r.macs1000 = time.Since(t0)
	}
	cpu1, _ := procCPU(p.Pid())
	r.macs1000CPU = cpu1 - cpu0
	time.Sleep(2 * time.Second)

	// One remote MAC → its flow, repeated.
	reps := 20
	if impl == "ovs-vtep" {
		reps = 3
	}
	for i := 0; i < reps; i++ {
		op := ovsdb.Operation{Op: ovsdb.OperationInsert, Table: "Ucast_Macs_Remote",
			Row: ovsdb.Row{"MAC": mac(0x0c, i), "logical_switch": ovsdb.UUID{GoUUID: lsUUID}, "locator": ovsdb.UUID{GoUUID: locUUID(ctx, env, "1.2.4.1")}}}
		if err := transact(ctx, b.vt, []ovsdb.Operation{op}); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := b.waitPoll(ctx, "one MAC flow", 30*time.Second, func() bool { return countFlows(0x0c) == i+1 }); err != nil {
			return nil, err
		}
		r.oneMAC = append(r.oneMAC, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}

	psOF, err := openflow.Dial(ctx, filepath.Join(dir, "br-vtep.mgmt"))
	if err != nil {
		return nil, err
	}
	defer psOF.Close()
	rx := func(ctx context.Context) (uint64, error) {
		st, err := psOF.PortStats(ctx, 1)
		if err != nil || len(st) != 1 {
			return 0, fmt.Errorf("port stats: %v %w", st, err)
		}
		return st[0].RxPackets, nil
	}
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	// Learning latency: one frame at a time.
	lreps := 10
	if impl == "ovs-vtep" {
		lreps = 3
	}
	for i := 0; i < lreps; i++ {
		m := mac(0x02, 900000+i)
		src, _ := net.ParseMAC(m)
		t0 := time.Now()
		if err := env.Receive(ctx, "p0", lab.Frame(bcast, src, 0, 0x0800, nil)); err != nil {
			return nil, err
		}
		if err := b.waitPoll(ctx, "learned MAC", 30*time.Second, func() bool { _, ok := b.seenAt(m); return ok }); err != nil {
			return nil, err
		}
		at, _ := b.seenAt(m)
		r.learnLatency = append(r.learnLatency, at.Sub(t0))
	}

	// Bursts.
	sizes := []int{200}
	if impl == "vtepsim" {
		sizes = append(sizes, 2000, *bigBurst)
	}
	for k, n := range sizes {
		frames := make([]string, n)
		macs := make([]string, n)
		for i := range n {
			macs[i] = mac(byte(0x12+2*k), i)
			src, _ := net.ParseMAC(macs[i])
			frames[i] = lab.Frame(bcast, src, 0, 0x0800, nil)
		}
		pids := []int{p.Pid(), vsPid, env.Pids()["ovsdb-server"]}
		var cpuBefore [3]time.Duration
		for i, pid := range pids {
			cpuBefore[i], _ = procCPU(pid)
		}
		t0 := time.Now()
		if err := env.Inject(ctx, "p0", rx, frames); err != nil {
			return nil, err
		}
		inj := time.Since(t0)
		count := func() (int, time.Time) {
			var last time.Time
			c := 0
			for _, m := range macs {
				if at, ok := b.seenAt(m); ok {
					c++
					if at.After(last) {
						last = at
					}
				}
			}
			return c, last
		}
		timeout := 60 * time.Second
		_ = b.waitPoll(ctx, "burst", timeout, func() bool { c, _ := count(); return c == n })
		c, last := count()
		br := burstResult{n: n, published: c, inject: inj}
		for i, pid := range pids {
			c1, _ := procCPU(pid)
			br.cpu[i] = c1 - cpuBefore[i]
		}
		if c == n {
			br.all = last.Sub(t0)
		}
		r.burst = append(r.burst, br)
		time.Sleep(time.Second)
	}
	r.rssAfterKB = procRSS(p.Pid())
	r.vswitchdRSSKB = procRSS(vsPid)
	return r, nil
}

func (b *bench) seenAt(m string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.seen[m]
	return t, ok
}

func (b *bench) waitPoll(ctx context.Context, what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func locUUID(ctx context.Context, env *lab.Env, ip string) string {
	out, _ := env.Output(ctx, "vtep-ctl", "--bare", "--columns=_uuid", "find", "Physical_Locator", "dst_ip="+ip)
	return strings.TrimSpace(out)
}

func transact(ctx context.Context, c client.Client, ops []ovsdb.Operation) error {
	res, err := c.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		return fmt.Errorf("transact: %w", err)
	}
	return nil
}

func mac(prefix byte, i int) string {
	return fmt.Sprintf("%02x:00:%02x:%02x:%02x:%02x", prefix, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %s, max %s (n=%d)", ms(s[len(s)/2]), ms(s[len(s)-1]), len(s))
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func machine() string {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ":")
				cpu = strings.TrimSpace(cpu)
				break
			}
		}
	}
	var u syscall.Utsname
	kernel := "unknown"
	if syscall.Uname(&u) == nil {
		var b []byte
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		kernel = string(b)
	}
	ovs, _ := exec.Command("ovs-vswitchd", "--version").Output()
	if len(ovs) == 0 {
		ovs, _ = exec.Command("/usr/sbin/ovs-vswitchd", "--version").Output()
	}
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("- nproc: %d\n- CPU: %s\n- kernel: %s\n- OVS: %s\n- Go: %s\n- load average at the start: %s\n- load average at the end: %s\n",
		runtime.NumCPU(), cpu, kernel, strings.TrimSpace(strings.Split(string(ovs), "\n")[0]), runtime.Version(), startLoad, strings.TrimSpace(string(load)))
}

const readingNotes = `
## How to read this

- The machine has 2 cores, and ovsdb-server, ovs-vswitchd, the simulator and
  the benchmark share them; other jobs running at the same time (see the load
  averages) make every number noisier. Compare the two columns of one run.
- Bursts are injected without loss (batches of 32 frames, each waiting until
  the port's rx counter shows it was taken, see lab.Env.Inject), so "injection
  alone" is how fast ovs-vswitchd takes the frames while learning. vtepsim
  publishes within milliseconds of the datapath learning a MAC, so for the
  large bursts the time to publish all equals the injection time: the rate is
  bounded by ovs-vswitchd (its CPU column), whose cost per learned flow grows
  with the number of datapath flows (each learned flow triggers a
  revalidation). ovs-vtep's 200-MAC burst is the only one it can finish
  before its 15 s aging withdraws the first MACs (peers.md section 5).
- Idle CPU is measured over the idle window with 10 ms clock ticks; 0.0000
  means fewer than one tick per idle window.
- The ovs-vswitchd RSS of the vtepsim column includes the 10 000 learned flows
  of the last burst.
`

func render(rs []*result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# vtepsim vs ovs-vtep benchmark\n\nGenerated by `go run ./simulator/bench -out docs/BENCHMARKS-vtepsim.md` on %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("## Machine\n\n" + machine() + "\n")
	b.WriteString("Each simulator gets a fresh ovsdb-server + ovs-vswitchd (dummy datapath), switch br-vtep (p0, p1, tunnel IP 1.2.3.4), " +
		"logical switch ls0 (VNI 1) bound to p0 VLAN 0. Times are wall clock from the triggering event (OVSDB commit acknowledged, " +
		"or frame handed to `netdev-dummy/receive`) to the result being observable (flow in an OpenFlow flow dump polled every 2 ms; " +
		"row in a libovsdb monitor). CPU includes reaped children (ovs-vtep spawns ovs-ofctl/vtep-ctl/ovs-vsctl).\n\n")
	b.WriteString("## Results\n\n| Measure |")
	for _, r := range rs {
		fmt.Fprintf(&b, " %s |", r.name)
	}
	b.WriteString("\n|---|")
	for range rs {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	row := func(name string, f func(r *result) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, r := range rs {
			fmt.Fprintf(&b, " %s |", f(r))
		}
		b.WriteString("\n")
	}
	row("1000 remote MACs (1 txn, 10 locators) → all flows installed", func(r *result) string {
		if r.macs1000 == 0 {
			return "not reached"
		}
		return ms(r.macs1000)
	})
	row("CPU used for those 1000 MACs (process + children)", func(r *result) string { return ms(r.macs1000CPU) })
	row("one remote MAC → its flow", func(r *result) string { return stats(r.oneMAC) })
	row("learning latency: one frame → Ucast_Macs_Local row", func(r *result) string { return stats(r.learnLatency) })
	for i, n := range []string{"200", "2000", fmt.Sprint(*bigBurst)} {
		row("learning burst of "+n+" distinct source MACs: published / time to all / rate", func(r *result) string {
			if i >= len(r.burst) {
				return "not run"
			}
			x := r.burst[i]
			if x.published < x.n {
				return fmt.Sprintf("%d of %d published (lost %d); injection took %s", x.published, x.n, x.n-x.published, ms(x.inject))
			}
			return fmt.Sprintf("%d / %s / %.0f MACs/s (injection alone %s; CPU sim %s, vswitchd %s, ovsdb-server %s)", x.published, ms(x.all),
				float64(x.n)/x.all.Seconds(), ms(x.inject), ms(x.cpu[0]), ms(x.cpu[1]), ms(x.cpu[2]))
		})
	}
	row("idle CPU (1 LS, 1 binding), fraction of a core", func(r *result) string { return fmt.Sprintf("%.4f", r.idleCPU) })
	row("ovs-vswitchd idle CPU meanwhile", func(r *result) string { return fmt.Sprintf("%.4f", r.vswitchdIdle) })
	row("RSS idle", func(r *result) string { return fmt.Sprintf("%.1f MB", float64(r.rssIdleKB)/1024) })
	row("RSS at the end", func(r *result) string { return fmt.Sprintf("%.1f MB", float64(r.rssAfterKB)/1024) })
	row("ovs-vswitchd RSS at the end", func(r *result) string { return fmt.Sprintf("%.1f MB", float64(r.vswitchdRSSKB)/1024) })
	for _, r := range rs {
		for _, n := range r.notes {
			fmt.Fprintf(&b, "\nNote (%s): %s\n", r.name, n)
		}
	}
	b.WriteString(readingNotes)
	return b.String()
}
