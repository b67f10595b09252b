package analyze

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcptimeline/tcptimeline/flowstate"
)

// maxRecord is the largest captured length accepted for one record:
// libpcap's MAXIMUM_SNAPLEN (pcap-int.h), the limit tcpdump and Wireshark
// apply to records too.
const maxRecord = 262144

// bufSize is the size of the read buffer. Every classic pcap record fits
// in it, so a whole record is checked, and decoded, where it lies; pcapng
// blocks are peeked at before pcapgo reads them.
const bufSize = 1 << 20

// ErrNotCapture is matched (errors.Is) by every error that means a file
// cannot be read as a capture at all: it cannot be opened or read, it is
// empty, it is neither pcap nor pcapng, its file header is cut short, or
// its link type is not one we decode. Problems met after packets were read
// are warnings in Capture.Warnings instead.
var ErrNotCapture = errors.New("not a readable capture")

// FileError is the error for a file that cannot be read at all. It
// matches ErrNotCapture and unwraps to the underlying error, if any.
type FileError struct {
	Name string // the file, as given to Open
	Msg  string // what is wrong, lower case
	Err  error  // the underlying error, or nil
}

func (e *FileError) Error() string {
	if e.Err != nil {
		return e.Name + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Name + ": " + e.Msg
}

// Unwrap gives ErrNotCapture and the underlying error.
func (e *FileError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrNotCapture}
	}
	return []error{ErrNotCapture, e.Err}
}

// Capture describes one capture file and what reading it found. It is
// plain data, ready for a report.
type Capture struct {
	Index      int      `json:"index"`       // position of the file in the run
	Name       string   `json:"name"`        // as given; "stdin" for "-"
	Format     string   `json:"format"`      // "pcap" or "pcapng"
	Gzip       bool     `json:"gzip"`        // the file was gzip-compressed
	Nanosecond bool     `json:"nanosecond"`  // timestamps finer than a microsecond
	LinkTypes  []string `json:"link_types"`  // tcpdump's names: "EN10MB", "LINUX_SLL2", ...
	Snaplen    uint32   `json:"snaplen"`     // largest snapshot length declared; 0 if none
	Packets    int64    `json:"packets"`     // records read, TCP or not
	TCPPackets int64    `json:"tcp_packets"` // TCP segments returned by Next
	NonTCP     int64    `json:"non_tcp"`     // well-formed packets carrying no TCP
	// Undecodable counts records whose headers were malformed, cut by the
	// snaplen before the TCP header ended, or of an unsupported link type.
	Undecodable int64 `json:"undecodable"`
	// CutBySnaplen counts TCP segments whose payload the snaplen cut; their
	// Len is still the true length.
	CutBySnaplen  int64 `json:"cut_by_snaplen"`
	TimeBackwards int64 `json:"time_backwards"` // records older than the record before
	// InterfaceDrops is the sum of the packets the capturing interfaces
	// dropped (pcapng statistics, isb_ifdrop), when InterfaceDropsKnown.
	InterfaceDrops      uint64      `json:"interface_drops"`
	InterfaceDropsKnown bool        `json:"interface_drops_known"`
	Interfaces          []Interface `json:"interfaces,omitempty"` // pcapng only
	// FirstTime and LastTime are the earliest and latest timestamps, in
	// nanoseconds since the Unix epoch; 0 when no record was read.
	FirstTime int64    `json:"first_time"`
	LastTime  int64    `json:"last_time"`
	Warnings  []string `json:"warnings"`
}

// Interface is one interface of a pcapng capture.
type Interface struct {
	Section     int    `json:"section"` // 0-based section of the file
	ID          int    `json:"id"`      // interface id within the section
	Name        string `json:"name,omitempty"`
	LinkType    string `json:"link_type"`
	Snaplen     uint32 `json:"snaplen"`
	Unsupported bool   `json:"unsupported,omitempty"` // its packets are not decoded
	Packets     int64  `json:"packets"`
	// Dropped is what the last interface statistics block said the
	// interface dropped (isb_ifdrop), when DropsKnown.
	Dropped    uint64 `json:"dropped"`
	DropsKnown bool   `json:"drops_known"`
}

