/* Pattern 2, two-stage update: the writer updates a (under lock 1), then
 * b from a (under lock 2); the reader reads a, then b, each under its own
 * lock, and checks the invariant b == a + 1. Every access is locked: no
 * data race, only an interleaving shows it. Verdict: assertion.
 * -DFIXED: both sides hold lock 1 across the whole update and read. */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m1 = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m2 = PTHREAD_MUTEX_INITIALIZER;
static int a = 0, b = 1;

static void *writer(void *arg)
{
    (void)arg;
#ifdef FIXED
    pthread_mutex_lock(&m1);
#endif
    for (int k = 0; k < 2; k++) {
#ifndef FIXED
        pthread_mutex_lock(&m1);
#endif
        a++;
        int na = a;
#ifndef FIXED
        pthread_mutex_unlock(&m1);
#endif
        pthread_mutex_lock(&m2);
        b = na + 1;
        pthread_mutex_unlock(&m2);
    }
#ifdef FIXED
    pthread_mutex_unlock(&m1);
#endif
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
#ifdef FIXED
    pthread_mutex_lock(&m1);
    int ra = a;
#else
    pthread_mutex_lock(&m1);
    int ra = a;
    pthread_mutex_unlock(&m1);
#endif
    pthread_mutex_lock(&m2);
    int rb = b;
    pthread_mutex_unlock(&m2);
#ifdef FIXED
    pthread_mutex_unlock(&m1);
#endif
    assert(rb == ra + 1);
    return NULL;
}

int main(void)
{
    pthread_t w, r;
    pthread_create(&w, NULL, writer, NULL);
    pthread_create(&r, NULL, reader, NULL);
    pthread_join(w, NULL);
    pthread_join(r, NULL);
    return 0;
}
