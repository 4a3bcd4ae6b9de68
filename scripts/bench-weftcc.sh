#!/usr/bin/env bash
# bench-weftcc.sh: weft-cc benchmarks, run by `make bench` after the C
# benchmarks (tests/bench_*.c).
#
#   bash scripts/bench-weftcc.sh [BUILD]      (BUILD: default build)
#
# Needs `make weft-cc` in BUILD first (the Makefile's bench target does
# it). Builds what it runs into BUILD/bench-weftcc/ and prints three
# tables:
#   1. isolated executions per second of a small program (a corpus twin)
#      and of an empty one (and in-process), beside a bare
#      fork+_exit+waitpid loop (tests/bench-weftcc/forkloop.c), with the
#      minor page faults per execution when /usr/bin/time is there;
#   2. per program of tests/corpus/*.c (globbed when it starts: the corpus
#      grows) and per strategy (random and pct isolated, dfs in-process):
#      executions to the first finding and wall time to it, median over
#      seeds, beside the program built with plain cc and run with real
#      threads;
#   3. the cost of one memory access to the stack and to a global
#      (tests/bench-weftcc/access.c), plain cc and weft-cc, and with
#      WEFT_RACE=off and WEFT_GRANULARITY=memory when weft accepts them.
# Figures also go to $WEFT_BENCH_DIR/bench_weftcc.json when that is set.
# Wall times are taken from outside the process (bash's $EPOCHREALTIME).
#
# Exit status: 0, or 1 when something that must work did not: weft-cc
# not built, a tool program failed to build or run, weft rejected the
# configuration, the small twin reported a finding, an access run failed.
# A corpus program that does not build (the corpus is being added to) is
# reported and skipped; whatever weft finds or misses is a figure, not a
# failure.
#
# Time: 3-3.5 minutes on 2 cores. Table 2 gets what is left of
# BENCH_WEFTCC_BUDGET (210 s) after table 1 and the corpus builds, less
# 30 s kept for table 3, shared equally among the corpus programs. In a
# program's share, seed 1 of each strategy always runs, later seeds until
# 40% of the share is spent (each weft run stops at WEFT_TIME_BUDGET = what
# is left of that 40%), plain runs while the share lasts (10 at least,
# unless one hung or table 2's time is up). What is dropped is marked in
# the table and summed up in the notes at the end.
#
# Knobs (environment): BENCH_WEFTCC_BUDGET (210 s), BENCH_WEFTCC_SEEDS
# (5), BENCH_WEFTCC_CAP (2000 executions), BENCH_WEFTCC_NATIVE_RUNS (200),
# BENCH_WEFTCC_NATIVE_TIMEOUT (5 s per plain run), BENCH_WEFTCC_REPS (3
# rounds, table 1), BENCH_WEFTCC_RATE_BUDGET (2 s per weft run, table 1).
# Every WEFT_* variable of the caller is unset (weft's defaults are what
# is measured) except WEFT_BENCH_DIR.
set -u
export LC_ALL=C

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 1
root=$(dirname -- "$here")
self=$here/$(basename -- "$0")
cd "$root" || exit 1

