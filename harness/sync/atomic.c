/*
 * atomic.c: atomic integers and pointers as visible operations.
 *
 * Tasks share one OS thread, so the operation itself is a plain access:
 * what makes it "atomic" is that the decision point comes before it and no
 * other task runs until the next visible operation. The model is
 * sequential consistency. A load (or a failed compare-exchange) that finds
 * what the task found last time, with no other task run since, is a spin:
 * it is recorded as a yield (core.h, weft__spinning).
 */
#include "sync/sync.h"

/* The decision point of an atomic on p: a yield when the task spins.
 * will_swap: a compare-exchange that would succeed now. Under dpor
 * (r->track) it is no spin: it writes (a pop's load then swap must be
 * able to run back to back, or an ABA is out of reach); elsewhere it is
 * classified as before. */
static inline void visible(struct weft__run *r, weft_atomic_op_t op,
                           const void *p, bool will_swap, const char *file,
                           int line)
{
    bool spin = (op == WEFT_AOP_LOAD ||
                 (op == WEFT_AOP_CAS && !(will_swap && r->track))) &&
                weft__spinning(r, p);
    if (WEFT__UNLIKELY(spin))
        weft__spin_wait(r);
    weft__access(r, p, op == WEFT_AOP_LOAD ? WEFT__ACC_READ : WEFT__ACC_WRITE,
                 NULL, 0, WEFT__WAIT_NONE, NULL);
    weft__visible(r, spin ? WEFT__OP_YIELD : WEFT__OP_ATOMIC, NULL, file, line);
}

#define ATOMIC_BODY(T, p, op, v, expected)                              \
    T old = *(p);                                                       \
    switch (op) {                                                       \
    case WEFT_AOP_LOAD:                                                 \
        weft__spin_saw(r, (p));                                         \
        return old;                                                     \
    case WEFT_AOP_STORE:                                                \
    case WEFT_AOP_XCHG:                                                 \
        *(p) = (v);                                                     \
        break;                                                          \
    case WEFT_AOP_ADD:                                                  \
        *(p) = old + (v);                                               \
        break;                                                          \
    case WEFT_AOP_SUB:                                                  \
        *(p) = old - (v);                                               \
        break;                                                          \
    case WEFT_AOP_AND:                                                  \
        *(p) = old & (v);                                               \
        break;                                                          \
    case WEFT_AOP_OR:                                                   \
        *(p) = old | (v);                                               \
        break;                                                          \
    case WEFT_AOP_XOR:                                                  \
        *(p) = old ^ (v);                                               \
        break;                                                          \
    case WEFT_AOP_CAS:                                                  \
        if (old == *(expected)) {                                       \
            *(p) = (v);                                                 \
            weft__spin_wrote(r, (p));                                   \
            return 1;                                                   \
        }                                                               \
        *(expected) = old;                                              \
        weft__spin_saw(r, (p));                                         \
        return 0;                                                       \
    default:                                                            \
        weft__misuse("weft_atomic", "unknown operation %d", (int)(op)); \
    }                                                                   \
    weft__spin_wrote(r, (p));                                           \
    return old

uint32_t weft_atomic32_at(weft_atomic32_t *a, weft_atomic_op_t op, uint32_t v,
                          uint32_t *expected, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_atomic32");
    visible(r, op, &a->v, op == WEFT_AOP_CAS && a->v == *expected, file, line);
    ATOMIC_BODY(uint32_t, &a->v, op, v, expected);
}

uint64_t weft_atomic64_at(weft_atomic64_t *a, weft_atomic_op_t op, uint64_t v,
                          uint64_t *expected, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_atomic64");
    visible(r, op, &a->v, op == WEFT_AOP_CAS && a->v == *expected, file, line);
    ATOMIC_BODY(uint64_t, &a->v, op, v, expected);
}

void *weft_atomic_ptr_at(weft_atomic_ptr_t *a, weft_atomic_op_t op, void *v,
                         void **expected, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_atomic_ptr");
    visible(r, op, &a->v, op == WEFT_AOP_CAS && a->v == *expected, file, line);
    void *old = a->v;
    switch (op) {
    case WEFT_AOP_LOAD:
        weft__spin_saw(r, &a->v);
        return old;
    case WEFT_AOP_STORE:
    case WEFT_AOP_XCHG:
        a->v = v;
        weft__spin_wrote(r, &a->v);
        return old;
    case WEFT_AOP_CAS:
        if (old == *expected) {
            a->v = v;
            weft__spin_wrote(r, &a->v);
            return (void *)1;
        }
        *expected = old;
        weft__spin_saw(r, &a->v);
        return NULL;
    default:
        weft__misuse("weft_atomic_ptr", "operation %d needs an integer",
                     (int)op);
    }
}
