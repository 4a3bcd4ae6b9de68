/*
 * test_lockorder.c: the lock-order detector (lockorder.c): cycles in the
 * order locks are taken are reported even when no execution deadlocks,
 * within one execution and across the executions of one exploration; and
 * never on code that keeps one order (a hierarchy, ordered forks, a gate
 * lock, trylocks, recursive relocks, read locks that share).
 *
 * cmocka's assert_* never run inside a weft task: tasks only lock, record
 * lines into globals, and cmocka checks after weft_explore.
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
#include <unistd.h>

#include <cmocka.h>

/* A pinned configuration: no environment, no output, random strategy. */
static void config(weft_config_t *c, uint64_t seed, uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->strategy = "random";
    c->seed = seed;
    c->iterations = iterations;
}

#define assert_no_finding(rc, res)                                             \
    do {                                                                       \
        if ((rc) != 0)                                                         \
            fail_msg("weft_explore returned %d: %s\n%s", (rc), (res)->message, \
                     (res)->report ? (res)->report : "(no report)");           \
    } while (0)

#define assert_contains(haystack, needle)                                      \
    do {                                                                       \
        const char *h_ = (haystack);                                           \
        if (h_ == NULL || strstr(h_, (needle)) == NULL)                        \
            fail_msg("expected \"%s\" in:\n%s", (needle), h_ ? h_ : "(null)"); \
    } while (0)

#define assert_not_contains(haystack, needle)                        \
    do {                                                             \
        const char *h_ = (haystack);                                 \
        if (h_ != NULL && strstr(h_, (needle)) != NULL)              \
            fail_msg("did not expect \"%s\" in:\n%s", (needle), h_); \
    } while (0)

#define assert_kind(rc, res, kind)                                      \
    do {                                                                \
        if ((rc) != 1 || (res)->finding != (kind))                      \
            fail_msg("expected %s, got rc %d, %s: %s\n%s",              \
                     weft_finding_name(kind), (rc),                     \
                     weft_finding_name((res)->finding), (res)->message, \
                     (res)->report ? (res)->report : "(no report)");    \
    } while (0)

/* "tests/test_lockorder.c:<line>", as reports print sites. */
static const char *site(int line)
{
    static char buf[8][96];
    static unsigned k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s:%d", __FILE__, line);
    return b;
}

/* Lines of the calls the tasks make, recorded on the line of the call. */
enum { INIT_A, INIT_B, AB_A, AB_B, BA_B, BA_A, NLINES };
static int lines[NLINES];
#define AT(slot, call) (lines[slot] = __LINE__, (call))

/* ------------------------------------------------- ABBA, never deadlocking */

struct ab {
    weft_mutex_t a, b;
};

static void *take_ab(void *arg)
{
    struct ab *s = arg;
    AT(AB_A, weft_mutex_lock(&s->a));
    AT(AB_B, weft_mutex_lock(&s->b));
    weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->a);
    return NULL;
}

static void *take_ba(void *arg)
{
    struct ab *s = arg;
    AT(BA_B, weft_mutex_lock(&s->b));
    AT(BA_A, weft_mutex_lock(&s->a));
    weft_mutex_unlock(&s->a);
    weft_mutex_unlock(&s->b);
    return NULL;
}

static void init_ab(struct ab *s)
{
    AT(INIT_A, weft_mutex_init(&s->a, WEFT_MUTEX_NORMAL));
    AT(INIT_B, weft_mutex_init(&s->b, WEFT_MUTEX_NORMAL));
}

/* Two threads, the second spawned after the first is joined: they never
 * overlap, so no execution can deadlock. */
static void abba_joined(void *arg)
{
    (void)arg;
    struct ab s;
    weft_thread_t t;
    init_ab(&s);
    weft_thread_spawn(&t, "ab", take_ab, &s);
    weft_thread_join(t, NULL);
    weft_thread_spawn(&t, "ba", take_ba, &s);
    weft_thread_join(t, NULL);
}

