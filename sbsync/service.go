package sbsync

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Service-node replication. OVN's default, and ovn-controller-vtep's only
// mode, is source-node: the switch replicates BUM traffic to every chassis
// of the datapath itself. Switches built for NSX-style deployments prefer
// service-node: they send BUM traffic to one healthy replicator, which
// replicates it. For logical switches configured for service_node, vtepgw
//   - picks the replicators: SB chassis whose other_config:ovn-cms-options
//     contains "vtep-replicator", plus chassis named in configuration;
//   - asks every local physical switch for a tunnel with BFD to each
//     replicator (Tunnel.bfd_params:enable=true and the configured
//     intervals), and reads Tunnel.bfd_status back;
//   - sets the unknown-dst locator set to the replicators whose BFD state is
//     up, and replication_mode=service_node;
//   - with no healthy replicator, falls back to source_node and the full
//     flood set, and logs that it did.
// BFD state changes arrive as Tunnel row updates, so a replicator leaves
// the set in the batch that follows its status change.

// ReplicationOptions configure replication per VTEP logical switch.
type ReplicationOptions struct {
	// Default is the mode of logical switches not in Modes: "source_node"
	// (default) or "service_node".
	Default string
	// Modes maps VTEP logical switch names to a mode.
	Modes map[string]string
	// Replicators are chassis names used as replicators in addition to
	// those tagged vtep-replicator in ovn-cms-options.
	Replicators []string
	// BFD holds bfd_params other than enable (min_rx, min_tx, decay_min_rx,
	// cpath_down, check_tnl_key), as strings.
	BFD map[string]string
}

// Validate checks the modes.
func (o ReplicationOptions) Validate() error {
	check := func(what, m string) error {
		switch m {
		case "", vtep.ReplicationSourceNode, vtep.ReplicationServiceNode:
			return nil
		}
		return fmt.Errorf("%s: replication mode %q: want source_node or service_node", what, m)
	}
	if err := check("default", o.Default); err != nil {
		return err
	}
	for ls, m := range o.Modes {
		if err := check("logical switch "+ls, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Southbound) configuredMode(ls string) string {
	r := s.opts.Replication
	if m, ok := r.Modes[ls]; ok && m != "" {
		return m
	}
	if r.Default != "" {
		return r.Default
	}
	return vtep.ReplicationSourceNode
}

func (s *Southbound) wantsServiceNode() bool {
	r := s.opts.Replication
	if r.Default == vtep.ReplicationServiceNode {
		return true
	}
	for _, m := range r.Modes {
		if m == vtep.ReplicationServiceNode {
			return true
		}
	}
	return false
}

// healthyReplicators returns the tunnel IPs of replicators whose BFD is up.
func (s *Southbound) healthyReplicators() []string {
	var out []string
	for ip := range s.replicators {
		if s.healthy[ip] && !s.ownIPs[ip] {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return out
}

// effectiveMode is the mode a logical switch runs in now.
func (s *Southbound) effectiveMode(ls string) string {
	if s.configuredMode(ls) == vtep.ReplicationServiceNode && len(s.healthyReplicators()) > 0 {
		return vtep.ReplicationServiceNode
	}
	return vtep.ReplicationSourceNode
}

// syncReplicators recomputes the replicator set from SB chassis and the
// BFD health from the switch's tunnels; on a change it emits the keys of
// every logical switch configured for service-node replication.
func (s *Southbound) syncReplicators(b *batch, sw vtep.Switch) {
	if !s.wantsServiceNode() {
		return
	}
	reps := map[string]string{}
	configured := map[string]bool{}
	for _, n := range s.opts.Replication.Replicators {
		configured[n] = true
	}
	if t := s.c.table("Chassis"); t != nil {
		for _, m := range t.Rows() {
			ch := m.(*sbdb.Chassis)
			tagged := slices.Contains(strings.Split(ch.OtherConfig["ovn-cms-options"], ","), "vtep-replicator")
			if !tagged && !configured[ch.Name] {
				continue
			}
			if ip := s.vxlanIP(ch, nil); ip != "" {
				reps[ip] = ch.Name
			}
		}
	}
	healthy := map[string]bool{}
	if ts, ok := sw.(vtep.TunnelSwitch); ok {
		for _, t := range ts.Tunnels() {
			if t.BFDUp() {
				healthy[t.Remote] = true
			}
		}
	}
	before := s.healthyReplicators()
	repsChanged := !maps.Equal(reps, s.replicators)
	s.replicators, s.healthy = reps, healthy
	after := s.healthyReplicators()
	if repsChanged {
		b.keys = append(b.keys, vtep.Key{Kind: vtep.KindTunnel})
	}
	if !repsChanged && slices.Equal(before, after) {
		return
	}
	switch {
	case len(after) == 0 && len(reps) > 0:
		s.logOnce(slog.LevelWarn, "replicators", "no replicator has BFD up; service-node logical switches fall back to source-node replication", "replicators", slices.Sorted(maps.Keys(reps)))
	case len(reps) == 0:
		s.logOnce(slog.LevelWarn, "replicators", "no replicator chassis (ovn-cms-options vtep-replicator, or configured); service-node logical switches use source-node replication")
	default:
		delete(s.logged, "replicators")
		s.log.Info("healthy replicators changed", "healthy", after)
	}
	for ls, dp := range s.attach {
		if s.configuredMode(ls) == vtep.ReplicationServiceNode {
			b.keys = append(b.keys, vtep.LogicalSwitchKey(ls))
			s.emitFlood(b, dp)
		}
	}
}

// DesiredTunnels implements vtep.TunnelSource: a BFD-enabled tunnel from
// every local physical switch to every replicator.
func (s *Southbound) DesiredTunnels() []vtep.Tunnel {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.wantsServiceNode() {
		return nil
	}
	params := map[string]string{"enable": "true"}
	for k, v := range s.opts.Replication.BFD {
		params[k] = v
	}
	var out []vtep.Tunnel
	for _, ps := range s.topo {
		if len(ps.TunnelIPs) == 0 {
			continue
		}
		for ip := range s.replicators {
			if !s.ownIPs[ip] {
				out = append(out, vtep.Tunnel{Switch: ps.Name, Local: ps.TunnelIPs[0], Remote: ip, BFDParams: maps.Clone(params)})
			}
		}
	}
	return out
}
