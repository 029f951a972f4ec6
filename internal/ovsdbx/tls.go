package ovsdbx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// OVSTLS returns cfg adapted to how OVS checks an SSL peer: the peer's
// certificate must chain to the CA (cfg.RootCAs), and that is all. OVS
// never checks a host name (ovs-pki's certificates carry none, and an
// ssl:IP:PORT remote names no host), so Go's default verification would
// refuse every server an OVS deployment already has. The chain check is
// done by VerifyPeerCertificate instead.
func OVSTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil || cfg.InsecureSkipVerify || cfg.RootCAs == nil {
		return cfg
	}
	c := cfg.Clone()
	c.InsecureSkipVerify = true //nolint:gosec // the chain is verified by VerifyPeerCertificate
	c.VerifyPeerCertificate = verifyChain(cfg.RootCAs)
	return c
}

// verifyChain accepts a peer whose certificate chains to roots.
func verifyChain(roots *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("ssl: peer sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, der := range raw {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return fmt.Errorf("ssl: peer certificate %d: %w", i, err)
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := certs[0].Verify(opts); err != nil {
			return fmt.Errorf("ssl: peer certificate %q does not chain to the CA: %w", certs[0].Subject.CommonName, err)
		}
		return nil
	}
}
