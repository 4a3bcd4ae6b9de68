/*
 * test_alloc.c: out of memory. For n = 1, 2, ... make the n-th allocation
 * weft makes fail, run a whole exploration, and check that the outcome is
 * one weft allows: -ENOMEM, a clean run, or what the body itself did on
 * seeing -ENOMEM from a spawn; never a crash, a bogus finding or a leak.
 * The loop ends at the first n the exploration never reaches.
 *
 * Whether the n-th allocation was reached is not visible from outside, so
 * after each exploration a probe (see failure_was_reached) spends whatever
 * is left of the countdown. Leaks in the loops show under ASan and
 * valgrind (make asan, make valgrind). Where a leak would repeat (the same
 * exploration run 50 times), glibc's count of heap in use is compared too,
 * so such a leak fails the plain build as well.
 */
#include "weft.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* No exploration here needs more allocations than this: a loop that goes
 * further is not terminating. */
#define MAX_N 5000

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

/* weft prints why it could not run (e.g. "out of memory" reading a
 * schedule) even when quiet: keep that out of the test output. */
static int saved_stderr = -1;

static void silence_stderr(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    int null = open("/dev/null", O_WRONLY);
    assert_true(saved_stderr >= 0 && null >= 0);
    dup2(null, 2);
    close(null);
}

static void restore_stderr(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
}

/* Temporary files of the running test, removed by its teardown even when
 * an assertion ends the test early. */
static char temps[4][64];
static unsigned ntemps;

static int remove_temps(void **state)
{
    (void)state;
    for (unsigned i = 0; i < ntemps; i++)
        unlink(temps[i]);
    ntemps = 0;
    return 0;
}

/* A fresh temporary file; returns its descriptor. */
static int temp_file(char *path, size_t len)
{
    snprintf(path, len, "/tmp/weft-test-alloc-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    if (ntemps < sizeof temps / sizeof temps[0])
        snprintf(temps[ntemps++], sizeof temps[0], "%s", path);
    return fd;
}

/* Bytes of heap in use, or 0 where that cannot be known. */
static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks;
#else
    return 0;
#endif
}

/* Slack for what glibc counts as in use but merely caches (its per-thread
 * cache keeps up to 7 freed chunks of each size); far less than 50 leaked
 * reports or task records. */
#define HEAP_SLACK 16384
#define REPEAT     50

static void check_no_growth(size_t before, const char *what)
{
    size_t after = heap_in_use();
    if (after > before + HEAP_SLACK)
        fail_msg("%s: heap in use grew from %zu to %zu bytes", what, before,
                 after);
}

/* Fail with r's outcome, freeing r first (a failing test should not add
 * a leak report of its own under ASan). */
#define fail_with(r, n, rc, extra)                                           \
    do {                                                                     \
        char msg_[sizeof(r)->message];                                       \
        weft_finding_t kind_ = (r)->finding;                                 \
        memcpy(msg_, (r)->message, sizeof msg_);                             \
        weft_result_destroy(r);                                              \
        restore_stderr();                                                    \
        fail_msg("n=%llu: rc %d, finding %s%s: %s", (unsigned long long)(n), \
                 (rc), weft_finding_name(kind_), (extra), msg_);             \
    } while (0)

/* ------------------------------------------ did the failure happen? */

struct probe {
    unsigned spawns;
    bool enomem;
};

static void *probe_task(void *arg)
{
    return arg;
}

/* Spawns and joins one task at a time inside an atomic block: no task
 * choice is ever made (the decision log never grows), and every spawn in a
 * fresh run allocates at least its task record. */
static void probe_body(void *arg)
{
    struct probe *p = arg;
    weft_atomic_begin();
    for (unsigned i = 0; i < p->spawns; i++) {
        weft_thread_t t;
        int rc = weft_thread_spawn(&t, "probe", probe_task, NULL);
        if (rc != 0) {
            weft_assert(rc == -ENOMEM, "probe spawn: %d", rc);
            p->enomem = true;
            break;
        }
        weft_thread_join(t, NULL);
    }
    weft_atomic_end();
}

/*
 * After weft_fail_alloc_after(n) and one exploration: true if that
 * exploration reached the n-th allocation. If it did not, at most n
 * allocations are left on the countdown, and the probe (more than n
 * allocations, each of which reports its failure) runs into it. Either
 * way the countdown is spent when this returns.
 */
