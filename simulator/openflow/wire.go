// Package openflow is a small OpenFlow 1.4 client for the subset the
// simulator needs: hello/echo, flow_mod, bundles (OFPT_BUNDLE_CONTROL and
// OFPT_BUNDLE_ADD_MESSAGE), flow-stats multipart and OpenFlow 1.4 flow
// monitoring, plus the Nicira learn action. It talks to a bridge's
// management socket (<rundir>/<bridge>.mgmt). It holds no simulator logic.
package openflow

import (
	"encoding/binary"
	"fmt"
	"net"
)

// Version is the OpenFlow version spoken (1.4).
const Version = 0x05

// Message types (OpenFlow 1.4).
const (
	TypeHello           = 0
	TypeError           = 1
	TypeEchoRequest     = 2
	TypeEchoReply       = 3
	TypeFlowMod         = 14
	TypeMultipartReq    = 18
	TypeMultipartReply  = 19
	TypeBarrierRequest  = 20
	TypeBarrierReply    = 21
	TypeBundleControl   = 33
	TypeBundleAddMsg    = 34
	TypeFlowRemoved     = 11
	TypePortStatus      = 12
	TypeRoleStatus      = 30
	TypeTableStatus     = 31
	TypeRequestForward  = 32
	multipartFlow       = 1
	multipartFlowMon    = 16
	multipartReplyMore  = 1
	bundleOpenRequest   = 0
	bundleOpenReply     = 1
	bundleCommitRequest = 4
	bundleCommitReply   = 5
	bundleDiscardReq    = 6
	bundleFlagAtomic    = 1
	bundleFlagOrdered   = 2
)

// Flow-mod commands.
const (
	FlowAdd          = 0
	FlowModify       = 1
	FlowModifyStrict = 2
	FlowDelete       = 3
	FlowDeleteStrict = 4
)

// Special ports and tables.
const (
	PortInPort     uint32 = 0xfffffff8
	PortNormal     uint32 = 0xfffffffa
	PortFlood      uint32 = 0xfffffffb
	PortController uint32 = 0xfffffffd
	PortAny        uint32 = 0xffffffff
	TableAll       uint8  = 0xff
	groupAny       uint32 = 0xffffffff
	noBuffer       uint32 = 0xffffffff
)

// Flow-mod flags.
const (
	FlagSendFlowRem  = 1
	FlagCheckOverlap = 2
)

// OXM basic field numbers.
const (
	oxmClassBasic = 0x8000
	oxmInPort     = 0
	oxmMetadata   = 2
	oxmEthDst     = 3
	oxmEthSrc     = 4
	oxmEthType    = 5
	oxmVlanVID    = 6
	oxmIPProto    = 10
	oxmIPv4Dst    = 12
	oxmICMPv6Type = 29
	vidPresent    = 0x1000
)

// Nicira extension constants.
const (
	nxVendor       = 0x00002320
	nxastLearn     = 16
	nxastLearn2    = 45
	nxmOfInPort    = 0x00000002
	nxmOfEthDst    = 0x00000206
	nxmOfEthSrc    = 0x00000406
	nxLearnDstOut  = 2 << 11
	nxLearnDstMat  = 0 << 11
	nxLearnSrcFld  = 0 << 13
	nxLearnFDelete = 1 << 1
)

type header struct {
	Version uint8
	Type    uint8
	Length  uint16
	XID     uint32
}

func putHeader(b []byte, typ uint8, xid uint32) {
	b[0] = Version
	b[1] = typ
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint32(b[4:], xid)
}

func parseHeader(b []byte) header {
	return header{b[0], b[1], binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:])}
}

func pad8(n int) int { return (n + 7) &^ 7 }

// Match is the subset of OXM match fields the simulator uses. Nil/zero
// fields are wildcarded.
type Match struct {
	InPort   *uint32
	Metadata *uint64
	EthDst   net.HardwareAddr
	EthSrc   net.HardwareAddr
	EthType  *uint16
	// VlanVID matches a VLAN: VlanNone for untagged, otherwise the VID.
	VlanVID *uint16
	IPProto *uint8
	IPv4Dst net.IP
	// ICMPv6Type needs EthType 0x86dd and IPProto 58.
	ICMPv6Type *uint8
}

// VlanNone matches packets with no 802.1Q header.
const VlanNone uint16 = 0xffff

func oxm(b []byte, field uint8, val []byte) []byte {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(oxmClassBasic)<<16|uint32(field)<<9|uint32(len(val)))
	b = append(b, h[:]...)
	return append(b, val...)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// oxmFields encodes the OXM TLVs in prerequisite order.
