#!/bin/sh
# weft-coverage.sh: coverage reports for code explored by weft, with lcov
# and genhtml (Debian: apt-get install lcov; `sh scripts/deps.sh --check
# coverage`). Two kinds of report, never mixed:
#
#   line coverage   gcov counts of your code (and libweft if you like) over
#                   every execution weft explored: lines, functions and
#                   branches;
#   sync coverage   weft's own tracefile: per source line of a visible
#                   operation (lock, unlock, wait, post, atomic, ...) how
#                   often it was reached, contended, blocked, preempted at
#                   or woke another task; one of these is the line count.
#
# Usage:
#   weft-coverage.sh capture <build-dir> <out.info> [pattern...]
#       Capture the gcov counts (.gcda) found under build-dir, branch
#       coverage on, with a zero baseline so files never run show as 0%;
#       drop /usr/* and every extra lcov pattern (e.g. "$PWD/tests/*").
#   weft-coverage.sh sync <out.info> <tracefile...>
#       Merge sync tracefiles (WEFT_SYNC_COVERAGE). For each FILE given,
#       the worker files FILE.worker<pid> next to it are taken too.
#   weft-coverage.sh merge <out.info> <in.info...>
#       Add up tracefiles of one kind: line coverage of several shards or
#       test programs, or sync tracefiles of several shards (same measure).
#   weft-coverage.sh html <in.info> <dir> [title]
#       Render with genhtml into dir; prints the path of index.html.
#   weft-coverage.sh summary <in.info>
#       Print lines, functions and branches of a tracefile.
#
# The recipe (the way `make coverage` does it for weft itself):
#
#   1. Compile and link the code under test and its weft tests with
#      --coverage, unoptimised so lines map to code, and link with
#      -Wl,-u,__gcov_dump: weft's worker processes (WEFT_JOBS) flush their
#      counts through a weak reference to __gcov_dump, which a static
#      libgcov only provides when something asks for it; without the flag
#      the workers' counts are silently lost.
#          cc -O0 -g --coverage -c foo.c -o build/foo.o
#          cc --coverage -Wl,-u,__gcov_dump -o build/test_foo build/*.o \
#              -lweft -pthread
#      Build libweft the same way if you want its lines too (from weft's
#      tree: make BUILD=build-cov OPT='-O0 -g' \
#      SANITIZE='--coverage -Wl,-u,__gcov_dump' lib).
#   2. Forget old counts and tracefiles (worker files are named by pid,
#      so old ones are not overwritten: `sync` would add them in):
#          find build -name '*.gcda' -delete; rm -f sync/*.info*
#   3. Run the tests. Every WEFT_* variable works as usual:
#          WEFT_JOBS=4 WEFT_SHARD=2/3 \
#          WEFT_SYNC_COVERAGE=sync/test_foo.info ./build/test_foo
#      WEFT_JOBS: forked worker processes flush their gcov counts before
#      they exit, so their executions count (gcov merges .gcda files under
#      a lock); each writes its own sync tracefile FILE.worker<pid>.
#      WEFT_SHARD=k/n: this machine runs every n-th execution.
#      WEFT_SYNC_COVERAGE: a path per test program (a program writes one
#      table for all its explorations); WEFT_SYNC_MEASURE=reached,
#      contended (default), blocked, preempted or woke picks the count.
#   4. On each shard, capture:
#          weft-coverage.sh capture build cov-shard2.info "$PWD/tests/*"
#          weft-coverage.sh sync sync-shard2.info sync/*.info
#      and keep both files (CI artifacts). The tracefiles name sources by
#      absolute path: check the shards out at the same path.
#   5. Gather the shards' files and add them up:
#          weft-coverage.sh merge cov.info cov-shard*.info
#          weft-coverage.sh merge sync.info sync-shard*.info
#   6. Render, as two reports:
#          weft-coverage.sh html cov.info cov-html "foo: line coverage"
#          weft-coverage.sh html sync.info sync-html \
#              "foo: synchronization coverage (contended)"
#
# A sync tracefile's counts are not line hits: never merge it with line
# coverage (lcov would add them up). `sync` and `merge` refuse to mix the
# two, and refuse to add sync tracefiles of different measures.
#
# Environment: LCOV, GENHTML (the commands, default lcov and genhtml),
# GCOV (a gcov to use, e.g. gcov-12; for clang builds a wrapper script
# that runs `llvm-cov gcov "$@"`).
set -eu

LCOV=${LCOV:-lcov}
GENHTML=${GENHTML:-genhtml}

