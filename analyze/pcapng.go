package analyze

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// pcapng is read here block by block (pcapng draft, sections 4.1 to 4.6),
// from the same 1 MiB buffer as classic pcap, rather than through pcapgo's
// NgReader: that one keeps every name resolution record and every
// interface's strings until its section ends, so a few megabytes of
// metadata cost gigabytes. What is kept here is what the analysis uses:
// per interface its link type, snaplen, timestamp resolution and offset,
// and, for the first maxInterfaces of a file, a name cut to maxNameLen
// bytes. Everything else is counted (Capture.OtherBlocks) and skipped
// without being copied.

// pcapng block types (pcapng draft section 4).
const (
	ngIDB = 1
	ngPB  = 2 // obsolete Packet Block
	ngSPB = 3
	ngISB = 5
	ngEPB = 6
	ngSHB = 0x0a0d0d0a
)

// pcapng option codes used (pcapng draft sections 4.2 and 4.6).
const (
	ngOptEnd    = 0
	ifName      = 2
	ifTsresol   = 9
	ifTsoffset  = 14
	isbIfdrop   = 5
	defTsresol  = 6 // microseconds, when if_tsresol is absent
	maxNameLen  = 64
	secondLimit = 1 << 33 // seconds; a time beyond ±2^33 s (272 years from 1970) is clamped there
)

// maxInterfaces is how many interfaces a file lists in Capture.Interfaces;
// the others are counted in MoreInterfaces. maxSectionInterfaces is how
// many one section may define: packets of interfaces past it are counted
// as undecodable (a pcapng interface block is 20 bytes, so without a bound
// a file of them would cost its size many times over).
const (
	maxInterfaces        = 64
	maxSectionInterfaces = 1 << 16
)

// ngIface is what is kept of one interface of the current section.
type ngIface struct {
	linkType layers.LinkType
	snaplen  uint32
	// Timestamps are units of 10^-exp s, or 2^-exp s when binary;
	// div is 10^exp for decimal ones.
	exp         uint8
	binary      bool
	div         uint64
	offset      int64 // if_tsoffset, seconds
	info        int   // index in Capture.Interfaces, -1 when not listed
	unsupported bool
	dropped     uint64
	dropsKnown  bool
}

// ngState is the pcapng side of a CaptureReader.
type ngState struct {
	be       bool // byte order of the section being read
	section  int  // 0-based section being read
	skipping bool // a section of an unknown version: its blocks are skipped
	ifaces   []ngIface
	// consume is how many bytes of the last packet block are still to be
	// discarded: the packet's bytes stay in the buffer while it is decoded.
	consume int
	started bool // a section header was read
	// undecodedOther counts the packets of unlisted interfaces counted as
	// undecodable (unsupported link type, or past maxSectionInterfaces).
	undecodedOther int64
	warnedResol    int // unsupported if_tsresol values met
	firstBadResol  string
	overSection    int64 // interfaces of this section past maxSectionInterfaces
}

