package gnmiface

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
)

// leafSet is one leaf of a Set value.
type leafSet struct {
	path *gnmipb.Path
	val  *gnmipb.TypedValue
}

// flatten turns the value of a Set update at p into leaves: a scalar is
// one leaf; JSON and JSON_IETF objects descend (member names lose their
// module prefix in OpenConfig), arrays of objects become list entries keyed
// by the schema's list keys, arrays of scalars leaf-lists.
func flatten(p *gnmipb.Path, v *gnmipb.TypedValue, lkeys map[string][]string) ([]leafSet, error) {
	var raw []byte
	switch x := v.GetValue().(type) {
	case *gnmipb.TypedValue_JsonVal:
		raw = x.JsonVal
	case *gnmipb.TypedValue_JsonIetfVal:
		raw = x.JsonIetfVal
	case nil:
		return nil, fmt.Errorf("%s: empty value: %w", pathStr(p), ErrInvalid)
	default:
		return []leafSet{{path: p, val: v}}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: JSON value: %v: %w", pathStr(p), err, ErrInvalid)
	}
	f := &flattener{origin: p.Origin, lkeys: lkeys}
	elems := p.Elem
	if arr, ok := doc.([]any); ok && len(elems) > 0 && len(elems[len(elems)-1].Key) == 0 && isObjects(arr) {
		// A list given at its own path: /a/b/list = [{...}].
		last := elems[len(elems)-1]
		if err := f.list(elems[:len(elems)-1], last.Name, arr); err != nil {
			return nil, err
		}
		return f.out, nil
	}
	if err := f.walk(elems, doc); err != nil {
		return nil, err
	}
	return f.out, nil
}

type flattener struct {
	origin string
	lkeys  map[string][]string
	out    []leafSet
}

func isObjects(a []any) bool {
	for _, e := range a {
		if _, ok := e.(map[string]any); !ok {
			return false
		}
	}
	return len(a) > 0
}

func (f *flattener) name(s string) string {
	if f.origin == originOC {
		return localName(s)
	}
	return s
}

func (f *flattener) path(elems []*gnmipb.PathElem) *gnmipb.Path {
	return &gnmipb.Path{Origin: f.origin, Elem: slices.Clone(elems)}
}

func (f *flattener) walk(elems []*gnmipb.PathElem, x any) error {
	switch v := x.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			c := v[k]
			if arr, ok := c.([]any); ok && isObjects(arr) {
				if err := f.list(elems, f.name(k), arr); err != nil {
					return err
				}
				continue
			}
			if err := f.walk(append(slices.Clip(elems), &gnmipb.PathElem{Name: f.name(k)}), c); err != nil {
				return err
			}
		}
		return nil
	case []any:
		l := &gnmipb.ScalarArray{}
		for _, e := range v {
			tv, err := scalar(e)
			if err != nil {
				return fmt.Errorf("%s: %w", pathStr(f.path(elems)), err)
			}
			l.Element = append(l.Element, tv)
		}
		f.out = append(f.out, leafSet{path: f.path(elems), val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_LeaflistVal{LeaflistVal: l}}})
		return nil
	case nil:
		return nil // an empty leaf or container: nothing to set
	default:
		tv, err := scalar(v)
		if err != nil {
			return fmt.Errorf("%s: %w", pathStr(f.path(elems)), err)
		}
		f.out = append(f.out, leafSet{path: f.path(elems), val: tv})
		return nil
	}
}

func (f *flattener) list(parent []*gnmipb.PathElem, name string, entries []any) error {
	keys, ok := f.lkeys[name]
	if !ok {
		return fmt.Errorf("%s/%s: unknown list: %w", pathStr(f.path(parent)), name, errUnknownPath)
	}
	for _, e := range entries {
		obj := e.(map[string]any)
		el := &gnmipb.PathElem{Name: name, Key: map[string]string{}}
		for _, k := range keys {
			kv, ok := obj[k]
			if !ok {
				// OpenConfig lists repeat their keys under config.
				if cfg, ok2 := obj["config"].(map[string]any); ok2 {
					kv, ok = cfg[k]
				}
			}
			if !ok {
				return fmt.Errorf("%s/%s: entry without key %q: %w", pathStr(f.path(parent)), name, k, ErrInvalid)
			}
			tv, err := scalar(kv)
			if err != nil {
				return err
			}
			el.Key[k] = valString(tv)
		}
		if err := f.walk(append(slices.Clip(parent), el), obj); err != nil {
			return err
		}
	}
	return nil
}

func scalar(x any) (*gnmipb.TypedValue, error) {
	switch v := x.(type) {
	case string:
		return strVal(v), nil
	case bool:
		return boolVal(v), nil
	case json.Number:
		if u, err := strconv.ParseUint(v.String(), 10, 64); err == nil {
			return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_UintVal{UintVal: u}}, nil
		}
		if i, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_IntVal{IntVal: i}}, nil
		}
		fl, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", v, ErrInvalid)
		}
		return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_DoubleVal{DoubleVal: fl}}, nil
	}
	return nil, fmt.Errorf("value %v is not a scalar: %w", x, ErrInvalid)
}
