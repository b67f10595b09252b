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
// of the input. Unless Options.Live, a finished flow is then held, still
// taking packets, until a new SYN on its 4-tuple, Timeouts.Hold after its
// last packet (one more idle timeout for an idle one) or the end of the
// input, so that one flow is one tshark tcp.stream (table.holdExtra); at
// most holdAbove are held at once. Flows come out in the order they are
// handed out, ties by first packet, whatever the number of tables: for a
// capture shorter than the holds, the order of their first packets. Memory holds live flows only:
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
// order, keeping each segment's file index and frame number. Files given
// by OpenLater are opened only when the merge reaches their first segment
// and closed once read, their buffers reused, so thousands of files cost
// one or two open at a time.
//
// # Several vantage points
//
// Files that recorded the same packets (a client's and a server's capture
// of one incident, a router's) are vantage points of one capture. Before
// the merge, each file's clock is put on the first file's when the
// handshakes both hold near their beginnings prove it apart (clocks.go).
// In the merge, a flow keeps another point's record of a packet it already
// holds as a sighting (flowstate's sighting.go): each packet is processed
// once, its records listed in Flow.Seen; a packet seen leaving one end and
// never at the other end's capture point is lost on the path, not dropped
// by a host. The sightings give each capture's clock offset, one-way
// delays and vantage (vantages.go); Options.Vantages groups a point's
// ring pieces.
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
// Timestamps: a record whose time is more than the idle timeout (300 s)
// from both its neighbours, which agree with each other, is a corrupt
// timestamp: it is read at its neighbour's time, with a warning naming the
// packet, so one flipped bit cannot split flows or stretch them over
// years; a jump the following records keep is a gap and stays. A classic
// pcap fraction field out of range (microseconds of 1e6 or more,
// nanoseconds of 1e9 or more) is carried into the seconds, as written,
// with a warning; a pcapng if_tsresol finer than 10^-19 or 2^-63 s is a
// warning and read as microseconds (the pcapng default). Epoch 0 is a
// time like any other.
//
// pcapng is read block by block by this package, not by pcapgo's
// NgReader: of the metadata only what the analysis uses is kept (per
// interface its link type, snaplen, timestamp resolution and offset; the
// first 64 interfaces of a file are listed in Capture.Interfaces with
// names of at most 64 bytes, the others counted), and name resolution,
// decryption secrets, custom and unknown blocks are counted in
// Capture.OtherBlocks and skipped unread, so memory does not grow with
// them. A capture's warnings are bounded too (32, then a count).
//
// # Decoding
//
// Link types: Ethernet, LINUX_SLL, LINUX_SLL2, RAW (101, and 12 or 14 as
// some systems write it), IPV4, IPV6, NULL, LOOP, NFLOG, PPP, PPP_HDLC,
// PPP_ETHER and C_HDLC. Inside them, as deep as they nest: 802.1Q and
// 802.1ad tags, 802.3 frames with 802.2 LLC/SNAP, PBB (802.1ah) I-TAGs,
// Cisco FabricPath, MPLS label stacks (and Ethernet pseudowires with or
// without a control word), PPPoE sessions and PPP, IPv4 (with options) and
// IPv6 (with its extension-header chain), and the tunnels: IP in IP (4in4,
// 6in4, 4in6, 6in6), GRE (key, sequence number, checksum, source routes,
// PPTP's enhanced GRE, NVGRE, over IPv6 and in UDP on port 4754) with IP,
// Ethernet, MPLS or PPP inside, ERSPAN types I, II and III, EtherIP, MPLS
// in IP and in UDP (6635), VXLAN (4789), Geneve (6081), GTP-U (2152),
// AYIYA (5072) and Teredo (3544); the innermost TCP header is the one
// returned. layers.go lists the layers and, in one place each, the
// EtherTypes, IP protocols and UDP ports followed. MPLS does not say what
// it carries: the first nibble after the stack is read as Wireshark does
// (4 IPv4, 6 IPv6, 0 an Ethernet pseudowire, with the control word unless
// the bytes read better without it).
//
// An IPv4 header must say version 4 and an IPv6 header 6, whatever
// announced it; one that does not is undecodable and counted in
// Capture.BadIPVersion. A TCP header cut short, or whose data offset is
// below 5 or reaches past the packet, is undecodable too, counted in
// Capture.TruncatedTCP.
//
// IP fragments (IPv4, and IPv6 Fragment headers) are reassembled, headers
// only: which bytes arrived, and the first 256 bytes of the datagram's
// payload, where the TCP header (and any tunnel's headers) lie. The
// segment comes out at the fragment that completes the datagram, with its
// whole length, as Wireshark shows it; the other fragments are counted in
// Capture.IPFragments. At most 512 datagrams are reassembled at once (the
// oldest is given up when more come), each within Linux's timeout (30 s
// for IPv4, 60 s for IPv6); datagrams never completed are counted in
// Capture.FragmentsIncomplete with a warning. Segment.Len comes from the
// IP header, so a packet cut by the snaplen keeps its true length
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
//   - Timeouts run on the run's clock, the latest segment time read so
//     far, which never goes backwards: where a capture's time goes
//     backwards, a flow's finish time is on that clock (at or after its
//     last packet's own time). So the output is the same for any number of
//     flow tables, and so on any machine.
//   - Without direction marks (SLL/SLL2 packet type, pcapng epb_flags)
//     the vantage point is judged from handshake timing; a queue in front
//     of a link (a shaper, a busy NIC) makes a capture at a server look
//     like one at the client.
//   - Reassembly keeps no payload: a datagram whose TCP header ends past
//     its first 256 bytes (behind deep tunnels) is counted as a truncated
//     TCP header, and fragments are matched within one file, not across
//     the files of a ring. Unlike Wireshark, a datagram whose fragments
//     the snaplen cut is still reassembled (its headers are in the first
//     fragment). Overlapping fragments are accepted, a later copy of a
//     header byte replacing an earlier one; Linux drops such datagrams.
//   - The table of datagrams in reassembly (about 250 KiB) is allocated
//     by each file's reader at its first fragment.
//   - The UDP tunnels are recognised by their standard ports only (the
//     lower port first, as Wireshark), not heuristically: Teredo between
//     two clients on other ports, or GRE in UDP on another port, is not
//     decoded (tshark needs "Decode As" for them too).
//   - MPLS's payload is guessed from its first nibble, without
//     Wireshark's vendor table: an Ethernet pseudowire whose destination
//     MAC starts with 4 or 6 is taken for IP.
//   - Aruba's GRE (802.11 frames inside), VXLAN-GPE, Juniper and ERF link
//     types, 802.11 and other link types are not decoded.
//   - IPv6 packets with a Hop-by-Hop header (MLD, rarely TCP) cost one
//     allocation in gopacket's layers.IPv6.
//   - Classic pcap records longer than the declared snaplen are read, as
//     tcpdump does (with one warning); a captured length above 256 KiB, or
//     above the original length, ends the file.
//   - A pcapng simple packet block has no timestamp: it is given the time
//     of the record before it.
//   - The corrupt-timestamp rule needs neighbours: a file's last record,
//     and a first record whose two successors disagree, are kept as they
//     are; two corrupt records in a row look like a short gap and are kept.
package analyze
