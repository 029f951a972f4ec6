package main

import (
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// rpcTimeout bounds one call (the benchmark's own bound; testbed's default is
// DefaultRPCTimeout).
const rpcTimeout = 5 * time.Minute

// dialRPC connects a testbed.OVSDBConn that stands in for hypervisors (SB
// bindings) and for a CMS (NB ports), without any client-side cost that
// grows with the database, as ovn-sbctl's does. Every update and mutate
// must match exactly one row.
func dialRPC(sock string) (*testbed.OVSDBConn, error) {
	c, err := testbed.DialOVSDB(sock)
	if err != nil {
		return nil, err
	}
	c.Timeout = rpcTimeout
	c.RequireOneRow = true
	return c, nil
}
