/* Pattern 28, reference count and shutdown (stop while I/O is in flight):
 * a device has a pending-I/O count, a "stopping" flag and a "stopped"
 * flag. The I/O path checks "not stopping" and increments the count in
 * two critical sections; the stop path sets "stopping", waits for the
 * count to reach zero and marks the device stopped. An I/O that passed
 * its check just before the stop began increments the count after the
 * stop saw zero and runs on a stopped device. Every access holds the
 * mutex: no data race. Depth 2. Verdict: assertion (abort). -DFIXED:
 * check and increment in one critical section. */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static int pending;
static bool stopping, stopped;
static int done_io;

static bool io_begin(void)
{
#ifdef FIXED
    pthread_mutex_lock(&m);
    bool ok = !stopping;
    if (ok)
        pending++;
    pthread_mutex_unlock(&m);
    return ok;
#else
    pthread_mutex_lock(&m);
    bool ok = !stopping;
    pthread_mutex_unlock(&m);
    if (ok) {
        pthread_mutex_lock(&m);
        pending++;
        pthread_mutex_unlock(&m);
    }
    return ok;
#endif
}

static void io_end(void)
{
    pthread_mutex_lock(&m);
    if (--pending == 0)
        pthread_cond_broadcast(&idle);
    pthread_mutex_unlock(&m);
}

static void *io(void *arg)
{
    (void)arg;
    for (int k = 0; k < 2; k++) {
        if (!io_begin())
            break;
        pthread_mutex_lock(&m);
        assert(!stopped && "I/O on a stopped device");
        done_io++;
        pthread_mutex_unlock(&m);
        io_end();
    }
    return NULL;
}

static void *stop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    stopping = true;
    while (pending > 0)
        pthread_cond_wait(&idle, &m);
    stopped = true;
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, io, NULL);
    pthread_create(&b, NULL, stop, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert(stopped && pending == 0);
    return 0;
}
