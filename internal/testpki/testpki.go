// Package testpki makes throw-away certificate authorities and certificates
// for tests: the gNMI faces' TLS, and the ssl: remotes of the real
// ovsdb-server.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a throw-away certificate authority whose PEM files live in Dir.
type CA struct {
	Cert   *x509.Certificate
	Key    *ecdsa.PrivateKey
	Pool   *x509.CertPool
	Dir    string
	CAFile string // PEM of Cert
}

// Leaf is a certificate signed by a CA, with its files.
type Leaf struct {
	TLS      tls.Certificate
	CertFile string
	KeyFile  string
}

// NewCA makes a CA named name and writes its certificate to dir/ca.pem (dir
// "" is a fresh temporary directory).
func NewCA(t testing.TB, dir, name string) *CA {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	key, der := sign(t, tmpl, nil, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Cert: cert, Key: key, Pool: x509.NewCertPool(), Dir: dir, CAFile: filepath.Join(dir, "ca.pem")}
	ca.Pool.AddCert(cert)
	writePEM(t, ca.CAFile, "CERTIFICATE", der)
	return ca
}

// Issue signs a certificate for common name name, usable by servers and
// clients, naming dnsNames and ips (none: a certificate like ovs-pki's,
// which names its holder in the common name only). Its files are
// Dir/name.pem and Dir/name-key.pem.
func (ca *CA) Issue(t testing.TB, name string, dnsNames []string, ips []net.IP) *Leaf {
	t.Helper()
	key, der := sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    dnsNames,
		IPAddresses: ips,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, ca.Cert, ca.Key)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := &Leaf{CertFile: filepath.Join(ca.Dir, name+".pem"), KeyFile: filepath.Join(ca.Dir, name+"-key.pem")}
	writePEM(t, l.CertFile, "CERTIFICATE", der)
	writePEM(t, l.KeyFile, "EC PRIVATE KEY", kder)
	l.TLS, err = tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// sign makes a key and a certificate from tmpl (a serial number and a
// validity from an hour ago to a day ahead are filled in), signed by
// parent's key, or self-signed when parent is nil.
func sign(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial(t)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
