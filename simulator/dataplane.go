package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovn-org/libovsdb/client"
	"github.com/ovn-org/libovsdb/model"
	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/simulator/internal/vswitchdb"
	"github.com/vtepgw/vtepgw/simulator/openflow"
)

const (
	// ourCookie marks every flow the simulator installs ("vsim").
	ourCookie = 0x7673696d
	// learnCookie marks learned MACs (the value ovs-vtep uses; tests and
	// users can inject "learned" MACs by adding such flows to table 1).
	learnCookie = 0x5000
	// igmpCookie marks the flows learned in table 3 from IGMP reporters:
	// their appearance and expiry tell the simulator to re-read OVS's
	// multicast snooping table.
	igmpCookie    = 0x6000
	unknownDst    = "unknown-dst"
	bfdLocalIP    = "169.254.1.0"
	bfdRemoteIP   = "169.254.1.1"
	bfdDefaultMAC = "00:23:20:00:00:01"
	allOnes       = ^uint64(0)
)

// ovsSnap is one read of the Open_vSwitch cache.
type ovsSnap struct {
	root    *vswitchdb.OpenvSwitch
	bridges map[string]*vswitchdb.Bridge // by name
	ports   map[string]*vswitchdb.Port   // by uuid
	ifaces  map[string]*vswitchdb.Interface
	ifName  map[string]*vswitchdb.Interface // by name
}

func listOVS(ctx context.Context, c client.Client) (*ovsSnap, error) {
	roots, err1 := rows[vswitchdb.OpenvSwitch](c, "Open_vSwitch")
	brs, err2 := rows[vswitchdb.Bridge](c, "Bridge")
	ports, err3 := rows[vswitchdb.Port](c, "Port")
	ifs, err4 := rows[vswitchdb.Interface](c, "Interface")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("read Open_vSwitch cache: %w", err)
	}
	if len(roots) != 1 {
		return nil, fmt.Errorf("Open_vSwitch table has %d rows, want 1", len(roots))
	}
	s := &ovsSnap{root: roots[0]}
	s.bridges = byUUID(brs, func(b *vswitchdb.Bridge) string { return b.Name })
	s.ports = byUUID(ports, func(p *vswitchdb.Port) string { return p.UUID })
	s.ifaces = byUUID(ifs, func(p *vswitchdb.Interface) string { return p.UUID })
	s.ifName = byUUID(ifs, func(p *vswitchdb.Interface) string { return p.Name })
	return s, nil
}

// bridgePorts returns the ports of a bridge by name.
func (s *ovsSnap) bridgePorts(br *vswitchdb.Bridge) map[string]*vswitchdb.Port {
	m := map[string]*vswitchdb.Port{}
	for _, pu := range br.Ports {
		if p := s.ports[pu]; p != nil {
			m[p.Name] = p
		}
	}
	return m
}

// ofport returns the OpenFlow port of an interface, or 0 if not known yet.
func (s *ovsSnap) ofport(name string) uint32 {
	i := s.ifName[name]
	if i == nil || i.Ofport == nil || *i.Ofport <= 0 {
		return 0
	}
	return uint32(*i.Ofport)
}

// flowKey identifies an installed flow; flowVal is its encoded content.
type flowKey struct {
	table    uint8
	priority uint16
	match    string
}

type flowSet map[flowKey]flowEntry

type flowEntry struct {
	mod openflow.FlowMod
	enc string // wire encoding, to compare flows
	// dir and dep place a physical-switch flow relative to the logical
	// switch bridges (see stages): dirToLS flows send frames of a port
	// into the patch port of LS bridge dep, dirFromLS flows take frames
	// coming back from it to the port.
	dir flowDir
	dep string
}

// flowDir is where a physical-switch bridge flow sends frames.
type flowDir uint8

const (
	dirNone   flowDir = iota
	dirToLS           // port → patch port (into a logical switch)
	dirFromLS         // patch port → port (out of a logical switch)
)

func (fs flowSet) add(table uint8, prio uint16, m openflow.Match, in openflow.Instructions) {
	fs.addDir(table, prio, m, in, dirNone, "")
}

func (fs flowSet) addDir(table uint8, prio uint16, m openflow.Match, in openflow.Instructions, dir flowDir, dep string) {
	f := openflow.FlowMod{Command: openflow.FlowAdd, Cookie: ourCookie, Table: table, Priority: prio, Match: m, Instr: in}
	fs[flowKey{table, prio, m.Key()}] = flowEntry{mod: f, enc: string(f.Bytes()), dir: dir, dep: dep}
}

// bridgeOF is the OpenFlow side of one bridge: connection, installed flows,
// and for LS bridges the learned MACs seen by the flow monitor.
type bridgeOF struct {
	name      string
	ls        string // "" for the physical-switch bridge
	conn      *openflow.Conn
	installed flowSet
	synced    bool
}

// learnEvent is one learned-flow change from a flow monitor.
type learnEvent struct {
	bridge string
	add    bool
	mac    string
	port   uint32
}

// dataplane realises a Config on ovs-vswitchd.
type dataplane struct {
	c         client.Client
	opt       *Options
	log       *slog.Logger
	kick      func()
	kickLearn func()
	of        map[string]*bridgeOF // by bridge name; owned by the loop
	nextLS    int
	nextVX    int

	mu        sync.Mutex // guards events, igmpDirty
	events    []learnEvent
	igmpDirty map[string]bool // LS bridges whose snooping table must be re-read
	// groups holds per LS bridge the snooped groups: group → member
	// OpenFlow ports. Owned by the loop.
	groups  map[string]map[string][]uint32
	learned map[string]map[string]Learned // bridge → MAC → entry; owned by the loop
	tokens  float64
	lastTok time.Time
	limited int // MACs refused by the rate limit, for the log

	lsBridge  map[string]string // LS → bridge, from the last full pass; owned by the loop
	late      []ovsdb.Operation // removals held back until the pass's flows are in; owned by the loop
	tableFull bool              // some LS at its learned-MAC cap, as last published

	statsMu    sync.Mutex
	stats      map[PortVLAN]Counters
	statsFlows map[flowKey]statsRef // PS bridge flow → binding and direction
}

type statsRef struct {
	b    PortVLAN
	from bool
}

func newDataplane(c client.Client, opt *Options, log *slog.Logger, kick, kickLearn func()) *dataplane {
	return &dataplane{c: c, opt: opt, log: log, kick: kick, kickLearn: kickLearn, of: map[string]*bridgeOF{},
		learned: map[string]map[string]Learned{}, stats: map[PortVLAN]Counters{}, tokens: opt.LearnBurst(),
		igmpDirty: map[string]bool{}, groups: map[string]map[string][]uint32{}}
}

func bindingName(b PortVLAN) string { return fmt.Sprintf("%04d-%s", b.VLAN, b.Port) }

// plan is the desired OVS layout of one pass.
type plan struct {
	lsBridge  map[string]string            // LS → bridge name
	remoteIPs map[string]map[string]bool   // LS → remote IPs needing a tunnel
	allRemote []string                     // realised remote IPs
	macs      map[string]map[string]string // LS → installed remote ucast MAC → IP
	status    *Status
}

