package analyze

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

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
		// The file's name once: "x: cannot read: is a directory", not
		// "x: cannot read: read x: is a directory".
		var pe *fs.PathError
		if errors.As(e.Err, &pe) && pe.Path == e.Name {
			return e.Name + ": " + e.Msg + ": " + pe.Err.Error()
		}
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
	// Undecodable counts records whose headers were malformed (an IP
	// version nibble that does not match among them), cut by the snaplen
	// before the TCP header ended, or of an unsupported link type.
	Undecodable int64 `json:"undecodable"`
	// TruncatedTCP counts the undecodable records whose TCP header was
	// cut short by the snaplen, or whose data offset was below 5 or
	// reached past the packet; BadIPVersion those whose IP header's
	// version nibble did not match the type announced before it (an
	// EtherType, a link type, a tunnel's protocol field).
	TruncatedTCP int64 `json:"truncated_tcp_header"`
	BadIPVersion int64 `json:"ip_version_mismatch"` // among Undecodable, as TruncatedTCP
	// IPFragments counts records that are IP fragments, except those that
	// completed a datagram carrying a TCP segment (counted in TCPPackets,
	// and in Reassembled) or an undecodable one. Packets is TCPPackets +
	// NonTCP + Undecodable + IPFragments.
	IPFragments int64 `json:"ip_fragments"`
	Reassembled int64 `json:"reassembled"` // TCP segments rebuilt from IP fragments
	// FragmentsIncomplete counts fragmented datagrams never completed: a
	// fragment missing, the reassembly timeout (30 s for IPv4, 60 s for
	// IPv6, as Linux) passed, or the table of datagrams in reassembly
	// full. A TCP segment among them is missing from the analysis.
	FragmentsIncomplete int64 `json:"fragments_incomplete"`
	// CutBySnaplen counts TCP segments whose payload the snaplen cut; their
	// Len is still the true length.
	CutBySnaplen  int64 `json:"cut_by_snaplen"`
	TimeBackwards int64 `json:"time_backwards"` // records older than the record before
	// InterfaceDrops is the sum of the packets the capturing interfaces
	// dropped (pcapng statistics, isb_ifdrop), when InterfaceDropsKnown.
	InterfaceDrops      uint64 `json:"interface_drops"`
	InterfaceDropsKnown bool   `json:"interface_drops_known"`
	// Interfaces lists a pcapng file's first 64 interfaces; MoreInterfaces
	// counts the others and MoreInterfacesPackets their packets.
	Interfaces            []Interface `json:"interfaces,omitempty"`
	MoreInterfaces        int64       `json:"more_interfaces,omitempty"`
	MoreInterfacesPackets int64       `json:"more_interfaces_packets,omitempty"`
	// OtherBlocks counts the pcapng blocks skipped: name resolution,
	// decryption secrets, custom and unknown blocks.
	OtherBlocks int64 `json:"other_blocks,omitempty"`
	// CorruptTimes counts the records whose timestamp was far from both
	// neighbours' (see Next); they were read at a neighbour's time.
	CorruptTimes int64 `json:"corrupt_times,omitempty"`
	// FirstTime and LastTime are the earliest and latest timestamps, in
	// nanoseconds since the Unix epoch; 0 when no record was read
	// (Packets is 0 then).
	FirstTime int64    `json:"first_time"`
	LastTime  int64    `json:"last_time"`
	Warnings  []string `json:"warnings"`

	// In a run of several captures that recorded the same packets (vantage
	// points of one incident; vantages.go): Vantage is this capture's place
	// relative to the listeners it shares with the others (client, server,
	// between; mixed with VantageByListener when it differs by listener);
	// ClockOffset is its clock minus the first capture's, in seconds, give
	// or take ClockOffsetUncertainty (0 for the first); OneWayDelay the
	// least one-way delay between the first capture's point and this
	// one's each way; SharedPackets how many packets both recorded.
	Vantage                string            `json:"vantage,omitempty"`
	VantageName            string            `json:"vantage_name,omitempty"` // as given (--vantage NAME=...)
	VantageByListener      map[string]string `json:"vantage_by_listener,omitempty"`
	ClockOffset            *float64          `json:"clock_offset,omitempty"`
	ClockOffsetUncertainty *float64          `json:"clock_offset_uncertainty,omitempty"`
	OneWayDelay            *OneWayDelay      `json:"one_way_delay,omitempty"`
	SharedPackets          int               `json:"shared_packets,omitempty"`
}

