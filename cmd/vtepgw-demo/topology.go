package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/cmd/vtepgw-demo/internal/sbfull"
	"github.com/vtepgw/vtepgw/internal/vtepfull"
)

// ops collects operations built from the demo's models.
type ops struct {
	db  *dbClient
	ops []ovsdb.Operation
	err error
}

func (o *ops) create(ms ...model.Model) *ops {
	if o.err == nil {
		var add []ovsdb.Operation
		add, o.err = o.db.cl.Create(ms...)
		o.ops = append(o.ops, add...)
	}
	return o
}

func (o *ops) update(m model.Model, fields ...any) *ops {
	if o.err == nil {
		var add []ovsdb.Operation
		add, o.err = o.db.cl.Where(m).Update(m, fields...)
		o.ops = append(o.ops, add...)
	}
	return o
}

func (o *ops) delete(m model.Model) *ops {
	if o.err == nil {
		var add []ovsdb.Operation
		add, o.err = o.db.cl.Where(m).Delete()
		o.ops = append(o.ops, add...)
	}
	return o
}

// commit writes the operations as actor who.
func (d *demo) commit(ctx context.Context, who string, o *ops) error {
	if o.err != nil {
		return fmt.Errorf("%s: build %s transaction: %w", who, o.db.label, o.err)
	}
	return d.act(ctx, who, o.db, o.ops...)
}

// seedSwitch writes what a hardware VTEP and its operator would: the
// physical switch with its tunnel IP and port, and the logical switch bound
// to VLAN 0 of the port (vtep-ctl add-ps, add-port, add-ls, bind-ls).
func (d *demo) seedSwitch(ctx context.Context) error {
	o := &ops{db: d.sw}
	o.create(
		&vtepfull.Global{Switches: []string{"ps"}},
		&vtepfull.PhysicalSwitch{UUID: "ps", Name: psName, TunnelIPs: []string{psIP}, Ports: []string{"p0"}, Description: "demo hardware VTEP"},
		&vtepfull.PhysicalPort{UUID: "p0", Name: portName, VLANBindings: map[int]string{0: "ls"}},
		&vtepfull.LogicalSwitch{UUID: "ls", Name: vtepLS},
	)
	return d.commit(ctx, "switch", o)
}

// seedSouthbound writes what ovn-northd produces for NB switch ls0 with
// VIFs vm1, vm2 and VTEP port ls0-vtep, then what ovn-controller on each
// hypervisor writes: its Chassis with geneve and vxlan encaps, and the
// claim of its VM's port.
func (d *demo) seedSouthbound(ctx context.Context) error {
	down := false
	o := &ops{db: d.sb}
	o.create(
		&sbfull.SBGlobal{Options: map[string]string{"northd_internal_version": northdVersion}},
		&sbfull.DatapathBinding{UUID: "dp", TunnelKey: dpKey, ExternalIDs: map[string]string{"name": nbLS}},
		&sbfull.PortBinding{UUID: "vm1", LogicalPort: vm1, Datapath: "dp", TunnelKey: 1, MAC: []string{vm1MAC + " 203.0.113.1"}, Up: &down},
		&sbfull.PortBinding{UUID: "vm2", LogicalPort: vm2, Datapath: "dp", TunnelKey: 2, MAC: []string{vm2MAC + " 203.0.113.2"}, Up: &down},
		&sbfull.PortBinding{UUID: "vtep", LogicalPort: vtepPort, Datapath: "dp", TunnelKey: vtepPortTK, Type: "vtep", MAC: []string{"unknown"}, Up: &down,
			Options: map[string]string{"vtep-physical-switch": psName, "vtep-logical-switch": vtepLS}},
		&sbfull.MulticastGroup{Datapath: "dp", Name: "_MC_flood", TunnelKey: 32768, Ports: []string{"vm1", "vm2", "vtep"}},
		&sbfull.MulticastGroup{Datapath: "dp", Name: "_MC_unknown", TunnelKey: 32769, Ports: []string{"vtep"}},
	)
	if err := d.commit(ctx, "northd", o); err != nil {
		return err
	}
	for _, hv := range []struct{ name, ip, vm string }{{hv1, hv1IP, vm1}, {hv2, hv2IP, vm2}} {
		pb := d.pb(hv.vm)
		if pb == nil {
			return fmt.Errorf("port binding %s missing after northd's transaction", hv.vm)
		}
		ch, up := "ch", true
		o := &ops{db: d.sb}
		o.create(
			&sbfull.Encap{UUID: "geneve", Type: sbfull.EncapTypeGeneve, IP: hv.ip, ChassisName: hv.name, Options: map[string]string{"csum": "true"}},
			&sbfull.Encap{UUID: "vxlan", Type: sbfull.EncapTypeVxlan, IP: hv.ip, ChassisName: hv.name, Options: map[string]string{"csum": "true"}},
			&sbfull.Chassis{UUID: ch, Name: hv.name, Hostname: hv.name, Encaps: []string{"geneve", "vxlan"}},
		)
		claim := &sbfull.PortBinding{UUID: pb.UUID, Chassis: &ch, Up: &up}
		o.update(claim, &claim.Chassis, &claim.Up)
		if err := d.commit(ctx, hv.name, o); err != nil {
			return err
		}
	}
	return nil
}

