package main

import (
	"errors"
	"fmt"
	"io"
)

// Shapes are small captures of a hostile form, for the hardening
// benchmarks: each is what one line of the issue measured, made here so
// that no large file is kept in the repository. They are synthetic, like
// the rest of capgen's output, and say nothing about a kernel.
//
//   - servers: one SYN from one client to each of -servers servers (port
//     80, 10.128.0.0 upwards), then the same SYNs again -gap seconds later:
//     many listeners, each seen for two packets, over a long span.
//   - long-flow: one connection of -packets packets: a handshake, then
//     the client's 100-byte segments, each acknowledged by the server,
//     then FINs.
//   - labelled-flow: the same, but the server ignores the client's
//     handshake ACK and first request (accept queue full: its SYN-ACK is
//     resent 1 s and 3 s later, and the client retransmits its data)
//     before the long exchange: a flow carrying synack-after-ack and
//     data-while-syn-recv.
var shapes = map[string]func(*pcapWriter, shapeConfig) error{
	"servers":       shapeServers,
	"long-flow":     func(pw *pcapWriter, sc shapeConfig) error { return shapeLongFlow(pw, sc, false) },
	"labelled-flow": func(pw *pcapWriter, sc shapeConfig) error { return shapeLongFlow(pw, sc, true) },
}

// shapeConfig holds the shapes' flags.
type shapeConfig struct {
	Servers int
	Gap     int64 // seconds
	Packets int
}

func (sc shapeConfig) check(shape string) error {
	if _, ok := shapes[shape]; !ok {
		return fmt.Errorf("unknown -shape %q (servers, long-flow, labelled-flow)", shape)
	}
	switch {
	case sc.Servers < 1 || sc.Servers > 1<<22:
		return errors.New("-servers must be between 1 and 4194304")
	case sc.Gap < 0 || sc.Gap > 1<<31:
		return errors.New("-gap must be between 0 and 2^31 seconds")
	case sc.Packets < 16:
		return errors.New("-packets must be at least 16")
	}
	return nil
}

// writeShape writes the capture of one shape to w.
func writeShape(w io.Writer, shape string, sc shapeConfig) (stats, error) {
	pw := newPcapWriter(w)
	err := shapes[shape](pw, sc)
	if err == nil {
		err = pw.err
	}
	return stats{Packets: pw.n, Bytes: pw.bytes}, err
}

func shapeServers(pw *pcapWriter, sc shapeConfig) error {
	c := &conn{cli: [16]byte{10, 0, 0, 1}, cport: 40000, sport: 80, mss: 1460, ttl: [2]uint8{64, 64}}
	for pass := int64(0); pass < 2; pass++ {
		for i := 0; i < sc.Servers; i++ {
			c.srv = [16]byte{10, byte(128 + i>>16), byte(i >> 8), byte(i)}
			p := pkt{t: pass*sc.Gap*sec + int64(i)*10, seq: uint32(i) * 7919, flags: flagSYN, win: 64240, opt: optSYN, tsval: uint32(i)}
			pw.packet(c, &p)
			if pw.err != nil {
				return pw.err
			}
		}
	}
	return nil
}

func shapeLongFlow(pw *pcapWriter, sc shapeConfig, labelled bool) error {
	c := &conn{cli: [16]byte{192, 0, 2, 7}, srv: [16]byte{198, 51, 100, 1}, cport: 41003, sport: 8080, mss: 1460, ttl: [2]uint8{64, 64}}
	const ciss, siss = 1000, 5000
	const size = 100
	var t int64
	n := 0
	out := func(fromSrv bool, flags uint8, seq, ack uint32, plen uint16, opt uint8) {
		p := pkt{t: t, seq: seq, ack: ack, plen: plen, flags: flags, win: 502, opt: opt, fromSrv: fromSrv, tsval: uint32(t / ms)}
		pw.packet(c, &p)
		n++
	}
	out(false, flagSYN, ciss, 0, 0, optSYN)
	t += 100
	out(true, flagSYN|flagACK, siss, ciss+1, 0, optSYN)
	t += 100
	out(false, flagACK, ciss+1, siss+1, 0, optTS)
	if labelled {
		// The ACK and the first request are ignored: the request timer
		// resends the SYN-ACK (tcp_synack_timer), the client retransmits
		// its data, and the second SYN-ACK's ACK gets the connection queued.
		t += 100
		out(false, flagACK|flagPSH, ciss+1, siss+1, size, optTS)
		t = 1 * sec
		out(true, flagSYN|flagACK, siss, ciss+1, 0, optSYN)
		t += 100
		out(false, flagACK, ciss+1, siss+1, 0, optTS)
		t = 1*sec + 400*ms
		out(false, flagACK|flagPSH, ciss+1, siss+1, size, optTS)
		t = 3 * sec
		out(true, flagSYN|flagACK, siss, ciss+1, 0, optSYN)
		t += 100
		out(false, flagACK|flagPSH, ciss+1, siss+1, size, optTS)
		t += 100
		out(true, flagACK, siss+1, ciss+1+size, 0, optTS)
	}
	seq := uint32(ciss + 1)
	if labelled {
		seq += size
	}
	for n+3 < sc.Packets {
		t += 200
		out(false, flagACK|flagPSH, seq, siss+1, size, optTS)
		seq += size
		if n+3 < sc.Packets {
			t += 100
			out(true, flagACK, siss+1, seq, 0, optTS)
		}
		if pw.err != nil {
			return pw.err
		}
	}
	t += 1000
	out(false, flagFIN|flagACK, seq, siss+1, 0, optTS)
	t += 100
	out(true, flagFIN|flagACK, siss+1, seq+1, 0, optTS)
	t += 100
	out(false, flagACK, seq+1, siss+2, 0, optTS)
	return pw.err
}
