package vtepdb

import (
	"maps"
	"slices"

	"github.com/ovn-org/libovsdb/model"
)

// Columns added to hardware_vtep after 1.3.0. libovsdb refuses a model with a
// column the server lacks, so the driver registers these variants in place of
// the generated ones only when the server's schema has the columns.

// LogicalSwitchExt is Logical_Switch as of schema 1.6.0: other_config (1.5.1)
// and replication_mode (1.6.0).
type LogicalSwitchExt struct {
	UUID            string            `ovsdb:"_uuid"`
	Description     string            `ovsdb:"description"`
	Name            string            `ovsdb:"name"`
	TunnelKey       *int              `ovsdb:"tunnel_key"`
	ReplicationMode *string           `ovsdb:"replication_mode"`
	OtherConfig     map[string]string `ovsdb:"other_config"`
}

// GlobalExt is Global as of schema 1.7.0, which added other_config.
type GlobalExt struct {
	UUID        string            `ovsdb:"_uuid"`
	Managers    []string          `ovsdb:"managers"`
	Switches    []string          `ovsdb:"switches"`
	OtherConfig map[string]string `ovsdb:"other_config"`
}

// PhysicalLocatorExt is Physical_Locator as of schema 1.5.0, which added
// tunnel_key and made it part of the unique index. libovsdb's cache indexes
// by the server's schema, so the model must have the column when the server
// does.
type PhysicalLocatorExt struct {
	UUID              string `ovsdb:"_uuid"`
	DstIP             string `ovsdb:"dst_ip"`
	EncapsulationType string `ovsdb:"encapsulation_type"`
	TunnelKey         *int   `ovsdb:"tunnel_key"`
}

// The methods below are what modelgen -extended generates: without them
// libovsdb deep-copies every row it returns through encoding/json.

func copyIntPtr(a *int) *int {
	if a == nil {
		return nil
	}
	b := *a
	return &b
}

func copyStringPtr(a *string) *string {
	if a == nil {
		return nil
	}
	b := *a
	return &b
}

func equalIntPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalStringPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func copyStringMap(a map[string]string) map[string]string {
	if a == nil {
		return nil
	}
	return maps.Clone(a)
}

func (a *LogicalSwitchExt) DeepCopyInto(b *LogicalSwitchExt) {
	*b = *a
	b.TunnelKey = copyIntPtr(a.TunnelKey)
	b.ReplicationMode = copyStringPtr(a.ReplicationMode)
	b.OtherConfig = copyStringMap(a.OtherConfig)
}

func (a *LogicalSwitchExt) DeepCopy() *LogicalSwitchExt {
	b := new(LogicalSwitchExt)
	a.DeepCopyInto(b)
	return b
}

func (a *LogicalSwitchExt) CloneModelInto(b model.Model) { a.DeepCopyInto(b.(*LogicalSwitchExt)) }
func (a *LogicalSwitchExt) CloneModel() model.Model      { return a.DeepCopy() }

func (a *LogicalSwitchExt) EqualsModel(m model.Model) bool {
	b := m.(*LogicalSwitchExt)
	return a.UUID == b.UUID && a.Description == b.Description && a.Name == b.Name &&
		equalIntPtr(a.TunnelKey, b.TunnelKey) && equalStringPtr(a.ReplicationMode, b.ReplicationMode) &&
		maps.Equal(a.OtherConfig, b.OtherConfig)
}

func (a *GlobalExt) DeepCopyInto(b *GlobalExt) {
	*b = *a
	b.Managers = slices.Clone(a.Managers)
	b.Switches = slices.Clone(a.Switches)
	b.OtherConfig = copyStringMap(a.OtherConfig)
}

func (a *GlobalExt) DeepCopy() *GlobalExt {
	b := new(GlobalExt)
	a.DeepCopyInto(b)
	return b
}

func (a *GlobalExt) CloneModelInto(b model.Model) { a.DeepCopyInto(b.(*GlobalExt)) }
func (a *GlobalExt) CloneModel() model.Model      { return a.DeepCopy() }

func (a *GlobalExt) EqualsModel(m model.Model) bool {
	b := m.(*GlobalExt)
	return a.UUID == b.UUID && slices.Equal(a.Managers, b.Managers) && slices.Equal(a.Switches, b.Switches) &&
		maps.Equal(a.OtherConfig, b.OtherConfig)
}

func (a *PhysicalLocatorExt) DeepCopyInto(b *PhysicalLocatorExt) {
	*b = *a
	b.TunnelKey = copyIntPtr(a.TunnelKey)
}

func (a *PhysicalLocatorExt) DeepCopy() *PhysicalLocatorExt {
	b := new(PhysicalLocatorExt)
	a.DeepCopyInto(b)
	return b
}

func (a *PhysicalLocatorExt) CloneModelInto(b model.Model) { a.DeepCopyInto(b.(*PhysicalLocatorExt)) }
func (a *PhysicalLocatorExt) CloneModel() model.Model      { return a.DeepCopy() }

func (a *PhysicalLocatorExt) EqualsModel(m model.Model) bool {
	b := m.(*PhysicalLocatorExt)
	return a.UUID == b.UUID && a.DstIP == b.DstIP && a.EncapsulationType == b.EncapsulationType &&
		equalIntPtr(a.TunnelKey, b.TunnelKey)
}

var (
	_ model.CloneableModel  = &LogicalSwitchExt{}
	_ model.ComparableModel = &LogicalSwitchExt{}
	_ model.CloneableModel  = &GlobalExt{}
	_ model.ComparableModel = &GlobalExt{}
	_ model.CloneableModel  = &PhysicalLocatorExt{}
	_ model.ComparableModel = &PhysicalLocatorExt{}
)
