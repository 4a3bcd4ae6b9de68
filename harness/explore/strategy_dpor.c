/*
 * strategy_dpor.c: dynamic partial-order reduction: every interleaving of
 * the visible operations, up to reordering independent ones (Mazurkiewicz
 * traces), without running each of them.
 *
 * The algorithm is source-DPOR with sleep sets (Abdulla, Aronis, Jonsson,
 * Sagonas, "Optimal dynamic partial order reduction", POPL 2014), without
 * wake-up trees. The search is stateless, as dfs's: a stack of the choices
 * of the current execution, whose prefix each execution replays before it
 * goes on with new choices. The core logs what every step touches (struct
 * weft__access, only while this strategy runs: r->track). After each
 * execution next() finds its races: two dependent steps of different
 * tasks with nothing ordering them in between. For each, the task that
 * can start the reversed order is added to the backtrack set of the choice
 * before the first step, unless one that can is there already. Tasks
 * whose next step was explored from a choice already sleep in the branches
 * after it until a dependent step wakes them; a branch where every enabled
 * task sleeps only repeats others: the execution is cut short there
 * (WEFT__REDUNDANT) and not counted, so each execution counted is one
 * Mazurkiewicz trace when nothing blocks. Wake-up trees, which would avoid
 * starting those branches at all, are not implemented.
 *
 * Dependence: atomics by address (two loads commute); mutexes, condition
 * variables, semaphores, barriers, once and rwlocks as writes on the
 * object, except that a blocking lock and an unlock of one mutex are never
 * enabled together (they commute); a join waits for its task's exit; a
 * task's first step comes after its spawn; yields, sleeps and spawns touch
 * nothing; what a task does when a wait ends, and any operation whose site
 * says nothing, depends on everything. A task whose lock would block (or
 * whose join would wait) is not enabled; a yielder is no option while
 * another task can run (as in dfs, so spin loops always make progress).
 * Value choices (weft_choose, which waiter wakes, timer ties) branch fully,
 * as in dfs. An optional preemption bound (>= 0) prunes backtracking.
 */
#include "explore/explore.h"

#include <errno.h>
#include <string.h>

/* flags of a task option at a choice */
enum {
    F_EN = 1,      /* enabled */
    F_SLEEP = 2,   /* asleep when the choice was reached */
    F_BT = 4,      /* in the backtrack set */
    F_DONE = 8,    /* explored (or under way) */
    F_YIELDX = 16, /* the yielder, kept out while another task can run */
    F_OTHERS = 32  /* another part's (WEFT_SHARD): never run here */
};

struct frame {
    uint8_t kind;
    uint8_t op;
    bool free; /* leaving the running task costs no preemption */
    uint32_t n;
    uint64_t step;
    uint32_t logpos;     /* the log entry of the step this choice starts */
    uint32_t cur;        /* running task's id, or WEFT__NO_TASK */
    uint32_t pre_before; /* preemptions before this choice */
    uint32_t chosen;     /* task id (TASK) or value (VALUE) */
    uint32_t dflt;       /* TASK: index of the default option */
    uint32_t nen;        /* TASK: enabled options */
    bool split;          /* TASK: counted in the path's key (below) */
    bool root;           /* TASK: the choice split between parts */
    uint32_t *ids;       /* TASK: the ready tasks */
    uint8_t *fl;         /* TASK: their flags */
    uint32_t cap;        /* of ids and fl */
};

struct sleeper {
    uint32_t task;
    struct weft__access a;
};

struct dpor_state {
    struct frame *f;
    uint32_t depth, cap, nalloc;
    uint32_t pos;
    uint32_t fresh;       /* depth when the execution began: the last frame
                             is the one next() changed */
    uint32_t pre;         /* preemptions so far */
    int bound;            /* < 0: unbounded */
    uint32_t part, parts; /* this search is part `part` of `parts` */
    /* the path's key so far (its split choices' ranks, mixed radix) and
     * the product of their radices; decided: past its root */
    uint64_t skey, sprod;
    uint32_t nsplit;
    bool decided;
    uint32_t dead_at; /* where every enabled task slept: the execution
                         was cut short there (redundant) */
    const struct weft__acclog *log;
    uint32_t seen; /* log entries applied to the sleep set */
    struct sleeper *sl;
    uint32_t nsl, slcap;
    /* next(): per log entry: sequence number in its task, vector clock */
    uint32_t *seq, *vc, *fat, *last, *first, *cand, *rl;
    uint32_t seqcap, vccap, fatcap, lastcap, rlcap;
    bool oom; /* next() could not find the races: the search cannot go on */
    char why[200];
};

