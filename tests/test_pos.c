/*
 * test_pos.c: the pos strategy (strategy_pos.c, partial-order sampling)
 * finds the examples' bugs (lost update, ABBA deadlock, missed wake-up)
 * within a few executions from a fixed seed and nothing in their fixed
 * twins, repeats exactly from a seed, replays a failure from its printed
 * replay line, gets past correct spin loops, and samples an order random
 * walk almost never runs about as often as its analysis says.
 */
#include "bugs.h"
#include "weft.h"

#include <errno.h>
#include <inttypes.h>
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
    c->lock_order = 0; /* deadlocks are found as deadlocks */
}

static void done(weft_result_t *r)
{
    if (r->schedule_file[0] != '\0')
        unlink(r->schedule_file);
    weft_result_destroy(r);
}

/* ----------------------------------------------------------- the bugs */

/* pos finds kind in body from seed 1 within `within` executions; the
 * replay line printed with it (seed, WEFT_ITERATIONS=1, WEFT_STRATEGY=pos)
 * runs the same failure again; the fixed twin passes 300 executions. */
static void finds_and_replays(weft_body_fn *body, weft_finding_t kind,
                              uint64_t within)
{
    weft_config_t c;
    weft_result_t r, again;
    fixed = false;
    pinned(&c, "pos", 1, within);
    assert_int_equal(weft_explore(&c, body, NULL, &r), 1);
    assert_int_equal(r.finding, kind);
    assert_true(r.executions <= within);
    char want[96];
    snprintf(want, sizeof want, "WEFT_SEED=%" PRIu64 " WEFT_ITERATIONS=1",
             r.seed);
    assert_non_null(r.report);
    assert_non_null(strstr(r.report, want));
    assert_non_null(strstr(r.report, "WEFT_STRATEGY=pos"));

    /* the replay line's settings, from the environment as a user would
     * run them: the seed alone, and the strategy, replay it */
    const char *line = strstr(r.report, "WEFT_SEED=");
    char buf[256];
    size_t n = strcspn(line, "\n");
    assert_true(n < sizeof buf);
    memcpy(buf, line, n);
    buf[n] = '\0';
    char *names[8];
    int nv = 0;
    for (char *tok = strtok(buf, " "); tok != NULL && nv < 8;
         tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (strncmp(tok, "WEFT_", 5) != 0 || eq == NULL)
            continue;
        *eq = '\0';
        assert_int_equal(setenv(tok, eq + 1, 1), 0);
        names[nv++] = tok;
    }
    assert_true(nv >= 3);
    weft_config_init(&c);
    c.quiet = true;
    c.progress = 0;
    c.lock_order = 0;
    int rc = weft_explore(&c, body, NULL, &again);
    for (int i = 0; i < nv; i++)
        unsetenv(names[i]);
    assert_int_equal(rc, 1);
    assert_int_equal(again.executions, 1);
    assert_int_equal(again.finding, r.finding);
    assert_string_equal(again.message, r.message);
    assert_int_equal(again.trace_hash, r.trace_hash);
    assert_int_equal(again.steps, r.steps);
    done(&again);
    done(&r);

    fixed = true;
    pinned(&c, "pos", 1, 300);
    assert_int_equal(weft_explore(&c, body, NULL, &r), 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 300);
    done(&r);
    fixed = false;
}

static void pos_finds_the_lost_update(void **state)
{
    (void)state;
    finds_and_replays(bug_lost_update, WEFT_FINDING_ASSERTION, 100);
}

static void pos_finds_the_bank_deadlock(void **state)
{
    (void)state;
    finds_and_replays(bug_bank_deadlock, WEFT_FINDING_DEADLOCK, 100);
}

static void pos_finds_the_missed_wakeup(void **state)
{
    (void)state;
    finds_and_replays(bug_missed_wakeup, WEFT_FINDING_ASSERTION, 100);
}

/* ------------------------------------------------------- determinism */

