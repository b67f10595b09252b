// Command seedpcap rebuilds a classic pcap file from a printed tcpdump trace,
// such as the one in seed 002 (printed by an old tcpdump with -nn -S on Linux
// 2.6.18). The result is REBUILT FROM A PRINTED DOCUMENT, not recorded: only
// what the printout shows is real (times of day, addresses, ports, flags,
// absolute sequence and acknowledgement numbers, windows, TCP options,
// payload lengths). The rest is made up: the date (-date, default
// 2013-01-01, UTC), Ethernet with zero MAC addresses (Linux loopback style),
// IPv4 with TTL 64, DF and increasing IP IDs, zero-filled payload, and
// correct checksums.
//
// Usage:
//
//	seedpcap -in trace.txt -out trace.pcap [-print]
//
// No-break spaces (U+00A0, common in traces copied from web pages) count as
// spaces. Lines that do not start with a time of day (prose, section headers such as
// "3.") are skipped. Packets are written in timestamp order, since printed
// traces are often grouped by connection. A pure ACK prints no sequence
// number; it gets the sender's next sequence number, known from its earlier
// segments or else from the peer's last acknowledgement.
//
// With -print the program also writes to stdout what "tcpdump -nn -S -r OUT"
// (tcpdump 4.99, TZ=UTC) prints for the result, so the round trip can be
// checked with diff.
//
// Known limits: IPv4 and TCP only; the options understood are mss, sackOK,
// timestamp (or "TS val A ecr B"), nop, eol, wscale and sack; options whose
// length is not a multiple of 4 are padded with EOL.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TCP flag bits as in the TCP header (RFC 793 p.15, RFC 3168).
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
	flagURG = 0x20
	flagECE = 0x40
	flagCWR = 0x80
)

// Packet is one TCP segment parsed from a printed tcpdump line.
type Packet struct {
	TimeOfDay time.Duration  // time since midnight, as printed
	Src, Dst  netip.AddrPort // IPv4 endpoints
	Flags     uint8          // TCP flag bits
	Seq       uint32         // sequence number (absolute)
	HasSeq    bool           // the line printed a sequence number
	Len       int            // payload length
	Ack       uint32         // acknowledgement number, if Flags has ACK
	Win       uint16         // window field as printed (unscaled)
	Options   []byte         // TCP options, encoded as on the wire
	OptText   []string       // options as tcpdump 4.99 prints them
	Line      int            // line number in the input
}

var (
	lineRE = regexp.MustCompile(`^(\d{1,2}):(\d{2}):(\d{2})\.(\d{6}) IP (\d+\.\d+\.\d+\.\d+)\.(\d+)\s*>\s*(\d+\.\d+\.\d+\.\d+)\.(\d+)\s*:\s*(.*)$`)
	timeRE = regexp.MustCompile(`^\d{1,2}:\d{2}:\d{2}\.\d+ `)
	seqRE  = regexp.MustCompile(`^(\d+):(\d+)\((\d+)\)$`)
	sackRE = regexp.MustCompile(`\{(\d+):(\d+)\}`)
)

