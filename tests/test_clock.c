/*
 * test_clock.c: virtual time: it starts at 0, sleeps advance it exactly,
 * an hour passes at once, same-instant timers fire in either order while
 * different deadlines fire in deadline order, a past deadline does not
 * block, and time moves only when no task can run.
 *
 * cmocka's assert_* never run inside a weft task: tasks record into a
 * state struct or use weft_assert, and cmocka checks after weft_explore.
 */
#include "prim.h"
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* Inside a task: check a time, naming both on failure. */
#define expect_time(what, got, want)                                \
    weft_assert((got) == (want), "%s: now %lld, want %lld", (what), \
                (long long)(got), (long long)(want))

/* ------------------------------------------------------------ the start */

struct start {
    unsigned executions;
    int64_t max_start;
};

static void start_body(void *arg)
{
    struct start *s = arg;
    int64_t t0 = weft_now();
    if (t0 > s->max_start)
        s->max_start = t0;
    expect_time("at the start", t0, 0);
    weft_sleep_for(5 * WEFT_SEC); /* leave the clock far from 0 */
    s->executions++;
}

static void time_starts_at_zero_in_every_execution(void **state)
{
    (void)state;
    struct start s = { 0, 0 };
    weft_result_t r;
    int rc = explore(start_body, &s, 1, 5, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.time, 5 * WEFT_SEC);
    weft_result_destroy(&r);
    rc = explore(start_body, &s, 2, 5, &r); /* a later exploration too */
    assert_no_finding(rc, &r);
    assert_int_equal(s.executions, 10);
    assert_int_equal(s.max_start, 0);
    weft_result_destroy(&r);
}

/* ---------------------------------------------------------- sleep_for */

static void sleep_for_body(void *arg)
{
    (void)arg;
    weft_sleep_for(1234567 * WEFT_NSEC);
    expect_time("after 1234567 ns", weft_now(), 1234567);
    weft_sleep_for(1);
    expect_time("after 1 ns more", weft_now(), 1234568);
    weft_sleep_for(0);
    expect_time("after 0 ns", weft_now(), 1234568);
    weft_sleep_for(2 * WEFT_MSEC + 3 * WEFT_USEC);
    expect_time("after 2.003 ms", weft_now(), 1234568 + 2003000);
}

static void sleep_for_advances_time_by_exactly_its_duration(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(sleep_for_body, NULL, 3, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.time, 1234568 + 2003000);
    weft_result_destroy(&r);
}

static void hour_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3600; i++)
        weft_sleep_for(WEFT_SEC);
    expect_time("after an hour", weft_now(), 3600 * WEFT_SEC);
}

static void a_virtual_hour_of_sleeping_completes(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(hour_body, NULL, 4, 2, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.time, 3600 * WEFT_SEC);
    weft_result_destroy(&r);
}

/* ---------------------------------------------------- timer ordering */

struct same {
    int order[2];
    int n;
    int64_t woke_at[2];
    unsigned first[2]; /* over all executions: who woke first */
};

struct same_arg {
    struct same *s;
    int id;
};

static void *sleep_to_one_second(void *arg)
{
    struct same_arg *a = arg;
    weft_sleep_until(WEFT_SEC);
    a->s->woke_at[a->id] = weft_now();
    a->s->order[a->s->n++] = a->id;
    return NULL;
}

static void same_body(void *arg)
{
    struct same *s = arg;
    static struct same_arg args[2];
    weft_thread_t t[2];
    s->n = 0;
    for (int i = 0; i < 2; i++) {
        args[i].s = s;
        args[i].id = i;
        weft_thread_spawn(&t[i], "sleeper", sleep_to_one_second, &args[i]);
    }
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    expect_time("sleeper 0 woke", s->woke_at[0], WEFT_SEC);
    expect_time("sleeper 1 woke", s->woke_at[1], WEFT_SEC);
    s->first[s->order[0]]++;
}

