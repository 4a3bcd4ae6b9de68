/* Pattern 1, lost update on a shared counter: two threads each add 1 to a
 * plain global counter three times, as read, compute, write. If both read
 * the same value, one increment vanishes. Depth 1 (one preemption between
 * a read and its write). The sched_yield() "to let other threads run" sits
 * in that window (and gives weft a scheduling point there before plain
 * accesses are instrumented). Verdict: data race on `counter`, else the
 * final assertion (abort). -DFIXED: each read-modify-write holds a mutex. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#define THREADS 2
#define ROUNDS  3

#ifdef FIXED
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
#endif
static volatile int counter;

static void *adder(void *arg)
{
    (void)arg;
    for (int k = 0; k < ROUNDS; k++) {
#ifdef FIXED
        pthread_mutex_lock(&m);
#endif
        int v = counter;
        sched_yield();
        counter = v + 1;
#ifdef FIXED
        pthread_mutex_unlock(&m);
#endif
    }
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("counter=%d\n", counter);
    assert(counter == THREADS * ROUNDS);
    return 0;
}
