package testbed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrDBFileShrank is returned by DBFile.Read when the file is shorter than
// what was already read: ovsdb-server compacted it (the transaction
// history is gone), or truncated a torn last record after a crash.
var ErrDBFileShrank = errors.New("database file shrank (compacted: history lost)")

// DBFile reads a standalone ovsdb-server database file ("OVSDB JSON LEN
// SHA1" header lines, each followed by LEN bytes of JSON: the schema, then
// one record per committed transaction) as the server appends to it. It
// never talks to the server, so watching a database costs the server
// nothing, and the commit times it reports are the server's. A record
// still being written is left for the next Read. Not safe for concurrent
// use.
type DBFile struct {
	path   string
	f      *os.File // nil: the file is opened by every Read
	off    int64
	buf    []byte
	schema bool // schema record seen
	n      int  // transactions read
}

// OpenDBFile returns a reader of the database file at path, positioned at
// its start. With keepOpen the file is opened once, now, and read through
// that descriptor (Close it); otherwise every Read opens the path anew,
// which follows a file replaced by a new one.
func OpenDBFile(path string, keepOpen bool) (*DBFile, error) {
	d := &DBFile{path: path}
	if keepOpen {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		d.f = f
	}
	return d, nil
}

// Path returns the file's path.
func (d *DBFile) Path() string { return d.path }

// Close closes the descriptor of a keepOpen reader.
func (d *DBFile) Close() {
	if d.f != nil {
		_ = d.f.Close()
	}
}

// Rewind makes the next Read start again from the beginning of the file.
func (d *DBFile) Rewind() { d.off, d.buf, d.schema, d.n = 0, nil, false, 0 }

// Read reads what was appended since the last call and passes every
// complete record on: the first one (the schema's JSON) to schema, if not
// nil, and each following one, decoded, to txn. It returns an error
// wrapping ErrDBFileShrank if the file got shorter.
func (d *DBFile) Read(schema func(body []byte) error, txn func(DBTxn) error) error {
	f := d.f
	if f == nil {
		var err error
		if f, err = os.Open(d.path); err != nil {
			return err
		}
		defer f.Close()
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < d.off {
		return fmt.Errorf("%s: %w", d.path, ErrDBFileShrank)
	}
	if st.Size() > d.off {
		chunk := make([]byte, st.Size()-d.off)
		n, err := io.ReadFull(io.NewSectionReader(f, d.off, int64(len(chunk))), chunk)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: %w", d.path, err)
		}
		d.off += int64(n)
		d.buf = append(d.buf, chunk[:n]...)
	}
	for {
		data := bytes.TrimLeft(d.buf, "\n")
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			d.buf = data
			return nil
		}
		h := strings.Fields(string(data[:nl]))
		if len(h) != 4 || h[0] != "OVSDB" || h[1] != "JSON" {
			return fmt.Errorf("%s: bad record header %q", d.path, data[:nl])
		}
		n, err := strconv.Atoi(h[2])
		if err != nil || n < 0 {
			return fmt.Errorf("%s: bad record length %q", d.path, h[2])
		}
		if len(data) < nl+1+n {
			d.buf = data
			return nil // still being written
		}
		body := data[nl+1 : nl+1+n]
		rest := data[nl+1+n:]
		if !d.schema {
			d.schema = true
			if schema != nil {
				if err := schema(body); err != nil {
					return err
				}
			}
		} else {
			x, err := parseDBTxn(d.path, d.n, body)
			if err != nil {
				return err
			}
			d.n++
			if err := txn(x); err != nil {
				return err
			}
		}
		// Do not keep the (possibly large) consumed prefix alive.
		d.buf = append([]byte(nil), rest...)
	}
}

// DBTxn is one committed transaction of a database file.
type DBTxn struct {
	Index   int       // 0 for the first transaction after the schema
	Time    time.Time // the server's commit time ("_date"), ms resolution
	Comment string    // the transaction's comment ("" if none)
	// IsDiff: set and map columns of updated rows hold differences
	// ("_is_diff"), not new values.
	IsDiff bool
	// Tables holds, by table and row UUID, the row's written columns as
	// JSON ("null" for a deleted row).
	Tables map[string]map[string]json.RawMessage
}

func parseDBTxn(path string, index int, body []byte) (DBTxn, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(body, &rec); err != nil {
		return DBTxn{}, fmt.Errorf("%s: record %d: %w", path, index, err)
	}
	x := DBTxn{Index: index, Tables: map[string]map[string]json.RawMessage{}}
	if d, ok := rec["_date"]; ok {
		var ms int64
		if err := json.Unmarshal(d, &ms); err != nil {
			return DBTxn{}, fmt.Errorf("%s: _date: %w", path, err)
		}
		x.Time = time.UnixMilli(ms)
	}
	if c, ok := rec["_comment"]; ok {
		_ = json.Unmarshal(c, &x.Comment)
	}
	x.IsDiff = string(rec["_is_diff"]) == "true"
	for table, v := range rec {
		if strings.HasPrefix(table, "_") {
			continue
		}
		var rows map[string]json.RawMessage
		if err := json.Unmarshal(v, &rows); err != nil {
			return DBTxn{}, fmt.Errorf("%s: table %s: %w", path, table, err)
		}
		x.Tables[table] = rows
	}
	return x, nil
}