static bool failure_was_reached(uint64_t n)
{
    struct probe p = { (unsigned)n + 2, false };
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 1, 1);
    int rc = weft_explore(&c, probe_body, &p, &r);
    weft_result_destroy(&r);
    weft_fail_alloc_after(0);
    if (rc == -ENOMEM || p.enomem)
        return false;
    assert_int_equal(rc, 0);
    return true;
}

/* ------------------------------------- the body: 3 spawns, lock, wait */

struct oom {
    weft_mutex_t m;
    weft_cond_t all_in;
    unsigned spawned;  /* workers that exist */
    unsigned arrived;  /* workers that got the lock */
    unsigned timeouts; /* timed waits that ended at their deadline */
    bool saw_enomem;   /* a spawn returned -ENOMEM */
};

static void *oom_worker(void *arg)
{
    struct oom *st = arg;
    weft_mutex_lock(&st->m);
    st->arrived++;
    weft_cond_broadcast(&st->all_in);
    /* wait for the others, but not forever: a spawn may have failed */
    while (st->arrived < st->spawned) {
        int rc = weft_cond_timedwait(&st->all_in, &st->m,
                                     weft_now() + 10 * WEFT_USEC);
        if (rc == -ETIMEDOUT) {
            st->timeouts++;
            break;
        }
    }
    weft_mutex_unlock(&st->m);
    weft_sleep_for(WEFT_USEC);
    return NULL;
}

static void oom_body(void *arg)
{
    struct oom *st = arg;
    weft_thread_t t[3];
    unsigned n = 0;
    weft_mutex_init(&st->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&st->all_in);
    st->spawned = st->arrived = 0;
    for (; n < 3; n++) {
        /* under the lock, so a worker never sees a stale count */
        weft_mutex_lock(&st->m);
        int rc = weft_thread_spawn(&t[n], "worker", oom_worker, st);
        if (rc == 0)
            st->spawned++;
        weft_mutex_unlock(&st->m);
        if (rc != 0) {
            weft_assert(rc == -ENOMEM, "spawn returned %d", rc);
            st->saw_enomem = true; /* carry on with fewer workers */
            break;
        }
    }
    for (unsigned i = 0; i < n; i++)
        weft_assert(weft_thread_join(t[i], NULL) == 0, "join");
    weft_assert(st->arrived == n, "%u of %u workers arrived", st->arrived, n);
}

static void oom_loop_over_an_exploration_ends_in_enomem_or_success(void **state)
{
    (void)state;
    struct oom st;
    weft_config_t c;
    weft_result_t r;
    memset(&st, 0, sizeof st);
    pinned(&c, 2024, 5);

    /* the reference, which also warms the stack pool and libc */
    assert_int_equal(weft_explore(&c, oom_body, &st, &r), 0);
    uint64_t hash = r.trace_hash, steps = r.total_steps;
    weft_result_destroy(&r);
    assert_false(st.saw_enomem);
    struct probe warm = { 2, false };
    pinned(&c, 1, 1);
    assert_int_equal(weft_explore(&c, probe_body, &warm, &r), 0);
    weft_result_destroy(&r);
    pinned(&c, 2024, 5);

    unsigned enomem = 0, clean = 0, body_saw = 0;
    uint64_t n;
    silence_stderr();
    for (n = 1; n <= MAX_N; n++) {
        memset(&st, 0, sizeof st);
        weft_fail_alloc_after(n);
        int rc = weft_explore(&c, oom_body, &st, &r);
        bool reached = failure_was_reached(n);
        if (rc == -ENOMEM) {
            /* nothing to report, nothing to free */
            if (r.report != NULL || r.finding == WEFT_FINDING_ASSERTION)
                fail_with(&r, n, rc, " and a report");
            enomem++;
        } else if (rc == 0) {
            clean++;
            body_saw += st.saw_enomem;
        } else {
            fail_with(&r, n, rc, "");
        }
        weft_result_destroy(&r);
        if (!reached) {
            /* untouched by the failure: the reference execution */
            if (rc != 0 || st.saw_enomem || r.trace_hash != hash ||
                r.total_steps != steps) {
                restore_stderr();
                fail_msg("n=%llu: not reached, yet rc %d, hash %016llx "
                         "(reference %016llx)",
                         (unsigned long long)n, rc,
                         (unsigned long long)r.trace_hash,
                         (unsigned long long)hash);
            }
            break;
        }
    }
    restore_stderr();
    weft_fail_alloc_after(0);
    if (n > MAX_N)
        fail_msg("still failing allocations after %d", MAX_N);
    print_message("  %llu allocations: %u -ENOMEM, %u clean (%u with a "
                  "spawn refused)\n",
                  (unsigned long long)n - 1, enomem, clean, body_saw);
    /* the loop went somewhere: setup, spawns and timers all allocate */
    assert_true(n > 10);
    assert_true(enomem > 0);
    assert_true(body_saw > 0);

    /* and weft works normally afterwards */
    memset(&st, 0, sizeof st);
    assert_int_equal(weft_explore(&c, oom_body, &st, &r), 0);
    assert_int_equal(r.trace_hash, hash);
    weft_result_destroy(&r);
}