// parseLine parses one line printed by tcpdump -nn -S in the old (3.x)
// format, e.g.
//
//	20:25:57.637476 IP 10.0.0.1.53991 > 10.0.0.2.8000: S 3828162025:3828162025(0) win 32792 <mss 16396,sackOK,timestamp 250818 0,nop,wscale 6>
//
// It reports ok=false for lines that are not packets (no leading time of
// day) and an error for packet lines it cannot read.
func parseLine(s string) (p Packet, ok bool, err error) {
	// Documents copied from web pages hold no-break spaces (U+00A0) too.
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s))
	if !timeRE.MatchString(s) {
		return p, false, nil
	}
	m := lineRE.FindStringSubmatch(s)
	if m == nil {
		return p, true, fmt.Errorf("not an IPv4 packet line: %q", s)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	sec, _ := strconv.Atoi(m[3])
	us, _ := strconv.Atoi(m[4])
	p.TimeOfDay = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute +
		time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond
	if p.Src, err = addrPort(m[5], m[6]); err != nil {
		return p, true, err
	}
	if p.Dst, err = addrPort(m[7], m[8]); err != nil {
		return p, true, err
	}

	rest := m[9]
	var opts string
	if i := strings.IndexByte(rest, '<'); i >= 0 {
		j := strings.LastIndexByte(rest, '>')
		if j < i {
			return p, true, fmt.Errorf("unclosed options in %q", s)
		}
		opts = rest[i+1 : j]
		rest = rest[:i] + rest[j+1:]
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return p, true, fmt.Errorf("no TCP flags in %q", s)
	}
	if err := p.parseFlags(f[0]); err != nil {
		return p, true, err
	}
	for i := 1; i < len(f); i++ {
		tok := f[i]
		if sm := seqRE.FindStringSubmatch(tok); sm != nil {
			a, _ := strconv.ParseUint(sm[1], 10, 32)
			b, _ := strconv.ParseUint(sm[2], 10, 32)
			n, _ := strconv.Atoi(sm[3])
			if uint32(b)-uint32(a) != uint32(n) {
				return p, true, fmt.Errorf("sequence %s: end minus start is not the length", tok)
			}
			p.Seq, p.HasSeq, p.Len = uint32(a), true, n
			continue
		}
		if i+1 >= len(f) {
			return p, true, fmt.Errorf("unexpected %q at end of %q", tok, s)
		}
		v, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return p, true, fmt.Errorf("%s %q: %w", tok, f[i+1], err)
		}
		switch tok {
		case "ack":
			p.Ack = uint32(v)
			p.Flags |= flagACK
		case "win":
			if v > 0xffff {
				return p, true, fmt.Errorf("win %d does not fit 16 bits", v)
			}
			p.Win = uint16(v)
		case "length":
			// tcpdump 4.x appends the payload length; the seq field has it too.
		default:
			return p, true, fmt.Errorf("unknown field %q in %q", tok, s)
		}
		i++
	}
	if opts != "" {
		if err := p.parseOptions(opts); err != nil {
			return p, true, fmt.Errorf("%w in %q", err, s)
		}
	}
	return p, true, nil
}

func addrPort(ip, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.AddrPort{}, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", port, err)
	}
	return netip.AddrPortFrom(a, uint16(n)), nil
}

// parseFlags reads the flags word: letters S F P R U W E, and "." which
// alone means no flags (old tcpdump, which shows ACK by printing "ack N")
// and after letters means ACK (tcpdump 4.x style "S.").
func (p *Packet) parseFlags(tok string) error {
	for _, c := range tok {
		switch c {
		case 'S':
			p.Flags |= flagSYN
		case 'F':
			p.Flags |= flagFIN
		case 'P':
			p.Flags |= flagPSH
		case 'R':
			p.Flags |= flagRST
		case 'U':
			p.Flags |= flagURG
		case 'W':
			p.Flags |= flagCWR
		case 'E':
			p.Flags |= flagECE
		case '.':
			if tok != "." {
				p.Flags |= flagACK
			}
		default:
			return fmt.Errorf("unknown TCP flags %q", tok)
		}
	}
	return nil
}

