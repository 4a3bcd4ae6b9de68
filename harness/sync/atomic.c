/*
 * atomic.c: atomic integers and pointers as visible operations.
 *
 * Tasks share one OS thread, so the operation itself is a plain access:
 * what makes it "atomic" is that the decision point comes before it and no
 * other task runs until the next visible operation. The model is
 * sequential consistency.
 */
#include "sync/sync.h"

#define ATOMIC_BODY(T, p, op, v, expected)                              \
    T old = *(p);                                                       \
    switch (op) {                                                       \
    case WEFT_AOP_LOAD:                                                 \
        break;                                                          \
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
            return 1;                                                   \
        }                                                               \
        *(expected) = old;                                              \
        return 0;                                                       \
    default:                                                            \
        weft__misuse("weft_atomic", "unknown operation %d", (int)(op)); \
    }                                                                   \
    return old

uint32_t weft_atomic32_at(weft_atomic32_t *a, weft_atomic_op_t op, uint32_t v,
                          uint32_t *expected, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_atomic32");
    weft__visible(r, WEFT__OP_ATOMIC, NULL, file, line);
    ATOMIC_BODY(uint32_t, &a->v, op, v, expected);
}

uint64_t weft_atomic64_at(weft_atomic64_t *a, weft_atomic_op_t op, uint64_t v,
                          uint64_t *expected, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_atomic64");
    weft__visible(r, WEFT__OP_ATOMIC, NULL, file, line);
    ATOMIC_BODY(uint64_t, &a->v, op, v, expected);
}

void *weft_atomic_ptr_at(weft_atomic_ptr_t *a, weft_atomic_op_t op, void *v,
                         void **expected, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_atomic_ptr");
    weft__visible(r, WEFT__OP_ATOMIC, NULL, file, line);
    void *old = a->v;
    switch (op) {
    case WEFT_AOP_LOAD:
        return old;
    case WEFT_AOP_STORE:
    case WEFT_AOP_XCHG:
        a->v = v;
        return old;
    case WEFT_AOP_CAS:
        if (old == *expected) {
            a->v = v;
            return (void *)1;
        }
        *expected = old;
        return NULL;
    default:
        weft__misuse("weft_atomic_ptr", "operation %d needs an integer",
                     (int)op);
    }
}
