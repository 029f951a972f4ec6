// Package all links every in-tree driver into a binary.
package all

import (
	_ "github.com/vtepgw/vtepgw/drivers/gnmi"    // gNMI (SONiC, Arista EOS)
	_ "github.com/vtepgw/vtepgw/drivers/hwvtep"  // hardware_vtep OVSDB
	_ "github.com/vtepgw/vtepgw/drivers/kernel"  // Linux kernel VXLAN (netlink)
	_ "github.com/vtepgw/vtepgw/drivers/netconf" // NETCONF over SSH
)
