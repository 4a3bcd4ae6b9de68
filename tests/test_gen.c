/*
 * test_gen.c: generated-program soundness. From a seed, a small random
 * program: 2-4 threads of 1-4 operations each over 1-3 atomics, 0-2
 * mutexes and 0-1 semaphore (atomic load, store, fetch_add and
 * compare-exchange, an atomic operation inside one mutex or two nested
 * ones, semaphore post and wait), run by an interpreter inside a weft
 * body. An execution's outcome is the final value of every atomic and
 * what each thread read; an execution that ends in a finding (a deadlock:
 * the only one a generated program can have) adds that finding's kind.
 *
 * The SET of outcomes is collected under unbounded dfs
 * (WEFT_PREEMPTIONS=none) and under iterating dfs (the default): both
 * explore every execution, so the sets must be equal. Then under the
 * strategy named by WEFT_GEN_STRATEGY (default "dpor"): equal when it
 * says it exhausted the space, a subset otherwise (random, pct); a
 * strategy weft does not know is skipped with a note. Programs whose
 * unbounded space is larger than WEFT_GEN_CAP executions (4000 here) are
 * skipped and counted: without partial-order reduction the space grows
 * very fast (a semaphore post among four one-operation threads already
 * takes about a million executions).
 *
 * The dfs spin rule: a load (or compare-exchange) of a location the task
 * read last, with no other task run since and no write of its own, is a
 * spin and is recorded as a yield, where the yielder itself is no option
 * (strategy_dfs.c): the schedule in which it just goes on is never run.
 * A program re-reading an atomic could so lose outcomes. The generator
 * never emits such a re-read: a second read of an atomic the thread read
 * with no write of its own in between becomes fetch_add(0), a write.
 *
 * WEFT_GEN_COUNT programs (200 here; `make soak` runs thousands), from
 * WEFT_GEN_SEED (1). A failure prints the seed and the program; rerun it
 * alone with WEFT_GEN_SEED=<seed> WEFT_GEN_COUNT=1.
 */
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

enum { LOAD, STORE, FADD, CAS, POST, WAIT, NKINDS };

struct op {
    uint8_t kind; /* LOAD .. CAS on atomic a; POST, WAIT on the semaphore */
    uint8_t a;
    uint32_t v, e; /* value; e: the expected value of a CAS */
    int8_t m1, m2; /* held around the atomic operation (-1: none) */
};

#define MAXT   4
#define MAXOPS 4

struct prog {
    unsigned nthreads, natomics, nmutexes, nsems, sem_init;
    unsigned nops[MAXT];
    struct op ops[MAXT][MAXOPS];
};

