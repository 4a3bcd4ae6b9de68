/*
 * lockorder.c: the lock-order detector: potential deadlocks seen in
 * executions that did not deadlock (DESIGN.md 3, layer 4).
 *
 * Whenever a task takes lock B while it holds lock A, the order A -> B is
 * an edge of a graph, kept with the two acquisition sites (where A was
 * locked, where B is locked), the task, and the execution. A cycle in the
 * graph (A -> B here, B -> A there) means that the code paths that took
 * those edges deadlock when threads run them at once, even though no
 * execution did: the two transfers of a bank test serialised by a join, a
 * lock hierarchy broken on a path the scheduler never raced. The execution
 * that completes a cycle fails with WEFT_FINDING_LOCK_ORDER at the
 * acquisition that completed it; its report lists every edge of the cycle
 * with its sites and the execution it came from.
 *
 * Which cycles count. The model is "would these code paths deadlock if
 * each ran in its own thread, at once?", so:
 *   - a cycle whose edges one task took (A then B in one phase, B then A
 *     in a later one) IS reported, as TSan and lockdep do: the task cannot
 *     deadlock with itself, but two threads running its two phases can; the
 *     report says that one task took every edge;
 *   - a cycle whose edges were all taken under one common lock (a gate: G
 *     held around both A -> B and B -> A) is NOT: the gate serialises the
 *     paths. Each edge keeps the other locks held at its acquisitions (the
 *     intersection over its instances, at most GATE of them); two edges of
 *     a cycle sharing one is no deadlock;
 *   - a trylock waits for nothing, so it makes no edge into the lock it
 *     takes (it is still held, and edges go out of it later);
 *   - read locks share: a cycle through an rwlock needs, at that lock, an
 *     exclusive acquisition on one side (the waiter's or the holder's);
 *   - relocking a recursive mutex is no acquisition (mutex.c counts it
 *     without acquire()), so it makes no edge; a task taking A then B, then
 *     later B alone, makes the one edge A -> B.
 *
 * Identity of a lock. Objects are per execution and their creation ids
 * depend on the schedule, so two graphs are kept:
 *   - this execution's ("ex"): nodes are the objects themselves (their ids
 *     in this execution), exact; it is cleared when an execution starts;
 *   - the exploration's ("cr"): nodes are init sites (file:line where the
 *     lock was initialised, or its static initialiser, plus its kind). A
 *     site stands for one lock only while no execution has seen two
 *     objects of it take part in edges; once one has (forks of a dining
 *     table initialised in a loop, locks a helper initialises for each
 *     account, two static locks on one line), the site is "multi" for the
 *     rest of the exploration and its edges stay out of the cross graph
 *     (their cycles are still found within each execution, where objects
 *     are exact). Locks that take part in no edge are not looked at, so a
 *     site whose executions each nest a different one of its objects (and
 *     never two) reads as one lock; that is the one way the cross graph
 *     can merge two locks.
 * A cycle of the execution graph is reported first; a cycle of the cross
 * graph only when one of its edges came from another execution.
 *
 * Once per distinct cycle (its set of lock pairs): a cycle already
 * reported by an execution with another seed is not reported again (with
 * WEFT_KEEP_GOING the search goes on past it), but one reported by an
 * execution with THIS seed is: that is how shrinking (shrink.c) and the
 * report's final replay re-run a failing execution, with its seed, and
 * they must fail the same way, at the same acquisition. To make them, an
 * edge of the cross graph first taken by an execution with seed s is
 * invisible to executions with seed s until they take it themselves: a
 * re-run then sees the graph its original saw (the edges of other seeds)
 * plus its own, and completes the cycle where the original did.
 *
 * Replaying from scratch. A cycle within one execution replays like any
 * finding: its seed alone, or its schedule file, in a fresh process. A
 * cycle that needs an edge from an earlier execution does not: replayed
 * alone, that execution passes. Its report says so, names the execution
 * (number and seed) each foreign edge came from, and gives WEFT_SEED=<the
 * exploration's seed> WEFT_ITERATIONS=<its number>, which re-runs the
 * exploration up to it and shows the finding again. A schedule replayed
 * by the replay strategy adds no edge to the cross graph (it may make
 * existing ones visible): so a persisted failure of that kind "passes now"
 * without leaking its edge into the search that follows, which finds the
 * same cycle in the same execution and writes the same schedule file.
 * So that a result never depends on how executions are split, the cross
 * graph is not used with WEFT_JOBS > 1, with WEFT_SHARD, or under the
 * fuzz strategy (one execution per input, nothing kept between inputs):
 * then only cycles within one execution are reported.
 *
 * Lifetime. The state is per OS thread (like the run) and attaches to a
 * run when that run first needs it; a run is zeroed at each weft_explore,
 * so each exploration starts with an empty graph (and memory is freed
 * then, or when the thread exits). Nothing here is ever ordered by an
 * address: nodes are object ids and init sites, hashes are of file names.
 *
 * Cost. weft__lockorder_lock (sync.h) runs on every lock; when the
 * task holds no mutex and no rwlock is held anywhere it is two loads and
 * a test (bench_core's W2: +24 instructions per execution of 12 locks,
 * +0.3%). Beyond that, the work is per held lock: a site lookup (cached
 * per object and execution), an edge lookup in a short list, and a cycle
 * search only when an edge is new (or newly visible, or loses a gate),
 * bounded by BUDGET edge visits: about 400 instructions per nested
 * acquisition, on top of the 300 or so a lock costs. Rwlock acquisitions
 * and releases are tracked always (holders are not named elsewhere).
 * Memory failures make the detector skip what it could not record: it
 * never fails an execution for itself.
 */
