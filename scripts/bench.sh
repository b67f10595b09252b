#!/usr/bin/env bash
# bench.sh: measure tcptimeline's speed and peak memory on large synthetic
# captures, against a bare decoding loop (cmd/synloop) and against tshark.
#
# Usage (from the repository root):
#
#   bash scripts/bench.sh [options] [pg-medium] [pg-large] [medium] [large] [flood]
#
# With no capture named, all five are run (the pg- ones only when pcapgen
# is found). The captures are made with seed 1 and kept for later runs:
#
#   pg-medium  pcapgen -conns 200000    about 2.3 M packets, 914 MB
#   pg-large   pcapgen -conns 1000000   about 11.5 M packets, 4.5 GB
#              the captures the scale issue states its targets on, made
#              by the measuring tool beside the repository
#              (../shared/tools/pcapgen, or --pcapgen DIR); it is not
#              part of the project
#   medium     capgen -conns 200000                 about 2.2 M packets, 230 MB
#   large      capgen -conns 1000000                about 11 M packets, 1.2 GB
#   flood      capgen -conns 200000 -flood 1000000  a million half-open
#                                                   flows live at once
#              made by the project's own generator (cmd/capgen): the same
#              kind of traffic with smaller packets (about 105 bytes a
#              record against pcapgen's 395), so the bare loop reads more
#              packets a second on them and the ratio to it is harder
#
# Options (each also settable through the environment variable named):
#
#   --work DIR          work directory for binaries, captures and results
#                       (BENCH_DIR, default /tmp/tcptimeline-bench)
#   --no-tshark-large   skip tshark on the large files (NO_TSHARK_LARGE=1):
#                       it takes minutes there and about 7 GiB of memory
#   --no-tshark         skip tshark everywhere (NO_TSHARK=1)
#   --regen             write the captures again even if they exist
#   --pcapgen DIR       pcapgen's source directory (PCAPGEN_DIR, default
#                       ../shared/tools/pcapgen beside the repository)
#
# For each file it runs, timing wall clock and peak RSS with
# /usr/bin/time -f '%e %M', after one untimed read to warm the page cache:
#
#   tcptimeline summary FILE > /dev/null
#   synloop FILE                                  (the bare baseline)
#   tshark -q -z conv,tcp -r FILE
#   tshark -T fields -e tcp.analysis.flags -r FILE
#
# If this tcptimeline has no summary command yet, it times `tcptimeline
# timeline` instead and says so, in the table too; if it has neither, it
# measures only synloop and tshark.
#
# It prints the machine, a table (file, packets, tool, seconds, packets/s,
# peak RSS MiB) and the targets of the scale issue, which are ratios
# measured in the same run, so they hold across machines:
#
#   tshark conv time / tcptimeline time     >= 15
#   tshark fields time / tcptimeline time   >= 40
#   tcptimeline time / synloop time         <= 2
#   tcptimeline peak RSS                    < 256 MiB on large and pg-large,
#                                           < 512 MiB on flood
#
# The flood has only the memory target: its speed ratios are printed as
# information.
#
# One run per tool: rerun to see the noise. The table is also written to
# WORK/results.txt. tshark and GNU time are installed with apt-get when
# missing (needs root). Exit status: 0 when everything ran (whether or not
# the targets were met), 1 when a build or a generation failed, 2 on a usage
# error.
set -euo pipefail

work=${BENCH_DIR:-/tmp/tcptimeline-bench}
no_tshark_large=${NO_TSHARK_LARGE:-0}
no_tshark=${NO_TSHARK:-0}
pcapgen_dir=${PCAPGEN_DIR:-}
regen=0
sizes=()
while (($#)); do
	case $1 in
	--work) work=${2:?--work needs a directory}; shift ;;
	--work=*) work=${1#--work=} ;;
	--no-tshark-large) no_tshark_large=1 ;;
	--no-tshark) no_tshark=1 ;;
	--regen) regen=1 ;;
	--pcapgen) pcapgen_dir=${2:?--pcapgen needs a directory}; shift ;;
	--pcapgen=*) pcapgen_dir=${1#--pcapgen=} ;;
	pg-medium | pg-large | medium | large | flood) sizes+=("$1") ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
