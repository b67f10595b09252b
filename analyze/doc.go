// Package analyze is tcptimeline's capture boundary and analysis: it reads
// tcpdump captures, decodes them into flowstate.Segment values, keeps the
// flow table, runs each flow's state machines (package flowstate, which
// labels the listen-queue patterns), and builds the plain data the
// renderers read: finished Flows, per-listener views (Listener) and the
// run's Summary.
//
// # The run
//
// Run is a stream: packets in, finished flows out. One goroutine reads and
// decodes; flow tables, one per core, each take the flows whose 4-tuple
// hashes to them; the caller's goroutine merges their finished flows back
// into one order and calls emit. A flow finishes when it closed (both FINs
// acknowledged, or a RST) and lingered 2 s for stragglers, when it was
// idle past a timeout (75 s while opening, 300 s otherwise), or at the end
// of the input; flows come out in the order they finish, ties by first
// packet, whatever the number of tables. Memory holds live flows only:
// with Options.Record off (summaries) a flow keeps counters, not packets,
// and flows that never got past a SYN or a SYN and SYN-ACK (a SYN flood)
// are kept as small values without pointers until they promote or expire.
// The listener views (verdict, overflow episodes per queue with their
// confidence and alternatives, queue capacity, schedules, inferred
// settings, vantage point; verdict.go) need every flow, so they come at
// the end. A flow's notes are written when it is handed out, so the
// wording of an unanswered connection ("no answer from the server" or
// "while the server answered others") reflects the flows that finished
// before it.
//
// # Reading captures
//
// Open (or NewCaptureReader) reads one file, streaming: classic pcap with
// microsecond or nanosecond timestamps in either byte order, or pcapng,
// either one possibly gzip-compressed; "-" is the standard input.
// CaptureReader.Next returns the TCP segments one at a time, without
// allocating; records that carry no TCP are counted and skipped. A Merger
// reads several files (a tcpdump -C/-G -W ring) as one, in timestamp
// order, keeping each segment's file index and frame number.
//
// A file that cannot be read at all (empty, not a capture, file header
// cut short, unsupported link type) is an error matching ErrNotCapture.
// Damage after the first packets (a record cut short, an absurd record
// length, a corrupt pcapng block) ends that file with a warning in
// Capture.Warnings that names the byte offset (of the decompressed stream
// for gzip) and the packet number; what came before is kept. Timestamps
// going backwards and packets the interface dropped (pcapng statistics)
// are counted and reported too.
//
// # Decoding
//
// Link types: Ethernet (with 802.1Q and 802.1ad tags), LINUX_SLL,
// LINUX_SLL2, RAW (101, and 12 or 14 as some systems write it), IPV4,
// IPV6, NULL and LOOP. Inside them IPv4 (with options) and IPv6 (with its
// extension-header chain), and the tunnels seen on mirrored traffic:
// VXLAN (UDP 4789), Geneve (UDP 6081), GRE (IP or Ethernet inside) and IP
// in IP; the innermost TCP header is the one returned. Segment.Len comes
// from the IP header, so a packet cut by the snaplen keeps its true length
// (Capture.CutBySnaplen counts them). Checksums are not verified: offload
// makes them wrong in many captures.
//
// # The kernel's own evidence
//
// ParseKernelStats reads a counter snapshot (nstat, /proc/net/netstat
// with /proc/net/snmp, netstat -s), KernelStats.Sub the difference of
// two, ParseSS the listening sockets of ss -lnt; errors name the file and
// line (LineError). KernelEvidence.Reconcile sets them beside a run's
// Summary: per counter of CounterNames the kernel's value, what the
// listeners' Counts account for and what can explain the difference;
// per listener, ss's Send-Q against the capacity the capture measured.
//
// # Known limits
//
//   - The listener view keeps a few numbers per flow for the capacity
//     estimate and the connect-time percentiles, up to 256 Ki and 2 Mi
//     flows per listener; past that the estimate is withheld and the
//     percentiles cover the first 2 Mi connections.
//   - A flow whose timestamps go backwards may be reported to finish a
//     nanosecond after the flow finished before it in its flow table, or
//     after that table's last sweep, to keep the order. Which flows share
//     a table depends on the number of cores, so such a capture's finish
//     times can differ between machines; on one machine they do not.
//   - The vantage point is judged from handshake timing only; a queue in
//     front of a link (a shaper, a busy NIC) makes a capture at a server
//     look like one at the client.
//   - No IP reassembly: the first fragment of a fragmented TCP segment is
//     returned with the length of that fragment only; later fragments count
//     as non-TCP.
//   - VXLAN and Geneve are recognised by their standard UDP ports only.
//   - In pcapng, a packet of an interface whose link type number is 256 or
//     more (LINUX_SLL2) costs one small allocation inside pcapgo, which
//     boxes the link type for every packet; IPv6 packets with a Hop-by-Hop
//     header (MLD, rarely TCP) cost one in gopacket's layers.IPv6.
//   - Classic pcap records longer than the declared snaplen are read, as
//     tcpdump does (with one warning); a captured length above 256 KiB, or
//     above the original length, ends the file.
//   - pcapng blocks that do not fit in the 1 MiB read buffer are left to
//     pcapgo's own checks, with less precise offsets in warnings.
package analyze