#include "sync/sync.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GATE     4     /* other held locks an edge remembers */
#define BUDGET   20000 /* edge visits per cycle search */
#define NAME_LEN 32
#define CACHE    64 /* direct-mapped site cache */

/* weft__grow, with its common case (room enough) inline */
#define GROW(arr, cap, n) \
    ((n) <= (cap) ? 0 : weft__grow(&(arr), &(cap), (n), sizeof *(arr)))

struct site {
    const char *file; /* where the lock was initialised */
    int line;
    char kind;  /* 'M' mutex, 'R' rwlock */
    bool multi; /* two of its objects took part in one execution */
    uint64_t hash;
    uint64_t epoch; /* the execution `obj` belongs to */
    uint32_t obj;   /* its object in that execution */
};

struct edge {
    uint32_t from, to; /* nodes: object ids (ex) or site indices (cr) */
    uint32_t next;     /* the next out-edge of `from`, + 1 (0: none) */
    uint32_t task;     /* who took it first, and its name then */
    const char *held_file, *acq_file; /* where from, then to, were locked */
    int held_line, acq_line;
    uint64_t seed;       /* the execution that took it first */
    uint64_t taken;      /* the latest execution that took it */
    uint32_t gate[GATE]; /* nodes held at every instance, besides from */
    uint8_t ngate;
    bool hold_x, acq_x; /* some instance held from / took to exclusively */
    char task_name[NAME_LEN]; /* cross graph only: tasks are reused */
};

struct graph {
    struct edge *e;
    uint32_t ne, ecap;
    uint32_t *out;  /* per node: its first out-edge + 1 */
    uint32_t *mark; /* per node: the search that has it on its path */
    uint32_t nn, ncap;
    uint32_t stamp;
};

/* A lock the current task holds, as the search needs it. */
struct held {
    weft__obj_t *o;
    const char *file; /* where it was locked */
    int line;
    bool x;    /* held exclusively */
    char kind; /* 'M' or 'R' */
    uint32_t site;
};

/* An rwlock hold (rwlock.c counts readers without naming them). */
struct hold {
    uint32_t task;
    weft__obj_t *o;
    const char *file;
    int line;
    bool x;
};

struct reported {
    uint64_t key, seed;
};

struct weft__lockorder {
    struct weft__run *run; /* the run it is attached to */
    uint64_t epoch;        /* the execution the per-execution state is of */
    bool cross;            /* the cross-execution graph is in use */

    struct site *sites;
    uint32_t nsites, sites_cap;
    uint32_t *tab; /* open addressing over sites: index + 1 */
    uint32_t tab_cap;
    struct {
        uint64_t epoch; /* this execution's objects only */
        uint32_t site;
    } * site_of; /* object id -> its site */
    uint32_t site_of_cap;

    uint32_t cache[CACHE]; /* sites by line: index + 1 (same file pointer
                              means the same file; a miss looks it up) */
    struct graph ex, cr;

    struct hold *holds;
    uint32_t nholds, holds_cap;
    struct held *h;
    uint32_t h_cap;
    struct reported *rep;
    uint32_t nrep, rep_cap;
    uint32_t *path, *iter; /* the search's stack */
    uint32_t path_cap, iter_cap;
};

static WEFT__TLS struct weft__lockorder lo_state;
static pthread_key_t lo_key;
static bool lo_key_ok;
static pthread_once_t lo_once = PTHREAD_ONCE_INIT;

static void graph_free(struct graph *g)
{
    weft__free(g->e);
    weft__free(g->out);
    weft__free(g->mark);
    memset(g, 0, sizeof *g);
}

