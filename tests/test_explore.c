/*
 * test_explore.c: the explorer around the strategies: shrinking a failing
 * schedule, replaying the shrunk schedule file, failures persisted in a
 * directory and replayed first, worker processes (jobs) and shards that
 * split the same sequence of executions, keep_going, the time budget, and
 * the JSON and Perfetto exports.
 *
 * Every test pins its seed and strategy and ignores the environment
 * (use_env = false). Files go to a private temporary directory (TMPDIR is
 * pointed at it in main, so schedules weft writes by default land there
 * too) that is removed at the end. Tests that read what weft prints run
 * weft_explore in a forked child with stderr captured.
 */
#include "weft.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------- helpers */

static char tmp_root[256]; /* this program's private temporary directory */

static void pinned(weft_config_t *c, const char *strategy, uint64_t seed,
                   uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->progress = 0;
    c->strategy = strategy;
    c->seed = seed;
    c->iterations = iterations;
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

/* Destroy a result and remove the schedule file a failure left behind. */
static void done(weft_result_t *r)
{
    if (r->schedule_file[0] != '\0')
        unlink(r->schedule_file);
    weft_result_destroy(r);
}

/* A fresh directory under tmp_root. */
static void temp_dir(char *path, size_t len)
{
    snprintf(path, len, "%s/dir-XXXXXX", tmp_root);
    assert_non_null(mkdtemp(path));
}

/* A fresh path under tmp_root (the file does not exist). */
static void temp_path(char *path, size_t len, const char *suffix)
{
    static unsigned n;
    snprintf(path, len, "%s/file-%u%s", tmp_root, n++, suffix);
    unlink(path);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file, NUL-terminated, malloc'd; NULL if it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0, k;
    char *s = malloc(cap);
    assert_non_null(s);
    while ((k = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
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
 * asan): this handler, registered last, runs first and leaves at once. */
static void exit_now(int status, void *arg)
{
    (void)arg;
    _exit(status);
}

/* Run fn(arg) in a forked child with stderr captured into err; the child
 * exits with fn's return value. Returns the child's wait status. */
static int in_child(int (*fn)(void *), void *arg, char *err, size_t len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        on_exit(exit_now, NULL);
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        _exit(fn(arg) & 0xff);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < len && (k = read(p[0], err + n, len - n - 1)) > 0)
        n += (size_t)k;
    err[n] = '\0';
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

/* "file:line" of a source line of this file. */
static const char *here(int line)
{
    static char buf[4][300];
    static unsigned k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s:%d", __FILE__, line);
    return b;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- bodies */

/* ABBA: each thread takes the two locks in the other's order. */
struct abba {
    weft_mutex_t a, b;
};

static void *lock_ab(void *arg)
{
    struct abba *st = arg;
    weft_mutex_lock(&st->a);
    weft_mutex_lock(&st->b);
    weft_mutex_unlock(&st->b);
    weft_mutex_unlock(&st->a);
    return NULL;
}

static void *lock_ba(void *arg)
{
    struct abba *st = arg;
    weft_mutex_lock(&st->b);
    weft_mutex_lock(&st->a);
    weft_mutex_unlock(&st->a);
    weft_mutex_unlock(&st->b);
    return NULL;
}

static void body_abba(void *arg)
{
    struct abba *st = arg;
    weft_thread_t t1, t2;
    weft_mutex_init(&st->a, WEFT_MUTEX_NORMAL);
    weft_mutex_init(&st->b, WEFT_MUTEX_NORMAL);
    weft_thread_spawn(&t1, "ab", lock_ab, st);
    weft_thread_spawn(&t2, "ba", lock_ba, st);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
}

/* A lost update: two threads increment with a load and a store. With
 * `fixed`, the store becomes a fetch_add and the assertion holds; the
 * visible operations stay the same, so a schedule recorded before the fix
 * still replays after it. The threads do a few unrelated operations
 * first, so schedules vary in length and preemptions. */
struct racy {
    weft_atomic32_t n, noise;
    bool fixed;
};

static void *increment(void *arg)
{
    struct racy *st = arg;
    for (int i = 0; i < 3; i++)
        (void)weft_atomic32_fetch_add(&st->noise, 1);
    uint32_t v = weft_atomic32_load(&st->n);
    if (st->fixed)
        (void)weft_atomic32_fetch_add(&st->n, 1);
    else
        weft_atomic32_store(&st->n, v + 1);
    return NULL;
}

/* Lines of the assertions below, set as they are passed (for checking
 * the location a report names). */
static int racy_line, wr_line, first_line, second_line;

static void body_racy(void *arg)
{
    struct racy *st = arg;
    weft_thread_t t[2];
    st->n.v = st->noise.v = 0;
    weft_thread_spawn(&t[0], "inc1", increment, st);
    weft_thread_spawn(&t[1], "inc2", increment, st);
    weft_thread_join(t[0], NULL);
    weft_thread_join(t[1], NULL);
    uint32_t n = weft_atomic32_load(&st->n);
    racy_line = __LINE__ + 1;
    weft_assert(n == 2, "lost update: n == %u", n);
}

/* The depth-2 bug of test_strategy.c: the writer must stop between its
 * two stores for the whole of the reader's run. pad_b operations of a
 * bystander make executions long. */
struct wr {
    weft_atomic32_t x, y, pad;
    int pad_r, pad_b;
};

static void *writer(void *arg)
{
    struct wr *st = arg;
    weft_atomic32_store(&st->x, 1);
    weft_atomic32_store(&st->y, 1);
    return NULL;
}

static void *reader(void *arg)
{
    struct wr *st = arg;
    for (int i = 0; i < st->pad_r; i++)
        (void)weft_atomic32_load(&st->pad);
    uint32_t x = weft_atomic32_load(&st->x);
    uint32_t y = weft_atomic32_load(&st->y);
    wr_line = __LINE__ + 1;
    weft_assert(!(x == 1 && y == 0), "x without y");
    return NULL;
}

static void *bystander(void *arg)
{
    struct wr *st = arg;
    for (int i = 0; i < st->pad_b; i++)
        (void)weft_atomic32_fetch_add(&st->pad, 1);
    return NULL;
}

static void body_wr(void *arg)
{
    struct wr *st = arg;
    weft_thread_t t[3];
    st->x.v = st->y.v = st->pad.v = 0;
    weft_thread_spawn(&t[0], "writer", writer, st);
    weft_thread_spawn(&t[1], "reader", reader, st);
    weft_thread_spawn(&t[2], "bystander", bystander, st);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
}

/* A correct body with plenty of interleavings, a mutex, sleeps and a
 * chosen value; `values` records each execution's chosen value (the
 * value depends only on the execution's seed under random). */
#define MAX_RECORD 4096

struct calm {
    weft_mutex_t m;
    int count;
    uint64_t values[MAX_RECORD];
    unsigned nvalues;
};

static void *calm_worker(void *arg)
{
    struct calm *st = arg;
    for (int i = 0; i < 2; i++) {
        weft_mutex_lock(&st->m);
        st->count++;
        weft_mutex_unlock(&st->m);
        weft_sleep_for(WEFT_USEC);
    }
    return NULL;
}

static void body_calm(void *arg)
{
    struct calm *st = arg;
    weft_thread_t t[3];
    weft_mutex_init(&st->m, WEFT_MUTEX_NORMAL);
    st->count = 0;
    uint64_t v = weft_choose(1000000);
    if (st->nvalues < MAX_RECORD)
        st->values[st->nvalues++] = v;
    for (int i = 0; i < 3; i++)
        weft_thread_spawn(&t[i], "worker", calm_worker, st);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(st->count == 6, "count %d", st->count);
}

/* Two different bugs: t1 asserts it ran its exchange before t2, and main
 * asserts no increment was lost. */
struct two_bugs {
    weft_atomic32_t last, n;
};

static void *bug_t1(void *arg)
{
    struct two_bugs *st = arg;
    uint32_t prev = weft_atomic32_exchange(&st->last, 1);
    first_line = __LINE__ + 1;
    weft_assert(prev != 2, "t2 ran first");
    uint32_t v = weft_atomic32_load(&st->n);
    weft_atomic32_store(&st->n, v + 1);
    return NULL;
}

static void *bug_t2(void *arg)
{
    struct two_bugs *st = arg;
    (void)weft_atomic32_exchange(&st->last, 2);
    uint32_t v = weft_atomic32_load(&st->n);
    weft_atomic32_store(&st->n, v + 1);
    return NULL;
}

static void body_two_bugs(void *arg)
{
    struct two_bugs *st = arg;
    weft_thread_t t1, t2;
    st->last.v = st->n.v = 0;
    weft_thread_spawn(&t1, "t1", bug_t1, st);
    weft_thread_spawn(&t2, "t2", bug_t2, st);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
    second_line = __LINE__ + 1;
    weft_assert(weft_atomic32_load(&st->n) == 2, "lost update");
}

/* ---------------------------------------------------------- shrinking */

struct failing {
    const char *what;
    weft_body_fn *body;
    void *arg;
    const char *strategy;
    uint64_t seed;
    weft_finding_t kind;
    int *line; /* the failing line, or NULL (a deadlock has no one
                  place) */
};

static struct abba abba_st;
static struct racy racy_st;
static struct wr wr_short = { .pad_r = 4, .pad_b = 4 };
static struct wr wr_long = { .pad_r = 3, .pad_b = 300 };

static const struct failing failing[] = {
    { "abba random", body_abba, &abba_st, "random", 1, WEFT_FINDING_DEADLOCK,
      NULL },
    { "abba pct", body_abba, &abba_st, "pct", 1, WEFT_FINDING_DEADLOCK, NULL },
    { "racy random", body_racy, &racy_st, "random", 1, WEFT_FINDING_ASSERTION,
      &racy_line },
    { "racy random 2", body_racy, &racy_st, "random", 1000,
      WEFT_FINDING_ASSERTION, &racy_line },
    { "racy pct", body_racy, &racy_st, "pct", 1, WEFT_FINDING_ASSERTION,
      &racy_line },
    { "wr random", body_wr, &wr_short, "random", 1, WEFT_FINDING_ASSERTION,
      &wr_line },
    { "wr pct", body_wr, &wr_short, "pct", 1, WEFT_FINDING_ASSERTION,
      &wr_line },
    { "wr long random", body_wr, &wr_long, "random", 1, WEFT_FINDING_ASSERTION,
      &wr_line },
    { "abba pos", body_abba, &abba_st, "pos", 1, WEFT_FINDING_DEADLOCK, NULL },
    { "racy pos", body_racy, &racy_st, "pos", 1, WEFT_FINDING_ASSERTION,
      &racy_line },
    { "wr pos", body_wr, &wr_short, "pos", 1, WEFT_FINDING_ASSERTION,
      &wr_line },
};
#define NFAILING (sizeof failing / sizeof *failing)

/* Where explore_failing writes the failing schedule (NULL: nowhere, the
 * seed replays it). */
static const char *schedule_out;

static int explore_failing(const struct failing *f, bool shrink,
                           weft_result_t *r)
{
    weft_config_t c;
    pinned(&c, f->strategy, f->seed, 100000);
    c.pct_depth = 2;
    c.shrink = shrink;
    c.schedule_out = schedule_out;
    c.lock_order = 0; /* ABBA here is for deadlocks (test_lockorder.c) */
    racy_st.fixed = false;
    return weft_explore(&c, f->body, f->arg, r);
}

/* Shrinking changes the schedule, never what was found or where: the
 * same first failing seed, kind, message and line as without shrinking,
 * and no more preemptions than the execution it started from. */
static void shrinking_keeps_the_failure_and_never_adds_preemptions(void **s)
{
    (void)s;
    for (size_t i = 0; i < NFAILING; i++) {
        const struct failing *f = &failing[i];
        weft_result_t raw, sh;
        assert_int_equal(explore_failing(f, false, &raw), 1);
        assert_int_equal(explore_failing(f, true, &sh), 1);
        assert_int_equal(raw.finding, f->kind);
        assert_int_equal(sh.finding, f->kind);
        assert_int_equal(sh.seed, raw.seed);
        if (f->kind != WEFT_FINDING_DEADLOCK) {
            assert_string_equal(sh.message, raw.message);
            assert_contains(raw.report, here(*f->line));
            assert_contains(sh.report, here(*f->line));
        }
        /* before shrinking, the same execution either way */
        assert_int_equal(sh.shrunk_steps, raw.steps);
        assert_int_equal(sh.shrunk_preemptions, raw.preemptions);
        assert_true(sh.preemptions <= sh.shrunk_preemptions);
        done(&raw);
        done(&sh);
    }
}

/* Shrinking makes the reported execution no longer than the one found.
 * Fails today: it trades any number of steps for fewer preemptions
 * (.notes/bugs-explorer.md, 1). */
static void shrinking_never_lengthens_the_failing_execution(void **s)
{
    (void)s;
    unsigned longer = 0;
    for (size_t i = 0; i < NFAILING; i++) {
        const struct failing *f = &failing[i];
        weft_result_t r;
        assert_int_equal(explore_failing(f, true, &r), 1);
        if (r.steps > r.shrunk_steps) {
            print_error("%s: shrinking took %" PRIu64 " steps, %u "
                        "preemptions to %" PRIu64 " steps, %u\n",
                        f->what, r.shrunk_steps, r.shrunk_preemptions, r.steps,
                        r.preemptions);
            longer++;
        }
        done(&r);
    }
    assert_int_equal(longer, 0);
}

/* One preemption is all an ABBA deadlock needs, whichever strategy found
 * it and with how many. */
static void abba_shrinks_to_one_preemption(void **s)
{
    (void)s;
    for (size_t i = 0; i < 2; i++) {
        weft_result_t r;
        assert_int_equal(explore_failing(&failing[i], true, &r), 1);
        assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
        assert_int_equal(r.preemptions, 1);
        assert_true(r.shrunk_preemptions >= 1);
        assert_contains(r.report, "shrunk:");
        done(&r);
    }
}

static void without_shrinking_the_counts_stay_as_found(void **s)
{
    (void)s;
    for (size_t i = 0; i < NFAILING; i++) {
        weft_result_t r;
        assert_int_equal(explore_failing(&failing[i], false, &r), 1);
        assert_int_equal(r.steps, r.shrunk_steps);
        assert_int_equal(r.preemptions, r.shrunk_preemptions);
        assert_null(strstr(r.report, "shrunk:"));
        assert_contains(r.report, "WEFT_SHRINK=0");
        done(&r);
    }
}

/* The schedule file of a (shrunk) failure replays exactly the execution
 * reported. */
static void shrunk_schedule_file_replays_the_same_finding(void **s)
{
    (void)s;
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-test-shrunk-%ld.schedule",
             (long)getpid());
    schedule_out = path;
    for (size_t i = 0; i < NFAILING; i++) {
        const struct failing *f = &failing[i];
        weft_result_t r, again;
        assert_int_equal(explore_failing(f, true, &r), 1);
        assert_true(r.schedule_file[0] != '\0');
        assert_int_equal(access(r.schedule_file, R_OK), 0);
        assert_contains(r.report, r.schedule_file);

        weft_config_t c;
        pinned(&c, "random", 12345, 1000);
        c.replay_file = r.schedule_file;
        assert_int_equal(weft_explore(&c, f->body, f->arg, &again), 1);
        assert_int_equal(again.finding, r.finding);
        assert_string_equal(again.message, r.message);
        assert_int_equal(again.trace_hash, r.trace_hash);
        assert_int_equal(again.steps, r.steps);
        assert_int_equal(again.executions, 1);
        weft_result_destroy(&again); /* its schedule_file is r's */
        done(&r);
    }
    schedule_out = NULL;
}

/* -------------------------------------------------- persisted failures */

/* The number of *.schedule files in dir, and the first one's path. */
static unsigned schedules_in(const char *dir, char *first, size_t len)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 9 && strcmp(e->d_name + l - 9, ".schedule") == 0) {
            if (n++ == 0 && first != NULL)
                snprintf(first, len, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return n;
}

struct persisted_run {
    const char *dir;
    uint64_t seed, iterations;
    bool fixed;
    bool quiet;
    weft_result_t r;
};

static int run_persisted(void *arg)
{
    struct persisted_run *p = arg;
    weft_config_t c;
    pinned(&c, "random", p->seed, p->iterations);
    c.name = "x";
    c.failure_dir = p->dir;
    c.quiet = p->quiet;
    racy_st.fixed = p->fixed;
    int rc = weft_explore(&c, body_racy, &racy_st, &p->r);
    racy_st.fixed = false;
    return rc;
}

/* A passing seed of body_racy, for a run of one execution. */
static uint64_t passing_seed(void)
{
    for (uint64_t seed = 1; seed < 1000; seed++) {
        weft_config_t c;
        weft_result_t r;
        pinned(&c, "random", seed, 1);
        racy_st.fixed = false;
        int rc = weft_explore(&c, body_racy, &racy_st, &r);
        done(&r);
        if (rc == 0)
            return seed;
    }
    fail_msg("no passing seed for body_racy");
    return 0;
}

static void persisted_failure_is_replayed_first_until_fixed(void **s)
{
    (void)s;
    char dir[300], sub[400], file[700], err[16384];
    temp_dir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/x", dir);

    /* 1. A failing search persists its (shrunk) schedule in dir/x/. */
    struct persisted_run p = { dir, 1, 1000, false, true, { 0 } };
    assert_int_equal(run_persisted(&p), 1);
    weft_result_t first = p.r;
    assert_int_equal(schedules_in(sub, file, sizeof file), 1);
    assert_string_equal(first.schedule_file, file);

    /* 2. A search that cannot fail by itself (one passing seed) replays
     * the persisted failure first, and fails the same way. */
    uint64_t ok = passing_seed();
    p = (struct persisted_run){ dir, ok, 1, false, true, { 0 } };
    assert_int_equal(run_persisted(&p), 1);
    assert_int_equal(p.r.finding, first.finding);
    assert_string_equal(p.r.message, first.message);
    assert_int_equal(p.r.trace_hash, first.trace_hash);
    assert_string_equal(p.r.schedule_file, file);
    weft_result_destroy(&p.r);
    assert_int_equal(schedules_in(sub, NULL, 0), 1);

    /* ... and says so. */
    p = (struct persisted_run){ dir, ok, 1, false, false, { 0 } };
    int st = in_child(run_persisted, &p, err, sizeof err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_contains(err, "still fails");
    assert_contains(err, first.message);

    /* 3. Fixed: the persisted failure passes now, and so does the run. */
    p = (struct persisted_run){ dir, ok, 1, true, true, { 0 } };
    assert_int_equal(run_persisted(&p), 0);
    assert_int_equal(p.r.finding, WEFT_FINDING_NONE);
    weft_result_destroy(&p.r);
    p = (struct persisted_run){ dir, ok, 1, true, false, { 0 } };
    st = in_child(run_persisted, &p, err, sizeof err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_contains(err, "passes now");

    /* Another test name does not see x's failures; a name is made safe
     * for a directory name. */
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", ok, 1);
    c.name = "y";
    c.failure_dir = dir;
    racy_st.fixed = false;
    assert_int_equal(weft_explore(&c, body_racy, &racy_st, &r), 0);
    weft_result_destroy(&r);
    pinned(&c, "random", 1, 1000);
    c.name = "suite/case one";
    c.failure_dir = dir;
    assert_int_equal(weft_explore(&c, body_racy, &racy_st, &r), 1);
    snprintf(sub, sizeof sub, "%s/suite_case_one", dir);
    assert_int_equal(schedules_in(sub, file, sizeof file), 1);
    assert_string_equal(r.schedule_file, file);
    weft_result_destroy(&r);

    weft_result_destroy(&first);
    rm_rf(dir);
}

/* ----------------------------------------------------------------- jobs */

struct jobs_case {
    const char *what;
    weft_body_fn *body;
    void *arg;
    const char *strategy;
    unsigned depth;
    uint64_t pct_steps;
    uint64_t seed, iterations;
    bool keep_going, shrink;
};

static struct wr wr_pct = { .pad_r = 10, .pad_b = 10 };
static struct two_bugs two_bugs_st;

static int explore_jobs(const struct jobs_case *j, unsigned jobs,
                        weft_result_t *r)
{
    weft_config_t c;
    pinned(&c, j->strategy, j->seed, j->iterations);
    c.pct_depth = j->depth;
    c.pct_steps = j->pct_steps;
    c.keep_going = j->keep_going;
    c.shrink = j->shrink;
    c.jobs = jobs;
    racy_st.fixed = false;
    return weft_explore(&c, j->body, j->arg, r);
}

/* What check_jobs_agree compares, copied out of a result so the result
 * can be destroyed before any assertion (no leak when one fails). */
struct outcome {
    int rc;
    weft_finding_t finding;
    uint64_t seed, trace_hash, steps, executions, distinct;
    unsigned failures;
    char message[512];
};

static struct outcome outcome_of(const struct jobs_case *j, unsigned jobs)
{
    weft_result_t r;
    struct outcome o;
    memset(&o, 0, sizeof o);
    o.rc = explore_jobs(j, jobs, &r);
    o.finding = r.finding;
    o.seed = r.seed;
    o.trace_hash = r.trace_hash;
    o.steps = r.steps;
    o.executions = r.executions;
    o.distinct = r.distinct;
    o.failures = r.failures;
    snprintf(o.message, sizeof o.message, "%s", r.message);
    done(&r);
    return o;
}

static void check_jobs_agree(const struct jobs_case *j)
{
    struct outcome one = outcome_of(j, 1);
    assert_int_equal(one.rc, 1);
    for (unsigned jobs = 2; jobs <= 3; jobs++) {
        struct outcome many = outcome_of(j, jobs);
        if (many.rc != one.rc || many.seed != one.seed)
            print_error("%s: jobs=1 fails at seed %" PRIu64 ", jobs=%u at "
                        "seed %" PRIu64 "\n",
                        j->what, one.seed, jobs, many.seed);
        assert_int_equal(many.rc, one.rc);
        assert_int_equal(many.finding, one.finding);
        assert_int_equal(many.seed, one.seed);
        assert_string_equal(many.message, one.message);
        assert_int_equal(many.trace_hash, one.trace_hash);
        assert_int_equal(many.steps, one.steps);
        assert_int_equal(many.failures, one.failures);
        assert_true(many.executions >= 1);
        assert_true(many.distinct >= 1 && many.distinct <= many.executions);
        assert_true(many.executions <= j->iterations);
        if (!j->keep_going) /* every execution up to the failure ran */
            assert_true(many.executions >= one.executions);
    }
}

static void jobs_find_the_same_first_failure(void **s)
{
    (void)s;
    const struct jobs_case cases[] = {
        { "abba random", body_abba, &abba_st, "random", 3, 0, 1, 10000, false,
          true },
        /* dfs does not replay from a seed: jobs are ignored */
        { "abba dfs", body_abba, &abba_st, "dfs", 3, 0, 1, 10000, false, true },
        { "racy random", body_racy, &racy_st, "random", 3, 0, 7, 10000, false,
          true },
        { "racy random, no shrink", body_racy, &racy_st, "random", 3, 0, 1000,
          10000, false, false },
        { "wr pct d2 k given", body_wr, &wr_pct, "pct", 2, 34, 1000, 10000,
          false, true },
        { "wr pct d3 k given", body_wr, &wr_pct, "pct", 3, 34, 5, 10000, false,
          true },
        { "wr random", body_wr, &wr_pct, "random", 3, 0, 1, 100000, false,
          true },
        { "two bugs keep going", body_two_bugs, &two_bugs_st, "random", 3, 0, 1,
          500, true, true },
        { "racy pos", body_racy, &racy_st, "pos", 3, 0, 7, 10000, false, true },
        { "wr pos", body_wr, &wr_pct, "pos", 3, 0, 1, 100000, false, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_jobs_agree(&cases[i]);
}

/* The same with pct learning k (WEFT_PCT_STEPS unset, the default) on a
 * program longer than the initial k of 64 steps. Fails today: workers
 * freeze k at the fork while a serial search learns it, so execution i
 * is another execution (.notes/bugs-explorer.md, 3). */
static void jobs_find_the_same_first_failure_with_pct_learning_k(void **s)
{
    (void)s;
    static struct wr wr_40 = { .pad_r = 40, .pad_b = 40 };
    const struct jobs_case j = { "wr pct d2 k learnt, 94 steps",
                                 body_wr,
                                 &wr_40,
                                 "pct",
                                 2,
                                 0,
                                 1,
                                 5000,
                                 false,
                                 true };
    check_jobs_agree(&j);
}

/* On a passing body, workers run every execution once between them:
 * the same count, the same distinct traces, the same steps. */
static void jobs_run_every_execution_of_a_passing_search(void **s)
{
    (void)s;
    static struct calm st;
    weft_result_t one, many;
    weft_config_t c;
    pinned(&c, "random", 42, 400);
    assert_int_equal(weft_explore(&c, body_calm, &st, &one), 0);
    assert_int_equal(one.executions, 400);
    for (unsigned jobs = 2; jobs <= 4; jobs++) {
        pinned(&c, "random", 42, 400);
        c.jobs = jobs;
        assert_int_equal(weft_explore(&c, body_calm, &st, &many), 0);
        assert_int_equal(many.executions, 400);
        assert_int_equal(many.distinct, one.distinct);
        assert_int_equal(many.total_steps, one.total_steps);
        assert_false(many.exhausted);
        done(&many);
    }
    done(&one);

    /* more workers than executions */
    pinned(&c, "random", 42, 3);
    c.jobs = 4;
    assert_int_equal(weft_explore(&c, body_calm, &st, &many), 0);
    assert_int_equal(many.executions, 3);
    done(&many);

    /* workers within a shard run that shard's executions */
    for (unsigned jobs = 1; jobs <= 2; jobs++) {
        pinned(&c, "random", 42, 400);
        c.shard_index = 2;
        c.shard_count = 3;
        c.jobs = jobs;
        assert_int_equal(weft_explore(&c, body_calm, &st, &many), 0);
        assert_int_equal(many.executions, 133); /* 1, 4, ..., 397 */
        if (jobs == 1)
            one = many;
        else
            assert_int_equal(many.distinct, one.distinct);
        if (jobs > 1)
            done(&many);
    }
    done(&one);
}

/* --------------------------------------------------------------- shards */

/* Shard k of n runs the executions i with i % n == k - 1 of the unsharded
 * search, in order: the chosen value of each execution (a function of its
 * seed alone) says which execution ran. */
static void shards_split_the_unsharded_search(void **s)
{
    (void)s;
    static struct calm all, part;
    weft_config_t c;
    weft_result_t r;
    all.nvalues = 0;
    pinned(&c, "random", 1000, 301);
    assert_int_equal(weft_explore(&c, body_calm, &all, &r), 0);
    assert_int_equal(all.nvalues, 301);
    uint64_t distinct_all = r.distinct;
    weft_result_destroy(&r);

    uint64_t sum = 0, distinct_sum = 0;
    for (unsigned k = 1; k <= 3; k++) {
        part.nvalues = 0;
        pinned(&c, "random", 1000, 301);
        c.shard_index = k;
        c.shard_count = 3;
        assert_int_equal(weft_explore(&c, body_calm, &part, &r), 0);
        assert_int_equal(r.executions, k == 1 ? 101 : 100); /* 301 = 3*100+1 */
        assert_int_equal(part.nvalues, r.executions);
        for (unsigned i = 0; i < part.nvalues; i++)
            assert_int_equal(part.values[i], all.values[3 * i + (k - 1)]);
        sum += r.executions;
        distinct_sum += r.distinct;
        weft_result_destroy(&r);
    }
    assert_int_equal(sum, 301);
    assert_true(distinct_sum >= distinct_all);
}

/* The first failure of the unsharded search is the first failure of the
 * shard that owns its index; the other shards fail later. A serial search
 * stops at its first failure, so its index is executions - 1, and shard
 * k's m-th execution (from 0) has index k - 1 + 3m. */
static void each_shard_fails_at_its_own_first_failing_index(void **s)
{
    (void)s;
    weft_config_t c;
    weft_result_t all, r;
    pinned(&c, "random", 1, 1000);
    c.shrink = false;
    racy_st.fixed = false;
    assert_int_equal(weft_explore(&c, body_racy, &racy_st, &all), 1);
    uint64_t first_all = all.executions - 1, first = UINT64_MAX;
    for (unsigned k = 1; k <= 3; k++) {
        pinned(&c, "random", 1, 1000);
        c.shrink = false;
        c.shard_index = k;
        c.shard_count = 3;
        assert_int_equal(weft_explore(&c, body_racy, &racy_st, &r), 1);
        uint64_t index = (k - 1) + 3 * (r.executions - 1);
        assert_true(index >= first_all);
        if (index < first)
            first = index;
        if (index == first_all) {
            assert_int_equal(r.seed, all.seed);
            assert_int_equal(r.trace_hash, all.trace_hash);
            assert_string_equal(r.message, all.message);
        } else {
            assert_true(r.seed != all.seed);
        }
        done(&r);
    }
    assert_int_equal(first, first_all);
    done(&all);
}

/* The same for pct learning its k, on a program longer than 64 steps. A
 * per-execution signature of the schedule (which task ran each step)
 * tells executions apart. Fails today: each shard learns k from its own
 * executions only (.notes/bugs-explorer.md, 4). */
struct sig_wr {
    struct wr wr;
    uint64_t sig;
    uint64_t sigs[MAX_RECORD];
    unsigned nsigs;
};

static void *sig_task(void *arg);

static void body_sig(void *arg)
{
    struct sig_wr *st = arg;
    weft_thread_t t[3];
    st->sig = 0;
    for (int i = 0; i < 3; i++)
        weft_thread_spawn(&t[i], "t", sig_task, st);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    if (st->nsigs < MAX_RECORD)
        st->sigs[st->nsigs++] = st->sig;
}

static void *sig_task(void *arg)
{
    struct sig_wr *st = arg;
    uint64_t me = weft_thread_self().id;
    for (int i = 0; i < 30; i++) {
        (void)weft_atomic32_fetch_add(&st->wr.pad, 1);
        st->sig = (st->sig ^ me) * 0x100000001b3ULL;
    }
    return NULL;
}

static void
shards_of_a_pct_search_learning_k_split_the_unsharded_search(void **s)
{
    (void)s;
    static struct sig_wr all, part;
    weft_config_t c;
    weft_result_t r;
    all.nsigs = 0;
    pinned(&c, "pct", 1, 60);
    c.pct_depth = 3;
    assert_int_equal(weft_explore(&c, body_sig, &all, &r), 0);
    assert_true(r.steps > 64);
    weft_result_destroy(&r);
    unsigned mismatches = 0;
    for (unsigned k = 1; k <= 2; k++) {
        part.nsigs = 0;
        pinned(&c, "pct", 1, 60);
        c.pct_depth = 3;
        c.shard_index = k;
        c.shard_count = 2;
        assert_int_equal(weft_explore(&c, body_sig, &part, &r), 0);
        weft_result_destroy(&r);
        /* A shard that does not run execution 0 runs it once first,
         * uncounted, to learn pct's k from it as the unsharded run does. */
        unsigned probe = k > 1;
        assert_int_equal(part.nsigs, 30 + probe);
        if (probe)
            mismatches += part.sigs[0] != all.sigs[0];
        for (unsigned i = 0; i < 30; i++)
            mismatches += part.sigs[i + probe] != all.sigs[2 * i + (k - 1)];
    }
    if (mismatches != 0)
        print_error("%u of 60 sharded pct executions differ from the "
                    "unsharded execution with the same index\n",
                    mismatches);
    assert_int_equal(mismatches, 0);
}

/* dfs numbers its executions in search order: shard k of n takes those
 * with i % n == k - 1 of that order, so the shards of an exhausted search
 * add up to it. Program: two threads with one store each, main spawning
 * and joining them in an atomic block (test_strategy.c counts it). Fails
 * today: every shard runs the whole search (.notes/bugs-explorer.md, 2). */
static weft_atomic32_t dfs_cell;

static void *dfs_store(void *arg)
{
    (void)arg;
    weft_atomic32_store(&dfs_cell, 1);
    return NULL;
}

static void body_dfs_small(void *arg)
{
    (void)arg;
    weft_thread_t t1, t2;
    weft_atomic_begin();
    weft_thread_spawn(&t1, "t1", dfs_store, NULL);
    weft_thread_spawn(&t2, "t2", dfs_store, NULL);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
    weft_atomic_end();
}

static void shards_split_a_dfs_search(void **s)
{
    (void)s;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "dfs", 1, 1000);
    c.preemption_bound = -1;
    assert_int_equal(weft_explore(&c, body_dfs_small, NULL, &r), 0);
    assert_true(r.exhausted);
    uint64_t all = r.executions;
    assert_true(all > 2);
    weft_result_destroy(&r);
    uint64_t sum = 0;
    for (unsigned k = 1; k <= 2; k++) {
        pinned(&c, "dfs", 1, 1000);
        c.preemption_bound = -1;
        c.shard_index = k;
        c.shard_count = 2;
        assert_int_equal(weft_explore(&c, body_dfs_small, NULL, &r), 0);
        print_message("dfs shard %u/2: %" PRIu64 " executions%s\n", k,
                      r.executions, r.exhausted ? " (exhausted)" : "");
        sum += r.executions;
        weft_result_destroy(&r);
    }
    assert_int_equal(sum, all);
}

/* ----------------------------------------------------------- keep going */

static void keep_going_reports_each_distinct_failure(void **s)
{
    (void)s;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, 500);
    assert_int_equal(weft_explore(&c, body_two_bugs, &two_bugs_st, &r), 1);
    assert_int_equal(r.failures, 1);
    done(&r);

    pinned(&c, "random", 1, 500);
    c.keep_going = true;
    assert_int_equal(weft_explore(&c, body_two_bugs, &two_bugs_st, &r), 1);
    assert_int_equal(r.failures, 2);
    /* it went on past the first failure, to the end */
    assert_int_equal(r.executions, 500);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    done(&r);
    /* the second failure's schedule went to TMPDIR, removed at exit */
}

static int run_two_bugs_loud(void *arg)
{
    (void)arg;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, 500);
    c.keep_going = true;
    c.quiet = false;
    int rc = weft_explore(&c, body_two_bugs, &two_bugs_st, &r);
    weft_result_destroy(&r);
    return rc;
}

static void keep_going_reports_both_failures_in_full(void **s)
{
    (void)s;
    char err[65536];
    int st = in_child(run_two_bugs_loud, NULL, err, sizeof err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_contains(err, "t2 ran first");
    assert_contains(err, "lost update");
    assert_contains(err, here(first_line));
    assert_contains(err, here(second_line));
    assert_contains(err, "2 distinct failures");
}

/* ---------------------------------------------------------- time budget */

static void time_budget_ends_an_endless_search(void **s)
{
    (void)s;
    static struct calm st;
    for (unsigned jobs = 1; jobs <= 2; jobs++) {
        weft_config_t c;
        weft_result_t r;
        pinned(&c, "random", 1, UINT64_MAX);
        c.time_budget = 0.2;
        c.jobs = jobs;
        double t0 = now_s();
        assert_int_equal(weft_explore(&c, body_calm, &st, &r), 0);
        double el = now_s() - t0;
        assert_true(el < 5.0);
        assert_true(el >= 0.2);
        assert_true(r.executions > 0);
        assert_false(r.exhausted);
        weft_result_destroy(&r);
    }
}

/* The budget is kept to within an execution or two, however long one
 * execution takes (here 20 ms of real time each). Fails today: the budget
 * is checked every 64 executions (.notes/bugs-explorer.md, 5). */
static void slow_body(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    weft_yield();
}

static void time_budget_holds_for_slow_executions(void **s)
{
    (void)s;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, UINT64_MAX);
    c.time_budget = 0.2;
    double t0 = now_s();
    assert_int_equal(weft_explore(&c, slow_body, NULL, &r), 0);
    double el = now_s() - t0;
    if (el >= 0.6)
        print_error("a 0.2 s budget took %.2f s: %" PRIu64 " executions of "
                    "20 ms\n",
                    el, r.executions);
    assert_true(r.executions > 0);
    assert_true(el < 0.6);
    weft_result_destroy(&r);
}

/* -------------------------------------------------------------- exports */

/* Validate a JSON file with /usr/bin/python3 when there is one; returns
 * false (and checks nothing) when there is none. */
static bool python_json_ok(const char *path, bool *valid)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        return false;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import json,sys; "
             "json.load(open(sys.argv[1]))' '%s'",
             path);
    *valid = system(cmd) == 0;
    return true;
}

/* Brackets and braces outside strings balance and never go negative. */
static bool balanced(const char *s)
{
    int depth[2] = { 0, 0 };
    bool in_str = false;
    for (; *s; s++) {
        if (in_str) {
            if (*s == '\\' && s[1] != '\0')
                s++;
            else if (*s == '"')
                in_str = false;
            continue;
        }
        if (*s == '"')
            in_str = true;
        else if (*s == '{' || *s == '}')
            depth[0] += *s == '{' ? 1 : -1;
        else if (*s == '[' || *s == ']')
            depth[1] += *s == '[' ? 1 : -1;
        if (depth[0] < 0 || depth[1] < 0)
            return false;
    }
    return !in_str && depth[0] == 0 && depth[1] == 0;
}

static void check_json_file(const char *path, const char *text)
{
    assert_true(balanced(text));
    bool valid;
    if (python_json_ok(path, &valid))
        assert_true(valid);
}

static void json_result_describes_a_failure(void **s)
{
    (void)s;
    char path[300];
    temp_path(path, sizeof path, ".json");
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, 1000);
    c.json_out = path;
    c.name = "racy \"quoted\"";
    racy_st.fixed = false;
    assert_int_equal(weft_explore(&c, body_racy, &racy_st, &r), 1);
    char *j = slurp(path);
    assert_non_null(j);
    assert_contains(j, "\"status\": \"failed\"");
    assert_contains(j, "\"kind\": \"assertion\"");
    assert_contains(j, "\"strategy\": \"random\"");
    assert_contains(j, "\"name\": \"racy \\\"quoted\\\"\"");
    char want[128];
    snprintf(want, sizeof want, "\"seed\": %" PRIu64 ",", r.seed);
    assert_contains(j, want);
    snprintf(want, sizeof want, "\"trace_hash\": \"%016" PRIx64 "\"",
             r.trace_hash);
    assert_contains(j, want);
    snprintf(want, sizeof want, "\"executions\": %" PRIu64 ",", r.executions);
    assert_contains(j, want);
    assert_contains(j, "lost update");
    check_json_file(path, j);
    free(j);
    unlink(path);
    done(&r);
}

static void json_result_of_a_pass_has_a_null_finding(void **s)
{
    (void)s;
    static struct calm st;
    char path[300];
    temp_path(path, sizeof path, ".json");
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 5, 50);
    c.json_out = path;
    assert_int_equal(weft_explore(&c, body_calm, &st, &r), 0);
    char *j = slurp(path);
    assert_non_null(j);
    assert_contains(j, "\"status\": \"passed\"");
    assert_contains(j, "\"finding\": null");
    assert_contains(j, "\"executions\": 50,");
    assert_contains(j, "\"seed\": 5,");
    check_json_file(path, j);
    free(j);
    unlink(path);
    weft_result_destroy(&r);
}

