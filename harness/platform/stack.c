/*
 * stack.c: task stacks, mapped with a guard page and pooled.
 *
 * A stack is an anonymous mapping whose lowest page is PROT_NONE, so an
 * overflow faults (core/signal.c turns that into a finding) instead of
 * corrupting a neighbour. Released stacks go to a free list and are reused
 * by later tasks and executions: creating a task costs no system call once
 * the pool is warm. Stacks are announced to valgrind and unpoisoned for
 * AddressSanitizer on reuse (an abandoned task may leave poisoned frames).
 */
#include "platform/platform.h"

#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define WEFT_HAVE_VALGRIND 1
#endif
#endif
#ifndef WEFT_HAVE_VALGRIND
#define VALGRIND_STACK_REGISTER(lo, hi) 0
#define VALGRIND_STACK_DEREGISTER(id)   ((void)(id))
#endif

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#ifdef WEFT_ASAN
#include <sanitizer/asan_interface.h>
#endif

static struct weft__stack *pool;
static unsigned pool_n;
static size_t page;

size_t weft__page_size(void)
{
    if (page == 0)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static void unmap(struct weft__stack *s)
{
#ifdef WEFT_ASAN
    /* A later mapping at this address must not inherit the redzones of
     * frames abandoned here. */
    ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
    munmap(s->map, s->map_size);
    weft__free(s);
}

struct weft__stack *weft__stack_get(size_t size)
{
    size_t pg = weft__page_size();
    size = (size + pg - 1) & ~(pg - 1);
    while (pool != NULL) {
        struct weft__stack *s = pool;
        pool = s->next;
        pool_n--;
        if (s->size == size) {
#ifdef WEFT_ASAN
            ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
            return s;
        }
        unmap(s); /* the configured size changed: drop old stacks */
    }
    struct weft__stack *s = weft__alloc(sizeof *s);
    if (s == NULL)
        return NULL;
    s->map_size = size + pg;
    s->map = weft__alloc_should_fail()
                 ? MAP_FAILED
                 : mmap(NULL, s->map_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->map == MAP_FAILED) {
        weft__free(s);
        return NULL;
    }
    if (mprotect(s->map, pg, PROT_NONE) != 0) {
        munmap(s->map, s->map_size);
        weft__free(s);
        return NULL;
    }
    s->lo = s->map + pg;
    s->size = size;
    s->next = NULL;
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + size);
    return s;
}

void weft__stack_put(struct weft__stack *s)
{
    s->next = pool;
    pool = s;
    pool_n++;
}

void weft__stack_trim(unsigned keep)
{
    while (pool_n > keep) {
        struct weft__stack *s = pool;
        pool = s->next;
        pool_n--;
        unmap(s);
    }
}
