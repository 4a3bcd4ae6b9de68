/*
 * distinct.c: counting distinct executions (by trace hash) cheaply.
 *
 * An exploration may run billions of executions; a set of every hash
 * would grow without bound and miss the cache on every insertion. Up to
 * 2048 distinct hashes are counted exactly in a 32 KiB table; beyond that
 * a HyperLogLog of 4096 one-byte registers (about 1.6% standard error)
 * estimates the count, and reports say "about". Both fit in the cache.
 * Insertion can be atomic, for worker processes sharing one counter in a
 * shared mapping.
 */
#include "explore/explore.h"

#include <string.h>

#define EXACT_SLOTS 4096u
#define EXACT_MAX   (EXACT_SLOTS / 2)
#define HLL_BITS    12
#define HLL_REGS    (1u << HLL_BITS)

struct weft__distinct {
    uint64_t exact[EXACT_SLOTS];
    uint32_t nexact;
    bool overflow;
    uint8_t reg[HLL_REGS];
};

size_t weft__distinct_size(void)
{
    return sizeof(struct weft__distinct);
}

void weft__distinct_add(struct weft__distinct *d, uint64_t h, bool atomic)
{
    h = weft__mix(h) | 1; /* 0 marks an empty slot */
    uint32_t idx = (uint32_t)(h >> (64 - HLL_BITS));
    uint64_t rest = h << HLL_BITS | (1ULL << (HLL_BITS - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (atomic) {
        uint8_t old = __atomic_load_n(&d->reg[idx], __ATOMIC_RELAXED);
        while (rank > old &&
               !__atomic_compare_exchange_n(&d->reg[idx], &old, rank, false,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
    } else if (rank > d->reg[idx]) {
        d->reg[idx] = rank;
    }
    if (__atomic_load_n(&d->overflow, __ATOMIC_RELAXED))
        return;
    uint32_t j = (uint32_t)h & (EXACT_SLOTS - 1);
    for (uint32_t k = 0; k < EXACT_SLOTS;
         k++, j = (j + 1) & (EXACT_SLOTS - 1)) {
        uint64_t v = atomic ? __atomic_load_n(&d->exact[j], __ATOMIC_RELAXED)
                            : d->exact[j];
        if (v == h)
            return;
        if (v != 0)
            continue;
        if (atomic) {
            uint64_t zero = 0;
            if (!__atomic_compare_exchange_n(&d->exact[j], &zero, h, false,
                                             __ATOMIC_RELAXED,
                                             __ATOMIC_RELAXED)) {
                if (zero == h)
                    return;
                continue;
            }
        } else {
            d->exact[j] = h;
        }
        if (__atomic_add_fetch(&d->nexact, 1, __ATOMIC_RELAXED) >= EXACT_MAX)
            __atomic_store_n(&d->overflow, true, __ATOMIC_RELAXED);
        return;
    }
}

/* ln(x) for x >= 1, without libm (users link libweft without -lm). */
static double ln(double x)
{
    int k = 0;
    while (x >= 2) {
        x /= 2;
        k++;
    }
    double y = (x - 1) / (x + 1), y2 = y * y, term = y, sum = 0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= y2;
    }
    return 2 * sum + k * 0.69314718055994530942;
}

uint64_t weft__distinct_count(const struct weft__distinct *d, bool *estimate)
{
    if (!d->overflow) {
        *estimate = false;
        return d->nexact;
    }
    *estimate = true;
    double sum = 0;
    unsigned zeros = 0;
    for (uint32_t i = 0; i < HLL_REGS; i++) {
        sum += 1.0 / (double)(1ULL << d->reg[i]);
        zeros += d->reg[i] == 0;
    }
    double m = HLL_REGS, alpha = 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) /* small range: linear counting */
        e = m * ln(m / zeros);
    if (e < d->nexact)
        e = d->nexact;
    return (uint64_t)(e + 0.5);
}
