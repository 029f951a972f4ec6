package ncwire

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func startSSHServer(t *testing.T, h Handler) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(m ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
		if m.User() == "admin" && string(pw) == "secret" {
			return nil, nil
		}
		return nil, errors.New("denied")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &SSHServer{Config: cfg, Capabilities: []string{CapCandidate}, Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	})
	return ln.Addr().String(), signer.PublicKey()
}

func TestSSHRoundTrip(t *testing.T) {
	big := strings.Repeat("<entry>x</entry>", 200000) // 3.2 MB reply: many chunks
	addr, hostKey := startSSHServer(t, func(_ context.Context, r *RPC) ([]byte, error) {
		switch r.Op {
		case "get-config":
			return []byte(big), nil
		case "lock":
			return nil, nil
		}
		return nil, &RPCError{Type: "protocol", Tag: "operation-not-supported", Severity: "error", Message: r.Op}
	})
	cfg := &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password("secret")}, HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialSSH(ctx, addr, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Chunked() || !c.Has(CapCandidate) || c.SessionID() == "" {
		t.Fatalf("negotiation: chunked=%v candidate=%v session=%q", c.Chunked(), c.Has(CapCandidate), c.SessionID())
	}
	r, err := c.Call(ctx, "<lock><target><candidate/></target></lock>")
	if err != nil || !r.OK || r.Err() != nil {
		t.Fatalf("lock: %+v %v", r, err)
	}
	r, err = c.Call(ctx, "<get-config><source><running/></source></get-config>")
	if err != nil || len(r.Data) != len(big) {
		t.Fatalf("get-config: %d bytes, %v", len(r.Data), err)
	}
	r, err = c.Call(ctx, "<frobnicate/>")
	if err != nil {
		t.Fatal(err)
	}
	var re *RPCError
	if err := r.Err(); !errors.As(err, &re) || re.Tag != "operation-not-supported" {
		t.Fatalf("rpc-error: %v", r.Err())
	}
}

func TestSSHRejectsBadHostKeyAndPassword(t *testing.T) {
	addr, hostKey := startSSHServer(t, func(context.Context, *RPC) ([]byte, error) { return nil, nil })
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, cfg := range map[string]*ssh.ClientConfig{
		"wrong host key": {User: "admin", Auth: []ssh.AuthMethod{ssh.Password("secret")}, HostKeyCallback: ssh.FixedHostKey(otherSigner.PublicKey())},
		"wrong password": {User: "admin", Auth: []ssh.AuthMethod{ssh.Password("nope")}, HostKeyCallback: ssh.FixedHostKey(hostKey)},
	} {
		if c, err := DialSSH(ctx, addr, cfg, 0); err == nil {
			c.Close()
			t.Errorf("%s: connected", name)
		}
	}
}

func TestParseReply(t *testing.T) {
	r, err := ParseReply([]byte(`<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="7"><rpc-error><error-type>application</error-type><error-tag>invalid-value</error-tag><error-severity>error</error-severity><error-message>value not in range</error-message></rpc-error></rpc-reply>`))
	if err != nil || r.MessageID != "7" || r.OK || r.Err() == nil || !strings.Contains(r.Err().Error(), "value not in range") {
		t.Fatalf("%+v %v", r, err)
	}
	r, _ = ParseReply([]byte(`<rpc-reply message-id="8"><ok/></rpc-reply>`))
	if !r.OK || r.Err() != nil {
		t.Fatalf("ok reply: %+v", r)
	}
}

func FuzzParseRPC(f *testing.F) {
	f.Add([]byte(`<rpc message-id="1"><get/></rpc>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseRPC(in)
		if err == nil && r.Op == "" {
			t.Fatal("rpc without op accepted")
		}
	})
}
