/*
 * interpose.c: pthread, C11 threads, semaphore, time and sleep calls of an
 * unmodified program, served by weft while an exploration runs.
 *
 * weft-cc links this file as a plain object into the user's executable, so
 * its definitions win over glibc's for every reference in the program (and
 * in shared libraries it loads). Each interposer asks weft_running(): in a
 * task of a running exploration the call maps onto weft's API; anywhere
 * else (constructors, the fork-server parent, code run outside an
 * exploration) it passes through to glibc's function, found once with
 * dlsym(RTLD_NEXT).
 *
 * The pthread object types are glibc's and too small for weft's objects:
 * a side table keyed by the object's address holds the weft object. An
 * entry is allocated on first use and kept; weft restarts an object as
 * initialised in a later execution (its epoch), so entries are reused
 * across executions. The address is used for lookup only: nothing the
 * scheduler sees depends on it (weft numbers objects by first use).
 *
 * pthread_t and thrd_t values handed to the program encode weft thread
 * handles: epoch << 32 | id.
 *
 * The C11 thread functions are weak definitions: a program (or a shim it
 * bundles, such as tinycthread) may define them itself on top of pthreads,
 * and then its own win, and the pthread calls inside them are served here.
 */
#include "keys.h"
#include "weft.h"
#include "weftcc.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
/* glibc's threads.h may define thrd_equal inline (extern inlines at -O):
 * ours is declared weak below, so the header's gets another name */
#define thrd_equal weftcc_glibc_thrd_equal
#include <threads.h>
#undef thrd_equal
int thrd_equal(thrd_t a, thrd_t b);
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------ real functions */

void *weftcc_real(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        /* Not through stdio: this may run very early. */
        static const char msg[] = "weft-cc: cannot find glibc's ";
        (void)!write(2, msg, sizeof msg - 1);
        (void)!write(2, name, strlen(name));
        (void)!write(2, "\n", 1);
        abort();
    }
    return p;
}

/* Every interposer starts with RUNNING(): it also notes who called it, so
 * that weft's reports and traces name the program's line that made the
 * call (a pc site, symbolized when printed) rather than the interposer. */
static const void *call_ra;
#define RUNNING() (call_ra = __builtin_return_address(0), weft_running())

/* Where reports say an interposed call happened: the program's call. */
#define SITE(name) weft__pc_site, weftcc_pc_line(call_ra)

int weftcc_real_clock_gettime(clockid_t clk, struct timespec *ts)
{
    PASS(clock_gettime, clk, ts);
}
int weftcc_real_nanosleep(const struct timespec *req, struct timespec *rem)
{
    PASS(nanosleep, req, rem);
}
int weftcc_real_pthread_once(pthread_once_t *o, void (*fn)(void))
{
    PASS(pthread_once, o, fn);
}
int weftcc_real_pthread_key_create(pthread_key_t *k, void (*d)(void *))
{
    PASS(pthread_key_create, k, d);
}
int weftcc_real_pthread_setspecific(pthread_key_t k, const void *v)
{
    PASS(pthread_setspecific, k, v);
}
void *weftcc_real_pthread_getspecific(pthread_key_t k)
{
    PASS(pthread_getspecific, k);
}
pthread_t weftcc_real_pthread_self(void)
{
    PASS(pthread_self);
}
/* the hang watchdog's thread (core/hang.c): a real one */
int weftcc_real_pthread_create(pthread_t *t, const pthread_attr_t *a,
                               void *(*fn)(void *), void *arg)
{
    PASS(pthread_create, t, a, fn, arg);
}
int weftcc_real_pthread_join(pthread_t t, void **ret)
{
    PASS(pthread_join, t, ret);
}
int weftcc_real_sched_yield(void)
{
    PASS(sched_yield);
}
time_t weftcc_real_time(time_t *t)
{
    PASS(time, t);
}
_Noreturn void weftcc_real_exit(int status)
{
    static void (*real_exit)(int);
    if (real_exit == NULL)
        real_exit = (void (*)(int))weftcc_real("exit");
    real_exit(status);
    abort();
}

/* ------------------------------------------------------------ side table */

enum kind {
    K_MUTEX = 1,
    K_COND,
    K_RWLOCK,
    K_SEM,
    K_ONCE,
    K_BARRIER,
};

struct entry {
    const void *key;
    int kind;
    bool dead;       /* destroyed: the next use initialises it again */
    clockid_t clock; /* condition variables: the clock of timedwait */
    union {
        weft_mutex_t m;
        weft_cond_t c;
        weft_rwlock_t rw;
        weft_sem_t s;
        weft_once_t o;
        weft_barrier_t b;
    } u;
};

static struct entry **table;
static size_t table_cap, table_len;