static int dpor_create(void **state, const weft_config_t *cfg, char *err,
                       size_t len)
{
    (void)err;
    (void)len;
    struct dpor_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    st->bound = cfg->preemption_bound; /* negative: unbounded */
    st->part = cfg->shard_index - 1;
    st->parts = cfg->shard_count;
    *state = st;
    return 0;
}

static void dpor_destroy(void *state)
{
    struct dpor_state *st = state;
    for (uint32_t i = 0; i < st->nalloc; i++) {
        weft__free(st->f[i].ids);
        weft__free(st->f[i].fl);
    }
    weft__free(st->f);
    weft__free(st->sl);
    weft__free(st->seq);
    weft__free(st->vc);
    weft__free(st->fat);
    weft__free(st->last);
    weft__free(st->rl);
    weft__free(st);
}

static void dpor_begin(void *state, uint64_t seed)
{
    struct dpor_state *st = state;
    (void)seed;
    st->pos = 0;
    st->pre = 0;
    st->fresh = st->depth;
    st->dead_at = UINT32_MAX;
    st->nsl = 0;
    st->seen = 0;
    st->skey = 0;
    st->sprod = 1;
    st->nsplit = 0;
    st->decided = false;
}

/* ----------------------------------------------------------- dependence */

/* 0: independent; 1: dependent, and the two may be reordered (a race);
 * 2: dependent, but the second needs the first (an exit and its join). */
static int key_dep(int a, int b)
{
    if (a == WEFT__ACC_READ && b == WEFT__ACC_READ)
        return 0;
    if ((a == WEFT__ACC_LOCK || a == WEFT__ACC_UNLOCK) &&
        (b == WEFT__ACC_LOCK || b == WEFT__ACC_UNLOCK) &&
        (a == WEFT__ACC_UNLOCK || b == WEFT__ACC_UNLOCK))
        return 0; /* never enabled together */
    if ((a == WEFT__ACC_EXIT && b == WEFT__ACC_JOIN) ||
        (a == WEFT__ACC_JOIN && b == WEFT__ACC_EXIT))
        return 2;
    if (a == WEFT__ACC_JOIN && b == WEFT__ACC_JOIN)
        return 0;
    return 1;
}

int weft__acc_dep(const struct weft__access *a, const struct weft__access *b)
{
    if (a->kind[0] == WEFT__ACC_NONE || b->kind[0] == WEFT__ACC_NONE)
        return 0;
    if (a->kind[0] == WEFT__ACC_ALL || b->kind[0] == WEFT__ACC_ALL)
        return 1;
    int d = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            if (a->key[i] == NULL || a->key[i] != b->key[j])
                continue;
            int k = key_dep(a->kind[i], b->kind[j]);
            if (k == 1)
                return 1;
            if (k > d)
                d = k;
        }
    return d;
}

bool weft__acc_enabled(const struct weft__task *t)
{
    const struct weft__access *a = &t->acc;
    if (a->wait == WEFT__WAIT_OWNER) {
        const struct weft__task *o = *(struct weft__task *const *)a->wait_on;
        return o == NULL || o == t;
    }
    if (a->wait == WEFT__WAIT_DONE)
        return ((const struct weft__task *)a->wait_on)->state == WEFT__DONE;
    return true;
}

/* Wake the sleepers a logged step depends with. */
static void apply_log(struct dpor_state *st)
{
    const struct weft__acclog *log = st->log;
    for (; st->seen < log->n; st->seen++) {
        const struct weft__accrec *e = &log->v[st->seen];
        for (uint32_t i = 0; i < st->nsl;)
            if (st->sl[i].task == e->task) {
                /* a sleeper ran: it was the only task that could (no
                 * choice was made), so this execution repeats others */
                if (st->dead_at == UINT32_MAX)
                    st->dead_at = st->seen;
                st->sl[i] = st->sl[--st->nsl];
            } else if (weft__acc_dep(&st->sl[i].a, &e->a) != 0) {
                st->sl[i] = st->sl[--st->nsl];
            } else {
                i++;
            }
    }
}

