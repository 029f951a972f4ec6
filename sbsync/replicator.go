package sbsync

import (
	"fmt"
	"slices"

	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// A switch says where it wants BUM traffic for a logical switch with its
// Mcast_Macs_Local unknown-dst entry. When the locators are the switch's
// own tunnel IPs, hypervisors already send there. When they name another IP
// (a switch-side replicator), vtepgw represents it in SB by giving the
// switch's chassis an extra vxlan Encap with that IP (options
// vtepgw-replicator=true) and pointing the vtep Port_Binding's encap at it:
// ovn-controller then tunnels everything for that port, BUM included, to the
// replicator. Unicast to the switch's MACs takes the same path, which a
// replicator forwards; this is the one representation SB offers per port.

// replicatorIPs returns the replicator IPs the logical switches bound on a
// physical switch ask for.
func (s *Southbound) replicatorIPs(ps string) map[string]bool {
	out := map[string]bool{}
	for ls, ip := range s.replicator {
		if own, ok := s.own[ls]; ok && own.ps == ps {
			out[ip] = true
		}
	}
	return out
}

// syncReplicator reads a logical switch's unknown-dst entry from the switch.
func (s *Southbound) syncReplicator(sw vtep.Switch, ls string) {
	foreign := ""
	if e, ok := sw.McastLocal(vtep.MACKey{LS: ls, MAC: vtep.UnknownDst}); ok {
		for _, ip := range slices.Sorted(slices.Values(e.Locators)) {
			if !s.ownIPs[ip] {
				foreign = ip
				break
			}
		}
	}
	if s.replicator[ls] == foreign {
		return
	}
	if foreign == "" {
		delete(s.replicator, ls)
	} else {
		s.replicator[ls] = foreign
	}
	s.log.Info("switch-side replicator for logical switch changed", "ls", ls, "replicator", foreign)
	// The chassis gets (or loses) the encap in the next batch, and then
	// the binding points at it.
	if own, ok := s.own[ls]; ok {
		s.notify(vtep.Key{Kind: vtep.KindSBChassis, Name: own.ps})
	}
	s.notify(vtep.Key{Kind: vtep.KindSBGroup, Name: ls})
}

// setBindingEncap points a bound vtep Port_Binding at the replicator encap
// of its logical switch, or clears a replicator encap no longer wanted.
func (s *Southbound) setBindingEncap(b *batch, pb *sbdb.PortBinding, ps, ls string) error {
	want := ""
	if ip := s.replicator[ls]; ip != "" {
		if n, ok := b.newEncap[ps+"/"+ip]; ok {
			want = n
		} else if _, ch := s.chassisByName(ps); ch != nil {
			for _, u := range ch.Encaps {
				if e := s.encap(u); e != nil && e.IP == ip && e.Type == encapVXLAN {
					want = u
				}
			}
		}
		if want == "" {
			return nil // the encap comes first; the chassis event brings us back
		}
	}
	cur := ""
	if pb.Encap != nil {
		cur = *pb.Encap
	}
	if cur == want {
		return nil
	}
	if want == "" {
		// Only undo what we did: someone else's encap choice stays.
		if e := s.encap(cur); e == nil || e.Options["vtepgw-replicator"] != "true" {
			return nil
		}
	}
	row := &sbdb.PortBinding{UUID: pb.UUID}
	if want != "" {
		row.Encap = &want
	}
	if err := b.add(b.cl.Where(row).Update(row, &row.Encap)); err != nil {
		return fmt.Errorf("set encap of %s: %w", pb.LogicalPort, err)
	}
	return nil
}
