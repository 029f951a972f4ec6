package netconfface

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
)

// node is one XML element of a datastore or of a request.
type node struct {
	name string
	ns   string
	// op is the edit-config operation attribute ("" when absent).
	op   string
	text string
	kids []*node
	// attrs are the other attributes by local name (requests only).
	attrs map[string]string
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) childText(name string) string {
	if k := n.child(name); k != nil {
		return k.text
	}
	return ""
}

func (n *node) children(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

func (n *node) add(k *node) *node {
	n.kids = append(n.kids, k)
	return k
}

func (n *node) leaf(name, text string) *node { return n.add(&node{name: name, text: text}) }

func (n *node) copyTree() *node {
	c := &node{name: n.name, ns: n.ns, text: n.text, kids: make([]*node, len(n.kids))}
	for i, k := range n.kids {
		c.kids[i] = k.copyTree()
	}
	return c
}

// parseXML reads the elements inside r's current element (or the whole
// document) into nodes. operation attributes in the NETCONF base namespace
// are kept as op.
func parseXML(data []byte) ([]*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var top []*node
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, ns: t.Name.Space}
			for _, a := range t.Attr {
				switch {
				case a.Name.Local == "operation" && (a.Name.Space == ncwire.NS || a.Name.Space == ""):
					n.op = a.Value
				case a.Name.Space != "xmlns" && a.Name.Local != "xmlns":
					if n.attrs == nil {
						n.attrs = map[string]string{}
					}
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				stack[len(stack)-1].add(n)
			} else {
				top = append(top, n)
			}
			stack = append(stack, n)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			n := stack[len(stack)-1]
			if len(n.kids) == 0 {
				n.text = strings.TrimSpace(text.String())
			}
			text.Reset()
			stack = stack[:len(stack)-1]
		}
	}
	return top, nil
}

