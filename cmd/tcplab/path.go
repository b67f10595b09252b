package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"
)

// Path is the optional router between client and server: a third namespace,
// lab-rtr, joined to lab-cli and to lab-srv by one veth pair each, in which
// `tcplab route` bridges Ethernet frames between the two interfaces itself
// (AF_PACKET sockets; the router's kernel has no addresses and forwards
// nothing). Client and server keep their addresses, MACs and static
// neighbour entries, so a frame crosses the router unchanged, only later, or
// not at all. The captures stay on the endpoints, so what the router drops
// is lost between the two capture points, as on a real path.
//
// Per direction the router adds a fixed one-way delay and may drop TCP
// frames at random (Loss, from a PCG stream seeded with Seed and the
// direction). Rules drop or hold back chosen frames. Every drop and hold is
// logged in the truth file (path_log), with the frame's time of arrival at
// the router (kernel receive timestamp, CLOCK_REALTIME, as the captures).
// Non-TCP frames are forwarded with the delay and never dropped.
type Path struct {
	// ClientToServer and ServerToClient set each direction.
	ClientToServer PathDirection `json:"client_to_server"`
	ServerToClient PathDirection `json:"server_to_client"`
	// Seed seeds the random loss.
	Seed uint64 `json:"seed,omitempty"`
	// Rules pick frames to drop or hold; see PathRule.
	Rules []PathRule `json:"rules,omitempty"`
}

// PathDirection is one direction's behaviour.
type PathDirection struct {
	// DelayMS is the one-way delay added to every frame (0 to 1000 ms).
	DelayMS float64 `json:"delay_ms"`
	// Loss is the probability (0 to 0.5) that a TCP frame no rule took is
	// dropped. A random number is drawn for every TCP frame of the
	// direction, taken by a rule or not, so rules do not shift the loss
	// pattern of the other frames.
	Loss float64 `json:"loss,omitempty"`
}

// PathRule drops or holds back the frames it matches. A frame matches when
// it goes in Dir, belongs to a connection with the given ports (0: any) and
// is of kind Match. The rule counts its matching frames per connection
// (retransmissions included, whatever happens to them and whether or not
// the time window is open) and fires on the Nth (from 1; 0: on every one)
// if it arrives within [FromMS, UntilMS) after t0 (UntilMS 0: no end).
// Rules are tried in order; the first that fires decides.
type PathRule struct {
	// Name names the rule in the log.
	Name string `json:"name"`
	// Dir is "c2s" (client to server) or "s2c".
	Dir string `json:"dir"`
	// ClientPort and ServerPort select the connection (0: any).
	ClientPort int `json:"client_port,omitempty"`
	ServerPort int `json:"server_port,omitempty"`
	// Match is the kind of frame: "any" TCP frame, "syn" (SYN without ACK),
	// "synack", "ack" (a pure ACK: no payload, no SYN, FIN or RST),
	// "ack-of-data" (a pure ACK acknowledging more than the peer's SYN,
	// once the peer has sent payload), "data" (payload), "fin" or "rst".
	Match string `json:"match"`
	// Nth is the matching frame of the connection the rule fires on (1 is
	// the first); 0 fires on every matching frame.
	Nth int `json:"nth,omitempty"`
	// FromMS and UntilMS bound when the rule may fire.
	FromMS  int `json:"from_ms,omitempty"`
	UntilMS int `json:"until_ms,omitempty"`
	// Action is "drop" or "hold".
	Action string `json:"action"`
	// HoldFrames: a held frame is forwarded right after this many later
	// frames of its connection and direction were forwarded, or at the
	// latest HoldMS after it would have left; HoldFrames 0 only delays it by
	// HoldMS. HoldMS must be positive for a hold.
	HoldFrames int `json:"hold_frames,omitempty"`
	HoldMS     int `json:"hold_ms,omitempty"`
}

var pathMatches = map[string]bool{"any": true, "syn": true, "synack": true, "ack": true, "ack-of-data": true, "data": true, "fin": true, "rst": true}

