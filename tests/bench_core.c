/*
 * bench_core.c: what the core of weft costs: a scheduling step, an
 * execution, a task, an idle task's memory; with a user-level context
 * switch (swapcontext) and a real-thread hand-off (pthread condition
 * variable) beside them for scale.
 *
 * Every figure is measured several times with CLOCK_MONOTONIC and reported
 * as best and median; nothing here asserts on time. The targets are printed
 * beside the figures for a person to read. The program fails only if a
 * workload itself fails under weft (a correctness problem, not a slow one).
 * Output: a table on stdout and $WEFT_BENCH_DIR/bench_core.json (default
 * "."). Run with `make bench`.
 */
#include "workloads.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <ucontext.h>
#include <weft.h>

#define REPS        5
#define MAX_FIGURES 24

/* ------------------------------------------------------------ plumbing */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct summary {
    double best, median;
};

/* Sorts v; best is the smallest (a cost) or the largest (a rate). */
static struct summary summarize(double *v, int n, bool higher_is_better)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    struct summary s = { higher_is_better ? v[n - 1] : v[0], v[n / 2] };
    if (n % 2 == 0)
        s.median = (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

struct figure {
    const char *section; /* table heading */
    const char *key;     /* JSON name */
    const char *label;   /* table row */
    const char *unit;
    struct summary v;
    int reps;
    const char *target; /* printed beside it, or NULL */
    double limit;       /* the target's bound */
    bool at_most;       /* bound is a maximum (cost) or a minimum (rate) */
};

static struct figure figures[MAX_FIGURES];
static int nfigures;
static int failures; /* workloads that failed under weft */

static struct figure *add(const char *section, const char *key,
                          const char *label, const char *unit, struct summary v,
                          int reps)
{
    static struct figure spare;
    if (nfigures == MAX_FIGURES)
        return &spare;
    struct figure *f = &figures[nfigures++];
    *f = (struct figure){ section, key, label, unit, v, reps, NULL, 0, false };
    return f;
}

static void target(struct figure *f, const char *text, double limit,
                   bool at_most)
{
    f->target = text;
    f->limit = limit;
    f->at_most = at_most;
}

static bool meets(const struct figure *f)
{
    return f->at_most ? f->v.best <= f->limit : f->v.best >= f->limit;
}

static void print_table(void)
{
    const char *section = NULL;
    for (int i = 0; i < nfigures; i++) {
        const struct figure *f = &figures[i];
        if (section == NULL || strcmp(section, f->section) != 0) {
            section = f->section;
            printf("\n%s\n  %-40s %12s %12s  %-13s %s\n", section, "figure",
                   "best", "median", "unit", "target");
        }
        printf("  %-40s %12.1f %12.1f  %-13s", f->label, f->v.best, f->v.median,
               f->unit);
        if (f->target != NULL)
            printf(" %s  (%s)", f->target, meets(f) ? "met" : "missed");
        printf("\n");
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
}

/* Run an exploration that must pass; returns its wall time in ns. */
static double explore(const char *what, weft_config_t *c, weft_body_fn *body,
                      void *arg, weft_result_t *r)
{
    double t0 = now_ns();
    int rc = weft_explore(c, body, arg, r);
    double t = now_ns() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench_core: %s failed (rc %d): %s\n%s", what, rc,
                r->message, r->report ? r->report : "");
        failures++;
    }
    weft_result_destroy(r);
    return t;
}

/* --------------------------------------------- weft: yield ping-pong */

struct pingpong {
    long yields;         /* per worker */
    int last;            /* tag of the worker that ran last */
    long alternations;   /* times the other worker had run in between */
    double ns[1 + REPS]; /* each execution's wall time */
    int runs;
};

struct yielder_arg {
    struct pingpong *p;
    int tag;
};

/* The bookkeeping is plain memory, not a visible operation: it only counts
 * how often control really passed between the two workers. */
static void *yielder(void *arg)
{
    struct yielder_arg *y = arg;
    struct pingpong *p = y->p;
    for (long i = 0; i < p->yields; i++) {
        weft_yield();
        if (p->last != y->tag)
            p->alternations++;
        p->last = y->tag;
    }
    return NULL;
}

/* Timed from inside: the wall clock never reaches a decision, and the
 * figure excludes what an exploration costs once (setup, teardown). */
