/*
 * bench_explore.c: how fast weft's strategies explore, how many executions
 * its systematic search needs, and how soon each strategy finds a bug.
 *
 * Three parts:
 *  1. executions per second of the four workloads of bench_core.c (W1-W4)
 *     under random, pct (d = 3), dfs (preemption bound 2), dpor
 *     (unbounded) and pos;
 *  2. executions dfs and dpor need to exhaust W1-W4, beside the figures
 *     the Rust
 *     model checker loom needs for the same workloads (a different
 *     measure: see the note printed with the table);
 *  3. executions to the first failure, median over 20 explorations, of
 *     random, pct (d = 1, 2, 3), dfs (bounds 2 and 5), dpor
 *     (deterministic: one search each) and pos on the bugs of the examples
 * (lost update, bank transfer deadlock, missed wake-up) and on a deep one (bug
 * pattern 10, two workers feeding each other). The 20 explorations start from
 *     seeds 1..20 and, separately, from seeds s * 2^32 (see part 3).
 *
 * Times are wall-clock (CLOCK_MONOTONIC), best and median over REPS
 * repetitions; counts are exact and do not depend on the machine, except
 * where a search is cut by its time cap (said so in the output). Nothing
 * here asserts on time or on counts: the program fails only if a workload
 * fails under weft, or a bug is reported as a finding of the wrong kind
 * (a correctness problem, not a slow one). Output: tables on stdout and
 * $WEFT_BENCH_DIR/bench_explore.json (default "."). Run with `make bench`;
 * `bench_explore finds` runs part 3 alone.
 */
#include "workloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <weft.h>

#define REPS            3
#define RATE_EXECS      100000  /* executions per rate measurement */
#define SEEDS           20      /* starting seeds 1..SEEDS */
#define FIND_CAP        100000  /* executions per exploration hunting a bug */
#define EXHAUST_CAP     5000000 /* executions before an exhaustive dfs stops */
#define EXHAUST_SECONDS 40.0    /* ... or wall seconds */
#define NOT_FOUND       UINT64_MAX

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

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts v; best is the largest (all figures timed here are rates). */
struct stat2 {
    double best, median;
};

static struct stat2 summarize(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    struct stat2 s = { v[n - 1], v[n / 2] };
    if (n % 2 == 0)
        s.median = (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

static int failures; /* workloads that failed, findings of the wrong kind */

static void config(weft_config_t *c, const char *strategy, uint64_t seed,
                   uint64_t iterations)
{
    weft_config_init(c);
    c->strategy = strategy;
    c->seed = seed;
    c->iterations = iterations;
    c->max_steps = 100000;
    c->pct_depth = 3;
    c->preemption_bound = strcmp(strategy, "dpor") == 0 ? -1 : 2;
    c->quiet = true;
    c->shrink = false;  /* a failure is counted, not minimised */
    c->use_env = false; /* a benchmark measures one fixed thing */
    /* The deadlock bugs are measured as deadlocks: the lock-order check
     * would report the ABBA order before any execution deadlocks. */
    c->lock_order = 0;
    /* A failure's schedule is written somewhere; here nobody reads it. */
    c->schedule_out = "/dev/null";
}

/* v as "1,234,567", written into the caller's buf. */
static const char *group(uint64_t v, char *buf, size_t len)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* ----------------------------------------------------------- workloads */

/* The four workloads of bench_core.c, unchanged. */

/* W1-W4: tests/workloads.h */

static const struct workload {
    weft_body_fn *body;
    const char *key, *label;
} workloads[] = {
    { w1, "w1", "W1: 2 x (load; store+1) atomic" },
    { w2, "w2", "W2: 3 x 2 x (lock; ++; unlock)" },
    { w3, "w3", "W3: one-slot buffer, 2 cond vars" },
    { w4, "w4", "W4: 4 x 3 x fetch_add" },
};
#define NWORKLOADS (int)(sizeof workloads / sizeof workloads[0])

/* ---------------------------------------------------------------- bugs */

/* Lost update: two threads load; store(v + 1), twice each; main wants 4.
 * Depth 1: one preemption between a load and its store. */
static void *lu_thread(void *arg)
{
    weft_atomic32_t *a = arg;
    for (int i = 0; i < 2; i++) {
        uint32_t v = weft_atomic32_load(a);
        weft_atomic32_store(a, v + 1);
    }
    return NULL;
}

static void bug_lost_update(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], NULL, lu_thread, &a);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    uint32_t v = weft_atomic32_load(&a);
    weft_assert(v == 4, "counter %u, expected 4", (unsigned)v);
}

