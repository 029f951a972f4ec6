package hwvtep

import (
	"maps"
	"slices"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/drivers/hwvtep/vtepdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Tunnels returns every Physical_Switch's Tunnel rows with their BFD
// parameters (written by the controller) and status (by the switch).
func (s *session) Tunnels() []vtep.Tunnel {
	ts := s.tables(tPS, tTunnel)
	if ts == nil {
		return nil
	}
	psT, tT := ts[0], ts[1]
	var out []vtep.Tunnel
	for _, m := range psT.Rows() {
		ps := m.(*vtepdb.PhysicalSwitch)
		for _, u := range ps.Tunnels {
			tm := tT.Row(u)
			if tm == nil {
				continue
			}
			t := tm.(*vtepdb.Tunnel)
			out = append(out, vtep.Tunnel{
				Switch:    ps.Name,
				Local:     s.locatorIP(t.Local),
				Remote:    s.locatorIP(t.Remote),
				BFDParams: maps.Clone(t.BFDParams),
				BFDStatus: maps.Clone(t.BFDStatus),
			})
		}
	}
	slices.SortFunc(out, func(a, b vtep.Tunnel) int { return cmpString(a.Switch+a.Remote, b.Switch+b.Remote) })
	return out
}

// tunnels sets BFD parameters on existing tunnels and creates the missing
// ones (referenced from Physical_Switch.tunnels; Tunnel is not a root table).
func (b *txnBuilder) tunnels(changes []vtep.TunnelChange) error {
	ts := b.s.tables(tPS, tTunnel)
	if ts == nil || len(changes) == 0 {
		return nil
	}
	psT, tT := ts[0], ts[1]
	for _, c := range changes {
		uuid, m, err := psT.RowByModel(&vtepdb.PhysicalSwitch{Name: c.Switch})
		if err != nil || m == nil {
			continue
		}
		ps := m.(*vtepdb.PhysicalSwitch)
		found := ""
		for _, tu := range ps.Tunnels {
			if tm := tT.Row(tu); tm != nil && b.s.locatorIP(tm.(*vtepdb.Tunnel).Remote) == c.Remote {
				found = tu
				break
			}
		}
		params := c.BFDParams
		if params == nil {
			params = map[string]string{}
		}
		if found != "" {
			row := &vtepdb.Tunnel{UUID: found, BFDParams: params}
			if err := b.add(b.cl.Where(row).Update(row, &row.BFDParams)); err != nil {
				return err
			}
			continue
		}
		if len(params) == 0 || c.Local == "" {
			continue
		}
		local, err := b.locator(c.Local)
		if err != nil {
			return err
		}
		remote, err := b.locator(c.Remote)
		if err != nil {
			return err
		}
		name := b.newName("tun")
		if err := b.add(b.cl.Create(&vtepdb.Tunnel{UUID: name, Local: local, Remote: remote, BFDParams: params})); err != nil {
			return err
		}
		psRow := &vtepdb.PhysicalSwitch{UUID: uuid}
		if err := b.add(b.cl.Where(psRow).Mutate(psRow, model.Mutation{Field: &psRow.Tunnels, Mutator: ovsdb.MutateOperationInsert, Value: []string{name}})); err != nil {
			return err
		}
	}
	return nil
}
