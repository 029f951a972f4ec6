package sbsync

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovn-org/libovsdb/ovsdb"

	"github.com/vtepgw/vtepgw/internal/ovsdbx"
	"github.com/vtepgw/vtepgw/sbsync/sbdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// Ownership and option keys.
const (
	// ExternalIDGateway on a Chassis names the gateway (switch database
	// identity) that owns it, so a restarted daemon finds the chassis of
	// switches deleted while it was down.
	ExternalIDGateway = "vtepgw-gateway"
	optPhysSwitch     = "vtep-physical-switch"
	optLogSwitch      = "vtep-logical-switch"
	encapVXLAN        = "vxlan"
)

// SouthboundOptions configure one gateway's southbound side.
type SouthboundOptions struct {
	// GatewayID identifies the switch database (drivers.Session.ID).
	GatewayID string
	Logger    *slog.Logger
	// NorthdVersion pins the northd internal version used when the switch
	// sets ovn-match-northd-version=true. Empty: the version found in
	// SB_Global when the daemon first connects.
	NorthdVersion string
	// Limits bound learned MACs written to SB.
	Limits Limits
	// Replication configures service-node replication.
	Replication ReplicationOptions
	// ARPSuppression publishes each remote MAC's IP address (the first
	// address after the MAC in Port_Binding.mac) with it, for switches
	// that answer ARP and neighbour solicitations locally
	// (Ucast_Macs_Remote.ipaddr). ovn-controller-vtep never sets it.
	ARPSuppression bool
}

// contribution is what one SB row adds to one datapath: its MACs and the
// tunnel IP they sit behind. The IP also joins the datapath's flood set.
type contribution struct {
	dp   int
	ip   string
	macs []string
	// hostIPs holds the IP published with each MAC (ARPSuppression).
	hostIPs map[string]string
	port    string // logical port, for logs
	// redirect: a chassisredirect port's gateway chassis, published into
	// the switch on the other side of the router.
	redirect bool
}

// ownBinding is the Port_Binding that binds a VTEP logical switch here.
type ownBinding struct {
	pb      string
	pbUUID  string
	ps      string
	dp      int
	portKey int
}

// Southbound implements vtep.Southbound for one switch session.
type Southbound struct {
	c      *Client
	opts   SouthboundOptions
	log    *slog.Logger
	unsub  func()
	notify func(vtep.Key)

	mu sync.Mutex // guards everything below; held by Reconcile and Desired
	// topo is the last observed set of local physical switches.
	topo map[string]vtep.PhysicalSwitch
	// ownIPs are the local switches' tunnel IPs (never flood targets).
	ownIPs map[string]bool
	// chassisSeen: chassis this process created or adopted.
	chassisSeen map[string]bool
	contrib     map[string]contribution
	macIdx      map[int]map[string]map[string]string // dp → mac → contribution id → ip
	floodIdx    map[int]map[string]int               // dp → ip → refs
	redirIdx    map[int]map[string]int               // dp → gateway-chassis ip of redirect ports → refs
	groups      map[int]map[string]mcGroup           // dp → Multicast_Group name → group
	memberOf    map[string]map[groupRef]bool         // logical port → groups it is in
	pbNames     map[string]string                    // Port_Binding UUID → logical port
	pbUUIDs     map[string]string                    // logical port → Port_Binding UUID
	attach      map[string]int                       // VTEP LS → datapath key
	lsByDP      map[int][]string
	own         map[string]ownBinding     // VTEP LS → our binding
	igmp        map[vtep.MACKey]igmpEntry // learned group → the IGMP_Group we wrote
	replicator  map[string]string         // VTEP LS → switch-side replicator IP
	// Learned-MAC accounting for Limits.
	bucket        *bucket
	owned         map[vtep.MACKey]string // learned MAC whose FDB row we hold → physical switch
	lsCount       map[string]int
	psCount       map[string]int
	refused       map[vtep.MACKey]bool
	freed         bool
	faultsChanged bool
	replicators   map[string]string    // tunnel IP → replicator chassis
	healthy       map[string]bool      // tunnel IPs with BFD up
	pbGroup       map[string]string    // logical port → VTEP LS it was a candidate for
	logged        map[string]string    // log de-duplication: subject → last message
	warned        map[string]time.Time // rate-limited warnings: subject → last time
	pinned        string
	paused        bool
	lastSwitch    vtep.Switch // the switch of the last Reconcile, for Ready
	stats         Stats
}

