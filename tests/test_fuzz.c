/*
 * test_fuzz.c: schedule fuzzing: the fuzz strategy (strategy_fuzz.c),
 * weft_fuzz_one and weft_fuzz_main (fuzz.c).
 *
 * The same bytes are the same execution; different bytes reach different
 * interleavings; an empty or all-zero input is the non-preemptive
 * schedule (dfs's first execution); a known byte string loses an update
 * and replays it; findings come with their kind, message and report; any
 * byte string is a valid input; thousands of calls leak nothing (CI runs
 * this under AddressSanitizer too). The environment is ignored
 * (use_env = false) except where a test sets a variable and unsets it.
 * Tests that change per-thread state for good (weft_fuzz_driven, an
 * allocation failure while the cache is made) run in their own thread.
 */
#include "weft.h"
#include "weft/fuzz.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------- helpers */

static void plain(weft_config_t *c)
{
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    /* the inversion body is here to deadlock, not to be a lock-order
     * inversion (test_lockorder.c) */
    c->lock_order = 0;
}

#define assert_contains(hay, needle) \
    contains_at((hay), (needle), __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, const char *file,
                        int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("%s:%d: expected \"%s\" in:\n%s\n", file, line, needle,
                    hay ? hay : "(null)");
        _fail(file, line);
    }
}

static void temp_path(char *path, size_t len)
{
    snprintf(path, len, "/tmp/weft-test-fuzz-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static void write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* xorshift: test inputs, reproducible. */
static uint64_t rng = 88172645463325252ULL;
static uint8_t next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 32);
}

/* One execution; the result's report is freed. Returns weft_fuzz_one's. */
static int run(weft_body_fn *body, void *arg, const uint8_t *b, size_t n,
               weft_result_t *res)
{
    weft_config_t c;
    plain(&c);
    int rc = weft_fuzz_one(&c, b, n, body, arg, res);
    weft_result_destroy(res);
    return rc;
}

/* -------------------------------------------------------------- bodies */

/* Two threads bump a counter with load; store(v + 1). */
struct counter {
    weft_atomic32_t v;
};

static void *bump(void *arg)
{
    struct counter *c = arg;
    uint32_t x = weft_atomic32_load(&c->v);
    weft_atomic32_store(&c->v, x + 1);
    return NULL;
}

static void lost_update(void *arg)
{
    (void)arg;
    struct counter c = { WEFT_ATOMIC_INIT(0) };
    weft_thread_t a, b;
    weft_thread_spawn(&a, "a", bump, &c);
    weft_thread_spawn(&b, "b", bump, &c);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    uint32_t v = weft_atomic32_load(&c.v);
    weft_assert(v == 2, "counter is %u, expected 2", (unsigned)v);
}

/* Three threads, a few steps each, no bug: many interleavings. */
static void *stepper(void *arg)
{
    weft_atomic32_t *a = arg;
    for (int i = 0; i < 4; i++)
        weft_atomic32_fetch_add(a, 1);
    return NULL;
}

static void three(void *arg)
{
    (void)arg;
    weft_atomic32_t a = WEFT_ATOMIC_INIT(0);
    weft_thread_t t[3];
    for (int i = 0; i < 3; i++)
        weft_thread_spawn(&t[i], "stepper", stepper, &a);
    for (int i = 0; i < 3; i++)
        weft_thread_join(t[i], NULL);
}

/* Lock order inversion. */
static weft_mutex_t ma = WEFT_MUTEX_INITIALIZER, mb = WEFT_MUTEX_INITIALIZER;

static void *ab(void *arg)
{
    (void)arg;
    weft_mutex_lock(&ma);
    weft_mutex_lock(&mb);
    weft_mutex_unlock(&mb);
    weft_mutex_unlock(&ma);
    return NULL;
}

static void *ba(void *arg)
{
    (void)arg;
    weft_mutex_lock(&mb);
    weft_mutex_lock(&ma);
    weft_mutex_unlock(&ma);
    weft_mutex_unlock(&mb);
    return NULL;
}

static void inversion(void *arg)
{
    (void)arg;
    weft_thread_t a, b;
    weft_thread_spawn(&a, "ab", ab, NULL);
    weft_thread_spawn(&b, "ba", ba, NULL);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
}

/* Values chosen by the input, recorded for the test. */
struct picks {
    uint64_t n[4];
    uint64_t v[4];
};