static size_t slot_of(const void *key, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static void oom(void)
{
    static const char msg[] = "weft-cc: out of memory\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
}

static void table_grow(void)
{
    size_t cap = table_cap ? table_cap * 2 : 256;
    struct entry **t = calloc(cap, sizeof *t);
    if (t == NULL)
        oom();
    for (size_t i = 0; i < table_cap; i++) {
        struct entry *e = table[i];
        if (e == NULL)
            continue;
        size_t j = slot_of(e->key, cap);
        while (t[j] != NULL)
            j = (j + 1) & (cap - 1);
        t[j] = e;
    }
    free(table);
    table = t;
    table_cap = cap;
}

/* The entry of key, or NULL; *fresh says it was just made. */
static struct entry *lookup(const void *key, bool create, bool *fresh)
{
    *fresh = false;
    if (table_cap != 0) {
        size_t j = slot_of(key, table_cap);
        for (struct entry *e; (e = table[j]) != NULL;
             j = (j + 1) & (table_cap - 1))
            if (e->key == key)
                return e;
    }
    if (!create)
        return NULL;
    if ((table_len + 1) * 2 > table_cap)
        table_grow();
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        oom();
    e->key = key;
    size_t j = slot_of(key, table_cap);
    while (table[j] != NULL)
        j = (j + 1) & (table_cap - 1);
    table[j] = e;
    table_len++;
    *fresh = true;
    return e;
}

/* The entry of key as an object of `kind`: a new entry, a destroyed one
 * or one of another kind (the memory was reused) is initialised by
 * init(e, key). */
static struct entry *get(const void *key, int kind,
                         void (*init)(struct entry *e, const void *key))
{
    bool fresh;
    struct entry *e = lookup(key, true, &fresh);
    if (fresh || e->dead || e->kind != kind) {
        memset(&e->u, 0, sizeof e->u);
        e->kind = kind;
        e->dead = false;
        e->clock = CLOCK_REALTIME;
        /* NULL: the caller initialises it now. A lazy initialisation
         * (first use of a statically initialised object) is done as if
         * before the exploration: the object is numbered by its first
         * operation, as in every later execution, where the entry exists
         * (so a report replayed in a fresh process has the same trace). */
        if (init != NULL) {
            struct weft__run *r = weft__current;
            weft__current = NULL;
            init(e, key);
            weft__current = r;
        }
    }
    return e;
}

/* ---------------------------------------------- happens-before edges */

/* weft's operations with the edges the race detector needs (tsan.c):
 * release before the operation that publishes, acquire after the one that
 * observes. The key of an edge is the weft object; an rwlock has two, its
 * writers' clock (the object) and its readers' (the object + 1), so that
 * readers are not ordered with each other. */
static int hb_mutex_timedlock_at(weft_mutex_t *m, int64_t d, const char *file,
                                 int line)
{
    int rc = weft_mutex_timedlock_at(m, d, file, line);
    if (rc == 0)
        weftcc_hb_acquire(m);
    return rc;
}

static int hb_mutex_unlock_at(weft_mutex_t *m, const char *file, int line)
{
    weftcc_hb_release(m);
    return weft_mutex_unlock_at(m, file, line);
}

static int hb_cond_timedwait_at(weft_cond_t *c, weft_mutex_t *m, int64_t d,
                                const char *file, int line)
{
    weftcc_hb_release(m);
    int rc = weft_cond_timedwait_at(c, m, d, file, line);
    weftcc_hb_acquire(m); /* held again, whatever the outcome */
    return rc;
}

static int hb_rwlock_lock_at(weft_rwlock_t *rw, bool write, int64_t d,
                             const char *file, int line)
{
    int rc = weft_rwlock_lock_at(rw, write, d, file, line);
    if (rc == 0) {
        weftcc_hb_acquire(rw);
        if (write)
            weftcc_hb_acquire((const char *)rw + 1);
    }
    return rc;
}

static int hb_rwlock_unlock_at(weft_rwlock_t *rw, const char *file, int line)
{
    /* A writer holds it alone: a set writer is the caller. */
    weftcc_hb_release(rw->writer != NULL ? (const char *)rw
                                         : (const char *)rw + 1);
    return weft_rwlock_unlock_at(rw, file, line);
}

static int hb_barrier_wait_at(weft_barrier_t *b, const char *file, int line)
{
    weftcc_hb_release(b);
    int rc = weft_barrier_wait_at(b, file, line);
    weftcc_hb_acquire(b);
    return rc;
}

static int hb_once_at(weft_once_t *o, void (*fn)(void), const char *file,
                      int line)
{
    int rc = weft_once_at(o, fn, file, line);
    /* Whoever ran fn releases before anyone else runs (no visible
     * operation in between); everyone acquires. */
    weftcc_hb_release(o);
    weftcc_hb_acquire(o);
    return rc;
}

static int hb_sem_timedwait_at(weft_sem_t *s, int64_t d, const char *file,
                               int line)
{
    int rc = weft_sem_timedwait_at(s, d, file, line);
    if (rc == 0)
        weftcc_hb_acquire(s);
    return rc;
}

static int hb_sem_post_at(weft_sem_t *s, const char *file, int line)
{
    weftcc_hb_release(s);
    return weft_sem_post_at(s, file, line);
}

static int hb_thread_spawn_at(weft_thread_t *t, const char *name,
                              weft_thread_fn *fn, void *arg, const char *file,
                              int line)
{
    int rc = weft_thread_spawn_at(t, name, fn, arg, file, line);
    if (rc == 0) /* the child has not run yet */
        weftcc_hb_spawned(t->id);
    return rc;
}

static int hb_thread_timedjoin_at(weft_thread_t t, void **ret, int64_t d,
                                  const char *file, int line)
{
    int rc = weft_thread_timedjoin_at(t, ret, d, file, line);
    if (rc == 0)
        weftcc_hb_joined(t.id);
    return rc;
}

/* ----------------------------------------------------------------- time */

static int64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0)
        return 0;
    if (ts->tv_sec >= INT64_MAX / 1000000000 - 1)
        return INT64_MAX;
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t clock_base(clockid_t clk)
{
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
        return WEFTCC_REALTIME_BASE;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        return 0;
    default:
        return WEFTCC_MONO_BASE;
    }
}

/* The time on a clock: its base plus virtual time, saturated at the end
 * of virtual time (time slept past INT64_MAX ns stops there, it never
 * wraps to a negative reading). */
static int64_t clock_now(int64_t base)
{
    int64_t now = weft_now();
    return now > INT64_MAX - base ? INT64_MAX : base + now;
}

/* An absolute timespec on clock clk as a weft deadline (never
 * WEFT_FOREVER, never negative). */
static int64_t deadline_of(clockid_t clk, const struct timespec *abs)
{
    int64_t ns = ts_ns(abs);
    if (ns == INT64_MAX)
        return INT64_MAX - 1;
    int64_t d = ns - clock_base(clk);
    return d < 0 ? 0 : d;
}

