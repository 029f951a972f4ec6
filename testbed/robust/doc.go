// Package robust holds end-to-end tests of what vtepgw does better than
// ovn-controller-vtep and of how it survives faults, all against the real
// Debian OVN/OVS stack started by package testbed. Every test asserts exact
// database state.
//
//   - improvements_test.go: no flood-row churn when a datapath's only bound
//     ports are VTEP ports (TestFloodRowNoChurn), two VTEP logical switches
//     on one datapath, FDB unique-index clashes (a commit-time clash is
//     forced with a proxy that holds back the SB server's messages), stale
//     chassis removed at start, learned MACs following their binding;
//   - restart_test.go: hitless restart (SIGTERM and kill -9: no row changed,
//     no transaction by anyone) and resync after reconnects, server
//     restarts and offline edits of either database;
//   - schema_test.go: the oldest supported hardware_vtep schema (1.3.0);
//   - differential_test.go: one seeded random scenario run in lockstep
//     against Debian's ovn-controller-vtep and against vtepgw, equal after
//     every step apart from the documented improvements.
//
// Transactions are counted from the database files themselves (as
// ../../../shared/reference/peers/dblog.py does); vtepgw's carry the
// comment prefix "vtepgw:".
//
// Not covered here: a clash whose retry clashes again (OVN and the switch
// learning the same MAC back and forth), clashes under the learned-MAC rate
// limits and caps, a failure of the transaction sent without the FDB
// writes; FDB rows left on vtep ports of a physical switch that moved to
// another switch database while vtepgw was down; SSL remotes and clustered
// SB.
//
// TestMain builds bin/vtepgw once into a temporary directory. Set
// VTEPGW_ROBUST_RACE=1 to build the daemon with the race detector too,
// VTEPGW_DIFF_SEED to replay one differential scenario and
// VTEPGW_DIFF_STEPS to change its length.
package robust
