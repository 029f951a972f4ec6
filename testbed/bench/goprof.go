package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// goProfiler takes Go heap profiles from vtepgw's --pprof endpoint around
// each phase (-pprof DIR): allocs?gc=1 at the start and at the end, so
// `go tool pprof -sample_index=alloc_space -base START END` shows what the
// phase allocated, and it logs the bytes the runtime allocated in between
// (runtime.MemStats.TotalAlloc). Forcing GCs at the two
// ends adds collections to the phase's CPU figure.
type goProfiler struct {
	dir  string
	addr string // host:port of vtepgw's metrics listener
}

func (g *goProfiler) get(path string) ([]byte, error) {
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + g.addr + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// allocated returns the process's cumulative heap allocation in bytes
// (runtime.MemStats.TotalAlloc, from the text form of the heap profile;
// /metrics would also work but its collector walks every table).
func (g *goProfiler) allocated() (float64, error) {
	body, err := g.get("/debug/pprof/allocs?debug=1")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# TotalAlloc = "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("heap profile has no TotalAlloc line")
}

// snapshot writes allocs?gc=1 to DIR/vtepgw-NAME-WHEN.pb.gz. The runtime
// publishes a cycle's allocations in the heap profile only two cycles
// later, so it asks three times: the last profile covers everything until
// the first.
func (g *goProfiler) snapshot(name, when string) error {
	var body []byte
	var err error
	for range 3 {
		if body, err = g.get("/debug/pprof/allocs?gc=1"); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(g.dir, "vtepgw-"+name+"-"+when+".pb.gz"), body, 0o644)
}

// start takes the start snapshot and returns the function that takes the
// end one and reports the bytes allocated in between.
func (g *goProfiler) start(s *stack, name string) func() {
	if err := g.snapshot(name, "start"); err != nil {
		s.logf("pprof: %v", err)
		return func() {}
	}
	a0, err := g.allocated()
	if err != nil {
		s.logf("pprof: %v", err)
	}
	return func() {
		a1, err := g.allocated()
		if err != nil {
			s.logf("pprof: %v", err)
		}
		if err := g.snapshot(name, "end"); err != nil {
			s.logf("pprof: %v", err)
			return
		}
		s.logf("pprof: %s allocated %.1f MB; profiles in %s", name, (a1-a0)/(1<<20), g.dir)
	}
}
