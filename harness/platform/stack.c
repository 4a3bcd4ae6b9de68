/*
 * stack.c: task stacks, carved out of shared mappings, each above a guard
 * region, and pooled.
 *
 * The one design decision: how many memory mappings (VMAs) a stack costs.
 * The kernel caps them per process (vm.max_map_count, 65530 by default),
 * and a guard page made with mprotect splits a mapping in two: one mapping
 * per stack with its guard cost two VMAs, so at most ~32,700 tasks could
 * be alive at once. Here stacks come in slabs: one anonymous mapping holds
 * up to SLAB_STACKS stacks, laid out as
 *
 *     low                                                         high
 *     | guard | stack 0 ........ | guard | stack 1 ........ | ...
 *
 * and each guard region (GUARD bytes, below its stack, where an overflow
 * lands) is installed with madvise(MADV_GUARD_INSTALL) (Linux 6.13):
 * guard regions that split nothing, so a slab is one VMA whatever it
 * holds, and 100,000 live tasks take about 1,600 VMAs. On an older kernel
 * the guards fall back to mprotect(PROT_NONE): two VMAs a stack, as
 * before; the limit is then named when it is hit (weft__stack_why).
 *
 * Released stacks go to a free list and are reused by later tasks and
 * executions: creating a task costs no system call once the pool is warm.
 * A slab whose stacks are all free is unmapped by weft__stack_trim. Stacks
 * are announced to valgrind and unpoisoned for AddressSanitizer on reuse
 * (an abandoned task may leave poisoned frames).
 */
#include "platform/platform.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

#define GUARD       ((size_t)64 * 1024) /* below each stack */
#define SLAB_STACKS 64
#define SLAB_BYTES  ((size_t)64 << 20) /* fewer stacks when they are big */

struct weft__slab {
    struct weft__slab *next, *prev; /* all slabs */
    char *map;
    size_t map_size;
    unsigned nstacks, nfree;
    bool doomed;                 /* to be unmapped by the trim under way */
    struct weft__stack stacks[]; /* their records */
};

static struct weft__slab *slabs;
static struct weft__stack *pool; /* free stacks of size cur_size */
static unsigned pool_n;
static size_t cur_size;   /* the size stacks are handed out at */
static bool guard_failed; /* the last slab failed at a guard, not its map */
static size_t page;
/* 1: guards by madvise, -1: by mprotect (the kernel refused), 0: unknown */
WEFT__HIDDEN int weft__stack_guard_mode;