/* Bank transfer deadlock (examples/bank_deadlock.c): two opposite
 * transfers each lock source, then destination (ABBA). Depth 1. */
struct account {
    int balance;
    weft_mutex_t lock;
};

struct transfer {
    struct account *from, *to;
    int amount;
};

static void *bd_transfer(void *arg)
{
    struct transfer *x = arg;
    weft_mutex_lock(&x->from->lock);
    weft_mutex_lock(&x->to->lock);
    x->from->balance -= x->amount;
    x->to->balance += x->amount;
    weft_mutex_unlock(&x->to->lock);
    weft_mutex_unlock(&x->from->lock);
    return NULL;
}

static void bug_bank_deadlock(void *arg)
{
    (void)arg;
    struct account alice = { 100, WEFT_MUTEX_INITIALIZER };
    struct account bob = { 100, WEFT_MUTEX_INITIALIZER };
    struct transfer pay_bob = { &alice, &bob, 30 };
    struct transfer pay_alice = { &bob, &alice, 20 };
    weft_thread_t a, b;
    weft_thread_spawn(&a, NULL, bd_transfer, &pay_bob);
    weft_thread_spawn(&b, NULL, bd_transfer, &pay_alice);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    weft_assert(alice.balance == 90 && bob.balance == 110, "balances %d and %d",
                alice.balance, bob.balance);
}

/* Missed wake-up (examples/missed_wakeup.c): one producer puts two items
 * in a one-slot buffer, two consumers take one each, waiting with `if`
 * instead of `while`: a consumer woken after the other took the item
 * takes from an empty slot. */
struct mw_slot {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    bool full;
    int item;
};

