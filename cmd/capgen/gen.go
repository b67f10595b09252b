package main

import (
	"errors"
	"io"
	"math"
)

// Time is kept in microseconds since the capture's first second.
const (
	ms  int64 = 1000
	sec int64 = 1000 * ms
	// never is a time after any other.
	never int64 = math.MaxInt64
)

// TCP flag bits (RFC 793 p.15).
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// Traffic model constants.
const (
	// meanConnSecs is about how long a connection of this model lasts
	// (measured over large files); the arrival rate is
	// concurrency / meanConnSecs, by Little's law.
	meanConnSecs = 1.45
	// Overload episodes: one every episodeEvery, lasting episodeLen,
	// the first at episodeFirst.
	episodeFirst = 2 * sec
	episodeEvery = 15 * sec
	episodeLen   = 3 * sec
	// synackRetries is tcp_synack_retries (Linux default 5).
	synackRetries = 5
	// delAck is Linux's delayed-ACK timeout (TCP_DELACK_MIN, 40 ms).
	delAck = 40 * ms
	// serverPort and adminPort are the two listening ports.
	serverPort = 9000
	adminPort  = 9001
)

var (
	serverV4 = [16]byte{203, 0, 113, 10}
	serverV6 = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 14: 0, 15: 0x10}
)

// config holds capgen's flags.
type config struct {
	Conns        int
	Seed         uint64
	Concurrency  int
	Flood        int
	FloodSecs    float64
	FloodSynAcks int
	V6           float64
}

func (c config) check() error {
	switch {
	case c.Conns < 0 || c.Flood < 0:
		return errors.New("-conns and -flood must not be negative")
	case c.Conns == 0 && c.Flood == 0:
		return errors.New("nothing to write: -conns and -flood are both 0")
	case c.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.V6 < 0 || c.V6 > 1:
		return errors.New("-v6 must be a fraction between 0 and 1")
	case !(c.FloodSecs > 0) || c.FloodSecs > 3600:
		return errors.New("-flood-secs must be in (0, 3600]")
	case c.FloodSynAcks < 0 || c.FloodSynAcks > 8:
		return errors.New("-flood-synacks must be between 0 and 8")
	}
	return nil
}

// stats describes what was written.
type stats struct {
	Packets, Bytes int64
	Conns          int // client connections
	Abnormal       int // connections with an overload handshake
	Ghosts         int
	FloodSYNs      int
	SpanMicros     int64 // first to last packet
	liveMicros     int64 // sum of the client connections' lifetimes
	arrivalMicros  int64 // first to last client connection
}

// MeanLive is about the mean number of client connections live at a time
// while they arrive: their lifetimes added up over the time they took to
// arrive.
func (s stats) MeanLive() float64 {
	if s.arrivalMicros == 0 {
		return 0
	}
	return float64(s.liveMicros) / float64(s.arrivalMicros)
}

// pkt is one planned segment; tsecr is filled in when the plan is done.
type pkt struct {
	t            int64
	seq, ack     uint32
	tsval, tsecr uint32
	plen         uint16
	win          uint16
	flags        uint8
	opt          uint8
	fromSrv      bool
}

// conn is one flow: its addresses and its planned segments, in time order.
type conn struct {
	id    uint64
	pk    []pkt
	next  int
	v6    bool
	cli   [16]byte
	srv   [16]byte
	cport uint16
	sport uint16
	mss   uint16
	ttl   [2]uint8 // client, server
	ipid  [2]uint16
	flow  [2]uint32
	flood bool
}

// client is one host of the client population.
type client struct {
	addr [16]byte
	v6   bool
	rtt  int64
	ttl  uint8
	port uint16 // next ephemeral port
}

// gen is the generator's state.
type gen struct {
	cfg  config
	r    rng
	pw   *pcapWriter
	v4   []client
	v6   []client
	h    connHeap
	free []*conn
	id   uint64
	st   stats
}

