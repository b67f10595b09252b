// Command pcaprewrite derives test fixtures from a classic pcap file of
// Ethernet frames (testdata/formats/eth.pcap). It makes the link types and
// encapsulations this kernel cannot record (VLAN, QinQ, NULL, LOOP, RAW,
// NFLOG, VXLAN, GRE and its variants, Geneve, MPLS, PPPoE, GTP-U, ERSPAN,
// LLC/SNAP, PBB, FabricPath, AYIYA, Teredo, EtherIP: encap.go), IP header
// variants (IPv4 options, IPv6 extension headers, fragments), a big-endian
// file, and deliberately damaged files (bad IP versions, TCP headers cut
// short, broken records).
//
// Usage:
//
//	pcaprewrite -mode MODE -in eth.pcap -out OUT.pcap [-record N] [-linktype N]
//
// Modes that change frames (vlan, qinq, vxlan, gre, geneve, ipv4-options,
// ipv6-ext) raise the snaplen by the bytes they add, so a record cut at the
// input's snaplen is still within the output's. The captured bytes of the
// original frame are kept; lengths in the added headers describe the original
// (uncut) length, as a real capture of the encapsulated traffic would.
// Modes that leave Ethernet (null, loop, raw, gre) drop frames that are not
// IPv4 or IPv6 (ARP), since those link types cannot carry them.
//
// Run "pcaprewrite -h" for the list of modes.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// record is one captured frame.
type record struct {
	ts      time.Time
	caplen  uint32 // written as the record's captured length
	origlen uint32
	data    []byte
}

// capture is a whole classic pcap file in memory.
type capture struct {
	order    binary.ByteOrder
	snaplen  uint32
	linkType uint32
	records  []record
}

var modes = map[string]string{
	"vlan":          "insert one 802.1Q tag (TPID 0x8100, VID 100)",
	"qinq":          "insert 802.1ad outer tag (0x88a8, VID 200) and 802.1Q inner tag (0x8100, VID 100)",
	"null":          "LINKTYPE_NULL (0): 4-byte host-order (here little-endian) family, AF_INET=2, AF_INET6=30",
	"loop":          "LINKTYPE_LOOP (108): 4-byte network-order family, AF_INET=2, AF_INET6=30",
	"raw":           "LINKTYPE_RAW (101): bare IP packets",
	"be":            "same records, big-endian file (magic a1b2c3d4 and all header fields big-endian)",
	"vxlan":         "wrap each frame in Ethernet/IPv4/UDP dport 4789/VXLAN (VNI 42)",
	"gre":           "wrap each IP packet in Ethernet/IPv4 proto 47/GRE (protocol 0x0800 or 0x86dd)",
	"geneve":        "wrap each frame in Ethernet/IPv4/UDP dport 6081/Geneve (VNI 42, protocol 0x6558)",
	"ipv4-options":  "give every IPv4 header the 4-byte options NOP,NOP,NOP,EOL (IHL, total length, checksum fixed)",
	"ipv6-ext":      "put Hop-by-Hop and Destination Options headers before TCP in IPv6; every second TCP packet also gets Routing (type 0, segments left 0) and Fragment (offset 0, M=0) headers",
	"linktype":      "rewrite the file's link type to -linktype",
	"absurd-length": "make record -record (1-based) claim captured length 0xF0000000",
	"dup-tcp":       "write every TCP frame twice",
	"swap-time":     "swap the timestamps of records -record and -record+1 (1-based), so time goes backwards once",
	"truncate-last": "cut the file in the middle of its last record's data; print the byte offset where that record's header starts",
}

func main() {
	mode := flag.String("mode", "", "rewrite to apply (see below)")
	in := flag.String("in", "", "input classic pcap file (Ethernet)")
	out := flag.String("out", "", "output file")
	recNum := flag.Int("record", 5, "1-based record number for absurd-length and swap-time")
	linkType := flag.Uint("linktype", 147, "link type for -mode linktype")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: pcaprewrite -mode MODE -in IN.pcap -out OUT.pcap\n\nflags:\n")
		flag.PrintDefaults()
		fmt.Fprintf(flag.CommandLine.Output(), "\nmodes:\n")
		names := make([]string, 0, len(modes))
		for m := range modes {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			fmt.Fprintf(flag.CommandLine.Output(), "  %-17s %s\n", m, modes[m])
		}
	}
	flag.Parse()
	if _, ok := modes[*mode]; !ok || *in == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*mode, *in, *out, *recNum, uint32(*linkType), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pcaprewrite: %v\n", err)
		os.Exit(1)
	}
}