static void choices(void *arg)
{
    struct picks *p = arg;
    for (int i = 0; i < 4; i++)
        p->v[i] = weft_choose(p->n[i]);
}

/* A thread that aborts when the input says so. */
static void *maybe_abort(void *arg)
{
    (void)arg;
    if (weft_choose(2) == 1)
        abort();
    return NULL;
}

static void aborter(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "aborter", maybe_abort, NULL);
    weft_thread_join(t, NULL);
}

/* A thread that spins on a flag with weft_yield: needs the next ready
 * thread at a yield, whatever the input. */
static void *setter(void *arg)
{
    weft_atomic32_store(arg, 1);
    return NULL;
}

static void spinner(void *arg)
{
    (void)arg;
    weft_atomic32_t flag = WEFT_ATOMIC_INIT(0);
    weft_thread_t t;
    weft_thread_spawn(&t, "setter", setter, &flag);
    while (weft_atomic32_load(&flag) == 0)
        weft_yield();
    weft_thread_join(t, NULL);
}

/* ------------------------------------------------------------- tests */

static const uint8_t lost[] = { 1, 0, 1 }; /* found by enumeration */

static void same_bytes_same_execution(void **state)
{
    (void)state;
    for (int k = 0; k < 50; k++) {
        uint8_t b[32];
        size_t n = 1 + (size_t)k % sizeof b;
        for (size_t i = 0; i < n; i++)
            b[i] = next_byte();
        weft_result_t r1, r2;
        int rc1 = run(three, NULL, b, n, &r1);
        int rc2 = run(three, NULL, b, n, &r2);
        assert_int_equal(rc1, 0);
        assert_int_equal(rc2, 0);
        assert_int_equal(r1.trace_hash, r2.trace_hash);
        assert_int_equal(r1.steps, r2.steps);
        assert_int_equal(r1.preemptions, r2.preemptions);
        assert_int_equal(r1.executions, 1);
    }
}

static void different_bytes_different_interleavings(void **state)
{
    (void)state;
    uint64_t hashes[64];
    unsigned distinct = 0, preempted = 0;
    for (int k = 0; k < 64; k++) {
        uint8_t b[24];
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = next_byte();
        weft_result_t r;
        assert_int_equal(run(three, NULL, b, sizeof b, &r), 0);
        bool seen = false;
        for (unsigned i = 0; i < distinct; i++)
            seen = seen || hashes[i] == r.trace_hash;
        if (!seen)
            hashes[distinct++] = r.trace_hash;
        preempted += r.preemptions > 0;
    }
    assert_true(distinct >= 32);
    assert_true(preempted >= 60);
}

static void empty_and_zero_inputs_are_the_nonpreemptive_schedule(void **state)
{
    (void)state;
    weft_body_fn *bodies[] = { three, lost_update, inversion, spinner };
    for (size_t k = 0; k < sizeof bodies / sizeof *bodies; k++) {
        /* dfs's first execution takes the default at every choice */
        weft_config_t c;
        plain(&c);
        c.strategy = "dfs";
        c.iterations = 1;
        weft_result_t d;
        assert_int_equal(weft_explore(&c, bodies[k], NULL, &d), 0);
        weft_result_destroy(&d);

        uint8_t zeros[256] = { 0 };
        weft_result_t e, z, nul;
        assert_int_equal(run(bodies[k], NULL, zeros, 0, &e), 0);
        assert_int_equal(run(bodies[k], NULL, zeros, sizeof zeros, &z), 0);
        assert_int_equal(run(bodies[k], NULL, NULL, 0, &nul), 0);
        assert_int_equal(e.trace_hash, d.trace_hash);
        assert_int_equal(z.trace_hash, d.trace_hash);
        assert_int_equal(nul.trace_hash, d.trace_hash);
        assert_int_equal(e.steps, d.steps);
        assert_int_equal(e.preemptions, 0);
        assert_int_equal(z.preemptions, 0);
    }
}