// generate writes the whole capture to w.
func generate(w io.Writer, cfg config) (stats, error) {
	g := &gen{cfg: cfg, r: rng{s: cfg.Seed*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019}}
	g.pw = newPcapWriter(w)
	g.clients()

	rate := float64(cfg.Concurrency) / meanConnSecs // connections per second
	meanGap := 1e6 / rate
	span := float64(cfg.Conns) * meanGap
	floodStart := int64(span / 3)
	floodGap := cfg.FloodSecs * 1e6 / math.Max(1, float64(cfg.Flood))

	nextConn, nextFlood := never, never
	var ta float64 // next arrival, µs
	conns, floods := 0, 0
	if cfg.Conns > 0 {
		nextConn = 0
	}
	if cfg.Flood > 0 {
		nextFlood = floodStart
	}
	first := true
	var last int64
	for {
		t := min(nextConn, nextFlood)
		// Write every planned segment up to t.
		for len(g.h) > 0 && g.h[0].pk[g.h[0].next].t <= t {
			c := g.h[0]
			p := &c.pk[c.next]
			if first {
				g.st.SpanMicros = -p.t
				first = false
			}
			last = p.t
			g.pw.packet(c, p)
			c.next++
			if c.next == len(c.pk) {
				g.h.pop()
				g.free = append(g.free, c)
			} else {
				g.h.fix0()
			}
		}
		if g.pw.err != nil {
			return g.st, g.pw.err
		}
		if t == never {
			break
		}
		c := g.newConn()
		if t == nextConn {
			g.planConn(c, t)
			g.st.arrivalMicros = t
			conns++
			ta += g.r.exp(meanGap)
			nextConn = int64(ta)
			if conns == cfg.Conns {
				nextConn = never
			}
		} else {
			g.planFlood(c, t)
			floods++
			nextFlood = floodStart + int64(float64(floods)*floodGap+g.r.float()*floodGap*0.5)
			if floods == cfg.Flood {
				nextFlood = never
			}
		}
		g.h.push(c)
	}
	g.st.SpanMicros += last
	g.st.Packets = g.pw.n
	g.st.Bytes = g.pw.bytes
	g.st.Conns = conns
	g.st.FloodSYNs = floods
	return g.st, nil
}

// clients makes the client population.
func (g *gen) clients() {
	r := &g.r
	mk := func(v6 bool) client {
		var c client
		c.v6 = v6
		if v6 {
			c.addr = [16]byte{0x20, 0x01, 0x0d, 0xb8}
			for i := 4; i < 16; i += 8 {
				x := r.u64()
				for k := 0; k < 8 && i+k < 16; k++ {
					c.addr[i+k] = byte(x >> (8 * k))
				}
			}
		} else {
			for {
				x := uint32(r.u64())
				a := byte(x >> 24)
				if a == 0 || a == 10 || a == 127 || a >= 224 {
					continue
				}
				c.addr[0], c.addr[1], c.addr[2], c.addr[3] = a, byte(x>>16), byte(x>>8), byte(x)
				break
			}
		}
		// RTT log-uniform between 0.5 ms and 200 ms.
		c.rtt = int64(500 * math.Exp(r.float()*math.Log(400)))
		hops := uint8(3 + r.intn(22))
		if r.float() < 0.2 {
			c.ttl = 128 - hops
		} else {
			c.ttl = 64 - hops
		}
		c.port = uint16(32768 + r.intn(61000-32768))
		return c
	}
	n4, n6 := 50000, 10000
	g.v4 = make([]client, n4)
	for i := range g.v4 {
		g.v4[i] = mk(false)
	}
	g.v6 = make([]client, n6)
	for i := range g.v6 {
		g.v6[i] = mk(true)
	}
}

func (g *gen) newConn() *conn {
	var c *conn
	if n := len(g.free); n > 0 {
		c = g.free[n-1]
		g.free = g.free[:n-1]
		pk := c.pk[:0]
		*c = conn{pk: pk}
	} else {
		c = &conn{}
	}
	c.id = g.id
	g.id++
	return c
}

// episode says whether t falls in an overload episode, and whether that
// episode runs with tcp_abort_on_overflow=1.
func episode(t int64) (in, abort bool) {
	if t < episodeFirst {
		return false, false
	}
	k := (t - episodeFirst) / episodeEvery
	return (t-episodeFirst)%episodeEvery < episodeLen, k%4 == 1
}

// Handshake kinds.
const (
	kindNormal = iota
	kindSynDrop
	kindOverflow
	kindAbort
	kindGhost
)

// plan builds one connection's segments.
type plan struct {
	c          *conn
	r          *rng
	rtt        int64
	ciss, siss uint32
	cts, sts   uint32 // timestamp clock offsets (ms)
	cwin, swin uint16 // scaled windows after the handshake
	csyn, ssyn uint16 // SYN windows
}

