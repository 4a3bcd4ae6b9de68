/*
 * test_thread.c: the thread API: spawn, join (plain and timed), detach,
 * exit, self/equal, yield, and how threads appear in reports.
 *
 * Every body runs under a pinned seed and the random strategy. cmocka's
 * assert_* never run inside a weft task (they would longjmp across task
 * stacks): tasks record what they saw into a state struct, or use
 * weft_assert, and the checks happen after weft_explore returns.
 */
#include "prim.h"
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define RUNNING_UNDER_VALGRIND RUNNING_ON_VALGRIND
#endif
#endif
#ifndef RUNNING_UNDER_VALGRIND
#define RUNNING_UNDER_VALGRIND 0
#endif

#include <cmocka.h>

static void *return_arg_plus_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

/* ------------------------------------------------------- spawn and join */

struct join_values {
    int spawn_rc[2], join_rc[2];
    uintptr_t ret[2];
    int bad; /* executions where a value was wrong */
};

static void join_values_body(void *arg)
{
    struct join_values *s = arg;
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        s->spawn_rc[i] = weft_thread_spawn(&t[i], "adder", return_arg_plus_one,
                                           (void *)(uintptr_t)(10 * (i + 1)));
    for (int i = 0; i < 2; i++) {
        void *ret = NULL;
        s->join_rc[i] = weft_thread_join(t[i], &ret);
        s->ret[i] = (uintptr_t)ret;
    }
    if (s->ret[0] != 11 || s->ret[1] != 21 || s->spawn_rc[0] != 0 ||
        s->spawn_rc[1] != 0 || s->join_rc[0] != 0 || s->join_rc[1] != 0)
        s->bad++;
}

static void join_returns_the_value_the_thread_returned(void **state)
{
    (void)state;
    struct join_values s = { 0 };
    weft_result_t r;
    int rc = explore(join_values_body, &s, 1, 50, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 50);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.spawn_rc[0], 0);
    assert_int_equal(s.join_rc[1], 0);
    assert_int_equal(s.ret[0], 11);
    assert_int_equal(s.ret[1], 21);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------ join errors */

struct join_self {
    int main_rc, thread_rc;
};

static void *join_self_thread(void *arg)
{
    struct join_self *s = arg;
    s->thread_rc = weft_thread_join(weft_thread_self(), NULL);
    return NULL;
}

static void join_self_body(void *arg)
{
    struct join_self *s = arg;
    weft_thread_t t;
    s->main_rc = weft_thread_join(weft_thread_self(), NULL);
    weft_thread_spawn(&t, "self-joiner", join_self_thread, s);
    weft_thread_join(t, NULL);
}

static void join_of_self_is_edeadlk(void **state)
{
    (void)state;
    struct join_self s = { 1, 1 };
    weft_result_t r;
    int rc = explore(join_self_body, &s, 7, 20, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.main_rc, -EDEADLK);
    assert_int_equal(s.thread_rc, -EDEADLK);
    weft_result_destroy(&r);
}

struct double_join {
    int first, second;
    uintptr_t ret;
};

static void double_join_body(void *arg)
{
    struct double_join *s = arg;
    weft_thread_t t;
    void *ret = NULL;
    weft_thread_spawn(&t, "once", return_arg_plus_one, (void *)41);
    s->first = weft_thread_join(t, &ret);
    s->ret = (uintptr_t)ret;
    ret = (void *)7;
    s->second = weft_thread_join(t, &ret);
    /* A failed join leaves *ret alone. */
    weft_assert(ret == (void *)7, "second join wrote %p", ret);
}

static void second_join_of_a_thread_is_einval(void **state)
{
    (void)state;
    struct double_join s = { 1, 1, 0 };
    weft_result_t r;
    int rc = explore(double_join_body, &s, 3, 20, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.first, 0);
    assert_int_equal(s.ret, 42);
    assert_int_equal(s.second, -EINVAL);
    weft_result_destroy(&r);
}

struct detach_join {
    int detach_rc, join_rc, detach_again_rc;
};

static void detach_join_body(void *arg)
{
    struct detach_join *s = arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "detached", return_arg_plus_one, NULL);
    s->detach_rc = weft_thread_detach(t);
    s->join_rc = weft_thread_join(t, NULL);
    s->detach_again_rc = weft_thread_detach(t);
}

