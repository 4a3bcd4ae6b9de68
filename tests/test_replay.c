/*
 * test_replay.c: determinism and replay: the same seed gives the same
 * execution, a failing seed replays its finding, a schedule file replays
 * the same execution, and a replay that stops matching its recording is
 * reported as nondeterminism instead of exploring something else.
 *
 * Schedule files are written to fresh temporary paths and removed. Tests
 * that expect weft to refuse a file run weft_explore in a forked child, to
 * read what it prints on stderr. Seeds are pinned and the environment is
 * ignored (use_env = false) except where a test sets it in a child.
 */
#include "weft.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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
    contains_at((hay), (needle), __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, const char *file,
                        int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("%s:%d: expected \"%s\" in:\n%s\n", file, line, needle,
                    hay ? hay : "(null)");
        _fail(file, line);
    }
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

/* A fresh temporary path (the file exists, empty). */
static void temp_path(char *path, size_t len)
{
    snprintf(path, len, "/tmp/weft-test-replay-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    if (ntemps < sizeof temps / sizeof temps[0])
        snprintf(temps[ntemps++], sizeof temps[0], "%s", path);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated, malloc'd. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t k;
    while ((k = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            cap *= 2;
            s = realloc(s, cap);
            assert_non_null(s);
        }
    }
    s[n] = '\0';
    fclose(f);
    return s;
}

/* In a forked child, exit() must not run the parent's leak check (make
 * asan): whatever the parent had allocated at the fork is not the child's
 * leak. This handler, registered last, runs first and leaves at once. */
static void exit_now(int status, void *arg)
{
    (void)arg;
    _exit(status);
}

/* Run fn(arg) in a forked child with stderr captured into err. Returns the
 * child's wait status. */
static int in_child(void (*fn)(void *), void *arg, char *err, size_t len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60); /* a hang ends as SIGALRM, not as a stuck test */
        on_exit(exit_now, NULL);
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while ((k = read(p[0], err + n, len - n - 1)) > 0)
        n += (size_t)k;
    err[n] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* ------------------------------------- a nontrivial, correct body */

#define ITEMS 6

/* A producer feeds a two-slot buffer that two consumers drain, with
 * timed waits, sleeps and atomics: plenty of choices and timer ties. */
struct pipeline {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    int slot[2];
    unsigned head, count;
    bool done;
    weft_atomic32_t sum;
    weft_atomic32_t taken;
};

static void *producer(void *arg)
{
    struct pipeline *st = arg;
    for (int i = 1; i <= ITEMS; i++) {
        weft_mutex_lock(&st->m);
        while (st->count == 2)
            weft_cond_timedwait(&st->nonfull, &st->m,
                                weft_now() + 3 * WEFT_USEC);
        st->slot[(st->head + st->count) % 2] = i;
        st->count++;
        weft_cond_signal(&st->nonempty);
        weft_mutex_unlock(&st->m);
        weft_sleep_for((i % 3) * WEFT_USEC);
    }
    weft_mutex_lock(&st->m);
    st->done = true;
    weft_cond_broadcast(&st->nonempty);
    weft_mutex_unlock(&st->m);
    return NULL;
}

static void *consumer(void *arg)
{
    struct pipeline *st = arg;
    for (;;) {
        weft_mutex_lock(&st->m);
        while (st->count == 0 && !st->done)
            weft_cond_timedwait(&st->nonempty, &st->m,
                                weft_now() + 2 * WEFT_USEC);
        if (st->count == 0) {
            weft_mutex_unlock(&st->m);
            return NULL;
        }
        int v = st->slot[st->head];
        st->head = (st->head + 1) % 2;
        st->count--;
        weft_cond_signal(&st->nonfull);
        weft_mutex_unlock(&st->m);
        weft_atomic32_fetch_add(&st->sum, (uint32_t)v);
        weft_atomic32_fetch_add(&st->taken, 1);
        weft_sleep_for(WEFT_USEC);
    }
}

static void pipeline_body(void *arg)
{
    struct pipeline *st = arg;
    weft_thread_t t[3];
    weft_mutex_init(&st->m, WEFT_MUTEX_NORMAL);
    weft_cond_init(&st->nonempty);
    weft_cond_init(&st->nonfull);
    st->head = st->count = 0;
    st->done = false;
    weft_atomic32_store(&st->sum, 0);
    weft_atomic32_store(&st->taken, 0);
    weft_assert(weft_thread_spawn(&t[0], "producer", producer, st) == 0,
                "spawn");
    weft_assert(weft_thread_spawn(&t[1], "consumer1", consumer, st) == 0,
                "spawn");
    weft_assert(weft_thread_spawn(&t[2], "consumer2", consumer, st) == 0,
                "spawn");
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    uint32_t sum = weft_atomic32_load(&st->sum);
    weft_assert(sum == ITEMS * (ITEMS + 1) / 2, "sum %u", sum);
    weft_assert(weft_atomic32_load(&st->taken) == ITEMS, "taken");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define SEEDS 1000

static void same_seed_gives_same_trace_hash_for_1000_seeds(void **state)
{
    (void)state;
    static uint64_t hashes[SEEDS];
    struct pipeline st;
    memset(&st, 0, sizeof st);
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        weft_config_t c;
        weft_result_t a, b;
        pinned(&c, seed, 1);
        assert_int_equal(weft_explore(&c, pipeline_body, &st, &a), 0);
        assert_int_equal(weft_explore(&c, pipeline_body, &st, &b), 0);
        if (a.trace_hash != b.trace_hash)
            fail_msg("seed %llu: trace hash %016llx then %016llx",
                     (unsigned long long)seed, (unsigned long long)a.trace_hash,
                     (unsigned long long)b.trace_hash);
        assert_int_equal(a.steps, b.steps);
        assert_int_equal(a.time, b.time);
        assert_int_equal(a.seed, seed);
        assert_true(a.time > 0); /* the sleeps moved virtual time */
        hashes[seed - 1] = a.trace_hash;
        weft_result_destroy(&a);
        weft_result_destroy(&b);
    }
    qsort(hashes, SEEDS, sizeof hashes[0], cmp_u64);
    unsigned distinct = 1;
    for (unsigned i = 1; i < SEEDS; i++)
        distinct += hashes[i] != hashes[i - 1];
    if (distinct < 20)
        fail_msg("only %u distinct executions in %d seeds", distinct, SEEDS);
}

/* The seed an exploration reports (here its last execution's) replays
 * that execution alone, whatever the other executions' seeds were. */
static void reported_seed_replays_its_execution_alone(void **state)
{
    (void)state;
    struct pipeline st;
    memset(&st, 0, sizeof st);
    weft_config_t c;
    weft_result_t many, one;
    pinned(&c, 5000, 50);
    assert_int_equal(weft_explore(&c, pipeline_body, &st, &many), 0);
    assert_int_equal(many.executions, 50);
    pinned(&c, many.seed, 1);
    assert_int_equal(weft_explore(&c, pipeline_body, &st, &one), 0);
    assert_int_equal(one.seed, many.seed);
    assert_int_equal(one.trace_hash, many.trace_hash);
    assert_int_equal(one.steps, many.steps);
    assert_int_equal(one.time, many.time);
    assert_true(many.total_steps > one.steps);
    weft_result_destroy(&many);
    weft_result_destroy(&one);
}

/* -------------------------------------------- a failing, racy body */

/* Three tasks do read, sleep or yield, write on a shared counter: lost
 * updates. A weft_choose decides how each one pauses, so the schedule
 * holds value choices as well as task choices. */
struct racy {
    weft_atomic32_t counter;
    weft_mutex_t m;
    uint32_t chosen[3];
};

static void *racy_fn(void *arg)
{
    struct racy *st = arg;
    weft_mutex_lock(&st->m);
    weft_mutex_unlock(&st->m);
    uint32_t v = weft_atomic32_load(&st->counter);
    uint32_t id = weft_thread_self().id - 1;
    uint64_t how = weft_choose(3);
    st->chosen[id] = (uint32_t)how;
    if (how == 0)
        weft_yield();
    else if (how == 1)
        weft_sleep_for(WEFT_USEC);
    weft_atomic32_store(&st->counter, v + 1);
    return NULL;
}

static void racy_body(void *arg)
{
    struct racy *st = arg;
    weft_thread_t t[3];
    weft_mutex_init(&st->m, WEFT_MUTEX_NORMAL);
    weft_atomic32_store(&st->counter, 0);
    for (int i = 0; i < 3; i++)
        weft_assert(weft_thread_spawn(&t[i], "racer", racy_fn, st) == 0,
                    "spawn");
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    uint32_t n = weft_atomic32_load(&st->counter);
    weft_assert(n == 3, "counter is %u", n);
}

static void failing_seed_replays_same_finding_and_hash(void **state)
{
    (void)state;
    struct racy st;
    memset(&st, 0, sizeof st);
    weft_config_t c;
    weft_result_t first, again;
    pinned(&c, 777, 1000);
    assert_int_equal(weft_explore(&c, racy_body, &st, &first), 1);
    assert_int_equal(first.finding, WEFT_FINDING_ASSERTION);
    uint32_t chosen[3];
    memcpy(chosen, st.chosen, sizeof chosen);

    for (int i = 0; i < 3; i++) {
        pinned(&c, first.seed, 1);
        memset(st.chosen, 0xff, sizeof st.chosen);
        assert_int_equal(weft_explore(&c, racy_body, &st, &again), 1);
        assert_int_equal(again.finding, first.finding);
        assert_string_equal(again.message, first.message);
        assert_int_equal(again.trace_hash, first.trace_hash);
        assert_int_equal(again.steps, first.steps);
        assert_int_equal(again.time, first.time);
        assert_int_equal(again.seed, first.seed);
        assert_int_equal(again.executions, 1);
        assert_memory_equal(st.chosen, chosen, sizeof chosen);
        weft_result_destroy(&again);
    }
    weft_result_destroy(&first);
}

static void schedule_file_replays_same_finding_and_hash(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    struct racy st;
    memset(&st, 0, sizeof st);
    weft_config_t c;
    weft_result_t rec, rep;
    pinned(&c, 777, 1000);
    c.schedule_out = path;
    c.replay_hint = "./test_replay";
    assert_int_equal(weft_explore(&c, racy_body, &st, &rec), 1);
    assert_int_equal(rec.finding, WEFT_FINDING_ASSERTION);
    uint32_t chosen[3];
    memcpy(chosen, st.chosen, sizeof chosen);
    char want[128];
    snprintf(want, sizeof want, "or:        WEFT_REPLAY=%s ./test_replay",
             path);
    assert_contains(rec.report, want);

    char *text = read_file(path);
    assert_true(strncmp(text, "weft-schedule 1\n", 16) == 0);
    assert_contains(text, "\nstrategy random\n");
    snprintf(want, sizeof want, "\nseed %llu\n", (unsigned long long)rec.seed);
    assert_contains(text, want);
    assert_contains(text, "\ndecisions ");
    assert_contains(text, "\nT ");
    assert_contains(text, "\nV ");
    free(text);

    /* The file carries seed and iterations: the config's are ignored. */
    for (int i = 0; i < 2; i++) {
        pinned(&c, 1, 1000);
        c.replay_file = path;
        c.strategy = i == 0 ? "random" : "replay";
        memset(st.chosen, 0xff, sizeof st.chosen);
        assert_int_equal(weft_explore(&c, racy_body, &st, &rep), 1);
        assert_int_equal(rep.finding, rec.finding);
        assert_string_equal(rep.message, rec.message);
        assert_int_equal(rep.trace_hash, rec.trace_hash);
        assert_int_equal(rep.steps, rec.steps);
        assert_int_equal(rep.time, rec.time);
        assert_int_equal(rep.seed, rec.seed);
        assert_int_equal(rep.executions, 1);
        assert_memory_equal(st.chosen, chosen, sizeof chosen);
        assert_contains(rep.report, "strategy replay");
        weft_result_destroy(&rep);
    }
    weft_result_destroy(&rec);
    unlink(path);
}

/* ------------------------------------------------ weft_choose replay */

struct choices {
    uint64_t v[6];
    uint64_t one;
};

static void *chooser(void *arg)
{
    struct choices *st = arg;
    st->v[3] = weft_choose(7);
    weft_yield();
    st->v[4] = weft_choose(1u << 20);
    return NULL;
}

static void choices_body(void *arg)
{
    struct choices *st = arg;
    weft_thread_t t;
    /* main alone: these are value choices with no task choice around */
    st->v[0] = weft_choose(10);
    st->v[1] = weft_choose(10);
    st->v[2] = weft_choose(1000);
    st->one = weft_choose(1);
    weft_assert(weft_thread_spawn(&t, "chooser", chooser, st) == 0, "spawn");
    st->v[5] = weft_choose(3);
    weft_thread_join(t, NULL);
    weft_fail("recorded");
}

static void check_ranges(const struct choices *st)
{
    assert_true(st->v[0] < 10);
    assert_true(st->v[1] < 10);
    assert_true(st->v[2] < 1000);
    assert_true(st->v[3] < 7);
    assert_true(st->v[4] < (1u << 20));
    assert_true(st->v[5] < 3);
    assert_int_equal(st->one, 0);
}

/* Replace the chosen value (last field) of the first V line. */
static void edit_first_value(const char *path, uint64_t value)
{
    char *text = read_file(path);
    char *v = strstr(text, "\nV ");
    assert_non_null(v);
    char *end = strchr(v + 1, '\n');
    char *hash = strchr(v + 1, '#');
    if (hash != NULL && hash < end)
        end = hash;
    while (end[-1] == ' ')
        end--;
    char *last = end;
    while (last[-1] != ' ')
        last--;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%llu%s", (int)(last - text), text,
            (unsigned long long)value, end);
    fclose(f);
    free(text);
}