/* --------------------------------- a failing exploration, with report */

static void *failing_worker(void *arg)
{
    weft_yield();
    return arg;
}

static void failing_body(void *arg)
{
    bool *saw_enomem = arg;
    weft_thread_t t;
    int rc = weft_thread_spawn(&t, "worker", failing_worker, NULL);
    if (rc == -ENOMEM)
        *saw_enomem = true;
    else
        weft_thread_join(t, NULL);
    weft_sleep_for(WEFT_USEC);
    weft_fail("the bug");
}

static void oom_loop_over_a_failing_exploration_keeps_the_finding(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    bool saw = false;
    pinned(&c, 7, 3);
    c.trace_tail = 100;
    assert_int_equal(weft_explore(&c, failing_body, &saw, &r), 1);
    weft_result_destroy(&r);

    unsigned enomem = 0, found = 0, partial = 0;
    uint64_t n;
    silence_stderr();
    for (n = 1; n <= MAX_N; n++) {
        saw = false;
        weft_fail_alloc_after(n);
        int rc = weft_explore(&c, failing_body, &saw, &r);
        bool reached = failure_was_reached(n);
        if (rc == -ENOMEM) {
            enomem++;
        } else if (rc == 1 && r.finding == WEFT_FINDING_ASSERTION &&
                   strcmp(r.message, "failure: the bug") == 0) {
            found++;
            /* a report that could not grow keeps what fit */
            if (r.report == NULL ||
                strncmp(r.report, "weft: FAILED: failure: the bug", 30) != 0 ||
                strstr(r.report, "replay:") == NULL)
                partial++;
        } else {
            fail_with(&r, n, rc, "");
        }
        weft_result_destroy(&r);
        if (!reached)
            break;
    }
    restore_stderr();
    weft_fail_alloc_after(0);
    if (n > MAX_N)
        fail_msg("still failing allocations after %d", MAX_N);
    assert_true(enomem > 0);
    assert_true(found > 0);
    (void)partial;
}

/* -------------------------------------- replaying a schedule file */

static void oom_loop_over_a_replay(void **state)
{
    (void)state;
    char path[64];
    close(temp_file(path, sizeof path));

    weft_config_t c;
    weft_result_t r;
    bool saw = false;
    pinned(&c, 7, 3);
    c.schedule_out = path;
    assert_int_equal(weft_explore(&c, failing_body, &saw, &r), 1);
    uint64_t hash = r.trace_hash;
    weft_result_destroy(&r);

    pinned(&c, 1, 1);
    c.replay_file = path;
    unsigned enomem = 0, same = 0, diverged = 0;
    uint64_t n;
    silence_stderr();
    for (n = 1; n <= MAX_N; n++) {
        saw = false;
        weft_fail_alloc_after(n);
        int rc = weft_explore(&c, failing_body, &saw, &r);
        bool reached = failure_was_reached(n);
        if (rc == -ENOMEM) {
            enomem++;
        } else if (rc == 1 && r.finding == WEFT_FINDING_ASSERTION && !saw &&
                   r.trace_hash == hash) {
            same++;
        } else if (rc == 1 && saw &&
                   (r.finding == WEFT_FINDING_NONDETERMINISM ||
                    r.finding == WEFT_FINDING_ASSERTION)) {
            /* the body took another path because its spawn failed: the
             * replay may or may not notice before the same weft_fail */
            diverged++;
        } else {
            fail_with(&r, n, rc, saw ? " (spawn refused)" : "");
        }
        weft_result_destroy(&r);
        if (!reached)
            break;
    }
    restore_stderr();
    weft_fail_alloc_after(0);
    unlink(path);
    if (n > MAX_N)
        fail_msg("still failing allocations after %d", MAX_N);
    assert_true(enomem > 0);
    assert_true(same > 0);
    (void)diverged;
}

