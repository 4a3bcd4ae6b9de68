/* Pattern 24, a reader-writer lock built from flags (mutex, condition
 * variable, a reader count and a writer flag), with 2 readers and 2
 * writers. In the bug the writer waits only for other writers, not for
 * readers, so it changes the data while a reader holds the lock; the
 * lock's own check at read-unlock ("no writer got in while I read")
 * fails, and the reader may see a torn pair. Depth 1-2. Verdict: data
 * race on the pair, else assertion (abort). -DFIXED: the writer also
 * waits until no reader holds the lock. */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

struct rwlock {
    pthread_mutex_t m;
    pthread_cond_t c;
    int readers, writer;
};

static struct rwlock rw = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                            0, 0 };
static int a, b; /* guarded by rw: always equal outside a write */

static void read_lock(struct rwlock *l)
{
    pthread_mutex_lock(&l->m);
    while (l->writer)
        pthread_cond_wait(&l->c, &l->m);
    l->readers++;
    pthread_mutex_unlock(&l->m);
}

static void read_unlock(struct rwlock *l)
{
    pthread_mutex_lock(&l->m);
    assert(!l->writer && "a writer got in while a reader held the lock");
    if (--l->readers == 0)
        pthread_cond_broadcast(&l->c);
    pthread_mutex_unlock(&l->m);
}

static void write_lock(struct rwlock *l)
{
    pthread_mutex_lock(&l->m);
#ifdef FIXED
    while (l->writer || l->readers > 0)
#else
    while (l->writer)
#endif
        pthread_cond_wait(&l->c, &l->m);
    l->writer = 1;
    pthread_mutex_unlock(&l->m);
}

static void write_unlock(struct rwlock *l)
{
    pthread_mutex_lock(&l->m);
    l->writer = 0;
    pthread_cond_broadcast(&l->c);
    pthread_mutex_unlock(&l->m);
}

static void *reader(void *arg)
{
    (void)arg;
    read_lock(&rw);
    int x = a, y = b;
    read_unlock(&rw);
    assert(x == y && "torn read");
    return NULL;
}

static void *writer(void *arg)
{
    int v = (int)(intptr_t)arg;
    write_lock(&rw);
    a = v;
    b = v;
    write_unlock(&rw);
    return NULL;
}

int main(void)
{
    pthread_t r[2], w[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&r[i], NULL, reader, NULL);
        pthread_create(&w[i], NULL, writer, (void *)(intptr_t)(i + 1));
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(r[i], NULL);
        pthread_join(w[i], NULL);
    }
    return 0;
}
