// Command bench compares vtepgw with Debian's ovn-controller-vtep on the
// real OVN/OVS stack (package testbed) and writes the results as Markdown.
// `make bench` runs it as
//
//	go run ./testbed/bench -out docs/BENCHMARKS.md
//
// Each controller gets a fresh stack (NB, SB and hardware_vtep
// ovsdb-servers, ovn-northd), one after the other, and goes through the
// same phases:
//
//   - convergence: N MACs (1000, 5000) bound in one SB transaction, from
//     none; the time from that SB commit to the switch commit that
//     completes the N Ucast_Macs_Remote rows, read from the two databases'
//     own commit timestamps; repeated -repeat times;
//   - churn: with 1k, 10k and 50k MACs installed, -churn single-port SB
//     transactions (one bind each) sent back to back; controller CPU per
//     change and the last SB commit -> last switch commit latency;
//   - RSS idle and after each phase.
//
// Timing comes from the database files: every committed transaction
// carries the server's commit time ("_date", ms) and its comment, and the
// controllers' comments start with "vtepgw:" and "ovn-controller-vtep".
// CPU is the controller process's CPU-time clock (ns resolution).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/internal/benchdoc"
	"github.com/vtepgw/vtepgw/testbed"
)

type config struct {
	out, jsonOut string
	vtepgw       string
	macsPerPort  int
	nls          int
	chassis      int
	converge     []int
	levels       []int
	repeat       int
	churn        int
	bystanders   bool
	churnRepeat  int
	refMax       int
	only         string
	timeout      time.Duration
	keepNorthd   bool
	keep         bool
	verbose      bool
	perfDir      string
	pprofDir     string
	vtepgwArgs   string
	args         []string
}

// bulkPorts is the number of K-MAC ports needed for the largest size.
func (c *config) bulkPorts() int { return (c.maxSize() + c.macsPerPort - 1) / c.macsPerPort }

func (c *config) maxSize() int { return slices.Max(c.sizes()) }

// sizes returns every MAC count a phase runs at, ascending.
func (c *config) sizes() []int {
	s := append(slices.Clone(c.converge), c.levels...)
	slices.Sort(s)
	return slices.Compact(s)
}

