package hwvtep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vtepgw/vtepgw/drivers"
	"github.com/vtepgw/vtepgw/drivers/driverstest"
	"github.com/vtepgw/vtepgw/drivers/hwvtep"
	"github.com/vtepgw/vtepgw/testbed"
	"github.com/vtepgw/vtepgw/vtep"
)

// TestConformance runs the driver conformance suite against a real
// hardware_vtep ovsdb-server. The suite's independent view of the device is
// ovsdb-client (reads) and vtep-ctl (learned MACs, edits); the write
// counter is the size of the database file, which ovsdb-server appends one
// record to per committed transaction.
func TestConformance(t *testing.T) {
	testbed.Require(t, testbed.BinVtepctl, testbed.BinOVSDBClient)
	driverstest.Run(t, harness{})
}

const tunnelIP = "10.250.0.1"

type harness struct{}

func (harness) New(t testing.TB) driverstest.Device {
	v := testbed.StartVTEP(t, testbed.VTEPOptions{NoTCP: true})
	v.MustVtep(t,
		"add-ps", "ps0", "--", "set", "Physical_Switch", "ps0", "tunnel_ips="+tunnelIP,
		"--", "add-port", "ps0", "p0", "--", "add-port", "ps0", "p1",
		"--", "add-ls", "ls0", "--", "add-ls", "ls1",
		"--", "bind-ls", "ps0", "p0", "0", "ls0", "--", "bind-ls", "ps0", "p1", "100", "ls1")
	return &device{v: v}
}

type device struct{ v *testbed.VTEP }

func (d *device) Connector() drivers.Connector {
	c, err := hwvtep.Driver{}.NewConnector(drivers.Params{Name: "conformance", Endpoints: []string{d.v.VtepRemote()}})
	if err != nil {
		panic(err) // the parameters are constant
	}
	return c
}

func (d *device) LogicalSwitches() []string { return []string{"ls0", "ls1"} }

// Learn adds a Ucast_Macs_Local row, as the switch does when it learns.
func (d *device) Learn(_ context.Context, ls, mac string) error {
	_, err := d.v.VtepCtl("add-ucast-local", ls, mac, tunnelIP)
	return err
}

// Age deletes the row, as the switch does when the MAC ages out.
func (d *device) Age(_ context.Context, ls, mac string) error {
	_, err := d.v.VtepCtl("del-ucast-local", ls, mac)
	return err
}

// Disrupt makes ovsdb-server drop every client connection.
func (d *device) Disrupt(context.Context) error { return d.v.Reconnect() }

// Changes is the database file's size: every committed transaction
// appends to it (the test is far too short for a compaction).
func (d *device) Changes(context.Context) (uint64, error) {
	fi, err := os.Stat(d.v.DBPath("hardware_vtep"))
	if err != nil {
		return 0, err
	}
	return uint64(fi.Size()), nil
}

// DeleteRemote deletes the remote rows of k with ovsdb-client.
func (d *device) DeleteRemote(ctx context.Context, k vtep.MACKey) error {
	db, err := d.dump()
	if err != nil {
		return err
	}
	lsUUID := ""
	for u, r := range db.rows["Logical_Switch"] {
		if r["name"] == k.LS {
			lsUUID = u
		}
	}
	if lsUUID == "" {
		return fmt.Errorf("no logical switch %q", k.LS)
	}
	table := "Ucast_Macs_Remote"
	if hw, ok := drivers.ParseMAC(k.MAC); !ok || hw[0]&1 != 0 {
		table = "Mcast_Macs_Remote"
	}
	op := []any{"hardware_vtep", map[string]any{
		"op": "delete", "table": table,
		"where": []any{[]any{"MAC", "==", k.MAC}, []any{"logical_switch", "==", []any{"uuid", lsUUID}}},
	}}
	b, _ := json.Marshal(op)
	out, err := d.v.Client("transact", d.v.VtepRemote(), string(b))
	if err != nil {
		return err
	}
	if !strings.Contains(out, `"count":`) || strings.Contains(out, `"count":0`) {
		return fmt.Errorf("delete %s from %s: %s", k, table, out)
	}
	return nil
}

