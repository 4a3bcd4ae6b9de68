/*
 * test_loop.c: event loops and coroutines: when coroutines may and may not
 * interleave, the loop's FIFO (and shuffled) order, the ambient current
 * loop, weft_run and weft_loop_run, callbacks (call_soon, call_later,
 * call_at), run_coroutine_threadsafe (weft_spawn_on from a thread), the
 * bounded to_thread pool, the blocking-in-loop policy (error, warn,
 * allow) and determinism of mixed thread/coroutine executions. Timers,
 * callbacks and coroutines due at one instant (every order, no false
 * deadlock), the deadlock report of an exhausted pool, the trace's name
 * of a to_thread submission, and the debug mode (WEFT_LOOP_DEBUG).
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

/* ------------------------------------ coroutines interleave only at awaits */

struct inc {
    bool await_between; /* weft_await_yield between read and write */
    int rounds;
    int shared;        /* the plain int both coroutines increment */
    bool mid;          /* a coroutine is between its read and its write */
    uint64_t runs;     /* executions */
    uint64_t lost;     /* executions that lost an update */
    uint64_t seen_mid; /* times the thread ran while a coroutine was mid */
};

static void *inc_co(void *arg)
{
    struct inc *s = arg;
    for (int i = 0; i < s->rounds; i++) {
        int x = s->shared;
        s->mid = true;
        if (s->await_between)
            weft_await_yield(); /* an await: the loop may switch */
        else
            weft_yield(); /* a scheduling point, but no await */
        s->shared = x + 1;
        s->mid = false;
        weft_await_yield(); /* coroutines may interleave here */
    }
    return NULL;
}

/* A thread that keeps scheduling points coming while the coroutines run,
 * so that weft_yield() inside a coroutine is a real choice. */
static void *inc_noise(void *arg)
{
    struct inc *s = arg;
    for (int i = 0; i < 12; i++) {
        if (s->mid)
            s->seen_mid++;
        weft_yield();
    }
    return NULL;
}

static void *inc_main(void *arg)
{
    weft_future_t *a = weft_spawn("A", inc_co, arg);
    weft_future_t *b = weft_spawn("B", inc_co, arg);
    weft_await(a, NULL);
    weft_await(b, NULL);
    return NULL;
}

static void inc_body(void *arg)
{
    struct inc *s = arg;
    weft_thread_t t;
    s->shared = 0;
    s->mid = false;
    weft_thread_spawn(&t, "noise", inc_noise, s);
    weft_run(inc_main, s, NULL);
    weft_thread_join(t, NULL);
    s->runs++;
    if (s->shared != 2 * s->rounds)
        s->lost++;
}

static void coroutines_never_interleave_between_awaits(void **state)
{
    (void)state;
    struct inc s = { .await_between = false, .rounds = 3 };
    struct outcome o;
    explore(inc_body, &s, sizeof s, 1, 1000, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 1000);
    assert_int_equal(s.lost, 0);
    /* The noise thread did run between a coroutine's read and its write:
     * weft_yield() was a real scheduling point, only not for the other
     * coroutine of the loop. */
    assert_true(s.seen_mid > 0);
}

static void an_await_between_read_and_write_loses_updates(void **state)
{
    (void)state;
    struct inc s = { .await_between = true, .rounds = 3 };
    struct outcome o;
    explore(inc_body, &s, sizeof s, 1, 50, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 50);
    assert_true(s.lost > 0);
}

/* ----------------------------------- a thread may preempt a coroutine */

struct mixed_inc {
    int shared;
    uint64_t lost, kept;
};

static void mixed_add(struct mixed_inc *s)
{
    for (int i = 0; i < 3; i++) {
        int x = s->shared;
        weft_yield();
        s->shared = x + 1;
    }
}

static void *mixed_thread(void *arg)
{
    mixed_add(arg);
    return NULL;
}

static void *mixed_co(void *arg)
{
    mixed_add(arg);
    return NULL;
}

static void mixed_body(void *arg)
{
    struct mixed_inc *s = arg;
    weft_thread_t t;
    s->shared = 0;
    weft_thread_spawn(&t, "thread", mixed_thread, s);
    weft_run(mixed_co, s, NULL);
    weft_thread_join(t, NULL);
    if (s->shared != 6)
        s->lost++;
    else
        s->kept++;
}

static void a_thread_can_preempt_a_coroutine_at_a_visible_op(void **state)
{
    (void)state;
    struct mixed_inc s = { 0 };
    struct outcome o;
    explore(mixed_body, &s, sizeof s, 7, 200, &o);
    assert_no_finding(&o);
    assert_true(s.lost > 0);
    assert_true(s.kept > 0);
}

/* --------------------------------------------------------- resume order */

struct order {
    unsigned flags; /* the loop's */
    char buf[8];
    size_t len;
    uint64_t seen; /* bit per permutation of A, B, C */
    uint64_t runs;
};

static struct order *order_state;

static void *order_append(void *arg)
{
    weft_await_yield();
    order_state->buf[order_state->len++] = (char)(uintptr_t)arg;
    return NULL;
}

static void *order_main(void *arg)
{
    (void)arg;
    weft_future_t *f[3];
    for (int i = 0; i < 3; i++) {
        char name[2] = { (char)('A' + i), '\0' };
        f[i] = weft_spawn(name, order_append, (void *)(uintptr_t)('A' + i));
    }
    weft_wait_all(f, 3, WEFT_FOREVER);
    return NULL;
}

static int perm_index(const char *p)
{
    static const char *const perms[6] = { "ABC", "ACB", "BAC",
                                          "BCA", "CAB", "CBA" };
    for (int i = 0; i < 6; i++)
        if (strncmp(p, perms[i], 3) == 0)
            return i;
    return 63;
}

static void order_body(void *arg)
{
    struct order *s = arg;
    weft_loop_t l;
    order_state = s;
    s->len = 0;
    weft_loop_init(&l, s->flags);
    weft_loop_run(&l, order_main, NULL, NULL);
    s->runs++;
    if (s->len == 3)
        s->seen |= 1ull << perm_index(s->buf);
    else
        s->seen |= 1ull << 62;
}

static void ready_coroutines_resume_first_in_first_out(void **state)
{
    (void)state;
    struct order s = { .flags = 0 };
    struct outcome o;
    explore(order_body, &s, sizeof s, 3, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 200);
    assert_int_equal(s.seen, 1ull << 0); /* always A, B, C */
}

static void shuffled_loop_resumes_ready_coroutines_in_every_order(void **state)
{
    (void)state;
    struct order s = { .flags = WEFT_LOOP_SHUFFLE };
    struct outcome o;
    explore(order_body, &s, sizeof s, 3, 300, &o);
    assert_no_finding(&o);
    assert_int_equal(s.runs, 300);
    assert_int_equal(s.seen, 0x3f); /* all six orders, nothing else */
}

/* --------------------------------------------------- the current loop */

