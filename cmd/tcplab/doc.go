// Command tcplab is the capture lab: it records real Linux listen-queue
// overflows as fixtures for tcptimeline's regression tests.
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
// accepts on a schedule, and the clients ("clients"), each from a fixed local
// port (41001, 41002, ...) so that every flow in the captures maps to one
// record in the truth file. tcpdump records the server's interface
// (server.pcap, Ethernet) and all interfaces of the client namespace
// (client.pcap, LINUX_SLL2); ss is polled in lab-srv every 50 ms; the
// counters come from nstat. Everything lands in testdata/lab/<name>/ with a
// truth.json (see Truth). The namespaces are deleted after each scenario,
// also on failure or interrupt. `tcplab validate` checks the scenario files
// without root.
//
// Limits: the lab needs root, ip, tc, ss, nstat and tcpdump (it installs
// tcpdump and iproute2 with apt-get when missing). Timing is real: the same
// scenario run twice gives captures that differ in timestamps, sequence
// numbers and sometimes in which client wins a freed queue slot; the truth
// file records what happened in that run. netem is not assumed; delays come
// only from tbf. ss polling every 50 ms can miss a state that lasted less
// than that, and its times are upper bounds. The veth offloads leave TCP
// checksums unfilled in the captures. Sockets a scenario leaves open are
// closed only after the captures stopped.
package main
