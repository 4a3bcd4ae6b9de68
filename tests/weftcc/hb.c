/*
 * hb.c: the C11 happens-before rules weft-cc's race detector follows, one
 * scenario each (tests/test_tsan.c runs `hb NAME` and checks the verdict).
 * An ordinary C11 program: no weft include. Clean scenarios synchronize
 * correctly and must never be reported; racy ones must be. "data" is the
 * plain variable each scenario publishes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RLX memory_order_relaxed
#define ACQ memory_order_acquire
#define REL memory_order_release
#define AR  memory_order_acq_rel

static int data;
static atomic_int flag;

static void run(void *(*fn[])(void *), int n, void *arg)
{
    pthread_t t[4];
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn[i], arg) != 0)
            abort();
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static void wait_for(int v, memory_order mo)
{
    while (atomic_load_explicit(&flag, mo) != v)
        ;
}

/* refcount: the textbook release of a shared object (the default order,
 * seq_cst): the last owner frees it. Clean. */
struct obj {
    atomic_int refs;
    int payload;
};

static void put(struct obj *o)
{
    if (atomic_fetch_sub(&o->refs, 1) == 1)
        free(o);
}

static void *user(void *arg)
{
    struct obj *o = arg;
    if (o->payload != 7) /* each owner uses the object before letting go */
        abort();
    put(o);
    return NULL;
}

/* refcount_fence: the same with a release decrement and an acquire fence
 * before the free (Boost's and Rust's Arc idiom). Clean. */
static void *user_fence(void *arg)
{
    struct obj *o = arg;
    if (o->payload != 7)
        abort();
    if (atomic_fetch_sub_explicit(&o->refs, 1, REL) == 1) {
        atomic_thread_fence(ACQ);
        free(o);
    }
    return NULL;
}

/* refcount_nofence: the release decrement without the acquire fence: the
 * last owner frees memory another owner read. Race. */
static void *user_nofence(void *arg)
{
    struct obj *o = arg;
    if (o->payload != 7)
        abort();
    if (atomic_fetch_sub_explicit(&o->refs, 1, REL) == 1)
        free(o);
    return NULL;
}

/* handoff: a message with its ready flag inside, handed over by a release
 * store and freed by the receiver after an acquire load. Clean. */
struct msg {
    int payload;
    atomic_int ready;
};
static _Atomic(struct msg *) slot;

static void *sender(void *arg)
{
    (void)arg;
    struct msg *m = malloc(sizeof *m);
    if (m == NULL)
        abort();
    m->payload = 42;
    atomic_init(&m->ready, 0);
    atomic_store_explicit(&slot, m, REL);
    atomic_store_explicit(&m->ready, 1, REL);
    return NULL;
}

static void *receiver(void *arg)
{
    (void)arg;
    struct msg *m;
    while ((m = atomic_load_explicit(&slot, ACQ)) == NULL)
        ;
    while (!atomic_load_explicit(&m->ready, ACQ))
        ;
    if (m->payload != 42)
        abort();
    free(m);
    return NULL;
}

/* fence_mp: message passing through fences and relaxed accesses. Clean.
 * fence_mp_noacq / fence_mp_norel: one of the two fences missing. Race. */
static int fence_mode; /* 0 both, 1 no acquire fence, 2 no release fence */

static void *fence_writer(void *arg)
{
    (void)arg;
    data = 1;
    if (fence_mode != 2)
        atomic_thread_fence(REL);
    atomic_store_explicit(&flag, 1, RLX);
    return NULL;
}

static void *fence_reader(void *arg)
{
    (void)arg;
    wait_for(1, RLX);
    if (fence_mode != 1)
        atomic_thread_fence(ACQ);
    if (data != 1)
        abort();
    return NULL;
}

/* The writer of most scenarios: publish data with a release store. */
static void *publisher(void *arg)
{
    (void)arg;
    data = 1;
    atomic_store_explicit(&flag, 1, REL);
    return NULL;
}

/* The reader: wait for flag == 2 with an acquire load, read data. */
static void *reader2(void *arg)
{
    (void)arg;
    wait_for(2, ACQ);
    if (data != 1)
        abort();
    return NULL;
}

/* rmw_continues: a relaxed fetch_add by a third task continues the
 * publisher's release sequence, so an acquire of its value synchronizes
 * with the publisher (C11 7.17.3). Clean. */
static void *relaxed_adder(void *arg)
{
    (void)arg;
    wait_for(1, RLX);
    atomic_fetch_add_explicit(&flag, 1, RLX);
    return NULL;
}

/* same_thread_store: after its release store, the publisher itself
 * stores again, relaxed: C11 keeps that store in its release sequence.
 * Clean. */
static void *publisher_then_relaxed(void *arg)
{
    (void)arg;
    data = 1;
    atomic_store_explicit(&flag, 1, REL);
    atomic_store_explicit(&flag, 2, RLX);
    return NULL;
}

