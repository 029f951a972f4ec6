// Package facetest starts gNMI faces over in-memory devices for tests, with
// throw-away TLS certificates. Importing it sets glog's logtostderr (the
// gnmi module's subscribe server logs through glog, which otherwise writes
// files to /tmp).
package facetest

import (
	"context"
	"crypto/tls"
	"flag"
	"net"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/internal/testpki"
	"github.com/vtepgw/vtepgw/simulator/gnmiface"
)

func init() {
	// glog registers its flags on flag.CommandLine.
	if f := flag.Lookup("logtostderr"); f != nil {
		_ = f.Value.Set("true")
	}
}

// ServerName is the DNS name in the server certificates.
const ServerName = "gnmi.vtepsim.test"

// CA is a throw-away certificate authority whose PEM files live in Dir.
type CA struct{ *testpki.CA }

// Leaf is a certificate signed by a CA, with its files.
type Leaf = testpki.Leaf

// NewCA makes a CA and writes ca.pem into a fresh temporary directory.
func NewCA(t testing.TB) *CA {
	t.Helper()
	return &CA{testpki.NewCA(t, "", "vtepsim test CA")}
}

// Issue signs a certificate for 127.0.0.1 and ServerName, usable by
// servers and clients; name prefixes its files.
func (ca *CA) Issue(t testing.TB, name string) *Leaf {
	t.Helper()
	return ca.CA.Issue(t, name, []string{ServerName}, []net.IP{net.IPv4(127, 0, 0, 1)})
}

// ServerTLS returns a server configuration presenting a fresh certificate.
func (ca *CA) ServerTLS(t testing.TB) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "server").TLS}, MinVersion: tls.VersionTLS12}
}

// Switch seeds the device most tests use: sw1, tunnel IP 192.0.2.1,
// VLAN 100 "ls0" (Ethernet0 tagged, Ethernet4 untagged) and VLAN 200 "ls1"
// (Ethernet0 tagged).
func Switch() gnmiface.MemConfig {
	return gnmiface.MemConfig{
		Name: "sw1", TunnelIP: "192.0.2.1",
		VLANs: []gnmiface.VLANConfig{
			{ID: 100, Name: "ls0", Tagged: []string{"Ethernet0"}, Untagged: []string{"Ethernet4"}},
			{ID: 200, Name: "ls1", Tagged: []string{"Ethernet0"}},
		},
	}
}

// Face is a running face.
type Face struct {
	Addr   string
	Server *gnmiface.Server
	cancel context.CancelFunc
	done   chan struct{}
}

// Start serves opts on addr ("127.0.0.1:0" picks a port) until Stop or the
// end of the test.
func Start(t testing.TB, addr string, opts gnmiface.Options) *Face {
	t.Helper()
	srv, err := gnmiface.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var lis net.Listener
	for i := 0; ; i++ {
		// A just-closed port may take a moment to be free again.
		lis, err = net.Listen("tcp", addr)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Face{Addr: lis.Addr().String(), Server: srv, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if err := srv.Serve(ctx, lis); err != nil {
			t.Errorf("face: %v", err)
		}
		srv.Close()
	}()
	t.Cleanup(f.Stop)
	return f
}

// Stop closes every connection at once and waits for the face to end.
func (f *Face) Stop() {
	f.cancel()
	<-f.done
}
