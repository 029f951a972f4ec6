package hwvtep

import (
	"github.com/ovn-org/libovsdb/model"

	"github.com/vtepgw/vtepgw/drivers/hwvtep/vtepdb"
	"github.com/vtepgw/vtepgw/vtep"
)

// eventHandler maps cache events to keys. It only reads the cache and
// notifies; it never writes.
type eventHandler struct{ s *session }

func (h *eventHandler) OnAdd(table string, m model.Model) { h.keys(table, nil, m) }
func (h *eventHandler) OnUpdate(table string, old, m model.Model) {
	h.keys(table, old, m)
}
func (h *eventHandler) OnDelete(table string, m model.Model) { h.keys(table, m, nil) }

func (h *eventHandler) keys(table string, rows ...model.Model) {
	n := h.s.notify
	for _, m := range rows {
		if m == nil {
			continue
		}
		switch r := m.(type) {
		case *vtepdb.PhysicalSwitch:
			n(vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: r.Name})
		case *vtepdb.PhysicalPort:
			h.portOwner(r.UUID)
		case *vtepdb.LogicalSwitch, *vtepdb.LogicalSwitchExt:
			ls, _ := toLSRow(m)
			n(vtep.LogicalSwitchKey(ls.Name))
		case *vtepdb.Tunnel:
			n(vtep.Key{Kind: vtep.KindTunnel, Name: h.s.locatorIP(r.Remote)})
		case *vtepdb.Global, *vtepdb.GlobalExt:
			n(vtep.Key{Kind: vtep.KindSBGlobal})
		case *vtepdb.UcastMacsRemote, *vtepdb.McastMacsRemote, *vtepdb.UcastMacsLocal, *vtepdb.McastMacsLocal:
			lsUUID, mac := macRowKey(m)
			name, ok := h.s.lsName(lsUUID)
			if !ok {
				continue
			}
			k := vtep.Key{Name: name, MAC: mac}
			switch table {
			case tUMR:
				k.Kind = vtep.KindUcastRemote
			case tMMR:
				k.Kind = vtep.KindMcastRemote
			case tUML:
				k.Kind = vtep.KindUcastLocal
			case tMML:
				k.Kind = vtep.KindMcastLocal
			}
			n(k)
		}
	}
}

// portOwner notifies the physical switch that lists the port. A deleted
// port's switch is notified by the switch row's own update.
func (h *eventHandler) portOwner(portUUID string) {
	t := h.s.table(tPS)
	if t == nil {
		return
	}
	for _, m := range t.Rows() {
		ps := m.(*vtepdb.PhysicalSwitch)
		for _, p := range ps.Ports {
			if p == portUUID {
				h.s.notify(vtep.Key{Kind: vtep.KindPhysicalSwitch, Name: ps.Name})
				return
			}
		}
	}
}
