// Package drivers is the contract between vtepgw's reconcile core and the
// protocols that reach a switch, and the registry of drivers.
//
// A driver turns the switch-neutral model of package vtep into one
// protocol: hardware_vtep OVSDB (drivers/hwvtep), gNMI, NETCONF, or the
// Linux kernel. It registers itself from init, like a database/sql driver:
//
//	func init() { drivers.Register("hwvtep", Driver{}) }
//
// and a binary that wants it blank-imports the package (drivers/all does so
// for every in-tree driver; a vendor adds one more import to its own main).
//
// The lifecycle has two steps, so configuration errors surface before any
// I/O: Driver.NewConnector validates the driver's settings; Connector.Connect
// dials and returns a Session once the switch's state has been read.
//
// A Session is a vtep.Switch: it reports observed state (physical switches
// and their VLAN bindings, logical switches, remote and learned MAC
// entries), notifies the core of every change through the Notify callback
// as a vtep.Key, and applies a vtep.Changeset. The rules every driver must
// follow, checked by the conformance suite in drivers/driverstest:
//
//   - Reads reflect every successful Apply (read-your-writes).
//   - Apply is atomic where the protocol allows; on error the switch is left
//     as it was or the error says which part failed.
//   - Apply of an empty diff writes nothing; applying the same changeset
//     twice is harmless.
//   - After every (re)connect, when the observed state has been reloaded,
//     the session calls Notify with vtep.KindResync: entries deleted while
//     disconnected produce no events.
//   - Notify is called from the driver's own goroutines, must not block, and
//     is the only thing the driver does on an event.
//   - Capabilities the protocol lacks are reported through optional
//     interfaces (capability.go), never with stubs.
package drivers

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/vtepgw/vtepgw/vtep"
)

// Params are what the core hands a driver for one configured switch.
type Params struct {
	// Name is the configured name of the switch connection (for logs).
	Name string
	// Endpoints are the driver's remotes, in the driver's syntax.
	Endpoints []string
	// TLS is the client TLS configuration, or nil.
	TLS *tls.Config
	// Settings are the driver-specific options from configuration.
	Settings map[string]any
	Logger   *slog.Logger
}

// Driver validates configuration and makes connectors.
type Driver interface {
	// NewConnector checks p and returns a Connector. It does no I/O.
	NewConnector(p Params) (Connector, error)
}

// Connector dials one switch.
type Connector interface {
	// Connect dials and returns a Session whose observed state has been
	// loaded. The session keeps itself connected until Close; notify is
	// called for every change of observed state.
	Connect(ctx context.Context, notify func(vtep.Key)) (Session, error)
}

// Session is a live connection to one device.
type Session interface {
	vtep.Switch
	// ID is a stable identity of the device, used to record ownership of
	// southbound rows across restarts (for hwvtep: the Global row's UUID).
	ID() string
	// Connected reports whether the session is currently connected.
	Connected() bool
	// Status is a one-line connection summary.
	Status() string
	// Close disconnects. Switch state is left in place.
	Close() error
}

// Sentinel errors. Drivers wrap them; callers test with errors.Is.
var (
	// ErrDisconnected means the session is not connected: the operation
	// did not run. The core retries after the session reconnects and
	// resyncs.
	ErrDisconnected = errors.New("switch disconnected")
	// ErrUnsupported means the switch or driver cannot do what was asked.
	ErrUnsupported = errors.New("unsupported by this switch")
	// ErrInvalid means the input was rejected (bad settings, or a value the
	// switch cannot represent). Retrying the same input will not help.
	ErrInvalid = errors.New("invalid input")
)

var (
	mu       sync.RWMutex // guards registry
	registry = map[string]Driver{}
)

// Register makes a driver available under name. It panics if name is
// empty, d is nil, or name is already registered.
func Register(name string, d Driver) {
	mu.Lock()
	defer mu.Unlock()
	if name == "" || d == nil {
		panic("drivers: Register with empty name or nil driver")
	}
	if _, dup := registry[name]; dup {
		panic("drivers: Register called twice for driver " + name)
	}
	registry[name] = d
}

// Lookup returns the driver registered under name.
func Lookup(name string) (Driver, error) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown driver %q (registered: %v): %w", name, namesLocked(), ErrInvalid)
	}
	return d, nil
}

// NewConnector looks up the driver and validates p, prefixing errors with
// the driver's name.
func NewConnector(name string, p Params) (Connector, error) {
	d, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	c, err := d.NewConnector(p)
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", name, err)
	}
	return c, nil
}

// Names returns the registered driver names, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return slices.Clip(names)
}

// unregisterAll is for tests of the registry itself.
func unregisterAll() {
	mu.Lock()
	defer mu.Unlock()
	registry = map[string]Driver{}
}
