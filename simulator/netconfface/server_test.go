package netconfface

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
)

type testServer struct {
	srv  *Server
	dev  *MemDevice
	addr string
	host ssh.PublicKey
	key  ssh.Signer
}

func seedDevice() *MemDevice {
	return NewMemDevice(MemConfig{Name: "tor1", TunnelIPs: []string{"192.0.2.4"}, Ports: map[string]map[int]string{
		"p0": {0: "ls0"},
		"p1": {100: "ls1", 200: "ls2"},
		"p2": {},
	}, MaxRemoteMACs: 50})
}

func newSigner(t testing.TB) ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startServer(t testing.TB, candidate bool) *testServer {
	t.Helper()
	ts := &testServer{dev: seedDevice(), key: newSigner(t)}
	host := newSigner(t)
	ts.host = host.PublicKey()
	var err error
	ts.srv, err = New(Options{Device: ts.dev, Candidate: candidate, Users: map[string]string{"admin": "secret"},
		AuthorizedKeys: []ssh.PublicKey{ts.key.PublicKey()}, HostKey: host})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

func (ts *testServer) dial(t testing.TB, auth ssh.AuthMethod) *ncwire.Client {
	t.Helper()
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(ts.host), Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ncwire.DialSSH(ctx, ts.addr, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t testing.TB, c *ncwire.Client, op string) (*ncwire.Reply, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.Call(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	return r, r.Err()
}

func mustCall(t testing.TB, c *ncwire.Client, op string) *ncwire.Reply {
	t.Helper()
	r, err := call(t, c, op)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return r
}

func wantRPCError(t *testing.T, c *ncwire.Client, op, tag string) *ncwire.RPCError {
	t.Helper()
	_, err := call(t, c, op)
	var re *ncwire.RPCError
	if !errors.As(err, &re) || re.Tag != tag {
		t.Fatalf("%s: %v, want rpc-error %s", op, err, tag)
	}
	return re
}

const vsw = `<vtep xmlns="` + VtepgwNS + `" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">`

func editRunning(body string) string {
	return "<edit-config><target><running/></target><config>" + body + "</config></edit-config>"
}

func TestAuthAndHostKey(t *testing.T) {
	ts := startServer(t, false)
	ts.dial(t, ssh.Password("secret"))
	ts.dial(t, ssh.PublicKeys(ts.key))
	for name, auth := range map[string]ssh.AuthMethod{"wrong password": ssh.Password("nope"), "unknown key": ssh.PublicKeys(newSigner(t))} {
		cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(ts.host), Timeout: 5 * time.Second}
		if _, err := ncwire.DialSSH(context.Background(), ts.addr, cfg, 0); err == nil {
			t.Errorf("%s: logged in", name)
		}
	}
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password("secret")}, HostKeyCallback: ssh.FixedHostKey(newSigner(t).PublicKey()), Timeout: 5 * time.Second}
	if _, err := ncwire.DialSSH(context.Background(), ts.addr, cfg, 0); err == nil {
		t.Error("a client that expects another host key connected")
	}
}

