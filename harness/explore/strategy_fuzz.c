/*
 * strategy_fuzz.c: every choice read from a fuzzer's input.
 *
 * A coverage-guided fuzzer (libFuzzer, AFL++) mutates byte strings; this
 * strategy turns one into one execution, so the fuzzer steers the
 * interleaving and its crash file is the replay. The encoding (explore.h):
 * a choice among n options reads 1 byte when n <= 256, 2 when n <= 65536,
 * else 4, little-endian; value v picks option (d + v % n) % n, d being
 * the default option. The default is the running task when it can go on,
 * the next ready task at a yield, the first ready task after a block or
 * an exit, and 0 for a value choice; it is also what every choice takes
 * once the input has run out (a choice that needs more bytes than remain
 * takes the default and ends the input). So an empty or all-zero input
 * runs the non-preemptive schedule, one non-zero byte is one context
 * switch at the choice that reads it, and a fuzzer's mutations stay
 * local: a changed byte changes one decision, not the whole schedule.
 *
 * Deterministic: nothing but the bytes decides (no seed, address or
 * time). The state borrows the input (weft__fuzz_input) and never copies
 * it, so it costs nothing per execution.
 */
#include "explore/explore.h"

#include <errno.h>
#include <string.h>

struct fuzz_state {
    const uint8_t *data;
    size_t size;
    size_t pos;
    uint8_t *counters; /* interleaving features, or NULL */
    size_t ncounters;
};

void weft__fuzz_counters(void *state, uint8_t *counters, size_t n)
{
    struct fuzz_state *st = state;
    st->counters = n > 0 ? counters : NULL;
    st->ncounters = counters != NULL ? n : 0;
}

/*
 * Mark the feature of a decision: which source line the running task is
 * at, which line the chosen one resumes from, and whether that is a
 * switch (for a value choice: the line and the value). A fuzzer that
 * counts these as coverage keeps an input that makes two sites meet in a
 * new way, a stepping stone towards the interleaving that fails, even
 * when the code's own coverage does not change. Lines, not addresses;
 * the features never influence a choice.
 */
static void feature(struct fuzz_state *st, const struct weft__choice *c,
                    uint64_t chosen)
{
    struct weft__run *r = weft__current;
    if (r == NULL || r->cur == NULL)
        return;
    uint64_t h = (uint64_t)(uint32_t)r->cur->line << 8 | (uint8_t)c->op;
    if (c->kind == WEFT__CHOOSE_TASK) {
        const struct weft__task *t = r->ready[chosen];
        h = h << 24 ^ (uint64_t)(uint32_t)t->line << 1 ^
            (t != r->cur ? 1u : 0u);
    } else {
        h = h << 24 ^ (chosen < 64 ? chosen : 64 + chosen % 64) << 1;
    }
    uint8_t *p = &st->counters[weft__mix(h) % st->ncounters];
    if (*p != UINT8_MAX)
        (*p)++;
}

void weft__fuzz_input(void *state, const uint8_t *data, size_t size)
{
    struct fuzz_state *st = state;
    st->data = size > 0 ? data : NULL;
    st->size = data != NULL ? size : 0;
    st->pos = 0;
}

size_t weft__fuzz_used(const void *state)
{
    return ((const struct fuzz_state *)state)->pos;
}

static int fz_create(void **state, const weft_config_t *cfg, char *err,
                     size_t err_len)
{
    (void)cfg;
    (void)err;
    (void)err_len;
    struct fuzz_state *st = weft__alloc(sizeof *st);
    if (st == NULL)
        return -ENOMEM;
    memset(st, 0, sizeof *st);
    *state = st;
    return 0;
}

static void fz_destroy(void *state)
{
    weft__free(state);
}

static void fz_begin(void *state, uint64_t seed)
{
    struct fuzz_state *st = state;
    (void)seed; /* the input is the whole schedule */
    st->pos = 0;
}

static uint64_t fz_choose(void *state, const struct weft__choice *c)
{
    struct fuzz_state *st = state;
    uint32_t n = c->n, dflt = 0, opts = n;
    if (c->kind == WEFT__CHOOSE_TASK && c->current < n) {
        bool yield = c->op == WEFT__OP_YIELD;
        dflt = yield ? (c->current + 1) % n : c->current;
        /* At a yield the yielder is no option (n > 1 here): a spin loop
         * makes progress whatever the input says. */
        if (yield)
            opts = n - 1;
    }
    size_t k = n <= 256 ? 1 : n <= 65536 ? 2 : 4;
    uint64_t i = dflt;
    if (st->size - st->pos >= k) {
        const uint8_t *p = st->data + st->pos;
        uint32_t v = p[0];
        if (k > 1)
            v |= (uint32_t)p[1] << 8;
        if (k > 2)
            v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        st->pos += k;
        i = ((uint64_t)dflt + v % opts) % n;
    } else {
        st->pos = st->size; /* a partial choice ends the input */
    }
    if (st->counters != NULL)
        feature(st, c, i);
    return i;
}

static bool fz_finished(void *state, char *why, size_t len)
{
    (void)state;
    (void)why;
    (void)len;
    return true; /* unread input is fine: it decides nothing */
}

static void fz_explain(void *state, char *why, size_t len)
{
    (void)state;
    snprintf(why, len, "the fuzz strategy never diverges");
}

static bool fz_next(void *state, uint64_t steps)
{
    (void)state;
    (void)steps;
    return true; /* every input is another execution */
}

static void fz_describe(void *state, struct weft__buf *out)
{
    (void)state;
    (void)out; /* the input file replays a fuzz execution */
}

const struct weft__strategy weft__strategy_fuzz = {
    .name = "fuzz",
    .seed_replays = false,
    .create = fz_create,
    .destroy = fz_destroy,
    .begin = fz_begin,
    .choose = fz_choose,
    .finished = fz_finished,
    .explain = fz_explain,
    .next = fz_next,
    .describe = fz_describe,
};
