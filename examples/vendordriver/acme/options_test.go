package acme_test

import (
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/acme-vtep-driver/acme"
	"github.com/vtepgw/vtepgw/drivers"
)

// The driver is in vtepgw's registry from init, as database/sql drivers
// are in database/sql's: importing the package is enough.
func TestRegistered(t *testing.T) {
	if !slices.Contains(drivers.Names(), acme.Name) {
		t.Fatalf("drivers.Names() = %v, want %q among them", drivers.Names(), acme.Name)
	}
	if _, err := drivers.Lookup(acme.Name); err != nil {
		t.Fatal(err)
	}
	_, err := drivers.NewConnector(acme.Name, drivers.Params{Name: "acme1"})
	if !errors.Is(err, drivers.ErrInvalid) || !strings.HasPrefix(err.Error(), "driver acme: ") {
		t.Fatalf("NewConnector without endpoints = %v, want a \"driver acme: \" error wrapping drivers.ErrInvalid", err)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := acme.ParseOptions(drivers.Params{Endpoints: []string{"sw1", "tcp:192.0.2.1:7000", "[2001:db8::1]:7170"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"sw1:7170", "192.0.2.1:7000", "[2001:db8::1]:7170"}; !slices.Equal(o.Endpoints, want) {
		t.Errorf("Endpoints = %v, want %v", o.Endpoints, want)
	}
	if o.DialTimeout != 5*time.Second || o.ReconnectBackoff != 100*time.Millisecond || o.ReconnectBackoffMax != 5*time.Second || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	o, err = acme.ParseOptions(drivers.Params{Endpoints: []string{"sw1"}, Settings: map[string]any{
		"dial-timeout": "2s", "reconnect-backoff": time.Second, "reconnect-backoff-max": "1m",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if o.DialTimeout != 2*time.Second || o.ReconnectBackoff != time.Second || o.ReconnectBackoffMax != time.Minute {
		t.Errorf("settings: %+v", o)
	}

	for _, tc := range []struct {
		name string
		p    drivers.Params
		want []string
	}{
		{"no endpoint", drivers.Params{}, []string{"at least one HOST:PORT"}},
		{"bad endpoints", drivers.Params{Endpoints: []string{":7170", "sw1:http", "sw1:0"}}, []string{
			`endpoint ":7170": no host`, `endpoint "sw1:http": port "http"`, `endpoint "sw1:0": port "0"`}},
		{"TLS", drivers.Params{Endpoints: []string{"sw1"}, TLS: &tls.Config{}}, []string{"plain TCP"}},
		{"settings", drivers.Params{Endpoints: []string{"sw1"}, Settings: map[string]any{
			"dial-timeout": 5, "reconnect-backoff": "-1s", "colour": "blue",
		}}, []string{`unknown setting "colour"`, "setting dial-timeout: want a duration", "setting reconnect-backoff: -1s is not positive"}},
		{"backoff max below backoff", drivers.Params{Endpoints: []string{"sw1"}, Settings: map[string]any{
			"reconnect-backoff": "10s", "reconnect-backoff-max": "1s",
		}}, []string{"reconnect-backoff-max (1s) is below reconnect-backoff (10s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := acme.ParseOptions(tc.p)
			if !errors.Is(err, drivers.ErrInvalid) {
				t.Fatalf("ParseOptions = %v, want an error wrapping drivers.ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