func (pl *plan) add(t int64, fromSrv bool, flags uint8, seq, ack uint32, plen int, opt uint8) {
	p := pkt{t: t, seq: seq, ack: ack, plen: uint16(plen), flags: flags, opt: opt, fromSrv: fromSrv}
	if fromSrv {
		p.win = pl.swin
		if flags&flagSYN != 0 {
			p.win = pl.ssyn
		}
		p.tsval = pl.sts + uint32(t/ms)
	} else {
		p.win = pl.cwin
		if flags&flagSYN != 0 {
			p.win = pl.csyn
		}
		p.tsval = pl.cts + uint32((t-pl.rtt/2)/ms)
	}
	if flags&flagRST != 0 && opt == optNone {
		p.win = 0
	}
	pl.c.pk = append(pl.c.pk, p)
}

func (pl *plan) cli(t int64, flags uint8, seq, ack uint32, plen int) {
	opt := uint8(optTS)
	if flags&flagSYN != 0 {
		opt = optSYN
	}
	pl.add(t, false, flags, seq, ack, plen, opt)
}

func (pl *plan) srv(t int64, flags uint8, seq, ack uint32, plen int) {
	opt := uint8(optTS)
	if flags&flagSYN != 0 {
		opt = optSYN
	}
	pl.add(t, true, flags, seq, ack, plen, opt)
}

// finish sorts the segments by time (stably) and fills in the timestamp
// echoes: a server segment echoes the client's latest segment that has
// arrived, a client segment the server's latest one sent at least an RTT
// earlier (so that it has reached the client).
func (pl *plan) finish() {
	pk := pl.c.pk
	for i := 1; i < len(pk); i++ {
		for j := i; j > 0 && pk[j].t < pk[j-1].t; j-- {
			pk[j], pk[j-1] = pk[j-1], pk[j]
		}
	}
	var lastCli uint32
	j := 0 // next server segment not yet seen by the client
	var lastSrv uint32
	for i := range pk {
		p := &pk[i]
		if p.opt != optSYN && p.opt != optTS {
			continue
		}
		if p.fromSrv {
			p.tsecr = lastCli
			continue
		}
		for ; j < len(pk) && pk[j].t <= p.t-pl.rtt; j++ {
			if pk[j].fromSrv && (pk[j].opt == optSYN || pk[j].opt == optTS) {
				lastSrv = pk[j].tsval
			}
		}
		if p.flags&flagSYN == 0 {
			p.tsecr = lastSrv
		}
		lastCli = p.tsval
	}
}