BUILD=${1:-${BUILD:-build}}
case $BUILD in
/*) build_abs=$BUILD ;;
*) build_abs=$root/$BUILD ;;
esac
OUT=$build_abs/bench-weftcc

SEEDS=${BENCH_WEFTCC_SEEDS:-5}
CAP=${BENCH_WEFTCC_CAP:-2000}
NATIVE_RUNS=${BENCH_WEFTCC_NATIVE_RUNS:-200}
NATIVE_TIMEOUT=${BENCH_WEFTCC_NATIVE_TIMEOUT:-5}
NATIVE_MIN=10 # plain runs per program, whatever the budget (unless one hangs)
TOTAL_BUDGET=${BENCH_WEFTCC_BUDGET:-210}
TABLE3_RESERVE=30
REPS=${BENCH_WEFTCC_REPS:-3}
WEFT_RUN_TIMEOUT=120 # seconds: a weft run that takes longer is an error

bench_dir=${WEFT_BENCH_DIR:-}
for v in $(env | sed -n 's/^\(WEFT_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done

status=0
notes=()
json=()

fail() {
	echo "bench-weftcc: $*" >&2
	status=1
}

# ------------------------------------------------------------ helpers

# now: NOW = wall clock in microseconds (integer).
now() {
	local t=$EPOCHREALTIME
	NOW=$((${t%.*} * 1000000 + 10#${t#*.}))
}

# fmt_time US: microseconds for people: "4.2 ms", "12 ms", "1.52 s".
fmt_time() {
	awk -v us="$1" 'BEGIN {
		if (us >= 10000000) printf "%.1f s", us / 1e6
		else if (us >= 1000000) printf "%.2f s", us / 1e6
		else if (us >= 10000) printf "%.0f ms", us / 1e3
		else printf "%.1f ms", us / 1e3 }'
}

# lmedian X...: the (lower) median of integers.
lmedian() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 }
		END { if (NR) print a[int((NR + 1) / 2)] }'
}

minof() { printf '%s\n' "$@" | sort -n | head -n 1; }
maxof() { printf '%s\n' "$@" | sort -n | tail -n 1; }

jstr() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# split_vars VAR=value... -- REST...: VARS=(the settings), REST=(the rest).
split_vars() {
	VARS=()
	while [ "$1" != -- ]; do
		VARS+=("$1")
		shift
	done
	shift
	REST=("$@")
}

# run_timed OUTFILE ERRFILE TIMEOUT VAR=value... -- PROGRAM ARGS...: runs
# PROGRAM under `timeout` with the variables set; RC = its exit status,
# US = its wall time in microseconds.
run_timed() {
	local out=$1 err=$2 to=$3 t0
	shift 3
	split_vars "$@"
	local vars=("${VARS[@]}")
	set -- "${REST[@]}"
	now
	t0=$NOW
	{ timeout -k 5 "$to" env "${vars[@]}" "$@"; } >"$out" 2>"$err"
	RC=$?
	now
	US=$((NOW - t0))
}

now
script_t0=$NOW

# ------------------------------------------------------------- set-up

libdir=$build_abs/cc
if [ ! -f "$libdir/weftcc.o" ] || [ ! -f "$libdir/libweft-cc.a" ]; then
	echo "bench-weftcc: $libdir/weftcc.o or libweft-cc.a is missing: run 'make BUILD=$BUILD weft-cc' first" >&2
	exit 1
fi
export WEFT_CC_LIBDIR=$libdir
WEFTCC=$root/scripts/weft-cc
# Plain builds use the compiler weft-cc uses (that build's CC).
WEFT_CC_DEFAULT=cc
# shellcheck disable=SC1091
[ -f "$libdir/config" ] && . "$libdir/config"
PLAIN_CC=${WEFT_CC_DEFAULT:-cc}
time_bin=
if [ -x /usr/bin/time ] && /usr/bin/time -f %R -o /dev/null true 2>/dev/null; then
	time_bin=/usr/bin/time
fi

mkdir -p "$OUT/corpus" || exit 1
src_dir=$root/tests/bench-weftcc

# fresh BINARY SOURCE: BINARY is newer than SOURCE, the compilers'
# inputs (weft-cc and its objects) and this script: no need to rebuild.
fresh() {
	local f
	[ -x "$1" ] || return 1
	for f in "$2" "$WEFTCC" "$libdir/weftcc.o" "$libdir/libweft-cc.a" "$self"; do
		[ "$1" -nt "$f" ] || return 1
	done
}

build_tool() { # NAME COMPILER ARGS... SOURCE: log in $OUT/NAME.build.log
	local name=$1
	shift
	fresh "$OUT/$name" "${*: -1}" && return 0
	if ! "$@" >"$OUT/$name.build.log" 2>&1; then
		cat "$OUT/$name.build.log" >&2
		fail "could not build $name ($*)"
		return 1
	fi
}

build_tool forkloop "$PLAIN_CC" -O1 -o "$OUT/forkloop" "$src_dir/forkloop.c"
build_tool access-plain "$PLAIN_CC" -O1 -o "$OUT/access-plain" \
	"$src_dir/access.c"
build_tool access-weft "$WEFTCC" -O1 -o "$OUT/access-weft" \
	"$src_dir/access.c"
small_name=abba
small_src=$root/tests/corpus/$small_name.c
if [ ! -f "$small_src" ]; then
	for small_src in "$root"/tests/corpus/*.c; do break; done
	small_name=$(basename "$small_src" .c)
fi
build_tool "$small_name-twin" "$WEFTCC" -O1 -DFIXED \
	-o "$OUT/$small_name-twin" "$small_src"
if [ "$status" -ne 0 ]; then
	echo "bench-weftcc: tool programs did not build; stopping" >&2
	exit 1
fi

weft_version=$(sed -n 's/^#define WEFT_VERSION "\(.*\)"$/\1/p' include/weft.h)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
echo "weft-cc benchmarks: weft $weft_version, $(nproc) CPUs (${cpu:-?}), load average $load0; compiler $PLAIN_CC"
if awk -v l="${load0%% *}" -v n="$(nproc)" 'BEGIN { exit !(l + 0 > n * 0.75) }'; then
	echo "note: the machine is busy (load average ${load0%% *} on $(nproc) CPUs): times are inflated and noisy"
	notes+=("the machine was busy at the start (load average $load0 on $(nproc) CPUs): times are inflated and noisy")
fi

# ================================================ 1. isolated executions

# Each row is one program doing many executions (or forks), timed from
# outside, less the same program doing 0 forks (forkloop) or 1 execution
# (weft), so that starting the process is not counted. The rows are
# measured in rounds (row 1, row 2, ..., then again), so that a change in
# the machine's load hits every row alike; per row, the median and the
# best round. A weft run stops at WEFT_ITERATIONS=$CAP or after
# WEFT_TIME_BUDGET=$RATE_BUDGET s, and says how many executions it ran.
RATE_BUDGET=${BENCH_WEFTCC_RATE_BUDGET:-2}
NF=300
inproc_n=$((CAP * 100))
r_label=("bare fork+_exit+waitpid (forkloop $NF)"
	"bare fork, child dirties 64 pages (forkloop $NF 64)"
	"weft-cc isolated, empty main (access global 0)"
	"weft-cc isolated, $small_name -DFIXED"
	"weft-cc in-process, empty main (WEFT_ISOLATE=0)")
r_name=(fork_bare fork_64_pages weftcc_isolated_empty weftcc_isolated_small
	weftcc_inprocess_empty)
r_times=("" "" "" "" "")
r_faults=("" "" "" "" "")
r_bad=(0 0 0 0 0)

# rate_one N VAR=value... -- PROGRAM ARGS: one timed run (under
# /usr/bin/time when there is one). RC, US; N_RAN = executions weft says
# it ran (else N); FAULTS = minor faults (or "").
rate_one() {
	local n=$1
	shift
	split_vars "$@"
	local vars=("${VARS[@]}")
	set -- "${REST[@]}"
	rm -f "$OUT/rate.faults"
	if [ -n "$time_bin" ]; then
		run_timed "$OUT/rate.out" "$OUT/rate.err" "$WEFT_RUN_TIMEOUT" \
			"${vars[@]}" -- "$time_bin" -f %R -o "$OUT/rate.faults" "$@"
	else
		run_timed "$OUT/rate.out" "$OUT/rate.err" "$WEFT_RUN_TIMEOUT" \
			"${vars[@]}" -- "$@"
	fi
	N_RAN=$n
	if [ "${#vars[@]}" -gt 0 ]; then # a weft run: how many it ran
		N_RAN=$(sed -n 's/^weft: OK: \([0-9]*\) executions, no finding.*/\1/p' "$OUT/rate.err" | tail -n 1)
	fi
	FAULTS=$(tail -n 1 "$OUT/rate.faults" 2>/dev/null)
	case $FAULTS in '' | *[!0-9]*) FAULTS= ;; esac
}

