// Package robust holds end-to-end tests of what vtepgw does better than
// ovn-controller-vtep and of how it survives faults, all against the real
// Debian OVN/OVS stack started by package testbed:
//
//   - improvements_test.go: no flood-row churn when a datapath's only bound
//     ports are VTEP ports, two VTEP logical switches on one datapath, FDB
//     unique-index clashes, stale chassis removed at start;
//   - restart_test.go: hitless restart (SIGTERM and kill -9) and resync after
//     database reconnects and offline edits;
//   - schema_test.go: the oldest supported hardware_vtep schema (1.3.0);
//   - differential_test.go: one seeded random scenario run against Debian's
//     ovn-controller-vtep and against vtepgw, ending in the same state apart
//     from the documented improvements.
//
// TestMain builds bin/vtepgw once into a temporary directory. Set
// VTEPGW_ROBUST_RACE=1 to build the daemon with the race detector too, and
// VTEPGW_DIFF_SEED to replay one differential scenario.
package robust