static void choose_values_are_recorded_and_replayed(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    struct choices st, rec;
    weft_config_t c;
    weft_result_t r1, r2;

    /* values vary with the seed */
    bool varied = false;
    uint64_t first_v2 = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        pinned(&c, seed, 1);
        memset(&st, 0xff, sizeof st);
        assert_int_equal(weft_explore(&c, choices_body, &st, &r1), 1);
        check_ranges(&st);
        if (seed == 1)
            first_v2 = st.v[2];
        else if (st.v[2] != first_v2)
            varied = true;
        weft_result_destroy(&r1);
    }
    assert_true(varied);

    pinned(&c, 31, 1);
    c.schedule_out = path;
    memset(&rec, 0xff, sizeof rec);
    assert_int_equal(weft_explore(&c, choices_body, &rec, &r1), 1);
    assert_string_equal(r1.message, "failure: recorded");
    check_ranges(&rec);

    /* by seed */
    pinned(&c, 31, 1);
    memset(&st, 0xff, sizeof st);
    assert_int_equal(weft_explore(&c, choices_body, &st, &r2), 1);
    assert_memory_equal(&st, &rec, sizeof st);
    assert_int_equal(r2.trace_hash, r1.trace_hash);
    weft_result_destroy(&r2);

    /* by schedule file */
    pinned(&c, 999, 1);
    c.replay_file = path;
    memset(&st, 0xff, sizeof st);
    assert_int_equal(weft_explore(&c, choices_body, &st, &r2), 1);
    assert_int_equal(r2.finding, WEFT_FINDING_ASSERTION);
    assert_memory_equal(&st, &rec, sizeof st);
    assert_int_equal(r2.trace_hash, r1.trace_hash);
    weft_result_destroy(&r2);

    /* The file is what replay follows: an edited value comes back. */
    uint64_t edited = (rec.v[0] + 1) % 10;
    edit_first_value(path, edited);
    memset(&st, 0xff, sizeof st);
    assert_int_equal(weft_explore(&c, choices_body, &st, &r2), 1);
    assert_int_equal(r2.finding, WEFT_FINDING_ASSERTION);
    assert_int_equal(st.v[0], edited);
    assert_int_equal(st.v[1], rec.v[1]);
    assert_int_equal(st.v[2], rec.v[2]);
    weft_result_destroy(&r2);
    weft_result_destroy(&r1);
    unlink(path);
}

