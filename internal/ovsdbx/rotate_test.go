package ovsdbx

import (
	"context"
	"slices"
	"testing"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"
)

type rotRow struct {
	UUID string `ovsdb:"_uuid"`
}

// TestEndpointsRotateAfterFailure: every failed attempt starts the next one
// at the following endpoint, so a cluster member that is down (or drops
// packets, costing libovsdb's whole connect timeout) is not always tried
// first.
func TestEndpointsRotateAfterFailure(t *testing.T) {
	dir := t.TempDir()
	eps := []string{"unix:" + dir + "/a.sock", "unix:" + dir + "/b.sock", "unix:" + dir + "/c.sock"}
	c, err := New(Options{Name: "t", Endpoints: eps, ModelFor: func(ovsdb.DatabaseSchema) (model.ClientDBModel, error) {
		return model.NewClientDBModel("T", map[string]model.Model{"R": &rotRow{}})
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{eps, {eps[1], eps[2], eps[0]}, {eps[2], eps[0], eps[1]}, eps} {
		if got := c.rot.Order(c.opts.Endpoints); !slices.Equal(got, want) {
			t.Fatalf("attempt %d tries %v, want %v", i+1, got, want)
		}
		if _, err := c.connect(context.Background()); err == nil {
			t.Fatal("connected to a socket that does not exist")
		}
	}
	one, err := New(Options{Name: "t", Endpoints: eps[:1], ModelFor: c.opts.ModelFor})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = one.connect(context.Background())
	if got := one.rot.Order(one.opts.Endpoints); !slices.Equal(got, eps[:1]) {
		t.Fatalf("a single endpoint: %v", got)
	}
}
