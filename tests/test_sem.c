/*
 * test_sem.c: counting semaphores, barriers and once: values and errors,
 * timed waits, reuse across executions, a barrier's one serial thread and
 * its second round, the deadlock of a barrier short of one arrival, and
 * once running its function exactly once while the others wait.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ---------------------------------------------------------- semaphores */

struct values {
    weft_sem_t s;
    unsigned initial, after_wait, after_post;
    int wait_rc, post_rc;
};

static void values_body(void *arg)
{
    struct values *v = arg;
    weft_sem_init(&v->s, 3);
    v->initial = weft_sem_value(&v->s);
    v->wait_rc = weft_sem_wait(&v->s);
    v->after_wait = weft_sem_value(&v->s);
    v->post_rc = weft_sem_post(&v->s);
    weft_sem_post(&v->s);
    v->after_post = weft_sem_value(&v->s);
    weft_sem_destroy(&v->s);
}

static void sem_counts_from_its_initial_value(void **state)
{
    (void)state;
    struct values v;
    memset(&v, 0, sizeof v);
    v.wait_rc = v.post_rc = 1;
    weft_result_t r;
    int rc = explore(values_body, &v, 1, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(v.initial, 3);
    assert_int_equal(v.wait_rc, 0);
    assert_int_equal(v.after_wait, 2);
    assert_int_equal(v.post_rc, 0);
    assert_int_equal(v.after_post, 4);
    weft_result_destroy(&r);
}

struct post_wait {
    weft_sem_t s;
    int wait_rc;
    int64_t woke_at;
    unsigned value_after;
};

static void *wait_for_post(void *arg)
{
    struct post_wait *p = arg;
    p->wait_rc = weft_sem_wait(&p->s);
    p->woke_at = weft_now();
    return NULL;
}

static void post_wait_body(void *arg)
{
    struct post_wait *p = arg;
    weft_thread_t t;
    weft_sem_init(&p->s, 0);
    weft_thread_spawn(&t, "waiter", wait_for_post, p);
    weft_sleep_for(WEFT_SEC); /* the waiter blocks meanwhile */
    weft_sem_post(&p->s);
    weft_thread_join(t, NULL);
    p->value_after = weft_sem_value(&p->s);
}

static void post_wakes_a_waiter_which_takes_the_unit(void **state)
{
    (void)state;
    struct post_wait p;
    memset(&p, 0, sizeof p);
    p.wait_rc = 1;
    p.value_after = 99;
    weft_result_t r;
    int rc = explore(post_wait_body, &p, 2, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(p.wait_rc, 0);
    assert_int_equal(p.woke_at, WEFT_SEC);
    assert_int_equal(p.value_after, 0);
    weft_result_destroy(&r);
}

struct trywait {
    weft_sem_t s;
    int first, second;
    unsigned value;
};

static void trywait_body(void *arg)
{
    struct trywait *t = arg;
    weft_sem_init(&t->s, 1);
    t->first = weft_sem_trywait(&t->s);
    t->second = weft_sem_trywait(&t->s);
    t->value = weft_sem_value(&t->s);
}

static void trywait_at_zero_is_eagain(void **state)
{
    (void)state;
    struct trywait t;
    memset(&t, 0, sizeof t);
    t.first = t.second = 1;
    t.value = 99;
    weft_result_t r;
    int rc = explore(trywait_body, &t, 3, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(t.first, 0);
    assert_int_equal(t.second, -EAGAIN);
    assert_int_equal(t.value, 0);
    weft_result_destroy(&r);
}

struct timed {
    weft_sem_t s;
    bool post_in_time; /* a thread posts at 1 s */
    int rc;
    int64_t returned_at;
};

static void *post_at_one_second(void *arg)
{
    struct timed *t = arg;
    weft_sleep_until(WEFT_SEC);
    weft_sem_post(&t->s);
    return NULL;
}

static void timed_body(void *arg)
{
    struct timed *t = arg;
    weft_thread_t p;
    weft_sem_init(&t->s, 0);
    if (t->post_in_time)
        weft_thread_spawn(&p, "poster", post_at_one_second, t);
    t->rc = weft_sem_timedwait(&t->s, 2 * WEFT_SEC);
    t->returned_at = weft_now();
    if (t->post_in_time)
        weft_thread_join(p, NULL);
}

static void timedwait_times_out_at_exactly_its_deadline(void **state)
{
    (void)state;
    struct timed t;
    memset(&t, 0, sizeof t);
    t.rc = 1;
    weft_result_t r;
    int rc = explore(timed_body, &t, 4, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(t.rc, -ETIMEDOUT);
    assert_int_equal(t.returned_at, 2 * WEFT_SEC);
    weft_result_destroy(&r);
}

static void timedwait_succeeds_when_posted_before_its_deadline(void **state)
{
    (void)state;
    struct timed t;
    memset(&t, 0, sizeof t);
    t.post_in_time = true;
    t.rc = 1;
    weft_result_t r;
    int rc = explore(timed_body, &t, 4, 100, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(t.rc, 0);
    assert_int_equal(t.returned_at, WEFT_SEC);
    weft_result_destroy(&r);
}

static weft_sem_t two = WEFT_SEM_INITIALIZER(2);

struct reuse {
    unsigned wrong_start; /* executions that did not start at 2 */
    unsigned executions;
    int third_rc;
};

static void reuse_body(void *arg)
{
    struct reuse *u = arg;
    if (weft_sem_value(&two) != 2)
        u->wrong_start++;
    weft_assert(weft_sem_trywait(&two) == 0, "first unit");
    weft_assert(weft_sem_trywait(&two) == 0, "second unit");
    u->third_rc = weft_sem_trywait(&two);
    u->executions++;
}

static void static_sem_starts_at_its_value_in_each_execution(void **state)
{
    (void)state;
    struct reuse u = { 0, 0, 1 };
    weft_result_t r;
    int rc = explore(reuse_body, &u, 5, 5, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(u.executions, 5);
    assert_int_equal(u.wrong_start, 0);
    assert_int_equal(u.third_rc, -EAGAIN);
    weft_result_destroy(&r);

    /* A second exploration too, after the first drained it. */
    u.executions = 0;
    rc = explore(reuse_body, &u, 6, 3, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(u.executions, 3);
    assert_int_equal(u.wrong_start, 0);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------------ barriers */

#define PARTIES 3

struct meet {
    weft_barrier_t b;
    int arrived[2]; /* per round: threads that reached the barrier */
    int serial[2];  /* per round: WEFT_BARRIER_SERIAL returns */
    int bad_rc;
};

static void *meet_twice(void *arg)
{
    struct meet *s = arg;
    for (int round = 0; round < 2; round++) {
        s->arrived[round]++;
        int rc = weft_barrier_wait(&s->b);
        weft_assert(s->arrived[round] == PARTIES,
                    "passed round %d with %d of %d arrived", round,
                    s->arrived[round], PARTIES);
        if (rc == WEFT_BARRIER_SERIAL)
            s->serial[round]++;
        else if (rc != 0)
            s->bad_rc++;
    }
    return NULL;
}

static void meet_body(void *arg)
{
    struct meet *s = arg;
    weft_thread_t t[PARTIES];
    weft_barrier_init(&s->b, PARTIES);
    memset(s->arrived, 0, sizeof s->arrived);
    memset(s->serial, 0, sizeof s->serial);
    for (int i = 0; i < PARTIES; i++)
        weft_thread_spawn(&t[i], "party", meet_twice, s);
    for (int i = 0; i < PARTIES; i++)
        weft_thread_join(t[i], NULL);
    for (int round = 0; round < 2; round++)
        weft_assert(s->serial[round] == 1, "round %d had %d serial threads",
                    round, s->serial[round]);
    weft_assert(s->bad_rc == 0, "%d bad returns", s->bad_rc);
    weft_barrier_destroy(&s->b);
}

static void barrier_holds_all_until_the_last_and_has_one_serial(void **state)
{
    (void)state;
    struct meet s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(meet_body, &s, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 1000);
    weft_result_destroy(&r);
}

static weft_barrier_t short_barrier;

static void *arrive(void *arg)
{
    (void)arg;
    weft_barrier_wait(&short_barrier);
    return NULL;
}

static void short_body(void *arg)
{
    (void)arg;
    weft_thread_t t[PARTIES - 1];
    weft_barrier_init(&short_barrier, PARTIES);
    for (int i = 0; i < PARTIES - 1; i++)
        weft_thread_spawn(&t[i], "arriver", arrive, NULL);
    for (int i = 0; i < PARTIES - 1; i++)
        weft_thread_join(t[i], NULL);
}

static void barrier_short_of_one_arrival_is_a_deadlock(void **state)
{
    (void)state;
    weft_result_t r;
    int rc = explore(short_body, NULL, 1, 10, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_DEADLOCK);
    assert_int_equal(r.executions, 1);
    assert_contains(r.report, "barrier");
    assert_contains(r.report, "2 of 3 arrived");
    assert_contains(r.report, "\"arriver\"");
    weft_result_destroy(&r);
}

/* ---------------------------------------------------------------- once */

static weft_once_t once = WEFT_ONCE_INIT;

/* weft_once_fn takes no argument: its state is file-scope. */
static struct {
    int runs;
    int done;
    int called; /* threads that entered weft_once */
    unsigned others_waited;
} once_state;

static void init_once(void)
{
    once_state.runs++;
    weft_yield();
    /* Time moves only when nothing can run: by now every other thread
     * has entered weft_once and waits for this to finish. */
    weft_sleep_for(WEFT_MSEC);
    if (once_state.called == PARTIES)
        once_state.others_waited++;
    once_state.done = 1;
}

static void *call_once(void *arg)
{
    (void)arg;
    once_state.called++;
    int rc = weft_once(&once, init_once);
    weft_assert(rc == 0, "weft_once returned %d", rc);
    weft_assert(once_state.done, "weft_once returned before fn finished");
    return NULL;
}

static void once_body(void *arg)
{
    (void)arg;
    weft_thread_t t[PARTIES];
    once_state.runs = once_state.done = once_state.called = 0;
    for (int i = 0; i < PARTIES; i++)
        weft_thread_spawn(&t[i], "caller", call_once, NULL);
    for (int i = 0; i < PARTIES; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(once_state.runs == 1, "fn ran %d times", once_state.runs);
}

static void once_runs_fn_exactly_once_while_others_wait(void **state)
{
    (void)state;
    memset(&once_state, 0, sizeof once_state);
    weft_result_t r;
    int rc = explore(once_body, NULL, 1, 1000, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(r.executions, 1000);
    /* The global once restarted in every execution ... */
    assert_int_equal(once_state.runs, 1);
    /* ... and every execution saw the others wait for it. */
    assert_int_equal(once_state.others_waited, 1000);
    weft_result_destroy(&r);
}

/* ----------------------------------------------------- many waiters */

/* In each body below, every waiter blocks before the next is spawned, so
 * no more than two tasks were ever ready at once; then the posts, the last
 * barrier arrival or the end of once must let all forty through. */
#define MANY 40

static weft_sem_t many_sem = WEFT_SEM_INITIALIZER(0);
static weft_barrier_t many_barrier;
static weft_once_t many_once = WEFT_ONCE_INIT;
static int many_count;

static void *take_a_unit(void *arg)
{
    (void)arg;
    weft_sem_wait(&many_sem);
    many_count++;
    return NULL;
}

static void many_sem_body(void *arg)
{
    (void)arg;
    static weft_thread_t t[MANY];
    many_count = 0;
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "waiter", take_a_unit, NULL);
        weft_sleep_for(WEFT_MSEC);
    }
    for (int i = 0; i < MANY; i++)
        weft_sem_post(&many_sem);
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(many_count == MANY, "%d of %d got a unit", many_count, MANY);
    weft_assert(weft_sem_value(&many_sem) == 0, "value %u left",
                weft_sem_value(&many_sem));
}

static void forty_sem_waiters_each_get_one_of_forty_units(void **state)
{
    (void)state;
    struct child c;
    explore_in_child(many_sem_body, NULL, 1, 20, &c);
    assert_child_no_finding(&c);
}

static void *meet_many(void *arg)
{
    (void)arg;
    weft_barrier_wait(&many_barrier);
    many_count++;
    return NULL;
}

static void many_barrier_body(void *arg)
{
    (void)arg;
    static weft_thread_t t[MANY];
    many_count = 0;
    weft_barrier_init(&many_barrier, MANY);
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "party", meet_many, NULL);
        weft_sleep_for(WEFT_MSEC); /* the last arrival releases all */
    }
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(many_count == MANY, "%d of %d passed", many_count, MANY);
}

static void barrier_of_forty_releases_every_party(void **state)
{
    (void)state;
    struct child c;
    explore_in_child(many_barrier_body, NULL, 1, 20, &c);
    assert_child_no_finding(&c);
}

static void slow_init(void)
{
    weft_sleep_for(WEFT_SEC); /* every caller arrives meanwhile */
}

static void *call_many_once(void *arg)
{
    (void)arg;
    weft_once(&many_once, slow_init);
    many_count++;
    return NULL;
}

static void many_once_body(void *arg)
{
    (void)arg;
    static weft_thread_t t[MANY];
    many_count = 0;
    for (int i = 0; i < MANY; i++) {
        weft_thread_spawn(&t[i], "caller", call_many_once, NULL);
        weft_sleep_for(WEFT_MSEC);
    }
    for (int i = 0; i < MANY; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(many_count == MANY, "%d of %d returned", many_count, MANY);
}

static void once_releases_forty_waiting_callers(void **state)
{
    (void)state;
    struct child c;
    explore_in_child(many_once_body, NULL, 1, 20, &c);
    assert_child_no_finding(&c);
}

/* -------------------------------------------- restarts and bad inits */

static weft_barrier_t restart_barrier; /* initialised once, outside */

static void *arrive_at_restart(void *arg)
{
    (void)arg;
    weft_barrier_wait(&restart_barrier);
    return NULL;
}

static void fail_with_two_arrived_body(void *arg)
{
    (void)arg;
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], "party", arrive_at_restart, NULL);
    weft_sleep_for(WEFT_SEC); /* both wait at the barrier by now */
    weft_fail("failing with two of three arrived");
}

static void three_arrive_body(void *arg)
{
    (void)arg;
    weft_thread_t t[2];
    for (int i = 0; i < 2; i++)
        weft_thread_spawn(&t[i], "party", arrive_at_restart, NULL);
    /* Had the two stale arrivals survived, this would pass alone. */
    weft_barrier_wait(&restart_barrier);
    for (int i = 0; i < 2; i++)
        weft_thread_join(t[i], NULL);
}

static void barrier_restarts_empty_in_a_new_execution(void **state)
{
    (void)state;
    weft_result_t r;
    assert_int_equal(weft_barrier_init(&restart_barrier, 3), 0);
    int rc = explore(fail_with_two_arrived_body, NULL, 1, 1, &r);
    assert_int_equal(rc, 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    weft_result_destroy(&r);
    rc = explore(three_arrive_body, NULL, 1, 200, &r);
    assert_no_finding(rc, &r);
    weft_result_destroy(&r);
}

static weft_sem_t drained = WEFT_SEM_INITIALIZER(1);

static void drain_and_fail_body(void *arg)
{
    (void)arg;
    weft_sem_wait(&drained);
    weft_fail("failing with the unit taken");
}

static void drain_body(void *arg)
{
    unsigned *seen = arg;
    *seen = weft_sem_value(&drained);
    weft_assert(weft_sem_trywait(&drained) == 0, "no unit at the start");
}

static void sem_restarts_at_its_value_after_a_failed_execution(void **state)
{
    (void)state;
    weft_result_t r;
    unsigned seen = 99;
    int rc = explore(drain_and_fail_body, NULL, 1, 1, &r);
    assert_int_equal(rc, 1);
    weft_result_destroy(&r);
    rc = explore(drain_body, &seen, 1, 10, &r);
    assert_no_finding(rc, &r);
    assert_int_equal(seen, 1);
    weft_result_destroy(&r);
}

static void barrier_init_rejects_a_count_of_zero(void **state)
{
    (void)state;
    weft_barrier_t b;
    assert_int_equal(weft_barrier_init(&b, 0), -EINVAL);
    assert_int_equal(weft_barrier_init(NULL, 2), -EINVAL);
    assert_int_equal(weft_sem_init(NULL, 1), -EINVAL);
}

/* ------------------------------------------------- who goes next */

#define RIVALS 3

struct rivals {
    weft_sem_t s;
    int order[RIVALS];
    int n;
    unsigned first[RIVALS]; /* over all executions */
};

struct rival_arg {
    struct rivals *s;
    int id;
};

static void *rival(void *arg)
{
    struct rival_arg *a = arg;
    weft_sem_wait(&a->s->s);
    a->s->order[a->s->n++] = a->id;
    return NULL;
}

static void rivals_body(void *arg)
{
    struct rivals *s = arg;
    static struct rival_arg args[RIVALS];
    weft_thread_t t[RIVALS];
    weft_sem_init(&s->s, 0);
    s->n = 0;
    for (int i = 0; i < RIVALS; i++) {
        args[i].s = s;
        args[i].id = i;
        weft_thread_spawn(&t[i], "rival", rival, &args[i]);
        weft_sleep_for(WEFT_MSEC); /* waits in spawn order */
    }
    weft_sem_post(&s->s);
    weft_sleep_for(WEFT_MSEC); /* one unit: exactly one waiter passes */
    weft_assert(s->n == 1, "%d passed on one unit", s->n);
    weft_sem_post(&s->s);
    weft_sem_post(&s->s);
    for (int i = 0; i < RIVALS; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(s->n == RIVALS, "%d of %d passed", s->n, RIVALS);
    s->first[s->order[0]]++;
}

/* No order among waiters is promised, so each must take the first unit
 * in some schedule, the latest arrival included. */
static void any_waiter_may_take_a_posted_unit(void **state)
{
    (void)state;
    struct rivals s;
    memset(&s, 0, sizeof s);
    weft_result_t r;
    int rc = explore(rivals_body, &s, 1, 300, &r);
    assert_no_finding(rc, &r);
    for (int i = 0; i < RIVALS; i++)
        assert_true(s.first[i] > 0);
    weft_result_destroy(&r);
}

/* ------------------------------------------ long queues, indexed or not */

/* sched.c indexes a wait queue that grows long, so that waking the
 * waiter the strategy picks costs O(log n) instead of a walk of the list;
 * the threshold is this internal knob. */
extern uint32_t weft__waitidx_min;

#define CROWD 70

struct crowd {
    weft_sem_t s;
    weft_mutex_t m;
    unsigned got, timeouts;
    uint32_t order[3 * CROWD]; /* who got a unit, in order */
};

/* Timed waits that expire leave the queue from the middle; waiters come
 * back and the queue is indexed, compacted and grown again. */
static void *crowd_member(void *arg)
{
    struct crowd *c = arg;
    for (int round = 0; round < 3;) {
        int64_t d = weft_now() + 1 + (int64_t)(weft_thread_self().id % 7);
        int rc = weft_sem_timedwait(&c->s, d);
        if (rc == -ETIMEDOUT) {
            c->timeouts++;
            continue;
        }
        c->order[c->got++] = weft_thread_self().id;
        weft_mutex_lock(&c->m); /* a mutex queue as long, too */
        weft_yield();
        weft_mutex_unlock(&c->m);
        round++;
    }
    return NULL;
}

static void crowd_body(void *arg)
{
    struct crowd *c = arg;
    weft_thread_t t[CROWD];
    weft_sem_init(&c->s, 0);
    weft_mutex_init(&c->m, WEFT_MUTEX_NORMAL);
    c->got = c->timeouts = 0;
    for (int i = 0; i < CROWD; i++)
        weft_thread_spawn(&t[i], "member", crowd_member, c);
    for (int i = 0; i < 3 * CROWD; i++) {
        weft_sem_post(&c->s);
        if (i % 5 == 0)
            weft_sleep_for(3);
    }
    for (int i = 0; i < CROWD; i++)
        weft_thread_join(t[i], NULL);
    weft_assert(c->got == 3 * CROWD, "%u units taken", c->got);
}

/* The choice of which waiter gets a unit means the same task whether the
 * queue is walked or indexed: for every seed, both give the same trace
 * and the same order of takers. */
static void long_queues_choose_alike_indexed_or_walked(void **state)
{
    (void)state;
    uint32_t saved = weft__waitidx_min;
    static struct crowd a, b;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        weft_result_t ra, rb;
        weft__waitidx_min = UINT32_MAX; /* always walk */
        int rc = explore(crowd_body, &a, seed, 1, &ra);
        weft__waitidx_min = 0; /* index every queue woken one at a time */
        int rc2 = explore(crowd_body, &b, seed, 1, &rb);
        weft__waitidx_min = saved;
        assert_no_finding(rc, &ra);
        assert_no_finding(rc2, &rb);
        assert_int_equal(ra.trace_hash, rb.trace_hash);
        assert_int_equal(ra.total_steps, rb.total_steps);
        assert_int_equal(a.timeouts, b.timeouts);
        assert_memory_equal(a.order, b.order, sizeof a.order);
        assert_true(a.timeouts > 0); /* waiters did leave from the middle */
        weft_result_destroy(&ra);
        weft_result_destroy(&rb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sem_counts_from_its_initial_value),
        cmocka_unit_test(post_wakes_a_waiter_which_takes_the_unit),
        cmocka_unit_test(any_waiter_may_take_a_posted_unit),
        cmocka_unit_test(trywait_at_zero_is_eagain),
        cmocka_unit_test(timedwait_times_out_at_exactly_its_deadline),
        cmocka_unit_test(timedwait_succeeds_when_posted_before_its_deadline),
        cmocka_unit_test(static_sem_starts_at_its_value_in_each_execution),
        cmocka_unit_test(barrier_holds_all_until_the_last_and_has_one_serial),
        cmocka_unit_test(barrier_short_of_one_arrival_is_a_deadlock),
        cmocka_unit_test(barrier_restarts_empty_in_a_new_execution),
        cmocka_unit_test(sem_restarts_at_its_value_after_a_failed_execution),
        cmocka_unit_test(barrier_init_rejects_a_count_of_zero),
        cmocka_unit_test(once_runs_fn_exactly_once_while_others_wait),
        cmocka_unit_test(forty_sem_waiters_each_get_one_of_forty_units),
        cmocka_unit_test(barrier_of_forty_releases_every_party),
        cmocka_unit_test(once_releases_forty_waiting_callers),
        cmocka_unit_test(long_queues_choose_alike_indexed_or_walked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
