package ovsdbx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ovn-org/libovsdb/cache"
	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
	"github.com/ovn-org/libovsdb/ovsdb/serverdb"
)

// leaderWatch is Options.LeaderOnly. It replaces libovsdb's WithLeaderOnly,
// whose watch goroutine never ends: with a fresh client per connection
// (package comment), every reconnect to a cluster left one goroutine and
// the closed client it refers to behind.
//
// A watch is a second, small client to the same server, on its _Server
// database: it picks an endpoint whose copy of the database is the
// cluster's connected leader (or is not clustered at all), and then
// monitors _Server's Database row. When that server stops being leader, or
// loses its cluster, lost is closed and the connection is dropped, so the
// next attempt finds the new leader. Closing the watch ends everything it
// started.
type leaderWatch struct {
	cl   client.Client
	db   string
	lost chan struct{} // closed when the connection must be dropped
	once sync.Once     // closes lost
}

// errNotLeader is an endpoint that serves the database as a follower (or a
// member cut off from its cluster).
var errNotLeader = errors.New("not the cluster leader")

// findLeader returns the first endpoint of eps whose server is the leader
// for database db, with its watch running.
func (c *Conn) findLeader(ctx context.Context, eps []string, db string) (string, *leaderWatch, error) {
	var errs []string
	for _, ep := range eps {
		w, err := c.watchLeader(ctx, ep, db)
		if err == nil {
			return ep, w, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", ep, err))
	}
	return "", nil, fmt.Errorf("no leader for %s: %s", db, strings.Join(errs, "; "))
}

// watchLeader connects to ep's _Server database and starts the watch if
// ep is the leader for db.
func (c *Conn) watchLeader(ctx context.Context, ep, db string) (*leaderWatch, error) {
	m, err := serverdb.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("_Server model: %w", err)
	}
	cl, err := client.NewOVSDBClient(m, c.clientOptions([]string{ep})...)
	if err != nil {
		return nil, fmt.Errorf("new _Server client: %w", err)
	}
	w := &leaderWatch{cl: cl, db: db, lost: make(chan struct{})}
	if err := cl.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect to _Server: %w", err)
	}
	// Registered before the monitor, so no change between the check below
	// and the end of the connection goes unseen.
	onRow := func(_ string, m model.Model) {
		if d, ok := m.(*serverdb.Database); ok && d.Name == db && !isLeader(d) {
			w.markLost()
		}
	}
	cl.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    onRow,
		UpdateFunc: func(table string, _, m model.Model) { onRow(table, m) },
	})
	mon := cl.NewMonitor(client.WithTable(&serverdb.Database{}))
	mon.Method = ovsdb.ConditionalMonitorRPC // _Server has no monitor_cond_since
	if _, err := cl.Monitor(ctx, mon); err != nil {
		cl.Close()
		return nil, fmt.Errorf("monitor _Server: %w", err)
	}
	if err := w.check(); err != nil {
		cl.Close()
		return nil, err
	}
	go func() {
		// The watch's own connection ending (the server went away) ends
		// the main one too: it is to a server nobody watches any more.
		select {
		case <-cl.DisconnectNotify():
			w.markLost()
		case <-w.lost:
		}
	}()
	return w, nil
}

// isLeader is true for a copy of the database that may serve a leader-only
// client: standalone (or active-backup) databases always, clustered ones
// while connected to their cluster and leader of it.
func isLeader(d *serverdb.Database) bool {
	if d.Model != serverdb.DatabaseModelClustered {
		return true
	}
	return d.Connected && d.Leader
}

// check reads the server's state of the database from the watch's cache.
func (w *leaderWatch) check() error {
	cc := w.cl.Cache()
	if cc == nil {
		return errors.New("_Server connection lost")
	}
	t := cc.Table("Database")
	if t == nil {
		return errors.New("_Server has no Database table")
	}
	for _, m := range t.Rows() {
		d := m.(*serverdb.Database)
		if d.Name != w.db {
			continue
		}
		if !isLeader(d) {
			if !d.Connected {
				return fmt.Errorf("%w (the member is not connected to its cluster)", errNotLeader)
			}
			return errNotLeader
		}
		return nil
	}
	return fmt.Errorf("the server does not serve %s", w.db)
}

func (w *leaderWatch) markLost() { w.once.Do(func() { close(w.lost) }) }

func (w *leaderWatch) close() {
	w.cl.Close()
	w.markLost()
}
