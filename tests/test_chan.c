/*
 * test_chan.c: channels through send and receive ends (trio's memory
 * channels): clones, receivers that end by themselves when the last send
 * end closes, senders that get -EPIPE when the last receive end closes,
 * and -EBADF for a closed end, even one a task is blocked on.
 *
 * Every exploration runs in a forked child (forked.h) with a pinned seed
 * and the random strategy; tasks record what they saw into the state
 * struct and the checks run afterwards.
 */
#include "forked.h"
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define V(n) ((void *)(uintptr_t)(n))

/* -------------------------------- the last send end ends the receivers */

/* Three producers, two coroutines and a thread, each with its own clone
 * of the send end, send three items each and close their clone; main
 * closes the original once it has cloned. Two consumers (a coroutine and
 * a thread, each with a receive clone) read until -EPIPE: nobody tells
 * them the producers are done, the channel does. */
struct fanin {
    weft_chan_t c;
    weft_chan_tx_t tx, ptx[3];
    weft_chan_rx_t rx, crx[2];
    uint64_t got;    /* bit per item received */
    int received[2]; /* per consumer */
    int end_rc[2];   /* what ended each consumer's loop */
    int send_rc;     /* first failing send, or 0 */
    int orig_close_rc, again_rc;
    weft_thread_t thread_producer, thread_consumer;
};

static int wait_item(struct fanin *s, int k)
{
    void *v;
    int rc;
    while ((rc = weft_chan_recv(&s->crx[k], &v, WEFT_FOREVER)) == 0) {
        s->got |= 1ull << (uintptr_t)v;
        s->received[k]++;
    }
    return rc;
}

static void *fanin_producer(void *arg)
{
    struct fanin *s = (struct fanin *)((uintptr_t)arg & ~(uintptr_t)3);
    int k = (int)((uintptr_t)arg & 3);
    for (int i = 0; i < 3; i++) {
        int rc = weft_chan_send(&s->ptx[k], V(3 * k + i), WEFT_FOREVER);
        if (rc != 0 && s->send_rc == 0)
            s->send_rc = rc;
    }
    weft_chan_tx_close(&s->ptx[k]);
    return NULL;
}

static void *fanin_consumer(void *arg)
{
    struct fanin *s = (struct fanin *)((uintptr_t)arg & ~(uintptr_t)3);
    int k = (int)((uintptr_t)arg & 3);
    s->end_rc[k] = wait_item(s, k);
    weft_chan_rx_close(&s->crx[k]);
    return NULL;
}

#define ARG(s, k) ((void *)((uintptr_t)(s) | (uintptr_t)(k)))

static void *fanin_main(void *arg)
{
    struct fanin *s = arg;
    weft_chan_open(&s->c, 2, &s->tx, &s->rx);
    for (int k = 0; k < 3; k++)
        weft_chan_tx_clone(&s->tx, &s->ptx[k]);
    for (int k = 0; k < 2; k++)
        weft_chan_rx_clone(&s->rx, &s->crx[k]);
    s->orig_close_rc = weft_chan_tx_close(&s->tx);
    s->again_rc = weft_chan_tx_close(&s->tx);
    weft_chan_rx_close(&s->rx);
    weft_future_t *f[3];
    f[0] = weft_spawn("producer", fanin_producer, ARG(s, 0));
    f[1] = weft_spawn("producer", fanin_producer, ARG(s, 1));
    f[2] = weft_spawn("consumer", fanin_consumer, ARG(s, 0));
    weft_thread_spawn(&s->thread_producer, "producer", fanin_producer,
                      ARG(s, 2));
    weft_thread_spawn(&s->thread_consumer, "consumer", fanin_consumer,
                      ARG(s, 1));
    weft_wait_all(f, 3, WEFT_FOREVER);
    return NULL;
}

static struct fanin fanin_st; /* 8-aligned: ARG uses 2 low bits */

static void fanin_body(void *arg)
{
    struct fanin *s = arg;
    memset(s, 0, sizeof *s);
    s->end_rc[0] = s->end_rc[1] = 1;
    weft_run(fanin_main, s, NULL);
    weft_thread_join(s->thread_producer, NULL);
    weft_thread_join(s->thread_consumer, NULL);
    weft_assert(s->got == 0x1ff, "items received: %#llx",
                (unsigned long long)s->got);
    weft_assert(s->received[0] + s->received[1] == 9, "%d + %d received",
                s->received[0], s->received[1]);
}

static void
receivers_end_by_themselves_when_the_last_send_end_closes(void **state)
{
    (void)state;
    struct outcome o;
    explore(fanin_body, &fanin_st, sizeof fanin_st, 41, 300, &o);
    assert_no_finding(&o);
    assert_int_equal(fanin_st.send_rc, 0);
    assert_int_equal(fanin_st.end_rc[0], -EPIPE);
    assert_int_equal(fanin_st.end_rc[1], -EPIPE);
    assert_int_equal(fanin_st.orig_close_rc, 0);
    assert_int_equal(fanin_st.again_rc, -EBADF);
}

/* ----------------------------- the last receive end breaks the senders */

/* The producer fills the channel (capacity 1) and blocks on its second
 * send; both receive ends close without reading: the blocked send and
 * every later one fail with -EPIPE, and the buffered item is gone. */
