#!/usr/bin/env bash
# Records the captures of testdata/streams/: real connections between two
# network namespaces joined by a veth pair, captured by tcpdump on the
# server's side, where tshark's tcp.stream and a flow table's timers could
# disagree on where one connection ends. Run as root from the repository
# root:
#
#   bash scripts/stream-fixtures.sh idle-gap|late-fin|late-fin-client|port-reuse|all
#
# then `bash scripts/stream-fixtures.sh tshark` writes what tshark said of
# each (NAME.tshark.tsv), which analyze's stream test compares with our
# flows. GAP (seconds, default 320) sets the idle gap of idle-gap.
set -euo pipefail

out=testdata/streams
srv=strm-srv
cli=strm-cli
port=9000
gap=${GAP:-320}

cleanup() {
	ip netns del $srv 2>/dev/null || true
	ip netns del $cli 2>/dev/null || true
}

setup() {
	cleanup
	ip netns add $srv
	ip netns add $cli
	ip link add strm-srv0 type veth peer name strm-cli0
	ip link set strm-srv0 netns $srv
	ip link set strm-cli0 netns $cli
	ip -n $srv addr add 10.231.0.1/24 dev strm-srv0
	ip -n $cli addr add 10.231.0.2/24 dev strm-cli0
	for ns in $srv $cli; do
		ip -n $ns link set lo up
	done
	ip -n $srv link set strm-srv0 up
	ip -n $cli link set strm-cli0 up
	# Static neighbours: no ARP in the capture, no ARP delay.
	mac_srv=$(ip -n $srv -o link show strm-srv0 | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)
	mac_cli=$(ip -n $cli -o link show strm-cli0 | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)
	ip -n $srv neigh add 10.231.0.2 lladdr "$mac_cli" dev strm-srv0 nud permanent
	ip -n $cli neigh add 10.231.0.1 lladdr "$mac_srv" dev strm-cli0 nud permanent
	for ns in $srv $cli; do
		ip netns exec $ns nft add table inet strm
		ip netns exec $ns nft add chain inet strm input '{ type filter hook input priority 0; }'
	done
}

# The server, in $srv: mode echo (answers each message, closes after the
# client), late-fin (closes after the client, with the client's ACKs of its
# FIN dropped for 7 s, so the FIN is retransmitted after the close),
# slow-close (closes 5 s after the client) or first-close (answers once
# and closes first: TIME-WAIT on the server).
server() {
	ip netns exec $srv python3 - "$1" <<'EOF' &
import socket, subprocess, sys, time
mode = sys.argv[1]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("10.231.0.1", 9000))
ls.listen(16)
n = 3 if mode == "first-close" else 1
for _ in range(n):
    c, _ = ls.accept()
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(b"re:" + d)
        if mode == "first-close":
            break
    if mode == "late-fin":
        subprocess.run(["nft", "add", "rule", "inet", "strm", "input", "ip", "saddr", "10.231.0.2", "tcp", "dport", "9000", "drop"], check=True)
    if mode == "slow-close":
        time.sleep(5)
    c.close()
    if mode == "late-fin":
        time.sleep(7)
        subprocess.run(["nft", "flush", "chain", "inet", "strm", "input"], check=True)
        time.sleep(8)
EOF
	srv_pid=$!
	sleep 0.5
}

# The client, in $cli.
client() {
	ip netns exec $cli python3 - "$@" <<'EOF'
import socket, sys, time
mode = sys.argv[1]
def conn(bind_port=0):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if bind_port:
        s.bind(("10.231.0.2", bind_port))
    s.connect(("10.231.0.1", 9000))
    return s
if mode == "idle-gap":
    s = conn()
    s.sendall(b"hello"); s.recv(100)
    time.sleep(float(sys.argv[2]))
    s.sendall(b"again"); s.recv(100)
    s.close()
elif mode == "late-fin":
    s = conn()
    s.sendall(b"bye"); s.recv(100)
    s.close()
    time.sleep(16)
elif mode == "late-fin-client":
    # The server's ACKs of the client's FIN are dropped in the client's
    # namespace for 1.5 s (after the capture point): the client sends its
    # FIN again until one gets through.
    import subprocess
    s = conn()
    s.sendall(b"bye"); s.recv(100)
    subprocess.run(["nft", "add", "rule", "inet", "strm", "input", "ip", "saddr", "10.231.0.1", "tcp", "sport", "9000", "drop"], check=True)
    s.close()
    time.sleep(1.5)
    subprocess.run(["nft", "flush", "chain", "inet", "strm", "input"], check=True)
    time.sleep(8)
elif mode == "port-reuse":
    for i in range(3):
        s = conn(40000)
        s.sendall(b"q%d" % i)
        s.recv(100)
        while s.recv(100):
            pass
        s.close()
        time.sleep(0.3)
EOF
}

record() {
	local name=$1
	shift
	setup
	trap cleanup EXIT
	ip netns exec $srv tcpdump -q -i strm-srv0 -U -s 256 -w "$out/$name.pcap" tcp port $port &
	local dump=$!
	sleep 1
	"$@"
	sleep 1
	kill -INT $dump
	wait $dump || true
	cleanup
	trap - EXIT
	echo "wrote $out/$name.pcap"
}

idle_gap() {
	server echo
	client idle-gap "$gap"
	wait $srv_pid
}

late_fin() {
	server late-fin
	client late-fin
	wait $srv_pid
}

late_fin_client() {
	server slow-close
	client late-fin-client
	wait $srv_pid
}

port_reuse() {
	server first-close
	# The first SYN is dropped: its retransmission, with the same ISN, is
	# the same connection.
	ip netns exec $srv nft add rule inet strm input tcp flags '& (syn | ack) == syn' drop
	(sleep 0.5; ip netns exec $srv nft flush chain inet strm input) &
	local flush=$!
	client port-reuse
	wait $srv_pid $flush
}

# tshark's streams: one line per frame, its tcp.stream; also of
# formats/dup-frames.pcap (every frame twice: packets counts both).
tshark_streams() {
	for p in "$out"/*.pcap testdata/formats/dup-frames.pcap; do
		t=$out/$(basename "${p%.pcap}").tshark.tsv
		{
			echo "# tshark $(tshark --version 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*' | head -1): frame, tcp.stream"
			tshark -n -r "$p" -Y tcp -T fields -e frame.number -e tcp.stream 2>/dev/null
		} >"$t"
		echo "wrote $t"
	done
}

mkdir -p "$out"
case ${1:-} in
idle-gap) record idle-gap idle_gap ;;
late-fin) record late-fin late_fin ;;
late-fin-client) record late-fin-client late_fin_client ;;
port-reuse) record port-reuse port_reuse ;;
all)
	record late-fin late_fin
	record late-fin-client late_fin_client
	record port-reuse port_reuse
	record idle-gap idle_gap
	;;
tshark) tshark_streams ;;
*)
	echo "usage: $0 idle-gap|late-fin|late-fin-client|port-reuse|all|tshark" >&2
	exit 2
	;;
esac
