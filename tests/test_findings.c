/*
 * test_findings.c: every kind of finding weft claims to report, each with a
 * test that expects it and checks the report's text, and a correct twin
 * that stays clean over the same kind of exploration.
 *
 * Bodies never call cmocka: they record into a struct or use weft_assert,
 * and the test checks after weft_explore returns. Seeds and the strategy
 * (random, the default) are pinned; the environment is ignored. Crash tests
 * end with a clean exploration in the same process, to show the harness
 * recovered.
 */
#include "weft.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND 1
#endif
#endif
#ifndef HAVE_VALGRIND
#define VALGRIND_DISABLE_ERROR_REPORTING
#define VALGRIND_ENABLE_ERROR_REPORTING
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* ------------------------------------------------------------- helpers */

static void pinned(weft_config_t *c, uint64_t seed, uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->seed = seed;
    c->iterations = iterations;
    c->strategy = "random";
}

#define assert_contains(hay, needle) \
    contains_at((hay), (needle), true, __FILE__, __LINE__)
#define assert_not_contains(hay, needle) \
    contains_at((hay), (needle), false, __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, bool want,
                        const char *file, int line)
{
    bool found = hay != NULL && strstr(hay, needle) != NULL;
    if (found != want) {
        print_error("%s:%d: expected %s\"%s\" in:\n%s\n", file, line,
                    want ? "" : "no ", needle, hay ? hay : "(null)");
        _fail(file, line);
    }
}

/* The line of text that contains needle (without its newline), copied into
 * buf; empty if there is none. */