root=$(cd "$(dirname "$0")/.." && pwd)
[[ -n $pcapgen_dir ]] || pcapgen_dir=$root/../shared/tools/pcapgen
have_pcapgen=0
[[ -f $pcapgen_dir/main.go ]] && have_pcapgen=1
if ((!${#sizes[@]})); then
	sizes=(medium large flood)
	((have_pcapgen)) && sizes=(pg-medium pg-large "${sizes[@]}")
fi
bin=$work/bin
mkdir -p "$bin"

say() { printf '%s\n' "$*" >&2; }

# Tools.
need_apt_update=1
apt_install() {
	if ((need_apt_update)); then
		apt-get update -qq >/dev/null
		need_apt_update=0
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if [[ ! -x /usr/bin/time ]]; then
	say "installing GNU time"
	apt_install time
fi
if ((!no_tshark)) && ! command -v tshark >/dev/null; then
	say "installing tshark"
	apt_install tshark
fi

say "building tcptimeline, capgen and synloop into $bin"
(cd "$root" && go build -o "$bin/tcptimeline" ./cmd/tcptimeline &&
	go build -o "$bin/capgen" ./cmd/capgen &&
	go build -o "$bin/synloop" ./cmd/synloop) || { say "bench.sh: build failed"; exit 1; }
for size in "${sizes[@]}"; do
	if [[ $size == pg-* ]]; then
		if ((!have_pcapgen)); then
			say "bench.sh: $size needs pcapgen, not found in $pcapgen_dir (--pcapgen DIR)"
			exit 1
		fi
		say "building pcapgen from $pcapgen_dir"
		(cd "$pcapgen_dir" && go build -o "$bin/pcapgen" .) || { say "bench.sh: pcapgen build failed"; exit 1; }
		break
	fi
done

# Which tcptimeline command to time.
tt_cmd=()
tt_label=
if "$bin/tcptimeline" summary --help >/dev/null 2>&1; then
	tt_cmd=("$bin/tcptimeline" summary)
	tt_label="tcptimeline summary"
elif "$bin/tcptimeline" timeline --help >/dev/null 2>&1; then
	tt_cmd=("$bin/tcptimeline" timeline)
	tt_label="tcptimeline timeline"
	say "NOTE: this tcptimeline has no 'summary' command yet: timing 'tcptimeline timeline' instead"
else
	say "NOTE: this tcptimeline has neither 'summary' nor 'timeline': measuring synloop and tshark only"
fi

# gen_args SIZE: the generator and its arguments for a capture.
gen_args() {
	case $1 in
	pg-medium) echo "pcapgen -conns 200000 -seed 1" ;;
	pg-large) echo "pcapgen -conns 1000000 -seed 1" ;;
	medium) echo "capgen -conns 200000 -seed 1" ;;
	large) echo "capgen -conns 1000000 -seed 1" ;;
	flood) echo "capgen -conns 200000 -flood 1000000 -seed 1" ;;
	esac
}

# measure SIZE TOOL CMD...: runs CMD with stdout to /dev/null and records
# seconds and peak RSS (KiB) in secs[SIZE/TOOL] and rss[SIZE/TOOL].
declare -A secs rss
tools_run=()
measure() {
	local size=$1 tool=$2
	shift 2
	say "  $tool"
	local out=$work/time.out err=$work/stderr.out rc=0
	/usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>"$err" || rc=$?
	if ((rc != 0)); then
		say "    failed with exit status $rc; last lines of its stderr:"
		tail -n 5 "$err" | sed 's/^/    /' >&2
		secs[$size/$tool]=failed
		rss[$size/$tool]=-
	else
		local s m
		read -r s m <"$out"
		secs[$size/$tool]=$s
		rss[$size/$tool]=$m
	fi
	tools_run+=("$size/$tool")
}

