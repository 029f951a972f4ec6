package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// sbFloorResult is what the southbound ovsdb-server alone needs to tell a
// monitoring client about a bulk binding: from the server's commit of one
// SB transaction that binds N MACs' ports to the moment a client has read
// the whole update notification off its socket (decoding it into raw JSON
// only). Every controller waits this long before it can start; it is in
// both controllers' "SB commit → switch commit" figures.
type sbFloorResult struct {
	N    int
	Runs []time.Duration
}

// sbFloorColumns are the Port_Binding columns vtepgw monitors (its model).
var sbFloorColumns = []string{"chassis", "datapath", "encap", "logical_port", "mac", "options", "tunnel_key", "type", "up"}

// measureSBFloor starts a fresh OVN_Southbound ovsdb-server holding one
// datapath, cfg.chassis chassis and n/cfg.macsPerPort ports of
// cfg.macsPerPort MACs each, monitors Port_Binding on a second connection,
// and binds every port in one transaction (unbinding them in between),
// cfg.repeat times.
func measureSBFloor(cfg *config, n int) (*sbFloorResult, error) {
	res := &sbFloorResult{N: n}
	ports := n / cfg.macsPerPort
	t := newTB("sbfloor", cfg.keep, cfg.verbose)
	err := t.Run(func() error {
		sb := testbed.StartOVSDB(t, testbed.OVSDBOptions{DBs: []testbed.DB{{Name: "ovnsb_db", Schema: testbed.SBSchema}},
			Name: "ovsdb-sb", Socket: "ovnsb_db.sock", NoTCP: true})
		conn, err := testbed.DialOVSDB(sb.SocketPath())
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.Timeout = rpcTimeout
		ops := []testbed.Op{{"op": "insert", "table": "Datapath_Binding", "uuid-name": "dp", "row": map[string]any{"tunnel_key": 1}}}
		for c := range cfg.chassis {
			name := fmt.Sprintf("sc%02d", c+1)
			ops = append(ops,
				testbed.Op{"op": "insert", "table": "Encap", "uuid-name": "e" + strconv.Itoa(c), "row": map[string]any{
					"type": "vxlan", "ip": fmt.Sprintf("192.0.2.%d", c+1), "chassis_name": name}},
				testbed.Op{"op": "insert", "table": "Chassis", "uuid-name": "c" + strconv.Itoa(c), "row": map[string]any{
					"name": name, "encaps": testbed.NamedRef("e" + strconv.Itoa(c))}})
		}
		for i := range ports {
			ops = append(ops, testbed.Op{"op": "insert", "table": "Port_Binding", "uuid-name": "p" + strconv.Itoa(i), "row": map[string]any{
				"logical_port": bulkPort(i), "datapath": testbed.NamedRef("dp"), "tunnel_key": i + 1,
				"mac": []any{"set", bulkMACs(i, cfg.macsPerPort)}}})
		}
		res0, err := conn.Transact("OVN_Southbound", ops...)
		if err != nil {
			return err
		}
		// Result order follows the operations: the datapath, then an
		// (encap, chassis) pair per chassis, then the ports.
		var chassis, pbs []string
		for c := range cfg.chassis {
			chassis = append(chassis, res0[2+2*c].UUID[1].(string))
		}
		for i := range ports {
			pbs = append(pbs, res0[1+2*cfg.chassis+i].UUID[1].(string))
		}

		mon, err := newSBMonitor(sb.SocketPath())
		if err != nil {
			return err
		}
		defer mon.close()

		f, err := testbed.OpenDBFile(sb.DBPath("ovnsb_db"), true)
		if err != nil {
			return err
		}
		defer f.Close()
		bind := func(on bool, comment string) []testbed.Op {
			ops := make([]testbed.Op, 0, len(pbs)+1)
			for i, u := range pbs {
				row := map[string]any{"chassis": []any{"set", []any{}}, "up": false}
				if on {
					row = map[string]any{"chassis": testbed.Ref(chassis[i%len(chassis)]), "up": true}
				}
				ops = append(ops, testbed.Op{"op": "update", "table": "Port_Binding", "where": [][]any{{"_uuid", "==", testbed.Ref(u)}}, "row": row})
			}
			return append(ops, testbed.CommentOp(comment))
		}
		for run := range cfg.repeat {
			comment := fmt.Sprintf("sbfloor #%d", run+1)
			ops := bind(true, comment)
			mon.drain()
			if _, err := conn.Transact("OVN_Southbound", ops...); err != nil {
				return err
			}
			arrived, err := mon.next(10 * time.Second)
			if err != nil {
				return fmt.Errorf("sbfloor run %d: %w", run+1, err)
			}
			var commit time.Time
			if err := f.Read(nil, func(x testbed.DBTxn) error {
				if x.Comment == comment {
					commit = x.Time
				}
				return nil
			}); err != nil {
				return err
			}
			if commit.IsZero() {
				return fmt.Errorf("sbfloor run %d: commit not found in the database file", run+1)
			}
			// The commit time has ms resolution; the arrival is rounded
			// down to the same.
			d := arrived.Truncate(time.Millisecond).Sub(commit)
			res.Runs = append(res.Runs, d)
			t.Logf("sbfloor: %d ports (%d MACs) bound in one txn: SB commit -> update read by a client %s", ports, n, ms(d))
			ops = bind(false, fmt.Sprintf("sbfloor unbind #%d", run+1))
			if _, err := conn.Transact("OVN_Southbound", ops...); err != nil {
				return err
			}
			if _, err := mon.next(10 * time.Second); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	})
	return res, err
}

// sbMonitor is a bare OVSDB client that monitors Port_Binding and records
// when each update notification has been read in full.
type sbMonitor struct {
	c       net.Conn
	updates chan time.Time
	errc    chan error
}

func newSBMonitor(sock string) (*sbMonitor, error) {
	m := &sbMonitor{updates: make(chan time.Time, 16), errc: make(chan error, 1)}
	c, err := rawMonitor(sock, map[string]any{"Port_Binding": []any{map[string]any{"columns": sbFloorColumns}}},
		func(rpcMsg) { m.updates <- time.Now() },
		func(err error) { m.errc <- err })
	if err != nil {
		return nil, err
	}
	m.c = c
	return m, nil
}

// rawMonitor is a bare OVSDB client of the OVN_Southbound on sock: it
// monitors the tables of requests with monitor_cond_since, as libovsdb and
// the OVS IDL do with servers that have it (updates come as update3),
// answers the server's echo, and hands every update notification to
// onUpdate and the error that ends the connection to onErr (if set), on
// its reading goroutine.
func rawMonitor(sock string, requests map[string]any, onUpdate func(rpcMsg), onErr func(error)) (net.Conn, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(c)
	req := map[string]any{"method": "monitor_cond_since", "id": 1, "params": []any{"OVN_Southbound", nil, requests,
		"00000000-0000-0000-0000-000000000000"}}
	if err := enc.Encode(req); err != nil {
		c.Close()
		return nil, err
	}
	dec := json.NewDecoder(c)
	var reply rpcMsg
	if err := dec.Decode(&reply); err != nil {
		c.Close()
		return nil, fmt.Errorf("monitor_cond_since: %w", err)
	}
	if len(reply.Error) > 0 && string(reply.Error) != "null" {
		c.Close()
		return nil, fmt.Errorf("monitor_cond_since: %s", reply.Error)
	}
	go func() {
		for {
			var msg rpcMsg
			if err := dec.Decode(&msg); err != nil {
				if onErr != nil {
					onErr(err)
				}
				return
			}
			switch msg.Method {
			case "update3", "update2", "update":
				onUpdate(msg)
			case "echo":
				_ = enc.Encode(map[string]any{"id": msg.ID, "result": msg.Params, "error": nil})
			}
		}
	}()
	return c, nil
}

// rpcMsg is one JSON-RPC message, any kind.
type rpcMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func (m *sbMonitor) drain() {
	for {
		select {
		case <-m.updates:
		default:
			return
		}
	}
}

func (m *sbMonitor) next(timeout time.Duration) (time.Time, error) {
	select {
	case at := <-m.updates:
		return at, nil
	case err := <-m.errc:
		return time.Time{}, err
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("no update notification in %v", timeout)
	}
}

func (m *sbMonitor) close() { _ = m.c.Close() }
