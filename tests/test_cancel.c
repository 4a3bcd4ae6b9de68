/*
 * test_cancel.c: cancellation: weft_cancel of a task (its await returns
 * -ECANCELED, its future ends cancelled), cancellation landing at every
 * await of a coroutine (explored, not hand-placed), a woken coroutine
 * cancelled before it resumes, cancel scopes (move-on-after, fail-after,
 * nesting, shields, weft_scope_cancel from another task), scopes around a
 * thread's blocking calls, cancelling to_thread jobs, and a reply racing a
 * timeout at the same virtual instant. What a cancelled task's future
 * ends with (its value if it handled the cancellation and returned,
 * cancelled if it let it through or never saw it), weft_cancelling,
 * weft_cancel_requested and weft_uncancel, the main coroutine's future
 * (weft_run_future) and the scope accessors.
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

/* ------------------------------------------------------ cancelling a task */

struct victim {
    weft_future_t *fv;
    int victim_rc, main_rc, observer_rc, result_rc, cancel_rc, again_rc;
    int after_rc;
    int64_t victim_at;
    bool victim_returned;
};

static void *victim(void *arg)
{
    struct victim *s = arg;
    s->victim_rc = weft_await_sleep_for(WEFT_SEC);
    s->victim_at = weft_now();
    /* Delivered once: the next await is an ordinary one. */
    s->after_rc = weft_await_sleep_for(WEFT_MSEC);
    s->victim_returned = true;
    /* Cleanup done: let the cancellation through (asyncio: re-raise). */
    weft_task_fail(-ECANCELED);
}

static void *observer(void *arg)
{
    struct victim *s = arg;
    s->observer_rc = weft_await(s->fv, NULL);
    return NULL;
}

static void *victim_main(void *arg)
{
    struct victim *s = arg;
    s->fv = weft_spawn("victim", victim, s);
    weft_future_t *fo = weft_spawn("observer", observer, s);
    weft_await_sleep_for(WEFT_MSEC);
    s->cancel_rc = weft_cancel(s->fv);
    s->main_rc = weft_await(s->fv, NULL);
    s->result_rc = weft_future_result(s->fv, NULL);
    s->again_rc = weft_cancel(s->fv); /* already ended */
    weft_await(fo, NULL);
    return NULL;
}

static const char *victim_ok(const struct victim *s)
{
    EXPECT_EQ(s->cancel_rc, 0);
    EXPECT_EQ(s->victim_rc, -ECANCELED);
    EXPECT_EQ(s->victim_at, WEFT_MSEC);
    EXPECT_EQ(s->after_rc, 0);
    EXPECT(s->victim_returned);
    EXPECT_EQ(s->main_rc, -ECANCELED);
    EXPECT_EQ(s->observer_rc, -ECANCELED);
    EXPECT_EQ(s->result_rc, -ECANCELED);
    EXPECT_EQ(s->again_rc, -EINVAL);
    return NULL;
}

static void victim_body(void *arg)
{
    struct victim *s = arg;
    memset(s, 0, sizeof *s);
    weft_run(victim_main, s, NULL);
    CHECK_IN_BODY(victim_ok(s));
}

