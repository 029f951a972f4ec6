package openflow

import (
	"encoding/binary"
	"fmt"
)

// Action is one OpenFlow action.
type Action interface{ encodeAction() []byte }

// Output sends the packet to a port.
type Output struct{ Port uint32 }

// PopVLAN removes the outer 802.1Q header.
type PopVLAN struct{}

// PushVLAN adds an 802.1Q header with the given VID.
type PushVLAN struct{ VID uint16 }

// Learn is the Nicira learn action as used for MAC learning: it installs, in
// Table, a flow matching eth_dst = the packet's eth_src that outputs to the
// packet's in_port. Limit > 0 uses learn2 with that limit.
type Learn struct {
	Table       uint8
	Priority    uint16
	IdleTimeout uint16
	HardTimeout uint16
	Cookie      uint64
	Limit       uint32
	// DeleteLearned removes the learned flows with this action's flow.
	DeleteLearned bool
}

func (a Output) encodeAction() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b[0:], 0)
	binary.BigEndian.PutUint16(b[2:], 16)
	binary.BigEndian.PutUint32(b[4:], a.Port)
	binary.BigEndian.PutUint16(b[8:], 0xffff)
	return b
}

func (PopVLAN) encodeAction() []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], 18)
	binary.BigEndian.PutUint16(b[2:], 8)
	return b
}

func (a PushVLAN) encodeAction() []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], 17)
	binary.BigEndian.PutUint16(b[2:], 8)
	binary.BigEndian.PutUint16(b[4:], 0x8100)
	f := oxm(nil, oxmVlanVID, be16(a.VID|vidPresent))
	sf := make([]byte, pad8(4+len(f)))
	binary.BigEndian.PutUint16(sf[0:], 25)
	binary.BigEndian.PutUint16(sf[2:], uint16(len(sf)))
	copy(sf[4:], f)
	return append(b, sf...)
}

func (a Learn) encodeAction() []byte {
	fixed := 32
	sub := uint16(nxastLearn)
	if a.Limit > 0 {
		fixed = 40
		sub = nxastLearn2
	}
	b := make([]byte, fixed)
	binary.BigEndian.PutUint16(b[0:], 0xffff)
	binary.BigEndian.PutUint32(b[4:], nxVendor)
	binary.BigEndian.PutUint16(b[8:], sub)
	binary.BigEndian.PutUint16(b[10:], a.IdleTimeout)
	binary.BigEndian.PutUint16(b[12:], a.HardTimeout)
	binary.BigEndian.PutUint16(b[14:], a.Priority)
	binary.BigEndian.PutUint64(b[16:], a.Cookie)
	var flags uint16
	if a.DeleteLearned {
		flags |= nxLearnFDelete
	}
	binary.BigEndian.PutUint16(b[24:], flags)
	b[26] = a.Table
	if a.Limit > 0 {
		binary.BigEndian.PutUint32(b[32:], a.Limit)
	}
	// NXM_OF_ETH_DST[] = NXM_OF_ETH_SRC[]
	b = binary.BigEndian.AppendUint16(b, nxLearnSrcFld|nxLearnDstMat|48)
	b = binary.BigEndian.AppendUint32(b, nxmOfEthSrc)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint32(b, nxmOfEthDst)
	b = binary.BigEndian.AppendUint16(b, 0)
	// output:NXM_OF_IN_PORT[]
	b = binary.BigEndian.AppendUint16(b, nxLearnSrcFld|nxLearnDstOut|16)
	b = binary.BigEndian.AppendUint32(b, nxmOfInPort)
	b = binary.BigEndian.AppendUint16(b, 0)
	out := make([]byte, pad8(len(b)))
	copy(out, b)
	binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	return out
}

// Instructions of a flow: Apply actions, then optionally write metadata and
// go to a table.
type Instructions struct {
	Actions []Action
	// WriteMetadata, if non-nil, writes this value (all bits) to metadata.
	WriteMetadata *uint64
	// GotoTable, if non-zero, continues in that table.
	GotoTable uint8
}

func (in *Instructions) encode() []byte {
	var b []byte
	if len(in.Actions) > 0 {
		var acts []byte
		for _, a := range in.Actions {
			acts = append(acts, a.encodeAction()...)
		}
		h := make([]byte, 8)
		binary.BigEndian.PutUint16(h[0:], 4) // OFPIT_APPLY_ACTIONS
		binary.BigEndian.PutUint16(h[2:], uint16(8+len(acts)))
		b = append(b, h...)
		b = append(b, acts...)
	}
	if in.WriteMetadata != nil {
		h := make([]byte, 24)
		binary.BigEndian.PutUint16(h[0:], 2) // OFPIT_WRITE_METADATA
		binary.BigEndian.PutUint16(h[2:], 24)
		binary.BigEndian.PutUint64(h[8:], *in.WriteMetadata)
		binary.BigEndian.PutUint64(h[16:], ^uint64(0))
		b = append(b, h...)
	}
	if in.GotoTable != 0 {
		h := make([]byte, 8)
		binary.BigEndian.PutUint16(h[0:], 1) // OFPIT_GOTO_TABLE
		binary.BigEndian.PutUint16(h[2:], 8)
		h[4] = in.GotoTable
		b = append(b, h...)
	}
	return b
}

// FlowMod is an OFPT_FLOW_MOD.
type FlowMod struct {
	Command     uint8
	Cookie      uint64
	CookieMask  uint64
	Table       uint8
	Priority    uint16
	IdleTimeout uint16
	HardTimeout uint16
	Flags       uint16
	Match       Match
	Instr       Instructions
}

