/*
 * test_cond.c: condition variables: who signal and broadcast wake, timed
 * waits, waiting without the mutex, and the three classic bugs weft must
 * find (a stolen wake-up behind an `if`, a spurious wake-up behind an
 * `if`, a lost wake-up without a predicate), each with a correct twin
 * that passes the same exploration.
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

/* ------------------------------------------------- signal and broadcast */

#define WAITERS 3

struct wake {
    weft_mutex_t m;
    weft_cond_t c;
    bool broadcast;
    int arrived, woken;
    int arrival[WAITERS]; /* ids in the order they started waiting */
    int woken_ids[WAITERS];
    int wait_rc[WAITERS];
    int woken_by_first_wake; /* over all executions: min and max */
    int min_woken, max_woken;
    unsigned not_longest; /* signal woke someone else than arrival[0] */
};

struct wake_arg {
    struct wake *s;
    int id;
};

static void *wait_once(void *arg)
{
    struct wake_arg *a = arg;
    struct wake *s = a->s;
    weft_mutex_lock(&s->m);
    s->arrival[s->arrived++] = a->id;
    s->wait_rc[a->id] = weft_cond_wait(&s->c, &s->m);
    s->woken_ids[s->woken++] = a->id;
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void wake_body(void *arg)
{
    struct wake *s = arg;
    static struct wake_arg args[WAITERS];
    weft_thread_t t[WAITERS];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&s->c);
    s->arrived = s->woken = 0;
    for (int i = 0; i < WAITERS; i++) {
        args[i].s = s;
        args[i].id = i;
        s->wait_rc[i] = 1;
        weft_thread_spawn(&t[i], "waiter", wait_once, &args[i]);
    }
    /* Time moves only when nothing can run: all waiters wait by now. */
    weft_sleep_for(WEFT_SEC);
    weft_assert(s->arrived == WAITERS, "%d waiters arrived", s->arrived);
    weft_mutex_lock(&s->m);
    if (s->broadcast)
        weft_cond_broadcast(&s->c);
    else
        weft_cond_signal(&s->c);
    weft_mutex_unlock(&s->m);
    weft_sleep_for(WEFT_SEC); /* everyone woken has finished by now */
    if (s->woken < s->min_woken)
        s->min_woken = s->woken;
    if (s->woken > s->max_woken)
        s->max_woken = s->woken;
    if (s->woken >= 1 && s->woken_ids[0] != s->arrival[0])
        s->not_longest++;
    /* Release the rest. */
    weft_mutex_lock(&s->m);
    weft_cond_broadcast(&s->c);
    weft_mutex_unlock(&s->m);
    for (int i = 0; i < WAITERS; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->woken == WAITERS, "%d woken at the end", s->woken);
    for (int i = 0; i < WAITERS; i++)
        weft_assert(s->wait_rc[i] == 0, "wait returned %d", s->wait_rc[i]);
}

static void signal_wakes_exactly_one_waiter_the_longest(void **state)
{
    (void)state;
    struct wake s;
    memset(&s, 0, sizeof s);
    s.broadcast = false;
    s.min_woken = 1000;
    s.max_woken = -1;
    weft_result_t r;
    int rc = explore(wake_body, &s, 100, 300, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.min_woken, 1);
    assert_int_equal(s.max_woken, 1);
    assert_int_equal(s.not_longest, 0);
    weft_result_destroy(&r);
}

static void broadcast_wakes_every_waiter(void **state)
{
    (void)state;
    struct wake s;
    memset(&s, 0, sizeof s);
    s.broadcast = true;
    s.min_woken = 1000;
    s.max_woken = -1;
    weft_result_t r;
    int rc = explore(wake_body, &s, 100, 300, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.min_woken, WAITERS);
    assert_int_equal(s.max_woken, WAITERS);
    weft_result_destroy(&r);
}

/* Many waiters, each blocked before the next is spawned, so that no more
 * than two tasks were ever ready at once before the broadcast. */
#define MANY 40

struct many {
    weft_mutex_t m;
    weft_cond_t c;
    int go, waiting, woken;
};

static void *wait_for_go(void *arg)
{
    struct many *s = arg;
    weft_mutex_lock(&s->m);
    s->waiting++;
    while (!s->go)
        weft_cond_wait(&s->c, &s->m);
    s->woken++;
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void many_body(void *arg)
{
    struct many *s = arg;
    static weft_thread_t t[MANY];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&s->c);
    s->go = s->waiting = s->woken = 0;
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "waiter", wait_for_go, s);
        weft_sleep_for(WEFT_MSEC); /* t[i] waits before the next spawn */
    }
    weft_assert(s->waiting == MANY, "%d waiting", s->waiting);
    weft_mutex_lock(&s->m);
    s->go = 1;
    weft_cond_broadcast(&s->c);
    weft_mutex_unlock(&s->m);
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->woken == MANY, "%d of %d woken", s->woken, MANY);
}

