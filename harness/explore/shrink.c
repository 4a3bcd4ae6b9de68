/*
 * shrink.c: minimising a failing schedule.
 *
 * A candidate is the failing decision list with one change: a preemption
 * taken back (let the running task go on), or everything after a prefix
 * dropped. It runs under the "guided" strategy, which follows the list as
 * a preference (take the listed task if it is ready, else let the running
 * task go on), so a change early in the list does not derail the rest.
 * A candidate that fails the same way (same kind, same place) replaces the
 * schedule with the decisions it actually made; that recording replays
 * exactly. First a bounded systematic search looks for the same failure
 * with fewer preemptions (0, 1, ...: the smallest bound that shows it);
 * then single preemptions are taken back, from the last to the first,
 * then suffixes dropped, until a pass changes nothing or the budget runs
 * out.
 */
#include "explore/explore.h"

#include <errno.h>
#include <string.h>

struct guided {
    const struct weft__decision *d;
    uint32_t n, pos;
};

static int g_create(void **state, const weft_config_t *cfg, char *err,
                    size_t len)
{
    (void)state;
    (void)cfg;
    snprintf(err, len, "the guided strategy is internal to shrinking");
    return -EINVAL;
}

static void g_destroy(void *state)
{
    (void)state;
}

static void g_begin(void *state, uint64_t seed)
{
    struct guided *g = state;
    (void)seed;
    g->pos = 0;
}

static uint64_t g_choose(void *state, const struct weft__choice *c)
{
    struct guided *g = state;
    const struct weft__decision *d = g->pos < g->n ? &g->d[g->pos++] : NULL;
    if (c->kind == WEFT__CHOOSE_VALUE)
        return d && d->kind == WEFT__CHOOSE_VALUE && d->chosen < c->n
                   ? d->chosen
                   : 0;
    if (d != NULL && d->kind == WEFT__CHOOSE_TASK)
        for (uint32_t i = 0; i < c->n; i++)
            if (c->ids[i] == d->chosen)
                return i;
    return c->current < c->n ? c->current : 0;
}

static bool g_finished(void *state, char *why, size_t len)
{
    (void)state;
    (void)why;
    (void)len;
    return true;
}

static void g_explain(void *state, char *why, size_t len)
{
    (void)state;
    snprintf(why, len, "guided runs never diverge");
}

static bool g_next(void *state, uint64_t steps)
{
    (void)state;
    (void)steps;
    return false;
}

static void g_describe(void *state, struct weft__buf *out)
{
    (void)state;
    (void)out;
}

static const struct weft__strategy guided_strategy = {
    .name = "guided",
    .seed_replays = false,
    .create = g_create,
    .destroy = g_destroy,
    .begin = g_begin,
    .choose = g_choose,
    .finished = g_finished,
    .explain = g_explain,
    .next = g_next,
    .describe = g_describe,
};

bool weft__same_failure(const struct weft__finding *a,
                        const struct weft__finding *b)
{
    if (a->kind != b->kind)
        return false;
    /* Where a deadlock is noticed depends on which task blocked last; the
     * kind is what matters. */
    if (a->kind == WEFT_FINDING_DEADLOCK)
        return true;
    if (a->line != b->line)
        return false;
    return a->file == b->file ||
           (a->file && b->file && strcmp(a->file, b->file) == 0);
}

/* Another try within the budget, unless SIGINT or SIGTERM asked the
 * explorer to stop: then the smallest schedule so far is reported. */
static bool more(uint64_t runs, uint64_t budget)
{
    return runs < budget && weft__interrupt == 0;
}

/* Adopt the decisions of the execution just run as *s. */
static int adopt(struct weft__run *r, struct weft__schedule *s)
{
    struct weft__schedule t;
    if (weft__schedule_snapshot(&t, r) != 0)
        return -ENOMEM;
    t.seed = s->seed;
    weft__schedule_free(s);
    *s = t;
    return 1;
}

/* Run candidate decisions; on the same failure, adopt what was recorded.
 * Returns 1 if adopted, 0 if not, -ENOMEM. */
/* Every try re-runs the execution: a budget of steps over all of them
 * (deterministic, unlike a wall-clock limit) keeps a failure found after
 * millions of steps from taking minutes to shrink. */
#define SHRINK_STEPS 20000000u
static WEFT__TLS uint64_t steps_left;

/* Run one try; -ECANCELED when the budget is spent. */
static int run_try(struct weft__run *r, weft_body_fn *body, void *arg)
{
    if (steps_left == 0)
        return -ECANCELED;
    int rc = weft__run_one(r, body, arg);
    steps_left = r->step >= steps_left ? 0 : steps_left - r->step;
    return rc;
}

