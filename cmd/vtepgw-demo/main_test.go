package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the whole demo as a smoke test of vtepgw: every step must
// reach its expected state. PATH is emptied to show that no external
// program is needed.
func TestDemo(t *testing.T) {
	t.Setenv("PATH", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	if err := run(ctx, options{out: &out, errOut: &errOut, timeout: 20 * time.Second}); err != nil {
		t.Fatalf("demo failed: %v\n--- output ---\n%s\n--- stderr ---\n%s", err, out.String(), errOut.String())
	}
	s := out.String()
	for _, want := range []string{
		"vtepgw        sb    + Chassis br-vtep",
		"vtepgw        sb    ~ Port_Binding ls0-vtep  chassis: [] -> br-vtep",
		"vtepgw        vtep  + Ucast_Macs_Remote 00:00:5e:00:53:01  locator=198.51.100.1",
		"vtepgw        vtep  + Mcast_Macs_Remote unknown-dst  locator_set={198.51.100.1, 198.51.100.2}",
		"vtepgw        vtep  + Ucast_Macs_Remote 00:00:5e:00:53:22",
		"vtepgw        sb    + FDB 00:00:5e:00:53:aa  dp_key=1  port_key=3",
		"vtepgw        sb    - FDB 00:00:5e:00:53:aa",
		"vtepgw        vtep  - Ucast_Macs_Remote 00:00:5e:00:53:01",
		"DEMO OK",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// A demo that converges only by reconnecting is broken (the southbound
	// client once answered libovsdb's update requests with a null result,
	// and the in-process server dropped it every time).
	for _, bad := range []string{"connection lost", "reconcile failed"} {
		if strings.Contains(s, bad) {
			t.Errorf("output has %q", bad)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("demo output:\n%s", s)
	}
}