static void perfetto_trace_shows_tasks_waits_and_the_finding(void **s)
{
    (void)s;
    char path[300];
    temp_path(path, sizeof path, ".json");
    weft_config_t c;
    weft_result_t r;
    pinned(&c, "random", 1, 1000);
    c.trace_out = path;
    c.lock_order = 0; /* the deadlock, not the inversion before it */
    assert_int_equal(weft_explore(&c, body_abba, &abba_st, &r), 1);
    char *t = slurp(path);
    assert_non_null(t);
    assert_true(strncmp(t, "{\"displayTimeUnit\"", 18) == 0);
    assert_contains(t, "\"traceEvents\"");
    assert_contains(t, "\"events_dropped\": 0");
    assert_contains(t, "\"thread_name\"");
    assert_contains(t, "\"0 main\"");
    assert_contains(t, "\"1 ab\"");
    assert_contains(t, "\"2 ba\"");
    assert_contains(t, "\"blocked\"");
    assert_contains(t, "\"name\": \"deadlock\"");
    check_json_file(path, t);
    free(t);
    unlink(path);
    done(&r);

    /* an assertion, in a long execution */
    temp_path(path, sizeof path, ".json");
    pinned(&c, "random", 1, 100000);
    c.trace_out = path;
    assert_int_equal(weft_explore(&c, body_wr, &wr_long, &r), 1);
    t = slurp(path);
    assert_non_null(t);
    assert_contains(t, "\"events_dropped\": 0");
    assert_contains(t, "\"1 writer\"");
    assert_contains(t, "\"2 reader\"");
    assert_contains(t, "\"3 bystander\"");
    assert_contains(t, "\"name\": \"assertion\"");
    assert_contains(t, "x without y");
    check_json_file(path, t);
    free(t);
    unlink(path);
    done(&r);
}

