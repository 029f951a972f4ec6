// Package hwvtep is the vtepgw driver for switches that speak the
// hardware_vtep OVSDB schema (OVS "vtep" schema, versions 1.3.0 to 1.7.0):
// the interface ovn-controller-vtep uses. One session serves every
// Physical_Switch of one hardware_vtep database.
package hwvtep

import "github.com/vtepgw/vtepgw/drivers"

// Name is the driver's registered name.
const Name = "hwvtep"

func init() { drivers.Register(Name, Driver{}) }