static void *mw_producer(void *arg)
{
    struct mw_slot *s = arg;
    for (int i = 1; i <= 2; i++) {
        weft_mutex_lock(&s->m);
        while (s->full)
            weft_cond_wait(&s->nonfull, &s->m);
        s->item = i;
        s->full = true;
        weft_cond_signal(&s->nonempty);
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void *mw_consumer(void *arg)
{
    struct mw_slot *s = arg;
    weft_mutex_lock(&s->m);
    if (!s->full) /* the bug */
        weft_cond_wait(&s->nonempty, &s->m);
    weft_assert(s->full, "took from an empty slot");
    s->full = false;
    weft_cond_signal(&s->nonfull);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void bug_missed_wakeup(void *arg)
{
    (void)arg;
    struct mw_slot s = { WEFT_MUTEX_INITIALIZER, WEFT_COND_INITIALIZER,
                         WEFT_COND_INITIALIZER, false, 0 };
    weft_thread_t p, c1, c2;
    weft_thread_spawn(&c1, NULL, mw_consumer, &s);
    weft_thread_spawn(&c2, NULL, mw_consumer, &s);
    weft_thread_spawn(&p, NULL, mw_producer, &s);
    weft_thread_join(p, NULL);
    weft_thread_join(c1, NULL);
    weft_thread_join(c2, NULL);
}

/*
 * Deep (bug pattern 10, "checking results before joining", deep variant,
 * small form): two workers feed each other under a mutex, one doing
 * i += j, the other j += i, FEED_ROUNDS times each, from i = j = 1. Main
 * reads the pair once, under the mutex, before joining. The value
 * FEED_MAX (21 for 3 rounds) is reached only if the workers alternate
 * perfectly and main reads after the last round: five orderings between
 * the workers' rounds and one with main, so about six ordering
 * constraints, and four or five preemptions in weft's terms.
 */
#define FEED_ROUNDS 3
#define FEED_MAX    21 /* fib(2 * FEED_ROUNDS + 2) */

struct feed {
    weft_mutex_t m;
    int i, j;
};

static void *feed_i(void *arg)
{
    struct feed *f = arg;
    for (int k = 0; k < FEED_ROUNDS; k++) {
        weft_mutex_lock(&f->m);
        f->i += f->j;
        weft_mutex_unlock(&f->m);
    }
    return NULL;
}

static void *feed_j(void *arg)
{
    struct feed *f = arg;
    for (int k = 0; k < FEED_ROUNDS; k++) {
        weft_mutex_lock(&f->m);
        f->j += f->i;
        weft_mutex_unlock(&f->m);
    }
    return NULL;
}

static void bug_deep(void *arg)
{
    (void)arg;
    struct feed f = { WEFT_MUTEX_INITIALIZER, 1, 1 };
    weft_thread_t a, b;
    weft_thread_spawn(&a, NULL, feed_i, &f);
    weft_thread_spawn(&b, NULL, feed_j, &f);
    weft_mutex_lock(&f.m);
    int i = f.i, j = f.j; /* the check comes before the joins */
    weft_mutex_unlock(&f.m);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    weft_assert(i < FEED_MAX && j < FEED_MAX, "i %d, j %d reached %d", i, j,
                FEED_MAX);
}

static const struct bug {
    weft_body_fn *body;
    const char *key, *label;
    weft_finding_t kind;
} bugs[] = {
    { bug_lost_update, "lost_update", "lost update (2 x 2 x load;store, ==4)",
      WEFT_FINDING_ASSERTION },
    { bug_bank_deadlock, "bank_deadlock", "bank transfer deadlock (ABBA)",
      WEFT_FINDING_DEADLOCK },
    { bug_missed_wakeup, "missed_wakeup", "missed wake-up (if, 1 prod 2 cons)",
      WEFT_FINDING_ASSERTION },
    { bug_deep, "deep_feed", "deep: i+=j / j+=i, 3 rounds (pat. 10)",
      WEFT_FINDING_ASSERTION },
};
#define NBUGS (int)(sizeof bugs / sizeof bugs[0])

/* --------------------------------------------- part 1: executions/s */

struct rate {
    const char *workload, *wkey, *strategy;
    struct stat2 v;      /* executions per second */
    uint64_t executions; /* per repetition */
    uint64_t per_search; /* executions of one dfs search (exhausted) */
    bool exhausted;
    double steps; /* visible operations per execution, on average */
};

#define NSTRATS_RATE 5
static struct rate rates[NWORKLOADS * NSTRATS_RATE];
static int nrates;

/*
 * One timed repetition: explorations of `body` under `strategy` until
 * RATE_EXECS executions ran. random and pct run them in one exploration;
 * a dfs search that is exhausted sooner is started again (it is the
 * same search each time), so a small space is timed over enough runs.
 */
static double rate_once(const struct workload *w, const char *strategy,
                        struct rate *x)
{
    uint64_t done = 0, steps = 0;
    double t = 0;
    while (done < RATE_EXECS) {
        weft_config_t c;
        weft_result_t r;
        config(&c, strategy, 1, RATE_EXECS - done);
        double t0 = now_ns();
        int rc = weft_explore(&c, w->body, NULL, &r);
        t += now_ns() - t0;
        if (rc != 0) {
            fprintf(stderr, "bench_explore: %s under %s failed (rc %d): %s\n",
                    w->label, strategy, rc, r.message);
            failures++;
            weft_result_destroy(&r);
            return 0;
        }
        if (done == 0) {
            x->per_search = r.executions;
            x->exhausted = r.exhausted;
        }
        uint64_t n = r.executions;
        steps += r.total_steps;
        weft_result_destroy(&r);
        done += n;
        if (n == 0)
            break;
    }
    x->steps = done > 0 ? (double)steps / (double)done : 0;
    return t > 0 ? (double)done / t * 1e9 : 0;
}

static void part_rates(void)
{
    static const char *const strats[NSTRATS_RATE] = { "random", "pct", "dfs",
                                                      "dpor", "pos" };
    for (int k = 0; k < NWORKLOADS; k++)
        for (int s = 0; s < NSTRATS_RATE; s++) {
            double v[REPS];
            struct rate *x = &rates[nrates++];
            *x = (struct rate){ .workload = workloads[k].label,
                                .wkey = workloads[k].key,
                                .strategy = strats[s],
                                .executions = RATE_EXECS };
            for (int i = 0; i < REPS; i++)
                v[i] = rate_once(&workloads[k], strats[s], x);
            x->v = summarize(v, REPS);
        }
}

static void print_rates(void)
{
    char b1[32];
    printf("\nexecutions per second (%s executions per repetition; pct "
           "d = 3; dfs bound 2, dpor unbounded, restarted when exhausted)\n",
           group(RATE_EXECS, b1, sizeof b1));
    printf("  %-34s %-7s %10s %10s %10s %8s  %s\n", "workload", "strategy",
           "best", "median", "Msteps/s", "steps", "dfs search");
    for (int i = 0; i < nrates; i++) {
        const struct rate *x = &rates[i];
        char note[64] = "";
        if (strcmp(x->strategy, "dfs") == 0 || strcmp(x->strategy, "dpor") == 0)
            snprintf(note, sizeof note, "%s executions%s",
                     group(x->per_search, b1, sizeof b1),
                     x->exhausted ? ", exhausted" : " (capped)");
        printf("  %-34s %-7s %10.0f %10.0f %10.2f %8.1f  %s\n", x->workload,
               x->strategy, x->v.best, x->v.median,
               x->v.median * x->steps / 1e6, x->steps, note);
    }
    printf("  steps: visible operations per execution (mean); Msteps/s: "
           "median rate times steps.\n"
           "  dfs, dpor: the search is run again while under the count, so "
           "its set-up is timed\n"
           "  too; the rate of dpor beside random's on a workload is its "
           "cost per execution.\n");
}

/* ------------------------------------------ part 2: dfs to exhaustion */

struct count {
    const char *workload, *wkey, *strategy;
    int bound;           /* -1: none */
    uint64_t executions; /* run */
    bool exhausted;
    double seconds;
    uint64_t loom;     /* loom's figure for the workload, 0: none */
    uint64_t distinct; /* of them with distinct traces */
    long rss_mib;      /* the process's peak RSS after it */
};

#define MAX_COUNTS 12
static struct count counts[MAX_COUNTS];
static int ncounts;

static long peak_rss_mib(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0)
        return -1;
    return u.ru_maxrss / 1024; /* KiB on Linux */
}

static void exhaust(int w, const char *strategy, int bound, uint64_t loom)
{
    weft_config_t c;
    weft_result_t r;
    config(&c, strategy, 1, EXHAUST_CAP);
    c.preemption_bound = bound;
    c.time_budget = EXHAUST_SECONDS;
    double t0 = now_ns();
    int rc = weft_explore(&c, workloads[w].body, NULL, &r);
    double t = (now_ns() - t0) / 1e9;
    if (rc != 0) {
        fprintf(stderr, "bench_explore: %s on %s failed (rc %d): %s\n",
                strategy, workloads[w].label, rc, r.message);
        failures++;
    }
    if (ncounts < MAX_COUNTS)
        counts[ncounts++] = (struct count){
            workloads[w].label, workloads[w].key, strategy, bound,
            r.executions,       r.exhausted,      t,        loom,
            r.distinct,         peak_rss_mib()
        };
    weft_result_destroy(&r);
}

static void part_counts(void)
{
    exhaust(0, "dfs", -1, 90);
    exhaust(1, "dfs", 2, 116319);
    exhaust(1, "dfs", -1, 116319);
    exhaust(2, "dfs", -1, 360);
    exhaust(3, "dfs", 2, 8588);
    /* dpor, unbounded; W4's Mazurkiewicz count is 12!/(3!^4) = 369,600 */
    exhaust(0, "dpor", -1, 90);
    exhaust(1, "dpor", -1, 116319);
    exhaust(2, "dpor", -1, 360);
    exhaust(3, "dpor", -1, 369600);
    /* iterating bounds 0, 1, 2, ...: the same executions as none when it
     * ends exhausted, each run once */
    exhaust(0, "dfs", WEFT_PREEMPTIONS_ITERATE, 90);
    exhaust(2, "dfs", WEFT_PREEMPTIONS_ITERATE, 360);
}

static void print_counts(void)
{
    char b1[32], b2[32], b3[32], bound[16];
    printf("\nexecutions for dfs and dpor to exhaust a workload (cap %s "
           "executions "
           "or %.0f s)\n",
           group(EXHAUST_CAP, b1, sizeof b1), EXHAUST_SECONDS);
    printf("  %-34s %-5s %-5s %20s %10s %8s %8s %10s %9s\n", "workload",
           "strat", "bound", "executions", "distinct", "seconds", "peak MiB",
           "loom", "weft/loom");
    for (int i = 0; i < ncounts; i++) {
        const struct count *x = &counts[i];
        char exec[48];
        if (x->exhausted)
            snprintf(exec, sizeof exec, "%s",
                     group(x->executions, b1, sizeof b1));
        else
            snprintf(exec, sizeof exec, "> %s (capped%s)",
                     group(x->executions, b1, sizeof b1),
                     x->executions < EXHAUST_CAP ? ", time" : "");
        if (x->bound == WEFT_PREEMPTIONS_ITERATE)
            snprintf(bound, sizeof bound, "iter");
        else if (x->bound < 0)
            snprintf(bound, sizeof bound, "none");
        else
            snprintf(bound, sizeof bound, "%d", x->bound);
        printf("  %-34s %-5s %-5s %20s %10s %8.2f %8ld %10s %s%8.2f\n",
               x->workload, x->strategy, bound, exec,
               group(x->distinct, b3, sizeof b3), x->seconds, x->rss_mib,
               group(x->loom, b2, sizeof b2), x->exhausted ? " " : ">",
               (double)x->executions / (double)x->loom);
    }
    printf("  note: the counts are not the same measure. weft's choice "
           "points are its visible\n"
           "  operations, and spawn, join and thread exit are among them; "
           "weft's dfs is a\n"
           "  stateless search under a preemption bound with no partial-"
           "order reduction, while\n"
           "  loom uses DPOR and switches only at its own atomic and "
           "sync operations. The loom\n"
           "  figures are as given for these workloads (for W2 the bound "
           "loom used is not stated:\n"
           "  both W2 rows are compared with it). weft/loom is a ratio of "
           "executions, not of time.\n"
           "  distinct: executions whose trace no earlier one had (weft's "
           "own count); peak MiB:\n"
           "  the process's peak resident memory so far. dpor runs one "
           "execution per class of\n"
           "  interleavings equal up to the order of independent operations "
           "(W4's loom figure\n"
           "  there is the count of those classes, 12!/(3!^4)).\n");
}

/* ---------------------------------- part 3: executions to first failure */

/*
 * Each figure is measured twice: from the starting seeds 1..20 (as the
 * benchmark was specified), and from the seeds s * 2^32. Where execution
 * k's seed is seed + k (weft did this until it derived the seeds by
 * mixing), explorations from seeds 1..20 share almost all their
 * executions: seed s + 1 runs what seed s runs, one execution later, and
 * the 20 figures are one sample, shifted. Explorations from seeds s * 2^32
 * never share an execution either way. The two columns agree when
 * execution seeds are well mixed.
 */
#define NSETS 2
static const char *const set_names[NSETS] = { "seeds 1..20", "seeds s*2^32" };

static uint64_t start_seed(int set, int s)
{
    return set == 0 ? (uint64_t)s : (uint64_t)s << 32;
}

struct sample {
    int missed;                /* no finding within FIND_CAP */
    uint64_t median, min, max; /* NOT_FOUND where runs missed */
};

struct find {
    const char *bug, *bkey;
    char strategy[24];
    int runs;       /* explorations per seed set (SEEDS, or 1 for dfs) */
    int wrong;      /* findings of another kind */
    bool exhausted; /* dfs: the bounded search ended without the bug */
    struct sample set[NSETS];
    double seconds;
};

#define NFIND_STRATS 9 /* the hunt() calls per bug in part_finds */
static struct find finds[NBUGS * NFIND_STRATS];
static int nfinds;

/* One exploration from `seed`; returns the executions up to and with the
 * failing one, or NOT_FOUND. */
static uint64_t first_failure(const struct bug *b, const char *strategy,
                              unsigned depth, int bound, uint64_t seed,
                              struct find *x)
{
    weft_config_t c;
    weft_result_t r;
    config(&c, strategy, seed, FIND_CAP);
    c.pct_depth = depth;
    c.preemption_bound = bound;
    int rc = weft_explore(&c, b->body, NULL, &r);
    uint64_t n = NOT_FOUND;
    if (rc == 1 && r.finding == b->kind) {
        n = r.executions;
    } else if (rc == 1) {
        fprintf(stderr,
                "bench_explore: %s under %s, seed %llu: expected %s, got "
                "%s: %s\n",
                b->label, x->strategy, (unsigned long long)seed,
                weft_finding_name(b->kind), weft_finding_name(r.finding),
                r.message);
        x->wrong++;
        failures++;
    } else if (rc < 0) {
        fprintf(stderr, "bench_explore: %s under %s: weft_explore: %s\n",
                b->label, x->strategy, weft_strerror(rc));
        failures++;
    } else if (r.exhausted) {
        x->exhausted = true;
    }
    weft_result_destroy(&r);
    return n;
}

static struct sample sample_of(uint64_t *v, int n)
{
    struct sample s = { 0, 0, 0, 0 };
    for (int i = 0; i < n; i++)
        s.missed += v[i] == NOT_FOUND;
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    s.min = v[0];
    s.max = v[n - 1];
    if (n % 2 == 1)
        s.median = v[n / 2];
    else if (v[n / 2] == NOT_FOUND)
        s.median = NOT_FOUND;
    else /* the mean of the middle two, rounded up */
        s.median = (v[n / 2 - 1] + v[n / 2] + 1) / 2;
    return s;
}

static void hunt(int bug, const char *strategy, unsigned depth, int bound)
{
    const struct bug *b = &bugs[bug];
    struct find *x = &finds[nfinds++];
    bool dfs = strcmp(strategy, "dfs") == 0;
    bool systematic = dfs || strcmp(strategy, "dpor") == 0;
    uint64_t v[SEEDS];
    memset(x, 0, sizeof *x);
    x->bug = b->label;
    x->bkey = b->key;
    if (strcmp(strategy, "pct") == 0)
        snprintf(x->strategy, sizeof x->strategy, "pct d=%u", depth);
    else if (dfs && bound == WEFT_PREEMPTIONS_ITERATE)
        snprintf(x->strategy, sizeof x->strategy, "dfs iterate");
    else if (dfs)
        snprintf(x->strategy, sizeof x->strategy, "dfs bound %d", bound);
    else
        snprintf(x->strategy, sizeof x->strategy, "%s", strategy);
    x->runs = systematic ? 1 : SEEDS; /* dfs and dpor ignore the seed */
    double t0 = now_ns();
    for (int set = 0; set < NSETS; set++) {
        if (systematic && set > 0) {
            x->set[set] = x->set[0];
            continue;
        }
        for (int i = 0; i < x->runs; i++)
            v[i] = first_failure(b, strategy, depth, bound,
                                 start_seed(set, i + 1), x);
        x->set[set] = sample_of(v, x->runs);
    }
    x->seconds = (now_ns() - t0) / 1e9;
}

static void part_finds(void)
{
    for (int k = 0; k < NBUGS; k++) {
        hunt(k, "random", 3, 2);
        for (unsigned d = 1; d <= 3; d++)
            hunt(k, "pct", d, 2);
        hunt(k, "dfs", 3, 2);
        hunt(k, "dfs", 3, 5); /* beyond the brief: enough for the deep bug */
        hunt(k, "dfs", 3, WEFT_PREEMPTIONS_ITERATE);
        hunt(k, "dpor", 3, -1);
        hunt(k, "pos", 3, 2);
    }
}

static const char *count_or_miss(uint64_t v, char *buf, size_t len)
{
    if (v == NOT_FOUND) {
        char b[32];
        snprintf(buf, len, "> %s", group(FIND_CAP, b, sizeof b));
        return buf;
    }
    return group(v, buf, len);
}

static void print_finds(void)
{
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    printf("\nexecutions to the first failure (median over %d explorations, "
           "each capped at %s\nexecutions; dfs is deterministic: one "
           "search, the same figure in both columns)\n",
           SEEDS, group(FIND_CAP, b1, sizeof b1));
    const char *bug = NULL;
    for (int i = 0; i < nfinds; i++) {
        const struct find *x = &finds[i];
        if (bug == NULL || strcmp(bug, x->bug) != 0) {
            bug = x->bug;
            printf("  %s\n    %-12s %-20s | %s\n", bug, "", set_names[0],
                   set_names[1]);
            printf("    %-12s %10s %-9s | %10s %10s %10s %-9s %7s\n",
                   "strategy", "median", "missed", "median", "min", "max",
                   "missed", "seconds");
        }
        char missed[NSETS][24];
        for (int s = 0; s < NSETS; s++) {
            snprintf(missed[s], sizeof missed[s], "%d/%d%s", x->set[s].missed,
                     x->runs, x->exhausted ? " exh." : "");
        }
        printf("    %-12s %10s %-9s | %10s %10s %10s %-9s %7.2f%s\n",
               x->strategy, count_or_miss(x->set[0].median, b2, sizeof b2),
               missed[0], count_or_miss(x->set[1].median, b3, sizeof b3),
               count_or_miss(x->set[1].min, b4, sizeof b4),
               count_or_miss(x->set[1].max, b5, sizeof b5), missed[1],
               x->seconds, x->wrong > 0 ? "  WRONG FINDING" : "");
    }
    printf("  missed: explorations that did not find the bug within the "
           "cap (\"exh.\": the bounded\n"
           "  dfs search ended without it). If execution k's seed were "
           "seed + k, explorations\n"
           "  from seeds 1..20 would overlap (seed s + 1 running what seed "
           "s runs, one execution\n"
           "  later) and the columns would differ; seeds s*2^32 cannot "
           "overlap.\n");
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

static void json_count(FILE *f, const char *key, uint64_t v)
{
    if (v == NOT_FOUND)
        fprintf(f, "\"%s\": null", key);
    else
        fprintf(f, "\"%s\": %llu", key, (unsigned long long)v);
}

static void write_json(double seconds)
{
    const char *dir = getenv("WEFT_BENCH_DIR");
    char path[4200];
    if (dir == NULL || *dir == '\0')
        dir = ".";
    if (mkdir_p(dir) != 0) {
        fprintf(stderr, "bench_explore: cannot create %s: %s\n", dir,
                strerror(errno));
        return;
    }
    snprintf(path, sizeof path, "%s/bench_explore.json", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_explore: cannot write %s: %s\n", path,
                strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"bench\": \"explore\",\n  \"weft_version\": \"%s\",\n",
            WEFT_VERSION);

    fprintf(f,
            "  \"executions_per_second\": {\"reps\": %d, "
            "\"executions_per_rep\": %d, \"pct_depth\": 3, "
            "\"dfs_bound\": 2, \"figures\": [\n",
            REPS, RATE_EXECS);
    for (int i = 0; i < nrates; i++) {
        const struct rate *x = &rates[i];
        fprintf(f,
                "    {\"workload\": \"%s\", \"strategy\": \"%s\", "
                "\"unit\": \"exec/s\", \"best\": %.1f, \"median\": %.1f, "
                "\"steps_per_execution\": %.2f",
                x->wkey, x->strategy, x->v.best, x->v.median, x->steps);
        if (strcmp(x->strategy, "dfs") == 0)
            fprintf(f,
                    ", \"dfs_search_executions\": %llu, "
                    "\"dfs_exhausted\": %s",
                    (unsigned long long)x->per_search,
                    x->exhausted ? "true" : "false");
        fprintf(f, "}%s\n", i + 1 < nrates ? "," : "");
    }
    fprintf(f, "  ]},\n");

    fprintf(f,
            "  \"dfs_exhaustion\": {\"cap_executions\": %d, "
            "\"cap_seconds\": %.1f, \"figures\": [\n",
            EXHAUST_CAP, EXHAUST_SECONDS);
    for (int i = 0; i < ncounts; i++) {
        const struct count *x = &counts[i];
        fprintf(f,
                "    {\"workload\": \"%s\", \"strategy\": \"%s\", "
                "\"preemption_bound\": %d, "
                "\"executions\": %llu, \"exhausted\": %s, \"seconds\": "
                "%.3f, \"distinct\": %llu, \"peak_rss_mib\": %ld, "
                "\"loom_executions\": %llu, \"ratio_weft_over_loom\": "
                "%.4f}%s\n",
                x->wkey, x->strategy, x->bound,
                (unsigned long long)x->executions,
                x->exhausted ? "true" : "false", x->seconds,
                (unsigned long long)x->distinct, x->rss_mib,
                (unsigned long long)x->loom,
                (double)x->executions / (double)x->loom,
                i + 1 < ncounts ? "," : "");
    }
    fprintf(f, "  ], \"note\": \"not the same measure: weft's choice points "
               "include spawn, join and exit; no partial-order reduction; "
               "a bound of -1 means none\"},\n");

    fprintf(f,
            "  \"executions_to_first_failure\": {\"seeds\": %d, "
            "\"cap\": %d, \"seed_sets\": [\"1..%d\", \"s*2^32\"], "
            "\"figures\": [\n",
            SEEDS, FIND_CAP, SEEDS);
    for (int i = 0; i < nfinds; i++) {
        const struct find *x = &finds[i];
        fprintf(f, "    {\"bug\": \"%s\", \"strategy\": \"%s\", \"runs\": %d",
                x->bkey, x->strategy, x->runs);
        static const char *const keys[NSETS] = { "seeds_1_20", "seeds_spread" };
        for (int k = 0; k < NSETS; k++) {
            const struct sample *m = &x->set[k];
            fprintf(f, ", \"%s\": {", keys[k]);
            json_count(f, "median", m->median);
            fprintf(f, ", ");
            json_count(f, "min", m->min);
            fprintf(f, ", ");
            json_count(f, "max", m->max);
            fprintf(f, ", \"missed\": %d}", m->missed);
        }
        fprintf(f,
                ", \"wrong_finding\": %d, \"search_exhausted\": %s, "
                "\"seconds\": %.3f}%s\n",
                x->wrong, x->exhausted ? "true" : "false", x->seconds,
                i + 1 < nfinds ? "," : "");
    }
    fprintf(f, "  ]},\n");
    fprintf(f, "  \"seconds\": %.1f,\n  \"workload_failures\": %d\n}\n",
            seconds, failures);
    fclose(f);
    printf("\nwrote %s\n", path);
}

/* ------------------------------------------------------------------ main */

/* dpor's search split over WEFT_JOBS workers: W4 exhausted with 1, 2
 * and 4 jobs (wall time; on a machine with fewer cores than jobs the
 * workers share them). Printed at once, not in the JSON. */
static void part_split(void)
{
    printf("\ndpor split over WEFT_JOBS (W4 exhausted; wall time, %ld cores "
           "online)\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("  jobs   executions      seconds   executions/s  speed-up\n");
    double base = 0;
    for (unsigned jobs = 1; jobs <= 4; jobs *= 2) {
        weft_config_t c;
        weft_result_t r;
        config(&c, "dpor", 1, EXHAUST_CAP);
        c.preemption_bound = -1;
        c.jobs = jobs;
        double t0 = now_ns();
        int rc = weft_explore(&c, workloads[3].body, NULL, &r);
        double t = (now_ns() - t0) / 1e9;
        if (rc != 0 || !r.exhausted || r.executions != 369600) {
            fprintf(stderr,
                    "bench_explore: dpor with %u jobs on W4: rc %d, "
                    "%llu executions\n",
                    jobs, rc, (unsigned long long)r.executions);
            failures++;
        }
        if (jobs == 1)
            base = t;
        printf("  %4u %12llu %12.2f %14.0f %9.2f\n", jobs,
               (unsigned long long)r.executions, t, r.executions / t, base / t);
        weft_result_destroy(&r);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench_explore: weft %s, strategies random, pct, dfs, dpor, pos\n",
           WEFT_VERSION);
    bool finds_only = argc > 1 && strcmp(argv[1], "finds") == 0;
    double t0 = now_ns();
    if (!finds_only) {
        part_rates();
        print_rates();
        part_counts();
        print_counts();
        part_split();
    }
    part_finds();
    print_finds();
    double seconds = (now_ns() - t0) / 1e9;
    printf("\ntotal %.1f s\n", seconds);
    write_json(seconds);
    if (failures > 0)
        fprintf(stderr, "bench_explore: %d workload(s) failed under weft\n",
                failures);
    return failures > 0 ? 1 : 0;
}
