/*
 * schedule_parser.c: a libFuzzer target for the schedule file parser
 * (harness/explore/schedule.c), which reads whatever WEFT_REPLAY or a
 * failure directory hands it: `make fuzz-parser` runs it for
 * FUZZ_PARSER_TIME seconds with AddressSanitizer and UBSan over every
 * file of the library.
 *
 * Each input is parsed from memory. A refusal must come with a message
 * of one line. What is accepted must print and parse back to the same
 * schedule, and then replay against a small body: the replay strategy
 * must turn any decision that does not fit (a task that is not ready, a
 * value out of range, a schedule too short or too long) into a finding,
 * never a crash. Any crash, sanitizer report or abort() is a bug.
 */
#include "explore/explore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static weft_mutex_t lock = WEFT_MUTEX_INITIALIZER;
static weft_cond_t cv = WEFT_COND_INITIALIZER;
static int shared;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        weft_mutex_lock(&lock);
        shared += (int)weft_choose(3);
        weft_cond_signal(&cv);
        weft_mutex_unlock(&lock);
        weft_sleep_for(1);
    }
    return NULL;
}

static void body(void *arg)
{
    (void)arg;
    weft_thread_t a, b;
    shared = 0;
    weft_thread_spawn(&a, "a", worker, NULL);
    weft_thread_spawn(&b, "b", worker, NULL);
    weft_mutex_lock(&lock);
    weft_cond_timedwait(&cv, &lock, weft_now() + 2);
    weft_mutex_unlock(&lock);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
}

static void replay(const struct weft__schedule *s)
{
    weft_config_t cfg;
    weft_config_init(&cfg);
    cfg.use_env = false;
    cfg.spurious = s->spurious < 64 ? s->spurious : 64;
    struct weft__run *r = calloc(1, sizeof *r);
    void *st = NULL;
    if (r == NULL || weft__run_prepare(r, &cfg) != 0 ||
        weft__replay_create(&st, s) != 0)
        abort();
    r->strategy = &weft__strategy_replay;
    r->strategy_state = st;
    r->seed = s->seed;
    r->max_steps = s->max_steps;
    int rc = weft__run_one(r, body, NULL);
    if (rc != 0 && rc != -ENOMEM)
        abort();
    weft__free(st);
    weft__run_teardown(r);
    free(r);
}

static bool same(const struct weft__schedule *a, const struct weft__schedule *b)
{
    if (a->seed != b->seed || a->max_steps != b->max_steps ||
        a->spurious != b->spurious || a->finding != b->finding ||
        a->hash != b->hash || a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++) {
        const struct weft__decision *x = &a->d[i], *y = &b->d[i];
        if (x->kind != y->kind || x->step != y->step || x->op != y->op ||
            x->n != y->n || x->set_hash != y->set_hash ||
            x->chosen != y->chosen)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char empty[1];
    /* fmemopen refuses a zero size: an empty file is an empty buffer */
    FILE *f =
        fmemopen(size ? (void *)data : (void *)empty, size ? size : 1, "r");
    if (f == NULL)
        return 0;
    if (size == 0)
        fgetc(f); /* at the end at once */
    struct weft__schedule s;
    char err[512];
    err[0] = '\0';
    int rc = weft__schedule_parse(f, "input", &s, err, sizeof err);
    fclose(f);
    if (rc != 0) {
        if (err[0] == '\0' || strchr(err, '\n') != NULL)
            abort(); /* a refusal says why, in one line */
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    if (o == NULL)
        abort();
    weft__schedule_print(o, &s, "random");
    fclose(o);
    FILE *g = fmemopen(text, len, "r");
    struct weft__schedule t;
    if (g == NULL || weft__schedule_parse(g, "printed", &t, err, sizeof err))
        abort(); /* what was read must read back */
    fclose(g);
    free(text);
    if (!same(&s, &t))
        abort();
    weft__schedule_free(&t);
    if (s.n <= 4096)
        replay(&s);
    weft__schedule_free(&s);
    return 0;
}