static const char *line_with(const char *text, const char *needle, char *buf,
                             size_t len)
{
    buf[0] = '\0';
    const char *p = text ? strstr(text, needle) : NULL;
    if (p == NULL)
        return buf;
    while (p > text && p[-1] != '\n')
        p--;
    size_t n = strcspn(p, "\n");
    if (n >= len)
        n = len - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static void check_replay_line(const weft_result_t *r)
{
    char want[96];
    snprintf(want, sizeof want, "replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1",
             (unsigned long long)r->seed);
    assert_contains(r->report, want);
}

/* ---------------------------------------------- assertion: lost update */

#define INCREMENTS 2

struct counter {
    bool locked; /* the correct twin takes the mutex around read-write */
    weft_mutex_t m;
    weft_atomic32_t value;
};

static void *incrementer(void *arg)
{
    struct counter *st = arg;
    for (int i = 0; i < INCREMENTS; i++) {
        if (st->locked)
            weft_mutex_lock(&st->m);
        uint32_t v = weft_atomic32_load(&st->value);
        weft_atomic32_store(&st->value, v + 1);
        if (st->locked)
            weft_mutex_unlock(&st->m);
    }
    return NULL;
}

static void counter_body(void *arg)
{
    struct counter *st = arg;
    weft_thread_t t[2];
    weft_mutex_init(&st->m, WEFT_MUTEX_NORMAL);
    weft_atomic32_store(&st->value, 0);
    weft_assert(weft_thread_spawn(&t[0], "inc1", incrementer, st) == 0,
                "spawn");
    weft_assert(weft_thread_spawn(&t[1], "inc2", incrementer, st) == 0,
                "spawn");
    weft_thread_join(t[0], NULL);
    weft_thread_join(t[1], NULL);
    uint32_t total = weft_atomic32_load(&st->value);
    weft_assert(total == 2 * INCREMENTS,
                "lost update: total %u after %d "
                "increments",
                total, 2 * INCREMENTS);
}

static void
lost_update_is_an_assertion_with_expression_and_message(void **state)
{
    (void)state;
    struct counter st = { .locked = false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 100, 1000);
    c.name = "lost_update";
    c.replay_hint = "./test_findings";
    int rc = weft_explore(&c, counter_body, &st, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_string_equal(weft_finding_name(r.finding), "assertion");
    assert_contains(r.message, "assertion failed: total == 2 * INCREMENTS");
    assert_contains(r.message, "lost update: total ");
    assert_contains(r.message, "after 4 increments");
    assert_null(strchr(r.message, '\n'));
    assert_true(r.executions >= 1);
    if (r.executions == 1)
        assert_int_equal(r.seed, c.seed); /* the first execution's seed */

    assert_non_null(r.report);
    assert_contains(r.report, "weft: FAILED: ");
    assert_contains(r.report, r.message);
    assert_contains(r.report, "kind:      assertion");
    assert_contains(r.report, "test:      lost_update");
    assert_contains(r.report, "task:      task 0 \"main\" at " __FILE__ ":");
    check_replay_line(&r);
    char want[128];
    snprintf(want, sizeof want,
             "replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1 ./test_findings\n",
             (unsigned long long)r.seed);
    assert_contains(r.report, want);
    snprintf(want, sizeof want, "trace hash: %016llx",
             (unsigned long long)r.trace_hash);
    assert_contains(r.report, want);
    weft_result_destroy(&r);
    assert_null(r.report);
}

static void lost_update_twin_with_mutex_is_clean_over_1000_seeds(void **state)
{
    (void)state;
    struct counter st = { .locked = true };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 100, 1000);
    int rc = weft_explore(&c, counter_body, &st, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 1000);
    assert_string_equal(r.message, "");
    assert_null(r.report);
    weft_result_destroy(&r);
}

/* ------------------------------------------- deadlock: ABBA inversion */

struct abba {
    bool consistent; /* the twin takes both locks in the same order */
    weft_mutex_t a, b;
};

static void *alpha(void *arg)
{
    struct abba *st = arg;
    weft_mutex_lock(&st->a);
    weft_mutex_lock(&st->b);
    weft_mutex_unlock(&st->b);
    weft_mutex_unlock(&st->a);
    return NULL;
}

static void *beta(void *arg)
{
    struct abba *st = arg;
    weft_mutex_t *first = st->consistent ? &st->a : &st->b;
    weft_mutex_t *second = st->consistent ? &st->b : &st->a;
    weft_mutex_lock(first);
    weft_mutex_lock(second);
    weft_mutex_unlock(second);
    weft_mutex_unlock(first);
    return NULL;
}

static void abba_body(void *arg)
{
    struct abba *st = arg;
    weft_thread_t t1, t2;
    /* Initialised first, in this order: they are M1 and M2 in reports. */
    weft_mutex_init(&st->a, WEFT_MUTEX_NORMAL);
    weft_mutex_init(&st->b, WEFT_MUTEX_NORMAL);
    weft_assert(weft_thread_spawn(&t1, "alpha", alpha, st) == 0, "spawn");
    weft_assert(weft_thread_spawn(&t2, "beta", beta, st) == 0, "spawn");
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
}

static void abba_deadlock_report_names_tasks_holders_and_cycle(void **state)
{
    (void)state;
    struct abba st = { .consistent = false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 200, 1000);
    c.lock_order = 0; /* the deadlock itself, not the inversion before it */
    int rc = weft_explore(&c, abba_body, &st, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_contains(r.message, "deadlock");
    assert_contains(r.message, "3 tasks blocked");
    assert_contains(r.message, "wait-for cycle");

    const char *rep = r.report;
    assert_contains(rep, "kind:      deadlock");
    assert_contains(rep, "blocked tasks:");
    assert_contains(rep, "task 0 \"main\"");
    assert_contains(rep, "waits to join task 1 \"alpha\"");
    assert_contains(rep, "task 1 \"alpha\" at " __FILE__);
    assert_contains(rep, "task 2 \"beta\" at " __FILE__);
    assert_contains(rep, "waits for mutex M2");
    assert_contains(rep, "waits for mutex M1");
    assert_contains(rep, "held by task 2 \"beta\" since " __FILE__);
    assert_contains(rep, "held by task 1 \"alpha\" since " __FILE__);

    char cycle[256];
    line_with(rep, "wait-for cycle:", cycle, sizeof cycle);
    assert_contains(cycle, "  wait-for cycle: ");
    assert_contains(cycle, "M1");
    assert_contains(cycle, "M2");
    assert_contains(cycle, "task 1 \"alpha\"");
    assert_contains(cycle, "task 2 \"beta\"");
    /* main waits to join, but it is not part of the cycle */
    assert_not_contains(cycle, "main");
    /* alpha waits for M2, which beta holds; beta waits for M1 */
    assert_contains(cycle, "task 1 \"alpha\" -> M2 -> task 2 \"beta\" -> M1");
    check_replay_line(&r);
    weft_result_destroy(&r);
}

static void consistent_lock_order_is_clean_over_1000_seeds(void **state)
{
    (void)state;
    struct abba st = { .consistent = true };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 200, 1000);
    int rc = weft_explore(&c, abba_body, &st, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

/* -------------------------------- lock misuse: exit while holding a lock */

struct holder {
    bool unlock; /* the twin unlocks before it returns */
    weft_mutex_t m;
    int line; /* where the lock was taken */
};

static void *holder_fn(void *arg)
{
    struct holder *st = arg;
    weft_yield();
    st->line = __LINE__ + 1;
    weft_mutex_lock(&st->m);
    weft_yield();
    if (st->unlock)
        weft_mutex_unlock(&st->m);
    return NULL;
}

static void holder_body(void *arg)
{
    struct holder *st = arg;
    weft_thread_t t;
    weft_mutex_init(&st->m, WEFT_MUTEX_NORMAL);
    weft_assert(weft_thread_spawn(&t, "holder", holder_fn, st) == 0, "spawn");
    weft_yield();
    weft_thread_join(t, NULL);
}

static void exit_holding_a_mutex_is_lock_misuse(void **state)
{
    (void)state;
    struct holder st = { .unlock = false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 300, 1000);
    int rc = weft_explore(&c, holder_body, &st, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_LOCK_MISUSE);
    /* Every execution exits with the lock: the first one fails. */
    assert_int_equal(r.executions, 1);
    assert_int_equal(r.seed, 300);
    char want[256];
    snprintf(want, sizeof want,
             "task 1 \"holder\" exits while holding mutex M1 (locked at "
             "%s:%d)",
             __FILE__, st.line);
    assert_contains(r.message, want);
    assert_contains(r.report, "kind:      lock misuse");
    assert_contains(r.report, "task:      task 1 \"holder\"");
    check_replay_line(&r);
    weft_result_destroy(&r);
}

static void unlock_before_exit_is_clean_over_1000_seeds(void **state)
{
    (void)state;
    struct holder st = { .unlock = true };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 300, 1000);
    int rc = weft_explore(&c, holder_body, &st, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------------- crashes */

/* volatile, so the compiler can prove nothing about the values and must
 * emit the faulting instructions as written */
static int *volatile null_pointer;
static volatile int dividend = 1;
static volatile int zero_divisor;
static volatile int sink;

/* The faults are the point: keep UBSan (make asan) from stopping the
 * program before the hardware does. */
#if defined(__GNUC__)
#define NO_UBSAN __attribute__((no_sanitize("undefined")))
#else
#define NO_UBSAN
#endif

NO_UBSAN static void *segv_fn(void *arg)
{
    (void)arg;
    weft_yield();
    *null_pointer = 42;
    return NULL;
}

static void *abort_fn(void *arg)
{
    (void)arg;
    weft_yield();
    abort();
}

NO_UBSAN static void *fpe_fn(void *arg)
{
    (void)arg;
    weft_yield();
#if defined(__x86_64__) || defined(__i386__)
    /* both operands volatile: 1 / x alone compiles to a comparison */
    sink = dividend / zero_divisor;
#else
    /* Integer division by zero does not trap on this architecture (aarch64
     * returns 0): raise the signal a trapping division would. */
    sink = zero_divisor;
    raise(SIGFPE);
#endif
    return NULL;
}

struct crash {
    weft_thread_fn *fn;
    const char *name;
    int reached_after; /* executions that got past the crashing join */
};

/* A task that keeps running beside the crashing one: the crash must be
 * pinned on the task that faulted, not on whoever ran last. */
static void *bystander(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        weft_yield();
    return NULL;
}

static void crash_body(void *arg)
{
    struct crash *st = arg;
    weft_thread_t t, idle;
    weft_assert(weft_thread_spawn(&idle, "bystander", bystander, NULL) == 0,
                "spawn");
    weft_assert(weft_thread_spawn(&t, st->name, st->fn, NULL) == 0, "spawn");
    weft_thread_join(t, NULL);
    weft_thread_join(idle, NULL);
    st->reached_after++;
}

/* A body that is clean and touches every primitive the crash tests use. */
struct clean {
    weft_mutex_t m;
    weft_atomic32_t n;
};

static void *clean_fn(void *arg)
{
    struct clean *st = arg;
    weft_mutex_lock(&st->m);
    weft_atomic32_fetch_add(&st->n, 1);
    weft_mutex_unlock(&st->m);
    weft_sleep_for(WEFT_MSEC);
    return NULL;
}

static void clean_body(void *arg)
{
    struct clean *st = arg;
    weft_thread_t t[3];
    weft_atomic32_store(&st->n, 0);
    for (int i = 0; i < 3; i++)
        weft_assert(weft_thread_spawn(&t[i], "clean", clean_fn, st) == 0,
                    "spawn");
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(weft_atomic32_load(&st->n) == 3, "count");
}

static void run_clean_after(void)
{
    struct clean st;
    memset(&st, 0, sizeof st);
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 1, 200);
    int rc = weft_explore(&c, clean_body, &st, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 200);
    weft_result_destroy(&r);
}

static void expect_crash(weft_thread_fn *fn, const char *name,
                         const char *signal_name)
{
    struct crash st = { fn, name, 0 };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 400, 1000);
    struct sigaction before, after;
    stack_t alt_before, alt_after;
    sigaction(SIGSEGV, NULL, &before);
    sigaltstack(NULL, &alt_before);

    /* Under valgrind (make valgrind) the null store is an error of its
     * own before it is a signal: it is the point here, so not reported. */
    if (fn == segv_fn) {
        VALGRIND_DISABLE_ERROR_REPORTING;
    }
    int rc = weft_explore(&c, crash_body, &st, &r);
    if (fn == segv_fn) {
        VALGRIND_ENABLE_ERROR_REPORTING;
    }

    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_CRASH);
    /* every execution crashes: the first one is reported */
    assert_int_equal(r.executions, 1);
    assert_int_equal(st.reached_after, 0);
    char want[128];
    snprintf(want, sizeof want, "crash in task 2 \"%s\": %s", name,
             signal_name);
    assert_contains(r.message, want);
    assert_contains(r.message, __FILE__);
    assert_contains(r.report, "kind:      crash");
    snprintf(want, sizeof want, "task:      task 2 \"%s\"", name);
    assert_contains(r.report, want);
    check_replay_line(&r);
    weft_result_destroy(&r);

    /* The harness put the process back as it found it. */
    sigaction(SIGSEGV, NULL, &after);
    sigaltstack(NULL, &alt_after);
    assert_true(before.sa_handler == after.sa_handler);
    assert_int_equal(before.sa_flags, after.sa_flags);
    assert_int_equal(alt_before.ss_flags, alt_after.ss_flags);
    sigset_t mask;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    assert_false(sigismember(&mask, SIGSEGV));
    assert_false(sigismember(&mask, SIGABRT));
    assert_false(sigismember(&mask, SIGFPE));

    run_clean_after();
}

static void null_dereference_is_a_crash_naming_task_and_sigsegv(void **state)
{
    (void)state;
    expect_crash(segv_fn, "nullderef", "SIGSEGV");
}

static void abort_is_a_crash_naming_sigabrt(void **state)
{
    (void)state;
    expect_crash(abort_fn, "aborter", "SIGABRT");
}

static void division_by_zero_is_a_crash_naming_sigfpe(void **state)
{
    (void)state;
    expect_crash(fpe_fn, "divider", "SIGFPE");
}

static void *raise_segv_fn(void *arg)
{
    (void)arg;
    weft_yield();
    raise(SIGSEGV);
    return NULL;
}

/* A signal sent (raise, kill) is no memory access: si_addr then holds the
 * sender's pid, not an address, and the report said "invalid memory
 * access at address 0x4ee9". */
static void raised_sigsegv_is_not_called_a_memory_access(void **state)
{
    (void)state;
    expect_crash(raise_segv_fn, "raiser", "SIGSEGV");
    struct crash st = { raise_segv_fn, "raiser", 0 };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 400, 1);
    assert_int_equal(weft_explore(&c, crash_body, &st, &r), 1);
    assert_contains(r.message, "SIGSEGV sent by a process (kill or raise");
    if (strstr(r.message, "invalid memory access") != NULL ||
        strstr(r.message, "at address") != NULL)
        fail_msg("a raised SIGSEGV is described as a fault: %s", r.message);
    weft_result_destroy(&r);
}

