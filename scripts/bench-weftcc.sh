#!/usr/bin/env bash
# bench-weftcc.sh: weft-cc benchmarks, run by `make bench` after the C
# benchmarks (tests/bench_*.c).
#
#   bash scripts/bench-weftcc.sh [BUILD]      (BUILD: default build)
#
# Needs `make weft-cc` in BUILD first (the Makefile's bench target does
# it). Builds what it runs into BUILD/bench-weftcc/ and prints five
# tables, every weft-cc figure in the default snapshot mode beside fork
# mode (WEFT_ISOLATE=fork, one forked child per execution) on the same
# program, measured in this run:
#   1. executions per second of an empty two-thread program
#      (tests/bench-weftcc/empty.c) in snapshot, fork and none modes, and
#      snapshot with WEFT_TLS=0, beside a bare fork+_exit+waitpid loop
#      (tests/bench-weftcc/forkloop.c), with minor page faults per
#      execution when /usr/bin/time is there;
#   2. per program of tests/corpus/*.c (globbed when it starts: the corpus
#      grows): executions and wall time to the first finding, random
#      strategy, median over seeds, snapshot vs fork; executions per
#      second of its -DFIXED twin, snapshot vs fork; the speed-ups, their
#      minimum and median; and the program built with plain cc and run
#      with real threads;
#   3. dfs in snapshot mode: each twin exhausted within the default
#      preemption bound (or stopped by a time budget: how many executions
#      ran), and executions to the first finding of each bug (at bound 3
#      when bound 2 is exhausted without one);
#   4. executions per second as the writable data grows, 1 KiB to 64 MiB
#      (tests/bench-weftcc/datasize.c), touching one page or all of it,
#      snapshot vs fork: where fork mode becomes the cheaper one;
#   5. the cost of one memory access to the stack and to a global
#      (tests/bench-weftcc/access.c), plain cc and weft-cc (and with
#      WEFT_RACE=off and WEFT_GRANULARITY=memory), and of switching
#      thread-local storage at a context switch (tests/bench-weftcc/tls.c,
#      WEFT_TLS=1 vs 0).
# Figures also go to $WEFT_BENCH_DIR/bench_weftcc.json when that is set.
# Wall times are taken from outside the process (bash's $EPOCHREALTIME).
# Goals (snapshot >= 100,000 executions/s on the empty program, >= 20x
# fork mode on each corpus program) are printed as figures and notes,
# never as a failure.
#
# Exit status: 0, or 1 when something that must work did not: weft-cc
# not built, a tool program failed to build or run, weft rejected a
# configuration, a -DFIXED twin reported a finding. A corpus program that
# does not build (the corpus is being added to) is reported and skipped;
# whatever weft finds or misses is a figure, not a failure.
#
# Time: about 4 minutes on 2 cores. Table 2 gets what is left of
# BENCH_WEFTCC_BUDGET (240 s) after table 1 and the builds, less 80 s
# kept for tables 3 to 5, shared equally among the corpus programs. In a
# program's share, seed 1 in both modes and the twin's rates always run,
# later seeds until half the share is spent, plain runs while the share
# lasts (10 at least, unless one hung or table 2's time is up). What is
# dropped is marked in the table and summed up in the notes at the end.
#
# Knobs (environment): BENCH_WEFTCC_BUDGET (240 s), BENCH_WEFTCC_SEEDS
# (5), BENCH_WEFTCC_CAP (2000 executions), BENCH_WEFTCC_NATIVE_RUNS (200),
# BENCH_WEFTCC_NATIVE_TIMEOUT (5 s per plain run), BENCH_WEFTCC_REPS (3
# rounds, table 1), BENCH_WEFTCC_RATE_BUDGET (1 s per weft run, table 1),
# BENCH_WEFTCC_PROFILE (1: after table 1, `perf record` the empty program
# in snapshot mode and print where its time goes, self and inclusive, by
# function; off by default).
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
TOTAL_BUDGET=${BENCH_WEFTCC_BUDGET:-240}
LATER_RESERVE=80 # seconds kept for tables 3 to 5
REPS=${BENCH_WEFTCC_REPS:-3}
RATE_BUDGET=${BENCH_WEFTCC_RATE_BUDGET:-1}
PROFILE=${BENCH_WEFTCC_PROFILE:-0}
TWIN_BUDGET=0.5      # seconds per twin rate run (table 2)
DFS_BUDGET=2         # seconds per dfs run of a twin (table 3)
DFS_BUG_BUDGET=5     # seconds per dfs run of a bug (table 3)
DS_BUDGET=0.3        # seconds per datasize run (table 4)
MANY=1000000000      # WEFT_ITERATIONS of a run a time budget stops
WEFT_RUN_TIMEOUT=120 # seconds: a weft run that takes longer is an error
GOAL_RATE=100000     # the issue's goal: snapshot executions/s, empty program
GOAL_SPEEDUP=20      # the issue's goal: snapshot vs fork on each program

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

# fmt_rate US: executions per second of US microseconds per execution.
fmt_rate() {
	awk -v us="$1" 'BEGIN {
		if (us + 0 <= 0) { print "-"; exit }
		r = 1e6 / us
		if (r >= 100) printf "%.0f", r
		else if (r >= 10) printf "%.1f", r
		else printf "%.2f", r }'
}

# fmt_x A B: A / B as a factor, "12.3x" ("-" when either is missing).
fmt_x() {
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo -
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (b <= 0) { print "-"; exit }
		x = a / b
		if (x >= 100) printf "%.0fx", x
		else if (x >= 0.1) printf "%.1fx", x
		else printf "%.3fx", x }'
}

# ratio A B: A / B as a plain number for JSON ("null" when missing).
ratio() {
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo null
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "null"; else printf "%.3f", a / b }'
}

# ms US: microseconds as milliseconds for JSON.
ms() { awk -v t="$1" 'BEGIN { printf "%.1f", t / 1000 }'; }

# lmedian X...: the (lower) median of integers.
lmedian() {
	printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 }
		END { if (NR) print a[int((NR + 1) / 2)] }'
}

minof() { printf '%s\n' "$@" | sort -n | head -n 1; }
maxof() { printf '%s\n' "$@" | sort -n | tail -n 1; }

# fmedian / fmin of a list of decimals
fmedian() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
fmin() { printf '%s\n' "$@" | sort -g | head -n 1; }

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