func TestEditOperations(t *testing.T) {
	ts := startServer(t, false)
	c := ts.dial(t, ssh.Password("secret"))
	if !c.Has(CapWritableRunning) || c.Has(ncwire.CapCandidate) || !c.Has(VtepgwNS) {
		t.Fatalf("capabilities %v", c.Capabilities())
	}
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><vni>5000</vni><replication-mode>source-node</replication-mode>
		<remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>198.51.100.1</tunnel-ip></remote-mac>
		<remote-mac><mac>02:00:00:00:00:02</mac><tunnel-ip>198.51.100.2</tunnel-ip><ip>10.0.0.2</ip></remote-mac>
		<mcast-remote><mac>unknown-dst</mac><tunnel-ip>198.51.100.1</tunnel-ip><tunnel-ip>198.51.100.2</tunnel-ip></mcast-remote>
		</logical-switch></vtep>`))
	st, _ := ts.dev.Read(context.Background())
	l := st.LS["ls0"]
	if *l.VNI != 5000 || l.Mode != "source-node" || len(l.Remote) != 2 || l.Remote["02:00:00:00:00:02"].IP != "10.0.0.2" || len(l.Mcast[UnknownDst].TunnelIPs) != 2 {
		t.Fatalf("after merge: %+v", l)
	}
	c0 := ts.dev.Changes()
	// The same merge again writes nothing.
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><vni>5000</vni></logical-switch></vtep>`))
	if ts.dev.Changes() != c0 {
		t.Error("an edit that changes nothing counted as a change")
	}
	// create of an existing entry fails; of a new one works.
	wantRPCError(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><remote-mac nc:operation="create"><mac>02:00:00:00:00:01</mac><tunnel-ip>198.51.100.9</tunnel-ip></remote-mac></logical-switch></vtep>`), "data-exists")
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><remote-mac nc:operation="create"><mac>02:00:00:00:00:03</mac><tunnel-ip>198.51.100.3</tunnel-ip></remote-mac></logical-switch></vtep>`))
	// replace drops the leaves not given (the IP).
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><remote-mac nc:operation="replace"><mac>02:00:00:00:00:02</mac><tunnel-ip>198.51.100.7</tunnel-ip></remote-mac></logical-switch></vtep>`))
	// delete of a missing entry fails, remove does not.
	wantRPCError(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><remote-mac nc:operation="delete"><mac>02:00:00:00:00:99</mac></remote-mac></logical-switch></vtep>`), "data-missing")
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><remote-mac nc:operation="remove"><mac>02:00:00:00:00:99</mac></remote-mac>
		<remote-mac nc:operation="delete"><mac>02:00:00:00:00:01</mac></remote-mac><vni nc:operation="remove"/></logical-switch></vtep>`))
	st, _ = ts.dev.Read(context.Background())
	l = st.LS["ls0"]
	if l.VNI != nil || len(l.Remote) != 2 || l.Remote["02:00:00:00:00:02"] != (Ucast{TunnelIP: "198.51.100.7"}) || l.Remote["02:00:00:00:00:03"].TunnelIP != "198.51.100.3" {
		t.Fatalf("after create/replace/delete: %+v", l)
	}
	// default-operation none: no change unless an operation says so.
	mustCall(t, c, "<edit-config><target><running/></target><default-operation>none</default-operation><config>"+vsw+
		`<logical-switch><name>ls0</name><vni>7</vni><remote-mac nc:operation="remove"><mac>02:00:00:00:00:03</mac></remote-mac></logical-switch></vtep></config></edit-config>`)
	st, _ = ts.dev.Read(context.Background())
	if l := st.LS["ls0"]; l.VNI != nil || len(l.Remote) != 1 {
		t.Fatalf("after default-operation none: %+v", l)
	}
	// default-operation replace replaces the whole module's data.
	mustCall(t, c, "<edit-config><target><running/></target><default-operation>replace</default-operation><config>"+vsw+
		`<name>tor1</name><tunnel-ip>192.0.2.4</tunnel-ip><port><name>p0</name><binding><vlan>0</vlan><logical-switch>ls0</logical-switch></binding></port>
		<logical-switch><name>ls0</name><vni>1</vni></logical-switch></vtep></config></edit-config>`)
	st, _ = ts.dev.Read(context.Background())
	if len(st.LS) != 1 || len(st.Ports) != 1 || *st.LS["ls0"].VNI != 1 || len(st.LS["ls0"].Remote) != 0 {
		t.Fatalf("after replace: %+v", st)
	}
}

func TestValidation(t *testing.T) {
	ts := startServer(t, false)
	c := ts.dev.Changes()
	cl := ts.dial(t, ssh.Password("secret"))
	for _, tc := range []struct{ body, tag, path string }{
		{`<logical-switch><name>ls0</name><vni>16777216</vni></logical-switch>`, "invalid-value", "/vtep/logical-switch[name='ls0']/vni"},
		{`<logical-switch><name>ls0</name><vni>-1</vni></logical-switch>`, "invalid-value", ""},
		{`<logical-switch><name>ls0</name><remote-mac><mac>02:00:00:00:00:0g</mac><tunnel-ip>1.1.1.1</tunnel-ip></remote-mac></logical-switch>`, "invalid-value", "/vtep/logical-switch[name='ls0']/remote-mac[mac='02:00:00:00:00:0g']/mac"},
		{`<logical-switch><name>ls0</name><remote-mac><mac>02:00:00:00:00:01</mac></remote-mac></logical-switch>`, "missing-element", ""},
		{`<logical-switch><name>ls0</name><remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>10.1.300.1</tunnel-ip></remote-mac></logical-switch>`, "invalid-value", ""},
		{`<logical-switch><name>ls0</name><mcast-remote><mac>01:00:5e:00:00:01</mac></mcast-remote></logical-switch>`, "too-few-elements", ""},
		{`<logical-switch><name>ls0</name><replication-mode>flood</replication-mode></logical-switch>`, "invalid-value", ""},
		{`<logical-switch><name>ls0</name><frob>1</frob></logical-switch>`, "unknown-element", ""},
		{`<logical-switch><vni>1</vni></logical-switch>`, "missing-element", ""},
		{`<logical-switch><name>ls0</name><vni nc:operation="smash">1</vni></logical-switch>`, "bad-attribute", ""},
	} {
		re := wantRPCError(t, cl, editRunning(vsw+tc.body+"</vtep>"), tc.tag)
		if tc.path != "" && re.Path != tc.path {
			t.Errorf("%s: error-path %q, want %q", tc.body, re.Path, tc.path)
		}
	}
	// A limit of the device.
	var b strings.Builder
	for i := range 51 {
		fmt.Fprintf(&b, "<remote-mac><mac>02:00:00:00:01:%02x</mac><tunnel-ip>1.1.1.1</tunnel-ip></remote-mac>", i)
	}
	wantRPCError(t, cl, editRunning(vsw+"<logical-switch><name>ls0</name>"+b.String()+"</logical-switch></vtep>"), "resource-denied")
	wantRPCError(t, cl, editRunning(`<vtep xmlns="urn:other"/>`), "unknown-namespace")
	if ts.dev.Changes() != c {
		t.Error("refused edits changed the device")
	}
}

func TestFilters(t *testing.T) {
	ts := startServer(t, false)
	c := ts.dial(t, ssh.Password("secret"))
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls0</name><vni>5000</vni><remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>198.51.100.1</tunnel-ip></remote-mac></logical-switch>
		<logical-switch><name>ls1</name><vni>5001</vni></logical-switch></vtep>`))
	get := func(f string) string {
		r := mustCall(t, c, `<get-config><source><running/></source><filter type="subtree">`+f+`</filter></get-config>`)
		return string(r.Data)
	}
	all := get(`<vtep xmlns="` + VtepgwNS + `"/>`)
	if !strings.Contains(all, "<name>tor1</name>") || !strings.Contains(all, "<vni>5001</vni>") || strings.Contains(all, "<configuration") {
		t.Fatalf("module filter: %s", all)
	}
	one := get(`<vtep xmlns="` + VtepgwNS + `"><logical-switch><name>ls0</name></logical-switch></vtep>`)
	if !strings.Contains(one, "<vni>5000</vni>") || strings.Contains(one, "ls1") || strings.Contains(one, "tor1") {
		t.Fatalf("content-match filter: %s", one)
	}
	sel := get(`<vtep xmlns="` + VtepgwNS + `"><logical-switch><vni/></logical-switch></vtep>`)
	if !strings.Contains(sel, "<name>ls1</name><vni>5001</vni>") || strings.Contains(sel, "remote-mac") {
		t.Fatalf("selection filter: %s", sel)
	}
	if got := get(`<vtep xmlns="` + VtepgwNS + `"><logical-switch><name>nope</name></logical-switch></vtep>`); got != "" {
		t.Fatalf("no match: %q", got)
	}
	junos := get(`<configuration><vlans/></configuration>`)
	if !strings.Contains(junos, "<vlan><name>ls0</name><vxlan><vni>5000</vni></vxlan></vlan>") || strings.Contains(junos, "<interfaces") {
		t.Fatalf("junos filter: %s", junos)
	}
	r := mustCall(t, c, "<get/>")
	if !strings.Contains(string(r.Data), "<configuration>") || !strings.Contains(string(r.Data), "<vtep ") {
		t.Fatalf("get: %s", r.Data)
	}
	_, err := call(t, c, `<get-config><source><running/></source><filter type="xpath" select="/vtep"/></get-config>`)
	if err == nil {
		t.Fatal("xpath filter accepted")
	}
}

