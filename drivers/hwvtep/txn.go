package hwvtep

import (
	"fmt"
	"slices"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/hwvtep/vtepdb"
	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/vtep"
)

// txnBuilder turns a changeset into the operations of one transaction.
type txnBuilder struct {
	s   *session
	cl  client.Client
	ops []ovsdb.Operation
	// locators maps a tunnel IP to an existing locator's UUID or to the
	// named UUID of one inserted by this transaction.
	locators map[string]string
	named    int
}

func (b *txnBuilder) add(ops []ovsdb.Operation, err error) error {
	if err != nil {
		return err
	}
	b.ops = append(b.ops, ops...)
	return nil
}

func (b *txnBuilder) newName(prefix string) string {
	b.named++
	return fmt.Sprintf("%s%d", prefix, b.named)
}

// locator returns a reference to the vxlan locator for ip, reusing an
// existing row (the index (encapsulation_type, dst_ip[, tunnel_key]) is
// unique, so a duplicate insert would fail the transaction).
func (b *txnBuilder) locator(ip string) (string, error) {
	if ref, ok := b.locators[ip]; ok {
		return ref, nil
	}
	if t := b.s.table(tLocator); t != nil {
		rows, err := t.RowsByModels([]model.Model{b.s.features().locatorModel("", ip)})
		if err == nil {
			// Prefer the per-logical-switch-key model's locator (no key).
			best := ""
			for _, u := range sortedKeys(rows) {
				_, dst, encap, key := plRow(rows[u])
				if dst == ip && encap == encapVXLAN && (best == "" || key == nil) {
					best = u
				}
			}
			if best != "" {
				b.locators[ip] = best
				return best, nil
			}
		}
	}
	name := b.newName("loc")
	if err := b.add(b.cl.Create(b.s.features().locatorModel(name, ip))); err != nil {
		return "", fmt.Errorf("insert locator %s: %w", ip, err)
	}
	b.locators[ip] = name
	return name, nil
}

func (b *txnBuilder) build(cs *vtep.Changeset) error {
	for _, c := range cs.LogicalSwitches {
		if err := b.logicalSwitch(c); err != nil {
			return err
		}
	}
	for _, c := range cs.UcastRemote {
		if err := b.ucast(c); err != nil {
			return err
		}
	}
	for _, c := range cs.McastRemote {
		if err := b.mcast(c); err != nil {
			return err
		}
	}
	if err := b.faults(cs.Faults); err != nil {
		return err
	}
	return b.tunnels(cs.Tunnels)
}

func (b *txnBuilder) logicalSwitch(c vtep.LogicalSwitchChange) error {
	ls, ok := b.s.lsByName(c.Name)
	if !ok {
		return nil // deleted meanwhile; nothing to set
	}
	if b.s.features().lsExt {
		row := &vtepdb.LogicalSwitchExt{UUID: ls.UUID, TunnelKey: c.VNI}
		fields := []any{&row.TunnelKey}
		if c.ReplicationMode != "" {
			mode := c.ReplicationMode
			row.ReplicationMode = &mode
			fields = append(fields, &row.ReplicationMode)
		}
		return b.add(b.cl.Where(row).Update(row, fields...))
	}
	if c.ReplicationMode == vtep.ReplicationSourceNode {
		// Before 1.6.0 there is no replication_mode column: such switches
		// only do service-node replication.
		b.s.log.Debug("switch schema has no replication_mode; leaving it to the switch", "ls", c.Name)
	}
	row := &vtepdb.LogicalSwitch{UUID: ls.UUID, TunnelKey: c.VNI}
	return b.add(b.cl.Where(row).Update(row, &row.TunnelKey))
}

func (b *txnBuilder) deleteRows(rows []model.Model) error {
	for _, m := range rows {
		var err error
		switch r := m.(type) {
		case *vtepdb.UcastMacsRemote:
			err = b.add(ovsdbx.DeleteByUUID(tUMR, r.UUID), nil)
		case *vtepdb.McastMacsRemote:
			err = b.add(ovsdbx.DeleteByUUID(tMMR, r.UUID), nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *txnBuilder) ucast(c vtep.UcastChange) error {
	rows := b.s.macRows(tUMR, c.Key)
	if c.Set == nil {
		return b.deleteRows(rows)
	}
	ls, ok := b.s.lsByName(c.Key.LS)
	if !ok {
		return fmt.Errorf("ucast %s: %w: %w", c.Key, errNoLS, drivers.ErrInvalid)
	}
	loc, err := b.locator(c.Set.Locator)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		// Built by hand rather than with libovsdb's Create: a bulk of
		// remote MACs is thousands of these, and the model mapping plus
		// libovsdb's reference encoding were most of its cost.
		row := ovsdb.Row{"MAC": c.Key.MAC, "logical_switch": ovsdbx.Ref(ls.UUID), "locator": ovsdbx.Ref(loc)}
		if c.Set.IP != "" {
			row["ipaddr"] = c.Set.IP
		}
		return b.add([]ovsdb.Operation{{Op: ovsdb.OperationInsert, Table: tUMR, Row: row}}, nil)
	}
	keep := rows[0].(*vtepdb.UcastMacsRemote)
	if b.s.locatorIP(keep.Locator) != c.Set.Locator || keep.Ipaddr != c.Set.IP {
		row := &vtepdb.UcastMacsRemote{UUID: keep.UUID, Locator: loc, Ipaddr: c.Set.IP}
		if err := b.add(b.cl.Where(row).Update(row, &row.Locator, &row.Ipaddr)); err != nil {
			return err
		}
	}
	return b.deleteRows(rows[1:])
}

func (b *txnBuilder) mcast(c vtep.McastChange) error {
	rows := b.s.macRows(tMMR, c.Key)
	if c.Set == nil {
		return b.deleteRows(rows)
	}
	ls, ok := b.s.lsByName(c.Key.LS)
	if !ok {
		return fmt.Errorf("mcast %s: %w: %w", c.Key, errNoLS, drivers.ErrInvalid)
	}
	if len(rows) == 1 {
		// Already as wanted: write nothing (a new locator set would be a write).
		r := rows[0].(*vtepdb.McastMacsRemote)
		if r.Ipaddr == c.Set.IP && slices.Equal(b.s.locatorSetIPs(r.LocatorSet), vtep.NormalizeLocators(slices.Clone(c.Set.Locators))) {
			return nil
		}
	}
	// Physical_Locator_Set.locators is immutable: a changed set is a new
	// row, and the old one is garbage-collected once unreferenced.
	var locs []string
	for _, ip := range c.Set.Locators {
		l, err := b.locator(ip)
		if err != nil {
			return err
		}
		locs = append(locs, l)
	}
	set := &vtepdb.PhysicalLocatorSet{UUID: b.newName("pls"), Locators: locs}
	if err := b.add(b.cl.Create(set)); err != nil {
		return fmt.Errorf("insert locator set: %w", err)
	}
	if len(rows) == 0 {
		row := &vtepdb.McastMacsRemote{UUID: b.newName("mmr"), MAC: c.Key.MAC, LogicalSwitch: ls.UUID, LocatorSet: set.UUID, Ipaddr: c.Set.IP}
		return b.add(b.cl.Create(row))
	}
	keep := rows[0].(*vtepdb.McastMacsRemote)
	row := &vtepdb.McastMacsRemote{UUID: keep.UUID, LocatorSet: set.UUID, Ipaddr: c.Set.IP}
	if err := b.add(b.cl.Where(row).Update(row, &row.LocatorSet, &row.Ipaddr)); err != nil {
		return err
	}
	return b.deleteRows(rows[1:])
}
