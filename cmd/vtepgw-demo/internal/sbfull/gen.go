// Package sbfull holds libovsdb models for every table and column of the
// OVN_Southbound schema (20.27.0, Debian's OVN 23.03) in ../../schemas. The
// demo's in-memory server needs a model for the whole schema; vtepgw itself
// uses the pruned models of sbsync/sbdb. Generated; regenerate with
// `go generate` (the output is committed, so builds never need it).
package sbfull

//go:generate go tool modelgen -p sbfull -o . ../../schemas/ovn-sb.ovsschema
