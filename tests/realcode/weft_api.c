/*
 * weft_api.c: a program built with weft-cc that calls weft.h's own
 * threads API (weft_mutex_*) beside pthreads. weft-cc refuses to link it,
 * with a message saying why and what to do instead; weft_assert and
 * weft_choose alone (WEFT_API_OK) are welcome.
 */
#include <pthread.h>
#include <weft.h>

static int n;
#ifndef WEFT_API_OK
static weft_mutex_t m = WEFT_MUTEX_INITIALIZER;
#endif

static void *worker(void *arg)
{
#ifndef WEFT_API_OK
    weft_mutex_lock(&m);
    n++;
    weft_mutex_unlock(&m);
#else
    n++;
#endif
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    unsigned k = (unsigned)weft_choose(3);
    pthread_join(t, NULL);
    weft_assert(n == 1 && k < 3, "n is %d, k is %u", n, k);
    return 0;
}
