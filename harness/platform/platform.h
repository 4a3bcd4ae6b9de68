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
#include <stdio.h>

#if !defined(WEFT_SWITCH_UCONTEXT) && !defined(__x86_64__) && \
    !defined(__aarch64__)
#define WEFT_SWITCH_UCONTEXT 1
#endif

#ifdef WEFT_SWITCH_UCONTEXT
#include <ucontext.h>
#endif

#define WEFT__HIDDEN __attribute__((visibility("hidden")))

/* Storage of weft's own per-OS-thread state (the current run, report
 * buffers, crash-handler state). weft-cc's copy of the library is built
 * with WEFT_SINGLE_THREAD: its programs run every exploration on one OS
 * thread, and there each task has thread-local storage of its own (tls.c),
 * so weft's state must not live in TLS. */
#ifdef WEFT_SINGLE_THREAD
#define WEFT__TLS
#else
#define WEFT__TLS _Thread_local
#endif
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

/* A copy of s, or a formatted string, from the seam; NULL when out of
 * memory (paths are allocated whole, never cut to a buffer's size). */
WEFT__HIDDEN char *weft__strdup(const char *s);
WEFT__HIDDEN char *weft__aprintf(const char *fmt, ...) WEFT__PRINTF(1, 2);
/* Append s as one shell word: bare if it holds only safe characters, else
 * in single quotes with each ' written '\'' (a line a user pastes into a
 * shell runs exactly the command shown, nothing else). */
WEFT__HIDDEN void weft__buf_shell_word(struct weft__buf *b, const char *s);

/* ------------------------------------------------------------- files */

/* A file weft writes, whole or not at all (file.c): written under a
 * mkstemp name beside the target and renamed over it; a FIFO or device
 * at the target is written in place. */
struct weft__out {
    FILE *f;     /* write here */
    char *path;  /* the target */
    char *tmp;   /* the temporary name, or NULL (in place) */
    bool unique; /* a file of its own (open_unique): removed on failure */
};
/* Open for writing path; 0 or -errno (EISDIR for a directory). */
WEFT__HIDDEN int weft__out_open(struct weft__out *o, const char *path);
/* A new file dir/<prefix>XXXXXX<suffix> of mode 0600, its name in
 * o->path (valid until close); 0 or -errno. */
WEFT__HIDDEN int weft__out_open_unique(struct weft__out *o, const char *dir,
                                       const char *prefix, const char *suffix);
/* Flush, check and rename into place; 0 or -errno (ENOSPC, EFBIG, ...),
 * the target untouched then. Frees o. */
WEFT__HIDDEN int weft__out_close(struct weft__out *o);
/* Give up: nothing is left behind. */
WEFT__HIDDEN void weft__out_discard(struct weft__out *o);

/* Misuse of weft itself: one greppable sentence, then abort. */
WEFT__HIDDEN WEFT__NORETURN void weft__misuse(const char *fn, const char *fmt,
                                              ...) WEFT__PRINTF(2, 3);

/* An invariant of weft itself, cheap and always on: when it does not hold
 * weft is wrong (not the code under test), so it says which one broke,
 * where, and aborts at once, before the damage spreads. */
#define WEFT__ASSERT(cond)     \
    ((void)(WEFT__LIKELY(cond) \
                ? 0            \
                : (weft__assert_broken(#cond, __FILE__, __LINE__), 0)))
WEFT__HIDDEN WEFT__NORETURN void
weft__assert_broken(const char *cond, const char *file, int line);

/* ------------------------------------------------------------- stacks */

struct weft__slab;

/* A task's stack: [lo, lo + size), above a guard region of `guard` bytes
 * where an overflow faults (stack.c: many stacks share one mapping). */
struct weft__stack {
    struct weft__stack *next; /* pool free list */
    char *lo;                 /* lowest usable byte (above the guard) */
    size_t size;              /* usable bytes */
    size_t guard;             /* bytes of guard region just below lo */
    struct weft__slab *slab;  /* the mapping it is carved from */
    unsigned valgrind_id;
};

/* A stack of size bytes from the pool, or NULL with *err = -errno. */
WEFT__HIDDEN struct weft__stack *weft__stack_get_err(size_t size, int *err);
WEFT__HIDDEN struct weft__stack *weft__stack_get(size_t size);
/* Why a stack of size bytes could not be had (err from stack_get_err),
 * naming the limit reached: vm.max_map_count, RLIMIT_AS or memory. */
WEFT__HIDDEN void weft__stack_why(int err, size_t size, char *buf, size_t len);
WEFT__HIDDEN void weft__stack_put(struct weft__stack *s);
/* How guard regions are made: 1 madvise(MADV_GUARD_INSTALL), -1
 * mprotect (two mappings a stack), 0 not known yet (tests force -1). */
WEFT__HIDDEN extern int weft__stack_guard_mode;
WEFT__HIDDEN void weft__stack_trim(unsigned keep);
WEFT__HIDDEN size_t weft__page_size(void);

/* ------------------------------------------------------------ contexts */

typedef void weft__entry_fn(void *arg);

struct weft__ctx {
    void *sp;
    void *tp; /* thread pointer, for weft__ctx_switch_tp (see tls.c) */
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
/* The same, and the thread pointer too: the current one into from->tp,
 * to->tp loaded (assembly only; weft__tls_switch picks what works). */
WEFT__HIDDEN void weft__ctx_switch_tp(struct weft__ctx *from,
                                      struct weft__ctx *to);

/* ------------------------------------------------- thread-local storage */

/* Each task's own TLS block (tls.c; glibc 2.36, x86-64 and aarch64). */
struct weft__tls;
/* Set up once, on the program's initial thread, before any block: NULL,
 * or why per-task TLS cannot be had here (then tasks share the host's). */
WEFT__HIDDEN const char *weft__tls_init(void);
WEFT__HIDDEN bool weft__tls_active(void);
/* How the thread pointer is switched ("wrfsbase", ...), for reports. */
WEFT__HIDDEN const char *weft__tls_method(void);
/* A block for a task on [stack_lo, +stack_size), as a new thread's TLS
 * (main: as the host's was at weft__tls_init). NULL: out of memory. */
WEFT__HIDDEN struct weft__tls *weft__tls_get(void *stack_lo, size_t stack_size,
                                             bool main);
/* Give a block back (not the current one): to the pool. */
WEFT__HIDDEN void weft__tls_put(struct weft__tls *b);
/* What a context switch loads as the thread pointer of b. */
WEFT__HIDDEN void *weft__tls_tp(const struct weft__tls *b);
/* The context switch to use while blocks are in use. */
WEFT__HIDDEN extern void (*weft__tls_switch)(struct weft__ctx *from,
                                             struct weft__ctx *to);
WEFT__HIDDEN void *weft__tls_get_tp(void);
WEFT__HIDDEN void weft__tls_set_tp(void *tp);
/* A library loaded since: copy its static TLS image into every block
 * (glibc initialises only the threads it knows). New modules, or -1. */
WEFT__HIDDEN int weft__tls_sync(void);
/* b's static TLS area [lo, hi): a reused block's history is forgotten. */
WEFT__HIDDEN void weft__tls_area(const struct weft__tls *b, uintptr_t *lo,
                                 uintptr_t *hi);
/* Where p lies in the static TLS of the block whose thread pointer is tp,
 * for reports: the module's file name ("" for the executable) and *off,
 * the offset in its TLS image; is it errno. NULL when p is not there. */
WEFT__HIDDEN const char *weft__tls_locate(const void *tp, const void *p,
                                          size_t *off, bool *is_errno);

#endif /* WEFT_PLATFORM_H */
