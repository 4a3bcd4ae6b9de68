/*
 * test_future.c: the one future type: awaited by coroutines, waited on by
 * threads (with deadlines), completed from a thread, a coroutine or a timer
 * callback; completing twice; errors; results while pending; done-callbacks
 * (queued on the registering loop, inline for a thread without one);
 * removing done-callbacks; a loop's future handed straight to threads;
 * waiting for all or any of several; failures nobody observed; static
 * futures in repeated executions.
 *
 * Every exploration runs in a forked child (a library crash or hang fails
 * one test, not the program) with a pinned seed and the random strategy;
 * the child sends back weft's result and the test's state struct. cmocka's
 * assert_* never run inside a weft task: tasks record what they saw into
 * the state struct (or use weft_assert), and the checks run afterwards.
 */
#include "forked.h"
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------ one future, every kind of party */

enum { BY_THREAD, BY_COROUTINE, BY_TIMER };

struct party {
    int completer;
    weft_loop_t l;
    weft_future_t f;
    int co_rc, thread_rc, thread_await_rc, main_rc;
    void *co_v, *thread_v, *thread_await_v, *main_v;
    int64_t co_at, thread_at, thread_await_at;
    int set_rc;
};

static void party_complete(struct party *s)
{
    s->set_rc = weft_future_set_result(&s->f, (void *)(uintptr_t)77);
}

static void *party_thread_completer(void *arg)
{
    weft_sleep_for(5 * WEFT_MSEC);
    party_complete(arg);
    return NULL;
}

static void *party_co_completer(void *arg)
{
    weft_await_sleep_for(5 * WEFT_MSEC);
    party_complete(arg);
    return NULL;
}

static void party_cb(void *arg)
{
    party_complete(arg);
}

static void *party_awaiter(void *arg)
{
    struct party *s = arg;
    s->co_rc = weft_await(&s->f, &s->co_v);
    s->co_at = weft_now();
    return NULL;
}

static void *party_waiter(void *arg)
{
    struct party *s = arg;
    s->thread_rc = weft_future_wait(&s->f, &s->thread_v, WEFT_FOREVER);
    s->thread_at = weft_now();
    return NULL;
}

/* weft_await from a thread waits like weft_future_wait. */
static void *party_thread_awaiter(void *arg)
{
    struct party *s = arg;
    s->thread_await_rc = weft_await(&s->f, &s->thread_await_v);
    s->thread_await_at = weft_now();
    return NULL;
}

static void *party_main(void *arg)
{
    struct party *s = arg;
    weft_future_t *a = weft_spawn("awaiter", party_awaiter, s);
    if (s->completer == BY_COROUTINE)
        weft_spawn("completer", party_co_completer, s);
    else if (s->completer == BY_TIMER)
        weft_call_later(&s->l, 5 * WEFT_MSEC, party_cb, s);
    s->main_rc = weft_await(&s->f, &s->main_v);
    weft_await(a, NULL);
    return NULL;
}

static const char *party_ok(const struct party *s)
{
    EXPECT_EQ(s->set_rc, 0);
    EXPECT_EQ(s->co_rc, 0);
    EXPECT_EQ(s->thread_rc, 0);
    EXPECT_EQ(s->thread_await_rc, 0);
    EXPECT_EQ(s->main_rc, 0);
    EXPECT_PTR(s->co_v, (void *)(uintptr_t)77);
    EXPECT_PTR(s->thread_v, (void *)(uintptr_t)77);
    EXPECT_PTR(s->thread_await_v, (void *)(uintptr_t)77);
    EXPECT_PTR(s->main_v, (void *)(uintptr_t)77);
    return NULL;
}

static void party_body(void *arg)
{
    struct party *s = arg;
    weft_thread_t t[3];
    int n = 0;
    int completer = s->completer;
    memset(s, 0, sizeof *s);
    s->completer = completer;
    s->co_rc = s->thread_rc = s->thread_await_rc = s->main_rc = 1;
    s->set_rc = 1;
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->f);
    weft_thread_spawn(&t[n++], "waiter", party_waiter, s);
    weft_thread_spawn(&t[n++], "thread awaiter", party_thread_awaiter, s);
    if (completer == BY_THREAD)
        weft_thread_spawn(&t[n++], "completer", party_thread_completer, s);
    weft_loop_run(&s->l, party_main, s, NULL);
    for (int i = 0; i < n; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->co_at == 5 * WEFT_MSEC && s->thread_at == 5 * WEFT_MSEC &&
                    s->thread_await_at == 5 * WEFT_MSEC,
                "woken at %lld, %lld, %lld", (long long)s->co_at,
                (long long)s->thread_at, (long long)s->thread_await_at);
    CHECK_IN_BODY(party_ok(s));
}

