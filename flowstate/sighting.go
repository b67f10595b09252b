package flowstate

// Several captures of one incident (a client's and a server's, a
// router's) hold the same packets. Merged by time they would feed every
// packet twice: Zeek histories with retransmission letters for copies,
// SYNs "sent again 0.00 s after the last one". A flow in a run of several
// vantage points (Config.Vantages) therefore recognises a packet another
// capture point already recorded and keeps it as a Sighting of that
// packet instead of processing it again.
//
// The same packet is: the same direction, sequence and acknowledgment
// numbers, flags, payload length, window, IP ID and TCP timestamps (the
// digest duplicate detection compares), recorded by another vantage
// within sightWindow of the first record (sightWindowBare when neither an
// IPv4 ID nor a timestamp tells one packet from a retransmission of it:
// a retransmission timer is never shorter than 200 ms, RFC 6298 and
// TCP_RTO_MIN). A vantage records a packet once: a second record at the
// same point is a retransmission (or a frame copy, which duplicate
// detection handles).

// Sighting is one more capture point's record of a packet the flow holds.
type Sighting struct {
	Packet int   // index of the packet in the flow (as Finding.Packet)
	File   int32 // the capture file that recorded it again
	Frame  int64
	Time   int64
}

// CopyDelay is what the sightings between two capture files show of their
// clocks and the path: for packets sent by Side, the least and the most of
// (time in file B) - (time in file A), A < B, and how many.
type CopyDelay struct {
	A, B     int32
	Side     Side
	Min, Max int64
	N        int
}

// Sighting windows: how far apart two records of one packet may be.
const (
	sightWindow     = int64(2e9)   // with an IP ID or a timestamp to tell packets apart
	sightWindowBare = int64(150e6) // without: under the 200 ms minimum retransmission timeout
	sightRingMax    = 512          // records kept per flow for matching, at most
)

// SightWindow is how far apart in time two records of one packet may be,
// for callers that match records themselves (a pending flow's): the
// shorter one when neither an IP ID nor a timestamp tells packets apart.
func SightWindow(bare bool) int64 {
	if bare {
		return sightWindowBare
	}
	return sightWindow
}

type sightEntry struct {
	rest  digestRest
	time  int64
	idx   int32  // packet index in the flow
	ipid  uint16 // as rest, with it
	bare  bool   // no IP ID nor timestamp
	file  int32  // the capture file of the first record
	group int32  // and its vantage
	seen  uint64 // vantages that recorded it (bit per group < 64)
	// more holds the files and times of its later records (the first
	// sightRecords), for the clocks between every two of them.
	more [sightRecords]struct {
		file int32
		t    int64
	}
	nmore uint8
}

// sightRecords is how many later records of one packet are compared with
// each other (besides the first): three points beyond the first.
const sightRecords = 3

type sightState struct {
	ring []sightEntry
	next int // where the next entry goes once the ring is full
	// early holds the vantages that recorded each of the flow's first
	// packets (the handshake), which the ring may have let go.
	early [sightEarly]uint64
	// The handshake at the capture point nearest the server: the vantage
	// that first recorded the first SYN-ACK (srv, set when srvSet), the
	// latest client SYN each vantage recorded before it (by vantage, at
	// most four), and that vantage's first record of the client's ACK.
	srv            int32
	srvSet, ackSet bool
	synAt          [4]struct {
		g, set int32
		t      int64
	}
	synT, saT, ackT int64

	sighted    int
	marks      []FileMarks
	sightings  []Sighting
	copyDelays []CopyDelay
	pathLosses []PathLoss
}

// FileMarks is what one capture file's direction marks (SLL packet type,
// pcapng epb_flags) said of a flow's packets, by sender.
type FileMarks struct {
	File int32
	Dirs [2]DirSet // by Side of the sender
}

// CaptureMarks lists, in a run of several vantage points, each file's
// direction marks on the flow's packets (files without marks left out).
func (f *Flow) CaptureMarks() []FileMarks {
	if f.sight == nil {
		return nil
	}
	return f.sight.marks
}

// mark adds a record's direction mark.
func (s *sightState) mark(file int32, side Side, d Dir) {
	if d == DirUnknown {
		return
	}
	for i := range s.marks {
		if s.marks[i].File == file {
			s.marks[i].Dirs[side].Add(d)
			return
		}
	}
	m := FileMarks{File: file}
	m.Dirs[side].Add(d)
	s.marks = append(s.marks, m)
}

