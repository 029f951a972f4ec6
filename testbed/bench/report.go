package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Targets from the issue.
const (
	targetConvN     = 5000
	targetConvRatio = 3.0
	targetChurnN    = 50000
	targetCPUPer    = 100 * time.Microsecond
)

// value is one figure for one controller: a duration or a byte count.
type value struct {
	ok    bool
	d     time.Duration
	bytes uint64
	isB   bool
	note  string // shown after the figure, e.g. the range of several runs
	why   string // shown instead when !ok
}

func (v value) num() float64 {
	if v.isB {
		return float64(v.bytes)
	}
	return float64(v.d)
}

func (v value) String() string {
	if !v.ok {
		if v.why != "" {
			return v.why
		}
		return "–"
	}
	s := ""
	if v.isB {
		s = mb(v.bytes)
	} else {
		s = dur(v.d)
	}
	if v.note != "" {
		s += " " + v.note
	}
	return s
}

// dur formats a duration with a unit that fits it.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + " µs"
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
}

func ratio(ref, ours value) string {
	if !ref.ok || !ours.ok || ours.num() == 0 {
		return "–"
	}
	return strconv.FormatFloat(ref.num()/ours.num(), 'f', 1, 64) + "×"
}

// missing explains why a size has no figure for r.
func missing(r *result, size int) value {
	if r.Kind == "none" {
		return value{why: r.Stopped}
	}
	if slices.Contains(r.Skipped, size) {
		return value{why: "not run (-ref-max)"}
	}
	if r.Stopped != "" {
		return value{why: "did not finish (see below)"}
	}
	return value{}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func convValue(r *result, n int, f func(bindPhase) time.Duration) value {
	runs := r.Conv[n]
	if len(runs) == 0 {
		return missing(r, n)
	}
	ds := make([]time.Duration, len(runs))
	for i, p := range runs {
		ds[i] = f(p)
	}
	v := value{ok: true, d: median(ds)}
	if len(ds) > 1 {
		v.note = "(" + dur(slices.Min(ds)) + " – " + dur(slices.Max(ds)) + ")"
	}
	return v
}

type row struct {
	label string
	get   func(r *result) value
}

func report(cfg *config, m machine, started time.Time, took time.Duration, results []*result, floor *floorResult, sbFloor *sbFloorResult, lib *libFloor) string {
	var ours, ref *result
	for _, r := range results {
		switch r.Kind {
		case kindVTEPGW:
			ours = r
		case kindRef:
			ref = r
		}
	}
	none := &result{Kind: "none", Stopped: "not run (-only)"}
	if ours == nil {
		ours = none
	}
	if ref == nil {
		ref = none
	}

	var rows []row
	for _, n := range cfg.converge {
		rows = append(rows, row{fmt.Sprintf("**SB commit → switch commit**, %s MACs bound in one SB txn (median of %d, range)", kMACs(n), cfg.repeat),
			func(r *result) value { return convValue(r, n, func(p bindPhase) time.Duration { return p.Latency }) }})
	}
	for _, n := range cfg.converge {
		rows = append(rows, row{fmt.Sprintf("controller CPU for those %s MACs (median)", kMACs(n)),
			func(r *result) value {
				v := convValue(r, n, func(p bindPhase) time.Duration { return p.CPU })
				v.note = ""
				return v
			}})
	}
	prev := 0
	for _, n := range cfg.sizes() {
		if !slices.Contains(cfg.converge, n) && n > prev {
			from := prev
			rows = append(rows, row{fmt.Sprintf("SB commit → switch commit, %s more MACs in one SB txn (%s → %s)", kMACs(n-from), kMACs(from), kMACs(n)),
				func(r *result) value {
					p, ok := r.Grow[n]
					if !ok {
						return missing(r, n)
					}
					return value{ok: true, d: p.Latency}
				}})
		}
		prev = n
	}
	for _, n := range cfg.levels {
		rows = append(rows, row{fmt.Sprintf("**CPU per one-port change** at %s MACs (%d windows of %d back-to-back SB txns: all CPU ÷ all changes, each window)", kMACs(n), max(cfg.churnRepeat, 1), cfg.churn),
			func(r *result) value {
				p, ok := r.Churn[n]
				if !ok {
					return missing(r, n)
				}
				v := value{ok: true, d: p.PerTxn}
				if len(p.Windows) > 1 {
					parts := make([]string, len(p.Windows))
					for i, w := range p.Windows {
						parts[i] = dur(w)
					}
					v.note = "(" + strings.Join(parts, ", ") + ")"
				}
				return v
			}})
	}
	for _, n := range cfg.levels {
		rows = append(rows, row{fmt.Sprintf("last SB commit → last switch commit, churn at %s MACs", kMACs(n)),
			func(r *result) value {
				p, ok := r.Churn[n]
				if !ok {
					return missing(r, n)
				}
				return value{ok: true, d: p.Lag}
			}})
	}
	rows = append(rows,
		row{"RSS idle (attached, no ports)", func(r *result) value { return value{ok: r.RSSIdle > 0, isB: true, bytes: r.RSSIdle} }},
		row{fmt.Sprintf("RSS with %d unbound ports", cfg.bulkPorts()+cfg.churn), func(r *result) value { return value{ok: r.RSSPorts > 0, isB: true, bytes: r.RSSPorts} }})
	for _, n := range cfg.sizes() {
		rows = append(rows, row{fmt.Sprintf("RSS with %s MACs installed", kMACs(n)), func(r *result) value {
			b, ok := r.RSSAt[n]
			if !ok {
				return missing(r, n)
			}
			return value{ok: true, isB: true, bytes: b}
		}})
	}
	rows = append(rows, row{"peak RSS (VmHWM)", func(r *result) value { return value{ok: r.HWM > 0, isB: true, bytes: r.HWM} }})
	drops := func(r *result) string {
		if r.Kind == "none" {
			return r.Stopped
		}
		return strconv.Itoa(r.Drops)
	}

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Benchmarks: vtepgw vs ovn-controller-vtep\n\n")
	w("Generated by `make bench`, i.e.\n\n```\ngo run ./testbed/bench %s\n```\n\n", strings.Join(cfg.args, " "))
	w("on %s UTC; the whole run took %s. Rerun it to refresh this file: everything it needs is started from the Debian packages in a temporary directory.\n\n",
		started.UTC().Format("2006-01-02 15:04"), took.Round(time.Second))

	w("## Machine\n\n| | |\n|---|---|\n")
	w("| CPUs | %d × %s |\n", m.CPUs, m.CPUModel)
	w("| memory | %s |\n", m.MemTotal)
	w("| kernel | Linux %s |\n", m.Kernel)
	w("| Go | %s |\n", m.Go)
	w("| packages | %s |\n", strings.Join(m.Packages, ", "))
	w("| vtepgw | %s |\n", orDash(m.VTEPGW))
	w("| reference | %s |\n", orDash(m.Ref))
	w("| load average at start | %s |\n\n", m.LoadAvg)

	w("## Results\n\n")
	w("Topology: %d NB logical switches, each bound to its own vtep logical switch on one physical switch; %d fake hypervisor chassis (vxlan); ",
		cfg.nls, cfg.chassis)
	w("%d bulk ports with %d MACs each plus %d churn ports with one MAC each, spread round-robin over the switches and chassis. ",
		cfg.bulkPorts(), cfg.macsPerPort, cfg.churn)
	w("Lower is better everywhere; the ratio is reference ÷ vtepgw, so above 1× means vtepgw is faster or smaller.\n\n")
	w("| | vtepgw | ovn-controller-vtep | ratio |\n|---|---|---|---|\n")
	for _, r := range rows {
		a, c := r.get(ours), r.get(ref)
		w("| %s | %s | %s | %s |\n", r.label, a, c, ratio(c, a))
	}
	w("| database connections lost and re-opened during the run (from the controller's log) | %s | %s | |\n", drops(ours), drops(ref))
	w("\n")
	for _, r := range []*result{ours, ref} {
		if r.Stopped != "" && r != none {
			w("**%s %s.**\n\n", r.Kind, r.Stopped)
		}
	}

	w("Details per run (switch transactions the controller used; first switch commit after the SB commit):\n\n")
	for _, r := range []*result{ours, ref} {
		if r == none {
			continue
		}
		for _, n := range cfg.converge {
			var parts []string
			for _, p := range r.Conv[n] {
				parts = append(parts, fmt.Sprintf("%s in %d txn (first at %s)", dur(p.Latency), p.Txns, dur(p.First)))
			}
			if len(parts) > 0 {
				w("- %s, %s MACs: %s\n", r.Kind, kMACs(n), strings.Join(parts, "; "))
			}
		}
		for _, n := range cfg.levels {
			if p, ok := r.Churn[n]; ok {
				w("- %s, churn at %s MACs: %d SB txns in %d windows, sent in %s, answered with %d switch txns; CPU %s in all; last window's first SB commit → last switch commit %s\n",
					r.Kind, kMACs(n), p.Changes, max(len(p.Windows), 1), dur(p.Sent), p.SwitchTx, dur(p.CPU), dur(p.Total))
			}
		}
	}
	w("\n## Targets\n\n")
	oc, rc := convValue(ours, targetConvN, func(p bindPhase) time.Duration { return p.Latency }), convValue(ref, targetConvN, func(p bindPhase) time.Duration { return p.Latency })
	if oc.ok && rc.ok {
		x := rc.num() / oc.num()
		w("- Convergence at %s MACs ≥ %.0f× faster than the reference: %s vs %s = **%.1f×, %s**.\n", kMACs(targetConvN), targetConvRatio, dur(oc.d), dur(rc.d), x, metStr(x >= targetConvRatio))
	} else {
		w("- Convergence at %s MACs ≥ %.0f× faster than the reference: not measured in this run.\n", kMACs(targetConvN), targetConvRatio)
	}
	var servers time.Duration // both servers' medians, when measured
	if sbFloor != nil && len(sbFloor.Runs) > 0 {
		f := median(sbFloor.Runs)
		servers += f
		w("- Floor, southbound side: the SB ovsdb-server alone takes **%s** (median of %d, range %s – %s) from its commit of one transaction binding %s MACs' ports to the moment a bare client monitoring Port_Binding (vtepgw's columns) has read the whole update notification; no controller can start before that.\n",
			dur(f), len(sbFloor.Runs), dur(slices.Min(sbFloor.Runs)), dur(slices.Max(sbFloor.Runs)), kMACs(sbFloor.N))
	}
	if floor != nil && len(floor.Runs) > 0 {
		f := median(floor.Runs)
		servers += f
		w("- Floor, switch side: the switch's ovsdb-server alone takes **%s** (median of %d, range %s – %s) from the write of a ready-made %s-row Ucast_Macs_Remote insert transaction to its commit.\n",
			dur(f), len(floor.Runs), dur(slices.Min(floor.Runs)), dur(slices.Max(floor.Runs)), kMACs(floor.N))
	}
	if servers > 0 && rc.ok {
		need := time.Duration(float64(rc.d) / targetConvRatio)
		w("- Both floors are inside both controllers' figures (the servers are the same). %.0f× the reference's %s is %s; the servers' own share measured here is %s, so a controller's share (update in, switch transaction out) would have to fit in %s",
			targetConvRatio, dur(rc.d), dur(need), dur(servers), dur(max(need-servers, 0)))
		if need <= servers {
			w(", which no controller can do on this machine")
		}
		if oc.ok {
			w("; vtepgw's share in this run is about %s (%s − %s)", dur(max(oc.d-servers, 0)), dur(oc.d), dur(servers))
		}
		w(".\n")
	}
	if p, ok := ours.Churn[targetChurnN]; ok {
		w("- CPU per one-port change at %s MACs ≤ %s: **%s, %s**.\n", kMACs(targetChurnN), dur(targetCPUPer), dur(p.PerTxn), metStr(p.PerTxn <= targetCPUPer))
	} else {
		w("- CPU per one-port change at %s MACs ≤ %s: not measured in this run.\n", kMACs(targetChurnN), dur(targetCPUPer))
	}
	if bp := ours.Bystanders; bp != nil {
		w("- Floor, measured in the running stack: one more churn window at %s MACs was run with three bare SB clients watching it from their own processes (one processor each, as vtepgw), doing nothing with the updates. CPU per change over the same %d changes: **vtepgw %s** (its own southbound client, internal/ovsdbwire); libovsdb's client with vtepgw's SB tables and columns and an event handler that only counts **%s** (what vtepgw's southbound connection was before); a Go reader that only splits the JSON-RPC stream into messages **%s**; the same reader also decoding each update to its columns' raw values and merging them into a row map **%s**.",
			kMACs(bp.Level), bp.Changes, dur(bp.PerTxn[kindVTEPGW]), dur(bp.PerTxn[bystanderLibovsdb]), dur(bp.PerTxn[bystanderRaw]), dur(bp.PerTxn[bystanderDecode]))
		if lo := bp.PerTxn[bystanderLibovsdb]; lo > 0 {
			w(" Through libovsdb, receiving the southbound's updates alone took %.0f%% of the %s budget, which is why vtepgw has its own client there (its switch connection still receives the echo of each row it writes through libovsdb)", 100*float64(lo)/float64(targetCPUPer), dur(targetCPUPer))
			if raw := bp.PerTxn[bystanderRaw]; raw > 0 {
				w("; the raw reader shows what any Go client pays for the wake-ups and reads alone (%.0f%%)", 100*float64(raw)/float64(targetCPUPer))
			}
			w(".")
		}
		w("\n")
	}
	if lib != nil {
		w("- For comparison, in-process (`testing.Benchmark`, vtepgw's SB tables and columns): libovsdb spends **%s** decoding the update notification of one Port_Binding change and **%s** applying it to its cache at 1k rows, **%s** at %s rows; in a running process the same work cost several times that (the libovsdb bystander above). On the switch side, the echo of the Ucast_Macs_Remote row vtepgw writes still goes through libovsdb.\n",
			us(lib.Decode), us(lib.Cache[1000]), us(lib.Cache[targetChurnN]), kMACs(targetChurnN))
	}

	w("\n## How to read this\n\n")
	w(`Every latency is taken from the databases themselves: ovsdb-server stamps each committed transaction with its commit time (ms) in the database file, together with the transaction's comment, and the benchmark reads those files (it never polls the servers). "SB commit → switch commit" runs from the commit of the benchmark's SB transaction to the commit, by the controller, of the hardware_vtep transaction after which the switch holds every expected Ucast_Macs_Remote row; it is the controller's share of convergence only (northd and the hypervisors are not in it). `)
	w(`The benchmark plays the hypervisors: it binds Port_Binding rows to fake chassis with direct OVSDB transactions (one transaction for a bulk bind, one per port for churn), as sb-burst.py does, because ovn-sbctl's own cost grows quadratically. `)
	w(`CPU is the controller process's CPU-time clock (user + system, all threads; the same quantity as utime+stime in /proc/PID/stat, at ns instead of 10 ms resolution), from just before the first SB transaction until the controller and both ovsdb-servers have been idle for 250 ms, divided by the number of changes for churn; it includes the controller's processing of the update notifications its own writes cause. `)
	w(`"CPU per one-port change" is the cost that should not grow with the database: the reference recomputes everything on every wake-up and only survives bursts by coalescing many SB transactions into a few switch transactions (see the switch transaction counts above); vtepgw's work per change is proportional to the port's MACs. `)
	w(`RSS is VmRSS once each size is reached (VmHWM is the peak). `)
	w("Expect ±20–50%% run to run on a small shared machine: compare the two columns of one run, not runs with each other.\n\n")
	w("Method notes:\n\n")
	w("- Ports are created through the NB in one transaction and northd creates the Port_Bindings; VXLAN mode (any vxlan chassis) caps a logical switch at 2047 ports, so the bulk ports carry %d MACs each (one `addresses` entry per MAC).\n", cfg.macsPerPort)
	if cfg.keepNorthd {
		w("- ovn-northd stays running during the measurements (-keep-northd).\n")
	} else {
		w("- ovn-northd is stopped once the Port_Bindings exist: only the bindings change afterwards, and northd's recompute of the logical flows after every binding would otherwise compete with the controller for the %d CPUs (pass -keep-northd to keep it).\n", m.CPUs)
	}
	w("- Convergence runs start from no bound port (one SB transaction unbinds them all first). Between sizes, the extra ports are bound in one SB transaction (the \"more MACs\" rows). Churn binds %d ports with one MAC each, one SB transaction per port, back to back over one connection, each waiting for its reply; they are unbound again (one transaction) afterwards, and this window is repeated %d times at each level.\n", cfg.churn, max(cfg.churnRepeat, 1))
	w("- Before each measured phase, and before reading the CPU clock at its end, the benchmark waits until the controller and both ovsdb-servers have used less than 1 ms of CPU each for 250 ms: after a large write the switch's ovsdb-server streams the rows back to the controller's monitor for seconds, and that tail belongs to the phase that caused it.\n")
	w("- The two controllers run one after the other, each on a fresh stack, on the same machine. `-only vtepgw` runs one of them, `-perf DIR` records a `perf record -g` profile of the controller per phase, `-pprof DIR` takes vtepgw's Go heap profiles around each phase (docs/PERFORMANCE.md), `-v` logs every idle check; `go run ./testbed/bench -h` lists the sizes and counts that can be changed.\n")
	return b.String()
}

func kMACs(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
