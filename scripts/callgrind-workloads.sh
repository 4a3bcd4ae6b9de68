#!/usr/bin/env bash
# callgrind-workloads.sh: instructions per execution of the workloads
# W1-W4 (tests/workloads.h) under a strategy, counted by valgrind's
# callgrind: wall-clock executions per second is unreliable on a loaded
# machine, instruction counts are not. Not run by `make bench`.
#
#   bash scripts/callgrind-workloads.sh [BUILD] [STRATEGY]
#                                       (default build, random)
#
# Needs BUILD/libweft.a (`make lib`) and valgrind. Each workload runs
# 10,000 and 20,000 executions (seed 1, the settings of bench_explore's
# rate rows); the difference over 10,000 is the cost of one execution,
# set-up excluded. WEFT_LEAN=0 in the environment measures full recording.
set -euo pipefail
build=${1:-build}
strategy=${2:-random}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/driver.c" <<'C'
#include "weft.h"
#include "workloads.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    static weft_body_fn *const bodies[] = { w1, w2, w3, w4 };
    weft_config_t c;
    weft_result_t r;
    weft_config_init(&c);
    c.strategy = argv[3];
    c.seed = 1;
    c.iterations = strtoull(argv[2], NULL, 10);
    c.max_steps = 100000;
    c.pct_depth = 3;
    c.quiet = true;
    c.shrink = false;
    c.use_env = false;
    c.lock_order = 0;
    c.schedule_out = "/dev/null";
    int rc = weft_explore(&c, bodies[atoi(argv[1])], NULL, &r);
    weft_result_destroy(&r);
    (void)argc;
    return rc == 0 ? 0 : 1;
}
C
${CC:-cc} -O2 -std=c11 -I"$here/include" -I"$here/tests" -o "$tmp/driver" \
    "$tmp/driver.c" "$here/$build/libweft.a" -lpthread -ldl -lm
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$tmp/driver" "$1" "$2" "$strategy" 2>&1 |
        sed -n 's/.*Collected : //p'
}
for k in 0 1 2 3; do
    a=$(count "$k" 10000)
    b=$(count "$k" 20000)
    echo "W$((k + 1)) $strategy: $(((b - a) / 10000)) instructions per execution"
done