static void check_party(int completer)
{
    struct party s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.completer = completer;
    explore(party_body, &s, sizeof s, 17, 100, &o);
    assert_no_finding(&o);
    CHECK_AFTER(party_ok(&s));
}

static void
a_future_completed_by_a_thread_reaches_coroutines_and_threads(void **state)
{
    (void)state;
    check_party(BY_THREAD);
}

static void
a_future_completed_by_a_coroutine_reaches_coroutines_and_threads(void **state)
{
    (void)state;
    check_party(BY_COROUTINE);
}

static void
a_future_completed_by_a_timer_callback_reaches_coroutines_and_threads(
    void **state)
{
    (void)state;
    check_party(BY_TIMER);
}

/* ------------------------------------------------------ timed thread waits */

struct timed {
    weft_future_t never, later;
    int rc_deadline, rc_past, rc_in_time;
    int64_t at_deadline, at_past, at_in_time;
    void *v;
};

static void *timed_setter(void *arg)
{
    struct timed *s = arg;
    weft_sleep_until(20 * WEFT_MSEC);
    weft_future_set_result(&s->later, (void *)(uintptr_t)3);
    return NULL;
}

static const char *timed_ok(const struct timed *s)
{
    EXPECT_EQ(s->rc_deadline, -ETIMEDOUT);
    EXPECT_EQ(s->at_deadline, 7 * WEFT_MSEC);
    EXPECT_EQ(s->rc_past, -ETIMEDOUT);
    EXPECT_EQ(s->at_past, 7 * WEFT_MSEC); /* did not wait at all */
    EXPECT_EQ(s->rc_in_time, 0);
    EXPECT_EQ(s->at_in_time, 20 * WEFT_MSEC);
    EXPECT_PTR(s->v, (void *)(uintptr_t)3);
    return NULL;
}

static void timed_body(void *arg)
{
    struct timed *s = arg;
    weft_thread_t t;
    weft_future_init(&s->never);
    weft_future_init(&s->later);
    weft_thread_spawn(&t, "setter", timed_setter, s);
    s->rc_deadline = weft_future_wait(&s->never, NULL, 7 * WEFT_MSEC);
    s->at_deadline = weft_now();
    s->rc_past = weft_future_wait(&s->never, NULL, WEFT_MSEC);
    s->at_past = weft_now();
    s->rc_in_time = weft_future_wait(&s->later, &s->v, 30 * WEFT_MSEC);
    s->at_in_time = weft_now();
    weft_thread_join(t, NULL);
    CHECK_IN_BODY(timed_ok(s));
}

