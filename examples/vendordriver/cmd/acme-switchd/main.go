// Command acme-switchd runs a simulated Acme VX switch (package acmesim)
// serving its management API, for trying the acme driver with vtepgw
// without hardware:
//
//	acme-switchd -listen 127.0.0.1:7170 -hostname acme1 -vtep-address 192.0.2.31 -bd web,db
//
// It prints the switch's state whenever it changes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"example.com/acme-vtep-driver/acmesim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7170", "management API address")
	hostname := flag.String("hostname", "acme1", "switch hostname (the Physical_Switch name in OVN)")
	serial := flag.String("serial", "ACM0000001", "serial number (the switch's identity)")
	vtepAddr := flag.String("vtep-address", "10.250.0.11", "tunnel source address")
	bds := flag.String("bd", "bd10,bd20", "bridge domains, comma-separated; the i-th is attached to port xe-0/0/i")
	maxMACs := flag.Int("max-macs", 4096, "remote MAC table size per bridge domain")
	flag.Parse()

	sw := acmesim.New(acmesim.Options{
		Hostname: *hostname, Serial: *serial, VTEPAddress: *vtepAddr,
		BridgeDomains: strings.Split(*bds, ","), MaxMACsPerBD: *maxMACs,
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("Acme %s %s serving its management API on %s", sw.System().Model, *hostname, ln.Addr())
	go func() {
		if err := sw.Serve(ln); err != nil {
			log.Fatal(err)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last uint64
	for {
		select {
		case <-sig:
			_ = sw.Close()
			return
		case <-tick.C:
			if w := sw.Writes(); w != last {
				last = w
				b, _ := json.MarshalIndent(sw.Config(), "", "  ")
				fmt.Printf("%s\n", b)
			}
		}
	}
}
