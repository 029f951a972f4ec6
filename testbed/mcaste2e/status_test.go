package mcaste2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vtepgw/vtepgw/testbed"
)

// TestStatusAndMetrics: the multicast tables (both directions), the
// learned-MAC FDB and the chassis skipped for lack of vxlan appear in
// ovs-appctl status and in /metrics, with the switch's real row counts.
func TestStatusAndMetrics(t *testing.T) {
	t.Parallel()
	port, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := newStack(t, "br0", []string{"10.0.0.1"}, "--metrics-addr="+addr)
	s.attach(t, "lsA", "vtepA", "br0", "p0", 0, "lsA")
	s.nb(t, "set", "Logical_Switch", "lsA", "other_config:mcast_snoop=true")
	s.hv(t, "hv1", "127.0.1.1")
	s.vif(t, "lsA", "vif1", "f0:00:00:00:00:01", "hv1")
	s.sb(t, "chassis-add", "hv2", "geneve", "127.0.1.2")
	s.vif(t, "lsA", "vif2", "f0:00:00:00:00:02", "hv2")
	s.igmpJoin(t, "239.1.1.1", "lsA", "hv1", "vif1")
	s.igmpJoin(t, "239.1.1.3", "lsA", "hv1", "vif1")
	s.vctl(t, "add-ucast-local", "lsA", "f0:00:00:00:0a:01", "10.0.0.1")
	s.mcastLocal(t, "lsA", "01:00:5e:01:01:02", "239.1.1.2", "10.0.0.1")

	// Converged: 1 remote MAC, 3 remote multicast rows (unknown-dst and
	// two groups), the learned MAC in FDB and the learned group in SB.
	waitEqual(t, "Mcast_Macs_Remote", s.vtepGet(db.mmrs),
		"lsA 01:00:5e:01:01:01 239.1.1.1 127.0.1.1", "lsA 01:00:5e:01:01:03 239.1.1.3 127.0.1.1", "lsA unknown-dst - 127.0.1.1")
	waitEqual(t, "Ucast_Macs_Remote", s.vtepGet(db.umrs), "lsA f0:00:00:00:00:01 127.0.1.1")
	waitEqual(t, "IGMP_Group + FDB", s.sbGet(func(d db) []string {
		out := d.igmpGroups()
		for _, r := range d["FDB"] {
			out = append(out, "fdb "+r.str("mac"))
		}
		return out
	}), "239.1.1.1 lsA hv1 vif1", "239.1.1.2 lsA br0 vtepA", "239.1.1.3 lsA hv1 vif1", "fdb f0:00:00:00:0a:01")

	// status
	var status string
	wantStatus := []string{
		"remote macs wanted=1 ucast_remote=1 mcast_remote=3 ucast_local=1 mcast_local=1",
		"learned macs in fdb=1 ",
		"multicast: igmp_groups_written=1 ip_groups_mapped=3", // 239.1.1.1-3: the switch-learned group too (northd makes its Multicast_Group), although with only the vtep port it needs no Mcast_Macs_Remote row
		"logical switch lsA vni=",
	}
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		var err error
		status, err = s.gw.appctl("status")
		if err != nil {
			return false, err.Error()
		}
		for _, w := range wantStatus {
			if !strings.Contains(status, w) {
				return false, fmt.Sprintf("status lacks %q:\n%s", w, status)
			}
		}
		m := regexp.MustCompile(`chassis_without_vxlan=(\d+)`).FindStringSubmatch(status)
		return m != nil && m[1] != "0", fmt.Sprintf("status: no chassis_without_vxlan > 0:\n%s", status)
	})

	// /metrics
	want := map[string]string{
		`vtepgw_switch_rows{switch="S",table="ucast_macs_remote"}`: "1",
		`vtepgw_switch_rows{switch="S",table="mcast_macs_remote"}`: "3",
		`vtepgw_switch_rows{switch="S",table="ucast_macs_local"}`:  "1",
		`vtepgw_switch_rows{switch="S",table="mcast_macs_local"}`:  "1",
		`vtepgw_learned_macs{switch="S"}`:                          "1",
		`vtepgw_igmp_groups{switch="S"}`:                           "1",
		`vtepgw_mcast_groups{switch="S"}`:                          "3",
		`vtepgw_connection_up{db="southbound"}`:                    "1",
	}
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		got, err := scrape("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		var bad []string
		for k, v := range want {
			if got[k] != v {
				bad = append(bad, fmt.Sprintf("%s = %q, want %s", k, got[k], v))
			}
		}
		if n, _ := strconv.ParseFloat(got[`vtepgw_chassis_without_vxlan_total{switch="S"}`], 64); n <= 0 {
			bad = append(bad, fmt.Sprintf("vtepgw_chassis_without_vxlan_total = %q, want > 0", got[`vtepgw_chassis_without_vxlan_total{switch="S"}`]))
		}
		slices.Sort(bad)
		return len(bad) == 0, strings.Join(bad, "\n")
	})

	// The counts follow the switch: withdraw the learned group, a
	// hypervisor group goes.
	s.vctl(t, "clear-local-macs", "lsA")
	s.sb(t, "destroy", "IGMP_Group", s.sbUUID(t, "IGMP_Group", `address="239.1.1.3"`))
	want[`vtepgw_switch_rows{switch="S",table="mcast_macs_remote"}`] = "2"
	want[`vtepgw_switch_rows{switch="S",table="ucast_macs_local"}`] = "0"
	want[`vtepgw_switch_rows{switch="S",table="mcast_macs_local"}`] = "0"
	want[`vtepgw_learned_macs{switch="S"}`] = "0"
	want[`vtepgw_igmp_groups{switch="S"}`] = "0"
	want[`vtepgw_mcast_groups{switch="S"}`] = "1"
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		got, err := scrape("http://" + addr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		var bad []string
		for k, v := range want {
			if got[k] != v {
				bad = append(bad, fmt.Sprintf("%s = %q, want %s", k, got[k], v))
			}
		}
		slices.Sort(bad)
		return len(bad) == 0, strings.Join(bad, "\n")
	})
	testbed.Eventually(t, wait, poll, func() (bool, string) {
		out, err := s.gw.appctl("status")
		w := "remote macs wanted=1 ucast_remote=1 mcast_remote=2 ucast_local=0 mcast_local=0"
		m := "multicast: igmp_groups_written=0 ip_groups_mapped=1"
		return err == nil && strings.Contains(out, w) && strings.Contains(out, m) && strings.Contains(out, "learned macs in fdb=0 "),
			fmt.Sprintf("status (%v) lacks %q, %q or fdb=0:\n%s", err, w, m, out)
	})
}

// scrape reads a Prometheus text exposition into "name{labels}" → value,
// with the switch label's value replaced by S (there is one switch).
func scrape(url string) (map[string]string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sw := regexp.MustCompile(`switch="[^"]*"`)
	out := map[string]string{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		out[sw.ReplaceAllString(l[:i], `switch="S"`)] = l[i+1:]
	}
	return out, nil
}
