/*
 * test_atomic.c: atomics and nondeterministic choice: every operation of
 * the 32-bit, 64-bit and pointer atomics, the lost update a load+store
 * pair makes (and the fetch_add twin that has none), the outcomes of two
 * racing increments, atomic blocks, and weft_choose.
 *
 * cmocka's assert_* never run inside a weft task: tasks record into a
 * state struct or use weft_assert, and cmocka checks after weft_explore.
 */
#include "prim.h"
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Inside a task: check a returned value, naming both on failure. */
#define expect_eq(what, got, want)                                            \
    weft_assert((unsigned long long)(got) == (unsigned long long)(want),      \
                "%s: got %llu, want %llu", (what), (unsigned long long)(got), \
                (unsigned long long)(want))

/* ------------------------------------------------------ each operation */

static void ops32_body(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(5);
    uint32_t e;
    expect_eq("load", weft_atomic32_load(&a), 5);
    weft_atomic32_store(&a, 7);
    expect_eq("load after store", weft_atomic32_load(&a), 7);
    expect_eq("exchange", weft_atomic32_exchange(&a, 9), 7);
    expect_eq("after exchange", a.v, 9);
    expect_eq("fetch_add", weft_atomic32_fetch_add(&a, 3), 9);
    expect_eq("after add", a.v, 12);
    expect_eq("fetch_sub", weft_atomic32_fetch_sub(&a, 2), 12);
    expect_eq("after sub", a.v, 10);
    expect_eq("fetch_and", weft_atomic32_fetch_and(&a, 0x6), 10);
    expect_eq("after and", a.v, 2);
    expect_eq("fetch_or", weft_atomic32_fetch_or(&a, 0x9), 2);
    expect_eq("after or", a.v, 11);
    expect_eq("fetch_xor", weft_atomic32_fetch_xor(&a, 0xf), 11);
    expect_eq("after xor", a.v, 4);
    e = 4;
    weft_assert(weft_atomic32_compare_exchange(&a, &e, 100), "cas 4->100");
    expect_eq("after cas", a.v, 100);
    expect_eq("expected untouched on success", e, 4);
    weft_assert(!weft_atomic32_compare_exchange(&a, &e, 200), "cas 4->200");
    expect_eq("value after failed cas", a.v, 100);
    expect_eq("expected after failed cas", e, 100);
    /* Wrap-around is modular, as for C's unsigned types. */
    weft_atomic32_store(&a, 0);
    expect_eq("fetch_sub at 0", weft_atomic32_fetch_sub(&a, 1), 0);
    expect_eq("after wrap", a.v, UINT32_MAX);
    expect_eq("fetch_add at max", weft_atomic32_fetch_add(&a, 2), UINT32_MAX);
    expect_eq("after wrap up", a.v, 1);
}

