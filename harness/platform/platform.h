/*
 * platform.h: the platform layer (harness/platform/), the floor every other
 * layer stands on: switching between task stacks, mapping the stacks, and
 * the one allocation seam. It knows nothing of tasks, runs or strategies.
 *
 * A context is the saved stack pointer of a suspended task; everything else
 * it needs (callee-saved registers, the floating-point control state) sits
 * on its own stack. switch_x86_64.S and switch_aarch64.S implement it in a
 * few instructions; building with -DWEFT_SWITCH_UCONTEXT selects the
 * portable, much slower fallback in context.c. Stacks (stack.c) are mapped
 * with a guard page and pooled; every allocation goes through alloc.c, so
 * a test can fail the n-th one.
 *
 * Layers, bottom up (each may use only those below it; `make check-layers`
 * checks the includes): platform, core, sync, loop, report, explore, cc.
 */
#ifndef WEFT_PLATFORM_H
#define WEFT_PLATFORM_H

#include "weft.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(WEFT_SWITCH_UCONTEXT) && !defined(__x86_64__) && \
    !defined(__aarch64__)
#define WEFT_SWITCH_UCONTEXT 1
#endif

#ifdef WEFT_SWITCH_UCONTEXT
#include <ucontext.h>
#endif

#define WEFT__HIDDEN      __attribute__((visibility("hidden")))
#define WEFT__LIKELY(x)   __builtin_expect(!!(x), 1)
#define WEFT__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* --------------------------------------------------------- allocation */

/* The one allocation seam (alloc.c): fails the n-th call on request. */
WEFT__HIDDEN void *weft__alloc(size_t size);
WEFT__HIDDEN void *weft__zalloc(size_t size);
WEFT__HIDDEN void *weft__realloc(void *p, size_t size);
WEFT__HIDDEN void weft__free(void *p);
/* True if the next allocation should fail (counts it): for mmap users. */
WEFT__HIDDEN bool weft__alloc_should_fail(void);

/* Grow *arr (of elem-sized items, capacity *cap) to hold n; -ENOMEM. */
WEFT__HIDDEN int weft__grow(void *arr, uint32_t *cap, uint32_t n, size_t elem);

/* A growable text buffer; on allocation failure it stops growing and keeps
 * what fits (reports must never fail). */
struct weft__buf {
    char *s;
    size_t len, cap;
};
WEFT__HIDDEN void weft__buf_printf(struct weft__buf *b, const char *fmt, ...)
    WEFT__PRINTF(2, 3);
WEFT__HIDDEN void weft__buf_vprintf(struct weft__buf *b, const char *fmt,
                                    va_list ap) WEFT__PRINTF(2, 0);

/* Misuse of weft itself: one greppable sentence, then abort. */
WEFT__HIDDEN WEFT__NORETURN void weft__misuse(const char *fn, const char *fmt,
                                              ...) WEFT__PRINTF(2, 3);

/* ------------------------------------------------------------- stacks */

struct weft__stack {
    struct weft__stack *next; /* pool free list */
    char *lo;                 /* lowest usable byte (above the guard) */
    size_t size;              /* usable bytes */
    char *map;                /* mapping, guard page first */
    size_t map_size;
    unsigned valgrind_id;
};

WEFT__HIDDEN struct weft__stack *weft__stack_get(size_t size);
WEFT__HIDDEN void weft__stack_put(struct weft__stack *s);
WEFT__HIDDEN void weft__stack_trim(unsigned keep);
WEFT__HIDDEN size_t weft__page_size(void);

/* ------------------------------------------------------------ contexts */

typedef void weft__entry_fn(void *arg);

struct weft__ctx {
    void *sp;
#ifdef WEFT_SWITCH_UCONTEXT
    ucontext_t uc;
#endif
};

/* Prepare c so that switching to it calls entry(arg) on [lo, lo + size).
 * entry must never return. */
WEFT__HIDDEN void weft__ctx_make(struct weft__ctx *c, void *lo, size_t size,
                                 weft__entry_fn *entry, void *arg);

/* Save the running context into from and resume to. */
WEFT__HIDDEN void weft__ctx_switch(struct weft__ctx *from,
                                   struct weft__ctx *to);

#endif /* WEFT_PLATFORM_H */
