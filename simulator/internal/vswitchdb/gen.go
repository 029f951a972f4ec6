// Package vswitchdb holds Open_vSwitch models for the simulator, generated
// from Debian's vswitch.ovsschema (8.3.1) pruned to the tables and columns
// the simulator uses (hack/prune-schema.py), so that they connect to any
// ovs-vswitchd database that has at least these columns.
package vswitchdb

//go:generate go tool modelgen -p vswitchdb -o . vswitch-min.ovsschema