func run(mode, inPath, outPath string, recNum int, linkType uint32, stdout io.Writer) error {
	c, err := readCapture(inPath)
	if err != nil {
		return err
	}
	if c.linkType != uint32(layers.LinkTypeEthernet) && mode != "linktype" && mode != "be" &&
		mode != "absurd-length" && mode != "swap-time" && mode != "truncate-last" {
		return fmt.Errorf("%s: link type %d, want Ethernet (1)", inPath, c.linkType)
	}
	if (mode == "absurd-length" || mode == "swap-time") && (recNum < 1 || recNum+1 > len(c.records)) {
		return fmt.Errorf("-record %d out of range (file has %d records)", recNum, len(c.records))
	}
	switch mode {
	case "vlan":
		c.mapFrames(4, func(f []byte) []byte { return insertTags(f, 0x8100, 100) })
	case "qinq":
		c.mapFrames(8, func(f []byte) []byte { return insertTags(f, 0x88a8, 200, 0x8100, 100) })
	case "null", "loop":
		order := binary.ByteOrder(binary.BigEndian)
		c.linkType = 108
		if mode == "null" {
			order = c.order // host order of the machine that wrote the file
			c.linkType = 0
		}
		c.mapIP(-10, func(ip []byte, v6 bool) []byte {
			af := uint32(2)
			if v6 {
				af = 30 // AF_INET6 on macOS; FreeBSD uses 28, NetBSD/OpenBSD 24
			}
			h := make([]byte, 4)
			order.PutUint32(h, af)
			return append(h, ip...)
		})
	case "raw":
		c.linkType = 101
		c.mapIP(-14, func(ip []byte, _ bool) []byte { return ip })
	case "be":
		c.order = binary.BigEndian
	case "vxlan":
		c.mapFramesOrig(50, func(f []byte, orig int) []byte {
			vx := []byte{0x08, 0, 0, 0, 0, 0, 42, 0} // flags I, VNI 42
			return outerUDP(49152, 4789, append(vx, f...), orig+len(vx))
		})
	case "geneve":
		c.mapFramesOrig(50, func(f []byte, orig int) []byte {
			gn := []byte{0, 0, 0x65, 0x58, 0, 0, 42, 0} // ver 0, no options, Ethernet, VNI 42
			return outerUDP(49153, 6081, append(gn, f...), orig+len(gn))
		})
	case "gre":
		c.mapIPOrig(24, func(ip []byte, v6 bool, orig int) []byte {
			proto := uint16(0x0800)
			if v6 {
				proto = 0x86dd
			}
			gre := []byte{0, 0, byte(proto >> 8), byte(proto)}
			return outerIPv4(47, append(gre, ip...), orig+len(gre))
		})
	case "ipv4-options":
		c.mapFrames(4, addIPv4Options)
	case "ipv6-ext":
		n := 0
		c.mapFrames(32, func(f []byte) []byte {
			if len(f) < 14+40 || binary.BigEndian.Uint16(f[12:]) != 0x86dd || f[14+6] != 6 {
				return f
			}
			n++
			return addIPv6Ext(f, n%2 == 0)
		})
	case "linktype":
		c.linkType = linkType
	case "absurd-length":
		c.records[recNum-1].caplen = 0xF0000000
	case "dup-tcp":
		var out []record
		for _, r := range c.records {
			out = append(out, r)
			p := gopacket.NewPacket(r.data, layers.LinkTypeEthernet, gopacket.NoCopy)
			if p.Layer(layers.LayerTypeTCP) != nil {
				out = append(out, r)
			}
		}
		c.records = out
	case "swap-time":
		a, b := &c.records[recNum-1], &c.records[recNum]
		a.ts, b.ts = b.ts, a.ts
	case "truncate-last":
		return truncateLast(c, outPath, stdout)
	default:
		encapModes[mode].do(c)
	}
	return os.WriteFile(outPath, c.bytes(), 0o644)
}

