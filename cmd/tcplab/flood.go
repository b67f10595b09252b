package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// floodMSS is the only option a flood SYN carries.
const floodMSS = 1460

// floodSources draws n distinct host addresses of p (neither the network
// nor the broadcast address), in the order drawn, from seed.
func floodSources(p netip.Prefix, n int, seed uint64) []netip.Addr {
	rng := rand.New(rand.NewPCG(seed, 1))
	base := binary.BigEndian.Uint32(p.Addr().AsSlice())
	size := uint32(1) << (32 - p.Bits())
	seen := map[uint32]bool{}
	var out []netip.Addr
	for len(out) < n {
		off := 1 + rng.Uint32N(size-2)
		if seen[off] {
			continue
		}
		seen[off] = true
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], base+off)
		out = append(out, netip.AddrFrom4(a))
	}
	return out
}

// floodSYN is one SYN of the flood.
type floodSYN struct {
	src  netip.AddrPort
	seq  uint32
	ipID uint16
}

// floodPlan returns the flood's SYNs, in sending order, from its seed:
// each from a source drawn uniformly among the sources, a source port in
// 1024..65535, a random ISN and IP ID.
func floodPlan(f *Flood, sources []netip.Addr) []floodSYN {
	rng := rand.New(rand.NewPCG(f.Seed, 2))
	syns := make([]floodSYN, f.Count)
	for i := range syns {
		src := sources[rng.IntN(len(sources))]
		syns[i] = floodSYN{
			src:  netip.AddrPortFrom(src, uint16(1024+rng.IntN(65536-1024))),
			seq:  rng.Uint32(),
			ipID: uint16(rng.Uint32()),
		}
	}
	return syns
}

// synFrame builds an Ethernet frame carrying an IPv4 SYN with an MSS option
// and correct IP and TCP checksums (the server verifies them: a frame
// written to a packet socket has no checksum offload to lean on).
func synFrame(dstMAC, srcMAC net.HardwareAddr, s floodSYN, dst netip.AddrPort) []byte {
	b := make([]byte, 14+20+24)
	copy(b[0:6], dstMAC)
	copy(b[6:12], srcMAC)
	binary.BigEndian.PutUint16(b[12:14], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], 44)
	binary.BigEndian.PutUint16(ip[4:6], s.ipID)
	binary.BigEndian.PutUint16(ip[6:8], 0x4000) // DF
	ip[8] = 64
	ip[9] = 6
	src4, dst4 := s.src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], src4[:])
	copy(ip[16:20], dst4[:])
	binary.BigEndian.PutUint16(ip[10:12], checksum(0, ip))
	tcp := b[34:58]
	binary.BigEndian.PutUint16(tcp[0:2], s.src.Port())
	binary.BigEndian.PutUint16(tcp[2:4], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:8], s.seq)
	tcp[12] = 6 << 4
	tcp[13] = tcpSYN
	binary.BigEndian.PutUint16(tcp[14:16], 64240)
	tcp[20], tcp[21] = 2, 4
	binary.BigEndian.PutUint16(tcp[22:24], floodMSS)
	// Pseudo header: addresses, protocol, TCP length.
	var sum uint32
	sum = sumBytes(sum, src4[:])
	sum = sumBytes(sum, dst4[:])
	sum += 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:18], checksum(sum, tcp))
	return b
}

func sumBytes(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

// checksum is the Internet checksum (RFC 1071) of b, starting from sum.
func checksum(sum uint32, b []byte) uint16 {
	sum = sumBytes(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// flooder sends a scenario's flood from lab-cli's interface.
type flooder struct {
	f       *Flood
	dst     netip.AddrPort
	sources []netip.Addr
	frames  [][]byte
	fd      int
}

// newFlooder builds every frame ahead and opens the packet socket, so that
// the flood itself only writes.
func newFlooder(sc *Scenario) (*flooder, error) {
	f := sc.Flood
	port := f.Port
	if port == 0 {
		port = sc.ServerPort()
	}
	fl := &flooder{f: f, dst: netip.AddrPortFrom(serverAddr(4), uint16(port))}
	fl.sources = floodSources(f.FloodPrefix(), f.Sources, f.Seed)
	srvHW, _ := net.ParseMAC(srvMAC)
	cliHW, _ := net.ParseMAC(cliMAC)
	for _, s := range floodPlan(f, fl.sources) {
		fl.frames = append(fl.frames, synFrame(srvHW, cliHW, s, fl.dst))
	}
	ifi, err := net.InterfaceByName(cliDev)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("flood socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("flood bind: %w", err)
	}
	fl.fd = fd
	return fl, nil
}

// run sends the flood, evenly spaced over its duration from t0+StartMS.
func (fl *flooder) run(t0 time.Time) *FloodTruth {
	defer unix.Close(fl.fd)
	f := fl.f
	tr := &FloodTruth{Count: f.Count, Dst: fl.dst.String(), Prefix: f.FloodPrefix().String(), Seed: f.Seed,
		Options: fmt.Sprintf("mss %d (no window scale, SACK or timestamps), window 64240, DF, TTL 64", floodMSS)}
	for _, a := range fl.sources {
		tr.Sources = append(tr.Sources, a.String())
	}
	start := t0.Add(ms(f.StartMS))
	step := ms(f.DurationMS) / time.Duration(f.Count)
	for i, b := range fl.frames {
		due := start.Add(time.Duration(i) * step)
		if d := time.Until(due); d > 100*time.Microsecond {
			time.Sleep(d)
		}
		err := writeFrame(fl.fd, b)
		now := time.Now()
		if err != nil {
			tr.SendErrors++
			continue
		}
		if tr.Sent == 0 {
			tr.FirstT = ts(now)
		}
		tr.LastT = ts(now)
		tr.Sent++
	}
	return tr
}