static bool ts_valid(const struct timespec *ts)
{
    return ts != NULL && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static void ns_to_ts(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    if (!RUNNING())
        PASS(clock_gettime, clk, ts);
    ns_to_ts(clock_now(clock_base(clk)), ts);
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    if (!RUNNING())
        PASS(gettimeofday, tv, tz);
    int64_t ns = clock_now(WEFTCC_REALTIME_BASE);
    tv->tv_sec = (time_t)(ns / 1000000000);
    tv->tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
    if (tz != NULL)
        memset(tz, 0, 2 * sizeof(int));
    return 0;
}

time_t time(time_t *t)
{
    if (!RUNNING())
        PASS(time, t);
    time_t now = (time_t)(clock_now(WEFTCC_REALTIME_BASE) / 1000000000);
    if (t != NULL)
        *t = now;
    return now;
}

int timespec_get(struct timespec *ts, int base)
{
    if (!RUNNING())
        PASS(timespec_get, ts, base);
    if (base != TIME_UTC)
        return 0;
    ns_to_ts(clock_now(WEFTCC_REALTIME_BASE), ts);
    return base;
}

static void sleep_ns(int64_t ns, const char *file)
{
    int64_t now = weft_now();
    int64_t d = ns > INT64_MAX - 1 - now ? INT64_MAX - 1 : now + ns;
    weft_sleep_until_at(d, file, weftcc_pc_line(call_ra));
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!RUNNING())
        PASS(nanosleep, req, rem);
    if (!ts_valid(req) || req->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    sleep_ns(ts_ns(req), weft__pc_site);
    if (rem != NULL)
        rem->tv_sec = 0, rem->tv_nsec = 0;
    return 0;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                    struct timespec *rem)
{
    if (!RUNNING())
        PASS(clock_nanosleep, clk, flags, req, rem);
    if (!ts_valid(req) || req->tv_sec < 0)
        return EINVAL;
    if (flags & TIMER_ABSTIME)
        weft_sleep_until_at(deadline_of(clk, req), SITE("clock_nanosleep"));
    else
        sleep_ns(ts_ns(req), weft__pc_site);
    if (rem != NULL && !(flags & TIMER_ABSTIME))
        rem->tv_sec = 0, rem->tv_nsec = 0;
    return 0;
}

int usleep(useconds_t us)
{
    if (!RUNNING())
        PASS(usleep, us);
    sleep_ns((int64_t)us * 1000, weft__pc_site);
    return 0;
}

unsigned int sleep(unsigned int s)
{
    if (!RUNNING())
        PASS(sleep, s);
    sleep_ns((int64_t)s * 1000000000, weft__pc_site);
    return 0;
}

int sched_yield(void)
{
    if (!RUNNING())
        PASS(sched_yield);
    weft_yield_at(SITE("sched_yield"));
    return 0;
}

/* ----------------------------------------------------------- exit */

/* exit() from any thread ends the execution with that status: a status
 * other than 0 is a finding (with weft's report); 0 ends the execution as
 * passed. In an isolated child that ends the child; in-process (no fork
 * server) it ends the whole exploration, which says so. */
void exit(int status)
{
    if (!RUNNING())
        weftcc_real_exit(status);
    weftcc_leave(status, WEFTCC_EXIT, call_ra);
}

/* _exit and _Exit end the execution too, without the atexit handlers
 * (weft's own calls, in a forked child, are glibc's). */
_Noreturn void weftcc_real__exit(int status);
_Noreturn void weftcc_real__exit(int status)
{
    static void (*real_)(int);
    if (real_ == NULL)
        real_ = (void (*)(int))weftcc_real("_exit");
    real_(status);
    abort();
}

void _exit(int status)
{
    if (!RUNNING() || weftcc_own_code(call_ra))
        weftcc_real__exit(status);
    weftcc_leave(status, WEFTCC__EXIT, call_ra);
}

void _Exit(int status)
{
    if (!RUNNING() || weftcc_own_code(call_ra))
        weftcc_real__exit(status);
    weftcc_leave(status, WEFTCC__EXIT, call_ra);
}

/* ----------------------------------------------------------- threads */

static pthread_t encode(weft_thread_t t)
{
    return (pthread_t)(((uint64_t)t.epoch << 32) | t.id);
}

static weft_thread_t decode(pthread_t p)
{
    weft_thread_t t = { (uint32_t)((uint64_t)p & 0xffffffffu),
                        (uint32_t)((uint64_t)p >> 32) };
    return t;
}

/* weft's -errno as a pthread error number. */
static int perr(int rc)
{
    return rc < 0 ? -rc : rc;
}

/* A thread's start: its function, then its keys' destructors. */
struct start {
    void *(*fn)(void *);
    void *arg;
};

/* A thread that made no visible operation of its own ends at its start
 * function in the trace, not at its creator's pthread_create line. */
static void returned_from(const void *fn)
{
    struct weft__task *t = weft__current->cur;
    if (t->ops == 0) {
        t->file = weft__pc_site;
        t->line = weftcc_pc_line((const char *)fn + 1);
    }
}

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    void *ret = s.fn(s.arg);
    returned_from((const void *)s.fn);
    weftcc_keys_thread_exit();
    return ret;
}

int pthread_create(pthread_t *restrict th, const pthread_attr_t *restrict attr,
                   void *(*fn)(void *), void *restrict arg)
{
    if (!RUNNING())
        PASS(pthread_create, th, attr, fn, arg);
    int detach = PTHREAD_CREATE_JOINABLE;
    if (attr != NULL)
        pthread_attr_getdetachstate(attr, &detach);
    struct start *s = malloc(sizeof *s);
    if (s == NULL)
        return EAGAIN;
    s->fn = fn;
    s->arg = arg;
    weft_thread_t t;
    __atomic_add_fetch(&weftcc_sh->threads, 1, __ATOMIC_RELAXED);
    int rc = hb_thread_spawn_at(&t, weftcc_func_name((const void *)fn),
                                trampoline, s, SITE("pthread_create"));
    if (rc != 0) {
        free(s);
        return rc == -ENOMEM ? EAGAIN : perr(rc);
    }
    if (detach == PTHREAD_CREATE_DETACHED)
        weft_thread_detach_at(t, SITE("pthread_create"));
    *th = encode(t);
    return 0;
}

int pthread_join(pthread_t th, void **ret)
{
    if (!RUNNING())
        PASS(pthread_join, th, ret);
    return perr(hb_thread_timedjoin_at(decode(th), ret, WEFT_FOREVER,
                                       SITE("pthread_join")));
}

