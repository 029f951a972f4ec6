// Package gnmi is the vtepgw driver for switches managed over gNMI
// (github.com/openconfig/gnmi). Observed state comes from one STREAM
// subscription (ON_CHANGE) kept in memory, plus, for adapters whose device
// cannot stream part of it, a polled Get; a changeset is one gNMI Set,
// which targets apply atomically. A vendor adapter, chosen per switch,
// supplies the paths: OpenConfig has no configuration for static flood
// lists or static remote MACs. See README.md.
package gnmi

import "github.com/vtepgw/vtepgw/drivers"

// Name is the driver's registered name.
const Name = "gnmi"

func init() { drivers.Register(Name, Driver{}) }
