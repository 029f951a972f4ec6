// Package acme is a vtepgw driver for Acme VX switches, which are managed
// through Acme's own API (package acmeapi), not hardware_vtep, gNMI or
// NETCONF. It lives outside the vtepgw repository's module, as a vendor's
// driver would, and registers itself like a database/sql driver:
//
//	import _ "example.com/acme-vtep-driver/acme" // driver "acme"
//
// Model mapping: a logical switch is a bridge domain of the same name; a
// remote unicast MAC is a remote MAC; a remote multicast entry is a flood
// group ("bum" for unknown-dst); a learned MAC is a learned MAC whose
// locator is the switch's VTEP address. The switch replicates at ingress
// only (source_node) and holds MaxMACsPerBD remote entries per bridge
// domain.
//
// Configuration (vtepgw YAML):
//
//	switches:
//	  - name: acme1
//	    driver: acme
//	    endpoints: ["192.0.2.31:7170"]   # the switch's management API
//	    settings:
//	      dial-timeout: 5s
//	      reconnect-backoff: 100ms
//	      reconnect-backoff-max: 5s
package acme

import "github.com/vtepgw/vtepgw/drivers"

// Name is the driver's registered name.
const Name = "acme"

func init() { drivers.Register(Name, Driver{}) }

// Driver makes connectors to Acme switches.
type Driver struct{}

// NewConnector validates the settings; it does no I/O.
func (Driver) NewConnector(p drivers.Params) (drivers.Connector, error) {
	o, err := ParseOptions(p)
	if err != nil {
		return nil, err
	}
	return NewConnector(o), nil
}
