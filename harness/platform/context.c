/*
 * context.c: building a fresh context for a task's first run.
 *
 * With the assembly switch a new context is a saved frame laid out exactly
 * as weft__ctx_switch pops it (see switch_<arch>.S), returning into the
 * trampoline. With WEFT_SWITCH_UCONTEXT both calls map onto makecontext and
 * swapcontext: portable, but each switch is a system call.
 */
#include "platform/platform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef WEFT_SWITCH_UCONTEXT

static void uc_entry(unsigned hi, unsigned lo, unsigned ehi, unsigned elo)
{
    void *arg = (void *)(((uintptr_t)hi << 16 << 16) | lo);
    weft__entry_fn *entry =
        (weft__entry_fn *)(((uintptr_t)ehi << 16 << 16) | elo);
    entry(arg);
    abort();
}

void weft__ctx_make(struct weft__ctx *c, void *lo, size_t size,
                    weft__entry_fn *entry, void *arg)
{
    uintptr_t a = (uintptr_t)arg, e = (uintptr_t)entry;
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, (void (*)(void))uc_entry, 4, (unsigned)(a >> 16 >> 16),
                (unsigned)a, (unsigned)(e >> 16 >> 16), (unsigned)e);
}

void weft__ctx_switch(struct weft__ctx *from, struct weft__ctx *to)
{
    swapcontext(&from->uc, &to->uc);
}

#else

void weft__ctx_trampoline(void);

void weft__ctx_make(struct weft__ctx *c, void *lo, size_t size,
                    weft__entry_fn *entry, void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* csr, r15, r14, r13, r12, rbx, rbp, return: after the final ret the
     * stack pointer is top - 16, 16-byte aligned before the trampoline's
     * call, as the ABI wants. */
    uint64_t *f = (uint64_t *)(top - 80);
    uint32_t csr[2] = { 0x1F80, 0x037F }; /* MXCSR, x87 control word */
    memcpy(&f[0], csr, sizeof csr);
    f[1] = 0;                /* r15 */
    f[2] = 0;                /* r14 */
    f[3] = (uintptr_t)arg;   /* r13 */
    f[4] = (uintptr_t)entry; /* r12 */
    f[5] = 0;                /* rbx */
    f[6] = 0;                /* rbp: ends frame-pointer walks */
    f[7] = (uintptr_t)weft__ctx_trampoline;
    f[8] = 0;
    f[9] = 0;
    c->sp = f;
#elif defined(__aarch64__)
    uint64_t *f = (uint64_t *)(top - 176);
    memset(f, 0, 176);
    f[0] = (uintptr_t)entry;                 /* x19 */
    f[1] = (uintptr_t)arg;                   /* x20 */
    f[11] = (uintptr_t)weft__ctx_trampoline; /* x30 */
    c->sp = f;
#endif
}

#endif
