/*
 * strategy_dfs.c: systematic depth-first search of all executions, under
 * a preemption bound: CHESS's iterative context bounding (the default,
 * WEFT_PREEMPTIONS=iterate), one fixed bound, or none.
 *
 * The search is stateless: it keeps only the stack of choices of the
 * current execution. Each execution replays the stack's prefix and, past
 * it, takes the default option at every new choice; afterwards next()
 * moves the deepest choice that has an untried option within the bound to
 * that option and cuts the stack there. When no choice has one left the
 * space is exhausted, and the explorer says so.
 *
 * The default at a choice is the running task (no switch); at a yield it
 * is the next ready task, and the yielder itself is no option while
 * another task can run: every path of the search makes progress past a
 * spin loop (a yield, or a spin the core detects), so a correct spin never
 * becomes a step-bound finding. Switching away from a task that could go
 * on is a preemption and counts against the bound; switching at a yield,
 * after a block or an exit, and value choices are free.
 *
 * Iterating, level L runs exactly the executions with L preemptions, so
 * the shallowest bug is found first and no execution runs twice. Level 0
 * is the search under bound 0; each frame of it where a preemption was
 * cut by the bound (a pruned path) is kept, with the path that led to it,
 * as an item of level 1. Level L + 1 takes its items in order: the kept
 * path is replayed up to the item's frame, which then tries each of its
 * other options (the (L + 1)th preemption), and below it the search is
 * the bound-(L + 1) search, which can only take free choices, keeping in
 * turn every frame it cuts as an item of level L + 2. Only frames first
 * reached in an execution are kept (the others were, when they were
 * first reached). A level that keeps no item ends the search, exhausted:
 * no path was cut. The paths of two levels are kept in memory (4 bytes
 * per choice of each execution that cut one); an item's first execution
 * rebuilds the frames of its path from the options kept.
 */
#include "explore/explore.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

struct frame {
    uint32_t n;          /* ready tasks (or values) at the choice */
    uint32_t opts;       /* options explored: n, or n - 1 at a yield */
    uint32_t dflt;       /* index of the default option */
    uint32_t k;          /* options tried so far - 1: option (dflt+k)%n */
    uint32_t pre_before; /* preemptions in the frames before this one */
    uint64_t step;
    uint8_t kind;
    bool free; /* leaving the default costs no preemption */
};

/* One pruned frame: the path to it starts at frame `off` of a level's
 * arena and ends with it, frame `at` (0-based) of the path. */
struct item {
    size_t off;
    uint32_t at;
};

struct level {
    uint32_t *arena; /* kept paths (each frame's k), one after the other */
    size_t alen, acap;
    struct item *items;
    size_t n, cap, head;
};

struct dfs_state {
    struct frame *f;
    uint32_t depth, cap;
    uint32_t pos;
    uint32_t pre;   /* preemptions so far in this execution */
    int bound;      /* -1: unbounded; the level when iterating */
    bool iterate;   /* WEFT_PREEMPTIONS=iterate */
    uint32_t base;  /* iterating: frames next() keeps (the item's path) */
    uint32_t fresh; /* frames the execution under way started with */
    const uint32_t *replay; /* an item's path to rebuild, rlen frames */
    uint32_t rlen;
    int ran;   /* the level of the last execution begun */
    bool lost; /* an item was lost (out of memory, a diverged path) */
    struct level cur, nxt;
    char why[200];
};

static int dfs_create(void **state, const weft_config_t *cfg, char *err,
                      size_t len)
{
    (void)err;
    (void)len;
    struct dfs_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    st->bound = cfg->preemption_bound;
    if (st->bound == WEFT_PREEMPTIONS_ITERATE) {
        st->iterate = true;
        st->bound = 0;
    }
    *state = st;
    return 0;
}

static void dfs_destroy(void *state)
{
    struct dfs_state *st = state;
    weft__free(st->f);
    weft__free(st->cur.arena);
    weft__free(st->cur.items);
    weft__free(st->nxt.arena);
    weft__free(st->nxt.items);
    weft__free(st);
}

static void dfs_begin(void *state, uint64_t seed)
{
    struct dfs_state *st = state;
    (void)seed;
    st->pos = 0;
    st->pre = 0;
    st->fresh = st->depth > st->base ? st->depth : st->base;
    st->ran = st->bound;
}

static uint64_t dfs_choose(void *state, const struct weft__choice *c)
{
    struct dfs_state *st = state;
    struct frame *f;
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
    } else {
        if (weft__grow(&st->f, &st->cap, st->depth + 1, sizeof *st->f)) {
            snprintf(st->why, sizeof st->why, "out of memory");
            return WEFT__DIVERGED;
        }
        f = &st->f[st->depth++];
        f->n = c->n;
        f->opts = c->n;
        f->k = 0;
        if (st->pos < st->rlen) /* an item's path: as it ran, then its
                                   frame's first option past the default */
            f->k = st->pos + 1 == st->rlen ? 1 : st->replay[st->pos];
        f->step = c->step;
        f->kind = (uint8_t)c->kind;
        f->pre_before = st->pre;
        if (c->kind == WEFT__CHOOSE_VALUE || c->current >= c->n) {
            f->dflt = 0;
            f->free = true;
        } else if (c->op == WEFT__OP_YIELD) {
            f->dflt = (c->current + 1) % c->n;
            f->opts = c->n - 1; /* (dflt + k) % n never reaches current */
            f->free = true;
        } else {
            f->dflt = c->current;
            f->free = false;
        }
    }
    if (f->k >= f->opts) {
        snprintf(st->why, sizeof st->why,
                 "choice %u has %u options, fewer than when its path was "
                 "kept for the next preemption level",
                 st->pos + 1, f->opts);
        return WEFT__DIVERGED;
    }
    st->pos++;
    if (f->k > 0 && !f->free)
        st->pre++;
    return (f->dflt + f->k) % f->n;
}

