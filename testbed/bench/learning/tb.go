package main

import (
	"errors"
	"fmt"

	"github.com/vtepgw/vtepgw/testbed"
)

// benchTB lets the testbed packages, written for tests, run in this
// program (see testbed.ProgramTB).
type benchTB = testbed.ProgramTB

// run calls f with a fresh TB (temporary directories vl*), turns a Fatal
// into an error prefixed with name, and runs the cleanups in reverse
// order, as the testing package does.
func run(name string, c *config, f func(t *benchTB) error) error {
	t := testbed.NewProgramTB(name, "vl", c.keep, c.verbose)
	err := t.Run(func() error { return f(t) })
	if ft, ok := errors.AsType[*testbed.TBFatal](err); ok {
		return fmt.Errorf("%s: %s", name, ft.Msg)
	}
	return err
}
