package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ovn-org/libovsdb/database/inmemory"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
	"github.com/ovn-org/libovsdb/server"

	"github.com/vtepgw/vtepgw/cmd/vtepgw-demo/internal/sbfull"
	"github.com/vtepgw/vtepgw/internal/vtepfull"
)

// The schemas are Debian's, copied verbatim: OVN 23.03's
// /usr/share/ovn/ovn-sb.ovsschema and Open vSwitch 3.1's
// /usr/share/openvswitch/vtep.ovsschema.
var (
	//go:embed schemas/ovn-sb.ovsschema
	sbSchemaJSON []byte
	//go:embed schemas/vtep.ovsschema
	vtepSchemaJSON []byte
)

// dbServer is one libovsdb in-memory OVSDB server on a unix socket.
type dbServer struct {
	schema   ovsdb.DatabaseSchema
	endpoint string // unix:PATH
	srv      *server.OvsdbServer
	done     chan error
}

func startSBServer(dir string) (*dbServer, error) {
	return startServer(dir, "sb.sock", sbSchemaJSON, sbfull.FullDatabaseModel)
}

func startVTEPServer(dir string) (*dbServer, error) {
	return startServer(dir, "vtep.sock", vtepSchemaJSON, vtepfull.FullDatabaseModel)
}

func startServer(dir, sock string, schemaJSON []byte, full func() (model.ClientDBModel, error)) (*dbServer, error) {
	var schema ovsdb.DatabaseSchema
	if err := json.Unmarshal(schemaJSON, &schema); err != nil {
		return nil, fmt.Errorf("embedded schema %s: %w", sock, err)
	}
	cm, err := full()
	if err != nil {
		return nil, err
	}
	dbm, errs := model.NewDatabaseModel(schema, cm)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s model: %v", schema.Name, errs)
	}
	db := commentless{inmemory.NewDatabase(map[string]model.ClientDBModel{schema.Name: cm})}
	srv, err := server.NewOvsdbServer(db, dbm)
	if err != nil {
		return nil, fmt.Errorf("%s server: %w", schema.Name, err)
	}
	path := filepath.Join(dir, sock)
	s := &dbServer{schema: schema, endpoint: "unix:" + path, srv: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve("unix", path) }()
	deadline := time.Now().Add(5 * time.Second)
	for !srv.Ready() {
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("%s server on %s: %v", schema.Name, path, err)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s server on %s: not listening after 5s", schema.Name, path)
		}
	}
	return s, nil
}

func (s *dbServer) Close() { s.srv.Close() }