# cpu_now: CPU = user + system microseconds of the waited-for children of
# this shell (bash's `times`, to the millisecond; written to a file, as a
# subshell would have no children).
cpu_now() {
	local a b m
	times >"$OUT/times.txt"
	{
		read -r _ _
		read -r a b
	} <"$OUT/times.txt"
	CPU=0
	for m in "$a" "$b"; do # "1m2.345s"
		local min=${m%%m*} sec=${m#*m}
		sec=${sec%s}
		CPU=$((CPU + (min * 60 + ${sec%.*}) * 1000000 + 10#${sec#*.} * 1000))
	done
}

# run_timed OUTFILE ERRFILE TIMEOUT VAR=value... -- PROGRAM ARGS...: runs
# PROGRAM under `timeout` with the variables set; RC = its exit status,
# US = its wall time and CPU_US its CPU time (user + system, its children
# included), in microseconds.
run_timed() {
	local out=$1 err=$2 to=$3 t0 c0
	shift 3
	split_vars "$@"
	local vars=("${VARS[@]}")
	set -- "${REST[@]}"
	cpu_now
	c0=$CPU
	now
	t0=$NOW
	{ timeout -k 5 "$to" env "${vars[@]}" "$@"; } >"$out" 2>"$err"
	RC=$?
	now
	US=$((NOW - t0))
	cpu_now
	CPU_US=$((CPU - c0))
}

# ok_count FILE: the executions of weft's "weft: OK: N executions" line.
ok_count() {
	sed -n 's/^weft: OK: \([0-9]*\) execution.*/\1/p' "$1" | tail -n 1
}

# finding_at FILE: the execution of weft's "weft: FAILED at execution N"
# line; finding_kind FILE: the kind of its report.
finding_at() {
	sed -n 's/^weft: FAILED at execution \([0-9]*\).*/\1/p' "$1" | head -n 1
}
finding_kind() {
	sed -n 's/^  kind: *//p' "$1" | head -n 1
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

mkdir -p "$OUT/corpus" "$OUT/datasize" || exit 1
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

# build_tool NAME COMPILER ARGS... SOURCE: builds $OUT/NAME (the -o in
# ARGS), its log in $OUT/NAME.build.log.
build_tool() {
	local name=$1
	shift
	fresh "$OUT/$name" "${*: -1}" && return 0
	if ! "$@" >"$OUT/$name.build.log" 2>&1; then
		cat "$OUT/$name.build.log" >&2
		fail "could not build $name ($*)"
		return 1
	fi
}

# datasize.c at each size of table 4: bytes and label.
ds_bytes=(1024 65536 1048576 8388608 67108864)
ds_label=("1 KiB" "64 KiB" "1 MiB" "8 MiB" "64 MiB")

build_tool forkloop "$PLAIN_CC" -O1 -o "$OUT/forkloop" "$src_dir/forkloop.c"
build_tool access-plain "$PLAIN_CC" -O1 -o "$OUT/access-plain" \
	"$src_dir/access.c"
build_tool access-weft "$WEFTCC" -O1 -o "$OUT/access-weft" \
	"$src_dir/access.c"
build_tool empty "$WEFTCC" -O1 -o "$OUT/empty" "$src_dir/empty.c"
build_tool tls "$WEFTCC" -O1 -o "$OUT/tls" "$src_dir/tls.c"
for b in "${ds_bytes[@]}"; do
	build_tool "datasize/$b" "$WEFTCC" -O1 -DSIZE="$b" \
		-o "$OUT/datasize/$b" "$src_dir/datasize.c"
done
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

# rate_one N VAR=value... -- PROGRAM ARGS: one timed run (under
# /usr/bin/time when there is one). RC, US; N_RAN = executions weft says
# it ran (N for a program without VAR=value, forkloop); FAULTS = minor
# faults (or "").
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
	[ "${#vars[@]}" -gt 0 ] && N_RAN=$(ok_count "$OUT/rate.err")
	FAULTS=$(tail -n 1 "$OUT/rate.faults" 2>/dev/null)
	case $FAULTS in '' | *[!0-9]*) FAULTS= ;; esac
}

# weft_rate BUDGET VAR=value... -- PROGRAM ARGS: what one execution of a
# weft-cc program costs, from outside: a run of one execution (t_1) and
# a run that WEFT_TIME_BUDGET=BUDGET stops (t_n, n executions);
# PER_US = (t_n - t_1) / (n - 1) microseconds of wall time, PER_CPU the
# same in CPU time, PER_FAULTS = minor faults per execution (or ""). On
# failure PER_US is "" and RC the status of
# the run that failed (1: a finding), its stderr in $OUT/rate.err.
weft_rate() {
	local budget=$1 t1 c1 f1
	shift
	split_vars "$@"
	local vars=("${VARS[@]}")
	set -- "${REST[@]}"
	PER_US='' PER_CPU='' PER_FAULTS=''
	rate_one 1 "${vars[@]}" WEFT_ITERATIONS=1 -- "$@"
	if [ "$RC" -ne 0 ] || [ "$N_RAN" != 1 ]; then
		[ "$RC" -ne 0 ] || RC=3
		return 1
	fi
	t1=$US c1=$CPU_US f1=${FAULTS:-0}
	rate_one "$MANY" "${vars[@]}" WEFT_ITERATIONS="$MANY" \
		WEFT_TIME_BUDGET="$budget" -- "$@"
	if [ "$RC" -ne 0 ] || [ -z "$N_RAN" ] || [ "$N_RAN" -le 1 ]; then
		[ "$RC" -ne 0 ] || RC=3
		return 1
	fi
	PER_US=$(awk -v t="$US" -v t1="$t1" -v n="$N_RAN" \
		'BEGIN { printf "%.3f", (t - t1) / (n - 1) }')
	PER_CPU=$(awk -v t="$CPU_US" -v t1="$c1" -v n="$N_RAN" \
		'BEGIN { printf "%.3f", (t - t1) / (n - 1) }')
	[ -n "$FAULTS" ] && PER_FAULTS=$(awk -v f="$FAULTS" -v f1="$f1" \
		-v n="$N_RAN" 'BEGIN { printf "%.1f", (f - f1) / (n - 1) }')
	return 0
}

# rate_failed LABEL: says why weft_rate failed (status 1 of a twin is a
# finding: that must not happen either).
rate_failed() {
	sed 's/^/    /' "$OUT/rate.err" | tail -n 6 >&2
	case $RC in
	1) fail "$1: reported a finding" ;;
	3) fail "$1: no 'weft: OK: N executions' line (or only one execution)" ;;
	*) fail "$1: exit status $RC" ;;
	esac
}

# ==================================== 1. executions of an empty program

# Each row is one program doing many executions (or forks), timed from
# outside, less the same program doing 0 forks (forkloop) or 1 execution
# (weft), so that starting the process is not counted. The rows are
# measured in rounds (row 1, row 2, ..., then again), so that a change in
# the machine's load hits every row alike; per row, the median and the
# best round.
NF=300
r_label=("bare fork+_exit+waitpid (forkloop)"
	"bare fork, child writes 64 pages (forkloop)"
	"weft-cc snapshot (the default)"
	"weft-cc snapshot, WEFT_TLS=0 (shared TLS)"
	"weft-cc fork"
	"weft-cc none (nothing put back)")
r_name=(fork_bare fork_64_pages snapshot snapshot_tls0 fork none)
r_vars=("" "" "WEFT_ISOLATE=snapshot" "WEFT_ISOLATE=snapshot WEFT_TLS=0"
	"WEFT_ISOLATE=fork" "WEFT_ISOLATE=none")
