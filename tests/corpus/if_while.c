/* Pattern 20, `if` instead of `while` around a condition wait: one
 * producer, two consumers, a one-slot buffer. A consumer woken for an item
 * that the other consumer took first consumes from an empty slot.
 * Verdict: assertion (abort). -DFIXED: while. */
#include <assert.h>
#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int full, item, taken;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 2; i++) {
        pthread_mutex_lock(&m);
        while (full)
            pthread_cond_wait(&not_full, &m);
        item = i;
        full = 1;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
#ifdef FIXED
    while (!full)
#else
    if (!full)
#endif
        pthread_cond_wait(&not_empty, &m);
    assert(full && "consumed from an empty slot");
    taken += item;
    full = 0;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    pthread_t p, c1, c2;
    pthread_create(&c1, NULL, consumer, NULL);
    pthread_create(&c2, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c1, NULL);
    pthread_join(c2, NULL);
    assert(taken == 3);
    return 0;
}
