package netconfface

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ncclientScript drives the face with ncclient (Debian python3-ncclient),
// a NETCONF client that shares nothing with this repository. It verifies
// the host key against a known_hosts file named by an ssh_config
// (UserKnownHostsFile), and prints what it saw as JSON.
const ncclientScript = `
import json, sys
from ncclient import manager
from ncclient.operations import RPCError
from ncclient.transport.errors import SSHUnknownHostError
from ncclient.xml_ import to_ele

host, port, sshcfg, password, ns = sys.argv[1:6]
out = {}
try:
    m = manager.connect(host=host, port=int(port), username="admin", password=password,
                        hostkey_verify=True, ssh_config=sshcfg, look_for_keys=False,
                        allow_agent=False, timeout=20)
except SSHUnknownHostError as e:
    print(json.dumps({"unknown_host": str(e)}))
    sys.exit(0)
with m:
    out["caps"] = list(m.server_capabilities)
    out["session_id"] = m.session_id
    target = "candidate" if ":candidate" in m.server_capabilities else "running"
    out["target"] = target
    with m.locked(target):
        m.edit_config(target=target, config='<config><vtep xmlns="%s"><logical-switch><name>ls0</name><vni>5000</vni>'
                      '<remote-mac><mac>02:00:00:00:00:01</mac><tunnel-ip>198.51.100.1</tunnel-ip></remote-mac>'
                      '</logical-switch></vtep></config>' % ns)
        if target == "candidate":
            m.commit()
    r = m.get_config(source="running", filter=("subtree",
        '<vtep xmlns="%s"><logical-switch><name>ls0</name></logical-switch></vtep>' % ns))
    out["filtered"] = r.data_xml
    try:
        m.edit_config(target=target, config='<config><vtep xmlns="%s"><logical-switch><name>ls0</name>'
                      '<vni>16777216</vni></logical-switch></vtep></config>' % ns)
        out["bad"] = "accepted"
    except RPCError as e:
        out["bad"] = {"tag": e.tag, "path": e.path, "message": e.message, "severity": e.severity}
    if target == "candidate":
        m.discard_changes()
    r = m.dispatch(to_ele("<get-ethernet-switching-table-information/>"))
    out["table"] = r.xml
    m.edit_config(target=target, config='<config><configuration><switch-options><remote-vtep-list>198.51.100.9</remote-vtep-list></switch-options>'
                  '<vlans><vlan><name>ls1</name><vxlan><vni>10100</vni><ingress-node-replication/>'
                  '<static-remote-vtep-list>198.51.100.9</static-remote-vtep-list></vxlan></vlan></vlans></configuration></config>')
    if target == "candidate":
        m.commit()
print(json.dumps(out))
`

func requireNcclient(t *testing.T) {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import ncclient").Run(); err != nil {
		if os.Getenv("VTEPGW_REQUIRE_REAL") == "1" {
			t.Fatalf("/usr/bin/python3 with ncclient: %v (make test installs python3-ncclient)", err)
		}
		t.Skipf("/usr/bin/python3 with ncclient: %v; apt-get install python3-ncclient", err)
	}
}

type ncclientOut struct {
	UnknownHost string   `json:"unknown_host"`
	Caps        []string `json:"caps"`
	SessionID   string   `json:"session_id"`
	Target      string   `json:"target"`
	Filtered    string   `json:"filtered"`
	Bad         struct {
		Tag, Path, Message, Severity string
	} `json:"bad"`
	Table string `json:"table"`
}

func runNcclient(t *testing.T, ts *testServer, knownHosts string) *ncclientOut {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "client.py")
	if err := os.WriteFile(script, []byte(ncclientScript), 0o644); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(knownHosts), 0o600); err != nil {
		t.Fatal(err)
	}
	sshcfg := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(sshcfg, []byte("Host *\n  UserKnownHostsFile "+kh+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(ts.addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", script, host, port, sshcfg, "secret", VtepgwNS)
	// No stray ~/.ssh/known_hosts or keys: HOME is empty.
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ncclient: %v\n%s", err, stderr.String())
	}
	var out ncclientOut
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("ncclient output %q: %v\nstderr: %s", stdout.String(), err, stderr.String())
	}
	return &out
}

// The face with a third-party client: python3-ncclient.
func TestNcclient(t *testing.T) {
	requireNcclient(t)
	for _, candidate := range []bool{false, true} {
		t.Run(map[bool]string{false: "running", true: "candidate"}[candidate], func(t *testing.T) {
			ts := startServer(t, candidate)
			out := runNcclient(t, ts, KnownHostsLine(ts.addr, ts.host))
			if out.UnknownHost != "" {
				t.Fatalf("host key rejected: %s", out.UnknownHost)
			}
			hasCap := func(c string) bool {
				for _, x := range out.Caps {
					if strings.HasPrefix(x, c) {
						return true
					}
				}
				return false
			}
			wantTarget := map[bool]string{false: "running", true: "candidate"}[candidate]
			if out.Target != wantTarget || !hasCap("urn:ietf:params:netconf:base:1.1") || !hasCap(VtepgwNS) || out.SessionID == "" {
				t.Errorf("hello: target %s, session %q, capabilities %v", out.Target, out.SessionID, out.Caps)
			}
			if !strings.Contains(out.Filtered, "<vni>5000</vni>") || !strings.Contains(out.Filtered, "<mac>02:00:00:00:00:01</mac>") ||
				strings.Contains(out.Filtered, "ls1") || strings.Contains(out.Filtered, "<name>tor1</name>") {
				t.Errorf("filtered get-config: %s", out.Filtered)
			}
			if out.Bad.Tag != "invalid-value" || out.Bad.Severity != "error" || !strings.Contains(out.Bad.Path, "vni") || !strings.Contains(out.Bad.Message, "16777215") {
				t.Errorf("bad VNI: %+v", out.Bad)
			}
			if !strings.Contains(out.Table, "l2ng-l2ald-rtb-macdb") {
				t.Errorf("junos RPC: %s", out.Table)
			}
			st, _ := ts.dev.Read(context.Background())
			if l := st.LS["ls0"]; l.VNI == nil || *l.VNI != 5000 || l.Remote["02:00:00:00:00:01"].TunnelIP != "198.51.100.1" {
				t.Errorf("device after ncclient's edit: %+v", l)
			}
			if l := st.LS["ls1"]; l.VNI == nil || *l.VNI != 10100 || l.Mode != "source-node" || len(l.Mcast[UnknownDst].TunnelIPs) != 1 {
				t.Errorf("device after ncclient's Junos edit: %+v", l)
			}
		})
	}
	t.Run("unknown host key", func(t *testing.T) {
		ts := startServer(t, false)
		out := runNcclient(t, ts, KnownHostsLine(ts.addr, newSigner(t).PublicKey()))
		if out.UnknownHost == "" {
			t.Fatalf("ncclient accepted a host key that is not in known_hosts: %+v", out)
		}
	})
}