static void same_deadline_sleepers_wake_in_both_orders(void **state)
{
    (void)state;
    struct same s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(same_body, &s, 1, 200, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.first[0] + s.first[1], 200);
    assert_true(s.first[0] > 0);
    assert_true(s.first[1] > 0);
    weft_result_destroy(&r);
}

#define TIMERS 3

struct order {
    int armed[TIMERS]; /* deadlines in seconds, in arming order */
    int woke[TIMERS];  /* deadlines in seconds, in waking order */
    int64_t woke_at[TIMERS];
    int narmed, nwoke;
    unsigned first_armed[TIMERS + 1]; /* over all executions */
};

struct order_arg {
    struct order *s;
    int secs;
};

static void *arm_and_sleep(void *arg)
{
    struct order_arg *a = arg;
    struct order *s = a->s;
    /* Inside an atomic block nothing runs between recording the arming
     * order and arming the timer (the block resumes after the sleep). */
    weft_atomic_begin();
    s->armed[s->narmed++] = a->secs;
    weft_sleep_until(a->secs * WEFT_SEC);
    weft_atomic_end();
    s->woke_at[s->nwoke] = weft_now();
    s->woke[s->nwoke++] = a->secs;
    return NULL;
}

static void order_body(void *arg)
{
    struct order *s = arg;
    static struct order_arg args[TIMERS];
    static const int secs[TIMERS] = { 3, 1, 2 };
    weft_thread_t t[TIMERS];
    s->narmed = s->nwoke = 0;
    for (int i = 0; i < TIMERS; i++) {
        args[i].s = s;
        args[i].secs = secs[i];
        weft_thread_spawn(&t[i], "timer", arm_and_sleep, &args[i]);
    }
    for (int i = 0; i < TIMERS; i++)
        weft_thread_join(t[i], NULL);
    for (int i = 0; i < TIMERS; i++) {
        weft_assert(s->woke[i] == i + 1, "woke #%d was the %d s timer", i,
                    s->woke[i]);
        expect_time("timer woke", s->woke_at[i], (i + 1) * WEFT_SEC);
    }
    s->first_armed[s->armed[0]]++;
}

