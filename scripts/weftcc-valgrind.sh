#!/usr/bin/env bash
# weftcc-valgrind.sh BUILD: weft-cc's runtime (interposers, main takeover
# and fork server, ThreadSanitizer hooks and race detector) under
# valgrind, which `make valgrind` leaves out (its tests run programs that
# weft-cc builds). Builds tests/weftcc/races.c and a few corpus programs
# with BUILD/cc, runs each under valgrind with a small budget, and checks
# the verdict (status and report text) and that valgrind reported no
# error (its status 99).
#
# Isolated runs (a fork per execution) use --leak-check=no: each child
# exiting would scan the whole heap again, and the forks are copies of a
# parent whose leaks the in-process runs check. In-process runs
# (WEFT_ISOLATE=0) are leak-checked in full (definite leaks are errors).
set -u
build=${1:-build}
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 2
root=$here/..
out=$(mktemp -d) || exit 2
trap 'rm -rf "$out"' EXIT
export WEFT_CC_LIBDIR=$root/$build/cc
unset WEFT_QUIET

vg=(valgrind --error-exitcode=99 -q --show-leak-kinds=definite
	--errors-for-leak-kinds=definite)

sh "$here/weft-cc" -O0 -o "$out/races" "$root/tests/weftcc/races.c" ||
	exit 1
for p in lost_wakeup abba bank; do
	sh "$here/weft-cc" -O1 -o "$out/$p" "$root/tests/corpus/$p.c" || exit 1
	sh "$here/weft-cc" -O1 -DFIXED -o "$out/${p}_fixed" \
		"$root/tests/corpus/$p.c" || exit 1
done

bad=0
n=0
# check LEAKS STATUS TEXT PROGRAM [ARG] -- [VAR=value...]
check()
{
	local leaks=$1 want=$2 text=$3 prog=$4 arg=
	shift 4
	if [ "${1-}" != -- ]; then
		arg=$1
		shift
	fi
	shift
	n=$((n + 1))
	env WEFT_SEED=1 WEFT_ITERATIONS=20 "$@" "${vg[@]}" \
		--leak-check="$leaks" "$out/$prog" $arg >/dev/null 2>"$out/err"
	local st=$?
	if [ "$st" -eq "$want" ] && grep -q -- "$text" "$out/err"; then
		echo "weft-cc valgrind: $prog $arg $*: ok (status $st)"
	else
		echo "weft-cc valgrind: $prog $arg $*: expected status $want and" \
			"'$text', got status $st (99: a valgrind error):"
		head -n 40 "$out/err"
		bad=$((bad + 1))
	fi
}

# isolated: a fork server, one child per execution
check no 1 "global 'counter'" races counter --
check no 1 "(producer)" races publish_relaxed --
check no 0 "OK: 20 executions" races publish --
check no 1 "SIGABRT" races atomic_rmw --
check no 1 "SIGABRT" races plain_rmw -- WEFT_RACE=off WEFT_GRANULARITY=memory
check no 0 "OK: 20 executions" races handoff --
check no 1 "deadlock" lost_wakeup --
check no 0 "OK: 20 executions" lost_wakeup_fixed --
check no 1 "lock-order inversion" bank --
check no 0 "OK: 20 executions" bank_fixed --
# in-process: one process, leak-checked
check full 1 "global 'counter'" races counter -- WEFT_ISOLATE=0
check full 1 "deadlock" abba -- WEFT_ISOLATE=0 WEFT_LOCK_ORDER=0
check full 0 "OK: 20 executions" lost_wakeup_fixed -- WEFT_ISOLATE=0
check full 0 "OK: 20 executions" bank_fixed -- WEFT_ISOLATE=0

echo "weft-cc valgrind: $((n - bad)) of $n runs clean"
[ "$bad" -eq 0 ]
