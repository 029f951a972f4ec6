package gnmiface_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/vtepgw/vtepgw/drivers/gnmi/gpath"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
)

type creds struct{ user, pass string }

func (c creds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"username": c.user, "password": c.pass}, nil
}
func (creds) RequireTransportSecurity() bool { return true }

type env struct {
	ca   *facetest.CA
	dev  *gnmiface.MemDevice
	face *facetest.Face
	cl   gnmipb.GNMIClient
}

func start(t *testing.T, cfg gnmiface.MemConfig) *env {
	t.Helper()
	dev, err := gnmiface.NewMemDevice(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ca := facetest.NewCA(t)
	face := facetest.Start(t, "127.0.0.1:0", gnmiface.Options{Device: dev, TLS: ca.ServerTLS(t), Username: "admin", Password: "s3cret"})
	e := &env{ca: ca, dev: dev, face: face}
	e.cl = e.dial(t, &tls.Config{RootCAs: ca.Pool, ServerName: facetest.ServerName}, creds{"admin", "s3cret"})
	return e
}

func (e *env) dial(t *testing.T, tc *tls.Config, c creds) gnmipb.GNMIClient {
	t.Helper()
	conn, err := grpc.NewClient(e.face.Addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)), grpc.WithPerRPCCredentials(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return gnmipb.NewGNMIClient(conn)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func p(s string) *gnmipb.Path { return gpath.MustParse(s) }

func jsonVal(t *testing.T, v any) *gnmipb.TypedValue {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_JsonIetfVal{JsonIetfVal: b}}
}

func str(s string) *gnmipb.TypedValue {
	return &gnmipb.TypedValue{Value: &gnmipb.TypedValue_StringVal{StringVal: s}}
}

// get returns path string → value text for everything under path.
func (e *env) get(t *testing.T, path string) map[string]string {
	t.Helper()
	resp, err := e.cl.Get(ctx(t), &gnmipb.GetRequest{Path: []*gnmipb.Path{p(path)}})
	if err != nil {
		t.Fatalf("Get %s: %v", path, err)
	}
	out := map[string]string{}
	for _, n := range resp.Notification {
		for _, u := range n.Update {
			full := gpath.Append(&gnmipb.Path{Origin: n.GetPrefix().GetOrigin()}, u.Path.Elem...)
			out[gpath.String(full)] = text(u.Val)
		}
	}
	return out
}

func text(v *gnmipb.TypedValue) string {
	switch x := v.GetValue().(type) {
	case *gnmipb.TypedValue_StringVal:
		return x.StringVal
	case *gnmipb.TypedValue_UintVal:
		return strings.TrimSpace(strings.Repeat(" ", 0) + itoa(x.UintVal))
	case *gnmipb.TypedValue_JsonIetfVal:
		return string(x.JsonIetfVal)
	case *gnmipb.TypedValue_BoolVal:
		if x.BoolVal {
			return "true"
		}
		return "false"
	case *gnmipb.TypedValue_LeaflistVal:
		var s []string
		for _, e := range x.LeaflistVal.Element {
			s = append(s, text(e))
		}
		return strings.Join(s, ",")
	}
	return v.String()
}

func itoa(u uint64) string {
	if u == 0 {
		return "0"
	}
	var b []byte
	for u > 0 {
		b = append([]byte{byte('0' + u%10)}, b...)
		u /= 10
	}
	return string(b)
}

func code(err error) codes.Code { return status.Code(err) }

func TestSONiCSetGet(t *testing.T) {
	e := start(t, facetest.Switch())
	_, err := e.cl.Set(ctx(t), &gnmipb.SetRequest{
		Prefix: &gnmipb.Path{Origin: "sonic-db"},
		Update: []*gnmipb.Update{
			{Path: p("/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|map_10100_Vlan100"), Val: jsonVal(t, map[string]string{"vni": "10100", "vlan": "Vlan100"})},
			{Path: p("/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE/Vlan100:192.0.2.2"), Val: jsonVal(t, map[string]string{"vni": "10100"})},
			{Path: p("/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE/Vlan100:192.0.2.3"), Val: jsonVal(t, map[string]string{"vni": "10100"})},
			{Path: p("/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/remote_vtep"), Val: str("192.0.2.2")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := e.dev.Snapshot()
	v := st.VLANs[100]
	if v.VNI != 10100 || len(v.Flood) != 2 || v.Remote["00:11:22:33:44:55"] != "192.0.2.2" {
		t.Fatalf("device VLAN 100 = %+v", v)
	}
	got := e.get(t, "sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE")
	want := map[string]string{
		"sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/remote_vtep": "192.0.2.2",
		"sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/type":        "static",
		"sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/vni":         "10100",
	}
	if !mapEq(got, want) {
		t.Fatalf("Get = %v\nwant %v", got, want)
	}
	// The same state, through OpenConfig and EOS paths.
	oc := e.get(t, "/network-instances/network-instance[name=default]/connection-points")
	if oc["/network-instances/network-instance[name=default]/connection-points/connection-point[connection-point-id=vxlan]/endpoints/endpoint[endpoint-id=vtep1]/vxlan/local-endpoint-vnis/local-endpoint-vni[vni=10100]/config/bridge-domain"] != "100" {
		t.Fatalf("OpenConfig view: %v", oc)
	}
	if got := e.get(t, "/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis/vlan-to-vni[vlan=100]/vni"); len(got) != 1 {
		t.Fatalf("EOS view: %v", got)
	}

	// Replace at the table level leaves exactly one flood member.
	_, err = e.cl.Set(ctx(t), &gnmipb.SetRequest{Replace: []*gnmipb.Update{{
		Path: p("sonic-db:/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE"),
		Val:  jsonVal(t, map[string]any{"Vlan100:192.0.2.9": map[string]string{"vni": "10100"}}),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if fl := e.dev.Snapshot().VLANs[100].FloodList(); len(fl) != 1 || fl[0] != "192.0.2.9" {
		t.Fatalf("flood after replace = %v", fl)
	}
	// Delete the map row: the VNI goes.
	if _, err := e.cl.Set(ctx(t), &gnmipb.SetRequest{Delete: []*gnmipb.Path{p("sonic-db:/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|map_10100_Vlan100")}}); err != nil {
		t.Fatal(err)
	}
	if vni := e.dev.Snapshot().VLANs[100].VNI; vni != 0 {
		t.Fatalf("VNI after delete = %d", vni)
	}
}

func mapEq(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSetErrorsAreAtomic(t *testing.T) {
	e := start(t, facetest.Switch())
	tests := []struct {
		name string
		req  *gnmipb.SetRequest
		code codes.Code
	}{
		{"bad MAC", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE/Vlan100:192.0.2.2/vni"), Val: str("10100")},
			{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:zz:11:22:33:44:55/remote_vtep"), Val: str("192.0.2.2")},
		}}, codes.InvalidArgument},
		{"unknown VLAN", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE/Vlan100:192.0.2.2/vni"), Val: str("10100")},
			{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_REMOTE_VNI_TABLE/Vlan999:192.0.2.2/vni"), Val: str("10100")},
		}}, codes.NotFound},
		{"read-only", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: p("sonic-db:/STATE_DB/localhost/FDB_TABLE/Vlan100:00:11:22:33:44:55/port"), Val: str("Ethernet0")},
		}}, codes.InvalidArgument},
		{"unknown path", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: p("/system/config/hostname"), Val: str("x")},
		}}, codes.InvalidArgument},
		{"missing remote_vtep", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:00:11:22:33:44:55/type"), Val: str("static")},
		}}, codes.InvalidArgument},
		{"duplicate VNI", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: p("sonic-db:/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|a"), Val: jsonVal(t, map[string]string{"vni": "5", "vlan": "Vlan100"})},
			{Path: p("sonic-db:/CONFIG_DB/localhost/VXLAN_TUNNEL_MAP/vtep1|b"), Val: jsonVal(t, map[string]string{"vni": "5", "vlan": "Vlan200"})},
		}}, codes.InvalidArgument},
		{"wrong target", &gnmipb.SetRequest{Prefix: &gnmipb.Path{Target: "other"}}, codes.NotFound},
		{"bad cli", &gnmipb.SetRequest{Update: []*gnmipb.Update{
			{Path: &gnmipb.Path{Origin: "cli"}, Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_AsciiVal{AsciiVal: "reload now"}}},
		}}, codes.InvalidArgument},
		{"unknown origin", &gnmipb.SetRequest{Update: []*gnmipb.Update{{Path: &gnmipb.Path{Origin: "nokia"}, Val: str("x")}}}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.cl.Set(ctx(t), tc.req)
			if code(err) != tc.code {
				t.Fatalf("Set = %v, want code %v", err, tc.code)
			}
			if st := e.dev.Snapshot(); len(st.VLANs[100].Flood) != 0 || st.VLANs[100].VNI != 0 {
				t.Fatalf("a failed Set changed the device: %+v", st.VLANs[100])
			}
		})
	}
}

