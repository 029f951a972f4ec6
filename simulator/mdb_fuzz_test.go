package simulator

import (
	"net"
	"testing"
)

// FuzzParseMDB reads arbitrary `ovs-appctl mdb/show` output: no panic, and
// every group it returns is a multicast address with a nonzero port.
func FuzzParseMDB(f *testing.F) {
	f.Add(" port  VLAN  GROUP                Age\n    1     0  224.1.1.1              3\n  p2     0  ff0e::1                5\n    2     0  querier              1\n")
	f.Add("1 0 10.0.0.1 3\nx y z\n")
	f.Fuzz(func(t *testing.T, out string) {
		for g, ports := range parseMDB(out, func(name string) uint32 { return uint32(len(name)) }) {
			if ip := net.ParseIP(g); ip == nil || !ip.IsMulticast() {
				t.Fatalf("parseMDB(%q) returned group %q", out, g)
			}
			for _, p := range ports {
				if p == 0 {
					t.Fatalf("parseMDB(%q) returned port 0 for %s", out, g)
				}
			}
		}
	})
}