static int sleep_add(struct dpor_state *st, const struct weft__task *t)
{
    if (weft__grow(&st->sl, &st->slcap, st->nsl + 1, sizeof *st->sl))
        return -ENOMEM;
    st->sl[st->nsl].task = t->id;
    st->sl[st->nsl].a = t->acc;
    st->nsl++;
    return 0;
}

static bool asleep(const struct dpor_state *st, uint32_t id)
{
    for (uint32_t i = 0; i < st->nsl; i++)
        if (st->sl[i].task == id)
            return true;
    return false;
}

/* ------------------------------------------------------------- choosing */

static struct frame *push(struct dpor_state *st, uint32_t n)
{
    if (st->depth == st->nalloc) {
        if (weft__grow(&st->f, &st->cap, st->depth + 1, sizeof *st->f))
            return NULL;
        memset(&st->f[st->nalloc], 0, sizeof *st->f);
        st->nalloc++;
    }
    struct frame *f = &st->f[st->depth];
    if (f->cap < n) {
        uint32_t *ids = weft__realloc(f->ids, n * sizeof *ids);
        if (ids == NULL)
            return NULL;
        f->ids = ids;
        uint8_t *fl = weft__realloc(f->fl, n);
        if (fl == NULL)
            return NULL;
        f->fl = fl;
        f->cap = n;
    }
    st->depth++;
    return f;
}

static uint64_t fail(struct dpor_state *st, const char *what)
{
    snprintf(st->why, sizeof st->why, "%s", what);
    return WEFT__DIVERGED;
}

/* Splitting the search (WEFT_SHARD k/n). Until an execution reaches its
 * root, every choice explores every enabled task (all of them in the
 * backtrack set, sleep sets keeping out the repeats), in every part
 * alike, so what is explored above a root never depends on what one part
 * saw below it. Options are ranked: the default first, then by position.
 * A choice where the default does something and two enabled tasks or
 * more are awake is a split: its rank joins the path's key (mixed radix).
 * The split that brings the key's radix product to 4 n (or the 8th) is
 * the root: its option of rank r belongs to the part (key * nen + r) mod
 * n, and runs with the lower ranks asleep, as after them in one search.
 * An execution that ends before a root belongs to part key mod n. Sleep
 * sets keep every trace to one execution, so the parts are disjoint and
 * their union is the whole search. */
static uint32_t rank_of(const struct frame *f, uint32_t x)
{
    if (x == f->dflt)
        return 0;
    uint32_t r = 1;
    for (uint32_t i = 0; i < x; i++)
        r += i != f->dflt && (f->fl[i] & F_EN);
    return r;
}

/* Put to sleep the root's options of lower rank than the one chosen
 * (x): the other parts run them first. */
static int root_sleepers(struct dpor_state *st, const struct frame *f,
                         uint32_t x, const struct weft__choice *c)
{
    uint32_t rx = rank_of(f, x);
    for (uint32_t i = 0; i < f->n; i++)
        if (i != x && (f->fl[i] & F_EN) && rank_of(f, i) < rx &&
            !asleep(st, f->ids[i]) && sleep_add(st, c->tasks[i]))
            return -ENOMEM;
    return 0;
}

