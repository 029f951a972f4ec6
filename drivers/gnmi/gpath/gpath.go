// Package gpath parses and prints gNMI paths in the usual string form,
//
//	origin:/elem/list[key=value][key2=value2]/leaf
//
// keeping key names (the gnmi module's path.ToStrings drops them). It is a
// wire codec with no controller logic, shared by the gNMI driver and the
// simulator's gNMI face.
//
// Escaping: in element names '/', '[', ']' and '\' are escaped with '\'; in
// key names '=', ']' and '\'; in key values ']' and '\'. A '/' inside a key
// value needs no escape. Keys print sorted by name, so String is canonical.
package gpath

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("bad gNMI path")

// Parse reads a path. A leading "origin:" (text up to the first ':' when
// it comes before any '/' or '[') sets Path.Origin. "/" and "" are the root.
func Parse(s string) (*gnmipb.Path, error) {
	p := &gnmipb.Path{}
	if i := strings.IndexByte(s, ':'); i > 0 && !strings.ContainsAny(s[:i], "/[]\\=") {
		p.Origin, s = s[:i], s[i+1:]
	}
	s = strings.TrimPrefix(s, "/")
	for len(s) > 0 {
		e, rest, err := parseElem(s)
		if err != nil {
			return nil, err
		}
		p.Elem = append(p.Elem, e)
		s = rest
		if s == "" {
			break
		}
		if s[0] != '/' {
			return nil, fmt.Errorf("%w: unexpected %q", ErrSyntax, s[0])
		}
		s = s[1:]
		if s == "" {
			return nil, fmt.Errorf("%w: trailing '/'", ErrSyntax)
		}
	}
	return p, nil
}

// MustParse is Parse for constant paths; it panics on error.
func MustParse(s string) *gnmipb.Path {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

func parseElem(s string) (*gnmipb.PathElem, string, error) {
	var name strings.Builder
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s) {
				return nil, "", fmt.Errorf("%w: dangling escape", ErrSyntax)
			}
			i++
			name.WriteByte(s[i])
			continue
		}
		if c == '/' || c == '[' {
			break
		}
		if c == ']' {
			return nil, "", fmt.Errorf("%w: unexpected ']'", ErrSyntax)
		}
		name.WriteByte(c)
	}
	if name.Len() == 0 {
		return nil, "", fmt.Errorf("%w: empty element name", ErrSyntax)
	}
	e := &gnmipb.PathElem{Name: name.String()}
	for i < len(s) && s[i] == '[' {
		i++
		var k, v strings.Builder
		for ; i < len(s) && s[i] != '='; i++ {
			c := s[i]
			if c == '\\' {
				if i+1 >= len(s) {
					return nil, "", fmt.Errorf("%w: dangling escape", ErrSyntax)
				}
				i++
				c = s[i]
			} else if c == ']' || c == '[' {
				return nil, "", fmt.Errorf("%w: key without '='", ErrSyntax)
			}
			k.WriteByte(c)
		}
		if i >= len(s) {
			return nil, "", fmt.Errorf("%w: unterminated key", ErrSyntax)
		}
		i++ // '='
		closed := false
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' {
				if i+1 >= len(s) {
					return nil, "", fmt.Errorf("%w: dangling escape", ErrSyntax)
				}
				i++
				v.WriteByte(s[i])
				continue
			}
			if c == ']' {
				closed = true
				i++
				break
			}
			v.WriteByte(c)
		}
		if !closed {
			return nil, "", fmt.Errorf("%w: unterminated key value", ErrSyntax)
		}
		if k.Len() == 0 {
			return nil, "", fmt.Errorf("%w: empty key name", ErrSyntax)
		}
		if e.Key == nil {
			e.Key = map[string]string{}
		}
		if _, dup := e.Key[k.String()]; dup {
			return nil, "", fmt.Errorf("%w: duplicate key %q", ErrSyntax, k.String())
		}
		e.Key[k.String()] = v.String()
	}
	return e, s[i:], nil
}