static void join_after_detach_is_einval(void **state)
{
    (void)state;
    struct detach_join s = { 1, 1, 1 };
    weft_result_t r;
    int rc = explore(detach_join_body, &s, 5, 20, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.detach_rc, 0);
    assert_int_equal(s.join_rc, -EINVAL);
    assert_int_equal(s.detach_again_rc, -EINVAL);
    weft_result_destroy(&r);
}

struct stale {
    bool have_old;
    weft_thread_t old; /* a handle kept from the previous execution */
    int join_rc, detach_rc, unknown_rc;
    unsigned checked;
};

static void stale_body(void *arg)
{
    struct stale *s = arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "worker", return_arg_plus_one, NULL);
    if (s->have_old) {
        /* Same id as t, earlier epoch: must not reach t. */
        s->join_rc = weft_thread_join(s->old, NULL);
        s->detach_rc = weft_thread_detach(s->old);
        s->checked++;
    }
    weft_thread_t unknown = t;
    unknown.id = 99;
    s->unknown_rc = weft_thread_join(unknown, NULL);
    weft_assert(weft_thread_join(t, NULL) == 0, "join of the fresh handle");
    s->old = t;
    s->have_old = true;
}

static void stale_handle_from_an_earlier_execution_is_esrch(void **state)
{
    (void)state;
    struct stale s = { 0 };
    s.join_rc = s.detach_rc = s.unknown_rc = 1;
    weft_result_t r;
    int rc = explore(stale_body, &s, 11, 3, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.checked, 2);
    assert_int_equal(s.join_rc, -ESRCH);
    assert_int_equal(s.detach_rc, -ESRCH);
    assert_int_equal(s.unknown_rc, -ESRCH);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- self and equal */

struct self {
    weft_thread_t main_self, spawned, seen_by_thread;
    bool main_equal_self, thread_equal_handle, main_equal_thread;
};

static void *record_self(void *arg)
{
    struct self *s = arg;
    s->seen_by_thread = weft_thread_self();
    return NULL;
}

static void self_body(void *arg)
{
    struct self *s = arg;
    s->main_self = weft_thread_self();
    s->main_equal_self = weft_thread_equal(s->main_self, weft_thread_self());
    weft_thread_spawn(&s->spawned, "me", record_self, s);
    weft_thread_join(s->spawned, NULL);
    s->thread_equal_handle = weft_thread_equal(s->spawned, s->seen_by_thread);
    s->main_equal_thread = weft_thread_equal(s->main_self, s->spawned);
}

static void self_names_the_caller_and_equal_compares_handles(void **state)
{
    (void)state;
    struct self s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(self_body, &s, 2, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.main_self.id, 0);
    assert_int_equal(s.spawned.id, 1);
    assert_int_equal(s.seen_by_thread.id, 1);
    assert_int_equal(s.seen_by_thread.epoch, s.spawned.epoch);
    assert_true(s.main_equal_self);
    assert_true(s.thread_equal_handle);
    assert_false(s.main_equal_thread);
    weft_result_destroy(&r);
}

/* ---------------------------------------------------- names in reports */

static weft_mutex_t lock_a = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t lock_b = WEFT_MUTEX_INITIALIZER;

/* Lock one mutex, sleep so the other thread takes its first lock too,
 * then lock the other: a certain deadlock in every schedule. */
static void *lock_then_lock(void *arg)
{
    weft_mutex_t **pair = arg;
    weft_mutex_lock(pair[0]);
    weft_sleep_for(WEFT_SEC);
    weft_mutex_lock(pair[1]);
    weft_mutex_unlock(pair[1]);
    weft_mutex_unlock(pair[0]);
    return NULL;
}

static void named_deadlock_body(void *arg)
{
    (void)arg;
    static weft_mutex_t *ab[2] = { &lock_a, &lock_b };
    static weft_mutex_t *ba[2] = { &lock_b, &lock_a };
    weft_thread_t alice, bob;
    weft_thread_spawn(&alice, "alice", lock_then_lock, ab);
    weft_thread_spawn(&bob, "bob", lock_then_lock, ba);
    weft_thread_join(alice, NULL);
    weft_thread_join(bob, NULL);
}

static void thread_names_appear_in_a_deadlock_report(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(named_deadlock_body, NULL, 17, 10, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_int_equal(r.executions, 1);
    assert_int_equal(r.time, WEFT_SEC);
    assert_contains(r.report, "\"alice\"");
    assert_contains(r.report, "\"bob\"");
    assert_contains(r.report, "\"main\"");
    assert_contains(r.report, "wait-for cycle");
    weft_result_destroy(&r);
}

/* ------------------------------------------------------------ exit */

struct exit_state {
    bool after_exit; /* set if code after weft_thread_exit ran */
    int join_rc;
    uintptr_t ret;
};

static void exit_from_deep_down(struct exit_state *s)
{
    weft_thread_exit((void *)42);
    s->after_exit = true; /* never reached */
}

static void *exits_early(void *arg)
{
    struct exit_state *s = arg;
    exit_from_deep_down(s);
    s->after_exit = true;
    return (void *)1;
}

static void exit_body(void *arg)
{
    struct exit_state *s = arg;
    weft_thread_t t;
    void *ret = NULL;
    weft_thread_spawn(&t, "exiter", exits_early, s);
    s->join_rc = weft_thread_join(t, &ret);
    s->ret = (uintptr_t)ret;
}

static void thread_exit_value_reaches_join(void **state)
{
    (void)state;
    struct exit_state s = { false, 1, 0 };
    weft_result_t r;
    int rc = explore(exit_body, &s, 4, 20, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.join_rc, 0);
    assert_int_equal(s.ret, 42);
    assert_false(s.after_exit);
    weft_result_destroy(&r);
}

/* --------------------------------------------------------- timed join */

struct timed_join {
    int timed_rc, join_rc;
    int64_t timed_at, joined_at;
    uintptr_t ret;
};

static void *sleep_ten_seconds(void *arg)
{
    (void)arg;
    weft_sleep_for(10 * WEFT_SEC);
    return (void *)99;
}

static void timed_join_body(void *arg)
{
    struct timed_join *s = arg;
    weft_thread_t t;
    void *ret = NULL;
    weft_thread_spawn(&t, "sleeper", sleep_ten_seconds, NULL);
    s->timed_rc = weft_thread_timedjoin(t, &ret, 3 * WEFT_SEC);
    s->timed_at = weft_now();
    s->join_rc = weft_thread_join(t, &ret);
    s->joined_at = weft_now();
    s->ret = (uintptr_t)ret;
}

static void timedjoin_times_out_at_exactly_its_deadline(void **state)
{
    (void)state;
    struct timed_join s = { 1, 1, -1, -1, 0 };
    weft_result_t r;
    int rc = explore(timed_join_body, &s, 9, 20, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.timed_rc, -ETIMEDOUT);
    assert_int_equal(s.timed_at, 3 * WEFT_SEC);
    /* The thread stays joinable after a timed-out join. */
    assert_int_equal(s.join_rc, 0);
    assert_int_equal(s.joined_at, 10 * WEFT_SEC);
    assert_int_equal(s.ret, 99);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- many threads */

#define MANY 200

struct many {
    int spawn_failures, join_failures, wrong_values;
    uint64_t sum;
};

static void *add_to_sum(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    weft_yield();
    return (void *)(i * 2);
}

static void many_body(void *arg)
{
    struct many *s = arg;
    static weft_thread_t t[MANY];
    s->sum = 0;
    for (uintptr_t i = 0; i < MANY; i++)
        if (weft_thread_spawn(&t[i], "many", add_to_sum, (void *)i) != 0)
            s->spawn_failures++;
    for (uintptr_t i = 0; i < MANY; i++) {
        void *ret = NULL;
        if (weft_thread_join(t[i], &ret) != 0)
            s->join_failures++;
        else if ((uintptr_t)ret != i * 2)
            s->wrong_values++;
        s->sum += (uintptr_t)ret;
    }
}

static void two_hundred_threads_spawn_and_join_in_one_execution(void **state)
{
    (void)state;
    struct many s = { 0 };
    weft_result_t r;
    int rc = explore(many_body, &s, 21, 3, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.spawn_failures, 0);
    assert_int_equal(s.join_failures, 0);
    assert_int_equal(s.wrong_values, 0);
    assert_int_equal(s.sum, (uint64_t)MANY * (MANY - 1));
    weft_result_destroy(&r);
}

/* ---------------------------------------------------- detached threads */

struct detached {
    int done[3];
    int64_t done_at[3];
    int detach_rc[3];
};

struct detached_arg {
    struct detached *s;
    int i;
};

static void *sleep_then_mark(void *arg)
{
    struct detached_arg *a = arg;
    weft_sleep_for((a->i + 1) * WEFT_SEC);
    a->s->done[a->i]++;
    a->s->done_at[a->i] = weft_now();
    return NULL;
}

static void detached_body(void *arg)
{
    struct detached *s = arg;
    static struct detached_arg args[3];
    for (int i = 0; i < 3; i++) {
        weft_thread_t t;
        args[i].s = s;
        args[i].i = i;
        weft_thread_spawn(&t, "detached", sleep_then_mark, &args[i]);
        s->detach_rc[i] = weft_thread_detach(t);
    }
    /* The body returns while all three still sleep. */
}

static void detached_threads_finish_after_the_body_returns(void **state)
{
    (void)state;
    struct detached s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(detached_body, &s, 13, 5, &r);
    assert_no_finding(rc, &r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.detach_rc[i], 0);
        assert_int_equal(s.done[i], 5); /* once per execution */
        assert_int_equal(s.done_at[i], (i + 1) * WEFT_SEC);
    }
    /* The execution ended when the last detached thread did. */
    assert_int_equal(r.time, 3 * WEFT_SEC);
    weft_result_destroy(&r);
}

/* ---------------------------------------------------------------- yield */

struct yield_log {
    int log[4];
    int n;
};

struct yield_arg {
    struct yield_log *s;
    int id;
};

static void *append_yield_append(void *arg)
{
    struct yield_arg *a = arg;
    a->s->log[a->s->n++] = a->id;
    weft_yield();
    a->s->log[a->s->n++] = a->id;
    return NULL;
}

static void yield_body(void *arg)
{
    struct yield_log *s = arg;
    static struct yield_arg args[2];
    weft_thread_t t[2];
    s->n = 0;
    for (int i = 0; i < 2; i++) {
        args[i].s = s;
        args[i].id = i + 1;
        weft_thread_spawn(&t[i], "appender", append_yield_append, &args[i]);
    }
    weft_thread_join(t[0], NULL);
    weft_thread_join(t[1], NULL);
}

static void yield_lets_both_threads_go_first_across_seeds(void **state)
{
    (void)state;
    unsigned first[3] = { 0 }, interleaved = 0, seeds = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        struct yield_log s = { { 0 }, 0 };
        weft_result_t r;
        int rc = explore(yield_body, &s, seed, 1, &r);
        assert_no_finding(rc, &r);
        assert_int_equal(s.n, 4);
        first[s.log[0]]++;
        /* "1212", "1221", "2112", "2121": the yield let the other in. */
        if (s.log[1] != s.log[0])
            interleaved++;
        seeds++;
        weft_result_destroy(&r);
    }
    assert_int_equal(seeds, 200);
    assert_true(first[1] > 0);
    assert_true(first[2] > 0);
    assert_int_equal(first[1] + first[2], 200);
    assert_true(interleaved > 0);
}

/* ------------------------------------------------------- join cycles */

static weft_thread_t main_handle;

static void *join_main(void *arg)
{
    (void)arg;
    weft_thread_join(main_handle, NULL);
    return NULL;
}

static void join_cycle_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    main_handle = weft_thread_self();
    weft_thread_spawn(&t, "joiner", join_main, NULL);
    weft_thread_join(t, NULL);
}