// apply realises cfg: bridges, ports and tunnels through OVSDB, then flows
// through OpenFlow bundles. It returns the switch status.
func (d *dataplane) apply(ctx context.Context, cfg *Config) (*Status, error) {
	s, err := listOVS(ctx, d.c)
	if err != nil {
		return nil, err
	}
	psBr := s.bridges[cfg.Switch]
	if psBr == nil {
		return nil, fmt.Errorf("OVS bridge %q: %w", cfg.Switch, errNoBridge)
	}
	st := &Status{Learned: map[string][]Learned{}, Groups: map[string][]Group{}, BFD: map[string]map[string]string{},
		PortFaults: map[string][]string{}, Realized: map[string]bool{}}
	psPorts := s.bridgePorts(psBr)
	for name := range psPorts {
		if name == psBr.Name || strings.HasSuffix(name, "-p") {
			continue
		}
		st.Ports = append(st.Ports, name)
	}
	sort.Strings(st.Ports)

	p := d.plan(cfg, st)
	if err := d.applyOVSDB(ctx, s, cfg, psBr, p); err != nil {
		return nil, err
	}
	// Re-read: ofports of existing ports are in the cache; new ones
	// arrive later and trigger another pass.
	if s, err = listOVS(ctx, d.c); err != nil {
		return nil, err
	}
	var errs []error
	if err := d.readGroups(ctx, s, p); err != nil {
		errs = append(errs, err)
	}
	committed, err := d.applyFlows(ctx, s, cfg, p)
	if err != nil {
		errs = append(errs, err)
	}
	if committed {
		if err := d.removeLate(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	d.collect(s, cfg, p, st)
	return st, errors.Join(errs...)
}

var errNoBridge = errors.New("bridge not found")

func (d *dataplane) plan(cfg *Config, st *Status) *plan {
	p := &plan{lsBridge: map[string]string{}, remoteIPs: map[string]map[string]bool{}, macs: map[string]map[string]string{}, status: st}
	names := sortedKeys(cfg.LS)
	faults := map[string]bool{}
	// VNI limit: logical switches past it are not instantiated, and their
	// bindings are reported as invalid VLAN maps on their ports.
	for i, ls := range names {
		if d.opt.MaxVNIs > 0 && i >= d.opt.MaxVNIs {
			for b, l := range cfg.Bindings {
				if l == ls && !slices.Contains(st.PortFaults[b.Port], "invalid_vlan_map") {
					st.PortFaults[b.Port] = append(st.PortFaults[b.Port], "invalid_vlan_map")
				}
			}
			continue
		}
		st.Realized[ls] = true
		if cfg.LS[ls].SourceNode && d.opt.NoSourceNode {
			faults["unsupported_source_node_replication"] = true
		}
	}
	// Remote VTEP limit over the distinct remote IPs, and MAC limit over
	// remote unicast and multicast MACs.
	all := map[string]bool{}
	for ls := range st.Realized {
		lc := cfg.LS[ls]
		if lc.VNI == nil {
			continue
		}
		for _, ip := range lc.Ucast {
			all[ip] = true
		}
		for _, ips := range lc.Mcast {
			for _, ip := range ips {
				all[ip] = true
			}
		}
	}
	for _, own := range cfg.TunnelIPs {
		delete(all, own)
	}
	ips := sortedKeys(all)
	if d.opt.MaxRemoteVTEPs > 0 && len(ips) > d.opt.MaxRemoteVTEPs {
		faults["tunnel_exhaustion"] = true
		ips = ips[:d.opt.MaxRemoteVTEPs]
	}
	p.allRemote = ips
	ok := map[string]bool{}
	for _, ip := range ips {
		ok[ip] = true
	}
	nmacs := 0
	for _, ls := range sortedKeys(st.Realized) {
		lc := cfg.LS[ls]
		p.remoteIPs[ls] = map[string]bool{}
		p.macs[ls] = map[string]string{}
		if lc.VNI == nil {
			continue
		}
		for _, mac := range sortedKeys(lc.Ucast) {
			ip := lc.Ucast[mac]
			if !ok[ip] {
				continue
			}
			if d.opt.MaxMACs > 0 && nmacs >= d.opt.MaxMACs {
				faults["mac_table_exhaustion"] = true
				continue
			}
			nmacs++
			p.macs[ls][mac] = ip
			p.remoteIPs[ls][ip] = true
		}
		for _, ips := range lc.Mcast {
			for _, ip := range ips {
				if ok[ip] {
					p.remoteIPs[ls][ip] = true
				}
			}
		}
	}
	st.SwitchFaults = sortedKeys(faults)
	return p
}

func (d *dataplane) bfdBridge(cfg *Config) string {
	if d.opt.Isolated {
		return cfg.Switch + "_vtep_bfd"
	}
	return "vtep_bfd"
}

func (d *dataplane) bfdPort(cfg *Config, ip string) string {
	if d.opt.Isolated {
		return cfg.Switch + "_bfd" + ip
	}
	return "bfd" + ip
}

// ownedLSBridge reports whether br is an LS bridge of switch ps, and its LS.
func ownedLSBridge(br *vswitchdb.Bridge, ps string) (string, bool) {
	if br.ExternalIDs["vtep_logical_switch"] != "true" {
		return "", false
	}
	if sw, ok := br.ExternalIDs["vtepsim_switch"]; ok {
		return br.ExternalIDs["logical_switch_name"], sw == ps
	}
	return br.ExternalIDs["logical_switch_name"], strings.HasPrefix(br.Name, ps+"_vtep_ls")
}

type ovsWriter struct {
	c     client.Client
	ops   []ovsdb.Operation
	err   error
	named int
	// Removals of ports from bridges and of bridges, applied after the
	// flows of the pass (make before break, see applyOVSDB).
	delPorts map[string][]portDel // bridge uuid → ports to remove
	delBrs   []string
	added    map[string]bool // names of ports created in this pass
}

type portDel struct{ uuid, name string }

func (w *ovsWriter) add(ops []ovsdb.Operation, err error) {
	if err != nil {
		w.err = errors.Join(w.err, err)
		return
	}
	w.ops = append(w.ops, ops...)
}

func (w *ovsWriter) name() string {
	w.named++
	return "ovs" + strconv.Itoa(w.named)
}

// newPort creates a Port with one Interface and returns the Port's named uuid.
func (w *ovsWriter) newPort(name, typ string, options, extIDs map[string]string, bfd map[string]string) string {
	if w.added == nil {
		w.added = map[string]bool{}
	}
	w.added[name] = true
	i := &vswitchdb.Interface{UUID: w.name(), Name: name, Type: typ, Options: options, ExternalIDs: extIDs, BFD: bfd}
	p := &vswitchdb.Port{UUID: w.name(), Name: name, Interfaces: []string{i.UUID}, ExternalIDs: extIDs}
	w.add(w.c.Create(i, p))
	return p.UUID
}

func (w *ovsWriter) bridgePorts(brUUID string, mut ovsdb.Mutator, ports []string) {
	if len(ports) == 0 {
		return
	}
	b := &vswitchdb.Bridge{UUID: brUUID}
	w.add(w.c.Where(b).Mutate(b, model.Mutation{Field: &b.Ports, Mutator: mut, Value: ports}))
}

func (w *ovsWriter) rootBridges(root string, mut ovsdb.Mutator, brs []string) {
	if len(brs) == 0 {
		return
	}
	r := &vswitchdb.OpenvSwitch{UUID: root}
	w.add(w.c.Where(r).Mutate(r, model.Mutation{Field: &r.Bridges, Mutator: mut, Value: brs}))
}

var ofProtocols = []vswitchdb.BridgeProtocols{"OpenFlow10", "OpenFlow13", "OpenFlow14", "OpenFlow15"}

// newBridge creates a bridge with its internal port.
func (w *ovsWriter) newBridge(name, dpType string, ext map[string]string, snoop bool) string {
	local := w.newPort(name, "internal", nil, nil, nil)
	secure := vswitchdb.BridgeFailModeSecure
	b := &vswitchdb.Bridge{UUID: w.name(), Name: name, DatapathType: dpType, ExternalIDs: ext, Ports: []string{local},
		FailMode: &secure, Protocols: ofProtocols, McastSnoopingEnable: snoop}
	w.add(w.c.Create(b))
	return b.UUID
}

// portSpec is one desired port on a bridge.
type portSpec struct {
	typ     string
	options map[string]string
	ext     map[string]string
	bfd     map[string]string
}

// syncPorts makes the bridge's ports (except its local port and those
// keep() accepts) equal to want.
func (w *ovsWriter) syncPorts(s *ovsSnap, brUUID string, have map[string]*vswitchdb.Port, want map[string]portSpec, keep func(string) bool) {
	var add []string
	for name, p := range have {
		if _, ok := want[name]; ok || keep(name) {
			continue
		}
		if w.delPorts == nil {
			w.delPorts = map[string][]portDel{}
		}
		w.delPorts[brUUID] = append(w.delPorts[brUUID], portDel{p.UUID, name})
	}
	for _, name := range sortedKeys(want) {
		spec := want[name]
		p := have[name]
		if p == nil {
			add = append(add, w.newPort(name, spec.typ, spec.options, spec.ext, spec.bfd))
			continue
		}
		if len(p.Interfaces) != 1 {
			continue
		}
		i := s.ifaces[p.Interfaces[0]]
		if i == nil {
			continue
		}
		if i.Type != spec.typ || !maps.Equal(i.Options, spec.options) || !maps.Equal(i.BFD, spec.bfd) {
			ni := &vswitchdb.Interface{UUID: i.UUID, Type: spec.typ, Options: spec.options, BFD: spec.bfd}
			w.add(w.c.Where(ni).Update(ni, &ni.Type, &ni.Options, &ni.BFD))
		}
	}
	w.bridgePorts(brUUID, ovsdb.MutateOperationInsert, add)
}

func (d *dataplane) applyOVSDB(ctx context.Context, s *ovsSnap, cfg *Config, psBr *vswitchdb.Bridge, p *plan) error {
	w := &ovsWriter{c: d.c}
	// Adopt existing LS bridges; allocate names for new ones.
	existing := map[string]*vswitchdb.Bridge{}
	var stale []string
	for _, br := range s.bridges {
		ls, mine := ownedLSBridge(br, cfg.Switch)
		if !mine {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(br.Name, cfg.Switch+"_vtep_ls")); err == nil && n >= d.nextLS {
			d.nextLS = n + 1
		}
		if !p.status.Realized[ls] || existing[ls] != nil {
			stale = append(stale, br.UUID)
			continue
		}
		existing[ls] = br
	}
	if d.nextLS == 0 {
		d.nextLS = 1
	}
	for _, pt := range s.ports {
		if n, err := strconv.Atoi(strings.TrimPrefix(pt.Name, "vx")); err == nil && strings.HasPrefix(pt.Name, "vx") && n >= d.nextVX {
			d.nextVX = n + 1
		}
	}
	if d.nextVX == 0 {
		d.nextVX = 1
	}
	w.delBrs = stale

	// ovs-vswitchd's datapath flow idle time (see Options.DatapathMaxIdle).
	if ms := d.opt.DatapathMaxIdle.Milliseconds(); ms > 0 && s.root.OtherConfig["max-idle"] != strconv.FormatInt(ms, 10) {
		oc := maps.Clone(s.root.OtherConfig)
		if oc == nil {
			oc = map[string]string{}
		}
		oc["max-idle"] = strconv.FormatInt(ms, 10)
		r := &vswitchdb.OpenvSwitch{UUID: s.root.UUID, OtherConfig: oc}
		w.add(d.c.Where(r).Update(r, &r.OtherConfig))
	}

	// Make sure the physical-switch bridge speaks OpenFlow 1.4.
	if len(psBr.Protocols) > 0 && !slices.Contains(psBr.Protocols, "OpenFlow14") {
		nb := &vswitchdb.Bridge{UUID: psBr.UUID, Protocols: append(slices.Clone(psBr.Protocols), "OpenFlow14")}
		w.add(d.c.Where(nb).Update(nb, &nb.Protocols))
	}

	// Patch ports on the physical-switch bridge.
	psWant := map[string]portSpec{}
	for b, ls := range cfg.Bindings {
		if !p.status.Realized[ls] {
			continue
		}
		n := bindingName(b)
		psWant[n+"-p"] = portSpec{typ: "patch", options: map[string]string{"peer": n + "-l"}}
	}
	psHave := s.bridgePorts(psBr)
	w.syncPorts(s, psBr.UUID, psHave, psWant, func(name string) bool { return !strings.HasSuffix(name, "-p") || name == psBr.Name })

	var newBrs []string
	for _, ls := range sortedKeys(p.status.Realized) {
		lc := cfg.LS[ls]
		want := map[string]portSpec{}
		for b, l := range cfg.Bindings {
			if l == ls {
				n := bindingName(b)
				want[n+"-l"] = portSpec{typ: "patch", options: map[string]string{"peer": n + "-p"}}
			}
		}
		br := existing[ls]
		// Tunnels: reuse the vx port of each remote IP, update its key.
		tunByIP := map[string]string{}
		if br != nil {
			for name, pt := range s.bridgePorts(br) {
				if ip := pt.ExternalIDs["vtepsim_remote_ip"]; ip != "" {
					tunByIP[ip] = name
				} else if len(pt.Interfaces) == 1 {
					if i := s.ifaces[pt.Interfaces[0]]; i != nil && i.Type == "vxlan" {
						tunByIP[i.Options["remote_ip"]] = name
					}
				}
			}
		}
		for ip := range p.remoteIPs[ls] {
			name := tunByIP[ip]
			if name == "" {
				name = "vx" + strconv.Itoa(d.nextVX)
				d.nextVX++
			}
			opts := map[string]string{"remote_ip": ip, "key": strconv.Itoa(*lc.VNI)}
			if d.opt.TunnelLocalIP && len(cfg.TunnelIPs) > 0 {
				opts["local_ip"] = cfg.TunnelIPs[0]
			}
			want[name] = portSpec{typ: "vxlan", options: opts, ext: map[string]string{"vtepsim_remote_ip": ip}}
		}
		if br == nil {
			name := cfg.Switch + "_vtep_ls" + strconv.Itoa(d.nextLS)
			d.nextLS++
			uuid := w.newBridge(name, psBr.DatapathType, map[string]string{"vtep_logical_switch": "true",
				"logical_switch_name": ls, "vtepsim_switch": cfg.Switch}, true)
			var ports []string
			for _, pn := range sortedKeys(want) {
				spec := want[pn]
				ports = append(ports, w.newPort(pn, spec.typ, spec.options, spec.ext, spec.bfd))
			}
			w.bridgePorts(uuid, ovsdb.MutateOperationInsert, ports)
			newBrs = append(newBrs, uuid)
			p.lsBridge[ls] = name
			continue
		}
		p.lsBridge[ls] = br.Name
		if !br.McastSnoopingEnable {
			nb := &vswitchdb.Bridge{UUID: br.UUID, McastSnoopingEnable: true}
			w.add(d.c.Where(nb).Update(nb, &nb.McastSnoopingEnable))
		}
		w.syncPorts(s, br.UUID, s.bridgePorts(br), want, func(name string) bool { return name == br.Name })
	}

	// BFD bridge with one bfd<ip> port per remote IP.
	bfdWant := map[string]portSpec{}
	for _, ip := range p.allRemote {
		bfdWant[d.bfdPort(cfg, ip)] = portSpec{typ: "vxlan", options: map[string]string{"remote_ip": ip}, bfd: bfdConfig(cfg.BFD[ip])}
	}
	if bb := s.bridges[d.bfdBridge(cfg)]; bb != nil {
		w.syncPorts(s, bb.UUID, s.bridgePorts(bb), bfdWant, func(name string) bool {
			return name == bb.Name || !strings.HasPrefix(name, strings.TrimSuffix(d.bfdPort(cfg, "x"), "x"))
		})
	} else {
		uuid := w.newBridge(d.bfdBridge(cfg), psBr.DatapathType, map[string]string{"vtepsim_switch": cfg.Switch}, false)
		var ports []string
		for _, pn := range sortedKeys(bfdWant) {
			spec := bfdWant[pn]
			ports = append(ports, w.newPort(pn, spec.typ, spec.options, spec.ext, spec.bfd))
		}
		w.bridgePorts(uuid, ovsdb.MutateOperationInsert, ports)
		newBrs = append(newBrs, uuid)
	}
	w.rootBridges(s.root.UUID, ovsdb.MutateOperationInsert, newBrs)
	// Removals wait until the pass's flows no longer use what is removed
	// (d.removeLate), except a port whose name is created again in this
	// pass (a binding moving to another logical switch): OVS port names
	// are unique, so that move is one transaction.
	late := &ovsWriter{c: d.c}
	for _, br := range sortedKeys(w.delPorts) {
		var now, later []string
		for _, pd := range w.delPorts[br] {
			if w.added[pd.name] {
				now = append(now, pd.uuid)
			} else {
				later = append(later, pd.uuid)
			}
		}
		w.bridgePorts(br, ovsdb.MutateOperationDelete, now)
		late.bridgePorts(br, ovsdb.MutateOperationDelete, later)
	}
	late.rootBridges(s.root.UUID, ovsdb.MutateOperationDelete, w.delBrs)
	d.late = late.ops
	if err := errors.Join(w.err, late.err); err != nil {
		return fmt.Errorf("build Open_vSwitch ops: %w", err)
	}
	if len(w.ops) == 0 {
		return nil
	}
	if err := transact(ctx, d.c, w.ops); err != nil {
		return fmt.Errorf("Open_vSwitch: %w", err)
	}
	d.log.Debug("ovsdb updated", "ops", len(w.ops))
	return nil
}

// removeLate applies the removals of ports and bridges that applyOVSDB
// held back until the pass's flows were in.
func (d *dataplane) removeLate(ctx context.Context) error {
	ops := d.late
	d.late = nil
	if len(ops) == 0 {
		return nil
	}
	if err := transact(ctx, d.c, ops); err != nil {
		return fmt.Errorf("Open_vSwitch removals: %w", err)
	}
	d.log.Debug("ovsdb removals", "ops", len(ops))
	return nil
}

// bfdConfig maps Tunnel.bfd_params and bfd_config_remote to OVS
// Interface.bfd, with ovs-vtep's defaults.
func bfdConfig(c BFDConfig) map[string]string {
	m := map[string]string{
		"enable": "false", "min_rx": "1000", "min_tx": "100", "decay_min_rx": "0",
		"cpath_down": "false", "check_tnl_key": "false",
		"bfd_dst_ip": bfdRemoteIP, "bfd_local_dst_mac": bfdDefaultMAC,
	}
	for _, k := range []string{"enable", "min_rx", "min_tx", "decay_min_rx", "cpath_down", "check_tnl_key", "forwarding_if_rx"} {
		if v, ok := c.Params[k]; ok {
			m[k] = v
		}
	}
	if v := c.Remote["bfd_dst_ip"]; v != "" {
		m["bfd_dst_ip"] = v
	}
	if v := c.Remote["bfd_dst_mac"]; v != "" {
		m["bfd_local_dst_mac"] = v
	}
	return m
}

func u32p(v uint32) *uint32 { return &v }
func u16p(v uint16) *uint16 { return &v }
func u64p(v uint64) *uint64 { return &v }
func u8p(v uint8) *uint8    { return &v }

func uniq(ps []uint32) []uint32 {
	out := slices.Clone(ps)
	slices.Sort(out)
	return slices.Compact(out)
}

// groupMAC maps a multicast group to its Ethernet address: 01:00:5e +
// the low 23 bits of an IPv4 group, 33:33 + the low 32 bits of an IPv6 one.
func groupMAC(group string) string {
	ip := net.ParseIP(group)
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return net.HardwareAddr{0x01, 0x00, 0x5e, v4[1] & 0x7f, v4[2], v4[3]}.String()
	}
	return net.HardwareAddr{0x33, 0x33, ip[12], ip[13], ip[14], ip[15]}.String()
}

func outputs(ports []uint32) []openflow.Action {
	acts := make([]openflow.Action, 0, len(ports))
	for _, p := range ports {
		acts = append(acts, openflow.Output{Port: p})
	}
	return acts
}

// healthy reports whether a tunnel may carry flooded traffic: BFD is off,
// or BFD says forwarding.
func (d *dataplane) healthy(s *ovsSnap, cfg *Config, ip string) bool {
	i := s.ifName[d.bfdPort(cfg, ip)]
	if i == nil || i.BFD["enable"] != "true" {
		return true
	}
	return i.BFDStatus["forwarding"] == "true"
}

// flows computes the desired flows of every bridge.
//
// A bridge some of whose ports have no OpenFlow port number yet (just
// created) is left out, so that its flows change in one bundle once every
// port exists, rather than in two steps.
func (d *dataplane) flows(s *ovsSnap, cfg *Config, p *plan) (map[string]flowSet, map[flowKey]statsRef, map[string]bool) {
	out := map[string]flowSet{}
	notReady := map[string]bool{}
	refs := map[flowKey]statsRef{}
	ps := flowSet{}
	out[cfg.Switch] = ps
	for b, ls := range cfg.Bindings {
		if !p.status.Realized[ls] {
			continue
		}
		phys, patch := s.ofport(b.Port), s.ofport(bindingName(b)+"-p")
		if phys == 0 || patch == 0 {
			notReady[cfg.Switch] = true
			continue
		}
		if b.VLAN != 0 {
			in := openflow.Match{InPort: u32p(phys), VlanVID: u16p(uint16(b.VLAN))}
			ps.addDir(0, 200, in, openflow.Instructions{Actions: []openflow.Action{openflow.PopVLAN{}, openflow.Output{Port: patch}}}, dirToLS, p.lsBridge[ls])
			refs[flowKey{0, 200, in.Key()}] = statsRef{b, true}
			out := openflow.Match{InPort: u32p(patch)}
			ps.addDir(0, 200, out, openflow.Instructions{Actions: []openflow.Action{openflow.PushVLAN{VID: uint16(b.VLAN)}, openflow.Output{Port: phys}}}, dirFromLS, p.lsBridge[ls])
			refs[flowKey{0, 200, out.Key()}] = statsRef{b, false}
		} else {
			in := openflow.Match{InPort: u32p(phys)}
			ps.addDir(0, 100, in, openflow.Instructions{Actions: []openflow.Action{openflow.Output{Port: patch}}}, dirToLS, p.lsBridge[ls])
			refs[flowKey{0, 100, in.Key()}] = statsRef{b, true}
			out := openflow.Match{InPort: u32p(patch)}
			ps.addDir(0, 100, out, openflow.Instructions{Actions: []openflow.Action{openflow.Output{Port: phys}}}, dirFromLS, p.lsBridge[ls])
			refs[flowKey{0, 100, out.Key()}] = statsRef{b, false}
		}
	}
	for ls, brName := range p.lsBridge {
		lc := cfg.LS[ls]
		fs := flowSet{}
		out[brName] = fs
		var locals []uint32
		for b, l := range cfg.Bindings {
			if l == ls {
				if op := s.ofport(bindingName(b) + "-l"); op != 0 {
					locals = append(locals, op)
				} else {
					notReady[brName] = true
				}
			}
		}
		slices.Sort(locals)
		tun := map[string]uint32{}
		for ip := range p.remoteIPs[ls] {
			for _, pt := range s.ports {
				if pt.ExternalIDs["vtepsim_remote_ip"] == ip && len(pt.Interfaces) == 1 {
					if i := s.ifaces[pt.Interfaces[0]]; i != nil && i.Ofport != nil && *i.Ofport > 0 && d.onBridge(s, brName, pt.UUID) {
						tun[ip] = uint32(*i.Ofport)
					}
				}
			}
			if tun[ip] == 0 {
				notReady[brName] = true
			}
		}
		learn := openflow.Learn{Table: 1, Priority: 1000, IdleTimeout: uint16(d.opt.MACAging / time.Second), Cookie: learnCookie,
			Limit: uint32(max(d.opt.MaxLearnedPerLS, 0))}
		igmpLearn := openflow.Learn{Table: 3, Priority: 1, IdleTimeout: 1, Cookie: igmpCookie}
		for _, lp := range locals {
			fs.add(0, 100, openflow.Match{InPort: u32p(lp)}, openflow.Instructions{Actions: []openflow.Action{learn}, GotoTable: 1})
			// IGMP from a local port goes through OVS's own snooping
			// (NORMAL on a bridge with mcast_snooping_enable).
			fs.add(0, 200, openflow.Match{InPort: u32p(lp), EthType: u16p(0x0800), IPProto: u8p(2)},
				openflow.Instructions{Actions: []openflow.Action{learn, igmpLearn, openflow.Output{Port: openflow.PortNormal}}})
			// MLD (IPv6): queries, v1 reports and dones, v2 reports.
			for _, typ := range []uint8{130, 131, 132, 143} {
				fs.add(0, 200, openflow.Match{InPort: u32p(lp), EthType: u16p(0x86dd), IPProto: u8p(58), ICMPv6Type: u8p(typ)},
					openflow.Instructions{Actions: []openflow.Action{learn, igmpLearn, openflow.Output{Port: openflow.PortNormal}}})
			}
		}
		for _, tp := range tun {
			fs.add(0, 1000, openflow.Match{InPort: u32p(tp)}, openflow.Instructions{WriteMetadata: u64p(1), GotoTable: 1})
		}
		fs.add(0, 0, openflow.Match{}, openflow.Instructions{})
		// Remote unicast MACs, only for traffic from local ports (split horizon).
		for mac, ip := range p.macs[ls] {
			hw, err := net.ParseMAC(mac)
			if err != nil || tun[ip] == 0 {
				continue
			}
			fs.add(1, 1000, openflow.Match{Metadata: u64p(0), EthDst: hw}, openflow.Instructions{Actions: outputs([]uint32{tun[ip]})})
		}
		// Flood: service node uses the first healthy locator, source node all.
		pick := func(ips []string) []uint32 {
			var ports []uint32
			for _, ip := range ips {
				if tun[ip] == 0 {
					continue
				}
				if lc.SourceNode && !d.opt.NoSourceNode {
					ports = append(ports, tun[ip])
				} else if d.healthy(s, cfg, ip) {
					return []uint32{tun[ip]}
				}
			}
			return ports
		}
		// Multicast MACs: remote receivers from Mcast_Macs_Remote, local
		// receivers from IGMP snooping (all local ports when not snooped).
		mcast := map[string]bool{}
		for mac := range lc.Mcast {
			if mac != unknownDst && lc.VNI != nil {
				mcast[mac] = true
			}
		}
		snooped := map[string][]uint32{}
		for g, ports := range d.groups[brName] {
			m := groupMAC(g)
			snooped[m] = append(snooped[m], ports...)
			mcast[m] = true
		}
		for mac := range mcast {
			hw, err := net.ParseMAC(mac)
			if err != nil || hw[0]&1 == 0 {
				continue
			}
			lp := locals
			if ports, ok := snooped[mac]; ok {
				lp = uniq(ports)
			}
			var remote []uint32
			if lc.VNI != nil {
				remote = pick(lc.Mcast[mac])
			}
			fs.add(1, 1100, openflow.Match{Metadata: u64p(0), EthDst: hw}, openflow.Instructions{Actions: outputs(append(slices.Clone(lp), remote...))})
			fs.add(1, 1100, openflow.Match{Metadata: u64p(1), EthDst: hw}, openflow.Instructions{Actions: outputs(lp)})
		}
		var flood []uint32
		if lc.VNI != nil {
			flood = pick(lc.Mcast[unknownDst])
		}
		fs.add(1, 1, openflow.Match{Metadata: u64p(1)}, openflow.Instructions{Actions: outputs(locals)})
		fs.add(1, 0, openflow.Match{}, openflow.Instructions{Actions: outputs(append(slices.Clone(locals), flood...))})
	}
	return out, refs, notReady
}

func (d *dataplane) onBridge(s *ovsSnap, br, portUUID string) bool {
	b := s.bridges[br]
	return b != nil && slices.Contains(b.Ports, portUUID)
}

func (d *dataplane) mgmt(br string) string { return filepath.Join(d.opt.RunDir, br+".mgmt") }

// applyFlows diffs and installs the flows of every bridge, and drops
// connections to bridges that are gone. All bundles of the pass are
// prepared first (the switch has accepted every message) and only then
// committed, in the make-before-break order of stages; if any bridge
// refuses a message nothing of the pass is committed. It reports whether
// the bundles of the bridges that took part were committed.
func (d *dataplane) applyFlows(ctx context.Context, s *ovsSnap, cfg *Config, p *plan) (bool, error) {
	want, refs, notReady := d.flows(s, cfg, p)
	d.statsMu.Lock()
	d.statsFlows = refs
	d.statsMu.Unlock()
	for name, b := range d.of {
		if _, ok := want[name]; !ok || s.bridges[name] == nil {
			d.closeBridge(b)
		}
	}
	var errs []error
	ready := map[string]*bridgeOF{}
	for _, name := range sortedKeys(want) {
		if s.bridges[name] == nil {
			continue // created in this pass; flows follow when it exists
		}
		if notReady[name] {
			errs = append(errs, fmt.Errorf("bridge %s: ports without ofport: %w", name, errNotReady))
			continue
		}
		ls := ""
		for l, bn := range p.lsBridge {
			if bn == name {
				ls = l
			}
		}
		b, err := d.bridge(ctx, name, ls)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ready[name] = b
	}
	plan := stages(cfg.Switch, ready, want)
	if err := d.commitStages(ctx, plan); err != nil {
		return false, errors.Join(append(errs, err)...)
	}
	return true, errors.Join(errs...)
}

// stage is one bundle of a pass: mods for bridge b, after which b has the
// flows after.
type stage struct {
	b     *bridgeOF
	mods  []openflow.FlowMod
	after flowSet
}

// stages orders the flow changes of one pass across bridges, make before
// break. OpenFlow bundles are per bridge, so a change that touches the
// physical-switch bridge PS and logical-switch bridges is committed as
// several bundles, in this order:
//
//  1. PS, "early": flows into a logical switch (port → patch port) that go
//     away, and flows out of one (patch port → port) that are new or
//     changed;
//  2. every logical-switch bridge, one bundle each, in name order (each
//     atomic: remote MACs, tunnels, flood sets, learning);
//  3. PS, "late": the other PS changes: new or changed flows into a logical
//     switch, flows out of one that go away.
//
// So a frame from a port enters a logical switch only once that switch's
// flows for it are in, and stops entering before they go; a logical switch
// floods to a binding only while PS can take the frame out to its port.
// Each frame is handled as in the old configuration or as in the new one:
// between two commits a frame entering PS meets the old or new ingress
// flow, the old or new LS bridge, and an egress flow of either (PS holds
// the union of old and new egress flows between stages 1 and 3).
//
// PS flows of a binding whose logical-switch bridge takes no part in this
// pass (just created, or its ports have no OpenFlow number yet) are held
// as they are, so that PS never sends frames into a bridge before its
// flows are in. A bridge's first bundle on a new connection replaces all of
// its flows (stage 2 for an LS bridge, stage 3 for PS).
func stages(ps string, ready map[string]*bridgeOF, want map[string]flowSet) []stage {
	var out []stage
	var early, late *stage
	if b := ready[ps]; b != nil {
		w := maps.Clone(want[ps])
		// Hold the flows of bindings whose LS bridge is not in this pass.
		held := func(e flowEntry) bool { _, ok := ready[e.dep]; return e.dep != "" && !ok && want[e.dep] != nil }
		for k, e := range w {
			if held(e) {
				if o, ok := b.installed[k]; ok {
					w[k] = o
				} else {
					delete(w, k)
				}
			}
		}
		for k, o := range b.installed {
			if _, ok := w[k]; !ok && held(o) {
				w[k] = o
			}
		}
		if !b.synced {
			late = &stage{b: b, mods: replaceAll(b, w), after: w}
		} else {
			mid := maps.Clone(b.installed)
			e, l := &stage{b: b, after: mid}, &stage{b: b, after: w}
			for k, o := range b.installed {
				if _, ok := w[k]; ok {
					continue
				}
				if o.dir == dirToLS {
					e.mods = append(e.mods, deleteStrict(o))
					delete(mid, k)
				} else {
					l.mods = append(l.mods, deleteStrict(o))
				}
			}
			for _, k := range sortedFlowKeys(w) {
				f := w[k]
				if old, ok := b.installed[k]; ok && old.enc == f.enc {
					continue
				}
				if f.dir == dirFromLS {
					e.mods = append(e.mods, f.mod)
					mid[k] = f
				} else {
					l.mods = append(l.mods, f.mod)
				}
			}
			early, late = e, l
		}
	}
	if early != nil {
		out = append(out, *early)
	}
	for _, name := range sortedKeys(ready) {
		if name == ps {
			continue
		}
		b := ready[name]
		w := want[name]
		if !b.synced {
			out = append(out, stage{b: b, mods: replaceAll(b, w), after: w})
			continue
		}
		st := stage{b: b, after: w}
		// Deletions first, then additions and changes (the bundle is
		// ordered).
		for k, o := range b.installed {
			if _, ok := w[k]; !ok {
				st.mods = append(st.mods, deleteStrict(o))
			}
		}
		for _, k := range sortedFlowKeys(w) {
			if old, ok := b.installed[k]; !ok || old.enc != w[k].enc {
				st.mods = append(st.mods, w[k].mod)
			}
		}
		out = append(out, st)
	}
	if late != nil {
		out = append(out, *late)
	}
	// A stage with nothing to change still records its flows.
	return out
}

// replaceAll is the first bundle of a connection: it replaces every flow
// of the bridge but learned ones (on PS, every flow, as ovs-vtep's
// del-flows).
func replaceAll(b *bridgeOF, want flowSet) []openflow.FlowMod {
	var mods []openflow.FlowMod
	if b.ls == "" {
		mods = append(mods, openflow.FlowMod{Command: openflow.FlowDelete, Table: openflow.TableAll})
	} else {
		mods = append(mods, openflow.FlowMod{Command: openflow.FlowDelete, Table: openflow.TableAll, Cookie: ourCookie, CookieMask: allOnes})
	}
	for _, k := range sortedFlowKeys(want) {
		mods = append(mods, want[k].mod)
	}
	return mods
}

func deleteStrict(f flowEntry) openflow.FlowMod {
	return openflow.FlowMod{Command: openflow.FlowDeleteStrict, Table: f.mod.Table, Priority: f.mod.Priority,
		Match: f.mod.Match, Cookie: ourCookie, CookieMask: allOnes}
}

// commitStages prepares every non-empty stage, then commits them in order.
// If a bridge refuses a message, every prepared bundle is discarded and
// nothing changes. If a commit fails (the switch found a problem only then)
// the later stages are discarded and the failing bridge's connection is
// dropped, so its next bundle replaces all its flows.
func (d *dataplane) commitStages(ctx context.Context, plan []stage) error {
	t0 := time.Now()
	prepared := make([]*openflow.Prepared, len(plan))
	discard := func() {
		for _, p := range prepared {
			if p != nil {
				_ = p.Discard(ctx)
			}
		}
	}
	var errs []error
	nmods := 0
	for i, st := range plan {
		if len(st.mods) == 0 {
			continue
		}
		nmods += len(st.mods)
		p, err := st.b.conn.Prepare(ctx, st.mods)
		if err != nil {
			errs = append(errs, fmt.Errorf("bridge %s: %w", st.b.name, err))
			d.closeBridge(st.b)
			continue
		}
		prepared[i] = p
	}
	if len(errs) > 0 {
		discard()
		return fmt.Errorf("nothing of this pass's flows committed: %w", errors.Join(errs...))
	}
	for i, st := range plan {
		if p := prepared[i]; p != nil {
			prepared[i] = nil
			if err := p.Commit(ctx); err != nil {
				discard()
				d.closeBridge(st.b)
				return fmt.Errorf("bridge %s: %w", st.b.name, err)
			}
		}
		st.b.installed = st.after
		st.b.synced = true
	}
	if nmods > 0 {
		d.log.Debug("flows installed", "bundles", len(plan), "flow_mods", nmods, "duration_seconds", time.Since(t0).Seconds())
	}
	return nil
}

func (d *dataplane) closeBridge(b *bridgeOF) {
	if b.conn != nil {
		b.conn.Close()
	}
	delete(d.of, b.name)
	d.mu.Lock()
	delete(d.learned, b.name)
	d.mu.Unlock()
}

// bridge returns a connected bridgeOF, dialling and (for LS bridges)
// starting the learned-MAC monitor when needed.
func (d *dataplane) bridge(ctx context.Context, name, ls string) (*bridgeOF, error) {
	if b := d.of[name]; b != nil {
		select {
		case <-b.conn.Done():
			d.closeBridge(b)
		default:
			return b, nil
		}
	}
	if _, err := os.Stat(d.mgmt(name)); err != nil {
		return nil, fmt.Errorf("bridge %s: management socket not ready: %w", name, errNotReady)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := openflow.Dial(dctx, d.mgmt(name))
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	b := &bridgeOF{name: name, ls: ls, conn: conn, installed: flowSet{}}
	d.of[name] = b
	go func() {
		<-conn.Done()
		d.kick()
	}()
	if ls != "" {
		d.mu.Lock()
		d.learned[name] = map[string]Learned{}
		d.mu.Unlock()
		sink := func(ups []openflow.FlowUpdate) { d.onFlowUpdates(name, ups) }
		conn.SetMonitorInstructions(false) // smaller updates; the MAC is in the match
		if err := conn.Monitor(dctx, 1, openflow.TableAll, sink); err != nil {
			d.closeBridge(b)
			return nil, fmt.Errorf("bridge %s: %w", name, err)
		}
	}
	return b, nil
}

var errNotReady = errors.New("not ready")

func sortedFlowKeys(fs flowSet) []flowKey {
	ks := make([]flowKey, 0, len(fs))
	for k := range fs {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].table != ks[j].table {
			return ks[i].table < ks[j].table
		}
		if ks[i].priority != ks[j].priority {
			return ks[i].priority < ks[j].priority
		}
		return ks[i].match < ks[j].match
	})
	return ks
}