// planConn plans one client connection whose first SYN arrives at ta.
func (g *gen) planConn(c *conn, ta int64) {
	r := &g.r
	var cl *client
	if r.float() < g.cfg.V6 {
		cl = &g.v6[r.intn(len(g.v6))]
	} else {
		cl = &g.v4[r.intn(len(g.v4))]
	}
	c.v6 = cl.v6
	c.cli = cl.addr
	c.sport = serverPort
	if r.float() < 0.15 {
		c.sport = adminPort
	}
	c.cport = cl.port
	cl.port++
	if cl.port >= 61000 {
		cl.port = 32768
	}
	c.ttl = [2]uint8{cl.ttl, 64}
	c.ipid = [2]uint16{uint16(r.u64()), uint16(r.u64())}
	x := r.u64()
	c.flow = [2]uint32{uint32(x) & 0xfffff, uint32(x>>32) & 0xfffff}
	pl := plan{c: c, r: r, cwin: 502, swin: 509}
	if c.v6 {
		c.srv = serverV6
		c.mss = 1440
		pl.csyn, pl.ssyn = 64800, 64800
	} else {
		c.srv = serverV4
		c.mss = 1460
		pl.csyn, pl.ssyn = 64240, 65160
	}
	pl.rtt = cl.rtt * int64(900+r.intn(201)) / 1000
	if pl.rtt < 100 {
		pl.rtt = 100
	}
	x = r.u64()
	pl.ciss, pl.siss = uint32(x), uint32(x>>32)
	x = r.u64()
	pl.cts, pl.sts = uint32(x), uint32(x>>32)

	kind := kindNormal
	u := r.float()
	if in, abort := episode(ta); in {
		switch {
		case u < 0.25:
			kind = kindSynDrop
		case u < 0.45 && abort:
			kind = kindAbort
		case u < 0.45:
			kind = kindOverflow
		case u < 0.455:
			kind = kindGhost
		}
	} else if u < 0.001 {
		kind = kindSynDrop
	}
	if kind != kindNormal {
		g.st.Abnormal++
	}
	if kind == kindGhost {
		g.st.Ghosts++
	}

	// The SYN, dropped (and retransmitted after 1 s) once or twice when
	// the accept queue is full, and the SYN-ACK.
	tSyn := ta
	if kind == kindSynDrop {
		n := 1
		if r.float() < 0.3 {
			n = 2
		}
		for range n {
			pl.cli(tSyn, flagSYN, pl.ciss, 0, 0)
			tSyn += sec
		}
	}
	pl.cli(tSyn, flagSYN, pl.ciss, 0, 0)
	tSA := tSyn + 20 + int64(r.intn(60))
	pl.srv(tSA, flagSYN|flagACK, pl.siss, pl.ciss+1, 0)
	tAck := tSA + pl.rtt
	pl.cli(tAck, flagACK, pl.ciss+1, pl.siss+1, 0)
	reqLen := g.reqLen()
	tReq := tAck + 15 + int64(r.intn(30))

	switch kind {
	case kindNormal, kindSynDrop:
		pl.cli(tReq, flagPSH|flagACK, pl.ciss+1, pl.siss+1, reqLen)
		g.converse(&pl, tReq, reqLen)

	case kindAbort:
		// tcp_check_req, listen_overflow with tcp_abort_on_overflow=1:
		// the ACK gets a RST from tcp_v4_send_reset (seq = its ack, no
		// options) and the request is dropped; the request segment then
		// meets only the listener, which resets it too.
		pl.add(tAck+5, true, flagRST, pl.siss+1, 0, 0, optNone)
		pl.cli(tReq, flagPSH|flagACK, pl.ciss+1, pl.siss+1, reqLen)
		pl.add(tReq+30, true, flagRST, pl.siss+1, 0, 0, optNone)

	case kindOverflow:
		// tcp_abort_on_overflow=0: the ACK and the request are ignored
		// (ListenOverflows), the request stays in SYN_RECV marked acked.
		pl.cli(tReq, flagPSH|flagACK, pl.ciss+1, pl.siss+1, reqLen)
		cnxt := pl.ciss + 1 + uint32(reqLen)
		s := stall{
			tSA:      tSA,
			retxT0:   tReq,
			flags:    flagPSH | flagACK,
			seq:      pl.ciss + 1,
			plen:     reqLen,
			ackSeq0:  cnxt,
			ackSeq1:  cnxt,
			ackTakes: true,
			tFree:    tAck + 300*ms + min(int64(r.exp(2e6)), 25*sec),
			tGive:    never,
		}
		if r.float() < 0.1 {
			s.tFree = never
			s.tGive = tAck + 5*sec + int64(r.intn(5e6))
		}
		x, byRetx, ok, nextRetx := pl.stall(s)
		if !ok {
			// The client gives up and resets; the server drops the request.
			pl.cli(s.tGive, flagRST|flagACK, cnxt, pl.siss+1, 0)
			break
		}
		if !byRetx {
			// Taken in on a re-ACK: the next retransmission of the
			// request is the first data the server sees.
			x = nextRetx
			pl.cli(x, flagPSH|flagACK, pl.ciss+1, pl.siss+1, reqLen)
		}
		g.converse(&pl, x, reqLen)

	case kindGhost:
		// Seed 000: the client sends nothing, gives up and sends FIN
		// while the server still retransmits SYN-ACKs; a retransmission
		// of that FIN (ACK-bearing) gets the connection accepted.
		tFin := tAck + 1500*ms + int64(r.intn(2500000))
		pl.cli(tFin, flagFIN|flagACK, pl.ciss+1, pl.siss+1, 0)
		s := stall{
			tSA:     tSA,
			retxT0:  tFin,
			flags:   flagFIN | flagACK,
			seq:     pl.ciss + 1,
			ackSeq0: pl.ciss + 1,
			ackSeq1: pl.ciss + 2,
			tFree:   tFin + 100*ms + min(int64(r.exp(1.5e6)), 20*sec),
			tGive:   never,
		}
		x, _, _, _ := pl.stall(s)
		pl.srv(x+30, flagACK, pl.siss+1, pl.ciss+2, 0)
		tClose := x + 60 + int64(r.exp(2000))
		pl.srv(tClose, flagFIN|flagACK, pl.siss+1, pl.ciss+2, 0)
		pl.cli(tClose+pl.rtt, flagACK, pl.ciss+2, pl.siss+2, 0)
	}
	pl.finish()
	g.st.liveMicros += c.pk[len(c.pk)-1].t - c.pk[0].t
}

