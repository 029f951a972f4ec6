package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// PKI is a throwaway certificate authority in a test directory, shaped
// like the one ovs-pki makes: certificates name their holder in the
// common name only, with no host name or IP address.
type PKI struct {
	Dir    string
	CACert string // the CA certificate, PEM
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	serial int64
}

// KeyPair is a private key and certificate file, PEM.
type KeyPair struct {
	Key, Cert string
}

// NewPKI makes a CA named name in dir (a new directory if empty).
func NewPKI(t testing.TB, dir, name string) *PKI {
	t.Helper()
	if dir == "" {
		dir = NewDir(t)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"vtepgw testbed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{Dir: dir, CACert: filepath.Join(dir, name+"-cacert.pem"), key: key, cert: cert, serial: 1}
	writePEM(t, p.CACert, "CERTIFICATE", der)
	return p
}

// Issue makes a key pair for cn, signed by the CA, usable by clients and
// servers alike (as ovs-pki's are).
func (p *PKI) Issue(t testing.TB, cn string) KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"vtepgw testbed"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	kp := KeyPair{Key: filepath.Join(p.Dir, cn+"-privkey.pem"), Cert: filepath.Join(p.Dir, cn+"-cert.pem")}
	writePEM(t, kp.Key, "EC PRIVATE KEY", kder)
	writePEM(t, kp.Cert, "CERTIFICATE", der)
	return kp
}

// SSLArgs are the ovsdb-server arguments that serve pssl:PORT:127.0.0.1
// with kp, trusting clients signed by this CA.
func (p *PKI) SSLArgs(kp KeyPair, port int) []string {
	return []string{
		"--remote=pssl:" + strconv.Itoa(port) + ":127.0.0.1",
		"--private-key=" + kp.Key, "--certificate=" + kp.Cert, "--ca-cert=" + p.CACert,
	}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
