//go:build race

package simulator_test

const raceEnabled = true