declare -A packets
for size in "${sizes[@]}"; do
	file=$work/$size.pcap
	args=$(gen_args "$size")
	if ((regen)) || [[ ! -s $file ]] || [[ $(cat "$file.args" 2>/dev/null) != "$args" ]]; then
		say "generating $file ($args)"
		read -ra gen <<<"$args"
		"$bin/${gen[0]}" "${gen[@]:1}" -o "$file.tmp" || { say "bench.sh: ${gen[0]} failed"; exit 1; }
		mv "$file.tmp" "$file"
		echo "$args" >"$file.args"
	else
		say "reusing $file ($args; --regen to write it again)"
	fi
	say "$size: warming the page cache"
	packets[$size]=$("$bin/synloop" "$file" | awk '{print $2}')

	if ((${#tt_cmd[@]})); then
		measure "$size" "$tt_label" "${tt_cmd[@]}" "$file"
	fi
	measure "$size" synloop "$bin/synloop" "$file"
	if ((no_tshark)) || { [[ $size == *large ]] && ((no_tshark_large)); }; then
		say "  tshark skipped"
	else
		measure "$size" "tshark conv" tshark -q -z conv,tcp -r "$file"
		measure "$size" "tshark fields" tshark -T fields -e tcp.analysis.flags -r "$file"
	fi
done

# ratio SIZE LABEL NUM DEN OP TARGET: prints NUM/DEN against the target;
# with OP "info", only the ratio.
ratio() {
	local size=$1 label=$2 num=$3 den=$4
	if [[ -z $num || -z $den || $num == failed || $den == failed ]]; then
		printf '  %-9s %-44s %8s\n' "$size" "$label" n/a
		return
	fi
	awk -v l="$label" -v f="$size" -v a="$num" -v b="$den" -v op="$5" -v g="$6" 'BEGIN {
		if (b <= 0) b = 0.005 # /usr/bin/time has 10 ms resolution
		r = a / b
		if (op == "info") {
			printf "  %-9s %-44s %8.2f  (no target)\n", f, l, r
			exit
		}
		ok = (op == ">=") ? r >= g : r <= g
		printf "  %-9s %-44s %8.2f  target %s %s  %s\n", f, l, r, op, g, ok ? "met" : "NOT MET"
	}'
}

# Report.
report() {
	echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)," \
		"$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) memory," \
		"kernel $(uname -r), $(go version | awk '{print $3}')"
	if command -v tshark >/dev/null; then
		echo "tshark: $(tshark --version 2>/dev/null | head -n 1)"
	fi
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), work directory $work"
	echo
	printf '%-9s %10s  %-22s %9s %12s %9s\n' file packets tool seconds packets/s "RSS MiB"
	local key size tool s m
	for key in "${tools_run[@]}"; do
		size=${key%%/*}
		tool=${key#*/}
		s=${secs[$key]}
		m=${rss[$key]}
		if [[ $s == failed ]]; then
			printf '%-9s %10s  %-22s %9s %12s %9s\n' "$size" "${packets[$size]}" "$tool" failed - -
		else
			awk -v f="$size" -v n="${packets[$size]}" -v t="$tool" -v s="$s" -v m="$m" 'BEGIN {
				pps = s > 0 ? sprintf("%.0f", n / s) : "-"
				printf "%-9s %10d  %-22s %9.2f %12s %9.1f\n", f, n, t, s, pps, m / 1024
			}'
		fi
	done
	echo
	echo "targets (ratios from this run; the scale issue states them on pcapgen's"
	echo "captures, pg-medium and pg-large; the flood has a memory target only):"
	for size in "${sizes[@]}"; do
		local tt=${secs[$size/$tt_label]:-}
		if [[ -z $tt_label || -z $tt || $tt == failed ]]; then
			echo "  $size: no tcptimeline figure"
			continue
		fi
		local conv=">=" fields=">=" loop="<="
		[[ $size == flood ]] && conv=info fields=info loop=info
		ratio "$size" "tshark conv / $tt_label" "${secs[$size/tshark conv]:-}" "$tt" $conv 15
		ratio "$size" "tshark fields / $tt_label" "${secs[$size/tshark fields]:-}" "$tt" $fields 40
		ratio "$size" "$tt_label / synloop" "$tt" "${secs[$size/synloop]:-}" $loop 2
		local limit=
		case $size in
		large | pg-large) limit=256 ;;
		flood) limit=512 ;;
		esac
		awk -v f="$size" -v l="$tt_label peak RSS MiB" -v m="${rss[$size/$tt_label]}" -v g="$limit" 'BEGIN {
			if (g == "") printf "  %-9s %-44s %8.1f  (no target)\n", f, l, m / 1024
			else printf "  %-9s %-44s %8.1f  target < %s  %s\n", f, l, m / 1024, g, m / 1024 < g ? "met" : "NOT MET"
		}'
	done
	if [[ $tt_label == "tcptimeline timeline" ]]; then
		echo "  (timed 'timeline': this tcptimeline has no 'summary' command yet)"
	fi
}
report | tee "$work/results.txt"