static void broadcast_wakes_every_one_of_forty_waiters(void **state)
{
    (void)state;
    struct many s;
    struct child c;
    memset(&s, 0, sizeof s);
    explore_in_child(many_body, &s, 1, 20, &c);
    assert_child_no_finding(&c);
}

/* ----------------------------------------------------------- timedwait */

struct timedwait {
    weft_mutex_t m;
    weft_cond_t c;
    bool contended; /* a holder keeps the mutex over the deadline */
    int rc, other_try_rc, unlock_rc;
    int64_t returned_at;
};

static void *try_lock(void *arg)
{
    struct timedwait *s = arg;
    s->other_try_rc = weft_mutex_trylock(&s->m);
    if (s->other_try_rc == 0)
        weft_mutex_unlock(&s->m);
    return NULL;
}

static void *hold_over_deadline(void *arg)
{
    struct timedwait *s = arg;
    weft_sleep_until(WEFT_SEC);
    weft_mutex_lock(&s->m);
    weft_sleep_until(3 * WEFT_SEC);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void timedwait_body(void *arg)
{
    struct timedwait *s = arg;
    weft_thread_t t, h;
    weft_mutex_init(&s->m, WEFT_MUTEX_ERRORCHECK);
    weft_cond_init(&s->c);
    if (s->contended)
        weft_thread_spawn(&h, "holder", hold_over_deadline, s);
    weft_mutex_lock(&s->m);
    s->rc = weft_cond_timedwait(&s->c, &s->m, 2 * WEFT_SEC);
    s->returned_at = weft_now();
    /* Held again: another thread cannot take it, and our unlock is an
     * owner's unlock (an error-checking mutex says -EPERM otherwise). */
    weft_thread_spawn(&t, "trier", try_lock, s);
    weft_thread_join(t, NULL);
    s->unlock_rc = weft_mutex_unlock(&s->m);
    if (s->contended)
        weft_thread_join(h, NULL);
}

static void
timedwait_times_out_at_exactly_its_deadline_holding_the_mutex(void **state)
{
    (void)state;
    struct timedwait s;
    memset(&s, 0, sizeof s);
    s.rc = s.other_try_rc = s.unlock_rc = 1;
    weft_result_t r;
    int rc = explore(timedwait_body, &s, 17, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rc, -ETIMEDOUT);
    assert_int_equal(s.returned_at, 2 * WEFT_SEC);
    assert_int_equal(s.other_try_rc, -EBUSY);
    assert_int_equal(s.unlock_rc, 0);
    weft_result_destroy(&r);
}

static void timedwait_that_times_out_takes_the_mutex_back_first(void **state)
{
    (void)state;
    struct timedwait s;
    memset(&s, 0, sizeof s);
    s.contended = true;
    s.rc = s.other_try_rc = s.unlock_rc = 1;
    weft_result_t r;
    int rc = explore(timedwait_body, &s, 17, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rc, -ETIMEDOUT);
    /* The deadline passed at 2 s; the holder let go at 3 s. */
    assert_int_equal(s.returned_at, 3 * WEFT_SEC);
    assert_int_equal(s.other_try_rc, -EBUSY);
    assert_int_equal(s.unlock_rc, 0);
    weft_result_destroy(&r);
}

/* --------------------------------------------------- wait without lock */

static weft_mutex_t loose_m = WEFT_MUTEX_INITIALIZER;
static weft_cond_t loose_c = WEFT_COND_INITIALIZER;

static void wait_unlocked_body(void *arg)
{
    (void)arg;
    weft_cond_timedwait(&loose_c, &loose_m, WEFT_SEC);
}

static void wait_without_holding_the_mutex_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(wait_unlocked_body, NULL, 3, 10, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_LOCK_MISUSE,
                             "without holding");
    assert_contains(r.message, "condition variable");
    assert_int_equal(r.executions, 1);
    weft_result_destroy(&r);
}

/* --------------------------------------------------- stolen wake-up */

struct slot {
    weft_mutex_t m;
    weft_cond_t not_empty, not_full;
    bool use_while;
    int full; /* the one slot */
    int consumed;
};