// onFlowUpdates runs on a connection's read goroutine: it only queues.
func (d *dataplane) onFlowUpdates(bridge string, ups []openflow.FlowUpdate) {
	igmp := false
	defer func() {
		if igmp {
			d.kick()
		}
	}()
	d.mu.Lock()
	for _, u := range ups {
		switch u.Event {
		case openflow.EventInitial, openflow.EventAdded, openflow.EventModified, openflow.EventRemoved:
			f := u.Flow
			if f.Cookie == igmpCookie && f.Table == 3 {
				d.igmpDirty[bridge] = true
				igmp = true
				continue
			}
			if f.Cookie != learnCookie || f.Table != 1 || f.Match.EthDst == nil {
				continue
			}
			var port uint32
			if len(f.OutPorts) > 0 {
				port = f.OutPorts[0]
			}
			d.events = append(d.events, learnEvent{bridge: bridge, add: u.Event != openflow.EventRemoved, mac: f.Match.EthDst.String(), port: port})
		}
		// EventPaused/EventResumed need nothing: while a monitor is
		// paused (ovs-vswitchd had more than 128 kB of updates queued for
		// us) it still reports removals of flows we know, and on resume
		// it first sends every flow added or modified during the pause.
		// (Re-reading all learned flows on resume, as this did before,
		// cost O(learned MACs) per pause, which made a long burst slower
		// and slower.)
	}
	d.mu.Unlock()
	d.kickLearn()
}