// OneWayDelay is the least delay between two capture points each way, in
// seconds.
type OneWayDelay struct {
	C2S float64 `json:"c2s"`
	S2C float64 `json:"s2c"`
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
	quiet   QuietSource  // the stream read, when it says how long it was silent
	closer  io.Closer    // the file Open opened
	gz      *gzip.Reader // when the file is gzip-compressed
	cr      countingReader
	br      *bufio.Reader // records are peeked at (and classic ones read) here; pcapgo reads the classic file header from it
	raw     *bufio.Reader // under the gzip reader, or under br
	dec     *decoder
	done    bool // finished: Next returns io.EOF
	stopped bool // a damaged record stopped reading

	// classic pcap
	pcap     *pcapgo.Reader // reads the file header; records are read here
	order    binary.ByteOrder
	nsFactor uint32 // 1000 for microsecond timestamps, 1 for nanosecond
	linkType layers.LinkType
	warnLong bool // a record longer than the snaplen was reported

	fracLimit uint32 // 1e6 or 1e9: a fraction field at or above it is out of range
	badFrac   int64  // records whose fraction field was out of range
	firstFrac int64  // the first of them
	fracValue uint32 // its fraction field

	later *later // set by OpenLater until the file is opened again

	// pcapng
	isNg     bool
	ng       ngState
	lastRead int64 // the time of the last record read (for pcapng simple packet blocks)

	// Records are judged on their timestamps before they are handed out:
	// q[:ready] are judged, q[ready:n] wait for their successors.
	q        [3]rec
	n, ready int
	eof      bool
	prev     int64 // the time of the last record judged
	hasPrev  bool
	jump     int64 // a record this far from both neighbours has a corrupt time

	clocked        bool // a record's time was taken
	lastTime       int64
	firstBackwards int64
	moreWarnings   int

	// path is the file opened (Open, OpenLater), "" for a stream; shift
	// is subtracted from every segment's time (the file's clock offset
	// against the run's first file, clocks.go).
	path  string
	shift int64
}

// rec is a record read, with its segment when it carries TCP.
type rec struct {
	seg   flowstate.Segment
	ts    int64
	frame int64
	tcp   bool
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
	c := new(CaptureReader)
	if err := c.openFile(path, index, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// openFile opens path into c, through wrap when not nil.
func (c *CaptureReader) openFile(path string, index int, wrap func(io.Reader) io.Reader) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &FileError{Name: path, Msg: "cannot open", Err: err}
	}
	var r io.Reader = f
	if wrap != nil {
		r = wrap(f)
	}
	if _, err := c.start(path, r, index); err != nil {
		f.Close()
		return err
	}
	c.closer, c.path = f, path
	return nil
}

// later is what a reader opened by OpenLater keeps until its turn.
type later struct {
	path  string
	wrap  func(io.Reader) io.Reader
	first int64 // the time of its first TCP segment
}

