/* Pattern 9, use before initialisation (order violation), with C11
 * threads: main starts an allocator, which sets up a shared buffer, and a
 * user, which copies a message into the buffer if it exists. If the user
 * runs first it finds no buffer and skips its work; the allocator then
 * creates a fresh, empty buffer and main's check of the contents fails.
 * Every access holds the mutex: no data race, only the order is wrong.
 * Depth 1. Verdict: assertion (abort). -DFIXED: main joins the allocator
 * before it starts the user. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

static mtx_t m;
static char *buf;

static int allocator(void *arg)
{
    (void)arg;
    char *b = calloc(32, 1);
    mtx_lock(&m);
    buf = b;
    mtx_unlock(&m);
    return 0;
}

static int user(void *arg)
{
    (void)arg;
    mtx_lock(&m);
    if (buf != NULL)
        strcpy(buf, "hello");
    mtx_unlock(&m);
    return 0;
}

int main(void)
{
    mtx_init(&m, mtx_plain);
    thrd_t a, u;
    thrd_create(&a, allocator, NULL);
#ifdef FIXED
    thrd_join(a, NULL);
#endif
    thrd_create(&u, user, NULL);
#ifndef FIXED
    thrd_join(a, NULL);
#endif
    thrd_join(u, NULL);
    assert(buf != NULL && strcmp(buf, "hello") == 0 &&
           "the user ran before the buffer existed");
    free(buf);
    mtx_destroy(&m);
    return 0;
}