// drainLearned applies queued learn events to d.learned, enforcing the
// rate limit: a MAC refused by it is removed from the datapath, so that it
// is learned again by a later packet, as on a switch whose learning engine
// is saturated.
//
// It returns the MACs that changed per bridge.
func (d *dataplane) drainLearned(ctx context.Context) map[string]map[string]bool {
	d.mu.Lock()
	evs := d.events
	d.events = nil
	d.mu.Unlock()
	dirty := map[string]map[string]bool{}
	mark := func(br, mac string) {
		if dirty[br] == nil {
			dirty[br] = map[string]bool{}
		}
		dirty[br][mac] = true
	}
	refused := map[string][]string{}
	now := time.Now()
	if d.opt.LearnRate > 0 {
		d.tokens = min(d.opt.LearnBurst(), d.tokens+now.Sub(d.lastTok).Seconds()*d.opt.LearnRate)
		d.lastTok = now
	}
	for _, e := range evs {
		m := d.learned[e.bridge]
		if m == nil {
			continue
		}
		mark(e.bridge, e.mac)
		if !e.add {
			delete(m, e.mac)
			continue
		}
		if old, ok := m[e.mac]; ok {
			old.Port = e.port
			m[e.mac] = old
			continue
		}
		if d.opt.LearnRate > 0 {
			if d.tokens < 1 {
				refused[e.bridge] = append(refused[e.bridge], e.mac)
				continue
			}
			d.tokens--
		}
		m[e.mac] = Learned{MAC: e.mac, Port: e.port, Since: now}
	}
	for br, macs := range refused {
		b := d.of[br]
		if b == nil {
			continue
		}
		var mods []openflow.FlowMod
		for _, mac := range macs {
			hw, _ := net.ParseMAC(mac)
			mods = append(mods, openflow.FlowMod{Command: openflow.FlowDeleteStrict, Table: 1, Priority: 1000,
				Match: openflow.Match{EthDst: hw}, Cookie: learnCookie, CookieMask: allOnes})
		}
		if err := b.conn.Bundle(ctx, mods); err != nil {
			d.log.Warn("cannot remove rate-limited MACs", "bridge", br, "err", err)
		}
		d.limited += len(macs)
		d.log.Debug("learning rate limit", "bridge", br, "refused", len(macs))
	}
	return dirty
}

