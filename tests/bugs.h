/*
 * bugs.h: the examples' three bugs as weft test bodies, each with its
 * fixed twin (set `fixed`): bug_lost_update, bug_bank_deadlock and
 * bug_missed_wakeup. The strategy tests (test_dpor, test_pos) share them.
 */
#ifndef WEFT_TESTS_BUGS_H
#define WEFT_TESTS_BUGS_H

#include "weft.h"

#include <stdbool.h>

/* Lost update (examples/lost_update.c): two threads load, then store + 1,
 * twice each; with fetch_add (fixed) nothing is lost. */
static bool fixed;

static inline void *lu_thread(void *arg)
{
    weft_atomic32_t *a = arg;
    for (int i = 0; i < 2; i++) {
        if (fixed) {
            weft_atomic32_fetch_add(a, 1);
        } else {
            uint32_t v = weft_atomic32_load(a);
            weft_atomic32_store(a, v + 1);
        }
    }
    return NULL;
}

static inline void bug_lost_update(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], NULL, lu_thread, &a);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    uint32_t v = weft_atomic32_load(&a);
    weft_assert(v == 4, "counter %u, expected 4", (unsigned)v);
}

/* Bank transfers (examples/bank_deadlock.c): opposite transfers lock
 * source then destination (ABBA); fixed, both lock the lower one first. */
struct account {
    int id, balance;
    weft_mutex_t lock;
};

struct transfer {
    struct account *from, *to;
    int amount;
};

static inline void *bd_transfer(void *arg)
{
    struct transfer *x = arg;
    struct account *first = x->from, *second = x->to;
    if (fixed && first->id > second->id) { /* one order for all */
        first = x->to;
        second = x->from;
    }
    weft_mutex_lock(&first->lock);
    weft_mutex_lock(&second->lock);
    x->from->balance -= x->amount;
    x->to->balance += x->amount;
    weft_mutex_unlock(&second->lock);
    weft_mutex_unlock(&first->lock);
    return NULL;
}

static inline void bug_bank_deadlock(void *arg)
{
    (void)arg;
    struct account alice = { 1, 100, WEFT_MUTEX_INITIALIZER };
    struct account bob = { 2, 101, WEFT_MUTEX_INITIALIZER };
    struct transfer pay_bob = { &alice, &bob, 30 };
    struct transfer pay_alice = { &bob, &alice, 20 };
    weft_thread_t a, b;
    weft_thread_spawn(&a, NULL, bd_transfer, &pay_bob);
    weft_thread_spawn(&b, NULL, bd_transfer, &pay_alice);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    weft_assert(alice.balance == 90 && bob.balance == 111, "balances %d and %d",
                alice.balance, bob.balance);
}

/* Missed wake-up (examples/missed_wakeup.c): consumers wait with `if`
 * instead of `while` (fixed: `while`). */
struct mw_slot {
    weft_mutex_t m;
    weft_cond_t nonempty, nonfull;
    bool full;
    int item;
};

static inline void *mw_producer(void *arg)
{
    struct mw_slot *s = arg;
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

static inline void *mw_consumer(void *arg)
{
    struct mw_slot *s = arg;
    weft_mutex_lock(&s->m);
    if (fixed) {
        while (!s->full)
            weft_cond_wait(&s->nonempty, &s->m);
    } else if (!s->full) { /* the bug */
        weft_cond_wait(&s->nonempty, &s->m);
    }
    weft_assert(s->full, "took from an empty slot");
    s->full = false;
    weft_cond_signal(&s->nonfull);
    weft_mutex_unlock(&s->m);
    return NULL;
}

static inline void bug_missed_wakeup(void *arg)
{
    (void)arg;
    struct mw_slot s = { WEFT_MUTEX_INITIALIZER, WEFT_COND_INITIALIZER,
                         WEFT_COND_INITIALIZER, false, 0 };
    weft_thread_t p, c1, c2;
    weft_thread_spawn(&c1, NULL, mw_consumer, &s);
    weft_thread_spawn(&c2, NULL, mw_consumer, &s);
    weft_thread_spawn(&p, NULL, mw_producer, &s);
    weft_thread_join(p, NULL);
    weft_thread_join(c1, NULL);
    weft_thread_join(c2, NULL);
}

#endif /* WEFT_TESTS_BUGS_H */
