package hwvtep

import (
	"maps"
	"slices"
	"strings"

	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/drivers/hwvtep/vtepdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Controller-raised faults live in the switch's own fault columns:
//   - a physical switch's in Physical_Switch.switch_fault_status, as
//     "vtepgw:<code>" (the prefix tells them from the switch's own);
//   - a logical switch's in Logical_Switch.other_config:vtepgw-faults, a
//     comma-separated list of codes, because hardware_vtep has no fault
//     column for logical switches (schema ≥ 1.5.1; older schemas cannot
//     carry them and they are only logged and counted by vtepgw).
const (
	faultPrefix   = "vtepgw:"
	lsFaultConfig = "vtepgw-faults"
)

// ControllerFaults returns the faults vtepgw raised on this database.
func (s *session) ControllerFaults() []vtep.Fault {
	var out []vtep.Fault
	for _, ps := range s.PhysicalSwitches() {
		for _, f := range ps.Faults {
			if code, ok := strings.CutPrefix(f, faultPrefix); ok {
				out = append(out, vtep.Fault{Switch: ps.Name, Code: code})
			}
		}
	}
	if t := s.table(tLS); t != nil {
		for _, m := range t.Rows() {
			if ls, ok := m.(*vtepdb.LogicalSwitchExt); ok {
				for _, code := range strings.Split(ls.OtherConfig[lsFaultConfig], ",") {
					if code != "" {
						out = append(out, vtep.Fault{LS: ls.Name, Code: code})
					}
				}
			}
		}
	}
	return out
}

func (b *txnBuilder) faults(changes []vtep.FaultChange) error {
	lsCodes := map[string]map[string]bool{} // LS → codes after the change
	for _, c := range changes {
		f := c.Fault
		if f.LS == "" {
			t := b.s.table(tPS)
			if t == nil {
				continue
			}
			uuid, _, err := t.RowByModel(&vtepdb.PhysicalSwitch{Name: f.Switch})
			if err != nil || uuid == "" {
				continue
			}
			mutator := ovsdb.MutateOperationInsert
			if !c.Set {
				mutator = ovsdb.MutateOperationDelete
			}
			row := &vtepdb.PhysicalSwitch{UUID: uuid}
			if err := b.add(b.cl.Where(row).Mutate(row, model.Mutation{Field: &row.SwitchFaultStatus, Mutator: mutator, Value: []string{faultPrefix + f.Code}})); err != nil {
				return err
			}
			continue
		}
		if !b.s.features().lsExt {
			continue
		}
		codes, ok := lsCodes[f.LS]
		if !ok {
			codes = map[string]bool{}
			if ls, ok := b.s.lsExtRow(f.LS); ok {
				for _, c := range strings.Split(ls.OtherConfig[lsFaultConfig], ",") {
					if c != "" {
						codes[c] = true
					}
				}
			}
			lsCodes[f.LS] = codes
		}
		if c.Set {
			codes[f.Code] = true
		} else {
			delete(codes, f.Code)
		}
	}
	for name, codes := range lsCodes {
		ls, ok := b.s.lsExtRow(name)
		if !ok {
			continue
		}
		oc := maps.Clone(ls.OtherConfig)
		if oc == nil {
			oc = map[string]string{}
		}
		if len(codes) == 0 {
			delete(oc, lsFaultConfig)
		} else {
			oc[lsFaultConfig] = strings.Join(slices.Sorted(maps.Keys(codes)), ",")
		}
		row := &vtepdb.LogicalSwitchExt{UUID: ls.UUID, OtherConfig: oc}
		if err := b.add(b.cl.Where(row).Update(row, &row.OtherConfig)); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) lsExtRow(name string) (*vtepdb.LogicalSwitchExt, bool) {
	t := s.table(tLS)
	if t == nil {
		return nil, false
	}
	_, m, err := t.RowByModel(&vtepdb.LogicalSwitchExt{Name: name})
	if err != nil || m == nil {
		return nil, false
	}
	ls, ok := m.(*vtepdb.LogicalSwitchExt)
	return ls, ok
}
