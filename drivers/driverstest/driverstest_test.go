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
		caught string
	}{
		{"no resync after reconnect", memdriver.Quirks{NoResync: true}, "Reconnect: "},
		{"writes unchanged entries", memdriver.Quirks{RewriteUnchanged: true}, "ApplyIdempotent: "},
		{"drops the IP", memdriver.Quirks{DropIP: true}, "ApplyIdempotent: "},
		{"accepts malformed input", memdriver.Quirks{NoValidation: true}, "BadInput: "},
		{"keeps aged MACs", memdriver.Quirks{StaleLocal: true}, "LearnAge: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := driverstest.Check(t, memdriver.Harness{Options: memdriver.Options{Quirks: tc.quirks}, Patience: time.Second})
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