static int try(struct weft__run *r, weft_body_fn *body, void *arg,
               const struct weft__decision *d, uint32_t n,
               struct weft__schedule *s, const struct weft__finding *like)
{
    struct guided g = { d, n, 0 };
    r->strategy = &guided_strategy;
    r->strategy_state = &g;
    r->seed = s->seed;
    int rc = run_try(r, body, arg);
    if (rc != 0)
        return rc;
    if (!r->failed || !weft__same_failure(&r->finding, like))
        return 0;
    /* Smaller means fewer preemptions, then fewer steps. */
    struct weft__schedule now = { .d = r->decisions, .n = r->ndecisions };
    unsigned pn = weft__schedule_preemptions(&now),
             ps = weft__schedule_preemptions(s);
    /* never longer, never more preemptions, and better in one of them */
    if (pn > ps || r->step > s->steps || (pn == ps && r->step == s->steps))
        return 0;
    return adopt(r, s);
}

/* Search systematically under bounds 0, 1, ... below the schedule's
 * preemption count; adopt the first execution failing the same way. */
static int fewer_preemptions(struct weft__run *r, weft_body_fn *body, void *arg,
                             struct weft__schedule *s,
                             const struct weft__finding *goal, uint64_t *runs,
                             uint64_t budget)
{
    unsigned have = weft__schedule_preemptions(s);
    for (unsigned b = 0; b < have && more(*runs, budget); b++) {
        weft_config_t c = *r->cfg;
        c.preemption_bound = (int)b;
        void *st;
        char err[64];
        if (weft__strategy_dfs.create(&st, &c, err, sizeof err) != 0)
            return -ENOMEM;
        r->strategy = &weft__strategy_dfs;
        r->strategy_state = st;
        int found = 0;
        uint64_t limit = *runs + (budget - *runs) / 2 + 1;
        while (more(*runs, limit) && found == 0) {
            r->seed = s->seed;
            int rc = run_try(r, body, arg);
            (*runs)++;
            if (rc != 0)
                found = rc;
            else if (r->failed && weft__same_failure(&r->finding, goal) &&
                     (s->steps == 0 || r->step <= s->steps))
                found = adopt(r, s); /* fewer preemptions, never longer */
            else if (!weft__strategy_dfs.next(st, r->step))
                break;
        }
        weft__strategy_dfs.destroy(st);
        if (found != 0)
            return found;
    }
    return 0;
}

uint64_t weft__shrink(struct weft__run *r, weft_body_fn *body, void *arg,
                      struct weft__schedule *s,
                      const struct weft__finding *like, uint64_t budget)
{
    const struct weft__strategy *saved = r->strategy;
    void *saved_state = r->strategy_state;
    uint64_t runs = 0;
    struct weft__decision *cand = NULL;
    uint32_t cap = 0;
    /* `like` may be r->finding, which every try overwrites: keep a copy
     * (without the detail buffer, which stays r's). */
    struct weft__finding goal = *like;
    goal.detail.s = NULL;
    goal.detail.len = goal.detail.cap = 0;
    steps_left = SHRINK_STEPS;

    if (fewer_preemptions(r, body, arg, s, &goal, &runs, budget * 3 / 4) < 0)
        goto out;
    bool progress = true;
    while (progress && more(runs, budget)) {
        progress = false;
        /* 1. take back one preemption, latest first */
        for (uint32_t j = s->n; j-- > 0 && more(runs, budget);) {
            if (j >= s->n || !weft__is_preemption(&s->d[j]))
                continue;
            if (weft__grow(&cand, &cap, s->n, sizeof *cand) != 0)
                goto out;
            memcpy(cand, s->d, s->n * sizeof *cand);
            cand[j].chosen = cand[j].cur;
            runs++;
            int rc = try(r, body, arg, cand, s->n, s, &goal);
            if (rc < 0)
                goto out;
            progress |= rc == 1;
        }
        /* 2. drop a suffix: halve, then smaller cuts */
        for (uint32_t keep = s->n / 2; keep < s->n && more(runs, budget);) {
            runs++;
            int rc = try(r, body, arg, s->d, keep, s, &goal);
            if (rc < 0)
                goto out;
            if (rc == 1) {
                progress = true;
                keep = s->n / 2;
                continue;
            }
            keep += (s->n - keep + 1) / 2;
        }
    }
out:
    weft__free(cand);
    r->strategy = saved;
    r->strategy_state = saved_state;
    return runs;
}