// learnedStatus returns the published learned MACs per logical switch
// (capped) and whether some logical switch is at its cap.
func (d *dataplane) learnedStatus() (map[string][]Learned, bool) {
	out := map[string][]Learned{}
	full := false
	for ls, br := range d.lsBridge {
		m := d.learned[br]
		l := make([]Learned, 0, len(m))
		for _, e := range m {
			l = append(l, e)
		}
		if c := d.opt.MaxLearnedPerLS; c > 0 && len(l) >= c {
			// Keep the oldest entries.
			sort.Slice(l, func(i, j int) bool {
				if !l[i].Since.Equal(l[j].Since) {
					return l[i].Since.Before(l[j].Since)
				}
				return l[i].MAC < l[j].MAC
			})
			full = true
			l = l[:c]
		}
		out[ls] = l
	}
	return out, full
}

// collect fills the status: learned MACs (capped), BFD and stats.
func (d *dataplane) collect(s *ovsSnap, cfg *Config, p *plan, st *Status) {
	faults := map[string]bool{}
	for _, f := range st.SwitchFaults {
		faults[f] = true
	}
	d.lsBridge = p.lsBridge
	var full bool
	st.Learned, full = d.learnedStatus()
	if full {
		faults["mac_table_exhaustion"] = true
	}
	d.tableFull = full
	for _, ip := range p.allRemote {
		bs := map[string]string{"enabled": "false"}
		if i := s.ifName[d.bfdPort(cfg, ip)]; i != nil {
			for _, k := range []string{"state", "forwarding", "diagnostic", "remote_state", "remote_diagnostic"} {
				if v, ok := i.BFDStatus[k]; ok {
					bs[k] = v
				}
			}
			if i.BFD["enable"] == "true" {
				bs["enabled"] = "true"
			}
		}
		st.BFD[ip] = bs
	}
	for ls, br := range p.lsBridge {
		for _, g := range sortedKeys(d.groups[br]) {
			st.Groups[ls] = append(st.Groups[ls], Group{Group: g, MAC: groupMAC(g)})
		}
	}
	d.statsMu.Lock()
	st.Stats = maps.Clone(d.stats)
	d.statsMu.Unlock()
	st.SwitchFaults = sortedKeys(faults)
}

