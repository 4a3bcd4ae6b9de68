/* Thread-specific data, pthread keys and C11 tss, as POSIX and C11 say
 * (plain pthread + C11 program: it must pass natively too). Checks:
 * each thread has its own value for every key and starts with NULL, also
 * for a key a constructor made (the main thread keeps the constructor's
 * value) and for a key another thread made after it started; delete
 * discards every thread's value, so a key made later starts NULL in a
 * thread that had a value for the deleted one; a deleted key is EINVAL
 * (thrd_error); keys run out with EAGAIN (thrd_error) and come back when
 * deleted; run twice in one process (weft's in-process mode) the same
 * calls give the same key numbers. Exits 0 when right; a failed check
 * prints its line and aborts.
 *
 * -DCHECK_DESTRUCTORS also counts destructor calls: once per non-NULL
 * value of a live key with a destructor at thread exit (start function
 * returned, pthread_exit, thrd_exit), in the exiting thread, with the
 * value already NULL; none for NULL values, deleted keys or keys never
 * set; PTHREAD_DESTRUCTOR_ITERATIONS rounds for a destructor
 * that sets its value again. A destructor blocks on a mutex, so other
 * threads run in the middle of one. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>

#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #c);                                                     \
            abort();                                                         \
        }                                                                    \
    } while (0)

#define NWORKERS 3 /* pthread workers; 0 returns, 1 pthread_exit, 2 NULLs */
#define NC11     2 /* thrd workers; 0 returns, 1 thrd_exit */

struct val {
    pthread_t owner;
    int n;
};

static pthread_key_t ck; /* made by the constructor, before main */
static struct val ctor_val;
static pthread_key_t k1, k2, k3, again;
static tss_t t1;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t late; /* made by worker 0 while the others run */
static int late_made;
static sem_t set_k2, deleted_k2;

static atomic_int k1_dtors, ck_dtors, k2_dtors, k3_dtors, again_dtors, t1_dtors;

/* Every destructor: runs in the thread that set the value, which reads
 * NULL by now. */
static void check_owner(pthread_key_t k, void *p)
{
    struct val *v = p;
    CHECK(pthread_equal(v->owner, pthread_self()));
    CHECK(pthread_getspecific(k) == NULL);
}

static void k1_dtor(void *p)
{
    check_owner(k1, p);
    /* A scheduling point: other threads run (and use keys) in the middle
     * of this thread's exit. */
    pthread_mutex_lock(&m);
    atomic_fetch_add(&k1_dtors, 1);
    pthread_mutex_unlock(&m);
}

static void ck_dtor(void *p)
{
    check_owner(ck, p);
    atomic_fetch_add(&ck_dtors, 1);
}

static void k2_dtor(void *p)
{
    (void)p;
    atomic_fetch_add(&k2_dtors, 1); /* never: k2 is deleted first */
}

static void k3_dtor(void *p)
{
    (void)p;
    atomic_fetch_add(&k3_dtors, 1); /* never: no thread sets k3 */
}

/* Sets its value again each time: called once per round. */
static void again_dtor(void *p)
{
    check_owner(again, p);
    atomic_fetch_add(&again_dtors, 1);
    CHECK(pthread_setspecific(again, p) == 0);
}

static void t1_dtor(void *p)
{
    struct val *v = p;
    CHECK(thrd_equal(thrd_current(), (thrd_t)v->owner));
    CHECK(tss_get(t1) == NULL);
    atomic_fetch_add(&t1_dtors, 1);
}

__attribute__((constructor)) static void make_ck(void)
{
    ctor_val.owner = pthread_self();
    CHECK(pthread_key_create(&ck, ck_dtor) == 0);
    CHECK(pthread_setspecific(ck, &ctor_val) == 0);
}

