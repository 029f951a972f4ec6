// Package vtepdb holds hardware_vtep models. They are generated from the
// real hardware_vtep 1.3.0 schema (vtep-1.3.0.ovsschema), the oldest version
// vtepgw supports, so they connect to any server from 1.3.0 to 1.7.0 and
// later. Columns added after 1.3.0 live in hand-written variants in
// ext.go, used only when the server has them.
package vtepdb

//go:generate go tool modelgen -extended -p vtepdb -o . vtep-1.3.0.ovsschema