static void crashes_of_every_kind_in_a_row_leave_harness_working(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        expect_crash(segv_fn, "nullderef", "SIGSEGV");
        expect_crash(abort_fn, "aborter", "SIGABRT");
        expect_crash(fpe_fn, "divider", "SIGFPE");
    }
}

/* ------------------------------------------------------- stack overflow */

static volatile unsigned recursion_limit = UINT_MAX;

static unsigned recurse(unsigned depth)
{
    volatile char frame[256];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    if (depth >= recursion_limit)
        return depth;
    /* not a tail call: the frame is read after the call returns */
    return recurse(depth + 1) + (unsigned)frame[sizeof frame - 1];
}

static void *deep_fn(void *arg)
{
    (void)arg;
    weft_yield();
    sink = (int)recurse(0);
    return NULL;
}

static void overflow_body(void *arg)
{
    int *finished = arg;
    weft_thread_t t;
    weft_assert(weft_thread_spawn(&t, "deep", deep_fn, NULL) == 0, "spawn");
    weft_thread_join(t, NULL);
    (*finished)++;
}

static void unbounded_recursion_is_a_stack_overflow(void **state)
{
    (void)state;
    int finished = 0;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 500, 10);
    c.stack_size = 64 * 1024;
    int rc = weft_explore(&c, overflow_body, &finished, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_STACK_OVERFLOW);
    assert_int_equal(finished, 0);
    assert_contains(r.message, "stack overflow in task 1 \"deep\"");
    assert_contains(r.message, "65536 bytes");
    assert_contains(r.message, "WEFT_STACK_SIZE");
    assert_contains(r.report, "kind:      stack overflow");
    assert_contains(r.report, " WEFT_STACK_SIZE=65536");
    check_replay_line(&r);
    weft_result_destroy(&r);

    /* a second overflow on a reused stack is caught the same way */
    rc = weft_explore(&c, overflow_body, &finished, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_STACK_OVERFLOW);
    weft_result_destroy(&r);

    run_clean_after();
}

