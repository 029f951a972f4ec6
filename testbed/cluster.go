package testbed

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Schema is the .ovsschema file (required), e.g. SBSchema.
	Schema string
	// Name labels the members' files: Name-1.pid, Name-1.sock, … Default
	// "ovsdb-cluster".
	Name string
	// Members is the cluster size (default 3).
	Members int
	// Dir is the directory of every member's files (default: a new one).
	Dir string
	// DBName is the base name of the database files: member N has
	// DIR/DBName-N.db (default: from the schema file's name).
	DBName string
}

// Cluster is a RAFT-clustered database served by several ovsdb-server
// processes on 127.0.0.1, each a standalone OVSDB (with its own unix
// socket, client TCP port, RAFT port, control socket and log), so Kill9,
// Stop and Restart work per member. Its methods are safe for concurrent
// use.
type Cluster struct {
	// Members are the servers, in the order they joined.
	Members []*OVSDB
	// DBName is the database's name inside the servers ("OVN_Southbound").
	DBName string
	// RaftAddrs are the members' RAFT addresses.
	RaftAddrs []string
}

// ClusterStatus is the part of `ovs-appctl cluster/status DB` that tests
// need.
type ClusterStatus struct {
	SID    string // this server's short ID
	Status string // "cluster member", "joining cluster", …
	Role   string // "leader", "follower", "candidate"
	Term   int
	Leader string // the leader's short ID, "self", or "unknown"
}

// StartCluster creates the database with ovsdb-tool create-cluster on the
// first member and join-cluster on the others (RAFT on 127.0.0.1 ports
// that were free a moment ago), starts one ovsdb-server per member and
// waits until every member has joined and there is a leader. Everything
// is stopped in t.Cleanup. Call it from the test goroutine.
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	c, err := startCluster(t, opts)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return c
}

func startCluster(t testing.TB, opts ClusterOptions) (*Cluster, error) {
	t.Helper()
	Require(t, BinOVSDBServer, BinOVSDBTool, BinAppctl)
	if opts.Schema == "" {
		return nil, errors.New("cluster: no schema")
	}
	if opts.Name == "" {
		opts.Name = "ovsdb-cluster"
	}
	if opts.Members <= 0 {
		opts.Members = 3
	}
	if opts.Dir == "" {
		opts.Dir = NewDir(t)
	}
	name, err := schemaName(opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", opts.Name, err)
	}
	if opts.DBName == "" {
		opts.DBName = strings.TrimSuffix(filepath.Base(opts.Schema), ".ovsschema")
	}
	c := &Cluster{DBName: name}
	for range opts.Members {
		port, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", opts.Name, err)
		}
		c.RaftAddrs = append(c.RaftAddrs, "tcp:127.0.0.1:"+strconv.Itoa(port))
	}
	for i := range opts.Members {
		r := &RaftMember{Local: c.RaftAddrs[i]}
		if i > 0 {
			r.Join = []string{c.RaftAddrs[0]}
		}
		label := fmt.Sprintf("%s-%d", opts.Name, i+1)
		m, err := startOVSDB(t, OVSDBOptions{
			DBs:    []DB{{Name: fmt.Sprintf("%s-%d", opts.DBName, i+1), Schema: opts.Schema, Raft: r}},
			Name:   label,
			Socket: label + ".sock",
			Dir:    opts.Dir,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", opts.Name, err)
		}
		c.Members = append(c.Members, m)
	}
	if err := c.WaitFormed(startTimeout); err != nil {
		return nil, err
	}
	return c, nil
}

// Remote returns the members' client TCP remotes joined by commas, the
// multi-remote form OVS and OVN programs (and vtepgw) accept.
func (c *Cluster) Remote() string {
	r := make([]string, len(c.Members))
	for i, m := range c.Members {
		r[i] = m.TCPRemote()
	}
	return strings.Join(r, ",")
}

// UnixRemote returns the members' unix remotes joined by commas.
func (c *Cluster) UnixRemote() string {
	r := make([]string, len(c.Members))
	for i, m := range c.Members {
		r[i] = m.UnixRemote()
	}
	return strings.Join(r, ",")
}

// Running returns the indexes of the members whose server is running.
func (c *Cluster) Running() []int {
	var out []int
	for i, m := range c.Members {
		if m.Running() {
			out = append(out, i)
		}
	}
	return out
}

// Status reads member i's cluster/status.
func (c *Cluster) Status(i int) (ClusterStatus, error) {
	out, err := c.Members[i].AppCtl("cluster/status", c.DBName)
	if err != nil {
		return ClusterStatus{}, err
	}
	return parseClusterStatus(out)
}

