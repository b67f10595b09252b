#!/usr/bin/env bash
# tshark-analysis.sh: store Wireshark's per-frame TCP analysis of every
# committed capture, for the parity test (analyze/parity_test.go), which
# compares tcptimeline's flags with them frame by frame without tshark.
#
# Usage (from the repository root; installs tshark with apt-get if missing):
#
#   bash scripts/tshark-analysis.sh            # every capture under testdata/
#   bash scripts/tshark-analysis.sh FILE...    # only these captures
#
# For each capture testdata/PATH (*.pcap, *.pcapng, *.gz) it writes
# testdata/tshark/PATH.tsv: one line per TCP frame, tab-separated,
#
#   frame  analysis  dup_ack_num  dup_ack_frame  win  ack_rtt  bytes_in_flight
#
# frame is tshark's frame.number; analysis the tcp.analysis.* flags the
# frame carries, by their field names without the prefix, comma-separated
# in a fixed order, "-" for none; win is tcp.window_size (the scaled
# window); ack_rtt is tcp.analysis.ack_rtt in seconds; empty fields are
# "-". A capture tshark cannot read gets no file (and the test then expects
# tcptimeline to refuse it too, or to find no TCP in it).
#
# The preferences are given explicitly, so that a preferences file cannot
# change the result; they are tshark's defaults in 4.0:
#   tcp.analyze_sequence_numbers TRUE, tcp.relative_sequence_numbers TRUE,
#   tcp.track_bytes_in_flight TRUE, tcp.bif_seq_based FALSE,
#   tcp.calculate_timestamps TRUE, tcp.fastrt_supersedes_ooo TRUE,
#   tcp.default_window_scaling -1 (not known), tcp.check_checksum FALSE,
#   ip.check_checksum FALSE, and one pass (no -2), as the GUI does on open.
#
# The reference is Wireshark 4.0.17 (Debian 12); the script refuses another
# major.minor unless TSHARK_ANY_VERSION=1.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v tshark >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y tshark >/dev/null
fi
ver=$(tshark --version 2>/dev/null | head -1)
case "$ver" in
*" 4.0."*) ;;
*) if [ "${TSHARK_ANY_VERSION:-}" != 1 ]; then
	echo "tshark-analysis.sh: want Wireshark 4.0.x, have: $ver (TSHARK_ANY_VERSION=1 to go on)" >&2
	exit 2
fi ;;
esac

flags=(retransmission fast_retransmission spurious_retransmission out_of_order
	duplicate_ack lost_segment ack_lost_segment zero_window zero_window_probe
	zero_window_probe_ack window_full window_update keep_alive keep_alive_ack
	reused_ports tfo_syn tfo_ack tfo_ignored)
args=(-o tcp.analyze_sequence_numbers:TRUE -o tcp.relative_sequence_numbers:TRUE
	-o tcp.track_bytes_in_flight:TRUE -o tcp.bif_seq_based:FALSE
	-o tcp.calculate_timestamps:TRUE -o tcp.fastrt_supersedes_ooo:TRUE
	-o tcp.default_window_scaling:-1 -o tcp.check_checksum:FALSE
	-o ip.check_checksum:FALSE
	-Y tcp -T fields -E separator=/t -E occurrence=f -e frame.number)
for f in "${flags[@]}"; do args+=(-e "tcp.analysis.$f"); done
args+=(-e tcp.analysis.duplicate_ack_num -e tcp.analysis.duplicate_ack_frame
	-e tcp.window_size -e tcp.analysis.ack_rtt -e tcp.analysis.bytes_in_flight)

if [ $# -eq 0 ]; then
	mapfile -t files < <(find testdata -path testdata/tshark -prune -o -type f \
		\( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) -print | LC_ALL=C sort)
else
	files=("$@")
fi
names=$(IFS=,; echo "${flags[*]}")
for f in "${files[@]}"; do
	rel=${f#testdata/}
	out=testdata/tshark/$rel.tsv
	tmp=$(mktemp)
	# tshark exits non-zero on a file cut short, after printing the frames
	# before the cut: those are kept. A file it cannot open at all is skipped.
	tshark -r "$f" "${args[@]}" >"$tmp" 2>/dev/null || true
	if [ ! -s "$tmp" ] && ! tshark -r "$f" -c 1 >/dev/null 2>&1; then
		echo "skip $f (tshark cannot read it)"
		rm -f "$tmp" "$out"
		continue
	fi
	mkdir -p "$(dirname "$out")"
	awk -F'\t' -v names="$names" -v n="${#flags[@]}" '
		BEGIN { split(names, nm, ","); OFS = "\t"
			print "# frame", "analysis", "dup_ack_num", "dup_ack_frame", "win", "ack_rtt", "bytes_in_flight" }
		{
			a = ""
			for (i = 1; i <= n; i++) if ($(i + 1) != "") a = a (a == "" ? "" : ",") nm[i]
			if (a == "") a = "-"
			line = $1 OFS a
			for (i = n + 2; i <= n + 6; i++) line = line OFS ($i == "" ? "-" : $i)
			print line
		}' "$tmp" >"$out"
	rm -f "$tmp"
	echo "wrote $out ($(($(wc -l <"$out") - 1)) TCP frames)"
done