// OpenLater checks a capture file as Open does and reads it up to its
// first TCP segment, then closes it: the returned reader holds no file
// and no buffer until it is read. A Merger reads such readers' first
// segment times to open each file only when the merge reaches it, so a
// ring of thousands of files costs one or two open files and their
// buffers at a time (files that overlap in time are open together). The
// first call of Next opens the file again; wrap, when not nil, is put in
// front of the file then (to count the bytes read for the analysis). A
// file without TCP is read whole now, and its reader is already at the
// end.
func OpenLater(path string, index int, wrap func(io.Reader) io.Reader) (*CaptureReader, error) {
	c := new(CaptureReader)
	if err := c.openFile(path, index, nil); err != nil {
		return nil, err
	}
	var seg flowstate.Segment
	if c.Next(&seg) == io.EOF {
		return c, nil // finish released the file and the buffers
	}
	first := seg.Time
	format, gz := c.info.Format, c.info.Gzip
	c.release()
	*c = CaptureReader{info: Capture{Index: index, Name: path, Format: format, Gzip: gz, Warnings: []string{}},
		later: &later{path: path, wrap: wrap, first: first}, jump: defaultJump, path: path}
	return c, nil
}

// reopen opens a reader made by OpenLater again, for reading.
func (c *CaptureReader) reopen() {
	l, idle, jump, shift := c.later, c.cr.idle, c.jump, c.shift
	if err := c.openFile(l.path, c.info.Index, l.wrap); err != nil {
		// Gone or changed since it was first opened: a warning, no packets.
		c.later = nil
		c.info.Warnings = append(c.info.Warnings, fmt.Sprintf("%v (when it was opened again to be read)", err))
		c.done = true
		return
	}
	c.cr.idle, c.jump, c.shift = idle, jump, shift
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
	return new(CaptureReader).start(name, r, index)
}

