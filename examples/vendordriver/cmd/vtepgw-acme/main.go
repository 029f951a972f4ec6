// Command vtepgw-acme is vtepgw with the Acme driver linked in: the
// in-tree drivers (drivers/all) and one more blank import. This file is
// all a vendor adds to ship vtepgw for its switches; flags, configuration
// and behaviour are vtepgw's own (see the vtepgw README), and a switch
// selects the driver with `driver: acme`.
//
//	go build -o vtepgw-acme ./cmd/vtepgw-acme
//	./vtepgw-acme --config vtepgw-acme.yaml --check-config
package main

import (
	"os"

	"github.com/vtepgw/vtepgw/cmd/vtepgw/app"
	_ "github.com/vtepgw/vtepgw/drivers/all" // hwvtep, gnmi, netconf, kernel

	_ "example.com/acme-vtep-driver/acme" // registers driver "acme"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
