#!/bin/bash
# make.sh: rebuild server.pcap, a capture that spans more than a day, from
# three recorded lab captures (testdata/lab, Linux 6.18.44) retimed with
# editcap and merged with mergecap:
#
#   lab/ghost/server.pcap      as recorded: the run's first packet
#   lab/healthy/server.pcap    moved to start 1 h 2 min 3 s after it
#   lab/keepalive/server.pcap  moved to start 1 d 2 h 3 min 4 s after it
#
# Packets and their spacing inside each part are as the kernel sent them;
# only the gaps between the parts are made up. The three share the
# listener 10.77.0.1:8000 and the client ports 41001.., so later parts
# reuse the four-tuples of earlier ones, as a long capture does.
#
# Usage: bash testdata/long/make.sh   (needs editcap, mergecap, capinfos)
set -euo pipefail
cd "$(dirname "$0")"
LAB=../lab

first() { capinfos -a -S -T -r "$1" | awk -F'\t' '{print $2}'; }

base=$(first "$LAB/ghost/server.pcap")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shift_to() { # in out seconds-after-base
	local start
	start=$(first "$1")
	editcap -F pcap -t "$(python3 -c "print(f'{$base + $3 - $start:.6f}')")" "$1" "$2"
}

shift_to "$LAB/healthy/server.pcap" "$tmp/healthy.pcap" 3723       # 1 h 2 min 3 s
shift_to "$LAB/keepalive/server.pcap" "$tmp/keepalive.pcap" 93784   # 1 d 2 h 3 min 4 s
mergecap -F pcap -w server.pcap "$LAB/ghost/server.pcap" "$tmp/healthy.pcap" "$tmp/keepalive.pcap"
capinfos -c -a -e server.pcap
