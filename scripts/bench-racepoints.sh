#!/usr/bin/env bash
# bench-racepoints.sh: race-directed exploration (WEFT_RACE=report's
# learnt race points) against the granularities, on
# tests/weftcc/racepoints.c; run by `make bench` after bench-weftcc.sh.
#
#   bash scripts/bench-racepoints.sh [BUILD]     (BUILD: default build)
#
# Needs `make weft-cc` in BUILD. Two tables, snapshot mode:
#   1. per scenario (counter, publish, busy) and strategy (random, pct):
#      executions to the race's consequence (the failed assertion), mean
#      over seeds 1..SEEDS, and in how many seeds it was found within CAP
#      executions, for
#        default  granularity atomics, WEFT_RACE=fail (the default): the
#                 race is the finding; the consequence is never reached
#        points   granularity atomics, WEFT_RACE=report: race points
#        memory   granularity memory, WEFT_RACE=report
#   2. microseconds per execution of `busy` (512 plain accesses to
#      globals per execution) over RATE_N executions, the assertion off:
#      atomics with the race detector off, atomics with it on and no race
#      (the increment under a mutex), points (report mode, 2 points
#      learnt), memory.
# Wall times from outside the process (bash's $EPOCHREALTIME): table 2's
# figures include one process start. Figures go to
# $WEFT_BENCH_DIR/bench_racepoints.json when that is set.
# Knobs: BENCH_RP_SEEDS (10), BENCH_RP_CAP (2000), BENCH_RP_RATE_N (5000).
# Exit status: 0, or 1 if the program does not build or a run errs.
set -u
export LC_ALL=C
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 1
root=$(dirname -- "$here")
cd "$root" || exit 1
BUILD=${1:-${BUILD:-build}}
case $BUILD in
/*) build_abs=$BUILD ;;
*) build_abs=$root/$BUILD ;;
esac
SEEDS=${BENCH_RP_SEEDS:-10}
CAP=${BENCH_RP_CAP:-2000}
RATE_N=${BENCH_RP_RATE_N:-5000}
bench_dir=${WEFT_BENCH_DIR:-}
for v in $(env | sed -n 's/^\(WEFT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
out=$build_abs/bench-weftcc
mkdir -p "$out" || exit 1
prog=$out/racepoints
if ! WEFT_CC_LIBDIR=$build_abs/cc sh scripts/weft-cc -O1 -o "$prog" \
	tests/weftcc/racepoints.c >"$out/racepoints.log" 2>&1; then
	echo "bench-racepoints: the program does not build:" >&2
	cat "$out/racepoints.log" >&2
	exit 1
fi
status=0
json=()

now() {
	local t=$EPOCHREALTIME
	NOW=$((${t%.*} * 1000000 + 10#${t#*.}))
}

echo "race points: executions to the consequence (mean over seeds 1..$SEEDS; found/seeds within $CAP)"
printf '%-9s %-7s %16s %16s %16s\n' scenario strategy default points memory
for sc in counter publish busy; do
	for st in random pct; do
		line=$(printf '%-9s %-7s' "$sc" "$st")
		for mode in default points memory; do
			case $mode in
			default) env=() ;;
			points) env=(WEFT_RACE=report) ;;
			memory) env=(WEFT_RACE=report WEFT_GRANULARITY=memory) ;;
			esac
			sum=0 found=0
			for ((s = 1; s <= SEEDS; s++)); do
				o=$(env "${env[@]}" WEFT_STRATEGY=$st WEFT_SEED=$s \
					WEFT_ITERATIONS="$CAP" "$prog" "$sc" 2>&1)
				rc=$?
				if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
					echo "bench-racepoints: $sc $st $mode seed $s: status $rc" >&2
					status=1
				fi
				case $o in
				*"Assertion"*)
					k=$(sed -n 's/^weft: FAILED at execution \([0-9]*\) .*/\1/p' <<<"$o" | head -1)
					if [ -n "$k" ]; then
						sum=$((sum + k))
						found=$((found + 1))
					fi
					;;
				esac
			done
			if [ $found -gt 0 ]; then
				mean=$(awk -v a=$sum -v b=$found 'BEGIN { printf "%.1f", a / b }')
				cell="$mean ($found/$SEEDS)"
			else
				mean=null
				cell="never (0/$SEEDS)"
			fi
			line+=$(printf ' %16s' "$cell")
			json+=("{\"table\": \"executions\", \"scenario\": \"$sc\", \"strategy\": \"$st\", \"mode\": \"$mode\", \"mean_executions\": $mean, \"found\": $found, \"seeds\": $SEEDS}")
		done
		echo "$line"
	done
done

echo
echo "race points: microseconds per execution of busy ($RATE_N executions, assertion off)"
rate() { # label arg env...
	local label=$1 arg=$2
	shift 2
	now
	local t0=$NOW
	env "$@" WEFT_SEED=1 WEFT_ITERATIONS="$RATE_N" "$prog" busy "$arg" \
		>/dev/null 2>"$out/racepoints.err"
	local rc=$?
	now
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		echo "bench-racepoints: $label: status $rc" >&2
		cat "$out/racepoints.err" >&2
		status=1
	fi
	local us
	us=$(awk -v d=$((NOW - t0)) -v n="$RATE_N" 'BEGIN { printf "%.2f", d / n }')
	printf '%-44s %10s us\n' "$label" "$us"
	json+=("{\"table\": \"rate\", \"mode\": \"$label\", \"us_per_execution\": $us}")
}
rate "atomics, WEFT_RACE=off" quiet WEFT_RACE=off
rate "atomics, WEFT_RACE=report, no race (locked)" locked WEFT_RACE=report
rate "points (atomics, WEFT_RACE=report)" quiet WEFT_RACE=report
rate "memory (WEFT_RACE=report)" quiet WEFT_RACE=report WEFT_GRANULARITY=memory

if [ -n "$bench_dir" ]; then
	{
		echo '{"bench": "racepoints", "results": ['
		for ((i = 0; i < ${#json[@]}; i++)); do
			printf '  %s%s\n' "${json[$i]}" "$([ $i -lt $((${#json[@]} - 1)) ] && echo ,)"
		done
		echo ']}'
	} >"$bench_dir/bench_racepoints.json"
fi
exit $status
