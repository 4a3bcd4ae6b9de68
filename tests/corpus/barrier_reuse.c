/* Pattern 22 (a), a single-use barrier used twice: a hand-made barrier
 * (mutex, condition variable, count of arrivals) whose count is never
 * reset. Two threads go through two phases, each ending at the barrier;
 * at the second use the count is already full. Fails in every schedule.
 * Verdict: assertion (abort) inside the barrier. -DFIXED: the last
 * arrival resets the count and starts a new generation, and waiters wait
 * for the generation to change. */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

#define N      2
#define PHASES 2

struct barrier {
    pthread_mutex_t m;
    pthread_cond_t c;
    int n, arrived;
    unsigned generation;
};

static struct barrier bar = { PTHREAD_MUTEX_INITIALIZER,
                              PTHREAD_COND_INITIALIZER, N, 0, 0 };
static int part[PHASES][N];

static void barrier_wait(struct barrier *b)
{
    pthread_mutex_lock(&b->m);
    assert(b->arrived < b->n && "barrier overfilled: used again");
#ifdef FIXED
    unsigned g = b->generation;
    if (++b->arrived == b->n) {
        b->arrived = 0;
        b->generation++;
        pthread_cond_broadcast(&b->c);
    } else {
        while (g == b->generation)
            pthread_cond_wait(&b->c, &b->m);
    }
#else
    if (++b->arrived == b->n)
        pthread_cond_broadcast(&b->c);
    else
        while (b->arrived < b->n)
            pthread_cond_wait(&b->c, &b->m);
#endif
    pthread_mutex_unlock(&b->m);
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int p = 0; p < PHASES; p++) {
        part[p][me] = p * 10 + me + 1;
        barrier_wait(&bar);
        int other = part[p][1 - me];
        assert(other == p * 10 + (1 - me) + 1);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    for (int i = 0; i < N; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    return 0;
}
