/*
 * chan.c: channels, bounded queues between tasks.
 *
 * A put waits while the channel is full and a get while it is empty; both
 * await in a coroutine and block in a thread (weft__wait), so one channel
 * connects coroutines and threads alike. Closing wakes every waiter: gets
 * drain what is left, then fail with -EPIPE, as do later puts. A channel
 * may also be used through send and receive ends (trio's memory
 * channels): it counts the open ends of each kind, and the last end of a
 * kind closes that direction. An end is a plain handle; a task blocked on
 * an end that gets closed finds out when the close wakes it.
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
    c->senders = c->receivers = 0;
    c->no_senders = c->no_receivers = false;
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

/* An end that may be used in this execution: open, and made in it. */
static bool end_ok(const struct weft__run *r, const struct weft__chan_end *e)
{
    return e->chan != NULL && !e->closed && e->epoch == r->epoch &&
           e->chan->o.epoch == r->epoch;
}

/* A put through end (NULL: the channel itself). */
static int put(struct weft__run *r, weft_chan_t *c, struct weft__chan_end *end,
               void *v, int64_t deadline)
{
    struct weft__task *self = r->cur;
    for (;;) {
        if (end != NULL && end->closed)
            return -EBADF; /* its owner closed it while we waited */
        if (c->closed || c->no_receivers)
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
        if (self->timed_out && c->len == c->cap && !c->closed &&
            !c->no_receivers)
            return -ETIMEDOUT;
    }
}

static int get(struct weft__run *r, weft_chan_t *c, struct weft__chan_end *end,
               void **v, int64_t deadline)
{
    struct weft__task *self = r->cur;
    for (;;) {
        if (end != NULL && end->closed)
            return -EBADF;
        if (c->len > 0) {
            void *x = c->buf[c->head];
            c->head = (c->head + 1) % c->cap;
            c->len--;
            if (v != NULL)
                *v = x;
            weft__wake(r, &c->space, WEFT__WAKE_ONE);
            return 0;
        }
        if (c->closed || c->no_senders)
            return -EPIPE;
        if (deadline == 0)
            return -EAGAIN;
        if (deadline != WEFT_FOREVER && deadline <= r->now)
            return -ETIMEDOUT;
        int rc = weft__wait(r, WEFT__OP_CHAN_GET, &c->o, deadline);
        if (rc != 0)
            return rc;
        if (self->timed_out && c->len == 0 && !c->closed && !c->no_senders)
            return -ETIMEDOUT;
    }
}

int weft_chan_put_at(weft_chan_t *c, void *v, int64_t deadline,
                     const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_put");
    if (!chan_touch(r, c))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CHAN_PUT, &c->o, file, line);
    return put(r, c, NULL, v, deadline);
}

int weft_chan_get_at(weft_chan_t *c, void **v, int64_t deadline,
                     const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_get");
    if (!chan_touch(r, c))
        return -ENOMEM;
    weft__visible(r, WEFT__OP_CHAN_GET, &c->o, file, line);
    return get(r, c, NULL, v, deadline);
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

/* ------------------------------------------------------------------ ends */

int weft_chan_open_at(weft_chan_t *c, size_t capacity, weft_chan_tx_t *tx,
                      weft_chan_rx_t *rx, const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_open");
    if (tx == NULL || rx == NULL)
        return -EINVAL;
    int rc = weft_chan_init_at(c, capacity, file, line);
    if (rc != 0)
        return rc;
    c->senders = c->receivers = 1;
    tx->end = (struct weft__chan_end){ c, r->epoch, false };
    rx->end = (struct weft__chan_end){ c, r->epoch, false };
    return 0;
}

static int clone(const struct weft__chan_end *from, struct weft__chan_end *to,
                 bool send)
{
    struct weft__run *r =
        weft__run_get(send ? "weft_chan_tx_clone" : "weft_chan_rx_clone");
    if (from == NULL || to == NULL)
        return -EINVAL;
    if (!end_ok(r, from))
        return -EBADF;
    *to = *from;
    if (send)
        from->chan->senders++;
    else
        from->chan->receivers++;
    return 0;
}

int weft_chan_tx_clone(const weft_chan_tx_t *from, weft_chan_tx_t *to)
{
    return clone(from ? &from->end : NULL, to ? &to->end : NULL, true);
}

int weft_chan_rx_clone(const weft_chan_rx_t *from, weft_chan_rx_t *to)
{
    return clone(from ? &from->end : NULL, to ? &to->end : NULL, false);
}

int weft_chan_send_at(weft_chan_tx_t *tx, void *v, int64_t deadline,
                      const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_send");
    if (tx == NULL)
        return -EINVAL;
    if (!end_ok(r, &tx->end))
        return -EBADF;
    weft__visible(r, WEFT__OP_CHAN_PUT, &tx->end.chan->o, file, line);
    return put(r, tx->end.chan, &tx->end, v, deadline);
}

int weft_chan_recv_at(weft_chan_rx_t *rx, void **v, int64_t deadline,
                      const char *file, int line)
{
    struct weft__run *r = weft__run_get("weft_chan_recv");
    if (rx == NULL)
        return -EINVAL;
    if (!end_ok(r, &rx->end))
        return -EBADF;
    weft__visible(r, WEFT__OP_CHAN_GET, &rx->end.chan->o, file, line);
    return get(r, rx->end.chan, &rx->end, v, deadline);
}

/* Close one end. Its own waiters must find out (-EBADF), and the last end
 * of a kind closes that direction, so every waiter on the channel is
 * woken to look again; those it does not concern wait on. */
static int end_close(struct weft__chan_end *e, bool send, const char *file,
                     int line)
{
    struct weft__run *r =
        weft__run_get(send ? "weft_chan_tx_close" : "weft_chan_rx_close");
    if (e == NULL)
        return -EINVAL;
    if (!end_ok(r, e))
        return -EBADF;
    weft_chan_t *c = e->chan;
    weft__visible(r, WEFT__OP_CHAN_CLOSE, &c->o, file, line);
    e->closed = true;
    if (send && --c->senders == 0)
        c->no_senders = true;
    if (!send && --c->receivers == 0) {
        c->no_receivers = true;
        c->len = 0; /* nobody will ever read it (trio drops it too) */
    }
    weft__wake(r, &c->o, WEFT__WAKE_ALL);
    weft__wake(r, &c->space, WEFT__WAKE_ALL);
    return 0;
}

int weft_chan_tx_close_at(weft_chan_tx_t *tx, const char *file, int line)
{
    return end_close(tx ? &tx->end : NULL, true, file, line);
}

int weft_chan_rx_close_at(weft_chan_rx_t *rx, const char *file, int line)
{
    return end_close(rx ? &rx->end : NULL, false, file, line);
}
