package driverstest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/drivers/driverstest/memdriver"
	"github.com/vtepgw/vtepgw/vtep"
)

// The reference driver must pass, with and without capabilities.
func TestMemdriver(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts memdriver.Options
	}{
		{"plain", memdriver.Options{}},
		{"capabilities", memdriver.Options{
			Capabilities: drivers.Capabilities{
				ReplicationModes:  []string{vtep.ReplicationSourceNode},
				MaxRemoteMACs:     2100,
				RemoteMACsNeedVNI: true,
			},
			EntryDelay: 10 * time.Microsecond,
		}},
		// SONiC/EOS static VXLAN (drivers/gnmi).
		{"static VXLAN", memdriver.Options{Capabilities: drivers.Capabilities{
			ReplicationModes:  []string{vtep.ReplicationSourceNode},
			MaxRemoteMACs:     500,
			RemoteMACsNeedVNI: true,
			FloodListsOnly:    true,
			ShadowsUcastIP:    true,
			ShadowsVNIZero:    true,
		}}},
		// Junos static VXLAN (drivers/netconf).
		{"flood lists only", memdriver.Options{Capabilities: drivers.Capabilities{
			ReplicationModes:  []string{vtep.ReplicationSourceNode},
			RemoteMACsNeedVNI: true,
			NoUcastRemote:     true,
			FloodListsOnly:    true,
		}}},
		// Bulk cases write multicast groups instead of unicast MACs.
		{"no remote unicast", memdriver.Options{Capabilities: drivers.Capabilities{
			NoUcastRemote: true,
			MaxRemoteMACs: 300,
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			driverstest.Run(t, memdriver.Harness{Options: tc.opts})
		})
	}
}

func TestCheckPasses(t *testing.T) {
	t.Parallel()
	if err := driverstest.Check(t, memdriver.Harness{}); err != nil {
		t.Fatalf("Check of the reference driver: %v", err)
	}
}

// Each quirk breaks the contract in one way; Check must notice it in the
// case that covers it.
func TestCheckFindsQuirks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quirks memdriver.Quirks
		caps   drivers.Capabilities
		caught string
	}{
		{"no resync after reconnect", memdriver.Quirks{NoResync: true}, drivers.Capabilities{}, "Reconnect: "},
		{"writes unchanged entries", memdriver.Quirks{RewriteUnchanged: true}, drivers.Capabilities{}, "ApplyIdempotent: "},
		{"drops the IP", memdriver.Quirks{DropIP: true}, drivers.Capabilities{}, "ApplyIdempotent: "},
		{"accepts malformed input", memdriver.Quirks{NoValidation: true}, drivers.Capabilities{}, "BadInput: "},
		{"keeps aged MACs", memdriver.Quirks{StaleLocal: true}, drivers.Capabilities{}, "LearnAge: "},
		{"forgets the IP it shadows", memdriver.Quirks{DropIP: true}, drivers.Capabilities{ShadowsUcastIP: true}, "ApplyIdempotent: "},
		{"writes what it cannot hold", memdriver.Quirks{IgnoreCapabilities: true}, drivers.Capabilities{NoUcastRemote: true, FloodListsOnly: true}, "Unsupported: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := driverstest.Check(t, memdriver.Harness{Options: memdriver.Options{Quirks: tc.quirks, Capabilities: tc.caps}, Patience: time.Second})
			if err == nil {
				t.Fatalf("Check passed a driver that %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.caught) {
				t.Fatalf("Check did not fail case %q:\n%v", strings.TrimSuffix(tc.caught, ": "), err)
			}
		})
	}
}

func TestCases(t *testing.T) {
	names := driverstest.Cases()
	if len(names) < 10 || names[0] != "Connect" {
		t.Fatalf("Cases() = %v", names)
	}
}
