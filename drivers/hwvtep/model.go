package hwvtep

import (
	"fmt"
	"slices"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/drivers/hwvtep/vtepdb"
)

// Table names.
const (
	tGlobal    = "Global"
	tPS        = "Physical_Switch"
	tPort      = "Physical_Port"
	tLS        = "Logical_Switch"
	tUMR       = "Ucast_Macs_Remote"
	tMMR       = "Mcast_Macs_Remote"
	tUML       = "Ucast_Macs_Local"
	tMML       = "Mcast_Macs_Local"
	tLocator   = "Physical_Locator"
	tLocSet    = "Physical_Locator_Set"
	tTunnel    = "Tunnel"
	encapVXLAN = "vxlan_over_ipv4"
)

// features are the optional schema columns a server has.
type features struct {
	// lsExt: Logical_Switch has replication_mode and other_config (≥ 1.6.0).
	lsExt bool
	// globalExt: Global has other_config (≥ 1.7.0).
	globalExt bool
	// plExt: Physical_Locator has tunnel_key (≥ 1.5.0).
	plExt bool
}

func detectFeatures(s ovsdb.DatabaseSchema) features {
	has := func(table, col string) bool {
		t, ok := s.Tables[table]
		if !ok {
			return false
		}
		_, ok = t.Columns[col]
		return ok
	}
	return features{
		lsExt:     has(tLS, "replication_mode") && has(tLS, "other_config"),
		globalExt: has(tGlobal, "other_config"),
		plExt:     has(tLocator, "tunnel_key"),
	}
}

func probeModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel("hardware_vtep", map[string]model.Model{tGlobal: &vtepdb.Global{}})
}

func (f features) model() (model.ClientDBModel, error) {
	m := map[string]model.Model{
		tPS:     &vtepdb.PhysicalSwitch{},
		tPort:   &vtepdb.PhysicalPort{},
		tUMR:    &vtepdb.UcastMacsRemote{},
		tMMR:    &vtepdb.McastMacsRemote{},
		tUML:    &vtepdb.UcastMacsLocal{},
		tMML:    &vtepdb.McastMacsLocal{},
		tLocSet: &vtepdb.PhysicalLocatorSet{},
		tTunnel: &vtepdb.Tunnel{},
	}
	if f.plExt {
		m[tLocator] = &vtepdb.PhysicalLocatorExt{}
	} else {
		m[tLocator] = &vtepdb.PhysicalLocator{}
	}
	if f.lsExt {
		m[tLS] = &vtepdb.LogicalSwitchExt{}
	} else {
		m[tLS] = &vtepdb.LogicalSwitch{}
	}
	if f.globalExt {
		m[tGlobal] = &vtepdb.GlobalExt{}
	} else {
		m[tGlobal] = &vtepdb.Global{}
	}
	dbm, err := model.NewClientDBModel("hardware_vtep", m)
	if err != nil {
		return dbm, fmt.Errorf("hardware_vtep model: %w", err)
	}
	// libovsdb hashes a multi-column index value with gob and sha256 on
	// every row update and lookup; unicast tables hold one row per MAC, so
	// they are indexed by MAC alone and lookups filter by logical switch
	// (see macRows). Multicast MACs repeat in every logical switch.
	lsMAC := []model.ClientIndex{{Columns: []model.ColumnKey{{Column: "logical_switch"}, {Column: "MAC"}}}}
	mac := []model.ClientIndex{{Columns: []model.ColumnKey{{Column: "MAC"}}}}
	dbm.SetIndexes(map[string][]model.ClientIndex{
		tUMR:     mac,
		tMMR:     lsMAC,
		tUML:     mac,
		tMML:     lsMAC,
		tLocator: {{Columns: []model.ColumnKey{{Column: "dst_ip"}}}},
	})
	return dbm, nil
}

// lsRow is a Logical_Switch row of either model variant.
type lsRow struct {
	UUID            string
	Name            string
	TunnelKey       *int
	ReplicationMode string
}

func toLSRow(m model.Model) (lsRow, bool) {
	switch r := m.(type) {
	case *vtepdb.LogicalSwitch:
		return lsRow{UUID: r.UUID, Name: r.Name, TunnelKey: r.TunnelKey}, true
	case *vtepdb.LogicalSwitchExt:
		row := lsRow{UUID: r.UUID, Name: r.Name, TunnelKey: r.TunnelKey}
		if r.ReplicationMode != nil {
			row.ReplicationMode = *r.ReplicationMode
		}
		return row, true
	}
	return lsRow{}, false
}

func sortedKeys[M ~map[K]V, K ~string | ~int, V any](m M) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// plRow reads a Physical_Locator row of either model variant.
func plRow(m model.Model) (uuid, ip, encap string, key *int) {
	switch r := m.(type) {
	case *vtepdb.PhysicalLocator:
		return r.UUID, r.DstIP, r.EncapsulationType, nil
	case *vtepdb.PhysicalLocatorExt:
		return r.UUID, r.DstIP, r.EncapsulationType, r.TunnelKey
	}
	return "", "", "", nil
}

// locatorModel returns a Physical_Locator model of the server's variant.
func (f features) locatorModel(uuid, ip string) model.Model {
	if f.plExt {
		return &vtepdb.PhysicalLocatorExt{UUID: uuid, DstIP: ip, EncapsulationType: encapVXLAN}
	}
	return &vtepdb.PhysicalLocator{UUID: uuid, DstIP: ip, EncapsulationType: encapVXLAN}
}
