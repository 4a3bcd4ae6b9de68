/*
 * c11_shim.c: a portability layer that defines C11 thread functions itself
 * on top of pthreads (as tinycthread does for libcs without <threads.h>),
 * and a program using them. It must build with weft-cc (its definitions
 * win over weft's, which are weak) and run with the pthread calls inside
 * them served by weft: clean as written, and with -DRACY (the shim's lock
 * left out) the counter's race is found.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

typedef pthread_mutex_t mtx_t;
typedef pthread_t thrd_t;
typedef int (*thrd_start_t)(void *);
enum { thrd_success = 0, thrd_error = 2 };

int mtx_init(mtx_t *m, int type);
int mtx_lock(mtx_t *m);
int mtx_unlock(mtx_t *m);
int thrd_create(thrd_t *t, thrd_start_t fn, void *arg);
int thrd_join(thrd_t t, int *res);
void thrd_yield(void);

struct start {
    thrd_start_t fn;
    void *arg;
};

static void *tramp(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    return (void *)(long)s.fn(s.arg);
}

int mtx_init(mtx_t *m, int type)
{
    (void)type;
    return pthread_mutex_init(m, NULL) == 0 ? thrd_success : thrd_error;
}

int mtx_lock(mtx_t *m)
{
    return pthread_mutex_lock(m) == 0 ? thrd_success : thrd_error;
}

int mtx_unlock(mtx_t *m)
{
    return pthread_mutex_unlock(m) == 0 ? thrd_success : thrd_error;
}

int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
    struct start *s = malloc(sizeof *s);
    if (s == NULL)
        return thrd_error;
    s->fn = fn;
    s->arg = arg;
    return pthread_create(t, NULL, tramp, s) == 0 ? thrd_success : thrd_error;
}

int thrd_join(thrd_t t, int *res)
{
    void *r;
    if (pthread_join(t, &r) != 0)
        return thrd_error;
    if (res != NULL)
        *res = (int)(long)r;
    return thrd_success;
}

void thrd_yield(void)
{
    sched_yield();
}

static mtx_t lock;
static int counter;

static int work(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
#ifndef RACY
        mtx_lock(&lock);
#endif
        counter++;
#ifndef RACY
        mtx_unlock(&lock);
#endif
        thrd_yield();
    }
    return 0;
}

int main(void)
{
    thrd_t a, b;
    mtx_init(&lock, 0);
    thrd_create(&a, work, NULL);
    thrd_create(&b, work, NULL);
    thrd_join(a, NULL);
    thrd_join(b, NULL);
    return counter == 4 ? 0 : 1;
}
