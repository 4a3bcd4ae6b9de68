/* Pattern 27, work-stealing deque (Chase-Lev, fixed capacity, C11
 * atomics): the owner pushes and pops at the bottom, a thief steals at
 * the top with a compare-and-swap. When one element is left, owner and
 * thief race for it. In the bug the owner claims the last element by
 * checking that top has not moved and then storing top + 1 (check, then
 * act), so a thief whose CAS lands between the two also takes it. Depth
 * 2. Verdict: assertion (abort): an element taken twice. -DFIXED: the
 * owner claims the last element with a compare-and-swap on top too. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#define CAP   8
#define ITEMS 2
#define EMPTY (-1)
#define ABORT (-2)

static atomic_int top, bottom, buf[CAP];
static atomic_int taken[ITEMS + 1]; /* times each item was taken */

static void push(int v)
{
    int b = atomic_load(&bottom);
    atomic_store(&buf[b], v);
    atomic_store(&bottom, b + 1);
}

static int pop(void)
{
    int b = atomic_load(&bottom) - 1;
    atomic_store(&bottom, b);
    int t = atomic_load(&top);
    if (t > b) { /* empty */
        atomic_store(&bottom, b + 1);
        return EMPTY;
    }
    int x = atomic_load(&buf[b]);
    if (t < b) /* more than one left: no thief can reach this one */
        return x;
        /* the last element: thieves may be after it too */
#ifdef FIXED
    bool mine = atomic_compare_exchange_strong(&top, &t, t + 1);
#else
    bool mine = atomic_load(&top) == t;
    if (mine)
        atomic_store(&top, t + 1);
#endif
    atomic_store(&bottom, b + 1);
    return mine ? x : EMPTY;
}

static int steal(void)
{
    int t = atomic_load(&top);
    int b = atomic_load(&bottom);
    if (t >= b)
        return EMPTY;
    int x = atomic_load(&buf[t]);
    if (!atomic_compare_exchange_strong(&top, &t, t + 1))
        return ABORT; /* lost a race: try again */
    return x;
}

static void *owner(void *arg)
{
    (void)arg;
    for (int v = 1; v <= ITEMS; v++)
        push(v);
    for (int k = 0; k < ITEMS; k++) {
        int x = pop();
        if (x == EMPTY)
            break;
        atomic_fetch_add(&taken[x], 1);
    }
    return NULL;
}

static void *thief(void *arg)
{
    (void)arg;
    for (int tries = 0; tries < 4; tries++) {
        int x = steal();
        if (x >= 0)
            atomic_fetch_add(&taken[x], 1);
        else
            sched_yield();
    }
    return NULL;
}

int main(void)
{
    pthread_t o, t;
    pthread_create(&o, NULL, owner, NULL);
    pthread_create(&t, NULL, thief, NULL);
    pthread_join(o, NULL);
    pthread_join(t, NULL);
    for (int v = 1; v <= ITEMS; v++)
        assert(atomic_load(&taken[v]) <= 1 && "an item was taken twice");
    return 0;
}
