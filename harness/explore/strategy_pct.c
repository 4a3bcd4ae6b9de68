/*
 * strategy_pct.c: probabilistic concurrency testing (Burckhardt et al.,
 * ASPLOS 2010).
 *
 * Every task gets a random priority when it first becomes ready; the
 * ready task with the highest priority always runs. d-1 change points,
 * drawn uniformly over the expected number of steps k, each lower the
 * priority of the task running there below every initial priority. For a
 * program with n tasks and k steps, one execution finds a given bug of
 * depth d with probability at least 1 / (n * k^(d-1)): a bound that random
 * scheduling cannot give for deep bugs.
 *
 * k is WEFT_PCT_STEPS when set; otherwise it is learnt: 64 for the first
 * execution, then that execution's length. It is printed in the replay
 * line, so a seed plus that line replays any execution.
 *
 * A correct spin loop must never become a finding, as it would if the
 * spinning task kept the top priority and starved the task it waits for.
 * So at a yield (weft_yield, sched_yield, or a spin the core detects:
 * core.h, weft__spinning) the best of the other tasks runs; and past
 * FAIR_STEPS(k) steps an execution is scheduled fairly, uniformly at
 * random, as Coyote's fair PCT does, so that what the priorities alone
 * would keep going forever (two spinners handing the processor back and
 * forth over the head of the task they wait for, a loop of lock and
 * unlock around a flag) ends too. A yield does not lower the yielder's
 * priority for good: a task that polled once could then never be
 * preempted where a bug needs it, and pct's bound would be lost.
 */
#include "explore/explore.h"

#include <errno.h>
#include <string.h>

/* Past this many steps an execution of learnt length k is fair. */
#define FAIR_STEPS(k) (8 * (k) + 1000)

struct pct_state {
    uint64_t rng;
    unsigned depth;
    uint64_t k;       /* steps the change points are spread over */
    bool learn;       /* k follows the longest execution seen */
    bool seen;        /* an execution has ended */
    uint64_t k_run;   /* the k this execution used */
    uint64_t *change; /* depth-1 change points, by step */
    uint64_t *prio;   /* by task id; 0 = not yet assigned */
    uint32_t nprio, prio_cap;
};

static int pct_create(void **state, const weft_config_t *cfg, char *err,
                      size_t len)
{
    if (cfg->pct_depth < 1 || cfg->pct_depth > 64) {
        snprintf(err, len, "pct depth must be 1..64, not %u", cfg->pct_depth);
        return -EINVAL;
    }
    struct pct_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    st->depth = cfg->pct_depth;
    st->learn = cfg->pct_steps == 0;
    st->k = st->learn ? 64 : cfg->pct_steps;
    st->change = weft__alloc(sizeof *st->change * st->depth);
    if (st->change == NULL) {
        weft__free(st);
        return -ENOMEM;
    }
    *state = st;
    return 0;
}

static void pct_destroy(void *state)
{
    struct pct_state *st = state;
    weft__free(st->change);
    weft__free(st->prio);
    weft__free(st);
}

static void pct_begin(void *state, uint64_t seed)
{
    struct pct_state *st = state;
    st->rng = weft__mix(seed ^ 0xbb67ae8584caa73bULL);
    st->k_run = st->k;
    st->nprio = 0;
    for (unsigned i = 0; i + 1 < st->depth; i++)
        st->change[i] = 1 + weft__rng_below(&st->rng, st->k);
}

static uint64_t *prio_of(struct pct_state *st, uint32_t id)
{
    if (id >= st->nprio) {
        if (weft__grow(&st->prio, &st->prio_cap, id + 1, sizeof *st->prio))
            return NULL;
        memset(st->prio + st->nprio, 0,
               (id + 1 - st->nprio) * sizeof *st->prio);
        st->nprio = id + 1;
    }
    uint64_t *p = &st->prio[id];
    if (*p == 0) /* initial priorities sit above every lowered one */
        *p = st->depth + 1 + (weft__rng_next(&st->rng) >> 8);
    return p;
}

static uint64_t pct_choose(void *state, const struct weft__choice *c)
{
    struct pct_state *st = state;
    if (c->kind == WEFT__CHOOSE_VALUE || c->step >= FAIR_STEPS(st->k_run))
        return weft__rng_below(&st->rng, c->n);
    /* A change point lowers the running task to priority i + 1, below
     * all initial ones; points passed while no choice arose apply at the
     * next choice. */
    if (c->current < c->n)
        for (unsigned i = 0; i + 1 < st->depth; i++)
            if (st->change[i] != 0 && c->step >= st->change[i]) {
                uint64_t *p = prio_of(st, c->ids[c->current]);
                if (p)
                    *p = i + 1;
                st->change[i] = 0;
            }
    /* A yield gives way: the best of the others runs, or a task spinning
     * on a flag with the top priority would starve its setter. */
    uint32_t skip = c->op == WEFT__OP_YIELD ? c->current : c->n;
    uint32_t best = skip == 0 && c->n > 1 ? 1 : 0;
    uint64_t bp = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        if (i == skip)
            continue;
        uint64_t *p = prio_of(st, c->ids[i]);
        uint64_t v = p ? *p : 0;
        if (v > bp) {
            bp = v;
            best = i;
        }
    }
    return best;
}

static bool pct_finished(void *state, char *why, size_t len)
{
    (void)state;
    (void)why;
    (void)len;
    return true;
}

static void pct_explain(void *state, char *why, size_t len)
{
    (void)state;
    snprintf(why, len, "pct never diverges");
}

static bool pct_next(void *state, uint64_t steps)
{
    struct pct_state *st = state;
    /* k is learnt from the first execution of the exploration alone
     * (index 0: the explorer runs it first in every shard and before
     * forking workers), so every execution's k is the same however the
     * exploration is split. */
    if (st->learn && !st->seen)
        st->k = steps > 0 ? steps : 1;
    st->seen = true;
    return true;
}

static void pct_describe(void *state, struct weft__buf *out)
{
    struct pct_state *st = state;
    weft__buf_printf(out,
                     " WEFT_STRATEGY=pct WEFT_PCT_DEPTH=%u WEFT_PCT_STEPS=%llu",
                     st->depth, (unsigned long long)st->k_run);
}

const struct weft__strategy weft__strategy_pct = {
    .name = "pct",
    .seed_replays = true,
    .create = pct_create,
    .destroy = pct_destroy,
    .begin = pct_begin,
    .choose = pct_choose,
    .finished = pct_finished,
    .explain = pct_explain,
    .next = pct_next,
    .describe = pct_describe,
};