static void *shallow_fn(void *arg)
{
    (void)arg;
    unsigned saved = recursion_limit;
    recursion_limit = 40; /* 40 frames of ~300 bytes fit in 64k easily */
    weft_yield();
    sink = (int)recurse(0);
    recursion_limit = saved;
    return NULL;
}

static void shallow_body(void *arg)
{
    int *finished = arg;
    weft_thread_t t;
    weft_assert(weft_thread_spawn(&t, "shallow", shallow_fn, NULL) == 0,
                "spawn");
    weft_thread_join(t, NULL);
    (*finished)++;
}

static void bounded_recursion_fits_a_64k_stack(void **state)
{
    (void)state;
    int finished = 0;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 500, 1000);
    c.stack_size = 64 * 1024;
    int rc = weft_explore(&c, shallow_body, &finished, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(finished, 1000);
    weft_result_destroy(&r);
}

/* ----------------------------------------------------------- step bound */

struct spin {
    bool forever; /* the bug: nobody ever sets the flag */
    weft_atomic32_t flag;
};

static void *spinner(void *arg)
{
    struct spin *st = arg;
    while (st->forever || weft_atomic32_load(&st->flag) == 0)
        weft_yield();
    return NULL;
}

static void *setter(void *arg)
{
    struct spin *st = arg;
    weft_yield();
    weft_atomic32_store(&st->flag, 1);
    return NULL;
}

