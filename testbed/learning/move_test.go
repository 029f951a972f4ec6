package learning

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// umr returns the tunnel IP switch sw's Ucast_Macs_Remote row for mac
// points at ("" if there is none), from the database file.
func umr(s *Stack, sw int, mac string) string {
	f := s.VF[sw]
	for _, r := range f.Rows("Ucast_Macs_Remote") {
		if r.Str("MAC") == mac {
			if l, ok := f.Rows("Physical_Locator")[r.UUID("locator")]; ok {
				return l.Str("dst_ip")
			}
			return "?"
		}
	}
	return ""
}

// fdbHistory returns what vtepgw's (or anyone's) SB transactions since mark
// did to FDB rows with MAC mac, as "OP by COMMENT-PREFIX" strings, plus the
// vtepgw record that last touched it.
func fdbHistory(s *Stack, mark int, mac, uuid string) (ops []string, last Record) {
	for _, r := range s.SB.Since(mark) {
		for u, c := range r.Changes["FDB"] {
			if u != uuid && c.Row.Str("mac") != mac {
				continue
			}
			who, _, _ := strings.Cut(r.Comment, ":")
			ops = append(ops, c.Op+" by "+who)
			if r.By("vtepgw:") {
				last = r
			}
		}
	}
	return ops, last
}

// TestMACMoveFromHypervisor: a MAC in FDB on a hypervisor VIF (as
// ovn-controller learns it) that the switch then learns — a VM migrated
// behind the VTEP — moves with one update of the same FDB row (same _uuid,
// new port_key), never a delete and insert. The move latency (switch
// commit → SB commit) is logged. OVN then learning it back on the
// hypervisor (ovn-controller updates port_key) is a move away: vtepgw
// leaves it there, even though the switch has not aged the MAC out yet,
// and deletes nothing when the switch does.
func TestMACMoveFromHypervisor(t *testing.T) {
	t.Parallel()
	s := start(t, StackOptions{})
	dp, vif, vtp := s.DP[LS(0)], s.PortKey["vif0"], s.PortKey[VTEPPort(0, 0)]
	const mac = "02:05:00:00:00:01"
	uuid := strings.TrimSpace(s.OVN.MustSB(t, "create", "FDB", fmt.Sprintf("mac=%q", mac), "dp_key="+strconv.Itoa(dp), "port_key="+strconv.Itoa(vif)))
	waitFor(t, s.SB, wait, func() (bool, string) {
		e, ok := s.FDB(dp)[mac]
		return ok && e.PortKey == vif, fmt.Sprintf("FDB %s: %+v", mac, e)
	})
	mark := s.SB.Mark()
	vrec := s.InsertUML(t, 0, 0, []string{mac}, "vm migrated behind the vtep")
	waitFor(t, s.SB, wait, func() (bool, string) {
		e := s.FDB(dp)[mac]
		return e.PortKey == vtp, fmt.Sprintf("FDB %s: %+v, want port_key %d", mac, e, vtp)
	})
	if e := s.FDB(dp)[mac]; e.UUID != uuid {
		t.Fatalf("FDB row for %s is %s, want the original %s (updated in place)", mac, e.UUID, uuid)
	}
	ops, rec := fdbHistory(s, mark, mac, uuid)
	if len(ops) != 1 || ops[0] != "update by vtepgw" {
		t.Fatalf("FDB history of %s since the switch learned it: %d changes %s, want one update by vtepgw", mac, len(ops), head(ops))
	}
	t.Logf("move hypervisor → VTEP: switch commit → SB commit %s (%s)", ms(rec.Time.Sub(vrec.Time)), rec)

	// Back to the hypervisor: ovn-controller updates the row.
	mark = s.SB.Mark()
	s.OVN.MustSB(t, "set", "FDB", uuid, "port_key="+strconv.Itoa(vif))
	quiet(t, s, mark, time.Second)
	if e := s.FDB(dp)[mac]; e.PortKey != vif || e.UUID != uuid {
		t.Fatalf("after OVN learned %s back on the hypervisor: %+v, want port_key %d", mac, e, vif)
	}
	// The switch ages its stale entry out: the hypervisor's row stays.
	s.DeleteUML(t, 0, 0, []string{mac}, "aged out")
	quiet(t, s, mark, time.Second)
	if e, ok := s.FDB(dp)[mac]; !ok || e.PortKey != vif {
		t.Fatalf("after the switch aged %s out: %+v (present %v), want it left on the hypervisor port %d", mac, e, ok, vif)
	}
}

