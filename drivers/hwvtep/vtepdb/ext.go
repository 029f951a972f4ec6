package vtepdb

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
