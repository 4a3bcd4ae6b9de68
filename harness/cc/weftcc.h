/*
 * weftcc.h: the cc layer (harness/cc/), weft-cc's runtime: what the
 * objects weft-cc links into a user's program (interpose.c, keys.c,
 * main.c, tsan.c) share. Not installed, not part of libweft. It is the top
 * layer and may use every layer below. Uses: explore, report, loop, sync,
 * core, platform.
 */
#ifndef WEFTCC_H
#define WEFTCC_H

#include "explore/explore.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* weft-cc's default step bound (WEFT_MAX_STEPS): see main.c. */
#define WEFTCC_MAX_STEPS 10000000ull

/* Virtual clocks: CLOCK_REALTIME starts at this epoch (2023-11-14), the
 * monotonic clocks at WEFTCC_MONO_BASE, both plus weft_now(). */
#define WEFTCC_REALTIME_BASE ((int64_t)1700000000 * 1000000000)
#define WEFTCC_MONO_BASE     ((int64_t)1000 * 1000000000)

/* What one execution run in a forked child (WEFT_ISOLATE=fork) tells the
 * parent. */
enum weftcc_state {
    WEFTCC_NONE = 0, /* the child died before saying anything */
    WEFTCC_PASS,     /* the execution passed */
    WEFTCC_FINDING,  /* weft made a finding; the child printed the report */
};

struct weftcc_result {
    volatile int state;
    int finding; /* weft_finding_t */
    char message[512];
    uint64_t steps; /* of the execution (pct learns from them) */
    uint64_t hash;  /* its trace hash */
};

#define WEFTCC_MAX_PAIRS   128
#define WEFTCC_MAX_JOBS    64
#define WEFTCC_POINTS_TEXT 4096 /* WEFT_RACE_POINTS's value, at most */

/* What every process of a weft-cc run shares (forked children, forked
 * workers, the explorer): one shared mapping, made at main's entry. */
struct weftcc_shared {
    /* WEFT_RACE=report: races printed, and the pairs of sites already
     * reported by any execution (each distinct race is printed once) */
    unsigned races;
    unsigned npairs;
    uint64_t pairs[WEFTCC_MAX_PAIRS];
    /* snapshot executions: what one did that the snapshot cannot undo */
    volatile int tainted;
    volatile int taint_abandons; /* the tainting execution was abandoned */
    char taint_what[256];
    /* threads the program created, in any execution; and the status it
     * exited with last (a program with no thread is run once, and weft-cc
     * answers with its own status and output) */
    volatile unsigned threads;
    volatile int status;
    struct weftcc_result slot[WEFTCC_MAX_JOBS]; /* fork mode's children */
    /* race points with WEFT_JOBS workers: each worker's latest execution
     * (by its seed) and the points it started with, for the parent's
     * re-run of a failure (main.c) */
    unsigned nrec;
    struct weftcc_points_rec {
        int pid;
        uint64_t seed;
        char points[WEFTCC_POINTS_TEXT];
    } rec[WEFTCC_MAX_JOBS];
};

/* tsan.c: the ThreadSanitizer hooks and the race detector. */
enum { WEFTCC_GRAN_SYNC, WEFTCC_GRAN_ATOMICS, WEFTCC_GRAN_MEMORY };
enum { WEFTCC_RACE_OFF, WEFTCC_RACE_REPORT, WEFTCC_RACE_FAIL };
extern int weftcc_granularity; /* WEFT_GRANULARITY */
extern int weftcc_race_mode;   /* WEFT_RACE */
/* A return address as a site line (see weft__pc_site), 0 outside the
 * program's image. */
int weftcc_pc_line(const void *ra);
/* Reports print pc sites as "file:line (function)", through addr2line;
 * it also maps the program's symbol table (call it before forking). */
void weftcc_symbolizer_install(void);
/* Race points (WEFT_RACE=report): the sites of reported races, visible
 * operations from the next execution on. weftcc_points_learn: learn them
 * (set by main.c where a failure's replay line can carry them). */
extern bool weftcc_points_learn;
/* Make what was learnt active (at an execution's start); true if any. */
bool weftcc_points_promote(void);
/* Sites learnt in this run (active or pending); sites given by
 * WEFT_RACE_POINTS. */
unsigned weftcc_points_learnt(void);
unsigned weftcc_points_given(void);
/* The active set as WEFT_RACE_POINTS's value ("" if empty); its length. */
size_t weftcc_points_text(char *out, size_t len);
/* Add WEFT_RACE_POINTS's value to the active set: 0, or -1 and why. */
int weftcc_points_parse(const char *s, char *err, size_t len);
/* The active set becomes what weftcc_points_text gave (another process's
 * set, a schedule file's), what WEFT_RACE_POINTS gave included; nothing
 * is pending. 0, or -1 and why. */
