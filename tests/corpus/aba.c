/* Pattern 26, ABA on a lock-free (Treiber) stack with C11 atomics: nodes
 * come from a fixed pool and are reused, `top` is swapped by
 * compare-and-swap. The stack holds A, B, C. Thread 1 pops once: it reads
 * top = A and A->next = B, then is preempted; thread 2 pops A, pops B and
 * pushes A back; thread 1's CAS still sees A on top, succeeds and
 * installs B, which thread 2 owns. Depth 3. Verdict: assertion (abort):
 * a node is both on the stack and owned by a thread. -DFIXED: `top`
 * carries a version count next to the node index, bumped by every
 * successful CAS, so the stale CAS fails. */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define NODES 3
#define NIL   (-1)

static atomic_int next[NODES]; /* node i's successor */
/* top: node index in the low 32 bits, version in the high 32 bits (the
 * version stays 0 in the bug) */
static _Atomic uint64_t top;
static int owned[2][NODES];

static uint64_t make(int node, uint32_t version)
{
    return (uint64_t)version << 32 | (uint32_t)node;
}

static int node_of(uint64_t t)
{
    return (int)(uint32_t)t;
}

static uint64_t bump(uint64_t old, int node)
{
#ifdef FIXED
    return make(node, (uint32_t)(old >> 32) + 1);
#else
    (void)old;
    return make(node, 0);
#endif
}

static int pop(void)
{
    uint64_t old = atomic_load(&top);
    for (;;) {
        int n = node_of(old);
        if (n == NIL)
            return NIL;
        int nx = atomic_load(&next[n]);
        if (atomic_compare_exchange_strong(&top, &old, bump(old, nx)))
            return n;
    }
}

static void push(int n)
{
    uint64_t old = atomic_load(&top);
    do
        atomic_store(&next[n], node_of(old));
    while (!atomic_compare_exchange_strong(&top, &old, bump(old, n)));
}

static void *thread1(void *arg)
{
    (void)arg;
    int n = pop();
    if (n != NIL)
        owned[0][n] = 1;
    return NULL;
}

static void *thread2(void *arg)
{
    (void)arg;
    int a = pop(), b = pop();
    if (a != NIL)
        push(a);
    if (b != NIL)
        owned[1][b] = 1;
    return NULL;
}

int main(void)
{
    for (int i = 0; i < NODES; i++) /* A(0) -> B(1) -> C(2) */
        atomic_store(&next[i], i + 1 < NODES ? i + 1 : NIL);
    atomic_store(&top, make(0, 0));
    pthread_t t1, t2;
    pthread_create(&t1, NULL, thread1, NULL);
    pthread_create(&t2, NULL, thread2, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    /* every node exactly once: on the stack or owned by one thread */
    int count[NODES] = { 0 };
    int steps = 0;
    for (int n = node_of(atomic_load(&top)); n != NIL && steps <= NODES;
         n = atomic_load(&next[n]), steps++)
        count[n]++;
    for (int i = 0; i < NODES; i++) {
        count[i] += owned[0][i] + owned[1][i];
        assert(count[i] == 1 && "node lost or in two places (ABA)");
    }
    return 0;
}
