/* Pattern 15, lock-order inversion (ABBA): one thread locks m1 then m2,
 * the other m2 then m1. Verdict: deadlock (or, with weft's lock-order
 * detector, a lock-order cycle in an execution that did not deadlock).
 * -DFIXED: both take m1 first. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m2 = PTHREAD_MUTEX_INITIALIZER;
static int shared;

static void *a(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m1);
    pthread_mutex_lock(&m2);
    shared++;
    pthread_mutex_unlock(&m2);
    pthread_mutex_unlock(&m1);
    return NULL;
}

static void *b(void *arg)
{
    (void)arg;
#ifdef FIXED
    pthread_mutex_lock(&m1);
    pthread_mutex_lock(&m2);
#else
    pthread_mutex_lock(&m2);
    pthread_mutex_lock(&m1);
#endif
    shared++;
    pthread_mutex_unlock(&m1);
    pthread_mutex_unlock(&m2);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, a, NULL);
    pthread_create(&t2, NULL, b, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    return shared == 2 ? 0 : 1;
}