static void lo_free(struct weft__lockorder *lo)
{
    weft__free(lo->sites);
    weft__free(lo->tab);
    weft__free(lo->site_of);
    graph_free(&lo->ex);
    graph_free(&lo->cr);
    weft__free(lo->holds);
    weft__free(lo->h);
    weft__free(lo->rep);
    weft__free(lo->path);
    weft__free(lo->iter);
    memset(lo, 0, sizeof *lo);
}

/* At thread exit: the state's memory goes with the thread. */
static void lo_destructor(void *p)
{
    lo_free(p);
}

static void lo_make_key(void)
{
    lo_key_ok = pthread_key_create(&lo_key, lo_destructor) == 0;
}

/* ---------------------------------------------------------------- state */

static void lo_begin(struct weft__lockorder *lo, struct weft__run *r)
{
    lo->epoch = r->epoch;
    if (lo->ex.nn > 0)
        memset(lo->ex.out, 0, lo->ex.nn * sizeof *lo->ex.out);
    lo->ex.ne = 0;
    lo->nholds = 0;
    r->lockorder_rw = 0;
    const weft_config_t *cfg = r->cfg;
    bool fuzz = strcmp(r->strategy->name, "fuzz") == 0;
    lo->cross = cfg->jobs <= 1 && cfg->shard_count <= 1 && !fuzz;
    if (fuzz) /* one input, one execution: nothing carries over */
        lo->nrep = 0;
}

/* The state for r, reset for a new exploration or execution. */
static struct weft__lockorder *lo_get(struct weft__run *r)
{
    struct weft__lockorder *lo = &lo_state;
    if (r->lockorder != lo || lo->run != r) {
        lo_free(lo);
        pthread_once(&lo_once, lo_make_key);
        if (lo_key_ok)
            pthread_setspecific(lo_key, lo);
        lo->run = r;
        r->lockorder = lo;
    }
    if (lo->epoch != r->epoch)
        lo_begin(lo, r);
    return lo;
}

/* ---------------------------------------------------------------- sites */

static uint64_t site_hash(const char *file, int line, char kind)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = file ? file : "?"; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return weft__mix(h ^ ((uint64_t)(unsigned)line << 8) ^ (uint64_t)kind);
}

