/*
 * test_mutex.c: mutexes of the three types: mutual exclusion, trylock and
 * timedlock, the POSIX errors of the recursive and error-checking types,
 * the findings a normal mutex turns misuse into, and a static mutex reused
 * across executions.
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

/* --------------------------------------------------- mutual exclusion */

struct counter {
    weft_mutex_t m;
    bool use_lock;
    int counter;
    int inside; /* tasks between lock and unlock */
};

#define ROUNDS 2

static void *increment(void *arg)
{
    struct counter *s = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (s->use_lock)
            weft_mutex_lock(&s->m);
        s->inside++;
        if (s->use_lock)
            weft_assert(s->inside == 1, "%d tasks inside", s->inside);
        int v = s->counter;
        weft_yield(); /* a preemption point inside the critical section */
        s->counter = v + 1;
        s->inside--;
        if (s->use_lock)
            weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void counter_body(void *arg)
{
    struct counter *s = arg;
    weft_thread_t t[3];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    s->counter = 0;
    s->inside = 0;
    for (int i = 0; i < 3; i++)
        weft_thread_spawn(&t[i], "incrementer", increment, s);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->counter == 3 * ROUNDS, "counter is %d", s->counter);
    weft_mutex_destroy(&s->m);
}

static void mutual_exclusion_holds_over_1000_seeds(void **state)
{
    (void)state;
    struct counter s;
    memset(&s, 0, sizeof s);
    s.use_lock = true;
    weft_result_t r;
    int rc = explore(counter_body, &s, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

/* The twin without the lock: the same exploration must find the lost
 * update, or the test above proves nothing. */
static void counter_without_the_lock_loses_an_update(void **state)
{
    (void)state;
    struct counter s;
    memset(&s, 0, sizeof s);
    s.use_lock = false;
    weft_result_t r;
    int rc = explore(counter_body, &s, 1, 1000, &r);
    assert_finding(rc, &r, WEFT_FINDING_ASSERTION, "counter is");
    weft_result_destroy(&r);
}

/* ------------------------------------------------------------- unlock */

struct waiter {
    weft_mutex_t m;
    int lock_rc;
    int64_t locked_at;
};

static void *lock_and_record(void *arg)
{
    struct waiter *s = arg;
    s->lock_rc = weft_mutex_lock(&s->m);
    s->locked_at = weft_now();
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void waiter_body(void *arg)
{
    struct waiter *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_mutex_lock(&s->m);
    weft_thread_spawn(&t, "waiter", lock_and_record, s);
    weft_sleep_for(WEFT_SEC); /* the waiter blocks meanwhile */
    weft_mutex_unlock(&s->m);
    weft_thread_join(t, NULL);
}

static void unlock_wakes_a_waiter(void **state)
{
    (void)state;
    struct waiter s;
    memset(&s, 0, sizeof s);
    s.lock_rc = 1;
    weft_result_t r;
    int rc = explore(waiter_body, &s, 3, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.lock_rc, 0);
    assert_int_equal(s.locked_at, WEFT_SEC);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------------ trylock */

struct trylock {
    weft_mutex_t m;
    int held_rc, free_rc;
};

static void *try_it(void *arg)
{
    struct trylock *s = arg;
    s->held_rc = weft_mutex_trylock(&s->m);
    return NULL;
}

static void trylock_body(void *arg)
{
    struct trylock *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_mutex_lock(&s->m);
    weft_thread_spawn(&t, "trier", try_it, s);
    weft_thread_join(t, NULL);
    weft_mutex_unlock(&s->m);
    s->free_rc = weft_mutex_trylock(&s->m);
    weft_mutex_unlock(&s->m);
}

static void trylock_on_a_held_mutex_is_ebusy(void **state)
{
    (void)state;
    struct trylock s;
    memset(&s, 0, sizeof s);
    s.held_rc = s.free_rc = 1;
    weft_result_t r;
    int rc = explore(trylock_body, &s, 5, 50, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.held_rc, -EBUSY);
    assert_int_equal(s.free_rc, 0);
    weft_result_destroy(&r);
}

/* ---------------------------------------------------------- recursive */

struct recursive {
    weft_mutex_t m;
    int lock_rc[3], unlock_rc[3];
    int foreign_try_rc, foreign_unlock_rc;
    int after_try_rc, after_unlock_rc;
};

static void *foreign_while_held(void *arg)
{
    struct recursive *s = arg;
    s->foreign_try_rc = weft_mutex_trylock(&s->m);
    s->foreign_unlock_rc = weft_mutex_unlock(&s->m);
    return NULL;
}

static void *foreign_after_release(void *arg)
{
    struct recursive *s = arg;
    s->after_try_rc = weft_mutex_trylock(&s->m);
    s->after_unlock_rc = weft_mutex_unlock(&s->m);
    return NULL;
}

static void recursive_body(void *arg)
{
    struct recursive *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_RECURSIVE);
    for (int i = 0; i < 3; i++)
        s->lock_rc[i] = weft_mutex_lock(&s->m);
    /* Held three times: another thread can neither lock nor unlock it. */
    weft_thread_spawn(&t, "foreign", foreign_while_held, s);
    weft_thread_join(t, NULL);
    for (int i = 0; i < 3; i++)
        s->unlock_rc[i] = weft_mutex_unlock(&s->m);
    weft_thread_spawn(&t, "after", foreign_after_release, s);
    weft_thread_join(t, NULL);
}

static void recursive_mutex_counts_its_locks(void **state)
{
    (void)state;
    struct recursive s;
    memset(&s, 0, sizeof s);
    s.foreign_try_rc = s.foreign_unlock_rc = 1;
    s.after_try_rc = s.after_unlock_rc = 1;
    weft_result_t r;
    int rc = explore(recursive_body, &s, 8, 50, &r);
    assert_no_finding(rc, &r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.lock_rc[i], 0);
        assert_int_equal(s.unlock_rc[i], 0);
    }
    assert_int_equal(s.foreign_try_rc, -EBUSY);
    assert_int_equal(s.foreign_unlock_rc, -EPERM);
    assert_int_equal(s.after_try_rc, 0);
    assert_int_equal(s.after_unlock_rc, 0);
    weft_result_destroy(&r);
}

struct recursive_partial {
    weft_mutex_t m;
    int try_rc;
};

static void *try_partial(void *arg)
{
    struct recursive_partial *s = arg;
    s->try_rc = weft_mutex_trylock(&s->m);
    return NULL;
}

static void recursive_partial_body(void *arg)
{
    struct recursive_partial *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_RECURSIVE);
    for (int i = 0; i < 3; i++)
        weft_mutex_lock(&s->m);
    weft_mutex_unlock(&s->m);
    weft_mutex_unlock(&s->m);
    weft_thread_spawn(&t, "trier", try_partial, s);
    weft_thread_join(t, NULL);
    weft_mutex_unlock(&s->m);
}

static void recursive_mutex_stays_held_until_the_last_unlock(void **state)
{
    (void)state;
    struct recursive_partial s;
    memset(&s, 0, sizeof s);
    s.try_rc = 1;
    weft_result_t r;
    int rc = explore(recursive_partial_body, &s, 8, 20, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.try_rc, -EBUSY);
    weft_result_destroy(&r);
}

/* ---------------------------------------------------- error-checking */

struct errorcheck {
    weft_mutex_t m;
    int lock_rc, relock_rc, foreign_rc, unlock_rc, unlocked_rc;
};

static void *foreign_unlock(void *arg)
{
    struct errorcheck *s = arg;
    s->foreign_rc = weft_mutex_unlock(&s->m);
    return NULL;
}

static void errorcheck_body(void *arg)
{
    struct errorcheck *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_ERRORCHECK);
    s->lock_rc = weft_mutex_lock(&s->m);
    s->relock_rc = weft_mutex_lock(&s->m);
    weft_thread_spawn(&t, "foreign", foreign_unlock, s);
    weft_thread_join(t, NULL);
    s->unlock_rc = weft_mutex_unlock(&s->m);
    s->unlocked_rc = weft_mutex_unlock(&s->m);
}