static void threads_joining_each_other_are_a_deadlock_cycle(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(join_cycle_body, NULL, 23, 10, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_contains(r.report, "waits to join");
    assert_contains(r.report, "wait-for cycle");
    assert_contains(r.report, "\"joiner\"");
    assert_contains(r.report, "(join)");
    weft_result_destroy(&r);
}

/* ------------------------------------------------------ out of memory */

#define OOM_THREADS 8

struct oom {
    int enomem; /* spawns that failed with -ENOMEM */
    int other;  /* spawns or joins that failed otherwise */
};

static void oom_body(void *arg)
{
    struct oom *s = arg;
    weft_thread_t t[OOM_THREADS];
    bool ok[OOM_THREADS];
    for (int i = 0; i < OOM_THREADS; i++) {
        int rc = weft_thread_spawn(&t[i], "worker", return_arg_plus_one, NULL);
        ok[i] = rc == 0;
        if (rc == -ENOMEM)
            s->enomem++;
        else if (rc != 0)
            s->other++;
    }
    for (int i = 0; i < OOM_THREADS; i++)
        if (ok[i] && weft_thread_join(t[i], NULL) != 0)
            s->other++;
}

/* Fail the n-th allocation for every n until one run allocates less:
 * each spawn then fails cleanly with -ENOMEM or succeeds, and the
 * exploration ends with 0 or -ENOMEM, never a crash or a finding. */
static void spawn_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    unsigned n, saw_enomem = 0;
    for (n = 1; n <= 300; n++) {
        struct oom s = { 0, 0 };
        weft_result_t r;
        weft_fail_alloc_after(n);
        int rc = explore(oom_body, &s, 3, 2, &r);
        weft_fail_alloc_after(0);
        if (rc != 0 && rc != -ENOMEM)
            fail_msg("fail allocation %u: weft_explore returned %d: %s", n, rc,
                     r.message);
        assert_int_equal(s.other, 0);
        weft_result_destroy(&r);
        if (rc == -ENOMEM || s.enomem > 0) {
            saw_enomem++;
            continue;
        }
        break; /* nothing failed: n is past the last allocation */
    }
    assert_true(n <= 300);
    assert_true(saw_enomem > 0);
}

