package gnmi

import (
	"strings"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
)

// ptmpl is a path template down to a row: key values "$x" are variables.
// Element names compare without YANG module prefixes.
type ptmpl struct {
	origin string
	elems  []*gnmipb.PathElem
}

func mustTmpl(s string) ptmpl {
	p := gpath.MustParse(s)
	return ptmpl{origin: p.Origin, elems: p.Elem}
}

func local(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// match compares p with the template. It returns the variables, the
// field (the elements past the row, joined with '/'), and whether p
// reaches the row (false: p stops above it, a table-wide delete).
func (t ptmpl) match(p *gnmipb.Path) (vars map[string]string, field string, row, ok bool) {
	if p.GetOrigin() != t.origin {
		return nil, "", false, false
	}
	vars = map[string]string{}
	for i, te := range t.elems {
		if i >= len(p.Elem) {
			return vars, "", false, i > 0
		}
		e := p.Elem[i]
		if local(e.Name) != local(te.Name) {
			return nil, "", false, false
		}
		for k, tv := range te.Key {
			v, has := e.Key[k]
			switch {
			case strings.HasPrefix(tv, "$"):
				if !has {
					// A path without the key covers every entry.
					return vars, "", false, true
				}
				vars[tv[1:]] = v
			case has && v != tv:
				return nil, "", false, false
			}
		}
	}
	var parts []string
	for _, e := range p.Elem[len(t.elems):] {
		parts = append(parts, local(e.Name))
	}
	return vars, strings.Join(parts, "/"), true, true
}

// path builds the row path for vars.
func (t ptmpl) path(vars map[string]string) *gnmipb.Path {
	out := &gnmipb.Path{Origin: t.origin, Elem: make([]*gnmipb.PathElem, len(t.elems))}
	for i, te := range t.elems {
		e := &gnmipb.PathElem{Name: te.Name}
		if len(te.Key) > 0 {
			e.Key = make(map[string]string, len(te.Key))
			for k, v := range te.Key {
				if strings.HasPrefix(v, "$") {
					v = vars[v[1:]]
				}
				e.Key[k] = v
			}
		}
		out.Elem[i] = e
	}
	return out
}
