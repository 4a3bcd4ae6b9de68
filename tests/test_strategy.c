/*
 * test_strategy.c: the systematic and probabilistic strategies: dfs counts
 * exactly the executions a hand derivation predicts under each preemption
 * bound and says when it has seen them all; pct finds a depth-2 bug that
 * random scheduling rarely hits, at least as often as its guarantee says,
 * and a pct failure replays from its seed and replay line.
 *
 * The dfs counts below are derived by hand from the rules in
 * harness/explore/strategy_dfs.c and harness/core/sched.c (the derivations sit
 * next to each test); they were also checked against an independent model
 * before being compared with the implementation. Every test pins its seed and
 * strategy and ignores the environment (use_env = false).
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

/* ------------------------------------------------------------- helpers */

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
}

#define assert_contains(hay, needle) \
    contains_at((hay), (needle), __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, const char *file,
                        int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("%s:%d: expected \"%s\" in:\n%s\n", file, line, needle,
                    hay ? hay : "(null)");
        _fail(file, line);
    }
}

/* Destroy a result and remove the schedule file a failure left behind. */
static void done(weft_result_t *r)
{
    if (r->schedule_file[0] != '\0')
        unlink(r->schedule_file);
    weft_result_destroy(r);
}

/* Run body under dfs with the given bound; check the search ran to its
 * end without a finding and return how many executions it took. */
static uint64_t dfs_count(weft_body_fn *body, void *arg, int bound)
{
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "dfs", 1, 100000);
    c.preemption_bound = bound;
    int rc = weft_explore(&c, body, arg, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_true(r.exhausted);
    assert_true(r.distinct >= 1 && r.distinct <= r.executions);
    uint64_t n = r.executions;
    done(&r);
    return n;
}

/* ------------------------------------------------ small dfs programs */

/*
 * How dfs counts, read off strategy_dfs.c and sched.c. Every visible
 * operation (spawn, join, atomic, yield, lock, ...) first calls the
 * decision point; when more than one task is ready (and the running task
 * is not inside weft_atomic_begin/end) that is a choice among the ready
 * tasks. The default is the running task; picking another one is a
 * preemption, except at a yield, where every option is free and the
 * yielder itself is none (while another task can run). A task's
 * exit is traced but is no choice (who runs just before or just after an
 * exit cannot be told apart). The switched-away task keeps its operation
 * pending and performs it, with no new choice, when it next runs. A task
 * that has not run yet runs to its first visible operation, which is a
 * choice again. When the running task blocks or exits and more than one
 * task is ready, the choice is free. dfs explores every sequence of
 * choices whose preemptions stay within the bound: an execution is a
 * leaf of that tree.
 */

static weft_atomic32_t cell = WEFT_ATOMIC_INIT(0);

static void *one_store(void *arg)
{
    (void)arg;
    weft_atomic32_store(&cell, 1);
    return NULL;
}

static void *two_stores(void *arg)
{
    (void)arg;
    weft_atomic32_store(&cell, 1);
    weft_atomic32_store(&cell, 2);
    return NULL;
}

static void *no_op(void *arg)
{
    (void)arg;
    return NULL;
}

static void spawn_join(weft_thread_fn *fn)
{
    weft_thread_t t;
    weft_thread_spawn(&t, "t", fn, NULL);
    weft_thread_join(t, NULL);
}

static void body_one_store(void *arg)
{
    (void)arg;
    spawn_join(one_store);
}

static void body_two_stores(void *arg)
{
    (void)arg;
    spawn_join(two_stores);
}

static void body_empty_thread(void *arg)
{
    (void)arg;
    spawn_join(no_op);
}

/*
 * main: spawn t; join t.   t: store.
 *
 * The spawn is main's alone (one task ready): no choice. Then:
 *   J  main about to join, ready {main, t}:
 *      main (default) -> the join blocks; t runs alone to its end,
 *                        main alone after it: 1 execution, 0 preemptions.
 *      t (preemption) -> t starts, about to store, ready {t, main}:
 *         t (default)    -> t stores and exits; main joins a done t:
 *                           1 (1 preemption)
 *         main (pre.)    -> main's join blocks; t stores and exits
 *                           alone: 1 (2 preemptions)
 * Leaves by preemptions: 0, 1, 2.
 * Bound 0: 1. Bound 1: 2. Bound 2: 3. Unbounded: 3.
 */
static void dfs_counts_main_and_one_single_store_thread(void **state)
{
    (void)state;
    assert_int_equal(dfs_count(body_one_store, NULL, 0), 1);
    assert_int_equal(dfs_count(body_one_store, NULL, 1), 2);
    assert_int_equal(dfs_count(body_one_store, NULL, 2), 3);
    assert_int_equal(dfs_count(body_one_store, NULL, -1), 3);
}

/*
 * main: spawn t; join t.   t: store; store.
 *
 * As above, with one more store. Once main is switched away at its join
 * (1 preemption), t sits at each of its two stores with main ready: going
 * on is free, switching to main costs one more preemption and ends all
 * choice (main's join blocks, t finishes alone). So the subtree under
 * "t at J" has 1 leaf with no further preemption (t goes on to the end)
 * plus 1 leaf per store where main is picked: 3.
 * Bound 0: 1. Bound 1: 1 + 1 = 2. Bound 2: 1 + 3 = 4. Unbounded: 4.
 */
