// Package drivers4 runs one end-to-end scenario unchanged through each of
// vtepgw's four in-tree drivers (hwvtep, gnmi, netconf, kernel), against the
// real OVN stack and the real vtepgw daemon, and checks that each switch
// ends in equivalent state (issue 5, "Done means"):
//
//   - SB topology → switch: a logical switch with two VIF ports bound to
//     VXLAN chassis and a vtep port gives the switch's logical switch the
//     datapath's VNI, the VIF MACs as remote MACs behind the chassis IPs,
//     and both chassis in the flood list;
//   - switch learns → SB: a MAC the switch learns becomes an SB FDB row on
//     the vtep port.
//
// Each device's own view (not the driver's) is normalised into one struct
// and compared with the value expected for its capability class
// (drivers.Capabilities). The package has only tests.
package drivers4
