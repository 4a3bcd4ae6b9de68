/*
 * fuzz.h: the fuzz strategy (strategy_fuzz.c), shared with weft_fuzz_one
 * (fuzz.c). Kept apart from internal.h, which the lead owns; it declares
 * what internal.h would if the strategy were listed there.
 *
 * The strategy reads every choice from a byte string, a fuzzer's input:
 * a choice among n options takes 1 byte when n <= 256, 2 when n <= 65536,
 * else 4 (little-endian), and a value v picks option (d + v % n) % n, where
 * d is the default option: the running task when it can go on (so zero
 * bytes never preempt), the next ready task at a yield (so spin loops make
 * progress), the first ready task when the running one blocked or ended,
 * and 0 for a value choice. Once the input runs out every choice takes its
 * default: an empty or all-zero input runs the non-preemptive schedule
 * (the first execution of `dfs`). Choices with one option take no byte.
 * Nothing but the input decides: no seed, address or time.
 */
#ifndef WEFT_FUZZ_INTERNAL_H
#define WEFT_FUZZ_INTERNAL_H

#include "internal.h"

WEFT__HIDDEN extern const struct weft__strategy weft__strategy_fuzz;

/* Give a fuzz strategy state the input of the next execution(s); the
 * bytes are borrowed and must outlive them. begin() rewinds to byte 0. */
WEFT__HIDDEN void weft__fuzz_input(void *state, const uint8_t *data,
                                   size_t size);
/* Count each decision's interleaving feature (strategy_fuzz.c) in
 * counters[0..n), saturating; NULL turns it off. */
WEFT__HIDDEN void weft__fuzz_counters(void *state, uint8_t *counters, size_t n);
/* Bytes the execution just run consumed (<= size). */
WEFT__HIDDEN size_t weft__fuzz_used(const void *state);

#endif /* WEFT_FUZZ_INTERNAL_H */