static bool same_file(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The site of o, noted as an object of this execution: site index, or
 * UINT32_MAX when out of memory. */
static uint32_t note(struct weft__lockorder *lo, weft__obj_t *o, char kind)
{
    if (o->id < lo->site_of_cap && lo->site_of[o->id].epoch == lo->epoch)
        return lo->site_of[o->id].site; /* seen this execution */
    uint32_t c = ((uint32_t)o->line * 2 + (kind == 'R')) & (CACHE - 1);
    uint32_t idx = lo->cache[c] - 1;
    if (lo->cache[c] != 0 && lo->sites[idx].file == o->file &&
        lo->sites[idx].line == o->line && lo->sites[idx].kind == kind)
        goto found;
    uint64_t h = site_hash(o->file, o->line, kind);
    if ((lo->nsites + 1) * 2 > lo->tab_cap) {
        uint32_t cap = lo->tab_cap ? lo->tab_cap * 2 : 64;
        uint32_t *t = weft__alloc(cap * sizeof *t);
        if (t == NULL)
            return UINT32_MAX;
        memset(t, 0, cap * sizeof *t);
        for (uint32_t i = 0; i < lo->nsites; i++) {
            uint32_t j = (uint32_t)lo->sites[i].hash & (cap - 1);
            while (t[j] != 0)
                j = (j + 1) & (cap - 1);
            t[j] = i + 1;
        }
        weft__free(lo->tab);
        lo->tab = t;
        lo->tab_cap = cap;
    }
    uint32_t j = (uint32_t)h & (lo->tab_cap - 1);
    idx = UINT32_MAX;
    while (lo->tab[j] != 0) {
        struct site *s = &lo->sites[lo->tab[j] - 1];
        if (s->hash == h && s->line == o->line && s->kind == kind &&
            same_file(s->file, o->file)) {
            idx = lo->tab[j] - 1;
            break;
        }
        j = (j + 1) & (lo->tab_cap - 1);
    }
    if (idx == UINT32_MAX) {
        if (GROW(lo->sites, lo->sites_cap, lo->nsites + 1) != 0)
            return UINT32_MAX;
        idx = lo->nsites++;
        struct site *s = &lo->sites[idx];
        memset(s, 0, sizeof *s);
        s->file = o->file;
        s->line = o->line;
        s->kind = kind;
        s->hash = h;
        lo->tab[j] = idx + 1;
    }
    lo->cache[c] = idx + 1;
found:;
    uint32_t cap = lo->site_of_cap;
    if (o->id >= cap) {
        if (GROW(lo->site_of, lo->site_of_cap, o->id + 1) != 0)
            return UINT32_MAX;
        memset(lo->site_of + cap, 0,
               (lo->site_of_cap - cap) * sizeof *lo->site_of);
    }
    lo->site_of[o->id].epoch = lo->epoch;
    lo->site_of[o->id].site = idx;
    struct site *s = &lo->sites[idx];
    if (s->epoch == lo->epoch && s->obj != o->id)
        s->multi = true;
    else if (s->epoch != lo->epoch) {
        s->epoch = lo->epoch;
        s->obj = o->id;
    }
    return idx;
}

/* --------------------------------------------------------------- graphs */

static int node_reserve(struct graph *g, uint32_t n)
{
    if (n < g->nn)
        return 0;
    uint32_t c1 = g->ncap, c2 = g->ncap;
    if (weft__grow(&g->out, &c1, n + 1, sizeof *g->out) != 0 ||
        weft__grow(&g->mark, &c2, n + 1, sizeof *g->mark) != 0)
        return -1;
    g->ncap = c1 < c2 ? c1 : c2;
    memset(g->out + g->nn, 0, (n + 1 - g->nn) * sizeof *g->out);
    memset(g->mark + g->nn, 0, (n + 1 - g->nn) * sizeof *g->mark);
    g->nn = n + 1;
    return 0;
}

static uint32_t edge_find(const struct graph *g, uint32_t from, uint32_t to)
{
    for (uint32_t k = g->out[from]; k != 0; k = g->e[k - 1].next)
        if (g->e[k - 1].to == to)
            return k - 1;
    return UINT32_MAX;
}

/* One instance of an edge, as the caller found it. */
struct inst {
    struct weft__run *r;
    struct weft__task *t;
    const struct held *a; /* held */
    weft__obj_t *b;       /* being taken */
    bool bx;              /* taken exclusively */
    uint32_t gate[GATE];  /* other held locks: nodes of the graph */
    uint8_t ngate;
};

/* Add the instance to g (nodes from -> to). Returns the edge index and
 * whether the graph changed in a way that may complete a cycle; or
 * UINT32_MAX when out of memory. */
static uint32_t edge_add(struct graph *g, uint32_t from, uint32_t to,
                         const struct inst *in, bool copy_name, bool *changed)
{
    uint32_t k = edge_find(g, from, to);
    *changed = false;
    if (k == UINT32_MAX) {
        if (GROW(g->e, g->ecap, g->ne + 1) != 0)
            return UINT32_MAX;
        k = g->ne++;
        struct edge *e = &g->e[k];
        memset(e, 0, sizeof *e);
        e->from = from;
        e->to = to;
        e->next = g->out[from];
        g->out[from] = k + 1;
        e->task = in->t->id;
        if (copy_name)
            snprintf(e->task_name, sizeof e->task_name, "%s",
                     weft__task_name(in->t));
        e->held_file = in->a->file;
        e->held_line = in->a->line;
        e->acq_file = in->t->file;
        e->acq_line = in->t->line;
        e->seed = in->r->seed;
        e->taken = in->r->epoch;
        memcpy(e->gate, in->gate, sizeof e->gate);
        e->ngate = in->ngate;
        e->hold_x = in->a->x;
        e->acq_x = in->bx;
        *changed = true;
        return k;
    }
    struct edge *e = &g->e[k];
    /* An edge of this seed's own making becomes visible to it again. */
    if (e->taken != in->r->epoch && e->seed == in->r->seed)
        *changed = true;
    e->taken = in->r->epoch;
    uint8_t n = 0;
    for (uint8_t i = 0; i < e->ngate; i++) {
        bool keep = false;
        for (uint8_t j = 0; j < in->ngate && !keep; j++)
            keep = e->gate[i] == in->gate[j];
        if (keep)
            e->gate[n++] = e->gate[i];
    }
    if (n != e->ngate) {
        e->ngate = n;
        *changed = true;
    }
    if ((in->a->x && !e->hold_x) || (in->bx && !e->acq_x)) {
        e->hold_x |= in->a->x;
        e->acq_x |= in->bx;
        *changed = true;
    }
    return k;
}

/* ------------------------------------------------------------- reports */

/* Execution index (0-based) of an execution seed, or UINT64_MAX when the
 * seed is not one of this exploration's (weft__exec_seed inverted). */
static uint64_t exec_index(const struct weft__run *r, uint64_t seed)
{
    const uint64_t g = 0x9e3779b97f4a7c15ULL;
    uint64_t inv = g; /* Newton: each step doubles the correct bits */
    for (int i = 0; i < 6; i++)
        inv *= 2 - g * inv;
    uint64_t i = (seed - r->cfg->seed) * inv;
    return i < r->cfg->iterations ? i : UINT64_MAX;
}

static void exec_label(const struct weft__run *r, uint64_t seed, char *b,
                       size_t len)
{
    uint64_t i = exec_index(r, seed);
    if (i != UINT64_MAX)
        snprintf(b, len, "execution %llu, seed %llu", (unsigned long long)i + 1,
                 (unsigned long long)seed);
    else
        snprintf(b, len, "the execution with seed %llu",
                 (unsigned long long)seed);
}

static const char *at(const char *file, int line, char *b, size_t len)
{
    snprintf(b, len, "%s", weft__site(file, line));
    return b;
}

/* The site and this execution's object of node n. */
static const struct site *node_site(const struct weft__lockorder *lo,
                                    bool cross, uint32_t n, uint32_t *obj)
{
    if (cross) {
        const struct site *s = &lo->sites[n];
        *obj = s->epoch == lo->epoch ? s->obj : 0;
        return s;
    }
    *obj = n;
    return &lo->sites[lo->site_of[n].site];
}

/* "mutex M3 (t.c:10)" (long) or "M3" (short); a lock this execution has
 * not touched is named by its site alone. */
static void lock_name(const struct weft__lockorder *lo, bool cross, uint32_t n,
                      bool full, char *b, size_t len)
{
    uint32_t obj;
    const struct site *s = node_site(lo, cross, n, &obj);
    const char *kind = s->kind == 'R' ? "rwlock" : "mutex";
    char w[200];
    at(s->file, s->line, w, sizeof w);
    if (obj != 0 && full)
        snprintf(b, len, "%s %c%u (%s)", kind, s->kind, obj, w);
    else if (obj != 0)
        snprintf(b, len, "%c%u", s->kind, obj);
    else
        snprintf(b, len, "%s (%s)", full ? kind : "the lock", w);
}

/* A cycle's identity: its lock pairs, by site (and object, for a site that
 * stands for several locks), in any order. */
static uint64_t cycle_key(const struct weft__lockorder *lo, bool cross,
                          const struct graph *g, const uint32_t *cyc,
                          uint32_t k)
{
    uint64_t key = k;
    for (uint32_t i = 0; i < k; i++) {
        const struct edge *e = &g->e[cyc[i]];
        uint64_t nk[2];
        uint32_t nodes[2] = { e->from, e->to };
        for (int j = 0; j < 2; j++) {
            uint32_t obj;
            const struct site *s = node_site(lo, cross, nodes[j], &obj);
            nk[j] = cross || !s->multi
                        ? s->hash
                        : weft__mix(s->hash ^ ((uint64_t)obj << 32));
        }
        key += weft__mix(nk[0] * 31 + nk[1]);
    }
    return key;
}

/* The instance of an edge of the cross graph taken in this execution, as
 * this execution's graph has it (its own sites and task), or NULL. */
static const struct edge *ex_twin(const struct weft__lockorder *lo,
                                  const struct edge *e)
{
    const struct site *a = &lo->sites[e->from], *b = &lo->sites[e->to];
    if (a->epoch != lo->epoch || b->epoch != lo->epoch || a->obj >= lo->ex.nn ||
        b->obj >= lo->ex.nn)
        return NULL;
    uint32_t k = edge_find(&lo->ex, a->obj, b->obj);
    return k == UINT32_MAX ? NULL : &lo->ex.e[k];
}

/* Edge i of a cycle as this execution saw it: its own instance where it
 * took the edge, else the first instance (from another execution). */
static const struct edge *seen(const struct weft__lockorder *lo, bool cross,
                               const struct graph *g, uint32_t k, bool *mine,
                               const char **who)
{
    const struct edge *e = &g->e[k];
    *mine = !cross || e->taken == lo->epoch;
    const struct edge *tw = cross && *mine ? ex_twin(lo, e) : NULL;
    if (tw != NULL)
        e = tw;
    /* the tasks of this execution are all there; a name from another
     * execution was kept with its edge */
    bool here = !cross || tw != NULL;
    *who = here && e->task < lo->run->ntasks
               ? weft__task_name(lo->run->tasks[e->task])
               : e->task_name;
    return e;
}

static WEFT__NORETURN void report(struct weft__lockorder *lo,
                                  struct weft__run *r, bool cross,
                                  const struct graph *g, const uint32_t *cyc,
                                  uint32_t k, const struct inst *cur)
{
    struct weft__task *t = r->cur;
    struct weft__buf *d = &r->finding.detail;
    char a_full[256], b_full[256], a_s[200], b_s[200], w1[200], w2[200],
        w3[200], w4[200], ex[96], na[256], nb[256];
    bool one_task = true, mine;
    const char *who;
    uint32_t foreign = UINT32_MAX;
    for (uint32_t i = 1; i < k; i++) {
        const struct edge *e = seen(lo, cross, g, cyc[i], &mine, &who);
        if (!mine && foreign == UINT32_MAX)
            foreign = i;
        one_task = one_task && mine && e->task == t->id;
    }
    lock_name(lo, cross, g->e[cyc[0]].from, true, a_full, sizeof a_full);
    lock_name(lo, cross, g->e[cyc[0]].to, true, b_full, sizeof b_full);
    lock_name(lo, cross, g->e[cyc[0]].from, false, a_s, sizeof a_s);
    lock_name(lo, cross, g->e[cyc[0]].to, false, b_s, sizeof b_s);
    at(t->file, t->line, w1, sizeof w1);
    at(cur->a->file, cur->a->line, w2, sizeof w2);

    weft__buf_printf(d, "  lock-order cycle (no deadlock happened, but "
                        "threads running these paths at once can each "
                        "wait for the next):\n");
    for (uint32_t i = 0; i < k; i++) {
        const struct edge *e = seen(lo, cross, g, cyc[i], &mine, &who);
        lock_name(lo, cross, g->e[cyc[i]].from, true, na, sizeof na);
        lock_name(lo, cross, g->e[cyc[i]].to, true, nb, sizeof nb);
        if (i == 0) {
            weft__buf_printf(d,
                             "    %s -> %s\n      %s locks it at %s, "
                             "holding the first since %s (now)\n",
                             na, nb, weft__task_name(t), w1, w2);
            continue;
        }
        if (mine)
            snprintf(ex, sizeof ex, "this execution");
        else
            exec_label(r, e->seed, ex, sizeof ex);
        weft__buf_printf(d,
                         "    %s -> %s\n      %s locked it at %s, holding "
                         "the first since %s (%s)\n",
                         na, nb, who,
                         at(e->acq_file, e->acq_line, w3, sizeof w3),
                         at(e->held_file, e->held_line, w4, sizeof w4), ex);
    }
    if (one_task)
        weft__buf_printf(d,
                         "  one task:  %s took every edge; alone it cannot "
                         "deadlock, but two threads running these paths "
                         "can\n",
                         weft__task_name(t));
    if (foreign != UINT32_MAX) {
        uint64_t now = exec_index(r, r->seed);
        exec_label(r, seen(lo, cross, g, cyc[foreign], &mine, &who)->seed, ex,
                   sizeof ex);
        weft__buf_printf(d,
                         "  note:      this cycle needs an edge taken in "
                         "another execution of this exploration (%s): "
                         "replayed alone, from its seed or its schedule "
                         "file, this execution passes",
                         ex);
        if (now != UINT64_MAX)
            weft__buf_printf(d,
                             "; WEFT_SEED=%llu WEFT_ITERATIONS=%llu, with "
                             "the other settings of the replay line, runs "
                             "the exploration up to it and shows it again",
                             (unsigned long long)r->cfg->seed,
                             (unsigned long long)now + 1);
        weft__buf_printf(d, "\n");
    }

    if (k == 2) {
        const struct edge *e1 = seen(lo, cross, g, cyc[1], &mine, &who);
        char by[160];
        at(e1->acq_file, e1->acq_line, w3, sizeof w3);
        at(e1->held_file, e1->held_line, w4, sizeof w4);
        if (one_task) {
            snprintf(by, sizeof by, "it had locked");
        } else if (mine) {
            snprintf(by, sizeof by, "%s locked", who);
        } else {
            exec_label(r, e1->seed, ex, sizeof ex);
            snprintf(by, sizeof by, "in %s, %s locked", ex, who);
        }
        weft__finding(r, WEFT_FINDING_LOCK_ORDER, t->file, t->line,
                      "lock-order inversion (potential deadlock): %s locks "
                      "%s at %s while holding %s since %s, but %s %s at %s "
                      "while holding %s since %s",
                      weft__task_name(t), b_full, w1, a_full, w2, by, a_s, w3,
                      b_s, w4);
    }
    weft__finding(r, WEFT_FINDING_LOCK_ORDER, t->file, t->line,
                  "lock-order inversion (potential deadlock): %s locks %s "
                  "at %s while holding %s since %s, closing a cycle of %u "
                  "locks (below)",
                  weft__task_name(t), b_full, w1, a_full, w2, k);
}

/* ---------------------------------------------------------- the search */

static bool usable(const struct weft__lockorder *lo, const struct graph *g,
                   bool cross, uint32_t k, uint64_t seed)
{
    if (!cross)
        return true;
    const struct edge *e = &g->e[k];
    return !lo->sites[e->from].multi && !lo->sites[e->to].multi &&
           (e->taken == lo->epoch || e->seed != seed);
}

/* Could the cycle deadlock? Each lock must make its waiter wait (an
 * exclusive side), and no two edges may share a gate. */
static bool feasible(const struct graph *g, const uint32_t *cyc, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++) {
        const struct edge *in = &g->e[cyc[i]], *out = &g->e[cyc[(i + 1) % k]];
        if (!in->acq_x && !out->hold_x)
            return false;
    }
    for (uint32_t i = 0; i < k; i++)
        for (uint32_t j = i + 1; j < k; j++) {
            const struct edge *a = &g->e[cyc[i]], *b = &g->e[cyc[j]];
            for (uint8_t x = 0; x < a->ngate; x++)
                for (uint8_t y = 0; y < b->ngate; y++)
                    if (a->gate[x] == b->gate[y])
                        return false;
        }
    return true;
}