static void dfs_counts_main_and_one_two_store_thread(void **state)
{
    (void)state;
    assert_int_equal(dfs_count(body_two_stores, NULL, 0), 1);
    assert_int_equal(dfs_count(body_two_stores, NULL, 1), 2);
    assert_int_equal(dfs_count(body_two_stores, NULL, 2), 4);
    assert_int_equal(dfs_count(body_two_stores, NULL, -1), 4);
}

/*
 * main: spawn t; join t.   t: nothing (its exit is no choice).
 *
 *   J  main (default): 1 execution.
 *      t (pre.): t exits at once; main joins it: 1 (1 preemption)
 * Bound 0: 1. Bound 1, 2, unbounded: 2.
 */
static void dfs_counts_main_and_one_empty_thread(void **state)
{
    (void)state;
    assert_int_equal(dfs_count(body_empty_thread, NULL, 0), 1);
    assert_int_equal(dfs_count(body_empty_thread, NULL, 1), 2);
    assert_int_equal(dfs_count(body_empty_thread, NULL, 2), 2);
    assert_int_equal(dfs_count(body_empty_thread, NULL, -1), 2);
}

static void body_yield(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "t", one_store, NULL);
    weft_yield();
    weft_thread_join(t, NULL);
}

/*
 * main: spawn t; yield; join t.   t: store.
 *
 *   Y  main about to yield, ready {main, t}: the yielder is no option,
 *      so t, for free.
 *      t    -> t about to store, ready {t, main} (main's yield pending):
 *         t       -> t stores and exits; main yields and joins: 0 pre.
 *         main(p) -> main finishes its yield, about to join,
 *                    ready {main, t}:
 *            main    -> join blocks, t stores and exits: 1 preemption
 *            t (p)   -> t stores and exits, main joins: 2 preemptions
 * Leaves by preemptions {0, 1, 2}. Bound 0: 1. Bound 1: 2. Bound 2: 3.
 * Unbounded: 3. (main going on past its yield, then joining before t
 * stores, is the leaf with 1 preemption.)
 */
static void dfs_switch_at_a_yield_costs_no_preemption(void **state)
{
    (void)state;
    assert_int_equal(dfs_count(body_yield, NULL, 0), 1);
    assert_int_equal(dfs_count(body_yield, NULL, 1), 2);
    assert_int_equal(dfs_count(body_yield, NULL, 2), 3);
    assert_int_equal(dfs_count(body_yield, NULL, -1), 3);
}

/* ------------------------------------------------- correct spin loops */

/* A busy-wait with no yield: main spins on a flag a thread sets after a
 * few operations of its own. Correct: no strategy may turn it into a
 * finding (the spin reads are recognised and made yields, core.h). */
static weft_atomic32_t ready_flag, busy;

static void *slow_setter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        (void)weft_atomic32_fetch_add(&busy, 1);
    weft_atomic32_store(&ready_flag, 1);
    return NULL;
}

static void body_busy_wait(void *arg)
{
    (void)arg;
    weft_thread_t t;
    ready_flag.v = busy.v = 0;
    weft_thread_spawn(&t, "setter", slow_setter, NULL);
    while (weft_atomic32_load(&ready_flag) == 0)
        ;
    weft_thread_join(t, NULL);
}

/* The same wait after reads of five other locations, as a ring buffer's
 * consumer reads its state before it spins on one more: a spin is seen
 * whatever the task read before it (dfs ran it to the step bound when
 * only the first four locations were remembered). */
static weft_atomic32_t before[5];

static void body_busy_wait_after_reads(void *arg)
{
    (void)arg;
    weft_thread_t t;
    ready_flag.v = busy.v = 0;
    weft_thread_spawn(&t, "setter", slow_setter, NULL);
    for (int i = 0; i < 5; i++)
        (void)weft_atomic32_load(&before[i]);
    while (weft_atomic32_load(&ready_flag) == 0)
        (void)weft_atomic32_load(&before[0]);
    weft_thread_join(t, NULL);
}

/* The same wait polled under a mutex: no atomic to recognise, so only
 * pct's fair tail (FAIR_STEPS) lets the setter in when the poller has
 * the higher priority (pos: the setter draws again when passed over too
 * long, STARVE). */
static weft_mutex_t poll_m = WEFT_MUTEX_INITIALIZER;
static int poll_flag;

static void *locked_setter(void *arg)
{
    (void)arg;
    (void)weft_atomic32_fetch_add(&busy, 1);
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
    weft_thread_spawn(&t, "setter", locked_setter, NULL);
    for (int f = 0; !f;) {
        weft_mutex_lock(&poll_m);
        f = poll_flag;
        weft_mutex_unlock(&poll_m);
    }
    weft_thread_join(t, NULL);
}

static void no_strategy_turns_a_busy_wait_into_a_finding(void **state)
{
    (void)state;
    const char *strategies[] = { "random", "pct", "pos" };
    for (int i = 0; i < 3; i++)
        for (unsigned d = 1; d <= 3; d++) {
            weft_config_t c;
            weft_result_t r;
            pinned(&c, strategies[i], 1, 500);
            c.pct_depth = d;
            assert_int_equal(weft_explore(&c, body_busy_wait, NULL, &r), 0);
            assert_int_equal(r.finding, WEFT_FINDING_NONE);
            done(&r);
        }
    /* dfs: every path gets past the spin (the yielder is no option) */
    assert_true(dfs_count(body_busy_wait, NULL, 2) > 1);
    assert_true(dfs_count(body_busy_wait_after_reads, NULL, 2) > 1);
}