static void pingpong_body(void *arg)
{
    struct pingpong *p = arg;
    struct yielder_arg ya = { p, 1 }, yb = { p, 2 };
    weft_thread_t a, b;
    double t0 = now_ns();
    p->last = 0;
    p->alternations = 0;
    weft_thread_spawn(&a, "ping", yielder, &ya);
    weft_thread_spawn(&b, "pong", yielder, &yb);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    if (p->runs < 1 + REPS)
        p->ns[p->runs++] = now_ns() - t0;
}

/*
 * One exploration of 1 + REPS executions of `yields` yields per worker.
 * ns[0] is the first execution, ns[1..REPS] the later ones, per step. The
 * first differs: weft's decision log (one record per choice, kept for the
 * whole execution) grows then, and later executions reuse it.
 */
static bool bench_yield(long yields, double *ns, double *alternated)
{
    static struct pingpong p;
    weft_config_t c;
    weft_result_t r;
    memset(&p, 0, sizeof p);
    p.yields = yields;
    config(&c, 1 + REPS, (uint64_t)yields * 2 + 1000);
    explore("yield ping-pong", &c, pingpong_body, &p, &r);
    if (p.runs != 1 + REPS || r.executions != 1 + REPS)
        return false;
    /* every execution runs the same number of steps */
    double steps = (double)r.total_steps / (double)r.executions;
    for (int i = 0; i < 1 + REPS; i++)
        ns[i] = p.ns[i] / steps;
    *alternated = (double)p.alternations / (double)(2 * yields);
    return true;
}

/* ------------------------------------------ swapcontext ping-pong */

static ucontext_t uc_main, uc_co;

static void co_loop(void)
{
    for (;;)
        swapcontext(&uc_co, &uc_main);
}

static double bench_swapcontext(long rounds)
{
    static char stack[64 * 1024];
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = stack;
    uc_co.uc_stack.ss_size = sizeof stack;
    uc_co.uc_link = NULL;
    makecontext(&uc_co, co_loop, 0);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        swapcontext(&uc_main, &uc_co);
    return (now_ns() - t0) / (double)(2 * rounds); /* per switch */
}

/* ---------------------------------- pthread condition-variable hand-off */

struct handoff {
    pthread_mutex_t m;
    pthread_cond_t c;
    int turn;
    long rounds;
};

static void pass(struct handoff *h, int me)
{
    for (long i = 0; i < h->rounds; i++) {
        pthread_mutex_lock(&h->m);
        while (h->turn != me)
            pthread_cond_wait(&h->c, &h->m);
        h->turn = !me;
        pthread_cond_signal(&h->c);
        pthread_mutex_unlock(&h->m);
    }
}

static void *other_side(void *arg)
{
    pass(arg, 1);
    return NULL;
}

static double bench_pthread(long rounds)
{
    struct handoff h = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
                         rounds };
    pthread_t t;
    double t0 = now_ns();
    if (pthread_create(&t, NULL, other_side, &h) != 0) {
        fprintf(stderr, "bench_core: pthread_create failed\n");
        failures++;
        return 0;
    }
    pass(&h, 0);
    pthread_join(t, NULL);
    return (now_ns() - t0) / (double)(2 * rounds); /* per hand-off */
}

/* ----------------------------------------------------------- workloads */

/* W1-W4: tests/workloads.h */

static double bench_workload(weft_body_fn *body, const char *what,
                             uint64_t executions)
{
    weft_config_t c;
    weft_result_t r;
    config(&c, executions, 100000);
    double t = explore(what, &c, body, NULL, &r);
    return (double)executions / t * 1e9; /* executions per second */
}

/* ------------------------------------------ task create + run + exit */

#define SPAWNS 100000

struct spawn_bench {
    double ns[1 + REPS]; /* per thread, execution by execution */
    int runs;
};

static void *nothing(void *arg)
{
    return arg;
}

/* The wall clock is read inside the body only to time it; it never
 * reaches a decision. The first execution is cold (weft allocates its task
 * records), the others reuse them; stacks come from the pool throughout. */
static void spawn_body(void *arg)
{
    struct spawn_bench *b = arg;
    double t0 = now_ns();
    for (int i = 0; i < SPAWNS; i++) {
        weft_thread_t t;
        if (weft_thread_spawn(&t, NULL, nothing, NULL) != 0)
            weft_fail("spawn %d failed", i);
        weft_thread_join(t, NULL);
    }
    double t = now_ns() - t0;
    if (b->runs < 1 + REPS)
        b->ns[b->runs++] = t / SPAWNS;
}

/* ------------------------------------------------- idle task memory */

#define IDLE 10000