struct current {
    weft_loop_t l;
    weft_future_t cb_done;
    weft_loop_t *body_before, *body_after;
    weft_loop_t *deep, *deep_after_await, *deep_child, *callback;
    weft_loop_t *other_thread, *worker;
    bool deep_in_co, callback_in_co, worker_in_co;
};

static weft_loop_t *__attribute__((noinline)) current_deep(int n);

static void *current_child(void *arg)
{
    struct current *s = arg;
    s->deep_child = weft_loop_current();
    return NULL;
}

static void *current_job(void *arg)
{
    struct current *s = arg;
    s->worker = weft_loop_current();
    s->worker_in_co = weft_in_coroutine();
    return NULL;
}

static struct current *current_state;

static weft_loop_t *__attribute__((noinline)) current_deep(int n)
{
    struct current *s = current_state;
    if (n > 1)
        return current_deep(n - 1);
    /* five calls below the main coroutine's function */
    s->deep = weft_loop_current();
    s->deep_in_co = weft_in_coroutine();
    weft_await_yield();
    s->deep_after_await = weft_loop_current();
    weft_await(weft_spawn("deep child", current_child, s), NULL);
    weft_await(weft_to_thread(current_job, s), NULL);
    return weft_loop_current();
}

static void current_cb(void *arg)
{
    struct current *s = arg;
    s->callback = weft_loop_current();
    s->callback_in_co = weft_in_coroutine();
    weft_future_set_result(&s->cb_done, NULL);
}

static void *current_main(void *arg)
{
    struct current *s = arg;
    current_deep(5);
    weft_call_soon(&s->l, current_cb, s);
    weft_await(&s->cb_done, NULL);
    return NULL;
}

static void *current_other(void *arg)
{
    struct current *s = arg;
    weft_yield();
    s->other_thread = weft_loop_current();
    return NULL;
}

static const char *current_ok(const struct current *s)
{
    EXPECT_PTR(s->deep, &s->l);
    EXPECT(s->deep_in_co);
    EXPECT_PTR(s->deep_after_await, &s->l);
    EXPECT_PTR(s->deep_child, &s->l);
    EXPECT_PTR(s->callback, &s->l);
    EXPECT(!(s->callback_in_co));
    EXPECT_PTR(s->body_before, NULL);
    EXPECT_PTR(s->body_after, NULL);
    EXPECT_PTR(s->other_thread, NULL);
    EXPECT_PTR(s->worker, NULL);
    EXPECT(!(s->worker_in_co));
    return NULL;
}

static void current_body(void *arg)
{
    struct current *s = arg;
    weft_thread_t t;
    current_state = s;
    memset(s, 0, sizeof *s);
    s->other_thread = s->worker = &s->l; /* must be overwritten with NULL */
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->cb_done);
    s->body_before = weft_loop_current();
    weft_thread_spawn(&t, "other", current_other, s);
    weft_loop_run(&s->l, current_main, s, NULL);
    s->body_after = weft_loop_current();
    weft_thread_join(t, NULL);
    CHECK_IN_BODY(current_ok(s));
}

static void
current_loop_is_ambient_in_coroutines_and_callbacks_only(void **state)
{
    (void)state;
    struct current s;
    struct outcome o;
    explore(current_body, &s, sizeof s, 11, 20, &o);
    assert_no_finding(&o);
    CHECK_AFTER(current_ok(&s));
}

/* ------------------------------------------------ weft_run, weft_loop_run */

struct runret {
    int rc_value, rc_fail;
    void *ret;
    bool fail_mode;
};

static void *runret_main(void *arg)
{
    struct runret *s = arg;
    weft_await_sleep_for(WEFT_MSEC);
    if (s->fail_mode)
        weft_task_fail(-EIO);
    return (void *)(uintptr_t)0x5eed;
}

static void runret_body(void *arg)
{
    struct runret *s = arg;
    s->ret = NULL;
    s->fail_mode = false;
    s->rc_value = weft_run(runret_main, s, &s->ret);
    s->fail_mode = true;
    s->rc_fail = weft_run(runret_main, s, NULL);
}

static void weft_run_returns_the_main_coroutines_value_or_error(void **state)
{
    (void)state;
    struct runret s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(runret_body, &s, sizeof s, 1, 5, &o);
    /* The main coroutine's error is observed by weft_run: no finding. */
    assert_no_finding(&o);
    assert_int_equal(s.rc_value, 0);
    assert_ptr_equal(s.ret, (void *)(uintptr_t)0x5eed);
    assert_int_equal(s.rc_fail, -EIO);
}

struct busy {
    weft_loop_t l;
    weft_future_t thread_tried;
    int thread_rc, coroutine_rc, again_rc;
    void *again_ret;
};

static void *busy_never(void *arg)
{
    (void)arg;
    return NULL;
}

static void *busy_thread(void *arg)
{
    struct busy *s = arg;
    s->thread_rc = weft_loop_run(&s->l, busy_never, NULL, NULL);
    weft_future_set_result(&s->thread_tried, NULL);
    return NULL;
}

static void *busy_main(void *arg)
{
    struct busy *s = arg;
    weft_thread_t t;
    s->coroutine_rc = weft_run(busy_never, NULL, NULL);
    weft_thread_spawn(&t, "second runner", busy_thread, s);
    weft_await(&s->thread_tried, NULL);
    weft_thread_detach(t);
    return NULL;
}

static void *busy_again(void *arg)
{
    (void)arg;
    weft_await_yield();
    return (void *)(uintptr_t)7;
}

static const char *busy_ok(const struct busy *s)
{
    EXPECT_EQ(s->thread_rc, -EBUSY);
    EXPECT_EQ(s->coroutine_rc, -EBUSY);
    EXPECT_EQ(s->again_rc, 0);
    EXPECT_PTR(s->again_ret, (void *)(uintptr_t)7);
    return NULL;
}

static void busy_body(void *arg)
{
    struct busy *s = arg;
    s->thread_rc = s->coroutine_rc = s->again_rc = 1;
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->thread_tried);
    weft_loop_run(&s->l, busy_main, s, NULL);
    /* Not running any more: it may run again. */
    s->again_rc = weft_loop_run(&s->l, busy_again, NULL, &s->again_ret);
    CHECK_IN_BODY(busy_ok(s));
}

