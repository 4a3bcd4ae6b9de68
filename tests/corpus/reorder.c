/* Pattern 4, a reader sees a half-updated pair: two setters write the
 * pair (a, b) as a then b, with no lock; two checkers read a, then b, and
 * require a == b. A checker that runs between a setter's two writes (or
 * after two setters' writes interleaved) sees a mismatch. The
 * sched_yield() between the two writes stands for the preemption a real
 * machine can take there (and gives weft a scheduling point before plain
 * accesses are instrumented); `volatile` keeps the compiler from merging
 * the accesses, and is no synchronisation. Depth 1. Verdict: data race on
 * a and b, else assertion (abort). -DFIXED: a mutex around each pair's
 * writes and each pair's reads. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#ifdef FIXED
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
#define LOCK()   pthread_mutex_lock(&m)
#define UNLOCK() pthread_mutex_unlock(&m)
#else
#define LOCK()   ((void)0)
#define UNLOCK() ((void)0)
#endif

static volatile int a, b;

static void *setter(void *arg)
{
    int v = (int)(intptr_t)arg;
    LOCK();
    a = v;
    sched_yield();
    b = v;
    UNLOCK();
    return NULL;
}

static void *checker(void *arg)
{
    (void)arg;
    LOCK();
    int x = a;
    int y = b;
    UNLOCK();
    assert(x == y && "saw a half-updated pair");
    return NULL;
}

int main(void)
{
    pthread_t s[2], c[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&s[i], NULL, setter, (void *)(intptr_t)(i + 1));
        pthread_create(&c[i], NULL, checker, NULL);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(s[i], NULL);
        pthread_join(c[i], NULL);
    }
    assert(a == b);
    return 0;
}