static void abba_serialised_by_a_join_is_reported(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        config(&c, seed, 100);
        int rc = weft_explore(&c, abba_joined, NULL, &res);
        assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
        /* every execution takes both orders: the first one fails */
        assert_int_equal(res.executions, 1);
        weft_result_destroy(&res);
    }
    config(&c, 7, 100);
    int rc = weft_explore(&c, abba_joined, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    /* the message names both locks, where each was initialised, and the
     * four acquisition sites */
    assert_contains(res.message, "lock-order inversion");
    assert_contains(res.message, "task 2 \"ba\"");
    assert_contains(res.message, "task 1 \"ab\"");
    assert_contains(res.message, "mutex M1");
    assert_contains(res.message, "mutex M2");
    for (int i = 0; i < NLINES; i++)
        assert_contains(res.message, site(lines[i]));
    assert_contains(res.report, "kind:      lock-order inversion");
    assert_contains(res.report, "lock-order cycle");
    assert_contains(res.report, "(this execution)");
    assert_contains(res.report, "replay:    WEFT_SEED=");
    /* the execution was replayed (shrinking, then the report) and failed
     * the same way each time */
    assert_not_contains(res.report, "did not fail the same way");
    assert_not_contains(res.report, "one task");
    assert_not_contains(res.report, "another execution");
    char message[512];
    snprintf(message, sizeof message, "%s", res.message);
    uint64_t failing_seed = res.seed;
    weft_result_destroy(&res);

    /* The seed alone replays it, in a new exploration (a fresh graph). */
    config(&c, failing_seed, 1);
    rc = weft_explore(&c, abba_joined, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_string_equal(res.message, message);
    weft_result_destroy(&res);

    /* Other strategies see it too. */
    const char *strategies[] = { "pct", "dfs" };
    for (int i = 0; i < 2; i++) {
        config(&c, 3, 100);
        c.strategy = strategies[i];
        rc = weft_explore(&c, abba_joined, NULL, &res);
        assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
        weft_result_destroy(&res);
    }
}

static void lock_order_off_reports_nothing(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 300);
    c.lock_order = 0;
    int rc = weft_explore(&c, abba_joined, NULL, &res);
    assert_no_finding(rc, &res);
    assert_int_equal(res.executions, 300);
    weft_result_destroy(&res);
}

static void the_environment_sets_lock_order(void **state)
{
    (void)state;
    weft_config_t c;
    char err[256];
    weft_config_init(&c);
    assert_int_equal(c.lock_order, 1);
    setenv("WEFT_LOCK_ORDER", "0", 1);
    assert_int_equal(weft_config_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.lock_order, 0);
    setenv("WEFT_LOCK_ORDER", "1", 1);
    assert_int_equal(weft_config_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.lock_order, 1);
    setenv("WEFT_LOCK_ORDER", "2", 1);
    assert_int_equal(weft_config_from_env(&c, err, sizeof err), -EINVAL);
    assert_contains(err, "WEFT_LOCK_ORDER");
    unsetenv("WEFT_LOCK_ORDER");
    assert_string_equal(weft_finding_name(WEFT_FINDING_LOCK_ORDER),
                        "lock-order inversion");
}

/* One task, two phases: A then B, and later B then A. It cannot deadlock
 * with itself, but two threads running the two phases can: reported (as
 * TSan and lockdep do), and the report says one task took every edge. */
static void abba_phases(void *arg)
{
    (void)arg;
    struct ab s;
    init_ab(&s);
    take_ab(&s);
    weft_yield();
    take_ba(&s);
}

static void abba_in_one_task_is_reported_as_one_task(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 10);
    int rc = weft_explore(&c, abba_phases, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_contains(res.message, "it had locked");
    assert_contains(res.report, "one task:  task 0 \"main\" took every edge");
    for (int i = 0; i < NLINES; i++)
        assert_contains(res.message, site(lines[i]));
    weft_result_destroy(&res);
}

/* ------------------------------------------------------- no false alarms */

struct order {
    weft_mutex_t r, a, b;
    int n;
};

/* A then B; release; later B alone. */
static void *hierarchy_1(void *arg)
{
    struct order *s = arg;
    weft_mutex_lock(&s->a);
    weft_mutex_lock(&s->b);
    s->n++;
    weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->a);
    weft_mutex_lock(&s->b);
    s->n++;
    weft_mutex_unlock(&s->b);
    return NULL;
}

/* R (recursive), A, R again (a relock, no acquisition), B. */
static void *hierarchy_2(void *arg)
{
    struct order *s = arg;
    weft_mutex_lock(&s->r);
    weft_mutex_lock(&s->a);
    weft_mutex_lock(&s->r);
    weft_mutex_lock(&s->b);
    s->n++;
    weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->r);
    weft_mutex_unlock(&s->a);
    weft_mutex_unlock(&s->r);
    return NULL;
}

