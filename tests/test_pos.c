/*
 * test_pos.c: the pos strategy (strategy_pos.c, partial-order sampling)
 * finds the examples' bugs (lost update, ABBA deadlock, missed wake-up)
 * within a few executions from a fixed seed and nothing in their fixed
 * twins, repeats exactly from a seed, replays a failure from its printed
 * replay line, gets past correct spin loops, and samples an order random
 * walk almost never runs about as often as its analysis says.
 */
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

/* ------------------------------------------------------------ programs */

/* Lost update (examples/lost_update.c): two threads load, then store + 1,
 * twice each; with fetch_add (fixed) nothing is lost. */
static bool fixed;

static void *lu_thread(void *arg)
{
    weft_atomic32_t *a = arg;
    for (int i = 0; i < 2; i++) {
        if (fixed) {
            weft_atomic32_fetch_add(a, 1);
        } else {
            uint32_t v = weft_atomic32_load(a);
            weft_atomic32_store(a, v + 1);
        }
    }
    return NULL;
}

static void bug_lost_update(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], NULL, lu_thread, &a);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    uint32_t v = weft_atomic32_load(&a);
    weft_assert(v == 4, "counter %u, expected 4", (unsigned)v);
}

/* Bank transfers (examples/bank_deadlock.c): opposite transfers lock
 * source then destination (ABBA); fixed, both lock the lower one first. */
struct account {
    int id, balance;
    weft_mutex_t lock;
};

struct transfer {
    struct account *from, *to;
    int amount;
};

static void *bd_transfer(void *arg)
{
    struct transfer *x = arg;
    struct account *first = x->from, *second = x->to;
    if (fixed && first->id > second->id) { /* one order for all */
        first = x->to;
        second = x->from;
    }
    weft_mutex_lock(&first->lock);
    weft_mutex_lock(&second->lock);
    x->from->balance -= x->amount;
    x->to->balance += x->amount;
    weft_mutex_unlock(&second->lock);
    weft_mutex_unlock(&first->lock);
    return NULL;
}

static void bug_bank_deadlock(void *arg)
{
    (void)arg;
    struct account alice = { 1, 100, WEFT_MUTEX_INITIALIZER };
    struct account bob = { 2, 101, WEFT_MUTEX_INITIALIZER };
    struct transfer pay_bob = { &alice, &bob, 30 };
    struct transfer pay_alice = { &bob, &alice, 20 };
    weft_thread_t a, b;
    weft_thread_spawn(&a, NULL, bd_transfer, &pay_bob);
    weft_thread_spawn(&b, NULL, bd_transfer, &pay_alice);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    weft_assert(alice.balance == 90 && bob.balance == 111, "balances %d and %d",
                alice.balance, bob.balance);
}

/* Missed wake-up (examples/missed_wakeup.c): consumers wait with `if`
 * instead of `while` (fixed: `while`). */
struct mw_slot {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    bool full;
    int item;
};

static void *mw_producer(void *arg)
{
    struct mw_slot *s = arg;
    for (int i = 1; i <= 2; i++) {
        weft_mutex_lock(&s->m);
        while (s->full)
            weft_cond_wait(&s->nonfull, &s->m);
        s->item = i;
        s->full = true;
        weft_cond_signal(&s->nonempty);
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void *mw_consumer(void *arg)
{
    struct mw_slot *s = arg;
    weft_mutex_lock(&s->m);
    if (fixed) {
        while (!s->full)
            weft_cond_wait(&s->nonempty, &s->m);
    } else if (!s->full) { /* the bug */
        weft_cond_wait(&s->nonempty, &s->m);
    }
    weft_assert(s->full, "took from an empty slot");
    s->full = false;
    weft_cond_signal(&s->nonfull);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void bug_missed_wakeup(void *arg)
{
    (void)arg;
    struct mw_slot s = { WEFT_MUTEX_INITIALIZER, WEFT_COND_INITIALIZER,
                         WEFT_COND_INITIALIZER, false, 0 };
    weft_thread_t p, c1, c2;
    weft_thread_spawn(&c1, NULL, mw_consumer, &s);
    weft_thread_spawn(&c2, NULL, mw_consumer, &s);
    weft_thread_spawn(&p, NULL, mw_producer, &s);
    weft_thread_join(p, NULL);
    weft_thread_join(c1, NULL);
    weft_thread_join(c2, NULL);
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