/* other_thread_store: a relaxed store by another task ends the release
 * sequence: the reader of its value is ordered after nobody who wrote
 * data. Race. */
static void *relaxed_overwriter(void *arg)
{
    (void)arg;
    wait_for(1, RLX);
    atomic_store_explicit(&flag, 2, RLX);
    return NULL;
}

/* release_replaced: a release store by a task that never acquired the
 * first one starts a new sequence: its reader learns nothing of the
 * first publisher. Race. */
static void *release_overwriter(void *arg)
{
    (void)arg;
    wait_for(1, RLX);
    atomic_store_explicit(&flag, 2, REL);
    return NULL;
}

/* acqrel_chain: two acq_rel increments in a chain; the reader of the
 * last value is ordered after both writers. Clean. */
static int data2;

static void *chain1(void *arg)
{
    (void)arg;
    data = 1;
    atomic_fetch_add_explicit(&flag, 1, AR);
    return NULL;
}

static void *chain2(void *arg)
{
    (void)arg;
    wait_for(1, RLX);
    data2 = 1;
    atomic_fetch_add_explicit(&flag, 1, AR);
    return NULL;
}

static void *chain_reader(void *arg)
{
    (void)arg;
    wait_for(2, ACQ);
    if (data != 1 || data2 != 1)
        abort();
    return NULL;
}

/* relaxed_rmw: a relaxed read-modify-write acquires nothing. Race. */
static void *relaxed_rmw_reader(void *arg)
{
    (void)arg;
    while (atomic_fetch_add_explicit(&flag, 0, RLX) == 0)
        ;
    if (data != 1)
        abort();
    return NULL;
}

/* seq_cst: message passing with the default order. Clean. */
static void *sc_writer(void *arg)
{
    (void)arg;
    data = 1;
    atomic_store(&flag, 1);
    return NULL;
}

static void *sc_reader(void *arg)
{
    (void)arg;
    while (atomic_load(&flag) == 0)
        ;
    if (data != 1)
        abort();
    return NULL;
}

/* cas_lock: a spinlock of compare-exchange (acquire) and a release store
 * around a plain counter. Clean. */
static atomic_int lock;
static int counter;

static void *cas_locker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        int expected = 0;
        while (!atomic_compare_exchange_weak_explicit(&lock, &expected, 1, ACQ,
                                                      RLX))
            expected = 0;
        counter++;
        atomic_store_explicit(&lock, 0, REL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (!strcmp(s, "refcount") || !strcmp(s, "refcount_fence") ||
        !strcmp(s, "refcount_nofence")) {
        struct obj *o = calloc(1, sizeof *o);
        if (o == NULL)
            return 2;
        atomic_init(&o->refs, 2);
        o->payload = 7;
        void *(*fn)(void *) = !strcmp(s, "refcount")         ? user
                              : !strcmp(s, "refcount_fence") ? user_fence
                                                             : user_nofence;
        void *(*f[])(void *) = { fn, fn };
        run(f, 2, o);
    } else if (!strcmp(s, "handoff")) {
        void *(*f[])(void *) = { sender, receiver };
        run(f, 2, NULL);
    } else if (!strncmp(s, "fence_mp", 8)) {
        fence_mode = !strcmp(s, "fence_mp_noacq")   ? 1
                     : !strcmp(s, "fence_mp_norel") ? 2
                                                    : 0;
        void *(*f[])(void *) = { fence_writer, fence_reader };
        run(f, 2, NULL);
    } else if (!strcmp(s, "rmw_continues")) {
        void *(*f[])(void *) = { publisher, relaxed_adder, reader2 };
        run(f, 3, NULL);
    } else if (!strcmp(s, "same_thread_store")) {
        void *(*f[])(void *) = { publisher_then_relaxed, reader2 };
        run(f, 2, NULL);
    } else if (!strcmp(s, "other_thread_store")) {
        void *(*f[])(void *) = { publisher, relaxed_overwriter, reader2 };
        run(f, 3, NULL);
    } else if (!strcmp(s, "release_replaced")) {
        void *(*f[])(void *) = { publisher, release_overwriter, reader2 };
        run(f, 3, NULL);
    } else if (!strcmp(s, "acqrel_chain")) {
        void *(*f[])(void *) = { chain1, chain2, chain_reader };
        run(f, 3, NULL);
    } else if (!strcmp(s, "relaxed_rmw")) {
        void *(*f[])(void *) = { publisher, relaxed_rmw_reader };
        run(f, 2, NULL);
    } else if (!strcmp(s, "seq_cst")) {
        void *(*f[])(void *) = { sc_writer, sc_reader };
        run(f, 2, NULL);
    } else if (!strcmp(s, "cas_lock")) {
        void *(*f[])(void *) = { cas_locker, cas_locker };
        run(f, 2, NULL);
        if (counter != 4)
            abort();
    } else {
        fprintf(stderr, "hb: unknown scenario '%s'\n", s);
        return 2;
    }
    return 0;
}
