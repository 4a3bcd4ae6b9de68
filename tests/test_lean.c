/*
 * test_lean.c: lean recording. A random or pct search records only the
 * trace hash and the number of decisions while it runs; a failing
 * execution is re-run from its seed with the full trace ring and decision
 * log before it is reported. Checked against the same searches with lean
 * recording off (WEFT_LEAN=0, read even with use_env off): each
 * execution hashes and counts alike, and a failure found lean is reported
 * exactly as before: message, report text, trace hash, steps, preemptions
 * and schedule file, byte for byte; a hang is waited for twice (about two
 * seconds here), the second time in full.
 */
#include "weft.h"
#include "workloads.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void pinned(weft_config_t *c, const char *strategy, uint64_t seed,
                   uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->progress = 0;
    c->strategy = strategy;
    c->seed = seed;
    c->iterations = iterations;
    c->pct_depth = 3;
}

static void lean(bool on)
{
    if (on)
        unsetenv("WEFT_LEAN");
    else
        setenv("WEFT_LEAN", "0", 1);
}

/* W1 with a stricter check: the lost update is a failure. */
static void *lost_thread(void *arg)
{
    weft_atomic32_t *a = arg;
    uint32_t v = weft_atomic32_load(a);
    weft_atomic32_store(a, v + 1);
    return NULL;
}

static void lost_update(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], NULL, lost_thread, &a);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(weft_atomic32_load(&a) == 2, "lost update");
}

/* W3 with a value choice and a timed wait: value decisions and timers
 * are hashed and counted too. */
static void choosy(void *arg)
{
    w3(arg);
    uint64_t v = weft_choose(3);
    weft_sleep_until(weft_now() + (int64_t)v);
    w2(arg);
}

static weft_body_fn *const bodies[] = { w1, w2, w3, w4, choosy };
#define NBODIES (sizeof bodies / sizeof bodies[0])

struct one {
    int rc;
    weft_finding_t finding;
    uint64_t hash, steps, executions, total_steps, distinct;
};

static struct one run(weft_body_fn *body, const char *strategy, uint64_t seed,
                      uint64_t iterations, bool on)
{
    weft_config_t c;
    weft_result_t r;
    pinned(&c, strategy, seed, iterations);
    lean(on);
    struct one o;
    o.rc = weft_explore(&c, body, NULL, &r);
    lean(true);
    o.finding = r.finding;
    o.hash = r.trace_hash;
    o.steps = r.steps;
    o.executions = r.executions;
    o.total_steps = r.total_steps;
    o.distinct = r.distinct;
    weft_result_destroy(&r);
    return o;
}

/* Each execution alone (a search of one, from that execution's seed):
 * the same hash and steps lean or not; and whole searches count the same
 * distinct executions and steps. */
static void lean_executions_hash_alike(void **state)
{
    (void)state;
    static const char *const strats[] = { "random", "pct" };
    for (unsigned s = 0; s < 2; s++)
        for (unsigned b = 0; b < NBODIES; b++) {
            for (uint64_t seed = 1; seed <= 20; seed++) {
                struct one a = run(bodies[b], strats[s], seed * 7919, 1, true);
                struct one f = run(bodies[b], strats[s], seed * 7919, 1, false);
                assert_int_equal(a.rc, 0);
                assert_int_equal(f.rc, 0);
                assert_int_equal(a.finding, WEFT_FINDING_NONE);
                assert_int_equal(a.hash, f.hash);
                assert_int_equal(a.steps, f.steps);
            }
            struct one a = run(bodies[b], strats[s], 5, 300, true);
            struct one f = run(bodies[b], strats[s], 5, 300, false);
            assert_int_equal(a.executions, 300);
            assert_int_equal(a.executions, f.executions);
            assert_int_equal(a.total_steps, f.total_steps);
            assert_int_equal(a.distinct, f.distinct);
            assert_int_equal(a.hash, f.hash);
        }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *s = calloc(1, 1 << 20);
    assert_non_null(s);
    size_t n = fread(s, 1, (1 << 20) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

struct failed {
    weft_finding_t finding;
    uint64_t hash, steps, shrunk_steps, execution, seed, executions;
    unsigned preemptions, shrunk_preemptions;
    char message[512];
    char *report, *schedule;
};

static struct failed fail_run(weft_body_fn *body, const char *strategy,
                              bool shrink, unsigned jobs, bool on)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-test-lean-%d.schedule",
             (int)getpid());
    weft_config_t c;
    weft_result_t r;
    pinned(&c, strategy, 3, 5000);
    c.shrink = shrink;
    c.jobs = jobs;
    c.schedule_out = path;
    lean(on);
    int rc = weft_explore(&c, body, NULL, &r);
    lean(true);
    assert_int_equal(rc, 1); /* a finding */
    struct failed f;
    f.finding = r.finding;
    f.hash = r.trace_hash;
    f.steps = r.steps;
    f.shrunk_steps = r.shrunk_steps;
    f.execution = r.execution;
    f.seed = r.seed;
    f.executions = r.executions;
    f.preemptions = r.preemptions;
    f.shrunk_preemptions = r.shrunk_preemptions;
    snprintf(f.message, sizeof f.message, "%s", r.message);
    f.report = r.report != NULL ? strdup(r.report) : NULL;
    f.schedule = slurp(path);
    unlink(path);
    weft_result_destroy(&r);
    return f;
}