func (m *Match) oxmFields() []byte {
	var b []byte
	if m.InPort != nil {
		b = oxm(b, oxmInPort, be32(*m.InPort))
	}
	if m.Metadata != nil {
		b = oxm(b, oxmMetadata, be64(*m.Metadata))
	}
	if m.EthDst != nil {
		b = oxm(b, oxmEthDst, m.EthDst)
	}
	if m.EthSrc != nil {
		b = oxm(b, oxmEthSrc, m.EthSrc)
	}
	if m.VlanVID != nil {
		v := uint16(0)
		if *m.VlanVID != VlanNone {
			v = *m.VlanVID | vidPresent
		}
		b = oxm(b, oxmVlanVID, be16(v))
	}
	if m.EthType != nil {
		b = oxm(b, oxmEthType, be16(*m.EthType))
	}
	if m.IPProto != nil {
		b = oxm(b, oxmIPProto, []byte{*m.IPProto})
	}
	if m.IPv4Dst != nil {
		b = oxm(b, oxmIPv4Dst, m.IPv4Dst.To4())
	}
	if m.ICMPv6Type != nil {
		b = oxm(b, oxmICMPv6Type, []byte{*m.ICMPv6Type})
	}
	return b
}

// encode returns the ofp_match (type OXM) padded to 8 bytes.
func (m *Match) encode() []byte {
	f := m.oxmFields()
	out := make([]byte, pad8(4+len(f)))
	binary.BigEndian.PutUint16(out[0:], 1) // OFPMT_OXM
	binary.BigEndian.PutUint16(out[2:], uint16(4+len(f)))
	copy(out[4:], f)
	return out
}

// Key returns a canonical string of the match, for use in maps.
func (m *Match) Key() string { return string(m.oxmFields()) }

// oxmLen is the value length of each OXM field decodeMatch reads.
var oxmLen = map[uint8]int{
	oxmInPort: 4, oxmMetadata: 8, oxmEthDst: 6, oxmEthSrc: 6, oxmEthType: 2,
	oxmVlanVID: 2, oxmIPProto: 1, oxmIPv4Dst: 4, oxmICMPv6Type: 1,
}

// decodeMatch parses an ofp_match and returns it and its padded length.
func decodeMatch(b []byte) (Match, int, error) {
	var m Match
	if len(b) < 4 {
		return m, 0, fmt.Errorf("short match: %d bytes", len(b))
	}
	mlen := int(binary.BigEndian.Uint16(b[2:]))
	if mlen < 4 || pad8(mlen) > len(b) {
		return m, 0, fmt.Errorf("bad match length %d of %d", mlen, len(b))
	}
	f := b[4:mlen]
	for len(f) >= 4 {
		h := binary.BigEndian.Uint32(f)
		l := int(h & 0xff)
		if 4+l > len(f) {
			return m, 0, fmt.Errorf("truncated oxm %#x", h)
		}
		v := f[4 : 4+l]
		hasMask := h&0x100 != 0
		if h>>16 == oxmClassBasic && !hasMask {
			field := uint8(h >> 9 & 0x7f)
			if want, ok := oxmLen[field]; ok && l != want {
				return m, 0, fmt.Errorf("oxm field %d: %d bytes, want %d", field, l, want)
			}
			switch field {
			case oxmInPort:
				p := binary.BigEndian.Uint32(v)
				m.InPort = &p
			case oxmMetadata:
				p := binary.BigEndian.Uint64(v)
				m.Metadata = &p
			case oxmEthDst:
				m.EthDst = append(net.HardwareAddr(nil), v...)
			case oxmEthSrc:
				m.EthSrc = append(net.HardwareAddr(nil), v...)
			case oxmEthType:
				p := binary.BigEndian.Uint16(v)
				m.EthType = &p
			case oxmVlanVID:
				p := binary.BigEndian.Uint16(v)
				if p&vidPresent == 0 {
					p = VlanNone
				} else {
					p &^= vidPresent
				}
				m.VlanVID = &p
			case oxmIPProto:
				p := v[0]
				m.IPProto = &p
			case oxmIPv4Dst:
				m.IPv4Dst = append(net.IP(nil), v...)
			case oxmICMPv6Type:
				p := v[0]
				m.ICMPv6Type = &p
			}
		}
		f = f[4+l:]
	}
	return m, pad8(mlen), nil
}