static void *worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct val *me = malloc(sizeof *me);
    CHECK(me != NULL);
    me->owner = pthread_self();
    me->n = i;

    /* A new thread starts with NULL for every key. */
    CHECK(pthread_getspecific(k1) == NULL);
    CHECK(pthread_getspecific(ck) == NULL);
    CHECK(pthread_getspecific(again) == NULL);
    CHECK(pthread_setspecific(k1, me) == 0);
    CHECK(pthread_setspecific(ck, me) == 0);
    if (i == 0) {
        pthread_key_t k;
        CHECK(pthread_key_create(&k, NULL) == 0);
        CHECK(pthread_getspecific(k) == NULL);
        CHECK(pthread_setspecific(k, me) == 0);
        pthread_mutex_lock(&m);
        late = k;
        late_made = 1;
        pthread_mutex_unlock(&m);
    }
    if (i == 1)
        CHECK(pthread_setspecific(again, me) == 0);
    sched_yield();
    pthread_mutex_lock(&m);
    int made = late_made;
    pthread_mutex_unlock(&m);
    if (made && i != 0) { /* another thread's key: NULL here */
        CHECK(pthread_getspecific(late) == NULL);
        CHECK(pthread_setspecific(late, &ctor_val) == 0);
        CHECK(pthread_getspecific(late) == &ctor_val);
    }
    sched_yield();
    /* Still its own values, whatever the others set meanwhile. */
    CHECK(pthread_getspecific(k1) == me);
    CHECK(pthread_getspecific(ck) == me);
    if (i == 0)
        CHECK(pthread_getspecific(late) == me);
    if (i == 2) { /* a NULL value: no destructor call */
        CHECK(pthread_setspecific(k1, NULL) == 0);
        CHECK(pthread_getspecific(k1) == NULL);
    }
    if (i == 1)
        pthread_exit(me);
    return me;
}

/* Sets k2, lets main delete it and make k3, then finds k3 NULL. */
static void *deleted_worker(void *arg)
{
    static struct val v;
    (void)arg;
    v.owner = pthread_self();
    CHECK(pthread_setspecific(k2, &v) == 0);
    sem_post(&set_k2);
    sem_wait(&deleted_k2);
    CHECK(pthread_getspecific(k3) == NULL);
    return NULL;
}

static int c11_worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    struct val *me = malloc(sizeof *me);
    CHECK(me != NULL);
    me->owner = (pthread_t)thrd_current();
    me->n = i;
    CHECK(tss_get(t1) == NULL);
    CHECK(tss_set(t1, me) == thrd_success);
    thrd_yield();
    CHECK(tss_get(t1) == me);
    if (i == 1)
        thrd_exit(10 + i);
    return 10 + i;
}

/* Keys run out with EAGAIN; distinct keys hold distinct values; deleted,
 * they can be made again. */
static void exhaust(void)
{
    static pthread_key_t ks[PTHREAD_KEYS_MAX + 1];
    int n = 0, rc;
    while ((rc = pthread_key_create(&ks[n], NULL)) == 0) {
        n++;
        CHECK(n <= PTHREAD_KEYS_MAX);
    }
    CHECK(rc == EAGAIN);
    CHECK(n > 0);
    tss_t t;
    CHECK(tss_create(&t, NULL) == thrd_error);
    for (int i = 0; i < n; i++)
        CHECK(pthread_setspecific(ks[i], &ks[i]) == 0);
    for (int i = 0; i < n; i++)
        CHECK(pthread_getspecific(ks[i]) == &ks[i]);
    for (int i = 0; i < n; i++)
        CHECK(pthread_key_delete(ks[i]) == 0);
    CHECK(pthread_key_create(&ks[0], NULL) == 0);
    CHECK(pthread_getspecific(ks[0]) == NULL);
    CHECK(pthread_key_delete(ks[0]) == 0);
}