// readCapture reads a classic pcap file with pcapgo.
func readCapture(path string) (*capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Resolution() != gopacket.TimestampResolutionMicrosecond {
		return nil, fmt.Errorf("%s: nanosecond files are not supported", path)
	}
	c := &capture{order: binary.LittleEndian, snaplen: r.Snaplen(), linkType: uint32(r.LinkType())}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", path, len(c.records)+1, err)
		}
		c.records = append(c.records, record{
			ts: ci.Timestamp, caplen: uint32(ci.CaptureLength), origlen: uint32(ci.Length), data: data,
		})
	}
	return c, nil
}

// mapFrames replaces each frame by f(frame); added is the most bytes f adds.
// The original length grows by what f added to the captured bytes.
func (c *capture) mapFrames(added int, f func([]byte) []byte) {
	c.mapFramesOrig(added, func(b []byte, _ int) []byte { return f(b) })
}

// mapFramesOrig is mapFrames where f also gets the frame's original length.
func (c *capture) mapFramesOrig(added int, f func(frame []byte, orig int) []byte) {
	c.snaplen += uint32(added)
	for i := range c.records {
		r := &c.records[i]
		nd := f(r.data, int(r.origlen))
		r.origlen += uint32(len(nd) - len(r.data))
		r.data = nd
		r.caplen = uint32(len(nd))
	}
}

// ipOf returns the IP packet in an Ethernet frame and whether it is IPv6, or
// nil for frames that are not IPv4 or IPv6.
func ipOf(f []byte) (ip []byte, v6 bool) {
	if len(f) < 14 {
		return nil, false
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		return f[14:], false
	case 0x86dd:
		return f[14:], true
	}
	return nil, false
}

// mapIP replaces each Ethernet frame by f(IP packet), dropping non-IP frames;
// delta is the change in length (negative when the result is shorter).
func (c *capture) mapIP(delta int, f func(ip []byte, v6 bool) []byte) {
	c.mapIPOrig(delta, func(ip []byte, v6 bool, _ int) []byte { return f(ip, v6) })
}

// mapIPOrig is mapIP where f also gets the IP packet's original length.
func (c *capture) mapIPOrig(delta int, f func(ip []byte, v6 bool, orig int) []byte) {
	if delta > 0 {
		c.snaplen += uint32(delta)
	}
	var out []record
	for _, r := range c.records {
		ip, v6 := ipOf(r.data)
		if ip == nil {
			continue
		}
		nd := f(ip, v6, int(r.origlen)-14)
		r.origlen = uint32(int(r.origlen) + len(nd) - len(r.data))
		r.data = nd
		r.caplen = uint32(len(nd))
		out = append(out, r)
	}
	c.records = out
}

// insertTags inserts VLAN tags (pairs of TPID, VID) after the MAC addresses.
func insertTags(f []byte, tags ...uint16) []byte {
	if len(f) < 14 {
		return f
	}
	out := append([]byte{}, f[:12]...)
	for i := 0; i+1 < len(tags); i += 2 {
		out = binary.BigEndian.AppendUint16(out, tags[i])
		out = binary.BigEndian.AppendUint16(out, tags[i+1]&0x0fff)
	}
	return append(out, f[12:]...)
}

// Outer addresses of the tunnel fixtures: 10.99.1.1 -> 10.99.1.2.
var (
	outerSrcMAC = []byte{0x02, 0x99, 0, 0, 1, 1}
	outerDstMAC = []byte{0x02, 0x99, 0, 0, 1, 2}
	outerSrcIP  = []byte{10, 99, 1, 1}
	outerDstIP  = []byte{10, 99, 1, 2}
)

// outerIPv4 returns Ethernet/IPv4(proto) around payload; origPayload is the
// payload's uncut length, used for the IPv4 total length.
func outerIPv4(proto byte, payload []byte, origPayload int) []byte {
	out := append(append([]byte{}, outerDstMAC...), outerSrcMAC...)
	out = append(out, 0x08, 0x00)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+origPayload))
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = 64
	ip[9] = proto
	copy(ip[12:], outerSrcIP)
	copy(ip[16:], outerDstIP)
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	out = append(out, ip...)
	return append(out, payload...)
}

// outerUDP returns Ethernet/IPv4/UDP around payload, UDP checksum 0 (none).
func outerUDP(sport, dport uint16, payload []byte, origPayload int) []byte {
	udp := make([]byte, 8)
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+origPayload))
	return outerIPv4(17, append(udp, payload...), 8+origPayload)
}