// learn inserts a Ucast_Macs_Local row behind the switch's own tunnel IP,
// as a hardware VTEP does when it learns a MAC on a bound port.
func (d *demo) learn(ctx context.Context) error {
	ls := d.switchLS()
	if ls == nil {
		return errors.New("logical switch " + vtepLS + " is gone")
	}
	o := &ops{db: d.sw}
	loc := "loc"
	for _, l := range rows[*vtepfull.PhysicalLocator](d.sw, vtepfull.PhysicalLocatorTable) {
		if l.DstIP == psIP && l.EncapsulationType == vtepfull.PhysicalLocatorEncapsulationTypeVxlanOverIpv4 {
			loc = l.UUID
		}
	}
	if loc == "loc" {
		o.create(&vtepfull.PhysicalLocator{UUID: loc, DstIP: psIP, EncapsulationType: vtepfull.PhysicalLocatorEncapsulationTypeVxlanOverIpv4})
	}
	o.create(&vtepfull.UcastMacsLocal{MAC: learnedMAC, Ipaddr: "203.0.113.10", LogicalSwitch: ls.UUID, Locator: loc})
	return d.commit(ctx, "switch", o)
}

// unlearn deletes the learned MAC, as the switch's aging does.
func (d *demo) unlearn(ctx context.Context) error {
	o := &ops{db: d.sw}
	n := 0
	for _, u := range rows[*vtepfull.UcastMacsLocal](d.sw, vtepfull.UcastMacsLocalTable) {
		if u.MAC == learnedMAC {
			o.delete(&vtepfull.UcastMacsLocal{UUID: u.UUID})
			n++
		}
	}
	if n == 0 {
		return errors.New("no Ucast_Macs_Local row for " + learnedMAC)
	}
	return d.commit(ctx, "switch", o)
}

// updateSB writes one update of a row as actor who.
func (d *demo) updateSB(ctx context.Context, who string, m model.Model, fields ...any) error {
	o := &ops{db: d.sb}
	return d.commit(ctx, who, o.update(m, fields...))
}

// --- reads and checks (from the demo's own caches) ---

func (d *demo) pb(name string) *sbfull.PortBinding {
	for _, pb := range rows[*sbfull.PortBinding](d.sb, sbfull.PortBindingTable) {
		if pb.LogicalPort == name {
			return pb
		}
	}
	return nil
}

func (d *demo) chassis(name string) *sbfull.Chassis {
	for _, ch := range rows[*sbfull.Chassis](d.sb, sbfull.ChassisTable) {
		if ch.Name == name {
			return ch
		}
	}
	return nil
}

func (d *demo) switchLS() *vtepfull.LogicalSwitch {
	for _, ls := range rows[*vtepfull.LogicalSwitch](d.sw, vtepfull.LogicalSwitchTable) {
		if ls.Name == vtepLS {
			return ls
		}
	}
	return nil
}

// checkChassis: the physical switch is registered as a VTEP chassis with
// a vxlan encap on its tunnel IP, listing its logical switch.
func (d *demo) checkChassis() error {
	ch := d.chassis(psName)
	if ch == nil {
		return fmt.Errorf("no SB Chassis %s", psName)
	}
	if ch.OtherConfig["is-vtep"] != "true" {
		return fmt.Errorf("SB Chassis %s: other_config:is-vtep is %q", psName, ch.OtherConfig["is-vtep"])
	}
	if !slices.Equal(ch.VtepLogicalSwitches, []string{vtepLS}) {
		return fmt.Errorf("SB Chassis %s: vtep_logical_switches %v", psName, ch.VtepLogicalSwitches)
	}
	for _, e := range rows[*sbfull.Encap](d.sb, sbfull.EncapTable) {
		if slices.Contains(ch.Encaps, e.UUID) && e.Type == sbfull.EncapTypeVxlan && e.IP == psIP {
			return nil
		}
	}
	return fmt.Errorf("SB Chassis %s: no vxlan encap %s", psName, psIP)
}

// checkBound: the VTEP port is bound to that chassis and up.
func (d *demo) checkBound() error {
	ch, pb := d.chassis(psName), d.pb(vtepPort)
	switch {
	case ch == nil || pb == nil:
		return fmt.Errorf("no SB Chassis %s or Port_Binding %s", psName, vtepPort)
	case pb.Chassis == nil || *pb.Chassis != ch.UUID:
		return fmt.Errorf("SB Port_Binding %s not bound to %s", vtepPort, psName)
	case pb.Up == nil || !*pb.Up:
		return fmt.Errorf("SB Port_Binding %s not up", vtepPort)
	}
	return nil
}