/* Consider the cycle cyc[0..k): report it (and not return) unless it is
 * not one to report. */
static void consider(struct weft__lockorder *lo, struct weft__run *r,
                     bool cross, const struct graph *g, const uint32_t *cyc,
                     uint32_t k, const struct inst *cur)
{
    if (cross) {
        bool foreign = false;
        for (uint32_t i = 0; i < k && !foreign; i++)
            foreign = g->e[cyc[i]].taken != lo->epoch;
        if (!foreign) /* all of this execution: the ex graph's business */
            return;
    }
    if (!feasible(g, cyc, k))
        return;
    uint64_t key = cycle_key(lo, cross, g, cyc, k);
    for (uint32_t i = 0; i < lo->nrep; i++)
        if (lo->rep[i].key == key) {
            if (lo->rep[i].seed != r->seed)
                return; /* reported by another execution */
            report(lo, r, cross, g, cyc, k, cur);
        }
    if (GROW(lo->rep, lo->rep_cap, lo->nrep + 1) == 0)
        lo->rep[lo->nrep++] = (struct reported){ key, r->seed };
    report(lo, r, cross, g, cyc, k, cur);
}

static uint32_t new_stamp(struct graph *g)
{
    if (++g->stamp == 0) {
        memset(g->mark, 0, g->nn * sizeof *g->mark);
        g->stamp = 1;
    }
    return g->stamp;
}