static void a_thread_wait_times_out_at_exactly_its_deadline(void **state)
{
    (void)state;
    struct timed s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(timed_body, &s, sizeof s, 2, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(timed_ok(&s));
}

/* ------------------------------------------------------ completing twice */

struct twice {
    weft_future_t f, g;
    int first, second, error_after, cancel_after, bad_error;
    int result_rc, g_rc;
    void *v;
    bool g_done;
};

static void twice_body(void *arg)
{
    struct twice *s = arg;
    weft_future_init(&s->f);
    weft_future_init(&s->g);
    s->first = weft_future_set_result(&s->f, (void *)(uintptr_t)1);
    s->second = weft_future_set_result(&s->f, (void *)(uintptr_t)2);
    s->error_after = weft_future_set_error(&s->f, -EIO);
    s->cancel_after = weft_future_cancel(&s->f);
    s->result_rc = weft_future_result(&s->f, &s->v);
    /* An error must be negative; the future stays pending. */
    s->bad_error = weft_future_set_error(&s->g, EIO);
    s->g_done = weft_future_done(&s->g);
    s->g_rc = weft_future_result(&s->g, NULL);
}

static void
completing_a_future_twice_is_einval_and_keeps_the_first(void **state)
{
    (void)state;
    struct twice s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(twice_body, &s, sizeof s, 1, 3, &o);
    assert_no_finding(&o);
    assert_int_equal(s.first, 0);
    assert_int_equal(s.second, -EINVAL);
    assert_int_equal(s.error_after, -EINVAL);
    assert_int_equal(s.cancel_after, -EINVAL);
    assert_int_equal(s.result_rc, 0);
    assert_ptr_equal(s.v, (void *)(uintptr_t)1);
    assert_int_equal(s.bad_error, -EINVAL);
    assert_false(s.g_done);
    assert_int_equal(s.g_rc, -EAGAIN);
}

/* ---------------------------------------------------------------- errors */

struct failing {
    weft_future_t f;
    int co_rc, thread_rc, result_rc;
    void *co_v;
};

static void *failing_thread(void *arg)
{
    struct failing *s = arg;
    s->thread_rc = weft_future_wait(&s->f, NULL, WEFT_FOREVER);
    return NULL;
}

static void *failing_setter(void *arg)
{
    struct failing *s = arg;
    weft_await_sleep_for(WEFT_MSEC);
    weft_future_set_error(&s->f, -EIO);
    return NULL;
}

static void *failing_main(void *arg)
{
    struct failing *s = arg;
    weft_spawn("setter", failing_setter, s);
    s->co_v = (void *)(uintptr_t)0xdead;
    s->co_rc = weft_await(&s->f, &s->co_v);
    return NULL;
}

static const char *failing_ok(const struct failing *s)
{
    EXPECT_EQ(s->co_rc, -EIO);
    EXPECT_EQ(s->thread_rc, -EIO);
    EXPECT_EQ(s->result_rc, -EIO);
    EXPECT_PTR(s->co_v, (void *)(uintptr_t)0xdead); /* untouched */
    return NULL;
}

static void failing_body(void *arg)
{
    struct failing *s = arg;
    weft_thread_t t;
    weft_future_init(&s->f);
    s->co_rc = s->thread_rc = s->result_rc = 1;
    weft_thread_spawn(&t, "waiter", failing_thread, s);
    weft_run(failing_main, s, NULL);
    weft_thread_join(t, NULL);
    s->result_rc = weft_future_result(&s->f, NULL);
    CHECK_IN_BODY(failing_ok(s));
}

static void set_error_reaches_awaiters_and_waiters(void **state)
{
    (void)state;
    struct failing s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(failing_body, &s, sizeof s, 5, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(failing_ok(&s));
}

struct pending {
    weft_future_t f;
    int before, after;
    bool done_before, done_after;
    void *v_before, *v_after;
};

static void pending_body(void *arg)
{
    struct pending *s = arg;
    weft_future_init(&s->f);
    s->v_before = (void *)(uintptr_t)0xdead;
    s->before = weft_future_result(&s->f, &s->v_before);
    s->done_before = weft_future_done(&s->f);
    weft_future_set_result(&s->f, (void *)(uintptr_t)8);
    s->after = weft_future_result(&s->f, &s->v_after);
    s->done_after = weft_future_done(&s->f);
}

static void future_result_is_eagain_while_pending(void **state)
{
    (void)state;
    struct pending s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(pending_body, &s, sizeof s, 1, 3, &o);
    assert_no_finding(&o);
    assert_int_equal(s.before, -EAGAIN);
    assert_false(s.done_before);
    assert_ptr_equal(s.v_before, (void *)(uintptr_t)0xdead);
    assert_int_equal(s.after, 0);
    assert_true(s.done_after);
    assert_ptr_equal(s.v_after, (void *)(uintptr_t)8);
}

/* ------------------------------------------------------ done-callbacks */

struct ondone {
    weft_loop_t l;
    weft_future_t by_thread, by_co, done_already, finished;
    unsigned loop_thread;
    /* per callback: 0 by_thread, 1 by_co, 2 done_already */
    int ran[3];
    weft_loop_t *loop[3];
    unsigned thread[3];
    bool in_co[3];
    bool completer_had_returned[3];
    bool returned[3]; /* the completing (registering) call had returned */
};

static _Alignas(256) struct ondone ondone_st;

static void ondone_cb(weft_future_t *f, void *arg)
{
    struct ondone *s = (struct ondone *)((uintptr_t)arg & ~(uintptr_t)0xff);
    int k = (int)((uintptr_t)arg & 0xff);
    (void)f;
    s->ran[k]++;
    s->loop[k] = weft_loop_current();
    s->thread[k] = weft_thread_self().id;
    s->in_co[k] = weft_in_coroutine();
    s->completer_had_returned[k] = s->returned[k];
    if (s->ran[0] && s->ran[1] && s->ran[2])
        weft_future_set_result(&s->finished, NULL);
}

#define ONDONE_ARG(s, k) ((void *)((uintptr_t)(s) | (uintptr_t)(k)))

static void *ondone_thread(void *arg)
{
    struct ondone *s = arg;
    weft_sleep_for(WEFT_MSEC);
    weft_future_set_result(&s->by_thread, NULL);
    s->returned[0] = true; /* before its next operation */
    weft_yield();
    return NULL;
}

static void *ondone_completer(void *arg)
{
    struct ondone *s = arg;
    weft_await_sleep_for(2 * WEFT_MSEC);
    weft_future_set_result(&s->by_co, NULL);
    s->returned[1] = true;
    weft_await_yield();
    return NULL;
}

static void *ondone_main(void *arg)
{
    struct ondone *s = arg;
    weft_future_on_done(&s->by_thread, ondone_cb, ONDONE_ARG(s, 0));
    weft_future_on_done(&s->by_co, ondone_cb, ONDONE_ARG(s, 1));
    weft_spawn("completer", ondone_completer, s);
    weft_future_set_result(&s->done_already, NULL);
    /* Registered on a done future from a coroutine: queued too. */
    weft_future_on_done(&s->done_already, ondone_cb, ONDONE_ARG(s, 2));
    s->returned[2] = true;
    weft_await(&s->finished, NULL);
    return NULL;
}

/* Callback 0: completed by a thread; 1: by a coroutine of the loop; 2:
 * registered by a coroutine on a future already done. */
static const char *ondone_ok(const struct ondone *s)
{
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(s->ran[k], 1);
        EXPECT_PTR(s->loop[k], &s->l);
        EXPECT_EQ(s->thread[k], s->loop_thread);
        EXPECT(!s->in_co[k]);
        /* not inline: the call that queued it had returned */
        EXPECT(s->completer_had_returned[k]);
    }
    return NULL;
}

static void ondone_body(void *arg)
{
    struct ondone *s = arg;
    weft_thread_t t;
    memset(s, 0, sizeof *s);
    s->loop_thread = weft_thread_self().id;
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->by_thread);
    weft_future_init(&s->by_co);
    weft_future_init(&s->done_already);
    weft_future_init(&s->finished);
    weft_thread_spawn(&t, "completer", ondone_thread, s);
    weft_loop_run(&s->l, ondone_main, s, NULL);
    weft_thread_join(t, NULL);
    CHECK_IN_BODY(ondone_ok(s));
}

