/*
 * tls.c: thread-local storage and errno, per thread as outside weft.
 *
 *   tls          each thread keeps its id, a rand_r seed and a cache in
 *                thread-local variables, sets errno, yields, then checks
 *                them; a thread-local with an initialiser starts with it in
 *                every thread, whatever main did to its own copy; main's
 *                own copy keeps what a constructor stored. Correct: no
 *                finding.
 *   tls_handed   a thread hands the address of its thread-local counter to
 *                another, and both write it unsynchronized: a real race,
 *                reported on "thread-local variable 'counter' of task N".
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local int my_id = -1;
static __thread unsigned my_seed;
static __thread int initialised = 5;
static __thread char cache[64];
static __thread int counter;
static __thread int set_by_ctor;
/* read through a volatile: clang 14 would otherwise evaluate the
 * constructor at compile time and fold 42 into the initialiser of every
 * thread's copy (its global optimizer forgets the variable is per thread) */
static volatile int forty_two = 42;

__attribute__((constructor)) static void ctor(void)
{
    set_by_ctor = forty_two; /* the initial thread's copy */
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "tls: %s (thread %d)\n", what, my_id);
        abort();
    }
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    check(initialised == 5, "an initialised thread-local does not start "
                            "with its initialiser");
    check(set_by_ctor == 0, "a new thread sees the initial thread's copy");
    my_id = id;
    my_seed = 1000u + (unsigned)id;
    snprintf(cache, sizeof cache, "thread %d", id);
    initialised = 100 + id;
    errno = 1000 + id;
    sched_yield();
    check(my_id == id, "my_id changed under me");
    check(initialised == 100 + id, "initialised changed under me");
    check(errno == 1000 + id, "errno changed under me");
    char want[64];
    snprintf(want, sizeof want, "thread %d", id);
    check(strcmp(cache, want) == 0, "the cache changed under me");
    unsigned s = 1000u + (unsigned)id;
    check(rand_r(&my_seed) == rand_r(&s), "the seed changed under me");
    return NULL;
}

static int *volatile handed;

static void *owner(void *arg)
{
    (void)arg;
    handed = &counter;
    counter++; /* unsynchronized with the other thread's write */
    sched_yield();
    return NULL;
}

static void *intruder(void *arg)
{
    (void)arg;
    int *p;
    while ((p = handed) == NULL)
        sched_yield();
    (*p)++;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "tls";
    check(set_by_ctor == 42, "main lost what the constructor stored");
    if (strcmp(mode, "tls_handed") == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, owner, NULL);
        pthread_create(&b, NULL, intruder, NULL);
        pthread_join(b, NULL);
        pthread_join(a, NULL);
        return 0;
    }
    initialised = 7; /* main's own copy only */
    errno = 0;
    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    check(initialised == 7, "main's thread-local changed");
    check(my_id == -1, "main's id changed");
    return 0;
}
