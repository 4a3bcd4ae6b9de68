/*
 * busy_wait.c: a consumer that busy-waits for a flag with atomic loads,
 * no yield, while the producer does some work first. Correct: no strategy
 * may report it, pct included (a spinning task with the top priority would
 * starve the producer if its re-reads were not recognised as a spin).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_int ready, work;
static int payload;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++)
        atomic_fetch_add(&work, 1);
    payload = 42;
    atomic_store_explicit(&ready, 1, memory_order_release);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    while (!atomic_load_explicit(&ready, memory_order_acquire))
        ;
    if (payload != 42)
        abort();
    pthread_join(t, NULL);
    return 0;
}
