/* Pattern 8, token passing with atomic blocks, with C11 threads. Plain C
 * has no atomic blocks: one global mutex held across each block stands in
 * for them (a block then runs without interference, as weft's atomic
 * blocks do). Four tasks form a chain; task i, in its block, copies its
 * predecessor's value plus one and marks itself done. Main checks that
 * the last value is 4, which holds only if the tasks ran in chain order.
 * Depth 1-3 (any task running before its predecessor). Verdict:
 * assertion (abort). -DFIXED: each block starts by waiting (cnd_wait)
 * until its predecessor is done, as an atomic function that waits for its
 * condition. */
#include <assert.h>
#include <stdint.h>
#include <threads.h>

#define N 4

static mtx_t block;
static cnd_t changed;
static int value[N + 1], done[N + 1];

static int task(void *arg)
{
    int i = (int)(intptr_t)arg;
    mtx_lock(&block);
#ifdef FIXED
    while (!done[i - 1])
        cnd_wait(&changed, &block);
#endif
    value[i] = value[i - 1] + 1;
    done[i] = 1;
    cnd_broadcast(&changed);
    mtx_unlock(&block);
    return 0;
}

int main(void)
{
    mtx_init(&block, mtx_plain);
    cnd_init(&changed);
    done[0] = 1;
    thrd_t t[N + 1];
    for (int i = 1; i <= N; i++)
        thrd_create(&t[i], task, (void *)(intptr_t)i);
    for (int i = 1; i <= N; i++)
        thrd_join(t[i], NULL);
    assert(value[N] == N && "a task copied before its predecessor wrote");
    cnd_destroy(&changed);
    mtx_destroy(&block);
    return 0;
}
