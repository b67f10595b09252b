#!/usr/bin/env bash
# scripts/fuzz.sh: run every native Go fuzz target of tcptimeline, one
# after the other, each for a fixed time, and stop at the first failure.
#
# Usage (from anywhere in the repository):
#
#   bash scripts/fuzz.sh                      # every target, 10 minutes each
#   FUZZTIME=30s bash scripts/fuzz.sh         # shorter (any go test -fuzztime value)
#   bash scripts/fuzz.sh FuzzRun FuzzDecode   # only the targets named
#   FUZZPARALLEL=1 bash scripts/fuzz.sh       # fuzzing workers (default: GOMAXPROCS)
#   FUZZMINIMIZETIME=60s bash scripts/fuzz.sh # time to minimize each new input (default 10s)
#
# The minimizing time is lowered from go test's 60 s: every input that
# reaches new code is minimized before fuzzing goes on, and with seeds of
# several kilobytes (whole captures) that left FuzzRun minimizing most of
# the time.
#
# The targets and their properties are documented on the functions:
#
#   flowstate  FuzzFlowstate       flowstate/fuzz_test.go
#   analyze    FuzzRun             analyze/fuzz_test.go
#   analyze    FuzzCaptureReader   analyze/capture_test.go
#   analyze    FuzzDecode          analyze/decode_test.go
#   analyze    FuzzReassembly      analyze/reassembly_test.go
#   analyze    FuzzKernelText      analyze/kernelstats_test.go
#
# Every plain `go test` replays each target's seeds and the inputs
# committed under <package>/testdata/fuzz/<Target>/; what fuzzing found
# interesting is kept in Go's cache ($(go env GOCACHE)/fuzz), so a later run
# goes on from there.
#
# On a failure the script prints the target, the test's output, and the
# file go test wrote the failing input to
# (<package>/testdata/fuzz/<Target>/<hash>), with the command that replays
# it, and exits 1. Commit such a file only together with the fix, so that
# `go test` keeps replaying it. Exit 0 when every target ran its time
# without failing; 2 on a usage error.
set -euo pipefail

cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10m}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-10s}

# package and target, in the order they run.
TARGETS=(
	"./flowstate FuzzFlowstate"
	"./analyze FuzzRun"
	"./analyze FuzzCaptureReader"
	"./analyze FuzzDecode"
	"./analyze FuzzReassembly"
	"./analyze FuzzKernelText"
)

want=("$@")
selected=()
for t in "${TARGETS[@]}"; do
	name=${t#* }
	if ((${#want[@]} == 0)); then
		selected+=("$t")
		continue
	fi
	for w in "${want[@]}"; do
		if [[ $w == "$name" ]]; then
			selected+=("$t")
		fi
	done
done
if ((${#want[@]} > 0 && ${#selected[@]} != ${#want[@]})); then
	echo "fuzz.sh: unknown target among: ${want[*]}" >&2
	echo "targets: $(for t in "${TARGETS[@]}"; do printf '%s ' "${t#* }"; done)" >&2
	exit 2
fi

par=()
if [[ -n ${FUZZPARALLEL:-} ]]; then
	par=(-parallel "$FUZZPARALLEL")
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "${selected[@]}"; do
	pkg=${t% *}
	name=${t#* }
	echo "== $name ($pkg) for $FUZZTIME, started $(date -u +%H:%M:%SZ)"
	start=$(date +%s)
	if go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "${par[@]}" >"$log" 2>&1; then
		tail -n 3 "$log"
		echo "== $name: no failure in $(($(date +%s) - start)) s"
		continue
	fi
	cat "$log"
	echo
	echo "== $name FAILED after $(($(date +%s) - start)) s"
	written=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | tail -n 1)
	if [[ -n $written ]]; then
		dir=${pkg#./}
		echo "crasher: $dir/$written"
		echo "replay:  go test $pkg -run '^$name/${written##*/}\$' -v"
	elif tail -n 6 "$log" | grep -q '^    context deadline exceeded$'; then
		# Go's fuzz coordinator can report its own -fuzztime deadline as a
		# failure, with no input at fault (golang/go#75804, fixed in Go
		# 1.27; seen here once on go1.26.8, FuzzKernelText, and gone on the
		# rerun).
		echo "no crasher was written: Go's fuzz coordinator reported its own deadline (golang/go#75804, fixed in Go 1.27), not an input; run the target again"
	else
		echo "no crasher was written (a build error, or the fuzzing engine itself failed): see the output above"
	fi
	exit 1
done
echo "== all ${#selected[@]} targets ran $FUZZTIME each without failing"