// CaptureReader reads the TCP segments of one capture file, streaming.
type CaptureReader struct {
	info    Capture
	closer  io.Closer    // the file Open opened
	gz      *gzip.Reader // when the file is gzip-compressed
	cr      countingReader
	br      *bufio.Reader // records are peeked at (and classic ones read) here; pcapgo reads from it too
	dec     *decoder
	done    bool // finished: Next returns io.EOF
	stopped bool // a damaged record stopped reading

	// classic pcap
	pcap     *pcapgo.Reader // reads the file header; records are read here
	order    binary.ByteOrder
	nsFactor uint32 // 1000 for microsecond timestamps, 1 for nanosecond
	linkType layers.LinkType
	warnLong bool // a record longer than the snaplen was reported

	// pcapng
	ng      *pcapgo.NgReader
	ngBE    bool          // byte order of the section being read
	ngDir   flowstate.Dir // direction from the next packet's epb_flags
	secBase int           // index in info.Interfaces of the current section's interface 0
	section int

	lastTime       int64
	firstBackwards int64
}

// countingReader counts the bytes read through it, so that offsets in
// the stream can be named: consumed = n - bufio's Buffered().
type countingReader struct {
	r    io.Reader
	n    int64
	idle func() // called before each read of the underlying stream
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.idle != nil {
		c.idle()
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens a capture file; "-" is the standard input. See
// NewCaptureReader.
func Open(path string, index int) (*CaptureReader, error) {
	if path == "-" {
		return NewCaptureReader("stdin", os.Stdin, index)
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &FileError{Name: path, Msg: "cannot open", Err: err}
	}
	c, err := NewCaptureReader(path, f, index)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.closer = f
	return c, nil
}

// Capture file magic numbers as read little-endian (pcap-savefile(5),
// pcapng draft section 4.1).
const (
	magicMicro   = 0xa1b2c3d4
	magicNano    = 0xa1b23c4d
	magicMicroBE = 0xd4c3b2a1
	magicNanoBE  = 0x4d3cb2a1
	magicNg      = 0x0a0d0d0a
	ngBOM        = 0x1a2b3c4d
)

// NewCaptureReader reads a capture from r: classic pcap (microsecond or
// nanosecond timestamps, either byte order) or pcapng, either possibly
// gzip-compressed. name names the file in messages; index becomes
// Segment.File and Capture.Index. The file header is read now: an error
// here is a *FileError matching ErrNotCapture. Close does not close r.
func NewCaptureReader(name string, r io.Reader, index int) (*CaptureReader, error) {
	c := &CaptureReader{info: Capture{Index: index, Name: name, Warnings: []string{}}, dec: newDecoder()}
	fail := func(msg string, err error) (*CaptureReader, error) {
		if c.gz != nil {
			c.gz.Close()
		}
		return nil, &FileError{Name: name, Msg: msg, Err: err}
	}
	// A small buffer to look for the gzip magic; the big one, under
	// pcapgo, is on top of the decompressed stream.
	raw := bufio.NewReaderSize(r, 64<<10)
	head, err := raw.Peek(2)
	if len(head) == 0 {
		if err == io.EOF {
			return fail("empty file, not a capture", nil)
		}
		return fail("cannot read", err)
	}
	c.cr.r = raw
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		c.gz, err = gzip.NewReader(raw)
		if err != nil {
			return fail("bad gzip header", err)
		}
		c.info.Gzip = true
		c.cr.r = c.gz
	}
	c.br = bufio.NewReaderSize(&c.cr, bufSize)

	head, err = c.br.Peek(4)
	if len(head) < 4 {
		switch {
		case len(head) == 0 && err == io.EOF && c.info.Gzip:
			return fail("gzip stream holds no data, not a capture", nil)
		case len(head) == 0 && err == io.EOF:
			return fail("empty file, not a capture", nil)
		case err != io.EOF && err != io.ErrUnexpectedEOF:
			return fail("cannot read", err)
		}
		return fail(fmt.Sprintf("not a pcap or pcapng capture (only %d bytes: 0x%x)", len(head), head), nil)
	}
	switch m := binary.LittleEndian.Uint32(head); m {
	case magicMicro, magicNano, magicMicroBE, magicNanoBE:
		return c.openPcap(fail)
	case magicNg:
		return c.openNg(fail)
	}
	return fail(fmt.Sprintf("not a pcap or pcapng capture (starts with 0x%x)", head), nil)
}

func (c *CaptureReader) openPcap(fail func(string, error) (*CaptureReader, error)) (*CaptureReader, error) {
	c.info.Format = "pcap"
	h, err := c.br.Peek(24)
	if len(h) < 24 {
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return fail("cannot read", err)
		}
		return fail(fmt.Sprintf("truncated file header (%d of 24 bytes), not a capture", len(h)), nil)
	}
	c.order = binary.LittleEndian
	if m := binary.LittleEndian.Uint32(h); m == magicMicroBE || m == magicNanoBE {
		c.order = binary.BigEndian
	}
	// bufio.NewReader inside pcapgo returns c.br itself (it is large
	// enough), so pcapgo reads from the buffer peeked at here.
	c.pcap, err = pcapgo.NewReader(c.br)
	if err != nil {
		return fail("bad pcap file header", err)
	}
	c.info.Nanosecond = c.pcap.Resolution().Exponent == -9
	c.nsFactor = 1000
	if c.info.Nanosecond {
		c.nsFactor = 1
	}
	c.info.Snaplen = c.pcap.Snaplen()
	c.linkType = c.pcap.LinkType()
	if !supportedLinkType(c.linkType) {
		return fail(fmt.Sprintf("unsupported link type %d (%s)", c.linkType, linkTypeName(c.linkType)), nil)
	}
	c.info.LinkTypes = []string{linkTypeName(c.linkType)}
	return c, nil
}

