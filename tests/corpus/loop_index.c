/* Pattern 12, the loop variable passed by address to new threads: main
 * passes &i to each pthread_create and goes on incrementing i; a worker
 * that reads *arg after main moved on takes another worker's index (or
 * one past the end). Data race on i. Depth 1; natively very likely.
 * Verdict: data race, else assertion (abort) on the index. -DFIXED: each
 * worker gets its own copy of its index. */
#include <assert.h>
#include <pthread.h>

#define N 4

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int seen[N];

static void *worker(void *arg)
{
    int id = *(int *)arg;
    assert(id >= 0 && id < N && "index past the end");
    pthread_mutex_lock(&m);
    assert(!seen[id] && "two workers got the same index");
    seen[id] = 1;
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    int i;
#ifdef FIXED
    int ids[N];
    for (i = 0; i < N; i++) {
        ids[i] = i;
        pthread_create(&t[i], NULL, worker, &ids[i]);
    }
#else
    for (i = 0; i < N; i++)
        pthread_create(&t[i], NULL, worker, &i);
#endif
    for (int j = 0; j < N; j++)
        pthread_join(t[j], NULL);
    for (int j = 0; j < N; j++)
        assert(seen[j]);
    return 0;
}