// start sets c up to read r (see NewCaptureReader).
func (c *CaptureReader) start(name string, r io.Reader, index int) (*CaptureReader, error) {
	*c = CaptureReader{info: Capture{Index: index, Name: name, Warnings: []string{}}, dec: newDecoder(), jump: defaultJump}
	c.quiet, _ = r.(QuietSource)
	fail := func(msg string, err error) (*CaptureReader, error) {
		c.release()
		return nil, &FileError{Name: name, Msg: msg, Err: err}
	}
	// A small buffer to look for the gzip magic; the big one, under
	// pcapgo, is on top of the decompressed stream.
	raw := buffers.get(&buffers.raw, 64<<10)
	raw.Reset(r)
	c.raw = raw
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
	c.br = buffers.get(&buffers.big, bufSize)
	c.br.Reset(&c.cr)

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
	c.nsFactor, c.fracLimit = 1000, 1e6
	if c.info.Nanosecond {
		c.nsFactor, c.fracLimit = 1, 1e9
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
	c.isNg = true
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
		c.ng.be = true
	case binary.LittleEndian.Uint32(h[8:]) != ngBOM:
		return fail(fmt.Sprintf("bad pcapng byte-order magic 0x%x", h[8:12]), nil)
	}
	blen := int64(c.u32(h[4:]))
	if blen < 28 || blen%4 != 0 {
		return fail(fmt.Sprintf("bad pcapng section header: block length %d", blen), nil)
	}
	if blen <= bufSize {
		if h, _ = c.br.Peek(int(blen)); int64(len(h)) < blen {
			return fail("truncated file header (the section header block is cut short), not a capture", nil)
		}
	}
	// Interfaces are described before their packets. Look at those
	// described before the first packet: if none has a link type we
	// decode, the file cannot be analysed; an unsupported one among good
	// ones only costs its own packets.
	c.ngNext(nil, true)
	ok := len(c.ng.ifaces) == 0
	for _, ifc := range c.ng.ifaces {
		ok = ok || !ifc.unsupported
	}
	if !ok {
		lt := c.ng.ifaces[0].linkType
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

// QuietSource is a live input's stream (a pipe from tcpdump -U -w -) that
// tells, from within a Read waiting for data, how long no data came: it
// calls the function given to OnQuiet with that wall time, about once a
// second while the input is silent. The wall clock stays there, on the
// input side: a run takes each call as the capture's time moving on by
// that much without a packet, so that flows whose linger or idle timeout
// passed are finished and handed out while the capture goes on (Run).
type QuietSource interface {
	io.Reader
	OnQuiet(func(quiet int64))
}

// buffers keeps a few read buffers of files read to the end for the next
// files: a ring of thousands of files, each opened twice (OpenLater),
// would otherwise allocate (and clear) a megabyte per opening and keep the
// garbage collector busy. (A sync.Pool is emptied by every collection.)
var buffers bufferCache

type bufferCache struct {
	sync.Mutex
	big, raw []*bufio.Reader
}

// keptBuffers is how many buffers of each size buffers keeps.
const keptBuffers = 4

func (b *bufferCache) get(list *[]*bufio.Reader, size int) *bufio.Reader {
	b.Lock()
	defer b.Unlock()
	if n := len(*list); n > 0 {
		r := (*list)[n-1]
		*list = (*list)[:n-1]
		return r
	}
	return bufio.NewReaderSize(nil, size)
}

func (b *bufferCache) put(list *[]*bufio.Reader, r *bufio.Reader) {
	r.Reset(nil)
	b.Lock()
	defer b.Unlock()
	if len(*list) < keptBuffers {
		*list = append(*list, r)
	}
}

// release closes the file and gives back the buffers once the file is
// read: a capture's Info outlives them. The file is not closed when
// Open did not open it.
func (c *CaptureReader) release() {
	c.Close()
	if c.br != nil {
		buffers.put(&buffers.big, c.br)
	}
	if c.raw != nil {
		buffers.put(&buffers.raw, c.raw)
	}
	c.br, c.raw, c.dec, c.pcap, c.cr.r = nil, nil, nil, nil, nil
	c.ng.ifaces = nil
}

// Close releases the reader and closes the file Open opened.
func (c *CaptureReader) Close() error {
	c.done = true
	c.later = nil
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

// defaultJump is how far a record's time may be from both its
// neighbours' before it is taken as corrupt: the longer of the default
// flow timeouts (Timeouts.Idle). Run sets the run's own.
const defaultJump = 300e9

// liveJump, as a reader's jump, turns the judging of timestamps off: on a
// live input (QuietSource) a record cannot wait for the next one, which
// may come minutes later, and a long silence is the input's, not a
// corrupt timestamp: tcpdump stamps each packet as it takes it.
const liveJump = math.MaxInt64

// maxCorruptWarnings is how many corrupt timestamps are each named in a
// warning; the others are counted.
const maxCorruptWarnings = 10

// maxWarnings bounds a capture's warnings; those past it are counted in
// one last warning.
const maxWarnings = 32

// Next fills seg with the next TCP segment of the capture. Records that
// carry no TCP, or cannot be decoded, are counted in Info and skipped.
// Next returns io.EOF at the end of the capture, also when a damaged
// record ended it early (see Info().Warnings); it returns no other error.
// In steady state it does not allocate.
//
// A record whose timestamp is more than the flow idle timeout (300 s)
// away from both the record before it and the record after it, while
// those two are within it of each other, has a corrupt timestamp (a bit
// flipped on disk, a writer's bug): it is read at the time of the record
// before it (for the first record of a file, the one after it), counted in
// Info().CorruptTimes and named in a warning. A jump that the records
// after it keep (a capture resumed later) is a gap, not corruption. So a
// record that jumps that far is handed out only once the next one is
// read, and the first record of a file once the second is.
func (c *CaptureReader) Next(seg *flowstate.Segment) error {
	if c.later != nil {
		c.reopen()
	}
	for {
		if c.ready > 0 {
			e := &c.q[0]
			c.clock(e.ts, e.frame)
			tcp := e.tcp
			if tcp {
				*seg = e.seg
				seg.Time, seg.Frame, seg.File = e.ts-c.shift, e.frame, int32(c.info.Index)
			}
			c.n--
			c.ready--
			if c.n > 0 {
				copy(c.q[:c.n], c.q[1:c.n+1])
			}
			if tcp {
				return nil
			}
			continue
		}
		if c.eof {
			c.finish()
			return io.EOF
		}
		if !c.read(&c.q[c.n]) {
			c.eof = true
			c.ready = c.n // the last ones have no successor: kept as they are
			continue
		}
		c.n++
		c.judge()
	}
}

// judge decides the timestamps of the records waiting in q[ready:n].
func (c *CaptureReader) judge() {
	for c.ready < c.n {
		waiting := c.n - c.ready
		x := &c.q[c.ready]
		switch {
		case c.jump == liveJump:
			// Live: a record is handed out as it comes (see liveJump).
		case !c.hasPrev:
			// The first record: judged against the two after it.
			if waiting < 2 {
				return
			}
			if next := c.q[c.ready+1].ts; c.far(x.ts, next) {
				if waiting < 3 {
					return
				}
				if !c.far(next, c.q[c.ready+2].ts) {
					c.corruptTime(x, next, "after")
				}
			}
		case c.far(x.ts, c.prev):
			if waiting < 2 {
				return
			}
			if next := c.q[c.ready+1].ts; !c.far(next, c.prev) && c.far(next, x.ts) {
				c.corruptTime(x, c.prev, "before")
			}
		}
		c.prev, c.hasPrev = x.ts, true
		c.ready++
	}
}

// far reports whether two times are more than c.jump apart.
func (c *CaptureReader) far(a, b int64) bool {
	if a < b {
		a, b = b, a
	}
	return uint64(a)-uint64(b) > uint64(c.jump)
}

// corruptTime reads x at time at, the time of its neighbour (the record
// before or after it), with a warning.
func (c *CaptureReader) corruptTime(x *rec, at int64, which string) {
	c.info.CorruptTimes++
	if c.info.CorruptTimes <= maxCorruptWarnings {
		c.warn("packet %d has a corrupt timestamp (%s, %s from the packets around it): read at the time of the packet %s it (%s)",
			x.frame, fmtTime(x.ts), fmtSpan(x.ts-at), which, fmtTime(at))
	}
	x.ts = at
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

// fmtSpan writes a signed span in seconds.
func fmtSpan(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', -1, 64) + " s"
}

// read reads the next record into e, decoded; it returns false at the
// end, or when damage stopped reading.
func (c *CaptureReader) read(e *rec) bool {
	if c.done || c.stopped {
		return false
	}
	var (
		data    []byte
		ts      int64
		lt      layers.LinkType
		ifc     *ngIface
		ngDir   flowstate.Dir
		ngIface = -1
	)
	if c.pcap != nil {
		r := c.pcapCheck()
		if r == nil {
			return false
		}
		// The record is read in place, in the buffer: its bytes stay
		// there until the next read, after decode has copied what the
		// segment needs. A fraction field out of range (µs >= 1e6, ns >=
		// 1e9) is carried into the seconds, as written.
		frac := c.order.Uint32(r[4:8])
		if frac >= c.fracLimit {
			if c.badFrac == 0 {
				c.firstFrac, c.fracValue = c.info.Packets+1, frac
			}
			c.badFrac++
		}
		ts = int64(c.order.Uint32(r[0:4]))*1e9 + int64(frac)*int64(c.nsFactor)
		data, lt = r[16:], c.linkType
		c.br.Discard(len(r))
	} else {
		var p ngPacket
		if !c.ngNext(&p, false) {
			return false
		}
		data, ts, lt = p.data, p.ts, p.lt
		ngDir, ngIface = p.dir, p.iface
		if p.iface < 0 {
			c.info.MoreInterfacesPackets++
			c.info.Packets++
			c.info.Undecodable++
			e.ts, e.frame, e.tcp = ts, c.info.Packets, false
			return true
		}
		ifc = &c.ng.ifaces[p.iface]
		if ifc.info >= 0 {
			c.info.Interfaces[ifc.info].Packets++
		} else {
			c.info.MoreInterfacesPackets++
		}
	}
	c.info.Packets++
	c.lastRead = ts
	e.ts, e.frame, e.tcp = ts, c.info.Packets, false
	c.dec.now = ts
	res, cut := c.dec.decode(data, lt, &e.seg)
	switch res {
	case resTCP:
		c.info.TCPPackets++
		if cut {
			c.info.CutBySnaplen++
		}
		if c.dec.fragState == fragReassembled {
			c.info.Reassembled++
		}
		if ngIface >= 0 {
			// The cooked header's interface and direction, when there is
			// one, say more than the pcapng interface.
			if e.seg.Dir == flowstate.DirUnknown {
				e.seg.Dir = ngDir
			}
			if e.seg.Iface == 0 {
				e.seg.Iface = uint8(ngIface + 1)
			}
		}
		e.tcp = true
	case resNonTCP:
		c.info.NonTCP++
	case resFragment:
		c.info.IPFragments++
	case resTruncatedTCP:
		c.info.TruncatedTCP++
		c.info.Undecodable++
	case resBadIPVersion:
		c.info.BadIPVersion++
		c.info.Undecodable++
	case resUnsupported:
		if ifc != nil && ifc.info < 0 {
			c.ng.undecodedOther++
		}
		c.info.Undecodable++
	default:
		c.info.Undecodable++
	}
	return true
}

// clock keeps the time bounds and counts records older than the one
// before them.
func (c *CaptureReader) clock(ts, frame int64) {
	if !c.clocked {
		c.clocked = true
		c.info.FirstTime, c.info.LastTime = ts, ts
	} else {
		if ts < c.lastTime {
			if c.info.TimeBackwards == 0 {
				c.firstBackwards = frame
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
	if len(c.info.Warnings) >= maxWarnings {
		c.moreWarnings++
		return
	}
	c.info.Warnings = append(c.info.Warnings, c.info.Name+": "+fmt.Sprintf(format, args...))
}

// stop ends reading the file with a warning; the message is followed by
// how many packets were read before.
func (c *CaptureReader) stop(format string, args ...any) {
	c.info.Warnings = append(c.info.Warnings, c.info.Name+": "+fmt.Sprintf(format+"; %s", append(args, analysedBefore(c.info.Packets))...))
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

// finish ends reading: the last warnings.
func (c *CaptureReader) finish() {
	if c.done {
		return
	}
	defer c.release()
	c.done = true
	if c.isNg {
		c.ngFinish()
	}
	if n := c.badFrac; n > 0 {
		unit, limit := "microsecond", "1000000"
		if c.fracLimit == 1e9 {
			unit, limit = "nanosecond", "1000000000"
		}
		c.warn("%s of %d records (first packet %d: %d) at or above %s: the excess was carried into the seconds, as written",
			unit+" field", n, c.firstFrac, c.fracValue, limit)
	}
	if n := c.info.CorruptTimes; n > maxCorruptWarnings {
		c.warn("%d more packets have a corrupt timestamp (%d in all): each was read at the time of the packet before it", n-maxCorruptWarnings, n)
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
	c.info.FragmentsIncomplete = c.dec.fragmentsIncomplete()
	switch n := c.info.FragmentsIncomplete; {
	case n == 1:
		c.warn("1 fragmented IP datagram was never completed (a fragment missing, or not all within the reassembly timeout): a TCP segment in it would be missing")
	case n > 1:
		c.warn("%d fragmented IP datagrams were never completed (a fragment missing, or not all within the reassembly timeout): TCP segments in them would be missing", n)
	}
	if c.moreWarnings > 0 {
		c.info.Warnings = append(c.info.Warnings, fmt.Sprintf("%s: %d more warnings were not listed", c.info.Name, c.moreWarnings))
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
	case 239:
		return "NFLOG"
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