struct idle_bench {
    weft_sem_t sem;
    weft_thread_t t[IDLE];
    long rss_before, rss_during; /* KiB */
    long vm_before, vm_during;
    double wake_ns; /* posting IDLE times and joining every task */
};

/* A "VmRSS:   1234 kB" line of /proc/self/status, in KiB; -1 if absent. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static void *idle_task(void *arg)
{
    weft_sem_wait((weft_sem_t *)arg);
    return NULL;
}

static void idle_body(void *arg)
{
    struct idle_bench *b = arg;
    b->rss_before = status_kib("VmRSS");
    b->vm_before = status_kib("VmSize");
    weft_sem_init(&b->sem, 0);
    for (int i = 0; i < IDLE; i++)
        if (weft_thread_spawn(&b->t[i], NULL, idle_task, &b->sem) != 0)
            weft_fail("spawn %d failed", i);
    /* Virtual time moves only when nothing can run: when this sleep ends,
     * every task is blocked in weft_sem_wait. */
    weft_sleep_for(WEFT_SEC);
    b->rss_during = status_kib("VmRSS");
    b->vm_during = status_kib("VmSize");
    /* Timed for the printout only, like every wall-clock read here. */
    double t0 = now_ns();
    for (int i = 0; i < IDLE; i++)
        weft_sem_post(&b->sem);
    for (int i = 0; i < IDLE; i++)
        weft_thread_join(b->t[i], NULL);
    b->wake_ns = now_ns() - t0;
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

static void write_json(void)
{
    const char *dir = getenv("WEFT_BENCH_DIR");
    char path[4200];
    if (dir == NULL || *dir == '\0')
        dir = ".";
    if (mkdir_p(dir) != 0) {
        fprintf(stderr, "bench_core: cannot create %s: %s\n", dir,
                strerror(errno));
        return;
    }
    snprintf(path, sizeof path, "%s/bench_core.json", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_core: cannot write %s: %s\n", path,
                strerror(errno));
        return;
    }
    fprintf(f,
            "{\n  \"bench\": \"core\",\n  \"weft_version\": \"%s\",\n"
            "  \"figures\": [\n",
            WEFT_VERSION);
    for (int i = 0; i < nfigures; i++) {
        const struct figure *g = &figures[i];
        fprintf(f,
                "    {\"section\": \"%s\", \"name\": \"%s\", \"label\": "
                "\"%s\", \"unit\": \"%s\", "
                "\"best\": %.3f, \"median\": %.3f, \"reps\": %d",
                g->section, g->key, g->label, g->unit, g->v.best, g->v.median,
                g->reps);
        if (g->target != NULL)
            fprintf(f, ", \"target\": {\"%s\": %.3f}, \"meets_target\": %s",
                    g->at_most ? "max" : "min", g->limit,
                    meets(g) ? "true" : "false");
        fprintf(f, "}%s\n", i + 1 < nfigures ? "," : "");
    }
    fprintf(f, "  ],\n  \"workload_failures\": %d\n}\n", failures);
    fclose(f);
    printf("\nwrote %s\n", path);
}

/* ------------------------------------------------------------------ main */

#define S_SWITCH "context switch"
#define S_STEPS  "scheduling steps"
#define S_EXEC   "executions per second (random strategy, 200,000 each)"
#define S_TASK   "tasks"

