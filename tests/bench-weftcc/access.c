/*
 * access.c: the cost of one memory access, for scripts/bench-weftcc.sh.
 *
 *   access MODE N     MODE is stack or global; N accesses (N >= 0)
 *
 * In one thread (main), does N accesses to a 4 KiB array of int: a local
 * array in a plain stack frame (stack) or a global one (global). Each
 * step of the loop is one load and one store, a[j] = a[j + 512] + 1 with
 * the index wrapped (so no load waits for the store just before it); an
 * odd N ends with one load alone.
 *
 * The accesses are plain, not volatile: weft-cc's default granularity
 * (atomics) makes every volatile access a scheduling point, and this
 * program measures what an instrumented plain access costs. An empty asm
 * with a "memory" clobber after each step keeps the compiler from
 * merging, hoisting or dropping them (the stack array's address is given
 * to an asm first, so the clobber covers it too).
 *
 * The script times the whole process from outside at N = 0 and at a
 * large N: (t_N - t_0) / N is the cost of one access, loop included.
 * Built with plain cc and with scripts/weft-cc (main is then weft's task
 * and its stack a weft task stack).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN  1024u /* ints: 4 KiB, a power of two */
#define MASK (LEN - 1u)

#define BARRIER() __asm__ __volatile__("" ::: "memory")

static int global_arr[LEN];

static int usage(void)
{
    fprintf(stderr, "usage: access stack|global N\n");
    return 2;
}

/* noinline: the array lives in this frame, a plain stack frame. */
__attribute__((noinline)) static int stack_loop(unsigned long long n)
{
    int a[LEN];
    memset(a, 0, sizeof a);
    __asm__ __volatile__("" : : "r"(a) : "memory"); /* a escapes */
    unsigned long long j;
    for (j = 0; j + 1 < n; j += 2) {
        a[(j >> 1) & MASK] = a[((j >> 1) + LEN / 2) & MASK] + 1;
        BARRIER();
    }
    int v = j < n ? a[0] : a[1];
    BARRIER();
    return v;
}

__attribute__((noinline)) static int global_loop(unsigned long long n)
{
    unsigned long long j;
    for (j = 0; j + 1 < n; j += 2) {
        global_arr[(j >> 1) & MASK] =
            global_arr[((j >> 1) + LEN / 2) & MASK] + 1;
        BARRIER();
    }
    int v = j < n ? global_arr[0] : global_arr[1];
    BARRIER();
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return usage();
    char *end;
    unsigned long long n = strtoull(argv[2], &end, 10);
    if (*argv[2] == '\0' || *argv[2] == '-' || *end != '\0')
        return usage();
    int v;
    if (strcmp(argv[1], "stack") == 0)
        v = stack_loop(n);
    else if (strcmp(argv[1], "global") == 0)
        v = global_loop(n);
    else
        return usage();
    /* Use the value without printing it: the result is always >= 0. */
    return v < 0 ? 3 : 0;
}