int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abs)
{
    if (!RUNNING())
        PASS(pthread_timedjoin_np, th, ret, abs);
    int64_t d = abs == NULL ? WEFT_FOREVER : deadline_of(CLOCK_REALTIME, abs);
    int rc = hb_thread_timedjoin_at(decode(th), ret, d,
                                    SITE("pthread_timedjoin_np"));
    return rc == -EBUSY ? ETIMEDOUT : perr(rc);
}

int pthread_tryjoin_np(pthread_t th, void **ret)
{
    if (!RUNNING())
        PASS(pthread_tryjoin_np, th, ret);
    int rc =
        hb_thread_timedjoin_at(decode(th), ret, 0, SITE("pthread_tryjoin_np"));
    return rc == -ETIMEDOUT ? EBUSY : perr(rc);
}

int pthread_detach(pthread_t th)
{
    if (!RUNNING())
        PASS(pthread_detach, th);
    return perr(weft_thread_detach_at(decode(th), SITE("pthread_detach")));
}

void pthread_exit(void *ret)
{
    if (!RUNNING()) {
        static void (*real_exit)(void *);
        if (real_exit == NULL)
            real_exit = (void (*)(void *))weftcc_real("pthread_exit");
        real_exit(ret);
        abort();
    }
    weftcc_keys_thread_exit();
    weft_thread_exit_at(ret, SITE("pthread_exit"));
}

pthread_t pthread_self(void)
{
    if (!RUNNING())
        PASS(pthread_self);
    return encode(weft_thread_self());
}

int pthread_equal(pthread_t a, pthread_t b)
{
    return a == b;
}

/* Calls that take a thread handle but mean nothing for a weft task (it is
 * not an OS thread): naming, scheduling and CPU affinity are accepted and
 * change nothing. Cancellation and signals to a thread are not modelled:
 * the execution fails saying so, rather than glibc being handed a handle
 * it would dereference. */
#define UNMODELLED(name)                                                   \
    weft__assert_fail(weft__pc_site, weftcc_pc_line(call_ra), NULL,        \
                      "%s is not modelled by weft-cc: the program cannot " \
                      "be explored past it",                               \
                      name)

int pthread_setname_np(pthread_t th, const char *name)
{
    if (!RUNNING())
        PASS(pthread_setname_np, th, name);
    return strlen(name) < 16 ? 0 : ERANGE;
}

int pthread_getname_np(pthread_t th, char *buf, size_t len)
{
    if (!RUNNING())
        PASS(pthread_getname_np, th, buf, len);
    int n = snprintf(buf, len, "weft-%u", decode(th).id);
    return n < 0 || (size_t)n >= len ? ERANGE : 0;
}

int pthread_setschedparam(pthread_t th, int policy, const struct sched_param *p)
{
    if (!RUNNING())
        PASS(pthread_setschedparam, th, policy, p);
    return 0;
}

int pthread_getschedparam(pthread_t th, int *restrict policy,
                          struct sched_param *restrict p)
{
    if (!RUNNING())
        PASS(pthread_getschedparam, th, policy, p);
    *policy = SCHED_OTHER;
    p->sched_priority = 0;
    return 0;
}

int pthread_setaffinity_np(pthread_t th, size_t n, const cpu_set_t *set)
{
    if (!RUNNING())
        PASS(pthread_setaffinity_np, th, n, set);
    return 0;
}

int pthread_getaffinity_np(pthread_t th, size_t n, cpu_set_t *set)
{
    if (!RUNNING())
        PASS(pthread_getaffinity_np, th, n, set);
    CPU_ZERO_S(n, set);
    CPU_SET_S(0, n, set); /* every task runs on the one OS thread */
    return 0;
}

int pthread_cancel(pthread_t th)
{
    if (!RUNNING())
        PASS(pthread_cancel, th);
    UNMODELLED("pthread_cancel");
}

int pthread_kill(pthread_t th, int sig)
{
    if (!RUNNING())
        PASS(pthread_kill, th, sig);
    if (sig == 0) /* "does it exist": every handle the program holds did */
        return 0;
    UNMODELLED("pthread_kill");
}

/* ------------------------------------------------------------- mutexes */

static void mutex_init_entry(struct entry *e, const void *key)
{
    /* The type the program gave it: glibc keeps it in the object, set by
     * pthread_mutex_init or by a static initialiser
     * (PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, ...). */
    const pthread_mutex_t *pm = key;
    int kind = pm->__data.__kind & 3;
    weft_mutex_type_t type =
        kind == PTHREAD_MUTEX_RECURSIVE    ? WEFT_MUTEX_RECURSIVE
        : kind == PTHREAD_MUTEX_ERRORCHECK ? WEFT_MUTEX_ERRORCHECK
                                           : WEFT_MUTEX_NORMAL;
    weft_mutex_init_at(&e->u.m, type, SITE("pthread_mutex_init"));
}

static weft_mutex_t *wmutex(pthread_mutex_t *m)
{
    return &get(m, K_MUTEX, mutex_init_entry)->u.m;
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    static __typeof__(&pthread_mutex_init) real;
    if (real == NULL)
        real =
            (__typeof__(&pthread_mutex_init))weftcc_real("pthread_mutex_init");
    int rc = real(m, attr); /* glibc keeps the type in the object */
    if (rc != 0 || !RUNNING())
        return rc;
    bool fresh;
    struct entry *e = lookup(m, true, &fresh);
    memset(&e->u, 0, sizeof e->u);
    e->kind = K_MUTEX;
    e->dead = false;
    mutex_init_entry(e, m);
    return 0;
}

int pthread_mutex_destroy(pthread_mutex_t *m)
{
    if (!RUNNING())
        PASS(pthread_mutex_destroy, m);
    struct entry *e = get(m, K_MUTEX, mutex_init_entry);
    int rc = weft_mutex_destroy_at(&e->u.m, SITE("pthread_mutex_destroy"));
    if (rc == 0)
        e->dead = true;
    return perr(rc);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (!RUNNING())
        PASS(pthread_mutex_lock, m);
    return perr(hb_mutex_timedlock_at(wmutex(m), WEFT_FOREVER,
                                      SITE("pthread_mutex_lock")));
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    if (!RUNNING())
        PASS(pthread_mutex_trylock, m);
    int rc = hb_mutex_timedlock_at(wmutex(m), 0, SITE("pthread_mutex_trylock"));
    return rc == -ETIMEDOUT ? EBUSY : perr(rc);
}

