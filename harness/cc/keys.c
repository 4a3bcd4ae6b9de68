/*
 * keys.c: thread-specific data (pthread_key_create, pthread_getspecific,
 * ..., and C11's tss_*) per weft thread while an exploration runs.
 *
 * All tasks of an execution run on one OS thread, so glibc's keys would
 * give them one shared value per key. In a task of a running exploration
 * the interposers below keep the values per weft thread instead
 * (weft_thread_self().id); anywhere else they pass through to glibc, like
 * interpose.c's. Making and deleting a key are scheduling points: they
 * change the process's key table, and which number a key gets depends on
 * their order across threads (a number deleted by one thread may be the
 * next one another thread makes). Getting and setting a value are not: a
 * thread's own values are invisible to the others.
 *
 * Key numbers. glibc's keys are below PTHREAD_KEYS_MAX. A key made during
 * an execution is PTHREAD_KEYS_MAX + i, i the lowest free index: the same
 * number in every execution that makes the same calls (never an address),
 * never one of glibc's, and one glibc rejects (EINVAL) should it reach
 * glibc outside the exploration.
 *
 * Keys made before the exploration ("foreign": a constructor's, say) went
 * through pthread_key_create or tss_create here too, passed through: they
 * are recorded with their destructor and get per-thread values as well,
 * the main thread (id 0) starting with the value glibc holds for the OS
 * thread (what the constructor set), the others with NULL. Deleting one
 * during an execution hides it for that execution only and leaves glibc's
 * key alone, so the next execution of an in-process exploration starts as
 * the first did. A key below PTHREAD_KEYS_MAX that was not seen made here
 * is glibc's business: passed through.
 *
 * The state belongs to one execution (weft_thread_self().epoch): the first
 * call of a new execution drops the keys made in the last one and every
 * value, without destructors (that execution is over; in the default
 * isolated mode each execution is a fresh process anyway). Thread ids are
 * not reused within an execution, so a new thread finds no values.
 *
 * tss_* need interposers of their own: glibc's call its internal
 * __pthread_key_create etc., not the pthread_* symbols. tss_t and
 * pthread_key_t share one numbering, as in glibc.
 *
 * libweft's own keys (lockorder.c, fuzz.c) are renamed to
 * weftcc_real_pthread_key_create etc. (Makefile, weft-cc section), which
 * reach glibc through dlsym(RTLD_NEXT): defining the public names here
 * does not take them over.
 */
#include "keys.h"

#include "weft.h"
#include "weftcc.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

typedef void (*dtor_t)(void *);

#define NKEYS PTHREAD_KEYS_MAX

/* A thread's values are indexed by slot: the keys made in this execution
 * first (slot i for key NKEYS + i), then the foreign ones (slot NKEYS + k
 * for glibc's key k), so the usual program, with no foreign key, needs
 * only a few slots per thread. */

static uint32_t slot_of(pthread_key_t k)
{
    return k >= NKEYS ? k - NKEYS : k + NKEYS;
}

/* ------------------------------------------------------ real functions */

static int real_pthread_key_delete(pthread_key_t k)
{
    static __typeof__(&pthread_key_delete) real;
    if (real == NULL)
        real =
            (__typeof__(&pthread_key_delete))weftcc_real("pthread_key_delete");
    return real(k);
}

static int real_tss_create(tss_t *k, tss_dtor_t d)
{
    static __typeof__(&tss_create) real;
    if (real == NULL)
        real = (__typeof__(&tss_create))weftcc_real("tss_create");
    return real(k, d);
}

static void real_tss_delete(tss_t k)
{
    static __typeof__(&tss_delete) real;
    if (real == NULL)
        real = (__typeof__(&tss_delete))weftcc_real("tss_delete");
    real(k);
}

static void *real_tss_get(tss_t k)
{
    static __typeof__(&tss_get) real;
    if (real == NULL)
        real = (__typeof__(&tss_get))weftcc_real("tss_get");
    return real(k);
}

static int real_tss_set(tss_t k, void *v)
{
    static __typeof__(&tss_set) real;
    if (real == NULL)
        real = (__typeof__(&tss_set))weftcc_real("tss_set");
    return real(k, v);
}

static void oom(void)
{
    static const char msg[] = "weft-cc: out of memory\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
}

/* ---------------------------------------------------------------- state */

/* glibc's keys made outside an exploration, by glibc's number. Written
 * only outside one, by whichever OS thread makes or deletes the key (the
 * program orders those calls for one key), read only inside one. */
static struct foreign {
    bool live;
    dtor_t dtor;
} foreign[NKEYS];

/* This execution's: its keys, the foreign keys it deleted, and each
 * thread's values by weft thread id. */
static struct key {
    bool live;
    dtor_t dtor;
} keys[NKEYS];
static unsigned nkeys;        /* live entries of keys[] */
static unsigned keys_high;    /* entries of keys[] used in this execution */
static bool gone[NKEYS];      /* foreign keys deleted in this execution */
static bool any_gone;         /* some are */
static unsigned nforeign;     /* foreign keys live in this execution */
static unsigned nforeign_out; /* foreign keys live outside executions */

