/*
 * alloc.c: the one allocation seam, text buffers and misuse messages.
 *
 * Every byte weft allocates (and every stack it maps) passes through here,
 * so a test can make the n-th allocation fail and check that weft answers
 * -ENOMEM and leaks nothing. The counter is per OS thread, like the run.
 */
#include "platform/platform.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static WEFT__TLS uint64_t fail_countdown; /* 0: never fail */

void weft_fail_alloc_after(uint64_t n)
{
    fail_countdown = n;
}

bool weft__alloc_should_fail(void)
{
    if (fail_countdown == 0)
        return false;
    return --fail_countdown == 0;
}

void *weft__alloc(size_t size)
{
    if (weft__alloc_should_fail())
        return NULL;
    return malloc(size);
}

/* Zeroed: calloc leaves memory that is fresh from the system untouched,
 * where malloc + memset would fault in every page (weft-cc's children run
 * one execution each: all their memory is fresh). */
void *weft__zalloc(size_t size)
{
    if (weft__alloc_should_fail())
        return NULL;
    return calloc(1, size);
}

void *weft__realloc(void *p, size_t size)
{
    if (weft__alloc_should_fail())
        return NULL;
    return realloc(p, size);
}

void weft__free(void *p)
{
    free(p);
}

int weft__grow(void *arr, uint32_t *cap, uint32_t n, size_t elem)
{
    void **a = arr;
    if (n <= *cap)
        return 0;
    uint32_t c = *cap ? *cap : 8;
    while (c < n)
        c *= 2;
    void *p = weft__realloc(*a, (size_t)c * elem);
    if (p == NULL)
        return -ENOMEM;
    *a = p;
    *cap = c;
    return 0;
}

void weft__buf_vprintf(struct weft__buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + (size_t)n + 1)
            c *= 2;
        char *s = weft__realloc(b->s, c);
        if (s == NULL)
            return; /* keep what fits; a report must never fail */
        b->s = s;
        b->cap = c;
    }
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
}

void weft__buf_printf(struct weft__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    weft__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void weft__misuse(const char *fn, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "weft: %s: ", fn);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    /* Misuse is no finding of the code under test: the crash handler of
     * a running exploration must not turn this abort into one. */
    signal(SIGABRT, SIG_DFL);
    abort();
}

void weft__assert_broken(const char *cond, const char *file, int line)
{
    weft__misuse("internal error", "%s:%d: invariant broken: %s", file, line,
                 cond);
}

const char *weft_strerror(int err)
{
    if (err > 0)
        err = -err;
    switch (err) {
    case 0:
        return "success";
    case -ETIMEDOUT:
        return "timed out at its virtual deadline";
    case -EBUSY:
        return "busy: would have to wait";
    case -EAGAIN:
        return "not available now";
    case -EPERM:
        return "not the owner";
    case -EDEADLK:
        return "would deadlock on itself";
    case -EINVAL:
        return "invalid argument";
    case -ENOMEM:
        return "out of memory";
    case -ESRCH:
        return "no such thread";
    case -ECANCELED:
        return "cancelled";
    default:
        return strerror(-err);
    }
}
