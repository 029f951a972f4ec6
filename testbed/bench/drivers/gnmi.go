package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/vtepgw/vtepgw/simulator/gnmiface"
	"github.com/vtepgw/vtepgw/simulator/gnmiface/facetest"
)

const gnmiVLAN = 100

// startGNMI serves an in-memory device (VLAN 100 named ls0) through the
// simulator's gNMI face over TLS on 127.0.0.1, as testbed/drivers4 does;
// t's cleanups stop it.
func startGNMI(t *benchTB, adapter string) (*target, error) {
	dev, err := gnmiface.NewMemDevice(gnmiface.MemConfig{Name: "sw1", TunnelIP: "127.0.2.1",
		VLANs: []gnmiface.VLANConfig{{ID: gnmiVLAN, Name: "ls0", Untagged: []string{"Ethernet4"}}}})
	if err != nil {
		return nil, err
	}
	ca := facetest.NewCA(t)
	const user, pass = "vtepgw", "bench secret"
	f := facetest.Start(t, "127.0.0.1:0", gnmiface.Options{Device: dev, TLS: ca.ServerTLS(t), Username: user, Password: pass})
	pw := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pw, []byte(pass+"\n"), 0o600); err != nil {
		return nil, err
	}
	settings := map[string]any{"adapter": adapter, "username": user, "password-file": pw,
		"tls-ca": ca.CAFile, "tls-server-name": facetest.ServerName, "switch-name": "sw1"}
	if adapter == "eos" {
		// EOS reports only the source interface.
		settings["tunnel-ip"] = "127.0.2.1"
	}
	return &target{
		driver:   "gnmi",
		addr:     f.Addr,
		settings: settings,
		count: func(context.Context) (int, error) {
			n := 0
			dev.Read(func(st *gnmiface.State) {
				if v := st.VLANs[gnmiVLAN]; v != nil {
					n = len(v.Remote)
				}
			})
			return n, nil
		},
		stop: func() {},
	}, nil
}