static void pct_tail_is_fair_so_a_polite_livelock_ends(void **state)
{
    (void)state;
    for (unsigned d = 1; d <= 3; d++) {
        weft_config_t c;
        weft_result_t r;
        pinned(&c, "pct", 1, 300);
        c.pct_depth = d;
        assert_int_equal(weft_explore(&c, body_locked_poll, NULL, &r), 0);
        assert_int_equal(r.finding, WEFT_FINDING_NONE);
        done(&r);
    }
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "pos", 1, 300);
    assert_int_equal(weft_explore(&c, body_locked_poll, NULL, &r), 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    done(&r);
    pinned(&c, "pos", 1, 300);
    assert_int_equal(weft_explore(&c, body_busy_wait_after_reads, NULL, &r), 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    done(&r);
}

/* Two threads with one store each. main spawns and joins them inside an
 * atomic block, so its own operations are never choices (it is still an
 * option of the threads' choices once it is woken): that keeps the tree
 * small enough to count by hand. */
static void body_two_threads_atomic_main(void *arg)
{
    (void)arg;
    weft_thread_t t1, t2;
    weft_atomic_begin();
    weft_thread_spawn(&t1, "t1", one_store, NULL);
    weft_thread_spawn(&t2, "t2", one_store, NULL);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
    weft_atomic_end();
}

/*
 * main (atomic): spawn t1; spawn t2; join t1; join t2.
 * t1: store.  t2: store.
 *
 * No choice until main's join of t1 blocks; then ready {t1, t2}: a free
 * choice C0. A thread's state is F (not started) or a (switched away
 * just before its store, which it performs first when it runs again).
 * Only the stores are choices.
 *
 * Phase 2, after t1 exits: main is woken; G(s) counts the leaves given
 * t2's state s. The choice right after t1's exit is free. Once main runs,
 * all is fixed (join t1 returns; join t2 returns or blocks until t2,
 * alone, ends): 1 leaf. If t2 runs instead: from F it is about to store
 * with main ready, and may go on (store, exit, main: 1 leaf) or let main
 * run (1 preemption; main's join blocks, t2 finishes alone: 1 leaf); from
 * a it stores and exits: 1 leaf.
 *   G(F) = 1 + 2 = 3 (at bound 0: 1 + 1 = 2)
 *   G(a) = 1 + 1 = 2        G(done) = 1
 *
 * Phase 1, main blocked on t1: A1(s) counts the leaves when t1 is about
 * to store and t2 is in state s; A2(s) the same with the roles swapped.
 * Going on is free, switching is a preemption:
 *   A1(s) = G(s)  + [switch: t2 from s]
 *           (t1 stores and exits; main is woken)
 *   A2(s) = 1     + [switch: t1 from s]
 *           (t2 stores and exits; t1, alone with main blocked, ends; 1)
 * where "t2 from F" is A2(a); "t2 from a" is t2 storing and exiting, then
 * t1 alone: 1 leaf; "t1 from F" is A1(a); "t1 from a" is t1 storing and
 * exiting: G(a).
 *
 * Unbounded:
 *   A1(a) = G(a) + 1 = 3            A2(a) = 1 + G(a) = 3
 *   A1(F) = G(F) + A2(a) = 6        A2(F) = 1 + A1(a) = 4
 *   C0 = A1(F) + A2(F) = 10.
 * Bound 0 (never switch): A1(F) = G0(F) = 2, A2(F) = 1: 3.
 * Bound 1 (subscript: preemptions left; without one, A1_0(s) = G0(s) and
 * A2_0(s) = 1):
 *   A1_1(F) = G1(F) + A2_0(a) = 3 + 1 = 4
 *   A2_1(F) = 1 + A1_0(a) = 1 + G0(a) = 1 + 2 = 3
 *   C0 = 7.
 * Bound 2:
 *   A1_2(F) = G2(F) + A2_1(a) = 3 + (1 + G0(a)) = 3 + 3 = 6
 *   A2_2(F) = 1 + A1_1(a) = 1 + (G1(a) + 1) = 1 + 3 = 4
 *   C0 = 10: every execution needs at most two preemptions.
 */
static void dfs_counts_two_threads_with_one_store_each(void **state)
{
    (void)state;
    weft_body_fn *b = body_two_threads_atomic_main;
    assert_int_equal(dfs_count(b, NULL, 0), 3);
    assert_int_equal(dfs_count(b, NULL, 1), 7);
    assert_int_equal(dfs_count(b, NULL, 2), 10);
    assert_int_equal(dfs_count(b, NULL, -1), 10);
}

static void body_two_threads(void *arg)
{
    (void)arg;
    weft_thread_t t1, t2;
    weft_thread_spawn(&t1, "t1", one_store, NULL);
    weft_thread_spawn(&t2, "t2", one_store, NULL);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
}

/*
 * The same without the atomic block, at bound 0 only (larger bounds give a
 * tree too big to draw here). main never gives up the processor before
 * its join of t1 blocks; then the free choice:
 *   t1 -> t1 stores and exits; main is woken; free choice {t2, main}:
 *         main -> joins t1, blocks on t2; t2 runs alone: 1
 *         t2   -> t2 stores and exits; main finishes: 1
 *   t2 -> t2 stores and exits (main still waits for t1); t1 runs
 *         alone, then main: 1
 * Bound 0: 3.
 */
static void dfs_counts_two_threads_without_preemption(void **state)
{
    (void)state;
    assert_int_equal(dfs_count(body_two_threads, NULL, 0), 3);
}

static void dfs_stops_short_of_a_space_larger_than_its_iterations(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    uint64_t iters[] = { 1, 5, 9, 10, 11 };
    for (size_t i = 0; i < sizeof iters / sizeof *iters; i++) {
        pinned(&c, "dfs", 1, iters[i]);
        c.preemption_bound = -1;
        assert_int_equal(
            weft_explore(&c, body_two_threads_atomic_main, NULL, &r), 0);
        /* the space holds 10 executions (derived above) */
        assert_int_equal(r.executions, iters[i] < 10 ? iters[i] : 10);
        assert_int_equal(r.exhausted, iters[i] >= 10);
        done(&r);
    }
}

/* ----------------------------------------------------- value choices */

static unsigned seen3[3], seen23[2][3];

static void body_choose3(void *arg)
{
    (void)arg;
    uint64_t v = weft_choose(3);
    if (v < 3)
        seen3[v]++;
}

static void body_choose2x3(void *arg)
{
    (void)arg;
    uint64_t a = weft_choose(2);
    uint64_t b = weft_choose(3);
    if (a < 2 && b < 3)
        seen23[a][b]++;
}

/* A value choice is free: each value is one execution, whatever the
 * bound, and each is tried exactly once. */
static void dfs_enumerates_each_chosen_value_once(void **state)
{
    (void)state;
    int bounds[] = { 0, 2, -1 };
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        memset(seen3, 0, sizeof seen3);
        assert_int_equal(dfs_count(body_choose3, NULL, bounds[i]), 3);
        for (int v = 0; v < 3; v++)
            assert_int_equal(seen3[v], 1);

        memset(seen23, 0, sizeof seen23);
        assert_int_equal(dfs_count(body_choose2x3, NULL, bounds[i]), 6);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                assert_int_equal(seen23[a][b], 1);
    }
}

