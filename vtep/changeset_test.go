package vtep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr(i int) *int { return &i }

func TestDiffLogicalSwitch(t *testing.T) {
	tests := []struct {
		name      string
		want, obs LogicalSwitch
		change    *LogicalSwitchChange
	}{
		{"equal", LogicalSwitch{Name: "a", VNI: ptr(5)}, LogicalSwitch{Name: "a", VNI: ptr(5)}, nil},
		{"set vni", LogicalSwitch{Name: "a", VNI: ptr(5)}, LogicalSwitch{Name: "a"}, &LogicalSwitchChange{Name: "a", VNI: ptr(5)}},
		{"change vni", LogicalSwitch{Name: "a", VNI: ptr(0)}, LogicalSwitch{Name: "a", VNI: ptr(5)}, &LogicalSwitchChange{Name: "a", VNI: ptr(0)}},
		{"clear vni", LogicalSwitch{Name: "a"}, LogicalSwitch{Name: "a", VNI: ptr(5)}, &LogicalSwitchChange{Name: "a"}},
		{"mode unset in desired is left alone", LogicalSwitch{Name: "a", VNI: ptr(1)}, LogicalSwitch{Name: "a", VNI: ptr(1), ReplicationMode: ReplicationServiceNode}, nil},
		{"mode", LogicalSwitch{Name: "a", VNI: ptr(1), ReplicationMode: ReplicationSourceNode}, LogicalSwitch{Name: "a", VNI: ptr(1)},
			&LogicalSwitchChange{Name: "a", VNI: ptr(1), ReplicationMode: ReplicationSourceNode}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.change, DiffLogicalSwitch(tc.want, tc.obs)); d != "" {
				t.Fatalf("diff (-want +got):\n%s", d)
			}
		})
	}
}

func TestDiffUcast(t *testing.T) {
	k := MACKey{LS: "ls", MAC: "00:00:00:00:00:01"}
	at := func(ip string, dups int) *UcastMAC { return &UcastMAC{MACKey: k, Locator: ip, Duplicates: dups} }
	tests := []struct {
		name      string
		want, obs *UcastMAC
		change    *UcastChange
	}{
		{"none", nil, nil, nil},
		{"equal", at("1.1.1.1", 0), at("1.1.1.1", 0), nil},
		{"create", at("1.1.1.1", 0), nil, &UcastChange{Key: k, Set: at("1.1.1.1", 0)}},
		{"move", at("1.1.1.2", 0), at("1.1.1.1", 0), &UcastChange{Key: k, Set: at("1.1.1.2", 0)}},
		{"delete", nil, at("1.1.1.1", 0), &UcastChange{Key: k}},
		{"duplicates rewritten", at("1.1.1.1", 0), at("1.1.1.1", 2), &UcastChange{Key: k, Set: at("1.1.1.1", 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.change, DiffUcast(k, tc.want, tc.obs)); d != "" {
				t.Fatalf("diff (-want +got):\n%s", d)
			}
		})
	}
}

func TestDiffMcast(t *testing.T) {
	k := MACKey{LS: "ls", MAC: UnknownDst}
	set := func(ips ...string) *McastMAC { return &McastMAC{MACKey: k, Locators: ips} }
	tests := []struct {
		name      string
		want, obs *McastMAC
		change    *McastChange
	}{
		{"equal", set("1.1.1.1", "1.1.1.2"), set("1.1.1.1", "1.1.1.2"), nil},
		{"grow", set("1.1.1.2", "1.1.1.1"), set("1.1.1.1"), &McastChange{Key: k, Set: set("1.1.1.1", "1.1.1.2")}},
		{"empty desired deletes", set(), set("1.1.1.1"), &McastChange{Key: k}},
		{"empty desired, nothing observed", set(), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.change, DiffMcast(k, tc.want, tc.obs)); d != "" {
				t.Fatalf("diff (-want +got):\n%s", d)
			}
		})
	}
}

func TestNormalizeMAC(t *testing.T) {
	for in, want := range map[string]string{
		"AA:BB:CC:DD:EE:FF": "aa:bb:cc:dd:ee:ff",
		"unknown-dst":       "unknown-dst",
		"":                  "",
	} {
		if got := NormalizeMAC(in); got != want {
			t.Errorf("NormalizeMAC(%q) = %q, want %q", in, got, want)
		}
	}
}