// quiet fails if vtepgw writes any FDB row during d (from now), and
// checks nothing by vtepgw touched FDB since mark.
func quiet(t *testing.T, s *Stack, mark int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if err := s.SB.Poll(); err != nil {
		t.Fatal(err)
	}
	if recs := s.GatewayRecords(mark, "FDB"); len(recs) > 0 {
		var desc []string
		for _, r := range recs {
			desc = append(desc, r.String())
		}
		t.Fatalf("vtepgw wrote FDB %d time(s), want none:\n%s", len(recs), strings.Join(desc, "\n"))
	}
}

// TestMACMoveBetweenVTEPs: a MAC learned by switch 0 and then by switch 1
// (the VM moved; switch 0 has not aged it out yet) moves with one update of
// the same FDB row, and stays there: the gateway of switch 0 does not take
// it back. The remote MACs follow: switch 0 gets a Ucast_Macs_Remote for
// it behind switch 1's tunnel IP, switch 1 loses its one. Switch 0 ageing
// the MAC out changes nothing; switch 0 learning it again moves it back.
// Run with one vtepgw serving both switch databases, and with one vtepgw
// per switch.
func TestMACMoveBetweenVTEPs(t *testing.T) {
	t.Parallel()
	for _, perSwitch := range []bool{false, true} {
		name := "one vtepgw"
		if perSwitch {
			name = "vtepgw per switch"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testMoveBetweenVTEPs(t, perSwitch)
		})
	}
}

func testMoveBetweenVTEPs(t *testing.T, perSwitch bool) {
	s := start(t, StackOptions{Switches: 2, GatewayPerSwitch: perSwitch})
	dp, p0, p1 := s.DP[LS(0)], s.PortKey[VTEPPort(0, 0)], s.PortKey[VTEPPort(1, 0)]
	const mac = "02:06:00:00:00:01"
	s.InsertUML(t, 0, 0, []string{mac}, "learned on switch 0")
	waitFor(t, s.SB, wait, func() (bool, string) {
		e := s.FDB(dp)[mac]
		return e.PortKey == p0, fmt.Sprintf("FDB %s: %+v, want port_key %d", mac, e, p0)
	})
	uuid := s.FDB(dp)[mac].UUID
	waitFor(t, s.VF[1], wait, func() (bool, string) {
		got := umr(s, 1, mac)
		return got == TunnelIP(0), fmt.Sprintf("switch 1 Ucast_Macs_Remote %s → %q, want %s", mac, got, TunnelIP(0))
	})

	move := func(to int, from int, pk int) {
		t.Helper()
		mark := s.SB.Mark()
		vrec := s.InsertUML(t, to, 0, []string{mac}, fmt.Sprintf("learned on switch %d", to))
		waitFor(t, s.SB, wait, func() (bool, string) {
			e := s.FDB(dp)[mac]
			return e.PortKey == pk, fmt.Sprintf("FDB %s: %+v, want port_key %d", mac, e, pk)
		})
		// No ping-pong: nothing more for a second.
		time.Sleep(time.Second)
		if err := s.SB.Poll(); err != nil {
			t.Fatal(err)
		}
		ops, rec := fdbHistory(s, mark, mac, uuid)
		if len(ops) != 1 || ops[0] != "update by vtepgw" {
			t.Fatalf("FDB history of %s since switch %d learned it: %d changes %s, want exactly one update by vtepgw", mac, to, len(ops), head(ops))
		}
		if e := s.FDB(dp)[mac]; e.UUID != uuid || e.PortKey != pk {
			t.Fatalf("FDB %s: %+v, want row %s on port_key %d", mac, e, uuid, pk)
		}
		t.Logf("move switch %d → switch %d: switch commit → SB commit %s", from, to, ms(rec.Time.Sub(vrec.Time)))
		waitFor(t, s.VF[from], wait, func() (bool, string) {
			got := umr(s, from, mac)
			return got == TunnelIP(to), fmt.Sprintf("switch %d Ucast_Macs_Remote %s → %q, want %s", from, mac, got, TunnelIP(to))
		})
		waitFor(t, s.VF[to], wait, func() (bool, string) {
			got := umr(s, to, mac)
			return got == "", fmt.Sprintf("switch %d still has Ucast_Macs_Remote %s → %q", to, mac, got)
		})
		// The old switch ages it out: the row stays where it is.
		mark = s.SB.Mark()
		s.DeleteUML(t, from, 0, []string{mac}, fmt.Sprintf("aged out on switch %d", from))
		quiet(t, s, mark, 500*time.Millisecond)
		if e := s.FDB(dp)[mac]; e.UUID != uuid || e.PortKey != pk {
			t.Fatalf("after switch %d aged %s out: FDB %+v, want row %s on port_key %d", from, mac, e, uuid, pk)
		}
	}
	move(1, 0, p1)
	move(0, 1, p0)
}