static void value_out_of_range_in_schedule_is_not_replayed(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    struct choices st;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 31, 1);
    c.schedule_out = path;
    assert_int_equal(weft_explore(&c, choices_body, &st, &r), 1);
    weft_result_destroy(&r);

    /* v[0] = weft_choose(10): 10 is not a value it can return */
    edit_first_value(path, 10);
    pinned(&c, 31, 1);
    c.replay_file = path;
    memset(&st, 0xff, sizeof st);
    int rc = weft_explore(&c, choices_body, &st, &r);
    weft_finding_t kind = r.finding;
    char msg[sizeof r.message];
    memcpy(msg, r.message, sizeof msg);
    weft_result_destroy(&r);
    unlink(path);
    /* Either the reader rejects the file as corrupt, or the replay
     * reports where and why it could not follow it; never a value out of
     * range and never a reason left blank. */
    if (rc == -EINVAL) {
        assert_int_equal(kind, WEFT_FINDING_NONE);
    } else {
        assert_int_equal(rc, 1);
        assert_int_equal(kind, WEFT_FINDING_NONDETERMINISM);
        assert_true(st.v[0] == UINT64_MAX);
        assert_contains(msg, "diverged at step 1");
        const char *why = strstr(msg, "step 1: ");
        assert_non_null(why);
        if (strlen(why + 8) < 10)
            fail_msg("no reason given: \"%s\"", msg);
    }
}