// parseOptions encodes the comma-separated option list printed between < >.
func (p *Packet) parseOptions(s string) error {
	for _, o := range strings.Split(s, ",") {
		f := strings.Fields(o)
		if len(f) == 0 {
			return fmt.Errorf("empty option")
		}
		num := func(i int, bits int) (uint64, error) {
			if i >= len(f) {
				return 0, fmt.Errorf("option %q: missing value", o)
			}
			return strconv.ParseUint(f[i], 10, bits)
		}
		switch f[0] {
		case "nop":
			p.Options = append(p.Options, 1)
			p.OptText = append(p.OptText, "nop")
		case "eol":
			p.Options = append(p.Options, 0)
			p.OptText = append(p.OptText, "eol")
		case "mss":
			v, err := num(1, 16)
			if err != nil {
				return err
			}
			p.Options = binary.BigEndian.AppendUint16(append(p.Options, 2, 4), uint16(v))
			p.OptText = append(p.OptText, fmt.Sprintf("mss %d", v))
		case "sackOK":
			p.Options = append(p.Options, 4, 2)
			p.OptText = append(p.OptText, "sackOK")
		case "wscale":
			v, err := num(1, 8)
			if err != nil {
				return err
			}
			p.Options = append(p.Options, 3, 3, byte(v))
			p.OptText = append(p.OptText, fmt.Sprintf("wscale %d", v))
		case "timestamp", "TS":
			vi, ei := 1, 2
			if f[0] == "TS" { // TS val A ecr B
				vi, ei = 2, 4
			}
			val, err := num(vi, 32)
			if err != nil {
				return err
			}
			ecr, err := num(ei, 32)
			if err != nil {
				return err
			}
			p.Options = append(p.Options, 8, 10)
			p.Options = binary.BigEndian.AppendUint32(p.Options, uint32(val))
			p.Options = binary.BigEndian.AppendUint32(p.Options, uint32(ecr))
			p.OptText = append(p.OptText, fmt.Sprintf("TS val %d ecr %d", val, ecr))
		case "sack":
			n, err := num(1, 8)
			if err != nil {
				return err
			}
			blocks := sackRE.FindAllStringSubmatch(o, -1)
			if len(blocks) != int(n) {
				return fmt.Errorf("option %q: %d blocks, want %d", o, len(blocks), n)
			}
			p.Options = append(p.Options, 5, byte(2+8*n))
			text := fmt.Sprintf("sack %d ", n)
			for _, b := range blocks {
				l, _ := strconv.ParseUint(b[1], 10, 32)
				r, _ := strconv.ParseUint(b[2], 10, 32)
				p.Options = binary.BigEndian.AppendUint32(p.Options, uint32(l))
				p.Options = binary.BigEndian.AppendUint32(p.Options, uint32(r))
				text += fmt.Sprintf("{%d:%d}", l, r)
			}
			p.OptText = append(p.OptText, text)
		default:
			return fmt.Errorf("unknown option %q", o)
		}
	}
	for len(p.Options)%4 != 0 {
		p.Options = append(p.Options, 0)
		p.OptText = append(p.OptText, "eol")
	}
	if len(p.Options) > 40 {
		return fmt.Errorf("options take %d bytes, more than 40", len(p.Options))
	}
	return nil
}

// parseTrace reads every packet line of r, sorts the packets by time of day
// (stable, so equal times keep their printed order) and fills in the
// sequence numbers the printout omits.
func parseTrace(r io.Reader) ([]Packet, error) {
	var pkts []Packet
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		p, ok, err := parseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if ok {
			p.Line = n
			pkts = append(pkts, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(pkts, func(i, j int) bool { return pkts[i].TimeOfDay < pkts[j].TimeOfDay })
	fillSeq(pkts)
	return pkts, nil
}

type direction struct{ src, dst netip.AddrPort }

// fillSeq gives packets without a printed sequence number the sender's next
// sequence number: the end of its latest segment (SYN and FIN count one), or
// failing that the peer's latest acknowledgement.
func fillSeq(pkts []Packet) {
	next := map[direction]uint32{}
	acked := map[direction]uint32{} // what the peer acknowledged of this direction
	for i := range pkts {
		p := &pkts[i]
		d := direction{p.Src, p.Dst}
		if !p.HasSeq {
			if n, ok := next[d]; ok {
				p.Seq = n
			} else if a, ok := acked[d]; ok {
				p.Seq = a
			}
		}
		end := p.Seq + uint32(p.Len)
		if p.Flags&(flagSYN|flagFIN) != 0 {
			end++
		}
		if n, ok := next[d]; !ok || int32(end-n) > 0 {
			next[d] = end
		}
		if p.Flags&flagACK != 0 {
			acked[direction{p.Dst, p.Src}] = p.Ack
		}
	}
}

// frame returns p as an Ethernet frame (zero MAC addresses) carrying IPv4
// (TTL 64, DF, the given ID) and TCP with correct checksums.
func (p *Packet) frame(ipID uint16) []byte {
	tcpLen := 20 + len(p.Options) + p.Len
	b := make([]byte, 14+20+tcpLen)
	binary.BigEndian.PutUint16(b[12:], 0x0800)

	ip := b[14 : 14+20]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
	binary.BigEndian.PutUint16(ip[4:], ipID)
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = 64, 6
	src, dst := p.Src.Addr().As4(), p.Dst.Addr().As4()
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(0, ip))

	tcp := b[34:]
	binary.BigEndian.PutUint16(tcp[0:], p.Src.Port())
	binary.BigEndian.PutUint16(tcp[2:], p.Dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], p.Seq)
	if p.Flags&flagACK != 0 {
		binary.BigEndian.PutUint32(tcp[8:], p.Ack)
	}
	tcp[12] = byte((20+len(p.Options))/4) << 4
	tcp[13] = p.Flags
	binary.BigEndian.PutUint16(tcp[14:], p.Win)
	copy(tcp[20:], p.Options)
	// Pseudo-header: addresses, protocol, TCP length (RFC 793 p.17).
	var sum uint32
	for i := 0; i < 4; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(src[i:])) + uint32(binary.BigEndian.Uint16(dst[i:]))
	}
	sum += 6 + uint32(tcpLen)
	binary.BigEndian.PutUint16(tcp[16:], checksum(sum, tcp))
	return b
}