int main(void)
{
    /* The main thread has the constructor's value. */
    CHECK(pthread_getspecific(ck) == &ctor_val);

    CHECK(pthread_key_create(&k1, k1_dtor) == 0);
    CHECK(pthread_key_create(&k2, k2_dtor) == 0);
    CHECK(pthread_key_create(&again, again_dtor) == 0);
    CHECK(tss_create(&t1, t1_dtor) == thrd_success);
    CHECK(k1 != k2 && k1 != again && k2 != again && k1 != ck);

    /* Same calls, same numbers: compared across runs in one process. */
    static pthread_key_t first[3];
    static tss_t first_t1;
    static int runs;
    if (runs++ == 0) {
        first[0] = k1, first[1] = k2, first[2] = again, first_t1 = t1;
    } else {
        CHECK(k1 == first[0] && k2 == first[1] && again == first[2]);
        CHECK(t1 == first_t1);
    }

    static struct val main_val;
    main_val.owner = pthread_self();
    CHECK(pthread_getspecific(k1) == NULL);
    CHECK(pthread_setspecific(k1, &main_val) == 0);
    CHECK(tss_set(t1, &main_val) == thrd_success);

    sem_init(&set_k2, 0, 0);
    sem_init(&deleted_k2, 0, 0);
    late_made = 0;
    atomic_store(&k1_dtors, 0);
    atomic_store(&ck_dtors, 0);
    atomic_store(&k2_dtors, 0);
    atomic_store(&k3_dtors, 0);
    atomic_store(&again_dtors, 0);
    atomic_store(&t1_dtors, 0);

    pthread_t w[NWORKERS], d;
    thrd_t c[NC11];
    for (int i = 0; i < NWORKERS; i++)
        CHECK(pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i) == 0);
    CHECK(pthread_create(&d, NULL, deleted_worker, NULL) == 0);
    for (int i = 0; i < NC11; i++)
        CHECK(thrd_create(&c[i], c11_worker, (void *)(intptr_t)i) ==
              thrd_success);

    /* Delete k2 while deleted_worker holds a value for it; k3, made
     * next (maybe with k2's number), starts NULL there. (Whether k2 is
     * EINVAL now depends on the others: worker 0 may make `late` with
     * k2's number in between. Checked below, alone.) */
    sem_wait(&set_k2);
    CHECK(pthread_key_delete(k2) == 0);
    CHECK(pthread_key_create(&k3, k3_dtor) == 0);
    CHECK(pthread_getspecific(k3) == NULL);
    sem_post(&deleted_k2);

    for (int i = 0; i < NWORKERS; i++) {
        void *ret;
        CHECK(pthread_join(w[i], &ret) == 0);
        CHECK(((struct val *)ret)->n == i);
        free(ret);
    }
    CHECK(pthread_join(d, NULL) == 0);
    for (int i = 0; i < NC11; i++) {
        int res;
        CHECK(thrd_join(c[i], &res) == thrd_success);
        CHECK(res == 10 + i);
    }

    /* The main thread's values are its own still. */
    CHECK(pthread_getspecific(k1) == &main_val);
    CHECK(pthread_getspecific(ck) == &ctor_val);
    CHECK(tss_get(t1) == &main_val);
    if (late_made)
        CHECK(pthread_getspecific(late) == NULL);

#ifdef CHECK_DESTRUCTORS
    /* Destructors ran before the joins returned: k1 for workers 0 and 1
     * (2 set NULL), ck for all three (the constructor's key), again
     * every round for worker 1, t1 for both C11 threads; none for the
     * deleted k2, the never-set k3 or main's values. */
    CHECK(atomic_load(&k1_dtors) == NWORKERS - 1);
    CHECK(atomic_load(&ck_dtors) == NWORKERS);
    CHECK(atomic_load(&again_dtors) == PTHREAD_DESTRUCTOR_ITERATIONS);
    CHECK(atomic_load(&t1_dtors) == NC11);
    CHECK(atomic_load(&k2_dtors) == 0);
    CHECK(atomic_load(&k3_dtors) == 0);
#endif

    exhaust();

    /* A deleted key is EINVAL (thrd_error), with no other thread left to
     * make a key with its number. Leave no key behind, so that a second
     * run in this process makes the same numbers. The constructor's key
     * is deleted too: under weft for this execution only, natively for
     * good (there is no second run). */
    tss_delete(t1);
    CHECK(tss_set(t1, &main_val) == thrd_error);
    if (late_made)
        CHECK(pthread_key_delete(late) == 0);
    CHECK(pthread_key_delete(k1) == 0);
    CHECK(pthread_key_delete(k3) == 0);
    CHECK(pthread_key_delete(k3) == EINVAL);
    CHECK(pthread_setspecific(k3, &main_val) == EINVAL);
    CHECK(pthread_key_delete(again) == 0);
    CHECK(pthread_key_delete(ck) == 0);
    CHECK(pthread_key_delete(ck) == EINVAL);
    CHECK(pthread_setspecific(ck, &main_val) == EINVAL);
    sem_destroy(&set_k2);
    sem_destroy(&deleted_k2);
    return 0;
}