static void
done_callbacks_run_later_on_the_loop_that_registered_them(void **state)
{
    (void)state;
    struct outcome o;
    explore(ondone_body, &ondone_st, sizeof ondone_st, 23, 200, &o);
    assert_no_finding(&o);
    CHECK_AFTER(ondone_ok(&ondone_st));
}

struct inline_cb {
    weft_future_t f, g;
    weft_future_t registered;
    unsigned completer, registrar;
    int ran, ran_g;
    unsigned ran_in, ran_g_in;
    bool set_had_returned, on_done_had_returned;
    weft_loop_t *loop;
    bool set_returned, on_done_returned;
};

static void inline_cb_fn(weft_future_t *f, void *arg)
{
    struct inline_cb *s = arg;
    if (f == &s->f) {
        s->ran++;
        s->ran_in = weft_thread_self().id;
        s->set_had_returned = s->set_returned;
        s->loop = weft_loop_current();
    } else {
        s->ran_g++;
        s->ran_g_in = weft_thread_self().id;
        s->on_done_had_returned = s->on_done_returned;
    }
}

static void *inline_registrar(void *arg)
{
    struct inline_cb *s = arg;
    s->registrar = weft_thread_self().id;
    weft_future_on_done(&s->f, inline_cb_fn, s);
    weft_future_set_result(&s->registered, NULL);
    /* On a done future, from a thread without a loop: right away. */
    weft_future_set_result(&s->g, NULL);
    weft_future_on_done(&s->g, inline_cb_fn, s);
    s->on_done_returned = true;
    return NULL;
}

static void *inline_completer(void *arg)
{
    struct inline_cb *s = arg;
    s->completer = weft_thread_self().id;
    weft_future_wait(&s->registered, NULL, WEFT_FOREVER);
    weft_future_set_result(&s->f, NULL);
    s->set_returned = true;
    return NULL;
}

static const char *inline_ok(const struct inline_cb *s)
{
    EXPECT_EQ(s->ran, 1);
    EXPECT_EQ(s->ran_in, s->completer); /* in the completing thread */
    EXPECT(!(s->set_had_returned));     /* inside set_result */
    EXPECT_PTR(s->loop, NULL);
    EXPECT_EQ(s->ran_g, 1);
    EXPECT_EQ(s->ran_g_in, s->registrar);
    EXPECT(!(s->on_done_had_returned)); /* inside on_done */
    return NULL;
}