# rate_run ROW: one round of row ROW; appends microseconds per execution
# to r_times[ROW] and minor faults per execution to r_faults[ROW].
rate_run() {
	local row=$1 n base=() cmd=() vars=()
	[ "${r_bad[$row]}" = 1 ] && return
	case $row in
	0) n=$NF base=("$OUT/forkloop" 0) cmd=("$OUT/forkloop" "$NF") ;;
	1) n=$NF base=("$OUT/forkloop" 0 64) cmd=("$OUT/forkloop" "$NF" 64) ;;
	2) n=$CAP base=("$OUT/access-weft" global 0) cmd=("${base[@]}") ;;
	3) n=$CAP base=("$OUT/$small_name-twin") cmd=("${base[@]}") ;;
	4) n=$inproc_n base=("$OUT/access-weft" global 0) cmd=("${base[@]}")
		vars=(WEFT_ISOLATE=0) ;;
	esac
	local t0 f0 n0=0
	if [ "$row" -ge 2 ]; then
		n0=1
		rate_one 1 "${vars[@]}" WEFT_ITERATIONS=1 -- "${base[@]}"
	else
		rate_one 0 -- "${base[@]}"
	fi
	t0=$US f0=${FAULTS:-0}
	if [ "$RC" -eq 0 ] && [ -n "$N_RAN" ] && [ "$N_RAN" = "$n0" ]; then
		if [ "$row" -ge 2 ]; then
			rate_one "$n" "${vars[@]}" WEFT_ITERATIONS="$n" \
				WEFT_TIME_BUDGET="$RATE_BUDGET" -- "${cmd[@]}"
		else
			rate_one "$n" -- "${cmd[@]}"
		fi
	fi
	if [ "$RC" -ne 0 ] || [ -z "$N_RAN" ] || [ "$N_RAN" -le "$n0" ]; then
		sed 's/^/    /' "$OUT/rate.err" | tail -n 5 >&2
		fail "${r_label[$row]}: exit status $RC (or no 'weft: OK: N executions' line)"
		r_bad[row]=1
		return
	fi
	r_times[row]="${r_times[$row]} $(awk -v t="$US" -v t0="$t0" -v n="$N_RAN" -v n0="$n0" \
		'BEGIN { printf "%.3f", (t - t0) / (n - n0) }')"
	[ -n "$FAULTS" ] && r_faults[row]="${r_faults[$row]} $(awk -v f="$FAULTS" \
		-v f0="$f0" -v n="$N_RAN" -v n0="$n0" 'BEGIN { printf "%.1f", (f - f0) / (n - n0) }')"
}

# fmedian / fmin of a list of decimals
fmedian() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
fmin() { printf '%s\n' "$@" | sort -g | head -n 1; }

printf '\n1. Isolated executions vs a bare fork (rounds: %s; median and best round)\n\n' "$REPS"
for ((r = 0; r < REPS; r++)); do
	for row in 0 1 2 3 4; do
		rate_run "$row"
	done
done
printf '  %-52s %11s %11s %9s %8s %9s\n' "what" "per exec" "best" "rate" "vs fork" "faults/ex"
declare -a r_med
for row in 0 1 2 3 4; do
	# shellcheck disable=SC2086
	set -- ${r_times[$row]}
	if [ $# -eq 0 ]; then
		printf '  %-52s %s\n' "${r_label[$row]}" "failed (see above)"
		r_med[row]=
		continue
	fi
	med=$(fmedian "$@")
	best=$(fmin "$@")
	r_med[row]=$med
	# shellcheck disable=SC2086
	pf=$(fmedian ${r_faults[$row]})
	vs=-
	[ "$row" -gt 0 ] && [ -n "${r_med[0]}" ] &&
		vs=$(awk -v u="$med" -v f="${r_med[0]}" 'BEGIN { printf (u / f < 0.1 ? "%.4fx" : "%.2fx"), u / f }')
	printf '  %-52s %8.1f us %8.1f us %7.0f/s %8s %9s\n' "${r_label[$row]}" \
		"$med" "$best" "$(awk -v u="$med" 'BEGIN { print 1e6 / u }')" "$vs" "${pf:--}"
	json+=("{\"section\": \"isolated\", \"name\": $(jstr "${r_name[$row]}"), \"label\": $(jstr "${r_label[$row]}"), \"unit\": \"us/execution\", \"best\": $best, \"median\": $med, \"reps\": $#, \"minor_faults_per_execution\": ${pf:-null}}")
done
if [ -n "${r_med[0]}" ] && [ -n "${r_med[1]}" ] && [ -n "${r_med[2]}" ] &&
	[ -n "${r_med[3]}" ]; then
	awk -v f="${r_med[0]}" -v f64="${r_med[1]}" -v e="${r_med[2]}" \
		-v s="${r_med[3]}" -v name="$small_name" 'BEGIN {
		printf "\n  The issue: \"a fork costs about 0.24 ms on these machines\". Here a bare fork\n"
		printf "  costs %.3f ms (%.1fx that figure). An isolated execution of %s -DFIXED\n", f / 1000, f / 240, name
		printf "  costs %.3f ms: %.2fx a bare fork here, %.3f ms more (empty main: %.3f ms,\n", s / 1000, s / f, (s - f) / 1000, e / 1000
		printf "  %.2fx). A page that the child dirties adds about %.1f us to a fork here\n", e / f, (f64 - f) / 64
		printf "  (a copy-on-write fault): compare the faults per execution.\n" }'