static void errorcheck_mutex_returns_posix_errors(void **state)
{
    (void)state;
    struct errorcheck s;
    memset(&s, 0, sizeof s);
    s.lock_rc = s.relock_rc = s.foreign_rc = s.unlock_rc = s.unlocked_rc = 1;
    weft_result_t r;
    int rc = explore(errorcheck_body, &s, 12, 50, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.lock_rc, 0);
    assert_int_equal(s.relock_rc, -EDEADLK);
    assert_int_equal(s.foreign_rc, -EPERM);
    assert_int_equal(s.unlock_rc, 0);
    assert_int_equal(s.unlocked_rc, -EPERM);
    weft_result_destroy(&r);
}

/* POSIX: trylock fails with EBUSY when the mutex is locked "by any thread,
 * including the current thread"; weft.h: trylock returns 0 or -EBUSY. */
struct owner_try {
    weft_mutex_t m;
    int try_rc, timed_rc;
};

static void owner_try_body(void *arg)
{
    struct owner_try *s = arg;
    weft_mutex_init(&s->m, WEFT_MUTEX_ERRORCHECK);
    weft_mutex_lock(&s->m);
    s->try_rc = weft_mutex_trylock(&s->m);
    s->timed_rc = weft_mutex_timedlock(&s->m, WEFT_SEC);
    weft_mutex_unlock(&s->m);
}