// checksum is the Internet checksum (RFC 1071) of b, starting from sum.
func checksum(sum uint32, b []byte) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// tcpdumpLine returns what tcpdump 4.99 prints for p with -nn -S in UTC.
func (p *Packet) tcpdumpLine() string {
	var sb strings.Builder
	t := p.TimeOfDay
	fmt.Fprintf(&sb, "%02d:%02d:%02d.%06d IP %s.%d > %s.%d: Flags [%s]",
		int(t/time.Hour), int(t/time.Minute)%60, int(t/time.Second)%60, int(t%time.Second/time.Microsecond),
		p.Src.Addr(), p.Src.Port(), p.Dst.Addr(), p.Dst.Port(), flagString(p.Flags))
	if p.Len > 0 || p.Flags&(flagSYN|flagFIN|flagRST) != 0 {
		fmt.Fprintf(&sb, ", seq %d", p.Seq)
		if p.Len > 0 {
			fmt.Fprintf(&sb, ":%d", p.Seq+uint32(p.Len))
		}
	}
	if p.Flags&flagACK != 0 {
		fmt.Fprintf(&sb, ", ack %d", p.Ack)
	}
	fmt.Fprintf(&sb, ", win %d", p.Win)
	if len(p.OptText) > 0 {
		fmt.Fprintf(&sb, ", options [%s]", strings.Join(p.OptText, ","))
	}
	fmt.Fprintf(&sb, ", length %d", p.Len)
	return sb.String()
}

// flagString spells flags as tcpdump 4.x does (print-tcp.c tcp_flag_values).
func flagString(f uint8) string {
	var s string
	for _, fl := range []struct {
		bit  uint8
		name string
	}{{flagFIN, "F"}, {flagSYN, "S"}, {flagRST, "R"}, {flagPSH, "P"}, {flagACK, "."}, {flagURG, "U"}, {flagECE, "E"}, {flagCWR, "W"}} {
		if f&fl.bit != 0 {
			s += fl.name
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

func main() {
	in := flag.String("in", "", "printed tcpdump trace (text)")
	out := flag.String("out", "", "pcap file to write")
	date := flag.String("date", "2013-01-01", "date (UTC) for the printed times of day")
	print := flag.Bool("print", false, "also print what tcpdump -nn -S -r OUT shows (TZ=UTC)")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: seedpcap -in trace.txt -out trace.pcap [-date YYYY-MM-DD] [-print]")
		os.Exit(2)
	}
	if err := run(*in, *out, *date, *print, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "seedpcap: %v\n", err)
		os.Exit(1)
	}
}

func run(inPath, outPath, date string, print bool, stdout io.Writer) error {
	day, err := time.Parse("2006-01-02", date)
	if err != nil {
		return fmt.Errorf("-date: %w", err)
	}
	f, err := os.Open(inPath)
	if err != nil {
		return err
	}
	defer f.Close()
	pkts, err := parseTrace(f)
	if err != nil {
		return fmt.Errorf("%s: %w", inPath, err)
	}
	if len(pkts) == 0 {
		return fmt.Errorf("%s: no packet lines", inPath)
	}
	o, err := os.Create(outPath)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(o)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		o.Close()
		return err
	}
	for i := range pkts {
		p := &pkts[i]
		b := p.frame(uint16(i + 1))
		ci := gopacket.CaptureInfo{Timestamp: day.Add(p.TimeOfDay), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			o.Close()
			return err
		}
		if print {
			fmt.Fprintln(stdout, p.tcpdumpLine())
		}
	}
	return o.Close()
}
