// Package analyze is tcptimeline's capture boundary and, in time, its
// analysis: it reads tcpdump captures, decodes them into
// flowstate.Segment values, and (in files still to come) keeps the flow
// table, runs the listen-queue detectors and builds a plain-data Report.
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
// # Known limits
//
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
