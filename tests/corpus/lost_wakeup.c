/* Pattern 19, lost wake-up: the worker signals "done" once; main waits
 * without a predicate, so a signal sent before main waits is lost and
 * main waits forever. Verdict: deadlock. -DFIXED: a predicate in shared
 * state, re-checked in a loop. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int done;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    done = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&m);
#ifdef FIXED
    while (!done)
        pthread_cond_wait(&c, &m);
#else
    pthread_cond_wait(&c, &m);
#endif
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
    printf("done=%d\n", done);
    return 0;
}