size_t weft__page_size(void)
{
    if (page == 0)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

static void unmap_slab(struct weft__slab *sl)
{
    for (unsigned i = 0; i < sl->nstacks; i++) {
#ifdef WEFT_ASAN
        /* A later mapping at this address must not inherit the redzones
         * of frames abandoned here. */
        ASAN_UNPOISON_MEMORY_REGION(sl->stacks[i].lo, sl->stacks[i].size);
#endif
        VALGRIND_STACK_DEREGISTER(sl->stacks[i].valgrind_id);
    }
    if (sl->prev != NULL)
        sl->prev->next = sl->next;
    else
        slabs = sl->next;
    if (sl->next != NULL)
        sl->next->prev = sl->prev;
    munmap(sl->map, sl->map_size);
    weft__free(sl);
}

/* Does reading g fault? The kernel copying from it into a pipe says so
 * (EFAULT) without a signal. */
static bool guard_faults(const char *g)
{
    int p[2];
    if (pipe(p) != 0)
        return false;
    ssize_t w = write(p[1], g, 1);
    bool faults = w < 0 && errno == EFAULT;
    close(p[0]);
    close(p[1]);
    return faults;
}

/* The guard region [g, g + GUARD): no access, and no VMA split where the
 * kernel can avoid it. */
static int guard(char *g)
{
    if (weft__stack_guard_mode >= 0) {
        if (madvise(g, GUARD, MADV_GUARD_INSTALL) == 0) {
            if (weft__stack_guard_mode == 1 || guard_faults(g)) {
                weft__stack_guard_mode = 1;
                return 0;
            }
            /* accepted and ignored (qemu-user does that with advice it
             * does not know): no guard at all, so mprotect instead */
        } else if (weft__stack_guard_mode == 1) {
            return -errno; /* it worked before: a real failure */
        }
        weft__stack_guard_mode = -1; /* mprotect from now on */
    }
    return mprotect(g, GUARD, PROT_NONE) == 0 ? 0 : -errno;
}

/* A new slab of stacks of `size` bytes; its stacks join the pool. Slabs
 * grow with the stacks already made, from 4 to SLAB_STACKS, so that a
 * test with three tasks maps three stacks' worth, not sixty-four (a
 * forked worker copies, and valgrind scans, every mapping). */
static __attribute__((noinline)) int new_slab(size_t size)
{
    size_t slot = GUARD + size;
    unsigned made = 0;
    for (struct weft__slab *sl = slabs; sl != NULL && made < SLAB_STACKS;
         sl = sl->next)
        made += sl->nstacks;
    unsigned n = made < 4 ? 4 : made;
    if (n > SLAB_STACKS)
        n = SLAB_STACKS;
    if (n > SLAB_BYTES / slot)
        n = (unsigned)(SLAB_BYTES / slot);
    if (n == 0)
        n = 1;
    struct weft__slab *sl =
        weft__alloc(sizeof *sl + n * sizeof(struct weft__stack));
    if (sl == NULL)
        return -ENOMEM;
    sl->map_size = n * slot;
    guard_failed = false;
    bool fail = weft__alloc_should_fail();
    sl->map = fail ? MAP_FAILED
                   : mmap(NULL, sl->map_size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (sl->map == MAP_FAILED) {
        int e = fail ? ENOMEM : errno;
        weft__free(sl);
        return -e;
    }
    for (unsigned i = 0; i < n; i++) {
        int rc = guard(sl->map + i * slot);
        guard_failed = rc != 0;
        if (rc != 0) {
            munmap(sl->map, sl->map_size);
            weft__free(sl);
            return rc;
        }
    }
    sl->nstacks = sl->nfree = n;
    sl->doomed = false;
    sl->prev = NULL;
    sl->next = slabs;
    if (slabs != NULL)
        slabs->prev = sl;
    slabs = sl;
    /* pushed last first, so stacks are handed out from the slab's start */
    for (unsigned i = n; i-- > 0;) {
        struct weft__stack *s = &sl->stacks[i];
        s->lo = sl->map + i * slot + GUARD;
        s->size = size;
        s->guard = GUARD;
        s->slab = sl;
        s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + size);
        s->next = pool;
        pool = s;
        pool_n++;
    }
    return 0;
}

/* Stacks of another size are no longer handed out: the free ones leave
 * the pool, and their slabs go once all their stacks are back. */
static __attribute__((noinline)) void change_size(size_t size)
{
    struct weft__stack **p = &pool;
    while (*p != NULL) {
        if ((*p)->size != size) {
            *p = (*p)->next;
            pool_n--;
        } else {
            p = &(*p)->next;
        }
    }
    cur_size = size;
    struct weft__slab *next;
    for (struct weft__slab *sl = slabs; sl != NULL; sl = next) {
        next = sl->next;
        if (sl->nstacks > 0 && sl->stacks[0].size != size &&
            sl->nfree == sl->nstacks)
            unmap_slab(sl);
    }
}

/* (new_slab and change_size stay out of line: a stack from the pool, the
 * common case, then saves few registers.) */
struct weft__stack *weft__stack_get_err(size_t size, int *err)
{
    size_t pg = weft__page_size();
    size = (size + pg - 1) & ~(pg - 1);
    *err = 0;
    if (size != cur_size)
        change_size(size);
    if (pool == NULL) {
        int rc = new_slab(size);
        if (rc != 0) {
            *err = rc;
            return NULL;
        }
    }
    struct weft__stack *s = pool;
    pool = s->next;
    pool_n--;
    s->slab->nfree--;
#ifdef WEFT_ASAN
    ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
    return s;
}

struct weft__stack *weft__stack_get(size_t size)
{
    int err;
    return weft__stack_get_err(size, &err);
}

void weft__stack_put(struct weft__stack *s)
{
    struct weft__slab *sl = s->slab;
    sl->nfree++;
    if (s->size != cur_size) { /* of an older size: its slab may go */
        if (sl->nfree == sl->nstacks)
            unmap_slab(sl);
        return;
    }
    s->next = pool;
    pool = s;
    pool_n++;
}

void weft__stack_trim(unsigned keep)
{
    if (pool_n <= keep)
        return;
    /* Unmap slabs whose stacks are all free while more than `keep` free
     * stacks would be left: first take their stacks out of the pool. */
    unsigned left = pool_n;
    for (struct weft__slab *sl = slabs; sl != NULL; sl = sl->next)
        if (sl->nfree == sl->nstacks && left - sl->nfree >= keep) {
            sl->doomed = true;
            left -= sl->nfree;
        }
    struct weft__stack **p = &pool;
    while (*p != NULL) {
        if ((*p)->slab->doomed) {
            *p = (*p)->next;
            pool_n--;
        } else {
            p = &(*p)->next;
        }
    }
    struct weft__slab *next;
    for (struct weft__slab *sl = slabs; sl != NULL; sl = next) {
        next = sl->next;
        if (sl->doomed)
            unmap_slab(sl);
    }
}

/* The lines of a small /proc file, or -1. */
static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

void weft__stack_why(int err, size_t size, char *buf, size_t len)
{
    char what[160];
    snprintf(what, sizeof what, "cannot map a task stack of %zu KiB: %s",
             size / 1024, strerror(err < 0 ? -err : err));
    if (err != -ENOMEM && err != ENOMEM) {
        snprintf(buf, len, "%s", what);
        return;
    }
    /* Which limit: the mappings per process, the address space, or
     * memory itself. */
    long maps = count_lines("/proc/self/maps");
    long max = read_long("/proc/sys/vm/max_map_count");
    struct rlimit as;
    /* A guard that could not be made means a mapping had to split: the
     * mappings were at their limit (the failed slab is gone again, so the
     * count is a little under it). */
    if ((guard_failed && max > 0) ||
        (maps >= 0 && max > 0 && maps + 2 * SLAB_STACKS + 64 >= max))
        snprintf(buf, len,
                 "%s: the kernel's limit on memory mappings per process is "
                 "reached (%ld of vm.max_map_count = %ld%s); raise it (sysctl "
                 "-w vm.max_map_count=%ld) or keep fewer tasks alive",
                 what, maps, max,
                 weft__stack_guard_mode < 0
                     ? ", two per stack: this kernel has no "
                       "MADV_GUARD_INSTALL"
                     : "",
                 4 * max);
    else if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
        snprintf(buf, len,
                 "%s: the address-space limit (ulimit -v, RLIMIT_AS) of %llu "
                 "MiB is reached; lower WEFT_STACK_SIZE or raise the limit",
                 what, (unsigned long long)(as.rlim_cur >> 20));
    else
        snprintf(buf, len, "%s: out of memory", what);
}