/* B alone, A alone, then R, B. */
static void *hierarchy_3(void *arg)
{
    struct order *s = arg;
    weft_mutex_lock(&s->b);
    weft_mutex_unlock(&s->b);
    weft_mutex_lock(&s->a);
    weft_mutex_unlock(&s->a);
    weft_mutex_lock(&s->r);
    weft_mutex_lock(&s->b);
    s->n++;
    weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->r);
    return NULL;
}

static void hierarchy(void *arg)
{
    (void)arg;
    struct order s = { .n = 0 };
    weft_mutex_init(&s.r, WEFT_MUTEX_RECURSIVE);
    weft_mutex_init(&s.a, WEFT_MUTEX_NORMAL);
    weft_mutex_init(&s.b, WEFT_MUTEX_NORMAL);
    weft_thread_t t[3];
    weft_thread_spawn(&t[0], "h1", hierarchy_1, &s);
    weft_thread_spawn(&t[1], "h2", hierarchy_2, &s);
    weft_thread_spawn(&t[2], "h3", hierarchy_3, &s);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s.n == 4, "n is %d", s.n);
}

static void one_order_is_clean_over_1000_seeds(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 1000);
    int rc = weft_explore(&c, hierarchy, NULL, &res);
    assert_no_finding(rc, &res);
    assert_int_equal(res.executions, 1000);
    weft_result_destroy(&res);
    config(&c, 1, 1000);
    c.strategy = "pct";
    rc = weft_explore(&c, hierarchy, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
}

/* A gate G held around both orders serialises them: no deadlock. */
struct gated {
    weft_mutex_t g, a, b;
};

static void *gated_ab(void *arg)
{
    struct gated *s = arg;
    weft_mutex_lock(&s->g);
    weft_mutex_lock(&s->a);
    weft_mutex_lock(&s->b);
    weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->a);
    weft_mutex_unlock(&s->g);
    return NULL;
}

static void *gated_ba(void *arg)
{
    struct gated *s = arg;
    weft_mutex_lock(&s->g);
    weft_mutex_lock(&s->b);
    weft_mutex_lock(&s->a);
    weft_mutex_unlock(&s->a);
    weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->g);
    return NULL;
}

static void gated(void *arg)
{
    bool ungated_too = *(const bool *)arg;
    struct gated s;
    weft_mutex_init(&s.g, WEFT_MUTEX_NORMAL);
    weft_mutex_init(&s.a, WEFT_MUTEX_NORMAL);
    weft_mutex_init(&s.b, WEFT_MUTEX_NORMAL);
    weft_thread_t t[2];
    weft_thread_spawn(&t[0], "gab", gated_ab, &s);
    weft_thread_spawn(&t[1], "gba", gated_ba, &s);
    weft_thread_join(t[0], NULL);
    weft_thread_join(t[1], NULL);
    if (ungated_too) {
        /* the same order once without the gate: now it can deadlock */
        weft_mutex_lock(&s.b);
        weft_mutex_lock(&s.a);
        weft_mutex_unlock(&s.a);
        weft_mutex_unlock(&s.b);
    }
}

