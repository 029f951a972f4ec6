package drivers

import (
	"context"
	"errors"
	"testing"

	"github.com/vtepgw/vtepgw/vtep"
)

type fakeDriver struct{ err error }

func (f fakeDriver) NewConnector(Params) (Connector, error) { return fakeConnector{}, f.err }

type fakeConnector struct{}

func (fakeConnector) Connect(context.Context, func(vtep.Key)) (Session, error) {
	return nil, ErrUnsupported
}

func TestRegistry(t *testing.T) {
	t.Cleanup(unregisterAll)
	unregisterAll()
	Register("b", fakeDriver{})
	Register("a", fakeDriver{err: ErrInvalid})
	if got := Names(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Names() = %v, want [a b]", got)
	}
	if _, err := NewConnector("b", Params{}); err != nil {
		t.Fatalf("NewConnector(b): %v", err)
	}
	if _, err := NewConnector("a", Params{}); !errors.Is(err, ErrInvalid) || err.Error() != "driver a: invalid input" {
		t.Fatalf("NewConnector(a) = %v, want prefixed ErrInvalid", err)
	}
	if _, err := Lookup("nope"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Lookup(nope) = %v, want ErrInvalid", err)
	}
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"duplicate", func() { Register("a", fakeDriver{}) }},
		{"nil", func() { Register("c", nil) }},
		{"empty", func() { Register("", fakeDriver{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tc.fn()
		})
	}
}
