// Package vtepdb holds the complete hardware_vtep 1.7.0 models the simulator
// uses. The simulator plays the switch, so it needs every table and column,
// including the fault-status and statistics columns a controller never writes.
package vtepdb

//go:generate go tool modelgen -p vtepdb -o . vtep-1.7.0.ovsschema