static void a_gate_lock_makes_inversions_safe(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    bool ungated = false;
    config(&c, 1, 500);
    int rc = weft_explore(&c, gated, &ungated, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
    ungated = true;
    config(&c, 1, 500);
    rc = weft_explore(&c, gated, &ungated, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    weft_result_destroy(&res);
}

/* A trylock never waits, so taking B by trylock under A makes no edge. */
static void *try_ab(void *arg)
{
    struct ab *s = arg;
    weft_mutex_lock(&s->a);
    if (weft_mutex_trylock(&s->b) == 0)
        weft_mutex_unlock(&s->b);
    weft_mutex_unlock(&s->a);
    return NULL;
}

static void trylock_vs_lock(void *arg)
{
    (void)arg;
    struct ab s;
    init_ab(&s);
    weft_thread_t t[2];
    weft_thread_spawn(&t[0], "try", try_ab, &s);
    weft_thread_spawn(&t[1], "ba", take_ba, &s);
    weft_thread_join(t[0], NULL);
    weft_thread_join(t[1], NULL);
}

static void a_trylock_makes_no_edge(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 500);
    int rc = weft_explore(&c, trylock_vs_lock, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
}

/* Each thread initialises its own lock at one line (one site, two locks)
 * and nests it with a shared G in opposite orders: no cycle, since the two
 * locks differ; the site must not merge them. */
static weft_mutex_t shared_g = WEFT_MUTEX_INITIALIZER;

static void *own_then_g(void *arg)
{
    bool g_first = arg != NULL;
    weft_mutex_t own;
    weft_mutex_init(&own, WEFT_MUTEX_NORMAL);
    weft_mutex_t *first = g_first ? &shared_g : &own;
    weft_mutex_t *second = g_first ? &own : &shared_g;
    weft_mutex_lock(first);
    weft_mutex_lock(second);
    weft_mutex_unlock(second);
    weft_mutex_unlock(first);
    return NULL;
}

static void private_locks(void *arg)
{
    (void)arg;
    weft_thread_t t[2];
    weft_thread_spawn(&t[0], "own-g", own_then_g, NULL);
    weft_thread_spawn(&t[1], "g-own", own_then_g, (void *)1);
    weft_thread_join(t[0], NULL);
    weft_thread_join(t[1], NULL);
}

static void locks_from_one_init_site_stay_distinct(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 500);
    int rc = weft_explore(&c, private_locks, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
}

/* A hierarchy of eight locks, one static initialiser per line (eight
 * sites: the same locks in every execution). Threads take random subsets
 * of them, always in ascending order: never a cycle, within one execution
 * or across them. One descending pair, somewhere, is one. */
static weft_mutex_t level0 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level1 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level2 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level3 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level4 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level5 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level6 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t level7 = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t *const level[8] = { &level0, &level1, &level2, &level3,
                                        &level4, &level5, &level6, &level7 };

static void *climb(void *arg)
{
    bool slip = arg != NULL;
    int taken[8], n = 0;
    for (int i = 0; i < 8; i++)
        if (weft_choose(2) == 1) {
            weft_mutex_lock(level[i]);
            taken[n++] = i;
        }
    if (slip && n > 0 && taken[0] > 0 && weft_choose(8) == 0) {
        weft_mutex_lock(level[0]); /* below what it holds */
        weft_mutex_unlock(level[0]);
    }
    while (n > 0)
        weft_mutex_unlock(level[taken[--n]]);
    return NULL;
}

static void hierarchy_of_eight(void *arg)
{
    weft_thread_t t[3];
    for (int i = 0; i < 3; i++)
        weft_thread_spawn(&t[i], NULL, climb, i == 2 ? arg : NULL);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
}

static void a_hierarchy_is_clean_and_one_slip_is_found(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 2000);
    int rc = weft_explore(&c, hierarchy_of_eight, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
    config(&c, 1, 2000);
    rc = weft_explore(&c, hierarchy_of_eight, (void *)1, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_not_contains(res.report, "did not fail the same way");
    weft_result_destroy(&res);
}

/* ------------------------------------------------------ dining philosophers */

#define MAX_PHIL 8

struct table {
    int n;
    bool ordered;    /* lowest fork first */
    bool one_by_one; /* each philosopher eats alone: never a deadlock */
    weft_mutex_t fork[MAX_PHIL];
    int meals;
};

struct seat {
    struct table *t;
    int i;
};

static void *philosopher(void *arg)
{
    struct seat *s = arg;
    struct table *t = s->t;
    int left = s->i, right = (s->i + 1) % t->n;
    int first = left, second = right;
    if (t->ordered && second < first) {
        first = right;
        second = left;
    }
    weft_mutex_lock(&t->fork[first]);
    weft_mutex_lock(&t->fork[second]);
    t->meals++;
    weft_mutex_unlock(&t->fork[second]);
    weft_mutex_unlock(&t->fork[first]);
    return NULL;
}

static void dine(void *arg)
{
    struct table *t = arg;
    struct seat seats[MAX_PHIL];
    weft_thread_t th[MAX_PHIL];
    t->meals = 0;
    for (int i = 0; i < t->n; i++)
        weft_mutex_init(&t->fork[i], WEFT_MUTEX_NORMAL);
    for (int i = 0; i < t->n; i++) {
        seats[i] = (struct seat){ t, i };
        weft_thread_spawn(&th[i], NULL, philosopher, &seats[i]);
        if (t->one_by_one)
            weft_thread_join(th[i], NULL);
    }
    if (!t->one_by_one)
        for (int i = 0; i < t->n; i++)
            weft_thread_join(th[i], NULL);
    weft_assert(t->meals == t->n, "%d meals", t->meals);
}

static void ordered_forks_are_clean(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    struct table t = { .n = 5, .ordered = true };
    config(&c, 1, 1000);
    int rc = weft_explore(&c, dine, &t, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
    t.one_by_one = true;
    config(&c, 1, 200);
    rc = weft_explore(&c, dine, &t, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
}

static void unordered_forks_are_found(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    struct table t = { .n = 5, .ordered = false };
    for (uint64_t seed = 1; seed <= 10; seed++) {
        config(&c, seed, 1000);
        int rc = weft_explore(&c, dine, &t, &res);
        assert_int_equal(rc, 1);
        if (res.finding != WEFT_FINDING_LOCK_ORDER &&
            res.finding != WEFT_FINDING_DEADLOCK)
            fail_msg("expected a lock-order inversion or a deadlock: %s",
                     res.message);
        weft_result_destroy(&res);
    }
    /* Three philosophers eating one after the other never deadlock, but
     * their forks form a cycle of three: always a lock-order inversion. */
    t.n = 3;
    t.one_by_one = true;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        config(&c, seed, 100);
        int rc = weft_explore(&c, dine, &t, &res);
        assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
        assert_int_equal(res.executions, 1);
        assert_contains(res.message, "closing a cycle of 3 locks");
        assert_contains(res.report, "task 3 locks mutex M1");
        assert_not_contains(res.report, "did not fail the same way");
        weft_result_destroy(&res);
    }
}

/* ------------------------------------------------------------- rwlocks */

struct rw {
    weft_rwlock_t l;
    weft_mutex_t m;
    bool writer;
};

static void *rw_then_m(void *arg)
{
    struct rw *s = arg;
    weft_rwlock_rdlock(&s->l);
    weft_mutex_lock(&s->m);
    weft_mutex_unlock(&s->m);
    weft_rwlock_unlock(&s->l);
    return NULL;
}

static void *m_then_rw(void *arg)
{
    struct rw *s = arg;
    weft_mutex_lock(&s->m);
    if (s->writer)
        weft_rwlock_wrlock(&s->l);
    else
        weft_rwlock_rdlock(&s->l);
    weft_rwlock_unlock(&s->l);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void rw_body(void *arg)
{
    struct rw *s = arg;
    weft_rwlock_init(&s->l);
    weft_mutex_init(&s->m, WEFT_MUTEX_NORMAL);
    weft_thread_t t;
    weft_thread_spawn(&t, "rm", rw_then_m, s);
    weft_thread_join(t, NULL);
    weft_thread_spawn(&t, "mr", m_then_rw, s);
    weft_thread_join(t, NULL);
}

static void read_locks_share_but_a_writer_waits(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    struct rw s = { .writer = false };
    config(&c, 1, 300);
    int rc = weft_explore(&c, rw_body, &s, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
    s.writer = true;
    config(&c, 1, 300);
    rc = weft_explore(&c, rw_body, &s, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_contains(res.message, "rwlock R1");
    assert_contains(res.message, "mutex M2");
    weft_result_destroy(&res);
}

/* --------------------------------------------------- across executions */

/* Locks with static initialisers are the same locks in every execution.
 * Each execution takes them in one order, chosen by the environment:
 * no execution has a cycle, the exploration does. */
static weft_mutex_t first_lock = WEFT_MUTEX_INITIALIZER;
static weft_mutex_t second_lock = WEFT_MUTEX_INITIALIZER;

static void one_order_per_execution(void *arg)
{
    (void)arg;
    weft_mutex_t *x = &first_lock, *y = &second_lock;
    if (weft_choose(2) == 1) {
        x = &second_lock;
        y = &first_lock;
    }
    weft_mutex_lock(x);
    weft_mutex_lock(y);
    weft_mutex_unlock(y);
    weft_mutex_unlock(x);
}

static void orders_from_two_executions_form_a_cycle(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 5, 100);
    int rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    uint64_t n = res.executions, failing_seed = res.seed;
    assert_true(n >= 2);
    assert_contains(res.message, "but in execution ");
    assert_contains(res.report, "needs an edge taken in another execution");
    char again[96];
    snprintf(again, sizeof again, "WEFT_SEED=5 WEFT_ITERATIONS=%llu",
             (unsigned long long)n);
    assert_contains(res.report, again);
    /* shrinking and the report's replay re-ran this execution: the same
     * failure each time */
    assert_not_contains(res.report, "did not fail the same way");
    char message[512];
    snprintf(message, sizeof message, "%s", res.message);
    weft_result_destroy(&res);

    /* Replayed alone, that execution passes: the other order is missing. */
    config(&c, failing_seed, 1);
    rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
    /* Re-running the exploration up to it shows it again. */
    config(&c, 5, n);
    rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_string_equal(res.message, message);
    assert_int_equal(res.executions, n);
    weft_result_destroy(&res);

    /* Workers and shards each see part of the executions: there only
     * cycles within one execution count, so the result does not depend on
     * the split. */
    config(&c, 5, 100);
    c.jobs = 2;
    rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
    config(&c, 5, 100);
    c.shard_index = 1;
    c.shard_count = 2;
    rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_no_finding(rc, &res);
    weft_result_destroy(&res);
}

/* A persisted failure whose cycle spans executions passes when replayed
 * alone, and adds nothing to the graph: the search then finds the same
 * cycle in the same execution, with the same schedule file. */
static void a_persisted_cross_execution_failure_is_found_again(void **state)
{
    (void)state;
    char dir[] = "/tmp/weft-test-lockorder-XXXXXX";
    assert_non_null(mkdtemp(dir));
    weft_config_t c;
    weft_result_t first, again;
    config(&c, 5, 100);
    c.name = "cross";
    c.failure_dir = dir;
    int rc = weft_explore(&c, one_order_per_execution, NULL, &first);
    assert_kind(rc, &first, WEFT_FINDING_LOCK_ORDER);
    rc = weft_explore(&c, one_order_per_execution, NULL, &again);
    assert_kind(rc, &again, WEFT_FINDING_LOCK_ORDER);
    assert_int_equal(again.executions, first.executions);
    assert_string_equal(again.message, first.message);
    assert_string_equal(again.schedule_file, first.schedule_file);
    assert_int_equal(unlink(first.schedule_file), 0);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/cross", dir);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
    weft_result_destroy(&first);
    weft_result_destroy(&again);
}

/* Each exploration starts with an empty graph. */
static void each_exploration_starts_afresh(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 5, 100);
    int rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    uint64_t n = res.executions;
    weft_result_destroy(&res);
    /* the same exploration again fails at the same execution, not at once */
    config(&c, 5, 100);
    rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_int_equal(res.executions, n);
    weft_result_destroy(&res);
}

/* Once per distinct cycle: collecting failures, the search goes on past
 * executions that take the same two orders again. */
static void a_cycle_is_reported_once(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t res;
    config(&c, 1, 60);
    c.keep_going = true;
    int rc = weft_explore(&c, abba_joined, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_int_equal(res.failures, 1);
    assert_int_equal(res.executions, 60);
    weft_result_destroy(&res);
    config(&c, 5, 100);
    c.keep_going = true;
    rc = weft_explore(&c, one_order_per_execution, NULL, &res);
    assert_kind(rc, &res, WEFT_FINDING_LOCK_ORDER);
    assert_int_equal(res.failures, 1);
    assert_int_equal(res.executions, 100);
    assert_not_contains(res.report, "did not fail the same way");
    weft_result_destroy(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(abba_serialised_by_a_join_is_reported),
        cmocka_unit_test(lock_order_off_reports_nothing),
        cmocka_unit_test(the_environment_sets_lock_order),
        cmocka_unit_test(abba_in_one_task_is_reported_as_one_task),
        cmocka_unit_test(one_order_is_clean_over_1000_seeds),
        cmocka_unit_test(a_gate_lock_makes_inversions_safe),
        cmocka_unit_test(a_trylock_makes_no_edge),
        cmocka_unit_test(locks_from_one_init_site_stay_distinct),
        cmocka_unit_test(a_hierarchy_is_clean_and_one_slip_is_found),
        cmocka_unit_test(ordered_forks_are_clean),
        cmocka_unit_test(unordered_forks_are_found),
        cmocka_unit_test(read_locks_share_but_a_writer_waits),
        cmocka_unit_test(orders_from_two_executions_form_a_cycle),
        cmocka_unit_test(a_persisted_cross_execution_failure_is_found_again),
        cmocka_unit_test(each_exploration_starts_afresh),
        cmocka_unit_test(a_cycle_is_reported_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