/* --------------------------------------------- errors are no passes */

static void *ok_worker(void *arg)
{
    weft_mutex_t *m = arg;
    weft_mutex_lock(m);
    weft_yield();
    weft_mutex_unlock(m);
    return NULL;
}

static void body_ok(void *arg)
{
    (void)arg;
    weft_mutex_t m = WEFT_MUTEX_INITIALIZER;
    weft_thread_t a, b;
    /* a spawn the failing allocation refused is not joined */
    bool has_a = weft_thread_spawn(&a, "a", ok_worker, &m) == 0;
    bool has_b = weft_thread_spawn(&b, "b", ok_worker, &m) == 0;
    if (has_a)
        weft_thread_join(a, NULL);
    if (has_b)
        weft_thread_join(b, NULL);
}

struct err_case {
    uint64_t n;
    unsigned jobs;
    const char *json;
};

static int run_failing_nth(void *arg)
{
    struct err_case *k = arg;
    weft_config_t c;
    pinned(&c, "random", 5, 40);
    c.quiet = false;
    c.jobs = k->jobs;
    c.json_out = k->json;
    weft_fail_alloc_after(k->n);
    int rc = weft_explore(&c, body_ok, NULL, NULL);
    weft_fail_alloc_after(0);
    return rc == 0 ? 0 : rc == 1 ? 1 : 2;
}

