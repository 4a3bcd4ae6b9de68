/*
 * workloads.h: the four workloads the benchmarks share (the core issue's
 * W1-W4), as weft test bodies: w1 .. w4.
 */
#ifndef WEFT_TESTS_WORKLOADS_H
#define WEFT_TESTS_WORKLOADS_H

#include "weft.h"

#include <stdbool.h>
#include <stdint.h>

/* W1: two threads load, then store + 1; a lost update is allowed. */
static inline void *w1_thread(void *arg)
{
    weft_atomic32_t *a = arg;
    uint32_t v = weft_atomic32_load(a);
    weft_atomic32_store(a, v + 1);
    return NULL;
}

static inline void w1(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], NULL, w1_thread, &a);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    uint32_t v = weft_atomic32_load(&a);
    weft_assert(v == 1 || v == 2, "counter %u", (unsigned)v);
}

/* W2: three threads lock, increment, unlock, twice. */
struct w2_state {
    weft_mutex_t m;
    int n;
};

static inline void *w2_thread(void *arg)
{
    struct w2_state *s = arg;
    for (int i = 0; i < 2; i++) {
        weft_mutex_lock(&s->m);
        s->n++;
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static inline void w2(void *arg)
{
    (void)arg;
    struct w2_state s = { WEFT_MUTEX_INITIALIZER, 0 };
    weft_thread_t t[3];
    for (int i = 0; i < 3; i++)
        weft_thread_spawn(&t[i], NULL, w2_thread, &s);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s.n == 6, "count %d", s.n);
}

/* W3: a one-slot buffer; the producer puts 1 then 2. */
struct w3_slot {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    bool full;
    int item;
};

static inline void *w3_producer(void *arg)
{
    struct w3_slot *s = arg;
    for (int i = 1; i <= 2; i++) {
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

static inline void *w3_consumer(void *arg)
{
    struct w3_slot *s = arg;
    for (int i = 1; i <= 2; i++) {
        weft_mutex_lock(&s->m);
        while (!s->full)
            weft_cond_wait(&s->nonempty, &s->m);
        weft_assert(s->item == i, "took %d, expected %d", s->item, i);
        s->full = false;
        weft_cond_signal(&s->nonfull);
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static inline void w3(void *arg)
{
    (void)arg;
    struct w3_slot s = { WEFT_MUTEX_INITIALIZER, WEFT_COND_INITIALIZER,
                         WEFT_COND_INITIALIZER, false, 0 };
    weft_thread_t p, c;
    weft_thread_spawn(&p, NULL, w3_producer, &s);
    weft_thread_spawn(&c, NULL, w3_consumer, &s);
    weft_thread_join(p, NULL);
    weft_thread_join(c, NULL);
}

/* W4: four threads fetch_add 1 three times. */
static inline void *w4_thread(void *arg)
{
    for (int i = 0; i < 3; i++)
        weft_atomic32_fetch_add((weft_atomic32_t *)arg, 1);
    return NULL;
}

static inline void w4(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[4];
    for (int i = 0; i < 4; i++)
        weft_thread_spawn(&t[i], NULL, w4_thread, &a);
    for (int i = 0; i < 4; i++)
        weft_thread_join(t[i], NULL);
    uint32_t v = weft_atomic32_load(&a);
    weft_assert(v == 12, "counter %u", (unsigned)v);
}

#endif /* WEFT_TESTS_WORKLOADS_H */