/* ------------------------------------ spawns refused for want of stacks */

#define CROWD 4000

struct crowd {
    unsigned want;    /* tasks to keep alive at once */
    unsigned spawned; /* spawns that succeeded */
    bool refused;     /* a spawn returned -ENOMEM */
    weft_sem_t go;
    weft_thread_t t[CROWD];
};

static void *crowd_member(void *arg)
{
    struct crowd *c = arg;
    weft_sem_wait(&c->go);
    return NULL;
}

/* Spawn up to c->want tasks that all stay blocked, then release and join
 * them: every task alive at once needs its own stack. */
static void crowd_body(void *arg)
{
    struct crowd *c = arg;
    weft_sem_init(&c->go, 0);
    c->spawned = 0;
    c->refused = false;
    for (unsigned i = 0; i < c->want; i++) {
        int rc = weft_thread_spawn(&c->t[i], "member", crowd_member, c);
        if (rc != 0) {
            weft_assert(rc == -ENOMEM, "spawn returned %d", rc);
            c->refused = true;
            break;
        }
        c->spawned++;
    }
    for (unsigned i = 0; i < c->spawned; i++)
        weft_sem_post(&c->go);
    for (unsigned i = 0; i < c->spawned; i++)
        weft_thread_join(c->t[i], NULL);
}

/* Each n fails the n-th allocation of an exploration that keeps more tasks
 * alive than the stack pool holds, so the failure lands on every step of a
 * spawn in turn: the task record, its stack's record, the stack's mapping.
 * A task record left half made (its stack pointer uninitialised) crashed
 * the teardown. */
static void oom_loop_over_many_live_tasks(void **state)
{
    (void)state;
    static struct crowd c;
    weft_config_t cfg;
    weft_result_t r;
    pinned(&cfg, 5, 1);
    c.want = 100;
    uint64_t n;
    unsigned refused = 0;
    silence_stderr();
    for (n = 1; n <= MAX_N; n++) {
        weft_fail_alloc_after(n);
        int rc = weft_explore(&cfg, crowd_body, &c, &r);
        bool reached = failure_was_reached(n);
        if (rc != 0 && rc != -ENOMEM)
            fail_with(&r, n, rc, "");
        refused += rc == 0 && c.refused;
        weft_result_destroy(&r);
        if (!reached)
            break;
    }
    restore_stderr();
    weft_fail_alloc_after(0);
    if (n > MAX_N)
        fail_msg("still failing allocations after %d", MAX_N);
    assert_true(refused > 0);
}

/* The same with a real limit, as a user meets it (ulimit -v): the kernel
 * refuses a stack's mapping, the spawn returns -ENOMEM, the body carries
 * on with fewer tasks, and the exploration ends normally. In a forked
 * child (the limit is for good); not under AddressSanitizer, whose
 * shadow memory needs terabytes of address space. */
#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_ASAN 1
#endif
#endif

