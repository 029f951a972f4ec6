package drivers

import (
	"testing"

	"github.com/vtepgw/vtepgw/vtep"
)

func TestCapabilitiesSupports(t *testing.T) {
	u := vtep.UcastRemoteKey(vtep.MACKey{LS: "ls0", MAC: "02:00:00:00:00:01"})
	flood := vtep.McastRemoteKey(vtep.MACKey{LS: "ls0", MAC: vtep.UnknownDst})
	group := vtep.McastRemoteKey(vtep.MACKey{LS: "ls0", MAC: "01:00:5e:00:00:01"})
	ls := vtep.LogicalSwitchKey("ls0")
	for _, tc := range []struct {
		caps Capabilities
		want map[vtep.Key]bool
	}{
		{Capabilities{}, map[vtep.Key]bool{u: true, flood: true, group: true, ls: true}},
		{Capabilities{NoUcastRemote: true}, map[vtep.Key]bool{u: false, flood: true, group: true, ls: true}},
		{Capabilities{NoUcastRemote: true, FloodListsOnly: true}, map[vtep.Key]bool{u: false, flood: true, group: false, ls: true}},
	} {
		for k, want := range tc.want {
			if got := tc.caps.Supports(k); got != want {
				t.Errorf("%+v.Supports(%v) = %v, want %v", tc.caps, k, got, want)
			}
		}
	}
}
