/* Pattern 3, check-then-act (TOCTOU), with C11 threads: a table of open
 * files; each thread looks for a free slot in one critical section and
 * claims it in another. Both can see the same slot free: the second claim
 * silently takes over the first thread's file, which finds it gone when
 * it closes it. Every access holds the mutex: no data race, only the
 * interleaving (a preemption between the test and the claim, depth 1-2)
 * shows it. Verdict: assertion (abort). -DFIXED: find and claim in one
 * critical section. */
#include <assert.h>
#include <stdint.h>
#include <threads.h>

#define SLOTS 3

static mtx_t m;
static int owner[SLOTS]; /* 0: free, else the id of the thread */

static int find_free(void)
{
    for (int i = 0; i < SLOTS; i++)
        if (owner[i] == 0)
            return i;
    return -1;
}

static int open_file(int me)
{
#ifdef FIXED
    mtx_lock(&m);
    int slot = find_free();
    if (slot >= 0)
        owner[slot] = me;
    mtx_unlock(&m);
#else
    mtx_lock(&m);
    int slot = find_free();
    mtx_unlock(&m);
    if (slot >= 0) {
        mtx_lock(&m);
        owner[slot] = me; /* the slot may no longer be free */
        mtx_unlock(&m);
    }
#endif
    return slot;
}

static void close_file(int me, int slot)
{
    mtx_lock(&m);
    assert(owner[slot] == me && "my file was taken over");
    owner[slot] = 0;
    mtx_unlock(&m);
}

static int user(void *arg)
{
    int me = (int)(intptr_t)arg;
    int slot = open_file(me);
    assert(slot >= 0);
    close_file(me, slot);
    return 0;
}

int main(void)
{
    mtx_init(&m, mtx_plain);
    thrd_t t[2];
    for (int i = 0; i < 2; i++)
        thrd_create(&t[i], user, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < 2; i++)
        thrd_join(t[i], NULL);
    mtx_destroy(&m);
    return 0;
}
