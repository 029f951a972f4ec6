package netconf

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/drivers/netconf/ncwire"
	"github.com/vtepgw/vtepgw/vtep"
)

// netconfdHarness runs the conformance suite against Debian's netconfd:
// one netconfd per target, reset to the seed before every case by a
// second ("device") session that also plays the switch's data plane
// (learned MACs) and an operator (deleting entries, killing sessions).
type netconfdHarness struct {
	target string
	n      *netconfd
	dev    *ncwire.Client
	log    *slog.Logger // the driver's, into driver.log next to netconfd's
}

type netconfdDevice struct {
	h *netconfdHarness
	t testing.TB
}

func (h *netconfdHarness) New(t testing.TB) driverstest.Device {
	d := &netconfdDevice{h: h, t: t}
	// Fresh: the seed and nothing else.
	d.edit(t, "<default-operation>replace</default-operation>", seed)
	return d
}

func (d *netconfdDevice) edit(t testing.TB, extra, body string) {
	t.Helper()
	if err := d.editErr(context.Background(), extra, body); err != nil {
		t.Fatal(err)
	}
}

func (d *netconfdDevice) editErr(ctx context.Context, extra, body string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	ops := []string{"<edit-config><target><" + d.h.target + "/></target>" + extra + "<config>" + body + "</config></edit-config>"}
	if d.h.target == "candidate" {
		ops = append(ops, "<commit/>")
	}
	for _, op := range ops {
		r, err := d.h.dev.Call(ctx, op)
		if err != nil {
			return err
		}
		if err := r.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (d *netconfdDevice) Connector() drivers.Connector {
	c, err := drivers.NewConnector(Name, drivers.Params{Name: "tor1", Endpoints: []string{d.h.n.addr}, Logger: d.h.log, Settings: map[string]any{
		"username": "root", "private-key": d.h.n.keyFile, "known-hosts": d.h.n.knownHosts,
		"post-hello-delay": "200ms", "poll-interval": "100ms", "timeout": "20s",
	}})
	if err != nil {
		d.t.Fatalf("NewConnector: %v", err)
	}
	return c
}

func (d *netconfdDevice) LogicalSwitches() []string { return []string{"ls0", "ls1"} }

// The module's data, parsed here rather than by the adapter under test.
type obsVTEP struct {
	Name      string   `xml:"name"`
	TunnelIPs []string `xml:"tunnel-ip"`
	Ports     []struct {
		Name     string `xml:"name"`
		Bindings []struct {
			VLAN int    `xml:"vlan"`
			LS   string `xml:"logical-switch"`
		} `xml:"binding"`
	} `xml:"port"`
	LS []struct {
		Name   string `xml:"name"`
		VNI    string `xml:"vni"`
		Remote []struct {
			MAC      string `xml:"mac"`
			TunnelIP string `xml:"tunnel-ip"`
			IP       string `xml:"ip"`
		} `xml:"remote-mac"`
		Mcast []struct {
			MAC       string   `xml:"mac"`
			IP        string   `xml:"ip"`
			TunnelIPs []string `xml:"tunnel-ip"`
		} `xml:"mcast-remote"`
		Learned []struct {
			MAC string `xml:"mac"`
		} `xml:"learned-mac"`
	} `xml:"logical-switch"`
}

func (d *netconfdDevice) Observe(ctx context.Context) (*driverstest.State, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r, err := d.h.dev.Call(ctx, `<get-config><source><running/></source><filter type="subtree"><vtep xmlns="`+vswNS+`"/></filter></get-config>`)
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	data := string(r.Data)
	var v obsVTEP
	if strings.TrimSpace(data) != "" {
		if err := xml.Unmarshal([]byte(data), &v); err != nil {
			return nil, err
		}
	}
	st := &driverstest.State{VNIs: map[string]*int{}, UcastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		McastRemote: map[vtep.MACKey]vtep.McastMAC{}, UcastLocal: map[vtep.MACKey]vtep.UcastMAC{}}
	ps := vtep.PhysicalSwitch{Name: v.Name, TunnelIPs: v.TunnelIPs}
	for _, p := range v.Ports {
		port := vtep.Port{Name: p.Name, Bindings: map[int]string{}}
		for _, b := range p.Bindings {
			port.Bindings[b.VLAN] = b.LS
		}
		ps.Ports = append(ps.Ports, port)
	}
	st.Switches = []vtep.PhysicalSwitch{ps}
	for _, l := range v.LS {
		st.VNIs[l.Name] = nil
		if l.VNI != "" {
			x, err := strconv.Atoi(l.VNI)
			if err != nil {
				st.Problems = append(st.Problems, fmt.Sprintf("ls %s: vni %q", l.Name, l.VNI))
			}
			st.VNIs[l.Name] = &x
		}
		for _, m := range l.Remote {
			k := vtep.MACKey{LS: l.Name, MAC: strings.ToLower(m.MAC)}
			st.UcastRemote[k] = vtep.UcastMAC{MACKey: k, Locator: m.TunnelIP, IP: m.IP}
		}
		for _, m := range l.Mcast {
			k := vtep.MACKey{LS: l.Name, MAC: strings.ToLower(m.MAC)}
			st.McastRemote[k] = vtep.McastMAC{MACKey: k, IP: m.IP, Locators: vtep.NormalizeLocators(slices.Clone(m.TunnelIPs))}
		}
		for _, m := range l.Learned {
			k := vtep.MACKey{LS: l.Name, MAC: strings.ToLower(m.MAC)}
			st.UcastLocal[k] = vtep.UcastMAC{MACKey: k}
		}
	}
	return st, nil
}

func (d *netconfdDevice) lsEdit(ls, inner string) string {
	return `<vtep xmlns="` + vswNS + `" xmlns:nc="` + ncNS + `"><logical-switch><name>` + ls + `</name>` + inner + `</logical-switch></vtep>`
}

// Learn and Age: netconfd has no data plane; the device session writes
// the learned-mac list, as the switch's agent would.
func (d *netconfdDevice) Learn(ctx context.Context, ls, mac string) error {
	return d.editErr(ctx, "", d.lsEdit(ls, "<learned-mac><mac>"+mac+"</mac></learned-mac>"))
}

func (d *netconfdDevice) Age(ctx context.Context, ls, mac string) error {
	return d.editErr(ctx, "", d.lsEdit(ls, `<learned-mac nc:operation="delete"><mac>`+mac+"</mac></learned-mac>"))
}

func (d *netconfdDevice) DeleteRemote(ctx context.Context, k vtep.MACKey) error {
	list := "remote-mac"
	if hw, ok := drivers.ParseMAC(k.MAC); !ok || hw[0]&1 != 0 {
		list = "mcast-remote"
	}
	return d.editErr(ctx, "", d.lsEdit(k.LS, "<"+list+` nc:operation="delete"><mac>`+k.MAC+"</mac></"+list+">"))
}

// Disrupt drops every session but the device's, as a cut connection
// would: it kills this netconfd's netconf-subsystem processes (found by
// their socket argument, by PID) except the oldest, the device session's.
// (netconfd's own kill-session is no good here: yuma123 2.13 crashes when
// it kills a session whose next RPC is already queued.)
func (d *netconfdDevice) Disrupt(ctx context.Context) error {
	arg := "@" + filepath.Join(d.h.n.dir, "ncx.sock")
	type proc struct {
		pid   int
		start uint64
	}
	var procs []proc
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmd), "netconf-subsystem") || !strings.Contains(string(cmd), arg) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Field 22 (starttime), counted after the parenthesised comm.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 20 {
			continue
		}
		st, _ := strconv.ParseUint(f[19], 10, 64)
		procs = append(procs, proc{pid, st})
	}
	if len(procs) < 2 {
		return fmt.Errorf("found %d netconf-subsystem processes, want the device's and the driver's", len(procs))
	}
	slices.SortFunc(procs, func(a, b proc) int {
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return cmp.Compare(a.pid, b.pid)
	})
	for _, p := range procs[1:] {
		if err := syscall.Kill(p.pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill %d: %w", p.pid, err)
		}
	}
	return nil
}

// The vtepgw adapter against netconfd, the real validating server.
func TestConformanceNetconfd(t *testing.T) {
	need(t, "/usr/sbin/netconfd", "/usr/sbin/sshd", "/usr/sbin/netconf-subsystem")
	if testing.Short() {
		t.Skip("-short")
	}
	for _, target := range []string{"running", "candidate"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			n := startNetconfd(t, target)
			lf, err := os.Create(filepath.Join(n.dir, "driver.log"))
			must(t, err)
			t.Cleanup(func() { lf.Close() })
			log := slog.New(slog.NewTextHandler(lf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			driverstest.Run(t, &netconfdHarness{target: target, n: n, dev: n.device(t), log: log})
		})
	}
}
