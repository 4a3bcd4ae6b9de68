/*
 * lone_atomics.c: a program that starts no thread but uses atomics, many
 * of them (a ring buffer's single-threaded unit test: millions of relaxed
 * loads). Nothing can interleave with it, so it runs once as itself:
 * no step bound, which counts the operations of tasks that could
 * interleave, may cut it short.
 */
#include <stdatomic.h>
#include <stdio.h>

static atomic_ulong cell;

int main(void)
{
    unsigned long sum = 0;
    for (unsigned long i = 0; i < 200000; i++) {
        atomic_store_explicit(&cell, i, memory_order_relaxed);
        sum += atomic_load_explicit(&cell, memory_order_relaxed);
    }
    fprintf(stderr, "lone: sum %lu\n", sum);
    return sum == 199999UL * 200000UL / 2 ? 0 : 4;
}
