// Package kernel is the vtepgw driver that makes a Linux server its own
// VTEP: per logical switch a bridge holding the configured ports and a
// VXLAN device, remote MACs and flood lists in the VXLAN and bridge FDBs,
// learned MACs read from the bridge FDB. It speaks netlink
// (github.com/vishvananda/netlink) to one network namespace. See README.md.
package kernel

import "github.com/vtepgw/vtepgw/drivers"

// Name is the driver's registered name.
const Name = "kernel"

func init() { drivers.Register(Name, Driver{}) }