// Validate returns what is wrong with the path for a scenario of duration ms.
func (p *Path) Validate(duration int) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, d := range []struct {
		name string
		d    PathDirection
	}{{"client_to_server", p.ClientToServer}, {"server_to_client", p.ServerToClient}} {
		if d.d.DelayMS < 0 || d.d.DelayMS > 1000 {
			bad("%s delay_ms %g: want 0..1000", d.name, d.d.DelayMS)
		}
		if d.d.Loss < 0 || d.d.Loss > 0.5 {
			bad("%s loss %g: want 0..0.5", d.name, d.d.Loss)
		}
	}
	names := map[string]bool{}
	for i, r := range p.Rules {
		what := fmt.Sprintf("rule %d (%s)", i, r.Name)
		if r.Name == "" || r.Name == "random" || names[r.Name] {
			bad("%s: want a unique name other than random", what)
		}
		names[r.Name] = true
		if r.Dir != "c2s" && r.Dir != "s2c" {
			bad("%s: dir %q: want c2s or s2c", what, r.Dir)
		}
		if !pathMatches[r.Match] {
			bad("%s: match %q: want any, syn, synack, ack, ack-of-data, data, fin or rst", what, r.Match)
		}
		if r.ClientPort < 0 || r.ClientPort > 65535 || r.ServerPort < 0 || r.ServerPort > 65535 {
			bad("%s: ports out of range", what)
		}
		if r.Nth < 0 || r.FromMS < 0 || r.UntilMS < 0 || r.HoldFrames < 0 || r.HoldMS < 0 {
			bad("%s: nth, times and hold values must not be negative", what)
		}
		if r.UntilMS != 0 && r.UntilMS <= r.FromMS {
			bad("%s: until_ms must be after from_ms", what)
		}
		if r.FromMS >= duration {
			bad("%s: from_ms after the scenario ends", what)
		}
		switch r.Action {
		case "drop":
			if r.HoldFrames != 0 || r.HoldMS != 0 {
				bad("%s: hold_frames and hold_ms belong to a hold", what)
			}
		case "hold":
			if r.HoldMS <= 0 || r.HoldMS > 5000 {
				bad("%s: a hold needs hold_ms in 1..5000", what)
			}
		default:
			bad("%s: action %q: want drop or hold", what, r.Action)
		}
	}
	return errs
}

// pathDir is a direction through the router.
type pathDir int

const (
	c2s pathDir = iota
	s2c
)

func (d pathDir) String() string {
	if d == c2s {
		return "c2s"
	}
	return "s2c"
}

// TCP flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
)

// frameInfo is what the router reads of a frame.
type frameInfo struct {
	tcp      bool
	src, dst netip.AddrPort
	flags    uint8
	seq, ack uint32
	payload  int
	ipID     uint32 // IPv4 identification; IPv6 flow label
}

// parseFrame decodes an Ethernet frame carrying IPv4 or IPv6 and TCP
// (no IPv6 extension headers: the lab sends none). Anything else is
// returned with tcp false.
func parseFrame(b []byte) frameInfo {
	var f frameInfo
	if len(b) < 14 {
		return f
	}
	var src, dst netip.Addr
	var l4 []byte
	switch binary.BigEndian.Uint16(b[12:14]) {
	case 0x0800:
		ip := b[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != 6 {
			return f
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return f
		}
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		f.ipID = uint32(binary.BigEndian.Uint16(ip[4:6]))
		l4 = ip[ihl:total]
	case 0x86dd:
		ip := b[14:]
		if len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != 6 {
			return f
		}
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+plen > len(ip) {
			return f
		}
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		f.ipID = binary.BigEndian.Uint32(ip[0:4]) & 0xfffff
		l4 = ip[40 : 40+plen]
	default:
		return f
	}
	if len(l4) < 20 {
		return f
	}
	off := int(l4[12]>>4) * 4
	if off < 20 || off > len(l4) {
		return f
	}
	f.tcp = true
	f.src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4[0:2]))
	f.dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:4]))
	f.seq = binary.BigEndian.Uint32(l4[4:8])
	f.ack = binary.BigEndian.Uint32(l4[8:12])
	f.flags = l4[13]
	f.payload = len(l4) - off
	return f
}

