package ovsdbx

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/database/inmemory"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
	"github.com/ovn-org/libovsdb/server"

	"github.com/vtepgw/vtepgw/testbed"
)

const rotSchema = `{"name": "T", "version": "1.0.0", "tables": {"R": {"columns": {"name": {"type": "string"}}}}}`

// TestServeNoticesMissedDisconnect: libovsdb announces a disconnect only to
// a receiver that is waiting at that moment. A connection that dropped
// before serve started waiting (or during a probe) must still end serve,
// also with the inactivity probe off, or the daemon would sit on a dead
// connection with no cache forever.
func TestServeNoticesMissedDisconnect(t *testing.T) {
	var schema ovsdb.DatabaseSchema
	if err := json.Unmarshal([]byte(rotSchema), &schema); err != nil {
		t.Fatal(err)
	}
	modelFor := func(ovsdb.DatabaseSchema) (model.ClientDBModel, error) {
		return model.NewClientDBModel("T", map[string]model.Model{"R": &rotRow{}})
	}
	cm, _ := modelFor(schema)
	dbm, errs := model.NewDatabaseModel(schema, cm)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	srv, err := server.NewOvsdbServer(inmemory.NewDatabase(map[string]model.ClientDBModel{"T": cm}), dbm)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "t.sock")
	go func() { _ = srv.Serve("unix", sock) }()
	t.Cleanup(srv.Close)
	for deadline := time.Now().Add(5 * time.Second); !srv.Ready(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("server not ready")
		}
	}

	c, err := New(Options{Name: "t", Endpoints: []string{"unix:" + sock}, ModelFor: modelFor})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The connection drops while nobody listens for the notice.
	if err := dropThenServe(t, c, cl, cl); err == nil {
		t.Fatal("serve returned nil for a dead connection")
	}
}

// dropThenServe closes session (the connection itself or its leader
// watch's), waits until libovsdb has dropped its cache, so its disconnect
// notice has gone to nobody, and then runs serve on cl; it returns serve's
// error, or fails the test if serve is still running 5 s later (probe off).
func dropThenServe(t *testing.T, c *Conn, cl, session client.Client) error {
	t.Helper()
	session.Disconnect()
	for deadline := time.Now().Add(5 * time.Second); session.Cache() != nil; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("libovsdb kept the cache of a closed session")
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- c.serve(context.Background(), cl) }()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("serve still on the connection 5 s after the session ended")
		return nil
	}
}

// TestServeNoticesLostLeaderWatch: the end of the leader watch's own
// session ends serve (through the watch's notice, or through the liveness
// check when that notice came before anyone waited for it), or leadership
// changes would go unseen for the rest of the connection.
func TestServeNoticesLostLeaderWatch(t *testing.T) {
	testbed.Require(t, testbed.BinOVSDBServer, testbed.BinOVSDBTool)
	sb := testbed.StartOVSDB(t, testbed.OVSDBOptions{DBs: []testbed.DB{{Name: "ovnsb_db", Schema: testbed.SBSchema}},
		Name: "ovsdb-sb", Socket: "sb.sock", NoTCP: true})
	c, err := New(Options{Name: "sb", Endpoints: []string{sb.UnixRemote()}, LeaderOnly: true,
		ModelFor: func(ovsdb.DatabaseSchema) (model.ClientDBModel, error) {
			return model.NewClientDBModel("OVN_Southbound", map[string]model.Model{"SB_Global": &rotRow{}})
		}})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if c.watch == nil {
		t.Fatal("a leader-only connection without a leader watch")
	}
	defer c.watch.close()
	if err := dropThenServe(t, c, cl, c.watch.cl); err == nil || !strings.Contains(err.Error(), "leader-only") {
		t.Fatalf("serve returned %v, want the leader watch's loss", err)
	}
}
