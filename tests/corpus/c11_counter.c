/* C11 threads: a check-then-act on a mtx-protected counter (pattern 3):
 * each thread reads the counter under the lock, then writes back
 * read + 1 under the lock again: an update can be lost. Verdict:
 * assertion. -DFIXED: read and write in one critical section. Also uses
 * call_once, cnd_t and thrd_sleep. */
#include <assert.h>
#include <threads.h>

static mtx_t m;
static once_flag once = ONCE_FLAG_INIT;
static int counter, inits;

static void init(void)
{
    inits++;
}

static int worker(void *arg)
{
    (void)arg;
    call_once(&once, init);
#ifdef FIXED
    mtx_lock(&m);
    counter++;
    mtx_unlock(&m);
#else
    mtx_lock(&m);
    int v = counter;
    mtx_unlock(&m);
    mtx_lock(&m);
    counter = v + 1;
    mtx_unlock(&m);
#endif
    thrd_sleep(&(struct timespec){ .tv_nsec = 1000 }, NULL);
    return 7;
}

int main(void)
{
    mtx_init(&m, mtx_plain);
    thrd_t t[2];
    for (int i = 0; i < 2; i++)
        thrd_create(&t[i], worker, NULL);
    for (int i = 0; i < 2; i++) {
        int res;
        thrd_join(t[i], &res);
        assert(res == 7);
    }
    assert(inits == 1);
    assert(counter == 2);
    mtx_destroy(&m);
    return 0;
}