/* Fill a new choice's frame; false when every enabled task sleeps. */
static bool new_task_frame(struct dpor_state *st, struct frame *f,
                           const struct weft__choice *c)
{
    uint32_t n = c->n, nen = 0;
    for (uint32_t i = 0; i < n; i++) {
        f->ids[i] = c->ids[i];
        f->fl[i] = weft__acc_enabled(c->tasks[i]) ? F_EN : 0;
        nen += f->fl[i] & F_EN;
    }
    if (c->op == WEFT__OP_YIELD && c->current < n &&
        nen > (f->fl[c->current] & F_EN)) {
        f->fl[c->current] = F_YIELDX; /* others can run: not an option */
        nen = 1;
    }
    if (nen == 0) /* all would wait: one of them blocks, as it would */
        for (uint32_t i = 0; i < n; i++)
            f->fl[i] |= F_EN;
    for (uint32_t i = 0; i < n; i++)
        if ((f->fl[i] & F_EN) && asleep(st, f->ids[i]))
            f->fl[i] |= F_SLEEP;
    f->free = c->current >= n || c->op == WEFT__OP_YIELD ||
              !(f->fl[c->current] & F_EN);
    /* the default: the running task, else the next one after it */
    uint32_t start = c->current < n ? c->current : 0, pick = n;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (start + k) % n;
        if ((f->fl[i] & (F_EN | F_SLEEP)) == F_EN) {
            pick = i;
            break;
        }
    }
    if (pick == n) /* every enabled task sleeps: redundant from here */
        return false;
    f->dflt = pick;
    f->split = f->root = false;
    if (st->parts > 1 && !st->decided) {
        uint32_t awake = 0;
        f->nen = 0;
        for (uint32_t i = 0; i < n; i++)
            if (f->fl[i] & F_EN) {
                f->fl[i] |= F_BT; /* above a root: every option */
                f->nen++;
                awake += !(f->fl[i] & F_SLEEP);
            }
        f->split = awake >= 2 && c->tasks[pick]->acc.kind[0] != WEFT__ACC_NONE;
        f->root = f->split && (st->sprod * f->nen >= 4 * (uint64_t)st->parts ||
                               st->nsplit + 1 >= 8);
    }
    if (f->root) {
        pick = n;
        for (uint32_t i = 0; i < n; i++) {
            if (!(f->fl[i] & F_EN))
                continue;
            uint32_t r = rank_of(f, i);
            if ((st->skey * f->nen + r) % st->parts != st->part)
                f->fl[i] |= F_DONE | F_OTHERS;
            else if (!(f->fl[i] & F_SLEEP) &&
                     (pick == n || r < rank_of(f, pick)))
                pick = i;
        }
        if (pick == n) /* none of this part's options is awake */
            return false;
        if (root_sleepers(st, f, pick, c) != 0)
            return false;
    }
    f->chosen = f->ids[pick];
    f->fl[pick] |= F_BT | F_DONE;
    return true;
}

static uint64_t dpor_choose(void *state, const struct weft__choice *c)
{
    struct dpor_state *st = state;
    if (c->log == NULL)
        return fail(st, "the run does not log accesses");
    if (st->oom)
        return fail(st, "out of memory finding the races of the execution "
                        "before");
    st->log = c->log;
    apply_log(st);
    if (st->dead_at != UINT32_MAX) {
        st->pos = st->depth; /* nothing after this counts */
        return WEFT__REDUNDANT;
    }
    struct frame *f;
    bool task = c->kind == WEFT__CHOOSE_TASK;
    if (st->pos < st->depth) {
        f = &st->f[st->pos];
        if (f->n != c->n || f->kind != c->kind || f->step != c->step) {
            snprintf(st->why, sizeof st->why,
                     "choice %u differs from the earlier execution with "
                     "the same prefix (%u options at step %llu, now %u at "
                     "step %llu)",
                     st->pos + 1, f->n, (unsigned long long)f->step + 1, c->n,
                     (unsigned long long)c->step + 1);
            return WEFT__DIVERGED;
        }
        if (st->pos + 1 == st->fresh) {
            /* the choice next() changed: what was explored from here
             * sleeps (unless the step taken now wakes it); at the root,
             * another part's options only when they rank lower */
            st->nsl = 0;
            uint32_t rc = UINT32_MAX;
            for (uint32_t i = 0; f->root && i < f->n; i++)
                if (f->ids[i] == f->chosen)
                    rc = rank_of(f, i);
            for (uint32_t i = 0; task && i < f->n; i++)
                if ((f->fl[i] & (F_SLEEP | F_DONE)) && f->ids[i] != f->chosen &&
                    !((f->fl[i] & F_OTHERS) && rank_of(f, i) > rc) &&
                    sleep_add(st, c->tasks[i]))
                    return fail(st, "out of memory");
        }
    } else {
        f = push(st, task ? c->n : 0);
        if (f == NULL)
            return fail(st, "out of memory");
        f->kind = (uint8_t)c->kind;
        f->op = (uint8_t)c->op;
        f->n = c->n;
        f->step = c->step;
        f->logpos = c->log->n;
        f->pre_before = st->pre;
        f->cur = task && c->current < c->n ? c->ids[c->current] : WEFT__NO_TASK;
        f->chosen = 0;
        f->free = true;
        f->split = f->root = false;
        if (task && !new_task_frame(st, f, c)) {
            /* sleep-set blocked: what follows is covered elsewhere (the
             * races up to here still count) */
            st->depth--;
            st->pos = st->depth;
            st->dead_at = c->log->n;
            return WEFT__REDUNDANT;
        }
    }
    st->pos++;
    if (task && f->split && !st->decided) {
        uint32_t x = 0;
        while (x < f->n && f->ids[x] != f->chosen)
            x++;
        st->skey = st->skey * f->nen + rank_of(f, x);
        st->sprod *= f->nen;
        st->nsplit++;
        st->decided = f->root;
    }
    if (!task) {
        st->nsl = 0; /* a value changes what follows: nobody sleeps on */
        return f->chosen;
    }
    for (uint32_t i = 0; i < c->n; i++)
        if (c->ids[i] == f->chosen) {
            if (!f->free && f->chosen != f->cur)
                st->pre++;
            return i;
        }
    return fail(st, "the task chosen before is not ready");
}