// Sighted counts the records of packets the flow already held from
// another capture point (Config.MultiVantage).
func (f *Flow) Sighted() int {
	if f.sight == nil {
		return 0
	}
	return f.sight.sighted
}

// Sightings lists them, with Config.Record.
func (f *Flow) Sightings() []Sighting {
	if f.sight == nil {
		return nil
	}
	return f.sight.sightings
}

// CopyDelays says what the sightings show of the capture files' clocks.
func (f *Flow) CopyDelays() []CopyDelay {
	if f.sight == nil {
		return nil
	}
	return f.sight.copyDelays
}

// PathLosses lists the packets proven lost between two capture points
// (pathLost), which the rules then do not blame on a host.
func (f *Flow) PathLosses() []PathLoss {
	if f.sight == nil {
		return nil
	}
	return f.sight.pathLosses
}

// sightEarly is how many of a flow's first packets keep where they were
// seen for the rules (pathLost).
const sightEarly = 16

// VantageOf returns the vantage point of capture file file: Vantages'
// entry, else the file itself.
func (c *Config) VantageOf(file int32) int32 {
	if int(file) < len(c.Vantages) && file >= 0 {
		return c.Vantages[file]
	}
	return file
}

// sighted reports whether seg is a packet the flow already holds from
// another vantage point, and keeps it as a sighting if so; otherwise it
// remembers seg (packet idx) for the records to come.
func (f *Flow) sighted(seg *Segment, idx int) bool {
	s := f.sight
	if s == nil {
		s = &sightState{ring: make([]sightEntry, 0, 8)}
		f.sight = s
	}
	d := digestOf(seg)
	g := f.cfg.VantageOf(seg.File)
	s.handshakeAt(seg, g)
	if seg.Dir != DirUnknown {
		s.mark(seg.File, f.SideOf(seg), seg.Dir)
	}
	bare := seg.IPID == 0 && !seg.Opt.HasTS
	n := len(s.ring)
	for k := 0; k < n; k++ {
		// Newest first: the ring is filled in order, then from next.
		i := n - 1 - k
		if n == cap(s.ring) {
			i = (s.next - 1 - k + 2*n) % n
		}
		e := &s.ring[i]
		w := sightWindow
		if e.bare || bare {
			w = sightWindowBare
		}
		if dt := seg.Time - e.time; dt > w || dt < -w {
			continue
		}
		if e.rest != d.rest || e.ipid != d.ipid {
			continue
		}
		if e.group == g || (g < 64 && e.seen&(1<<g) != 0) {
			if dt := seg.Time - e.time; dt >= 0 && dt < 1e6 {
				// A frame copy at the same vantage (in and out of a
				// router, -i any): duplicate detection keeps it; the
				// entry stays the packet's.
				return false
			}
			continue
		}
		if g < 64 {
			e.seen |= 1 << g
			if e.idx < sightEarly {
				s.early[e.idx] |= 1 << g
			}
		}
		f.addSighting(Sighting{Packet: int(e.idx), File: seg.File, Frame: seg.Frame, Time: seg.Time}, e, seg)
		return true
	}
	e := sightEntry{rest: d.rest, time: seg.Time, idx: int32(idx), ipid: d.ipid, bare: bare, file: seg.File, group: g}
	if g < 64 {
		e.seen = 1 << g
		if idx < sightEarly {
			s.early[idx] |= 1 << g
		}
	}
	switch {
	case len(s.ring) < cap(s.ring):
		s.ring = append(s.ring, e)
	case len(s.ring) < sightRingMax && seg.Time-s.ring[s.next].time <= sightWindow:
		// The oldest is still within the window: grow, in order.
		ordered := make([]sightEntry, 0, min(2*cap(s.ring), sightRingMax))
		ordered = append(ordered, s.ring[s.next:]...)
		ordered = append(ordered, s.ring[:s.next]...)
		s.ring, s.next = append(ordered, e), 0
	default:
		s.ring[s.next] = e
		s.next = (s.next + 1) % len(s.ring)
	}
	return false
}

// addSighting keeps a sighting (when recording) and what it shows of the
// two capture files' clocks.
func (f *Flow) addSighting(x Sighting, e *sightEntry, seg *Segment) {
	s := f.sight
	s.sighted++
	if f.cfg.Record {
		s.sightings = append(s.sightings, x)
	}
	side := f.SideOf(seg)
	s.copyDelay(e.file, e.time, seg, side)
	for _, r := range e.more[:e.nmore] {
		s.copyDelay(r.file, r.t, seg, side)
	}
	if int(e.nmore) < len(e.more) {
		e.more[e.nmore].file, e.more[e.nmore].t = seg.File, seg.Time
		e.nmore++
	}
}

