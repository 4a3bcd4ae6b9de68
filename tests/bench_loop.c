/*
 * bench_loop.c: what weft's event-loop layer costs: an await round trip
 * between two coroutines of one loop, and executions per second of the
 * shapes of examples/blocking_in_loop.c and examples/timeout_race.c.
 *
 * Round trips run in one long execution (1 + REPS executions of it; the
 * first is cold and shown apart), timed from inside the main coroutine:
 *   - yield: two coroutines call weft_await_yield in turn; one await +
 *     resume is coroutine -> loop thread -> the other coroutine;
 *   - futures: two coroutines bounce a ball through futures (A completes
 *     ping[i] and awaits pong[i], B awaits ping[i] and completes pong[i]);
 *     each round trip is two suspensions and two resumptions.
 * Executions per second use the random strategy with c.quiet,
 * c.use_env = false and c.shrink = false. The failing shapes stop at their
 * first execution, so they are timed as whole explorations (one execution
 * each, then the finding's replay, report and schedule file; the schedule
 * goes to $WEFT_BENCH_DIR/bench_loop.schedule).
 *
 * Every figure is measured REPS times and reported as best and median of
 * the wall time (CLOCK_MONOTONIC), and beside it the best of the thread's
 * CPU time (CLOCK_THREAD_CPUTIME_ID): every task of an execution runs on
 * the calling OS thread, so that is what weft itself spent, whatever else
 * the machine is doing. Nothing here asserts on time. The program fails only if
 * a workload does not behave under weft as the examples say (a passing
 * shape fails, or a failing one finds something else). Output: a table on
 * stdout and $WEFT_BENCH_DIR/bench_loop.json (default "."). Run with
 * `make bench`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <weft.h>

#define REPS        5
#define MAX_FIGURES 16

/* ------------------------------------------------------------ plumbing */

/* Wall and CPU time of the calling thread, in ns. */
struct sample {
    double wall, cpu;
};

static double clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct sample now(void)
{
    return (struct sample){ clock_ns(CLOCK_MONOTONIC),
                            clock_ns(CLOCK_THREAD_CPUTIME_ID) };
}

