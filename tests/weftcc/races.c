/*
 * races.c: scenarios for weft-cc's race detector and granularity
 * (tests/test_tsan.c runs each: `races NAME`). An ordinary pthread/C11
 * program: no weft include. Each scenario says what weft must answer.
 */
#define _GNU_SOURCE /* pthread_*_np, cpu_set_t */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int counter;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *start(void *(*fn)(void *), void *arg, pthread_t *t)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        abort();
    return NULL;
}

static void join(pthread_t t)
{
    pthread_join(t, NULL);
}

/* Two threads run fn(arg); main joins both. */
static void pair(void *(*fn)(void *), void *arg)
{
    pthread_t a, b;
    start(fn, arg, &a);
    start(fn, arg, &b);
    join(a);
    join(b);
}

/* counter: unprotected increments. Race. */
static void bump(void)
{
    counter++;
}

static void *racy_inc(void *arg)
{
    (void)arg;
    bump(); /* a frame below the thread function: the report shows both */
    return NULL;
}

/* locked: the same under a mutex. Clean. */
static void *locked_inc(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    counter++;
    pthread_mutex_unlock(&m);
    return NULL;
}

/* publish / publish_relaxed: message passing through an atomic flag. With
 * release/acquire, clean; relaxed orders nothing: race on data. */
static int data;
static atomic_int flag;
static int relaxed;

static void *producer(void *arg)
{
    (void)arg;
    data = 42;
    atomic_store_explicit(
        &flag, 1, relaxed ? memory_order_relaxed : memory_order_release);
    return NULL;
}

static void publish(void)
{
    pthread_t t;
    start(producer, NULL, &t);
    while (!atomic_load_explicit(&flag, relaxed ? memory_order_relaxed
                                                : memory_order_acquire))
        ;
    assert(data == 42);
    join(t);
}

/* heap_reuse: each thread allocates, writes and frees its own block; the
 * allocator hands the same memory to the other thread. Clean. */
static void *heap_user(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        int *p = malloc(sizeof *p * 4);
        p[0] = i;
        p[3] = p[0] + 1;
        free(p);
    }
    return NULL;
}

/* use_after_free: a worker reads a block main frees without waiting for
 * it. Race with the free. */
static int *shared_block;

static void *reader(void *arg)
{
    (void)arg;
    volatile int v = shared_block[1];
    (void)v;
    return NULL;
}

static void use_after_free(void)
{
    shared_block = calloc(4, sizeof *shared_block);
    pthread_t t;
    start(reader, NULL, &t);
    free(shared_block);
    join(t);
}

/* handoff: create/join, a semaphore, a barrier and pthread_once each order
 * the accesses around them. Clean. */
static sem_t sem;
static pthread_barrier_t bar;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int before_create, after_sem, phase[2], inited, result[2];

static void init_once(void)
{
    inited = 1;
}

static void *handoff_worker(void *arg)
{
    int me = (int)(long)arg;
    assert(before_create == 1); /* written before pthread_create */
    if (me == 0) {
        after_sem = 1;
        sem_post(&sem);
    }
    phase[me] = 1;
    pthread_barrier_wait(&bar);
    assert(phase[1 - me] == 1); /* written before the other's barrier */
    pthread_once(&once, init_once);
    assert(inited == 1);
    result[me] = me + 1; /* main reads it after the joins */
    return NULL;
}

static void handoff(void)
{
    sem_init(&sem, 0, 0);
    pthread_barrier_init(&bar, NULL, 2);
    before_create = 1;
    pthread_t a, b;
    start(handoff_worker, (void *)0L, &a);
    start(handoff_worker, (void *)1L, &b);
    sem_wait(&sem);
    assert(after_sem == 1);
    join(a);
    join(b);
    assert(result[0] == 1 && result[1] == 2);
}

/* rwlock: readers read under the read lock, a writer writes under the
 * write lock: clean. rwlock_bad: a "reader" writes under the read lock:
 * race between the two readers. */
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int table[4];
static int bad;

static void *rw_reader(void *arg)
{
    (void)arg;
    pthread_rwlock_rdlock(&rw);
    int v = table[0];
    if (bad)
        table[1] = v + 1;
    pthread_rwlock_unlock(&rw);
    return NULL;
}

static void *rw_writer(void *arg)
{
    (void)arg;
    pthread_rwlock_wrlock(&rw);
    table[0]++;
    pthread_rwlock_unlock(&rw);
    return NULL;
}

static void rwlock(void)
{
    pthread_t a, b, c;
    start(rw_reader, NULL, &a);
    start(rw_reader, NULL, &b);
    start(rw_writer, NULL, &c);
    join(a);
    join(b);
    join(c);
}

