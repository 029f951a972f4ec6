// Package drivers4 runs one end-to-end scenario unchanged through each of
// vtepgw's four in-tree drivers (hwvtep on a real hardware_vtep
// ovsdb-server; gnmi, adapters sonic and eos, on the simulator's gNMI face;
// netconf, adapters vtepgw and junos, on the simulator's NETCONF face;
// kernel in a network namespace the test makes), against the real OVN stack
// and the real vtepgw daemon (testbed.StartVtepgw, built once by TestMain),
// and checks that each switch ends in equivalent state (issue 5, "Done
// means"):
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
// (drivers.Capabilities); every switch of one class must end identical.
// The package has only tests.
package drivers4
