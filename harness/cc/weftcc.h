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
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* weft-cc's default step bound (WEFT_MAX_STEPS): see main.c. */
#define WEFTCC_MAX_STEPS 10000000ull

/* Virtual clocks: CLOCK_REALTIME starts at this epoch (2023-11-14), the
 * monotonic clocks at WEFTCC_MONO_BASE, both plus weft_now(). */
#define WEFTCC_REALTIME_BASE ((int64_t)1700000000 * 1000000000)
#define WEFTCC_MONO_BASE     ((int64_t)1000 * 1000000000)

/* What an isolated child tells the parent, in a shared page. */
enum weftcc_state {
    WEFTCC_NONE = 0, /* the child died before saying anything */
    WEFTCC_PASS,     /* main returned 0 or exit(0) */
    WEFTCC_FINDING,  /* weft made a finding; the child printed the report */
};

#define WEFTCC_MAX_PAIRS 128

struct weftcc_shared {
    volatile int state;
    int finding; /* weft_finding_t */
    char message[512];
    uint64_t steps; /* of the child's execution (pct learns from them) */
    /* WEFT_RACE=report: races printed, and the pairs of sites already
     * reported by any execution (each distinct race is printed once) */
    unsigned races;
    unsigned npairs;
    uint64_t pairs[WEFTCC_MAX_PAIRS];
};

/* tsan.c: the ThreadSanitizer hooks and the race detector. */
enum { WEFTCC_GRAN_SYNC, WEFTCC_GRAN_ATOMICS, WEFTCC_GRAN_MEMORY };
enum { WEFTCC_RACE_OFF, WEFTCC_RACE_REPORT, WEFTCC_RACE_FAIL };
extern int weftcc_granularity;         /* WEFT_GRANULARITY */
extern int weftcc_race_mode;           /* WEFT_RACE */
extern unsigned weftcc_races_reported; /* report mode, this process */
/* A return address as a site line (see weft__pc_site), 0 outside the
 * program's image. */
int weftcc_pc_line(const void *ra);
/* Reports print pc sites as "file:line (function)", through addr2line;
 * it also maps the program's symbol table (call it before forking). */
void weftcc_symbolizer_install(void);
/* The name of the program's function at fn (a thread's start), or NULL. */
const char *weftcc_func_name(const void *fn);
/* Happens-before edges, from the interposers: release before the
 * operation that publishes (unlock, post, ...), acquire after the one
 * that observes (lock, wait, ...). No-ops outside an exploration. */
void weftcc_hb_acquire(const void *obj);
void weftcc_hb_release(const void *obj);
void weftcc_hb_spawned(uint32_t child); /* parent, right after a spawn */
void weftcc_hb_joined(uint32_t child);  /* after a successful join */

/* main.c: set in an isolated child, NULL otherwise. */
extern struct weftcc_shared *weftcc_child;
/* tsan.c: in an isolated child, the execution passed (main returned 0 or
 * exit(0)): tell the parent, with its step count, and end the process. */
_Noreturn void weftcc_child_pass(void);

/* interpose.c: glibc's own functions, bypassing the interposers. libweft's
 * references to the interposed names are renamed to these (see the
 * weft-cc section of the Makefile), so weft never calls its own
 * interposers. */
void *weftcc_real(const char *name);
int weftcc_real_clock_gettime(clockid_t clk, struct timespec *ts);
int weftcc_real_nanosleep(const struct timespec *req, struct timespec *rem);
int weftcc_real_pthread_once(pthread_once_t *o, void (*fn)(void));
int weftcc_real_pthread_key_create(pthread_key_t *k, void (*d)(void *));
int weftcc_real_pthread_setspecific(pthread_key_t k, const void *v);
void *weftcc_real_pthread_getspecific(pthread_key_t k);
pthread_t weftcc_real_pthread_self(void);
int weftcc_real_sched_yield(void);
_Noreturn void weftcc_real_exit(int status);
time_t weftcc_real_time(time_t *t);

#endif /* WEFTCC_H */