int pthread_mutex_timedlock(pthread_mutex_t *restrict m,
                            const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(pthread_mutex_timedlock, m, abs);
    if (!ts_valid(abs))
        return EINVAL;
    int rc = hb_mutex_timedlock_at(wmutex(m), deadline_of(CLOCK_REALTIME, abs),
                                   SITE("pthread_mutex_timedlock"));
    return rc == -EBUSY ? ETIMEDOUT : perr(rc);
}

int pthread_mutex_clocklock(pthread_mutex_t *restrict m, clockid_t clk,
                            const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(pthread_mutex_clocklock, m, clk, abs);
    if (!ts_valid(abs))
        return EINVAL;
    int rc = hb_mutex_timedlock_at(wmutex(m), deadline_of(clk, abs),
                                   SITE("pthread_mutex_clocklock"));
    return rc == -EBUSY ? ETIMEDOUT : perr(rc);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (!RUNNING())
        PASS(pthread_mutex_unlock, m);
    return perr(hb_mutex_unlock_at(wmutex(m), SITE("pthread_mutex_unlock")));
}

/* Spinlocks are mutexes to weft: a spinning waiter is a blocked one. */
static void spin_init_entry(struct entry *e, const void *key)
{
    (void)key;
    weft_mutex_init_at(&e->u.m, WEFT_MUTEX_NORMAL, SITE("pthread_spin_init"));
}

/* pthread_spinlock_t is a volatile int: its address, as a plain key. */
#define SPIN_KEY(s) ((const void *)(uintptr_t)(s))

static weft_mutex_t *wspin(pthread_spinlock_t *s)
{
    return &get(SPIN_KEY(s), K_MUTEX, spin_init_entry)->u.m;
}

int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    if (!RUNNING())
        PASS(pthread_spin_init, s, pshared);
    struct entry *e = get(SPIN_KEY(s), K_MUTEX, spin_init_entry);
    spin_init_entry(e, SPIN_KEY(s));
    return 0;
}

int pthread_spin_destroy(pthread_spinlock_t *s)
{
    if (!RUNNING())
        PASS(pthread_spin_destroy, s);
    struct entry *e = get(SPIN_KEY(s), K_MUTEX, spin_init_entry);
    int rc = weft_mutex_destroy_at(&e->u.m, SITE("pthread_spin_destroy"));
    if (rc == 0)
        e->dead = true;
    return perr(rc);
}

int pthread_spin_lock(pthread_spinlock_t *s)
{
    if (!RUNNING())
        PASS(pthread_spin_lock, s);
    return perr(hb_mutex_timedlock_at(wspin(s), WEFT_FOREVER,
                                      SITE("pthread_spin_lock")));
}

int pthread_spin_trylock(pthread_spinlock_t *s)
{
    if (!RUNNING())
        PASS(pthread_spin_trylock, s);
    int rc = hb_mutex_timedlock_at(wspin(s), 0, SITE("pthread_spin_trylock"));
    return rc == -ETIMEDOUT ? EBUSY : perr(rc);
}

int pthread_spin_unlock(pthread_spinlock_t *s)
{
    if (!RUNNING())
        PASS(pthread_spin_unlock, s);
    return perr(hb_mutex_unlock_at(wspin(s), SITE("pthread_spin_unlock")));
}

/* --------------------------------------------------- condition variables */

static void cond_init_entry(struct entry *e, const void *key)
{
    (void)key;
    weft_cond_init_at(&e->u.c, SITE("pthread_cond_init"));
}

int pthread_cond_init(pthread_cond_t *restrict c,
                      const pthread_condattr_t *restrict attr)
{
    if (!RUNNING())
        PASS(pthread_cond_init, c, attr);
    bool fresh;
    struct entry *e = lookup(c, true, &fresh);
    memset(&e->u, 0, sizeof e->u);
    e->kind = K_COND;
    e->dead = false;
    e->clock = CLOCK_REALTIME;
    if (attr != NULL)
        pthread_condattr_getclock(attr, &e->clock);
    cond_init_entry(e, c);
    return 0;
}

int pthread_cond_destroy(pthread_cond_t *c)
{
    if (!RUNNING())
        PASS(pthread_cond_destroy, c);
    struct entry *e = get(c, K_COND, cond_init_entry);
    int rc = weft_cond_destroy_at(&e->u.c, SITE("pthread_cond_destroy"));
    if (rc == 0)
        e->dead = true;
    return perr(rc);
}

int pthread_cond_wait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m)
{
    if (!RUNNING())
        PASS(pthread_cond_wait, c, m);
    struct entry *e = get(c, K_COND, cond_init_entry);
    return perr(hb_cond_timedwait_at(&e->u.c, wmutex(m), WEFT_FOREVER,
                                     SITE("pthread_cond_wait")));
}

static int cond_timed(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                      bool use_entry_clock, const struct timespec *abs,
                      const char *file)
{
    if (!ts_valid(abs))
        return EINVAL;
    struct entry *e = get(c, K_COND, cond_init_entry);
    int64_t d = deadline_of(use_entry_clock ? e->clock : clk, abs);
    int rc = hb_cond_timedwait_at(&e->u.c, wmutex(m), d, file,
                                  weftcc_pc_line(call_ra));
    return rc == -EBUSY ? ETIMEDOUT : perr(rc);
}

int pthread_cond_timedwait(pthread_cond_t *restrict c,
                           pthread_mutex_t *restrict m,
                           const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(pthread_cond_timedwait, c, m, abs);
    return cond_timed(c, m, CLOCK_REALTIME, true, abs, weft__pc_site);
}

