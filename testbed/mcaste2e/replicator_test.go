package mcaste2e

import (
	"testing"
)

// TestUnknownDstReplicator: a Mcast_Macs_Local unknown-dst entry says where
// the switch wants BUM traffic for a logical switch. Its own tunnel IP
// changes nothing in SB; another IP (a switch-side replicator) becomes an
// extra vxlan Encap of the switch's chassis (options
// vtepgw-replicator=true) that the vtep Port_Binding's encap points at.
// The switch's own encap becomes the default one. Removing the entry, or
// the vtep port, undoes all that.
func TestUnknownDstReplicator(t *testing.T) {
	t.Parallel()
	s := newStack(t, "br0", []string{"10.0.0.1"})
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.attach(t, "lsB", "vtepB", "br0", "p1", 0, "lsB")
	encaps := s.sbGet(func(d db) []string { return d.encaps("br0") })
	pbs := s.sbGet(func(d db) []string { return []string{d.pbEncap("vtepA"), d.pbEncap("vtepB")} })
	plain := "vxlan 10.0.0.1 csum=false"
	waitEqual(t, "Encaps (start)", encaps, plain)
	waitEqual(t, "bindings (start)", pbs, "br0 -", "br0 -")

	// The switch's own IP: nothing changes. The learned MAC that follows
	// is the barrier: once its FDB row is there, the entry before it was
	// processed too.
	s.vctl(t, "add-mcast-local", "lsA", "unknown-dst", "10.0.0.1")
	s.vctl(t, "add-ucast-local", "lsA", "f0:00:00:00:0a:01", "10.0.0.1")
	waitEqual(t, "FDB (barrier)", s.sbGet(func(d db) []string {
		var out []string
		for _, r := range d["FDB"] {
			out = append(out, r.str("mac"))
		}
		return out
	}), "f0:00:00:00:0a:01")
	stays(t, "Encaps (own IP)", quiet, encaps, plain)
	stays(t, "bindings (own IP)", quiet, pbs, "br0 -", "br0 -")

	// A replicator: an extra encap, and lsA's port (only) points at it.
	s.vctl(t, "del-mcast-local", "lsA", "unknown-dst", "10.0.0.1")
	s.vctl(t, "add-mcast-local", "lsA", "unknown-dst", "10.9.9.9")
	rep := "vxlan 10.9.9.9 csum=false,vtepgw-replicator=true"
	// With two encaps the switch's own is marked the default: ports that
	// name no encap (vtepB) are reached there, not at the replicator.
	def := "vxlan 10.0.0.1 csum=false,is_default=true"
	waitEqual(t, "Encaps (replicator)", encaps, def, rep)
	waitEqual(t, "bindings (replicator)", pbs, "br0 vxlan/10.9.9.9", "br0 -")

	// The same replicator for lsB shares the encap.
	s.vctl(t, "add-mcast-local", "lsB", "unknown-dst", "10.9.9.9")
	waitEqual(t, "bindings (lsB replicator)", pbs, "br0 vxlan/10.9.9.9", "br0 vxlan/10.9.9.9")
	waitEqual(t, "Encaps (shared replicator)", encaps, def, rep)

	// lsA withdraws: its port goes back to the default encap, the encap
	// stays for lsB.
	s.vctl(t, "del-mcast-local", "lsA", "unknown-dst", "10.9.9.9")
	waitEqual(t, "bindings (lsA withdrawn)", pbs, "br0 -", "br0 vxlan/10.9.9.9")
	waitEqual(t, "Encaps (lsA withdrawn)", encaps, def, rep)

	// lsB withdraws: everything as at the start.
	s.vctl(t, "del-mcast-local", "lsB", "unknown-dst", "10.9.9.9")
	waitEqual(t, "bindings (all withdrawn)", pbs, "br0 -", "br0 -")
	waitEqual(t, "Encaps (all withdrawn)", encaps, plain)
	waitEqual(t, "Encap rows (all withdrawn)", s.sbGet(db.allEncaps), "br0 vxlan 10.0.0.1")

	// The encap follows the binding: lsA's vtep port deleted, it goes
	// although the switch still asks; a new port brings both back.
	s.vctl(t, "add-mcast-local", "lsA", "unknown-dst", "10.9.9.9")
	waitEqual(t, "Encaps (replicator again)", encaps, def, rep)
	s.nb(t, "--wait=sb", "lsp-del", "vtepA")
	waitEqual(t, "Encaps (vtepA deleted)", encaps, plain)
	s.nb(t, "lsp-add", "lsA", "vtepA2", "--", "lsp-set-type", "vtepA2", "vtep",
		"--", "lsp-set-options", "vtepA2", "vtep-physical-switch=br0", "vtep-logical-switch=lsA")
	waitEqual(t, "Encaps (vtepA2 added)", encaps, def, rep)
	waitEqual(t, "bindings (vtepA2 added)", s.sbGet(func(d db) []string { return []string{d.pbEncap("vtepA2"), d.pbEncap("vtepB")} }),
		"br0 vxlan/10.9.9.9", "br0 -")
}