/* ------------------------------------------------------------ the races */

static int grow_to(uint32_t **a, uint32_t *cap, size_t n)
{
    return weft__grow(a, cap, (uint32_t)n, sizeof **a);
}

/* Is entry i ordered before entry k (k's vector clock covers it)? */
#define HB(i, k) (vc[(size_t)(k)*nt + e[i].task] >= seq[i])

/* The race i < j: make sure the choice before i explores a task that can
 * start the reversed order. */
static void race(struct dpor_state *st, uint32_t i, uint32_t j, uint32_t nt)
{
    const struct weft__accrec *e = st->log->v;
    const uint32_t *seq = st->seq, *vc = st->vc;
    /* steps run without a choice before them (an exit, an atomic block)
     * belong to the step of the same task before them */
    while (st->fat[i] == UINT32_MAX && i > 0 && e[i - 1].task == e[i].task)
        i--;
    if (st->fat[i] == UINT32_MAX)
        return;
    struct frame *f = &st->f[st->fat[i]];
    /* v: the steps after i not ordered after it, then j; its initials are
     * the tasks whose first step in v follows no other step of v */
    uint32_t *first = st->first, *cand = st->cand, ncand = 0;
    for (uint32_t t = 0; t < nt; t++)
        first[t] = 0;
    for (uint32_t k = i + 1; k <= j; k++) {
        if (k < j && HB(i, k))
            continue;
        uint32_t q = e[k].task;
        if (first[q] != 0)
            continue;
        bool initial = true;
        for (uint32_t p = 0; p < nt && initial; p++)
            if (p != q && first[p] != 0 && vc[(size_t)k * nt + p] >= first[p])
                initial = false;
        first[q] = seq[k];
        if (initial)
            cand[ncand++] = q;
    }
    int yx = -1, pick = -1;
    for (uint32_t a = 0; a < ncand; a++)
        for (uint32_t x = 0; x < f->n; x++) {
            if (f->ids[x] != cand[a])
                continue;
            if (f->fl[x] & F_BT)
                return; /* one is explored already */
            if ((f->fl[x] & F_EN) && (pick < 0 || cand[a] == e[j].task))
                pick = (int)x;
            if (f->fl[x] & F_YIELDX)
                yx = (int)x;
        }
    if (pick >= 0) {
        f->fl[pick] |= F_BT;
    } else if (yx >= 0) { /* it waits for the others: any of them */
        for (uint32_t x = 0; x < f->n; x++)
            if (f->fl[x] & F_EN)
                f->fl[x] |= F_BT;
    }
    /* else no initial is enabled there: the order cannot be reversed */
}