int pthread_cond_clockwait(pthread_cond_t *restrict c,
                           pthread_mutex_t *restrict m, clockid_t clk,
                           const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(pthread_cond_clockwait, c, m, clk, abs);
    return cond_timed(c, m, clk, false, abs, weft__pc_site);
}

int pthread_cond_signal(pthread_cond_t *c)
{
    if (!RUNNING())
        PASS(pthread_cond_signal, c);
    return perr(weft_cond_signal_at(&get(c, K_COND, cond_init_entry)->u.c,
                                    false, SITE("pthread_cond_signal")));
}

int pthread_cond_broadcast(pthread_cond_t *c)
{
    if (!RUNNING())
        PASS(pthread_cond_broadcast, c);
    return perr(weft_cond_signal_at(&get(c, K_COND, cond_init_entry)->u.c, true,
                                    SITE("pthread_cond_broadcast")));
}

/* ------------------------------------------------------------- rwlocks */

static void rw_init_entry(struct entry *e, const void *key)
{
    (void)key;
    weft_rwlock_init_at(&e->u.rw, SITE("pthread_rwlock_init"));
}

static weft_rwlock_t *wrw(pthread_rwlock_t *rw)
{
    return &get(rw, K_RWLOCK, rw_init_entry)->u.rw;
}

int pthread_rwlock_init(pthread_rwlock_t *restrict rw,
                        const pthread_rwlockattr_t *restrict attr)
{
    if (!RUNNING())
        PASS(pthread_rwlock_init, rw, attr);
    struct entry *e = get(rw, K_RWLOCK, NULL);
    rw_init_entry(e, rw);
    return 0;
}

int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
    if (!RUNNING())
        PASS(pthread_rwlock_destroy, rw);
    struct entry *e = get(rw, K_RWLOCK, rw_init_entry);
    int rc = weft_rwlock_destroy_at(&e->u.rw, SITE("pthread_rwlock_destroy"));
    if (rc == 0)
        e->dead = true;
    return perr(rc);
}

static int rw_lock(pthread_rwlock_t *rw, bool write, int64_t d, bool timed,
                   const char *file)
{
    int rc =
        hb_rwlock_lock_at(wrw(rw), write, d, file, weftcc_pc_line(call_ra));
    if (timed && rc == -EBUSY)
        return ETIMEDOUT;
    if (!timed && rc == -ETIMEDOUT)
        return EBUSY;
    return perr(rc);
}

int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
    if (!RUNNING())
        PASS(pthread_rwlock_rdlock, rw);
    return rw_lock(rw, false, WEFT_FOREVER, false, weft__pc_site);
}

int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
    if (!RUNNING())
        PASS(pthread_rwlock_wrlock, rw);
    return rw_lock(rw, true, WEFT_FOREVER, false, weft__pc_site);
}

int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
    if (!RUNNING())
        PASS(pthread_rwlock_tryrdlock, rw);
    return rw_lock(rw, false, 0, false, weft__pc_site);
}

int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
    if (!RUNNING())
        PASS(pthread_rwlock_trywrlock, rw);
    return rw_lock(rw, true, 0, false, weft__pc_site);
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t *restrict rw,
                               const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(pthread_rwlock_timedrdlock, rw, abs);
    if (!ts_valid(abs))
        return EINVAL;
    return rw_lock(rw, false, deadline_of(CLOCK_REALTIME, abs), true,
                   weft__pc_site);
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t *restrict rw,
                               const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(pthread_rwlock_timedwrlock, rw, abs);
    if (!ts_valid(abs))
        return EINVAL;
    return rw_lock(rw, true, deadline_of(CLOCK_REALTIME, abs), true,
                   weft__pc_site);
}

int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
    if (!RUNNING())
        PASS(pthread_rwlock_unlock, rw);
    return perr(hb_rwlock_unlock_at(wrw(rw), SITE("pthread_rwlock_unlock")));
}

/* ------------------------------------------------------------ barriers */

static void barrier_init_entry(struct entry *e, const void *key)
{
    (void)key;
    /* A barrier used without pthread_barrier_init in this execution:
     * nothing sensible to restart it with but a count of 1. */
    weft_barrier_init_at(&e->u.b, 1, SITE("pthread_barrier_init"));
}

int pthread_barrier_init(pthread_barrier_t *restrict b,
                         const pthread_barrierattr_t *restrict attr,
                         unsigned count)
{
    if (!RUNNING())
        PASS(pthread_barrier_init, b, attr, count);
    if (count == 0)
        return EINVAL;
    struct entry *e = get(b, K_BARRIER, NULL);
    return perr(
        weft_barrier_init_at(&e->u.b, count, SITE("pthread_barrier_init")));
}

int pthread_barrier_destroy(pthread_barrier_t *b)
{
    if (!RUNNING())
        PASS(pthread_barrier_destroy, b);
    struct entry *e = get(b, K_BARRIER, barrier_init_entry);
    int rc = weft_barrier_destroy_at(&e->u.b, SITE("pthread_barrier_destroy"));
    if (rc == 0)
        e->dead = true;
    return perr(rc);
}

int pthread_barrier_wait(pthread_barrier_t *b)
{
    if (!RUNNING())
        PASS(pthread_barrier_wait, b);
    int rc = hb_barrier_wait_at(&get(b, K_BARRIER, barrier_init_entry)->u.b,
                                SITE("pthread_barrier_wait"));
    if (rc == WEFT_BARRIER_SERIAL)
        return PTHREAD_BARRIER_SERIAL_THREAD;
    return perr(rc);
}

/* ----------------------------------------------------------------- once */

static void once_init_entry(struct entry *e, const void *key)
{
    (void)key;
    weft_once_t o = WEFT_ONCE_INIT;
    e->u.o = o;
}

int pthread_once(pthread_once_t *o, void (*fn)(void))
{
    if (!RUNNING())
        PASS(pthread_once, o, fn);
    return perr(hb_once_at(&get(o, K_ONCE, once_init_entry)->u.o, fn,
                           SITE("pthread_once")));
}

/* ----------------------------------------------------------- semaphores */

