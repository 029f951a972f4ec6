package mcast

import (
	"net/netip"
	"slices"
	"testing"
)

func TestGroupMAC(t *testing.T) {
	tests := []struct{ ip, mac string }{
		{"224.0.0.251", "01:00:5e:00:00:fb"},
		{"239.255.255.250", "01:00:5e:7f:ff:fa"},
		{"239.128.1.2", "01:00:5e:00:01:02"}, // the 24th bit is dropped
		{"ff02::1:ff00:1", "33:33:ff:00:00:01"},
		{"ff0e::1234:5678", "33:33:12:34:56:78"},
	}
	for _, tc := range tests {
		got, err := GroupMAC(netip.MustParseAddr(tc.ip))
		if err != nil || got != tc.mac {
			t.Errorf("GroupMAC(%s) = %q, %v; want %q", tc.ip, got, err, tc.mac)
		}
	}
	if _, err := GroupMAC(netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("GroupMAC(unicast) did not fail")
	}
}

func TestParseGroupName(t *testing.T) {
	for name, ok := range map[string]bool{
		"239.1.1.1": true, "ff0e::1": true, "_MC_flood": false, "10.0.0.1": false, "x": false, "": false,
	} {
		if _, got := ParseGroupName(name); got != ok {
			t.Errorf("ParseGroupName(%q) ok=%v, want %v", name, got, ok)
		}
	}
}

func TestLearnedGroup(t *testing.T) {
	if a, err := LearnedGroup("01:00:5E:01:01:01", "239.1.1.1"); err != nil || a.String() != "239.1.1.1" {
		t.Errorf("valid entry: %v %v", a, err)
	}
	for _, bad := range [][2]string{{"01:00:5e:01:01:02", "239.1.1.1"}, {"01:00:5e:01:01:01", ""}, {"00:00:00:00:00:01", "10.0.0.1"}} {
		if _, err := LearnedGroup(bad[0], bad[1]); err == nil {
			t.Errorf("LearnedGroup(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if !IsMulticastMAC("01:00:5e:00:00:01") || IsMulticastMAC("00:00:5e:00:00:01") || IsMulticastMAC("zz") {
		t.Error("IsMulticastMAC")
	}
}

func TestLocators(t *testing.T) {
	own := func(ip string) bool { return ip == "192.0.2.4" }
	got := Locators([]Member{{"a", "10.0.0.2"}, {"b", "10.0.0.1"}, {"c", "10.0.0.2"}, {"d", ""}, {"v", "192.0.2.4"}}, own)
	if !slices.Equal(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("Locators = %v", got)
	}
}

func FuzzLearnedGroup(f *testing.F) {
	f.Add("01:00:5e:01:01:01", "239.1.1.1")
	f.Add("33:33:00:00:00:01", "ff02::1")
	f.Fuzz(func(t *testing.T, mac, ip string) {
		a, err := LearnedGroup(mac, ip)
		if err != nil {
			return
		}
		if !a.IsMulticast() || !IsMulticastMAC(mac) {
			t.Fatalf("accepted %q %q → %v", mac, ip, a)
		}
	})
}
