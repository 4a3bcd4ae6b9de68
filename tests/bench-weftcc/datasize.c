/*
 * datasize.c: what a snapshot restore costs as the program's writable
 * data grows, for scripts/bench-weftcc.sh.
 *
 *   datasize PAGES [warm]     built with -DSIZE=bytes (default 1 MiB)
 *
 * The program has SIZE bytes of zeroed globals (.bss). Each execution
 * writes one byte in each of the first PAGES 4 KiB pages of it (all of
 * them when PAGES is larger), then starts two threads that do nothing and
 * joins them. With "warm", a constructor writes the whole array before
 * main, as a program that fills a table at start-up does: its pages are
 * then resident in the process that weft forks from, and each page an
 * execution writes costs a forked child a copy-on-write fault (without it
 * they are untouched .bss, and a child's first write to one maps a zeroed
 * page).
 *
 * What the modes pay (WEFT_ISOLATE): snapshot copies all SIZE bytes back
 * before every execution, whatever the execution touched; fork pays a
 * fork (page tables of what is resident) and a fault per page written. The
 * script prints executions per second for both over SIZE and PAGES.
 *
 * The writes are not instrumented (no_sanitize): this measures how an
 * execution is started fresh, not the race detector, which would
 * otherwise keep shadow memory for every page written.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIZE
#define SIZE (1 << 20)
#endif
#define PAGE 4096

static unsigned char data[SIZE];

__attribute__((no_sanitize("thread"))) static void fill(void)
{
    memset(data, 1, sizeof data);
    __asm__ __volatile__("" : : "r"(data) : "memory");
}

/* glibc passes main's arguments to constructors too. */
__attribute__((constructor)) static void warm(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[2], "warm") == 0)
        fill();
}

__attribute__((no_sanitize("thread"))) static void touch(unsigned long pages)
{
    for (unsigned long p = 0; p < pages && p * PAGE < sizeof data; p++)
        data[p * PAGE]++;
    __asm__ __volatile__("" : : "r"(data) : "memory");
}

static void *nothing(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "warm") != 0)) {
        fprintf(stderr, "usage: datasize PAGES [warm]\n");
        return 2;
    }
    touch(strtoul(argv[1], NULL, 10));
    pthread_t a, b;
    if (pthread_create(&a, NULL, nothing, NULL) != 0 ||
        pthread_create(&b, NULL, nothing, NULL) != 0) {
        fprintf(stderr, "datasize: pthread_create failed\n");
        return 1;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return 0;
}