// String prints p canonically (keys sorted). Path.Target is not printed.
func String(p *gnmipb.Path) string {
	var b strings.Builder
	if o := p.GetOrigin(); o != "" {
		b.WriteString(o)
		b.WriteByte(':')
	}
	if len(p.GetElem()) == 0 {
		b.WriteByte('/')
		return b.String()
	}
	for _, e := range p.GetElem() {
		b.WriteByte('/')
		writeElem(&b, e)
	}
	return b.String()
}

// ElemString prints one element (name and keys).
func ElemString(e *gnmipb.PathElem) string {
	var b strings.Builder
	writeElem(&b, e)
	return b.String()
}

func writeElem(b *strings.Builder, e *gnmipb.PathElem) {
	escape(b, e.GetName(), "/[]\\")
	keys := make([]string, 0, len(e.GetKey()))
	for k := range e.GetKey() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte('[')
		escape(b, k, "=]\\[")
		b.WriteByte('=')
		escape(b, e.GetKey()[k], "]\\")
		b.WriteByte(']')
	}
}

func escape(b *strings.Builder, s, special string) {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// E builds an element: E("interface", "name", "eth0").
func E(name string, kv ...string) *gnmipb.PathElem {
	e := &gnmipb.PathElem{Name: name}
	if len(kv) > 0 {
		e.Key = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			e.Key[kv[i]] = kv[i+1]
		}
	}
	return e
}

// New builds a path from an origin and elements.
func New(origin string, elems ...*gnmipb.PathElem) *gnmipb.Path {
	return &gnmipb.Path{Origin: origin, Elem: elems}
}

// Names builds elements without keys from names.
func Names(names ...string) []*gnmipb.PathElem {
	out := make([]*gnmipb.PathElem, len(names))
	for i, n := range names {
		out[i] = &gnmipb.PathElem{Name: n}
	}
	return out
}

// Append returns a new path: p followed by elems. p is not modified.
func Append(p *gnmipb.Path, elems ...*gnmipb.PathElem) *gnmipb.Path {
	out := &gnmipb.Path{Origin: p.GetOrigin(), Target: p.GetTarget()}
	out.Elem = make([]*gnmipb.PathElem, 0, len(p.GetElem())+len(elems))
	out.Elem = append(out.Elem, p.GetElem()...)
	out.Elem = append(out.Elem, elems...)
	return out
}

// Join resolves path against prefix as a gNMI target does: the origin
// comes from either (not both), the elements are concatenated, and the
// target comes from the prefix.
func Join(prefix, path *gnmipb.Path) (*gnmipb.Path, error) {
	po, o := prefix.GetOrigin(), path.GetOrigin()
	if po != "" && o != "" && po != o {
		return nil, fmt.Errorf("%w: origin %q in prefix and %q in path", ErrSyntax, po, o)
	}
	if o == "" {
		o = po
	}
	out := &gnmipb.Path{Origin: o, Target: prefix.GetTarget()}
	out.Elem = make([]*gnmipb.PathElem, 0, len(prefix.GetElem())+len(path.GetElem()))
	out.Elem = append(out.Elem, prefix.GetElem()...)
	out.Elem = append(out.Elem, path.GetElem()...)
	//lint:ignore SA1019 read only to refuse the deprecated string form with a clear error
	if len(out.Elem) == 0 && len(path.GetElement()) > 0 {
		return nil, fmt.Errorf("%w: deprecated string elements are not supported", ErrSyntax)
	}
	return out, nil
}

// Equal reports whether two paths have the same origin and elements.
func Equal(a, b *gnmipb.Path) bool {
	if a.GetOrigin() != b.GetOrigin() || len(a.GetElem()) != len(b.GetElem()) {
		return false
	}
	for i, e := range a.GetElem() {
		f := b.GetElem()[i]
		if e.GetName() != f.GetName() || len(e.GetKey()) != len(f.GetKey()) {
			return false
		}
		for k, v := range e.GetKey() {
			if w, ok := f.GetKey()[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}