static void atomic32_ops_return_the_old_value(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(ops32_body, NULL, 1, 3, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
}

#define BIG UINT64_C(0x100000000) /* beyond 32 bits */

static void ops64_body(void *arg)
{
    (void)arg;
    weft_atomic64_t a = WEFT_ATOMIC_INIT(BIG + 5);
    uint64_t e;
    expect_eq("load", weft_atomic64_load(&a), BIG + 5);
    weft_atomic64_store(&a, BIG + 7);
    expect_eq("load after store", weft_atomic64_load(&a), BIG + 7);
    expect_eq("exchange", weft_atomic64_exchange(&a, 3 * BIG), BIG + 7);
    expect_eq("after exchange", a.v, 3 * BIG);
    expect_eq("fetch_add", weft_atomic64_fetch_add(&a, BIG), 3 * BIG);
    expect_eq("after add", a.v, 4 * BIG);
    expect_eq("fetch_sub", weft_atomic64_fetch_sub(&a, 1), 4 * BIG);
    expect_eq("after sub", a.v, 4 * BIG - 1);
    expect_eq("fetch_and", weft_atomic64_fetch_and(&a, 0xff000000ffULL),
              4 * BIG - 1);
    expect_eq("after and", a.v, 0x3000000ffULL);
    expect_eq("fetch_or", weft_atomic64_fetch_or(&a, 0xf000000000000000ULL),
              0x3000000ffULL);
    expect_eq("after or", a.v, 0xf0000003000000ffULL);
    expect_eq("fetch_xor", weft_atomic64_fetch_xor(&a, 0xf0000003000000ffULL),
              0xf0000003000000ffULL);
    expect_eq("after xor", a.v, 0);
    e = 0;
    weft_assert(weft_atomic64_compare_exchange(&a, &e, 5 * BIG), "cas 0->5B");
    expect_eq("after cas", a.v, 5 * BIG);
    expect_eq("expected untouched on success", e, 0);
    weft_assert(!weft_atomic64_compare_exchange(&a, &e, 6 * BIG), "cas 0->6B");
    expect_eq("value after failed cas", a.v, 5 * BIG);
    expect_eq("expected after failed cas", e, 5 * BIG);
    weft_atomic64_store(&a, 0);
    expect_eq("fetch_sub at 0", weft_atomic64_fetch_sub(&a, 1), 0);
    expect_eq("after wrap", a.v, UINT64_MAX);
}

static void atomic64_ops_return_the_old_value(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(ops64_body, NULL, 1, 3, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
}

static void ops_ptr_body(void *arg)
{
    (void)arg;
    static int x, y, z;
    weft_atomic_ptr_t a = WEFT_ATOMIC_INIT(&x);
    void *e;
    weft_assert(weft_atomic_ptr_load(&a) == &x, "load");
    weft_atomic_ptr_store(&a, &y);
    weft_assert(weft_atomic_ptr_load(&a) == &y, "load after store");
    weft_assert(weft_atomic_ptr_exchange(&a, &z) == &y, "exchange");
    weft_assert(a.v == &z, "after exchange");
    weft_assert(weft_atomic_ptr_exchange(&a, NULL) == &z, "exchange to NULL");
    weft_assert(weft_atomic_ptr_load(&a) == NULL, "load NULL");
    e = NULL;
    weft_assert(weft_atomic_ptr_compare_exchange(&a, &e, &x), "cas NULL->x");
    weft_assert(a.v == &x, "after cas");
    weft_assert(e == NULL, "expected untouched on success");
    weft_assert(!weft_atomic_ptr_compare_exchange(&a, &e, &y), "cas NULL->y");
    weft_assert(a.v == &x, "value after failed cas");
    weft_assert(e == &x, "expected after failed cas");
    /* A swap to NULL still reports success. */
    weft_assert(weft_atomic_ptr_compare_exchange(&a, &e, NULL), "cas x->NULL");
    weft_assert(a.v == NULL, "after cas to NULL");
}

static void atomic_ptr_ops_return_the_old_value(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(ops_ptr_body, NULL, 1, 3, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------ lost updates */

enum increment_kind {
    LOAD_STORE,   /* v = load; store(v + 1): the race */
    FETCH_ADD,    /* one indivisible operation */
    ATOMIC_BLOCK, /* load + store inside weft_atomic_begin/end */
};

struct race {
    weft_atomic32_t a;
    enum increment_kind kind;
    bool assert_two;  /* fail the execution unless both increments stick */
    unsigned seen[4]; /* final values over all executions */
};

static void *increment(void *arg)
{
    struct race *s = arg;
    switch (s->kind) {
    case LOAD_STORE: {
        uint32_t v = weft_atomic32_load(&s->a);
        weft_atomic32_store(&s->a, v + 1);
        break;
    }
    case FETCH_ADD:
        weft_atomic32_fetch_add(&s->a, 1);
        break;
    case ATOMIC_BLOCK: {
        weft_atomic_begin();
        weft_atomic_begin(); /* blocks nest */
        uint32_t v = weft_atomic32_load(&s->a);
        weft_atomic_end();
        weft_yield(); /* still inside the outer block: no preemption */
        weft_atomic32_store(&s->a, v + 1);
        weft_atomic_end();
        break;
    }
    }
    return NULL;
}

static void race_body(void *arg)
{
    struct race *s = arg;
    weft_thread_t t[2];
    weft_atomic32_store(&s->a, 0);
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], "incrementer", increment, s);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
    uint32_t v = weft_atomic32_load(&s->a);
    weft_assert(v == 1 || v == 2, "final value %u", (unsigned)v);
    s->seen[v]++;
    if (s->assert_two)
        weft_assert(v == 2, "lost update: final value %u", (unsigned)v);
}

static void load_store_increment_loses_an_update(void **state)
{
    (void)state;
    struct race s;
    memset(&s, 0, sizeof s);
    s.kind = LOAD_STORE;
    s.assert_two = true;
    weft_result_t r;
    int rc = explore(race_body, &s, 1, 1000, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_contains(r.message, "lost update: final value 1");
    weft_result_destroy(&r);
}

static void fetch_add_twin_never_loses_an_update(void **state)
{
    (void)state;
    struct race s;
    memset(&s, 0, sizeof s);
    s.kind = FETCH_ADD;
    s.assert_two = true;
    weft_result_t r;
    int rc = explore(race_body, &s, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.seen[2], 1000);
    weft_result_destroy(&r);
}

static void racing_increments_end_at_one_or_two_and_both_happen(void **state)
{
    (void)state;
    struct race s;
    memset(&s, 0, sizeof s);
    s.kind = LOAD_STORE;
    s.assert_two = false;
    weft_result_t r;
    int rc = explore(race_body, &s, 1, 500, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.seen[0] + s.seen[3], 0);
    assert_int_equal(s.seen[1] + s.seen[2], 500);
    assert_true(s.seen[1] > 0);
    assert_true(s.seen[2] > 0);
    weft_result_destroy(&r);
}

static void atomic_block_prevents_preemption(void **state)
{
    (void)state;
    struct race s;
    memset(&s, 0, sizeof s);
    s.kind = ATOMIC_BLOCK;
    s.assert_two = true;
    weft_result_t r;
    int rc = explore(race_body, &s, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(s.seen[2], 1000);
    weft_result_destroy(&r);
}

/* -------------------------------------------------------------- choose */

#define CHOICES 5

struct choose {
    unsigned seen[CHOICES];
    uint64_t last;
};

static void choose_body(void *arg)
{
    struct choose *s = arg;
    uint64_t v = weft_choose(CHOICES);
    weft_assert(v < CHOICES, "weft_choose(%d) returned %llu", CHOICES,
                (unsigned long long)v);
    s->seen[v]++;
    s->last = v;
    uint64_t one = weft_choose(1);
    weft_assert(one == 0, "weft_choose(1) returned %llu",
                (unsigned long long)one);
}

static void choose_returns_every_value_below_n_and_no_other(void **state)
{
    (void)state;
    struct choose s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(choose_body, &s, 1, 200, &r);
    assert_no_finding(rc, &r);
    unsigned total = 0;
    for (int i = 0; i < CHOICES; i++) {
        assert_true(s.seen[i] > 0);
        total += s.seen[i];
    }
    assert_int_equal(total, 200);
    weft_result_destroy(&r);
}

static void choose_gives_the_same_value_for_the_same_seed(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct choose a, b;
        weft_result_t ra, rb;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        assert_int_equal(explore(choose_body, &a, seed, 1, &ra), 0);
        assert_int_equal(explore(choose_body, &b, seed, 1, &rb), 0);
        assert_int_equal(a.last, b.last);
        assert_int_equal(ra.trace_hash, rb.trace_hash);
        weft_result_destroy(&ra);
        weft_result_destroy(&rb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atomic32_ops_return_the_old_value),
        cmocka_unit_test(atomic64_ops_return_the_old_value),
        cmocka_unit_test(atomic_ptr_ops_return_the_old_value),
        cmocka_unit_test(load_store_increment_loses_an_update),
        cmocka_unit_test(fetch_add_twin_never_loses_an_update),
        cmocka_unit_test(racing_increments_end_at_one_or_two_and_both_happen),
        cmocka_unit_test(atomic_block_prevents_preemption),
        cmocka_unit_test(choose_returns_every_value_below_n_and_no_other),
        cmocka_unit_test(choose_gives_the_same_value_for_the_same_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