/* Same seed, same executions; the last one again alone from its seed. */
static void pos_runs_repeat_exactly(void **state)
{
    (void)state;
    weft_body_fn *bodies[] = { bug_lost_update, bug_missed_wakeup };
    fixed = true;
    for (size_t i = 0; i < 2; i++) {
        weft_config_t c;
        weft_result_t r1, r2;
        pinned(&c, "pos", 77, 300);
        assert_int_equal(weft_explore(&c, bodies[i], NULL, &r1), 0);
        assert_int_equal(weft_explore(&c, bodies[i], NULL, &r2), 0);
        assert_int_equal(r1.distinct, r2.distinct);
        assert_int_equal(r1.total_steps, r2.total_steps);
        assert_int_equal(r1.trace_hash, r2.trace_hash);
        assert_true(r1.distinct > 1);
        done(&r2);
        pinned(&c, "pos", r1.seed, 1);
        assert_int_equal(weft_explore(&c, bodies[i], NULL, &r2), 0);
        assert_int_equal(r2.trace_hash, r1.trace_hash);
        done(&r2);
        done(&r1);
    }
    fixed = false;
}

/* Seed per execution, as random: two workers run the executions one
 * process runs, and a shard runs its share of them. */
static void pos_splits_over_jobs_and_shards(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r1, r2;
    fixed = true;
    pinned(&c, "pos", 5, 400);
    assert_int_equal(weft_explore(&c, bug_missed_wakeup, NULL, &r1), 0);
    c.jobs = 2;
    assert_int_equal(weft_explore(&c, bug_missed_wakeup, NULL, &r2), 0);
    assert_int_equal(r2.executions, 400);
    assert_int_equal(r2.distinct, r1.distinct);
    assert_int_equal(r2.total_steps, r1.total_steps);
    done(&r2);
    c.jobs = 1;
    c.shard_index = 2;
    c.shard_count = 2;
    assert_int_equal(weft_explore(&c, bug_missed_wakeup, NULL, &r2), 0);
    assert_int_equal(r2.executions, 200);
    done(&r2);
    done(&r1);
    fixed = false;
    /* the failure a worker finds replays from its seed */
    pinned(&c, "pos", 1, 200);
    c.jobs = 2;
    assert_int_equal(weft_explore(&c, bug_missed_wakeup, NULL, &r1), 1);
    pinned(&c, "pos", r1.seed, 1);
    assert_int_equal(weft_explore(&c, bug_missed_wakeup, NULL, &r2), 1);
    assert_int_equal(r2.finding, r1.finding);
    assert_int_equal(r2.trace_hash, r1.trace_hash);
    done(&r2);
    done(&r1);
}

/* ------------------------------------------------------- spin loops */

/* Spins on a flag another thread sets, with and without a yield, and
 * under a mutex: never a step-bound finding. */
static weft_atomic32_t spin_flag, spin_busy;
static bool spin_yields;

static void *spin_setter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        (void)weft_atomic32_fetch_add(&spin_busy, 1);
    weft_atomic32_store(&spin_flag, 1);
    return NULL;
}

static void body_spin(void *arg)
{
    (void)arg;
    weft_thread_t t;
    spin_flag.v = spin_busy.v = 0;
    weft_thread_spawn(&t, NULL, spin_setter, NULL);
    while (weft_atomic32_load(&spin_flag) == 0)
        if (spin_yields)
            weft_yield();
    weft_thread_join(t, NULL);
}

static weft_mutex_t poll_m = WEFT_MUTEX_INITIALIZER;
static int poll_flag;

static void *locked_setter(void *arg)
{
    (void)arg;
    (void)weft_atomic32_fetch_add(&spin_busy, 1);
    weft_mutex_lock(&poll_m);
    poll_flag = 1;
    weft_mutex_unlock(&poll_m);
    return NULL;
}

