/* Pattern 10, checking results before joining: main starts two workers
 * that each add to a shared total (under a mutex) and checks the total
 * right away, joining the workers only afterwards. The check passes only
 * in schedules where both workers finished before main looked. Depth 1
 * (fails in most schedules). Verdict: assertion (abort). -DFIXED: join
 * both workers, then check. */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int total;

static void *worker(void *arg)
{
    (void)arg;
    for (int k = 0; k < 2; k++) {
        pthread_mutex_lock(&m);
        total++;
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, NULL);
#ifdef FIXED
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
#endif
    pthread_mutex_lock(&m);
    int seen = total;
    pthread_mutex_unlock(&m);
    assert(seen == 4 && "checked before the workers were done");
#ifndef FIXED
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
#endif
    return 0;
}
