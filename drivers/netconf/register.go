// Package netconf is the vtepgw driver for switches managed over NETCONF
// (RFC 6241) on SSH (RFC 6242). Wire handling is in ncwire; this package
// maps vtepgw's switch-neutral model onto a YANG data model through an
// adapter. The in-tree adapter "vtepgw" programs the project's own module
// (yang/vtepgw-switch.yang), for switches that can load one.
package netconf

import "github.com/vtepgw/vtepgw/drivers"

// Name is the driver's registered name.
const Name = "netconf"

func init() { drivers.Register(Name, Driver{}) }
