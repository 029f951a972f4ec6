package main

import "github.com/vtepgw/vtepgw/testbed"

// benchTB lets package testbed, which is written for tests, run inside this
// program (see testbed.ProgramTB).
type benchTB = testbed.ProgramTB

// newTB returns a TB whose temporary directories are named vb*.
func newTB(name string, keep, verbose bool) *benchTB {
	return testbed.NewProgramTB(name, "vb", keep, verbose)
}