static void inline_body(void *arg)
{
    struct inline_cb *s = arg;
    weft_thread_t a, b;
    memset(s, 0, sizeof *s);
    s->loop = (weft_loop_t *)s; /* must be overwritten with NULL */
    weft_future_init(&s->f);
    weft_future_init(&s->g);
    weft_future_init(&s->registered);
    weft_thread_spawn(&a, "registrar", inline_registrar, s);
    weft_thread_spawn(&b, "completer", inline_completer, s);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    CHECK_IN_BODY(inline_ok(s));
}

static void done_callbacks_of_a_thread_without_a_loop_run_inline(void **state)
{
    (void)state;
    struct inline_cb s;
    struct outcome o;
    explore(inline_body, &s, sizeof s, 4, 100, &o);
    assert_no_finding(&o);
    CHECK_AFTER(inline_ok(&s));
}

/* Registered: cb(A) twice, cb(B), other(A); cb(A) is removed (both
 * registrations) before completion; after completion nothing is left to
 * remove. Runs on the loop, so only what ran by the end counts. */
struct removal {
    weft_future_t f;
    int ran[3]; /* cb(A), cb(B), other(A) */
    int removed, removed_again, removed_late, removed_null;
};

static struct removal *removal_state;

static void removal_cb(weft_future_t *f, void *arg)
{
    (void)f;
    removal_state->ran[(uintptr_t)arg]++;
}

static void removal_other(weft_future_t *f, void *arg)
{
    (void)f;
    (void)arg;
    removal_state->ran[2]++;
}

static void *removal_main(void *arg)
{
    struct removal *s = arg;
    weft_future_on_done(&s->f, removal_cb, (void *)(uintptr_t)0);
    weft_future_on_done(&s->f, removal_cb, (void *)(uintptr_t)1);
    weft_future_on_done(&s->f, removal_cb, (void *)(uintptr_t)0);
    weft_future_on_done(&s->f, removal_other, (void *)(uintptr_t)0);
    s->removed = weft_future_remove_done(&s->f, removal_cb, (void *)0);
    s->removed_again = weft_future_remove_done(&s->f, removal_cb, (void *)0);
    s->removed_null = weft_future_remove_done(&s->f, NULL, NULL);
    weft_future_set_result(&s->f, NULL);
    s->removed_late = weft_future_remove_done(&s->f, removal_other, (void *)0);
    weft_await_sleep_for(WEFT_MSEC); /* the queued callbacks run */
    return NULL;
}

static void removal_body(void *arg)
{
    struct removal *s = arg;
    removal_state = s;
    memset(s, 0, sizeof *s);
    weft_future_init(&s->f);
    weft_run(removal_main, s, NULL);
}

static void
done_callbacks_can_be_removed_until_the_future_completes(void **state)
{
    (void)state;
    struct removal s;
    struct outcome o;
    explore(removal_body, &s, sizeof s, 37, 20, &o);
    assert_no_finding(&o);
    assert_int_equal(s.removed, 2);
    assert_int_equal(s.removed_again, 0);
    assert_int_equal(s.removed_null, -EINVAL);
    assert_int_equal(s.removed_late, 0);
    assert_int_equal(s.ran[0], 0);
    assert_int_equal(s.ran[1], 1);
    assert_int_equal(s.ran[2], 1);
}

/* ------------------------------------ a loop's future, straight to a thread */

/* Three direct routes, no future carrying another: (1) a coroutine starts
 * a thread with its future as the argument; (2) a coroutine hands a
 * future to a thread that already runs through a channel; (3) a thread
 * starts the coroutine itself (weft_spawn_on) and holds its future. Each
 * thread waits with weft_future_wait; the coroutines only await. */
struct handoff {
    weft_loop_t l;
    weft_chan_t mailbox;
    weft_future_t *spawned, *made;
    int rc[3];
    void *v[3];
    weft_thread_t t1, t2, t3;
};

static void *handoff_child(void *arg)
{
    weft_await_sleep_for(WEFT_MSEC);
    return arg;
}

static void *handoff_starter(void *arg)
{
    struct handoff *s = arg;
    s->rc[0] = weft_future_wait(s->spawned, &s->v[0], WEFT_FOREVER);
    return NULL;
}

static void *handoff_reader(void *arg)
{
    struct handoff *s = arg;
    void *f = NULL;
    weft_chan_get(&s->mailbox, &f, WEFT_FOREVER);
    s->rc[1] = weft_future_wait(f, &s->v[1], WEFT_FOREVER);
    return NULL;
}