int main(void)
{
    double v[REPS], w[REPS];
    struct figure *f;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench_core: weft %s, %d repetitions per figure (best, median)\n",
           WEFT_VERSION, REPS);

    /* Memory first, while the process is fresh: nothing freed earlier can
     * hide the cost of the idle tasks. */
    static struct idle_bench idle;
    weft_config_t c;
    weft_result_t r;
    config(&c, 1, 1000000);
    explore("idle tasks", &c, idle_body, &idle, &r);
    double kib = (double)(idle.rss_during - idle.rss_before) / IDLE;
    double vkib = (double)(idle.vm_during - idle.vm_before) / IDLE;

    /* context switch */
    double ns[1 + REPS], alternated = 0;
    struct summary step = { 0, 0 };
    if (bench_yield(100000, ns, &alternated)) {
        step = summarize(ns + 1, REPS, false);
        f = add(S_SWITCH, "weft_yield_step_ns", "weft: yield step incl. switch",
                "ns/step", step, REPS);
        target(f, "<= 10 ns (switch)", 10, true);
    }
    for (int i = 0; i < REPS; i++)
        v[i] = bench_swapcontext(500000);
    struct summary uc = summarize(v, REPS, false);
    add(S_SWITCH, "swapcontext_switch_ns", "ucontext: swapcontext", "ns/switch",
        uc, REPS);
    for (int i = 0; i < REPS; i++)
        v[i] = bench_pthread(20000);
    struct summary pt = summarize(v, REPS, false);
    add(S_SWITCH, "pthread_cond_handoff_ns", "pthread: cond-var hand-off",
        "ns/hand-off", pt, REPS);
    if (step.best > 0) {
        struct summary ratio = { uc.best / step.best, uc.median / step.median };
        add(S_SWITCH, "ratio_swapcontext_over_weft_step",
            "ratio: swapcontext / weft step", "x", ratio, REPS);
        ratio =
            (struct summary){ pt.best / step.best, pt.median / step.median };
        add(S_SWITCH, "ratio_pthread_over_weft_step",
            "ratio: pthread hand-off / weft step", "x", ratio, REPS);
    }

    /* steps per second in one long execution */
    if (bench_yield(1000000, ns, &alternated)) {
        struct summary first = { 1e9 / ns[0], 1e9 / ns[0] };
        for (int i = 0; i < REPS; i++)
            w[i] = 1e9 / ns[1 + i];
        add(S_STEPS, "steps_per_s_first", "steps/s, 2M-step execution, first",
            "steps/s", first, 1);
        add(S_STEPS, "steps_per_s", "steps/s, 2M-step execution, later",
            "steps/s", summarize(w, REPS, true), REPS);
        struct summary first_ns = { ns[0], ns[0] };
        f = add(S_STEPS, "step_ns_first", "ns per step, first execution",
                "ns/step", first_ns, 1);
        target(f, "<= 20 ns", 20, true);
        f = add(S_STEPS, "step_ns", "ns per step, later executions", "ns/step",
                summarize(ns + 1, REPS, false), REPS);
        target(f, "<= 20 ns", 20, true);
        struct summary alt = { alternated * 100, alternated * 100 };
        add(S_STEPS, "steps_switching_pct", "steps that switched worker", "%",
            alt, 1);
    }

    /* executions per second */
    static const struct {
        weft_body_fn *body;
        const char *key, *label;
    } ws[] = {
        { w1, "w1_exec_per_s", "W1: 2 x (load; store+1) atomic" },
        { w2, "w2_exec_per_s", "W2: 3 x 2 x (lock; ++; unlock)" },
        { w3, "w3_exec_per_s", "W3: one-slot buffer, 2 cond vars" },
        { w4, "w4_exec_per_s", "W4: 4 x 3 x fetch_add" },
    };
    for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
        for (int i = 0; i < REPS; i++)
            v[i] = bench_workload(ws[k].body, ws[k].label, 200000);
        f = add(S_EXEC, ws[k].key, ws[k].label, "exec/s",
                summarize(v, REPS, true), REPS);
        target(f, ">= 1,000,000", 1e6, false);
    }

    /* task create + run + exit, stacks pooled */
    static struct spawn_bench sb;
    config(&c, 1 + REPS, 4 * SPAWNS + 1000);
    explore("spawn and join", &c, spawn_body, &sb, &r);
    if (sb.runs == 1 + REPS) {
        struct summary cold = { sb.ns[0], sb.ns[0] };
        add(S_TASK, "spawn_join_cold_ns", "spawn+run+exit+join, 1st execution",
            "ns/thread", cold, 1);
        add(S_TASK, "spawn_join_warm_ns",
            "spawn+run+exit+join, later executions", "ns/thread",
            summarize(sb.ns + 1, REPS, false), REPS);
    }
    struct summary rss = { kib, kib };
    f = add(S_TASK, "idle_task_rss_kib", "RSS per idle task (10,000 blocked)",
            "KiB/task", rss, 1);
    target(f, "<= 16 KiB", 16, true);
    struct summary vm = { vkib, vkib };
    add(S_TASK, "idle_task_vm_kib", "address space per idle task", "KiB/task",
        vm, 1);
    struct summary wake = { idle.wake_ns / IDLE, idle.wake_ns / IDLE };
    add(S_TASK, "idle_task_post_join_ns", "post + join, 10,000 blocked tasks",
        "ns/task", wake, 1);

    print_table();
    write_json();
    if (failures > 0)
        fprintf(stderr, "bench_core: %d workload(s) failed under weft\n",
                failures);
    return failures > 0 ? 1 : 0;
}