func parseClusterStatus(out string) (ClusterStatus, error) {
	var st ClusterStatus
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Server ID":
			st.SID, _, _ = strings.Cut(v, " ")
		case "Status":
			st.Status = v
		case "Role":
			st.Role = v
		case "Term":
			st.Term, _ = strconv.Atoi(v)
		case "Leader":
			st.Leader = v
		}
	}
	if st.Role == "" || st.SID == "" {
		return st, fmt.Errorf("cluster/status: no role or server ID in %q", out)
	}
	return st, nil
}

// Leader returns the index of the member every running member agrees is
// the leader, or an error saying why there is none (an election going on,
// a member still joining).
func (c *Cluster) Leader() (int, error) {
	leader, term := -1, -1
	sts := map[int]ClusterStatus{}
	for _, i := range c.Running() {
		st, err := c.Status(i)
		if err != nil {
			if errors.Is(err, ErrStopped) {
				continue // died meanwhile
			}
			return -1, err
		}
		if st.Status != "cluster member" {
			return -1, fmt.Errorf("member %d: %s", i+1, st.Status)
		}
		sts[i] = st
		if st.Role == "leader" && st.Term > term {
			leader, term = i, st.Term
		}
	}
	if leader < 0 {
		return -1, fmt.Errorf("no leader among %d running members", len(sts))
	}
	sid := sts[leader].SID
	for i, st := range sts {
		if i != leader && (st.Term != term || st.Leader != sid) {
			return -1, fmt.Errorf("member %d (term %d) follows %s, member %d leads term %d", i+1, st.Term, st.Leader, leader+1, term)
		}
	}
	return leader, nil
}

// WaitLeader waits until the running members agree on a leader and
// returns its index.
func (c *Cluster) WaitLeader(timeout time.Duration) (int, error) {
	leader := -1
	err := Poll(timeout, 20*time.Millisecond, func() (bool, string) {
		i, err := c.Leader()
		if err != nil {
			return false, err.Error()
		}
		leader = i
		return true, ""
	})
	if err != nil {
		return -1, fmt.Errorf("cluster %s: waiting for a leader: %w", c.DBName, err)
	}
	return leader, nil
}

// WaitFormed waits until every member (running or not) has joined and
// the running ones agree on a leader.
func (c *Cluster) WaitFormed(timeout time.Duration) error {
	_, err := c.WaitLeader(timeout)
	return err
}

// RemotesLeaderLast waits for the cluster to form and returns its members'
// unix remotes with the leader's last, so that a leader-only client tries
// the followers first.
func (c *Cluster) RemotesLeaderLast(timeout time.Duration) ([]string, error) {
	leader, err := c.WaitLeader(timeout)
	if err != nil {
		return nil, err
	}
	var eps []string
	for i, m := range c.Members {
		if i != leader {
			eps = append(eps, m.UnixRemote())
		}
	}
	return append(eps, c.Members[leader].UnixRemote()), nil
}

// TransferLeadership makes the current leader hand leadership to another
// member (`cluster/failure-test transfer-leadership`: OVS 3.1 has no
// plain transfer command; this scenario makes the leader transfer as it
// does before writing a snapshot) and waits until the running members
// agree on the new leader. It returns the old and new leader's indexes.
func (c *Cluster) TransferLeadership(timeout time.Duration) (from, to int, err error) {
	from, err = c.WaitLeader(timeout)
	if err != nil {
		return -1, -1, err
	}
	if _, err := c.Members[from].AppCtl("cluster/failure-test", "transfer-leadership"); err != nil {
		return from, -1, fmt.Errorf("transfer leadership from member %d: %w", from+1, err)
	}
	to = -1
	err = Poll(timeout, 10*time.Millisecond, func() (bool, string) {
		i, err := c.Leader()
		if err != nil {
			return false, err.Error()
		}
		if i == from {
			return false, fmt.Sprintf("member %d still leads", from+1)
		}
		to = i
		return true, ""
	})
	if err != nil {
		return from, -1, fmt.Errorf("transfer leadership from member %d: %w", from+1, err)
	}
	return from, to, nil
}

// IsLeader reports, through the _Server database of member i (a plain
// JSON-RPC session on its unix socket, as libovsdb's leader-only check
// does), whether it is the leader of the cluster database.
func (c *Cluster) IsLeader(i int) (bool, error) {
	conn, err := DialOVSDB(c.Members[i].SocketPath())
	if err != nil {
		return false, err
	}
	defer conn.Close()
	conn.Timeout = 5 * time.Second
	res, err := conn.Transact("_Server", Op{"op": "select", "table": "Database",
		"where": []any{[]any{"name", "==", c.DBName}}, "columns": []string{"leader"}})
	if err != nil {
		return false, err
	}
	if len(res) == 0 || len(res[0].Rows) != 1 {
		return false, fmt.Errorf("_Server: no Database row for %s", c.DBName)
	}
	leader, _ := res[0].Rows[0]["leader"].(bool)
	return leader, nil
}