int weftcc_points_set(const char *text, char *err, size_t len);
/* The same, the points counted as given (a schedule file's), not learnt. */
int weftcc_points_set_given(const char *text, char *err, size_t len);
/* The name of the program's function at fn (a thread's start), or NULL. */
const char *weftcc_func_name(const void *fn);
/* Happens-before edges, from the interposers: release before the
 * operation that publishes (unlock, post, ...), acquire after the one
 * that observes (lock, wait, ...). No-ops outside an exploration. */
void weftcc_hb_acquire(const void *obj);
void weftcc_hb_release(const void *obj);
void weftcc_hb_spawned(uint32_t child); /* parent, right after a spawn */
void weftcc_hb_joined(uint32_t child);  /* after a successful join */

/* main.c: the run's shared page (always set once main is entered), and a
 * forked child's own result slot (NULL elsewhere). */
extern struct weftcc_shared *weftcc_sh;
extern struct weftcc_result *weftcc_child;
/* main.c: the program leaves, by main returning or by exit(status) from
 * a thread (ra: the call): its execution's atexit handlers run, a status
 * other than 0 is a finding (of a program that created threads), and the
 * execution ends, whatever other threads are doing. */
/* How the program ends an execution (weftcc_leave). */
enum { WEFTCC_MAIN_RETURNS, WEFTCC_EXIT, WEFTCC__EXIT };
_Noreturn void weftcc_leave(int status, int how, const void *ra);
/* tsan.c: the program's file (for a fresh process: the same program). */
const char *weftcc_exe_path(void);

/* interpose.c: glibc's own functions, bypassing the interposers. libweft's
 * references to the interposed names are renamed to these (see the
 * weft-cc section of the Makefile), so weft never calls its own
 * interposers. */
void *weftcc_real(const char *name);
/* Call glibc's `name` with the arguments, from inside an interposer whose
 * prototype is glibc's (found once, with dlsym(RTLD_NEXT)). */
#define PASS(name, ...)                                    \
    do {                                                   \
        static __typeof__(&name) real_;                    \
        if (real_ == NULL)                                 \
            real_ = (__typeof__(&name))weftcc_real(#name); \
        return real_(__VA_ARGS__);                         \
    } while (0)
int weftcc_real_clock_gettime(clockid_t clk, struct timespec *ts);
int weftcc_real_nanosleep(const struct timespec *req, struct timespec *rem);
int weftcc_real_pthread_once(pthread_once_t *o, void (*fn)(void));
int weftcc_real_pthread_key_create(pthread_key_t *k, void (*d)(void *));
int weftcc_real_pthread_setspecific(pthread_key_t k, const void *v);
void *weftcc_real_pthread_getspecific(pthread_key_t k);
pthread_t weftcc_real_pthread_self(void);
int weftcc_real_sched_yield(void);
int weftcc_real_pthread_create(pthread_t *t, const pthread_attr_t *a,
                               void *(*fn)(void *), void *arg);
int weftcc_real_pthread_join(pthread_t t, void **ret);
_Noreturn void weftcc_real_exit(int status);
time_t weftcc_real_time(time_t *t);
void *weftcc_real_malloc(size_t n);
void *weftcc_real_calloc(size_t n, size_t size);
void *weftcc_real_realloc(void *p, size_t n);
void weftcc_real_free(void *p);

/* snapshot.c: snapshot executions (WEFT_ISOLATE=snapshot). */
extern bool weftcc_snapshot_on; /* taken: executions restore it */
/* Record what executions may change (at main's entry): 0, or -1 and why. */
int weftcc_snapshot_take(char *why, size_t len);
/* Put it back (at the start of every execution). */
void weftcc_snapshot_restore(void);
/* Bytes a restore copies back (figures). */
size_t weftcc_snapshot_size(void);
/* At the start of every execution, in every mode: rand() and friends
 * start as a fresh process's. */
void weftcc_execution_start(void);
/* An execution did what the snapshot cannot undo: say so once, finish
 * the exploration in forked processes. ra: the program's call. */
void weftcc_taint(const char *what, const void *ra);
/* The program's allocations during an execution come from an arena
 * emptied between executions. */
bool weftcc_arena_owns(const void *p);
void *weftcc_arena_alloc(size_t n, size_t align);
size_t weftcc_arena_size(void);
void weftcc_arena_free(void *p);
size_t weftcc_arena_usable(const void *p);
/* Is this code address the program's (executable or own library)? */
bool weftcc_program_code(const void *ra);
bool weftcc_own_code(const void *ra);
void weftcc_code_init(void);
/* Blocks the program allocated before main (part of the snapshot). */
void weftcc_pre_add(void *p, size_t size);
bool weftcc_pre_known(void *p, bool freed);
size_t weftcc_pre_size(const void *p);
/* Run and drop the atexit handlers the execution registered. */
void weftcc_atexit_run(int status);
/* Move a descriptor weft keeps open for long above the program's. */
int weftcc_fd_high(int fd);
int weftcc_real_sigaction(int sig, const struct sigaction *a,
                          struct sigaction *old);
int weftcc_real_fclose(FILE *f);

#endif /* WEFTCC_H */