static void known_bytes_lose_an_update_and_replay(void **state)
{
    (void)state;
    weft_config_t c;
    plain(&c);
    c.name = "lost update";
    c.replay_hint = "./prog crash-file";
    weft_result_t r1, r2;
    assert_int_equal(
        weft_fuzz_one(&c, lost, sizeof lost, lost_update, NULL, &r1), 1);
    assert_int_equal(r1.finding, WEFT_FINDING_ASSERTION);
    assert_contains(r1.message, "counter is 1, expected 2");
    assert_int_equal(r1.executions, 1);
    assert_int_equal(r1.failures, 1);
    assert_true(r1.preemptions >= 1);
    assert_int_equal(
        weft_fuzz_one(&c, lost, sizeof lost, lost_update, NULL, &r2), 1);
    assert_int_equal(r1.trace_hash, r2.trace_hash);
    assert_int_equal(r1.steps, r2.steps);
    assert_string_equal(r1.report, r2.report);
    /* zero bytes after the input are the defaults it ends with */
    uint8_t longer[64] = { 1, 0, 1 };
    weft_result_t r3;
    assert_int_equal(run(lost_update, NULL, longer, sizeof longer, &r3), 1);
    assert_int_equal(r3.trace_hash, r1.trace_hash);
    /* and the empty schedule passes */
    weft_result_t ok;
    assert_int_equal(run(lost_update, NULL, NULL, 0, &ok), 0);
    assert_int_equal(ok.finding, WEFT_FINDING_NONE);
    weft_result_destroy(&r1);
    weft_result_destroy(&r2);
}

static void report_names_kind_message_and_replay(void **state)
{
    (void)state;
    weft_config_t c;
    plain(&c);
    c.name = "lost update";
    c.replay_hint = "./prog crash-file";
    weft_result_t r;
    assert_int_equal(
        weft_fuzz_one(&c, lost, sizeof lost, lost_update, NULL, &r), 1);
    assert_non_null(r.report);
    assert_contains(r.report, "weft: FAILED: assertion failed: v == 2");
    assert_contains(r.report, "kind:      assertion");
    assert_contains(r.report, "test:      lost update");
    assert_contains(r.report, "strategy fuzz");
    assert_contains(r.report, "input:     3 bytes, 3 read by");
    assert_contains(r.report, "replay:    ./prog crash-file");
    assert_contains(r.report, "trace hash:");
    weft_result_destroy(&r);
    assert_null(r.report);

    /* without a hint the replay line names the program and a crash file */
    c.replay_hint = NULL;
    assert_int_equal(
        weft_fuzz_one(&c, lost, sizeof lost, lost_update, NULL, &r), 1);
    assert_contains(r.report, "test_fuzz <crash-file>");
    weft_result_destroy(&r);
}

static void deadlock_found_by_a_short_input(void **state)
{
    (void)state;
    /* Every input of up to 6 bytes 0/1: one of them deadlocks. */
    bool found = false;
    for (unsigned len = 1; len <= 6 && !found; len++)
        for (unsigned m = 0; m < (1u << len) && !found; m++) {
            uint8_t b[6];
            for (unsigned i = 0; i < len; i++)
                b[i] = (uint8_t)(m >> i & 1);
            weft_config_t c;
            plain(&c);
            weft_result_t r;
            int rc = weft_fuzz_one(&c, b, len, inversion, NULL, &r);
            if (rc == 1) {
                assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
                assert_contains(r.report, "kind:      deadlock");
                found = true;
            } else {
                assert_int_equal(rc, 0);
            }
            weft_result_destroy(&r);
        }
    assert_true(found);
}

