package app

import (
	"os"
	"runtime"
)

// procsPlan is how many CPUs the daemon lets the Go runtime run code on at
// once (GOMAXPROCS), and why.
type procsPlan struct {
	n      int    // 0: leave the runtime's own choice
	reason string // for the log
}

// planProcs decides GOMAXPROCS. An explicit max-procs wins; a GOMAXPROCS
// environment variable is the runtime's documented knob and is left alone;
// otherwise one per switch connection, capped at the CPUs the runtime
// found (available; it honours the cgroup's CPU limit).
//
// Why not all CPUs by default: each switch's pipeline (decode an update,
// reconcile, encode one transaction) is sequential, and with idle
// processors to hand work to, every one-message wake-up of the daemon pays
// for the runtime waking and parking threads. On the benchmark machine
// (docs/PERFORMANCE.md), back-to-back runs with one and two processors
// gave 160 and 147 against 206 and 179 µs of CPU per one-port change at
// 1k MACs (173/177 against 186/209 at 10k), and the same 5k-MAC
// convergence latency within the machine's noise.
func planProcs(maxProcs, switches int, envSet bool, available int) procsPlan {
	switch {
	case maxProcs > 0:
		return procsPlan{n: maxProcs, reason: "max-procs"}
	case envSet:
		return procsPlan{reason: "GOMAXPROCS environment variable"}
	}
	n := min(max(switches, 1), max(available, 1))
	return procsPlan{n: n, reason: "one per switch connection, at most the CPUs available"}
}

// applyProcs sets GOMAXPROCS from the configuration and returns the value
// in force.
func applyProcs(cfg *Config) (int, string) {
	_, envSet := os.LookupEnv("GOMAXPROCS")
	p := planProcs(cfg.MaxProcs, len(cfg.Switches), envSet, runtime.NumCPU())
	if p.n > 0 && p.n != runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(p.n)
	}
	return runtime.GOMAXPROCS(0), p.reason
}
