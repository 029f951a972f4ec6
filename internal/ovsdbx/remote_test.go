package ovsdbx

import (
	"strings"
	"testing"
)

func TestValidateRemote(t *testing.T) {
	tests := []struct {
		in    string
		valid bool
	}{
		{"tcp:127.0.0.1:6640", true},
		{"ssl:10.0.0.1:6642", true},
		{"tcp:[::1]:6640", true},
		{"unix:/var/run/openvswitch/db.sock", true},
		{"unix:", false},
		{"tcp:127.0.0.1", false},
		{"tcp::6640", false},
		{"tcp:127.0.0.1:66x0", false},
		{"ptcp:6640", false},
		{"127.0.0.1:6640", false},
		{"", false},
	}
	for _, tc := range tests {
		err := ValidateRemote(tc.in)
		if (err == nil) != tc.valid {
			t.Errorf("ValidateRemote(%q) = %v, want valid=%v", tc.in, err, tc.valid)
		}
		if err != nil && !strings.Contains(err.Error(), "remote") {
			t.Errorf("error %q does not name the remote", err)
		}
	}
}

func FuzzValidateRemote(f *testing.F) {
	for _, s := range []string{"tcp:1.2.3.4:5", "unix:/x", "ssl:[::1]:1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateRemote(s) == nil && !(strings.HasPrefix(s, "tcp:") || strings.HasPrefix(s, "ssl:") || strings.HasPrefix(s, "unix:")) {
			t.Fatalf("accepted %q", s)
		}
	})
}
