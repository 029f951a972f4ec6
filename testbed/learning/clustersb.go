package learning

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// ClusterSB reads the SB tables the stack checks from a clustered SB's
// leader, over a plain JSON-RPC select (a member's database file is a RAFT
// log that Follower does not read, and a follower's copy may lag). It has
// the read side of Follower: Poll, then Rows.
type ClusterSB struct {
	c *testbed.Cluster

	mu   sync.Mutex // guards rows and last
	rows map[string]map[string]Row
	last time.Time
}

// clusterSBColumns are the tables and columns ClusterSB reads.
var clusterSBColumns = map[string][]string{
	"Chassis":          {"name"},
	"Port_Binding":     {"logical_port", "chassis", "tunnel_key", "datapath"},
	"Datapath_Binding": {"tunnel_key"},
	"FDB":              {"mac", "dp_key", "port_key"},
}

// clusterPollEvery bounds how often Poll selects from the leader: every
// poll reads all FDB rows, and the leader is the server under test.
const clusterPollEvery = 100 * time.Millisecond

// NewClusterSB returns a reader of c (nothing read yet).
func NewClusterSB(c *testbed.Cluster) *ClusterSB {
	return &ClusterSB{c: c, rows: map[string]map[string]Row{}}
}

// Poll reads the tables again from the current leader (at most every
// 100 ms; sooner calls keep the last read).
func (r *ClusterSB) Poll() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.last) < clusterPollEvery {
		return nil
	}
	var errs []error
	for _, i := range r.c.Running() {
		rows, err := r.read(i)
		if err != nil {
			errs = append(errs, fmt.Errorf("member %d: %w", i+1, err))
			continue
		}
		if rows == nil {
			continue // a follower
		}
		r.rows, r.last = rows, time.Now()
		return nil
	}
	return fmt.Errorf("no SB leader to read from: %w", errors.Join(errs...))
}

// Rows returns table's rows as of the last Poll, by UUID.
func (r *ClusterSB) Rows(table string) map[string]Row {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rows[table]
}

// read selects the tables from member i, or returns nil if it does not
// lead.
func (r *ClusterSB) read(i int) (map[string]map[string]Row, error) {
	conn, err := testbed.DialOVSDB(r.c.Members[i].SocketPath())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.Timeout = 10 * time.Second
	res, err := conn.Transact("_Server", testbed.Op{"op": "select", "table": "Database",
		"where": []any{[]any{"name", "==", r.c.DBName}}, "columns": []string{"leader"}})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 || len(res[0].Rows) != 1 {
		return nil, errors.New("_Server: no Database row")
	}
	if leader, _ := res[0].Rows[0]["leader"].(bool); !leader {
		return nil, nil
	}
	var tables []string
	var ops []testbed.Op
	for t, cols := range clusterSBColumns {
		tables = append(tables, t)
		ops = append(ops, testbed.Op{"op": "select", "table": t, "where": []any{}, "columns": append([]string{"_uuid"}, cols...)})
	}
	res, err = conn.Transact(r.c.DBName, ops...)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]Row{}
	for k, t := range tables {
		rows := map[string]Row{}
		for _, raw := range res[k].Rows {
			row := Row{}
			for col, v := range raw {
				b, err := json.Marshal(v)
				if err != nil {
					return nil, err
				}
				row[col] = b
			}
			rows[row.UUID("_uuid")] = row
		}
		out[t] = rows
	}
	return out, nil
}
