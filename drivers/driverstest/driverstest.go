// Package driverstest is the conformance suite for vtepgw switch drivers.
//
// It runs one table of scenarios against any driver, in-tree or a vendor's,
// the way testing/slogtest checks a slog.Handler and testing/fstest checks
// an fs.FS:
//
//	func TestConformance(t *testing.T) {
//		driverstest.Run(t, myHarness{})
//	}
//
// Run makes each case a subtest on a fresh device from Harness.New. Check
// runs the same cases and returns every failure joined with errors.Join.
// The suite uses only vtepgw's public packages (drivers, vtep), so a driver
// in another module runs it as in-tree drivers do:
// examples/vendordriver/acme/conformance_test.go is such a harness.
//
// A Device gives the suite two things besides a drivers.Connector: a view
// of the device that does not go through the driver under test
// (Device.Observe: vtep-ctl for hardware_vtep, netlink dumps for the
// kernel, the simulator's own state), so the suite never checks a driver
// only against itself; and optional controls (Learner, Disrupter, Editor,
// ChangeCounter) to inject learned MACs, break the connection, change the
// device behind the driver's back and count writes. Cases that need an
// optional control, or a session capability (drivers.CapabilityReporter),
// are skipped with the interface's name when it is missing, so a vendor
// runs the same suite with whatever its device offers.
//
// The suite honours what the session reports it cannot do
// (drivers.Capabilities; a session without drivers.CapabilityReporter
// can do everything): it writes no remote unicast entries to a
// NoUcastRemote switch and no multicast groups to a FloodListsOnly one
// (bulk cases then write multicast groups instead of unicast MACs, or are
// skipped when only flood lists remain; case Unsupported checks that such
// entries are refused), it does not look for an entry's IP in the device's
// view of a ShadowsUcastIP switch nor for VNI 0 in a ShadowsVNIZero one,
// and after a restart it lets such a session set those values again,
// provided that writes nothing to the device.
//
// The cases (names as in `go test -run 'Conformance/NAME'`):
//
//	Connect             session basics, KindResync after connect, bindings
//	                    and logical switches as the device reports them
//	ApplyIdempotent     apply to an empty switch; both views agree; the
//	                    re-diff is empty; the same changeset again and an
//	                    empty one write nothing (ChangeCounter); every
//	                    changed key is notified
//	UpdateDelete        locator, IP, flood-list and VNI changes, deletes,
//	                    VNI 0 and unset, each checked in both views
//	LargeBatch          2000 MACs in one Apply, updated and deleted
//	ObserveDuringApply  reads from other goroutines while a batch applies
//	Reconnect           the device drops the session (Disrupter): KindResync,
//	                    state intact; again in the middle of an Apply
//	Restart             Close leaves state; a new session adopts it without
//	                    writing (ChangeCounter) and with the same ID
//	Cancel              Connect and Apply with a cancelled context return
//	                    promptly; an Apply cut short converges afterwards
//	Closed              after Close, Apply fails with ErrDisconnected and
//	                    reads do not block
//	LearnAge            a MAC learned on the device (Learner) is notified as
//	                    KindUcastLocal and readable; aged, it is gone
//	ExternalDelete      an entry deleted behind the driver's back (Editor) is
//	                    notified and reads as absent
//	BadInput            unknown logical switch, malformed MAC, locator, IP
//	                    or VNI: ErrInvalid, nothing written
//	ReplicationModes    modes the switch reports (drivers.CapabilityReporter)
//	                    round-trip; others fail with ErrUnsupported
//	Unsupported         entries ruled out by NoUcastRemote or FloodListsOnly
//	                    fail with ErrUnsupported, nothing written
//	Limits              MaxRemoteMACs is enforced with ErrLimit, nothing
//	                    written
//
// Addresses: the suite's locators are 10.250.200.0/24 and its entry IPs
// 10.250.100.0/24; MACs are locally administered (02:…). They are written
// to the device under test only.
package driverstest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/vtep"
)

// Harness makes devices for the suite.
type Harness interface {
	// New returns a fresh device for one case: its logical switches exist
	// with no VNI set, it holds no remote or learned entries, and nothing
	// else writes to it. New registers the device's teardown with
	// t.Cleanup and fails t when the device cannot be made.
	New(t testing.TB) Device
}

