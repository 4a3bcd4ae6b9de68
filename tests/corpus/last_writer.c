/* Pattern 11, last writer wins ("singleton"): a setup thread allocates a
 * one-byte buffer and is joined; then four threads each write one
 * character into it (under a mutex), three 'X' and one 'Y'. Main expects
 * 'X', which fails whenever the 'Y' writer runs last (about 1 in 4 under
 * uniform random scheduling). No data race. Depth 1. Verdict: assertion
 * (abort). -DFIXED: the check accepts 'X' or 'Y' (the right expectation
 * for this program). */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static char *slot;

static void *setup(void *arg)
{
    (void)arg;
    slot = malloc(1);
    *slot = '-';
    return NULL;
}

static void *writer(void *arg)
{
    char c = (char)(intptr_t)arg;
    pthread_mutex_lock(&m);
    *slot = c;
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    pthread_t s, w[4];
    pthread_create(&s, NULL, setup, NULL);
    pthread_join(s, NULL);
    static const char chars[4] = { 'X', 'X', 'Y', 'X' };
    for (int i = 0; i < 4; i++)
        pthread_create(&w[i], NULL, writer, (void *)(intptr_t)chars[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(w[i], NULL);
#ifdef FIXED
    assert(*slot == 'X' || *slot == 'Y');
#else
    assert(*slot == 'X' && "the 'Y' writer came last");
#endif
    free(slot);
    return 0;
}