// copyDelay adds what an earlier record (file, t) and seg, one packet
// of side's, say of their files' clocks.
func (s *sightState) copyDelay(file int32, t int64, seg *Segment, side Side) {
	a, b, dt := file, seg.File, seg.Time-t
	if a == b {
		return
	}
	if b < a {
		a, b, dt = b, a, -dt
	}
	for i := range s.copyDelays {
		c := &s.copyDelays[i]
		if c.A == a && c.B == b && c.Side == side {
			c.Min, c.Max, c.N = min(c.Min, dt), max(c.Max, dt), c.N+1
			return
		}
	}
	s.copyDelays = append(s.copyDelays, CopyDelay{A: a, B: b, Side: side, Min: dt, Max: dt, N: 1})
}

// PathLoss is a packet one capture point recorded and another, which
// recorded the flow's later packets the same way, never did: it was lost
// on the path between them.
type PathLoss struct {
	Packet int  // index of the packet in the flow
	Side   Side // its sender
	// SeenAt is the vantage (Config.Vantages, else the file) that recorded
	// it; MissedAt the one nearer its receiver that did not.
	SeenAt, MissedAt int32
}

// pathLost reports whether packet idx (among the flow's first
// sightEarly) never reached the vantage point at which packet later was
// recorded, although that vantage recorded later (whose sender is the
// same): with captures at both ends, a packet seen leaving and never
// arriving was lost on the path, not dropped by the receiver. Without
// several vantages, or beyond the first packets, it reports false: one
// capture cannot tell. It assumes the vantage was capturing when idx
// passed (both captures began before the flow).
func (f *Flow) pathLost(idx, later int, at int32) bool {
	s := f.sight
	if !f.cfg.MultiVantage || s == nil || idx < 0 || later < 0 || idx >= sightEarly || later >= sightEarly || at < 0 || at >= 64 {
		return false
	}
	return s.early[idx]&(1<<at) == 0 && s.early[later]&(1<<at) != 0
}

// notePathLoss keeps a path loss once.
func (f *Flow) notePathLoss(p PathLoss) {
	if f.sight == nil {
		return
	}
	for _, q := range f.sight.pathLosses {
		if q.Packet == p.Packet {
			return
		}
	}
	var seenAt int32 = -1
	if s := f.sight; s != nil && p.Packet < sightEarly {
		for g := int32(0); g < 64; g++ {
			if s.early[p.Packet]&(1<<g) != 0 {
				seenAt = g
				break
			}
		}
	}
	p.SeenAt = seenAt
	f.sight.pathLosses = append(f.sight.pathLosses, p)
}

// handshakeAt keeps the handshake's times at the vantage nearest the
// server (ServerCaptureLegs), from every record of it.
func (s *sightState) handshakeAt(seg *Segment, g int32) {
	switch {
	case seg.Flags&(SYN|ACK|RST) == SYN && !s.srvSet:
		for i := range s.synAt {
			if x := &s.synAt[i]; x.set == 0 || x.g == g {
				x.g, x.set, x.t = g, 1, seg.Time
				return
			}
		}
	case seg.Flags&(SYN|ACK|RST) == SYN|ACK && !s.srvSet:
		for _, x := range s.synAt {
			if x.set != 0 && x.g == g {
				s.srv, s.srvSet, s.saT, s.synT = g, true, seg.Time, x.t
			}
		}
	case s.srvSet && !s.ackSet && g == s.srv && seg.Flags&(SYN|ACK|RST) == ACK && seg.Time >= s.saT:
		s.ackSet, s.ackT = true, seg.Time
	}
}

// ServerCaptureLegs returns the handshake's two legs (SYN to SYN-ACK,
// SYN-ACK to ACK) as the capture point nearest the server recorded them,
// in a run of several vantages: the first leg is the server's own answer
// time when that capture is at the server. ok is false without them.
func (f *Flow) ServerCaptureLegs() (synToSynAck, synAckToAck int64, ok bool) {
	s := f.sight
	if s == nil || !s.srvSet || !s.ackSet || s.sighted == 0 {
		return 0, 0, false
	}
	return s.saT - s.synT, s.ackT - s.saT, true
}

// IsPathLoss reports whether packet idx is among PathLosses.
func (f *Flow) IsPathLoss(idx int) bool {
	for _, p := range f.PathLosses() {
		if p.Packet == idx {
			return true
		}
	}
	return false
}