static int grow_size(void *arr, size_t *cap, size_t n, size_t elem)
{
    void **a = arr;
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    if (c > SIZE_MAX / elem)
        return -ENOMEM;
    void *p = weft__realloc(*a, c * elem);
    if (p == NULL)
        return -ENOMEM;
    *a = p;
    *cap = c;
    return 0;
}

/* Keep the frames the execution just run reached first and cut (a
 * preemption the level's bound did not allow) as items of the next level. */
static void keep_pruned(struct dfs_state *st)
{
    struct level *l = &st->nxt;
    size_t off = 0;
    bool stored = false;
    for (uint32_t i = st->fresh; i < st->depth; i++) {
        struct frame *f = &st->f[i];
        if (f->free || f->opts < 2 || f->pre_before < (uint32_t)st->bound)
            continue;
        if (!stored) { /* the path once, for all its items */
            if (grow_size(&l->arena, &l->acap, l->alen + st->depth,
                          sizeof *l->arena)) {
                st->lost = true;
                return;
            }
            off = l->alen;
            for (uint32_t j = 0; j < st->depth; j++)
                l->arena[off + j] = st->f[j].k;
            l->alen += st->depth;
            stored = true;
        }
        if (grow_size(&l->items, &l->cap, l->n + 1, sizeof *l->items)) {
            st->lost = true;
            return;
        }
        l->items[l->n++] = (struct item){ off, i };
    }
}

/* Start the next item of the current level (false: none is left). */
static bool take_item(struct dfs_state *st)
{
    struct level *l = &st->cur;
    if (l->head == l->n)
        return false;
    struct item it = l->items[l->head++];
    /* the next execution rebuilds the path's frames (dfs_choose) */
    st->replay = l->arena + it.off;
    st->rlen = it.at + 1;
    st->depth = 0;
    st->base = it.at + 1;
    return true;
}

static bool dfs_next(void *state, uint64_t steps)
{
    struct dfs_state *st = state;
    (void)steps;
    if (st->rlen > 0 && st->depth < st->rlen) {
        st->lost = true; /* diverged: dfs_finished said so */
        return false;
    }
    st->rlen = 0; /* the item's path is in its frames now */
    if (st->iterate)
        keep_pruned(st);
    while (st->depth > st->base) {
        struct frame *f = &st->f[st->depth - 1];
        bool allowed = f->free || st->bound < 0 ||
                       f->pre_before + 1 <= (uint32_t)st->bound;
        if (f->k + 1 < f->opts && allowed) {
            f->k++;
            return true;
        }
        st->depth--;
    }
    if (!st->iterate)
        return false;
    if (st->base > 0) { /* the item's frame: its next option */
        struct frame *f = &st->f[st->base - 1];
        if (f->k + 1 < f->opts) {
            f->k++;
            st->depth = st->base;
            return true;
        }
    }
    while (!take_item(st)) {
        if (st->lost || st->nxt.n == 0)
            return false; /* exhausted, unless an item was lost */
        struct level t = st->cur;
        st->cur = st->nxt;
        st->nxt = t;
        st->nxt.alen = st->nxt.n = st->nxt.head = 0;
        st->bound++;
    }
    return true;
}

void weft__dfs_level(void *state, int *level, bool *complete)
{
    struct dfs_state *st = state;
    *level = st->ran;
    *complete = !st->lost;
}

static bool dfs_finished(void *state, char *why, size_t len)
{
    struct dfs_state *st = state;
    if (st->pos < st->rlen) {
        snprintf(why, len,
                 "the execution ended after %u choices, before the %u of "
                 "the path kept for the next preemption level",
                 st->pos, st->rlen);
        return false;
    }
    if (st->pos >= st->depth)
        return true;
    snprintf(why, len,
             "the execution ended after %u choices, before the %u of the "
             "earlier execution with the same prefix",
             st->pos, st->depth);
    return false;
}

static void dfs_explain(void *state, char *why, size_t len)
{
    struct dfs_state *st = state;
    snprintf(why, len, "%s", st->why);
}

static void dfs_describe(void *state, struct weft__buf *out)
{
    (void)state;
    (void)out; /* a dfs execution is replayed from its schedule file */
}

const struct weft__strategy weft__strategy_dfs = {
    .name = "dfs",
    .seed_replays = false,
    .create = dfs_create,
    .destroy = dfs_destroy,
    .begin = dfs_begin,
    .choose = dfs_choose,
    .finished = dfs_finished,
    .explain = dfs_explain,
    .next = dfs_next,
    .describe = dfs_describe,
};