/* ------------------------------------------------------ ABBA deadlock */

struct abba {
    weft_mutex_t a, b;
};

static void *lock_ab(void *arg)
{
    struct abba *st = arg;
    weft_mutex_lock(&st->a);
    weft_mutex_lock(&st->b);
    weft_mutex_unlock(&st->b);
    weft_mutex_unlock(&st->a);
    return NULL;
}

static void *lock_ba(void *arg)
{
    struct abba *st = arg;
    weft_mutex_lock(&st->b);
    weft_mutex_lock(&st->a);
    weft_mutex_unlock(&st->a);
    weft_mutex_unlock(&st->b);
    return NULL;
}

static void body_abba(void *arg)
{
    struct abba *st = arg;
    weft_thread_t t1, t2;
    weft_mutex_init(&st->a, WEFT_MUTEX_NORMAL);
    weft_mutex_init(&st->b, WEFT_MUTEX_NORMAL);
    weft_thread_spawn(&t1, "ab", lock_ab, st);
    weft_thread_spawn(&t2, "ba", lock_ba, st);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
}

/* Without preemption each thread, once it runs, takes and releases both
 * locks before the other starts: no deadlock. One preemption (between
 * the two locks of the first thread) is enough. */
static void dfs_finds_abba_with_one_preemption_but_not_zero(void **state)
{
    (void)state;
    struct abba st;
    weft_config_t c;
    weft_result_t r;

    pinned(&c, "dfs", 1, 100000);
    c.preemption_bound = 0;
    c.lock_order = 0; /* deadlocks only: every execution is an inversion */
    assert_int_equal(weft_explore(&c, body_abba, &st, &r), 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_true(r.exhausted);
    assert_int_equal(r.failures, 0);
    done(&r);

    pinned(&c, "dfs", 1, 100000);
    c.preemption_bound = 1;
    c.lock_order = 0;
    assert_int_equal(weft_explore(&c, body_abba, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_false(r.exhausted);
    assert_int_equal(r.preemptions, 1);
    assert_contains(r.message, "deadlock");
    /* a dfs execution is replayed from its schedule, not from a seed */
    assert_contains(r.report, "WEFT_REPLAY=");
    assert_null(strstr(r.report, "WEFT_SEED="));
    done(&r);
}

/* The same search twice is the same search. */
static void dfs_is_deterministic(void **state)
{
    (void)state;
    struct abba st;
    weft_config_t c;
    weft_result_t r1, r2;
    int bounds[] = { 0, 1, 2, -1 };
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        pinned(&c, "dfs", 1, 100000);
        c.preemption_bound = bounds[i];
        int rc1 = weft_explore(&c, body_abba, &st, &r1);
        int rc2 = weft_explore(&c, body_abba, &st, &r2);
        assert_int_equal(rc1, rc2);
        assert_int_equal(r1.executions, r2.executions);
        assert_int_equal(r1.distinct, r2.distinct);
        assert_int_equal(r1.total_steps, r2.total_steps);
        assert_int_equal(r1.trace_hash, r2.trace_hash);
        assert_string_equal(r1.message, r2.message);
        done(&r1);
        done(&r2);
    }
}

/* ------------------------------------------------- pct: a depth-2 bug */

/*
 * The writer stores x, then y. The reader, after PAD loads of its own,
 * reads x then y; seeing x == 1 but y == 0 is the bug. It needs two
 * ordering constraints: the writer's store of x before the reader's load
 * of x, and the reader's load of y before the writer's store of y: the
 * writer must stop between its two stores for the reader's whole run.
 * Random scheduling rarely keeps a task off the processor that long; pct
 * does it with one change point placed at the writer's second store. A
 * bystander adds PAD operations of noise.
 *
 * PCT's guarantee (Burckhardt et al., ASPLOS 2010): for a program of n
 * tasks and k steps, one execution with depth d finds a given bug of
 * depth at most d with probability at least 1 / (n * k^(d-1)). Here
 * n = 4 (main, writer, reader, bystander) and k is the step count of an
 * execution (every execution of this program has the same steps), so
 * with pct_steps = k, 2000 executions must hit the bug at least
 * 2000 / (n * k) times at depth 2 and 2000 / (n * k^2) at depth 3.
 */
#define PAD 10
/* Steps of every execution: main 3 spawns, 3 joins and its exit; the
 * writer 2 stores and its exit; the reader PAD + 2 loads and its exit; the
 * bystander PAD adds and its exit. */
#define WR_STEPS (7 + 3 + (PAD + 3) + (PAD + 1))

struct wr {
    weft_atomic32_t x, y, pad_r, pad_b;
    bool check;     /* assert the bug (else only count it) */
    unsigned hits;  /* executions that saw x without y */
    unsigned tasks; /* tasks of the last execution, main included */
};

static void *writer(void *arg)
{
    struct wr *st = arg;
    weft_atomic32_store(&st->x, 1);
    weft_atomic32_store(&st->y, 1);
    return NULL;
}

static void *reader(void *arg)
{
    struct wr *st = arg;
    for (int i = 0; i < PAD; i++)
        (void)weft_atomic32_load(&st->pad_r);
    uint32_t x = weft_atomic32_load(&st->x);
    uint32_t y = weft_atomic32_load(&st->y);
    if (x == 1 && y == 0) {
        st->hits++;
        if (st->check)
            weft_fail("reader saw x == 1 but y == 0");
    }
    return NULL;
}

static void *bystander(void *arg)
{
    struct wr *st = arg;
    for (int i = 0; i < PAD; i++)
        weft_atomic32_fetch_add(&st->pad_b, 1);
    return NULL;
}

static void body_wr(void *arg)
{
    struct wr *st = arg;
    weft_thread_t t[3];
    /* Plain writes: only main runs yet, and they are no visible step. */
    st->x.v = st->y.v = st->pad_r.v = st->pad_b.v = 0;
    st->tasks = 1;
    weft_thread_spawn(&t[0], "writer", writer, st);
    weft_thread_spawn(&t[1], "reader", reader, st);
    weft_thread_spawn(&t[2], "bystander", bystander, st);
    st->tasks += 3;
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
}

/* Steps (k) and tasks (n) of the program, measured on one execution. */
static void wr_shape(uint64_t *k, unsigned *n)
{
    struct wr st = { .check = false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, 1);
    assert_int_equal(weft_explore(&c, body_wr, &st, &r), 0);
    *k = r.steps;
    *n = st.tasks;
    done(&r);
    assert_int_equal(*k, WR_STEPS);
    assert_int_equal(*n, 4);
}

/* How many of `iterations` executions hit the bug. */
static unsigned wr_hits(const char *strategy, unsigned depth, uint64_t k,
                        uint64_t iterations)
{
    struct wr st = { .check = false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, strategy, 1000, iterations);
    c.pct_depth = depth;
    c.pct_steps = k;
    assert_int_equal(weft_explore(&c, body_wr, &st, &r), 0);
    assert_int_equal(r.executions, iterations);
    done(&r);
    return st.hits;
}

static void pct_hits_a_depth2_bug_at_least_as_often_as_its_bound(void **state)
{
    (void)state;
    uint64_t k;
    unsigned n;
    wr_shape(&k, &n);
    const uint64_t N = 2000;

    unsigned d2 = wr_hits("pct", 2, k, N);
    unsigned d3 = wr_hits("pct", 3, k, N);
    /* hits / N >= 1 / (n k^(d-1)), without division */
    assert_true((uint64_t)d2 * n * k >= N);
    assert_true((uint64_t)d3 * n * k * k >= N);
    assert_true(d3 >= 1);

    /* Random scheduling hits it far less often: the writer must stay off
     * the processor for the reader's whole run. */
    unsigned rnd = wr_hits("random", 3, k, N);
    assert_true(rnd * 4 < d2);

    /* And depth 1 (priorities, no change point) never does: the running
     * writer is never stopped between two stores it makes in a row. */
    assert_int_equal(wr_hits("pct", 1, k, N), 0);
}

/* The bug is found within a budget of 2000 executions, at depth 2 and 3,
 * with the step count given or learnt. */
static void pct_finds_the_depth2_bug_within_budget(void **state)
{
    (void)state;
    uint64_t k;
    unsigned n;
    wr_shape(&k, &n);
    unsigned depths[] = { 2, 3 };
    uint64_t steps[] = { 0, 0 };
    steps[0] = k;
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            struct wr st = { .check = true };
            weft_config_t c;
            weft_result_t r;
            pinned(&c, "pct", 1000, 2000);
            c.pct_depth = depths[i];
            c.pct_steps = steps[j];
            assert_int_equal(weft_explore(&c, body_wr, &st, &r), 1);
            assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
            assert_contains(r.message, "reader saw x == 1 but y == 0");
            /* a serial search stops at its first failure */
            assert_true(r.executions >= 1 && r.executions <= 2000);
            done(&r);
        }
}

/* Parse "NAME=<number>" out of a report line. */
static uint64_t report_value(const char *report, const char *name)
{
    const char *p = strstr(report, name);
    assert_non_null(p);
    return strtoull(p + strlen(name), NULL, 10);
}

/* The replay line names the seed and every pct setting that shaped the
 * execution; running those settings again gives the same report. */
static void pct_failure_replays_from_its_replay_line(void **state)
{
    (void)state;
    uint64_t k;
    unsigned n;
    wr_shape(&k, &n);
    uint64_t steps[] = { 0, 0 };
    steps[0] = k;
    for (size_t j = 0; j < 2; j++) {
        struct wr st = { .check = true };
        weft_config_t c;
        weft_result_t r, again;
        pinned(&c, "pct", 1000, 2000);
        c.pct_depth = 2;
        c.pct_steps = steps[j];
        assert_int_equal(weft_explore(&c, body_wr, &st, &r), 1);

        char want[96];
        snprintf(want, sizeof want, "WEFT_SEED=%" PRIu64 " WEFT_ITERATIONS=1",
                 r.seed);
        assert_contains(r.report, want);
        assert_contains(r.report, "WEFT_STRATEGY=pct WEFT_PCT_DEPTH=2 "
                                  "WEFT_PCT_STEPS=");
        uint64_t k_run = report_value(r.report, "WEFT_PCT_STEPS=");
        if (steps[j] != 0)
            assert_int_equal(k_run, k);
        else /* learnt: 64 for the first execution, then the steps seen */
            assert_true(k_run == 64 || k_run == k);

        pinned(&c, "pct", r.seed, 1);
        c.pct_depth = 2;
        c.pct_steps = k_run;
        assert_int_equal(weft_explore(&c, body_wr, &st, &again), 1);
        assert_int_equal(again.finding, r.finding);
        assert_int_equal(again.seed, r.seed);
        assert_string_equal(again.message, r.message);
        assert_int_equal(again.trace_hash, r.trace_hash);
        assert_int_equal(again.steps, r.steps);
        assert_int_equal(again.shrunk_steps, r.shrunk_steps);
        assert_int_equal(again.preemptions, r.preemptions);
        done(&again);
        done(&r);
    }
}

/* Same seed and settings, same executions: for pct at every depth, with
 * k given and learnt, and for random. */
static void pct_and_random_runs_repeat_exactly(void **state)
{
    (void)state;
    const char *strategies[] = { "pct", "pct", "pct", "pct", "random" };
    unsigned depths[] = { 1, 2, 3, 3, 3 };
    uint64_t steps[] = { 0, WR_STEPS, WR_STEPS, 0, 0 };
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        struct wr st1 = { .check = false }, st2 = { .check = false };
        weft_config_t c;
        weft_result_t r1, r2;
        pinned(&c, strategies[i], 77, 300);
        c.pct_depth = depths[i];
        c.pct_steps = steps[i];
        assert_int_equal(weft_explore(&c, body_wr, &st1, &r1), 0);
        assert_int_equal(weft_explore(&c, body_wr, &st2, &r2), 0);
        assert_int_equal(st1.hits, st2.hits);
        assert_int_equal(r1.distinct, r2.distinct);
        assert_int_equal(r1.total_steps, r2.total_steps);
        assert_int_equal(r1.trace_hash, r2.trace_hash);
        done(&r2);

        /* The last execution again, alone, from its seed and the k it
         * ran with (a learnt k is that of the replay line). */
        pinned(&c, strategies[i], r1.seed, 1);
        c.pct_depth = depths[i];
        c.pct_steps = steps[i] != 0 ? steps[i] : WR_STEPS;
        assert_int_equal(weft_explore(&c, body_wr, &st1, &r2), 0);
        assert_int_equal(r2.trace_hash, r1.trace_hash);
        done(&r2);
        done(&r1);
    }
}