// Stats are counters for status and metrics.
type Stats struct {
	Conflicts    int
	FDBClashes   int
	NoVXLANEncap int
	// RateDeferred counts learned MACs delayed by the rate limit, and
	// CapRefused those refused by a MAC cap.
	RateDeferred int
	CapRefused   int
	// LearnedOwned is the number of FDB rows held for learned MACs.
	LearnedOwned int
	// ChassisWithoutVXLAN is the number of chassis with bound ports in an
	// attached datapath and no vxlan encap, now.
	ChassisWithoutVXLAN int
	// IGMPGroups is the number of SB IGMP_Group memberships written for
	// switch-learned groups; McastGroups the IP multicast groups mapped to
	// Mcast_Macs_Remote.
	IGMPGroups  int
	McastGroups int
}

// NewSouthbound returns the southbound side of one gateway. notify is the
// gateway's Enqueue: SB events are fanned out to it.
func (c *Client) NewSouthbound(opts SouthboundOptions, notify func(vtep.Key)) *Southbound {
	if opts.Logger == nil {
		opts.Logger = c.log
	}
	s := &Southbound{c: c, opts: opts, log: opts.Logger, pinned: opts.NorthdVersion, notify: notify,
		bucket: newBucket(opts.Limits.Rate, opts.Limits.Burst)}
	s.reset()
	s.chassisSeen = map[string]bool{}
	s.logged = map[string]string{}
	s.warned = map[string]time.Time{}
	s.unsub = c.subscribe(notify)
	return s
}

// Close stops event delivery.
func (s *Southbound) Close() { s.unsub() }

func (s *Southbound) reset() {
	s.topo = map[string]vtep.PhysicalSwitch{}
	s.ownIPs = map[string]bool{}
	s.contrib = map[string]contribution{}
	s.macIdx = map[int]map[string]map[string]string{}
	s.floodIdx = map[int]map[string]int{}
	s.redirIdx = map[int]map[string]int{}
	s.groups = map[int]map[string]mcGroup{}
	s.memberOf = map[string]map[groupRef]bool{}
	s.pbNames = map[string]string{}
	s.pbUUIDs = map[string]string{}
	s.igmp = map[vtep.MACKey]igmpEntry{}
	s.replicator = map[string]string{}
	s.owned = map[vtep.MACKey]string{}
	s.lsCount = map[string]int{}
	s.psCount = map[string]int{}
	s.refused = map[vtep.MACKey]bool{}
	s.attach = map[string]int{}
	s.lsByDP = map[int][]string{}
	s.own = map[string]ownBinding{}
	s.pbGroup = map[string]string{}
}

// logOnce logs msg at level unless the same subject last logged the same
// message (the reference logs conflicts on every pass; we log each change).
func (s *Southbound) logOnce(level slog.Level, subject, msg string, args ...any) {
	if s.logged[subject] == msg {
		return
	}
	s.logged[subject] = msg
	s.log.Log(context.Background(), level, msg, args...)
}

