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
// The listener views (overflow episodes, queue capacity, schedules,
// inferred settings, vantage point) need every flow, so they come at the
// end.
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
//   - The vantage point is judged from handshake timing only; a queue in
//     front of a link (a shaper, a busy NIC) makes a capture at a server
//     look like one at the client.
//   - No IP reassembly: the first fragment of a fragmented TCP segment is
//     returned with the length of that fragment only; later fragments count
//     as non-TCP.
//   - VXLAN and Geneve are recognised by their standard UDP ports only.
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