// checkSwitch: the logical switch carries the datapath's VNI, and its
// remote MACs and unknown-dst flood list are exactly ucast and flood.
func (d *demo) checkSwitch(ucast map[string]string, flood []string) error {
	ls := d.switchLS()
	if ls == nil {
		return fmt.Errorf("no switch Logical_Switch %s", vtepLS)
	}
	if ls.TunnelKey == nil || *ls.TunnelKey != dpKey {
		return fmt.Errorf("switch Logical_Switch %s: tunnel_key %v, want %d", vtepLS, fmtPtr(ls.TunnelKey), dpKey)
	}
	gotU, gotF := d.remote(ls.UUID)
	if !maps.Equal(gotU, ucast) {
		return fmt.Errorf("switch Ucast_Macs_Remote %v, want %v", gotU, ucast)
	}
	if !slices.Equal(gotF, flood) {
		return fmt.Errorf("switch Mcast_Macs_Remote unknown-dst %v, want %v", gotF, flood)
	}
	return nil
}

// remote returns a logical switch's remote MACs (MAC → tunnel IP) and its
// unknown-dst locators.
func (d *demo) remote(lsUUID string) (map[string]string, []string) {
	locIP := map[string]string{}
	for _, l := range rows[*vtepfull.PhysicalLocator](d.sw, vtepfull.PhysicalLocatorTable) {
		locIP[l.UUID] = l.DstIP
	}
	ucast := map[string]string{}
	for _, u := range rows[*vtepfull.UcastMacsRemote](d.sw, vtepfull.UcastMacsRemoteTable) {
		if u.LogicalSwitch == lsUUID {
			ucast[u.MAC] = locIP[u.Locator]
		}
	}
	var flood []string
	sets := map[string]*vtepfull.PhysicalLocatorSet{}
	for _, s := range rows[*vtepfull.PhysicalLocatorSet](d.sw, vtepfull.PhysicalLocatorSetTable) {
		sets[s.UUID] = s
	}
	for _, m := range rows[*vtepfull.McastMacsRemote](d.sw, vtepfull.McastMacsRemoteTable) {
		if m.MAC == "unknown-dst" && m.LogicalSwitch == lsUUID {
			if s := sets[m.LocatorSet]; s != nil {
				for _, l := range s.Locators {
					flood = append(flood, locIP[l])
				}
			}
		}
	}
	slices.Sort(flood)
	return ucast, flood
}

// checkFDB: an FDB row for the learned MAC on the VTEP port exists
// (present) or not.
func (d *demo) checkFDB(present bool) error {
	for _, f := range rows[*sbfull.FDB](d.sb, sbfull.FDBTable) {
		if f.MAC == learnedMAC && f.DpKey == dpKey && f.PortKey == vtepPortTK {
			if present {
				return nil
			}
			return fmt.Errorf("SB FDB %s still present", learnedMAC)
		}
	}
	if present {
		return fmt.Errorf("no FDB row mac=%s dp_key=%d port_key=%d", learnedMAC, dpKey, vtepPortTK)
	}
	return nil
}

func fmtPtr(p *int) string {
	if p == nil {
		return "[]"
	}
	return fmt.Sprint(*p)
}

// finalState prints both databases' VTEP-relevant rows.
func (d *demo) finalState() {
	d.printf("   Final state:\n")
	ls := d.switchLS()
	if ls != nil {
		d.printf("     vtep  Logical_Switch %s tunnel_key=%s\n", ls.Name, fmtPtr(ls.TunnelKey))
		ucast, flood := d.remote(ls.UUID)
		for _, mac := range slices.Sorted(maps.Keys(ucast)) {
			d.printf("     vtep  Ucast_Macs_Remote %s -> %s\n", mac, ucast[mac])
		}
		d.printf("     vtep  Mcast_Macs_Remote unknown-dst -> {%s}\n", strings.Join(flood, ", "))
		d.printf("     vtep  Ucast_Macs_Local rows: %d\n", len(rows[*vtepfull.UcastMacsLocal](d.sw, vtepfull.UcastMacsLocalTable)))
	}
	chs := rows[*sbfull.Chassis](d.sb, sbfull.ChassisTable)
	slices.SortFunc(chs, func(a, b *sbfull.Chassis) int { return strings.Compare(a.Name, b.Name) })
	for _, ch := range chs {
		d.printf("     sb    Chassis %s\n", ch.Name)
	}
	pbs := rows[*sbfull.PortBinding](d.sb, sbfull.PortBindingTable)
	slices.SortFunc(pbs, func(a, b *sbfull.PortBinding) int { return a.TunnelKey - b.TunnelKey })
	for _, pb := range pbs {
		on := "unbound"
		if pb.Chassis != nil {
			on = "on " + d.sb.nameOf(sbfull.ChassisTable, *pb.Chassis)
		}
		d.printf("     sb    Port_Binding %s %s up=%s\n", pb.LogicalPort, on, fmtBool(pb.Up))
	}
	d.printf("     sb    FDB rows: %d\n", len(rows[*sbfull.FDB](d.sb, sbfull.FDBTable)))
}

func fmtBool(b *bool) string {
	if b == nil {
		return "[]"
	}
	return fmt.Sprint(*b)
}