struct broken {
    weft_chan_t c;
    weft_chan_tx_t tx;
    weft_chan_rx_t rx, rx2;
    int first_rc, blocked_rc, later_rc, legacy_get_rc, legacy_put_rc;
    int64_t blocked_until;
};

static void *broken_producer(void *arg)
{
    struct broken *s = arg;
    s->first_rc = weft_chan_send(&s->tx, V(1), WEFT_FOREVER);
    s->blocked_rc = weft_chan_send(&s->tx, V(2), WEFT_FOREVER);
    s->blocked_until = weft_now();
    s->later_rc = weft_chan_send(&s->tx, V(3), WEFT_FOREVER);
    return NULL;
}

static void *broken_main(void *arg)
{
    struct broken *s = arg;
    weft_chan_open(&s->c, 1, &s->tx, &s->rx);
    weft_chan_rx_clone(&s->rx, &s->rx2);
    weft_future_t *f = weft_spawn("producer", broken_producer, s);
    weft_await_sleep_for(WEFT_MSEC);
    weft_chan_rx_close(&s->rx);
    weft_await_sleep_for(WEFT_MSEC); /* one receive end is left */
    weft_chan_rx_close(&s->rx2);
    weft_await(f, NULL);
    s->legacy_get_rc = weft_chan_get(&s->c, NULL, 0);
    s->legacy_put_rc = weft_chan_put(&s->c, V(4), 0);
    return NULL;
}

static void broken_body(void *arg)
{
    struct broken *s = arg;
    memset(s, 0, sizeof *s);
    weft_run(broken_main, s, NULL);
}

static void senders_get_epipe_when_the_last_receive_end_closes(void **state)
{
    (void)state;
    struct broken s;
    struct outcome o;
    explore(broken_body, &s, sizeof s, 43, 100, &o);
    assert_no_finding(&o);
    assert_int_equal(s.first_rc, 0);
    assert_int_equal(s.blocked_rc, -EPIPE);
    assert_int_equal(s.blocked_until, 2 * WEFT_MSEC); /* not at 1 ms */
    assert_int_equal(s.later_rc, -EPIPE);
    assert_int_equal(s.legacy_get_rc, -EAGAIN); /* the item was dropped */
    assert_int_equal(s.legacy_put_rc, -EPIPE);
}

/* ------------------------------------------------------- a closed end */

/* A thread blocks in a receive on its clone; a coroutine closes that
 * clone under it: the receive ends with -EBADF (trio's
 * ClosedResourceError), while the other receive end keeps working. */
struct closed_end {
    weft_chan_t c;
    weft_chan_tx_t tx, tx2;
    weft_chan_rx_t rx, mine;
    int blocked_rc, reuse_rc, clone_rc, send_rc, other_rc;
    void *other_v;
    int64_t blocked_until;
    weft_thread_t t;
};

static void *closed_receiver(void *arg)
{
    struct closed_end *s = arg;
    s->blocked_rc = weft_chan_recv(&s->mine, NULL, WEFT_FOREVER);
    s->blocked_until = weft_now();
    s->reuse_rc = weft_chan_recv(&s->mine, NULL, 0);
    return NULL;
}

static void *closed_main(void *arg)
{
    struct closed_end *s = arg;
    weft_chan_open(&s->c, 4, &s->tx, &s->rx);
    weft_chan_rx_clone(&s->rx, &s->mine);
    weft_thread_spawn(&s->t, "receiver", closed_receiver, s);
    weft_await_sleep_for(3 * WEFT_MSEC);
    weft_chan_rx_close(&s->mine);
    s->clone_rc = weft_chan_rx_clone(&s->mine, &s->mine);
    weft_chan_tx_clone(&s->tx, &s->tx2);
    weft_chan_tx_close(&s->tx2);
    s->send_rc = weft_chan_send(&s->tx2, V(1), 0);
    weft_chan_send(&s->tx, V(5), WEFT_FOREVER);
    s->other_rc = weft_chan_recv(&s->rx, &s->other_v, WEFT_FOREVER);
    return NULL;
}

static void closed_body(void *arg)
{
    struct closed_end *s = arg;
    memset(s, 0, sizeof *s);
    s->blocked_rc = s->reuse_rc = 1;
    weft_run(closed_main, s, NULL);
    weft_thread_join(s->t, NULL);
}

static void a_closed_end_is_ebadf_even_for_a_task_blocked_on_it(void **state)
{
    (void)state;
    struct closed_end s;
    struct outcome o;
    explore(closed_body, &s, sizeof s, 47, 100, &o);
    assert_no_finding(&o);
    assert_int_equal(s.blocked_rc, -EBADF);
    assert_int_equal(s.blocked_until, 3 * WEFT_MSEC);
    assert_int_equal(s.reuse_rc, -EBADF);
    assert_int_equal(s.clone_rc, -EBADF);
    assert_int_equal(s.send_rc, -EBADF);
    assert_int_equal(s.other_rc, 0);
    assert_ptr_equal(s.other_v, V(5));
}

/* ------------------------------------------------------------------ main */

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-test-chan-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    (void)why_buf; /* forked.h's EXPECT helpers are not used here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            receivers_end_by_themselves_when_the_last_send_end_closes),
        cmocka_unit_test(senders_get_epipe_when_the_last_receive_end_closes),
        cmocka_unit_test(a_closed_end_is_ebadf_even_for_a_task_blocked_on_it),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