/* ------------------------------------------------------- divergence */

/* Counts visible operations as they start, so a test knows the step number
 * of any operation: every visible call in these bodies goes through OP,
 * and a thread's return (its exit operation) is counted by hand. */
#define OP(st, call) ((st)->ops++, (call))

struct div {
    bool extra;          /* the worker yields once more than recorded */
    unsigned *counter;   /* if set: yields taken from a global counter */
    uint64_t ops;        /* visible operations started */
    uint64_t extra_step; /* step of the extra yield */
    weft_atomic32_t flag;
};

static void *div_worker(void *arg)
{
    struct div *st = arg;
    OP(st, weft_yield());
    if (st->extra) {
        st->extra_step = st->ops + 1;
        OP(st, weft_yield());
    }
    if (st->counter != NULL) {
        /* Uncontrolled nondeterminism: state that outlives executions. */
        unsigned n = ++*st->counter;
        for (unsigned i = 0; i < n; i++)
            OP(st, weft_yield());
    }
    OP(st, weft_atomic32_store(&st->flag, 1));
    st->ops++; /* the exit */
    return NULL;
}

static void div_body(void *arg)
{
    struct div *st = arg;
    weft_thread_t w;
    st->ops = 0;
    st->extra_step = 0;
    OP(st, weft_atomic32_store(&st->flag, 0));
    OP(st, weft_thread_spawn(&w, "worker", div_worker, st));
    /* main stays ready while the worker runs: every worker operation is
     * a task choice between the two */
    while (OP(st, weft_atomic32_load(&st->flag)) == 0)
        OP(st, weft_yield());
    OP(st, weft_thread_join(w, NULL));
    weft_fail("end of the recording");
}

