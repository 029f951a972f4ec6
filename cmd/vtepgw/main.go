// Command vtepgw connects OVN's southbound database to hardware VTEP
// switches: a drop-in replacement for ovn-controller-vtep.
package main

import (
	"os"

	"github.com/vtepgw/vtepgw/cmd/vtepgw/app"
	_ "github.com/vtepgw/vtepgw/drivers/all"
)

func main() { os.Exit(app.Main(os.Args[1:])) }