static void crash_in_a_thread_is_a_finding(void **state)
{
    (void)state;
    /* the first byte lets main go on to its join, the second is the
     * aborter's weft_choose(2) */
    static const uint8_t yes[] = { 0, 1 }, no[] = { 0, 0 };
    weft_result_t r;
    weft_config_t c;
    plain(&c);
    assert_int_equal(weft_fuzz_one(&c, yes, 2, aborter, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_CRASH);
    assert_contains(r.message, "SIGABRT");
    weft_result_destroy(&r);
    /* the harness recovered: the next input runs */
    assert_int_equal(run(aborter, NULL, no, 2, &r), 0);
    assert_int_equal(run(aborter, NULL, yes, 2, &r), 1);
}

static void value_choices_read_one_two_or_four_bytes(void **state)
{
    (void)state;
    struct picks p = { { 10, 1000, 100000, 256 }, { 0 } };
    static const uint8_t b[] = { 0x17,                   /* 23 % 10 = 3 */
                                 0x34, 0x12,             /* 0x1234 % 1000 */
                                 0x78, 0x56, 0x34, 0x12, /* % 100000 */
                                 0xff };
    weft_result_t r;
    assert_int_equal(run(choices, &p, b, sizeof b, &r), 0);
    assert_int_equal(p.v[0], 3);
    assert_int_equal(p.v[1], 0x1234 % 1000);
    assert_int_equal(p.v[2], 0x12345678 % 100000);
    assert_int_equal(p.v[3], 255);
    /* a choice needing more bytes than remain takes 0 and ends the input */
    memset(p.v, 0xff, sizeof p.v);
    assert_int_equal(run(choices, &p, b, 2, &r), 0);
    assert_int_equal(p.v[0], 3);
    assert_int_equal(p.v[1], 0);
    assert_int_equal(p.v[2], 0);
    assert_int_equal(p.v[3], 0);
}

static void any_bytes_are_a_valid_input(void **state)
{
    (void)state;
    size_t big = 1u << 20;
    uint8_t *b = malloc(big);
    assert_non_null(b);
    for (size_t i = 0; i < big; i++)
        b[i] = next_byte();
    weft_result_t r;
    assert_int_equal(run(three, NULL, b, big, &r), 0);
    assert_true(r.steps > 0);
    memset(b, 0xff, big);
    assert_int_equal(run(three, NULL, b, big, &r), 0);
    assert_int_equal(run(spinner, NULL, b, big, &r), 0);
    for (size_t n = 0; n < 40; n++) {
        int rc = run(lost_update, NULL, b + n, n, &r);
        assert_true(rc == 0 || rc == 1);
    }
    free(b);

    weft_config_t c;
    plain(&c);
    assert_int_equal(weft_fuzz_one(&c, NULL, 5, three, NULL, &r), -EINVAL);
    assert_int_equal(weft_fuzz_one(&c, lost, 3, NULL, NULL, &r), -EINVAL);
    assert_int_equal(weft_fuzz_one(NULL, lost, 3, three, NULL, NULL), 0);
    c.max_steps = 0;
    assert_int_equal(weft_fuzz_one(&c, lost, 3, three, NULL, &r), -EINVAL);
    /* a step bound is a finding like any other */
    plain(&c);
    c.max_steps = 5;
    assert_int_equal(weft_fuzz_one(&c, NULL, 0, three, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_STEP_BOUND);
    weft_result_destroy(&r);
}

static void many_calls_leak_nothing(void **state)
{
    (void)state;
    /* Under ASan, LeakSanitizer checks at exit; here, the calls must
     * neither fail nor grow: results destroyed, run structures reused. */
    for (int k = 0; k < 20000; k++) {
        uint8_t b[16];
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = next_byte();
        weft_result_t r;
        int rc = run(k % 2 ? lost_update : inversion, NULL, b, sizeof b, &r);
        assert_true(rc == 0 || rc == 1);
        assert_null(r.report);
    }
}

static void environment_applies_and_is_rechecked(void **state)
{
    (void)state;
    weft_config_t c;
    plain(&c);
    c.use_env = true;
    weft_result_t r;
    assert_int_equal(weft_fuzz_one(&c, NULL, 0, three, NULL, &r), 0);
    setenv("WEFT_MAX_STEPS", "5", 1);
    setenv("WEFT_QUIET", "1", 1);
    int rc = weft_fuzz_one(&c, NULL, 0, three, NULL, &r);
    unsetenv("WEFT_MAX_STEPS");
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_STEP_BOUND);
    weft_result_destroy(&r);
    assert_int_equal(weft_fuzz_one(&c, NULL, 0, three, NULL, &r), 0);
    unsetenv("WEFT_QUIET");
}

static void schedule_out_replays_under_explore(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof path);
    setenv("WEFT_SCHEDULE_OUT", path, 1);
    weft_config_t c;
    plain(&c);
    c.use_env = true;
    weft_result_t f;
    int rc = weft_fuzz_one(&c, lost, sizeof lost, lost_update, NULL, &f);
    unsetenv("WEFT_SCHEDULE_OUT");
    assert_int_equal(rc, 1);
    assert_string_equal(f.schedule_file, path);
    assert_contains(f.report, "WEFT_REPLAY=");

    plain(&c);
    c.replay_file = path;
    weft_result_t e;
    assert_int_equal(weft_explore(&c, lost_update, NULL, &e), 1);
    assert_int_equal(e.finding, WEFT_FINDING_ASSERTION);
    assert_int_equal(e.trace_hash, f.trace_hash);
    assert_int_equal(e.steps, f.steps);
    weft_result_destroy(&e);
    weft_result_destroy(&f);
    unlink(path);
}

