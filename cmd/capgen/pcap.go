package main

import (
	"encoding/binary"
	"io"
)

// Capture constants: classic pcap, microsecond, Ethernet, snaplen 128.
const (
	snaplen      = 128
	linkEthernet = 1
	// epoch is the capture's first second: 2024-03-12 09:00:00 UTC.
	epoch = 1710234000
)

// MAC addresses of the server's interface and of its default gateway,
// through which every client packet arrives.
var (
	serverMAC  = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	gatewayMAC = [6]byte{0x00, 0x1c, 0x73, 0xaa, 0xbb, 0x01}
)

// pcapWriter writes pcap records straight from a scratch buffer.
type pcapWriter struct {
	w     io.Writer
	buf   [16 + snaplen]byte
	n     int64 // records written
	bytes int64 // bytes written, file header included
	err   error
}

func newPcapWriter(w io.Writer) *pcapWriter {
	pw := &pcapWriter{w: w}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], linkEthernet)
	pw.write(h[:])
	return pw
}

func (pw *pcapWriter) write(b []byte) {
	if pw.err != nil {
		return
	}
	_, pw.err = pw.w.Write(b)
	pw.bytes += int64(len(b))
}

// Option layouts, as Linux sends them.
const (
	optNone = iota // no options (RSTs from no socket, flood SYNs)
	optMSS         // MSS only (SYN cookie SYN-ACK to a SYN without timestamps)
	optSYN         // MSS, SACK permitted, timestamps, NOP, window scale 7
	optTS          // NOP, NOP, timestamps
)

var optLen = [...]int{optNone: 0, optMSS: 4, optSYN: 20, optTS: 12}

// packet writes one TCP segment of connection c.
func (pw *pcapWriter) packet(c *conn, p *pkt) {
	b := pw.buf[16:]
	// Ethernet.
	if p.fromSrv {
		copy(b[0:6], gatewayMAC[:])
		copy(b[6:12], serverMAC[:])
	} else {
		copy(b[0:6], serverMAC[:])
		copy(b[6:12], gatewayMAC[:])
	}
	src, dst := c.cli[:], c.srv[:]
	sport, dport := c.cport, c.sport
	dir := 0
	if p.fromSrv {
		src, dst = dst, src
		sport, dport = dport, sport
		dir = 1
	}
	tcpLen := 20 + optLen[p.opt]
	segLen := tcpLen + int(p.plen)
	var ipLen int
	var sum uint32 // TCP pseudo-header sum
	if c.v6 {
		ipLen = 40
		binary.BigEndian.PutUint16(b[12:], 0x86dd)
		ip := b[14:54]
		binary.BigEndian.PutUint32(ip[0:], 6<<28|c.flow[dir]&0xfffff)
		binary.BigEndian.PutUint16(ip[4:], uint16(segLen))
		ip[6] = 6 // TCP
		ip[7] = c.ttl[dir]
		copy(ip[8:24], src)
		copy(ip[24:40], dst)
		sum = sum16(ip[8:40]) + 6 + uint32(segLen)
	} else {
		ipLen = 20
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		ip := b[14:34]
		ip[0] = 0x45
		ip[1] = 0
		binary.BigEndian.PutUint16(ip[2:], uint16(20+segLen))
		binary.BigEndian.PutUint16(ip[4:], c.ipid[dir])
		c.ipid[dir]++
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
		ip[8] = c.ttl[dir]
		ip[9] = 6
		ip[10], ip[11] = 0, 0
		copy(ip[12:16], src[:4])
		copy(ip[16:20], dst[:4])
		binary.BigEndian.PutUint16(ip[10:], fold(sum16(ip)))
		sum = sum16(ip[12:20]) + 6 + uint32(segLen)
	}
	t := b[14+ipLen:]
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], p.seq)
	binary.BigEndian.PutUint32(t[8:], p.ack)
	t[12] = byte(tcpLen/4) << 4
	t[13] = p.flags
	binary.BigEndian.PutUint16(t[14:], p.win)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	o := t[20:tcpLen]
	switch p.opt {
	case optMSS:
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], c.mss)
	case optSYN:
		o[0], o[1] = 2, 4
		binary.BigEndian.PutUint16(o[2:], c.mss)
		o[4], o[5] = 4, 2
		o[6], o[7] = 8, 10
		binary.BigEndian.PutUint32(o[8:], p.tsval)
		binary.BigEndian.PutUint32(o[12:], p.tsecr)
		o[16], o[17], o[18], o[19] = 1, 3, 3, 7
	case optTS:
		o[0], o[1], o[2], o[3] = 1, 1, 8, 10
		binary.BigEndian.PutUint32(o[4:], p.tsval)
		binary.BigEndian.PutUint32(o[8:], p.tsecr)
	}
	// The payload is zeros, so it adds nothing to the checksum.
	binary.BigEndian.PutUint16(t[16:], fold(sum+sum16(t[:tcpLen])))

	wire := 14 + ipLen + segLen
	capLen := min(wire, snaplen)
	hdrEnd := 14 + ipLen + tcpLen
	if capLen > hdrEnd {
		clear(b[hdrEnd:capLen])
	}
	h := pw.buf[:16]
	binary.LittleEndian.PutUint32(h[0:], uint32(epoch+p.t/1e6))
	binary.LittleEndian.PutUint32(h[4:], uint32(p.t%1e6))
	binary.LittleEndian.PutUint32(h[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(h[12:], uint32(wire))
	pw.write(pw.buf[:16+capLen])
	pw.n++
}

// sum16 adds b as big-endian 16-bit words (RFC 1071), len(b) even.
func sum16(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	return s
}

// fold folds a 32-bit one's complement sum and complements it.
func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