fi

# ============================================== 2. corpus: time to a bug

shopt -s nullglob
progs=("$root"/tests/corpus/*.c)
shopt -u nullglob

# Build the corpus first, two programs at a time (unless the binaries are
# fresh): NAME.weft (weft-cc), NAME.native (plain cc), and NAME.twin.weft
# (-DFIXED, for the dfs check).
# A program that does not build (the corpus is being added to) has no
# binary and is reported as such below.
now
build_t0=$NOW
build_one() {
	local src=$1 bin
	bin=$OUT/corpus/$(basename "$src" .c)
	fresh "$bin.weft" "$src" && fresh "$bin.native" "$src" &&
		fresh "$bin.twin.weft" "$src" && return 0
	rm -f "$bin.weft" "$bin.native" "$bin.twin.weft"
	{
		"$WEFTCC" -O1 -o "$bin.weft" "$src"
		"$PLAIN_CC" -O1 -pthread -o "$bin.native" "$src"
		"$WEFTCC" -O1 -DFIXED -o "$bin.twin.weft" "$src"
	} >"$bin.build.log" 2>&1
}
k=0
for src in "${progs[@]}"; do
	build_one "$src" &
	k=$((k + 1))
	[ $((k % 2)) -eq 0 ] && wait
done
wait
now
build_us=$((NOW - build_t0))

# Table 2 gets what is left of the total budget, less a reserve for
# table 3; each program gets an equal share of what is left when it
# starts.
corpus_t0=$NOW
corpus_deadline=$((script_t0 + (TOTAL_BUDGET - TABLE3_RESERVE) * 1000000))
if [ "$corpus_deadline" -lt $((NOW + 30000000)) ]; then
	corpus_deadline=$((NOW + 30000000))
fi

# Process start cost, which every time below includes.
true_us=()
for r in 1 2 3 4 5; do
	run_timed /dev/null /dev/null 5 -- /bin/true
	true_us+=("$US")
done
start_us=$(lmedian "${true_us[@]}")

W=14 # width of the program column
for src in "${progs[@]}"; do
	name=$(basename "$src" .c)
	[ "${#name}" -gt "$W" ] && W=${#name}
done

printf '\n2. Corpus: executions and wall time to the first finding, weft-cc vs plain cc\n'
printf '   (%d programs. weft: WEFT_ITERATIONS=%s cap, seeds 1..%s, median [min..max];\n' \
	"${#progs[@]}" "$CAP" "$SEEDS"
printf '   random and pct isolated; dfs in-process (WEFT_ISOLATE=0 WEFT_SHRINK=0), once:\n'
printf '   it is deterministic. plain: %s -O1 -pthread, up to %s runs with real\n' "$PLAIN_CC" "$NATIVE_RUNS"
printf '   threads, each under timeout %s; a run shows the bug if it exits nonzero or\n' "$NATIVE_TIMEOUT"
printf '   times out; its columns are runs per bug and wall time per bug. Every time\n'
printf '   includes starting the process under timeout (timeout+/bin/true: %s here).\n' "$(fmt_time "$start_us")"
printf '   Built in %s; %s s left for the runs, shared equally by the programs: seed 1\n' \
	"$(fmt_time "$build_us")" $(((corpus_deadline - corpus_t0) / 1000000))
printf '   of each strategy always runs, seeds 2.. until 40%% of its share is spent;\n'
printf '   each weft run stops at WEFT_TIME_BUDGET = what is left of that 40%% (at\n'
printf '   least 1 s); plain runs go on while the share lasts, %s runs at least.)\n\n' "$NATIVE_MIN"

printf "  %-${W}s %-17s %-7s %-16s %-9s %s\n" program method found "execs to 1st" "time" "finding / notes"

# weft_one NAME PROG STRATEGY SEED: one run; appends to W_E[STRATEGY]
# (executions to the finding; CAP+1 when none), W_T (microseconds), W_F
# (found count), W_N (runs), W_CUT (runs the time budget stopped), W_K
# (the first finding's kind).
declare -A W_E W_T W_F W_N W_CUT W_K
weft_one() {
	local name=$1 prog=$2 strategy=$3 seed=$4 e='' k='' ran left_ms
	local vars=(WEFT_STRATEGY="$strategy" WEFT_SEED="$seed" WEFT_ITERATIONS="$CAP")
	[ "$strategy" = dfs ] && vars+=(WEFT_ISOLATE=0 WEFT_SHRINK=0)
	now
	left_ms=$(((prog_t0 + prog_budget_us * 2 / 5 - NOW) / 1000))
	[ "$left_ms" -lt 1000 ] && left_ms=1000
	vars+=(WEFT_TIME_BUDGET="${left_ms}ms")
	run_timed "$OUT/run.out" "$OUT/run.err" "$WEFT_RUN_TIMEOUT" \
		"${vars[@]}" -- "$prog"
	if [ "$RC" -eq 1 ]; then
		if [ "$strategy" != dfs ]; then
			e=$(sed -n 's/^weft: FAILED at execution \([0-9]*\) of .*/\1/p' "$OUT/run.err" | head -n 1)
			k=$(sed -n 's/^weft: FAILED at execution [0-9]* of [0-9]* ([^)]*): \([^:]*\):.*/\1/p' "$OUT/run.err" | head -n 1)
		else
			e=$(sed -n 's/^  execution: \([0-9]*\),.*/\1/p' "$OUT/run.err" | head -n 1)
			k=$(sed -n 's/^  kind: *//p' "$OUT/run.err" | head -n 1)
		fi
	elif [ "$RC" -eq 0 ]; then
		ran=$(sed -n 's/^weft: OK: \([0-9]*\) executions.*/\1/p' "$OUT/run.err" | tail -n 1)
		if [ -n "$ran" ] && [ "$ran" -lt "$CAP" ] &&
			! grep -q 'search is exhausted' "$OUT/run.err"; then
			W_CUT[$strategy]=$((${W_CUT[$strategy]:-0} + 1))
		fi
	else
		sed 's/^/    /' "$OUT/run.err" | tail -n 5 >&2
		fail "$name weft $strategy seed $seed: exit status $RC"
		k="error (exit $RC)"
	fi
	W_N[$strategy]=$((${W_N[$strategy]:-0} + 1))
	if [ -n "$e" ]; then
		W_F[$strategy]=$((${W_F[$strategy]:-0} + 1))
		W_E[$strategy]="${W_E[$strategy]:-} $e"
	else
		W_E[$strategy]="${W_E[$strategy]:-} $((CAP + 1))"
	fi
	[ -z "${W_K[$strategy]:-}" ] && [ -n "$k" ] && W_K[$strategy]=$k
	W_T[$strategy]="${W_T[$strategy]:-} $US"
}