static void
replay_against_changed_body_is_nondeterminism_at_its_step(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    struct div st = { .extra = false };
    weft_config_t c;
    weft_result_t rec, r;
    pinned(&c, 4242, 1);
    c.schedule_out = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &rec), 1);
    assert_int_equal(rec.finding, WEFT_FINDING_ASSERTION);
    /* calibration: OP counts exactly the steps */
    assert_int_equal(st.ops, rec.steps);

    /* the same body replays cleanly */
    pinned(&c, 1, 1);
    c.replay_file = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_int_equal(r.trace_hash, rec.trace_hash);
    weft_result_destroy(&r);

    /* one more yield in the worker */
    st.extra = true;
    assert_int_equal(weft_explore(&c, div_body, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_NONDETERMINISM);
    assert_true(st.extra_step > 0);
    char want[64];
    /* Steps count operations that took effect; the diverging one is the
     * next. OP counts operations reached (main may have reached one it
     * has not performed yet), so the divergence is at or before it. */
    snprintf(want, sizeof want, "diverged at step %llu",
             (unsigned long long)r.steps + 1);
    assert_contains(r.message, want);
    assert_true(r.steps + 1 <= st.extra_step);
    assert_true(r.steps + 2 >= st.extra_step);
    assert_contains(r.report, "kind:      nondeterminism");
    assert_contains(r.report, "task:      task 1 \"worker\"");
    weft_result_destroy(&r);
    weft_result_destroy(&rec);
    unlink(path);
}

static void divergence_message_says_what_differs(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    struct div st = { .extra = false };
    weft_config_t c;
    weft_result_t rec, r;
    pinned(&c, 4242, 1);
    c.schedule_out = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &rec), 1);
    weft_result_destroy(&rec);
    char *text = read_file(path);
    unsigned recorded = 0;
    const char *d = strstr(text, "\ndecisions ");
    assert_non_null(d);
    assert_int_equal(sscanf(d, "\ndecisions %u", &recorded), 1);
    free(text);

    st.extra = true;
    pinned(&c, 1, 1);
    c.replay_file = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &r), 1);
    char msg[sizeof r.message];
    memcpy(msg, r.message, sizeof msg);
    uint64_t at = r.steps + 1; /* the operation that diverged */
    weft_result_destroy(&r);
    unlink(path);
    /* The worker's extra yield stands where the recording has its atomic
     * store: the message names both, at the extra yield's step. */
    assert_true(at <= st.extra_step && at + 1 >= st.extra_step);
    char want[64];
    snprintf(want, sizeof want, "diverged at step %llu",
             (unsigned long long)at);
    assert_contains(msg, want);
    assert_contains(msg, "yield");
    assert_contains(msg, "atomic");
    /* and it does not misstate the recording it was given */
    snprintf(want, sizeof want, "ended after %u", recorded);
    if (strstr(msg, "recording ended") != NULL)
        assert_contains(msg, want);
}

static void replay_of_body_that_ends_early_is_nondeterminism(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    struct div st = { .extra = true };
    weft_config_t c;
    weft_result_t rec, r;
    pinned(&c, 4242, 1);
    c.schedule_out = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &rec), 1);

    /* one yield fewer: it runs out of operations while the recording
     * still has choices, or makes a different one first */
    st.extra = false;
    pinned(&c, 1, 1);
    c.replay_file = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_NONDETERMINISM);
    assert_contains(r.message, "diverged");
    weft_result_destroy(&r);
    weft_result_destroy(&rec);
    unlink(path);
}

static void global_state_changing_between_runs_is_nondeterminism(void **state)
{
    (void)state;
    static unsigned runs; /* the uncontrolled input */
    char path[64];
    temp_path(path, sizeof path);
    struct div st = { .counter = &runs };
    weft_config_t c;
    weft_result_t rec, r;
    pinned(&c, 99, 1);
    c.schedule_out = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &rec), 1);
    assert_int_equal(rec.finding, WEFT_FINDING_ASSERTION);

    pinned(&c, 99, 1);
    c.replay_file = path;
    assert_int_equal(weft_explore(&c, div_body, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_NONDETERMINISM);
    assert_contains(r.message, "diverged");
    assert_contains(r.message, "step ");
    weft_result_destroy(&r);
    weft_result_destroy(&rec);
    unlink(path);
}

/* ---------------------------------------------- corrupt schedule files */