me=${0##*/}
errf=$(mktemp "${TMPDIR:-/tmp}/weft-coverage.XXXXXX")
trap 'rm -f "$errf"' EXIT

# run CMD...: run it, showing its stderr without the "Subroutine ...
# redefined at /usr/bin/geninfo" lines Debian's lcov 1.16 prints on every
# capture (harmless perl warnings); keeps CMD's exit status.
run()
{
    if "$@" 2>"$errf"; then
        st=0
    else
        st=$?
    fi
    grep -v '^Subroutine [A-Za-z_]* redefined at .*geninfo' "$errf" >&2 || :
    return "$st"
}

# lcov and genhtml, always with branch coverage: without the --rc on EVERY
# call they silently drop branch data. $LCOV and $GENHTML may hold a
# command with arguments.
lcov_()
{
    # shellcheck disable=SC2086
    run $LCOV --rc lcov_branch_coverage=1 "$@"
}

genhtml_()
{
    # shellcheck disable=SC2086
    run $GENHTML --rc lcov_branch_coverage=1 "$@"
}

die()
{
    echo "$me: $*" >&2
    exit 1
}

usage()
{
    sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

need()
{
    command -v "$1" >/dev/null 2>&1 ||
        die "$1 not found (Debian: apt-get install lcov; or sh scripts/deps.sh --check coverage)"
}

# The kind of a tracefile: "sync:<measure>" for weft's sync tracefiles
# (TN:weft_sync_<measure>), "line" for anything else, "empty" for a file
# without a single source record.
kind()
{
    if ! grep -q '^SF:' "$1"; then
        echo empty
    elif grep -q '^TN:weft_sync_' "$1"; then
        sed -n 's/^TN:weft_sync_//p' "$1" | sort -u | sed 's/^/sync:/' |
            head -n 2 | tr '\n' ' ' | sed 's/ $//'
    else
        echo line
    fi
}

# add OUT FILE...: lcov -a over the files that hold records, all of one
# kind; "sync" as $1 requires sync tracefiles.
add()
{
    want=$1
    out=$2
    shift 2
    first_kind=
    set -f
    args=
    n=0
    for f in "$@"; do
        [ -f "$f" ] || die "no such tracefile: $f"
        k=$(kind "$f")
        case $k in
        empty)
            echo "$me: $f has no records, skipped" >&2
            continue
            ;;
        *' '*) die "$f mixes measures ($k)" ;;
        esac
        if [ "$want" = sync ] && [ "$k" = line ]; then
            die "$f is not a weft sync tracefile (no TN:weft_sync_<measure>)"
        fi
        if [ -z "$first_kind" ]; then
            first_kind=$k
        elif [ "$k" != "$first_kind" ]; then
            die "will not add $f ($k) to ${first_kind} tracefiles: line and sync counts, or two sync measures, do not add up"
        fi
        case $f in
        *[[:space:]]*) die "tracefile paths with spaces are not supported: $f" ;;
        esac
        args="$args -a $f"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || die "no tracefile with records to merge"
    mkdir -p "$(dirname "$out")"
    # $args is a list of words on purpose (paths without spaces).
    # shellcheck disable=SC2086
    lcov_ --quiet $args -o "$out"
    set +f
    echo "$me: $out: $n tracefile(s) merged ($first_kind)"
}

cmd=${1-}
[ $# -gt 0 ] && shift
case $cmd in
capture)
    [ $# -ge 2 ] || die "usage: $me capture <build-dir> <out.info> [pattern...]"
    need "${LCOV%% *}"
    dir=$1
    out=$2
    shift 2
    [ -d "$dir" ] || die "no such build directory: $dir"
    find "$dir" -name '*.gcda' | grep -q . ||
        die "no .gcda files under $dir: compile and link with --coverage, then run the tests"
    gcov_opt=
    if [ -n "${GCOV-}" ]; then
        gcov_opt="--gcov-tool $GCOV"
    fi
    mkdir -p "$(dirname "$out")"
    tmp=$out.tmp$$
    trap 'rm -f "$tmp".base "$tmp".run "$tmp".all "$errf"' EXIT
    # A zero baseline of every compiled file, so that a file no test ever
    # reached shows as 0% instead of missing.
    # shellcheck disable=SC2086
    lcov_ $gcov_opt --quiet --capture --initial --directory "$dir" \
        --output-file "$tmp.base"
    # shellcheck disable=SC2086
    lcov_ $gcov_opt --quiet --capture --directory "$dir" \
        --output-file "$tmp.run"
    lcov_ --quiet -a "$tmp.base" -a "$tmp.run" -o "$tmp.all"
    lcov_ --quiet --remove "$tmp.all" '/usr/*' "$@" -o "$out"
    echo "$me: $out: coverage captured from $dir"
    ;;
sync)
    [ $# -ge 2 ] || die "usage: $me sync <out.info> <tracefile...>"
    need "${LCOV%% *}"
    out=$1
    shift
    # Each file, then its workers' files, once each (a glob such as
    # sync/*.info* may name them already).
    list=$(
        for f in "$@"; do
            echo "$f"
            case $f in
            *.worker[0-9]*) ;;
            *) for w in "$f".worker*; do [ -f "$w" ] && echo "$w"; done ;;
            esac
        done | awk '!seen[$0]++'
    )
    # One path per line; paths with spaces are refused by add().
    set -f
    # shellcheck disable=SC2086
    set -- $list
    set +f
    add sync "$out" "$@"
    ;;
merge)
    [ $# -ge 2 ] || die "usage: $me merge <out.info> <in.info...>"
    need "${LCOV%% *}"
    out=$1
    shift
    add any "$out" "$@"
    ;;
html)
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then
        die "usage: $me html <in.info> <dir> [title]"
    fi
    need "${GENHTML%% *}"
    in=$1
    dir=$2
    title=${3:-${in##*/}}
    [ -f "$in" ] || die "no such tracefile: $in"
    legend=
    case $(kind "$in") in
    sync:*) legend="--no-function-coverage" ;;
    empty) die "$in has no records" ;;
    esac
    rm -rf "$dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    genhtml_ --quiet $legend --title "$title" --legend \
        --output-directory "$dir" "$in"
    echo "$me: $dir/index.html"
    ;;
summary)
    [ $# -eq 1 ] || die "usage: $me summary <in.info>"
    need "${LCOV%% *}"
    lcov_ --summary "$1" 2>&1 |
        awk '$1 ~ /^(lines|functions|branches)\.*:$/ { sub(/^ */, "  "); print }'
    ;;
-h | --help | help)
    usage
    ;;
'')
    usage >&2
    exit 2
    ;;
*)
    echo "$me: unknown command '$cmd' (capture, sync, merge, html, summary)" >&2
    exit 2
    ;;
esac
