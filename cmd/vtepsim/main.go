// Command vtepsim is a hardware VTEP simulator on Open vSwitch, a drop-in
// replacement for ovs-vtep. See simulator/README.md.
package main

import (
	"os"

	"github.com/vtepgw/vtepgw/simulator/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
