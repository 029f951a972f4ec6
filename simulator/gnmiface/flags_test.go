package gnmiface

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	gnmipb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestParseFlags(t *testing.T) {
	f, rest, err := ParseFlags([]string{"--db=unix:/x", "--gnmi-addr=127.0.0.1:0", "--gnmi-vlan=10:web:Ethernet1/1,Ethernet2=untagged", "sw9", "-v"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rest, []string{"--db=unix:/x", "sw9", "-v"}) || f.Switch != "sw9" || len(f.VLANs) != 1 ||
		f.VLANs[0].Tagged[0] != "Ethernet1/1" || f.VLANs[0].Untagged[0] != "Ethernet2" {
		t.Fatalf("flags %+v rest %v", f, rest)
	}
	if f, rest, err := ParseFlags([]string{"sw1"}); f != nil || err != nil || len(rest) != 1 {
		t.Fatalf("without --gnmi-addr: %v %v %v", f, rest, err)
	}
	for _, bad := range [][]string{
		{"--gnmi-tls-cert=x"},
		{"--gnmi-addr=127.0.0.1:0", "--gnmi-tls-cert=x"},
		{"--gnmi-addr=127.0.0.1:0", "--gnmi-username=u"},
		{"--gnmi-addr=127.0.0.1:0", "--gnmi-vlan=5000:x"},
		{"--gnmi-addr=127.0.0.1:0", "--gnmi-vlan=5:x:p=trunk"},
		{"--gnmi-addr=nope"},
		{"--gnmi-colour=red"},
	} {
		if _, _, err := ParseFlags(bad); err == nil {
			t.Errorf("ParseFlags(%v) accepted", bad)
		}
	}
}

func TestFlagsServe(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	f, _, err := ParseFlags([]string{"--gnmi-addr=" + addr, "--gnmi-switch=tor7"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx, slog.New(slog.DiscardHandler)) }()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl := gnmipb.NewGNMIClient(conn)
	var resp *gnmipb.GetResponse
	for i := 0; i < 100; i++ {
		c, cc := context.WithTimeout(ctx, time.Second)
		resp, err = cl.Get(c, &gnmipb.GetRequest{Path: []*gnmipb.Path{{Origin: "sonic-db", Elem: []*gnmipb.PathElem{{Name: "CONFIG_DB"}, {Name: "localhost"}, {Name: "VLAN"}}}}})
		cc()
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || !strings.Contains(resp.String(), "ls0") {
		t.Fatalf("Get: %v %v", resp, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