struct tsd {
    void **v; /* by slot; NULL past cap */
    uint32_t cap;
    bool seeded; /* main thread: foreign values taken from glibc */
};
static struct tsd *tsds;
static uint32_t ntsds;

static uint32_t cur_epoch;
static bool started;

static void record(pthread_key_t k, dtor_t d)
{
    if (k < NKEYS) {
        foreign[k].dtor = d;
        nforeign_out += !foreign[k].live;
        foreign[k].live = true;
    }
}

static void unrecord(pthread_key_t k)
{
    if (k < NKEYS) {
        nforeign_out -= foreign[k].live;
        foreign[k].live = false;
    }
}

/* A new execution: only what the last one used is cleared (this runs in
 * every execution's first thread call). */
static void reset(uint32_t epoch)
{
    for (uint32_t i = 0; i < ntsds; i++)
        weftcc_real_free(tsds[i].v);
    weftcc_real_free(tsds);
    tsds = NULL;
    ntsds = 0;
    memset(keys, 0, keys_high * sizeof keys[0]);
    nkeys = keys_high = 0;
    if (any_gone)
        memset(gone, 0, sizeof gone);
    any_gone = false;
    nforeign = nforeign_out;
    cur_epoch = epoch;
    started = true;
}

/* The calling weft thread's id, after dropping a past execution's state. */
static uint32_t self(void)
{
    weft_thread_t t = weft_thread_self();
    if (!started || t.epoch != cur_epoch)
        reset(t.epoch);
    return t.id;
}

/* Store v in slot s of t. Returns 0 or ENOMEM. */
static int put(struct tsd *t, uint32_t s, const void *v)
{
    if (s >= t->cap) {
        if (v == NULL)
            return 0; /* past cap already reads NULL */
        uint32_t n = t->cap ? t->cap : 8;
        while (n <= s)
            n *= 2;
        void **p = weftcc_real_realloc(t->v, n * sizeof *p);
        if (p == NULL)
            return ENOMEM;
        memset(p + t->cap, 0, (n - t->cap) * sizeof *p);
        t->v = p;
        t->cap = n;
    }
    t->v[s] = (void *)(uintptr_t)v;
    return 0;
}

/* Thread id's values. The pointer is good until the next call that may
 * run another thread or make another thread's values (a destructor, a
 * key operation of another thread). */
static struct tsd *tsd_of(uint32_t id)
{
    if (id >= ntsds) {
        uint32_t n = ntsds ? ntsds : 8;
        while (n <= id)
            n *= 2;
        struct tsd *p = weftcc_real_realloc(tsds, n * sizeof *p);
        if (p == NULL)
            oom();
        memset(p + ntsds, 0, (n - ntsds) * sizeof *p);
        tsds = p;
        ntsds = n;
    }
    struct tsd *t = &tsds[id];
    if (id == 0 && !t->seeded) {
        /* The main thread is the OS thread that ran the constructors:
         * what they set in glibc is its value. Nothing inside the
         * exploration changes glibc's values, so every execution starts
         * from the same ones. */
        t->seeded = true;
        for (pthread_key_t k = 0; k < NKEYS; k++)
            if (foreign[k].live && !gone[k] &&
                put(t, slot_of(k), weftcc_real_pthread_getspecific(k)))
                oom();
    }
    return t;
}

enum { KEY_BAD, KEY_OK, KEY_GLIBC };

/* What k is in this execution (after self()). */
static int check(pthread_key_t k)
{
    if (k < NKEYS)
        return !foreign[k].live ? KEY_GLIBC : gone[k] ? KEY_BAD : KEY_OK;
    if (k - NKEYS < NKEYS && keys[k - NKEYS].live)
        return KEY_OK;
    return KEY_BAD;
}

/* The destructor of the key of slot s, NULL if none or the key is gone. */
static dtor_t dtor_of(uint32_t s)
{
    if (s < NKEYS)
        return keys[s].live ? keys[s].dtor : NULL;
    s -= NKEYS;
    return foreign[s].live && !gone[s] ? foreign[s].dtor : NULL;
}

/* ------------------------------------------------------------ core ops */

static int key_create(pthread_key_t *k, dtor_t d, int line)
{
    weft_yield_at(weft__pc_site, line);
    (void)self();
    /* PTHREAD_KEYS_MAX is the process's limit, the foreign keys count. */
    if (nkeys + nforeign >= NKEYS)
        return EAGAIN;
    unsigned i = 0;
    while (keys[i].live)
        i++;
    keys[i].live = true;
    keys[i].dtor = d;
    nkeys++;
    if (i + 1 > keys_high)
        keys_high = i + 1;
    *k = (pthread_key_t)(NKEYS + i);
    return 0;
}

