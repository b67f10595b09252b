// Command tcplab is the capture lab: it records real Linux listen-queue
// overflows, and the look-alikes that are not overflows, as fixtures for
// tcptimeline's regression tests.
//
// Each scenario is a JSON file in testdata/lab (see Scenario). As root,
//
//	go run ./cmd/tcplab run testdata/lab/<name>.json
//	go run ./cmd/tcplab run-all
//
// creates two network namespaces, lab-srv and lab-cli, joined by one veth
// pair (10.77.0.1 and 10.77.0.2, fd77::1 and fd77::2, static neighbour
// entries, no ARP or ND), sets the server namespace's listen-queue sysctls
// and the client's SYN retries, optionally shapes one side's egress with a
// token-bucket qdisc, and runs this same program twice more inside the
// namespaces: a server ("serve") that listens with an exact backlog and
// accepts on a schedule, and the clients ("clients"), each connection from
// a fixed local port (41001, 41002, ...) so that every flow in the captures
// maps to one record in the truth file. tcpdump records the server's
// interface (server.pcap, Ethernet) and all interfaces of the client
// namespace (client.pcap, LINUX_SLL2), with a 32 MB kernel buffer in
// immediate mode; a run in which the kernel dropped a frame before tcpdump
// read it fails. ss is polled in lab-srv every 50 ms; the counters come
// from nstat. Everything lands in testdata/lab/<name>/ with a truth.json
// (see Truth). The namespaces are deleted after each scenario, also on
// failure or interrupt. `tcplab validate` checks the scenario files without
// root.
//
// A scenario with a path (see Path) puts a third namespace, lab-rtr,
// between the two, joined by one veth pair to each; a fourth run of this
// program ("route") bridges the frames in user space over AF_PACKET,
// delaying each direction, dropping frames by rule or at random (seeded)
// and holding some back to reorder them, and logs every drop and hold into
// the truth file. The captures stay on the endpoints, so what the router
// drops is lost between the two capture points. This kernel has no netem.
// The router runs SCHED_FIFO (chrt -f 50): at nice -15 a busy machine woke
// it tens of milliseconds late; the other lab processes run at nice -15.
//
// Other scenario features: extra listeners on other ports, TCP_DEFER_ACCEPT,
// SO_RCVBUF and paused reading (zero windows), closing accepted
// connections with RST at accept or after the first read, closing the
// listening socket mid-run and listening again, client keep-alive,
// connections one after another from each client (load), ports nothing
// listens on (refused), nftables SYN drops on the server (blackhole),
// one-sided captures (tcpdump -Q), client sysctls changed mid-run, and a
// SYN flood from spoofed sources (see Flood).
//
// Limits: the lab needs root, ip, tc, ss, nstat, ethtool, nft and tcpdump
// (it installs them with apt-get when missing). Timing is real: the same
// scenario run twice gives captures that differ in timestamps, sequence
// numbers and sometimes in which client wins a freed queue slot; the truth
// file records what happened in that run. ss polling every 50 ms can miss a
// state that lasted less than that, and its times are upper bounds. With
// offloads on (the default without a path) the veths leave TCP checksums
// unfilled in the captures; with a path or no_offload they are filled.
// Sockets a scenario leaves open are closed only after the captures
// stopped.
package main