// Device is one switch under test.
type Device interface {
	// Connector returns a connector to the device; the suite may connect
	// several sessions over time (a restart), never two at once.
	Connector() drivers.Connector
	// LogicalSwitches names at least two logical switches of the device
	// that are bound to ports. The suite uses the first two.
	LogicalSwitches() []string
	// Observe reads the device's state with the device's own tools, not
	// through the driver under test.
	Observe(ctx context.Context) (*State, error)
}

// State is a device's state as Observe reports it. Only the suite's
// logical switches are compared; a device may report more.
type State struct {
	// Switches are the physical switches with their tunnel IPs and port
	// bindings. Nil skips the comparison with the session's.
	Switches []vtep.PhysicalSwitch
	// VNIs maps logical switch names to their VNI (nil: unset).
	VNIs map[string]*int
	// UcastRemote, McastRemote and UcastLocal hold the entries by key.
	// McastMAC.Locators must be sorted (vtep.NormalizeLocators).
	// UcastLocal's Locator is not compared.
	UcastRemote map[vtep.MACKey]vtep.UcastMAC
	McastRemote map[vtep.MACKey]vtep.McastMAC
	UcastLocal  map[vtep.MACKey]vtep.UcastMAC
	// Problems are inconsistencies the device view found, such as a
	// half-programmed entry. Each is a failure.
	Problems []string
}

// Learner is a device on which the suite can make MACs appear as learned.
type Learner interface {
	// Learn makes the device learn mac on a port bound to ls, as if a
	// frame from mac had arrived there.
	Learn(ctx context.Context, ls, mac string) error
	// Age makes the device forget a learned MAC, as aging out does.
	Age(ctx context.Context, ls, mac string) error
}

// Disrupter is a device that can break the session's connection (or its
// event stream) from the device's side. The session must notice and
// recover by itself, then notify vtep.KindResync.
type Disrupter interface {
	Disrupt(ctx context.Context) error
}

// Editor is a device whose remote entries can be changed behind the
// driver's back, as an operator might.
type Editor interface {
	// DeleteRemote deletes the remote entry k: the unicast entry when
	// k.MAC is a unicast MAC, the multicast one otherwise.
	DeleteRemote(ctx context.Context, k vtep.MACKey) error
}

// ChangeCounter is a device that can tell whether it was written to.
type ChangeCounter interface {
	// Changes returns a value that changes whenever the device's state is
	// written: a change counter, a transaction log's size, a count of
	// change events. Only equality between two calls is used. It must
	// account for every write that completed before the call.
	Changes(ctx context.Context) (uint64, error)
}

// Patience is implemented by harnesses that want another bound than the
// default (20s) on waits for a notification, a reconnect or convergence.
type Patience interface {
	EventTimeout() time.Duration
}

func eventTimeoutOf(h Harness) time.Duration {
	if p, ok := h.(Patience); ok && p.EventTimeout() > 0 {
		return p.EventTimeout()
	}
	return defaultEventTimeout
}

// Run runs every case as a subtest of t, each on a fresh device from h.
func Run(t *testing.T, h Harness) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := h.New(t)
			r := &runner{
				ctx:          t.Context(),
				eventTimeout: eventTimeoutOf(h),
				helper:       t.Helper,
				errorf:       func(s string) { t.Helper(); t.Error(s) },
				logf:         func(s string) { t.Helper(); t.Log(s) },
			}
			if skipped, why := r.run(c.fn, d); skipped {
				t.Skip(why)
			}
		})
	}
}

// Check runs every case, each on a fresh device from h (made with t), and
// returns all failures joined with errors.Join, each prefixed with its
// case's name; nil when the driver conforms. Skipped cases are not
// failures.
func Check(t testing.TB, h Harness) error {
	t.Helper()
	var errs []error
	for _, c := range cases {
		d := h.New(t)
		r := &runner{
			ctx:          t.Context(),
			eventTimeout: eventTimeoutOf(h),
			helper:       func() {},
			errorf:       func(s string) { errs = append(errs, fmt.Errorf("%s: %s", c.name, s)) },
			logf:         func(string) {},
		}
		r.run(c.fn, d)
	}
	return errors.Join(errs...)
}

// Cases returns the names of the suite's cases, in order.
func Cases() []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	return names
}