func (c *CaptureReader) u16(b []byte) uint16 {
	if c.ng.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (c *CaptureReader) u32(b []byte) uint32 {
	if c.ng.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (c *CaptureReader) u64(b []byte) uint64 {
	if c.ng.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// ngPacket is one packet block read.
type ngPacket struct {
	data  []byte // in the buffer, valid until the next read
	ts    int64
	lt    layers.LinkType
	iface int           // index in ng.ifaces, -1 for none
	dir   flowstate.Dir // from an enhanced packet block's epb_flags
}

// ngNext reads blocks up to the next packet and returns it. With peekOnly
// it stops before the first packet block without reading it (to look at
// the interfaces described before the first packet). It returns false at
// the end of the file or when damage stopped reading.
func (c *CaptureReader) ngNext(p *ngPacket, peekOnly bool) bool {
	if c.ng.consume > 0 {
		if !c.discard(c.offset(), c.ng.consume) {
			return false
		}
		c.ng.consume = 0
	}
	for {
		off := c.offset()
		b, err := c.br.Peek(12)
		if len(b) < 12 {
			if len(b) == 0 && err == io.EOF {
				return false // the end, after whole blocks
			}
			c.cutShort(off, err)
			return false
		}
		typ := binary.LittleEndian.Uint32(b) // either way for the SHB
		if typ == ngSHB {
			switch {
			case binary.BigEndian.Uint32(b[8:]) == ngBOM:
				c.ng.be = true
			case binary.LittleEndian.Uint32(b[8:]) == ngBOM:
				c.ng.be = false
			default:
				c.stop("bad pcapng section header at byte offset %d%s (packet %d): byte-order magic 0x%x", off, c.inStream(), c.info.Packets+1, b[8:12])
				return false
			}
		} else {
			typ = c.u32(b)
		}
		blen64 := int64(c.u32(b[4:]))
		if blen64 < 12 || blen64%4 != 0 || typ == ngSHB && blen64 < 28 || (typ == ngEPB || typ == ngPB) && blen64 < 32 ||
			typ == ngIDB && blen64 < 20 || typ == ngSPB && blen64 < 16 || typ == ngISB && blen64 < 24 {
			c.stop("corrupt pcapng block at byte offset %d%s (packet %d): block length %d", off, c.inStream(), c.info.Packets+1, blen64)
			return false
		}
		blen := int(blen64)
		if typ == ngSHB {
			if !c.ngSection(off, blen) {
				return false
			}
			continue
		}
		if c.ng.skipping {
			if !c.discard(off, blen) {
				return false
			}
			continue
		}
		switch typ {
		case ngEPB, ngPB, ngSPB:
			if peekOnly {
				return true
			}
			if !c.ngPacketBlock(off, typ, blen, p) {
				return false
			}
			if p.iface < 0 {
				c.info.Packets++
				c.info.Undecodable++
				c.info.MoreInterfacesPackets++
				c.ng.undecodedOther++
				continue // an interface past the bound: counted, not decoded
			}
			return true
		case ngIDB:
			if !c.ngInterface(off, blen) {
				return false
			}
		case ngISB:
			if !c.ngStatistics(off, blen) {
				return false
			}
		default: // name resolution, decryption secrets, custom and unknown blocks
			c.info.OtherBlocks++
			if !c.discard(off, blen) {
				return false
			}
		}
	}
}

// discard consumes n bytes of the block at off; the stream ending first
// is a block cut short.
func (c *CaptureReader) discard(off int64, n int) bool {
	if d, err := c.br.Discard(n); d < n {
		c.cutShort(off, err)
		return false
	}
	return true
}

// ngSection reads a section header block: the interfaces of the previous
// section are done with. Sections of a major version other than 1 are
// skipped with a warning (libpcap refuses them; the draft says to skip).
func (c *CaptureReader) ngSection(off int64, blen int) bool {
	b, err := c.br.Peek(16)
	if len(b) < 16 {
		c.cutShort(off, err)
		return false
	}
	if c.ng.started {
		c.ng.ifaces, c.ng.overSection = c.ng.ifaces[:0], 0
		c.ng.section++
	}
	c.ng.started = true
	major, minor := c.u16(b[12:]), c.u16(b[14:])
	c.ng.skipping = major != 1
	if c.ng.skipping {
		c.warn("section %d at byte offset %d%s has pcapng version %d.%d, not 1.x: its blocks were skipped", c.ng.section, off, c.inStream(), major, minor)
	}
	return c.discard(off, blen)
}

// options calls f with each option of a block, read from the stream after
// the block's fixed part of fixed bytes; the block is consumed whole. The
// values handed to f are valid during the call. An option that runs past
// the block ends the options (the rest of the block is skipped), as
// Wireshark does.
func (c *CaptureReader) options(off int64, blen, fixed int, f func(code uint16, val []byte)) bool {
	if !c.discard(off, fixed) {
		return false
	}
	pos, end := fixed, blen-4 // the block's trailing length is not an option
	for end-pos >= 4 {
		b, err := c.br.Peek(4)
		if len(b) < 4 {
			c.cutShort(off, err)
			return false
		}
		code, l := c.u16(b), int(c.u16(b[2:]))
		need := 4 + (l+3)&^3
		if code == ngOptEnd || need > end-pos {
			break
		}
		if b, err = c.br.Peek(need); len(b) < need {
			c.cutShort(off, err)
			return false
		}
		f(code, b[4:4+l])
		c.br.Discard(need)
		pos += need
	}
	return c.discard(off, blen-pos)
}

// ngInterface reads an interface description block.
func (c *CaptureReader) ngInterface(off int64, blen int) bool {
	b, err := c.br.Peek(16)
	if len(b) < 16 {
		c.cutShort(off, err)
		return false
	}
	ifc := ngIface{linkType: layers.LinkType(c.u16(b[8:])), snaplen: c.u32(b[12:]), info: -1}
	ifc.unsupported = !supportedLinkType(ifc.linkType)
	var name string
	resol, hasResol := uint8(defTsresol), false
	ok := c.options(off, blen, 16, func(code uint16, val []byte) {
		switch {
		case code == ifName && len(c.info.Interfaces) < maxInterfaces:
			name = boundedName(val)
		case code == ifTsresol && len(val) >= 1:
			resol, hasResol = val[0], true
		case code == ifTsoffset && len(val) >= 8:
			ifc.offset = int64(c.u64(val))
		}
	})
	if !ok {
		return false
	}
	ifc.binary, ifc.exp = resol&0x80 != 0, resol&0x7f
	if ifc.binary && ifc.exp > 63 || !ifc.binary && ifc.exp > 19 {
		// Finer than 2^-63 or 10^-19 s: a 64-bit count of such units spans
		// less than two seconds, so no capture uses them.
		c.ng.warnedResol++
		if c.ng.firstBadResol == "" {
			c.ng.firstBadResol = fmt.Sprintf("interface %d of section %d: if_tsresol 0x%02x (%s)", len(c.ng.ifaces), c.ng.section, resol, resolName(resol))
		}
		ifc.binary, ifc.exp = false, defTsresol
	}
	if !ifc.binary {
		ifc.div = 1
		for range ifc.exp {
			ifc.div *= 10
		}
	}
	if len(c.ng.ifaces) >= maxSectionInterfaces {
		c.ng.overSection++
		c.info.MoreInterfaces++
		return true
	}
	if len(c.info.Interfaces) < maxInterfaces {
		ifc.info = len(c.info.Interfaces)
		c.info.Interfaces = append(c.info.Interfaces, Interface{
			Section:     c.ng.section,
			ID:          len(c.ng.ifaces),
			Name:        name,
			LinkType:    linkTypeName(ifc.linkType),
			Snaplen:     ifc.snaplen,
			Unsupported: ifc.unsupported,
		})
	} else {
		c.info.MoreInterfaces++
	}
	c.info.Snaplen = max(c.info.Snaplen, ifc.snaplen)
	if hasResol && (ifc.binary && ifc.exp >= 20 || !ifc.binary && ifc.exp > 6) {
		c.info.Nanosecond = true
	}
	name = linkTypeName(ifc.linkType)
	seen := false
	for _, s := range c.info.LinkTypes {
		seen = seen || s == name
	}
	if !seen {
		c.info.LinkTypes = append(c.info.LinkTypes, name)
	}
	c.ng.ifaces = append(c.ng.ifaces, ifc)
	return true
}

// boundedName is an interface name as kept: at most maxNameLen bytes of
// valid UTF-8.
func boundedName(b []byte) string {
	if len(b) > maxNameLen {
		b = b[:maxNameLen]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return strings.ToValidUTF8(string(b), "?")
}

// resolName writes an if_tsresol value as the unit it means.
func resolName(v uint8) string {
	if v&0x80 != 0 {
		return "2^-" + strconv.Itoa(int(v&0x7f)) + " s"
	}
	return "10^-" + strconv.Itoa(int(v)) + " s"
}

// ngStatistics reads an interface statistics block: its counters are
// totals since the capture started, so the last one of each interface
// counts.
func (c *CaptureReader) ngStatistics(off int64, blen int) bool {
	b, err := c.br.Peek(12)
	if len(b) < 12 {
		c.cutShort(off, err)
		return false
	}
	id := int64(c.u32(b[8:]))
	var drops uint64
	known := false
	ok := c.options(off, blen, 20, func(code uint16, val []byte) {
		if code == isbIfdrop && len(val) >= 8 {
			drops, known = c.u64(val), true
		}
	})
	if !ok || !known || id >= int64(len(c.ng.ifaces)) {
		return ok
	}
	ifc := &c.ng.ifaces[id]
	if ifc.dropsKnown {
		c.info.InterfaceDrops -= ifc.dropped
	}
	ifc.dropped, ifc.dropsKnown = drops, true
	c.info.InterfaceDrops += drops
	c.info.InterfaceDropsKnown = true
	if ifc.info >= 0 {
		c.info.Interfaces[ifc.info].Dropped, c.info.Interfaces[ifc.info].DropsKnown = drops, true
	}
	return true
}

// ngPacketBlock reads an enhanced, simple or obsolete packet block. The
// packet's bytes are left in the buffer; the block is consumed by the
// next ngNext.
func (c *CaptureReader) ngPacketBlock(off int64, typ uint32, blen int, p *ngPacket) bool {
	hdr := 28
	if typ == ngSPB {
		hdr = 12
	}
	b, err := c.br.Peek(hdr)
	if len(b) < hdr {
		c.cutShort(off, err)
		return false
	}
	var id int
	var caplen, origlen uint32
	var units uint64
	if typ == ngSPB {
		if len(c.ng.ifaces) == 0 {
			c.stop("bad pcapng block at byte offset %d%s (packet %d): a simple packet block comes before any interface", off, c.inStream(), c.info.Packets+1)
			return false
		}
		origlen = c.u32(b[8:])
		caplen = min(origlen, uint32(blen-16))
		if s := c.ng.ifaces[0].snaplen; s != 0 {
			caplen = min(caplen, s)
		}
	} else {
		if typ == ngEPB {
			id = int(c.u32(b[8:]))
		} else {
			id = int(c.u16(b[8:]))
		}
		units = uint64(c.u32(b[12:]))<<32 | uint64(c.u32(b[16:]))
		caplen, origlen = c.u32(b[20:]), c.u32(b[24:])
	}
	switch {
	case caplen > maxRecord:
		c.stop("absurd record length at byte offset %d%s (packet %d): captured length %d is above the %d-byte maximum; reading stopped there",
			off, c.inStream(), c.info.Packets+1, caplen, maxRecord)
		return false
	case caplen > origlen:
		c.stop("absurd record length at byte offset %d%s (packet %d): captured length %d is above the original length %d; reading stopped there",
			off, c.inStream(), c.info.Packets+1, caplen, origlen)
		return false
	case typ != ngSPB && 32+int64(caplen) > int64(blen):
		c.stop("corrupt pcapng block at byte offset %d%s (packet %d): captured length %d does not fit the block length %d",
			off, c.inStream(), c.info.Packets+1, caplen, blen)
		return false
	case id >= len(c.ng.ifaces) && int64(id) >= int64(len(c.ng.ifaces))+c.ng.overSection:
		c.stop("bad pcapng block at byte offset %d%s (packet %d): interface %d is not described in section %d (it has %d)",
			off, c.inStream(), c.info.Packets+1, id, c.ng.section, int64(len(c.ng.ifaces))+c.ng.overSection)
		return false
	}
	// The whole block must be there when the buffer can hold it, so that a
	// block cut short is reported before its packet is used.
	want := min(blen, bufSize)
	want = max(want, hdr+int(caplen))
	if b, err = c.br.Peek(want); len(b) < want {
		c.cutShort(off, err)
		return false
	}
	c.ng.consume = blen
	if id >= len(c.ng.ifaces) {
		p.iface = -1 // past maxSectionInterfaces
		return true
	}
	ifc := &c.ng.ifaces[id]
	p.data, p.lt, p.iface, p.dir = b[hdr:hdr+int(caplen)], ifc.linkType, id, flowstate.DirUnknown
	if typ == ngEPB && len(b) >= blen {
		p.dir = epbDir(b[:blen], c.ng.be)
	}
	if typ == ngSPB {
		p.ts = c.lastRead // a simple packet block has no timestamp: the one before it
	} else {
		p.ts = ifc.nanos(units)
	}
	return true
}

// nanos converts a timestamp in the interface's units to nanoseconds
// since the epoch, adding its offset; times beyond ±2^33 s are clamped.
func (ifc *ngIface) nanos(units uint64) int64 {
	var sec, frac uint64
	switch {
	case ifc.binary:
		sec = units >> ifc.exp
		if ifc.exp > 0 {
			hi, lo := bits.Mul64(units&(1<<ifc.exp-1), 1e9)
			frac = hi<<(64-ifc.exp) | lo>>ifc.exp
		}
	case ifc.exp <= 9:
		sec = units / ifc.div
		frac = units % ifc.div
		for range 9 - ifc.exp {
			frac *= 10
		}
	default:
		sec = units / ifc.div
		frac = units % ifc.div
		for range ifc.exp - 9 {
			frac /= 10
		}
	}
	s := int64(min(sec, secondLimit))
	switch {
	case ifc.offset > secondLimit:
		s += secondLimit
	case ifc.offset < -secondLimit:
		s -= secondLimit
	default:
		s += ifc.offset
	}
	s = max(min(s, secondLimit), -secondLimit)
	return s*1e9 + int64(frac)
}

// ngFinish ends a pcapng file: the last warnings about its interfaces.
func (c *CaptureReader) ngFinish() {
	for _, ifc := range c.info.Interfaces {
		if ifc.Unsupported && ifc.Packets > 0 {
			name := ""
			if ifc.Name != "" {
				name = " (" + strconv.Quote(ifc.Name) + ")"
			}
			c.warn("interface %d of section %d%s has an unsupported link type (%s): its %d packets were counted as undecodable",
				ifc.ID, ifc.Section, name, ifc.LinkType, ifc.Packets)
		}
	}
	if n := c.info.MoreInterfaces; n > 0 {
		c.warn("%d interfaces beyond the first %d are not listed (their %d packets are in the totals)", n, maxInterfaces, c.info.MoreInterfacesPackets)
	}
	if n := c.ng.undecodedOther; n > 0 {
		c.warn("%d packets of unlisted interfaces (of an unsupported link type, or past %d interfaces in one section) were counted as undecodable", n, maxSectionInterfaces)
	}
	if n := c.ng.warnedResol; n > 0 {
		more := ""
		if n > 1 {
			more = fmt.Sprintf(" (and %d more interfaces)", n-1)
		}
		c.warn("%s%s: unsupported timestamp resolution, read as microseconds (the pcapng default)", c.ng.firstBadResol, more)
	}
}