# weft_print NAME STRATEGY LABEL: the row. W_EXEC = the median
# executions ("" when not found).
weft_print() {
	local name=$1 strategy=$2 label=$3 med mn mx tmed ecol note='' n kind
	# shellcheck disable=SC2086
	set -- ${W_E[$strategy]}
	n=$#
	med=$(lmedian "$@")
	mn=$(minof "$@")
	mx=$(maxof "$@")
	# shellcheck disable=SC2086
	tmed=$(lmedian ${W_T[$strategy]})
	kind=${W_K[$strategy]:-}
	if [ "$med" -gt "$CAP" ]; then
		ecol="not found"
		W_EXEC=
	elif [ "$n" -eq 1 ]; then
		ecol=$med
		W_EXEC=$med
	else
		[ "$mx" -gt "$CAP" ] && mx=">$CAP"
		ecol="$med [$mn..$mx]"
		W_EXEC=$med
	fi
	if [ "$strategy" != dfs ] && [ "$n" -lt "$SEEDS" ]; then
		note=" [$n of $SEEDS seeds]"
		few_seeds[$name]=1
	fi
	if [ "${W_CUT[$strategy]:-0}" -gt 0 ]; then
		note="$note [${W_CUT[$strategy]} run(s) stopped by WEFT_TIME_BUDGET before $CAP executions]"
		cut_runs+=("$name $strategy")
	fi
	printf "  %-${W}s %-17s %-7s %-16s %-9s %s%s\n" "$name" "$label" "${W_F[$strategy]:-0}/$n" \
		"$ecol" "$(fmt_time "$tmed")" "${kind:--}" "$note"
	json+=("{\"section\": \"corpus\", \"program\": $(jstr "$name"), \"method\": $(jstr "$label"), \"strategy\": \"$strategy\", \"isolated\": $([ "$strategy" = dfs ] && echo false || echo true), \"cap\": $CAP, \"runs\": $n, \"found\": ${W_F[$strategy]:-0}, \"median_executions\": ${W_EXEC:-null}, \"min_executions\": $([ "$mn" -gt "$CAP" ] && echo null || echo "$mn"), \"median_ms\": $(awk -v t="$tmed" 'BEGIN { printf "%.1f", t / 1000 }'), \"kind\": $(jstr "$kind")}")
}

