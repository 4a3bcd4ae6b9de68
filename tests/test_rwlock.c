/*
 * test_rwlock.c: reader-writer locks: readers share, a writer excludes
 * everyone, the try and timed forms, a writer's relock, and the misuse a
 * stray unlock is.
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

/* ------------------------------------------------------- sharing */

struct share {
    weft_rwlock_t rw;
    int readers_inside, writers_inside;
    bool writers_use_read_lock; /* the broken twin */
    unsigned executions_with_two_readers;
    bool two_readers_now;
};

static void *reader(void *arg)
{
    struct share *s = arg;
    for (int i = 0; i < 2; i++) {
        weft_assert(weft_rwlock_rdlock(&s->rw) == 0, "rdlock failed");
        weft_assert(s->writers_inside == 0, "a reader saw %d writers",
                    s->writers_inside);
        s->readers_inside++;
        if (s->readers_inside == 2)
            s->two_readers_now = true;
        weft_yield();
        weft_assert(s->writers_inside == 0, "a reader saw %d writers",
                    s->writers_inside);
        s->readers_inside--;
        weft_rwlock_unlock(&s->rw);
    }
    return NULL;
}

static void *writer(void *arg)
{
    struct share *s = arg;
    for (int i = 0; i < 2; i++) {
        if (s->writers_use_read_lock)
            weft_rwlock_rdlock(&s->rw);
        else
            weft_assert(weft_rwlock_wrlock(&s->rw) == 0, "wrlock failed");
        weft_assert(s->readers_inside == 0 && s->writers_inside == 0,
                    "a writer entered with %d readers and %d writers",
                    s->readers_inside, s->writers_inside);
        s->writers_inside++;
        weft_yield();
        weft_assert(s->readers_inside == 0 && s->writers_inside == 1,
                    "a writer shares with %d readers and %d writers",
                    s->readers_inside, s->writers_inside - 1);
        s->writers_inside--;
        weft_rwlock_unlock(&s->rw);
    }
    return NULL;
}

static void share_body(void *arg)
{
    struct share *s = arg;
    weft_thread_t t[4];
    int n = 0;
    weft_rwlock_init(&s->rw);
    s->readers_inside = s->writers_inside = 0;
    s->two_readers_now = false;
    weft_thread_spawn(&t[n++], "reader", reader, s);
    weft_thread_spawn(&t[n++], "reader", reader, s);
    weft_thread_spawn(&t[n++], "writer", writer, s);
    weft_thread_spawn(&t[n++], "writer", writer, s);
    for (int i = 0; i < n; i++)
        weft_thread_join(t[i], NULL);
    if (s->two_readers_now)
        s->executions_with_two_readers++;
    weft_rwlock_destroy(&s->rw);
}

static void writer_excludes_readers_and_writers_over_1000_seeds(void **state)
{
    (void)state;
    struct share s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(share_body, &s, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 1000);
    /* ... and readers did share in some of those executions. */
    assert_true(s.executions_with_two_readers > 0);
    weft_result_destroy(&r);
}

/* The twin where writers take read locks: the same invariants must
 * catch it, or the test above proves nothing. */
static void writers_under_a_read_lock_are_caught(void **state)
{
    (void)state;
    struct share s;
    memset(&s, 0, sizeof s);
    s.writers_use_read_lock = true;
    weft_result_t r;
    int rc = explore(share_body, &s, 1, 1000, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_ASSERTION, "writer");
    weft_result_destroy(&r);
}

struct two_readers {
    weft_rwlock_t rw;
    int inside, max_inside;
};

static void *read_a_while(void *arg)
{
    struct two_readers *s = arg;
    weft_rwlock_rdlock(&s->rw);
    s->inside++;
    if (s->inside > s->max_inside)
        s->max_inside = s->inside;
    weft_yield();
    s->inside--;
    weft_rwlock_unlock(&s->rw);
    return NULL;
}

static void two_readers_body(void *arg)
{
    struct two_readers *s = arg;
    weft_thread_t t[2];
    weft_rwlock_init(&s->rw);
    s->inside = 0;
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], "reader", read_a_while, s);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
}