struct corrupt {
    const char *path;
    bool use_env; /* replay it through WEFT_REPLAY instead */
};

static void dummy_body(void *arg)
{
    (void)arg;
    weft_yield();
}

static void replay_in_child(void *arg)
{
    struct corrupt *k = arg;
    weft_config_t c;
    pinned(&c, 1, 1);
    if (k->use_env) {
        c.use_env = true;
        unsetenv("WEFT_SEED");
        unsetenv("WEFT_ITERATIONS");
        unsetenv("WEFT_STRATEGY");
        setenv("WEFT_REPLAY", k->path, 1);
    } else {
        c.replay_file = k->path;
    }
    weft_result_t r;
    int rc = weft_explore(&c, dummy_body, NULL, &r);
    weft_result_destroy(&r);
    _exit(rc == -EINVAL ? 0 : 100 + (rc < 0 ? -rc : rc));
}

/* Replays path in a child: expects -EINVAL and a message on stderr that
 * names the file and contains `what`. */
static void expect_rejected(const char *path, const char *what)
{
    struct corrupt k = { path, false };
    char err[2048];
    int status = in_child(replay_in_child, &k, err, sizeof err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: status %#x, stderr:\n%s", path, status, err);
    assert_contains(err, path);
    assert_contains(err, what);
}

static void corrupt_schedule_files_are_rejected(void **state)
{
    (void)state;
    char path[64], good[64];
    temp_path(path, sizeof path);
    temp_path(good, sizeof good);

    /* a real recording to damage */
    struct racy st;
    memset(&st, 0, sizeof st);
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 777, 1000);
    c.schedule_out = good;
    assert_int_equal(weft_explore(&c, racy_body, &st, &r), 1);
    weft_result_destroy(&r);
    char *text = read_file(good);

    write_file(path, "");
    expect_rejected(path, "empty file");

    write_file(path, "\n# only a comment\n\n");
    expect_rejected(path, "empty file");

    write_file(path, "weft-schedule 2\nseed 1\ndecisions 0\n");
    expect_rejected(path, "unsupported schedule version");

    write_file(path, "not a schedule\n");
    expect_rejected(path, "not a weft schedule");

    write_file(path, "seed 1\nweft-schedule 1\ndecisions 0\n");
    expect_rejected(path, "not a weft schedule");

    write_file(path, "weft-schedule 1\nseed 1\ndecisions 1\n"
                     "T 2 1 two 0 0\n");
    expect_rejected(path, ":4: corrupt schedule file: malformed decision");

    write_file(path, "weft-schedule 1\nseed 1\ndecisions 1\n"
                     "T 2 1 2 0\n");
    expect_rejected(path, "malformed decision");

    write_file(path, "weft-schedule 1\nseed 1\ndecisions 1\n"
                     "X 2 1 2 0 0\n");
    expect_rejected(path, ":4: corrupt schedule file");

    write_file(path, "weft-schedule 1\nseed 1\ndecisions 1\n"
                     "T -2 1 2 0 0\n");
    expect_rejected(path, "malformed decision");

    write_file(path, "weft-schedule 1\nseed 1\n"
                     "T 2 1 2 0 0\ndecisions 1\n");
    expect_rejected(path, "decision before the 'decisions' line");

    write_file(path, "weft-schedule 1\nseed one\ndecisions 0\n");
    expect_rejected(path, ":2: corrupt schedule file");

    write_file(path, "weft-schedule 1\nseed 1\ncolour 3\ndecisions 0\n");
    expect_rejected(path, "unknown key");

    write_file(path, "weft-schedule 1\nseed 1\n");
    expect_rejected(path, "no 'decisions' line");

    /* the real one, cut short: the last decision line dropped */
    char *cut = strdup(text);
    size_t n = strlen(cut);
    assert_true(n > 1 && cut[n - 1] == '\n');
    cut[n - 1] = '\0';
    *(strrchr(cut, '\n') + 1) = '\0';
    write_file(path, cut);
    expect_rejected(path, "truncated");
    free(cut);

    /* the real one with one decision too many */
    char *more = malloc(strlen(text) + 64);
    assert_non_null(more);
    sprintf(more, "%sT 999 5 2 0 1\n", text);
    write_file(path, more);
    expect_rejected(path, "more decisions than the header announces");
    free(more);

    /* undamaged, it replays */
    pinned(&c, 1, 1);
    c.replay_file = good;
    assert_int_equal(weft_explore(&c, racy_body, &st, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    weft_result_destroy(&r);

    free(text);
    unlink(path);
    unlink(good);
}

static void nonexistent_schedule_file_is_rejected(void **state)
{
    (void)state;
    const char *path = "/nonexistent/weft/schedule.txt";
    expect_rejected(path, "cannot open schedule file");

    /* in this process too: -EINVAL and no result */
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 1, 1);
    c.replay_file = path;
    /* the message goes to stderr: keep it out of the test's output */
    fflush(stderr);
    int saved = dup(2);
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    dup2(fileno(null), 2);
    int rc = weft_explore(&c, dummy_body, NULL, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(null);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 0);
    assert_null(r.report);
    weft_result_destroy(&r);
}

struct persisted_dir {
    const char *dir;
};

static void explore_persisted_in_child(void *arg)
{
    struct persisted_dir *k = arg;
    weft_config_t c;
    pinned(&c, 1, 3);
    c.quiet = false;
    c.progress = 0;
    c.failure_dir = k->dir;
    c.name = "odd";
    weft_result_t r;
    int rc = weft_explore(&c, dummy_body, NULL, &r);
    weft_result_destroy(&r);
    _exit(rc == 0 ? 0 : 100 + (rc < 0 ? -rc : rc));
}

/* A directory is not called an empty file, and a FIFO where a schedule
 * file is expected is refused at once: opening it for reading waited for
 * a writer forever. The same goes for files in a failure directory. */
static void a_directory_or_fifo_is_no_schedule_file(void **state)
{
    (void)state;
    char dir[64], sub[128], fifo[128], odd[128];
    snprintf(dir, sizeof dir, "/tmp/weft-test-replay-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/dir.schedule", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.schedule", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_rejected(sub, "is a directory, not a schedule file");
    expect_rejected(fifo, "is not a regular file");

    /* persisted ones are skipped with the reason; the search goes on */
    snprintf(odd, sizeof odd, "%s/odd", dir);
    assert_int_equal(mkdir(odd, 0700), 0);
    char a[160], b[160];
    snprintf(a, sizeof a, "%s/a.schedule", odd);
    snprintf(b, sizeof b, "%s/b.schedule", odd);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkfifo(b, 0600), 0);
    struct persisted_dir k = { dir };
    char err[4096];
    int status = in_child(explore_persisted_in_child, &k, err, sizeof err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("status %#x, stderr:\n%s", status, err);
    assert_contains(err, "skipping persisted failure");
    assert_contains(err, "a.schedule: is a directory");
    assert_contains(err, "b.schedule: is not a regular file");
    assert_contains(err, "3 executions, no failure");
    rmdir(a);
    unlink(b);
    rmdir(odd);
    rmdir(sub);
    unlink(fifo);
    rmdir(dir);
}

static void replay_strategy_without_a_file_is_rejected(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 1, 1);
    c.strategy = "replay";
    fflush(stderr);
    int saved = dup(2);
    FILE *null = fopen("/dev/null", "w");
    assert_non_null(null);
    dup2(fileno(null), 2);
    int rc = weft_explore(&c, dummy_body, NULL, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(null);
    assert_int_equal(rc, -EINVAL);
    weft_result_destroy(&r);
}

static void corrupt_schedule_from_weft_replay_exits_2(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    write_file(path, "weft-schedule 1\nseed 1\ndecisions 3\n");
    struct corrupt k = { path, true };
    char err[2048];
    int status = in_child(replay_in_child, &k, err, sizeof err);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 2)
        fail_msg("status %#x, stderr:\n%s", status, err);
    assert_contains(err, "weft: ");
    assert_contains(err, path);
    assert_contains(err, "truncated");
    unlink(path);
}

/* ------------------------------------------------ pasting replay lines */

/* `test_replay replay-child STRATEGY ARG`: explore racy_body under the
 * environment (so a pasted replay line steers it), report on stderr and
 * exit 1 on a finding. ARG is only carried along, like a test's own
 * argument, to appear in the replay line. */
static int replay_child_main(int argc, char **argv)
{
    weft_args(&argc, argv);
    struct racy st;
    memset(&st, 0, sizeof st);
    weft_config_t c;
    weft_config_init(&c);
    c.seed = 12;
    c.iterations = 200;
    c.progress = 0;
    c.strategy = argv[2];
    weft_result_t r;
    int rc = weft_explore(&c, racy_body, &st, &r);
    weft_result_destroy(&r);
    return rc == 1 ? 1 : rc == 0 ? 0 : 2;
}

/* Run `sh -c cmd` (or this program in replay-child mode when cmd is NULL,
 * with arguments strategy and arg) in cwd with TMPDIR=tmp; stderr into
 * out. Returns the exit status. */
static int run_in(const char *cwd, const char *tmp, const char *cmd,
                  const char *strategy, const char *arg, char *out, size_t len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        if (chdir(cwd) != 0)
            _exit(126);
        setenv("TMPDIR", tmp, 1);
        unsetenv("WEFT_QUIET");
        alarm(60);
        if (cmd != NULL)
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        else
            execl(self, self, "replay-child", strategy, arg, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t k = 0;
    ssize_t got;
    while ((got = read(p[0], out + k, len - k - 1)) > 0)
        k += (size_t)got;
    out[k] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The text after `prefix` on its line, into buf. */
static bool line_after(const char *text, const char *prefix, char *buf,
                       size_t len)
{
    const char *p = strstr(text, prefix);
    if (p == NULL)
        return false;
    p += strlen(prefix);
    size_t n = strcspn(p, "\n");
    if (n >= len)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

/* Replay lines are pasted into shells: every word must come out as it
 * went in, whatever it holds. An argument with a quote and a TMPDIR with
 * $(...) and quotes used to run commands when the line was pasted (an
 * embedded ' was not escaped, the WEFT_REPLAY= path not quoted at all).
 * Each printed line, run by sh, must reproduce the same finding (same
 * trace hash) and run nothing else. */
static void replay_lines_are_shell_safe(void **state)
{
    (void)state;
    if (getenv("TEST_UNDER_QEMU") != NULL)
        skip(); /* qemu-user cannot run this foreign binary again */
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/weft-test-replay-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char tmp[256], arg[256], pwned1[128], pwned2[128];
    snprintf(pwned1, sizeof pwned1, "%s/pwned1", dir);
    snprintf(pwned2, sizeof pwned2, "%s/pwned2", dir);
    snprintf(tmp, sizeof tmp, "%s/t $(touch pwned2) `x` \"q\" 'it''s'", dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    snprintf(arg, sizeof arg, "x'; touch pwned1; echo '");
    static const char *const strategies[] = { "random", "dfs" };
    static char out[65536], again[65536];
    for (int s = 0; s < 2; s++) {
        int rc = run_in(dir, tmp, NULL, strategies[s], arg, out, sizeof out);
        if (rc != 1)
            fail_msg("%s: status %d:\n%s", strategies[s], rc, out);
        char hash[64], line[4096];
        assert_true(line_after(out, "  trace hash: ", hash, sizeof hash));
        static const char *const prefixes[] = { "  replay:    ",
                                                "  or:        " };
        int lines = 0;
        for (int i = 0; i < 2; i++) {
            if (!line_after(out, prefixes[i], line, sizeof line))
                continue;
            lines++;
            rc = run_in(dir, tmp, line, NULL, NULL, again, sizeof again);
            char hash2[64] = "";
            line_after(again, "  trace hash: ", hash2, sizeof hash2);
            if (rc != 1 || strcmp(hash, hash2) != 0)
                fail_msg("%s: the pasted line\n  %s\nexited %d, trace hash "
                         "'%s' (want '%s'):\n%s",
                         strategies[s], line, rc, hash2, hash, again);
        }
        if (lines == 0)
            fail_msg("%s: no replay line in:\n%s", strategies[s], out);
        if (access(pwned1, F_OK) == 0 || access(pwned2, F_OK) == 0)
            fail_msg("%s: pasting a replay line ran a command:\n%s",
                     strategies[s], out);
        if (s == 1)
            assert_non_null(strstr(out, "WEFT_REPLAY="));
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "replay-child") == 0)
        return replay_child_main(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            same_seed_gives_same_trace_hash_for_1000_seeds, remove_temps),
        cmocka_unit_test_teardown(reported_seed_replays_its_execution_alone,
                                  remove_temps),
        cmocka_unit_test_teardown(failing_seed_replays_same_finding_and_hash,
                                  remove_temps),
        cmocka_unit_test_teardown(schedule_file_replays_same_finding_and_hash,
                                  remove_temps),
        cmocka_unit_test_teardown(choose_values_are_recorded_and_replayed,
                                  remove_temps),
        cmocka_unit_test_teardown(
            value_out_of_range_in_schedule_is_not_replayed, remove_temps),
        cmocka_unit_test_teardown(
            replay_against_changed_body_is_nondeterminism_at_its_step,
            remove_temps),
        cmocka_unit_test_teardown(divergence_message_says_what_differs,
                                  remove_temps),
        cmocka_unit_test_teardown(
            replay_of_body_that_ends_early_is_nondeterminism, remove_temps),
        cmocka_unit_test_teardown(
            global_state_changing_between_runs_is_nondeterminism, remove_temps),
        cmocka_unit_test_teardown(corrupt_schedule_files_are_rejected,
                                  remove_temps),
        cmocka_unit_test_teardown(nonexistent_schedule_file_is_rejected,
                                  remove_temps),
        cmocka_unit_test_teardown(replay_lines_are_shell_safe, remove_temps),
        cmocka_unit_test_teardown(a_directory_or_fifo_is_no_schedule_file,
                                  remove_temps),
        cmocka_unit_test_teardown(replay_strategy_without_a_file_is_rejected,
                                  remove_temps),
        cmocka_unit_test_teardown(corrupt_schedule_from_weft_replay_exits_2,
                                  remove_temps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
