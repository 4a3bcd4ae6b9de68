/*
 * context.h: switching between task stacks (the platform layer).
 *
 * A context is the saved stack pointer of a suspended task; everything else
 * it needs (callee-saved registers, the floating-point control state) sits
 * on its own stack. switch_x86_64.S and switch_aarch64.S implement it in a
 * few instructions; building with -DWEFT_SWITCH_UCONTEXT selects the
 * portable, much slower fallback in switch_ucontext.c.
 */
#ifndef WEFT_CONTEXT_H
#define WEFT_CONTEXT_H

#include <stddef.h>

#if !defined(WEFT_SWITCH_UCONTEXT) && !defined(__x86_64__) && \
    !defined(__aarch64__)
#define WEFT_SWITCH_UCONTEXT 1
#endif

#ifdef WEFT_SWITCH_UCONTEXT
#include <ucontext.h>
#endif

typedef void weft__entry_fn(void *arg);

struct weft__ctx {
    void *sp;
#ifdef WEFT_SWITCH_UCONTEXT
    ucontext_t uc;
#endif
};

/* Prepare c so that switching to it calls entry(arg) on [lo, lo + size).
 * entry must never return. */
__attribute__((visibility("hidden"))) void weft__ctx_make(struct weft__ctx *c,
                                                          void *lo, size_t size,
                                                          weft__entry_fn *entry,
                                                          void *arg);

/* Save the running context into from and resume to. */
__attribute__((visibility("hidden"))) void
weft__ctx_switch(struct weft__ctx *from, struct weft__ctx *to);

#endif /* WEFT_CONTEXT_H */
