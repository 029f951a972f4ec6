package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// floorResult is what the switch's ovsdb-server alone needs to commit the
// Ucast_Macs_Remote rows of an N-MAC convergence: the same insert
// transaction a controller sends, encoded in advance (the client only scans
// it once more) and written in one
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
		conn, err := testbed.DialOVSDB(v.SocketPath())
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.Timeout = rpcTimeout
		// The locator exists already, as it does for a known chassis (the
		// flood row holds it: an unreferenced locator is garbage-collected).
		v.MustVtep(t, "add-mcast-remote", "ls0", "unknown-dst", "192.0.2.1")
		loc := strings.TrimSpace(v.MustVtep(t, "--bare", "--columns=_uuid", "list", "Physical_Locator"))
		ins := make([]testbed.Op, 0, n+1)
		for i := range n {
			ins = append(ins, testbed.Op{"op": "insert", "table": "Ucast_Macs_Remote", "row": map[string]any{
				"MAC":            fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", i>>24&255, i>>16&255, i>>8&255, i&255),
				"logical_switch": testbed.Ref(ls), "locator": testbed.Ref(loc)}})
		}
		ins = append(ins, testbed.CommentOp("floor"))
		prepared, err := testbed.PrepareTransact("hardware_vtep", ins...)
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
			if _, err := conn.TransactPrepared(prepared); err != nil {
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
			if _, err := conn.Transact("hardware_vtep", testbed.Op{"op": "delete", "table": "Ucast_Macs_Remote", "where": []any{}}); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	})
	return res, err
}
