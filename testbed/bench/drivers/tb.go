package main

import (
	"errors"
	"fmt"

	"github.com/vtepgw/vtepgw/testbed"
)

// benchTB lets the testbed packages, written for tests, run in this
// program (see testbed.ProgramTB).
type benchTB = testbed.ProgramTB

// runTB calls f with a fresh TB (temporary directories vbd*), turns a
// Fatal into an error, and runs the cleanups (which stop every process by
// PID and delete the namespace) in reverse order.
func runTB(name string, c *config, f func(t *benchTB) error) error {
	t := testbed.NewProgramTB(name, "vbd", c.keep, c.verbose)
	err := t.Run(func() error { return f(t) })
	if ft, ok := errors.AsType[*testbed.TBFatal](err); ok {
		return fmt.Errorf("%s", ft.Msg)
	}
	return err
}