static void *handoff_submitter(void *arg)
{
    struct handoff *s = arg;
    weft_sleep_for(WEFT_MSEC); /* the loop is running by then */
    weft_future_t *f =
        weft_spawn_on(&s->l, "from a thread", handoff_child, (void *)3);
    s->rc[2] = weft_future_wait(f, &s->v[2], WEFT_FOREVER);
    return NULL;
}

static void *handoff_main(void *arg)
{
    struct handoff *s = arg;
    s->spawned = weft_spawn("child", handoff_child, (void *)1);
    weft_thread_spawn(&s->t1, "starter", handoff_starter, s);
    s->made = weft_future_new();
    weft_chan_put(&s->mailbox, s->made, WEFT_FOREVER);
    weft_await_sleep_for(2 * WEFT_MSEC);
    weft_future_set_result(s->made, (void *)2);
    weft_await(s->spawned, NULL);
    weft_await_sleep_for(3 * WEFT_MSEC); /* the thread's coroutine ends */
    return NULL;
}

static void handoff_body(void *arg)
{
    struct handoff *s = arg;
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 3; i++)
        s->rc[i] = 1;
    weft_loop_init(&s->l, 0);
    weft_chan_init(&s->mailbox, 1);
    weft_thread_spawn(&s->t2, "reader", handoff_reader, s);
    weft_thread_spawn(&s->t3, "submitter", handoff_submitter, s);
    weft_loop_run(&s->l, handoff_main, s, NULL);
    weft_thread_join(s->t1, NULL);
    weft_thread_join(s->t2, NULL);
    weft_thread_join(s->t3, NULL);
}

static void a_future_made_in_a_loop_goes_to_a_thread_directly(void **state)
{
    (void)state;
    struct handoff s;
    struct outcome o;
    explore(handoff_body, &s, sizeof s, 39, 200, &o);
    assert_no_finding(&o);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.rc[i], 0);
        assert_ptr_equal(s.v[i], (void *)(uintptr_t)(i + 1));
    }
}

/* ------------------------------------------------- waiting for several */

struct many {
    weft_future_t f[3];     /* done at 5, 8 and 3 ms */
    weft_future_t never[2]; /* [0] done at 2 ms, [1] never */
    /* [0] the coroutine, [1] the thread */
    int any_rc[2], all_rc[2], all_to_rc[2], any_to_rc[2];
    size_t any_index[2], any_to_index[2];
    int64_t any_at[2], all_at[2], all_to_at[2], any_to_at[2];
};

static void many_wait(struct many *s, int who)
{
    weft_future_t *fs[3] = { &s->f[0], &s->f[1], &s->f[2] };
    weft_future_t *nv[2] = { &s->never[0], &s->never[1] };
    weft_future_t *nv1[1] = { &s->never[1] };
    s->any_index[who] = 99;
    s->any_rc[who] = weft_wait_any(fs, 3, WEFT_FOREVER, &s->any_index[who]);
    s->any_at[who] = weft_now();
    s->all_rc[who] = weft_wait_all(fs, 3, WEFT_FOREVER);
    s->all_at[who] = weft_now();
    s->all_to_rc[who] = weft_wait_all(nv, 2, 12 * WEFT_MSEC);
    s->all_to_at[who] = weft_now();
    s->any_to_index[who] = 99;
    s->any_to_rc[who] =
        weft_wait_any(nv1, 1, 15 * WEFT_MSEC, &s->any_to_index[who]);
    s->any_to_at[who] = weft_now();
}

static void *many_setter(void *arg)
{
    struct many *s = arg;
    weft_sleep_until(2 * WEFT_MSEC);
    weft_future_set_result(&s->never[0], NULL);
    weft_sleep_until(3 * WEFT_MSEC);
    weft_future_set_result(&s->f[2], NULL);
    weft_sleep_until(5 * WEFT_MSEC);
    weft_future_set_result(&s->f[0], NULL);
    weft_sleep_until(8 * WEFT_MSEC);
    weft_future_set_result(&s->f[1], NULL);
    return NULL;
}

static void *many_thread(void *arg)
{
    many_wait(arg, 1);
    return NULL;
}

static void *many_main(void *arg)
{
    many_wait(arg, 0);
    return NULL;
}

