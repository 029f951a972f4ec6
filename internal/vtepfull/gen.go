// Package vtepfull holds libovsdb models for every table and column of the
// hardware_vtep 1.7.0 schema (Debian's Open vSwitch 3.1), in
// vtep-1.7.0.ovsschema. The switch side needs them: the simulator plays the
// switch (fault-status and statistics columns included) and the demo's
// in-memory server needs a model of the whole schema. vtepgw itself uses the
// oldest-schema models of drivers/hwvtep/vtepdb. Generated; the output is
// committed, so builds never need `go generate`.
package vtepfull

//go:generate go tool modelgen -p vtepfull -o . vtep-1.7.0.ovsschema
