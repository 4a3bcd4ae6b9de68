/*
 * strategy_dfs.c: systematic depth-first search of all executions, under
 * a preemption bound (CHESS's iterative context bounding, one bound).
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
 */
#include "explore/explore.h"

#include <errno.h>
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

struct dfs_state {
    struct frame *f;
    uint32_t depth, cap;
    uint32_t pos;
    uint32_t pre; /* preemptions so far in this execution */
    int bound;    /* -1: unbounded */
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
    *state = st;
    return 0;
}

static void dfs_destroy(void *state)
{
    struct dfs_state *st = state;
    weft__free(st->f);
    weft__free(st);
}

static void dfs_begin(void *state, uint64_t seed)
{
    struct dfs_state *st = state;
    (void)seed;
    st->pos = 0;
    st->pre = 0;
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
    st->pos++;
    if (f->k > 0 && !f->free)
        st->pre++;
    return (f->dflt + f->k) % f->n;
}

static bool dfs_next(void *state, uint64_t steps)
{
    struct dfs_state *st = state;
    (void)steps;
    while (st->depth > 0) {
        struct frame *f = &st->f[st->depth - 1];
        bool allowed = f->free || st->bound < 0 ||
                       f->pre_before + 1 <= (uint32_t)st->bound;
        if (f->k + 1 < f->opts && allowed) {
            f->k++;
            return true;
        }
        st->depth--;
    }
    return false;
}

static bool dfs_finished(void *state, char *why, size_t len)
{
    struct dfs_state *st = state;
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