/* For n = 1, 2, ...: the n-th allocation (a fork of a worker process
 * counts as one) fails during an exploration with two workers. weft may
 * then stop with an error, but it must say so: the reason, "error",
 * "without a verdict", never "no failure", and a JSON status "error".
 * The old code returned a negative code and printed "40 executions, no
 * failure", and a worker it could not fork went unmentioned. */
static void an_error_never_reads_like_a_pass(void **s)
{
    (void)s;
    static char err[65536];
    char json[512];
    temp_path(json, sizeof json, ".json");
    unsigned errors = 0, forks = 0, passes = 0;
    /* the failures land in the first twenty allocations or so (forks at
     * 11 and 12): past 32 all is passes, and each n forks three
     * processes, slow under valgrind */
    for (uint64_t n = 1; n <= 32; n++) {
        struct err_case k = { n, 2, json };
        unlink(json);
        int st = in_child(run_failing_nth, &k, err, sizeof err);
        if (!WIFEXITED(st) || WEXITSTATUS(st) == 1)
            fail_msg("n=%llu: status %#x:\n%s", (unsigned long long)n, st, err);
        if (WEXITSTATUS(st) == 2) {
            errors++;
            forks += strstr(err, "cannot fork worker") != NULL;
            /* "no failure" only when the executions did pass and an
             * output file could not be written */
            bool output = strstr(err, "error: an output file could not be "
                                      "written") != NULL;
            if ((strstr(err, "no failure") != NULL && !output) ||
                strstr(err, "error: ") == NULL ||
                strstr(err, "without a verdict") == NULL)
                fail_msg("n=%llu: an error reported as:\n%s",
                         (unsigned long long)n, err);
            /* the JSON says error, unless the failing allocation was
             * the one writing it, which is said too */
            char *j = slurp(json);
            if (j == NULL ? strstr(err, "cannot write the JSON result") == NULL
                          : strstr(j, "\"status\": \"error\"") == NULL)
                fail_msg("n=%llu: JSON after an error:\n%s\nstderr:\n%s",
                         (unsigned long long)n, j ? j : "(none)", err);
            free(j);
        } else {
            passes++;
            assert_contains(err, "40 executions, no failure");
        }
    }
    print_message("  %u errors (%u of them a fork), %u passes\n", errors, forks,
                  passes);
    assert_true(errors > 0);
    assert_true(forks > 0);
    assert_true(passes > 0);
    unlink(json);
}

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_ASAN 1
#endif
#endif

