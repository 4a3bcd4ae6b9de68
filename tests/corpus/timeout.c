/* Time under weft: the worker needs 100 ms (nanosleep) before it sets
 * `ready`; main waits with pthread_cond_timedwait on a deadline from
 * clock_gettime(CLOCK_REALTIME) 50 ms away, then requires `ready`. Virtual
 * time makes the too-short timeout fail in every execution, at once.
 * Verdict: assertion. -DFIXED: a 2 s timeout (and usleep, sleep, time). */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready;

static void *worker(void *arg)
{
    (void)arg;
    struct timespec d = { 0, 100 * 1000 * 1000 };
    nanosleep(&d, NULL);
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void)
{
    time_t t0 = time(NULL);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
#ifdef FIXED
    dl.tv_sec += 2;
#else
    dl.tv_nsec += 50 * 1000 * 1000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
#endif
    pthread_mutex_lock(&m);
    int rc = 0;
    while (!ready && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c, &m, &dl);
    assert(ready && "timed out waiting for the worker");
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
#ifdef FIXED
    usleep(1000);
    sleep(1);
    assert(time(NULL) - t0 >= 1);
#endif
    (void)t0;
    return 0;
}
