// Package testbed starts the real OVN / Open vSwitch programs (the Debian
// packages openvswitch-switch, openvswitch-vtep, ovn-central, ovn-host and
// ovn-controller-vtep) for end-to-end tests and benchmarks of vtepgw.
//
// Every function takes a testing.TB, lives in its own short temporary
// directory, and registers a t.Cleanup that stops what it started, strictly by
// PID and only processes it started itself. Nothing listens anywhere but on
// unix sockets and 127.0.0.1, and no system path (/var/run/openvswitch,
// /etc/openvswitch, ...) is touched: every child gets OVS_RUNDIR, OVS_DBDIR,
// OVS_LOGDIR, OVS_SYSCONFDIR and the OVN_* equivalents pointing at its own
// directory, and every OVS_* / OVN_* variable inherited from the caller is
// dropped. Daemons run in the foreground as children of the test binary with
// a parent-death signal, so they die with it even if the test binary is
// killed by a timeout.
//
// # Binaries
//
//	Require(t, names...)     skip (or fail) unless the programs are installed
//	Lookup(name)             path of one program
//
// Programs are looked up in $VTEPGW_TESTBED_PATH (a colon-separated list of
// directories, searched first), $PATH, /usr/sbin, /usr/bin, /sbin and, for
// ovs-vtep, /usr/share/openvswitch/scripts. ovs-vtep runs with
// $VTEPGW_TESTBED_PYTHON or /usr/bin/python3 (a pyenv python3 on PATH
// usually cannot import the ovs module). When a program is missing, the test
// is skipped with an install hint, or fails if VTEPGW_REQUIRE_REAL=1 (CI).
// hack/install-deps.sh (run by `make test`) installs everything.
//
// # Databases and daemons
//
//	StartOVSDB(t, OVSDBOptions{DBs: ...}) *OVSDB
//	    one ovsdb-server serving one or more databases on punix:SOCK and
//	    ptcp:0:127.0.0.1 (the real port is read back from /proc). Fault
//	    injection: Reconnect (drop all clients), Stop, Kill9, Restart (same
//	    files, same socket, same TCP port when still free).
//	StartVTEP(t, VTEPOptions{}) *VTEP
//	    a hardware_vtep ovsdb-server (Debian schema unless Schema is set),
//	    driven with VtepCtl / MustVtep.
//	StartOVN(t) *OVN
//	    OVN NB and SB ovsdb-servers plus ovn-northd; NBCtl / SBCtl /
//	    MustNB / MustSB, StopNorthd / StartNorthd.
//	    StartOVNWith(t, OVNOptions{SBMembers: 3}) runs the SB as a RAFT
//	    cluster instead (OVN.SBCluster); northd and SBCtl use all members.
//	StartCluster(t, ClusterOptions{Schema: ...}) *Cluster
//	    a RAFT-clustered database: ovsdb-tool create-cluster/join-cluster,
//	    one OVSDB per member (own socket, client TCP port, RAFT port on
//	    127.0.0.1); Remote (the comma-separated TCP multi-remote), Leader /
//	    WaitLeader (cluster/status), TransferLeadership (OVS 3.1 has no
//	    transfer command: cluster/failure-test transfer-leadership), and per
//	    member Kill9 / Restart.
//	StartReferenceController(t, vtepRemote, sbRemote) *RefController
//	    Debian's ovn-controller-vtep; Exit (graceful, it cleans up its rows)
//	    or Stop (SIGTERM, it leaves them).
//	StartSimSwitch(t, SimOptions{...}) *SimSwitch
//	    an emulated hardware VTEP as in OVN's own tests: one ovsdb-server
//	    serving conf.db and vtep.db, ovs-vswitchd with the userspace dummy
//	    datapath (no kernel module needed) and, unless Emulator is
//	    EmulatorNone, Debian's ovs-vtep emulator script.
//
// # Processes and helpers
//
//	StartProcess(t, ProcessConfig) (*Process, error)  any daemon, e.g. our own
//	CPUTime(pid), Memory(pid)                          from /proc, for benchmarks
//	ListeningPorts(pid)                                its 127.0.0.1 TCP listeners
//	Eventually(t, timeout, interval, cond)             poll, fail with the last message
//	Poll(timeout, interval, cond) error                the same, for any goroutine
//	FreePort()                                         a free 127.0.0.1 TCP port
//	NewDir(t), Env(dir)                                a short dir; a child's environment
//	CheckLeaks()                                       for TestMain: nothing left running
//
// The Start* functions fail the test (t.Fatal) on error, so call them from
// the test goroutine. With the stock tools, a test's processes can be
// inspected while it runs: every file is in the component's Dir(), and
// `OVS_RUNDIR=DIR vtep-ctl ...` talks to it.
//
// Calls on a stopped component return an error wrapping ErrStopped instead
// of hanging. All ctl tools run with an explicit --db= (or -t CTL) and a
// timeout.
//
// A typical test:
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		ovn := testbed.StartOVN(t)
//		vtep := testbed.StartVTEP(t, testbed.VTEPOptions{})
//		vtep.MustVtep(t, "add-ps", "br0", "--", "set", "Physical_Switch", "br0", "tunnel_ips=1.2.3.4")
//		testbed.StartReferenceController(t, vtep.VtepRemote(), ovn.SBRemote())
//		testbed.Eventually(t, 10*time.Second, 50*time.Millisecond, func() (bool, string) {
//			out, err := ovn.SBCtl("--bare", "--columns=name", "list", "Chassis")
//			return err == nil && out == "br0", fmt.Sprintf("chassis %q, err %v", out, err)
//		})
//	}
package testbed