/* A failure found lean is reported as one found with full recording. */
static void lean_failure_reports_in_full(void **state)
{
    (void)state;
    static const char *const strats[] = { "random", "pct" };
    for (unsigned s = 0; s < 2; s++)
        for (int shrink = 0; shrink < 2; shrink++)
            for (unsigned jobs = 1; jobs <= 2; jobs++) {
                struct failed a =
                    fail_run(lost_update, strats[s], shrink, jobs, true);
                struct failed f =
                    fail_run(lost_update, strats[s], shrink, jobs, false);
                assert_int_equal(a.finding, WEFT_FINDING_ASSERTION);
                assert_int_equal(a.finding, f.finding);
                assert_int_equal(a.hash, f.hash);
                assert_int_equal(a.steps, f.steps);
                assert_int_equal(a.shrunk_steps, f.shrunk_steps);
                assert_int_equal(a.execution, f.execution);
                assert_int_equal(a.seed, f.seed);
                /* workers stop on another's failure when they see it */
                if (jobs == 1)
                    assert_int_equal(a.executions, f.executions);
                assert_int_equal(a.preemptions, f.preemptions);
                assert_int_equal(a.shrunk_preemptions, f.shrunk_preemptions);
                assert_string_equal(a.message, f.message);
                assert_non_null(a.report);
                assert_non_null(f.report);
                assert_string_equal(a.report, f.report);
                /* the trace is there: the report lists its events */
                assert_non_null(strstr(a.report, "atomic"));
                assert_string_equal(a.schedule, f.schedule);
                free(a.report);
                free(f.report);
                free(a.schedule);
                free(f.schedule);
            }
}

/* A body that fails only the first time it runs: the re-run that would
 * record its trace passes, and that is said. */
static int flaky_calls;

static void flaky(void *arg)
{
    w1(arg);
    if (++flaky_calls == 1)
        weft_fail("first run only");
}

static void lean_failure_that_does_not_repeat_is_nondeterminism(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, 10);
    c.shrink = false;
    flaky_calls = 0;
    lean(true);
    assert_int_equal(weft_explore(&c, flaky, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_NONDETERMINISM);
    assert_non_null(strstr(r.message, "ran otherwise"));
    assert_non_null(strstr(r.message, "then passed"));
    weft_result_destroy(&r);
}

/* A hang found lean is waited for again in full, and reported alike. */
static volatile int never;

static void *spinner(void *arg)
{
    (void)arg;
    weft_yield();
    while (!never) {
    }
    return NULL;
}

static void hanging(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "spinner", spinner, NULL);
    weft_yield();
    weft_thread_join(t, NULL);
}

static void lean_hang_reports_in_full(void **state)
{
    (void)state;
    char *rep[2];
    uint64_t hash[2], steps[2];
    for (int on = 0; on < 2; on++) {
        weft_config_t c;
        weft_result_t r;
        pinned(&c, "random", 1, 5);
        c.hang_timeout = 1;
        c.shrink = false;
        lean(on);
        assert_int_equal(weft_explore(&c, hanging, NULL, &r), 1);
        lean(true);
        assert_int_equal(r.finding, WEFT_FINDING_HANG);
        assert_non_null(r.report);
        rep[on] = strdup(r.report);
        hash[on] = r.trace_hash;
        steps[on] = r.steps;
        weft_result_destroy(&r);
    }
    assert_string_equal(rep[0], rep[1]);
    assert_non_null(strstr(rep[1], "spawn"));
    assert_int_equal(hash[0], hash[1]);
    assert_int_equal(steps[0], steps[1]);
    free(rep[0]);
    free(rep[1]);
}

/* WEFT_LEAN takes 0 or 1 only: anything else stops the exploration with
 * a message, as every other WEFT_* variable does. */
static void a_bad_lean_setting_is_refused(void **state)
{
    (void)state;
    const char *bad[] = { "2", "yes please", "-1" };
    for (int i = 0; i < 3; i++) {
        weft_config_t c;
        weft_result_t r;
        pinned(&c, "random", 1, 10);
        setenv("WEFT_LEAN", bad[i], 1);
        assert_int_equal(weft_explore(&c, w1, NULL, &r), -EINVAL);
        weft_result_destroy(&r);
    }
    lean(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lean_executions_hash_alike),
        cmocka_unit_test(lean_failure_reports_in_full),
        cmocka_unit_test(lean_failure_that_does_not_repeat_is_nondeterminism),
        cmocka_unit_test(lean_hang_reports_in_full),
        cmocka_unit_test(a_bad_lean_setting_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