static uint64_t rng;
static uint32_t next_rand(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

static unsigned max_ops = 3; /* in all threads: WEFT_GEN_OPS */

static void generate(struct prog *p, uint64_t seed)
{
    rng = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    for (int i = 0; i < 4; i++)
        (void)next_rand(2);
    memset(p, 0, sizeof *p);
    /* mostly 2 threads: each thread more multiplies the space */
    p->nthreads = next_rand(4) != 0 ? 2 : 3 + next_rand(2);
    p->natomics = 1 + next_rand(3);
    p->nmutexes = next_rand(3);
    p->nsems = next_rand(2);
    p->sem_init = next_rand(2);
    /* the space grows fast with the operations: max_ops in all */
    if (p->nthreads > max_ops)
        p->nthreads = max_ops;
    unsigned left = max_ops;
    for (unsigned t = 0; t < p->nthreads; t++) {
        unsigned most = left - (p->nthreads - 1 - t);
        if (most > MAXOPS)
            most = MAXOPS;
        p->nops[t] = 1 + next_rand(most);
        left -= p->nops[t];
        bool read[3] = { false, false, false };
        for (unsigned i = 0; i < p->nops[t]; i++) {
            struct op *o = &p->ops[t][i];
            o->m1 = o->m2 = -1;
            o->kind = (uint8_t)next_rand(p->nsems ? NKINDS : CAS + 1);
            o->a = (uint8_t)next_rand(p->natomics);
            o->v = 1 + next_rand(3);
            o->e = next_rand(3);
            if (o->kind <= CAS && p->nmutexes > 0 && next_rand(2)) {
                o->m1 = (int8_t)next_rand(p->nmutexes);
                if (p->nmutexes == 2 && next_rand(2))
                    o->m2 = (int8_t)(1 - o->m1); /* nested: ABBA possible */
            }
            if (o->kind == LOAD || o->kind == CAS) {
                if (read[o->a]) { /* a re-read: a spin to dfs (see top) */
                    o->kind = FADD;
                    o->v = 0;
                }
                read[o->a] = true;
            } else if (o->kind == STORE || o->kind == FADD) {
                read[o->a] = false;
            }
        }
    }
}

static const char *const kind_names[NKINDS] = { "load", "store", "fetch_add",
                                                "cas",  "post",  "wait" };

static void print_prog(const struct prog *p, uint64_t seed)
{
    fprintf(stderr,
            "program of seed %llu: %u atomics, %u mutexes, %u semaphores "
            "(initial %u)\n",
            (unsigned long long)seed, p->natomics, p->nmutexes, p->nsems,
            p->sem_init);
    for (unsigned t = 0; t < p->nthreads; t++) {
        fprintf(stderr, "  thread %u:", t);
        for (unsigned i = 0; i < p->nops[t]; i++) {
            const struct op *o = &p->ops[t][i];
            fprintf(stderr, " %s", kind_names[o->kind]);
            if (o->kind <= CAS)
                fprintf(stderr, "(a%u,%u,%u)", o->a, o->v, o->e);
            if (o->m1 >= 0)
                fprintf(stderr, "[m%d%s]", o->m1, o->m2 >= 0 ? "+" : "");
            fprintf(stderr, ";");
        }
        fprintf(stderr, "\n");
    }
}

/* ------------------------------------------------------- the interpreter */

static const struct prog *cur;
static weft_atomic32_t atoms[3];
static weft_mutex_t mutexes[2];
static weft_sem_t sem;
static uint64_t seen[MAXT]; /* what each thread read, hashed */

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static void *thread_main(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    uint64_t h = t + 1;
    for (unsigned i = 0; i < cur->nops[t]; i++) {
        const struct op *o = &cur->ops[t][i];
        weft_atomic32_t *a = &atoms[o->a];
        if (o->m1 >= 0)
            weft_mutex_lock(&mutexes[o->m1]);
        if (o->m2 >= 0)
            weft_mutex_lock(&mutexes[o->m2]);
        switch (o->kind) {
        case LOAD:
            h = mix(h, weft_atomic32_load(a));
            break;
        case STORE:
            weft_atomic32_store(a, o->v);
            break;
        case FADD:
            h = mix(h, weft_atomic32_fetch_add(a, o->v));
            break;
        case CAS: {
            uint32_t e = o->e;
            h = mix(h, weft_atomic32_compare_exchange(a, &e, o->v));
            h = mix(h, e);
            break;
        }
        case POST:
            weft_sem_post(&sem);
            break;
        case WAIT:
            weft_sem_wait(&sem);
            break;
        }
        if (o->m2 >= 0)
            weft_mutex_unlock(&mutexes[o->m2]);
        if (o->m1 >= 0)
            weft_mutex_unlock(&mutexes[o->m1]);
    }
    seen[t] = h;
    return NULL;
}

/* The outcomes of one exploration, a set. */
#define MAXOUT 4096
struct outset {
    uint64_t v[MAXOUT];
    unsigned n;
    bool full;
    uint64_t executions; /* counted by the search */
};
static struct outset *collecting;

static void add(struct outset *s, uint64_t h)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->v[i] == h)
            return;
    if (s->n == MAXOUT)
        s->full = true;
    else
        s->v[s->n++] = h;
}