func parseInts(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		f = strings.ReplaceAll(strings.ToLower(f), "k", "000")
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	if spec := os.Getenv(bystanderEnv); spec != "" {
		os.Exit(runBystander(spec))
	}
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	cfg := &config{args: os.Args[1:]}
	var conv, levels string
	flag.StringVar(&cfg.out, "out", "", "write the Markdown report to FILE (it is always printed)")
	flag.StringVar(&cfg.jsonOut, "json", "", "also write the raw results as JSON to FILE")
	flag.StringVar(&cfg.vtepgw, "vtepgw", "bin/vtepgw", "vtepgw binary (built from ./cmd/vtepgw if missing)")
	flag.IntVar(&cfg.macsPerPort, "macs-per-port", 10, "MACs per bulk port (one lsp address entry each)")
	flag.IntVar(&cfg.nls, "ls", 6, "logical switches, each bound to its own vtep logical switch (enough that bulk and churn ports stay under northd's 2047 ports per switch)")
	flag.IntVar(&cfg.chassis, "chassis", 10, "fake hypervisor chassis the ports are bound to")
	flag.StringVar(&conv, "converge", "1k,5k", "MAC counts bound from zero in one SB transaction")
	flag.StringVar(&levels, "levels", "1k,10k,50k", "MAC counts installed before the one-port churn")
	flag.IntVar(&cfg.repeat, "repeat", 5, "runs of each convergence measurement")
	flag.IntVar(&cfg.churnRepeat, "churn-repeat", 3, "churn windows at each level; CPU per change is all their CPU over all their changes, and the report shows each window's figure")
	flag.BoolVar(&cfg.bystanders, "bystanders", true, "at the largest churn level, churn once more with bare SB clients (libovsdb with vtepgw's model; a raw JSON reader) watching, and report their CPU per change next to vtepgw's")
	flag.IntVar(&cfg.churn, "churn", 4000, "single-port changes per churn measurement (at 50k MACs a garbage collection costs vtepgw ~100 ms of CPU and comes every several thousand changes: a window of 1000 either caught one, +100 µs per change, or not)")
	flag.IntVar(&cfg.refMax, "ref-max", 50000, "largest MAC count to run the reference at")
	flag.StringVar(&cfg.only, "only", "", "run one controller only: vtepgw or ovn-controller-vtep")
	flag.DurationVar(&cfg.timeout, "timeout", 120*time.Second, "longest wait for one phase to converge")
	flag.BoolVar(&cfg.keepNorthd, "keep-northd", false, "leave ovn-northd running during the measurements")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the stacks' directories")
	flag.BoolVar(&cfg.verbose, "v", false, "log the testbed's messages")
	flag.StringVar(&cfg.vtepgwArgs, "vtepgw-args", "", "extra vtepgw arguments, space-separated (e.g. --log-level=debug)")
	flag.StringVar(&cfg.perfDir, "perf", "", "record a `perf record -g` profile of the controller per phase into DIR")
	flag.StringVar(&cfg.pprofDir, "pprof", "", "write vtepgw's Go heap profiles at the start and end of each phase into DIR (runs it with --pprof)")
	flag.Parse()
	var err error
	if cfg.converge, err = parseInts(conv); err != nil {
		log.Fatal(err)
	}
	if cfg.levels, err = parseInts(levels); err != nil {
		log.Fatal(err)
	}
	for _, n := range cfg.sizes() {
		if n%cfg.macsPerPort != 0 {
			log.Fatalf("size %d is not a multiple of -macs-per-port %d", n, cfg.macsPerPort)
		}
	}
	if perLS := (cfg.bulkPorts()+cfg.churn+cfg.nls-1)/cfg.nls + 1; perLS > 2047 {
		log.Fatalf("%d ports per logical switch: over the 2047 northd allows in VXLAN mode; raise -ls or -macs-per-port", perLS)
	}
	if cfg.only != "" && cfg.only != kindVTEPGW && cfg.only != kindRef {
		log.Fatalf("-only: want %s or %s", kindVTEPGW, kindRef)
	}
	if err := ensureBinary(cfg); err != nil {
		log.Fatal(err)
	}
	testbed.Require(newTB("require", false, false), testbed.BinOVSDBServer, testbed.BinOVSDBTool,
		testbed.BinNorthd, testbed.BinNBctl, testbed.BinSBctl, testbed.BinVtepctl, testbed.BinAppctl, testbed.BinControllerVTEP)

	m := describeMachine(cfg.vtepgw)
	started := time.Now()
	log.Printf("bench: %s; load %s", m, m.LoadAvg)
	var results []*result
	for _, kind := range []string{kindVTEPGW, kindRef} {
		if cfg.only != "" && cfg.only != kind {
			continue
		}
		t0 := time.Now()
		res, err := runStack(cfg, kind)
		if err != nil {
			log.Fatalf("%s: %v", kind, err)
		}
		log.Printf("[%s] done in %v", kind, time.Since(t0).Round(time.Second))
		results = append(results, res)
	}
	var floor *floorResult
	if slices.Contains(cfg.converge, targetConvN) {
		if floor, err = measureFloor(cfg, targetConvN); err != nil {
			log.Printf("floor: %v", err)
			floor = nil
		}
	}
	var sbFloor *sbFloorResult
	if slices.Contains(cfg.converge, targetConvN) {
		if sbFloor, err = measureSBFloor(cfg, targetConvN); err != nil {
			log.Printf("southbound floor: %v", err)
			sbFloor = nil
		}
	}
	var lib *libFloor
	if slices.Contains(cfg.levels, targetChurnN) {
		log.Printf("libovsdb floor: measuring")
		if lib, err = measureLibFloor(testbed.SBSchema, []int{1000, targetChurnN}); err != nil {
			log.Printf("libovsdb floor: %v", err)
			lib = nil
		}
	}
	if err := testbed.CheckLeaks(); err != nil {
		log.Printf("warning: %v", err)
	}
	rep := report(cfg, m, started, time.Since(started), results, floor, sbFloor, lib)
	fmt.Print(rep)
	if cfg.out != "" {
		// The other benchmark programs' sections of the file stay.
		if err := benchdoc.WriteReport(cfg.out, rep, []string{"## Machine", "## Results", "## Targets", "## How to read this"}); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s", cfg.out)
	}
	if cfg.jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(cfg.jsonOut, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// ensureBinary builds vtepgw if the binary is missing and makes its path
// absolute (the daemon runs in its own directory).
func ensureBinary(cfg *config) error {
	abs, err := filepath.Abs(cfg.vtepgw)
	if err != nil {
		return err
	}
	cfg.vtepgw = abs
	if _, err := os.Stat(abs); err == nil {
		return nil
	}
	log.Printf("building %s", abs)
	if err := testbed.BuildVtepgw(abs, false); err != nil {
		return fmt.Errorf("build vtepgw: %w", err)
	}
	return nil
}

func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

func us(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + " µs"
}

func mb(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MB" }
