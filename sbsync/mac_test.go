package sbsync

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestPortMACs(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"00:00:00:00:00:01"}, []string{"00:00:00:00:00:01"}},
		{[]string{"F0:AB:CD:EF:01:04 192.168.0.1"}, []string{"f0:ab:cd:ef:01:04"}},
		{[]string{"f0:ab:cd:ef:01:04 192.168.0.1", "f0:ab:cd:ef:01:05 192.168.0.2"}, []string{"f0:ab:cd:ef:01:04", "f0:ab:cd:ef:01:05"}},
		{[]string{"unknown"}, nil},
		{[]string{"router"}, nil},
		{[]string{"dynamic"}, nil},
		{[]string{""}, nil},
		{[]string{"00:00:00:00:00:0g"}, nil},
		{[]string{"00-00-00-00-00-01"}, nil},
	}
	for _, tc := range tests {
		if got := portMACs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("portMACs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzPortMACs(f *testing.F) {
	for _, s := range []string{"00:00:00:00:00:01 10.0.0.1", "unknown", "AA:BB:CC:DD:EE:FF", "a b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range portMACs([]string{s}) {
			if !isMAC(m) || m != strings.ToLower(m) {
				t.Fatalf("portMACs(%q) returned %q", s, m)
			}
		}
	})
}

func TestPortHostIPs(t *testing.T) {
	tests := []struct {
		in   []string
		want map[string]string
	}{
		{[]string{"00:00:00:00:00:01"}, nil},
		{[]string{"F0:AB:CD:EF:01:04 192.168.0.1"}, map[string]string{"f0:ab:cd:ef:01:04": "192.168.0.1"}},
		{[]string{"f0:ab:cd:ef:01:04 192.168.0.1 fd00::1"}, map[string]string{"f0:ab:cd:ef:01:04": "192.168.0.1"}},
		{[]string{"f0:ab:cd:ef:01:04 fd00::0:1"}, map[string]string{"f0:ab:cd:ef:01:04": "fd00::1"}},
		{[]string{"f0:ab:cd:ef:01:04 not-an-ip 10.0.0.9"}, map[string]string{"f0:ab:cd:ef:01:04": "10.0.0.9"}},
		{[]string{"f0:ab:cd:ef:01:04 10.0.0.0/24"}, nil},
		{[]string{"dynamic 10.0.0.1", "router", "unknown"}, nil},
		{[]string{"a:b 1.2.3.4"}, nil},
	}
	for _, tc := range tests {
		if got := portHostIPs(tc.in); !maps.Equal(got, tc.want) {
			t.Errorf("portHostIPs(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzPortHostIPs(f *testing.F) {
	for _, s := range []string{"00:00:00:00:00:01 10.0.0.1", "aa:bb:cc:dd:ee:ff fe80::1%eth0", "x 1.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for mac, ip := range portHostIPs([]string{s}) {
			if !isMAC(mac) {
				t.Fatalf("portHostIPs(%q): key %q is not a MAC", s, mac)
			}
			if _, err := netip.ParseAddr(ip); err != nil {
				t.Fatalf("portHostIPs(%q): %q is not an address: %v", s, ip, err)
			}
		}
	})
}