// Ready reports whether the SB is connected and, when version matching is
// on, northd runs the pinned version.
func (s *Southbound) Ready() bool {
	if !s.c.Connected() {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused && s.lastSwitch != nil {
		// The gateway holds every key while we are paused, so Reconcile
		// would never see the version change that ends the pause.
		s.checkVersion(s.lastSwitch)
	}
	return !s.paused
}

// --- lookups (SB cache) ---

func (s *Southbound) pbByName(name string) *sbdb.PortBinding {
	t := s.c.table("Port_Binding")
	if t == nil {
		return nil
	}
	_, m := t.LookupOne(idxPBName, name)
	if m == nil {
		return nil
	}
	return m.(*sbdb.PortBinding)
}

// pbsByLS returns vtep Port_Bindings whose options name logical switch ls.
func (s *Southbound) pbsByLS(ls string) []*sbdb.PortBinding {
	return s.pbsBy(idxPBLS, ls)
}

// pbsByChassis returns the Port_Bindings bound to a chassis UUID.
func (s *Southbound) pbsByChassis(uuid string) []*sbdb.PortBinding {
	return s.pbsBy(idxPBChassis, uuid)
}

// pbsByType returns the Port_Bindings of one type.
func (s *Southbound) pbsByType(typ string) []*sbdb.PortBinding {
	return s.pbsBy(idxPBType, typ)
}

// pbsBy returns the Port_Bindings whose index key is key, sorted by name.
func (s *Southbound) pbsBy(index, key string) []*sbdb.PortBinding {
	t := s.c.table("Port_Binding")
	if t == nil {
		return nil
	}
	rows := t.Lookup(index, key)
	out := make([]*sbdb.PortBinding, 0, len(rows))
	for _, m := range rows {
		out = append(out, m.(*sbdb.PortBinding))
	}
	slices.SortFunc(out, func(a, b *sbdb.PortBinding) int { return strings.Compare(a.LogicalPort, b.LogicalPort) })
	return out
}

func (s *Southbound) dpKey(uuid string) int {
	t := s.c.table("Datapath_Binding")
	if t == nil {
		return 0
	}
	if m := t.RowShallow(uuid); m != nil {
		return m.(*sbdb.DatapathBinding).TunnelKey
	}
	return 0
}

func (s *Southbound) dpUUID(key int) string {
	t := s.c.table("Datapath_Binding")
	if t == nil {
		return ""
	}
	u, _ := t.LookupOne(idxDPKey, strconv.Itoa(key))
	return u
}

func (s *Southbound) chassisByName(name string) (string, *sbdb.Chassis) {
	t := s.c.table("Chassis")
	if t == nil {
		return "", nil
	}
	u, m := t.LookupOne(idxChName, name)
	if m == nil {
		return "", nil
	}
	return u, m.(*sbdb.Chassis)
}

func (s *Southbound) chassis(uuid string) *sbdb.Chassis {
	t := s.c.table("Chassis")
	if t == nil {
		return nil
	}
	if m := t.Row(uuid); m != nil {
		return m.(*sbdb.Chassis)
	}
	return nil
}

func (s *Southbound) encap(uuid string) *sbdb.Encap {
	t := s.c.table("Encap")
	if t == nil {
		return nil
	}
	if m := t.Row(uuid); m != nil {
		return m.(*sbdb.Encap)
	}
	return nil
}

// vxlanIP returns the tunnel IP to reach chassis ch with: the port's own
// encap when it names a vxlan one, else the default (options:is_default)
// vxlan encap, else the lowest vxlan IP.
func (s *Southbound) vxlanIP(ch *sbdb.Chassis, pbEncap *string) string {
	if pbEncap != nil {
		if e := s.encap(*pbEncap); e != nil && e.Type == encapVXLAN {
			return e.IP
		}
	}
	var ips []string
	for _, u := range ch.Encaps {
		e := s.encap(u)
		if e == nil || e.Type != encapVXLAN {
			continue
		}
		if e.Options["is_default"] == "true" {
			return e.IP
		}
		ips = append(ips, e.IP)
	}
	if len(ips) == 0 {
		return ""
	}
	slices.Sort(ips)
	return ips[0]
}

// isOurChassis reports whether a chassis UUID belongs to a local switch.
func (s *Southbound) isOurChassis(uuid string) bool {
	ch := s.chassis(uuid)
	if ch == nil {
		return false
	}
	_, ok := s.topo[ch.Name]
	return ok
}

// --- vtep.Desired ---

// LogicalSwitch: a bound VTEP logical switch carries its datapath's key
// (the VNI) and source-node replication; every other one gets key 0, as
// ovn-controller-vtep does.
func (s *Southbound) LogicalSwitch(obs vtep.LogicalSwitch) vtep.LogicalSwitch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if dp, ok := s.attach[obs.Name]; ok {
		return vtep.LogicalSwitch{Name: obs.Name, VNI: &dp, ReplicationMode: s.effectiveMode(obs.Name)}
	}
	zero := 0
	return vtep.LogicalSwitch{Name: obs.Name, VNI: &zero}
}