static void errorcheck_trylock_by_its_owner_is_ebusy(void **state)
{
    (void)state;
    struct owner_try s;
    memset(&s, 0, sizeof s);
    s.try_rc = s.timed_rc = 1;
    weft_result_t r;
    int rc = explore(owner_try_body, &s, 12, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.timed_rc, -EDEADLK); /* a lock that would wait */
    assert_int_equal(s.try_rc, -EBUSY);
    weft_result_destroy(&r);
}

/* --------------------------------------------- normal-mutex findings */

static weft_mutex_t normal = WEFT_MUTEX_INITIALIZER;

static void relock_body(void *arg)
{
    (void)arg;
    weft_mutex_lock(&normal);
    weft_mutex_lock(&normal);
    weft_mutex_unlock(&normal);
}

static void normal_mutex_relock_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(relock_body, NULL, 2, 10, &r);
    assert_finding(rc, &r, WEFT_FINDING_LOCK_MISUSE, "relocks");
    assert_int_equal(r.executions, 1);
    weft_result_destroy(&r);
}

static void *unlock_normal(void *arg)
{
    (void)arg;
    weft_mutex_unlock(&normal);
    return NULL;
}

static void foreign_unlock_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_mutex_lock(&normal);
    weft_thread_spawn(&t, "intruder", unlock_normal, NULL);
    weft_thread_join(t, NULL);
    weft_mutex_unlock(&normal);
}

static void normal_mutex_unlock_by_non_owner_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(foreign_unlock_body, NULL, 2, 10, &r);
    assert_finding(rc, &r, WEFT_FINDING_LOCK_MISUSE, "owned by");
    assert_contains(r.message, "\"intruder\"");
    assert_contains(r.message, "\"main\"");
    weft_result_destroy(&r);
}

static void unlock_unlocked_body(void *arg)
{
    (void)arg;
    weft_mutex_unlock(&normal);
}

static void normal_mutex_unlock_of_unlocked_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(unlock_unlocked_body, NULL, 2, 10, &r);
    assert_finding(rc, &r, WEFT_FINDING_LOCK_MISUSE, "not locked");
    weft_result_destroy(&r);
}

static void destroy_locked_body(void *arg)
{
    (void)arg;
    weft_mutex_t m;
    weft_mutex_init(&m, WEFT_MUTEX_NORMAL);
    weft_mutex_lock(&m);
    weft_mutex_destroy(&m);
}

static void destroying_a_locked_mutex_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(destroy_locked_body, NULL, 2, 10, &r);
    assert_finding(rc, &r, WEFT_FINDING_LOCK_MISUSE, "destroys");
    weft_result_destroy(&r);
}

static void *lock_and_leave(void *arg)
{
    weft_mutex_lock(arg);
    return NULL;
}

static void exit_holding_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_mutex_t m;
    weft_mutex_init(&m, WEFT_MUTEX_NORMAL);
    weft_thread_spawn(&t, "leaver", lock_and_leave, &m);
    weft_thread_join(t, NULL);
}