static void fuzz_main_replays_files(void **state)
{
    (void)state;
    char crash[64], pass[64];
    temp_path(crash, sizeof crash);
    temp_path(pass, sizeof pass);
    write_bytes(crash, lost, sizeof lost);
    write_bytes(pass, (const uint8_t *)"", 0);
    weft_config_t c;
    plain(&c);
    char a0[] = "prog", a1[64], a2[64], a3[] = "/nonexistent/input";
    snprintf(a1, sizeof a1, "%s", pass);
    snprintf(a2, sizeof a2, "%s", crash);
    char *ok_argv[] = { a0, a1, NULL };
    assert_int_equal(weft_fuzz_main(2, ok_argv, &c, lost_update, NULL, 0), 0);
    char *bad_argv[] = { a0, a1, a2, NULL };
    assert_int_equal(weft_fuzz_main(3, bad_argv, &c, lost_update, NULL, 0), 1);
    char *missing_argv[] = { a0, a3, NULL };
    assert_int_equal(weft_fuzz_main(2, missing_argv, &c, lost_update, NULL, 0),
                     2);
    unlink(crash);
    unlink(pass);
}

/* In a thread of their own: per-thread state set for good. */
static void *driven_thread(void *arg)
{
    (void)arg;
    static uint8_t counters[1024];
    uint8_t first[1024];
    weft_fuzz_driven(counters, sizeof counters);
    weft_result_t r;
    int rc = run(lost_update, NULL, lost, sizeof lost, &r);
    memcpy(first, counters, sizeof first);
    unsigned marked = 0;
    for (size_t i = 0; i < sizeof counters; i++)
        marked += counters[i] != 0;
    memset(counters, 0, sizeof counters);
    int rc2 = run(lost_update, NULL, lost, sizeof lost, &r);
    bool same = memcmp(first, counters, sizeof first) == 0;
    /* the features follow the interleaving */
    memset(counters, 0, sizeof counters);
    run(lost_update, NULL, NULL, 0, &r);
    bool differ = memcmp(first, counters, sizeof first) != 0;
    weft_fuzz_driven(NULL, 0);
    return (void *)(intptr_t)(rc == 1 && rc2 == 1 && marked >= 3 && same &&
                              differ);
}

static void driven_calls_count_interleaving_features(void **state)
{
    (void)state;
    pthread_t t;
    void *ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, driven_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_true(ok != NULL);
}

static void *oom_thread(void *arg)
{
    (void)arg;
    int bad = 0;
    /* Fail the n-th allocation, for every n the first call makes; each
     * attempt in a fresh cache (the thread's cache is dropped on error). */
    for (uint64_t n = 1; n <= 40; n++) {
        weft_fail_alloc_after(n);
        weft_result_t r;
        int rc = run(lost_update, NULL, lost, sizeof lost, &r);
        weft_fail_alloc_after(0);
        if (rc != 1 && rc != -ENOMEM)
            bad++;
        if (run(lost_update, NULL, lost, sizeof lost, &r) != 1)
            bad++;
    }
    return (void *)(intptr_t)bad;
}

static void out_of_memory_is_an_error_not_a_crash(void **state)
{
    (void)state;
    pthread_t t;
    void *bad = (void *)1;
    assert_int_equal(pthread_create(&t, NULL, oom_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &bad), 0);
    assert_int_equal((intptr_t)bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bytes_same_execution),
        cmocka_unit_test(different_bytes_different_interleavings),
        cmocka_unit_test(empty_and_zero_inputs_are_the_nonpreemptive_schedule),
        cmocka_unit_test(known_bytes_lose_an_update_and_replay),
        cmocka_unit_test(report_names_kind_message_and_replay),
        cmocka_unit_test(deadlock_found_by_a_short_input),
        cmocka_unit_test(crash_in_a_thread_is_a_finding),
        cmocka_unit_test(value_choices_read_one_two_or_four_bytes),
        cmocka_unit_test(any_bytes_are_a_valid_input),
        cmocka_unit_test(many_calls_leak_nothing),
        cmocka_unit_test(environment_applies_and_is_rechecked),
        cmocka_unit_test(schedule_out_replays_under_explore),
        cmocka_unit_test(fuzz_main_replays_files),
        cmocka_unit_test(driven_calls_count_interleaving_features),
        cmocka_unit_test(out_of_memory_is_an_error_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
