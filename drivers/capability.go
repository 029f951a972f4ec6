package drivers

// Optional capabilities. The core checks for them with a type assertion and
// falls back when a session lacks one.

// GlobalConfigReader is implemented by sessions whose device carries
// controller options (hardware_vtep Global.other_config, schema ≥ 1.7.0):
// ovn-remote-probe-interval and ovn-match-northd-version.
type GlobalConfigReader interface {
	GlobalConfig() map[string]string
}