static bool races(struct dpor_state *st)
{
    const struct weft__acclog *log = st->log;
    uint32_t n = log->n < st->dead_at ? log->n : st->dead_at;
    const struct weft__accrec *e = log->v;
    uint32_t nt = 0;
    for (uint32_t k = 0; k < log->n; k++)
        if (e[k].task + 1 > nt)
            nt = e[k].task + 1;
    if (grow_to(&st->seq, &st->seqcap, log->n + 1) ||
        grow_to(&st->fat, &st->fatcap, log->n + 1) ||
        grow_to(&st->vc, &st->vccap, (size_t)(n + 1) * nt) ||
        grow_to(&st->last, &st->lastcap, 3 * (size_t)nt + 1))
        return false;
    st->first = st->last + nt;
    st->cand = st->first + nt;
    for (uint32_t k = 0; k < log->n; k++)
        st->fat[k] = UINT32_MAX;
    for (uint32_t d = 0; d < st->depth; d++)
        if (st->f[d].kind == WEFT__CHOOSE_TASK && st->f[d].logpos < log->n)
            st->fat[st->f[d].logpos] = d;
    for (uint32_t t = 0; t < nt; t++)
        st->last[t] = UINT32_MAX;
    uint32_t *vc = st->vc, *seq = st->seq;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t q = e[j].task;
        uint32_t *c = &vc[(size_t)j * nt];
        uint32_t from = st->last[q] != UINT32_MAX ? st->last[q] : e[j].from;
        if (from != UINT32_MAX && from < j)
            memcpy(c, &vc[(size_t)from * nt], nt * sizeof *c);
        else
            memset(c, 0, nt * sizeof *c);
        seq[j] = st->last[q] != UINT32_MAX ? seq[st->last[q]] + 1 : 1;
        /* the races of j: dependent steps of others not yet ordered
         * before it, latest first (an earlier one ordered through a
         * later one is no race) */
        uint32_t nr = 0;
        for (uint32_t i = j; i-- > 0;) {
            if (e[i].task == q || c[e[i].task] >= seq[i])
                continue;
            int d = weft__acc_dep(&e[i].a, &e[j].a);
            if (d == 0)
                continue;
            if (d == 1) {
                if (grow_to(&st->rl, &st->rlcap, nr + 1))
                    return false;
                st->rl[nr++] = i;
            }
            const uint32_t *ci = &vc[(size_t)i * nt];
            for (uint32_t t = 0; t < nt; t++)
                if (ci[t] > c[t])
                    c[t] = ci[t];
        }
        c[q] = seq[j];
        st->last[q] = j;
        for (uint32_t k = 0; k < nr; k++)
            race(st, st->rl[k], j, nt);
    }
    return true;
}

/* ------------------------------------------------------- the next branch */

static bool dpor_next(void *state, uint64_t steps)
{
    struct dpor_state *st = state;
    (void)steps;
    if (st->depth == 0 || st->log == NULL)
        return false;
    if (!races(st)) {
        /* out of memory: not exhausted, so run once more to say so */
        st->oom = true;
        return true;
    }
    while (st->depth > 0) {
        struct frame *f = &st->f[st->depth - 1];
        if (f->kind == WEFT__CHOOSE_VALUE) {
            if (f->chosen + 1 < f->n) {
                f->chosen++;
                return true;
            }
        } else {
            for (uint32_t x = 0; x < f->n; x++) {
                if ((f->fl[x] & (F_BT | F_DONE | F_SLEEP)) != F_BT)
                    continue;
                bool allowed = f->free || f->ids[x] == f->cur ||
                               st->bound < 0 ||
                               f->pre_before + 1 <= (uint32_t)st->bound;
                if (!allowed)
                    continue;
                f->fl[x] |= F_DONE;
                f->chosen = f->ids[x];
                return true;
            }
        }
        st->depth--;
    }
    return false;
}

static bool dpor_finished(void *state, char *why, size_t len)
{
    struct dpor_state *st = state;
    if (st->pos >= st->depth)
        return true;
    snprintf(why, len,
             "the execution ended after %u choices, before the %u of the "
             "earlier execution with the same prefix",
             st->pos, st->depth);
    return false;
}

static bool dpor_redundant(void *state)
{
    struct dpor_state *st = state;
    if (st->log != NULL)
        apply_log(st);
    /* another part's execution (it ended before a root): its races are
     * this part's too, but it is counted there */
    if (st->parts > 1 && !st->decided && st->skey % st->parts != st->part)
        return true;
    return st->dead_at != UINT32_MAX;
}

static void dpor_explain(void *state, char *why, size_t len)
{
    struct dpor_state *st = state;
    snprintf(why, len, "%s", st->why);
}

static void dpor_describe(void *state, struct weft__buf *out)
{
    (void)state;
    (void)out; /* a dpor execution is replayed from its schedule file */
}

const struct weft__strategy weft__strategy_dpor = {
    .name = "dpor",
    .seed_replays = false,
    .tracks = true,
    .create = dpor_create,
    .destroy = dpor_destroy,
    .begin = dpor_begin,
    .choose = dpor_choose,
    .finished = dpor_finished,
    .redundant = dpor_redundant,
    .explain = dpor_explain,
    .next = dpor_next,
    .describe = dpor_describe,
};