static void sem_init_entry(struct entry *e, const void *key)
{
    /* Used without sem_init in this execution: start from the value glibc
     * holds (sem_init before the exploration, or 0). */
    static __typeof__(&sem_getvalue) real;
    if (real == NULL)
        real = (__typeof__(&sem_getvalue))weftcc_real("sem_getvalue");
    int v = 0;
    real((sem_t *)(uintptr_t)key, &v);
    weft_sem_init_at(&e->u.s, v < 0 ? 0 : (unsigned)v, SITE("sem_init"));
}

int sem_init(sem_t *s, int pshared, unsigned value)
{
    static __typeof__(&sem_init) real;
    if (real == NULL)
        real = (__typeof__(&sem_init))weftcc_real("sem_init");
    int rc = real(s, pshared, value);
    if (rc != 0 || !RUNNING())
        return rc;
    struct entry *e = get(s, K_SEM, NULL);
    weft_sem_init_at(&e->u.s, value, SITE("sem_init"));
    return 0;
}

int sem_destroy(sem_t *s)
{
    if (!RUNNING())
        PASS(sem_destroy, s);
    struct entry *e = get(s, K_SEM, sem_init_entry);
    int rc = weft_sem_destroy_at(&e->u.s, SITE("sem_destroy"));
    if (rc != 0) {
        errno = -rc;
        return -1;
    }
    e->dead = true;
    return 0;
}

static int sem_ret(int rc, int busy_errno)
{
    if (rc == 0)
        return 0;
    errno =
        (rc == -EAGAIN || rc == -ETIMEDOUT || rc == -EBUSY) ? busy_errno : -rc;
    return -1;
}

int sem_wait(sem_t *s)
{
    if (!RUNNING())
        PASS(sem_wait, s);
    return sem_ret(hb_sem_timedwait_at(&get(s, K_SEM, sem_init_entry)->u.s,
                                       WEFT_FOREVER, SITE("sem_wait")),
                   EAGAIN);
}

int sem_trywait(sem_t *s)
{
    if (!RUNNING())
        PASS(sem_trywait, s);
    return sem_ret(hb_sem_timedwait_at(&get(s, K_SEM, sem_init_entry)->u.s, 0,
                                       SITE("sem_trywait")),
                   EAGAIN);
}

int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(sem_timedwait, s, abs);
    if (!ts_valid(abs)) {
        errno = EINVAL;
        return -1;
    }
    return sem_ret(hb_sem_timedwait_at(&get(s, K_SEM, sem_init_entry)->u.s,
                                       deadline_of(CLOCK_REALTIME, abs),
                                       SITE("sem_timedwait")),
                   ETIMEDOUT);
}

