// Package learning tests vtepgw's switch-learned MACs at scale and its
// service-node replication (issue 3, points 1 and 5) end to end, and holds
// the stack that the learning benchmark (testbed/bench/learning) measures.
//
// A Stack is the real Debian programs started by package testbed: OVN NB
// and SB ovsdb-servers with ovn-northd, one or more hardware_vtep
// ovsdb-servers, and the vtepgw daemon (started as ovn-controller-vtep is,
// plus --config and --metrics-addr). Switch-learned MACs are written the
// way a switch's agent writes them: Ucast_Macs_Local rows, thousands in one
// transaction, through a plain OVSDB JSON-RPC connection (Conn).
//
// What happened, and when, is read from the databases' own files
// (Follower): a standalone ovsdb-server appends every committed transaction
// with its commit time in milliseconds and its comment, and vtepgw's
// transactions carry comments starting with "vtepgw:". So the tests count
// vtepgw's SB transactions, see whether an FDB row was updated or deleted
// and re-inserted, and time switch commit → SB commit with the servers'
// clocks, without adding any client to the servers.
//
// With StackOptions.SBCluster the SB is a RAFT cluster (testbed.StartCluster)
// and vtepgw gets the members' TCP remotes as one comma-separated
// --ovnsb-db; a member's file is a RAFT log, so the stack then reads the SB
// from the leader over JSON-RPC (ClusterSB) instead of a Follower.
//
// TestMain builds the daemon once into a temporary directory. Set
// VTEPGW_LEARNING_RACE=1 to build it with the race detector (a race it
// reports fails the test), or VTEPGW_BIN to use a prebuilt daemon.
package learning
