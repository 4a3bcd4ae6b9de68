/* Pattern 23, a ring buffer with a wrong "full" test, with C11 threads:
 * a writer puts 1..6 into a two-slot ring, a reader takes them out and
 * expects them in order. The writer's full test is off by one (it waits
 * only when the writer is more than a whole ring ahead), so it can
 * overwrite an element the reader has not taken yet. Every access holds
 * the mutex: no data race. Depth 1-2 (the writer two elements ahead).
 * Verdict: assertion (abort) on the FIFO order. -DFIXED: the ring is
 * full when the writer is exactly one ring ahead. */
#include <assert.h>
#include <threads.h>

#define SIZE  2
#define ITEMS 6

static mtx_t m;
static cnd_t not_full, not_empty;
static int ring[SIZE];
static unsigned head, tail; /* read and write counts */

static int full(void)
{
#ifdef FIXED
    return tail - head == SIZE;
#else
    return tail - head > SIZE;
#endif
}

static int writer(void *arg)
{
    (void)arg;
    for (int v = 1; v <= ITEMS; v++) {
        mtx_lock(&m);
        while (full())
            cnd_wait(&not_full, &m);
        ring[tail % SIZE] = v;
        tail++;
        cnd_signal(&not_empty);
        mtx_unlock(&m);
    }
    return 0;
}

static int reader(void *arg)
{
    (void)arg;
    for (int want = 1; want <= ITEMS; want++) {
        mtx_lock(&m);
        while (tail == head)
            cnd_wait(&not_empty, &m);
        int v = ring[head % SIZE];
        head++;
        cnd_signal(&not_full);
        mtx_unlock(&m);
        assert(v == want && "ring buffer lost or reordered an element");
    }
    return 0;
}

int main(void)
{
    mtx_init(&m, mtx_plain);
    cnd_init(&not_full);
    cnd_init(&not_empty);
    thrd_t w, r;
    thrd_create(&r, reader, NULL);
    thrd_create(&w, writer, NULL);
    thrd_join(w, NULL);
    thrd_join(r, NULL);
    cnd_destroy(&not_empty);
    cnd_destroy(&not_full);
    mtx_destroy(&m);
    return 0;
}