// stall describes a handshake the server does not complete: the client's
// ACK was ignored, the server retransmits its SYN-ACK after 1, 2, 4... s
// (the client re-ACKs each one), and the client retransmits one segment
// (request or FIN) with a doubling RTO until the server takes the
// connection in.
type stall struct {
	tSA      int64  // the first SYN-ACK
	retxT0   int64  // first transmission of the retransmitted segment
	flags    uint8  // of that segment
	seq      uint32 // of that segment
	plen     int
	ackSeq0  uint32 // sequence number of re-ACKs before retxT0
	ackSeq1  uint32 // and after
	ackTakes bool   // whether a re-ACK can get the connection accepted
	tFree    int64  // the first client segment from then on is accepted
	tGive    int64  // the client gives up then, if not accepted
}

// stall plans the stalled handshake and returns the time of the client
// segment that got the connection accepted, whether it was a
// retransmission of the stalled segment, whether there was one at all,
// and the time of the next retransmission (for re-ACK acceptances).
func (pl *plan) stall(s stall) (x int64, byRetx, ok bool, nextRetx int64) {
	rto := 200*ms + pl.rtt
	k, j := 1, 1
	retx := func() int64 { return s.retxT0 + rto*int64(1<<j-1) }
	for {
		sa := never
		if k <= synackRetries {
			sa = s.tSA + int64(1<<k-1)*sec
		}
		d := retx()
		if min(sa, d) >= s.tGive || min(sa, d) == never {
			return 0, false, false, 0
		}
		if sa < d {
			// A SYN-ACK retransmission (inet_rtx_syn_ack from
			// reqsk_timer_handler) and the client's re-ACK.
			rep := sa + pl.rtt
			pl.srv(sa, flagSYN|flagACK, pl.siss, pl.ciss+1, 0)
			seq := s.ackSeq0
			if rep >= s.retxT0 {
				seq = s.ackSeq1
			}
			pl.cli(rep, flagACK, seq, pl.siss+1, 0)
			k++
			if s.ackTakes && rep >= s.tFree {
				// Retransmissions sent before the re-ACK arrived
				// come first.
				for ; d < rep; d = retx() {
					pl.cli(d, s.flags, s.seq, pl.siss+1, s.plen)
					j++
					if d >= s.tFree {
						return d, true, true, 0
					}
				}
				return rep, false, true, d
			}
			continue
		}
		pl.cli(d, s.flags, s.seq, pl.siss+1, s.plen)
		j++
		if d >= s.tFree {
			return d, true, true, 0
		}
	}
}

// reqLen draws a request's length.
func (g *gen) reqLen() int { return 80 + g.r.intn(700) }