#ifndef WEFT_TEST_ASAN
static int run_without_main_stack(void *arg)
{
    struct err_case *k = arg;
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%lu", &pages) != 1)
        return 90;
    fclose(f);
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max =
        pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)64 << 20);
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        return 91;
    weft_config_t c;
    pinned(&c, "random", 5, 40);
    c.quiet = true; /* errors are said even so */
    c.stack_size = (size_t)512 << 20;
    c.json_out = k->json;
    int rc = weft_explore(&c, body_ok, NULL, NULL);
    return rc == -ENOMEM ? 0 : rc == 0 ? 10 : rc == 1 ? 11 : 12;
}
#endif

/* The main task's stack cannot be mapped (an address-space limit): the
 * exploration is an error that names the limit, not a pass. */
static void a_main_task_that_cannot_be_made_is_an_error(void **s)
{
    (void)s;
#ifdef WEFT_TEST_ASAN
    skip(); /* AddressSanitizer's shadow needs the address space */
#else
    if (getenv("TEST_UNDER_QEMU") != NULL)
        skip(); /* the limit would be qemu's own address space */
    static char err[8192];
    char json[512];
    temp_path(json, sizeof json, ".json");
    struct err_case k = { 0, 1, json };
    int st = in_child(run_without_main_stack, &k, err, sizeof err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("status %#x:\n%s", st, err);
    assert_contains(err, "error: task 0 (0 alive): cannot map a task stack "
                         "of 524288 KiB");
    assert_contains(err, "RLIMIT_AS");
    assert_contains(err, "stopped after 0 executions, without a verdict");
    if (strstr(err, "no failure") != NULL)
        fail_msg("an error reported as a pass:\n%s", err);
    char *j = slurp(json);
    assert_contains(j, "\"status\": \"error\"");
    free(j);
    unlink(json);
#endif
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/weft-test-explore-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(tmp_root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    setenv("TMPDIR", tmp_root, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            shrinking_keeps_the_failure_and_never_adds_preemptions),
        cmocka_unit_test(shrinking_never_lengthens_the_failing_execution),
        cmocka_unit_test(abba_shrinks_to_one_preemption),
        cmocka_unit_test(without_shrinking_the_counts_stay_as_found),
        cmocka_unit_test(shrunk_schedule_file_replays_the_same_finding),
        cmocka_unit_test(persisted_failure_is_replayed_first_until_fixed),
        cmocka_unit_test(jobs_find_the_same_first_failure),
        cmocka_unit_test(jobs_find_the_same_first_failure_with_pct_learning_k),
        cmocka_unit_test(jobs_run_every_execution_of_a_passing_search),
        cmocka_unit_test(shards_split_the_unsharded_search),
        cmocka_unit_test(each_shard_fails_at_its_own_first_failing_index),
        cmocka_unit_test(
            shards_of_a_pct_search_learning_k_split_the_unsharded_search),
        cmocka_unit_test(shards_split_a_dfs_search),
        cmocka_unit_test(keep_going_reports_each_distinct_failure),
        cmocka_unit_test(keep_going_reports_both_failures_in_full),
        cmocka_unit_test(time_budget_ends_an_endless_search),
        cmocka_unit_test(time_budget_holds_for_slow_executions),
        cmocka_unit_test(json_result_describes_a_failure),
        cmocka_unit_test(json_result_of_a_pass_has_a_null_finding),
        cmocka_unit_test(perfetto_trace_shows_tasks_waits_and_the_finding),
        cmocka_unit_test(an_error_never_reads_like_a_pass),
        cmocka_unit_test(a_main_task_that_cannot_be_made_is_an_error),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(tmp_root);
    return failed;
}
