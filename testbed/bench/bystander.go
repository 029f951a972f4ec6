package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"

	"github.com/vtepgw/vtepgw/sbsync"
	"github.com/vtepgw/vtepgw/testbed"
)

// Bystanders are bare southbound clients, each in its own process, that
// watch the same one-port churn as vtepgw, at the same time, and do nothing
// with it. Their CPU per change is the floor under vtepgw's figure on this
// machine: what receiving the SB's update notifications costs before any
// of vtepgw's own work.
//
//   - libovsdb: libovsdb's client with vtepgw's SB model (tables, columns,
//     client indexes) and an event handler that only counts: what vtepgw's
//     southbound connection costs by itself.
//   - raw: a JSON-RPC reader monitoring the same tables and columns that
//     splits the stream into messages and decodes nothing further: the
//     floor of any Go client reading these updates one wake-up at a time.
//   - decode: the raw reader that also decodes each update3 down to its
//     columns' raw JSON values and merges them into a row map: about what
//     a client without libovsdb's reflection-driven decoding, cloning and
//     index upkeep would pay.
const (
	bystanderLibovsdb = "libovsdb"
	bystanderRaw      = "raw"
	bystanderDecode   = "decode"
)

// bystanderEnv, set to MODE:SOCKET, turns the bench binary into a
// bystander (main checks it first).
const bystanderEnv = "VTEPGW_BENCH_BYSTANDER"

// bystanderPhase is one churn watched by bystanders.
type bystanderPhase struct {
	Level   int
	Changes int
	PerTxn  map[string]time.Duration // "vtepgw", bystanderLibovsdb, bystanderRaw
	Sent    time.Duration
}

// bystander is a running bystander process.
type bystander struct {
	mode  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startBystander(mode, sock string) (*bystander, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), bystanderEnv+"="+mode+":"+sock)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bystander %s: %w", mode, err)
	}
	b := &bystander{mode: mode, cmd: cmd, stdin: stdin}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case err := <-ready:
		if err != nil {
			b.stop()
			return nil, fmt.Errorf("bystander %s: %w", mode, err)
		}
	case <-time.After(30 * time.Second):
		b.stop()
		return nil, fmt.Errorf("bystander %s: not ready in 30s", mode)
	}
	return b, nil
}

func (b *bystander) cpu() (time.Duration, error) { return cpuTime(b.cmd.Process.Pid) }

// stop closes the bystander's stdin (it exits on EOF) and waits.
func (b *bystander) stop() {
	_ = b.stdin.Close()
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
}

// runBystander is the bystander process: connect, monitor, say "ready",
// and keep reading until stdin closes.
func runBystander(spec string) int {
	mode, sock, ok := strings.Cut(spec, ":")
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q: want MODE:SOCKET\n", bystanderEnv, spec)
		return 2
	}
	// As vtepgw runs with one switch connection (its max-procs default),
	// unless the caller set GOMAXPROCS for both.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
	cols, err := sbModelColumns(testbed.SBSchema)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bystander: %v\n", err)
		return 1
	}
	var stop func()
	switch mode {
	case bystanderLibovsdb:
		stop, err = watchLibovsdb(sock, cols)
	case bystanderRaw:
		stop, err = watchRaw(sock, cols, false)
	case bystanderDecode:
		stop, err = watchRaw(sock, cols, true)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bystander %s: %v\n", mode, err)
		return 1
	}
	defer stop()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// sbModelColumns lists the columns of each table of vtepgw's SB model, as
// its connection monitors them.
func sbModelColumns(schemaPath string) (map[string][]string, error) {
	schema, err := readSchema(schemaPath)
	if err != nil {
		return nil, err
	}
	cm, err := sbsync.ClientModel()
	if err != nil {
		return nil, err
	}
	dbm, errs := model.NewDatabaseModel(schema, cm)
	if len(errs) > 0 {
		return nil, fmt.Errorf("database model: %v", errs)
	}
	out := map[string][]string{}
	for table, typ := range dbm.Types() {
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		for i := range typ.NumField() {
			if col := typ.Field(i).Tag.Get("ovsdb"); col != "" && col != "_uuid" {
				out[table] = append(out[table], col)
			}
		}
		slices.Sort(out[table])
	}
	return out, nil
}

func watchLibovsdb(sock string, cols map[string][]string) (func(), error) {
	cm, err := sbsync.ClientModel()
	if err != nil {
		return nil, err
	}
	cl, err := client.NewOVSDBClient(cm, client.WithEndpoint("unix:"+sock))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.Connect(ctx); err != nil {
		return nil, err
	}
	cl.Cache().AddEventHandler(&eventCounter{})
	mon := cl.NewMonitor()
	for table, c := range cols {
		mon.Tables = append(mon.Tables, client.TableMonitor{Table: table, Fields: c})
	}
	if _, err := cl.Monitor(ctx, mon); err != nil {
		cl.Close()
		return nil, err
	}
	return cl.Close, nil
}

// eventCounter receives the cache's events, as vtepgw's handler does, and
// only counts them.
type eventCounter struct{ n atomic.Int64 }

func (e *eventCounter) OnAdd(string, model.Model)                 { e.n.Add(1) }
func (e *eventCounter) OnUpdate(string, model.Model, model.Model) { e.n.Add(1) }
func (e *eventCounter) OnDelete(string, model.Model)              { e.n.Add(1) }

func watchRaw(sock string, cols map[string][]string, keep bool) (func(), error) {
	reqs := map[string]any{}
	for table, cc := range cols {
		reqs[table] = []any{map[string]any{"columns": cc}}
	}
	cache := map[string]map[string]map[string]json.RawMessage{}
	onUpdate := func(msg rpcMsg) {
		if keep && msg.Method == "update3" {
			keepRows(cache, msg.Params)
		}
	}
	c, err := rawMonitor(sock, reqs, onUpdate, nil)
	if err != nil {
		return nil, err
	}
	return func() { _ = c.Close() }, nil
}

// keepRows decodes an update3's rows down to their columns' raw values and
// merges them into cache (table → UUID → column → value).
func keepRows(cache map[string]map[string]map[string]json.RawMessage, params json.RawMessage) {
	var p []json.RawMessage
	if json.Unmarshal(params, &p) != nil || len(p) < 3 {
		return
	}
	var tu map[string]map[string]map[string]map[string]json.RawMessage
	if json.Unmarshal(p[2], &tu) != nil {
		return
	}
	for table, rows := range tu {
		t := cache[table]
		if t == nil {
			t = map[string]map[string]json.RawMessage{}
			cache[table] = t
		}
		for uuid, ru := range rows {
			for kind, row := range ru {
				if kind == "delete" {
					delete(t, uuid)
					continue
				}
				cur := t[uuid]
				if cur == nil {
					cur = map[string]json.RawMessage{}
					t[uuid] = cur
				}
				for c, v := range row {
					cur[c] = v
				}
			}
		}
	}
}
