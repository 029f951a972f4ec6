package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// floorResult is what the switch's ovsdb-server alone needs to commit the
// Ucast_Macs_Remote rows of an N-MAC convergence: the same insert
// transaction a controller sends, encoded in advance and written in one
// go, timed from the write to the server's own commit timestamp. No
// controller can converge faster than this; it is in both controllers'
// "SB commit → switch commit" figures (the server is the same).
type floorResult struct {
	N    int
	Runs []time.Duration
}

// measureFloor starts a fresh hardware_vtep ovsdb-server with one logical
// switch and one locator and commits n Ucast_Macs_Remote rows in one
// transaction, cfg.repeat times (deleting them in between).
func measureFloor(cfg *config, n int) (*floorResult, error) {
	res := &floorResult{N: n}
	t := newTB("floor", cfg.keep, cfg.verbose)
	err := t.Run(func() error {
		v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
		v.MustVtep(t, "add-ls", "ls0", "--", "set", "Logical_Switch", "ls0", "tunnel_key=5000")
		ls := strings.TrimSpace(v.MustVtep(t, "--bare", "--columns=_uuid", "list", "Logical_Switch", "ls0"))
		conn, err := net.Dial("unix", v.SocketPath())
		if err != nil {
			return err
		}
		defer conn.Close()
		r := bufio.NewReaderSize(conn, 1<<20)
		dec := json.NewDecoder(r)
		call := func(id int, params []any) error {
			msg, err := json.Marshal(map[string]any{"method": "transact", "params": params, "id": id})
			if err != nil {
				return err
			}
			return send(conn, dec, msg, id)
		}
		// The locator exists already, as it does for a known chassis (the
		// flood row holds it: an unreferenced locator is garbage-collected).
		v.MustVtep(t, "add-mcast-remote", "ls0", "unknown-dst", "192.0.2.1")
		loc := strings.TrimSpace(v.MustVtep(t, "--bare", "--columns=_uuid", "list", "Physical_Locator"))
		ins := []any{"hardware_vtep"}
		for i := range n {
			ins = append(ins, map[string]any{"op": "insert", "table": "Ucast_Macs_Remote", "row": map[string]any{
				"MAC":            fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", i>>24&255, i>>16&255, i>>8&255, i&255),
				"logical_switch": testbed.Ref(ls), "locator": testbed.Ref(loc)}})
		}
		ins = append(ins, testbed.CommentOp("floor"))
		msg, err := json.Marshal(map[string]any{"method": "transact", "params": ins, "id": 2})
		if err != nil {
			return err
		}
		f, err := testbed.OpenDBFile(v.DBPath("vtep"), true)
		if err != nil {
			return err
		}
		defer f.Close()
		for run := range cfg.repeat {
			t0 := time.Now()
			if err := send(conn, dec, msg, 2); err != nil {
				return err
			}
			var commit time.Time
			if err := f.Read(nil, func(x testbed.DBTxn) error {
				if x.Comment == "floor" {
					commit = x.Time
				}
				return nil
			}); err != nil {
				return err
			}
			if commit.IsZero() {
				return fmt.Errorf("floor run %d: commit not found in the database file", run+1)
			}
			// The commit time has ms resolution; the send time is rounded
			// down to the same.
			d := commit.Sub(t0.Truncate(time.Millisecond))
			res.Runs = append(res.Runs, d)
			t.Logf("floor: %d Ucast_Macs_Remote rows in one txn: write -> commit %s", n, ms(d))
			if err := call(3, []any{"hardware_vtep", map[string]any{"op": "delete", "table": "Ucast_Macs_Remote", "where": []any{}}}); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	})
	return res, err
}

// send writes one request and reads replies until the one with id; an
// error in the reply or in any operation's result is an error.
func send(conn net.Conn, dec *json.Decoder, msg []byte, id int) error {
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	for {
		var rep struct {
			ID     *int              `json:"id"`
			Result []json.RawMessage `json:"result"`
			Error  any               `json:"error"`
			Method string            `json:"method"`
		}
		if err := dec.Decode(&rep); err != nil {
			return err
		}
		if rep.ID == nil || *rep.ID != id {
			continue
		}
		if rep.Error != nil {
			return fmt.Errorf("transact: %v", rep.Error)
		}
		for i, r := range rep.Result {
			if strings.Contains(string(r), `"error"`) {
				return fmt.Errorf("transact: operation %d: %s", i, r)
			}
		}
		return nil
	}
}