func (c *CaptureReader) openNg(fail func(string, error) (*CaptureReader, error)) (*CaptureReader, error) {
	c.info.Format = "pcapng"
	c.info.LinkTypes = []string{}
	// A section header block is at least 28 bytes (pcapng draft 4.1).
	h, err := c.br.Peek(28)
	if len(h) < 28 {
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return fail("cannot read", err)
		}
		return fail(fmt.Sprintf("truncated file header (%d of at least 28 bytes of the section header), not a capture", len(h)), nil)
	}
	switch {
	case binary.BigEndian.Uint32(h[8:]) == ngBOM:
		c.ngBE = true
	case binary.LittleEndian.Uint32(h[8:]) != ngBOM:
		return fail(fmt.Sprintf("bad pcapng byte-order magic 0x%x", h[8:12]), nil)
	}
	// Packets of every interface, each with its own link type
	// (ci.AncillaryData[0]); by default pcapgo drops those of interfaces
	// whose link type differs from the first one's.
	c.ng, err = pcapgo.NewNgReader(c.br, pcapgo.NgReaderOptions{
		WantMixedLinkType:  true,
		SkipUnknownVersion: true,
		StatisticsCallback: c.ngStatistics,
		SectionEndCallback: c.ngSectionEnd,
	})
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fail("truncated file header (the section header block is cut short), not a capture", nil)
		}
		return fail("bad pcapng section header", err)
	}
	// Interfaces are described before their packets. Look at those
	// described before the first packet: if none has a link type we
	// decode, the file cannot be analysed; an unsupported one among good
	// ones only costs its own packets.
	var ltypes []layers.LinkType
	c.ngScan(func(typ uint32, b []byte) {
		if typ == ngIDB && len(b) >= 10 {
			ltypes = append(ltypes, layers.LinkType(c.ngUint16(b[8:10])))
		}
	})
	ok := len(ltypes) == 0
	for _, lt := range ltypes {
		ok = ok || supportedLinkType(lt)
	}
	if !ok {
		lt := ltypes[0]
		return fail(fmt.Sprintf("unsupported link type %d (%s)", lt, linkTypeName(lt)), nil)
	}
	return c, nil
}

// Info describes the capture. It is updated as reading proceeds and is
// final once Next has returned io.EOF.
func (c *CaptureReader) Info() *Capture { return &c.info }

// OnRead sets a function that Next calls, in its own goroutine, each time
// it is about to read more of the underlying stream: on a live capture
// (tcpdump -w -) that read may wait for the next packet, so it is the
// moment to hand on what was read so far.
func (c *CaptureReader) OnRead(f func()) { c.cr.idle = f }

