// Package drivers4 runs the end-to-end scenario of package
// testbed/scenario unchanged through each of vtepgw's four in-tree drivers
// (hwvtep on a real hardware_vtep ovsdb-server; gnmi, adapters sonic and
// eos, on the simulator's gNMI face; netconf, adapters vtepgw and junos, on
// the simulator's NETCONF face; kernel in a network namespace the test
// makes), against the real OVN stack and the real vtepgw daemon
// (testbed.StartVtepgw, built once by TestMain), once as ovn-controller-vtep
// would and once with arp-suppression, and checks that every switch of one
// capability class ends in identical state (issue 5, "Done means"): SB
// topology → switch, and switch learns → SB.
//
// The package has only tests.
package drivers4