static void body_locked_poll(void *arg)
{
    (void)arg;
    weft_thread_t t;
    poll_flag = 0;
    weft_thread_spawn(&t, NULL, locked_setter, NULL);
    for (int f = 0; !f;) {
        weft_mutex_lock(&poll_m);
        f = poll_flag;
        weft_mutex_unlock(&poll_m);
    }
    weft_thread_join(t, NULL);
}

static void pos_gets_past_spin_loops(void **state)
{
    (void)state;
    weft_body_fn *bodies[] = { body_spin, body_spin, body_locked_poll };
    for (int i = 0; i < 3; i++) {
        weft_config_t c;
        weft_result_t r;
        spin_yields = i == 1;
        pinned(&c, "pos", 1, 500);
        c.max_steps = 2000;
        assert_int_equal(weft_explore(&c, bodies[i], NULL, &r), 0);
        assert_int_equal(r.finding, WEFT_FINDING_NONE);
        /* and never long: no execution near the step bound */
        assert_true(r.total_steps < 500 * 200);
        done(&r);
    }
}

/* ---------------------------------------------------- sampling quality */

/*
 * Worker B loads x once; worker A makes LATE_N operations on its own
 * atomic, then stores 1 in x. For B to see the 1, A must run LATE_N + 1
 * steps before B runs its one: random walk does that with probability
 * about 2^-(LATE_N+1) (2 of 2000 here). Under pos B's load keeps its
 * priority p while A's steps, independent of it, each draw a fresh one
 * that beats it with probability 1 - p: over p uniform, (1 - p)^(LATE_N+1)
 * averages 1 / (LATE_N + 2), a polynomial, not exponential, fraction (the
 * starts and spawns around them raise it a little: 281 of 2000 here,
 * where 1 / (LATE_N + 2) is 166; the band is wide). Both orders are one
 * partial order each, so uniform sampling would give 1000.
 */
#define LATE_N    10
#define LATE_RUNS 2000

static weft_atomic32_t late_x, late_own;
static unsigned late_seen;

static void *late_writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < LATE_N; i++)
        (void)weft_atomic32_fetch_add(&late_own, 1);
    weft_atomic32_store(&late_x, 1);
    return NULL;
}

static void *late_reader(void *arg)
{
    (void)arg;
    late_seen += weft_atomic32_load(&late_x) == 1;
    return NULL;
}

static void body_late(void *arg)
{
    (void)arg;
    weft_thread_t a, b;
    late_x.v = late_own.v = 0;
    weft_thread_spawn(&b, NULL, late_reader, NULL);
    weft_thread_spawn(&a, NULL, late_writer, NULL);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
}

static unsigned late_hits(const char *strategy)
{
    weft_config_t c;
    weft_result_t r;
    late_seen = 0;
    pinned(&c, strategy, 3, LATE_RUNS);
    assert_int_equal(weft_explore(&c, body_late, NULL, &r), 0);
    assert_int_equal(r.executions, LATE_RUNS);
    done(&r);
    return late_seen;
}

static void pos_samples_a_rare_order_polynomially(void **state)
{
    (void)state;
    unsigned pos = late_hits("pos"), rnd = late_hits("random");
    unsigned expect = LATE_RUNS / (LATE_N + 2);
    print_message("late read: pos %u, random %u of %u (pos analysis %u)\n", pos,
                  rnd, LATE_RUNS, expect);
    assert_true(pos >= expect / 2 && pos <= expect * 3);
    assert_true(rnd * 20 < expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pos_finds_the_lost_update),
        cmocka_unit_test(pos_finds_the_bank_deadlock),
        cmocka_unit_test(pos_finds_the_missed_wakeup),
        cmocka_unit_test(pos_runs_repeat_exactly),
        cmocka_unit_test(pos_splits_over_jobs_and_shards),
        cmocka_unit_test(pos_gets_past_spin_loops),
        cmocka_unit_test(pos_samples_a_rare_order_polynomially),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
