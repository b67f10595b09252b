#!/usr/bin/env bash
# hostile.sh: measure tcptimeline on the hostile shapes of the hardening
# issue, made by cmd/capgen -shape (none is kept in the repository):
#
#   servers-20k   one SYN to each of 20,000 servers, again 2,000,000 s later
#   servers-60k   the same with 60,000 servers
#   flow-5m       one flow of 5,000,000 packets (ladder --flow 1)
#   labelled-200k a labelled flow of 200,000 packets (report -o x.html)
#
# Usage: bash scripts/hostile.sh [--bin OLD_BINARY] [--work DIR]
# With --bin, that binary is measured instead of one built from the tree
# (to compare with an older commit). Wall time, CPU time and peak RSS come
# from /usr/bin/time; the targets are under 10 s and under 256 MiB each.
set -euo pipefail
work=${WORK:-/tmp/tcptimeline-hostile}
bin=""
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	-h|--help) sed -n 2,15p "$0"; exit 0 ;;
	*) echo "hostile.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
(cd "$root" && go build -o "$work/capgen" ./cmd/capgen)
if [ -z "$bin" ]; then
	(cd "$root" && go build -o "$work/tcptimeline" ./cmd/tcptimeline)
	bin=$work/tcptimeline
fi
gen() { [ -f "$work/$1.pcap" ] || "$work/capgen" -q "${@:2}" -o "$work/$1.pcap"; }
gen servers-20k -shape servers -servers 20000 -gap 2000000
gen servers-60k -shape servers -servers 60000 -gap 2000000
gen flow-5m -shape long-flow -packets 5000000
gen labelled-200k -shape labelled-flow -packets 200000

measure() {
	local label=$1; shift
	local t; t=$(mktemp)
	local rc=0
	/usr/bin/time -f '%e %U %S %M' -o "$t" timeout 900 "$bin" "$@" >"$work/out" 2>/dev/null || rc=$?
	read -r wall user sys rss <"$t"
	printf '%-34s exit %3d  %7.2f s wall  %7.2f s cpu  %8.1f MiB  output %s bytes\n' "$label" "$rc" "$wall" \
		"$(echo "$user + $sys" | bc)" "$(echo "$rss / 1024" | bc -l)" "$(stat -c %s "$work/out")"
	rm -f "$t"
}
for shape in servers-20k servers-60k; do
	for cmd in summary timeline chart report; do
		measure "$cmd $shape" "$cmd" -q "$work/$shape.pcap"
	done
done
measure "ladder --flow 1 flow-5m" ladder -q --flow 1 "$work/flow-5m.pcap"
measure "report -o x.html labelled-200k" report -q "$work/labelled-200k.pcap" -o "$work/out.html"
echo "report labelled-200k HTML: $(stat -c %s "$work/out.html") bytes"