/* Can goal be reached from start by usable edges? Each node is visited
 * once; lo->iter (room for every node) is the stack. */
static bool reaches(struct weft__lockorder *lo, struct weft__run *r,
                    struct graph *g, bool cross, uint32_t start, uint32_t goal)
{
    uint32_t st = new_stamp(g), *stack = lo->iter, n = 0;
    stack[n++] = start;
    g->mark[start] = st;
    while (n > 0) {
        uint32_t v = stack[--n];
        for (uint32_t k = g->out[v]; k != 0; k = g->e[k - 1].next) {
            if (!usable(lo, g, cross, k - 1, r->seed))
                continue;
            uint32_t w = g->e[k - 1].to;
            if (w == goal)
                return true;
            if (g->mark[w] != st) {
                g->mark[w] = st;
                stack[n++] = w;
            }
        }
    }
    return false;
}

/* Look for cycles through edge c (from -> to): paths to ->* from. */
static void search(struct weft__lockorder *lo, struct weft__run *r,
                   struct graph *g, bool cross, uint32_t c,
                   const struct inst *cur)
{
    uint32_t start = g->e[c].to, goal = g->e[c].from;
    uint32_t depth_cap = g->nn + 2;
    if (GROW(lo->path, lo->path_cap, depth_cap) != 0 ||
        GROW(lo->iter, lo->iter_cap, depth_cap) != 0)
        return;
    /* Most edges close nothing: a linear look first, then the paths. */
    if (!reaches(lo, r, g, cross, start, goal))
        return;
    new_stamp(g);
    uint32_t *path = lo->path, *it = lo->iter, budget = BUDGET;
    uint32_t d = 0;
    path[0] = c;
    it[0] = g->out[start];
    g->mark[start] = g->stamp;
    for (;;) {
        if (it[d] == 0) {
            uint32_t n = d == 0 ? start : g->e[path[d]].to;
            g->mark[n] = 0;
            if (d == 0)
                return;
            d--;
            continue;
        }
        uint32_t k = it[d] - 1;
        it[d] = g->e[k].next;
        if (--budget == 0)
            return;
        if (!usable(lo, g, cross, k, r->seed))
            continue;
        uint32_t w = g->e[k].to;
        if (w == goal) {
            path[d + 1] = k;
            consider(lo, r, cross, g, path, d + 2, cur);
            continue;
        }
        if (g->mark[w] == g->stamp || d + 2 >= depth_cap)
            continue;
        path[++d] = k;
        it[d] = g->out[w];
        g->mark[w] = g->stamp;
    }
}

