package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// record is one committed transaction read from an ovsdb-server standalone
// database file. Its time is the server's own commit timestamp ("_date",
// milliseconds), so every client is timed by the database, on equal terms.
type record struct {
	Index   int       // 0 for the first transaction after the schema
	Time    time.Time // commit time, millisecond resolution
	Comment string    // the transaction's comment ("" if none)
	// Ops counts rows per "TABLE insert", "TABLE update", "TABLE delete".
	Ops map[string]int
	// After is the number of live rows of each watched table once this
	// transaction is applied.
	After map[string]int
}

// by reports whether the transaction was committed by a client whose
// comments start with prefix.
func (r record) by(prefix string) bool { return strings.HasPrefix(r.Comment, prefix) }

func (r record) String() string {
	return fmt.Sprintf("#%d %s %q %v", r.Index, r.Time.Format("15:04:05.000"), r.Comment, r.Ops)
}

// follower reads a standalone ovsdb database file as ovsdb-server appends
// to it (testbed.DBFile, kept open), and keeps the list of transactions
// plus live-row bookkeeping. It never talks to the server, so watching a
// database costs the server nothing. A compacted (shrunk) file is an error
// wrapping testbed.ErrDBFileShrank. Not safe for concurrent use.
type follower struct {
	file    *testbed.DBFile
	live    map[string]map[string]struct{} // table -> uuid
	keyCol  map[string]string              // table -> column indexed on insert
	byKey   map[string]map[string]string   // table -> key value -> uuid
	watch   []string
	records []record
}

// newFollower opens path. keyCols names, per table, a string column whose
// value is remembered on insert (Port_Binding: logical_port) so rows can be
// found by it; watch lists the tables whose live row count every record
// carries in After.
func newFollower(path string, keyCols map[string]string, watch ...string) (*follower, error) {
	f, err := testbed.OpenDBFile(path, true)
	if err != nil {
		return nil, err
	}
	fl := &follower{
		file:   f,
		live:   map[string]map[string]struct{}{},
		keyCol: keyCols,
		byKey:  map[string]map[string]string{},
		watch:  watch,
	}
	if err := fl.poll(); err != nil {
		f.Close()
		return nil, err
	}
	return fl, nil
}

func (fl *follower) close() { fl.file.Close() }

// poll reads what was appended since the last call and parses every
// complete record.
func (fl *follower) poll() error { return fl.file.Read(nil, fl.apply) }

func (fl *follower) apply(x testbed.DBTxn) error {
	r := record{Index: x.Index, Time: x.Time, Comment: x.Comment, Ops: map[string]int{}}
	for table, rows := range x.Tables {
		live := fl.live[table]
		if live == nil {
			live = map[string]struct{}{}
			fl.live[table] = live
		}
		for uuid, row := range rows {
			_, exists := live[uuid]
			switch {
			case string(row) == "null":
				r.Ops[table+" delete"]++
				delete(live, uuid)
			case exists:
				r.Ops[table+" update"]++
			default:
				r.Ops[table+" insert"]++
				live[uuid] = struct{}{}
				if col := fl.keyCol[table]; col != "" {
					fl.indexRow(table, col, uuid, row)
				}
			}
		}
	}
	if len(fl.watch) > 0 {
		r.After = make(map[string]int, len(fl.watch))
		for _, t := range fl.watch {
			r.After[t] = len(fl.live[t])
		}
	}
	fl.records = append(fl.records, r)
	return nil
}

func (fl *follower) indexRow(table, col, uuid string, row json.RawMessage) {
	var cols map[string]json.RawMessage
	if json.Unmarshal(row, &cols) != nil {
		return
	}
	var key string
	if json.Unmarshal(cols[col], &key) != nil || key == "" {
		return
	}
	m := fl.byKey[table]
	if m == nil {
		m = map[string]string{}
		fl.byKey[table] = m
	}
	m[key] = uuid
}

// count returns the number of live rows of table.
func (fl *follower) count(table string) int { return len(fl.live[table]) }

// uuidOf returns the UUID of the row of table whose key column (see
// newFollower) is key, if it was inserted and still exists.
func (fl *follower) uuidOf(table, key string) (string, bool) {
	u, ok := fl.byKey[table][key]
	if !ok {
		return "", false
	}
	if _, live := fl.live[table][u]; !live {
		return "", false
	}
	return u, true
}

// mark returns the number of transactions read so far.
//
// It reads the file up to its end first: a mark taken from what was read
// earlier would count transactions committed before it (the first
// convergence run counted the controller's set-up transaction as its own).
// A read error is left for the next wait, which reports it.
func (fl *follower) mark() int {
	_ = fl.poll()
	return len(fl.records)
}

// since returns the transactions from index mark on.
func (fl *follower) since(mark int) []record { return fl.records[mark:] }

// wait polls the file every interval until cond holds or timeout passes.
func (fl *follower) wait(timeout, interval time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := fl.poll(); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not reached after %v", what, timeout)
		}
		time.Sleep(interval)
	}
}

// findComment waits for the transaction whose comment is exactly comment,
// at or after mark.
func (fl *follower) findComment(mark int, comment string, timeout time.Duration) (record, error) {
	var found record
	err := fl.wait(timeout, time.Millisecond, "transaction "+strconv.Quote(comment), func() bool {
		for _, r := range fl.records[mark:] {
			if r.Comment == comment {
				found = r
				return true
			}
		}
		return false
	})
	return found, err
}