// render writes n as XML; xmlns is written on n itself when n.ns is set.
func render(b *bytes.Buffer, n *node) {
	b.WriteByte('<')
	b.WriteString(n.name)
	if n.ns != "" {
		b.WriteString(` xmlns="`)
		_ = xml.EscapeText(b, []byte(n.ns))
		b.WriteByte('"')
	}
	if len(n.kids) == 0 && n.text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	if len(n.kids) == 0 {
		_ = xml.EscapeText(b, []byte(n.text))
	}
	for _, k := range n.kids {
		render(b, k)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

// Schema nodes.

type kind uint8

const (
	container kind = iota
	list
	leaf
	leafList
	empty // a leaf of type empty (Junos "ingress-node-replication")
)

type schema struct {
	kind kind
	// keys are a list's key leaves.
	keys []string
	// kids in render order.
	kids []*schemaKid
	// check validates a leaf or leaf-list value.
	check func(string) error
	// mandatory leaves of a list entry or container.
	mandatory []string
	// minElements of a leaf-list.
	minElements int
	// userOrdered leaf-lists keep insertion order; others are sorted.
	userOrdered bool
}

type schemaKid struct {
	name string
	s    *schema
}

func (s *schema) kid(name string) *schema {
	for _, k := range s.kids {
		if k.name == name {
			return k.s
		}
	}
	return nil
}

func ctr(kids ...*schemaKid) *schema { return &schema{kind: container, kids: kids} }

func lst(keys []string, kids ...*schemaKid) *schema {
	return &schema{kind: list, keys: keys, kids: kids}
}

func lf(check func(string) error) *schema { return &schema{kind: leaf, check: check} }

func ll(check func(string) error) *schema { return &schema{kind: leafList, check: check} }

func kid(name string, s *schema) *schemaKid { return &schemaKid{name: name, s: s} }

func rpcErr(tag, path, format string, args ...any) *ncwire.RPCError {
	return &ncwire.RPCError{Type: "application", Tag: tag, Severity: "error", Path: path, Message: fmt.Sprintf(format, args...)}
}

// editor applies one edit-config tree to a datastore tree.
type editor struct {
	// changed is set when anything was written.
	changed bool
}

// sameEntry reports whether data node d is the instance that edit node e
// addresses.
func sameEntry(s *schema, d, e *node) bool {
	if d.name != e.name {
		return false
	}
	switch s.kind {
	case leafList:
		return d.text == e.text
	case list:
		for _, k := range s.keys {
			if d.childText(k) != e.childText(k) {
				return false
			}
		}
	}
	return true
}

// apply merges edit's children into data's (both are instances of s),
// with the operation op inherited from above.
func (ed *editor) apply(data, edit *node, s *schema, op, path string) error {
	// Index list entries and leaf-list values for large edits.
	type ikey struct{ name, key string }
	var idx map[ikey]int
	keyOf := func(ks *schema, n *node) string {
		switch ks.kind {
		case leafList:
			return n.text
		case list:
			parts := make([]string, len(ks.keys))
			for i, k := range ks.keys {
				parts[i] = n.childText(k)
			}
			return strings.Join(parts, "\x00")
		}
		return ""
	}
	find := func(ks *schema, e *node) int {
		if ks.kind == list || ks.kind == leafList {
			if idx == nil {
				idx = map[ikey]int{}
				for i, d := range data.kids {
					if d == nil {
						continue
					}
					if dks := s.kid(d.name); dks != nil && (dks.kind == list || dks.kind == leafList) {
						idx[ikey{d.name, keyOf(dks, d)}] = i
					}
				}
			}
			if i, ok := idx[ikey{e.name, keyOf(ks, e)}]; ok && i < len(data.kids) && data.kids[i] != nil && sameEntry(ks, data.kids[i], e) {
				return i
			}
			return -1
		}
		for i, d := range data.kids {
			if d != nil && sameEntry(ks, d, e) {
				return i
			}
		}
		return -1
	}
	removed := false
	for _, e := range edit.kids {
		ks := s.kid(e.name)
		epath := path + "/" + e.name
		if ks == nil {
			return rpcErr("unknown-element", epath, "unknown element %s", e.name)
		}
		if ks.kind == list {
			for _, k := range ks.keys {
				if e.child(k) == nil {
					return rpcErr("missing-element", epath, "list entry without its key %s", k)
				}
			}
			epath += keyPred(ks, e)
		} else if ks.kind == leafList {
			epath += "[.='" + e.text + "']"
		}
		eop := op
		if e.op != "" {
			switch e.op {
			case "merge", "replace", "create", "delete", "remove":
			default:
				return rpcErr("bad-attribute", epath, "unknown operation %q", e.op)
			}
			eop = e.op
		}
		i := find(ks, e)
		switch eop {
		case "create", "replace":
			if eop == "create" && i >= 0 {
				return rpcErr("data-exists", epath, "%s already exists", e.name)
			}
			nn := strip(e)
			if i >= 0 {
				if treeEqual(data.kids[i], nn) {
					continue
				}
				data.kids[i] = nn
			} else {
				data.kids = append(data.kids, nn)
				if idx != nil && (ks.kind == list || ks.kind == leafList) {
					idx[ikey{e.name, keyOf(ks, e)}] = len(data.kids) - 1
				}
			}
			ed.changed = true
		case "delete", "remove":
			if i < 0 {
				if eop == "delete" {
					return rpcErr("data-missing", epath, "%s does not exist", e.name)
				}
				continue
			}
			if ks.kind == list {
				if isKey(s, e.name) {
					return rpcErr("operation-not-supported", epath, "a list key cannot be deleted")
				}
			}
			data.kids[i] = nil
			removed = true
			ed.changed = true
		case "merge", "none":
			switch ks.kind {
			case leaf, empty, leafList:
				if eop == "none" {
					continue
				}
				if i >= 0 {
					if data.kids[i].text != e.text {
						data.kids[i].text = e.text
						ed.changed = true
					}
					continue
				}
				data.kids = append(data.kids, &node{name: e.name, text: e.text})
				if idx != nil && ks.kind == leafList {
					idx[ikey{e.name, e.text}] = len(data.kids) - 1
				}
				ed.changed = true
			case container, list:
				var d *node
				created := false
				if i >= 0 {
					d = data.kids[i]
				} else {
					d = &node{name: e.name}
					if ks.kind == list {
						for _, k := range ks.keys {
							d.leaf(k, e.childText(k))
						}
					}
					created = true
				}
				if err := ed.apply(d, e, ks, eop, epath); err != nil {
					return err
				}
				if created && (eop == "merge" || len(d.kids) > len(ks.keys)) {
					data.kids = append(data.kids, d)
					if idx != nil && ks.kind == list {
						idx[ikey{e.name, keyOf(ks, e)}] = len(data.kids) - 1
					}
					ed.changed = true
				}
			}
		default:
			return rpcErr("bad-attribute", epath, "unknown operation %q", eop)
		}
	}
	if removed {
		data.kids = slices.DeleteFunc(data.kids, func(n *node) bool { return n == nil })
	}
	return nil
}

func isKey(s *schema, name string) bool { return slices.Contains(s.keys, name) }

func keyPred(s *schema, n *node) string {
	var b strings.Builder
	for _, k := range s.keys {
		fmt.Fprintf(&b, "[%s='%s']", k, n.childText(k))
	}
	return b.String()
}

// strip copies an edit subtree without operation attributes.
func strip(e *node) *node {
	c := &node{name: e.name, text: e.text, kids: make([]*node, 0, len(e.kids))}
	for _, k := range e.kids {
		c.kids = append(c.kids, strip(k))
	}
	return c
}

func treeEqual(a, b *node) bool {
	if a.name != b.name || a.text != b.text || len(a.kids) != len(b.kids) {
		return false
	}
	for i := range a.kids {
		if !treeEqual(a.kids[i], b.kids[i]) {
			return false
		}
	}
	return true
}

// validate checks a datastore tree against s: known elements, values,
// mandatory leaves, min-elements and unique keys.
func validate(n *node, s *schema, path string) error {
	if s.kind == leaf || s.kind == leafList {
		if s.check != nil {
			if err := s.check(n.text); err != nil {
				return rpcErr("invalid-value", path, "%s: %v", n.name, err)
			}
		}
		return nil
	}
	if s.kind == empty {
		if n.text != "" || len(n.kids) > 0 {
			return rpcErr("invalid-value", path, "%s takes no value", n.name)
		}
		return nil
	}
	for _, m := range s.mandatory {
		if n.child(m) == nil {
			return rpcErr("missing-element", path+"/"+m, "mandatory %s missing", m)
		}
	}
	seen := map[string]bool{}
	counts := map[string]int{}
	for _, k := range n.kids {
		ks := s.kid(k.name)
		kpath := path + "/" + k.name
		if ks == nil {
			return rpcErr("unknown-element", kpath, "unknown element %s", k.name)
		}
		counts[k.name]++
		switch ks.kind {
		case list:
			kpath += keyPred(ks, k)
			id := k.name + keyPred(ks, k)
			if seen[id] {
				return rpcErr("invalid-value", kpath, "duplicate list entry")
			}
			seen[id] = true
		case leafList:
			id := k.name + "=" + k.text
			if seen[id] {
				return rpcErr("invalid-value", kpath, "duplicate value %q", k.text)
			}
			seen[id] = true
		case leaf, container, empty:
			if counts[k.name] > 1 {
				return rpcErr("invalid-value", kpath, "%s given twice", k.name)
			}
		}
		if err := validate(k, ks, kpath); err != nil {
			return err
		}
	}
	for _, sk := range s.kids {
		if sk.s.kind == leafList && sk.s.minElements > 0 && counts[sk.name] < sk.s.minElements {
			return rpcErr("too-few-elements", path+"/"+sk.name, "%s needs at least %d values", sk.name, sk.s.minElements)
		}
	}
	return nil
}

// filter applies an RFC 6241 §6 subtree filter node f to data node d (same
// name); it returns the selected copy or nil.
func filter(d, f *node, s *schema) *node {
	if len(f.kids) == 0 && f.text == "" {
		return d.copyTree() // selection node
	}
	if len(f.kids) == 0 {
		if d.text == f.text {
			return d.copyTree() // content match on a leaf
		}
		return nil
	}
	var matches, others []*node
	for _, fk := range f.kids {
		if len(fk.kids) == 0 && fk.text != "" {
			matches = append(matches, fk)
		} else {
			others = append(others, fk)
		}
	}
	for _, m := range matches {
		ok := false
		for _, dk := range d.children(m.name) {
			if dk.text == m.text {
				ok = true
			}
		}
		if !ok {
			return nil
		}
	}
	out := &node{name: d.name, ns: d.ns}
	if len(others) == 0 {
		out.kids = d.copyTree().kids
		return out
	}
	want := map[string]bool{}
	for _, m := range matches {
		want[m.name] = true
	}
	if s != nil {
		for _, k := range s.keys {
			want[k] = true
		}
	}
	found := false
	for _, dk := range d.kids {
		if want[dk.name] {
			out.kids = append(out.kids, dk.copyTree())
			continue
		}
		for _, o := range others {
			if o.name != dk.name {
				continue
			}
			var ks *schema
			if s != nil {
				ks = s.kid(dk.name)
			}
			if r := filter(dk, o, ks); r != nil {
				out.kids = append(out.kids, r)
				found = true
				break
			}
		}
	}
	if !found && len(matches) == 0 {
		return nil
	}
	return out
}