static void *produce_two(void *arg)
{
    struct slot *s = arg;
    for (int i = 0; i < 2; i++) {
        weft_mutex_lock(&s->m);
        while (s->full)
            weft_cond_wait(&s->not_full, &s->m);
        s->full = 1;
        weft_cond_signal(&s->not_empty);
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void *consume_one(void *arg)
{
    struct slot *s = arg;
    weft_mutex_lock(&s->m);
    if (s->use_while) {
        while (!s->full)
            weft_cond_wait(&s->not_empty, &s->m);
    } else {
        if (!s->full) /* the bug: another consumer may take it first */
            weft_cond_wait(&s->not_empty, &s->m);
    }
    weft_assert(s->full, "consumer woke to an empty slot");
    s->full = 0;
    s->consumed++;
    weft_cond_signal(&s->not_full);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void slot_body(void *arg)
{
    struct slot *s = arg;
    weft_thread_t p, c[2];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&s->not_empty);
    weft_cond_init(&s->not_full);
    s->full = 0;
    s->consumed = 0;
    weft_thread_spawn(&c[0], "consumer", consume_one, s);
    weft_thread_spawn(&c[1], "consumer", consume_one, s);
    weft_thread_spawn(&p, "producer", produce_two, s);
    weft_thread_join(p, NULL);
    weft_thread_join(c[0], NULL);
    weft_thread_join(c[1], NULL);
    weft_assert(s->consumed == 2, "consumed %d", s->consumed);
}

static void if_instead_of_while_is_found_as_a_stolen_wakeup(void **state)
{
    (void)state;
    struct slot s;
    memset(&s, 0, sizeof s);
    s.use_while = false;
    weft_result_t r;
    int rc = explore(slot_body, &s, 1, 1000, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_ASSERTION,
                             "consumer woke to an empty slot");
    weft_result_destroy(&r);
}

static void while_loop_twin_passes_1000_seeds(void **state)
{
    (void)state;
    struct slot s;
    memset(&s, 0, sizeof s);
    s.use_while = true;
    weft_result_t r;
    int rc = explore(slot_body, &s, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

/* -------------------------------------------------- spurious wake-up */

struct flag {
    weft_mutex_t m;
    weft_cond_t c;
    int ready;
};

static void *signal_ready(void *arg)
{
    struct flag *s = arg;
    weft_mutex_lock(&s->m);
    s->ready = 1;
    weft_cond_signal(&s->c);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void flag_body(void *arg)
{
    struct flag *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&s->c);
    s->ready = 0;
    weft_thread_spawn(&t, "producer", signal_ready, s);
    weft_mutex_lock(&s->m);
    /* The only wake a correct program could count on is the signal; an
     * `if` is right only when no spurious wake-up can happen. */
    if (!s->ready)
        weft_cond_wait(&s->c, &s->m);
    weft_assert(s->ready, "woke without the signal");
    weft_mutex_unlock(&s->m);
    weft_thread_join(t, NULL);
}

static void spurious_wakeup_is_found_when_enabled(void **state)
{
    (void)state;
    struct flag s;
    memset(&s, 0, sizeof s);
    weft_config_t c;
    config(&c, 1, 1000);
    c.spurious = 1;
    weft_result_t r;
    int rc = weft_explore(&c, flag_body, &s, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_ASSERTION,
                             "woke without the signal");
    /* The replay line carries the setting that made it possible. */
    assert_contains(r.report, "WEFT_SPURIOUS=1");
    weft_result_destroy(&r);
}

static void same_program_never_fails_without_spurious_wakeups(void **state)
{
    (void)state;
    struct flag s;
    memset(&s, 0, sizeof s);
    weft_config_t c;
    config(&c, 1, 1000);
    c.spurious = 0;
    weft_result_t r;
    int rc = weft_explore(&c, flag_body, &s, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

/* --------------------------------------------------- lost wake-up */

static weft_mutex_t lost_m = WEFT_MUTEX_INITIALIZER;
static weft_cond_t lost_c = WEFT_COND_INITIALIZER;

static void *wait_without_predicate(void *arg)
{
    (void)arg;
    weft_mutex_lock(&lost_m);
    weft_cond_wait(&lost_c, &lost_m); /* the bug: no predicate */
    weft_mutex_unlock(&lost_m);
    return NULL;
}

static void lost_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "waiter", wait_without_predicate, NULL);
    weft_mutex_lock(&lost_m);
    weft_cond_signal(&lost_c);
    weft_mutex_unlock(&lost_m);
    weft_thread_join(t, NULL);
}

static void
lost_wakeup_is_a_deadlock_naming_the_condition_variable(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(lost_body, NULL, 1, 1000, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_DEADLOCK,
                             "condition variable");
    assert_contains(r.report, "cond");
    assert_contains(r.report, "\"waiter\"");
    weft_result_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signal_wakes_exactly_one_waiter_the_longest),
        cmocka_unit_test(broadcast_wakes_every_waiter),
        cmocka_unit_test(broadcast_wakes_every_one_of_forty_waiters),
        cmocka_unit_test(
            timedwait_times_out_at_exactly_its_deadline_holding_the_mutex),
        cmocka_unit_test(timedwait_that_times_out_takes_the_mutex_back_first),
        cmocka_unit_test(wait_without_holding_the_mutex_is_lock_misuse),
        cmocka_unit_test(if_instead_of_while_is_found_as_a_stolen_wakeup),
        cmocka_unit_test(while_loop_twin_passes_1000_seeds),
        cmocka_unit_test(spurious_wakeup_is_found_when_enabled),
        cmocka_unit_test(same_program_never_fails_without_spurious_wakeups),
        cmocka_unit_test(
            lost_wakeup_is_a_deadlock_naming_the_condition_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