// Close releases the reader and closes the file Open opened.
func (c *CaptureReader) Close() error {
	c.done = true
	var err error
	if c.gz != nil {
		err = c.gz.Close()
		c.gz = nil
	}
	if c.closer != nil {
		if cerr := c.closer.Close(); err == nil {
			err = cerr
		}
		c.closer = nil
	}
	return err
}

// Next fills seg with the next TCP segment of the capture. Records that
// carry no TCP, or cannot be decoded, are counted in Info and skipped.
// Next returns io.EOF at the end of the capture, also when a damaged
// record ended it early (see Info().Warnings); it returns no other error.
// In steady state it does not allocate.
func (c *CaptureReader) Next(seg *flowstate.Segment) error {
	for !c.done && !c.stopped {
		var (
			data  []byte
			ts    int64
			lt    layers.LinkType
			iface = -1
		)
		if c.pcap != nil {
			rec := c.pcapCheck()
			if rec == nil {
				break
			}
			// The record is read in place, in the buffer: its bytes stay
			// there until the next read, after decode has copied what the
			// segment needs. The timestamp is computed as pcapgo does,
			// fraction times its factor in 32 bits.
			ts = int64(c.order.Uint32(rec[0:4]))*1e9 + int64(c.order.Uint32(rec[4:8])*c.nsFactor)
			data, lt = rec[16:], c.linkType
			c.br.Discard(len(rec))
		} else {
			off := c.offset()
			if !c.ngScan(nil) {
				break
			}
			d, ci, err := c.ng.ZeroCopyReadPacketData()
			if err != nil {
				if err != io.EOF {
					c.ngError(off, err)
				}
				break
			}
			data, ts = d, ci.Timestamp.UnixNano()
			lt, _ = ci.AncillaryData[0].(layers.LinkType)
			iface = c.secBase + ci.InterfaceIndex
			if iface >= len(c.info.Interfaces) {
				c.addInterfaces(c.ng.NInterfaces(), c.ng.Interface)
			}
			c.info.Interfaces[iface].Packets++
		}

		c.info.Packets++
		c.clock(ts)
		res, cut := c.dec.decode(data, lt, seg)
		switch res {
		case resTCP:
			c.info.TCPPackets++
			if cut {
				c.info.CutBySnaplen++
			}
			seg.Time = ts
			seg.File = int32(c.info.Index)
			seg.Frame = c.info.Packets
			if iface >= 0 {
				// The cooked header's interface and direction, when
				// there is one, say more than the pcapng interface.
				if seg.Dir == flowstate.DirUnknown {
					seg.Dir = c.ngDir
				}
				if seg.Iface == 0 {
					seg.Iface = uint8(iface + 1)
				}
			}
			return nil
		case resNonTCP:
			c.info.NonTCP++
		case resUnsupported:
			if iface >= 0 {
				c.info.Interfaces[iface].Unsupported = true
			}
			c.info.Undecodable++
		default:
			c.info.Undecodable++
		}
	}
	c.finish()
	return io.EOF
}

// clock keeps the time bounds and counts records older than the one
// before them.
func (c *CaptureReader) clock(ts int64) {
	if c.info.Packets == 1 {
		c.info.FirstTime, c.info.LastTime = ts, ts
	} else {
		if ts < c.lastTime {
			if c.info.TimeBackwards == 0 {
				c.firstBackwards = c.info.Packets
			}
			c.info.TimeBackwards++
		}
		c.info.FirstTime = min(c.info.FirstTime, ts)
		c.info.LastTime = max(c.info.LastTime, ts)
	}
	c.lastTime = ts
}

// offset is the position in the (decompressed) stream of the next byte
// pcapgo will read.
func (c *CaptureReader) offset() int64 { return c.cr.n - int64(c.br.Buffered()) }

// inStream qualifies byte offsets in a gzip-compressed file.
func (c *CaptureReader) inStream() string {
	if c.info.Gzip {
		return " of the decompressed stream"
	}
	return ""
}

func (c *CaptureReader) warn(format string, args ...any) {
	c.info.Warnings = append(c.info.Warnings, c.info.Name+": "+fmt.Sprintf(format, args...))
}

// stop ends reading the file with a warning; the message is followed by
// how many packets were read before.
func (c *CaptureReader) stop(format string, args ...any) {
	c.warn(format+"; %s", append(args, analysedBefore(c.info.Packets))...)
	c.stopped = true
}