/* Returns 0, EINVAL, or -1: glibc's key, for the caller to pass on. */
static int key_delete(pthread_key_t k, int line)
{
    weft_yield_at(weft__pc_site, line);
    (void)self();
    switch (check(k)) {
    case KEY_GLIBC:
        return -1;
    case KEY_BAD:
        return EINVAL;
    }
    if (k < NKEYS) {
        gone[k] = true;
        any_gone = true;
        nforeign--;
    } else {
        keys[k - NKEYS].live = false;
        nkeys--;
    }
    /* No destructors; every thread's value goes, so that a key made later
     * with this number starts NULL everywhere. */
    uint32_t s = slot_of(k);
    for (uint32_t i = 0; i < ntsds; i++)
        if (s < tsds[i].cap)
            tsds[i].v[s] = NULL;
    return 0;
}

/* *v = the calling thread's value; returns KEY_OK, KEY_BAD (*v = NULL) or
 * KEY_GLIBC. */
static int key_get(pthread_key_t k, void **v)
{
    uint32_t id = self();
    *v = NULL;
    int c = check(k);
    if (c != KEY_OK)
        return c;
    struct tsd *t = tsd_of(id);
    uint32_t s = slot_of(k);
    if (s < t->cap)
        *v = t->v[s];
    return KEY_OK;
}

/* Returns 0, EINVAL, ENOMEM, or -1: glibc's key. */
static int key_set(pthread_key_t k, const void *v)
{
    uint32_t id = self();
    switch (check(k)) {
    case KEY_GLIBC:
        return -1;
    case KEY_BAD:
        return EINVAL;
    }
    return put(tsd_of(id), slot_of(k), v);
}

void weftcc_keys_thread_exit(void)
{
    if (!weft_running())
        return;
    uint32_t id = self();
    /* POSIX: each non-NULL value is set to NULL, then its destructor
     * called with it; while destructors leave non-NULL values behind (set
     * them again), repeat, up to PTHREAD_DESTRUCTOR_ITERATIONS rounds (as
     * glibc: values of keys without a destructor are just dropped). A
     * destructor may block and let other threads run, which may move
     * tsds and make or delete keys: nothing is kept across the call. */
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        bool called = false;
        for (uint32_t s = 0;; s++) {
            struct tsd *t = tsd_of(id);
            if (s >= t->cap)
                break;
            void *v = t->v[s];
            if (v == NULL)
                continue;
            t->v[s] = NULL;
            dtor_t d = dtor_of(s);
            if (d != NULL) {
                d(v);
                called = true;
            }
        }
        if (!called)
            break;
    }
    /* What the last round's destructors set again is dropped. */
    struct tsd *t = tsd_of(id);
    weftcc_real_free(t->v);
    t->v = NULL;
    t->cap = 0;
}

/* -------------------------------------------------------------- pthread */

int pthread_key_create(pthread_key_t *k, void (*d)(void *))
{
    if (!weft_running()) {
        int rc = weftcc_real_pthread_key_create(k, d);
        if (rc == 0)
            record(*k, d);
        return rc;
    }
    return key_create(k, d, weftcc_pc_line(__builtin_return_address(0)));
}

int pthread_key_delete(pthread_key_t k)
{
    if (weft_running()) {
        int rc = key_delete(k, weftcc_pc_line(__builtin_return_address(0)));
        if (rc >= 0)
            return rc;
        /* glibc's key, not seen made: glibc decides */
    }
    int rc = real_pthread_key_delete(k);
    if (rc == 0 && !weft_running())
        unrecord(k);
    return rc;
}

void *pthread_getspecific(pthread_key_t k)
{
    void *v;
    if (!weft_running() || key_get(k, &v) == KEY_GLIBC)
        return weftcc_real_pthread_getspecific(k);
    return v;
}

int pthread_setspecific(pthread_key_t k, const void *v)
{
    if (weft_running()) {
        int rc = key_set(k, v);
        if (rc >= 0)
            return rc;
    }
    return weftcc_real_pthread_setspecific(k, v);
}

/* ----------------------------------------------------------------- C11 */

__attribute__((weak)) int tss_create(tss_t *k, tss_dtor_t d)
{
    if (!weft_running()) {
        int rc = real_tss_create(k, d);
        if (rc == thrd_success)
            record(*k, d);
        return rc;
    }
    pthread_key_t pk;
    if (key_create(&pk, d, weftcc_pc_line(__builtin_return_address(0))) != 0)
        return thrd_error;
    *k = (tss_t)pk;
    return thrd_success;
}

__attribute__((weak)) void tss_delete(tss_t k)
{
    if (weft_running() &&
        key_delete(k, weftcc_pc_line(__builtin_return_address(0))) >= 0)
        return;
    real_tss_delete(k);
    if (!weft_running())
        unrecord(k);
}

__attribute__((weak)) void *tss_get(tss_t k)
{
    void *v;
    if (!weft_running() || key_get(k, &v) == KEY_GLIBC)
        return real_tss_get(k);
    return v;
}

__attribute__((weak)) int tss_set(tss_t k, void *v)
{
    if (weft_running()) {
        int rc = key_set(k, v);
        if (rc >= 0)
            return rc == 0 ? thrd_success : thrd_error;
    }
    return real_tss_set(k, v);
}
