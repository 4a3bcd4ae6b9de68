/* Pattern 25, hand-written mutual exclusion (Peterson's algorithm) with
 * C11 atomics: two threads, two rounds each, entering a critical section
 * that updates a plain counter. Spinning threads call sched_yield(). In
 * the bug, a thread gives the turn to itself (turn = me) instead of to
 * the other thread, so a thread that arrives while the other is inside
 * does not wait: both are in the critical section. Depth 1 (one
 * preemption inside the critical section). Verdict: assertion (abort) on
 * the occupancy check, or a data race on the counter. -DFIXED: turn =
 * other (the correct algorithm; sequentially consistent atomics make it
 * correct and the counter race-free). */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define ROUNDS 2

static atomic_int flag[2], turn, inside;
static int counter; /* guarded by the algorithm */

static void lock(int me)
{
    int other = 1 - me;
    atomic_store(&flag[me], 1);
#ifdef FIXED
    atomic_store(&turn, other);
#else
    atomic_store(&turn, me);
#endif
    while (atomic_load(&flag[other]) && atomic_load(&turn) == other)
        sched_yield();
}

static void unlock(int me)
{
    atomic_store(&flag[me], 0);
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int k = 0; k < ROUNDS; k++) {
        lock(me);
        int was = atomic_fetch_add(&inside, 1);
        assert(was == 0 && "two threads in the critical section");
        counter++;
        sched_yield(); /* work inside the critical section */
        atomic_fetch_sub(&inside, 1);
        unlock(me);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert(counter == 2 * ROUNDS);
    return 0;
}