/* ------------------------------------------------------------ the hooks */

/* t takes o (exclusively if bx) holding lo->h[0..nh): record an edge from
 * each held lock and look for the cycles it completes. */
static void edges(struct weft__lockorder *lo, struct weft__run *r,
                  struct weft__task *t, weft__obj_t *o, char kind, bool bx,
                  uint32_t nh)
{
    uint32_t sb = note(lo, o, kind);
    if (sb == UINT32_MAX || node_reserve(&lo->ex, o->id) != 0)
        return;
    for (uint32_t i = 0; i < nh; i++) {
        lo->h[i].site = note(lo, lo->h[i].o, lo->h[i].kind);
        if (lo->h[i].site == UINT32_MAX ||
            node_reserve(&lo->ex, lo->h[i].o->id) != 0)
            return;
    }
    for (uint32_t i = 0; i < nh; i++) {
        const struct held *a = &lo->h[i];
        if (a->o == o || a->o->id == o->id)
            continue; /* a read lock taken again */
        struct inst in = { r, t, a, o, bx, { 0 }, 0 };
        for (uint32_t j = 0; j < nh && in.ngate < GATE; j++)
            if (j != i && lo->h[j].o != o)
                in.gate[in.ngate++] = lo->h[j].o->id;
        bool changed;
        uint32_t k = edge_add(&lo->ex, a->o->id, o->id, &in, false, &changed);
        if (k == UINT32_MAX)
            return;
        if (changed)
            search(lo, r, &lo->ex, false, k, &in);

        /* across executions, by site, where sites are locks */
        if (!lo->cross || lo->sites[a->site].multi || lo->sites[sb].multi ||
            a->site == sb)
            continue;
        in.ngate = 0;
        for (uint32_t j = 0; j < nh && in.ngate < GATE; j++)
            if (j != i && lo->h[j].o != o && !lo->sites[lo->h[j].site].multi)
                in.gate[in.ngate++] = lo->h[j].site;
        if (node_reserve(&lo->cr, a->site > sb ? a->site : sb) != 0)
            return;
        /* A replayed schedule adds no edge: persisted failures replayed
         * before the search would otherwise mix into it; the report's
         * final replay needs none (its original added them). */
        if (r->strategy->replays &&
            edge_find(&lo->cr, a->site, sb) == UINT32_MAX)
            continue;
        k = edge_add(&lo->cr, a->site, sb, &in, true, &changed);
        if (k == UINT32_MAX)
            return;
        if (changed)
            search(lo, r, &lo->cr, true, k, &in);
    }
}