static void readers_share_the_lock(void **state)
{
    (void)state;
    struct two_readers s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(two_readers_body, &s, 1, 200, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.max_inside, 2);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- try forms */

struct tries {
    weft_rwlock_t rw;
    int rd_while_written, wr_while_written;
    int wr_while_read, rd_while_read;
};

static void *try_against_writer(void *arg)
{
    struct tries *s = arg;
    s->rd_while_written = weft_rwlock_tryrdlock(&s->rw);
    s->wr_while_written = weft_rwlock_trywrlock(&s->rw);
    return NULL;
}

static void *try_against_reader(void *arg)
{
    struct tries *s = arg;
    s->wr_while_read = weft_rwlock_trywrlock(&s->rw);
    s->rd_while_read = weft_rwlock_tryrdlock(&s->rw);
    if (s->rd_while_read == 0)
        weft_rwlock_unlock(&s->rw);
    return NULL;
}

static void tries_body(void *arg)
{
    struct tries *s = arg;
    weft_thread_t t;
    weft_rwlock_init(&s->rw);
    weft_rwlock_wrlock(&s->rw);
    weft_thread_spawn(&t, "trier", try_against_writer, s);
    weft_thread_join(t, NULL);
    weft_rwlock_unlock(&s->rw);

    weft_rwlock_rdlock(&s->rw);
    weft_thread_spawn(&t, "trier", try_against_reader, s);
    weft_thread_join(t, NULL);
    weft_rwlock_unlock(&s->rw);
}

static void try_locks_are_ebusy_when_they_would_wait(void **state)
{
    (void)state;
    struct tries s;
    memset(&s, 0, sizeof s);
    s.rd_while_written = s.wr_while_written = 1;
    s.wr_while_read = s.rd_while_read = 1;
    weft_result_t r;
    int rc = explore(tries_body, &s, 6, 50, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rd_while_written, -EBUSY);
    assert_int_equal(s.wr_while_written, -EBUSY);
    assert_int_equal(s.wr_while_read, -EBUSY);
    assert_int_equal(s.rd_while_read, 0); /* readers share */
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- relock */

struct relock {
    weft_rwlock_t rw;
    int first, again, read_again, unlock_rc;
};

static void relock_body(void *arg)
{
    struct relock *s = arg;
    weft_rwlock_init(&s->rw);
    s->first = weft_rwlock_wrlock(&s->rw);
    s->again = weft_rwlock_wrlock(&s->rw);
    s->read_again = weft_rwlock_rdlock(&s->rw);
    s->unlock_rc = weft_rwlock_unlock(&s->rw);
}

static void writer_relock_is_edeadlk(void **state)
{
    (void)state;
    struct relock s;
    memset(&s, 0, sizeof s);
    s.first = s.again = s.read_again = s.unlock_rc = 1;
    weft_result_t r;
    int rc = explore(relock_body, &s, 6, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.first, 0);
    assert_int_equal(s.again, -EDEADLK);
    assert_int_equal(s.read_again, -EDEADLK);
    assert_int_equal(s.unlock_rc, 0);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- timed forms */

struct timed {
    weft_rwlock_t rw;
    bool holder_writes; /* else the holder reads and we want to write */
    int rc;
    int64_t returned_at;
};

static void *hold_five_seconds(void *arg)
{
    struct timed *s = arg;
    if (s->holder_writes)
        weft_rwlock_wrlock(&s->rw);
    else
        weft_rwlock_rdlock(&s->rw);
    weft_sleep_for(5 * WEFT_SEC);
    weft_rwlock_unlock(&s->rw);
    return NULL;
}

static void timed_body(void *arg)
{
    struct timed *s = arg;
    weft_thread_t t;
    weft_rwlock_init(&s->rw);
    weft_thread_spawn(&t, "holder", hold_five_seconds, s);
    weft_sleep_for(WEFT_MSEC); /* the holder has it and sleeps by now */
    if (s->holder_writes)
        s->rc = weft_rwlock_timedrdlock(&s->rw, 2 * WEFT_SEC);
    else
        s->rc = weft_rwlock_timedwrlock(&s->rw, 2 * WEFT_SEC);
    s->returned_at = weft_now();
    if (s->rc == 0)
        weft_rwlock_unlock(&s->rw);
    weft_thread_join(t, NULL);
}

static void timed_write_lock_times_out_at_exactly_its_deadline(void **state)
{
    (void)state;
    struct timed s;
    memset(&s, 0, sizeof s);
    s.holder_writes = false;
    s.rc = 1;
    weft_result_t r;
    int rc = explore(timed_body, &s, 9, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rc, -ETIMEDOUT);
    assert_int_equal(s.returned_at, 2 * WEFT_SEC);
    weft_result_destroy(&r);
}

static void timed_read_lock_times_out_at_exactly_its_deadline(void **state)
{
    (void)state;
    struct timed s;
    memset(&s, 0, sizeof s);
    s.holder_writes = true;
    s.rc = 1;
    weft_result_t r;
    int rc = explore(timed_body, &s, 9, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.rc, -ETIMEDOUT);
    assert_int_equal(s.returned_at, 2 * WEFT_SEC);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- misuse */

static weft_rwlock_t stray = WEFT_RWLOCK_INITIALIZER;

static void unlock_unlocked_body(void *arg)
{
    (void)arg;
    weft_rwlock_unlock(&stray);
}

static void unlock_of_an_unlocked_rwlock_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(unlock_unlocked_body, NULL, 2, 10, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_LOCK_MISUSE, "not locked");
    assert_int_equal(r.executions, 1);
    weft_result_destroy(&r);
}

static void *unlock_stray(void *arg)
{
    (void)arg;
    weft_rwlock_unlock(&stray);
    return NULL;
}

static void foreign_unlock_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_rwlock_wrlock(&stray);
    weft_thread_spawn(&t, "intruder", unlock_stray, NULL);
    weft_thread_join(t, NULL);
    weft_rwlock_unlock(&stray);
}

static void unlock_of_another_writers_lock_is_lock_misuse(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(foreign_unlock_body, NULL, 2, 10, &r);
    assert_finding_in_report(rc, &r, WEFT_FINDING_LOCK_MISUSE,
                             "write-locked by");
    assert_contains(r.message, "\"intruder\"");
    weft_result_destroy(&r);
}

/* ----------------------------------------------------- many waiters */

/* Each reader blocks before the next is spawned, so no more than two
 * tasks were ever ready at once before the writer's unlock wakes them. */
#define MANY 40

struct many {
    weft_rwlock_t rw;
    int entered;
};

static void *read_once(void *arg)
{
    struct many *s = arg;
    weft_rwlock_rdlock(&s->rw);
    s->entered++;
    weft_yield();
    weft_rwlock_unlock(&s->rw);
    return NULL;
}

static void many_body(void *arg)
{
    struct many *s = arg;
    static weft_thread_t t[MANY];
    weft_rwlock_init(&s->rw);
    s->entered = 0;
    weft_rwlock_wrlock(&s->rw);
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "reader", read_once, s);
        weft_sleep_for(WEFT_MSEC); /* t[i] blocks before the next spawn */
    }
    weft_rwlock_unlock(&s->rw); /* wakes all the readers */
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->entered == MANY, "%d of %d entered", s->entered, MANY);
}

static void write_unlock_lets_forty_blocked_readers_in(void **state)
{
    (void)state;
    struct many s;
    struct child c;
    memset(&s, 0, sizeof s);
    explore_in_child(many_body, &s, 1, 20, &c);
    assert_child_no_finding(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readers_share_the_lock),
        cmocka_unit_test(writer_excludes_readers_and_writers_over_1000_seeds),
        cmocka_unit_test(writers_under_a_read_lock_are_caught),
        cmocka_unit_test(try_locks_are_ebusy_when_they_would_wait),
        cmocka_unit_test(writer_relock_is_edeadlk),
        cmocka_unit_test(timed_write_lock_times_out_at_exactly_its_deadline),
        cmocka_unit_test(timed_read_lock_times_out_at_exactly_its_deadline),
        cmocka_unit_test(unlock_of_an_unlocked_rwlock_is_lock_misuse),
        cmocka_unit_test(unlock_of_another_writers_lock_is_lock_misuse),
        cmocka_unit_test(write_unlock_lets_forty_blocked_readers_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
