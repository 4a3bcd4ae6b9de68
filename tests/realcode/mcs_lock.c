/*
 * mcs_lock.c: an MCS queue lock, as lock-free libraries write it. Each
 * waiter puts its queue node on its own stack, publishes the node's
 * address with an atomic exchange, and spins on a volatile flag in that
 * node until its predecessor hands the lock over by writing the flag.
 * Correct: weft must neither report a race nor hang on the spin (an access
 * to a task's own stack is still a scheduling point when it is volatile).
 * With -DNO_FENCES the hand-over loses its fences and the counter the lock
 * protects is raced on: weft must report that.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
    _Atomic(struct node *) next;
    volatile int locked;
};

static _Atomic(struct node *) tail;
static long counter;

static void mcs_lock(struct node *me)
{
    atomic_store_explicit(&me->next, NULL, memory_order_relaxed);
    me->locked = 1;
    struct node *prev = atomic_exchange(&tail, me);
    if (prev == NULL)
        return;
    atomic_store_explicit(&prev->next, me, memory_order_release);
    while (me->locked)
        ;
#ifndef NO_FENCES
    atomic_thread_fence(memory_order_acquire);
#endif
}

static void mcs_unlock(struct node *me)
{
    struct node *next = atomic_load_explicit(&me->next, memory_order_acquire);
    if (next == NULL) {
        struct node *expected = me;
        if (atomic_compare_exchange_strong(&tail, &expected, NULL))
            return;
        while ((next = atomic_load_explicit(&me->next, memory_order_acquire)) ==
               NULL)
            ;
    }
#ifndef NO_FENCES
    atomic_thread_fence(memory_order_release);
#endif
    next->locked = 0;
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        struct node me;
        mcs_lock(&me);
        counter++;
        mcs_unlock(&me);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    if (counter != 9) {
        fprintf(stderr, "counter %ld\n", counter);
        abort();
    }
    return 0;
}
