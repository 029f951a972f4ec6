package acmeapi_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"example.com/acme-vtep-driver/acmeapi"
)

// mute is a switch that reads requests and never answers.
func mute(t *testing.T) (*acmeapi.Conn, net.Conn) {
	t.Helper()
	client, server := net.Pipe()
	go func() {
		r := bufio.NewReader(server)
		for {
			if _, err := r.ReadBytes('\n'); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = server.Close() })
	return acmeapi.NewConn(client, nil), server
}

func TestCallCancelled(t *testing.T) {
	c, _ := mute(t)
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, acmeapi.CmdShowSystem, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call on a switch that does not answer = %v, want context.DeadlineExceeded", err)
	}
	if c.Err() != nil {
		t.Fatalf("a cancelled wait closed the connection: %v", c.Err())
	}
}

func TestCallFailsWhenTheConnectionEnds(t *testing.T) {
	c, server := mute(t)
	done := make(chan error, 1)
	go func() { done <- c.Call(t.Context(), acmeapi.CmdShowSystem, nil, nil) }()
	time.Sleep(10 * time.Millisecond)
	_ = server.Close()
	select {
	case err := <-done:
		if !errors.Is(err, acmeapi.ErrClosed) {
			t.Fatalf("pending Call = %v, want acmeapi.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending Call did not return when the connection ended")
	}
	<-c.Done()
	if err := c.Call(t.Context(), acmeapi.CmdShowSystem, nil, nil); !errors.Is(err, acmeapi.ErrClosed) {
		t.Fatalf("Call after the end = %v, want acmeapi.ErrClosed", err)
	}
}

// A write the switch does not take is interrupted by ctx and ends the
// connection (a partial request is on the wire).
func TestWriteInterrupted(t *testing.T) {
	client, server := net.Pipe() // nobody reads server
	defer server.Close()
	c := acmeapi.NewConn(client, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, acmeapi.CmdShowSystem, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want context.DeadlineExceeded", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed up after an interrupted write")
	}
	if !errors.Is(c.Err(), acmeapi.ErrClosed) {
		t.Fatalf("Err() = %v, want acmeapi.ErrClosed", c.Err())
	}
}