// UcastRemote: the MAC's lowest-ordered contributor in the attached
// datapath wins; duplicates were warned about when they appeared.
func (s *Southbound) UcastRemote(k vtep.MACKey) (vtep.UcastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dp, ok := s.attach[k.LS]
	if !ok {
		return vtep.UcastMAC{}, false
	}
	cs := s.macIdx[dp][k.MAC]
	if len(cs) == 0 {
		return vtep.UcastMAC{}, false
	}
	id := slices.Min(slices.Collect(maps.Keys(cs)))
	v := vtep.UcastMAC{MACKey: k, Locator: cs[id]}
	if s.opts.ARPSuppression {
		v.IP = s.contrib[id].hostIPs[k.MAC]
	}
	return v, true
}

// McastRemote: unknown-dst replicates to the datapath's flood set; an IP
// multicast MAC replicates to the chassis of its group's ports (see package
// mcast). Our own tunnel IPs are never targets.
func (s *Southbound) McastRemote(k vtep.MACKey) (vtep.McastMAC, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dp, ok := s.attach[k.LS]
	if !ok {
		return vtep.McastMAC{}, false
	}
	if k.MAC != vtep.UnknownDst {
		e, ok := s.groupEntry(dp, k.MAC)
		e.MACKey = k
		return e, ok
	}
	locs := s.floodLocators(dp)
	if s.effectiveMode(k.LS) == vtep.ReplicationServiceNode {
		locs = s.healthyReplicators()
	}
	if len(locs) == 0 {
		return vtep.McastMAC{}, false
	}
	return vtep.McastMAC{MACKey: k, Locators: locs}, true
}

// --- Reconcile ---

// batch collects one Reconcile's SB operations and resulting switch keys.
type batch struct {
	ss     *sbSession // the connection the operations are for
	cl     *opBuilder
	ops    []ovsdb.Operation
	fdbOps map[int]vtep.Key // op index → UcastLocal key (for clash fallback)
	keys   []Key
	groups map[string]bool
	named  int
	newCh  map[string]string // ps → named UUID of a chassis inserted now
	// newEncap: "ps/ip" → named UUID of an encap inserted now
	newEncap map[string]string
	fdbSeen  map[string]bool
	resync   bool
	// deferred keys are re-enqueued after deferWait (rate limit, caps).
	deferred  []vtep.Key
	deferWait time.Duration
	// igmp: IGMP_Group rows to write at the end (igmp.go)
	igmp map[igmpGroup]bool
}

// Key is vtep.Key, re-exported for brevity in this package.
type Key = vtep.Key

func (b *batch) add(ops []ovsdb.Operation, err error) error {
	if err != nil {
		return err
	}
	b.ops = append(b.ops, ops...)
	return nil
}

func (b *batch) name(prefix string) string {
	b.named++
	return prefix + strconv.Itoa(b.named)
}