func TestCandidateAndLocks(t *testing.T) {
	ts := startServer(t, true)
	a := ts.dial(t, ssh.Password("secret"))
	b := ts.dial(t, ssh.PublicKeys(ts.key))
	if !a.Has(ncwire.CapCandidate) || a.Has(CapWritableRunning) {
		t.Fatalf("capabilities %v", a.Capabilities())
	}
	mustCall(t, a, "<lock><target><candidate/></target></lock>")
	wantRPCError(t, b, "<lock><target><candidate/></target></lock>", "lock-denied")
	wantRPCError(t, a, editRunning(vsw+`<logical-switch><name>ls0</name><vni>1</vni></logical-switch></vtep>`), "operation-not-supported")
	edit := "<edit-config><target><candidate/></target><config>" + vsw + `<logical-switch><name>ls0</name><vni>42</vni></logical-switch></vtep></config></edit-config>`
	wantRPCError(t, b, edit, "in-use")
	mustCall(t, a, edit)
	if st, _ := ts.dev.Read(context.Background()); st.LS["ls0"].VNI != nil {
		t.Fatal("candidate edit reached running before commit")
	}
	r := mustCall(t, a, `<get-config><source><candidate/></source><filter><vtep xmlns="`+VtepgwNS+`"><logical-switch><name>ls0</name></logical-switch></vtep></filter></get-config>`)
	if !strings.Contains(string(r.Data), "<vni>42</vni>") {
		t.Fatalf("candidate read: %s", r.Data)
	}
	// The device learns a MAC meanwhile: commit keeps it.
	if err := ts.dev.Learn("ls0", "AA:BB:CC:00:00:01", "p0"); err != nil {
		t.Fatal(err)
	}
	mustCall(t, a, "<commit/>")
	st, _ := ts.dev.Read(context.Background())
	if *st.LS["ls0"].VNI != 42 || len(st.LS["ls0"].Learned) != 1 {
		t.Fatalf("after commit: %+v", st.LS["ls0"])
	}
	mustCall(t, a, "<edit-config><target><candidate/></target><config>"+vsw+`<logical-switch><name>ls0</name><vni>43</vni></logical-switch></vtep></config></edit-config>`)
	mustCall(t, a, "<discard-changes/>")
	mustCall(t, a, "<commit/>")
	if st, _ := ts.dev.Read(context.Background()); *st.LS["ls0"].VNI != 42 {
		t.Fatal("discard-changes did not discard")
	}
	wantRPCError(t, b, "<unlock><target><candidate/></target></unlock>", "operation-failed")
	mustCall(t, a, "<unlock><target><candidate/></target></unlock>")
	// An uncommitted edit blocks locks; a session that ends holding the
	// lock loses its uncommitted edits.
	mustCall(t, b, "<edit-config><target><candidate/></target><config>"+vsw+`<logical-switch><name>ls0</name><vni>44</vni></logical-switch></vtep></config></edit-config>`)
	wantRPCError(t, a, "<lock><target><candidate/></target></lock>", "lock-denied")
	mustCall(t, b, "<discard-changes/>")
	c := ts.dial(t, ssh.Password("secret"))
	mustCall(t, c, "<lock><target><candidate/></target></lock>")
	mustCall(t, c, "<edit-config><target><candidate/></target><config>"+vsw+`<logical-switch><name>ls0</name><vni>45</vni></logical-switch></vtep></config></edit-config>`)
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := call(t, a, "<lock><target><candidate/></target></lock>"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock of a closed session was not released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r = mustCall(t, a, `<get-config><source><candidate/></source></get-config>`)
	if !strings.Contains(string(r.Data), "<vni>42</vni>") {
		t.Fatal("uncommitted edits of a closed session survived")
	}
}

func TestJunosView(t *testing.T) {
	ts := startServer(t, false)
	c := ts.dial(t, ssh.Password("secret"))
	r := mustCall(t, c, `<get-config><source><running/></source><filter><configuration/></filter></get-config>`)
	got := string(r.Data)
	for _, want := range []string{
		"<system><host-name>tor1</host-name></system>",
		"<interface><name>p0</name><unit><name>0</name><family><ethernet-switching><interface-mode>access</interface-mode><vlan><members>ls0</members></vlan></ethernet-switching></family></unit></interface>",
		"<interface><name>p1</name><unit><name>0</name><family><ethernet-switching><interface-mode>trunk</interface-mode><vlan><members>ls1</members><members>ls2</members></vlan>",
		"<interface><name>lo0</name><unit><name>0</name><family><inet><address><name>192.0.2.4/32</name></address></inet></family></unit></interface>",
		"<switch-options><vtep-source-interface>lo0.0</vtep-source-interface></switch-options>",
		"<vlan><name>ls1</name><vlan-id>100</vlan-id></vlan>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("junos config lacks %s:\n%s", want, got)
		}
	}
	cfg := func(body string) string { return editRunning("<configuration>" + body + "</configuration>") }
	// The flood list must also be in the global list.
	wantRPCError(t, c, cfg(`<vlans><vlan><name>ls1</name><vxlan><vni>10100</vni><ingress-node-replication/><static-remote-vtep-list>198.51.100.1</static-remote-vtep-list></vxlan></vlan></vlans>`), "invalid-value")
	wantRPCError(t, c, cfg(`<vlans><vlan><name>ls1</name><vxlan><ingress-node-replication/></vxlan></vlan></vlans>`), "missing-element")
	wantRPCError(t, c, cfg(`<vlans><vlan><name>ls1</name><vxlan><vni>16777215</vni></vxlan></vlan></vlans>`), "invalid-value")
	mustCall(t, c, cfg(`<switch-options><remote-vtep-list>198.51.100.1</remote-vtep-list><remote-vtep-list>198.51.100.2</remote-vtep-list></switch-options>
		<vlans><vlan><name>ls1</name><vxlan><vni>10100</vni><ingress-node-replication/><static-remote-vtep-list>198.51.100.1</static-remote-vtep-list><static-remote-vtep-list>198.51.100.2</static-remote-vtep-list></vxlan></vlan>
		<vlan><name>ls2</name><vxlan><vni>10200</vni></vxlan></vlan></vlans>`))
	wantRPCError(t, c, cfg(`<vlans><vlan><name>ls2</name><vxlan><vni>10100</vni></vxlan></vlan></vlans>`), "invalid-value")
	st, _ := ts.dev.Read(context.Background())
	l1 := st.LS["ls1"]
	if *l1.VNI != 10100 || l1.Mode != "source-node" || strings.Join(l1.Mcast[UnknownDst].TunnelIPs, ",") != "198.51.100.1,198.51.100.2" || *st.LS["ls2"].VNI != 10200 || st.LS["ls2"].Mode != "" {
		t.Fatalf("after junos edit: ls1 %+v ls2 %+v", l1, st.LS["ls2"])
	}
	if len(st.Ports["p1"]) != 2 || st.Ports["p0"][0] != "ls0" || st.TunnelIPs[0] != "192.0.2.4" {
		t.Fatalf("junos edit changed bindings: %+v %v", st.Ports, st.TunnelIPs)
	}
	// The same data through the project module.
	r = mustCall(t, c, `<get-config><source><running/></source><filter><vtep xmlns="`+VtepgwNS+`"><logical-switch><name>ls1</name></logical-switch></vtep></filter></get-config>`)
	if !strings.Contains(string(r.Data), "<mac>unknown-dst</mac><tunnel-ip>198.51.100.1</tunnel-ip><tunnel-ip>198.51.100.2</tunnel-ip>") {
		t.Fatalf("module view of the junos edit: %s", r.Data)
	}
	// Removing the vxlan stanza removes the VNI and the flood list.
	mustCall(t, c, cfg(`<vlans><vlan><name>ls1</name><vxlan nc:operation="delete" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"/></vlan></vlans>`))
	st, _ = ts.dev.Read(context.Background())
	if l := st.LS["ls1"]; l.VNI != nil || len(l.Mcast) != 0 || l.Mode != "" {
		t.Fatalf("after deleting vxlan: %+v", l)
	}
	// Interfaces: a new trunk member; a vlan in use cannot go.
	mustCall(t, c, cfg(`<interfaces><interface><name>p2</name><unit><name>0</name><family><ethernet-switching><interface-mode>trunk</interface-mode><vlan><members>100</members></vlan></ethernet-switching></family></unit></interface></interfaces>`))
	st, _ = ts.dev.Read(context.Background())
	if st.Ports["p2"][100] != "ls1" || st.Ports["p1"][200] != "ls2" {
		t.Fatalf("ports after interface edit: %+v", st.Ports)
	}
	wantRPCError(t, c, cfg(`<vlans><vlan nc:operation="delete" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><name>ls2</name></vlan></vlans>`), "invalid-value")

	// Learned MACs through the operational RPC; remote MACs show as
	// learned over VXLAN.
	if err := ts.dev.Learn("ls1", "aa:bb:cc:00:00:01", "p1"); err != nil {
		t.Fatal(err)
	}
	mustCall(t, c, editRunning(vsw+`<logical-switch><name>ls1</name><remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>198.51.100.1</tunnel-ip></remote-mac></logical-switch></vtep>`))
	r = mustCall(t, c, "<get-ethernet-switching-table-information/>")
	tbl := string(r.Data)
	for _, want := range []string{
		"<l2ng-l2ald-rtb-macdb", "<l2ng-l2-vlan-id>100</l2ng-l2-vlan-id>",
		"<l2ng-mac-entry><l2ng-l2-mac-vlan-name>ls1</l2ng-l2-mac-vlan-name><l2ng-l2-mac-address>aa:bb:cc:00:00:01</l2ng-l2-mac-address><l2ng-l2-mac-flags>D</l2ng-l2-mac-flags><l2ng-l2-mac-age>-</l2ng-l2-mac-age><l2ng-l2-mac-logical-interface>p1.0</l2ng-l2-mac-logical-interface>",
		"<l2ng-l2-mac-logical-interface>vtep.32769</l2ng-l2-mac-logical-interface>",
	} {
		if !strings.Contains(tbl, want) {
			t.Errorf("table lacks %s:\n%s", want, tbl)
		}
	}
	r = mustCall(t, c, "<get-ethernet-switching-table-information><vlan-name>ls0</vlan-name></get-ethernet-switching-table-information>")
	if strings.Contains(string(r.Data), "l2ng-mac-entry") {
		t.Errorf("vlan-name filter: %s", r.Data)
	}
}

func TestDisrupt(t *testing.T) {
	ts := startServer(t, false)
	c := ts.dial(t, ssh.Password("secret"))
	mustCall(t, c, "<get/>")
	ts.srv.Disrupt()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "<get/>"); err == nil {
		t.Fatal("session survived Disrupt")
	}
	d := ts.dial(t, ssh.Password("secret"))
	mustCall(t, d, "<get/>")
}