// tcpFlags writes flags as tcpdump does: S, F, R, P, U, then "." for ACK.
func tcpFlags(fl uint8) string {
	var sb strings.Builder
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{tcpSYN, 'S'}, {tcpFIN, 'F'}, {tcpRST, 'R'}, {tcpPSH, 'P'}, {tcpURG, 'U'}} {
		if fl&x.bit != 0 {
			sb.WriteByte(x.c)
		}
	}
	if fl&tcpACK != 0 {
		sb.WriteByte('.')
	}
	if sb.Len() == 0 {
		return "none"
	}
	return sb.String()
}

// flowKey names a connection by its client and server ends.
type flowKey struct{ client, server netip.AddrPort }

// flowSeen is what the router learnt of a connection: each side's ISN
// (from its SYN) and whether it sent payload.
type flowSeen struct {
	isn     [2]uint32 // by direction of the sender: c2s = the client's
	isnOK   [2]bool
	sentDat [2]bool
}

// pathVerdict is what the router does with one frame.
type pathVerdict struct {
	action     string // "pass", "drop" or "hold"
	rule       string // the rule's name, or "random"
	holdFrames int
	holdMS     int
}

// pathEngine decides the fate of each frame. It holds no sockets and reads
// no clock, so its decisions depend only on the frames and their times.
type pathEngine struct {
	path   *Path
	t0     time.Time
	rng    [2]*rand.Rand
	counts []map[flowKey]int // per rule: matching frames per connection
	flows  map[flowKey]*flowSeen
}

func newPathEngine(p *Path, t0 time.Time) *pathEngine {
	e := &pathEngine{path: p, t0: t0, flows: map[flowKey]*flowSeen{}}
	for d := range e.rng {
		e.rng[d] = rand.New(rand.NewPCG(p.Seed, uint64(d)))
	}
	e.counts = make([]map[flowKey]int, len(p.Rules))
	for i := range e.counts {
		e.counts[i] = map[flowKey]int{}
	}
	return e
}

func (e *pathEngine) dirSpec(d pathDir) PathDirection {
	if d == c2s {
		return e.path.ClientToServer
	}
	return e.path.ServerToClient
}

// key orients a frame's ends as client and server.
func key(f *frameInfo, d pathDir) flowKey {
	if d == c2s {
		return flowKey{client: f.src, server: f.dst}
	}
	return flowKey{client: f.dst, server: f.src}
}

// matches reports whether f is of the rule's kind. fs is the connection's
// state before f.
func (r *PathRule) matches(f *frameInfo, d pathDir, k flowKey, fs *flowSeen) bool {
	if r.Dir != d.String() {
		return false
	}
	if (r.ClientPort != 0 && int(k.client.Port()) != r.ClientPort) || (r.ServerPort != 0 && int(k.server.Port()) != r.ServerPort) {
		return false
	}
	syn, ack, fin, rst := f.flags&tcpSYN != 0, f.flags&tcpACK != 0, f.flags&tcpFIN != 0, f.flags&tcpRST != 0
	pure := ack && !syn && !fin && !rst && f.payload == 0
	switch r.Match {
	case "any":
		return true
	case "syn":
		return syn && !ack
	case "synack":
		return syn && ack
	case "ack":
		return pure
	case "ack-of-data":
		peer := 1 - d
		return pure && fs.isnOK[peer] && fs.sentDat[peer] && int32(f.ack-(fs.isn[peer]+1)) > 0
	case "data":
		return f.payload > 0
	case "fin":
		return fin
	case "rst":
		return rst
	}
	return false
}