MIN_SHARE_US=1500000
declare -A few_seeds
cut_runs=()
few_native=()
late=()
suspect=()
replay_nd=()
nprog=${#progs[@]}
i=0
for src in "${progs[@]}"; do
	name=$(basename "$src" .c)
	now
	prog_t0=$NOW
	left=$((nprog - i))
	i=$((i + 1))
	prog_budget_us=$(((corpus_deadline - NOW) / left))
	[ "$prog_budget_us" -lt "$MIN_SHARE_US" ] && prog_budget_us=$MIN_SHARE_US
	bin=$OUT/corpus/$name
	if [ ! -x "$bin.weft" ]; then
		printf "  %-${W}s %s\n\n" "$name" "weft-cc build failed (see $bin.build.log); skipped"
		notes+=("$name: weft-cc build failed (the corpus is being added to?); skipped")
		continue
	fi

	W_E=() W_T=() W_F=() W_N=() W_CUT=() W_K=()
	for strategy in random pct dfs; do
		weft_one "$name" "$bin.weft" "$strategy" 1
	done
	for ((seed = 2; seed <= SEEDS; seed++)); do
		now
		[ $((NOW - prog_t0)) -ge $((prog_budget_us * 2 / 5)) ] && break
		weft_one "$name" "$bin.weft" random "$seed"
		weft_one "$name" "$bin.weft" pct "$seed"
	done
	weft_print "$name" random "weft random"
	weft_print "$name" pct "weft pct"
	weft_print "$name" dfs "weft dfs in-proc"
	dfs_exec=$W_EXEC
	dfs_kind=${W_K[dfs]:-}
	# In-process, executions after the first start from the globals the
	# earlier ones left, and weft replays a finding to confirm it on the
	# globals the failing execution left: the fixed twin tells artefacts
	# from the bug.
	if [ "$dfs_kind" = nondeterminism ]; then
		printf "  %-${W}s %-17s %s\n" "" "" "! weft's in-process replay of the finding ran on the globals it had left"
		replay_nd+=("$name")
	fi
	if [ -n "$dfs_exec" ] && [ "$dfs_exec" -gt 1 ] && [ -x "$bin.twin.weft" ]; then
		run_timed "$OUT/run.out" "$OUT/run.err" "$WEFT_RUN_TIMEOUT" \
			WEFT_STRATEGY=dfs WEFT_ITERATIONS="$CAP" WEFT_ISOLATE=0 WEFT_SHRINK=0 \
			WEFT_TIME_BUDGET=2 -- "$bin.twin.weft"
		if [ "$RC" -eq 1 ]; then
			te=$(sed -n 's/^  execution: \([0-9]*\),.*/\1/p' "$OUT/run.err" | head -n 1)
			tk=$(sed -n 's/^  kind: *//p' "$OUT/run.err" | head -n 1)
			if [ -n "$te" ] && [ "$te" -le "$dfs_exec" ]; then
				printf "  %-${W}s %-17s %s\n" "" "" "! the -DFIXED twin fails in-process too, at execution $te ($tk):"
				printf "  %-${W}s %-17s %s\n" "" "" "  globals are not reset between executions; this finding is suspect"
				suspect+=("$name")
			fi
		fi
	fi

	now
	if [ "$NOW" -ge "$corpus_deadline" ]; then
		printf "  %-${W}s %-17s %s\n\n" "$name" "plain cc" "not run: table 2's time is up"
		late+=("$name")
		continue
	fi
	if [ ! -x "$bin.native" ]; then
		printf "  %-${W}s %-17s %s\n\n" "$name" "plain cc" "build failed (see $bin.build.log)"
		notes+=("$name: plain build failed")
		continue
	fi
	runs=0
	bugs=0
	tos=0
	now
	n_t0=$NOW
	while [ "$runs" -lt "$NATIVE_RUNS" ]; do
		now
		# At least NATIVE_MIN runs, unless one timed out (a run that
		# hangs costs NATIVE_TIMEOUT s).
		if [ "$runs" -gt 0 ] && [ $((NOW - prog_t0)) -ge "$prog_budget_us" ] &&
			{ [ "$runs" -ge "$NATIVE_MIN" ] || [ "$tos" -gt 0 ] ||
				[ "$NOW" -ge "$corpus_deadline" ]; }; then
			break
		fi
		{ timeout -k 1 "$NATIVE_TIMEOUT" "$bin.native"; } >/dev/null 2>&1
		rc=$?
		runs=$((runs + 1))
		if [ "$rc" -ne 0 ]; then
			bugs=$((bugs + 1))
			if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
				tos=$((tos + 1))
			fi
		fi
	done
	now
	n_us=$((NOW - n_t0))
	note="total $(fmt_time "$n_us")"
	[ "$tos" -gt 0 ] && note="$note, $tos timed out"
	if [ "$runs" -lt "$NATIVE_RUNS" ]; then
		note="$note [$runs of $NATIVE_RUNS runs]"
		few_native+=("$name")
	fi
	if [ "$bugs" -gt 0 ]; then
		per_bug=$(awk -v r="$runs" -v b="$bugs" 'BEGIN { printf "%.1f", r / b }')
		t_bug=$(fmt_time $((n_us / bugs)))
	else
		per_bug="not seen"
		t_bug=">$(fmt_time "$n_us")"
	fi
	printf "  %-${W}s %-17s %-7s %-16s %-9s %s\n\n" "$name" "plain cc" "$bugs/$runs" \
		"$per_bug" "$t_bug" "$note"
	json+=("{\"section\": \"corpus\", \"program\": $(jstr "$name"), \"method\": \"plain cc\", \"runs\": $runs, \"bug_runs\": $bugs, \"timeouts\": $tos, \"timeout_s\": $NATIVE_TIMEOUT, \"total_ms\": $(awk -v t="$n_us" 'BEGIN { printf "%.1f", t / 1000 }')}")
done
now
printf '  table 2 runs took %s\n' "$(fmt_time $((NOW - corpus_t0)))"
if [ "${#few_seeds[@]}" -gt 0 ]; then
	notes+=("time budget: ${#few_seeds[@]} of $nprog programs ran fewer than $SEEDS seeds of random or pct (marked [k of $SEEDS seeds]): $(printf '%s\n' "${!few_seeds[@]}" | sort | paste -sd ' ')")
fi
if [ "${#few_native[@]}" -gt 0 ]; then
	notes+=("time budget: ${#few_native[@]} of $nprog programs had fewer than $NATIVE_RUNS plain runs (marked [k of $NATIVE_RUNS runs]): ${few_native[*]}")
fi
if [ "${#late[@]}" -gt 0 ]; then
	notes+=("time budget: table 2's time was up before the plain runs of ${late[*]}")
fi
if [ "${#cut_runs[@]}" -gt 0 ]; then
	notes+=("WEFT_TIME_BUDGET stopped weft runs before $CAP executions: ${cut_runs[*]}")
fi
if [ "${#suspect[@]}" -gt 0 ]; then
	notes+=("dfs in-process: the -DFIXED twin fails as early as the bug (globals are not reset between in-process executions), so these findings are suspect: ${suspect[*]}")
fi
if [ "${#replay_nd[@]}" -gt 0 ]; then
	notes+=("dfs in-process reports nondeterminism (weft replays a finding to confirm it, on the globals the failing execution left): ${replay_nd[*]}")
fi

# ===================================================== 3. memory accesses

printf '\n3. Cost of one memory access, main thread only (tests/bench-weftcc/access.c)\n'
printf '   ((t_N - t_0) / N, whole-process wall time, median of 5 runs at N = 0 and\n'
printf '   of 3 at a large N chosen so the difference is at least 0.3 s; best: from\n'
printf '   the fastest runs. Each access is a plain load or store, loop included.\n'
printf '   weft-cc runs WEFT_ITERATIONS=1 WEFT_ISOLATE=0 WEFT_MAX_STEPS=10^12: a long\n'
printf '   loop makes many steps)\n\n'
printf '  %-38s %-7s %12s %10s %10s %10s\n' build mode N "t_0" "ns/access" "best"

# access_row LABEL NAME MODE START_N VAR=... -- PROGRAM: prints a row;
# acc_ns[NAME] = ns per access.
declare -A acc_ns
access_row() {
	local label=$1 name=$2 mode=$3 n=$4
	shift 4
	split_vars "$@"
	local vars=("${VARS[@]}")
	set -- "${REST[@]}"
	local prog=$1 t0s=() tns=() r t0 d tn ns best
	for r in 1 2 3 4 5; do
		run_timed "$OUT/acc.out" "$OUT/acc.err" 60 "${vars[@]}" -- "$prog" "$mode" 0
		if [ "$RC" -ne 0 ]; then
			sed 's/^/    /' "$OUT/acc.err" | tail -n 5 >&2
			printf '  %-38s %-7s %s\n' "$label" "$mode" "failed (exit $RC at N = 0)"
			fail "$label $mode: exit status $RC"
			return 1
		fi
		t0s+=("$US")
	done
	t0=$(lmedian "${t0s[@]}")
	# Grow N until the run takes at least 0.3 s more than N = 0.
	while :; do
		run_timed "$OUT/acc.out" "$OUT/acc.err" 60 "${vars[@]}" -- "$prog" "$mode" "$n"
		if [ "$RC" -ne 0 ]; then
			sed 's/^/    /' "$OUT/acc.err" | tail -n 5 >&2
			printf '  %-38s %-7s %s\n' "$label" "$mode" "failed (exit $RC at N = $n)"
			fail "$label $mode: exit status $RC at N = $n"
			return 1
		fi
		d=$((US - t0))
		if [ "$d" -ge 300000 ] || [ "$n" -ge 4000000000 ]; then
			break
		fi
		if [ "$d" -lt 10000 ]; then
			n=$((n * 32))
		else
			n=$(awk -v n="$n" -v d="$d" 'BEGIN { printf "%.0f", n * 450000 / d }')
		fi
		[ "$n" -gt 4000000000 ] && n=4000000000
	done
	tns=("$US")
	for r in 2 3; do
		run_timed "$OUT/acc.out" "$OUT/acc.err" 60 "${vars[@]}" -- "$prog" "$mode" "$n"
		[ "$RC" -eq 0 ] && tns+=("$US")
	done
	tn=$(lmedian "${tns[@]}")
	ns=$(awk -v a="$tn" -v b="$t0" -v n="$n" 'BEGIN { printf "%.3f", (a - b) * 1000 / n }')
	best=$(awk -v a="$(minof "${tns[@]}")" -v b="$(minof "${t0s[@]}")" -v n="$n" \
		'BEGIN { printf "%.3f", (a - b) * 1000 / n }')
	printf '  %-38s %-7s %12s %10s %10s %10s\n' "$label" "$mode" "$n" "$(fmt_time "$t0")" "$ns" "$best"
	acc_ns[$name]=$ns
	json+=("{\"section\": \"access\", \"name\": $(jstr "$name"), \"label\": $(jstr "$label"), \"mode\": \"$mode\", \"unit\": \"ns/access\", \"median\": $ns, \"best\": $best, \"n\": $n, \"t0_ms\": $(awk -v t="$t0" 'BEGIN { printf "%.1f", t / 1000 }'), \"tn_ms\": $(awk -v t="$tn" 'BEGIN { printf "%.1f", t / 1000 }')}")
}

for mode in stack global; do
	access_row "plain $PLAIN_CC -O1" "plain_$mode" "$mode" 1048576 \
		-- "$OUT/access-plain"
	access_row "weft-cc -O1 (default granularity)" "weftcc_$mode" "$mode" 1048576 \
		WEFT_ITERATIONS=1 WEFT_ISOLATE=0 WEFT_MAX_STEPS=1000000000000 \
		-- "$OUT/access-weft"
done

# accepts VAR VALUE: weft accepts WEFT_VAR=VALUE. weft warns about (and
# ignores) WEFT_* variables it does not know, so acceptance is: not exit
# status 2, and no such warning. ACCEPT_WHY says why not.
accepts() {
	run_timed "$OUT/acc.out" "$OUT/acc.err" 60 "$1=$2" \
		WEFT_ITERATIONS=1 WEFT_ISOLATE=0 -- "$OUT/access-weft" global 0
	ACCEPT_WHY="exit status $RC"
	if grep -q "unknown variable $1" "$OUT/acc.err"; then
		ACCEPT_WHY="weft: \"unknown variable $1 ignored\""
		return 1
	fi
	[ "$RC" -ne 2 ]
}

# The race detector's share of a global access, when it can be turned off.
if accepts WEFT_RACE off; then
	access_row "weft-cc, WEFT_RACE=off" weftcc_race_off_global global 1048576 \
		WEFT_RACE=off WEFT_ITERATIONS=1 WEFT_ISOLATE=0 \
		WEFT_MAX_STEPS=1000000000000 -- "$OUT/access-weft"
fi

if accepts WEFT_GRANULARITY memory; then
	for mode in global stack; do
		# Every access may be a step: lift the step bound.
		access_row "weft-cc, WEFT_GRANULARITY=memory" "weftcc_memory_$mode" \
			"$mode" 16384 WEFT_GRANULARITY=memory WEFT_MAX_STEPS=1000000000000 \
			WEFT_ITERATIONS=1 WEFT_ISOLATE=0 -- "$OUT/access-weft"
	done
	granularity=true
else
	why=$ACCEPT_WHY
	printf '  %-38s %s\n' "weft-cc, WEFT_GRANULARITY=memory" "not measured: this weft does not accept it ($why)"
	notes+=("WEFT_GRANULARITY=memory not accepted by this weft ($why): not measured")
	granularity=false
fi
echo
for mode in stack global; do
	p=${acc_ns[plain_$mode]:-}
	w=${acc_ns[weftcc_$mode]:-}
	m=${acc_ns[weftcc_memory_$mode]:-}
	ro=${acc_ns[weftcc_race_off_$mode]:-}
	if [ -z "$p" ] || [ -z "$w" ]; then
		continue
	fi
	awk -v p="$p" -v w="$w" -v m="$m" -v ro="$ro" -v mode="$mode" 'BEGIN {
		printf "  %s: weft-cc adds %.2f ns per access (%.1fx plain)", mode, w - p, (p > 0 ? w / p : 0)
		if (ro != "") printf "; with WEFT_RACE=off %.2f ns", ro - p
		if (m != "") printf "; WEFT_GRANULARITY=memory %.2f ns", m - p
		printf "\n" }'