void weft__lockorder_acquire(struct weft__run *r, struct weft__task *t,
                             weft__obj_t *o, unsigned flags)
{
    if (r->cfg->lock_order == 0)
        return;
    struct weft__lockorder *lo = lo_get(r);
    char kind = (flags & WEFT__LO_RWLOCK) ? 'R' : 'M';

    /* What t holds, most recent first: mutexes, then rwlocks. */
    uint32_t nh = lo->nholds;
    for (weft_mutex_t *m = t->held; m != NULL; m = m->held_next)
        nh++;
    if (GROW(lo->h, lo->h_cap, nh) != 0)
        return;
    nh = 0;
    for (weft_mutex_t *m = t->held; m != NULL; m = m->held_next)
        lo->h[nh++] =
            (struct held){ &m->o, m->lock_file, m->lock_line, true, 'M', 0 };
    for (uint32_t i = lo->nholds; i-- > 0;) {
        struct hold *x = &lo->holds[i];
        if (x->task == t->id)
            lo->h[nh++] = (struct held){ x->o, x->file, x->line, x->x, 'R', 0 };
    }
    if (nh > 0 && (flags & WEFT__LO_TRY) == 0)
        edges(lo, r, t, o, kind, (flags & WEFT__LO_READ) == 0, nh);

    if (flags & WEFT__LO_RWLOCK) {
        if (GROW(lo->holds, lo->holds_cap, lo->nholds + 1) != 0)
            return;
        lo->holds[lo->nholds++] = (struct hold){ t->id, o, t->file, t->line,
                                                 (flags & WEFT__LO_READ) == 0 };
        r->lockorder_rw++;
    }
}

void weft__lockorder_rw_release(struct weft__run *r, struct weft__task *t,
                                weft__obj_t *o)
{
    struct weft__lockorder *lo = lo_get(r);
    for (uint32_t i = lo->nholds; i-- > 0;) {
        if (lo->holds[i].task != t->id || lo->holds[i].o != o)
            continue;
        memmove(&lo->holds[i], &lo->holds[i + 1],
                (lo->nholds - i - 1) * sizeof *lo->holds);
        lo->nholds--;
        r->lockorder_rw--;
        return;
    }
}
