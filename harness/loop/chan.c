/*
 * chan.c: channels, bounded queues between tasks.
 *
 * A put waits while the channel is full and a get while it is empty; both
 * await in a coroutine and block in a thread (weft__wait), so one channel
 * connects coroutines and threads alike. Closing wakes every waiter: gets
 * drain what is left, then fail with -EPIPE, as do later puts.
 */
#include "loop/loop.h"

#include <errno.h>
#include <string.h>

static bool chan_touch(struct weft__run *r, weft_chan_t *c)
{
    if (!weft__obj_touch(r, &c->o))
        return true;
    weft__obj_touch(r, &c->space);
    c->head = c->len = 0;
    c->closed = false;
    c->buf = weft__run_alloc(r, c->cap * sizeof *c->buf);
    return c->buf != NULL;
}

int weft_chan_init_at(weft_chan_t *c, size_t capacity, const char *file,
                      int line)
{
    if (c == NULL || capacity == 0 || capacity > (SIZE_MAX >> 4))
        return -EINVAL;
    memset(c, 0, sizeof *c);
    c->cap = capacity;
    weft__obj_init(NULL, &c->o, file, line);
    weft__obj_init(NULL, &c->space, file, line);
    struct weft__run *r = weft__current;
    if (r != NULL && r->cur != &r->sched && !chan_touch(r, c))
        return -ENOMEM;
    return 0;
}

int weft_chan_put_at(weft_chan_t *c, void *v, int64_t deadline,
                     const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_put");
    struct weft__task *self = r->cur;
    if (!chan_touch(r, c))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CHAN_PUT, &c->o, file, line);
    for (;;) {
        if (c->closed)
            return -EPIPE;
        if (c->len < c->cap) {
            c->buf[(c->head + c->len) % c->cap] = v;
            c->len++;
            weft__wake(r, &c->o, WEFT__WAKE_ONE);
            return 0;
        }
        if (deadline == 0)
            return -EAGAIN;
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        int rc = weft__wait(r, WEFT__OP_CHAN_PUT, &c->space, deadline);
        if (rc != 0)
            return rc;
        if (self->timed_out && c->len == c->cap && !c->closed)
            return -ETIMEDOUT;
    }
}

int weft_chan_get_at(weft_chan_t *c, void **v, int64_t deadline,
                     const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_get");
    struct weft__task *self = r->cur;
    if (!chan_touch(r, c))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CHAN_GET, &c->o, file, line);
    for (;;) {
        if (c->len > 0) {
            void *x = c->buf[c->head];
            c->head = (c->head + 1) % c->cap;
            c->len--;
            if (v != NULL)
                *v = x;
            weft__wake(r, &c->space, WEFT__WAKE_ONE);
            return 0;
        }
        if (c->closed)
            return -EPIPE;
        if (deadline == 0)
            return -EAGAIN;
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        int rc = weft__wait(r, WEFT__OP_CHAN_GET, &c->o, deadline);
        if (rc != 0)
            return rc;
        if (self->timed_out && c->len == 0 && !c->closed)
            return -ETIMEDOUT;
    }
}

int weft_chan_close_at(weft_chan_t *c, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_close");
    if (!chan_touch(r, c))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CHAN_CLOSE, &c->o, file, line);
    if (c->closed)
        return -EPIPE;
    c->closed = true;
    weft__wake(r, &c->o, WEFT__WAKE_ALL);
    weft__wake(r, &c->space, WEFT__WAKE_ALL);
    return 0;
}
