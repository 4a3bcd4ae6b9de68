/*
 * strategy_random.c: the uniform random strategy.
 *
 * Each execution draws from a splitmix64 stream seeded by its own seed, so
 * an execution replays from its seed alone. Every choice is uniform over
 * the options (multiply-high, no modulo bias worth the name at these n).
 */
#include "explore/explore.h"

#include <errno.h>

struct random_state {
    uint64_t s; /* first: the core draws from it (uniform) */
};

static int rnd_create(void **state, const weft_config_t *cfg, char *err,
                      size_t err_len)
{
    (void)cfg;
    (void)err;
    (void)err_len;
    struct random_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    st->s = 0;
    *state = st;
    return 0;
}

static void rnd_destroy(void *state)
{
    weft__free(state);
}

static void rnd_begin(void *state, uint64_t seed)
{
    struct random_state *st = state;
    st->s = weft__mix(seed ^ 0x6a09e667f3bcc909ULL);
}

static uint64_t rnd_choose(void *state, const struct weft__choice *c)
{
    struct random_state *st = state;
    return weft__rng_below(&st->s, c->n);
}

static bool rnd_next(void *state, uint64_t steps)
{
    (void)state;
    (void)steps;
    return true;
}

static void rnd_describe(void *state, struct weft__buf *out)
{
    (void)state;
    (void)out; /* the seed alone replays a random execution */
}

static bool rnd_finished(void *state, char *why, size_t len)
{
    (void)state;
    (void)why;
    (void)len;
    return true;
}

static void rnd_explain(void *state, char *why, size_t len)
{
    (void)state;
    snprintf(why, len, "the random strategy never diverges");
}

const struct weft__strategy weft__strategy_random = {
    .name = "random",
    .seed_replays = true,
    .uniform = true,
    .create = rnd_create,
    .destroy = rnd_destroy,
    .begin = rnd_begin,
    .choose = rnd_choose,
    .finished = rnd_finished,
    .explain = rnd_explain,
    .next = rnd_next,
    .describe = rnd_describe,
};
