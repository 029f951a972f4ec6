package sbsync

import (
	"net/netip"

	"github.com/vtepgw/vtepgw/mcast"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// mcGroup is what we keep of one SB Multicast_Group. Members are kept by
// logical port name, and ips counts the members behind each tunnel IP, so a
// membership or placement change costs O(changed members) to apply and the
// desired locator set is O(distinct IPs) to read.
type mcGroup struct {
	members map[string]bool
	ips     map[string]int
	addr    netip.Addr
	mac     string // for IP-named groups
}

type groupRef struct {
	dp   int
	name string
}

// memberIP is the tunnel IP a port contributes, or "".
func (s *Southbound) memberIP(port string) string {
	return s.contrib["pb:"+port].ip
}

// syncMulticastGroup re-reads one Multicast_Group (by datapath key and
// name) and emits the switch keys it feeds.
func (s *Southbound) syncMulticastGroup(b *batch, dp int, name string) {
	ref := groupRef{dp, name}
	old, had := s.groups[dp][name]
	var row *sbdb.MulticastGroup
	if dpu := s.dpUUID(dp); dpu != "" {
		if t := s.c.table("Multicast_Group"); t != nil {
			if _, m := t.LookupOne(idxMGName, dpu+sep+name); m != nil {
				row = m.(*sbdb.MulticastGroup)
			}
		}
	}
	var g mcGroup
	if row != nil {
		if a, ok := mcast.ParseGroupName(name); ok {
			g.addr = a
			g.mac, _ = mcast.GroupMAC(a)
		} else if name != mcast.GroupFlood {
			return // no hardware_vtep equivalent; see package mcast
		}
		g.members = make(map[string]bool, len(row.Ports))
		for _, u := range row.Ports {
			if n, ok := s.pbNames[u]; ok {
				g.members[n] = true
			}
		}
	}
	if !had {
		old = mcGroup{members: map[string]bool{}, ips: map[string]int{}}
	}
	changed := false
	for n := range old.members {
		if !g.members[n] {
			changed = true
			delete(s.memberOf[n], ref)
			if ip := s.memberIP(n); ip != "" {
				if old.ips[ip]--; old.ips[ip] <= 0 {
					delete(old.ips, ip)
				}
			}
		}
	}
	for n := range g.members {
		if !old.members[n] {
			changed = true
			if s.memberOf[n] == nil {
				s.memberOf[n] = map[groupRef]bool{}
			}
			s.memberOf[n][ref] = true
			if ip := s.memberIP(n); ip != "" {
				old.ips[ip]++
			}
		}
	}
	if row == nil {
		if had {
			delete(s.groups[dp], name)
			s.emitGroup(b, dp, name, old.mac)
		}
		return
	}
	g.ips = old.ips
	if s.groups[dp] == nil {
		s.groups[dp] = map[string]mcGroup{}
	}
	s.groups[dp][name] = g
	if changed || !had {
		s.emitGroup(b, dp, name, g.mac)
	}
}

// moveMember updates the groups of a port whose tunnel IP changed.
func (s *Southbound) moveMember(b *batch, port, oldIP, newIP string) {
	for ref := range s.memberOf[port] {
		g, ok := s.groups[ref.dp][ref.name]
		if !ok {
			continue
		}
		if oldIP != "" {
			if g.ips[oldIP]--; g.ips[oldIP] <= 0 {
				delete(g.ips, oldIP)
			}
		}
		if newIP != "" {
			g.ips[newIP]++
		}
		s.emitGroup(b, ref.dp, ref.name, g.mac)
	}
}

func (s *Southbound) emitGroup(b *batch, dp int, name, mac string) {
	if name == mcast.GroupFlood {
		s.emitFlood(b, dp)
		return
	}
	for _, ls := range s.lsByDP[dp] {
		b.keys = append(b.keys, vtep.McastRemoteKey(vtep.MACKey{LS: ls, MAC: mac}))
	}
}

// resyncMulticastGroups rebuilds the group table from the SB cache.
func (s *Southbound) resyncMulticastGroups(b *batch) {
	t := s.c.table("Multicast_Group")
	if t == nil {
		return
	}
	for _, m := range t.Rows() {
		g := m.(*sbdb.MulticastGroup)
		if dp := s.dpKey(g.Datapath); dp != 0 {
			s.syncMulticastGroup(b, dp, g.Name)
		}
	}
}

func ipMembers(ips map[string]int) []mcast.Member {
	out := make([]mcast.Member, 0, len(ips))
	for ip := range ips {
		out = append(out, mcast.Member{TunnelIP: ip})
	}
	return out
}

// floodLocators is the unknown-dst locator set of a datapath: the chassis
// of its flood group's ports (plus gateway chassis of router ports that
// redirect into it), or, before northd made the flood group, every chassis
// with a bound port there. Our own tunnel IPs are never included.
func (s *Southbound) floodLocators(dp int) []string {
	own := func(ip string) bool { return s.ownIPs[ip] }
	if g, ok := s.groups[dp][mcast.GroupFlood]; ok {
		return mcast.Locators(append(ipMembers(g.ips), ipMembers(s.redirIdx[dp])...), own)
	}
	return mcast.Locators(ipMembers(s.floodIdx[dp]), own)
}

// groupEntry is the desired entry for an IP multicast MAC: the union of the
// groups that map to it (IPv4 maps 32 groups to one MAC).
func (s *Southbound) groupEntry(dp int, mac string) (vtep.McastMAC, bool) {
	var members []mcast.Member
	var addr netip.Addr
	for _, g := range s.groups[dp] {
		if g.mac != mac {
			continue
		}
		members = append(members, ipMembers(g.ips)...)
		if !addr.IsValid() || g.addr.Less(addr) {
			addr = g.addr
		}
	}
	locs := mcast.Locators(members, func(ip string) bool { return s.ownIPs[ip] })
	if len(locs) == 0 {
		return vtep.McastMAC{}, false
	}
	return vtep.McastMAC{IP: addr.String(), Locators: locs}, true
}
