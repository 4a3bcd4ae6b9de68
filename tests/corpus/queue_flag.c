/* Pattern 6, a queue whose "has data" flag is set outside the critical
 * section that stores the element: the producer claims a slot and sets
 * its flag under the mutex, then stores the element under the mutex
 * again. The consumer, woken by the flag, can read the slot in between
 * and get an element that was never stored. Every access holds the
 * mutex (no data race); depth 1-2. Verdict: assertion (abort) on the
 * dequeued value. -DFIXED: store the element and set the flag in one
 * critical section. */
#include <assert.h>
#include <pthread.h>

#define N 3

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t has_data = PTHREAD_COND_INITIALIZER;
static struct {
    int data[N];
    int full[N];
    int head, tail;
} q;

static void put(int v)
{
    pthread_mutex_lock(&m);
    int i = q.tail++;
#ifdef FIXED
    q.data[i] = v;
#endif
    q.full[i] = 1;
    pthread_cond_signal(&has_data);
    pthread_mutex_unlock(&m);
#ifndef FIXED
    pthread_mutex_lock(&m);
    q.data[i] = v;
    pthread_mutex_unlock(&m);
#endif
}

static int get(void)
{
    pthread_mutex_lock(&m);
    while (!q.full[q.head])
        pthread_cond_wait(&has_data, &m);
    int v = q.data[q.head];
    q.full[q.head++] = 0;
    pthread_mutex_unlock(&m);
    return v;
}

static void *producer(void *arg)
{
    (void)arg;
    for (int k = 1; k <= N; k++)
        put(k);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (int k = 1; k <= N; k++) {
        int v = get();
        assert(v == k && "dequeued an element that was never stored");
    }
    return NULL;
}

int main(void)
{
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    return 0;
}