// decide returns what to do with frame f arriving in direction d at time t.
func (e *pathEngine) decide(f *frameInfo, d pathDir, t time.Time) pathVerdict {
	if !f.tcp {
		return pathVerdict{action: "pass"}
	}
	k := key(f, d)
	fs := e.flows[k]
	if fs == nil {
		fs = &flowSeen{}
		e.flows[k] = fs
	}
	v := pathVerdict{action: "pass"}
	rel := t.Sub(e.t0)
	for i := range e.path.Rules {
		r := &e.path.Rules[i]
		if !r.matches(f, d, k, fs) {
			continue
		}
		e.counts[i][k]++
		n := e.counts[i][k]
		if v.action != "pass" || (r.Nth != 0 && n != r.Nth) {
			continue
		}
		if rel < ms(r.FromMS) || (r.UntilMS != 0 && rel >= ms(r.UntilMS)) {
			continue
		}
		v = pathVerdict{action: r.Action, rule: r.Name, holdFrames: r.HoldFrames, holdMS: r.HoldMS}
	}
	if loss := e.dirSpec(d).Loss; loss > 0 {
		if x := e.rng[d].Float64(); x < loss && v.action == "pass" {
			v = pathVerdict{action: "drop", rule: "random"}
		}
	}
	// Learn from the frame after matching it.
	if f.flags&tcpSYN != 0 && !fs.isnOK[d] {
		fs.isn[d], fs.isnOK[d] = f.seq, true
	}
	if f.payload > 0 {
		fs.sentDat[d] = true
	}
	return v
}

// relSeq returns f's sequence and acknowledgment numbers relative to the
// ISNs the router saw (nil when it saw no SYN from that side).
func (e *pathEngine) relSeq(f *frameInfo, d pathDir) (seq, ack *uint32) {
	fs := e.flows[key(f, d)]
	if fs == nil {
		return nil, nil
	}
	if fs.isnOK[d] {
		v := f.seq - fs.isn[d]
		seq = &v
	}
	if peer := 1 - d; fs.isnOK[peer] && f.flags&tcpACK != 0 {
		v := f.ack - fs.isn[peer]
		ack = &v
	}
	return seq, ack
}

// pathItem is one frame waiting in the router.
type pathItem struct {
	frame []byte
	due   time.Time // when it leaves (a held frame: at the latest)
	n     uint64    // arrival order in its direction, from 1
	flow  flowKey
	held  bool
	left  int // a held frame: later frames of its flow still to be forwarded
	event int // a held frame: its index in the log
	// releasedBy says why a held frame left: "frames" or "time".
	releasedBy string
}

// pathQueue orders one direction's frames: frames that are not held leave
// in arrival order at their due time (a fixed delay keeps them in order);
// a held frame leaves right after the frame that brings its count of later
// frames (of its flow, arrived after it) to zero, or at its due time.
type pathQueue struct {
	fifo     []pathItem
	held     []pathItem
	arrivals uint64
}

// push queues a frame; frames must be pushed in arrival order.
func (q *pathQueue) push(it pathItem) {
	q.arrivals++
	it.n = q.arrivals
	if it.held {
		q.held = append(q.held, it)
		return
	}
	q.fifo = append(q.fifo, it)
}

// nextDue is when the queue next has a frame to send.
func (q *pathQueue) nextDue() (time.Time, bool) {
	var t time.Time
	ok := false
	if len(q.fifo) > 0 {
		t, ok = q.fifo[0].due, true
	}
	for _, h := range q.held {
		if !ok || h.due.Before(t) {
			t, ok = h.due, true
		}
	}
	return t, ok
}

// pop returns, in sending order, every frame due at or before now and the
// held frames they release.
func (q *pathQueue) pop(now time.Time) []pathItem {
	var out []pathItem
	for {
		fi := len(q.fifo) > 0 && !q.fifo[0].due.After(now)
		hi := -1
		for i, h := range q.held {
			if !h.due.After(now) && (hi < 0 || h.due.Before(q.held[hi].due)) {
				hi = i
			}
		}
		if !fi && hi < 0 {
			return out
		}
		if hi >= 0 && (!fi || q.held[hi].due.Before(q.fifo[0].due)) {
			h := q.held[hi]
			q.held = append(q.held[:hi], q.held[hi+1:]...)
			h.releasedBy = "time"
			out = append(out, h)
			continue
		}
		it := q.fifo[0]
		q.fifo = q.fifo[1:]
		out = append(out, it)
		kept := q.held[:0]
		var freed []pathItem
		for _, h := range q.held {
			if h.flow == it.flow && h.left > 0 && it.n > h.n {
				h.left--
				if h.left == 0 {
					h.releasedBy = "frames"
					freed = append(freed, h)
					continue
				}
			}
			kept = append(kept, h)
		}
		q.held = kept
		out = append(out, freed...)
	}
}