static void pct_refuses_a_depth_out_of_range(void **state)
{
    (void)state;
    struct wr st = { .check = false };
    weft_config_t c;
    weft_result_t r;
    unsigned bad[] = { 0, 65 };
    for (size_t i = 0; i < 2; i++) {
        pinned(&c, "pct", 1, 10);
        c.pct_depth = bad[i];
        assert_int_equal(weft_explore(&c, body_wr, &st, &r), -EINVAL);
        assert_int_equal(r.executions, 0);
        weft_result_destroy(&r);
    }
}

/* ------------------------------------------- iterative preemption bounding */

/* Run body under iterating dfs (the default bound) within `iterations`;
 * return the executions run and the level of the last one. */
static uint64_t dfs_iterate(weft_body_fn *body, uint64_t iterations, int *level,
                            bool *exhausted)
{
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "dfs", 1, iterations);
    assert_int_equal(c.preemption_bound, WEFT_PREEMPTIONS_ITERATE);
    assert_int_equal(weft_explore(&c, body, NULL, &r), 0);
    uint64_t n = r.executions;
    *level = r.preemption_level;
    *exhausted = r.exhausted;
    done(&r);
    return n;
}

/*
 * Level L runs exactly the executions with L preemptions: bound(L) -
 * bound(L - 1) of the counts derived above, and the search ends,
 * exhausted, at the first level that cut no path, having run each
 * execution of the unbounded search once.
 *   one store:        1, 1, 1     (bounds 1, 2, 3; 3 unbounded)
 *   two stores:       1, 1, 2     (bounds 1, 2, 4; 4)
 *   empty thread:     1, 1        (bounds 1, 2, 2: level 1 cuts none)
 *   yield:            1, 1, 1     (bounds 1, 2, 3; 3)
 *   two threads, one store each: 3, 4, 3  (bounds 3, 7, 10; 10)
 */
