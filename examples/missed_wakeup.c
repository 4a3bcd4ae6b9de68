/*
 * missed_wakeup.c: `if` instead of `while` around a condition wait.
 *
 * Scenario: one producer fills a one-slot buffer twice; two consumers take
 * one item each. A consumer that finds the slot empty waits on "nonempty",
 * but checks the slot with `if`, not `while`: after its wake-up it assumes
 * the slot is full. While the woken consumer waits to get the mutex back,
 * the other consumer (which was not waiting) can take the item first; the
 * woken one then takes from an empty slot.
 *
 * What weft shows: an assertion failure in a consumer ("took from an empty
 * slot"), with the interleaving that steals the item and a replay line.
 * The twin re-checks with `while` and passes 2000 executions, even when
 * weft may inject a spurious wake-up into each (cfg.spurious = 1, the
 * WEFT_SPURIOUS knob), which the `if` version could not survive either.
 *
 * Run: make demo, or ./build/examples/missed_wakeup
 * (exits 0 when weft behaves as described).
 */
#include <stdbool.h>
#include <stdio.h>
#include <weft.h>

#define ITEMS 2 /* one per consumer */

struct slot {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    bool full;
    int item;
    bool recheck; /* the twin: `while` around the wait */
};

static void *producer(void *arg)
{
    struct slot *s = arg;
    for (int i = 1; i <= ITEMS; i++) {
        weft_mutex_lock(&s->m);
        while (s->full)
            weft_cond_wait(&s->nonfull, &s->m);
        s->item = i;
        s->full = true;
        weft_cond_signal(&s->nonempty);
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    struct slot *s = arg;
    weft_mutex_lock(&s->m);
    if (s->recheck) {
        while (!s->full)
            weft_cond_wait(&s->nonempty, &s->m);
    } else {
        if (!s->full) /* the bug: a wake-up is not a promise */
            weft_cond_wait(&s->nonempty, &s->m);
    }
    weft_assert(s->full, "took from an empty slot (item %d was taken)",
                s->item);
    s->full = false;
    weft_cond_signal(&s->nonfull);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static void body(void *arg)
{
    struct slot s = { WEFT_MUTEX_INITIALIZER,
                      WEFT_COND_INITIALIZER,
                      WEFT_COND_INITIALIZER,
                      false,
                      0,
                      *(const bool *)arg };
    weft_thread_t p, c1, c2;
    weft_thread_spawn(&c1, "consumer 1", consumer, &s);
    weft_thread_spawn(&c2, "consumer 2", consumer, &s);
    weft_thread_spawn(&p, "producer", producer, &s);
    weft_thread_join(p, NULL);
    weft_thread_join(c1, NULL);
    weft_thread_join(c2, NULL);
    weft_assert(!s.full, "an item was left in the slot");
}

int main(void)
{
    weft_config_t c;
    weft_result_t bug, twin;
    bool recheck = false;

    printf("missed_wakeup: 1 producer, 2 consumers, a one-slot buffer; "
           "consumers wait with `if (!full) wait`.\n");
    fflush(stdout); /* the story, then weft's report on stderr */

    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 1000;
    c.name = "missed_wakeup (if)";
    int rc = weft_explore(&c, body, &recheck, &bug);
    if (rc != 1 || bug.finding != WEFT_FINDING_ASSERTION) {
        printf("  UNEXPECTED: weft did not find the stolen wake-up (rc %d)\n",
               rc);
        weft_result_destroy(&bug);
        return 1;
    }
    printf("  with `if`: execution %llu (seed %llu) failed:\n    %s\n",
           (unsigned long long)bug.executions, (unsigned long long)bug.seed,
           bug.message);

    recheck = true;
    weft_config_init(&c);
    c.seed = 1;
    c.iterations = 2000;
    c.spurious = 1;
    c.quiet = true;
    c.name = "missed_wakeup (while)";
    rc = weft_explore(&c, body, &recheck, &twin);
    if (rc != 0) {
        printf("  UNEXPECTED: the `while` twin failed (rc %d): %s\n", rc,
               twin.message);
        fputs(twin.report ? twin.report : "", stderr);
    } else
        printf("  with `while`: %llu executions (up to one spurious "
               "wake-up each), no failure\n",
               (unsigned long long)twin.executions);

    weft_result_destroy(&bug);
    weft_result_destroy(&twin);
    return rc == 0 ? 0 : 1;
}