// converse plans the request/response exchanges and the close, from the
// first request (already planned) arriving at t.
func (g *gen) converse(pl *plan, t int64, reqLen int) {
	r := &g.r
	seg := int(pl.c.mss) - 12 // MSS less the timestamp option
	cseq := pl.ciss + 1 + uint32(reqLen)
	sseq := pl.siss + 1
	var nEx int
	switch u := r.float(); {
	case u < 0.75:
		nEx = 1
	case u < 0.93:
		nEx = 2
	case u < 0.98:
		nEx = 3
	default:
		nEx = 4 + r.intn(3)
	}
	var respEnd int64
	pending := false // the client owes a delayed ACK for the last segment
	reqT := t
	for e := range nEx {
		if e > 0 {
			think := min(int64(r.exp(300e3)), 5*sec)
			if pending && think >= delAck {
				pl.cli(respEnd+pl.rtt+delAck, flagACK, cseq, sseq, 0)
			}
			reqT = respEnd + pl.rtt + think
			n := g.reqLen()
			pl.cli(reqT, flagPSH|flagACK, cseq, sseq, n)
			cseq += uint32(n)
		}
		proc := 50 + min(int64(r.exp(8e3)), 2*sec)
		if proc > delAck {
			pl.srv(reqT+delAck, flagACK, sseq, cseq, 0)
		}
		respT := reqT + proc
		var nSeg int
		switch u := r.float(); {
		case u < 0.75:
			nSeg = 1
		case u < 0.88:
			nSeg = 2
		case u < 0.96:
			nSeg = 3 + r.intn(2)
		default:
			nSeg = 5 + r.intn(6)
		}
		for s := range nSeg {
			l := seg
			if s == nSeg-1 {
				l = 100 + r.intn(seg-100)
			}
			ts := respT + int64(s)*15
			fl := uint8(flagACK)
			if s == nSeg-1 {
				fl |= flagPSH
			}
			pl.srv(ts, fl, sseq, cseq, l)
			sseq += uint32(l)
			if s%2 == 1 {
				// An ACK for every second full segment.
				pl.cli(ts+pl.rtt, flagACK, cseq, sseq, 0)
			}
		}
		respEnd = respT + int64(nSeg-1)*15
		pending = nSeg%2 == 1
	}

	idle := min(int64(r.exp(1.2e6)), 15*sec)
	delayed := func() {
		if pending && idle >= delAck {
			pl.cli(respEnd+pl.rtt+delAck, flagACK, cseq, sseq, 0)
		}
	}
	switch u := r.float(); {
	case u < 0.75:
		// The client closes; the server's application reads EOF and
		// closes too, usually before its ACK of the FIN is sent.
		delayed()
		tF := respEnd + pl.rtt + idle
		pl.cli(tF, flagFIN|flagACK, cseq, sseq, 0)
		cseq++
		if r.float() < 0.7 {
			tF += 30 + int64(r.intn(40))
		} else {
			pl.srv(tF+20, flagACK, sseq, cseq, 0)
			tF += 50 + int64(r.exp(1000))
		}
		pl.srv(tF, flagFIN|flagACK, sseq, cseq, 0)
		sseq++
		pl.cli(tF+pl.rtt, flagACK, cseq, sseq, 0)
	case u < 0.88:
		// The server closes right after its last response.
		tS := respEnd + 20 + int64(r.intn(40))
		pl.srv(tS, flagFIN|flagACK, sseq, cseq, 0)
		sseq++
		pl.cli(tS+pl.rtt, flagACK, cseq, sseq, 0)
		tC := tS + pl.rtt + 100 + int64(r.exp(2000))
		pl.cli(tC, flagFIN|flagACK, cseq, sseq, 0)
		cseq++
		pl.srv(tC+20, flagACK, sseq, cseq, 0)
	case u < 0.96:
		// The client aborts (SO_LINGER 0): tcp_send_active_reset.
		delayed()
		pl.cli(respEnd+pl.rtt+idle, flagRST|flagACK, cseq, sseq, 0)
	default:
		// The server aborts an idle connection.
		delayed()
		pl.srv(respEnd+idle, flagRST|flagACK, sseq, cseq, 0)
	}
}

// planFlood plans one flood flow whose SYN arrives at t.
func (g *gen) planFlood(c *conn, t int64) {
	r := &g.r
	c.flood = true
	x := r.u64()
	for a := byte(x >> 24); a == 0 || a == 127 || a >= 224; a = byte(x >> 24) {
		x = r.u64()
	}
	c.cli[0], c.cli[1], c.cli[2], c.cli[3] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
	c.cport = uint16(1024 + (x>>32)%64512)
	c.sport = serverPort
	c.srv = serverV4
	c.mss = 1460
	c.ttl = [2]uint8{uint8(40 + (x>>48)%200), 64}
	c.ipid = [2]uint16{uint16(x >> 56), uint16(x >> 40)}
	y := r.u64()
	pl := plan{c: c, r: r, csyn: 512, ssyn: 64240}
	pl.add(t, false, flagSYN, uint32(y), 0, 0, optNone)
	tSA := t + 20 + int64(r.intn(40))
	for i := range g.cfg.FloodSynAcks {
		opt := uint8(optMSS)
		pl.add(tSA+int64(1<<i-1)*sec, true, flagSYN|flagACK, uint32(y>>32), uint32(y)+1, 0, opt)
	}
}
