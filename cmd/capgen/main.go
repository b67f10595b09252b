// Command capgen writes a large, deterministic, synthetic classic pcap of a
// busy TCP server seen on its own interface, for measuring tcptimeline's
// speed and memory at scale. It is synthetic: correctness fixtures come from
// real kernels (see cmd/tcplab), not from here.
//
// Usage:
//
//	capgen -conns 200000 -seed 1 -o medium.pcap      # about 2 M packets
//	capgen -conns 1000000 -seed 1 -o large.pcap      # about 10 M packets
//	capgen -conns 200000 -flood 1000000 -o flood.pcap
//	capgen -shape servers -servers 20000 -gap 2000000 -o servers.pcap   # hostile shapes (shapes.go)
//
// The file is classic pcap, little-endian, microsecond timestamps, link
// type Ethernet, snaplen 128 (records longer than that are cut, with the
// original length kept). Payload bytes are zero; IPv4 and TCP checksums are
// correct for the full (untruncated) packets.
//
// The traffic: clients over IPv4 and IPv6 (-v6 is the IPv6 fraction) open
// connections to one of two server ports (9000, mostly, and 9001), about
// -concurrency of them live at any time. A connection does a handshake with
// Linux-style options (MSS, SACK permitted, timestamps, window scale), one to
// a few request/response exchanges with consistent sequence, acknowledgement
// and timestamp numbers (delayed ACKs of 40 ms, ACKs every second full
// segment), and ends mostly with FINs (client or server first), sometimes
// with a RST.
//
// Every 15 s of capture time, starting at 2 s, comes a 3 s overload episode
// in which the server's accept queue overflows. New connections then see,
// at random:
//
//   - SYNs dropped and retransmitted after 1 s (once or twice);
//   - tcp_abort_on_overflow=0: the client's ACK is ignored, the server
//     retransmits its SYN-ACK after 1, 2, 4, 8, 16 s (tcp_synack_retries=5),
//     the client re-ACKs each one and retransmits its unacknowledged request
//     (RTO 200 ms + RTT, doubling) until a slot frees and the server accepts
//     the connection; a tenth of them never get one and the client resets;
//   - ghost connections (seed 000): the client sends no data, gives up and
//     sends FIN while the server still retransmits SYN-ACKs; the server then
//     takes the connection in on a retransmission of that FIN, ACKs it and
//     closes;
//   - in every fourth episode (the second, the sixth...)
//     tcp_abort_on_overflow=1, as if an operator flipped it: the client's
//     ACK is answered with a RST, and so is its request.
//
// Outside the episodes one SYN in a thousand is dropped too.
//
// About 11 packets per connection: -conns 200000 gives about 2.2 M packets
// (240 MB), -conns 1000000 about 11 M (1.2 GB), written in seconds.
//
// With -flood N, N SYNs from random IPv4 sources and ports (no TCP options,
// as a flooding tool sends them) hit port 9000 within -flood-secs seconds,
// starting a third of the way into the capture, so that up to N half-open
// flows are live at once. -flood-synacks says how the server answers each:
// 0 not at all (SYN queue full, syncookies off), 1 with one SYN cookie
// SYN-ACK that is never retransmitted (the default, as Linux does with
// tcp_syncookies=1), K > 1 with a SYN-ACK retransmitted K-1 times after 1,
// 2, 4... s. The sources never answer.
//
// Same flags and seed give byte-identical files: the random numbers come
// from capgen's own SplitMix64, not from math/rand. (Times are drawn with
// float64 logarithms, so a CPU architecture whose compiler fuses
// multiply-adds might round a few differently; amd64 does not.) A one-line
// summary goes to stderr.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses the flags, writes the capture and returns the exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("capgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.Conns, "conns", 2000, "number of client connections")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed; same flags and seed give the same bytes")
	out := fs.String("o", "", "output file (required; - for stdout)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 6000, "roughly how many connections are live at a time")
	fs.IntVar(&cfg.Flood, "flood", 0, "number of half-open SYN flood flows")
	fs.Float64Var(&cfg.FloodSecs, "flood-secs", 10, "seconds over which the flood SYNs are spread")
	fs.IntVar(&cfg.FloodSynAcks, "flood-synacks", 1, "SYN-ACKs the server sends per flood SYN: 0 none, 1 a cookie, K>1 with retransmissions")
	fs.Float64Var(&cfg.V6, "v6", 0.1, "fraction of connections over IPv6")
	quiet := fs.Bool("q", false, "do not print the summary line")
	shape := fs.String("shape", "", "write a hostile shape instead of the traffic model: servers, long-flow or labelled-flow (see shapes.go)")
	var sc shapeConfig
	fs.IntVar(&sc.Servers, "servers", 20000, "-shape servers: number of servers")
	fs.Int64Var(&sc.Gap, "gap", 2000000, "-shape servers: seconds between the two SYNs to each server")
	fs.IntVar(&sc.Packets, "packets", 5000000, "-shape long-flow, labelled-flow: packets in the flow")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "capgen: -o FILE is required and no arguments are taken")
		fs.Usage()
		return 2
	}
	check := cfg.check
	if *shape != "" {
		check = func() error { return sc.check(*shape) }
	}
	if err := check(); err != nil {
		fmt.Fprintf(stderr, "capgen: %v\n", err)
		return 2
	}

	start := time.Now()
	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "-" {
		var err error
		f, err = os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "capgen: %v\n", err)
			return 1
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var st stats
	var err error
	if *shape != "" {
		st, err = writeShape(bw, *shape, sc)
	} else {
		st, err = generate(bw, cfg)
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "capgen: %v\n", err)
		return 1
	}
	if !*quiet && *shape != "" {
		fmt.Fprintf(stderr, "capgen: %s: shape %s, %d packets, %d bytes, written in %.1f s\n", *out, *shape, st.Packets, st.Bytes, time.Since(start).Seconds())
	} else if !*quiet {
		fmt.Fprintf(stderr, "capgen: %s: %d packets, %d bytes, %d connections (%d abnormal, %d ghosts), %d flood SYNs, %.1f s of traffic, %.0f connections live on average, written in %.1f s\n",
			*out, st.Packets, st.Bytes, st.Conns, st.Abnormal, st.Ghosts, st.FloodSYNs,
			float64(st.SpanMicros)/1e6, st.MeanLive(), time.Since(start).Seconds())
	}
	return 0
}