static void loop_run_on_a_running_loop_is_ebusy(void **state)
{
    (void)state;
    struct busy s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(busy_body, &s, sizeof s, 5, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(busy_ok(&s));
}

/* A loop that ran once and stopped its pool can run again, and its
 * to_thread jobs run in the second run too. */
struct rerun {
    int rc1, rc2;
    void *v1, *v2;
};

static void *rerun_job(void *arg)
{
    return arg;
}

static void *rerun_main(void *arg)
{
    void *v = NULL;
    weft_future_t *f = weft_to_thread(rerun_job, arg);
    if (f == NULL || weft_await(f, &v) != 0)
        return NULL;
    return v;
}

static void rerun_body(void *arg)
{
    struct rerun *s = arg;
    weft_loop_t l;
    weft_loop_init(&l, 0);
    s->rc1 = weft_loop_run(&l, rerun_main, (void *)(uintptr_t)1, &s->v1);
    s->rc2 = weft_loop_run(&l, rerun_main, (void *)(uintptr_t)2, &s->v2);
}

static void a_loop_run_again_still_runs_to_thread_jobs(void **state)
{
    (void)state;
    struct rerun s;
    struct outcome o;
    weft_config_t c;
    memset(&s, 0, sizeof s);
    config(&c, 1, 5);
    c.loop_workers = 1;
    explore_cfg(&c, rerun_body, &s, sizeof s, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc1, 0);
    assert_ptr_equal(s.v1, (void *)(uintptr_t)1);
    assert_int_equal(s.rc2, 0);
    assert_ptr_equal(s.v2, (void *)(uintptr_t)2);
}

/* ------------------------------------------------------------ callbacks */

struct soon {
    weft_loop_t l;
    weft_future_t done;
    int counter;   /* queue order, taken with the call (atomically) */
    int order[16]; /* queue numbers in the order the callbacks ran */
    int n;
    unsigned loop_thread;
    bool all_on_loop_thread, none_in_coroutine;
};

static void soon_cb(void *arg)
{
    struct soon *s = (struct soon *)((uintptr_t)arg & ~(uintptr_t)0xff);
    int k = (int)((uintptr_t)arg & 0xff);
    s->order[s->n++] = k;
    if (weft_thread_self().id != s->loop_thread)
        s->all_on_loop_thread = false;
    if (weft_in_coroutine())
        s->none_in_coroutine = false;
    if (s->n == 10)
        weft_future_set_result(&s->done, NULL);
}

static void soon_queue(struct soon *s)
{
    /* No switch between taking the number and queueing the callback. */
    weft_atomic_begin();
    int k = ++s->counter;
    weft_call_soon(&s->l, soon_cb, (void *)((uintptr_t)s | (uintptr_t)k));
    weft_atomic_end();
}

static void *soon_thread(void *arg)
{
    for (int i = 0; i < 5; i++) {
        soon_queue(arg);
        weft_yield();
    }
    return NULL;
}

static void *soon_main(void *arg)
{
    struct soon *s = arg;
    for (int i = 0; i < 5; i++) {
        soon_queue(s);
        if (i == 2)
            weft_await_yield();
    }
    weft_await(&s->done, NULL);
    return NULL;
}

static _Alignas(256) struct soon soon_st;

static void soon_body(void *arg)
{
    struct soon *s = arg;
    weft_thread_t t;
    memset(s, 0, sizeof *s);
    s->all_on_loop_thread = s->none_in_coroutine = true;
    s->loop_thread = weft_thread_self().id;
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->done);
    weft_thread_spawn(&t, "caller", soon_thread, s);
    weft_loop_run(&s->l, soon_main, s, NULL);
    weft_thread_join(t, NULL);
    /* Checked in every execution. */
    weft_assert(s->n == 10, "%d callbacks ran", s->n);
    for (int i = 0; i < s->n; i++)
        weft_assert(s->order[i] == i + 1, "callback queued %d-th ran %d-th",
                    s->order[i], i + 1);
}

static void call_soon_runs_callbacks_fifo_on_the_loop_thread(void **state)
{
    (void)state;
    struct outcome o;
    explore(soon_body, &soon_st, sizeof soon_st, 21, 300, &o);
    assert_no_finding(&o);
    assert_int_equal(soon_st.n, 10);
    assert_true(soon_st.all_on_loop_thread);
    assert_true(soon_st.none_in_coroutine);
}

struct later {
    weft_loop_t l;
    weft_future_t done;
    int64_t at[4];   /* weft_now() inside each callback */
    int64_t want[4]; /* its deadline */
    int fired;
};

static _Alignas(256) struct later later_st;

static void later_cb(void *arg)
{
    struct later *s = (struct later *)((uintptr_t)arg & ~(uintptr_t)0xff);
    int k = (int)((uintptr_t)arg & 0xff);
    s->at[k] = weft_now();
    if (++s->fired == 4)
        weft_future_set_result(&s->done, NULL);
}

#define LATER_ARG(s, k) ((void *)((uintptr_t)(s) | (uintptr_t)(k)))

static void *later_thread(void *arg)
{
    struct later *s = arg;
    weft_sleep_for(3 * WEFT_MSEC);
    s->want[3] = weft_now() + 4 * WEFT_MSEC; /* 7 ms */
    weft_call_later(&s->l, 4 * WEFT_MSEC, later_cb, LATER_ARG(s, 3));
    return NULL;
}

static void *later_main(void *arg)
{
    struct later *s = arg;
    weft_await_sleep_for(WEFT_MSEC);
    s->want[0] = weft_now() + 5 * WEFT_MSEC; /* 6 ms */
    weft_call_later(&s->l, 5 * WEFT_MSEC, later_cb, LATER_ARG(s, 0));
    s->want[1] = 12 * WEFT_MSEC;
    weft_call_at(&s->l, 12 * WEFT_MSEC, later_cb, LATER_ARG(s, 1));
    s->want[2] = 2 * WEFT_MSEC + 500;
    weft_call_at(&s->l, 2 * WEFT_MSEC + 500, later_cb, LATER_ARG(s, 2));
    weft_await(&s->done, NULL);
    return NULL;
}

static void later_body(void *arg)
{
    struct later *s = arg;
    weft_thread_t t;
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 4; i++)
        s->at[i] = -1;
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->done);
    weft_thread_spawn(&t, "caller", later_thread, s);
    weft_loop_run(&s->l, later_main, s, NULL);
    weft_thread_join(t, NULL);
    for (int i = 0; i < 4; i++)
        weft_assert(s->at[i] == s->want[i], "callback %d ran at %lld, not %lld",
                    i, (long long)s->at[i], (long long)s->want[i]);
}