static const char *many_ok(const struct many *s)
{
    for (int who = 0; who < 2; who++) { /* the coroutine, then the thread */
        EXPECT_EQ(s->any_rc[who], 0);
        EXPECT_EQ(s->any_index[who], 2); /* f[2], done at 3 ms */
        EXPECT_EQ(s->any_at[who], 3 * WEFT_MSEC);
        EXPECT_EQ(s->all_rc[who], 0);
        EXPECT_EQ(s->all_at[who], 8 * WEFT_MSEC);
        EXPECT_EQ(s->all_to_rc[who], -ETIMEDOUT);
        EXPECT_EQ(s->all_to_at[who], 12 * WEFT_MSEC);
        EXPECT_EQ(s->any_to_rc[who], -ETIMEDOUT);
        EXPECT_EQ(s->any_to_at[who], 15 * WEFT_MSEC);
    }
    return NULL;
}

static void many_body(void *arg)
{
    struct many *s = arg;
    weft_thread_t a, b;
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 3; i++)
        weft_future_init(&s->f[i]);
    for (int i = 0; i < 2; i++)
        weft_future_init(&s->never[i]);
    weft_thread_spawn(&a, "setter", many_setter, s);
    weft_thread_spawn(&b, "waiter", many_thread, s);
    weft_run(many_main, s, NULL);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    CHECK_IN_BODY(many_ok(s));
}

static void wait_any_and_wait_all_in_a_coroutine_and_in_a_thread(void **state)
{
    (void)state;
    struct many s;
    struct outcome o;
    explore(many_body, &s, sizeof s, 31, 200, &o);
    assert_no_finding(&o);
    CHECK_AFTER(many_ok(&s));
}

/* ---------------------------------------------- unobserved failures */

struct unobserved {
    bool await_it;
    int rc;
};

static void *doomed(void *arg)
{
    (void)arg;
    weft_await_sleep_for(WEFT_MSEC);
    weft_task_fail(-EIO);
}

static void *unobserved_main(void *arg)
{
    struct unobserved *s = arg;
    weft_future_t *f = weft_spawn("doomed", doomed, NULL);
    if (s->await_it)
        s->rc = weft_await(f, NULL);
    else
        weft_await_sleep_for(2 * WEFT_MSEC);
    return NULL;
}

static void unobserved_body(void *arg)
{
    weft_run(unobserved_main, arg, NULL);
}

static void a_failed_coroutine_nobody_awaits_is_unobserved(void **state)
{
    (void)state;
    struct unobserved s = { .await_it = false };
    struct outcome o;
    explore(unobserved_body, &s, sizeof s, 1, 5, &o);
    assert_finding(&o, WEFT_FINDING_UNOBSERVED);
    assert_contains(o.message, "\"doomed\"");
    assert_contains(o.message, weft_strerror(-EIO));
}

static void an_awaited_failure_is_no_finding(void **state)
{
    (void)state;
    struct unobserved s = { .await_it = true };
    struct outcome o;
    explore(unobserved_body, &s, sizeof s, 1, 5, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc, -EIO);
}

static void *doomed_thread(void *arg)
{
    (void)arg;
    weft_sleep_for(WEFT_MSEC);
    weft_task_fail(-EIO);
}

static void unjoined_thread_body(void *arg)
{
    weft_thread_t t;
    (void)arg;
    weft_thread_spawn(&t, "doomed thread", doomed_thread, NULL);
    weft_thread_detach(t);
    weft_sleep_for(2 * WEFT_MSEC);
}

/* DESIGN.md section 3: "a task failed and nobody joined or awaited it". */
static void a_failed_thread_nobody_joins_is_unobserved(void **state)
{
    (void)state;
    struct outcome o;
    explore(unjoined_thread_body, NULL, 0, 1, 5, &o);
    assert_finding(&o, WEFT_FINDING_UNOBSERVED);
    assert_contains(o.message, "\"doomed thread\"");
}

/* weft_wait_any takes the outcome of the future that was done, not of
 * the others: one that fails later, unawaited, is still unobserved. */
static void *quick(void *arg)
{
    (void)arg;
    weft_await_sleep_for(WEFT_MSEC);
    return NULL;
}

static void *late_failure(void *arg)
{
    (void)arg;
    weft_await_sleep_for(5 * WEFT_MSEC);
    weft_task_fail(-EIO);
}

static void *any_main(void *arg)
{
    size_t i = 9;
    (void)arg;
    weft_future_t *fs[2] = { weft_spawn("quick", quick, NULL),
                             weft_spawn("late failure", late_failure, NULL) };
    weft_wait_any(fs, 2, WEFT_FOREVER, &i);
    weft_await_sleep_for(10 * WEFT_MSEC); /* it fails meanwhile */
    return NULL;
}

static void any_body(void *arg)
{
    (void)arg;
    weft_run(any_main, NULL, NULL);
}

