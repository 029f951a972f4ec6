package gpath

import (
	"errors"
	"testing"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

func TestParseString(t *testing.T) {
	tests := []struct {
		in, want string
		origin   string
		elems    int
	}{
		{"/", "/", "", 0},
		{"", "/", "", 0},
		{"a/b", "/a/b", "", 2},
		{"/network-instances/network-instance[name=default]/vlans/vlan[vlan-id=100]/config/name",
			"/network-instances/network-instance[name=default]/vlans/vlan[vlan-id=100]/config/name", "", 6},
		{"/entry[vlan=100][mac-address=00:11:22:33:44:55]/state",
			"/entry[mac-address=00:11:22:33:44:55][vlan=100]/state", "", 2},
		{"sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/remote_vtep",
			"sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/remote_vtep", "sonic-db", 5},
		{"cli:", "cli:/", "cli", 0},
		{"/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config",
			"/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config", "", 4},
		{`/a[k=x/y\]z]`, `/a[k=x/y\]z]`, "", 1},
		{`/a\/b`, `/a\/b`, "", 1},
		{`/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|map_10100_Vlan100`, `/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|map_10100_Vlan100`, "", 4},
		{"/a[k=]", "/a[k=]", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Origin != tc.origin || len(p.Elem) != tc.elems {
				t.Fatalf("origin %q elems %d, want %q %d", p.Origin, len(p.Elem), tc.origin, tc.elems)
			}
			if got := String(p); got != tc.want {
				t.Fatalf("String = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	p := MustParse(`/x/entry[mac-address=aa:bb][vlan=7]/y[k=a\]b=c]`)
	if got := p.Elem[1].Key["mac-address"]; got != "aa:bb" {
		t.Errorf("mac-address = %q", got)
	}
	if got := p.Elem[2].Key["k"]; got != "a]b=c" {
		t.Errorf("k = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"/a//b", "/a/", "/a[k]", "/a[=v]", "/a[k=v", "/a]", `/a\`, "/a[k=1][k=2]", "/[k=v]", `/a[k\`, `/a[k=v\`} {
		if _, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax", in, err)
		}
	}
}

func TestJoin(t *testing.T) {
	j, err := Join(&gnmipb.Path{Target: "sw1", Origin: "sonic-db", Elem: Names("APPL_DB")}, MustParse("/localhost/X"))
	if err != nil {
		t.Fatal(err)
	}
	if String(j) != "sonic-db:/APPL_DB/localhost/X" || j.Target != "sw1" {
		t.Fatalf("Join = %s target %q", String(j), j.Target)
	}
	if _, err := Join(&gnmipb.Path{Origin: "a"}, &gnmipb.Path{Origin: "b"}); err == nil {
		t.Fatal("conflicting origins accepted")
	}
	if !Equal(MustParse("/a[x=1][y=2]"), New("", E("a", "y", "2", "x", "1"))) {
		t.Fatal("Equal")
	}
}

// FuzzParse: whatever parses prints canonically, and the printed form
// parses back to the same path.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/", "a/b", "sonic-db:/APPL_DB/localhost/T/k:1/f", "/a[k=v][j=w]/b", `/a[k=x/y\]z]`, `/a\/b\[c`,
		"/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan", "cli:", "x:y:/z", "/a[k=[]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		out := String(p)
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(String(Parse(%q))) = %q: %v", s, out, err)
		}
		if !proto.Equal(p, q) {
			t.Fatalf("round trip of %q via %q: %v != %v", s, out, p, q)
		}
		if String(q) != out {
			t.Fatalf("String not canonical: %q then %q", out, String(q))
		}
	})
}

// FuzzString: any path built from arbitrary names and keys survives
// String then Parse.
func FuzzString(f *testing.F) {
	f.Add("o", "a", "k", "v", "b")
	f.Add("", "x/y", "k=]", "v]\\", "[")
	f.Fuzz(func(t *testing.T, origin, name, key, val, name2 string) {
		if name == "" || name2 == "" || key == "" {
			return
		}
		// An origin is only recognised without these characters.
		for _, c := range origin {
			if c == '/' || c == '[' || c == ']' || c == '\\' || c == '=' || c == ':' {
				return
			}
		}
		p := New(origin, E(name, key, val), E(name2))
		q, err := Parse(String(p))
		if err != nil {
			t.Fatalf("Parse(%q): %v", String(p), err)
		}
		if origin == "" && q.Origin != "" {
			// A first element name containing ':' before any '/' would be
			// read as an origin: String always starts elements with '/'.
			t.Fatalf("origin appeared: %q", String(p))
		}
		if !proto.Equal(p, q) {
			t.Fatalf("round trip %q: %v != %v", String(p), p, q)
		}
	})
}