/* ------------------------------------------------- many live tasks */

/* stack.c's guard mode: 1 madvise guards (no VMA split), -1 mprotect. */
extern int weft__stack_guard_mode;

#define MANY_LIVE 40000 /* past the old limit of 32,748 */

struct crowd {
    unsigned want, spawned;
    int refused; /* the error a spawn returned, or 0 */
    weft_sem_t go;
    weft_thread_t *t;
};

static void *crowd_member(void *arg)
{
    struct crowd *c = arg;
    weft_sem_wait(&c->go);
    return NULL;
}

static void crowd_body(void *arg)
{
    struct crowd *c = arg;
    weft_sem_init(&c->go, 0);
    c->spawned = 0;
    c->refused = 0;
    for (unsigned i = 0; i < c->want; i++) {
        int rc = weft_thread_spawn(&c->t[i], "member", crowd_member, c);
        if (rc != 0) {
            c->refused = rc;
            break;
        }
        c->spawned++;
    }
    for (unsigned i = 0; i < c->spawned; i++)
        weft_sem_post(&c->go);
    for (unsigned i = 0; i < c->spawned; i++)
        weft_thread_join(c->t[i], NULL);
}

/* Does this kernel install guard regions without splitting mappings?
 * (qemu-user accepts the advice and ignores it: a read must fault.) */
