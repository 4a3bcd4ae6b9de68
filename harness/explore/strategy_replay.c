/*
 * strategy_replay.c: follow a recorded schedule, and say where it stops
 * matching.
 *
 * Each recorded decision carries the step, the operation, the number of
 * options and an order-free hash of the ready set. Before answering, the
 * replay checks all four against the live execution: any difference means
 * the program did something else this time (uncontrolled nondeterminism:
 * wall time, addresses, unmodelled threads), and is reported as such
 * instead of silently exploring another execution.
 */
#include "explore/explore.h"

#include <errno.h>
#include <string.h>

struct replay_state {
    struct weft__schedule own; /* loaded from a file, or empty */
    const struct weft__schedule *s;
    uint32_t pos;
    char why[300];
};

int weft__replay_create(void **state, const struct weft__schedule *s)
{
    struct replay_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    st->s = s;
    *state = st;
    return 0;
}

const struct weft__schedule *weft__replay_schedule(void *state)
{
    return ((struct replay_state *)state)->s;
}

static int rp_create(void **state, const weft_config_t *cfg, char *err,
                     size_t err_len)
{
    if (cfg->replay_file == NULL) {
        snprintf(err, err_len,
                 "the replay strategy needs a schedule file (WEFT_REPLAY)");
        return -EINVAL;
    }
    struct replay_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    int rc = weft__schedule_read(cfg->replay_file, &st->own, err, err_len);
    if (rc != 0) {
        weft__free(st);
        return rc;
    }
    st->s = &st->own;
    *state = st;
    return 0;
}

static void rp_destroy(void *state)
{
    struct replay_state *st = state;
    weft__schedule_free(&st->own);
    weft__free(st);
}

static void rp_begin(void *state, uint64_t seed)
{
    struct replay_state *st = state;
    (void)seed;
    st->pos = 0;
    st->why[0] = '\0';
}

static uint64_t rp_choose(void *state, const struct weft__choice *c)
{
    struct replay_state *st = state;
    if (st->pos >= st->s->n) {
        snprintf(st->why, sizeof st->why,
                 "the recording ended after %u decisions but the execution "
                 "goes on (%s with %u options)",
                 st->s->n, weft__op_name(c->op), c->n);
        return WEFT__DIVERGED;
    }
    const struct weft__decision *d = &st->s->d[st->pos];
    if (d->kind != c->kind || d->step != c->step || d->op != c->op ||
        d->n != c->n || d->set_hash != c->set_hash) {
        snprintf(st->why, sizeof st->why,
                 "decision %u: the recording has a %s choice at step %llu "
                 "before %s among %u options, the execution makes a %s "
                 "choice at step %llu before %s among %u options%s",
                 st->pos + 1, d->kind == WEFT__CHOOSE_TASK ? "task" : "value",
                 (unsigned long long)(d->step + (d->kind == WEFT__CHOOSE_TASK)),
                 weft__op_name(d->op), d->n,
                 c->kind == WEFT__CHOOSE_TASK ? "task" : "value",
                 (unsigned long long)(c->step + (c->kind == WEFT__CHOOSE_TASK)),
                 weft__op_name(c->op), c->n,
                 d->n == c->n && d->set_hash != c->set_hash
                     ? " (the ready tasks differ)"
                     : "");
        return WEFT__DIVERGED;
    }
    st->pos++;
    if (c->kind == WEFT__CHOOSE_VALUE) {
        if (d->chosen < c->n)
            return d->chosen;
        snprintf(st->why, sizeof st->why,
                 "decision %u: recorded value %u is not below %u", st->pos,
                 d->chosen, c->n);
        return WEFT__DIVERGED;
    }
    for (uint32_t i = 0; i < c->n; i++)
        if (c->ids[i] == d->chosen)
            return i;
    snprintf(st->why, sizeof st->why,
             "decision %u: recorded task %u is not ready", st->pos, d->chosen);
    return WEFT__DIVERGED;
}

static bool rp_finished(void *state, char *why, size_t len)
{
    struct replay_state *st = state;
    if (st->pos == st->s->n && st->s->finding != 0) {
        snprintf(why, len,
                 "the recorded execution ended with a %s, this one "
                 "passed after the same %u decisions (a different build, "
                 "settings or input, or state outside weft's control)",
                 weft_finding_name((weft_finding_t)st->s->finding), st->pos);
        return false;
    }
    if (st->pos == st->s->n)
        return true;
    snprintf(why, len,
             "the execution ended after %u of the %u recorded decisions",
             st->pos, st->s->n);
    return false;
}

static void rp_explain(void *state, char *why, size_t len)
{
    struct replay_state *st = state;
    snprintf(why, len, "%s", st->why);
}

static bool rp_next(void *state, uint64_t steps)
{
    (void)state;
    (void)steps;
    return false; /* a recording is one execution */
}

static void rp_describe(void *state, struct weft__buf *out)
{
    (void)state;
    (void)out;
}

const struct weft__strategy weft__strategy_replay = {
    .name = "replay",
    .seed_replays = false,
    .replays = true,
    .create = rp_create,
    .destroy = rp_destroy,
    .begin = rp_begin,
    .choose = rp_choose,
    .finished = rp_finished,
    .explain = rp_explain,
    .next = rp_next,
    .describe = rp_describe,
};