// readStats reads the binding counters from the physical-switch bridge's
// flow statistics and reports whether they changed.
func (d *dataplane) readStats(ctx context.Context, ps string) (bool, error) {
	b := d.of[ps]
	if b == nil {
		return false, nil
	}
	fs, err := b.conn.FlowStats(ctx, 0, ourCookie, allOnes)
	if err != nil {
		return false, fmt.Errorf("read binding stats: %w", err)
	}
	d.statsMu.Lock()
	defer d.statsMu.Unlock()
	n := map[PortVLAN]Counters{}
	for _, f := range fs {
		ref, ok := d.statsFlows[flowKey{f.Table, f.Priority, f.Match.Key()}]
		if !ok {
			continue
		}
		c := n[ref.b]
		if ref.from {
			c.PacketsFromLocal, c.BytesFromLocal = int(f.Packets), int(f.Bytes)
		} else {
			c.PacketsToLocal, c.BytesToLocal = int(f.Packets), int(f.Bytes)
		}
		n[ref.b] = c
	}
	changed := !maps.Equal(n, d.stats)
	d.stats = n
	return changed, nil
}

// refreshIGMP marks every LS bridge with snooped groups for a re-read of
// its snooping table (groups age out in OVS without any packet). It
// reports whether there was any.
func (d *dataplane) refreshIGMP() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	found := false
	for br, g := range d.groups {
		if len(g) > 0 {
			d.igmpDirty[br] = true
			found = true
		}
	}
	return found
}

