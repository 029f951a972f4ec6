// Package vtepfull holds libovsdb models for every table and column of the
// hardware_vtep schema (1.7.0, Debian's Open vSwitch 3.1) in ../../schemas.
// The demo's in-memory server needs a model for the whole schema; vtepgw
// itself uses the models of drivers/hwvtep/vtepdb. Generated; regenerate
// with `go generate` (the output is committed, so builds never need it).
package vtepfull

//go:generate go tool modelgen -p vtepfull -o . ../../schemas/vtep.ovsschema