static void dfs_iterate_runs_each_level_once(void **state)
{
    (void)state;
    struct {
        weft_body_fn *body;
        uint64_t per_level[4];
        int levels;
    } cases[] = {
        { body_one_store, { 1, 1, 1 }, 3 },
        { body_two_stores, { 1, 1, 2 }, 3 },
        { body_empty_thread, { 1, 1 }, 2 },
        { body_yield, { 1, 1, 1 }, 3 },
        { body_two_threads_atomic_main, { 3, 4, 3 }, 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int level;
        bool ex;
        uint64_t total = 0;
        for (int l = 0; l < cases[i].levels; l++) {
            total += cases[i].per_level[l];
            /* a budget that ends with level l ends at level l, and the
             * search is not exhausted until the last level */
            uint64_t n = dfs_iterate(cases[i].body, total, &level, &ex);
            assert_int_equal(n, total);
            assert_int_equal(level, l);
            assert_int_equal(ex, l == cases[i].levels - 1);
            if (cases[i].per_level[l] > 1) { /* one short: not exhausted */
                n = dfs_iterate(cases[i].body, total - 1, &level, &ex);
                assert_int_equal(level, l);
                assert_false(ex);
            }
        }
        uint64_t n = dfs_iterate(cases[i].body, 100000, &level, &ex);
        assert_int_equal(n, total);
        assert_int_equal(n, dfs_count(cases[i].body, NULL, -1));
        assert_int_equal(level, cases[i].levels - 1);
        assert_true(ex);
    }
}

/* The ABBA deadlock needs one preemption: iterating finds it at level 1,
 * after the one execution of level 0 (main's join blocks first). */
static void dfs_iterate_finds_abba_at_level_one(void **state)
{
    (void)state;
    struct abba st;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "dfs", 1, 100000);
    c.lock_order = 0;
    c.shrink = false;
    assert_int_equal(weft_explore(&c, body_abba, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_int_equal(r.preemption_level, 1);
    assert_int_equal(r.preemptions, 1);
    assert_false(r.exhausted);
    done(&r);
}

/*
 * A bug two preemptions deep: t1 stores 1 then 2, t2 reads twice and must
 * not see 1 then 2. t2's first load must come between the stores and its
 * second after them: t1 is preempted after its first store, t2 after its
 * first load (t1's exit is a free switch). Levels 0 and 1 pass, level 2
 * fails, and its schedule replays the failure.
 */
static weft_atomic32_t l2_x = WEFT_ATOMIC_INIT(0);

static void *l2_writer(void *arg)
{
    (void)arg;
    weft_atomic32_store(&l2_x, 1);
    weft_atomic32_store(&l2_x, 2);
    return NULL;
}

static void *l2_reader(void *arg)
{
    (void)arg;
    uint32_t a = weft_atomic32_load(&l2_x);
    /* a read-modify-write, not a load: a second load of what the task
     * found last is a spin, and switching there would be free */
    uint32_t b = weft_atomic32_fetch_add(&l2_x, 0);
    weft_assert(!(a == 1 && b == 2), "saw 1 then 2");
    return NULL;
}

static void body_level2(void *arg)
{
    (void)arg;
    weft_atomic32_store(&l2_x, 0);
    weft_thread_t t1, t2;
    weft_thread_spawn(&t1, "writer", l2_writer, NULL);
    weft_thread_spawn(&t2, "reader", l2_reader, NULL);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
}

static void dfs_iterate_failure_at_level_two_replays(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r, rr;
    assert_true(dfs_count(body_level2, NULL, 1) > 1); /* bound 1: passes */
    pinned(&c, "dfs", 1, 100000);
    c.shrink = false;
    assert_int_equal(weft_explore(&c, body_level2, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_int_equal(r.preemption_level, 2);
    assert_int_equal(r.preemptions, 2);
    assert_true(r.schedule_file[0] != '\0');

    pinned(&c, "replay", 1, 1);
    c.replay_file = r.schedule_file;
    assert_int_equal(weft_explore(&c, body_level2, NULL, &rr), 1);
    assert_int_equal(rr.finding, WEFT_FINDING_ASSERTION);
    assert_int_equal(rr.trace_hash, r.trace_hash);
    assert_contains(rr.message, "saw 1 then 2");
    weft_result_destroy(&rr);
    done(&r);
}

/* Missed wake-up (examples/missed_wakeup.c): one producer puts two items
 * in a one-slot buffer, two consumers take one each, waiting with `if`
 * instead of `while`: a consumer woken after the other took the item
 * takes from an empty slot. It needs no preemption (the switches at the
 * blocking waits are free): iterating finds it at level 0, within the
 * first executions, where the old default (a fixed bound 2, deepest first)
 * took thousands; the failing execution has as many preemptions as its
 * level (shrinking off). */
struct mw_slot {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    bool full;
};

static void *mw_producer(void *arg)
{
    struct mw_slot *s = arg;
    for (int i = 1; i <= 2; i++) {
        weft_mutex_lock(&s->m);
        while (s->full)
            weft_cond_wait(&s->nonfull, &s->m);
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
    if (!s->full) /* the bug */
        weft_cond_wait(&s->nonempty, &s->m);
    weft_assert(s->full, "took from an empty slot");
    s->full = false;
    weft_cond_signal(&s->nonfull);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void body_missed_wakeup(void *arg)
{
    (void)arg;
    struct mw_slot s = { WEFT_MUTEX_INITIALIZER, WEFT_COND_INITIALIZER,
                         WEFT_COND_INITIALIZER, false };
    weft_thread_t p, c1, c2;
    weft_thread_spawn(&c1, NULL, mw_consumer, &s);
    weft_thread_spawn(&c2, NULL, mw_consumer, &s);
    weft_thread_spawn(&p, NULL, mw_producer, &s);
    weft_thread_join(p, NULL);
    weft_thread_join(c1, NULL);
    weft_thread_join(c2, NULL);
}

static void dfs_iterate_finds_the_missed_wakeup_at_its_level(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "dfs", 1, 100000);
    c.shrink = false;
    assert_int_equal(weft_explore(&c, body_missed_wakeup, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_int_equal(r.preemption_level, 0);
    assert_int_equal(r.preemptions, 0);
    uint64_t n = r.executions;
    assert_true(n < 20);
    done(&r);
    pinned(&c, "dfs", 1, 100000);
    c.preemption_bound = 2;
    c.shrink = false;
    assert_int_equal(weft_explore(&c, body_missed_wakeup, NULL, &r), 1);
    assert_true(r.executions > 10 * n);
    done(&r);
}

/* Run body under dfs (bound, iterations) with the report on; return what
 * weft wrote on stderr (malloc'd). */
static char *dfs_summary(weft_body_fn *body, int bound, uint64_t iterations,
                         const char *json)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    dup2(fileno(f), 2);
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "dfs", 1, iterations);
    c.quiet = false;
    c.preemption_bound = bound;
    c.json_out = json;
    int rc = weft_explore(&c, body, NULL, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, 0);
    done(&r);
    long n = ftell(f);
    assert_true(n >= 0);
    char *out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    rewind(f);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return out;
}

/* The summary line says how far the levels went and whether that was
 * all; the JSON result has the level. */
static void dfs_iterate_summary_and_json(void **state)
{
    (void)state;
    char json[] = "/tmp/weft-test-iterate-XXXXXX";
    int fd = mkstemp(json);
    assert_true(fd >= 0);
    close(fd);
    char *out =
        dfs_summary(body_two_stores, WEFT_PREEMPTIONS_ITERATE, 100000, json);
    assert_contains(out, "4 executions (the search is exhausted");
    assert_contains(out, "; preemption bounds iterated up to 2; exhausted)");
    free(out);
    FILE *f = fopen(json, "r");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(json);
    assert_contains(buf, "\"preemption_level\": 2,");
    assert_contains(buf, "\"exhausted\": true,");

    /* cut short by the budget at level 1: not exhausted */
    out = dfs_summary(body_two_stores, WEFT_PREEMPTIONS_ITERATE, 2, NULL);
    assert_contains(out, "; preemption bounds iterated up to 1)");
    assert_null(strstr(out, "exhausted"));
    free(out);
    /* a fixed bound says nothing of levels */
    out = dfs_summary(body_two_stores, 1, 100000, NULL);
    assert_null(strstr(out, "iterated"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dfs_counts_main_and_one_single_store_thread),
        cmocka_unit_test(dfs_counts_main_and_one_two_store_thread),
        cmocka_unit_test(dfs_counts_main_and_one_empty_thread),
        cmocka_unit_test(dfs_switch_at_a_yield_costs_no_preemption),
        cmocka_unit_test(no_strategy_turns_a_busy_wait_into_a_finding),
        cmocka_unit_test(pct_tail_is_fair_so_a_polite_livelock_ends),
        cmocka_unit_test(dfs_counts_two_threads_with_one_store_each),
        cmocka_unit_test(dfs_counts_two_threads_without_preemption),
        cmocka_unit_test(dfs_stops_short_of_a_space_larger_than_its_iterations),
        cmocka_unit_test(dfs_enumerates_each_chosen_value_once),
        cmocka_unit_test(dfs_finds_abba_with_one_preemption_but_not_zero),
        cmocka_unit_test(dfs_is_deterministic),
        cmocka_unit_test(dfs_iterate_runs_each_level_once),
        cmocka_unit_test(dfs_iterate_finds_abba_at_level_one),
        cmocka_unit_test(dfs_iterate_finds_the_missed_wakeup_at_its_level),
        cmocka_unit_test(dfs_iterate_failure_at_level_two_replays),
        cmocka_unit_test(dfs_iterate_summary_and_json),
        cmocka_unit_test(pct_hits_a_depth2_bug_at_least_as_often_as_its_bound),
        cmocka_unit_test(pct_finds_the_depth2_bug_within_budget),
        cmocka_unit_test(pct_failure_replays_from_its_replay_line),
        cmocka_unit_test(pct_and_random_runs_repeat_exactly),
        cmocka_unit_test(pct_refuses_a_depth_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