func TestLimit(t *testing.T) {
	cfg := facetest.Switch()
	cfg.MaxRemoteMACs = 2
	e := start(t, cfg)
	var ups []*gnmipb.Update
	for _, m := range []string{"00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"} {
		ups = append(ups, &gnmipb.Update{Path: p("sonic-db:/APPL_DB/localhost/VXLAN_FDB_TABLE/Vlan100:" + m + "/remote_vtep"), Val: str("192.0.2.2")})
	}
	if _, err := e.cl.Set(ctx(t), &gnmipb.SetRequest{Update: ups}); code(err) != codes.ResourceExhausted {
		t.Fatalf("Set = %v, want ResourceExhausted", err)
	}
	if _, err := e.cl.Set(ctx(t), &gnmipb.SetRequest{Update: ups[:2]}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenConfigAndEOS(t *testing.T) {
	e := start(t, facetest.Switch())
	ep := "/network-instances/network-instance[name=default]/connection-points/connection-point[connection-point-id=vxlan]/endpoints/endpoint[endpoint-id=vtep1]/vxlan/local-endpoint-vnis"
	_, err := e.cl.Set(ctx(t), &gnmipb.SetRequest{Update: []*gnmipb.Update{{
		Path: p(ep),
		Val:  jsonVal(t, map[string]any{"openconfig-network-instance:local-endpoint-vni": []any{map[string]any{"vni": 7, "config": map[string]any{"vni": 7, "bridge-domain": 200, "vni-type": "L2"}}}}),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if vni := e.dev.Snapshot().VLANs[200].VNI; vni != 7 {
		t.Fatalf("VLAN 200 VNI = %d", vni)
	}
	// Moving VNI 7 to VLAN 100 through the OpenConfig key unmaps VLAN 200.
	if _, err := e.cl.Set(ctx(t), &gnmipb.SetRequest{Update: []*gnmipb.Update{{Path: p(ep + "/local-endpoint-vni[vni=7]/config/bridge-domain"), Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_UintVal{UintVal: 100}}}}}); err != nil {
		t.Fatal(err)
	}
	if st := e.dev.Snapshot(); st.VLANs[100].VNI != 7 || st.VLANs[200].VNI != 0 {
		t.Fatalf("after move: 100→%d 200→%d", st.VLANs[100].VNI, st.VLANs[200].VNI)
	}

	// EOS: VNI through arista-vxlan (list JSON as networking-ccloud sends
	// it), flood list and static MAC through the cli origin.
	_, err = e.cl.Set(ctx(t), &gnmipb.SetRequest{
		Replace: []*gnmipb.Update{{
			Path: p("/interfaces/interface[name=Vxlan1]/arista-exp-eos-vxlan:arista-vxlan/config/vlan-to-vnis"),
			Val:  jsonVal(t, map[string]any{"vlan-to-vni": []any{map[string]any{"vlan": 200, "vni": 20200}}}),
		}},
		Update: []*gnmipb.Update{{Path: &gnmipb.Path{Origin: "cli"}, Val: &gnmipb.TypedValue{Value: &gnmipb.TypedValue_AsciiVal{AsciiVal: "interface Vxlan1\n   vxlan vlan 200 flood vtep 192.0.2.7 192.0.2.8\nmac address-table static 0011.2233.4455 vlan 200 interface Vxlan1 vtep 192.0.2.7\n"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := e.dev.Snapshot()
	if st.VLANs[200].VNI != 20200 || st.VLANs[100].VNI != 0 || len(st.VLANs[200].Flood) != 2 || st.VLANs[200].Remote["00:11:22:33:44:55"] != "192.0.2.7" {
		t.Fatalf("after EOS set: 100=%+v 200=%+v", st.VLANs[100], st.VLANs[200])
	}
	rc := e.get(t, "cli:/show running-config")
	var js struct {
		Cmds map[string]json.RawMessage `json:"cmds"`
	}
	if err := json.Unmarshal([]byte(rc["cli:/show running-config"]), &js); err != nil {
		t.Fatalf("running-config %v: %v", rc, err)
	}
	if _, ok := js.Cmds["mac address-table static 0011.2233.4455 vlan 200 interface Vxlan1 vtep 192.0.2.7"]; !ok {
		t.Fatalf("running-config: %s", rc["cli:/show running-config"])
	}
	if !strings.Contains(string(js.Cmds["interface Vxlan1"]), "vxlan vlan 200 flood vtep 192.0.2.7 192.0.2.8") {
		t.Fatalf("running-config: %s", rc["cli:/show running-config"])
	}
	// Bindings through OpenConfig switched-vlan.
	sv := e.get(t, "/interfaces/interface[name=Ethernet0]/ethernet/switched-vlan")
	if sv["/interfaces/interface[name=Ethernet0]/ethernet/switched-vlan/config/trunk-vlans"] != "100,200" {
		t.Fatalf("switched-vlan: %v", sv)
	}
}

func TestAuthAndTLS(t *testing.T) {
	e := start(t, facetest.Switch())
	wrong := e.dial(t, &tls.Config{RootCAs: e.ca.Pool, ServerName: facetest.ServerName}, creds{"admin", "nope"})
	if _, err := wrong.Capabilities(ctx(t), &gnmipb.CapabilityRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("wrong password: %v", err)
	}
	other := facetest.NewCA(t)
	untrusted := e.dial(t, &tls.Config{RootCAs: other.Pool, ServerName: facetest.ServerName}, creds{"admin", "s3cret"})
	if _, err := untrusted.Capabilities(ctx(t), &gnmipb.CapabilityRequest{}); code(err) != codes.Unavailable {
		t.Fatalf("untrusted server certificate: %v", err)
	}
	resp, err := e.cl.Capabilities(ctx(t), &gnmipb.CapabilityRequest{})
	if err != nil || resp.GNMIVersion == "" || len(resp.SupportedModels) == 0 {
		t.Fatalf("Capabilities = %v, %v", resp, err)
	}
}

// recvUntil reads responses until done returns true.
func recvUntil(t *testing.T, s gnmipb.GNMI_SubscribeClient, done func(*gnmipb.SubscribeResponse) bool) {
	t.Helper()
	for {
		r, err := s.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if done(r) {
			return
		}
	}
}

func TestSubscribe(t *testing.T) {
	e := start(t, facetest.Switch())
	if _, err := e.dev.Learn(100, "02:00:00:00:00:01", "Ethernet4"); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := e.cl.Subscribe(c)
	if err != nil {
		t.Fatal(err)
	}
	mt := "/network-instances/network-instance[name=default]/fdb/mac-table/entries"
	err = sub.Send(&gnmipb.SubscribeRequest{Request: &gnmipb.SubscribeRequest_Subscribe{Subscribe: &gnmipb.SubscriptionList{
		Mode: gnmipb.SubscriptionList_STREAM,
		Subscription: []*gnmipb.Subscription{
			{Path: p(mt), Mode: gnmipb.SubscriptionMode_ON_CHANGE},
			{Path: p("sonic-db:/STATE_DB/localhost/FDB_TABLE"), Mode: gnmipb.SubscriptionMode_ON_CHANGE},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	initial := 0
	recvUntil(t, sub, func(r *gnmipb.SubscribeResponse) bool {
		initial += len(r.GetUpdate().GetUpdate())
		return r.GetSyncResponse()
	})
	if initial != 6 { // 4 OpenConfig leaves + 2 SONiC fields
		t.Fatalf("initial sync: %d leaves", initial)
	}
	if _, err := e.dev.Learn(100, "02:00:00:00:00:02", "Ethernet0"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	recvUntil(t, sub, func(r *gnmipb.SubscribeResponse) bool {
		for _, u := range r.GetUpdate().GetUpdate() {
			seen[gpath.String(gpath.Append(&gnmipb.Path{Origin: r.GetUpdate().GetPrefix().GetOrigin()}, u.Path.Elem...))] = text(u.Val)
		}
		return len(seen) == 6
	})
	if seen["sonic-db:/STATE_DB/localhost/FDB_TABLE/Vlan100:02:00:00:00:00:02/port"] != "Ethernet0" ||
		seen[mt+"/entry[mac-address=02:00:00:00:00:02][vlan=100]/state/entry-type"] != "DYNAMIC" {
		t.Fatalf("streamed: %v", seen)
	}
	if _, err := e.dev.Forget(100, "02:00:00:00:00:02"); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	recvUntil(t, sub, func(r *gnmipb.SubscribeResponse) bool {
		deleted += len(r.GetUpdate().GetDelete())
		return deleted == 6
	})
}

func TestOnceAndPoll(t *testing.T) {
	e := start(t, facetest.Switch())
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, mode := range []gnmipb.SubscriptionList_Mode{gnmipb.SubscriptionList_ONCE, gnmipb.SubscriptionList_POLL} {
		sub, err := e.cl.Subscribe(c)
		if err != nil {
			t.Fatal(err)
		}
		req := &gnmipb.SubscribeRequest{Request: &gnmipb.SubscribeRequest_Subscribe{Subscribe: &gnmipb.SubscriptionList{
			Prefix: &gnmipb.Path{Target: "sw1", Origin: "sonic-db"}, Mode: mode,
			Subscription: []*gnmipb.Subscription{{Path: p("/CONFIG_DB/localhost/VLAN")}},
		}}}
		if err := sub.Send(req); err != nil {
			t.Fatal(err)
		}
		n := 0
		recvUntil(t, sub, func(r *gnmipb.SubscribeResponse) bool {
			n += len(r.GetUpdate().GetUpdate())
			return r.GetSyncResponse()
		})
		if n != 4 {
			t.Fatalf("%v: %d leaves", mode, n)
		}
		if mode == gnmipb.SubscriptionList_ONCE {
			if _, err := sub.Recv(); !errors.Is(err, io.EOF) {
				t.Fatalf("ONCE did not end: %v", err)
			}
			continue
		}
		if err := sub.Send(&gnmipb.SubscribeRequest{Request: &gnmipb.SubscribeRequest_Poll{Poll: &gnmipb.Poll{}}}); err != nil {
			t.Fatal(err)
		}
		n = 0
		recvUntil(t, sub, func(r *gnmipb.SubscribeResponse) bool {
			n += len(r.GetUpdate().GetUpdate())
			return r.GetSyncResponse()
		})
		if n != 4 {
			t.Fatalf("poll: %d leaves", n)
		}
		sub.CloseSend()
	}
}