/* atomic_rmw: a read-modify-write split into an atomic load and an atomic
 * store: no data race, but a lost update, found by interleaving at the
 * atomics (granularity atomics); with granularity sync never. */
static atomic_int acount;

static void *split_inc(void *arg)
{
    (void)arg;
    int v = atomic_load(&acount);
    atomic_store(&acount, v + 1);
    return NULL;
}

/* plain_rmw: the same with a plain int and the race detector off: only
 * granularity memory interleaves inside the increment. */
static volatile int *vcount;
static int pcount;

static void *plain_inc(void *arg)
{
    (void)arg;
    int v = pcount;
    pcount = v + 1;
    return NULL;
}

/* spin_plain, spin_volatile: main spins on a flag another thread sets (a
 * racy, but common, idiom): with the race detector off it must still end
 * (a volatile access is a visible operation; a plain spin gets one after
 * many accesses). */
static int plain_flag;

static void *setter(void *arg)
{
    (void)arg;
    plain_flag = 1;
    return NULL;
}

/* stack_escape: main hands a worker the address of its local; both write
 * it unordered. Race, on main's stack. */
static void *poke(void *arg)
{
    *(int *)arg = 2;
    return NULL;
}

static void stack_escape(void)
{
    int local = 0;
    pthread_t t;
    start(poke, &local, &t);
    sched_yield(); /* the worker may run first */
    local = 1;
    join(t);
    printf("%d\n", local);
}

/* thread_misc: naming, scheduling and affinity calls on weft threads are
 * accepted (clean). cancel: pthread_cancel is not modelled (a finding that
 * says so, not a crash). */
static void *idle(void *arg)
{
    (void)arg;
    return NULL;
}

static void thread_misc(void)
{
    pthread_t t;
    start(idle, NULL, &t);
    char name[16];
    struct sched_param sp = { 0 };
    int policy;
    cpu_set_t set;
    if (pthread_setname_np(t, "worker") != 0 ||
        pthread_getname_np(t, name, sizeof name) != 0 ||
        pthread_setschedparam(t, SCHED_OTHER, &sp) != 0 ||
        pthread_getschedparam(t, &policy, &sp) != 0 ||
        pthread_getaffinity_np(t, sizeof set, &set) != 0 ||
        !CPU_ISSET(0, &set) || pthread_kill(t, 0) != 0)
        abort();
    join(t);
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    (void)vcount;
    if (strcmp(s, "counter") == 0) {
        pair(racy_inc, NULL);
    } else if (strcmp(s, "locked") == 0) {
        pair(locked_inc, NULL);
        assert(counter == 2);
    } else if (strcmp(s, "publish") == 0) {
        publish();
    } else if (strcmp(s, "publish_relaxed") == 0) {
        relaxed = 1;
        publish();
    } else if (strcmp(s, "stack_escape") == 0) {
        stack_escape();
    } else if (strcmp(s, "thread_misc") == 0) {
        thread_misc();
    } else if (strcmp(s, "cancel") == 0) {
        pthread_t t;
        start(idle, NULL, &t);
        pthread_cancel(t);
        join(t);
    } else if (strcmp(s, "heap_reuse") == 0) {
        pair(heap_user, NULL);
    } else if (strcmp(s, "use_after_free") == 0) {
        use_after_free();
    } else if (strcmp(s, "handoff") == 0) {
        handoff();
    } else if (strcmp(s, "rwlock") == 0) {
        rwlock();
    } else if (strcmp(s, "rwlock_bad") == 0) {
        bad = 1;
        rwlock();
    } else if (strcmp(s, "atomic_rmw") == 0) {
        pair(split_inc, NULL);
        assert(atomic_load(&acount) == 2);
    } else if (strcmp(s, "plain_rmw") == 0) {
        pair(plain_inc, NULL);
        assert(pcount == 2);
    } else if (strcmp(s, "two_races") == 0) {
        pair(racy_inc, NULL);
        pair(plain_inc, NULL);
    } else if (strcmp(s, "spin_plain") == 0) {
        pthread_t t; /* built at -O0: the load stays in the loop */
        start(setter, NULL, &t);
        while (!plain_flag)
            ;
        join(t);
    } else if (strcmp(s, "spin_volatile") == 0) {
        pthread_t t;
        start(setter, NULL, &t);
        while (!*(volatile int *)&plain_flag)
            ;
        join(t);
    } else {
        fprintf(stderr, "races: unknown scenario '%s'\n", s);
        return 2;
    }
    return 0;
}
