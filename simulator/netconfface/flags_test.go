package netconfface

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
)

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		err     string
		rest    []string
		nilFlag bool
		check   func(*Flags) bool
	}{
		{args: []string{"--db=unix:x", "sw"}, rest: []string{"--db=unix:x", "sw"}, nilFlag: true},
		{args: []string{"--netconf-addr=127.0.0.1:8300", "--netconf-password=pw", "--db=unix:x", "br0"}, rest: []string{"--db=unix:x", "br0"},
			check: func(f *Flags) bool {
				return f.Switch == "br0" && f.User == "admin" && f.Password == "pw" && !f.Candidate &&
					reflect.DeepEqual(f.Bindings, map[string]map[int]string{"p0": {0: "ls0"}, "p1": {100: "ls1"}})
			}},
		{args: []string{"--netconf-addr=127.0.0.1:0", "--netconf-authorized-keys=k", "--netconf-candidate", "--netconf-models=junos",
			"--netconf-binding=xe-0/0/1:100:web", "--netconf-binding=xe-0/0/1:0:db", "--netconf-switch=qfx1", "--netconf-tunnel-ip=10.0.0.1"},
			check: func(f *Flags) bool {
				return f.Candidate && f.NoVtepgw && !f.NoJunos && f.Switch == "qfx1" && f.TunnelIP == "10.0.0.1" &&
					reflect.DeepEqual(f.Bindings, map[string]map[int]string{"xe-0/0/1": {100: "web", 0: "db"}})
			}},
		{args: []string{"--netconf-password=pw"}, err: "need --netconf-addr"},
		{args: []string{"--netconf-addr=127.0.0.1:1"}, err: "needs --netconf-password-file"},
		{args: []string{"--netconf-addr=nope", "--netconf-password=pw"}, err: "--netconf-addr"},
		{args: []string{"--netconf-addr=127.0.0.1:1", "--netconf-authorized-keys=k", "--netconf-user=u"}, err: "--netconf-user needs"},
		{args: []string{"--netconf-addr=127.0.0.1:1", "--netconf-password=pw", "--netconf-models=eos"}, err: "unknown model"},
		{args: []string{"--netconf-addr=127.0.0.1:1", "--netconf-password=pw", "--netconf-binding=p0:5000:ls"}, err: "VLAN"},
		{args: []string{"--netconf-addr=127.0.0.1:1", "--netconf-password=pw", "--netconf-frob=1"}, err: "unknown option"},
	} {
		f, rest, err := ParseFlags(tc.args)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err %v, want %q", tc.args, err, tc.err)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.nilFlag != (f == nil):
			t.Errorf("%v: flags %+v", tc.args, f)
		case tc.check != nil && !tc.check(f):
			t.Errorf("%v: flags %+v", tc.args, f)
		case tc.rest != nil && !reflect.DeepEqual(rest, tc.rest):
			t.Errorf("%v: rest %v", tc.args, rest)
		}
	}
}

// ServeDevice with a password file, authorized keys and a host key made
// on first use and kept.
func TestFlagsServe(t *testing.T) {
	dir := t.TempDir()
	client := newSigner(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "pw"), []byte("pw\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client.PublicKey()), 0o600))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	addr := ln.Addr().String()
	ln.Close()
	hostKey := filepath.Join(dir, "host_key")
	f, _, err := ParseFlags([]string{"--netconf-addr=" + addr, "--netconf-user=ops", "--netconf-password-file=" + filepath.Join(dir, "pw"),
		"--netconf-authorized-keys=" + filepath.Join(dir, "authorized_keys"), "--netconf-host-key=" + hostKey, "--netconf-candidate"})
	must(err)
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.ServeDevice(ctx, nil, f.MemDevice()) }()
		var host ssh.PublicKey
		deadline := time.Now().Add(5 * time.Second)
		for {
			if b, err := os.ReadFile(hostKey + ".pub"); err == nil {
				host, _, _, _, err = ssh.ParseAuthorizedKey(b)
				must(err)
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no host key written")
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, auth := range []ssh.AuthMethod{ssh.Password("pw"), ssh.PublicKeys(client)} {
			var c *ncwire.Client
			for {
				c, err = ncwire.DialSSH(context.Background(), addr, &ssh.ClientConfig{User: "ops", Auth: []ssh.AuthMethod{auth},
					HostKeyCallback: ssh.FixedHostKey(host), Timeout: 5 * time.Second}, 0)
				if err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			must(err)
			if !c.Has(ncwire.CapCandidate) {
				t.Errorf("round %d: no :candidate", round)
			}
			r := mustCall(t, c, `<get-config><source><running/></source><filter><vtep xmlns="`+VtepgwNS+`"><name/></vtep></filter></get-config>`)
			if !strings.Contains(string(r.Data), "<name>sw1</name>") {
				t.Errorf("round %d: %s", round, r.Data)
			}
			c.Close()
		}
		cancel()
		must(<-done)
	}
}