static void thread_exiting_while_holding_a_lock_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(exit_holding_body, NULL, 2, 10, &r);
    assert_finding(rc, &r, WEFT_FINDING_LOCK_MISUSE, "exits while holding");
    assert_contains(r.message, "\"leaver\"");
    weft_result_destroy(&r);
}

/* ---------------------------------------------------------- timedlock */

struct timed {
    weft_mutex_t m;
    int64_t hold_for; /* how long the holder keeps the lock */
    int rc;
    int64_t returned_at;
};

static void *hold_and_sleep(void *arg)
{
    struct timed *s = arg;
    weft_mutex_lock(&s->m);
    weft_sleep_for(s->hold_for);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void timed_body(void *arg)
{
    struct timed *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_thread_spawn(&t, "holder", hold_and_sleep, s);
    /* Time moves only when nothing can run: the holder has the lock and
     * sleeps before this returns. */
    weft_sleep_for(WEFT_MSEC);
    s->rc = weft_mutex_timedlock(&s->m, 2 * WEFT_SEC);
    s->returned_at = weft_now();
    if (s->rc == 0)
        weft_mutex_unlock(&s->m);
    weft_thread_join(t, NULL);
}

static void timedlock_times_out_at_exactly_its_deadline(void **state)
{
    (void)state;
    struct timed s;
    memset(&s, 0, sizeof s);
    s.hold_for = 5 * WEFT_SEC;
    s.rc = 1;
    weft_result_t r;
    int rc = explore(timed_body, &s, 31, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rc, -ETIMEDOUT);
    assert_int_equal(s.returned_at, 2 * WEFT_SEC);
    weft_result_destroy(&r);
}

static void timedlock_succeeds_when_released_before_its_deadline(void **state)
{
    (void)state;
    struct timed s;
    memset(&s, 0, sizeof s);
    s.hold_for = WEFT_SEC;
    s.rc = 1;
    weft_result_t r;
    int rc = explore(timed_body, &s, 31, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rc, 0);
    /* The holder locked at 0 and released at hold_for. */
    assert_int_equal(s.returned_at, WEFT_SEC);
    weft_result_destroy(&r);
}

/* -------------------------------------------- static, across executions */

static weft_mutex_t reused = WEFT_MUTEX_INITIALIZER;

static void fail_while_holding_body(void *arg)
{
    (void)arg;
    weft_mutex_lock(&reused);
    weft_fail("failing while holding the static mutex");
}

struct reuse {
    int try_rc;
    unsigned executions;
};

static void *lock_reused(void *arg)
{
    (void)arg;
    weft_mutex_lock(&reused);
    weft_yield();
    weft_mutex_unlock(&reused);
    return NULL;
}

static void lock_fine_body(void *arg)
{
    struct reuse *s = arg;
    weft_thread_t t[2];
    s->try_rc = weft_mutex_trylock(&reused);
    weft_assert(s->try_rc == 0, "trylock at start returned %d", s->try_rc);
    weft_mutex_unlock(&reused);
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], "locker", lock_reused, NULL);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    s->executions++;
}

static void static_mutex_starts_unlocked_after_a_failed_execution(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(fail_while_holding_body, NULL, 40, 1, &r);
    assert_finding(rc, &r, WEFT_FINDING_ASSERTION,
                   "failing while holding the static mutex");
    weft_result_destroy(&r);

    struct reuse s = { 1, 0 };
    rc = explore(lock_fine_body, &s, 41, 50, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.try_rc, 0);
    assert_int_equal(s.executions, 50);
    weft_result_destroy(&r);
}

/* ----------------------------------------------------- many waiters */

/* Each waiter blocks before the next is spawned, so no more than two
 * tasks were ever ready at once; then forty unlocks in a row (the main
 * thread's, then each waiter's) must hand the lock to every one. */
#define MANY 40

struct many {
    weft_mutex_t m;
    int entered, inside;
};

static void *lock_count_unlock(void *arg)
{
    struct many *s = arg;
    weft_mutex_lock(&s->m);
    s->inside++;
    weft_assert(s->inside == 1, "%d inside", s->inside);
    s->entered++;
    weft_yield();
    s->inside--;
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void many_body(void *arg)
{
    struct many *s = arg;
    static weft_thread_t t[MANY];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    s->entered = s->inside = 0;
    weft_mutex_lock(&s->m);
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "waiter", lock_count_unlock, s);
        weft_sleep_for(WEFT_MSEC); /* t[i] blocks before the next spawn */
    }
    weft_mutex_unlock(&s->m);
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->entered == MANY, "%d of %d entered", s->entered, MANY);
}

