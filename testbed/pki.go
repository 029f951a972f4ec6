package testbed

import (
	"strconv"
	"testing"

	"github.com/vtepgw/vtepgw/internal/testpki"
)

// PKI is a throw-away certificate authority in a test directory whose
// certificates are shaped like ovs-pki's: they name their holder in the
// common name only, with no host name or IP address.
type PKI struct {
	ca     *testpki.CA
	CACert string // the CA certificate, PEM
}

// KeyPair is a private key and certificate file, PEM.
type KeyPair struct {
	Key, Cert string
}

// NewPKI makes a CA named name in dir (a new directory if empty).
func NewPKI(t testing.TB, dir, name string) *PKI {
	t.Helper()
	ca := testpki.NewCA(t, dir, name)
	return &PKI{ca: ca, CACert: ca.CAFile}
}

// Issue makes a key pair for cn, signed by the CA, usable by clients and
// servers alike (as ovs-pki's are).
func (p *PKI) Issue(t testing.TB, cn string) KeyPair {
	t.Helper()
	l := p.ca.Issue(t, cn, nil, nil)
	return KeyPair{Key: l.KeyFile, Cert: l.CertFile}
}

// SSLArgs are the ovsdb-server arguments that serve pssl:PORT:127.0.0.1
// with kp, trusting clients signed by this CA.
func (p *PKI) SSLArgs(kp KeyPair, port int) []string {
	return []string{
		"--remote=pssl:" + strconv.Itoa(port) + ":127.0.0.1",
		"--private-key=" + kp.Key, "--certificate=" + kp.Cert, "--ca-cert=" + p.CACert,
	}
}