// vswitchdCtl finds ovs-vswitchd's unixctl socket in the run directory.
func (d *dataplane) vswitchdCtl() (string, error) {
	if d.opt.VswitchdCtl != "" {
		return d.opt.VswitchdCtl, nil
	}
	p := filepath.Join(d.opt.RunDir, "ovs-vswitchd.ctl")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	b, err := os.ReadFile(filepath.Join(d.opt.RunDir, "ovs-vswitchd.pid"))
	if err != nil {
		return "", fmt.Errorf("find ovs-vswitchd control socket: %w", err)
	}
	return filepath.Join(d.opt.RunDir, "ovs-vswitchd."+strings.TrimSpace(string(b))+".ctl"), nil
}

// readGroups re-reads OVS's multicast snooping table (mdb/show) of the LS
// bridges that saw IGMP since the last pass.
func (d *dataplane) readGroups(ctx context.Context, s *ovsSnap, p *plan) error {
	d.mu.Lock()
	dirty := d.igmpDirty
	d.igmpDirty = map[string]bool{}
	d.mu.Unlock()
	var errs []error
	for br := range d.groups {
		if !slices.Contains(slices.Collect(maps.Values(p.lsBridge)), br) {
			delete(d.groups, br)
		}
	}
	for _, br := range p.lsBridge {
		if !dirty[br] {
			continue
		}
		ctl, err := d.vswitchdCtl()
		if err != nil {
			return err
		}
		out, err := unixctl(ctx, ctl, "mdb/show", br)
		if err != nil {
			errs = append(errs, fmt.Errorf("bridge %s: %w", br, err))
			continue
		}
		d.groups[br] = parseMDB(out, func(name string) uint32 { return s.ofport(name) })
	}
	return errors.Join(errs...)
}

// parseMDB parses `ovs-appctl mdb/show` output: a header, then lines
// "PORT VLAN GROUP AGE" where PORT is a port name or number and GROUP an
// IPv4 (IGMP) or IPv6 (MLD) group.
func parseMDB(out string, ofport func(string) uint32) map[string][]uint32 {
	g := map[string][]uint32{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] == "port" {
			continue
		}
		ip := net.ParseIP(f[2])
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if ip == nil || !ip.IsMulticast() {
			continue
		}
		var port uint32
		if n, err := strconv.ParseUint(f[0], 10, 32); err == nil {
			port = uint32(n)
		} else {
			port = ofport(f[0])
		}
		if port == 0 {
			continue
		}
		g[ip.String()] = append(g[ip.String()], port)
	}
	return g
}

func (d *dataplane) close() {
	for _, b := range d.of {
		d.closeBridge(b)
	}
}

func normMAC(s string) string {
	if hw, err := net.ParseMAC(s); err == nil {
		return hw.String()
	}
	return strings.ToLower(s)
}
