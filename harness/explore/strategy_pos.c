/*
 * strategy_pos.c: partial-order sampling (Yuan, Yang, Gu, "Partial order
 * aware concurrency sampling", CAV 2018).
 *
 * Each pending event (the next visible operation of each ready task) has a
 * random priority, and the task whose event has the highest one runs.
 * When an event e has run, every pending event that races with it (same
 * object, not two loads: dpor's dependence, weft__acc_dep; an operation
 * whose access is unknown races with everything) draws a fresh priority,
 * and so does the next event of the task that ran e. Random walk makes an
 * order that needs one task to run its racing step before another's N
 * independent steps about 2^N times rarer than the opposite order; here
 * independent steps do not touch the priorities of what they do not race
 * with, so each order of two racing events is about as likely as the
 * other whatever runs around them.
 *
 * The core logs what every step touches (r->track, as for dpor); each
 * choice reads the entries logged since the one before. Every draw comes
 * from the execution's seeded stream, in the order of the ready set, so
 * the seed alone replays an execution; addresses are only compared for
 * equality. A task whose lock would wait, or whose join would, runs only
 * when no other can. At a yield (weft_yield, or a spin the core detects)
 * the best of the other tasks runs, as in pct, and the yielder's next
 * event draws afresh once its yield has run, so a correct spin loop ends;
 * a poll the core cannot see as a spin (under a mutex) ends because a
 * task passed over STARVE choices in a row while it could run draws
 * afresh too.
 * Value choices (weft_choose, which waiter wakes, timer ties) are uniform,
 * as in random.
 */
#include "explore/explore.h"

#include <errno.h>
#include <string.h>

/* An enabled task passed over this many choices in a row draws afresh. */
#define STARVE 100

struct prio {
    uint64_t p;      /* 0: draw afresh */
    uint32_t passed; /* choices it lost in a row while enabled */
};

struct pos_state {
    uint64_t rng;
    uint32_t seen;     /* log entries already applied */
    struct prio *prio; /* by task id */
    uint32_t nprio, prio_cap;
};

static int pos_create(void **state, const weft_config_t *cfg, char *err,
                      size_t len)
{
    (void)cfg;
    (void)err;
    (void)len;
    struct pos_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    *state = st;
    return 0;
}

static void pos_destroy(void *state)
{
    struct pos_state *st = state;
    weft__free(st->prio);
    weft__free(st);
}

static void pos_begin(void *state, uint64_t seed)
{
    struct pos_state *st = state;
    st->rng = weft__mix(seed ^ 0x3c6ef372fe94f82bULL);
    st->seen = 0;
    if (st->nprio > 0)
        memset(st->prio, 0, st->nprio * sizeof *st->prio);
}

/* The priority slot of task id; NULL: out of memory. */
static struct prio *slot(struct pos_state *st, uint32_t id)
{
    if (id >= st->nprio) {
        if (weft__grow(&st->prio, &st->prio_cap, id + 1, sizeof *st->prio))
            return NULL;
        memset(st->prio + st->nprio, 0,
               (id + 1 - st->nprio) * sizeof *st->prio);
        st->nprio = id + 1;
    }
    return &st->prio[id];
}

static void redraw(struct pos_state *st, uint32_t id)
{
    struct prio *p = slot(st, id);
    if (p != NULL)
        p->p = 0;
}

static uint64_t pos_choose(void *state, const struct weft__choice *c)
{
    struct pos_state *st = state;
    if (c->kind == WEFT__CHOOSE_VALUE || c->tasks == NULL || c->log == NULL)
        return weft__rng_below(&st->rng, c->n);
    /* the events run since the last choice: their tasks' next events and
     * the pending events racing with them draw afresh */
    const struct weft__acclog *log = c->log;
    if (st->seen > log->n)
        st->seen = log->n;
    for (; st->seen < log->n; st->seen++) {
        const struct weft__accrec *e = &log->v[st->seen];
        redraw(st, e->task);
        for (uint32_t i = 0; i < c->n; i++)
            if (c->ids[i] != e->task &&
                weft__acc_dep(&c->tasks[i]->acc, &e->a) != 0)
                redraw(st, c->ids[i]);
    }
    /* the best enabled task, the yielder only when no other is; if none
     * is enabled, the best one runs and blocks, as it would */
    uint32_t skip = c->op == WEFT__OP_YIELD ? c->current : c->n;
    uint32_t best = c->n;
    int best_rank = -1;
    uint64_t bp = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        struct prio *p = slot(st, c->ids[i]);
        uint64_t v = 1;
        if (p != NULL) {
            if (p->p == 0) {
                p->p = weft__rng_next(&st->rng) | 1;
                p->passed = 0;
            }
            v = p->p;
        }
        int rank = !weft__acc_enabled(c->tasks[i]) ? 0 : i == skip ? 1 : 2;
        if (rank > best_rank || (rank == best_rank && v > bp)) {
            best_rank = rank;
            bp = v;
            best = i;
        }
    }
    /* A task with a low priority whose event races with nothing the
     * others do would wait as long as they go on (a poll under a mutex
     * has no spin the core sees): passed over STARVE times while it could
     * run, it draws again, so a wait ends in a geometric number of steps
     * instead of one of unbounded mean. */
    for (uint32_t i = 0; i < c->n; i++) {
        struct prio *p = slot(st, c->ids[i]);
        if (p == NULL)
            continue;
        if (i == best || i == skip || !weft__acc_enabled(c->tasks[i]))
            p->passed = 0;
        else if (++p->passed >= STARVE)
            p->p = 0;
    }
    return best;
}

static bool pos_finished(void *state, char *why, size_t len)
{
    (void)state;
    (void)why;
    (void)len;
    return true;
}

static void pos_explain(void *state, char *why, size_t len)
{
    (void)state;
    snprintf(why, len, "pos never diverges");
}

static bool pos_next(void *state, uint64_t steps)
{
    (void)state;
    (void)steps;
    return true;
}

static void pos_describe(void *state, struct weft__buf *out)
{
    (void)state;
    weft__buf_printf(out, " WEFT_STRATEGY=pos");
}

const struct weft__strategy weft__strategy_pos = {
    .name = "pos",
    .seed_replays = true,
    .tracks = true,
    .create = pos_create,
    .destroy = pos_destroy,
    .begin = pos_begin,
    .choose = pos_choose,
    .finished = pos_finished,
    .explain = pos_explain,
    .next = pos_next,
    .describe = pos_describe,
};