// Observe reads the database with ovsdb-client.
func (d *device) Observe(context.Context) (*driverstest.State, error) {
	db, err := d.dump()
	if err != nil {
		return nil, err
	}
	st := &driverstest.State{
		VNIs:        map[string]*int{},
		UcastRemote: map[vtep.MACKey]vtep.UcastMAC{},
		McastRemote: map[vtep.MACKey]vtep.McastMAC{},
		UcastLocal:  map[vtep.MACKey]vtep.UcastMAC{},
	}
	lsName := map[string]string{}
	for u, r := range db.rows["Logical_Switch"] {
		name, _ := r["name"].(string)
		lsName[u] = name
		st.VNIs[name] = nil
		if keys := atoms(r["tunnel_key"]); len(keys) == 1 {
			n := int(keys[0].(float64))
			st.VNIs[name] = &n
		}
	}
	locIP := func(u string) string {
		ip, _ := db.rows["Physical_Locator"][u]["dst_ip"].(string)
		return ip
	}
	for _, r := range db.rows["Physical_Switch"] {
		ps := vtep.PhysicalSwitch{Name: r["name"].(string)}
		for _, ip := range atoms(r["tunnel_ips"]) {
			ps.TunnelIPs = append(ps.TunnelIPs, ip.(string))
		}
		for _, pu := range atoms(r["ports"]) {
			pr := db.rows["Physical_Port"][uuid(pu)]
			p := vtep.Port{Name: pr["name"].(string), Bindings: map[int]string{}}
			for _, kv := range pairs(pr["vlan_bindings"]) {
				p.Bindings[int(kv[0].(float64))] = lsName[uuid(kv[1])]
			}
			ps.Ports = append(ps.Ports, p)
		}
		st.Switches = append(st.Switches, ps)
	}
	for _, table := range []string{"Ucast_Macs_Remote", "Ucast_Macs_Local"} {
		dst := st.UcastRemote
		if table == "Ucast_Macs_Local" {
			dst = st.UcastLocal
		}
		for _, r := range db.rows[table] {
			k := vtep.MACKey{LS: lsName[uuid(r["logical_switch"])], MAC: r["MAC"].(string)}
			if old, dup := dst[k]; dup {
				old.Duplicates++
				dst[k] = old
				continue
			}
			ip, _ := r["ipaddr"].(string)
			dst[k] = vtep.UcastMAC{MACKey: k, Locator: locIP(uuid(r["locator"])), IP: ip}
		}
	}
	for _, r := range db.rows["Mcast_Macs_Remote"] {
		k := vtep.MACKey{LS: lsName[uuid(r["logical_switch"])], MAC: r["MAC"].(string)}
		if old, dup := st.McastRemote[k]; dup {
			old.Duplicates++
			st.McastRemote[k] = old
			continue
		}
		var locs []string
		for _, l := range atoms(db.rows["Physical_Locator_Set"][uuid(r["locator_set"])]["locators"]) {
			locs = append(locs, locIP(uuid(l)))
		}
		ip, _ := r["ipaddr"].(string)
		st.McastRemote[k] = vtep.McastMAC{MACKey: k, IP: ip, Locators: vtep.NormalizeLocators(locs)}
	}
	return st, nil
}

type dbDump struct {
	rows map[string]map[string]map[string]any // table → UUID → column → value
}

var dumpTables = []string{
	"Physical_Switch", "Physical_Port", "Logical_Switch", "Physical_Locator", "Physical_Locator_Set",
	"Ucast_Macs_Remote", "Mcast_Macs_Remote", "Ucast_Macs_Local",
}

// dump selects every row of the tables the suite looks at, in one
// transaction.
func (d *device) dump() (*dbDump, error) {
	req := []any{"hardware_vtep"}
	for _, t := range dumpTables {
		req = append(req, map[string]any{"op": "select", "table": t, "where": []any{}})
	}
	b, _ := json.Marshal(req)
	out, err := d.v.Client("transact", d.v.VtepRemote(), string(b))
	if err != nil {
		return nil, err
	}
	var res []struct {
		Rows  []map[string]any `json:"rows"`
		Error string           `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("ovsdb-client transact: %w: %s", err, out)
	}
	if len(res) != len(dumpTables) {
		return nil, fmt.Errorf("ovsdb-client transact: %d results for %d selects: %s", len(res), len(dumpTables), out)
	}
	db := &dbDump{rows: map[string]map[string]map[string]any{}}
	for i, t := range dumpTables {
		if res[i].Error != "" {
			return nil, fmt.Errorf("select %s: %s", t, res[i].Error)
		}
		db.rows[t] = map[string]map[string]any{}
		for _, r := range res[i].Rows {
			db.rows[t][uuid(r["_uuid"])] = r
		}
	}
	return db, nil
}

// atoms returns the members of an OVSDB set, or the single atom.
func atoms(v any) []any {
	if a, ok := v.([]any); ok && len(a) == 2 && a[0] == "set" {
		return slices.Clone(a[1].([]any))
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// pairs returns the key/value pairs of an OVSDB map.
func pairs(v any) [][]any {
	a, ok := v.([]any)
	if !ok || len(a) != 2 || a[0] != "map" {
		return nil
	}
	var out [][]any
	for _, kv := range a[1].([]any) {
		out = append(out, kv.([]any))
	}
	return out
}

// uuid returns the UUID of ["uuid", "…"].
func uuid(v any) string {
	if a, ok := v.([]any); ok && len(a) == 2 && a[0] == "uuid" {
		s, _ := a[1].(string)
		return s
	}
	return ""
}
