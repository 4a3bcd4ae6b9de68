#!/usr/bin/env bash
# weftcc-smoke.sh LIBDIR [RUN...]: weft-cc end to end where the cmocka
# weft-cc tests do not run (aarch64 under qemu): build
# tests/weftcc/races.c with LIBDIR's weft-cc objects (their config names
# the cross compiler), run a few scenarios through RUN (e.g. qemu and the
# loader) and check each verdict and report; the same for
# tests/realcode/tls.c (each thread's own TLS: msr tpidr_el0 in the
# switch), mcs_lock.c (a volatile spin on the waiter's own stack),
# asm_lock.c (ldaxr/stxr found at link time), alarm.c and
# tests/weftcc/snap.c (snapshot executions).
set -u
libdir=$1
shift
run=("$@")
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || exit 2
out=$(mktemp -d) || exit 2
trap 'rm -rf "$out"' EXIT
WEFT_CC_LIBDIR=$libdir sh "$here/weft-cc" -O0 -o "$out/races" \
	"$here/../tests/weftcc/races.c" || exit 1
for p in tls mcs_lock asm_lock alarm; do
	WEFT_CC_LIBDIR=$libdir sh "$here/weft-cc" -O1 -o "$out/$p" \
		"$here/../tests/realcode/$p.c" || exit 1
done
WEFT_CC_LIBDIR=$libdir sh "$here/weft-cc" -O1 -o "$out/snap" \
	"$here/../tests/weftcc/snap.c" || exit 1

bad=0
# check SCENARIO STATUS TEXT [VAR=value...] (SCENARIO: of races, or
# PROGRAM:ARG for another program)
check()
{
	local sc=$1 want=$2 text=$3 prog=races
	shift 3
	case $sc in
	*:*) prog=${sc%%:*} sc=${sc#*:} ;;
	esac
	env WEFT_SEED=1 WEFT_ITERATIONS=100 "$@" "${run[@]}" "$out/$prog" \
		"$sc" >/dev/null 2>"$out/err"
	local st=$?
	if [ "$st" -eq "$want" ] && grep -q -- "$text" "$out/err"; then
		echo "weft-cc smoke: $sc $*: ok (status $st)"
	else
		echo "weft-cc smoke: $sc $*: expected status $want and '$text'," \
			"got status $st:"
		head -n 30 "$out/err"
		bad=$((bad + 1))
	fi
}

check counter 1 "global 'counter'"
check publish_relaxed 1 "(producer)"
check publish 0 "OK: 100 executions"
check atomic_rmw 1 "SIGABRT"
check plain_rmw 1 "SIGABRT" WEFT_RACE=off WEFT_GRANULARITY=memory
check handoff 0 "OK: 100 executions"
check tls:tls 0 "OK: 100 executions"
check tls:tls_handed 1 "thread-local variable 'counter'"
check mcs_lock: 0 "OK: 100 executions"
# snapshot executions put everything back; a dfs finds the alternation
check snap:fresh 0 "OK: 100 executions, no finding (snapshot"
check snap:alternate 1 "(alternate_worker)" WEFT_STRATEGY=dfs \
	WEFT_PREEMPTIONS=-1 WEFT_ITERATIONS=1000000
check snap:leak_shared 0 "go on in forked processes"
# aarch64's exclusives in inline assembly are found at link time
check asm_lock: 1 "atomic instructions in assembly (ld"
check alarm:watchdog 1 "went off at virtual time 2.000000000s"
check alarm:handler 0 "OK: 100 executions"
[ "$bad" -eq 0 ]