static void forty_lock_waiters_each_get_the_lock_in_turn(void **state)
{
    (void)state;
    struct many s;
    struct child c;
    memset(&s, 0, sizeof s);
    explore_in_child(many_body, &s, 1, 20, &c);
    assert_child_no_finding(&c);
}

/* --------------------------------------------------------------- init */

static void init_rejects_an_unknown_type(void **state)
{
    (void)state;
    weft_mutex_t m;
    assert_int_equal(weft_mutex_init(&m, (weft_mutex_type_t)7), -EINVAL);
    assert_int_equal(weft_mutex_init(NULL, WEFT_MUTEX_NORMAL), -EINVAL);
    assert_int_equal(weft_mutex_init(&m, WEFT_MUTEX_RECURSIVE), 0);
}

/* ------------------------------------------------- who goes next */

#define RIVALS 3

struct rivals {
    weft_mutex_t m;
    int order[RIVALS];
    int n;
    unsigned first[RIVALS]; /* over all executions */
};

struct rival_arg {
    struct rivals *s;
    int id;
};

static void *rival(void *arg)
{
    struct rival_arg *a = arg;
    weft_mutex_lock(&a->s->m);
    a->s->order[a->s->n++] = a->id;
    weft_mutex_unlock(&a->s->m);
    return NULL;
}

static void rivals_body(void *arg)
{
    struct rivals *s = arg;
    static struct rival_arg args[RIVALS];
    weft_thread_t t[RIVALS];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    s->n = 0;
    weft_mutex_lock(&s->m);
    for (int i = 0; i < RIVALS; i++) {
        args[i].s = s;
        args[i].id = i;
        weft_thread_spawn(&t[i], "rival", rival, &args[i]);
        weft_sleep_for(WEFT_MSEC); /* waits in spawn order */
    }
    weft_mutex_unlock(&s->m);
    for (int i = 0; i < RIVALS; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->n == RIVALS, "%d of %d locked", s->n, RIVALS);
    s->first[s->order[0]]++;
}

/* No order among waiters is promised, so each must get its turn first
 * in some schedule, the latest arrival included. */
static void any_waiter_may_get_the_lock_first(void **state)
{
    (void)state;
    struct rivals s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(rivals_body, &s, 1, 300, &r);
    assert_no_finding(rc, &r);
    for (int i = 0; i < RIVALS; i++)
        assert_true(s.first[i] > 0);
    weft_result_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mutual_exclusion_holds_over_1000_seeds),
        cmocka_unit_test(counter_without_the_lock_loses_an_update),
        cmocka_unit_test(unlock_wakes_a_waiter),
        cmocka_unit_test(any_waiter_may_get_the_lock_first),
        cmocka_unit_test(trylock_on_a_held_mutex_is_ebusy),
        cmocka_unit_test(recursive_mutex_counts_its_locks),
        cmocka_unit_test(recursive_mutex_stays_held_until_the_last_unlock),
        cmocka_unit_test(errorcheck_mutex_returns_posix_errors),
        cmocka_unit_test(errorcheck_trylock_by_its_owner_is_ebusy),
        cmocka_unit_test(normal_mutex_relock_is_lock_misuse),
        cmocka_unit_test(normal_mutex_unlock_by_non_owner_is_lock_misuse),
        cmocka_unit_test(normal_mutex_unlock_of_unlocked_is_lock_misuse),
        cmocka_unit_test(destroying_a_locked_mutex_is_lock_misuse),
        cmocka_unit_test(thread_exiting_while_holding_a_lock_is_lock_misuse),
        cmocka_unit_test(timedlock_times_out_at_exactly_its_deadline),
        cmocka_unit_test(timedlock_succeeds_when_released_before_its_deadline),
        cmocka_unit_test(static_mutex_starts_unlocked_after_a_failed_execution),
        cmocka_unit_test(init_rejects_an_unknown_type),
        cmocka_unit_test(forty_lock_waiters_each_get_the_lock_in_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