nrows=${#r_label[@]}
r_times=() r_cpu=() r_faults=() r_bad=()
for ((row = 0; row < nrows; row++)); do
	r_times[row]='' r_cpu[row]='' r_faults[row]='' r_bad[row]=0
done

# rate_row ROW: one round of row ROW; appends microseconds per execution
# to r_times[ROW] (wall) and r_cpu[ROW] (CPU), and minor faults per
# execution to r_faults[ROW].
rate_row() {
	local row=$1 t0 c0 f0 vars=()
	[ "${r_bad[$row]}" = 1 ] && return
	if [ "$row" -le 1 ]; then
		local pages=()
		[ "$row" -eq 1 ] && pages=(64)
		rate_one 0 -- "$OUT/forkloop" 0 "${pages[@]}"
		t0=$US c0=$CPU_US f0=${FAULTS:-0}
		[ "$RC" -eq 0 ] && rate_one "$NF" -- "$OUT/forkloop" "$NF" "${pages[@]}"
		if [ "$RC" -ne 0 ]; then
			sed 's/^/    /' "$OUT/rate.err" | tail -n 5 >&2
			fail "${r_label[$row]}: exit status $RC"
			r_bad[row]=1
			return
		fi
		PER_US=$(awk -v t="$US" -v t0="$t0" -v n="$NF" 'BEGIN { printf "%.3f", (t - t0) / n }')
		PER_CPU=$(awk -v t="$CPU_US" -v t0="$c0" -v n="$NF" 'BEGIN { printf "%.3f", (t - t0) / n }')
		PER_FAULTS=
		[ -n "$FAULTS" ] && PER_FAULTS=$(awk -v f="$FAULTS" -v f0="$f0" \
			-v n="$NF" 'BEGIN { printf "%.1f", (f - f0) / n }')
	else
		read -r -a vars <<<"${r_vars[$row]}"
		if ! weft_rate "$RATE_BUDGET" "${vars[@]}" -- "$OUT/empty"; then
			rate_failed "${r_label[$row]}"
			r_bad[row]=1
			return
		fi
	fi
	r_times[row]="${r_times[$row]} $PER_US"
	r_cpu[row]="${r_cpu[$row]} $PER_CPU"
	[ -n "$PER_FAULTS" ] && r_faults[row]="${r_faults[$row]} $PER_FAULTS"
}

printf '\n1. Executions per second of an empty program (tests/bench-weftcc/empty.c:\n'
printf '   main starts two threads that do nothing and joins them), beside a bare\n'
printf '   fork (forkloop: %s forks). Per execution: (t_n - t_1) / (n - 1) from\n' "$NF"
printf '   outside, each weft run stopped by WEFT_TIME_BUDGET=%s s; %s rounds,\n' "$RATE_BUDGET" "$REPS"
printf '   median and best round; "cpu": the same in CPU time (user + system,\n'
printf '   children included), which a busy machine inflates less. "fork/this":\n'
printf '   how many times faster than weft-cc fork mode (wall time).\n\n'
for ((r = 0; r < REPS; r++)); do
	for ((row = 0; row < nrows; row++)); do
		rate_row "$row"
	done
done
printf '  %-44s %10s %10s %9s %9s %10s %9s\n' "what" "per exec" "best" "exec/s" "fork/this" "cpu" "faults/ex"
r_med=() r_cmed=()
for ((row = 0; row < nrows; row++)); do
	# shellcheck disable=SC2086
	set -- ${r_times[$row]}
	if [ $# -eq 0 ]; then
		printf '  %-44s %s\n' "${r_label[$row]}" "failed (see above)"
		r_med[row]=
		continue
	fi
	r_med[row]=$(fmedian "$@")
	# shellcheck disable=SC2086
	r_cmed[row]=$(fmedian ${r_cpu[$row]})
done
for ((row = 0; row < nrows; row++)); do
	[ -z "${r_med[$row]}" ] && continue
	# shellcheck disable=SC2086
	set -- ${r_times[$row]}
	med=${r_med[$row]}
	best=$(fmin "$@")
	# shellcheck disable=SC2086
	pf=$(fmedian ${r_faults[$row]})
	vs=$(fmt_x "${r_med[4]}" "$med")
	printf '  %-44s %7.2f us %7.2f us %9s %9s %7.2f us %9s\n' "${r_label[$row]}" \
		"$med" "$best" "$(fmt_rate "$med")" "$vs" "${r_cmed[$row]}" "${pf:--}"
	json+=("{\"section\": \"empty\", \"name\": $(jstr "${r_name[$row]}"), \"label\": $(jstr "${r_label[$row]}"), \"unit\": \"us/execution\", \"median\": $med, \"best\": $best, \"cpu_median\": ${r_cmed[$row]}, \"executions_per_s\": $(awk -v u="$med" 'BEGIN { printf "%.0f", 1e6 / u }'), \"fork_mode_over_this\": $(ratio "${r_med[4]}" "$med"), \"reps\": $#, \"minor_faults_per_execution\": ${pf:-null}}")
done
snap_us=${r_med[2]}
if [ -n "$snap_us" ]; then
	echo
	awk -v s="$snap_us" -v g="$GOAL_RATE" -v f="${r_med[4]}" -v b="${r_med[0]}" \
		-v cs="${r_cmed[2]}" -v ct="${r_cmed[3]}" -v cn="${r_cmed[5]}" 'BEGIN {
		printf "  snapshot: %.0f executions/s, %.2f us each; the goal is %d/s: %s.\n", 1e6 / s, s, g,
			(1e6 / s >= g ? "reached" : sprintf("missed by %.0f%%", 100 * (1 - 1e6 / s / g)))
		if (cs != "" && cs > 0) printf "  (In CPU time %.2f us each: %.0f/s on a CPU of its own.)\n", cs, 1e6 / cs
		if (f != "") printf "  fork mode costs %.1f us per execution (%.1fx snapshot)", f, f / s
		if (b != "") printf "; a bare fork+exit+wait %.1f us", b
		printf ".\n"
		if (ct != "") printf "  In CPU time, per-thread TLS costs %.2f us per execution (snapshot less\n  WEFT_TLS=0)", cs - ct
		if (cn != "") printf "; none mode (nothing put back, the heap not an arena)\n  is %.2f us cheaper than snapshot", cs - cn
		printf ".\n" }'
	if awk -v s="$snap_us" -v g="$GOAL_RATE" 'BEGIN { exit !(1e6 / s < g) }'; then
		notes+=("goal missed: snapshot runs $(fmt_rate "$snap_us") executions/s of the empty program (wall time; $(fmt_rate "${r_cmed[2]}")/s in CPU time), the goal is $GOAL_RATE/s")
	fi
fi

# Optional: where the time of a snapshot execution goes
# (BENCH_WEFTCC_PROFILE=1): perf's self time per function, and the
# inclusive time of the functions above them (call graphs from DWARF, so
# a few tens of thousands of executions are enough).
if [ "$PROFILE" = 1 ]; then
	PROFILE_N=30000
	if command -v perf >/dev/null 2>&1 &&
		perf record -q --call-graph dwarf,16384 -o "$OUT/empty.perf" -- \
			env WEFT_ITERATIONS=$PROFILE_N "$OUT/empty" >/dev/null 2>"$OUT/perf.err"; then
		printf '\n  perf, empty program, snapshot, %s executions: self time by function\n' "$PROFILE_N"
		perf report -i "$OUT/empty.perf" --no-children --sort sym --stdio -g none 2>/dev/null |
			grep '%' | head -n 20 | sed 's/^/    /'
		printf '\n  and inclusive time (children included), the first 30:\n'
		perf report -i "$OUT/empty.perf" --children --sort sym --stdio -g none 2>/dev/null |
			grep '%' | head -n 30 | sed 's/^/    /'
	else
		printf '\n  perf: not available or not permitted (see %s)\n' "$OUT/perf.err"
	fi
fi

# ================================== 2. corpus: time to a bug, twin rate

shopt -s nullglob
progs=("$root"/tests/corpus/*.c)
shopt -u nullglob

# Build the corpus first, two programs at a time (unless the binaries are
# fresh): NAME.weft (weft-cc), NAME.twin.weft (-DFIXED) and NAME.native
# (plain cc). A program that does not build (the corpus is being added
# to) has no binary and is reported as such below.
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
		"$WEFTCC" -O1 -DFIXED -o "$bin.twin.weft" "$src"
		"$PLAIN_CC" -O1 -pthread -o "$bin.native" "$src"
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

# Table 2 gets what is left of the total budget, less a reserve for the
# later tables; each program gets an equal share of what is left when it
# starts.
corpus_t0=$NOW
corpus_deadline=$((script_t0 + (TOTAL_BUDGET - LATER_RESERVE) * 1000000))
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

W=13 # width of the program column
for src in "${progs[@]}"; do
	name=$(basename "$src" .c)
	[ "${#name}" -gt "$W" ] && W=${#name}
done

printf '\n2. Corpus (%d programs): executions and wall time to the first finding,\n' "${#progs[@]}"
printf '   snapshot vs fork, random strategy, WEFT_ITERATIONS=%s, seeds 1..%s, median\n' "$CAP" "$SEEDS"
printf '   [min..max] (both modes run the same executions: same seed, same\n'
printf '   schedules; "!=" marks a program where they did not find it at the same\n'
printf '   one); executions per second of the -DFIXED twin, each mode stopped by\n'
printf '   WEFT_TIME_BUDGET=%s s, (t_n - t_1) / (n - 1). Every time to a finding\n' "$TWIN_BUDGET"
printf '   includes starting the process (timeout+/bin/true: %s here) and the\n' "$(fmt_time "$start_us")"
printf '   report (snapshot: shrinking and the replay in a fresh process). Built in\n'
printf '   %s; %s s for the runs, shared equally by the programs.)\n\n' \
	"$(fmt_time "$build_us")" $(((corpus_deadline - corpus_t0) / 1000000))
printf "  %-${W}s %-5s %-15s %-25s   %s\n" "" "" "" \
	"  time to 1st finding" "twin, executions/s"
printf "  %-${W}s %-5s %-15s %8s %8s %7s   %9s %8s %7s\n" program found \
	"execs to 1st" snapshot fork "fork/sn" snapshot fork "sn/fork"

# find_one PROG MODE SEED: one run of a bug program, random strategy;
# appends to F_E[MODE] (executions to the finding; CAP+1 when none),
# F_T[MODE] (microseconds); F_F[MODE] counts findings, F_K[MODE] = the
# first finding's kind, F_CUT[MODE] counts runs the time budget stopped.
declare -A F_E F_T F_F F_K F_CUT
find_one() {
	local prog=$1 mode=$2 seed=$3 e='' left_ms ran
	now
	left_ms=$(((prog_t0 + prog_budget_us / 2 - NOW) / 1000))
	[ "$left_ms" -lt 1000 ] && left_ms=1000
	run_timed "$OUT/run.out" "$OUT/run.err" "$WEFT_RUN_TIMEOUT" \
		WEFT_ISOLATE="$mode" WEFT_SEED="$seed" WEFT_ITERATIONS="$CAP" \
		WEFT_TIME_BUDGET="${left_ms}ms" -- "$prog"
	if [ "$RC" -eq 1 ]; then
		e=$(finding_at "$OUT/run.err")
		[ -z "${F_K[$mode]:-}" ] && F_K[$mode]=$(finding_kind "$OUT/run.err")
	elif [ "$RC" -eq 0 ]; then
		ran=$(ok_count "$OUT/run.err")
		if [ -n "$ran" ] && [ "$ran" -lt "$CAP" ]; then
			F_CUT[$mode]=$((${F_CUT[$mode]:-0} + 1))
		fi
	else
		sed 's/^/    /' "$OUT/run.err" | tail -n 5 >&2
		fail "$name $mode seed $seed: exit status $RC"
	fi
	if [ -n "$e" ]; then
		F_F[$mode]=$((${F_F[$mode]:-0} + 1))
		F_E[$mode]="${F_E[$mode]:-} $e"
	else
		F_E[$mode]="${F_E[$mode]:-} $((CAP + 1))"
	fi
	F_T[$mode]="${F_T[$mode]:-} $US"
}

# jlist_execs E...: a JSON list of executions (null: not found).
jlist_execs() {
	printf '%s\n' "$@" | awk -v cap="$CAP" '{ printf "%s%s", (NR > 1 ? ", " : ""), ($1 > cap ? "null" : $1) }'
}

# execs_col LIST: EX_COL = "median [min..max]" of executions (CAP+1:
# not found), EX_MED = the median ("" when not found).
execs_col() {
	local med mn mx n
	# shellcheck disable=SC2086
	set -- $1
	n=$#
	med=$(lmedian "$@")
	mn=$(minof "$@")
	mx=$(maxof "$@")
	EX_MED=
	if [ "$med" -gt "$CAP" ]; then
		EX_COL="not found"
		return
	fi
	EX_MED=$med
	[ "$mx" -gt "$CAP" ] && mx=">$CAP"
	if [ "$n" -eq 1 ] || [ "$mn" = "$mx" ]; then
		EX_COL=$med
	else
		EX_COL="$med [$mn..$mx]"
	fi
}

MIN_SHARE_US=2000000
declare -A few_seeds=() P_KIND=() P_PLAIN=()
find_ratios=() twin_ratios=() below_goal=() not_same=() cut_runs=()
few_native=() late=() table2_names=()
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
	if [ ! -x "$bin.weft" ] || [ ! -x "$bin.twin.weft" ]; then
		printf "  %-${W}s %s\n" "$name" "weft-cc build failed (see $bin.build.log); skipped"
		notes+=("$name: weft-cc build failed (the corpus is being added to?); skipped")
		continue
	fi
	table2_names+=("$name")

	# The bug: seed 1 in both modes, then the twin's rates, then more
	# seeds while half the share lasts.
	F_E=() F_T=() F_F=() F_K=() F_CUT=()
	find_one "$bin.weft" snapshot 1
	find_one "$bin.weft" fork 1
	tw_s='' tw_f=''
	if weft_rate "$TWIN_BUDGET" WEFT_ISOLATE=snapshot -- "$bin.twin.weft"; then
		tw_s=$PER_US
	else
		rate_failed "$name -DFIXED snapshot"
	fi
	if weft_rate "$TWIN_BUDGET" WEFT_ISOLATE=fork -- "$bin.twin.weft"; then
		tw_f=$PER_US
	else
		rate_failed "$name -DFIXED fork"
	fi
	for ((seed = 2; seed <= SEEDS; seed++)); do
		now
		[ $((NOW - prog_t0)) -ge $((prog_budget_us / 2)) ] && break
		find_one "$bin.weft" snapshot "$seed"
		find_one "$bin.weft" fork "$seed"
	done

	# The row.
	# shellcheck disable=SC2086
	set -- ${F_E[snapshot]}
	nseeds=$#
	execs_col "${F_E[fork]}"
	e_fork=$EX_MED
	execs_col "${F_E[snapshot]}"
	e_snap=$EX_MED
	same=
	if [ "${F_E[snapshot]}" != "${F_E[fork]}" ]; then
		same="!="
		not_same+=("$name (snapshot:${F_E[snapshot]}; fork:${F_E[fork]})")
	fi
	# shellcheck disable=SC2086
	t_snap=$(lmedian ${F_T[snapshot]})
	# shellcheck disable=SC2086
	t_fork=$(lmedian ${F_T[fork]})
	fr=$(fmt_x "$t_fork" "$t_snap")
	[ -n "$e_snap" ] && [ -n "$e_fork" ] && find_ratios+=("$(ratio "$t_fork" "$t_snap")")
	tr=$(fmt_x "$tw_f" "$tw_s")
	if [ -n "$tw_s" ] && [ -n "$tw_f" ]; then
		twin_ratios+=("$(ratio "$tw_f" "$tw_s")")
		awk -v f="$tw_f" -v s="$tw_s" -v g="$GOAL_SPEEDUP" 'BEGIN { exit !(f / s < g) }' &&
			below_goal+=("$name ($tr)")
	fi
	note=
	if [ "$nseeds" -lt "$SEEDS" ]; then
		note=" [$nseeds of $SEEDS seeds]"
		few_seeds[$name]=1
	fi
	if [ "${F_CUT[snapshot]:-0}" -gt 0 ] || [ "${F_CUT[fork]:-0}" -gt 0 ]; then
		note="$note [time budget stopped a run]"
		cut_runs+=("$name")
	fi
	P_KIND[$name]=${F_K[snapshot]:-${F_K[fork]:-}}
	printf "  %-${W}s %-5s %-15s %8s %8s %7s   %9s %8s %7s%s\n" "$name" \
		"${F_F[snapshot]:-0}/$nseeds" "$EX_COL$same" "$(fmt_time "$t_snap")" \
		"$(fmt_time "$t_fork")" "$fr" "${tw_s:+$(fmt_rate "$tw_s")}" \
		"${tw_f:+$(fmt_rate "$tw_f")}" "$tr" "$note"
	for mode in snapshot fork; do
		# shellcheck disable=SC2086
		set -- ${F_E[$mode]}
		mn=$(minof "$@")
		mx=$(maxof "$@")
		execs_col "${F_E[$mode]}"
		# shellcheck disable=SC2086
		json+=("{\"section\": \"corpus_finding\", \"program\": $(jstr "$name"), \"mode\": \"$mode\", \"strategy\": \"random\", \"cap\": $CAP, \"runs\": $#, \"found\": ${F_F[$mode]:-0}, \"executions\": [$(jlist_execs ${F_E[$mode]})], \"median_executions\": ${EX_MED:-null}, \"min_executions\": $([ "$mn" -gt "$CAP" ] && echo null || echo "$mn"), \"max_executions\": $([ "$mx" -gt "$CAP" ] && echo null || echo "$mx"), \"median_ms\": $(ms "$(lmedian ${F_T[$mode]})"), \"kind\": $(jstr "${F_K[$mode]:-}")}")
	done
	json+=("{\"section\": \"corpus_twin\", \"program\": $(jstr "$name"), \"snapshot_us_per_execution\": ${tw_s:-null}, \"fork_us_per_execution\": ${tw_f:-null}, \"snapshot_per_s\": $([ -n "$tw_s" ] && fmt_rate "$tw_s" || echo null), \"fork_per_s\": $([ -n "$tw_f" ] && fmt_rate "$tw_f" || echo null), \"speedup\": $(ratio "$tw_f" "$tw_s"), \"time_to_finding_ratio\": $(ratio "$t_fork" "$t_snap")}")

	# Plain cc, real threads, while the share lasts.
	now
	if [ "$NOW" -ge "$corpus_deadline" ]; then
		P_PLAIN[$name]="not run: table 2's time is up"
		late+=("$name")
		continue
	fi
	if [ ! -x "$bin.native" ]; then
		P_PLAIN[$name]="build failed (see $bin.build.log)"
		notes+=("$name: plain build failed")
		continue
	fi
	runs=0 bugs=0 tos=0
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
	if [ "$bugs" -gt 0 ]; then
		pl="$bugs/$runs runs, $(fmt_time $((n_us / bugs))) per bug"
	else
		pl="0/$runs runs, not seen in $(fmt_time "$n_us")"
	fi
	[ "$tos" -gt 0 ] && pl="$pl, $tos timed out"
	if [ "$runs" -lt "$NATIVE_RUNS" ]; then
		few_native+=("$name")
	fi
	P_PLAIN[$name]=$pl
	json+=("{\"section\": \"corpus_plain\", \"program\": $(jstr "$name"), \"runs\": $runs, \"bug_runs\": $bugs, \"timeouts\": $tos, \"timeout_s\": $NATIVE_TIMEOUT, \"total_ms\": $(ms "$n_us")}")
done
now
echo
# Summary: the speed-ups over the programs.
summary() { # LABEL RATIOS...: "min M (program), median D over N programs"
	local label=$1
	shift
	[ $# -eq 0 ] && return
	printf '  %s: ' "$label"
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
		printf "minimum %.1fx, median %.1fx, maximum %.1fx over %d programs\n",
			a[1], a[int((NR + 1) / 2)], a[NR], NR }'
}
summary "twin executions/s, snapshot over fork" "${twin_ratios[@]}"
summary "time to the first finding, fork over snapshot" "${find_ratios[@]}"
if [ "${#below_goal[@]}" -gt 0 ]; then
	printf '  goal (%sx on each program) missed by the twins of: %s\n' "$GOAL_SPEEDUP" "${below_goal[*]}"
	notes+=("goal missed: twins run less than ${GOAL_SPEEDUP}x faster in snapshot than in fork mode: ${below_goal[*]}")
elif [ "${#twin_ratios[@]}" -gt 0 ]; then
	printf '  goal (%sx on each program): every twin reaches it\n' "$GOAL_SPEEDUP"
fi
printf '  (Most bugs here are found within a few executions: the time to one is\n'
printf '  then the process start and the report, which snapshot mode spends on\n'
printf '  shrinking and on confirming in a fresh process; its ratio says little\n'
printf '  about exploration speed, the twins'"'"' rates do.)\n'
if [ "${#twin_ratios[@]}" -gt 0 ]; then
	# shellcheck disable=SC2046
	json+=("{\"section\": \"corpus_summary\", \"programs\": ${#twin_ratios[@]}, \"goal_speedup\": $GOAL_SPEEDUP, \"twin_speedup_min\": $(fmin "${twin_ratios[@]}"), \"twin_speedup_median\": $(fmedian "${twin_ratios[@]}"), \"finding_time_ratio_min\": $([ "${#find_ratios[@]}" -gt 0 ] && fmin "${find_ratios[@]}" || echo null), \"finding_time_ratio_median\": $([ "${#find_ratios[@]}" -gt 0 ] && fmedian "${find_ratios[@]}" || echo null), \"below_goal\": [$(for b in "${below_goal[@]}"; do printf '%s, ' "$(jstr "${b%% *}")"; done | sed 's/, $//')]}")
fi

# What weft found, beside the plain builds run with real threads.
printf '\n  What weft finds, and the program built with plain %s -O1 -pthread, run\n' "$PLAIN_CC"
printf '  with real threads up to %s times while its share lasts (each under\n' "$NATIVE_RUNS"
printf '  timeout %s s; a run shows the bug if it exits nonzero or times out):\n\n' "$NATIVE_TIMEOUT"
printf "  %-${W}s %-24s %s\n" program "weft's finding" "plain cc"
for name in "${table2_names[@]}"; do
	printf "  %-${W}s %-24s %s\n" "$name" "${P_KIND[$name]:--}" "${P_PLAIN[$name]:-}"
done
now
printf '\n  table 2 runs took %s\n' "$(fmt_time $((NOW - corpus_t0)))"
if [ "${#few_seeds[@]}" -gt 0 ]; then
	notes+=("time budget: ${#few_seeds[@]} of $nprog programs ran fewer than $SEEDS seeds (marked [k of $SEEDS seeds]): $(printf '%s\n' "${!few_seeds[@]}" | sort | paste -sd ' ')")
fi
if [ "${#few_native[@]}" -gt 0 ]; then
	notes+=("time budget: ${#few_native[@]} of $nprog programs had fewer than $NATIVE_RUNS plain runs: ${few_native[*]}")
fi
if [ "${#late[@]}" -gt 0 ]; then
	notes+=("time budget: table 2's time was up before the plain runs of ${late[*]}")
fi
if [ "${#cut_runs[@]}" -gt 0 ]; then
	notes+=("WEFT_TIME_BUDGET stopped runs before $CAP executions without a finding: ${cut_runs[*]}")
fi
if [ "${#not_same[@]}" -gt 0 ]; then
	notes+=("snapshot and fork modes found the bug at different executions (same seeds): ${not_same[*]}")
fi

# ======================================================= 3. dfs, snapshot

printf '\n3. dfs in snapshot mode (WEFT_STRATEGY=dfs, preemption bound 2):\n'
printf '   each -DFIXED twin until the search is exhausted or WEFT_TIME_BUDGET=%s s\n' "$DFS_BUDGET"
printf '   stops it (no finding allowed), and each bug to its first finding\n'
printf '   (WEFT_TIME_BUDGET=%s s; at bound 3 when bound 2 is exhausted without one;\n' "$DFS_BUG_BUDGET"
printf '   shrinking and the fresh-process confirmation included in the time)\n\n'
printf "  %-${W}s %-30s %8s   %-5s %-8s %8s  %s\n" program "-DFIXED twin: executions" time bound "execs" time "finding"

dfs_bounded=() dfs_missed=()
for name in "${table2_names[@]}"; do
	bin=$OUT/corpus/$name
	# The twin.
	run_timed "$OUT/run.out" "$OUT/run.err" "$WEFT_RUN_TIMEOUT" \
		WEFT_STRATEGY=dfs WEFT_PREEMPTIONS=2 WEFT_ITERATIONS="$MANY" \
		WEFT_TIME_BUDGET="$DFS_BUDGET" -- "$bin.twin.weft"
	t_us=$US
	ran=$(ok_count "$OUT/run.err")
	exhausted=false
	if [ "$RC" -ne 0 ] || [ -z "$ran" ]; then
		sed 's/^/    /' "$OUT/run.err" | tail -n 6 >&2
		if [ "$RC" -eq 1 ]; then
			fail "$name -DFIXED dfs: reported a finding"
			tcol="FINDING (see above)"
		else
			fail "$name -DFIXED dfs: exit status $RC"
			tcol="failed (exit $RC)"
		fi
		ran=
	elif grep -q 'the search is exhausted' "$OUT/run.err"; then
		exhausted=true
		tcol="$ran, exhausted"
	else
		tcol="$ran, stopped by the budget"
		dfs_bounded+=("$name")
	fi
	json+=("{\"section\": \"dfs\", \"program\": $(jstr "$name"), \"variant\": \"twin\", \"preemptions\": 2, \"executions\": ${ran:-null}, \"exhausted\": $exhausted, \"budget_s\": $DFS_BUDGET, \"ms\": $(ms "$t_us"), \"status\": $RC}")

	# The bug: bound 2, then 3 if bound 2 is exhausted without a finding.
	bcol='' ecol='' btime='' kind=''
	for bound in 2 3; do
		run_timed "$OUT/run.out" "$OUT/run.err" "$WEFT_RUN_TIMEOUT" \
			WEFT_STRATEGY=dfs WEFT_PREEMPTIONS="$bound" WEFT_ITERATIONS="$MANY" \
			WEFT_TIME_BUDGET="$DFS_BUG_BUDGET" -- "$bin.weft"
		bcol=$bound btime=$US
		e='' kind=''
		if [ "$RC" -eq 1 ]; then
			e=$(finding_at "$OUT/run.err")
			kind=$(finding_kind "$OUT/run.err")
			ecol=${e:-?}
			json+=("{\"section\": \"dfs\", \"program\": $(jstr "$name"), \"variant\": \"bug\", \"preemptions\": $bound, \"found\": true, \"executions\": ${e:-null}, \"ms\": $(ms "$US"), \"kind\": $(jstr "$kind")}")
			break
		fi
		if [ "$RC" -ne 0 ]; then
			sed 's/^/    /' "$OUT/run.err" | tail -n 5 >&2
			fail "$name dfs: exit status $RC"
			ecol="failed (exit $RC)"
			break
		fi
		ran=$(ok_count "$OUT/run.err")
		json+=("{\"section\": \"dfs\", \"program\": $(jstr "$name"), \"variant\": \"bug\", \"preemptions\": $bound, \"found\": false, \"executions\": ${ran:-null}, \"exhausted\": $(grep -q 'the search is exhausted' "$OUT/run.err" && echo true || echo false), \"ms\": $(ms "$US")}")
		if grep -q 'the search is exhausted' "$OUT/run.err"; then
			ecol="none in $ran"
			continue
		fi
		ecol="none in $ran (budget)"
		break
	done
	case $ecol in none*) dfs_missed+=("$name") ;; esac
	printf "  %-${W}s %-30s %8s   %-5s %-8s %8s  %s\n" "$name" "$tcol" \
		"$(fmt_time "$t_us")" "$bcol" "$ecol" "$(fmt_time "$btime")" "${kind:--}"
done
if [ "${#dfs_bounded[@]}" -gt 0 ]; then
	notes+=("dfs: the time budget ($DFS_BUDGET s) stopped the search of these twins before it was exhausted: ${dfs_bounded[*]}")
fi
if [ "${#dfs_missed[@]}" -gt 0 ]; then
	notes+=("dfs found no bug in: ${dfs_missed[*]}")
fi

# =============================================== 4. writable data size

printf '\n4. Executions per second as the writable data grows\n'
printf '   (tests/bench-weftcc/datasize.c: SIZE bytes of .bss; an execution writes\n'
printf '   one byte in 1 page or in every page of it, uninstrumented, and starts\n'
printf '   two empty threads; each run stopped by WEFT_TIME_BUDGET=%s s).\n' "$DS_BUDGET"
printf '   snapshot copies all SIZE bytes back before every execution; fork pays\n'
printf '   per page written: "cold" = the data untouched before main (a page is\n'
printf '   first mapped in the child), "warm" = written by a constructor (resident\n'
printf '   in the process weft forks from: a copy-on-write fault). Snapshot is the\n'
printf '   same cold or warm (measured cold).\n\n'
printf '  %-7s %11s %11s   %11s %11s   %11s %11s\n' "" "snapshot" "" "fork, cold" "" "fork, warm" ""
printf '  %-7s %11s %11s   %11s %11s   %11s %11s\n' SIZE "1 page" "all pages" "1 page" "all pages" "1 page" "all pages"
# columns: mode pages-kind warm
ds_cols=("snapshot 1 cold" "snapshot all cold" "fork 1 cold" "fork all cold"
	"fork 1 warm" "fork all warm")
declare -A DS=()
# cross[K]: the smallest size where fork beats snapshot, K = 1cold,
# allcold, 1warm, allwarm (the fork column against the snapshot column
# with the same pages written).
declare -A cross=()
for ((s = 0; s < ${#ds_bytes[@]}; s++)); do
	b=${ds_bytes[$s]}
	pages_all=$(((b + 4095) / 4096))
	line=$(printf '  %-7s' "${ds_label[$s]}")
	for ((c = 0; c < ${#ds_cols[@]}; c++)); do
		read -r mode touch warm <<<"${ds_cols[$c]}"
		p=1
		[ "$touch" = all ] && p=$pages_all
		args=("$p")
		[ "$warm" = warm ] && args+=(warm)
		if weft_rate "$DS_BUDGET" WEFT_ISOLATE="$mode" -- "$OUT/datasize/$b" "${args[@]}"; then
			DS[$s,$c]=$PER_US
			cell=$(fmt_rate "$PER_US")
			json+=("{\"section\": \"datasize\", \"bytes\": $b, \"mode\": \"$mode\", \"pages_written\": $p, \"warm\": $([ "$warm" = warm ] && echo true || echo false), \"us_per_execution\": $PER_US, \"executions_per_s\": $(fmt_rate "$PER_US"), \"minor_faults_per_execution\": ${PER_FAULTS:-null}}")
		else
			rate_failed "datasize ${ds_label[$s]} $mode $touch $warm"
			DS[$s,$c]=
			cell=failed
		fi
		{ [ "$c" -eq 2 ] || [ "$c" -eq 4 ]; } && line="$line  "
		line="$line $(printf '%11s' "$cell")"
		if [ "$mode" = fork ]; then
			sn=${DS[$s,$([ "$touch" = all ] && echo 1 || echo 0)]}
			key=$touch$warm
			if [ -z "${cross[$key]:-}" ] && [ -n "$sn" ] && [ -n "${DS[$s,$c]}" ] &&
				awk -v sn="$sn" -v f="${DS[$s,$c]}" 'BEGIN { exit !(f < sn) }'; then
				cross[$key]=${ds_label[$s]}
			fi
		fi
	done
	echo "$line"
done
echo
beyond="beyond ${ds_label[-1]}"
printf '  fork mode is faster than snapshot from this much writable data on:\n'
printf '  writing one page, %s (cold) or %s (warm); writing all of it,\n' \
	"${cross[1cold]:-$beyond}" "${cross[1warm]:-$beyond}"
printf '  %s (cold) or %s (warm).\n' "${cross[allcold]:-$beyond}" "${cross[allwarm]:-$beyond}"
json+=("{\"section\": \"datasize_summary\", \"fork_faster_from\": {\"one_page_cold\": $(jstr "${cross[1cold]:-none}"), \"one_page_warm\": $(jstr "${cross[1warm]:-none}"), \"all_pages_cold\": $(jstr "${cross[allcold]:-none}"), \"all_pages_warm\": $(jstr "${cross[allwarm]:-none}")}}")

# ============================================ 5. memory accesses, TLS

printf '\n5. Cost of one memory access, main thread only (tests/bench-weftcc/access.c)\n'
printf '   ((t_N - t_0) / N, whole-process wall time, median of 5 runs at N = 0 and\n'
printf '   of 3 at a large N chosen so the difference is at least 0.3 s; best: from\n'
printf '   the fastest runs. Each access is a plain load or store, loop included.\n'
printf '   weft-cc runs WEFT_ITERATIONS=1 WEFT_ISOLATE=none WEFT_MAX_STEPS=10^12: a\n'
printf '   long loop makes many steps)\n\n'
printf '  %-38s %-7s %12s %10s %10s %10s\n' build mode N "t_0" "ns/access" "best"

# access_row LABEL NAME MODE START_N VAR=... -- PROGRAM: prints a row;
# acc_ns[NAME] = ns per access.
declare -A acc_ns=()
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
	json+=("{\"section\": \"access\", \"name\": $(jstr "$name"), \"label\": $(jstr "$label"), \"mode\": \"$mode\", \"unit\": \"ns/access\", \"median\": $ns, \"best\": $best, \"n\": $n, \"t0_ms\": $(ms "$t0"), \"tn_ms\": $(ms "$tn")}")
}

ONE=(WEFT_ITERATIONS=1 WEFT_ISOLATE=none WEFT_MAX_STEPS=1000000000000)
for mode in stack global; do
	access_row "plain $PLAIN_CC -O1" "plain_$mode" "$mode" 1048576 \
		-- "$OUT/access-plain"
	access_row "weft-cc -O1 (default granularity)" "weftcc_$mode" "$mode" 1048576 \
		"${ONE[@]}" -- "$OUT/access-weft"
done

# accepts VAR VALUE: weft accepts WEFT_VAR=VALUE. weft warns about (and
# ignores) WEFT_* variables it does not know, so acceptance is: not exit
# status 2, and no such warning. ACCEPT_WHY says why not.
accepts() {
	run_timed "$OUT/acc.out" "$OUT/acc.err" 60 "$1=$2" \
		WEFT_ITERATIONS=1 WEFT_ISOLATE=none -- "$OUT/access-weft" global 0
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
		WEFT_RACE=off "${ONE[@]}" -- "$OUT/access-weft"
else
	fail "weft rejects WEFT_RACE=off ($ACCEPT_WHY)"
fi

if accepts WEFT_GRANULARITY memory; then
	for mode in global stack; do
		# Every access may be a step: the step bound is lifted.
		access_row "weft-cc, WEFT_GRANULARITY=memory" "weftcc_memory_$mode" \
			"$mode" 16384 WEFT_GRANULARITY=memory "${ONE[@]}" -- "$OUT/access-weft"
	done
	granularity=true
else
	fail "weft rejects WEFT_GRANULARITY=memory ($ACCEPT_WHY)"
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

# The TLS switch: tests/bench-weftcc/tls.c hands a token between two
# threads N times (2N context switches, none preempted under dfs with
# bound 0), one execution, WEFT_TLS=1 and 0, N = 0 and N = TLS_N, in
# rounds; per switch: (t_N - t_0) / 2N in wall and in CPU time. The
# difference is a few ns per switch: CPU time, which other processes on
# the machine inflate less, decides; the spread of the rounds says how
# far to trust it.
TLS_N=400000
TLS_REPS=5
printf '\n  Cost of a context switch with per-thread TLS (tests/bench-weftcc/tls.c:\n'
printf '  two threads hand a token back and forth N = %s times with semaphores,\n' "$TLS_N"
printf '  2N switches, one execution, WEFT_STRATEGY=dfs WEFT_PREEMPTIONS=0;\n'
printf '  (t_N - t_0) / 2N per round, median of %s rounds and their spread):\n\n' "$TLS_REPS"
TLS_VARS=(WEFT_STRATEGY=dfs WEFT_PREEMPTIONS=0 WEFT_ITERATIONS=1
	WEFT_MAX_STEPS=1000000000000)
declare -A TLW=() TLC=() # per-switch ns of each round, wall and CPU, by WEFT_TLS
tls_warned=false
for ((r = 0; r < TLS_REPS; r++)); do
	for t in 1 0; do
		ok=true
		for n in 0 "$TLS_N"; do
			run_timed "$OUT/tls.out" "$OUT/tls.err" "$WEFT_RUN_TIMEOUT" \
				WEFT_TLS="$t" "${TLS_VARS[@]}" -- "$OUT/tls" "$n"
			if [ "$RC" -ne 0 ]; then
				sed 's/^/    /' "$OUT/tls.err" | tail -n 5 >&2
				fail "tls WEFT_TLS=$t N=$n: exit status $RC"
				ok=false
				break
			fi
			grep -q 'unknown variable WEFT_TLS' "$OUT/tls.err" && tls_warned=true
			[ "$n" = 0 ] && w0=$US c0=$CPU_US
		done
		$ok || continue
		TLW[$t]="${TLW[$t]:-} $(awk -v a="$US" -v b="$w0" -v n="$TLS_N" 'BEGIN { printf "%.2f", (a - b) * 1000 / (2 * n) }')"
		TLC[$t]="${TLC[$t]:-} $(awk -v a="$CPU_US" -v b="$c0" -v n="$TLS_N" 'BEGIN { printf "%.2f", (a - b) * 1000 / (2 * n) }')"
	done
done
printf '  %-34s %22s %22s\n' "" "wall, ns/switch" "CPU, ns/switch"
declare -A tls_cpu=()
for t in 1 0; do
	label="WEFT_TLS=$t$([ "$t" = 1 ] && echo ' (per-thread, default)' || echo ' (shared)')"
	if [ -z "${TLC[$t]:-}" ]; then
		printf '  %-34s %s\n' "$label" "failed (see above)"
		continue
	fi
	# shellcheck disable=SC2086
	{
		wm=$(fmedian ${TLW[$t]}) wlo=$(fmin ${TLW[$t]})
		whi=$(printf '%s\n' ${TLW[$t]} | sort -g | tail -n 1)
		cm=$(fmedian ${TLC[$t]}) clo=$(fmin ${TLC[$t]})
		chi=$(printf '%s\n' ${TLC[$t]} | sort -g | tail -n 1)
	}
	tls_cpu[$t]=$cm
	printf '  %-34s %8s [%5s..%5s] %8s [%5s..%5s]\n' "$label" "$wm" "$wlo" "$whi" "$cm" "$clo" "$chi"
	json+=("{\"section\": \"tls\", \"weft_tls\": $t, \"n\": $TLS_N, \"unit\": \"ns/switch\", \"wall_median\": $wm, \"wall_min\": $wlo, \"wall_max\": $whi, \"cpu_median\": $cm, \"cpu_min\": $clo, \"cpu_max\": $chi}")
done
if [ -n "${tls_cpu[1]:-}" ] && [ -n "${tls_cpu[0]:-}" ]; then
	# shellcheck disable=SC2086
	awk -v a="${tls_cpu[1]}" -v b="${tls_cpu[0]}" \
		-v spread="$(printf '%s\n' ${TLC[1]} ${TLC[0]} | sort -g | awk '{ v[NR] = $1 } END { print v[NR] - v[1] }')" 'BEGIN {
		printf "\n  switching TLS adds %.1f ns of CPU time per context switch", a - b
		if ((a - b < 0 ? b - a : a - b) < spread) printf "\n  (less than the rounds'"'"' spread, %.0f ns: too small to tell apart here)", spread
		printf ";\n  a switch with the semaphore operations around it costs %.0f ns.\n", a
		printf "  What the per-thread blocks cost (made and put back with each thread)\n"
		printf "  is in table 1 (the WEFT_TLS=0 row).\n" }'
fi
if [ "$tls_warned" = true ]; then
	notes+=("weft prints 'weft: warning: unknown variable WEFT_TLS ignored' although weft-cc reads WEFT_TLS (the rates differ): the warning is wrong")
fi

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
		printf '  "settings": {"seeds": %s, "cap": %s, "native_runs": %s, "native_timeout_s": %s, "total_budget_s": %s, "reps": %s, "rate_budget_s": %s, "twin_budget_s": %s, "dfs_budget_s": %s, "datasize_budget_s": %s, "plain_cc": %s, "granularity_memory_accepted": %s, "process_start_ms": %s, "goal_executions_per_s": %s, "goal_speedup": %s},\n' \
			"$SEEDS" "$CAP" "$NATIVE_RUNS" "$NATIVE_TIMEOUT" "$TOTAL_BUDGET" "$REPS" \
			"$RATE_BUDGET" "$TWIN_BUDGET" "$DFS_BUDGET" "$DS_BUDGET" \
			"$(jstr "$PLAIN_CC")" "$granularity" "$(ms "$start_us")" \
			"$GOAL_RATE" "$GOAL_SPEEDUP"
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