static void
timers_fire_in_deadline_order_whatever_the_arming_order(void **state)
{
    (void)state;
    struct order s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(order_body, &s, 1, 200, &r);
    assert_no_finding(rc, &r);
    /* The arming order did vary: each timer was armed first sometimes. */
    for (int secs = 1; secs <= TIMERS; secs++)
        assert_true(s.first_armed[secs] > 0);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------ past deadlines */

struct past {
    int64_t after[3];
};

static void *sleep_ten_seconds(void *arg)
{
    (void)arg;
    weft_sleep_for(10 * WEFT_SEC);
    return NULL;
}

static void past_body(void *arg)
{
    struct past *s = arg;
    weft_thread_t t;
    weft_sleep_for(5 * WEFT_SEC);
    /* Another task has a pending timer: a blocking sleep would let the
     * clock jump to 10 s. */
    weft_thread_spawn(&t, "sleeper", sleep_ten_seconds, NULL);
    weft_sleep_until(2 * WEFT_SEC);
    s->after[0] = weft_now();
    weft_sleep_until(0);
    s->after[1] = weft_now();
    weft_sleep_until(5 * WEFT_SEC); /* exactly now */
    s->after[2] = weft_now();
    weft_thread_join(t, NULL);
}

static void
sleep_until_a_past_deadline_returns_without_advancing_time(void **state)
{
    (void)state;
    struct past s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(past_body, &s, 5, 100, &r);
    assert_no_finding(rc, &r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(s.after[i], 5 * WEFT_SEC);
    assert_int_equal(r.time, 15 * WEFT_SEC);
    weft_result_destroy(&r);
}

/* --------------------------------------------- when time may move */

#define SPINS 10

struct spin {
    int64_t at[SPINS];
    int64_t sleeper_woke;
    int64_t latest_spin; /* over all executions */
};

static void *spinner(void *arg)
{
    struct spin *s = arg;
    for (int i = 0; i < SPINS; i++) {
        s->at[i] = weft_now();
        weft_yield();
    }
    return NULL;
}

static void *sleeper(void *arg)
{
    struct spin *s = arg;
    weft_sleep_for(WEFT_SEC);
    s->sleeper_woke = weft_now();
    return NULL;
}

static void spin_body(void *arg)
{
    struct spin *s = arg;
    weft_thread_t a, b;
    weft_thread_spawn(&b, "sleeper", sleeper, s);
    weft_thread_spawn(&a, "spinner", spinner, s);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    for (int i = 0; i < SPINS; i++) {
        expect_time("spinner step", s->at[i], 0);
        if (s->at[i] > s->latest_spin)
            s->latest_spin = s->at[i];
    }
    expect_time("sleeper woke", s->sleeper_woke, WEFT_SEC);
}

static void time_advances_only_when_no_task_can_run(void **state)
{
    (void)state;
    struct spin s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(spin_body, &s, 1, 200, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.latest_spin, 0);
    weft_result_destroy(&r);
}

/* A task spinning on an atomic flag waits for a write, as a blocked task
 * waits for its object: with the flag's writer asleep, time passes to its
 * wake-up instead of the spin running to the step bound. An explicit
 * yield (above) is no such wait. */
struct spin_flag {
    weft_atomic32_t flag;
    int64_t seen_at;
};

static void *flag_setter(void *arg)
{
    struct spin_flag *s = arg;
    weft_sleep_for(WEFT_SEC);
    weft_atomic32_store(&s->flag, 1);
    return NULL;
}

static void spin_flag_body(void *arg)
{
    struct spin_flag *s = arg;
    weft_atomic32_store(&s->flag, 0);
    weft_thread_t t;
    weft_thread_spawn(&t, "setter", flag_setter, s);
    while (weft_atomic32_load(&s->flag) == 0)
        ;
    s->seen_at = weft_now();
    weft_thread_join(t, NULL);
    weft_assert(s->seen_at == WEFT_SEC, "saw the flag at %lld",
                (long long)s->seen_at);
}

static void a_spin_on_a_sleepers_flag_lets_time_pass(void **state)
{
    (void)state;
    struct spin_flag s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(spin_flag_body, &s, 1, 200, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
}

static void sleep_forever_body(void *arg)
{
    (void)arg;
    weft_sleep_until(WEFT_FOREVER);
}

static void sleeping_forever_with_nothing_else_is_a_deadlock(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(sleep_forever_body, NULL, 1, 10, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_contains(r.report, "sleeps forever");
    weft_result_destroy(&r);
}

/* ----------------------------------------------------- many timers */

/* Forty sleepers with one deadline, each asleep before the next is
 * spawned, so no more than two tasks were ever ready at once before the
 * deadline wakes them all. */
#define MANY 40

static int many_woke;

static void *sleep_until_two_seconds(void *arg)
{
    (void)arg;
    weft_sleep_until(2 * WEFT_SEC);
    expect_time("sleeper woke", weft_now(), 2 * WEFT_SEC);
    many_woke++;
    return NULL;
}

static void many_body(void *arg)
{
    (void)arg;
    static weft_thread_t t[MANY];
    many_woke = 0;
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "sleeper", sleep_until_two_seconds, NULL);
        weft_sleep_for(WEFT_MSEC);
    }
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(many_woke == MANY, "%d of %d woke", many_woke, MANY);
}

static void forty_sleepers_with_one_deadline_all_wake_at_it(void **state)
{
    (void)state;
    struct child c;
    explore_in_child(many_body, NULL, 1, 20, &c);
    assert_child_no_finding(&c);
    assert_int_equal(c.time, 2 * WEFT_SEC);
}

/* ------------------------------------------------ the end of virtual time */

/* A duration past the end of virtual time sleeps until its end (INT64_MAX
 * ns); a negative one does not block. Computed in the caller as
 * weft_now() + ns, these overflowed (a signed overflow UBSan reports, and
 * a deadline in the past or WEFT_FOREVER). */
struct far {
    int64_t after_max, after_second_max, after_negative, loop_sleep;
    int64_t callback_at;
    bool callback_ran;
};

static void far_body(void *arg)
{
    struct far *f = arg;
    weft_sleep_for(-1); /* at 0: was a deadline of WEFT_FOREVER */
    f->after_negative = weft_now();
    weft_sleep_for(1);
    weft_sleep_for(INT64_MAX);
    f->after_max = weft_now();
    weft_sleep_for(INT64_MAX);
    weft_sleep_for(INT64_MIN);
    f->after_second_max = weft_now();
}

static void sleep_for_saturates_at_the_end_of_virtual_time(void **state)
{
    (void)state;
    struct far f;
    memset(&f, 0, sizeof f);
    weft_result_t r;
    int rc = explore(far_body, &f, 1, 3, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
    assert_int_equal(f.after_negative, 0);
    assert_int_equal(f.after_max, INT64_MAX);
    assert_int_equal(f.after_second_max, INT64_MAX);
}

static void far_callback(void *arg)
{
    struct far *f = arg;
    f->callback_ran = true;
    f->callback_at = weft_now();
}

static void *far_coroutine(void *arg)
{
    struct far *f = arg;
    weft_await_sleep_for(5);
    weft_call_later(weft_loop_current(), INT64_MAX, far_callback, f);
    weft_await_sleep_for(INT64_MAX - 1);
    f->loop_sleep = weft_now();
    weft_await_sleep_for(10);
    return NULL;
}

static void far_loop_body(void *arg)
{
    weft_run(far_coroutine, arg, NULL);
}

static void await_sleep_for_and_call_later_saturate_too(void **state)
{
    (void)state;
    struct far f;
    memset(&f, 0, sizeof f);
    weft_result_t r;
    int rc = explore(far_loop_body, &f, 1, 3, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
    assert_int_equal(f.loop_sleep, INT64_MAX);
    assert_true(f.callback_ran);
    assert_int_equal(f.callback_at, INT64_MAX);
}

/* ------------------------------------------------------- determinism */

/* The same seed replays the same execution: same timer orders, same
 * trace hash; different seeds do reach different executions. */
static void same_seed_replays_the_same_timer_orders(void **state)
{
    (void)state;
    uint64_t first_hash = 0;
    bool differs = false;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        struct order a, b;
        weft_result_t ra, rb;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        assert_int_equal(explore(order_body, &a, seed, 1, &ra), 0);
        assert_int_equal(explore(order_body, &b, seed, 1, &rb), 0);
        assert_memory_equal(a.armed, b.armed, sizeof a.armed);
        assert_memory_equal(a.woke, b.woke, sizeof a.woke);
        assert_int_equal(ra.trace_hash, rb.trace_hash);
        assert_int_equal(ra.steps, rb.steps);
        if (seed == 1)
            first_hash = ra.trace_hash;
        else if (ra.trace_hash != first_hash)
            differs = true;
        weft_result_destroy(&ra);
        weft_result_destroy(&rb);
    }
    assert_true(differs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_starts_at_zero_in_every_execution),
        cmocka_unit_test(sleep_for_advances_time_by_exactly_its_duration),
        cmocka_unit_test(a_virtual_hour_of_sleeping_completes),
        cmocka_unit_test(same_deadline_sleepers_wake_in_both_orders),
        cmocka_unit_test(
            timers_fire_in_deadline_order_whatever_the_arming_order),
        cmocka_unit_test(same_seed_replays_the_same_timer_orders),
        cmocka_unit_test(sleep_for_saturates_at_the_end_of_virtual_time),
        cmocka_unit_test(await_sleep_for_and_call_later_saturate_too),
        cmocka_unit_test(
            sleep_until_a_past_deadline_returns_without_advancing_time),
        cmocka_unit_test(time_advances_only_when_no_task_can_run),
        cmocka_unit_test(a_spin_on_a_sleepers_flag_lets_time_pass),
        cmocka_unit_test(sleeping_forever_with_nothing_else_is_a_deadlock),
        cmocka_unit_test(forty_sleepers_with_one_deadline_all_wake_at_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
