// Package mcast translates OVN multicast state into switch-neutral VTEP
// multicast entries, and switch-learned multicast back. It is pure: inputs
// are plain values, so it is tested without databases.
//
// OVN → switch (SB Multicast_Group → Mcast_Macs_Remote):
//   - the datapath's flood group (_MC_flood) becomes the logical switch's
//     unknown-dst entry: its locators are the tunnel IPs of the chassis that
//     host the group's ports, minus the switch's own;
//   - every IP-named group (built by northd from IGMP_Group rows) becomes one
//     entry whose MAC is the group's multicast MAC and whose ipaddr is the
//     group address;
//   - _MC_mrouter_flood, _MC_mrouter_static, _MC_static, _MC_unknown and
//     _MC_flood_l2 have no hardware_vtep equivalent: a VTEP floods unknown
//     and unregistered traffic through unknown-dst, which already reaches
//     every chassis of _MC_flood (a superset of those groups' chassis).
//
// Switch → OVN (Mcast_Macs_Local → SB IGMP_Group): an entry whose MAC is a
// multicast MAC and whose ipaddr is the matching group address is a group
// the switch joined (IGMP/MLD snooping).
package mcast

import (
	"fmt"
	"net/netip"
	"strings"
)

// Reserved SB Multicast_Group names (OVN lib/mcast-group-index.h).
const (
	GroupFlood         = "_MC_flood"
	GroupUnknown       = "_MC_unknown"
	GroupFloodL2       = "_MC_flood_l2"
	GroupMrouterFlood  = "_MC_mrouter_flood"
	GroupMrouterStatic = "_MC_mrouter_static"
	GroupStatic        = "_MC_static"
)

// GroupMAC returns the Ethernet multicast MAC of a multicast group address:
// IPv4 01:00:5e + the low 23 bits; IPv6 33:33 + the low 32 bits.
func GroupMAC(a netip.Addr) (string, error) {
	if !a.IsMulticast() {
		return "", fmt.Errorf("%s is not a multicast address", a)
	}
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return fmt.Sprintf("01:00:5e:%02x:%02x:%02x", b[1]&0x7f, b[2], b[3]), nil
	}
	b := a.As16()
	return fmt.Sprintf("33:33:%02x:%02x:%02x:%02x", b[12], b[13], b[14], b[15]), nil
}

// ParseGroupName returns the group address of an IP-named Multicast_Group,
// or false for reserved (_MC_*) and other names.
func ParseGroupName(name string) (netip.Addr, bool) {
	if strings.HasPrefix(name, "_MC_") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(name)
	if err != nil || !a.IsMulticast() {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// IsMulticastMAC reports whether mac (xx:xx:…) has the group bit set.
func IsMulticastMAC(mac string) bool {
	if len(mac) != 17 {
		return false
	}
	var b byte
	if _, err := fmt.Sscanf(mac[:2], "%02x", &b); err != nil {
		return false
	}
	return b&1 == 1
}

// LearnedGroup validates a switch-learned multicast entry and returns its
// group address: the MAC must be the group address's multicast MAC.
func LearnedGroup(mac, ipaddr string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(ipaddr))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("multicast entry %s: ipaddr %q: %w", mac, ipaddr, err)
	}
	a = a.Unmap()
	want, err := GroupMAC(a)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("multicast entry %s: %w", mac, err)
	}
	if !strings.EqualFold(want, mac) {
		return netip.Addr{}, fmt.Errorf("multicast entry %s: MAC does not match group %s (want %s)", mac, a, want)
	}
	return a, nil
}

// Member is one port of a multicast group, placed on a chassis reached at
// TunnelIP ("" when the port is not bound or its chassis has no vxlan
// encap).
type Member struct {
	Port     string
	TunnelIP string
}

// Locators returns the sorted, de-duplicated tunnel IPs of members, minus
// the switch's own IPs.
func Locators(members []Member, own func(ip string) bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range members {
		if m.TunnelIP == "" || seen[m.TunnelIP] || own(m.TunnelIP) {
			continue
		}
		seen[m.TunnelIP] = true
		out = append(out, m.TunnelIP)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