// analysedBefore says that the n packets before a damaged one were kept.
func analysedBefore(n int64) string {
	switch n {
	case 0:
		return "no packet came before it"
	case 1:
		return "the 1 packet before it was analysed"
	}
	return "the " + strconv.FormatInt(n, 10) + " packets before it were analysed"
}

// cutShort reports a record the end of the stream (or a read error)
// cut short, at byte offset off.
func (c *CaptureReader) cutShort(off int64, err error) {
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		c.stop("truncated record at byte offset %d%s (packet %d): the capture ends mid-packet", off, c.inStream(), c.info.Packets+1)
		return
	}
	c.stop("read error at byte offset %d%s (packet %d): %v", off, c.inStream(), c.info.Packets+1, err)
}

// pcapCheck peeks at the next classic pcap record, header included: it
// must be whole and of a sane length. It returns the record, still in the
// buffer, or nil at the end or when the record stopped reading.
func (c *CaptureReader) pcapCheck() []byte {
	off := c.offset()
	h, err := c.br.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			return nil // the end
		}
		c.cutShort(off, err)
		return nil
	}
	caplen, origlen := c.order.Uint32(h[8:12]), c.order.Uint32(h[12:16])
	switch {
	case caplen > maxRecord:
		c.stop("absurd record length at byte offset %d%s (packet %d): captured length %d is above the %d-byte maximum; reading stopped there",
			off, c.inStream(), c.info.Packets+1, caplen, maxRecord)
		return nil
	case caplen > origlen:
		c.stop("absurd record length at byte offset %d%s (packet %d): captured length %d is above the original length %d; reading stopped there",
			off, c.inStream(), c.info.Packets+1, caplen, origlen)
		return nil
	case caplen > c.info.Snaplen && !c.warnLong:
		// Writers that do not truncate to the snaplen they declare exist
		// (dpkt); tcpdump and Wireshark read such records, and so do we.
		c.warnLong = true
		c.warn("record at byte offset %d%s (packet %d) is longer than the snaplen (%d > %d bytes): read anyway, as tcpdump does",
			off, c.inStream(), c.info.Packets+1, caplen, c.info.Snaplen)
	}
	b, err := c.br.Peek(16 + int(caplen))
	if len(b) < 16+int(caplen) {
		c.cutShort(off, err)
		return nil
	}
	return b
}

// pcapng block types (pcapng draft section 4).
const (
	ngIDB = 1
	ngPB  = 2 // obsolete Packet Block
	ngSPB = 3
	ngISB = 5
	ngEPB = 6
	ngSHB = 0x0a0d0d0a
)