int sem_post(sem_t *s)
{
    if (!RUNNING())
        PASS(sem_post, s);
    int rc =
        hb_sem_post_at(&get(s, K_SEM, sem_init_entry)->u.s, SITE("sem_post"));
    if (rc != 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

int sem_getvalue(sem_t *restrict s, int *restrict v)
{
    if (!RUNNING())
        PASS(sem_getvalue, s, v);
    *v = (int)weft_sem_value(&get(s, K_SEM, sem_init_entry)->u.s);
    return 0;
}

/* ------------------------------------------------------------ C11 threads */

struct c11_start {
    thrd_start_t fn;
    void *arg;
};

static void *c11_trampoline(void *p)
{
    struct c11_start s = *(struct c11_start *)p;
    free(p);
    int res = s.fn(s.arg);
    returned_from((const void *)s.fn);
    weftcc_keys_thread_exit();
    return (void *)(intptr_t)res;
}

static int c11_err(int rc)
{
    switch (rc) {
    case 0:
        return thrd_success;
    case -EBUSY:
        return thrd_busy;
    case -ETIMEDOUT:
        return thrd_timedout;
    case -ENOMEM:
        return thrd_nomem;
    default:
        return thrd_error;
    }
}

__attribute__((weak)) int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
    if (!RUNNING())
        PASS(thrd_create, thr, fn, arg);
    struct c11_start *s = malloc(sizeof *s);
    if (s == NULL)
        return thrd_nomem;
    s->fn = fn;
    s->arg = arg;
    weft_thread_t t;
    __atomic_add_fetch(&weftcc_sh->threads, 1, __ATOMIC_RELAXED);
    int rc = hb_thread_spawn_at(&t, weftcc_func_name((const void *)fn),
                                c11_trampoline, s, SITE("thrd_create"));
    if (rc != 0) {
        free(s);
        return c11_err(rc);
    }
    *thr = (thrd_t)encode(t);
    return thrd_success;
}

__attribute__((weak)) int thrd_join(thrd_t thr, int *res)
{
    if (!RUNNING())
        PASS(thrd_join, thr, res);
    void *ret = NULL;
    int rc = hb_thread_timedjoin_at(decode((pthread_t)thr), &ret, WEFT_FOREVER,
                                    SITE("thrd_join"));
    if (rc != 0)
        return thrd_error;
    if (res != NULL)
        *res = (int)(intptr_t)ret;
    return thrd_success;
}

__attribute__((weak)) int thrd_detach(thrd_t thr)
{
    if (!RUNNING())
        PASS(thrd_detach, thr);
    return c11_err(
        weft_thread_detach_at(decode((pthread_t)thr), SITE("thrd_detach")));
}

__attribute__((weak)) void thrd_exit(int res)
{
    if (!RUNNING()) {
        static void (*real_exit)(int);
        if (real_exit == NULL)
            real_exit = (void (*)(int))weftcc_real("thrd_exit");
        real_exit(res);
        abort();
    }
    weftcc_keys_thread_exit();
    weft_thread_exit_at((void *)(intptr_t)res, SITE("thrd_exit"));
}

__attribute__((weak)) thrd_t thrd_current(void)
{
    if (!RUNNING())
        PASS(thrd_current);
    return (thrd_t)encode(weft_thread_self());
}

__attribute__((weak)) int thrd_equal(thrd_t a, thrd_t b)
{
    return a == b;
}

__attribute__((weak)) void thrd_yield(void)
{
    if (!RUNNING()) {
        static void (*real_yield)(void);
        if (real_yield == NULL)
            real_yield = (void (*)(void))weftcc_real("thrd_yield");
        real_yield();
        return;
    }
    weft_yield_at(SITE("thrd_yield"));
}

__attribute__((weak)) int thrd_sleep(const struct timespec *dur,
                                     struct timespec *rem)
{
    if (!RUNNING())
        PASS(thrd_sleep, dur, rem);
    if (!ts_valid(dur) || dur->tv_sec < 0)
        return -2;
    sleep_ns(ts_ns(dur), weft__pc_site);
    if (rem != NULL)
        rem->tv_sec = 0, rem->tv_nsec = 0;
    return 0;
}

__attribute__((weak)) int mtx_init(mtx_t *m, int type)
{
    if (!RUNNING())
        PASS(mtx_init, m, type);
    bool fresh;
    struct entry *e = lookup(m, true, &fresh);
    memset(&e->u, 0, sizeof e->u);
    e->kind = K_MUTEX;
    e->dead = false;
    /* C11 has no error-checking mutex; a relock of a plain one is a
     * finding, as for a normal pthread mutex. */
    return c11_err(weft_mutex_init_at(
        &e->u.m,
        (type & mtx_recursive) ? WEFT_MUTEX_RECURSIVE : WEFT_MUTEX_NORMAL,
        SITE("mtx_init")));
}

static weft_mutex_t *wmtx(mtx_t *m)
{
    /* A mtx_t is a pthread_mutex_t in glibc: the type is in it. */
    return &get(m, K_MUTEX, mutex_init_entry)->u.m;
}

__attribute__((weak)) void mtx_destroy(mtx_t *m)
{
    if (!RUNNING()) {
        static void (*real_destroy)(mtx_t *);
        if (real_destroy == NULL)
            real_destroy = (void (*)(mtx_t *))weftcc_real("mtx_destroy");
        real_destroy(m);
        return;
    }
    struct entry *e = get(m, K_MUTEX, mutex_init_entry);
    if (weft_mutex_destroy_at(&e->u.m, SITE("mtx_destroy")) == 0)
        e->dead = true;
}

__attribute__((weak)) int mtx_lock(mtx_t *m)
{
    if (!RUNNING())
        PASS(mtx_lock, m);
    return c11_err(
        hb_mutex_timedlock_at(wmtx(m), WEFT_FOREVER, SITE("mtx_lock")));
}

__attribute__((weak)) int mtx_trylock(mtx_t *m)
{
    if (!RUNNING())
        PASS(mtx_trylock, m);
    int rc = hb_mutex_timedlock_at(wmtx(m), 0, SITE("mtx_trylock"));
    return rc == -ETIMEDOUT ? thrd_busy : c11_err(rc);
}

__attribute__((weak)) int mtx_timedlock(mtx_t *restrict m,
                                        const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(mtx_timedlock, m, abs);
    if (!ts_valid(abs))
        return thrd_error;
    int rc = hb_mutex_timedlock_at(wmtx(m), deadline_of(CLOCK_REALTIME, abs),
                                   SITE("mtx_timedlock"));
    return rc == -EBUSY ? thrd_timedout : c11_err(rc);
}

__attribute__((weak)) int mtx_unlock(mtx_t *m)
{
    if (!RUNNING())
        PASS(mtx_unlock, m);
    return c11_err(hb_mutex_unlock_at(wmtx(m), SITE("mtx_unlock")));
}

__attribute__((weak)) int cnd_init(cnd_t *c)
{
    if (!RUNNING())
        PASS(cnd_init, c);
    struct entry *e = get(c, K_COND, cond_init_entry);
    cond_init_entry(e, c);
    return thrd_success;
}

__attribute__((weak)) void cnd_destroy(cnd_t *c)
{
    if (!RUNNING()) {
        static void (*real_destroy)(cnd_t *);
        if (real_destroy == NULL)
            real_destroy = (void (*)(cnd_t *))weftcc_real("cnd_destroy");
        real_destroy(c);
        return;
    }
    struct entry *e = get(c, K_COND, cond_init_entry);
    if (weft_cond_destroy_at(&e->u.c, SITE("cnd_destroy")) == 0)
        e->dead = true;
}

__attribute__((weak)) int cnd_signal(cnd_t *c)
{
    if (!RUNNING())
        PASS(cnd_signal, c);
    return c11_err(weft_cond_signal_at(&get(c, K_COND, cond_init_entry)->u.c,
                                       false, SITE("cnd_signal")));
}

__attribute__((weak)) int cnd_broadcast(cnd_t *c)
{
    if (!RUNNING())
        PASS(cnd_broadcast, c);
    return c11_err(weft_cond_signal_at(&get(c, K_COND, cond_init_entry)->u.c,
                                       true, SITE("cnd_broadcast")));
}

__attribute__((weak)) int cnd_wait(cnd_t *c, mtx_t *m)
{
    if (!RUNNING())
        PASS(cnd_wait, c, m);
    return c11_err(hb_cond_timedwait_at(&get(c, K_COND, cond_init_entry)->u.c,
                                        wmtx(m), WEFT_FOREVER,
                                        SITE("cnd_wait")));
}

__attribute__((weak)) int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
                                        const struct timespec *restrict abs)
{
    if (!RUNNING())
        PASS(cnd_timedwait, c, m, abs);
    if (!ts_valid(abs))
        return thrd_error;
    int rc = hb_cond_timedwait_at(&get(c, K_COND, cond_init_entry)->u.c,
                                  wmtx(m), deadline_of(CLOCK_REALTIME, abs),
                                  SITE("cnd_timedwait"));
    return rc == -EBUSY ? thrd_timedout : c11_err(rc);
}

__attribute__((weak)) void call_once(once_flag *flag, void (*fn)(void))
{
    if (!RUNNING()) {
        static void (*real_once)(once_flag *, void (*)(void));
        if (real_once == NULL)
            real_once =
                (void (*)(once_flag *, void (*)(void)))weftcc_real("call_once");
        real_once(flag, fn);
        return;
    }
    hb_once_at(&get(flag, K_ONCE, once_init_entry)->u.o, fn, SITE("call_once"));
}