static bool guard_regions_supported(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fd[2];
    if (p == MAP_FAILED || pipe(fd) != 0)
        return false;
    bool ok = madvise(p + pg, pg, 102 /* MADV_GUARD_INSTALL */) == 0 &&
              write(fd[1], p + pg, 1) < 0 && errno == EFAULT;
    close(fd[0]);
    close(fd[1]);
    munmap(p, 4 * pg);
    return ok;
}

static struct crowd crowd;
static char crowd_err[8192];

/* Run crowd_body for `want` tasks in a forked child (guard mode forced
 * when mode != 0), stderr into crowd_err; crowd comes back. */
static int run_crowd(unsigned want, int mode)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        int err = dup(2);
        dup2(p[1], 2);
        alarm(120);
        if (mode != 0)
            weft__stack_guard_mode = mode;
        crowd.want = want;
        crowd.t = calloc(want, sizeof *crowd.t);
        weft_config_t c;
        config(&c, 1, 1);
        c.quiet = false;
        c.progress = 0;
        c.max_steps = 100 * (uint64_t)want;
        c.shrink = false;
        int rc = weft_explore(&c, crowd_body, &crowd, NULL);
        dup2(err, 2);
        if (write(p[1], &crowd, sizeof crowd) != sizeof crowd)
            _exit(90);
        _exit(rc == 0 ? 0 : rc == 1 ? 1 : 2);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof crowd_err &&
           (k = read(p[0], crowd_err + n, sizeof crowd_err - 1 - n)) > 0)
        n += (size_t)k;
    crowd_err[n] = '\0';
    close(p[0]);
    /* the crowd record was written after stderr went back: it is the
     * tail of what came through the pipe */
    if (n >= sizeof crowd) {
        memcpy(&crowd, crowd_err + n - sizeof crowd, sizeof crowd);
        crowd_err[n - sizeof crowd] = '\0';
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* 40,000 tasks alive at once in one execution. Each stack had a mapping
 * and a guard page of its own, two memory mappings against the kernel's
 * 65,530 (vm.max_map_count): the 32,749th spawn failed, said only "out of
 * memory". Stacks now share slabs whose guard regions split nothing.
 * Where the kernel lacks MADV_GUARD_INSTALL (before Linux 6.13) the old
 * limit stands, and the refusal must name it. */
static void forty_thousand_tasks_alive_at_once(void **state)
{
    (void)state;
    if (RUNNING_UNDER_VALGRIND)
        skip(); /* valgrind's own map table is smaller than this */
    int rc = run_crowd(MANY_LIVE, 0);
    if (guard_regions_supported()) {
        if (rc != 0 || crowd.spawned != MANY_LIVE)
            fail_msg("status %d, %u of %d spawned (error %d):\n%s", rc,
                     crowd.spawned, MANY_LIVE, crowd.refused, crowd_err);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(crowd.refused, -ENOMEM);
        assert_non_null(strstr(crowd_err, "vm.max_map_count"));
    }
}

/* When the mapping limit is hit (forced here: guards by mprotect, two
 * mappings a stack), the spawn returns -ENOMEM, the body carries on, and
 * weft says which limit it was and how to raise it. */
static void the_mapping_limit_is_named_when_hit(void **state)
{
    (void)state;
    if (RUNNING_UNDER_VALGRIND)
        skip();
    int rc = run_crowd(70000, -1);
    if (rc != 0 || crowd.refused != -ENOMEM)
        fail_msg("status %d, spawned %u, error %d:\n%s", rc, crowd.spawned,
                 crowd.refused, crowd_err);
    /* the long one in parentheses: not a missing comma */
    static const char *const want[] = {
        "note: task ",
        "cannot map a task stack of 256 KiB",
        ("the kernel's limit on memory mappings per process is reached"),
        "vm.max_map_count = ",
        "sysctl -w vm.max_map_count=",
        "MADV_GUARD_INSTALL",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (strstr(crowd_err, want[i]) == NULL)
            fail_msg("expected \"%s\" in:\n%s", want[i], crowd_err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(join_returns_the_value_the_thread_returned),
        cmocka_unit_test(join_of_self_is_edeadlk),
        cmocka_unit_test(second_join_of_a_thread_is_einval),
        cmocka_unit_test(join_after_detach_is_einval),
        cmocka_unit_test(stale_handle_from_an_earlier_execution_is_esrch),
        cmocka_unit_test(self_names_the_caller_and_equal_compares_handles),
        cmocka_unit_test(thread_names_appear_in_a_deadlock_report),
        cmocka_unit_test(thread_exit_value_reaches_join),
        cmocka_unit_test(timedjoin_times_out_at_exactly_its_deadline),
        cmocka_unit_test(two_hundred_threads_spawn_and_join_in_one_execution),
        cmocka_unit_test(detached_threads_finish_after_the_body_returns),
        cmocka_unit_test(yield_lets_both_threads_go_first_across_seeds),
        cmocka_unit_test(threads_joining_each_other_are_a_deadlock_cycle),
        cmocka_unit_test(spawn_fails_cleanly_at_every_allocation),
        cmocka_unit_test(forty_thousand_tasks_alive_at_once),
        cmocka_unit_test(the_mapping_limit_is_named_when_hit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