static void body(void *arg)
{
    (void)arg;
    const struct prog *p = cur;
    for (unsigned i = 0; i < 3; i++)
        atoms[i].v = 0;
    for (unsigned i = 0; i < p->nmutexes; i++)
        weft_mutex_init(&mutexes[i], WEFT_MUTEX_NORMAL);
    if (p->nsems)
        weft_sem_init(&sem, p->sem_init);
    memset(seen, 0, sizeof seen);
    weft_thread_t th[MAXT];
    for (unsigned t = 0; t < p->nthreads; t++)
        weft_thread_spawn(&th[t], "g", thread_main, (void *)(uintptr_t)t);
    for (unsigned t = 0; t < p->nthreads; t++)
        weft_thread_join(th[t], NULL);
    uint64_t h = 7;
    for (unsigned i = 0; i < p->natomics; i++)
        h = mix(h, atoms[i].v);
    for (unsigned t = 0; t < p->nthreads; t++)
        h = mix(h, seen[t]);
    add(collecting, h);
}

/* -------------------------------------------------------- the comparison */

static uint64_t gen_cap = 4000; /* WEFT_GEN_CAP */
#define GEN_CAP gen_cap         /* executions of one exhaustive search */

static unsigned shard_k = 1, shard_n = 1; /* WEFT_SHARD of explore() */

/* Explore cur under strategy/bound into *s: 0, or -EINVAL for a strategy
 * weft does not know; *exhausted says whether the space was covered. */
static int explore(const char *strategy, int bound, uint64_t iterations,
                   struct outset *s, bool *exhausted)
{
    weft_config_t c;
    weft_result_t r;
    weft_config_init(&c);
    c.use_env = false;
    c.quiet = true;
    c.progress = 0;
    c.strategy = strategy;
    c.seed = 1;
    c.iterations = iterations;
    c.preemption_bound = bound;
    c.shard_index = shard_k;
    c.shard_count = shard_n;
    c.keep_going = true; /* every deadlock, not only the first */
    c.shrink = false;
    c.lock_order = 0; /* an order seen in an earlier execution: not ours */
    c.schedule_out = "/dev/null";
    memset(s, 0, sizeof *s);
    collecting = s;
    int rc = weft_explore(&c, body, NULL, &r);
    collecting = NULL;
    if (rc == -EINVAL) {
        weft_result_destroy(&r);
        return rc;
    }
    assert_true(rc == 0 || rc == 1);
    if (rc == 1) {
        /* the only finding a generated program has */
        if (r.finding != WEFT_FINDING_DEADLOCK) {
            fprintf(stderr, "unexpected finding: %s\n", r.message);
            fail();
        }
        add(s, (uint64_t)r.finding);
    }
    s->executions = r.executions;
    /* 16 distinct failures end a keep_going search early */
    *exhausted = r.exhausted && r.failures < 16 && !s->full;
    weft_result_destroy(&r);
    return 0;
}

static bool subset(const struct outset *a, const struct outset *b)
{
    for (unsigned i = 0; i < a->n; i++) {
        bool in = false;
        for (unsigned j = 0; j < b->n && !in; j++)
            in = a->v[i] == b->v[j];
        if (!in)
            return false;
    }
    return true;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return dflt;
    return strtoull(s, NULL, 0);
}

static struct outset s_none, s_iter, s_other, s_part, s_union;

/* dpor split in three shards: the union of their outcomes is the whole
 * search's, each shard exhausted. */