// addIPv4Options gives an IPv4 header without options the 4-byte options
// word NOP,NOP,NOP,EOL, fixing IHL, total length and header checksum.
func addIPv4Options(f []byte) []byte {
	ip, v6 := ipOf(f)
	if ip == nil || v6 || len(ip) < 20 || ip[0] != 0x45 {
		return f
	}
	out := append([]byte{}, f[:14+20]...)
	out = append(out, 1, 1, 1, 0)
	out = append(out, f[14+20:]...)
	h := out[14 : 14+24]
	h[0] = 0x46
	binary.BigEndian.PutUint16(h[2:], binary.BigEndian.Uint16(h[2:])+4)
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	return out
}

// addIPv6Ext puts Hop-by-Hop and Destination Options headers (each 8 bytes
// of PadN) between the IPv6 header and TCP; with more, also a Routing header
// (type 0, segments left 0) and an atomic Fragment header (offset 0, M=0).
// The TCP checksum stays valid: the pseudo-header's addresses and upper-layer
// length do not change.
func addIPv6Ext(f []byte, more bool) []byte {
	const (
		hbh  = 0
		dst  = 60
		rt   = 43
		frag = 44
		tcp  = 6
	)
	chain := []byte{hbh, dst}
	if more {
		chain = append(chain, rt, frag)
	}
	chain = append(chain, tcp)
	var ext []byte
	for i, h := range chain[:len(chain)-1] {
		next := chain[i+1]
		switch h {
		case hbh, dst:
			ext = append(ext, next, 0, 1, 4, 0, 0, 0, 0) // PadN of 4 bytes
		case rt:
			ext = append(ext, next, 0, 0, 0, 0, 0, 0, 0) // type 0, segments left 0
		case frag:
			ext = append(ext, next, 0, 0, 0, 0x54, 0x54, 0x00, 0x01) // offset 0, M=0, id 0x54540001
		}
	}
	out := append([]byte{}, f[:14+40]...)
	out = append(out, ext...)
	out = append(out, f[14+40:]...)
	ip := out[14:]
	ip[6] = chain[0]
	binary.BigEndian.PutUint16(ip[4:], binary.BigEndian.Uint16(ip[4:])+uint16(len(ext)))
	return out
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// header returns the 24-byte global header.
func (c *capture) header() []byte {
	h := make([]byte, 24)
	c.order.PutUint32(h[0:], 0xa1b2c3d4)
	c.order.PutUint16(h[4:], 2)
	c.order.PutUint16(h[6:], 4)
	c.order.PutUint32(h[16:], c.snaplen)
	c.order.PutUint32(h[20:], c.linkType)
	return h
}

// recordBytes returns one record: its 16-byte header and its data.
func (c *capture) recordBytes(r record) []byte {
	h := make([]byte, 16, 16+len(r.data))
	c.order.PutUint32(h[0:], uint32(r.ts.Unix()))
	c.order.PutUint32(h[4:], uint32(r.ts.Nanosecond()/1000))
	c.order.PutUint32(h[8:], r.caplen)
	c.order.PutUint32(h[12:], r.origlen)
	return append(h, r.data...)
}

// bytes returns the whole file.
func (c *capture) bytes() []byte {
	out := c.header()
	for _, r := range c.records {
		out = append(out, c.recordBytes(r)...)
	}
	return out
}

// truncateLast writes c cut in the middle of its last record's data and
// prints the offset of that record's header.
func truncateLast(c *capture, outPath string, stdout io.Writer) error {
	if len(c.records) == 0 {
		return errors.New("no records to truncate")
	}
	last := c.records[len(c.records)-1]
	if len(last.data) < 2 {
		return errors.New("last record too short to cut in its data")
	}
	c.records = c.records[:len(c.records)-1]
	out := c.bytes()
	offset := len(out)
	rec := c.recordBytes(last)
	out = append(out, rec[:16+len(last.data)/2]...)
	fmt.Fprintf(stdout, "last_record_offset\t%d\nlast_record_caplen\t%d\nfile_size\t%d\n",
		offset, last.caplen, len(out))
	return os.WriteFile(outPath, out, 0o644)
}