static void spin_body(void *arg)
{
    struct spin *st = arg;
    weft_thread_t a, b;
    weft_atomic32_store(&st->flag, 0);
    weft_assert(weft_thread_spawn(&a, "spin1", spinner, st) == 0, "spawn");
    weft_assert(weft_thread_spawn(&b, st->forever ? "spin2" : "setter",
                                  st->forever ? spinner : setter, st) == 0,
                "spawn");
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
}

static void endless_spinning_hits_the_step_bound(void **state)
{
    (void)state;
    struct spin st = { .forever = true };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 600, 100);
    c.max_steps = 1000;
    int rc = weft_explore(&c, spin_body, &st, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_STEP_BOUND);
    assert_int_equal(r.executions, 1);
    assert_contains(r.message, "step bound exceeded");
    assert_contains(r.message, "1000 visible operations");
    assert_true(r.steps >= 1000 && r.steps <= 1001);
    assert_contains(r.report, "kind:      step bound exceeded");
    assert_contains(r.report, " WEFT_MAX_STEPS=1000");
    assert_contains(r.report, "yield");
    check_replay_line(&r);
    weft_result_destroy(&r);
}

static void spinning_until_a_flag_is_set_is_clean_over_1000_seeds(void **state)
{
    (void)state;
    struct spin st = { .forever = false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 600, 1000);
    c.max_steps = 1000;
    int rc = weft_explore(&c, spin_body, &st, &r);
    assert_int_equal(rc, 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

/* ----------------------------------------------------------- trace tail */

static void *chatty(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        weft_yield();
    return NULL;
}

static void chatty_body(void *arg)
{
    (void)arg;
    weft_thread_t t[3];
    for (int i = 0; i < 3; i++)
        weft_assert(weft_thread_spawn(&t[i], "chatty", chatty, NULL) == 0,
                    "spawn");
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    weft_fail("end of the story");
}

/* Event lines between "last N events:" (plus its column header) and the
 * trace hash line. */
static int event_lines(const char *report)
{
    const char *p = strstr(report, " events:\n");
    if (p == NULL)
        return -1;
    p = strchr(p, '\n') + 1;
    p = strchr(p, '\n') + 1; /* column header */
    int n = 0;
    while (*p != '\0' && strncmp(p, "  trace hash:", 13) != 0) {
        n++;
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
    }
    return n;
}

static void report_shows_last_trace_tail_events(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 700, 1);
    c.trace_tail = 5;
    int rc = weft_explore(&c, chatty_body, NULL, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_string_equal(r.message, "failure: end of the story");
    assert_true(r.steps > 30);
    assert_contains(r.report, "  last 5 events:\n");
    assert_contains(r.report, "step");
    assert_contains(r.report, "virtual time");
    assert_int_equal(event_lines(r.report), 5);
    /* the tail ends with the last step: main's final join */
    char last[256];
    char step[32];
    snprintf(step, sizeof step, " %llu ", (unsigned long long)r.steps);
    line_with(strstr(r.report, "last 5 events"), step, last, sizeof last);
    assert_contains(last, "0 main");
    assert_contains(last, "join");
    weft_result_destroy(&r);

    c.trace_tail = 24; /* the default */
    rc = weft_explore(&c, chatty_body, NULL, &r);
    assert_int_equal(rc, 1);
    assert_contains(r.report, "  last 24 events:\n");
    assert_int_equal(event_lines(r.report), 24);
    weft_result_destroy(&r);

    c.trace_tail = 1000; /* more than happened: all of them, at least one
                            per step */
    rc = weft_explore(&c, chatty_body, NULL, &r);
    assert_int_equal(rc, 1);
    unsigned shown = 0;
    const char *p = strstr(r.report, "  last ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "  last %u events:", &shown), 1);
    assert_true(shown >= r.steps);
    assert_true(shown < 1000);
    assert_int_equal(event_lines(r.report), (int)shown);
    /* the first event is main's first spawn */
    line_with(r.report, "spawn", last, sizeof last);
    assert_contains(last, "     1 ");
    assert_contains(last, "0 main");
    weft_result_destroy(&r);

    c.trace_tail = 0; /* none */
    rc = weft_explore(&c, chatty_body, NULL, &r);
    assert_int_equal(rc, 1);
    assert_not_contains(r.report, " events:");
    assert_contains(r.report, "trace hash:");
    weft_result_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            lost_update_is_an_assertion_with_expression_and_message),
        cmocka_unit_test(lost_update_twin_with_mutex_is_clean_over_1000_seeds),
        cmocka_unit_test(abba_deadlock_report_names_tasks_holders_and_cycle),
        cmocka_unit_test(consistent_lock_order_is_clean_over_1000_seeds),
        cmocka_unit_test(exit_holding_a_mutex_is_lock_misuse),
        cmocka_unit_test(unlock_before_exit_is_clean_over_1000_seeds),
        cmocka_unit_test(null_dereference_is_a_crash_naming_task_and_sigsegv),
        cmocka_unit_test(abort_is_a_crash_naming_sigabrt),
        cmocka_unit_test(division_by_zero_is_a_crash_naming_sigfpe),
        cmocka_unit_test(crashes_of_every_kind_in_a_row_leave_harness_working),
        cmocka_unit_test(raised_sigsegv_is_not_called_a_memory_access),
        cmocka_unit_test(endless_spinning_hits_the_step_bound),
        cmocka_unit_test(spinning_until_a_flag_is_set_is_clean_over_1000_seeds),
        cmocka_unit_test(report_shows_last_trace_tail_events),
        /* last: they change the stack size, which drops pooled stacks */
        cmocka_unit_test(unbounded_recursion_is_a_stack_overflow),
        cmocka_unit_test(bounded_recursion_fits_a_64k_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