static void a_failure_after_wait_any_returned_is_still_unobserved(void **state)
{
    (void)state;
    struct outcome o;
    explore(any_body, NULL, 0, 1, 5, &o);
    assert_finding(&o, WEFT_FINDING_UNOBSERVED);
    assert_contains(o.message, "\"late failure\"");
}

/* A to_thread job that fails ends its future, not the pool's worker. */
struct jobfail {
    int rc1, rc2;
    void *v2;
};

static void *failing_job(void *arg)
{
    (void)arg;
    weft_task_fail(-EIO);
}

static void *fine_job(void *arg)
{
    return arg;
}

static void *jobfail_main(void *arg)
{
    struct jobfail *s = arg;
    s->rc1 = weft_await(weft_to_thread(failing_job, NULL), NULL);
    s->rc2 = weft_await(weft_to_thread(fine_job, (void *)(uintptr_t)5), &s->v2);
    return NULL;
}

static void jobfail_body(void *arg)
{
    struct jobfail *s = arg;
    s->rc1 = s->rc2 = 1;
    weft_run(jobfail_main, s, NULL);
}

static void a_failed_to_thread_job_leaves_the_pool_working(void **state)
{
    (void)state;
    struct jobfail s;
    struct outcome o;
    weft_config_t c;
    memset(&s, 0, sizeof s);
    config(&c, 1, 5);
    c.loop_workers = 1;
    explore_cfg(&c, jobfail_body, &s, sizeof s, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc1, -EIO);
    assert_int_equal(s.rc2, 0);
    assert_ptr_equal(s.v2, (void *)(uintptr_t)5);
}

/* -------------------------------------------------- static futures */

static weft_future_t global_future = WEFT_FUTURE_INITIALIZER;

struct globals {
    uint64_t runs, pending_at_start;
};

static void *global_awaiter(void *arg)
{
    void *v = NULL;
    int rc = weft_await(&global_future, &v);
    weft_assert(rc == 0 && v == arg, "await: %d", rc);
    return NULL;
}

static void *global_main(void *arg)
{
    weft_future_t *a = weft_spawn("awaiter", global_awaiter, arg);
    weft_await_yield();
    int rc = weft_future_set_result(&global_future, arg);
    weft_assert(rc == 0, "set_result: %d", rc);
    weft_await(a, NULL);
    return NULL;
}

static void globals_body(void *arg)
{
    struct globals *s = arg;
    bool done = weft_future_done(&global_future);
    int rc = weft_future_result(&global_future, NULL);
    s->runs++;
    if (!done && rc == -EAGAIN)
        s->pending_at_start++;
    weft_run(global_main, (void *)(uintptr_t)(s->runs + 100), NULL);
}

static void a_static_future_starts_pending_in_each_execution(void **state)
{
    (void)state;
    struct globals s = { 0 };
    struct outcome o;
    explore(globals_body, &s, sizeof s, 1, 20, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 20);
    assert_int_equal(s.pending_at_start, 20);
}

/* ------------------------------------------------------------------ main */

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-test-future-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            a_future_completed_by_a_thread_reaches_coroutines_and_threads),
        cmocka_unit_test(
            a_future_completed_by_a_coroutine_reaches_coroutines_and_threads),
        cmocka_unit_test(
            a_future_completed_by_a_timer_callback_reaches_coroutines_and_threads),
        cmocka_unit_test(a_thread_wait_times_out_at_exactly_its_deadline),
        cmocka_unit_test(
            completing_a_future_twice_is_einval_and_keeps_the_first),
        cmocka_unit_test(set_error_reaches_awaiters_and_waiters),
        cmocka_unit_test(future_result_is_eagain_while_pending),
        cmocka_unit_test(
            done_callbacks_run_later_on_the_loop_that_registered_them),
        cmocka_unit_test(done_callbacks_of_a_thread_without_a_loop_run_inline),
        cmocka_unit_test(
            done_callbacks_can_be_removed_until_the_future_completes),
        cmocka_unit_test(a_future_made_in_a_loop_goes_to_a_thread_directly),
        cmocka_unit_test(wait_any_and_wait_all_in_a_coroutine_and_in_a_thread),
        cmocka_unit_test(a_failed_coroutine_nobody_awaits_is_unobserved),
        cmocka_unit_test(an_awaited_failure_is_no_finding),
        cmocka_unit_test(a_failed_thread_nobody_joins_is_unobserved),
        cmocka_unit_test(a_failure_after_wait_any_returned_is_still_unobserved),
        cmocka_unit_test(a_failed_to_thread_job_leaves_the_pool_working),
        cmocka_unit_test(a_static_future_starts_pending_in_each_execution),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