/* (now() - t0) / per, or per / (now() - t0) for a rate. */
static struct sample since(struct sample t0, double per, bool rate)
{
    struct sample t = now();
    t.wall -= t0.wall;
    t.cpu -= t0.cpu;
    if (rate)
        return (struct sample){ per / t.wall * 1e9, per / t.cpu * 1e9 };
    return (struct sample){ t.wall / per, t.cpu / per };
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v; best is the smallest (a cost) or largest (a rate). */
struct stat2 {
    double best, median;
};

static struct stat2 summarize(double *v, int n, bool higher_is_better)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    struct stat2 s = { higher_is_better ? v[n - 1] : v[0], v[n / 2] };
    if (n % 2 == 0)
        s.median = (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

struct figure {
    const char *section; /* table heading */
    const char *key;     /* JSON name */
    const char *label;   /* table row */
    const char *unit;
    struct stat2 v;   /* wall time */
    struct stat2 cpu; /* the thread's CPU time */
    int reps;
};

static struct figure figures[MAX_FIGURES];
static int nfigures;
static int failures; /* workloads that misbehaved under weft */
static char schedule_out[4200];

/* Summarize n samples (a cost, or a rate if higher_is_better). */
static void add(const char *section, const char *key, const char *label,
                const char *unit, struct sample *v, int n,
                bool higher_is_better)
{
    double w[REPS + 1], c[REPS + 1];
    if (nfigures == MAX_FIGURES || n > REPS + 1)
        return;
    for (int i = 0; i < n; i++) {
        w[i] = v[i].wall;
        c[i] = v[i].cpu;
    }
    struct figure *f = &figures[nfigures++];
    f->section = section;
    f->key = key;
    f->label = label;
    f->unit = unit;
    f->v = summarize(w, n, higher_is_better);
    f->cpu = summarize(c, n, higher_is_better);
    f->reps = n;
}

static void print_table(void)
{
    const char *section = NULL;
    for (int i = 0; i < nfigures; i++) {
        const struct figure *f = &figures[i];
        if (section == NULL || strcmp(section, f->section) != 0) {
            section = f->section;
            printf("\n%s\n  %-46s %11s %11s %11s  %s\n", section, "figure",
                   "best", "median", "cpu best", "unit");
        }
        char cpu[32] = "-"; /* a count, not a time, has no CPU figure */
        if (strcmp(f->unit, "%") != 0)
            snprintf(cpu, sizeof cpu, "%.1f", f->cpu.best);
        printf("  %-46s %11.1f %11.1f %11s  %s\n", f->label, f->v.best,
               f->v.median, cpu, f->unit);
    }
}

static void config(weft_config_t *c, uint64_t iterations, uint64_t max_steps)
{
    weft_config_init(c);
    c->seed = 1;
    c->iterations = iterations;
    c->max_steps = max_steps;
    c->quiet = true;
    c->use_env = false; /* a benchmark measures one fixed thing */
    c->shrink = false;
    c->schedule_out = schedule_out;
}

/* Run an exploration that must end with `expect` (WEFT_FINDING_NONE: must
 * pass); returns its time in ns. */
static struct sample explore(const char *what, weft_config_t *c,
                             weft_body_fn *body, void *arg,
                             weft_finding_t expect)
{
    weft_result_t r;
    struct sample t0 = now();
    int rc = weft_explore(c, body, arg, &r);
    struct sample t = since(t0, 1, false);
    if (rc < 0 || r.finding != expect) {
        if (failures++ == 0)
            fprintf(stderr, "bench_loop: %s: expected %s, got rc %d: %s\n%s",
                    what, weft_finding_name(expect), rc, r.message,
                    r.report ? r.report : "");
    }
    weft_result_destroy(&r);
    return t;
}

/* ------------------------------------------ await round trip: yield */

struct yield_bench {
    long rounds; /* awaits per coroutine */
    int last;
    long alternations;          /* awaits after which the other coroutine ran */
    struct sample ns[1 + REPS]; /* per await, execution by execution */
    int runs;
};

struct yielder_arg {
    struct yield_bench *b;
    int tag;
};

/* The bookkeeping is plain memory: it only counts how often control really
 * passed between the two coroutines. */
static void *yielder(void *arg)
{
    struct yielder_arg *y = arg;
    struct yield_bench *b = y->b;
    for (long i = 0; i < b->rounds; i++) {
        weft_await_yield();
        if (b->last != y->tag)
            b->alternations++;
        b->last = y->tag;
    }
    return NULL;
}

/* Timed from inside: the wall clock never reaches a decision. */
static void *yield_main(void *arg)
{
    struct yield_bench *b = arg;
    struct yielder_arg ya = { b, 1 }, yb = { b, 2 };
    b->last = 0;
    b->alternations = 0;
    struct sample t0 = now();
    weft_future_t *x = weft_spawn("ping", yielder, &ya);
    weft_future_t *y = weft_spawn("pong", yielder, &yb);
    weft_await(x, NULL);
    weft_await(y, NULL);
    if (b->runs < 1 + REPS)
        b->ns[b->runs++] = since(t0, (double)(2 * b->rounds), false);
    return NULL;
}

/* The body of every benchmark here: run a main coroutine on a fresh loop. */
struct loop_job {
    weft_thread_fn *main;
    void *arg;
};

static void run_loop(void *arg)
{
    struct loop_job *j = arg;
    int rc = weft_run(j->main, j->arg, NULL);
    weft_assert(rc == 0, "loop ended with %d", rc);
}

/* ---------------------------------------- await round trip: futures */

struct ball_bench {
    long rounds;
    weft_future_t *ping, *pong; /* rounds of each, initialised once */
    struct sample ns[1 + REPS]; /* per round trip */
    int runs;
};

static void *player_a(void *arg)
{
    struct ball_bench *b = arg;
    for (long i = 0; i < b->rounds; i++) {
        weft_future_set_result(&b->ping[i], (void *)(intptr_t)i);
        void *v = NULL;
        if (weft_await(&b->pong[i], &v) != 0 || (intptr_t)v != i)
            weft_fail("round %ld came back wrong", i);
    }
    return NULL;
}

static void *player_b(void *arg)
{
    struct ball_bench *b = arg;
    for (long i = 0; i < b->rounds; i++) {
        void *v = NULL;
        if (weft_await(&b->ping[i], &v) != 0)
            weft_fail("round %ld: no ball", i);
        weft_future_set_result(&b->pong[i], v);
    }
    return NULL;
}

static void *ball_main(void *arg)
{
    struct ball_bench *b = arg;
    struct sample t0 = now();
    weft_future_t *x = weft_spawn("A", player_a, b);
    weft_future_t *y = weft_spawn("B", player_b, b);
    weft_await(x, NULL);
    weft_await(y, NULL);
    if (b->runs < 1 + REPS)
        b->ns[b->runs++] = since(t0, (double)b->rounds, false);
    return NULL;
}

/* ------------------------------ shape of examples/blocking_in_loop.c */

static void *fetcher(void *arg)
{
    weft_await_sleep_for(5 * WEFT_MSEC);
    weft_future_set_result(arg, (void *)(uintptr_t)42);
    return NULL;
}

static void *handler(void *arg)
{
    bool fixed = arg != NULL;
    weft_future_t *reply = weft_future_new();
    weft_future_t *job = weft_spawn("fetcher", fetcher, reply);
    void *v = NULL;
    int rc = fixed ? weft_await(reply, &v)
                   : weft_future_wait(reply, &v, WEFT_FOREVER);
    weft_assert(rc == 0 && (uintptr_t)v == 42, "reply %d", rc);
    weft_await(job, NULL);
    return NULL;
}

static void *server(void *arg)
{
    weft_future_t *h = weft_spawn("handler", handler, arg);
    weft_assert(weft_await(h, NULL) == 0, "handler failed");
    return NULL;
}

/* --------------------------------- shape of examples/timeout_race.c */

static void *slow_server(void *arg)
{
    weft_await_sleep_for(100 * WEFT_MSEC);
    weft_future_set_result(arg, (void *)(uintptr_t)200);
    return NULL;
}

static void *caller(void *arg)
{
    bool fatal = arg != NULL;
    weft_future_t *reply = weft_future_new();
    weft_future_t *srv = weft_spawn("server", slow_server, reply);
    weft_scope_t scope;
    weft_scope_enter(&scope, weft_now() + 100 * WEFT_MSEC, WEFT_SCOPE_FAIL);
    int rc = weft_await(reply, NULL);
    bool timed_out = weft_scope_exit(&scope) == -ETIMEDOUT;
    weft_assert(!fatal || !timed_out, "no reply within 100 ms");
    weft_assert(timed_out ? rc == -ECANCELED : rc == 0, "await: %d", rc);
    weft_await(srv, NULL);
    return NULL;
}

/* ------------------------------------------------------------- measures */

static bool bench_yield(long rounds, struct sample *ns, double *alternated)
{
    static struct yield_bench b;
    struct loop_job j = { yield_main, &b };
    weft_config_t c;
    memset(&b, 0, sizeof b);
    b.rounds = rounds;
    config(&c, 1 + REPS, (uint64_t)rounds * 8 + 1000);
    explore("yield ping-pong", &c, run_loop, &j, WEFT_FINDING_NONE);
    if (b.runs != 1 + REPS)
        return false;
    memcpy(ns, b.ns, sizeof b.ns);
    *alternated = (double)b.alternations / (double)(2 * rounds);
    return true;
}

static bool bench_ball(long rounds, struct sample *ns)
{
    static struct ball_bench b;
    struct loop_job j = { ball_main, &b };
    weft_config_t c;
    memset(&b, 0, sizeof b);
    b.rounds = rounds;
    b.ping = calloc((size_t)rounds, sizeof *b.ping);
    b.pong = calloc((size_t)rounds, sizeof *b.pong);
    if (b.ping == NULL || b.pong == NULL) {
        fprintf(stderr, "bench_loop: out of memory\n");
        failures++;
        free(b.ping);
        free(b.pong);
        return false;
    }
    /* Initialised once: each execution starts them again as pending. */
    for (long i = 0; i < rounds; i++) {
        weft_future_init(&b.ping[i]);
        weft_future_init(&b.pong[i]);
    }
    config(&c, 1 + REPS, (uint64_t)rounds * 8 + 1000);
    explore("future ping-pong", &c, run_loop, &j, WEFT_FINDING_NONE);
    free(b.ping);
    free(b.pong);
    if (b.runs != 1 + REPS)
        return false;
    memcpy(ns, b.ns, sizeof b.ns);
    return true;
}

/* Executions per second of one exploration of n executions that pass. */
static struct sample bench_passing(const char *what, struct loop_job *j,
                                   uint64_t n)
{
    weft_config_t c;
    config(&c, n, 100000);
    struct sample t = explore(what, &c, run_loop, j, WEFT_FINDING_NONE);
    return (struct sample){ (double)n / t.wall * 1e9, (double)n / t.cpu * 1e9 };
}

/*
 * Findings per second: n explorations that each fail in their first
 * execution (then replay it, report it, write its schedule). The schedule
 * file is removed before each one (untimed) unless in_place: rewriting an
 * existing file with O_TRUNC makes ext4 flush it at close (auto_da_alloc),
 * milliseconds of wall time that belong to the file system, not to weft.
 */
static struct sample bench_failing(const char *what, struct loop_job *j,
                                   int blocking, weft_finding_t expect, int n,
                                   bool in_place)
{
    weft_config_t c;
    struct sample t = { 0, 0 };
    /* Each exploration runs until its first failure: the timeout race
     * fails in the executions where the deadline wins the tie. */
    config(&c, 1000, 100000);
    c.blocking = blocking;
    for (int i = 0; i < n; i++) {
        c.seed = (uint64_t)i + 1;
        if (!in_place)
            remove(schedule_out);
        struct sample e = explore(what, &c, run_loop, j, expect);
        t.wall += e.wall;
        t.cpu += e.cpu;
    }
    return (struct sample){ (double)n / t.wall * 1e9, (double)n / t.cpu * 1e9 };
}

/* ---------------------------------------------------------------- output */

static int mkdir_p(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path)
        return -1;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static const char *bench_dir(void)
{
    const char *dir = getenv("WEFT_BENCH_DIR");
    return dir == NULL || *dir == '\0' ? "." : dir;
}

static void write_json(void)
{
    const char *dir = bench_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/bench_loop.json", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_loop: cannot write %s: %s\n", path,
                strerror(errno));
        return;
    }
    fprintf(f,
            "{\n  \"bench\": \"loop\",\n  \"weft_version\": \"%s\",\n"
            "  \"figures\": [\n",
            WEFT_VERSION);
    for (int i = 0; i < nfigures; i++) {
        const struct figure *g = &figures[i];
        fprintf(f,
                "    {\"section\": \"%s\", \"name\": \"%s\", \"label\": "
                "\"%s\", \"unit\": \"%s\", "
                "\"best\": %.3f, \"median\": %.3f, \"cpu_best\": %.3f, "
                "\"cpu_median\": %.3f, \"reps\": %d}%s\n",
                g->section, g->key, g->label, g->unit, g->v.best, g->v.median,
                g->cpu.best, g->cpu.median, g->reps,
                i + 1 < nfigures ? "," : "");
    }
    fprintf(f, "  ],\n  \"workload_failures\": %d\n}\n", failures);
    fclose(f);
    printf("\nwrote %s\n", path);
}