static void
cancelling_a_task_ends_its_await_and_its_future_is_cancelled(void **state)
{
    (void)state;
    struct victim s;
    struct outcome o;
    explore(victim_body, &s, sizeof s, 1, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(victim_ok(&s));
}

/* ------------------------------------ cancellation at every await, explored */

struct every {
    bool by_thread;
    weft_future_t *fw;
    int completed;    /* awaits of the worker that completed */
    int first_failed; /* what the interrupted await returned */
    int cancel_rc;    /* what weft_cancel returned */
    int rc;           /* what awaiting the worker's future gave */
    weft_thread_t thread;
    uint64_t outcomes; /* bit per number of completed awaits */
    uint64_t runs;
};

static void *every_worker(void *arg)
{
    struct every *s = arg;
    for (int i = 0; i < 3; i++) {
        int rc = weft_await_sleep_for(WEFT_MSEC);
        if (rc != 0) {
            s->first_failed = rc;
            weft_task_fail(rc); /* let the cancellation through */
        }
        s->completed++;
    }
    return NULL;
}

static void *every_canceller(void *arg)
{
    struct every *s = arg;
    int64_t k = (int64_t)weft_choose(4);
    weft_await_sleep_for(k * WEFT_MSEC);
    s->cancel_rc = weft_cancel(s->fw);
    return NULL;
}

static void *every_thread_canceller(void *arg)
{
    struct every *s = arg;
    int64_t k = (int64_t)weft_choose(4);
    weft_sleep_for(k * WEFT_MSEC);
    s->cancel_rc = weft_cancel(s->fw);
    return NULL;
}

static void *every_main(void *arg)
{
    struct every *s = arg;
    s->fw = weft_spawn("worker", every_worker, s);
    if (s->by_thread)
        weft_thread_spawn(&s->thread, "canceller", every_thread_canceller, s);
    else
        weft_spawn("canceller", every_canceller, s);
    s->rc = weft_await(s->fw, NULL);
    return NULL;
}

static void every_body(void *arg)
{
    struct every *s = arg;
    s->completed = 0;
    s->first_failed = 0;
    s->cancel_rc = s->rc = 1;
    weft_run(every_main, s, NULL);
    if (s->by_thread)
        weft_thread_join(s->thread, NULL);
    s->runs++;
    s->outcomes |= 1ull << s->completed;
    weft_assert(s->completed == 3 || s->first_failed == -ECANCELED,
                "an await returned %d", s->first_failed);
    /* weft_cancel succeeded: the future ends cancelled (the worker let
     * it through, or returned before it was delivered); else the worker
     * was done. */
    if (s->cancel_rc == 0)
        weft_assert(s->rc == -ECANCELED,
                    "the worker's future gave %d after weft_cancel", s->rc);
    else
        weft_assert(s->cancel_rc == -EINVAL && s->rc == 0 && s->completed == 3,
                    "weft_cancel returned %d, the future gave %d, %d awaits "
                    "completed",
                    s->cancel_rc, s->rc, s->completed);
}

static void cancellation_lands_at_every_await_of_a_coroutine(void **state)
{
    (void)state;
    struct every s = { .by_thread = false };
    struct outcome o;
    explore(every_body, &s, sizeof s, 100, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 200);
    assert_int_equal(s.outcomes, 0xf); /* 0, 1, 2 and 3 awaits completed */
}

static void a_thread_cancels_a_coroutine_at_every_await(void **state)
{
    (void)state;
    struct every s = { .by_thread = true };
    struct outcome o;
    explore(every_body, &s, sizeof s, 100, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 200);
    assert_int_equal(s.outcomes, 0xf);
}

/* A coroutine woken (queued on its loop) but not yet resumed when it is
 * cancelled, by weft_cancel or by weft_scope_cancel: it resumes once, and
 * its later awaits are ordinary ones (a sleep lasts as long as asked). */
struct queued {
    bool by_scope;
    weft_future_t f;
    weft_future_t *fw;
    weft_scope_t sc;
    int wait_rc, main_rc, sleep_rc, resumed;
    int64_t slept_until;
};

static void *queued_worker(void *arg)
{
    struct queued *s = arg;
    weft_scope_enter(&s->sc, WEFT_FOREVER, 0);
    s->wait_rc = weft_await(&s->f, NULL);
    weft_scope_exit(&s->sc);
    s->resumed++;
    s->sleep_rc = weft_await_sleep_for(WEFT_MSEC);
    s->slept_until = weft_now();
    return NULL;
}

static void *queued_main(void *arg)
{
    struct queued *s = arg;
    s->fw = weft_spawn("worker", queued_worker, s);
    weft_await_yield();                  /* the worker runs and awaits f */
    weft_future_set_result(&s->f, NULL); /* the worker is queued */
    if (s->by_scope)                     /* ... and cancelled there */
        weft_scope_cancel(&s->sc);
    else
        weft_cancel(s->fw);
    s->main_rc = weft_await(s->fw, NULL);
    return NULL;
}

static const char *queued_ok(const struct queued *s)
{
    EXPECT_EQ(s->resumed, 1);
    EXPECT(s->wait_rc == 0 || s->wait_rc == -ECANCELED);
    /* Delivered at the await (or the scope hit), handled, and the worker
     * returned normally: its future holds its value (asyncio's rule). */
    EXPECT_EQ(s->main_rc, 0);
    EXPECT_EQ(s->sleep_rc, 0);
    EXPECT_EQ(s->slept_until, WEFT_MSEC);
    return NULL;
}

static void queued_body(void *arg)
{
    struct queued *s = arg;
    bool by_scope = s->by_scope;
    memset(s, 0, sizeof *s);
    s->by_scope = by_scope;
    s->wait_rc = s->main_rc = s->sleep_rc = 1;
    s->slept_until = -1;
    weft_future_init(&s->f);
    weft_run(queued_main, s, NULL);
    CHECK_IN_BODY(queued_ok(s));
}

static void check_queued(bool by_scope)
{
    struct queued s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.by_scope = by_scope;
    explore(queued_body, &s, sizeof s, 1, 20, &o);
    assert_no_finding(&o);
    CHECK_AFTER(queued_ok(&s));
}

static void
cancelling_a_woken_coroutine_before_it_resumes_resumes_it_once(void **state)
{
    (void)state;
    check_queued(false);
}

static void
scope_cancel_of_a_woken_coroutine_before_it_resumes_is_harmless(void **state)
{
    (void)state;
    check_queued(true);
}

/* --------------------------- what a cancelled task's future ends with */

/* The worker is cancelled at 1 ms, in its 1 s sleep. How it ends decides
 * what its future holds (asyncio's rule). */
enum { HANDLE_AND_RETURN, LET_IT_THROUGH, NEVER_AWAITS };

struct handled {
    int how;
    weft_future_t *fw;
    int sleep_rc, main_rc, thread_rc;
    void *value, *thread_value;
    weft_thread_t waiter;
};

static void *handled_worker(void *arg)
{
    struct handled *s = arg;
    if (s->how == NEVER_AWAITS) {
        /* Busy without a cancellation point until it returns: the
         * request is never delivered. */
        for (int i = 0; i < 3; i++)
            weft_yield();
        return (void *)(uintptr_t)7;
    }
    s->sleep_rc = weft_await_sleep_for(WEFT_SEC);
    weft_await_sleep_for(WEFT_MSEC); /* cleanup, after the cancellation */
    if (s->how == LET_IT_THROUGH)
        weft_task_fail(-ECANCELED);
    return (void *)(uintptr_t)7;
}

static void *handled_thread(void *arg)
{
    struct handled *s = arg;
    s->thread_rc = weft_future_wait(s->fw, &s->thread_value, WEFT_FOREVER);
    return NULL;
}

static void *handled_main(void *arg)
{
    struct handled *s = arg;
    s->fw = weft_spawn("worker", handled_worker, s);
    weft_thread_spawn(&s->waiter, "waiter", handled_thread, s);
    if (s->how != NEVER_AWAITS)
        weft_await_sleep_for(WEFT_MSEC);
    weft_cancel(s->fw);
    s->main_rc = weft_await(s->fw, &s->value);
    return NULL;
}

static void handled_body(void *arg)
{
    struct handled *s = arg;
    int how = s->how;
    memset(s, 0, sizeof *s);
    s->how = how;
    s->main_rc = s->thread_rc = s->sleep_rc = 1;
    weft_run(handled_main, s, NULL);
    weft_thread_join(s->waiter, NULL);
}

static void run_handled(int how, struct handled *s)
{
    struct outcome o;
    memset(s, 0, sizeof *s);
    s->how = how;
    explore(handled_body, s, sizeof *s, 17, 100, &o);
    assert_no_finding(&o);
}

static void
a_coroutine_that_handles_its_cancellation_and_returns_ends_with_its_value(
    void **state)
{
    (void)state;
    struct handled s;
    run_handled(HANDLE_AND_RETURN, &s);
    assert_int_equal(s.sleep_rc, -ECANCELED); /* it was delivered */
    assert_int_equal(s.main_rc, 0);           /* today: -ECANCELED */
    assert_ptr_equal(s.value, (void *)(uintptr_t)7);
    assert_int_equal(s.thread_rc, 0); /* a thread waiting sees the same */
    assert_ptr_equal(s.thread_value, (void *)(uintptr_t)7);
}

static void
a_coroutine_that_lets_its_cancellation_through_ends_cancelled(void **state)
{
    (void)state;
    struct handled s;
    run_handled(LET_IT_THROUGH, &s);
    assert_int_equal(s.sleep_rc, -ECANCELED);
    assert_int_equal(s.main_rc, -ECANCELED);
    assert_int_equal(s.thread_rc, -ECANCELED);
}

static void
a_coroutine_that_returns_before_its_cancellation_lands_ends_cancelled(
    void **state)
{
    (void)state;
    struct handled s;
    run_handled(NEVER_AWAITS, &s);
    assert_int_equal(s.main_rc, -ECANCELED);
    assert_int_equal(s.thread_rc, -ECANCELED);
}

/* ------------------- am I cancelled, or was the future I awaited? */

enum { FUTURE_CANCELLED, TASK_CANCELLED, SCOPE_CANCELLED, WITHDRAWN };

struct whose {
    int who;
    weft_future_t f;
    weft_future_t *fw;
    weft_scope_t sc;
    int await_rc;
    bool requested_before, requested_after, requested_outside;
    unsigned cancelling_after, uncancel_rc[2], cancelling_end;
    int main_rc, later_rc;
};

static void *whose_worker(void *arg)
{
    struct whose *s = arg;
    s->requested_before = weft_cancel_requested();
    weft_scope_enter(&s->sc, WEFT_FOREVER, 0);
    if (s->who == WITHDRAWN) {
        /* two requests, both withdrawn before any cancellation point */
        s->uncancel_rc[0] = weft_uncancel();
        s->uncancel_rc[1] = weft_uncancel();
    }
    s->await_rc = weft_await(&s->f, NULL);
    s->requested_after = weft_cancel_requested();
    s->cancelling_after = weft_cancelling();
    weft_scope_exit(&s->sc);
    s->requested_outside = weft_cancel_requested();
    s->later_rc = weft_await_sleep_for(WEFT_MSEC);
    s->cancelling_end = weft_cancelling();
    return (void *)(uintptr_t)3;
}

static void *whose_main(void *arg)
{
    struct whose *s = arg;
    s->fw = weft_spawn("worker", whose_worker, s);
    if (s->who == WITHDRAWN) {
        weft_cancel(s->fw);
        weft_cancel(s->fw);
        weft_await_sleep_for(WEFT_MSEC);
        weft_future_set_result(&s->f, NULL);
    } else {
        weft_await_sleep_for(WEFT_MSEC); /* the worker awaits f */
        if (s->who == FUTURE_CANCELLED)
            weft_future_cancel(&s->f);
        else if (s->who == TASK_CANCELLED)
            weft_cancel(s->fw);
        else
            weft_scope_cancel(&s->sc);
    }
    s->main_rc = weft_await(s->fw, NULL);
    return NULL;
}

static void whose_body(void *arg)
{
    struct whose *s = arg;
    int who = s->who;
    memset(s, 0, sizeof *s);
    s->who = who;
    weft_future_init(&s->f);
    weft_run(whose_main, s, NULL);
}

static void run_whose(int who, struct whose *s)
{
    struct outcome o;
    memset(s, 0, sizeof *s);
    s->who = who;
    explore(whose_body, s, sizeof *s, 19, 50, &o);
    assert_no_finding(&o);
    /* cancelled before it first ran, or not yet */
    assert_int_equal(s->requested_before, who == WITHDRAWN);
}

static void
cancel_requested_tells_my_cancellation_from_the_awaited_futures(void **state)
{
    (void)state;
    struct whose s;
    run_whose(FUTURE_CANCELLED, &s);
    assert_int_equal(s.await_rc, -ECANCELED);
    assert_false(s.requested_after); /* the future was cancelled, not me */
    assert_int_equal(s.cancelling_after, 0);
    assert_int_equal(s.main_rc, 0);

    run_whose(TASK_CANCELLED, &s);
    assert_int_equal(s.await_rc, -ECANCELED);
    assert_true(s.requested_after); /* I was */
    assert_int_equal(s.cancelling_after, 1);
    assert_true(s.requested_outside); /* until withdrawn */
    assert_int_equal(s.later_rc, 0);  /* delivered once */
    assert_int_equal(s.cancelling_end, 1);

    run_whose(SCOPE_CANCELLED, &s);
    assert_int_equal(s.await_rc, -ECANCELED);
    assert_true(s.requested_after); /* my scope was */
    assert_int_equal(s.cancelling_after, 0);
    assert_false(s.requested_outside); /* not once out of it */
}

static void uncancel_withdraws_requests_not_yet_delivered(void **state)
{
    (void)state;
    struct whose s;
    run_whose(WITHDRAWN, &s);
    assert_int_equal(s.uncancel_rc[0], 1);
    assert_int_equal(s.uncancel_rc[1], 0);
    assert_int_equal(s.await_rc, 0); /* no cancellation point reports it */
    assert_false(s.requested_after);
    assert_int_equal(s.cancelling_end, 0);
    assert_int_equal(s.main_rc, 0); /* and its future holds its value */
}

/* ------------------------- a handle on weft_run's main coroutine */

struct mainf {
    bool wait_only;
    weft_future_t *mf;
    weft_future_t started;
    int run_rc, wait_rc, cancel_rc, sleep_rc;
    void *ret, *waited;
    int64_t ended_at;
};

static void *mainf_main(void *arg)
{
    struct mainf *s = arg;
    weft_future_set_result(&s->started, NULL);
    s->sleep_rc = weft_await_sleep_for(WEFT_SEC);
    s->ended_at = weft_now();
    if (s->sleep_rc != 0)
        weft_task_fail(s->sleep_rc);
    return (void *)(uintptr_t)5;
}

static void *mainf_thread(void *arg)
{
    struct mainf *s = arg;
    weft_future_wait(&s->started, NULL, WEFT_FOREVER);
    if (!s->wait_only) {
        weft_sleep_for(2 * WEFT_MSEC);
        s->cancel_rc = weft_cancel(s->mf);
    }
    s->wait_rc = weft_future_wait(s->mf, &s->waited, WEFT_FOREVER);
    return NULL;
}

static void *mainf_runner(void *arg)
{
    struct mainf *s = arg;
    s->run_rc = weft_run_future(mainf_main, s, &s->mf, &s->ret);
    return NULL;
}

static void mainf_body(void *arg)
{
    struct mainf *s = arg;
    bool wait_only = s->wait_only;
    weft_thread_t a, b;
    memset(s, 0, sizeof *s);
    s->wait_only = wait_only;
    s->run_rc = s->wait_rc = s->cancel_rc = 1;
    weft_future_init(&s->started);
    weft_thread_spawn(&a, "runner", mainf_runner, s);
    weft_thread_spawn(&b, "other", mainf_thread, s);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
}

static void
weft_run_future_lets_a_thread_cancel_the_main_coroutine(void **state)
{
    (void)state;
    struct mainf s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(mainf_body, &s, sizeof s, 23, 100, &o);
    assert_no_finding(&o);
    assert_int_equal(s.cancel_rc, 0);
    assert_int_equal(s.sleep_rc, -ECANCELED);
    assert_int_equal(s.ended_at, 2 * WEFT_MSEC);
    assert_int_equal(s.run_rc, -ECANCELED);
    assert_int_equal(s.wait_rc, -ECANCELED);
}

static void
weft_run_future_lets_a_thread_wait_for_the_main_coroutine(void **state)
{
    (void)state;
    struct mainf s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.wait_only = true;
    explore(mainf_body, &s, sizeof s, 23, 100, &o);
    assert_no_finding(&o);
    assert_int_equal(s.run_rc, 0);
    assert_ptr_equal(s.ret, (void *)(uintptr_t)5);
    assert_int_equal(s.wait_rc, 0);
    assert_ptr_equal(s.waited, (void *)(uintptr_t)5);
}

/* ------------------------------------------- scope state, through calls */

struct scope_calls {
    weft_scope_t quiet, cancelled, caught;
    bool quiet_called, quiet_caught;
    bool expired_called, expired_caught;
    bool cancelled_called, cancelled_caught;
    bool caught_called, caught_caught;
};

static void *scope_calls_main(void *arg)
{
    struct scope_calls *s = arg;
    /* A scope nothing cancels: neither called nor caught. */
    weft_scope_enter(&s->quiet, weft_now() + WEFT_MSEC, 0);
    s->quiet_called = weft_scope_cancel_called(&s->quiet);
    s->quiet_caught = weft_scope_cancelled_caught(&s->quiet);
    weft_scope_exit(&s->quiet);

    weft_scope_enter(&s->cancelled, weft_now() + 2 * WEFT_MSEC, 0);
    weft_scope_t inner;
    weft_scope_enter(&inner, WEFT_FOREVER, WEFT_SCOPE_SHIELD);
    weft_await_sleep_for(3 * WEFT_MSEC); /* shielded: ends normally */
    weft_scope_exit(&inner);
    s->expired_called = weft_scope_cancel_called(&s->cancelled);
    s->expired_caught = weft_scope_cancelled_caught(&s->cancelled);
    weft_scope_exit(&s->cancelled);

    weft_scope_enter(&s->caught, WEFT_FOREVER, 0);
    weft_scope_cancel(&s->caught);
    s->cancelled_called = weft_scope_cancel_called(&s->caught);
    s->cancelled_caught = weft_scope_cancelled_caught(&s->caught);
    weft_await_yield(); /* a cancellation point: -ECANCELED */
    s->caught_called = weft_scope_cancel_called(&s->caught);
    s->caught_caught = weft_scope_cancelled_caught(&s->caught);
    weft_scope_exit(&s->caught);
    return NULL;
}

static void scope_calls_body(void *arg)
{
    struct scope_calls *s = arg;
    memset(s, 0, sizeof *s);
    weft_run(scope_calls_main, s, NULL);
}

static void
scope_state_is_read_through_cancel_called_and_cancelled_caught(void **state)
{
    (void)state;
    struct scope_calls s;
    struct outcome o;
    explore(scope_calls_body, &s, sizeof s, 29, 20, &o);
    assert_no_finding(&o);
    assert_false(s.quiet_called);
    assert_false(s.quiet_caught);
    /* its deadline passed during a shielded sleep: called, not caught */
    assert_true(s.expired_called);
    assert_false(s.expired_caught);
    assert_true(s.cancelled_called);
    assert_false(s.cancelled_caught);
    assert_true(s.caught_called);
    assert_true(s.caught_caught);
}

/* ---------------------------------------------------------- cancel scopes */

struct scopes {
    weft_thread_fn *main; /* the main coroutine to run */
    weft_scope_t s1, s2;
    int rc1, rc2, rc3, exit1, exit2;
    int64_t at1, at2, at3;
    bool c1, h1, c2, h2;
};

static void scope_snapshot(struct scopes *s)
{
    s->c1 = s->s1.cancelled;
    s->h1 = s->s1.hit;
    s->c2 = s->s2.cancelled;
    s->h2 = s->s2.hit;
}

static void *move_on_main(void *arg)
{
    struct scopes *s = arg;
    weft_scope_enter(&s->s1, weft_now() + 5 * WEFT_MSEC, 0);
    s->rc1 = weft_await_sleep_for(10 * WEFT_MSEC);
    s->at1 = weft_now();
    s->exit1 = weft_scope_exit(&s->s1);
    scope_snapshot(s);
    s->rc2 = weft_await_sleep_for(WEFT_MSEC); /* outside: unaffected */
    s->at2 = weft_now();
    return NULL;
}

static void scopes_body(void *arg)
{
    struct scopes *s = arg;
    weft_thread_fn *main_fn = s->main;
    memset(s, 0, sizeof *s);
    s->main = main_fn;
    s->rc1 = s->rc2 = s->rc3 = s->exit1 = s->exit2 = 1;
    weft_run(main_fn, s, NULL);
}

static void run_scopes(weft_thread_fn *main_fn, struct scopes *x)
{
    struct outcome o;
    memset(x, 0, sizeof *x);
    x->main = main_fn;
    explore(scopes_body, x, sizeof *x, 1, 10, &o);
    assert_no_finding(&o);
}

static void move_on_after_cancels_the_await_at_its_deadline(void **state)
{
    (void)state;
    struct scopes x;
    run_scopes(move_on_main, &x);
    assert_int_equal(x.rc1, -ECANCELED);
    assert_int_equal(x.at1, 5 * WEFT_MSEC);
    assert_int_equal(x.exit1, 0);
    assert_true(x.c1);
    assert_true(x.h1);
    assert_int_equal(x.rc2, 0);
    assert_int_equal(x.at2, 6 * WEFT_MSEC);
}

static void *fail_after_main(void *arg)
{
    struct scopes *s = arg;
    weft_scope_enter(&s->s1, weft_now() + 5 * WEFT_MSEC, WEFT_SCOPE_FAIL);
    s->rc1 = weft_await_sleep_for(10 * WEFT_MSEC);
    s->at1 = weft_now();
    s->exit1 = weft_scope_exit(&s->s1);
    /* In time: no error. */
    weft_scope_enter(&s->s2, weft_now() + 5 * WEFT_MSEC, WEFT_SCOPE_FAIL);
    s->rc2 = weft_await_sleep_for(2 * WEFT_MSEC);
    s->exit2 = weft_scope_exit(&s->s2);
    scope_snapshot(s);
    return NULL;
}

static void
fail_after_exit_returns_etimedout_when_the_deadline_hit(void **state)
{
    (void)state;
    struct scopes x;
    run_scopes(fail_after_main, &x);
    assert_int_equal(x.rc1, -ECANCELED);
    assert_int_equal(x.at1, 5 * WEFT_MSEC);
    assert_int_equal(x.exit1, -ETIMEDOUT);
    assert_true(x.c1);
    assert_int_equal(x.rc2, 0);
    assert_int_equal(x.exit2, 0);
    assert_false(x.c2);
    assert_false(x.h2);
}

static void *nest_inner_earlier(void *arg)
{
    struct scopes *s = arg;
    weft_scope_enter(&s->s1, 10 * WEFT_MSEC, 0); /* outer */
    weft_scope_enter(&s->s2, 5 * WEFT_MSEC, 0);  /* inner */
    s->rc1 = weft_await_sleep_for(20 * WEFT_MSEC);
    s->at1 = weft_now();
    s->exit2 = weft_scope_exit(&s->s2);
    scope_snapshot(s); /* outer not cancelled yet */
    s->rc2 = weft_await_sleep_for(20 * WEFT_MSEC);
    s->at2 = weft_now();
    s->exit1 = weft_scope_exit(&s->s1);
    return NULL;
}

static void
nested_scopes_an_earlier_inner_deadline_ends_only_the_inner(void **state)
{
    (void)state;
    struct scopes x;
    run_scopes(nest_inner_earlier, &x);
    assert_int_equal(x.rc1, -ECANCELED);
    assert_int_equal(x.at1, 5 * WEFT_MSEC);
    assert_int_equal(x.exit2, 0);
    assert_true(x.c2);
    assert_true(x.h2);
    assert_false(x.c1);
    assert_false(x.h1);
    assert_int_equal(x.rc2, -ECANCELED);
    assert_int_equal(x.at2, 10 * WEFT_MSEC);
    assert_int_equal(x.exit1, 0);
    assert_true(x.s1.cancelled);
    assert_true(x.s1.hit);
}

static void *nest_inner_later(void *arg)
{
    struct scopes *s = arg;
    weft_scope_enter(&s->s1, 5 * WEFT_MSEC, 0);  /* outer */
    weft_scope_enter(&s->s2, 10 * WEFT_MSEC, 0); /* inner */
    s->rc1 = weft_await_sleep_for(20 * WEFT_MSEC);
    s->at1 = weft_now();
    s->exit2 = weft_scope_exit(&s->s2);
    scope_snapshot(s);
    /* The outer scope is cancelled: its next await ends at once. */
    s->rc2 = weft_await_sleep_for(20 * WEFT_MSEC);
    s->at2 = weft_now();
    s->exit1 = weft_scope_exit(&s->s1);
    return NULL;
}

static void nested_scopes_an_earlier_outer_deadline_ends_both(void **state)
{
    (void)state;
    struct scopes x;
    run_scopes(nest_inner_later, &x);
    assert_int_equal(x.rc1, -ECANCELED);
    assert_int_equal(x.at1, 5 * WEFT_MSEC);
    assert_int_equal(x.exit2, 0);
    assert_false(x.c2); /* its own deadline never came */
    assert_true(x.c1);
    assert_true(x.h1);
    assert_int_equal(x.rc2, -ECANCELED);
    assert_int_equal(x.at2, 5 * WEFT_MSEC);
    assert_int_equal(x.exit1, 0);
}

static void *shield_main(void *arg)
{
    struct scopes *s = arg;
    weft_scope_enter(&s->s1, 5 * WEFT_MSEC, 0);                  /* outer */
    weft_scope_enter(&s->s2, 20 * WEFT_MSEC, WEFT_SCOPE_SHIELD); /* shield */
    s->rc1 = weft_await_sleep_for(30 * WEFT_MSEC);
    s->at1 = weft_now();
    s->exit2 = weft_scope_exit(&s->s2);
    scope_snapshot(s);
    s->rc2 = weft_await_yield(); /* back under the expired outer scope */
    s->at2 = weft_now();
    s->exit1 = weft_scope_exit(&s->s1);
    return NULL;
}

static void a_shield_keeps_an_outer_deadline_out_but_not_its_own(void **state)
{
    (void)state;
    struct scopes x;
    run_scopes(shield_main, &x);
    assert_int_equal(x.rc1, -ECANCELED);
    assert_int_equal(x.at1, 20 * WEFT_MSEC); /* the shield's, not 5 ms */
    assert_int_equal(x.exit2, 0);
    assert_true(x.c2);
    assert_true(x.h2);
    assert_int_equal(x.rc2, -ECANCELED);
    assert_int_equal(x.at2, 20 * WEFT_MSEC);
}

/* An outer scope cancelled explicitly, and the task itself cancelled,
 * while it sleeps inside a shield without a deadline. */
struct shield2 {
    weft_scope_t outer, shield;
    weft_future_t *fw;
    bool cancel_task; /* weft_cancel the task, else weft_scope_cancel */
    int rc_in, rc_after;
    int64_t at_in, at_after;
};

static void *shield2_worker(void *arg)
{
    struct shield2 *s = arg;
    weft_scope_enter(&s->outer, WEFT_FOREVER, 0);
    weft_scope_enter(&s->shield, WEFT_FOREVER, WEFT_SCOPE_SHIELD);
    s->rc_in = weft_await_sleep_for(10 * WEFT_MSEC);
    s->at_in = weft_now();
    weft_scope_exit(&s->shield);
    /* Outside the shield the cancellation arrives. */
    s->rc_after = weft_await_sleep_for(10 * WEFT_MSEC);
    s->at_after = weft_now();
    weft_scope_exit(&s->outer);
    return NULL;
}

static void *shield2_main(void *arg)
{
    struct shield2 *s = arg;
    s->fw = weft_spawn("shielded", shield2_worker, s);
    weft_await_sleep_for(2 * WEFT_MSEC);
    if (s->cancel_task)
        weft_cancel(s->fw);
    else
        weft_scope_cancel(&s->outer);
    weft_await(s->fw, NULL);
    return NULL;
}

static const char *shield2_ok(const struct shield2 *s)
{
    EXPECT_EQ(s->rc_in, 0); /* the shielded await was left alone */
    EXPECT_EQ(s->at_in, 10 * WEFT_MSEC);
    EXPECT_EQ(s->rc_after, -ECANCELED);
    EXPECT_EQ(s->at_after, 10 * WEFT_MSEC);
    return NULL;
}

static void shield2_body(void *arg)
{
    struct shield2 *s = arg;
    bool cancel_task = s->cancel_task;
    memset(s, 0, sizeof *s);
    s->cancel_task = cancel_task;
    s->rc_in = s->rc_after = 1;
    weft_run(shield2_main, s, NULL);
    CHECK_IN_BODY(shield2_ok(s));
}

static void check_shield2(bool cancel_task)
{
    struct shield2 s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.cancel_task = cancel_task;
    explore(shield2_body, &s, sizeof s, 1, 10, &o);
    assert_no_finding(&o);
    CHECK_AFTER(shield2_ok(&s));
}

static void a_shield_keeps_an_outer_scope_cancel_out(void **state)
{
    (void)state;
    check_shield2(false);
}

static void a_shield_keeps_task_cancellation_out_until_it_exits(void **state)
{
    (void)state;
    check_shield2(true);
}

/* weft_scope_cancel from another task wakes the scope's waiter. */
struct remote {
    weft_scope_t s;
    bool entered;
    int rc, exit_rc;
    int64_t at;
    bool cancelled, hit;
};

static void *remote_waiter(void *arg)
{
    struct remote *s = arg;
    weft_scope_enter(&s->s, WEFT_FOREVER, 0);
    s->entered = true;
    s->rc = weft_await_sleep_for(WEFT_SEC);
    s->at = weft_now();
    s->exit_rc = weft_scope_exit(&s->s);
    s->cancelled = s->s.cancelled;
    s->hit = s->s.hit;
    return NULL;
}

static void *remote_canceller(void *arg)
{
    struct remote *s = arg;
    while (!s->entered)
        weft_await_yield();
    weft_await_sleep_for(3 * WEFT_MSEC);
    weft_scope_cancel(&s->s);
    return NULL;
}

static void *remote_main(void *arg)
{
    weft_future_t *w = weft_spawn("waiter", remote_waiter, arg);
    weft_future_t *c = weft_spawn("canceller", remote_canceller, arg);
    weft_await(w, NULL);
    weft_await(c, NULL);
    return NULL;
}

static const char *remote_ok(const struct remote *s)
{
    EXPECT_EQ(s->rc, -ECANCELED);
    EXPECT_EQ(s->at, 3 * WEFT_MSEC);
    EXPECT_EQ(s->exit_rc, 0);
    EXPECT(s->cancelled);
    return NULL;
}

static void remote_body(void *arg)
{
    struct remote *s = arg;
    memset(s, 0, sizeof *s);
    s->rc = s->exit_rc = 1;
    weft_run(remote_main, s, NULL);
    CHECK_IN_BODY(remote_ok(s));
}

static void scope_cancel_from_another_coroutine_wakes_the_waiter(void **state)
{
    (void)state;
    struct remote s;
    struct outcome o;
    explore(remote_body, &s, sizeof s, 1, 20, &o);
    assert_no_finding(&o);
    CHECK_AFTER(remote_ok(&s));
}

/* weft.h: "hit: a cancellation point inside returned -ECANCELED". */
static void a_scope_cancelled_by_scope_cancel_records_its_hit(void **state)
{
    (void)state;
    struct remote s;
    struct outcome o;
    explore(remote_body, &s, sizeof s, 1, 5, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc, -ECANCELED);
    assert_true(s.hit);
}

/* A scope its owner has left: cancelling it late changes nothing. */
struct stale {
    weft_scope_t s;
    bool left;
    int rc;
    int64_t at;
};

static void *stale_owner(void *arg)
{
    struct stale *s = arg;
    weft_scope_enter(&s->s, WEFT_FOREVER, 0);
    weft_await_yield();
    weft_scope_exit(&s->s);
    s->left = true;
    s->rc = weft_await_sleep_for(10 * WEFT_MSEC);
    s->at = weft_now();
    return NULL;
}

static void *stale_canceller(void *arg)
{
    struct stale *s = arg;
    while (!s->left)
        weft_await_yield();
    weft_await_sleep_for(2 * WEFT_MSEC);
    weft_scope_cancel(&s->s); /* too late: nobody is inside */
    return NULL;
}

static void *stale_main(void *arg)
{
    weft_future_t *a = weft_spawn("owner", stale_owner, arg);
    weft_future_t *b = weft_spawn("canceller", stale_canceller, arg);
    weft_await(a, NULL);
    weft_await(b, NULL);
    return NULL;
}

static const char *stale_ok(const struct stale *s)
{
    EXPECT_EQ(s->rc, 0);
    EXPECT_EQ(s->at, 10 * WEFT_MSEC);
    return NULL;
}

static void stale_body(void *arg)
{
    struct stale *s = arg;
    memset(s, 0, sizeof *s);
    s->rc = 1;
    weft_run(stale_main, s, NULL);
    CHECK_IN_BODY(stale_ok(s));
}

static void
cancelling_a_scope_after_its_owner_left_it_changes_nothing(void **state)
{
    (void)state;
    struct stale s;
    struct outcome o;
    explore(stale_body, &s, sizeof s, 1, 20, &o);
    assert_no_finding(&o);
    CHECK_AFTER(stale_ok(&s));
}

/* ------------------------------------------------------ scopes in threads */

struct tscope {
    weft_mutex_t m;
    weft_sem_t sem;
    weft_scope_t s1, s2, s3, s4;
    int lock_rc, sem_rc, sleep_rc, remote_rc;
    int64_t lock_at, sem_at, sleep_at, remote_at;
    int exit1;
    bool hit1;
    bool waiting;
};

static void *tscope_holder(void *arg)
{
    struct tscope *s = arg;
    weft_mutex_lock(&s->m);
    weft_sleep_for(100 * WEFT_MSEC);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void *tscope_remote(void *arg)
{
    struct tscope *s = arg;
    while (!s->waiting)
        weft_yield();
    weft_sleep_for(WEFT_MSEC);
    weft_scope_cancel(&s->s4);
    return NULL;
}

static const char *tscope_ok(const struct tscope *s)
{
    EXPECT_EQ(s->lock_rc, -ECANCELED);
    EXPECT_EQ(s->lock_at, 6 * WEFT_MSEC);
    EXPECT_EQ(s->exit1, 0);
    EXPECT(s->hit1);
    EXPECT_EQ(s->sem_rc, -ECANCELED);
    EXPECT_EQ(s->sem_at, 6 * WEFT_MSEC);
    EXPECT_EQ(s->sleep_rc, -ECANCELED);
    EXPECT_EQ(s->sleep_at, 9 * WEFT_MSEC);
    EXPECT_EQ(s->remote_rc, -ECANCELED);
    EXPECT_EQ(s->remote_at, 10 * WEFT_MSEC);
    return NULL;
}

static void tscope_body(void *arg)
{
    struct tscope *s = arg;
    weft_thread_t h, c;
    memset(s, 0, sizeof *s);
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_sem_init(&s->sem, 0);
    weft_thread_spawn(&h, "holder", tscope_holder, s);
    weft_sleep_for(WEFT_MSEC); /* the holder has the mutex */

    /* A deadline ends a lock that must wait. */
    weft_scope_enter(&s->s1, 6 * WEFT_MSEC, 0);
    s->lock_rc = weft_mutex_lock(&s->m);
    s->lock_at = weft_now();
    s->exit1 = weft_scope_exit(&s->s1);
    s->hit1 = s->s1.hit;

    /* A scope cancelled before the wait: it does not wait at all. */
    weft_scope_enter(&s->s2, WEFT_FOREVER, 0);
    weft_scope_cancel(&s->s2);
    s->sem_rc = weft_sem_wait(&s->sem);
    s->sem_at = weft_now();
    weft_scope_exit(&s->s2);

    weft_scope_enter(&s->s3, weft_now() + 3 * WEFT_MSEC, 0);
    s->sleep_rc = weft_sleep_for(10 * WEFT_MSEC);
    s->sleep_at = weft_now();
    weft_scope_exit(&s->s3);

    /* Cancelled by another thread while it waits. */
    weft_thread_spawn(&c, "canceller", tscope_remote, s);
    weft_scope_enter(&s->s4, WEFT_FOREVER, 0);
    s->waiting = true;
    s->remote_rc = weft_sem_wait(&s->sem);
    s->remote_at = weft_now();
    weft_scope_exit(&s->s4);

    weft_thread_join(c, NULL);
    weft_thread_join(h, NULL);
    CHECK_IN_BODY(tscope_ok(s));
}

static void
a_threads_blocking_calls_in_a_cancelled_scope_return_ecanceled(void **state)
{
    (void)state;
    struct tscope s;
    struct outcome o;
    explore(tscope_body, &s, sizeof s, 1, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(tscope_ok(&s));
}

/* ------------------------------------------------- cancelling to_thread */

struct tocancel {
    int job_rc;
    int64_t job_at;
    int await_rc, cancel_rc;
    bool job_ran;
    /* the second job, cancelled before a worker took it */
    int queued_rc, queued_job_rc;
    bool queued_job_completed_wait;
    uint64_t completed_waits; /* over all executions */
};

static struct tocancel *tocancel_state;

static void *blocking_job(void *arg)
{
    struct tocancel *s = tocancel_state;
    (void)arg;
    s->job_ran = true;
    s->job_rc = weft_sleep_for(WEFT_SEC);
    s->job_at = weft_now();
    return NULL;
}

static void *queued_job(void *arg)
{
    struct tocancel *s = tocancel_state;
    (void)arg;
    s->queued_job_rc = weft_sleep_for(WEFT_MSEC);
    s->queued_job_completed_wait = s->queued_job_rc == 0;
    return NULL;
}

static void *tocancel_main(void *arg)
{
    struct tocancel *s = arg;
    weft_future_t *f = weft_to_thread(blocking_job, NULL);
    weft_future_t *g = weft_to_thread(queued_job, NULL); /* waits: 1 worker */
    weft_await_sleep_for(2 * WEFT_MSEC);
    s->cancel_rc = weft_cancel(f);
    weft_cancel(g);
    s->await_rc = weft_await(f, NULL);
    s->queued_rc = weft_await(g, NULL);
    return NULL;
}

static const char *tocancel_ok(const struct tocancel *s)
{
    EXPECT(s->job_ran);
    EXPECT_EQ(s->cancel_rc, 0);
    EXPECT_EQ(s->job_rc, -ECANCELED); /* the worker's blocking wait */
    EXPECT_EQ(s->job_at, 2 * WEFT_MSEC);
    EXPECT_EQ(s->await_rc, -ECANCELED);
    EXPECT_EQ(s->queued_rc, -ECANCELED);
    return NULL;
}

static void tocancel_body(void *arg)
{
    struct tocancel *s = arg;
    uint64_t completed_waits = s->completed_waits;
    tocancel_state = s;
    memset(s, 0, sizeof *s);
    s->job_rc = s->await_rc = s->queued_rc = s->queued_job_rc = 1;
    weft_run(tocancel_main, s, NULL);
    s->completed_waits = completed_waits + s->queued_job_completed_wait;
    CHECK_IN_BODY(tocancel_ok(s));
}

static void run_tocancel(struct tocancel *s)
{
    struct outcome o;
    weft_config_t c;
    memset(s, 0, sizeof *s);
    config(&c, 1, 50);
    c.loop_workers = 1;
    explore_cfg(&c, tocancel_body, s, sizeof *s, &o);
    assert_no_finding(&o);
    CHECK_AFTER(tocancel_ok(s));
}

static void cancelling_a_to_thread_future_cancels_the_workers_wait(void **state)
{
    (void)state;
    struct tocancel s;
    run_tocancel(&s);
}

static void a_to_thread_job_cancelled_before_it_starts_never_waits(void **state)
{
    (void)state;
    struct tocancel s;
    run_tocancel(&s);
    /* Either it never ran, or its first cancellation point said so. */
    if (s.completed_waits != 0)
        fail_msg("in %llu of 50 executions the job, cancelled while it "
                 "waited for the worker, ran and its 1 ms sleep completed",
                 (unsigned long long)s.completed_waits);
}

/* ---------------------------------- a reply and a timeout, same instant */

struct race {
    weft_future_t reply;
    int rc;
    uint64_t reply_won, timeout_won, other;
};

static void *race_replier(void *arg)
{
    struct race *s = arg;
    weft_await_sleep_for(100 * WEFT_MSEC);
    weft_future_set_result(&s->reply, (void *)(uintptr_t)1);
    return NULL;
}

static void *race_main(void *arg)
{
    struct race *s = arg;
    weft_scope_t sc;
    weft_spawn("replier", race_replier, s);
    weft_scope_enter(&sc, weft_now() + 100 * WEFT_MSEC, 0);
    s->rc = weft_await(&s->reply, NULL);
    weft_scope_exit(&sc);
    return NULL;
}

static void race_tally(struct race *s)
{
    if (s->rc == 0)
        s->reply_won++;
    else if (s->rc == -ECANCELED || s->rc == -ETIMEDOUT)
        s->timeout_won++;
    else
        s->other++;
}

static void race_body(void *arg)
{
    struct race *s = arg;
    weft_future_init(&s->reply);
    s->rc = 1;
    weft_run(race_main, s, NULL);
    race_tally(s);
}

static void a_reply_and_a_timeout_at_the_same_instant_can_each_win(void **state)
{
    (void)state;
    struct race s = { .rc = 0 };
    struct outcome o;
    explore(race_body, &s, sizeof s, 1, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(s.other, 0);
    if (s.timeout_won == 0 || s.reply_won == 0)
        fail_msg("over 200 executions the reply won %llu times, the timeout "
                 "%llu times",
                 (unsigned long long)s.reply_won,
                 (unsigned long long)s.timeout_won);
}

/* The same race between two threads, with a timed wait. */
static void *race_thread_replier(void *arg)
{
    struct race *s = arg;
    weft_sleep_for(100 * WEFT_MSEC);
    weft_future_set_result(&s->reply, (void *)(uintptr_t)1);
    return NULL;
}

static void race_thread_body(void *arg)
{
    struct race *s = arg;
    weft_thread_t t;
    weft_future_init(&s->reply);
    weft_thread_spawn(&t, "replier", race_thread_replier, s);
    s->rc = weft_future_wait(&s->reply, NULL, 100 * WEFT_MSEC);
    weft_thread_join(t, NULL);
    race_tally(s);
}

static void
a_thread_reply_and_timeout_at_the_same_instant_can_each_win(void **state)
{
    (void)state;
    struct race s = { .rc = 0 };
    struct outcome o;
    explore(race_thread_body, &s, sizeof s, 1, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(s.other, 0);
    assert_true(s.timeout_won > 0);
    assert_true(s.reply_won > 0);
}

/* ------------------------------------------------------------------ main */

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-test-cancel-XXXXXX");
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
            a_coroutine_that_handles_its_cancellation_and_returns_ends_with_its_value),
        cmocka_unit_test(
            a_coroutine_that_lets_its_cancellation_through_ends_cancelled),
        cmocka_unit_test(
            a_coroutine_that_returns_before_its_cancellation_lands_ends_cancelled),
        cmocka_unit_test(
            cancel_requested_tells_my_cancellation_from_the_awaited_futures),
        cmocka_unit_test(uncancel_withdraws_requests_not_yet_delivered),
        cmocka_unit_test(
            weft_run_future_lets_a_thread_cancel_the_main_coroutine),
        cmocka_unit_test(
            weft_run_future_lets_a_thread_wait_for_the_main_coroutine),
        cmocka_unit_test(
            scope_state_is_read_through_cancel_called_and_cancelled_caught),
        cmocka_unit_test(
            cancelling_a_task_ends_its_await_and_its_future_is_cancelled),
        cmocka_unit_test(cancellation_lands_at_every_await_of_a_coroutine),
        cmocka_unit_test(a_thread_cancels_a_coroutine_at_every_await),
        cmocka_unit_test(
            cancelling_a_woken_coroutine_before_it_resumes_resumes_it_once),
        cmocka_unit_test(
            scope_cancel_of_a_woken_coroutine_before_it_resumes_is_harmless),
        cmocka_unit_test(move_on_after_cancels_the_await_at_its_deadline),
        cmocka_unit_test(
            fail_after_exit_returns_etimedout_when_the_deadline_hit),
        cmocka_unit_test(
            nested_scopes_an_earlier_inner_deadline_ends_only_the_inner),
        cmocka_unit_test(nested_scopes_an_earlier_outer_deadline_ends_both),
        cmocka_unit_test(a_shield_keeps_an_outer_deadline_out_but_not_its_own),
        cmocka_unit_test(a_shield_keeps_an_outer_scope_cancel_out),
        cmocka_unit_test(a_shield_keeps_task_cancellation_out_until_it_exits),
        cmocka_unit_test(scope_cancel_from_another_coroutine_wakes_the_waiter),
        cmocka_unit_test(a_scope_cancelled_by_scope_cancel_records_its_hit),
        cmocka_unit_test(
            cancelling_a_scope_after_its_owner_left_it_changes_nothing),
        cmocka_unit_test(
            a_threads_blocking_calls_in_a_cancelled_scope_return_ecanceled),
        cmocka_unit_test(
            cancelling_a_to_thread_future_cancels_the_workers_wait),
        cmocka_unit_test(
            a_to_thread_job_cancelled_before_it_starts_never_waits),
        cmocka_unit_test(
            a_reply_and_a_timeout_at_the_same_instant_can_each_win),
        cmocka_unit_test(
            a_thread_reply_and_timeout_at_the_same_instant_can_each_win),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