// Reconcile processes one batch of keys; see vtep.Southbound.
func (s *Southbound) Reconcile(ctx context.Context, sw vtep.Switch, keys []vtep.Key) ([]vtep.Key, error) {
	ss := s.c.conn.session()
	if ss == nil {
		return nil, ovsdbx.ErrNotConnected
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &batch{ss: ss, cl: ss.ops, groups: map[string]bool{}, newCh: map[string]string{}, newEncap: map[string]string{}, fdbOps: map[int]vtep.Key{}, fdbSeen: map[string]bool{}}

	resync := slices.ContainsFunc(keys, func(k vtep.Key) bool { return k.Kind == vtep.KindResync })
	b.resync = resync
	has := func(kinds ...vtep.Kind) bool {
		return resync || slices.ContainsFunc(keys, func(k vtep.Key) bool { return slices.Contains(kinds, k.Kind) })
	}
	s.lastSwitch = sw
	if has(vtep.KindSBGlobal) {
		s.checkVersion(sw)
	}
	if s.paused {
		return nil, errPaused
	}
	// Topology first: which physical switches are local, and their chassis.
	// Only switch-side events can change it, so other batches skip reading it.
	topoChanged := map[string]bool{}
	if resync {
		s.reset()
	}
	newTopo := s.topo
	if has(vtep.KindPhysicalSwitch, vtep.KindLogicalSwitch) {
		newTopo = map[string]vtep.PhysicalSwitch{}
		for _, ps := range sw.PhysicalSwitches() {
			newTopo[ps.Name] = ps
		}
	}
	for name, ps := range newTopo {
		old, ok := s.topo[name]
		if !ok || !slices.Equal(old.TunnelIPs, ps.TunnelIPs) || !slices.Equal(old.LogicalSwitchNames(), ps.LogicalSwitchNames()) {
			topoChanged[name] = true
			for _, ls := range old.LogicalSwitchNames() {
				b.groups[ls] = true
			}
			for _, ls := range ps.LogicalSwitchNames() {
				b.groups[ls] = true
			}
		}
	}
	for name, old := range s.topo {
		if _, ok := newTopo[name]; !ok {
			topoChanged[name] = true
			for _, ls := range old.LogicalSwitchNames() {
				b.groups[ls] = true
			}
		}
	}
	s.topo = newTopo
	if len(topoChanged) > 0 {
		clear(s.ownIPs)
		for _, ps := range newTopo {
			for _, ip := range ps.TunnelIPs {
				s.ownIPs[ip] = true
			}
		}
	}

	// Chassis: resync, topology changes, and SB chassis events for ours.
	chassisTodo := map[string]bool{}
	for n := range topoChanged {
		chassisTodo[n] = true
	}
	for _, k := range keys {
		if k.Kind == vtep.KindSBChassis {
			if _, ok := s.topo[k.Name]; ok {
				chassisTodo[k.Name] = true
			}
		}
	}
	if resync {
		for n := range s.topo {
			chassisTodo[n] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(chassisTodo)) {
		if err := s.syncChassis(b, n); err != nil {
			return nil, err
		}
	}
	if resync || len(topoChanged) > 0 {
		if err := s.deleteOrphanChassis(b); err != nil {
			return nil, err
		}
	}

	// Port bindings: contributions, unbinding, groups.
	pbs := map[string]bool{}
	fdbKeys := map[vtep.Key]bool{}
	var mcKeys []vtep.Key
	var mmlKeys []vtep.MACKey
	if resync {
		if t := s.c.table("Port_Binding"); t != nil {
			for _, m := range t.Rows() {
				pbs[m.(*sbdb.PortBinding).LogicalPort] = true
			}
		}
		if t := s.c.table("FDB"); t != nil {
			for _, m := range t.Rows() {
				f := m.(*sbdb.FDB)
				fdbKeys[vtep.Key{Kind: vtep.KindSBFDB, Name: strconv.Itoa(f.DpKey), MAC: f.MAC}] = true
			}
		}
	}
	for _, k := range keys {
		switch k.Kind {
		case vtep.KindSBPortBinding:
			pbs[k.Name] = true
		case vtep.KindSBChassis:
			if ps, ok := s.topo[k.Name]; ok {
				// Our chassis changed (e.g. a replicator encap appeared):
				// revisit its bindings.
				for _, ls := range ps.LogicalSwitchNames() {
					b.groups[ls] = true
				}
			}
			// The chassis's encaps may have changed: recompute its ports.
			if u, _ := s.chassisByName(k.Name); u != "" {
				for _, pb := range s.pbsByChassis(u) {
					pbs[pb.LogicalPort] = true
				}
			}
		case vtep.KindSBFDB:
			fdbKeys[k] = true
		case vtep.KindLogicalSwitch, vtep.KindSBGroup:
			b.groups[k.Name] = true
		case vtep.KindUcastLocal:
			fdbKeys[vtep.Key{Kind: vtep.KindUcastLocal, Name: k.Name, MAC: k.MAC}] = true
		case vtep.KindMcastLocal:
			mmlKeys = append(mmlKeys, k.MACKey())
		case vtep.KindSBMulticastGroup:
			mcKeys = append(mcKeys, k)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(pbs)) {
		if err := s.syncPortBinding(b, name, fdbKeys); err != nil {
			return nil, err
		}
	}
	if resync {
		for _, ps := range s.topo {
			for _, ls := range ps.LogicalSwitchNames() {
				b.groups[ls] = true
			}
		}
	}
	if resync {
		s.resyncMulticastGroups(b)
	}
	for _, k := range mcKeys {
		if dp, err := strconv.Atoi(k.Name); err == nil {
			s.syncMulticastGroup(b, dp, k.MAC)
			// Our IGMP_Group rows for this group may be gone: recheck them.
			for mk, e := range s.igmp {
				if e.ref.dp == dp && e.addr == k.MAC {
					mmlKeys = append(mmlKeys, mk)
				}
			}
		}
	}
	for _, ls := range slices.Sorted(maps.Keys(b.groups)) {
		if err := s.syncGroup(b, sw, ls); err != nil {
			return nil, err
		}
	}

	// Learned MACs both ways.
	growForFDB(b, fdbKeys)
	for k := range fdbKeys {
		if err := s.syncFDBKey(b, sw, k); err != nil {
			return nil, err
		}
	}
	for _, k := range mmlKeys {
		if err := s.syncLocalMcast(b, sw, k); err != nil {
			return nil, err
		}
	}
	if resync {
		if err := s.resyncLocalMACs(b, sw); err != nil {
			return nil, err
		}
		if err := s.resyncLocalMcast(b, sw); err != nil {
			return nil, err
		}
		for ls, dp := range s.attach {
			s.emitAttached(b, ls, dp)
		}
	}
	if resync || mayChangeReplication(keys) {
		s.syncReplicators(b, sw)
	}
	if err := s.flushIGMP(b); err != nil {
		return nil, err
	}
	s.retryRefused(b)
	if err := s.commit(ctx, b); err != nil {
		return nil, err
	}
	if len(b.deferred) > 0 {
		keys, wait := b.deferred, max(b.deferWait, 10*time.Millisecond)
		time.AfterFunc(wait, func() {
			for _, k := range keys {
				s.notify(k)
			}
		})
	}
	if s.faultsChanged || resync {
		s.faultsChanged = false
		b.keys = append(b.keys, vtep.Key{Kind: vtep.KindFaults})
	}
	return b.keys, nil
}

var errPaused = fmt.Errorf("paused by a northd version mismatch: %w", vtep.ErrNotReady)

// commit sends the batch's SB operations in one transaction. When the
// transaction fails on an FDB index clash (OVN learned the MAC on another
// port meanwhile), it is sent again without the FDB writes, and those keys
// are retried later: one clash does not hold back the rest.
func (s *Southbound) commit(ctx context.Context, b *batch) error {
	if len(b.ops) == 0 {
		return nil
	}
	comment := "vtepgw: " + s.opts.GatewayID
	ops := append(b.ops, ovsdb.Operation{Op: ovsdb.OperationComment, Comment: &comment})
	_, err := b.ss.transact(ctx, ops)
	if err == nil || len(b.fdbOps) == 0 || !isConstraint(err) {
		if err != nil {
			return fmt.Errorf("southbound transaction (%d operations): %w", len(b.ops), err)
		}
		return nil
	}
	var rest []ovsdb.Operation
	var retry []vtep.Key
	for i, op := range b.ops {
		if k, ok := b.fdbOps[i]; ok {
			retry = append(retry, k)
			continue
		}
		rest = append(rest, op)
	}
	s.stats.FDBClashes++
	s.log.Warn("FDB index clash: OVN already has one of these MACs on another port; writing the rest and retrying these", "macs", len(retry), "err", err)
	if len(rest) > 0 {
		rest = append(rest, ovsdb.Operation{Op: ovsdb.OperationComment, Comment: &comment})
		if _, err := b.ss.transact(ctx, rest); err != nil {
			return fmt.Errorf("southbound transaction without FDB writes: %w", err)
		}
	}
	time.AfterFunc(time.Second, func() {
		for _, k := range retry {
			s.notify(k)
		}
	})
	return nil
}

func isConstraint(err error) bool {
	return err != nil && strings.Contains(err.Error(), "constraint violation")
}

// mayChangeReplication reports whether a batch may change replicators or their
// health: chassis events, tunnel (BFD) events, switch topology.
func mayChangeReplication(keys []vtep.Key) bool {
	return slices.ContainsFunc(keys, func(k vtep.Key) bool {
		return k.Kind == vtep.KindSBChassis || k.Kind == vtep.KindTunnel || k.Kind == vtep.KindPhysicalSwitch
	})
}