static void spawn_refused_under_an_address_space_limit_is_clean(void **state)
{
    (void)state;
#ifdef WEFT_TEST_ASAN
    skip();
#else
    if (getenv("TEST_UNDER_QEMU") != NULL)
        skip(); /* the limit would be qemu's own address space */
    static struct crowd c;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka's handlers would catch a crash and run the next test */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        unsigned long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (f == NULL || fscanf(f, "%lu", &pages) != 1)
            _exit(10);
        fclose(f);
        /* room for a few hundred stacks of 256k, not for 4000 */
        struct rlimit lim;
        lim.rlim_cur = lim.rlim_max =
            pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)150 << 20);
        if (setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(11);
        weft_config_t cfg;
        pinned(&cfg, 5, 2);
        c.want = CROWD;
        int rc = weft_explore(&cfg, crowd_body, &c, NULL);
        if (rc != 0)
            _exit(12);
        _exit(c.refused && c.spawned > 10 ? 0 : 13);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("the exploration died of signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

/* -------------------------------------- what it says when out of memory */

static void empty_body(void *arg)
{
    (void)arg;
    weft_yield();
}

/* Every line weft printed is a sentence: "weft: " and then readable text,
 * never an empty or uninitialised message. */
static void check_lines(const char *text, uint64_t n)
{
    const char *p = text;
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        bool ok = len > 8 && strncmp(p, "weft: ", 6) == 0;
        for (size_t i = 0; ok && i < len; i++)
            ok = p[i] >= 0x20 && p[i] < 0x7f;
        if (!ok)
            fail_msg("n=%llu: weft printed \"%.*s\"", (unsigned long long)n,
                     (int)len, p);
        p += len + (p[len] == '\n');
    }
}

static void out_of_memory_messages_are_sentences(void **state)
{
    (void)state;
    char path[64];
    int fd = temp_file(path, sizeof path);
    weft_config_t c;
    weft_result_t r;
    uint64_t n;
    for (n = 1; n <= MAX_N; n++) {
        pinned(&c, 3, 2);
        assert_int_equal(ftruncate(fd, 0), 0);
        fflush(stderr);
        int saved = dup(2);
        dup2(fd, 2);
        lseek(fd, 0, SEEK_SET);
        weft_fail_alloc_after(n);
        int rc = weft_explore(&c, empty_body, NULL, &r);
        bool reached = failure_was_reached(n); /* its words count too */
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        weft_result_destroy(&r);
        char text[4096];
        ssize_t k = pread(fd, text, sizeof text - 1, 0);
        assert_true(k >= 0);
        text[k] = '\0';
        check_lines(text, n);
        assert_true(rc == 0 || rc == -ENOMEM);
        if (!reached)
            break;
    }
    weft_fail_alloc_after(0);
    close(fd);
    unlink(path);
    assert_true(n > 3 && n <= MAX_N);
}

/* ----------------------------------------------- no result, no leak */

static void explore_without_a_result_frees_its_report(void **state)
{
    (void)state;
    weft_config_t c;
    bool saw = false;
    pinned(&c, 7, 1);
    /* warm up */
    assert_int_equal(weft_explore(&c, failing_body, &saw, NULL), 1);
    size_t heap = heap_in_use();
    for (int i = 0; i < REPEAT; i++)
        assert_int_equal(weft_explore(&c, failing_body, &saw, NULL), 1);
    check_no_growth(heap, "weft_explore(..., NULL) on a failing body");
}

static void failing_explorations_do_not_grow_the_heap(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    bool saw = false;
    pinned(&c, 7, 1);
    assert_int_equal(weft_explore(&c, failing_body, &saw, &r), 1);
    weft_result_destroy(&r);
    size_t heap = heap_in_use();
    for (int i = 0; i < REPEAT; i++) {
        assert_int_equal(weft_explore(&c, failing_body, &saw, &r), 1);
        assert_non_null(r.report);
        weft_result_destroy(&r);
    }
    check_no_growth(heap, "failing explorations");
}

static void clean_explorations_do_not_grow_the_heap(void **state)
{
    (void)state;
    struct oom st;
    weft_config_t c;
    weft_result_t r;
    memset(&st, 0, sizeof st);
    pinned(&c, 11, 20);
    assert_int_equal(weft_explore(&c, oom_body, &st, &r), 0);
    weft_result_destroy(&r);
    size_t heap = heap_in_use();
    for (int i = 0; i < REPEAT; i++) {
        assert_int_equal(weft_explore(&c, oom_body, &st, &r), 0);
        weft_result_destroy(&r);
    }
    check_no_growth(heap, "clean explorations");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            oom_loop_over_an_exploration_ends_in_enomem_or_success,
            remove_temps),
        cmocka_unit_test_teardown(
            oom_loop_over_a_failing_exploration_keeps_the_finding,
            remove_temps),
        cmocka_unit_test_teardown(oom_loop_over_a_replay, remove_temps),
        cmocka_unit_test_teardown(oom_loop_over_many_live_tasks, remove_temps),
        cmocka_unit_test(spawn_refused_under_an_address_space_limit_is_clean),
        cmocka_unit_test_teardown(out_of_memory_messages_are_sentences,
                                  remove_temps),
        cmocka_unit_test_teardown(failing_explorations_do_not_grow_the_heap,
                                  remove_temps),
        cmocka_unit_test_teardown(explore_without_a_result_frees_its_report,
                                  remove_temps),
        cmocka_unit_test_teardown(clean_explorations_do_not_grow_the_heap,
                                  remove_temps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