/* ------------------------------------------------------------------ main */

#define S_AWAIT "await round trip (2 coroutines, one loop, one execution)"
#define S_EXEC  "executions per second (random strategy, no shrinking)"
#define S_FIND \
    "findings per second (explorations run until their first failure)"

#define YIELDS       1000000
#define BALLS        200000
#define EXECUTIONS   100000
#define EXPLORATIONS 2000

int main(void)
{
    struct sample ns[1 + REPS], v[REPS];
    double alternated = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench_loop: weft %s, %d repetitions per figure (best, median "
           "wall time; best CPU time)\n",
           WEFT_VERSION, REPS);
    if (mkdir_p(bench_dir()) != 0) {
        fprintf(stderr, "bench_loop: cannot create %s: %s\n", bench_dir(),
                strerror(errno));
        return 1;
    }
    snprintf(schedule_out, sizeof schedule_out, "%s/bench_loop.schedule",
             bench_dir());

    if (bench_yield(YIELDS, ns, &alternated)) {
        add(S_AWAIT, "yield_await_resume_ns_first",
            "weft_await_yield: await+resume, 1st execution", "ns/await", ns, 1,
            false);
        add(S_AWAIT, "yield_await_resume_ns",
            "weft_await_yield: await+resume, later", "ns/await", ns + 1, REPS,
            false);
        struct sample alt = { alternated * 100, alternated * 100 };
        add(S_AWAIT, "yield_alternated_pct",
            "awaits after which the other coroutine ran", "%", &alt, 1, true);
    }
    if (bench_ball(BALLS, ns)) {
        add(S_AWAIT, "future_round_trip_ns_first",
            "futures: round trip A->B->A, 1st execution", "ns/round trip", ns,
            1, false);
        add(S_AWAIT, "future_round_trip_ns",
            "futures: round trip A->B->A, later", "ns/round trip", ns + 1, REPS,
            false);
        for (int i = 0; i < REPS; i++)
            v[i] = (struct sample){ ns[1 + i].wall / 2, ns[1 + i].cpu / 2 };
        add(S_AWAIT, "future_await_resume_ns",
            "futures: complete+await+resume (trip / 2)", "ns/await", v, REPS,
            false);
    }

    struct loop_job fixed = { server, &fixed }, blocking = { server, NULL };
    struct loop_job tolerant = { caller, NULL }, fatal = { caller, &fatal };
    for (int i = 0; i < REPS; i++)
        v[i] = bench_passing("blocking_in_loop, fixed", &fixed, EXECUTIONS);
    add(S_EXEC, "blocking_in_loop_fixed_exec_per_s",
        "blocking_in_loop shape, weft_await (passes)", "exec/s", v, REPS, true);
    for (int i = 0; i < REPS; i++)
        v[i] = bench_passing("timeout_race, tolerant", &tolerant, EXECUTIONS);
    add(S_EXEC, "timeout_race_tolerant_exec_per_s",
        "timeout_race shape, tolerant caller (passes)", "exec/s", v, REPS,
        true);

    for (int i = 0; i < REPS; i++)
        v[i] = bench_failing("blocking_in_loop, error policy", &blocking,
                             WEFT_BLOCKING_ERROR, WEFT_FINDING_BLOCKING_IN_LOOP,
                             EXPLORATIONS, false);
    add(S_FIND, "blocking_in_loop_error_findings_per_s",
        "blocking_in_loop shape, policy error", "findings/s", v, REPS, true);
    for (int i = 0; i < REPS; i++)
        v[i] = bench_failing("blocking_in_loop, error policy", &blocking,
                             WEFT_BLOCKING_ERROR, WEFT_FINDING_BLOCKING_IN_LOOP,
                             EXPLORATIONS / 10, true);
    add(S_FIND, "blocking_in_loop_error_in_place_findings_per_s",
        "  the same, schedule file rewritten in place", "findings/s", v, REPS,
        true);
    for (int i = 0; i < REPS; i++)
        v[i] = bench_failing("blocking_in_loop, warn policy", &blocking,
                             WEFT_BLOCKING_WARN, WEFT_FINDING_DEADLOCK,
                             EXPLORATIONS, false);
    add(S_FIND, "blocking_in_loop_warn_findings_per_s",
        "blocking_in_loop shape, policy warn (deadlock)", "findings/s", v, REPS,
        true);
    for (int i = 0; i < REPS; i++)
        v[i] = bench_failing("timeout_race, fatal", &fatal, WEFT_BLOCKING_ERROR,
                             WEFT_FINDING_ASSERTION, EXPLORATIONS, false);
    add(S_FIND, "timeout_race_fatal_findings_per_s",
        "timeout_race shape, fatal caller (assertion)", "findings/s", v, REPS,
        true);

    print_table();
    write_json();
    remove(schedule_out);
    if (failures > 0)
        fprintf(stderr,
                "bench_loop: %d workload run(s) misbehaved under weft\n",
                failures);
    return failures > 0 ? 1 : 0;
}