static bool shards_agree(const char *strategy)
{
    memset(&s_union, 0, sizeof s_union);
    bool all = true;
    uint64_t sum = 0;
    for (shard_k = 1, shard_n = 3; shard_k <= shard_n; shard_k++) {
        bool ex;
        assert_int_equal(explore(strategy, -1, GEN_CAP, &s_part, &ex), 0);
        all = all && ex;
        sum += s_part.executions;
        for (unsigned i = 0; i < s_part.n; i++)
            add(&s_union, s_part.v[i]);
    }
    shard_k = shard_n = 1;
    /* and no trace twice: the shards count what the whole search does */
    return !all || (s_union.n == s_none.n && subset(&s_none, &s_union) &&
                    subset(&s_union, &s_none) && sum == s_other.executions);
}

static void generated_programs_agree(void **state)
{
    (void)state;
    /* valgrind and qemu run each execution tens of times slower */
    bool slow = getenv("TEST_UNDER_VALGRIND") != NULL ||
                getenv("TEST_UNDER_QEMU") != NULL;
    uint64_t count = env_u64("WEFT_GEN_COUNT", slow ? 20 : 200);
    uint64_t seed0 = env_u64("WEFT_GEN_SEED", 1);
    max_ops = (unsigned)env_u64("WEFT_GEN_OPS", 3);
    if (max_ops < 2 || max_ops > MAXT * MAXOPS)
        max_ops = 3;
    gen_cap = env_u64("WEFT_GEN_CAP", 4000);
    const char *other = getenv("WEFT_GEN_STRATEGY");
    if (other == NULL || *other == '\0')
        other = "dpor";
    bool other_ok = true;
    unsigned skipped = 0, compared = 0, other_full = 0, other_sub = 0;
    struct prog p;
    for (uint64_t k = 0; k < count; k++) {
        uint64_t seed = seed0 + k;
        generate(&p, seed);
        cur = &p;
        bool ex_none, ex_iter, ex_other;
        assert_int_equal(explore("dfs", -1, GEN_CAP, &s_none, &ex_none), 0);
        if (!ex_none) {
            skipped++;
            continue;
        }
        assert_int_equal(explore("dfs", WEFT_PREEMPTIONS_ITERATE, GEN_CAP,
                                 &s_iter, &ex_iter),
                         0);
        if (!ex_iter || s_iter.n != s_none.n || !subset(&s_iter, &s_none)) {
            print_prog(&p, seed);
            fprintf(stderr,
                    "dfs none: %u outcomes; dfs iterate: %u outcomes%s\n",
                    s_none.n, s_iter.n, ex_iter ? "" : " (not exhausted)");
            fail();
        }
        compared++;
        if (!other_ok)
            continue;
        if (explore(other, -1, GEN_CAP, &s_other, &ex_other) == -EINVAL) {
            printf("note: strategy '%s' is not known to this weft: its "
                   "comparison is skipped\n",
                   other);
            other_ok = false;
            continue;
        }
        bool eq = s_other.n == s_none.n && subset(&s_none, &s_other);
        if (!subset(&s_other, &s_none) || (ex_other && !eq)) {
            print_prog(&p, seed);
            fprintf(stderr, "dfs none: %u outcomes; %s: %u outcomes (%s)%s\n",
                    s_none.n, other, s_other.n,
                    ex_other ? "exhausted" : "not exhausted",
                    subset(&s_other, &s_none) ? "" : ", not a subset");
            fail();
        }
        if (ex_other && strcmp(other, "dpor") == 0 && !shards_agree(other)) {
            print_prog(&p, seed);
            fprintf(stderr, "dfs none: %u outcomes; dpor in 3 shards: %u\n",
                    s_none.n, s_union.n);
            fail();
        }
        if (ex_other)
            other_full++;
        else
            other_sub++;
    }
    printf("generated programs: %llu from seed %llu; %u compared (dfs none "
           "= dfs iterate), %u skipped (over %llu executions)",
           (unsigned long long)count, (unsigned long long)seed0, compared,
           skipped, (unsigned long long)GEN_CAP);
    if (other_ok)
        printf("; %s: %u equal (exhausted, in 3 shards too), %u subsets", other,
               other_full, other_sub);
    printf("\n");
    assert_true(compared > count / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_programs_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
