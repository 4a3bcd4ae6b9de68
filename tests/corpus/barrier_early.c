/* Pattern 22 (c), reading before the barrier: three workers each compute
 * one part of a result and meet at a pthread barrier; worker 0 then adds
 * up the parts. In the bug it adds them up before its barrier wait, so it
 * can read parts not yet written. Depth 1. Verdict: data race on a part,
 * else assertion (abort). -DFIXED: add up after the barrier. */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

#define N 3

static pthread_barrier_t bar;
static int part[N];

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    part[me] = me + 1;
#ifdef FIXED
    pthread_barrier_wait(&bar);
#endif
    if (me == 0) {
        int sum = 0;
        for (int i = 0; i < N; i++)
            sum += part[i];
        assert(sum == N * (N + 1) / 2 && "read a part before it was written");
    }
#ifndef FIXED
    pthread_barrier_wait(&bar);
#endif
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&bar, NULL, N);
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&bar);
    return 0;
}