static void call_later_and_call_at_fire_at_exactly_their_instant(void **state)
{
    (void)state;
    struct outcome o;
    explore(later_body, &later_st, sizeof later_st, 4, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(later_st.at[0], 6 * WEFT_MSEC);
    assert_int_equal(later_st.at[1], 12 * WEFT_MSEC);
    assert_int_equal(later_st.at[2], 2 * WEFT_MSEC + 500);
    assert_int_equal(later_st.at[3], 7 * WEFT_MSEC);
}

/* ----------------------------------------- timers due at one instant */

/* At T = 5 ms everything falls due together: a thread's sleep, two
 * coroutines' sleeps and a call_at on loop A (run by the body), one
 * coroutine's sleep and a call_at on loop B (run by a second thread).
 * Each appends its letter to the log when it runs. */
#define TIE_T (5 * WEFT_MSEC)

struct tie {
    weft_loop_t a, b;
    char log[8];
    int n;
    bool late;    /* something ran at a time other than T */
    uint64_t abx; /* bit per order of a, b, x on loop A */
    uint64_t cy;  /* bit per order of c, y on loop B */
    bool t_first, t_last;
    uint64_t runs;
};

static struct tie *tie_state;

static void tie_log(char c)
{
    struct tie *s = tie_state;
    if (weft_now() != TIE_T)
        s->late = true;
    s->log[s->n++] = c;
}

static void tie_cb(void *arg)
{
    tie_log((char)(uintptr_t)arg);
}

static void *tie_sleeper(void *arg)
{
    int rc = weft_await_sleep_until(TIE_T);
    weft_assert(rc == 0, "the sleep returned %d", rc);
    tie_log((char)(uintptr_t)arg);
    return NULL;
}

static void *tie_a(void *arg)
{
    struct tie *s = arg;
    weft_call_at(&s->a, TIE_T, tie_cb, (void *)(uintptr_t)'x');
    weft_future_t *b = weft_spawn("b", tie_sleeper, (void *)(uintptr_t)'b');
    tie_sleeper((void *)(uintptr_t)'a');
    weft_await(b, NULL);
    return NULL;
}

static void *tie_b(void *arg)
{
    struct tie *s = arg;
    weft_call_at(&s->b, TIE_T, tie_cb, (void *)(uintptr_t)'y');
    tie_sleeper((void *)(uintptr_t)'c');
    weft_await_sleep_until(TIE_T + WEFT_MSEC); /* y has run by then */
    return NULL;
}

static void *tie_loop_b(void *arg)
{
    struct tie *s = arg;
    weft_loop_run(&s->b, tie_b, s, NULL);
    return NULL;
}

static void *tie_thread(void *arg)
{
    (void)arg;
    weft_sleep_until(TIE_T);
    tie_log('t');
    return NULL;
}

/* The order of the letters of set in log, as a permutation index. */
static int tie_order(const char *log, const char *set)
{
    char sub[4];
    int k = 0, n = (int)strlen(set), index = 0;
    for (const char *p = log; *p != '\0'; p++)
        if (strchr(set, *p) != NULL && k < 3)
            sub[k++] = *p;
    if (k != n)
        return 63;
    /* Lehmer code: how many later letters come before each in set. */
    for (int i = 0; i < n; i++) {
        int smaller = 0;
        for (int j = i + 1; j < n; j++)
            smaller += strchr(set, sub[j]) < strchr(set, sub[i]);
        index = index * (n - i) + smaller;
    }
    return index;
}

static void tie_body(void *arg)
{
    struct tie *s = arg;
    weft_thread_t t, lb;
    tie_state = s;
    memset(s->log, 0, sizeof s->log);
    s->n = 0;
    weft_loop_init(&s->a, 0);
    weft_loop_init(&s->b, 0);
    weft_thread_spawn(&t, "sleeper", tie_thread, NULL);
    weft_thread_spawn(&lb, "loop B", tie_loop_b, s);
    weft_loop_run(&s->a, tie_a, s, NULL);
    weft_thread_join(t, NULL);
    weft_thread_join(lb, NULL);
    weft_assert(s->n == 6, "%d of 6 ran: %s", s->n, s->log);
    s->runs++;
    s->abx |= 1ull << tie_order(s->log, "abx");
    s->cy |= 1ull << tie_order(s->log, "cy");
    s->t_first |= s->log[0] == 't';
    s->t_last |= s->log[5] == 't';
}

static void
timers_and_callbacks_due_at_one_instant_fire_in_every_order(void **state)
{
    (void)state;
    struct tie s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(tie_body, &s, sizeof s, 15, 3000, &o);
    /* Today's false deadlock: a coroutine's wake-up woke its idle loop
     * thread, whose own timer entry then woke it a second time. */
    assert_no_finding(&o);
    assert_int_equal(s.runs, 3000);
    assert_false(s.late);
    assert_int_equal(s.abx, 0x3f); /* all six orders of a, b, x */
    assert_int_equal(s.cy, 0x3);   /* both orders of c, y */
    assert_true(s.t_first);
    assert_true(s.t_last);
}

/* One coroutine and one callback of its loop, due at the same instant:
 * which runs first is a recorded choice, so both orders are explored and
 * a seed replays its order. */
struct tie2 {
    char first;
    uint64_t seen; /* bit 0: the callback first, bit 1: the coroutine */
};

static struct tie2 *tie2_state;

static void tie2_cb(void *arg)
{
    (void)arg;
    if (tie2_state->first == 0)
        tie2_state->first = 'x';
}

static void *tie2_main(void *arg)
{
    (void)arg;
    weft_call_later(weft_loop_current(), WEFT_MSEC, tie2_cb, NULL);
    int rc = weft_await_sleep_for(WEFT_MSEC);
    weft_assert(rc == 0, "the sleep returned %d", rc);
    if (tie2_state->first == 0)
        tie2_state->first = 'a';
    weft_await_sleep_for(WEFT_MSEC);
    return NULL;
}

static void tie2_body(void *arg)
{
    struct tie2 *s = arg;
    tie2_state = s;
    s->first = 0;
    weft_run(tie2_main, NULL, NULL);
    s->seen |= s->first == 'x' ? 1 : s->first == 'a' ? 2 : 4;
}

struct tie2_job {
    int rc;
    uint64_t seen;
    char first[40][2];
    bool exhausted;
    uint64_t dfs_executions;
};

static void tie2_all(void *p)
{
    struct tie2_job *j = p;
    struct tie2 s;
    weft_config_t c;
    weft_result_t r;
    /* dfs enumerates every order and says so */
    memset(&s, 0, sizeof s);
    config(&c, 1, 100);
    c.strategy = "dfs";
    j->rc = weft_explore(&c, tie2_body, &s, &r);
    j->seen = s.seen;
    j->exhausted = r.exhausted;
    j->dfs_executions = r.executions;
    weft_result_destroy(&r);
    /* each seed replays its order */
    for (int pass = 0; pass < 2; pass++)
        for (int seed = 0; seed < 40; seed++) {
            config(&c, 100 + (uint64_t)seed, 1);
            if (weft_explore(&c, tie2_body, &s, NULL) != 0)
                j->rc = 1;
            j->first[seed][pass] = s.first;
        }
}

static void
a_loop_callback_and_a_coroutine_due_together_run_in_either_order(void **state)
{
    (void)state;
    struct tie2_job j;
    bool complete;
    memset(&j, 0, sizeof j);
    struct region rs[1] = { { &j, sizeof j } };
    int sig = in_child(tie2_all, &j, rs, 1, &complete);
    assert_int_equal(sig, 0);
    assert_true(complete);
    assert_int_equal(j.rc, 0);
    assert_int_equal(j.seen, 3); /* today: the callback always first */
    assert_true(j.exhausted);
    /* two ties, two orders each: which of the coroutine and the loop's
     * thread the clock wakes first, and the loop's own tie */
    assert_int_equal(j.dfs_executions, 4);
    uint64_t seen = 0;
    for (int seed = 0; seed < 40; seed++) {
        assert_int_equal(j.first[seed][0], j.first[seed][1]);
        seen |= j.first[seed][0] == 'x' ? 1 : 2;
    }
    assert_int_equal(seen, 3);
}

/* ---------------------------------------- run_coroutine_threadsafe */

struct threadsafe {
    weft_loop_t l;
    weft_future_t thread_done;
    weft_loop_t *co_loop;
    bool co_in_coroutine;
    unsigned co_thread, loop_thread;
    int wait_rc;
    void *value;
};

static void *ts_co(void *arg)
{
    struct threadsafe *s = arg;
    weft_await_sleep_for(2 * WEFT_MSEC);
    s->co_loop = weft_loop_current();
    s->co_in_coroutine = weft_in_coroutine();
    s->co_thread = weft_thread_self().id;
    return (void *)(uintptr_t)42;
}

static void *ts_thread(void *arg)
{
    struct threadsafe *s = arg;
    weft_sleep_for(WEFT_MSEC);
    weft_future_t *f = weft_spawn_on(&s->l, "from a thread", ts_co, s);
    s->wait_rc = f ? weft_future_wait(f, &s->value, WEFT_FOREVER) : -ENOMEM;
    weft_future_set_result(&s->thread_done, NULL);
    return NULL;
}

static void *ts_main(void *arg)
{
    struct threadsafe *s = arg;
    weft_await(&s->thread_done, NULL);
    return NULL;
}

static const char *threadsafe_ok(const struct threadsafe *s)
{
    EXPECT_PTR(s->co_loop, &s->l);
    EXPECT(s->co_in_coroutine);
    EXPECT_EQ(s->wait_rc, 0);
    EXPECT_PTR(s->value, (void *)(uintptr_t)42);
    return NULL;
}

static void ts_body(void *arg)
{
    struct threadsafe *s = arg;
    weft_thread_t t;
    memset(s, 0, sizeof *s);
    s->wait_rc = 1;
    s->loop_thread = weft_thread_self().id;
    weft_loop_init(&s->l, 0);
    weft_future_init(&s->thread_done);
    weft_thread_spawn(&t, "submitter", ts_thread, s);
    weft_loop_run(&s->l, ts_main, s, NULL);
    weft_thread_join(t, NULL);
    CHECK_IN_BODY(threadsafe_ok(s));
}

static void
spawn_on_from_a_thread_runs_on_the_loop_and_can_be_waited(void **state)
{
    (void)state;
    struct threadsafe s;
    struct outcome o;
    explore(ts_body, &s, sizeof s, 9, 100, &o);
    assert_no_finding(&o);
    CHECK_AFTER(threadsafe_ok(&s));
    assert_int_not_equal(s.co_thread, s.loop_thread); /* its own task */
}

/* ------------------------------------------------------------ to_thread */

struct pool {
    unsigned loop_thread;
    int64_t done_at[5];
    bool in_co[5];
    unsigned worker[5];
    int rc;
};

static struct pool *pool_state;

static void *pool_job(void *arg)
{
    struct pool *s = pool_state;
    int k = (int)(uintptr_t)arg;
    s->in_co[k] = weft_in_coroutine();
    s->worker[k] = weft_thread_self().id;
    weft_sleep_for(10 * WEFT_MSEC); /* a blocking call: fine on a worker */
    return (void *)(uintptr_t)weft_now();
}

static void *pool_main(void *arg)
{
    struct pool *s = arg;
    weft_future_t *f[5];
    for (int i = 0; i < 5; i++)
        f[i] = weft_to_thread(pool_job, (void *)(uintptr_t)i);
    s->rc = weft_wait_all(f, 5, WEFT_FOREVER);
    for (int i = 0; i < 5; i++) {
        void *v = NULL;
        if (weft_future_result(f[i], &v) == 0)
            s->done_at[i] = (int64_t)(uintptr_t)v;
    }
    return NULL;
}

static const char *pool_ok(const struct pool *s)
{
    int64_t last = 0;
    unsigned workers[5];
    size_t nworkers = 0;
    EXPECT_EQ(s->rc, 0);
    for (int i = 0; i < 5; i++) {
        EXPECT(!s->in_co[i]); /* a worker thread, not a coroutine */
        EXPECT(s->worker[i] != s->loop_thread);
        if (s->done_at[i] > last)
            last = s->done_at[i];
        size_t k = 0;
        while (k < nworkers && workers[k] != s->worker[i])
            k++;
        if (k == nworkers)
            workers[nworkers++] = s->worker[i];
    }
    /* Two workers, five 10 ms jobs: 10, 10, 20, 20, 30. */
    EXPECT_EQ(last, 30 * WEFT_MSEC);
    EXPECT_EQ(nworkers, 2);
    return NULL;
}

static void pool_body(void *arg)
{
    struct pool *s = arg;
    pool_state = s;
    memset(s, 0, sizeof *s);
    s->rc = 1;
    s->loop_thread = weft_thread_self().id;
    for (int i = 0; i < 5; i++)
        s->in_co[i] = true;
    weft_run(pool_main, s, NULL);
    CHECK_IN_BODY(pool_ok(s));
}

static void
to_thread_runs_jobs_on_a_bounded_pool_of_worker_threads(void **state)
{
    (void)state;
    struct pool s;
    struct outcome o;
    weft_config_t c;
    config(&c, 13, 100);
    c.loop_workers = 2;
    explore_cfg(&c, pool_body, &s, sizeof s, &o);
    assert_no_finding(&o);
    CHECK_AFTER(pool_ok(&s));
}

/* A pool of one worker, exhausted by jobs that wait on each other: job A
 * waits for a future that job B completes, but B is queued behind A for
 * ever. The deadlock report must show what no blocked task shows: the
 * job still queued, and the pool's size. */
struct exhausted {
    weft_future_t ready;
    weft_future_t *b;
    int a_line, b_line;
};

static void *exhausted_a(void *arg)
{
    struct exhausted *s = arg;
    weft_future_wait(&s->ready, NULL, WEFT_FOREVER);
    return NULL;
}

static void *exhausted_b(void *arg)
{
    struct exhausted *s = arg;
    weft_future_set_result(&s->ready, NULL);
    return NULL;
}

static void *exhausted_main(void *arg)
{
    struct exhausted *s = arg;
    s->a_line = __LINE__ + 1;
    weft_future_t *a = weft_to_thread(exhausted_a, s);
    s->b_line = __LINE__ + 1;
    s->b = weft_to_thread(exhausted_b, s);
    weft_await(a, NULL);
    weft_await(s->b, NULL);
    return NULL;
}

static void exhausted_body(void *arg)
{
    struct exhausted *s = arg;
    weft_future_init(&s->ready);
    weft_run(exhausted_main, s, NULL);
}

static void exhausted_explore(struct exhausted *s, struct outcome *o)
{
    weft_config_t c;
    memset(s, 0, sizeof *s);
    config(&c, 1, 20);
    c.loop_workers = 1;
    explore_cfg(&c, exhausted_body, s, sizeof *s, o);
    assert_finding(o, WEFT_FINDING_DEADLOCK);
}

static void
an_exhausted_pool_deadlock_shows_the_queued_job_and_the_pool_size(void **state)
{
    (void)state;
    struct exhausted s;
    struct outcome o;
    char where[96];
    exhausted_explore(&s, &o);
    assert_contains(o.report, "to_thread pool of loop L");
    assert_contains(o.report, "1 worker of at most 1 (WEFT_LOOP_WORKERS), "
                              "1 busy; 1 job queued, never started");
    snprintf(where, sizeof where, "submitted at %s:%d by task 1", __FILE__,
             s.b_line);
    assert_contains(o.report, where);
    /* and the busy worker says which job it runs */
    snprintf(where, sizeof where, "runs the to_thread job submitted at %s:%d",
             __FILE__, s.a_line);
    assert_contains(o.report, where);
}

static void the_trace_names_a_to_thread_submission(void **state)
{
    (void)state;
    struct exhausted s;
    struct outcome o;
    char line[96];
    exhausted_explore(&s, &o);
    /* the event line of the first submission names it */
    snprintf(line, sizeof line, "%s:%d", __FILE__, s.a_line);
    const char *p = strstr(o.report, "last ");
    bool named = false;
    while (p != NULL && (p = strstr(p, line)) != NULL && !named) {
        const char *bol = p;
        while (bol > o.report && bol[-1] != '\n')
            bol--;
        named = strstr(bol, "to_thread L") != NULL &&
                strstr(bol, "to_thread L") < p;
        p++;
    }
    if (!named) {
        show("weft report", o.report);
        fail_msg("no event line names the submission at %s", line);
    }
    if (strstr(o.report, "call soon") != NULL) {
        show("weft report", o.report);
        fail_msg("a to_thread submission is traced as \"call soon\"");
    }
}

/* ------------------------------------------------------ blocking policy */

struct blocking {
    weft_future_t f;
    int wait_line;
    int rc;
    void *value;
};

static void *blk_setter(void *arg)
{
    struct blocking *s = arg;
    weft_future_set_result(&s->f, (void *)(uintptr_t)5);
    return NULL;
}

/* The completer is a coroutine of the same loop: waiting for it from a
 * coroutine can never end. */
static void *blk_main(void *arg)
{
    struct blocking *s = arg;
    weft_spawn("setter", blk_setter, s);
    s->wait_line = __LINE__ + 1;
    s->rc = weft_future_wait(&s->f, &s->value, WEFT_FOREVER);
    return NULL;
}

static void *blk_co(void *arg)
{
    return weft_await(weft_spawn("waiter", blk_main, arg), NULL) == 0 ? arg
                                                                      : NULL;
}

static void blk_body(void *arg)
{
    struct blocking *s = arg;
    weft_future_init(&s->f);
    s->rc = 1;
    weft_run(blk_co, s, NULL);
}

static void future_wait_in_a_coroutine_is_blocking_in_loop(void **state)
{
    (void)state;
    struct blocking s;
    struct outcome o;
    char where[64];
    memset(&s, 0, sizeof s);
    explore(blk_body, &s, sizeof s, 1, 10, &o);
    assert_finding(&o, WEFT_FINDING_BLOCKING_IN_LOOP);
    snprintf(where, sizeof where, "%s:%d", __FILE__, s.wait_line);
    assert_contains(o.message, "coroutine");
    assert_contains(o.message, "\"waiter\"");
    assert_contains(o.message, "loop");
    assert_contains(o.message, "future wait");
    assert_contains(o.message, where);
}

static void blocking_warn_lets_the_loop_deadlock_and_explains_it(void **state)
{
    (void)state;
    struct blocking s;
    struct outcome o;
    weft_config_t c;
    memset(&s, 0, sizeof s);
    config(&c, 1, 10);
    c.blocking = WEFT_BLOCKING_WARN;
    explore_cfg(&c, blk_body, &s, sizeof s, &o);
    assert_finding(&o, WEFT_FINDING_DEADLOCK);
    assert_contains(o.report, "a blocking call inside coroutine");
    assert_contains(o.report, "queued on loop");
    assert_contains(o.report, "cause:");
    assert_contains(o.report, "\"waiter\"");
    assert_contains(o.report, "\"setter\"");
}

static void *harmless_thread(void *arg)
{
    struct blocking *s = arg;
    weft_sleep_for(3 * WEFT_MSEC);
    weft_future_set_result(&s->f, (void *)(uintptr_t)9);
    return NULL;
}

static void *harmless_main(void *arg)
{
    struct blocking *s = arg;
    s->rc = weft_future_wait(&s->f, &s->value, WEFT_FOREVER);
    return NULL;
}

static void harmless_body(void *arg)
{
    struct blocking *s = arg;
    weft_thread_t t;
    weft_future_init(&s->f);
    s->rc = 1;
    weft_thread_spawn(&t, "completer", harmless_thread, s);
    weft_run(harmless_main, s, NULL);
    weft_thread_join(t, NULL);
    weft_assert(s->rc == 0, "rc %d", s->rc);
}

static void blocking_allow_lets_a_harmless_blocking_call_pass(void **state)
{
    (void)state;
    struct blocking s;
    struct outcome o;
    weft_config_t c;
    memset(&s, 0, sizeof s);
    config(&c, 1, 50);
    c.blocking = WEFT_BLOCKING_ALLOW;
    explore_cfg(&c, harmless_body, &s, sizeof s, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc, 0);
    assert_ptr_equal(s.value, (void *)(uintptr_t)9);
}

static void blocking_warn_lets_a_harmless_blocking_call_pass(void **state)
{
    (void)state;
    struct blocking s;
    struct outcome o;
    weft_config_t c;
    memset(&s, 0, sizeof s);
    config(&c, 1, 50);
    c.blocking = WEFT_BLOCKING_WARN;
    explore_cfg(&c, harmless_body, &s, sizeof s, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc, 0);
}

static void blocking_error_flags_the_same_harmless_call(void **state)
{
    (void)state;
    struct blocking s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    explore(harmless_body, &s, sizeof s, 1, 10, &o);
    assert_finding(&o, WEFT_FINDING_BLOCKING_IN_LOOP);
    assert_contains(o.message, "future wait");
}

struct lock {
    weft_mutex_t m;
    weft_future_t held;
    bool contended;
    int line;
    int rc, try_rc;
};

static void *lock_holder(void *arg)
{
    struct lock *s = arg;
    weft_mutex_lock(&s->m);
    weft_future_set_result(&s->held, NULL);
    weft_sleep_for(5 * WEFT_MSEC);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void *lock_main(void *arg)
{
    struct lock *s = arg;
    if (s->contended) {
        weft_await(&s->held, NULL);
        s->try_rc = weft_mutex_trylock(&s->m); /* never waits */
    }
    s->line = __LINE__ + 1;
    s->rc = weft_mutex_lock(&s->m);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void lock_body(void *arg)
{
    struct lock *s = arg;
    weft_thread_t t;
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_future_init(&s->held);
    s->rc = s->try_rc = 1;
    if (s->contended)
        weft_thread_spawn(&t, "holder", lock_holder, s);
    weft_run(lock_main, s, NULL);
    if (s->contended)
        weft_thread_join(t, NULL);
}

static void a_lock_that_must_wait_in_a_coroutine_is_flagged(void **state)
{
    (void)state;
    struct lock s;
    struct outcome o;
    char where[64];
    memset(&s, 0, sizeof s);
    s.contended = true;
    explore(lock_body, &s, sizeof s, 1, 20, &o);
    assert_finding(&o, WEFT_FINDING_BLOCKING_IN_LOOP);
    assert_int_equal(s.try_rc, -EBUSY);
    snprintf(where, sizeof where, "%s:%d", __FILE__, s.line);
    assert_contains(o.message, "lock");
    assert_contains(o.message, "main coroutine");
    assert_contains(o.message, where);
}

static void an_uncontended_lock_in_a_coroutine_is_not_flagged(void **state)
{
    (void)state;
    struct lock s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.contended = false;
    explore(lock_body, &s, sizeof s, 1, 20, &o);
    assert_no_finding(&o);
    assert_int_equal(s.rc, 0);
}

/* A callback runs on the loop's thread: sleeping in it blocks the loop. */
static void sleepy_cb(void *arg)
{
    (void)arg;
    weft_sleep_for(WEFT_MSEC);
}

static void *sleepy_main(void *arg)
{
    (void)arg;
    weft_call_soon(weft_loop_current(), sleepy_cb, NULL);
    weft_await_sleep_for(2 * WEFT_MSEC);
    return NULL;
}

static void sleepy_body(void *arg)
{
    (void)arg;
    weft_run(sleepy_main, NULL, NULL);
}

static void a_callback_that_sleeps_is_blocking_in_loop(void **state)
{
    (void)state;
    struct outcome o;
    explore(sleepy_body, NULL, 0, 1, 5, &o);
    assert_finding(&o, WEFT_FINDING_BLOCKING_IN_LOOP);
    assert_contains(o.message, "callback");
    assert_contains(o.message, "sleep");
}

/* ------------------------------------------------- debug mode (asyncio) */

/* "hog" runs 150 visible operations (yields: scheduling points, not
 * awaits) between two awaits; "polite" awaits every 40; a callback runs
 * 120. With WEFT_LOOP_DEBUG=100 the hog and the callback are reported,
 * once each over the whole exploration, with their lines; "polite" never.
 */
struct hog {
    int resumed_line, awaited_line, cb_line;
};

static struct hog *hog_state;

static void hog_cb(void *arg)
{
    (void)arg;
    for (int i = 0; i < 120; i++)
        weft_yield();
}

static void *hog(void *arg)
{
    struct hog *s = arg;
    s->resumed_line = __LINE__ + 1;
    weft_await_yield();
    for (int i = 0; i < 150; i++)
        weft_yield();
    s->awaited_line = __LINE__ + 1;
    weft_await_yield();
    return NULL;
}

static void *polite(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        weft_yield();
        if (i % 40 == 0)
            weft_await_yield();
    }
    return NULL;
}

static void *hog_main(void *arg)
{
    struct hog *s = arg;
    s->cb_line = __LINE__ + 1;
    weft_call_soon(weft_loop_current(), hog_cb, NULL);
    weft_future_t *f[2] = { weft_spawn("hog", hog, s),
                            weft_spawn("polite", polite, s) };
    weft_wait_all(f, 2, WEFT_FOREVER);
    return NULL;
}

static void hog_body(void *arg)
{
    hog_state = arg;
    weft_run(hog_main, arg, NULL);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static char debug_err[8192];

static void debug_explore(weft_body_fn *body, void *st, size_t size,
                          unsigned debug, struct outcome *o)
{
    weft_config_t c;
    config(&c, 51, 50);
    c.quiet = false; /* warnings are printed */
    c.loop_debug = debug;
    explore_cfg_stderr(&c, body, st, size, o, debug_err, sizeof debug_err);
    assert_no_finding(o);
}

static void
debug_mode_warns_once_about_a_coroutine_that_runs_long_without_awaiting(
    void **state)
{
    (void)state;
    struct hog s;
    struct outcome o;
    char want[256];
    debug_explore(hog_body, &s, sizeof s, 100, &o);
    /* once each over 50 executions; 150 yields and the await that ends
     * the stretch */
    assert_int_equal(count(debug_err, "weft: warning:"), 2);
    snprintf(want, sizeof want,
             "\"hog\" ran 151 visible operations without awaiting, from "
             "%s:%d to %s:%d",
             __FILE__, s.resumed_line, __FILE__, s.awaited_line);
    assert_contains(debug_err, want);
    snprintf(want, sizeof want,
             "the callback queued at %s:%d ran 120 visible operations",
             __FILE__, s.cb_line);
    assert_contains(debug_err, want);
    assert_int_equal(count(debug_err, "polite"), 0);
    assert_contains(debug_err, "(WEFT_LOOP_DEBUG=100)");
}

static void debug_mode_is_off_by_default(void **state)
{
    (void)state;
    struct hog s;
    struct outcome o;
    debug_explore(hog_body, &s, sizeof s, 0, &o);
    assert_int_equal(count(debug_err, "warning"), 0);
}

/* The main coroutine returns while "ticker" still loops and a call_later
 * is ten seconds away: both are named, with where they were made. */
struct leftover {
    int spawn_line, timer_line, run_line;
};

static void nothing(void *arg)
{
    (void)arg;
}

static void *ticker(void *arg)
{
    (void)arg;
    while (weft_await_sleep_for(WEFT_SEC) == 0)
        ;
    return NULL;
}

static void *leftover_main(void *arg)
{
    struct leftover *s = arg;
    s->spawn_line = __LINE__ + 1;
    weft_spawn("ticker", ticker, NULL);
    s->timer_line = __LINE__ + 1;
    weft_call_later(weft_loop_current(), 10 * WEFT_SEC, nothing, NULL);
    weft_await_sleep_for(WEFT_MSEC);
    return NULL;
}

static void leftover_body(void *arg)
{
    struct leftover *s = arg;
    s->run_line = __LINE__ + 1;
    weft_run(leftover_main, s, NULL);
}

static void
debug_mode_warns_about_a_loop_that_ends_with_work_pending(void **state)
{
    (void)state;
    struct leftover s;
    struct outcome o;
    char want[256];
    debug_explore(leftover_body, &s, sizeof s, 100, &o);
    assert_int_equal(count(debug_err, "weft: warning:"), 1);
    snprintf(want, sizeof want, "run at %s:%d: its main coroutine returned",
             __FILE__, s.run_line);
    assert_contains(debug_err, want);
    snprintf(want, sizeof want, "\"ticker\" spawned at %s:%d", __FILE__,
             s.spawn_line);
    assert_contains(debug_err, want);
    snprintf(want, sizeof want,
             "1 timer callback that will never run, the first queued at "
             "%s:%d",
             __FILE__, s.timer_line);
    assert_contains(debug_err, want);
}

/* ------------------------------------------------------------ determinism */

struct det {
    weft_mutex_t m;
    int shared;
};

static void *det_job(void *arg)
{
    struct det *s = arg;
    weft_mutex_lock(&s->m);
    s->shared++;
    weft_mutex_unlock(&s->m);
    weft_sleep_for(WEFT_MSEC);
    return NULL;
}

static void *det_co(void *arg)
{
    struct det *s = arg;
    for (int i = 0; i < 3; i++) {
        weft_await_yield();
        if (weft_mutex_trylock(&s->m) == 0)
            weft_mutex_unlock(&s->m);
        weft_await_sleep_for((int64_t)weft_choose(3) * WEFT_MSEC);
    }
    weft_await(weft_to_thread(det_job, s), NULL);
    return NULL;
}

static void *det_thread(void *arg)
{
    struct det *s = arg;
    for (int i = 0; i < 3; i++) {
        weft_mutex_lock(&s->m);
        s->shared++;
        weft_mutex_unlock(&s->m);
        weft_sleep_for(WEFT_MSEC);
    }
    return NULL;
}

static void *det_main(void *arg)
{
    weft_future_t *f[3];
    for (int i = 0; i < 3; i++)
        f[i] = weft_spawn("worker", det_co, arg);
    return (void *)(uintptr_t)weft_wait_all(f, 3, WEFT_FOREVER);
}

static void det_body(void *arg)
{
    struct det *s = arg;
    weft_thread_t t[2];
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    s->shared = 0;
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], "thread", det_thread, s);
    weft_run(det_main, s, NULL);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
}

struct det_job_st {
    uint64_t hashes[500];
    int rc[2];
    int mismatches;
    uint64_t first_mismatch;
};

static void det_explore_all(void *p)
{
    struct det_job_st *j = p;
    static struct det s;
    j->mismatches = 0;
    j->rc[0] = j->rc[1] = 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t seed = 0; seed < 500; seed++) {
            weft_config_t c;
            weft_result_t r;
            config(&c, 1000 + seed, 1);
            c.loop_workers = 2;
            int rc = weft_explore(&c, det_body, &s, &r);
            if (rc != 0)
                j->rc[pass] = rc;
            if (pass == 0) {
                j->hashes[seed] = r.trace_hash;
            } else if (j->hashes[seed] != r.trace_hash) {
                if (j->mismatches++ == 0)
                    j->first_mismatch = 1000 + seed;
            }
            weft_result_destroy(&r);
        }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void mixed_runs_are_deterministic_per_seed(void **state)
{
    (void)state;
    struct det_job_st j;
    bool complete;
    memset(&j, 0, sizeof j);
    struct region rs[1] = { { &j, sizeof j } };
    int sig = in_child(det_explore_all, &j, rs, 1, &complete);
    assert_int_equal(sig, 0);
    assert_true(complete);
    assert_int_equal(j.rc[0], 0);
    assert_int_equal(j.rc[1], 0);
    if (j.mismatches != 0)
        fail_msg("%d of 500 seeds hashed differently the second time "
                 "(first: seed %llu)",
                 j.mismatches, (unsigned long long)j.first_mismatch);
    qsort(j.hashes, 500, sizeof j.hashes[0], cmp_u64);
    int distinct = 1;
    for (int i = 1; i < 500; i++)
        distinct += j.hashes[i] != j.hashes[i - 1];
    assert_true(distinct >= 10);
}

/* ------------------------------------------------------------------ main */

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-test-loop-XXXXXX");
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
        cmocka_unit_test(coroutines_never_interleave_between_awaits),
        cmocka_unit_test(an_await_between_read_and_write_loses_updates),
        cmocka_unit_test(a_thread_can_preempt_a_coroutine_at_a_visible_op),
        cmocka_unit_test(ready_coroutines_resume_first_in_first_out),
        cmocka_unit_test(shuffled_loop_resumes_ready_coroutines_in_every_order),
        cmocka_unit_test(
            current_loop_is_ambient_in_coroutines_and_callbacks_only),
        cmocka_unit_test(weft_run_returns_the_main_coroutines_value_or_error),
        cmocka_unit_test(loop_run_on_a_running_loop_is_ebusy),
        cmocka_unit_test(a_loop_run_again_still_runs_to_thread_jobs),
        cmocka_unit_test(call_soon_runs_callbacks_fifo_on_the_loop_thread),
        cmocka_unit_test(call_later_and_call_at_fire_at_exactly_their_instant),
        cmocka_unit_test(
            timers_and_callbacks_due_at_one_instant_fire_in_every_order),
        cmocka_unit_test(
            a_loop_callback_and_a_coroutine_due_together_run_in_either_order),
        cmocka_unit_test(
            spawn_on_from_a_thread_runs_on_the_loop_and_can_be_waited),
        cmocka_unit_test(
            to_thread_runs_jobs_on_a_bounded_pool_of_worker_threads),
        cmocka_unit_test(
            an_exhausted_pool_deadlock_shows_the_queued_job_and_the_pool_size),
        cmocka_unit_test(the_trace_names_a_to_thread_submission),
        cmocka_unit_test(future_wait_in_a_coroutine_is_blocking_in_loop),
        cmocka_unit_test(blocking_warn_lets_the_loop_deadlock_and_explains_it),
        cmocka_unit_test(blocking_allow_lets_a_harmless_blocking_call_pass),
        cmocka_unit_test(blocking_warn_lets_a_harmless_blocking_call_pass),
        cmocka_unit_test(blocking_error_flags_the_same_harmless_call),
        cmocka_unit_test(a_lock_that_must_wait_in_a_coroutine_is_flagged),
        cmocka_unit_test(an_uncontended_lock_in_a_coroutine_is_not_flagged),
        cmocka_unit_test(a_callback_that_sleeps_is_blocking_in_loop),
        cmocka_unit_test(
            debug_mode_warns_once_about_a_coroutine_that_runs_long_without_awaiting),
        cmocka_unit_test(debug_mode_is_off_by_default),
        cmocka_unit_test(
            debug_mode_warns_about_a_loop_that_ends_with_work_pending),
        cmocka_unit_test(mixed_runs_are_deterministic_per_seed),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
