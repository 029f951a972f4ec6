package gnmi_test

import (
	"testing"

	"github.com/vtepgw/vtepgw/drivers/driverstest"
)

// The conformance suite, through the simulator's gNMI face, once per
// adapter.
func TestConformance(t *testing.T) {
	for _, ad := range []string{"sonic", "eos"} {
		t.Run(ad, func(t *testing.T) {
			t.Parallel()
			driverstest.Run(t, harness{adapter: ad})
		})
	}
}
