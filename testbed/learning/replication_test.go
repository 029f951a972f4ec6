package learning

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

const replicationConfig = `replication:
  logical-switches:
    lswitch0: service_node
  bfd:
    min_rx: "300"
`

// TestServiceNodeReplicationBFD: lswitch0 is configured for service-node
// replication and two SB chassis are tagged vtep-replicator. vtepgw gives
// the switch a Tunnel to each with bfd_params enable=true and the
// configured min_rx. With no BFD session up the logical switch stays
// source_node with the full flood set, and a WARN says so. The switch's
// BFD (simulated by writing bfd_status, as the issue allows) coming up
// makes lswitch0 service_node with unknown-dst = the healthy replicators;
// one going down leaves the set, all down falls back to source_node. Every
// change lands in the switch database within 1 s of the bfd_status write
// (measured: from just before the write was sent to vtepgw's commit).
// lswitch1 stays source_node throughout. A replicator chassis deleted
// gets BFD turned off on its tunnel.
func TestServiceNodeReplicationBFD(t *testing.T) {
	t.Parallel()
	s := start(t, StackOptions{Config: replicationConfig, LogicalSwitches: 2})
	const rep1, rep2 = "127.0.200.1", "127.0.200.2"
	flood := []string{HVIP}
	waitFlood(t, s, 0, "source_node", flood)

	s.AddReplicator(t, "rep1", rep1)
	s.AddReplicator(t, "rep2", rep2)
	var tun map[string]TunnelRow
	waitFor(t, s.VF[0], wait, func() (bool, string) {
		tun = s.Tunnels(0)
		return len(tun) == 2 && tun[rep1].UUID != "" && tun[rep2].UUID != "", fmt.Sprintf("tunnels %v", tun)
	})
	for ip, tr := range tun {
		if tr.BFDParams["enable"] != "true" || tr.BFDParams["min_rx"] != "300" || tr.Local != TunnelIP(0) {
			t.Errorf("tunnel to %s: local %s bfd_params %v, want local %s, enable=true, min_rx=300", ip, tr.Local, tr.BFDParams, TunnelIP(0))
		}
	}
	// No BFD up: source-node with the full flood set, and a warning.
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		w := s.GW().LogLines("WARN", "no replicator has BFD up")
		return len(w) > 0, "no WARN about replicators without BFD"
	})
	waitFlood(t, s, 0, "source_node", flood)

	set := func(ip, state string, mode string, want []string) {
		t.Helper()
		mark := s.VF[0].Mark()
		before, after, err := s.SetBFDState(0, tun[ip].UUID, state)
		if err != nil {
			t.Fatal(err)
		}
		waitFlood(t, s, 0, mode, want)
		rec, ok := s.FirstGatewayRecord(0, mark, "Mcast_Macs_Remote", "Logical_Switch")
		if !ok {
			t.Fatalf("no vtepgw transaction after bfd_status %s=%s", ip, state)
		}
		// The record time has ms resolution (truncated).
		lat, min := rec.Time.Sub(before), rec.Time.Sub(after)
		t.Logf("bfd_status %s state=%s → %s %v in the switch DB after %s (≥ %s)", ip, state, mode, want, ms(lat), ms(min))
		if lat > time.Second {
			t.Errorf("bfd_status %s state=%s reflected %v after the write, want ≤ 1 s", ip, state, lat)
		}
	}
	set(rep1, "up", "service_node", []string{rep1})
	set(rep2, "up", "service_node", []string{rep1, rep2})
	set(rep1, "down", "service_node", []string{rep2})
	set(rep2, "down", "source_node", flood)

	// vtep-ctl, as the issue describes the simulation; and a state that is
	// neither up nor down counts as not healthy.
	s.VTEPs[0].MustVtep(t, "set", "Tunnel", tun[rep2].UUID, "bfd_status:state=up")
	waitFlood(t, s, 0, "service_node", []string{rep2})
	s.VTEPs[0].MustVtep(t, "set", "Tunnel", tun[rep2].UUID, "bfd_status:state=init")
	waitFlood(t, s, 0, "source_node", flood)
	if n := len(s.GW().LogLines("WARN", "no replicator has BFD up")); n < 2 {
		t.Errorf("%d WARN lines about falling back to source-node, want one per fallback (2)", n)
	}

	// lswitch1 was never service-node.
	if err := s.VF[0].Poll(); err != nil {
		t.Fatal(err)
	}
	if m, f := s.ReplicationMode(0, 1), s.FloodSet(0, 1); m == "service_node" || !slices.Equal(f, flood) {
		t.Errorf("lswitch1: mode %q flood %v, want source_node and %v", m, f, flood)
	}
	// A replicator chassis deleted: BFD on its tunnel is turned off (the
	// row stays; rep2's keeps BFD).
	s.OVN.MustSB(t, "chassis-del", "rep1")
	waitFor(t, s.VF[0], wait, func() (bool, string) {
		tun := s.Tunnels(0)
		return len(tun[rep1].BFDParams) == 0 && tun[rep2].BFDParams["enable"] == "true",
			fmt.Sprintf("after rep1 was deleted: tunnel bfd_params rep1 %v, rep2 %v", tun[rep1].BFDParams, tun[rep2].BFDParams)
	})
}

// waitFlood waits until lswitch0 on switch sw has replication mode mode
// and unknown-dst locators want.
func waitFlood(t *testing.T, s *Stack, sw int, mode string, want []string) {
	t.Helper()
	waitFor(t, s.VF[sw], wait, func() (bool, string) {
		m, f := s.ReplicationMode(sw, 0), s.FloodSet(sw, 0)
		if m == "" {
			m = "source_node" // the schema default
		}
		return m == mode && slices.Equal(f, want), fmt.Sprintf("lswitch0: mode %q unknown-dst %v, want %q %v", m, f, mode, strings.Join(want, ","))
	})
}