done

# ============================================================== the end

now
total_us=$((NOW - script_t0))
if [ "${#notes[@]}" -gt 0 ]; then
	printf '\nNotes:\n'
	printf '  - %s\n' "${notes[@]}"
fi
printf '\nbench-weftcc: %s in all; load average now %s\n' "$(fmt_time "$total_us")" \
	"$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

if [ -n "$bench_dir" ]; then
	mkdir -p "$bench_dir" || fail "cannot create $bench_dir"
	{
		printf '{\n  "bench": "weftcc",\n  "weft_version": %s,\n' "$(jstr "$weft_version")"
		printf '  "machine": {"cpus": %s, "cpu": %s, "load_average_start": %s},\n' \
			"$(nproc)" "$(jstr "$cpu")" "$(jstr "$load0")"
		printf '  "settings": {"seeds": %s, "cap": %s, "native_runs": %s, "native_timeout_s": %s, "total_budget_s": %s, "reps": %s, "plain_cc": %s, "granularity_memory_accepted": %s, "process_start_ms": %s},\n' \
			"$SEEDS" "$CAP" "$NATIVE_RUNS" "$NATIVE_TIMEOUT" "$TOTAL_BUDGET" "$REPS" \
			"$(jstr "$PLAIN_CC")" "$granularity" \
			"$(awk -v t="$start_us" 'BEGIN { printf "%.1f", t / 1000 }')"
		printf '  "figures": [\n'
		n=${#json[@]}
		for ((k = 0; k < n; k++)); do
			sep=,
			[ $((k + 1)) -eq "$n" ] && sep=
			printf '    %s%s\n' "${json[$k]}" "$sep"
		done
		printf '  ],\n  "notes": ['
		sep=
		for x in "${notes[@]}"; do
			printf '%s\n    %s' "$sep" "$(jstr "$x")"
			sep=,
		done
		printf '\n  ],\n  "elapsed_s": %s\n}\n' \
			"$(awk -v t="$total_us" 'BEGIN { printf "%.1f", t / 1e6 }')"
	} >"$bench_dir/bench_weftcc.json" || fail "cannot write $bench_dir/bench_weftcc.json"
	echo "JSON in $bench_dir/bench_weftcc.json"
fi
exit "$status"