func (f *FlowMod) marshal(xid uint32) []byte {
	m := f.Match.encode()
	in := f.Instr.encode()
	b := make([]byte, 48, 48+len(m)+len(in))
	binary.BigEndian.PutUint64(b[8:], f.Cookie)
	binary.BigEndian.PutUint64(b[16:], f.CookieMask)
	b[24] = f.Table
	b[25] = f.Command
	binary.BigEndian.PutUint16(b[26:], f.IdleTimeout)
	binary.BigEndian.PutUint16(b[28:], f.HardTimeout)
	binary.BigEndian.PutUint16(b[30:], f.Priority)
	binary.BigEndian.PutUint32(b[32:], noBuffer)
	binary.BigEndian.PutUint32(b[36:], PortAny)
	binary.BigEndian.PutUint32(b[40:], groupAny)
	binary.BigEndian.PutUint16(b[44:], f.Flags)
	b = append(b, m...)
	b = append(b, in...)
	putHeader(b, TypeFlowMod, xid)
	return b
}

// FlowStat is one flow read back from the switch (flow stats or a flow
// monitor update). OutPorts lists the ports of output actions found in
// apply-actions instructions, when instructions were present.
type FlowStat struct {
	Table       uint8
	Priority    uint16
	IdleTimeout uint16
	HardTimeout uint16
	Cookie      uint64
	Packets     uint64
	Bytes       uint64
	Match       Match
	OutPorts    []uint32
}

func decodeOutPorts(b []byte) []uint32 {
	var ports []uint32
	for len(b) >= 8 {
		typ := binary.BigEndian.Uint16(b)
		l := int(binary.BigEndian.Uint16(b[2:]))
		if l < 8 || l > len(b) {
			return ports
		}
		if typ == 4 || typ == 3 { // apply or write actions
			acts := b[8:l]
			for len(acts) >= 8 {
				at := binary.BigEndian.Uint16(acts)
				al := int(binary.BigEndian.Uint16(acts[2:]))
				if al < 8 || al > len(acts) {
					break
				}
				if at == 0 && al >= 8 {
					ports = append(ports, binary.BigEndian.Uint32(acts[4:]))
				}
				acts = acts[al:]
			}
		}
		b = b[l:]
	}
	return ports
}

// decodeFlowStats parses the body of an OFPMP_FLOW reply.
func decodeFlowStats(b []byte) ([]FlowStat, error) {
	var out []FlowStat
	for len(b) > 0 {
		if len(b) < 48 {
			return out, fmt.Errorf("short flow stats entry: %d bytes", len(b))
		}
		l := int(binary.BigEndian.Uint16(b))
		if l < 48 || l > len(b) {
			return out, fmt.Errorf("bad flow stats length %d", l)
		}
		fs := FlowStat{
			Table:       b[2],
			Priority:    binary.BigEndian.Uint16(b[12:]),
			IdleTimeout: binary.BigEndian.Uint16(b[14:]),
			HardTimeout: binary.BigEndian.Uint16(b[16:]),
			Cookie:      binary.BigEndian.Uint64(b[24:]),
			Packets:     binary.BigEndian.Uint64(b[32:]),
			Bytes:       binary.BigEndian.Uint64(b[40:]),
		}
		m, ml, err := decodeMatch(b[48:l])
		if err != nil {
			return out, err
		}
		fs.Match = m
		fs.OutPorts = decodeOutPorts(b[48+ml : l])
		out = append(out, fs)
		b = b[l:]
	}
	return out, nil
}

// Flow-monitor events.
const (
	EventInitial  = 0
	EventAdded    = 1
	EventRemoved  = 2
	EventModified = 3
	EventAbbrev   = 4
	EventPaused   = 5
	EventResumed  = 6
)

// FlowUpdate is one flow-monitor update.
type FlowUpdate struct {
	Event  uint16
	Reason uint8
	Flow   FlowStat
}

func decodeFlowUpdates(b []byte) ([]FlowUpdate, error) {
	var out []FlowUpdate
	for len(b) >= 4 {
		l := int(binary.BigEndian.Uint16(b))
		ev := binary.BigEndian.Uint16(b[2:])
		if l < 4 || l > len(b) {
			return out, fmt.Errorf("bad flow update length %d", l)
		}
		u := FlowUpdate{Event: ev}
		if ev <= EventModified {
			if l < 24 {
				return out, fmt.Errorf("short full flow update: %d", l)
			}
			u.Flow.Table = b[4]
			u.Reason = b[5]
			u.Flow.IdleTimeout = binary.BigEndian.Uint16(b[6:])
			u.Flow.HardTimeout = binary.BigEndian.Uint16(b[8:])
			u.Flow.Priority = binary.BigEndian.Uint16(b[10:])
			u.Flow.Cookie = binary.BigEndian.Uint64(b[16:])
			m, ml, err := decodeMatch(b[24:l])
			if err != nil {
				return out, err
			}
			u.Flow.Match = m
			u.Flow.OutPorts = decodeOutPorts(b[24+ml : l])
		}
		out = append(out, u)
		b = b[l:]
	}
	return out, nil
}

// Bytes returns the wire encoding of the flow mod (with xid 0), for
// comparing flows.
func (f *FlowMod) Bytes() []byte { return f.marshal(0) }