func (c *CaptureReader) ngUint16(b []byte) uint16 {
	if c.ngBE {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

// ngScan peeks at the pcapng blocks pcapgo will read for the next packet:
// any interface, statistics or other blocks, then the packet block. Each
// must be whole, of a sane length, and a packet's captured length must be
// sane, or the file stops here with a warning naming the block's offset.
// saw, when not nil, is called with every whole block before the packet.
// It reports whether pcapgo may go on. Blocks beyond the buffer are left to
// pcapgo.
func (c *CaptureReader) ngScan(saw func(typ uint32, b []byte)) bool {
	be := c.ngBE
	u32 := func(b []byte) uint32 {
		if be {
			return binary.BigEndian.Uint32(b)
		}
		return binary.LittleEndian.Uint32(b)
	}
	base := c.offset()
	q := 0
	c.ngDir = flowstate.DirUnknown
	for {
		b, err := c.br.Peek(q + 12)
		if len(b) < q+12 {
			switch {
			case len(b) == q && err == io.EOF: // the end, after whole blocks
				return true
			case err == bufio.ErrBufferFull:
				return true
			}
			c.cutShort(base+int64(q), err)
			return false
		}
		typ := binary.LittleEndian.Uint32(b[q:]) // read either way for the SHB
		if typ == ngSHB {
			switch {
			case binary.BigEndian.Uint32(b[q+8:]) == ngBOM:
				be = true
			case binary.LittleEndian.Uint32(b[q+8:]) == ngBOM:
				be = false
			default:
				c.stop("bad pcapng section header at byte offset %d%s (packet %d): byte-order magic 0x%x", base+int64(q), c.inStream(), c.info.Packets+1, b[q+8:q+12])
				return false
			}
		} else {
			typ = u32(b[q:])
		}
		blen := int64(u32(b[q+4:]))
		if blen < 12 || blen%4 != 0 {
			c.stop("corrupt pcapng block at byte offset %d%s (packet %d): block length %d", base+int64(q), c.inStream(), c.info.Packets+1, blen)
			return false
		}
		packet := typ == ngEPB || typ == ngPB || typ == ngSPB
		if typ == ngEPB || typ == ngPB {
			if b, err = c.br.Peek(q + 28); len(b) < q+28 {
				if err == bufio.ErrBufferFull {
					return true
				}
				c.cutShort(base+int64(q), err)
				return false
			}
			caplen, origlen := u32(b[q+20:]), u32(b[q+24:])
			switch {
			case caplen > maxRecord:
				c.stop("absurd record length at byte offset %d%s (packet %d): captured length %d is above the %d-byte maximum; reading stopped there",
					base+int64(q), c.inStream(), c.info.Packets+1, caplen, maxRecord)
				return false
			case caplen > origlen:
				c.stop("absurd record length at byte offset %d%s (packet %d): captured length %d is above the original length %d; reading stopped there",
					base+int64(q), c.inStream(), c.info.Packets+1, caplen, origlen)
				return false
			case 32+int64(caplen) > blen:
				c.stop("corrupt pcapng block at byte offset %d%s (packet %d): captured length %d does not fit the block length %d",
					base+int64(q), c.inStream(), c.info.Packets+1, caplen, blen)
				return false
			}
		}
		if int64(q)+blen > bufSize {
			return true // too far ahead to peek at: pcapgo will tell
		}
		end := q + int(blen)
		if b, err = c.br.Peek(end); len(b) < end {
			if err == bufio.ErrBufferFull {
				return true
			}
			c.cutShort(base+int64(q), err)
			return false
		}
		if packet {
			c.ngBE = be
			if typ == ngEPB {
				c.ngDir = epbDir(b[q:end], be)
			}
			return true
		}
		if saw != nil {
			saw(typ, b[q:end])
		}
		q = end
	}
}

// epbDir reads the direction bits of an Enhanced Packet Block's epb_flags
// option (pcapng draft 4.3.1: bits 0-1, 01 inbound, 10 outbound), from the
// whole block b; DirUnknown when there is none.
func epbDir(b []byte, be bool) flowstate.Dir {
	u32 := binary.LittleEndian.Uint32
	u16 := binary.LittleEndian.Uint16
	if be {
		u32, u16 = binary.BigEndian.Uint32, binary.BigEndian.Uint16
	}
	caplen := int(u32(b[20:]))
	o := 28 + (caplen+3)&^3
	for o+4 <= len(b)-4 {
		code, l := u16(b[o:]), int(u16(b[o+2:]))
		if code == 0 { // opt_endofopt
			break
		}
		v := o + 4
		if v+l > len(b)-4 {
			break
		}
		if code == 2 && l == 4 { // epb_flags
			switch u32(b[v:]) & 3 {
			case 1:
				return flowstate.DirIncoming
			case 2:
				return flowstate.DirOutgoing
			}
			return flowstate.DirUnknown
		}
		o = v + (l+3)&^3
	}
	return flowstate.DirUnknown
}

// ngError reports an error pcapgo met in blocks ngScan let through.
func (c *CaptureReader) ngError(off int64, err error) {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		c.cutShort(off, err)
		return
	}
	c.stop("bad pcapng block at or after byte offset %d%s (packet %d): %v", off, c.inStream(), c.info.Packets+1, err)
}

// addInterfaces records the interfaces of the current section up to n.
func (c *CaptureReader) addInterfaces(n int, get func(int) (pcapgo.NgInterface, error)) {
	for id := len(c.info.Interfaces) - c.secBase; id < n; id++ {
		ifc, err := get(id)
		if err != nil {
			return
		}
		c.info.Interfaces = append(c.info.Interfaces, Interface{
			Section:     c.section,
			ID:          id,
			Name:        ifc.Name,
			LinkType:    linkTypeName(ifc.LinkType),
			Snaplen:     ifc.SnapLength,
			Unsupported: !supportedLinkType(ifc.LinkType),
		})
		c.info.Snaplen = max(c.info.Snaplen, ifc.SnapLength)
		if r := ifc.TimestampResolution; r.Binary() && r.Exponent() >= 20 || !r.Binary() && r.Exponent() > 6 {
			c.info.Nanosecond = true
		}
		name := linkTypeName(ifc.LinkType)
		seen := false
		for _, s := range c.info.LinkTypes {
			seen = seen || s == name
		}
		if !seen {
			c.info.LinkTypes = append(c.info.LinkTypes, name)
		}
	}
}

// ngStatistics is pcapgo's StatisticsCallback: an interface statistics
// block. Its counters are totals since capture start, so the last one of
// each interface counts.
func (c *CaptureReader) ngStatistics(id int, st pcapgo.NgInterfaceStatistics) {
	c.addInterfaces(id+1, c.ng.Interface)
	i := c.secBase + id
	if i >= len(c.info.Interfaces) || st.PacketsDropped == pcapgo.NgNoValue64 {
		return
	}
	c.info.Interfaces[i].Dropped = st.PacketsDropped
	c.info.Interfaces[i].DropsKnown = true
	c.info.InterfaceDrops, c.info.InterfaceDropsKnown = 0, true
	for _, ifc := range c.info.Interfaces {
		if ifc.DropsKnown {
			c.info.InterfaceDrops += ifc.Dropped
		}
	}
}

// ngSectionEnd is pcapgo's SectionEndCallback, called when a new section
// header ends the previous section.
func (c *CaptureReader) ngSectionEnd(ifaces []pcapgo.NgInterface, _ pcapgo.NgSectionInfo) {
	c.addInterfaces(len(ifaces), func(i int) (pcapgo.NgInterface, error) { return ifaces[i], nil })
	c.secBase = len(c.info.Interfaces)
	c.section++
}

// finish ends reading: the last warnings.
func (c *CaptureReader) finish() {
	if c.done {
		return
	}
	if c.ng != nil {
		c.addInterfaces(c.ng.NInterfaces(), c.ng.Interface)
	}
	c.done = true
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
	switch n := c.info.TimeBackwards; {
	case n == 1:
		c.warn("timestamps go backwards once (packet %d is older than the packet before it)", c.firstBackwards)
	case n > 1:
		c.warn("timestamps go backwards %d times (first at packet %d)", n, c.firstBackwards)
	}
	if c.info.InterfaceDrops > 0 {
		c.warn("the capturing interfaces dropped %d packets (pcapng interface statistics): the capture misses packets", c.info.InterfaceDrops)
	}
}

// linkTypeName gives a link type's name as tcpdump prints it
// (libpcap pcap.c dlt_choices).
func linkTypeName(lt layers.LinkType) string {
	switch lt {
	case 0:
		return "NULL"
	case 1:
		return "EN10MB"
	case 6:
		return "IEEE802"
	case 9:
		return "PPP"
	case 10:
		return "FDDI"
	case 12, 14, 101:
		return "RAW"
	case 50:
		return "PPP_SERIAL"
	case 51:
		return "PPP_ETHER"
	case 104:
		return "C_HDLC"
	case 105:
		return "IEEE802_11"
	case 108:
		return "LOOP"
	case 113:
		return "LINUX_SLL"
	case 117:
		return "PFLOG"
	case 119:
		return "PRISM_HEADER"
	case 127:
		return "IEEE802_11_RADIO"
	case 143:
		return "DOCSIS"
	case 163:
		return "IEEE802_11_RADIO_AVS"
	case 189:
		return "USB_LINUX"
	case 192:
		return "PPI"
	case 195:
		return "IEEE802_15_4"
	case 197:
		return "ERF"
	case 220:
		return "USB_LINUX_MMAPPED"
	case 228:
		return "IPV4"
	case 229:
		return "IPV6"
	case 249:
		return "NETLINK"
	case 276:
		return "LINUX_SLL2"
	}
	if lt >= 147 && lt <= 162 {
		return "USER" + strconv.Itoa(int(lt)-147)
	}
	return "unknown"
}
