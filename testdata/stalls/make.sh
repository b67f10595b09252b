#!/bin/bash
# make.sh: record the stall fixtures in this directory: real kernel traffic
# that stalls (zero window, keep-alives, timer retransmissions) or loses
# segments, captured on both sides.
#
# Run as root (it creates the network namespaces st-c and st-s joined by a
# veth pair, sends traffic only between 10.98.0.1 and 10.98.0.2 inside them,
# and deletes them when done):
#
#   testdata/stalls/make.sh                  every scenario
#   testdata/stalls/make.sh zero-window ...  only these
#
# Needs tcpdump, nft, ethtool and python3. Each scenario writes
# SCENARIO/server.pcap (Ethernet, in st-s on its veth) and SCENARIO/client.pcap
# (LINUX_SLL2, tcpdump -i any in st-c), snaplen 128. Segmentation offloads are
# off on both veth ends, so every segment on the wire is one record. Then run
# bash scripts/tshark-analysis.sh to refresh testdata/tshark/.
set -euo pipefail
cd "$(dirname "$0")"

cleanup() {
	ip netns del st-c 2>/dev/null || true
	ip netns del st-s 2>/dev/null || true
}

record() {
	local sc=$1
	cleanup
	ip netns add st-c
	ip netns add st-s
	ip link add st-vc type veth peer name st-vs
	ip link set st-vc netns st-c
	ip link set st-vs netns st-s
	ip -n st-c link set st-vc address 02:98:00:00:00:01
	ip -n st-s link set st-vs address 02:98:00:00:00:02
	ip -n st-c addr add 10.98.0.1/24 dev st-vc
	ip -n st-s addr add 10.98.0.2/24 dev st-vs
	for ns in st-c st-s; do
		ip -n $ns link set lo up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	ip netns exec st-c ethtool -K st-vc tso off gso off gro off >/dev/null
	ip netns exec st-s ethtool -K st-vs tso off gso off gro off >/dev/null
	ip -n st-c link set st-vc up
	ip -n st-s link set st-vs up
	ip netns exec st-c nft add table inet st
	ip netns exec st-c nft add chain inet st out '{ type filter hook output priority 0; }'
	ip netns exec st-s nft add table inet st
	ip netns exec st-s nft add chain inet st in '{ type filter hook input priority 0; }'
	sleep 1

	mkdir -p "$sc"
	local pids=()
	ip netns exec st-s tcpdump -i st-vs -s 128 -U -w "$sc/server.pcap" 2>"$sc/.tcpdump-s.log" &
	pids+=($!)
	ip netns exec st-c tcpdump -i any -s 128 -U -w "$sc/client.pcap" 2>"$sc/.tcpdump-c.log" &
	pids+=($!)
	sleep 1.5
	ip netns exec st-s python3 traffic.py server "$sc" 2>"$sc/.server.log" &
	local srv=$!
	sleep 0.5
	ip netns exec st-c python3 traffic.py client "$sc" 2>&1 | sed "s/^/$sc client: /" >&2
	sleep 1
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	kill -INT "${pids[@]}"
	wait "${pids[@]}" || true
	sed "s/^/$sc server: /" "$sc/.server.log" >&2
	cat "$sc"/.tcpdump-*.log >&2
	rm -f "$sc"/.tcpdump-*.log "$sc/.server.log"
	cleanup
}

trap cleanup EXIT
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(zero-window keepalive rto loss reuse)
for sc in "${scenarios[@]}"; do
	record "$sc"
done
# A capture that lost packets itself (a full ring buffer, a slow disk):
# the loss scenario's server capture without a few of its frames.
if [ -f loss/server.pcap ]; then
	editcap loss/server.pcap loss/server-gaps.pcap 30 55 56 80 105 130 171
fi
uname -r >&2
