/*
 * test_group.c: task groups (structured concurrency: success, the first
 * failure cancelling the siblings, collected errors, weft_group_cancel,
 * cancelling the waiting parent, children as coroutines or threads,
 * children starting siblings while the parent waits (trio's nursery),
 * children started cancelled, every child's outcome, task leaks),
 * task-local storage with context-variable semantics (children
 * start with a copy, in coroutines, threads, group children and to_thread
 * jobs) and channels (FIFO, bounded, close, deadlines, between coroutines
 * and threads both ways).
 *
 * Every exploration runs in a forked child (a library crash or hang fails
 * one test, not the program) with a pinned seed and the random strategy;
 * the child sends back weft's result and the test's state struct. cmocka's
 * assert_* never run inside a weft task: tasks record what they saw into
 * the state struct (or use weft_assert), and the checks run afterwards.
 */
#include "forked.h"
#include "weft.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------ task groups */

/* Each scenario runs with the parent a coroutine and with the parent a
 * thread; its check runs at the end of every execution. */
struct grp;
typedef const char *grp_check_fn(const struct grp *s);

struct grp {
    bool from_thread;
    grp_check_fn *check;
    weft_thread_fn *child;
    bool cancel_early; /* weft_group_cancel at 1.5 ms, then wait */
    weft_group_t g;
    int wait_rc;
    int64_t wait_at;
    int spawn_after_wait;
    unsigned live, nerrors;
    int first_error, errors[8];
    int child_rc[3];
    int child_ended;
    bool child_in_co[3];
    weft_loop_t *child_loop[3];
};

static struct grp *grp_state;

static int grp_sleep(int64_t ns)
{
    return weft_in_coroutine() ? weft_await_sleep_for(ns) : weft_sleep_for(ns);
}

static void grp_parent(struct grp *s)
{
    weft_group_init(&s->g);
    for (int k = 0; k < 3; k++)
        weft_group_spawn(&s->g, "child", s->child, (void *)(uintptr_t)k);
    if (s->cancel_early) {
        grp_sleep(WEFT_MSEC + WEFT_MSEC / 2);
        weft_group_cancel(&s->g);
    }
    s->wait_rc = weft_group_wait(&s->g);
    s->wait_at = weft_now();
    s->live = s->g.live;
    s->nerrors = s->g.nerrors;
    s->first_error = s->g.first_error;
    weft_outcome_t out;
    for (size_t i = 0; i < 8 && weft_group_error(&s->g, i, &out) == 0; i++)
        s->errors[i] = out.err;
    s->spawn_after_wait = weft_group_spawn(&s->g, "late", s->child, NULL);
}

static void *grp_co_parent(void *arg)
{
    grp_parent(arg);
    return NULL;
}

static void *grp_thread_parent(void *arg)
{
    grp_parent(arg);
    return NULL;
}

static void grp_body(void *arg)
{
    struct grp *s = arg;
    struct grp keep = *s;
    grp_state = s;
    memset(s, 0, sizeof *s);
    s->from_thread = keep.from_thread;
    s->check = keep.check;
    s->child = keep.child;
    s->cancel_early = keep.cancel_early;
    s->wait_rc = s->spawn_after_wait = 1;
    for (int k = 0; k < 3; k++)
        s->child_rc[k] = 1;
    if (s->from_thread) {
        weft_thread_t t;
        weft_thread_spawn(&t, "parent", grp_thread_parent, s);
        weft_thread_join(t, NULL);
    } else {
        weft_run(grp_co_parent, s, NULL);
    }
    CHECK_IN_BODY(s->check(s));
}

static void run_grp(weft_thread_fn *child, grp_check_fn *check,
                    bool cancel_early, uint64_t seed)
{
    for (int from_thread = 0; from_thread < 2; from_thread++) {
        struct grp s;
        struct outcome o;
        memset(&s, 0, sizeof s);
        s.from_thread = from_thread;
        s.child = child;
        s.check = check;
        s.cancel_early = cancel_early;
        explore(grp_body, &s, sizeof s, seed, 50, &o);
        if (o.rc != 0)
            print_error("with the parent a %s:\n",
                        from_thread ? "thread" : "coroutine");
        assert_no_finding(&o);
        CHECK_AFTER(check(&s));
    }
}

static void *grp_ok_child(void *arg)
{
    struct grp *s = grp_state;
    int k = (int)(uintptr_t)arg;
    s->child_in_co[k] = weft_in_coroutine();
    s->child_loop[k] = weft_loop_current();
    s->child_rc[k] = grp_sleep((k + 1) * WEFT_MSEC);
    s->child_ended++;
    return NULL;
}

static const char *all_succeed(const struct grp *s)
{
    EXPECT_EQ(s->wait_rc, 0);
    EXPECT_EQ(s->wait_at, 3 * WEFT_MSEC); /* waited for the last */
    EXPECT_EQ(s->child_ended, 3);
    EXPECT_EQ(s->live, 0);
    EXPECT_EQ(s->nerrors, 0);
    EXPECT_EQ(s->spawn_after_wait, -EINVAL);
    for (int k = 0; k < 3; k++)
        EXPECT_EQ(s->child_rc[k], 0);
    return NULL;
}

static void group_wait_returns_zero_when_every_child_succeeds(void **state)
{
    (void)state;
    run_grp(grp_ok_child, all_succeed, false, 3);
}

static const char *children_kind(const struct grp *s)
{
    for (int k = 0; k < 3; k++) {
        EXPECT_EQ(s->child_in_co[k], !s->from_thread);
        if (s->from_thread)
            EXPECT_PTR(s->child_loop[k], NULL);
        else
            EXPECT(s->child_loop[k] != NULL);
    }
    return NULL;
}

static void
group_children_are_coroutines_from_a_coroutine_threads_else(void **state)
{
    (void)state;
    run_grp(grp_ok_child, children_kind, false, 5);
}

/* Child 0 fails at 1 ms; the others would sleep a second. */
static void *grp_fail_child(void *arg)
{
    struct grp *s = grp_state;
    int k = (int)(uintptr_t)arg;
    if (k == 0) {
        grp_sleep(WEFT_MSEC);
        weft_task_fail(-EIO);
    }
    s->child_rc[k] = grp_sleep(WEFT_SEC);
    s->child_ended++;
    return NULL;
}

static const char *first_failure(const struct grp *s)
{
    EXPECT_EQ(s->wait_rc, -EIO);
    EXPECT_EQ(s->wait_at, WEFT_MSEC);
    EXPECT_EQ(s->child_rc[1], -ECANCELED);
    EXPECT_EQ(s->child_rc[2], -ECANCELED);
    EXPECT_EQ(s->child_ended, 2);
    EXPECT_EQ(s->first_error, -EIO);
    EXPECT_EQ(s->nerrors, 1); /* cancelled siblings: no errors */
    EXPECT_EQ(s->errors[0], -EIO);
    return NULL;
}

static void
the_first_failure_cancels_the_siblings_and_wait_returns_it(void **state)
{
    (void)state;
    run_grp(grp_fail_child, first_failure, false, 7);
}

/* Child 0 fails at 1 ms; child 1, cancelled, fails with its own error;
 * child 2 is cancelled and ends quietly. */
static void *grp_two_errors_child(void *arg)
{
    struct grp *s = grp_state;
    int k = (int)(uintptr_t)arg;
    if (k == 0) {
        grp_sleep(WEFT_MSEC);
        weft_task_fail(-EIO);
    }
    s->child_rc[k] = grp_sleep(WEFT_SEC);
    s->child_ended++;
    if (k == 1)
        weft_task_fail(-EPIPE);
    return NULL;
}

static const char *two_errors(const struct grp *s)
{
    EXPECT_EQ(s->wait_rc, -EIO);
    EXPECT_EQ(s->first_error, -EIO);
    EXPECT_EQ(s->nerrors, 2);
    EXPECT_EQ(s->errors[0], -EIO);
    EXPECT_EQ(s->errors[1], -EPIPE);
    EXPECT_EQ(s->child_rc[1], -ECANCELED);
    EXPECT_EQ(s->child_rc[2], -ECANCELED);
    EXPECT_EQ(s->live, 0);
    return NULL;
}

static void a_group_collects_every_childs_error(void **state)
{
    (void)state;
    run_grp(grp_two_errors_child, two_errors, false, 9);
}

/* weft_group_cancel: every live child is cancelled; being cancelled is no
 * error of theirs. */
static const char *cancelled_by_group_cancel(const struct grp *s)
{
    EXPECT_EQ(s->child_rc[0], 0); /* ended at 1 ms, before the cancel */
    EXPECT_EQ(s->child_rc[1], -ECANCELED);
    EXPECT_EQ(s->child_rc[2], -ECANCELED);
    EXPECT_EQ(s->wait_rc, 0);
    EXPECT_EQ(s->wait_at, WEFT_MSEC + WEFT_MSEC / 2);
    EXPECT_EQ(s->nerrors, 0);
    EXPECT_EQ(s->live, 0);
    return NULL;
}

static void group_cancel_cancels_the_live_children(void **state)
{
    (void)state;
    run_grp(grp_ok_child, cancelled_by_group_cancel, true, 11);
}

/* Cancelling the coroutine that waits in weft_group_wait: the children
 * are cancelled, and the wait still lasts until they have all ended. */
struct pcancel {
    weft_group_t g;
    weft_future_t *fp;
    int wait_rc, main_rc, cancel_rc;
    int64_t wait_at;
    int child_rc[2];
    int64_t child_end[2];
    unsigned live_after;
    int ended_before_wait_returned;
    int ended;
};

static struct pcancel *pc_state;

static void *pc_child(void *arg)
{
    struct pcancel *s = pc_state;
    int k = (int)(uintptr_t)arg;
    s->child_rc[k] = weft_await_sleep_for(WEFT_SEC);
    /* Cleanup that takes a while, after the cancellation. */
    weft_await_sleep_for((k + 1) * 5 * WEFT_MSEC);
    s->child_end[k] = weft_now();
    s->ended++;
    return NULL;
}

static void *pc_parent(void *arg)
{
    struct pcancel *s = arg;
    weft_group_init(&s->g);
    weft_group_spawn(&s->g, "child", pc_child, (void *)(uintptr_t)0);
    weft_group_spawn(&s->g, "child", pc_child, (void *)(uintptr_t)1);
    s->wait_rc = weft_group_wait(&s->g);
    s->wait_at = weft_now();
    s->live_after = s->g.live;
    s->ended_before_wait_returned = s->ended;
    if (s->wait_rc == -ECANCELED)
        weft_task_fail(-ECANCELED); /* let the cancellation through */
    return NULL;
}

static void *pc_main(void *arg)
{
    struct pcancel *s = arg;
    s->fp = weft_spawn("parent", pc_parent, s);
    weft_await_sleep_for(2 * WEFT_MSEC);
    s->cancel_rc = weft_cancel(s->fp);
    s->main_rc = weft_await(s->fp, NULL);
    return NULL;
}

static const char *parent_cancel_ok(const struct pcancel *s)
{
    EXPECT_EQ(s->cancel_rc, 0);
    EXPECT_EQ(s->child_rc[0], -ECANCELED);
    EXPECT_EQ(s->child_rc[1], -ECANCELED);
    EXPECT_EQ(s->child_end[0], 7 * WEFT_MSEC);
    EXPECT_EQ(s->child_end[1], 12 * WEFT_MSEC);
    EXPECT_EQ(s->wait_rc, -ECANCELED);
    EXPECT_EQ(s->wait_at, 12 * WEFT_MSEC);
    EXPECT_EQ(s->ended_before_wait_returned, 2);
    EXPECT_EQ(s->live_after, 0);
    EXPECT_EQ(s->main_rc, -ECANCELED);
    return NULL;
}

static void pc_body(void *arg)
{
    struct pcancel *s = arg;
    pc_state = s;
    memset(s, 0, sizeof *s);
    s->wait_rc = s->main_rc = s->cancel_rc = 1;
    weft_run(pc_main, s, NULL);
    CHECK_IN_BODY(parent_cancel_ok(s));
}

static void
cancelling_the_parent_cancels_the_children_and_still_waits(void **state)
{
    (void)state;
    struct pcancel s;
    struct outcome o;
    explore(pc_body, &s, sizeof s, 13, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(parent_cancel_ok(&s));
}

/* ----------------------------------- children that start siblings */

/* trio's nursery idiom: the parent starts one "root" child with the
 * group as its argument and waits; at 1 ms the root starts two "leaf"
 * siblings into the same group, and at 2 ms each leaf starts a "twig".
 * The parent's wait lasts until the last twig ends (at 5 ms); once it
 * has returned, the group takes no more children. */
struct nursery {
    bool from_thread;
    weft_group_t g;
    int wait_rc, late_rc;
    int spawn_rc[3];
    int nspawn;
    int ran;
    int64_t wait_at;
    unsigned spawned;
};

static struct nursery *nursery_state;

static void *nursery_twig(void *arg)
{
    (void)arg;
    grp_sleep(3 * WEFT_MSEC);
    nursery_state->ran++;
    return NULL;
}

static void *nursery_leaf(void *arg)
{
    struct nursery *s = nursery_state;
    weft_group_t *g = arg;
    grp_sleep(WEFT_MSEC);
    s->spawn_rc[s->nspawn++] = weft_group_spawn(g, "twig", nursery_twig, g);
    s->ran++;
    return NULL;
}

static void *nursery_root(void *arg)
{
    struct nursery *s = nursery_state;
    weft_group_t *g = arg;
    grp_sleep(WEFT_MSEC);
    weft_group_spawn(g, "leaf", nursery_leaf, g);
    weft_group_spawn(g, "leaf", nursery_leaf, g);
    s->ran++;
    return NULL;
}

static void nursery_parent(struct nursery *s)
{
    weft_group_init(&s->g);
    weft_group_spawn(&s->g, "root", nursery_root, &s->g);
    s->wait_rc = weft_group_wait(&s->g);
    s->wait_at = weft_now();
    s->spawned = s->g.spawned;
    s->late_rc = weft_group_spawn(&s->g, "late", nursery_twig, NULL);
}

static void *nursery_co(void *arg)
{
    nursery_parent(arg);
    return NULL;
}

static void nursery_body(void *arg)
{
    struct nursery *s = arg;
    bool from_thread = s->from_thread;
    nursery_state = s;
    memset(s, 0, sizeof *s);
    s->from_thread = from_thread;
    s->wait_rc = s->late_rc = 1;
    if (from_thread) {
        weft_thread_t t;
        weft_thread_spawn(&t, "parent", nursery_co, s);
        weft_thread_join(t, NULL);
    } else {
        weft_run(nursery_co, s, NULL);
    }
}

static void children_start_siblings_into_their_own_group_while_the_parent_waits(
    void **state)
{
    (void)state;
    for (int from_thread = 0; from_thread < 2; from_thread++) {
        struct nursery s;
        struct outcome o;
        memset(&s, 0, sizeof s);
        s.from_thread = from_thread;
        explore(nursery_body, &s, sizeof s, 31, 100, &o);
        assert_no_finding(&o);
        assert_int_equal(s.nspawn, 2);
        assert_int_equal(s.spawn_rc[0], 0); /* today: -EINVAL */
        assert_int_equal(s.spawn_rc[1], 0);
        assert_int_equal(s.ran, 5);
        assert_int_equal(s.spawned, 5);
        assert_int_equal(s.wait_rc, 0);
        assert_int_equal(s.wait_at, 5 * WEFT_MSEC);
        assert_int_equal(s.late_rc, -EINVAL); /* closed once waited */
    }
}

/* A child started into a group that is being cancelled starts cancelled:
 * "bad" fails at 1 ms, which cancels "helper"; the helper, cancelled,
 * starts a "cleanup" sibling, whose first await says -ECANCELED. */
struct cancelled_start {
    weft_group_t g;
    int helper_rc, spawn_rc, cleanup_rc, wait_rc;
    unsigned cleanup_cancelling;
};

static struct cancelled_start *cs_state;

static void *cs_bad(void *arg)
{
    (void)arg;
    weft_await_sleep_for(WEFT_MSEC);
    weft_task_fail(-EIO);
}

static void *cs_cleanup(void *arg)
{
    (void)arg;
    cs_state->cleanup_cancelling = weft_cancelling();
    cs_state->cleanup_rc = weft_await_sleep_for(WEFT_MSEC);
    return NULL;
}

static void *cs_helper(void *arg)
{
    struct cancelled_start *s = cs_state;
    s->helper_rc = weft_await_sleep_for(WEFT_SEC);
    s->spawn_rc = weft_group_spawn(arg, "cleanup", cs_cleanup, NULL);
    return NULL;
}

static void *cs_main(void *arg)
{
    struct cancelled_start *s = arg;
    weft_group_init(&s->g);
    weft_group_spawn(&s->g, "bad", cs_bad, NULL);
    weft_group_spawn(&s->g, "helper", cs_helper, &s->g);
    s->wait_rc = weft_group_wait(&s->g);
    return NULL;
}

static void cs_body(void *arg)
{
    struct cancelled_start *s = arg;
    cs_state = s;
    memset(s, 0, sizeof *s);
    s->helper_rc = s->spawn_rc = s->cleanup_rc = s->wait_rc = 1;
    weft_run(cs_main, s, NULL);
}

static void
a_child_started_into_a_cancelled_group_starts_cancelled(void **state)
{
    (void)state;
    struct cancelled_start s;
    struct outcome o;
    explore(cs_body, &s, sizeof s, 33, 50, &o);
    assert_no_finding(&o);
    assert_int_equal(s.helper_rc, -ECANCELED);
    assert_int_equal(s.spawn_rc, 0);
    assert_int_equal(s.cleanup_cancelling, 1);
    assert_int_equal(s.cleanup_rc, -ECANCELED);
    assert_int_equal(s.wait_rc, -EIO);
}

/* ---------------------------------------------- every child's outcome */

/* Twenty children, more than any fixed cap. Child k sleeps k + 1 ms;
 * child 0 fails first (-100, at 1 ms) and cancels the others, which then
 * fail with -(100 + k) when k is even and return k when odd: ten
 * failures, ten values, each with its name and where it failed. */
#define OUTCOMES 20

struct one_outcome {
    char name[8];
    int err, line;
    void *value;
    bool in_this_file;
};

struct outcomes {
    weft_group_t g;
    int wait_rc, past_end;
    int fail_line;
    size_t nouts, nerrs;
    struct one_outcome outs[OUTCOMES + 1], errs[OUTCOMES + 1];
};

static struct outcomes *outs_state;

static void *outs_child(void *arg)
{
    int k = (int)(uintptr_t)arg;
    weft_await_sleep_for((k + 1) * WEFT_MSEC);
    if (k % 2 == 0) {
        outs_state->fail_line = __LINE__ + 1;
        weft_task_fail(-(100 + k));
    }
    return (void *)(uintptr_t)k;
}

static void outs_copy(struct one_outcome *to, const weft_outcome_t *from)
{
    snprintf(to->name, sizeof to->name, "%s", from->name);
    to->err = from->err;
    to->line = from->line;
    to->value = from->value;
    to->in_this_file = from->file != NULL && strstr(from->file, "test_group");
}

static void *outs_main(void *arg)
{
    struct outcomes *s = arg;
    weft_outcome_t o;
    char names[OUTCOMES][8];
    weft_group_init(&s->g);
    for (int k = 0; k < OUTCOMES; k++) {
        snprintf(names[k], sizeof names[k], "c%d", k);
        weft_group_spawn(&s->g, names[k], outs_child, (void *)(uintptr_t)k);
    }
    s->wait_rc = weft_group_wait(&s->g);
    for (; s->nouts <= OUTCOMES && weft_group_outcome(&s->g, s->nouts, &o) == 0;
         s->nouts++)
        outs_copy(&s->outs[s->nouts], &o);
    for (; s->nerrs <= OUTCOMES && weft_group_error(&s->g, s->nerrs, &o) == 0;
         s->nerrs++)
        outs_copy(&s->errs[s->nerrs], &o);
    s->past_end = weft_group_error(&s->g, s->nerrs, &o);
    return NULL;
}

static void outs_body(void *arg)
{
    struct outcomes *s = arg;
    outs_state = s;
    memset(s, 0, sizeof *s);
    weft_run(outs_main, s, NULL);
}

static void a_group_keeps_every_childs_outcome_uncapped(void **state)
{
    (void)state;
    struct outcomes s;
    struct outcome o;
    explore(outs_body, &s, sizeof s, 35, 50, &o);
    assert_no_finding(&o);
    assert_int_equal(s.wait_rc, -100);
    assert_int_equal(s.nouts, OUTCOMES);
    assert_int_equal(s.nerrs, OUTCOMES / 2); /* today: capped at 8 */
    assert_int_equal(s.past_end, -ENOENT);
    /* the first to end is the first failure */
    assert_string_equal(s.outs[0].name, "c0");
    assert_string_equal(s.errs[0].name, "c0");
    assert_int_equal(s.errs[0].err, -100);
    /* every child once, as it ended; the failures in the same order */
    bool seen[OUTCOMES] = { false };
    size_t e = 0;
    for (size_t i = 0; i < s.nouts; i++) {
        const struct one_outcome *x = &s.outs[i];
        int k = atoi(x->name + 1);
        assert_false(seen[k]);
        seen[k] = true;
        if (k % 2 == 1) {
            assert_int_equal(x->err, 0);
            assert_ptr_equal(x->value, (void *)(uintptr_t)k);
            continue;
        }
        assert_int_equal(x->err, -(100 + k));
        assert_int_equal(x->line, s.fail_line);
        assert_true(x->in_this_file);
        assert_string_equal(s.errs[e].name, x->name);
        assert_int_equal(s.errs[e].err, x->err);
        assert_int_equal(s.errs[e].line, x->line);
        e++;
    }
    assert_int_equal(e, s.nerrs);
}

/* ------------------------------------------------------------ task leaks */

struct leak {
    bool from_thread;
    bool on_stack; /* the group is a local of the parent, else static */
    bool destroy;  /* destroy with a live child, else never wait */
    bool wait_first;
    int destroy_rc;
};

static void *leak_child(void *arg)
{
    (void)arg;
    grp_sleep(5 * WEFT_MSEC);
    return NULL;
}

static weft_group_t static_group;

static void leak_parent(struct leak *s)
{
    weft_group_t local;
    weft_group_t *g = s->on_stack ? &local : &static_group;
    weft_group_init(g);
    weft_group_spawn(g, "child", leak_child, NULL);
    if (s->wait_first)
        weft_group_wait(g);
    if (s->destroy || s->wait_first)
        s->destroy_rc = weft_group_destroy(g);
    grp_sleep(10 * WEFT_MSEC); /* the child has ended by now */
}

static void *leak_co(void *arg)
{
    leak_parent(arg);
    return NULL;
}

static void *leak_thread(void *arg)
{
    leak_parent(arg);
    return NULL;
}

static void leak_body(void *arg)
{
    struct leak *s = arg;
    if (s->from_thread) {
        weft_thread_t t;
        weft_thread_spawn(&t, "parent", leak_thread, s);
        weft_thread_join(t, NULL);
    } else {
        weft_run(leak_co, s, NULL);
    }
}

static void a_group_never_waited_is_a_task_leak(void **state)
{
    (void)state;
    for (int from_thread = 0; from_thread < 2; from_thread++) {
        struct leak s = { .from_thread = from_thread };
        struct outcome o;
        explore(leak_body, &s, sizeof s, 1, 5, &o);
        assert_finding(&o, WEFT_FINDING_TASK_LEAK);
        assert_contains(o.message, "never waited");
    }
}

/* The usual way to forget a wait: the group is a local of a parent that
 * returns without waiting. */
static void
a_local_group_whose_parent_returned_unwaited_is_a_task_leak(void **state)
{
    (void)state;
    for (int from_thread = 0; from_thread < 2; from_thread++) {
        struct leak s = { .from_thread = from_thread, .on_stack = true };
        struct outcome o;
        explore(leak_body, &s, sizeof s, 1, 5, &o);
        assert_finding(&o, WEFT_FINDING_TASK_LEAK);
        assert_contains(o.message, "never waited");
    }
}

static void destroying_a_group_with_a_live_child_is_a_task_leak(void **state)
{
    (void)state;
    for (int from_thread = 0; from_thread < 2; from_thread++) {
        struct leak s = { .from_thread = from_thread,
                          .on_stack = true,
                          .destroy = true };
        struct outcome o;
        explore(leak_body, &s, sizeof s, 1, 5, &o);
        assert_finding(&o, WEFT_FINDING_TASK_LEAK);
        assert_contains(o.message, "1 live child");
    }
}

static void destroying_a_waited_group_is_no_finding(void **state)
{
    (void)state;
    for (int from_thread = 0; from_thread < 2; from_thread++) {
        struct leak s = { .from_thread = from_thread,
                          .on_stack = true,
                          .wait_first = true };
        struct outcome o;
        explore(leak_body, &s, sizeof s, 1, 5, &o);
        assert_no_finding(&o);
        assert_int_equal(s.destroy_rc, 0);
    }
}

/* ------------------------------------------------------------ task-locals */

static weft_local_t key = WEFT_LOCAL_INIT("key");
static weft_local_t other_key = WEFT_LOCAL_INIT("other key");

#define V(n) ((void *)(uintptr_t)(n))

enum {
    KIND_COROUTINE,
    KIND_THREAD,
    KIND_GROUP_CO,
    KIND_GROUP_THREAD,
    KIND_TO_THREAD
};

struct locals {
    int kind;
    weft_future_t child_set, parent_set;
    void *child_first, *child_after, *child_other;
    void *parent_after, *parent_other;
    void *unset_in_child;
    bool child_ran;
};

static struct locals *locals_state;

static int wait_for(weft_future_t *f)
{
    return weft_in_coroutine() ? weft_await(f, NULL)
                               : weft_future_wait(f, NULL, WEFT_FOREVER);
}

/* The child: reads its copy, sets its own, then sees the parent's later
 * set (it must not). */
static void *locals_child(void *arg)
{
    struct locals *s = locals_state;
    (void)arg;
    s->child_ran = true;
    s->child_first = weft_local_get(&key);
    weft_local_set(&key, V(3));
    weft_local_set(&other_key, V(4));
    weft_future_set_result(&s->child_set, NULL);
    wait_for(&s->parent_set);
    s->child_after = weft_local_get(&key);
    s->child_other = weft_local_get(&other_key);
    return NULL;
}

static void locals_parent(struct locals *s)
{
    weft_group_t g;
    weft_thread_t t;
    weft_future_t *f = NULL;
    weft_local_set(&key, V(1));
    switch (s->kind) {
    case KIND_COROUTINE:
        f = weft_spawn("child", locals_child, NULL);
        break;
    case KIND_THREAD:
        weft_thread_spawn(&t, "child", locals_child, NULL);
        break;
    case KIND_GROUP_CO:
    case KIND_GROUP_THREAD:
        weft_group_init(&g);
        weft_group_spawn(&g, "child", locals_child, NULL);
        break;
    case KIND_TO_THREAD:
        f = weft_to_thread(locals_child, NULL);
        break;
    }
    /* The parent sets after the child started and after it set. */
    wait_for(&s->child_set);
    weft_local_set(&key, V(2));
    s->parent_after = weft_local_get(&key);
    s->parent_other = weft_local_get(&other_key);
    weft_future_set_result(&s->parent_set, NULL);
    switch (s->kind) {
    case KIND_COROUTINE:
    case KIND_TO_THREAD:
        weft_await(f, NULL);
        break;
    case KIND_THREAD:
        weft_thread_join(t, NULL);
        break;
    default:
        weft_group_wait(&g);
        break;
    }
}

static void *locals_co(void *arg)
{
    locals_parent(arg);
    return NULL;
}

static void *locals_thread(void *arg)
{
    locals_parent(arg);
    return NULL;
}

static const char *locals_ok(const struct locals *s)
{
    EXPECT(s->child_ran);
    EXPECT_PTR(s->child_first, V(1)); /* a copy of the parent's */
    EXPECT_PTR(s->child_after, V(3)); /* its own, not the parent's 2 */
    EXPECT_PTR(s->child_other, V(4));
    EXPECT_PTR(s->parent_after, V(2)); /* not the child's 3 */
    EXPECT_PTR(s->parent_other, NULL); /* set only in the child */
    return NULL;
}

static void locals_body(void *arg)
{
    struct locals *s = arg;
    int kind = s->kind;
    locals_state = s;
    memset(s, 0, sizeof *s);
    s->kind = kind;
    weft_future_init(&s->child_set);
    weft_future_init(&s->parent_set);
    if (kind == KIND_THREAD || kind == KIND_GROUP_THREAD) {
        weft_thread_t t;
        weft_thread_spawn(&t, "parent", locals_thread, s);
        weft_thread_join(t, NULL);
    } else {
        weft_run(locals_co, s, NULL);
    }
    CHECK_IN_BODY(locals_ok(s));
}

static void check_locals(int kind)
{
    struct locals s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    explore(locals_body, &s, sizeof s, 15, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(locals_ok(&s));
}

static void
a_child_coroutine_starts_with_a_copy_of_its_parents_locals(void **state)
{
    (void)state;
    check_locals(KIND_COROUTINE);
}

static void
a_child_thread_starts_with_a_copy_of_its_parents_locals(void **state)
{
    (void)state;
    check_locals(KIND_THREAD);
}

static void
group_children_start_with_a_copy_of_their_parents_locals(void **state)
{
    (void)state;
    check_locals(KIND_GROUP_CO);
    check_locals(KIND_GROUP_THREAD);
}

static void
a_to_thread_job_starts_with_a_copy_of_its_submitters_locals(void **state)
{
    (void)state;
    check_locals(KIND_TO_THREAD);
}

/* Two to_thread jobs from coroutines with different values, on a pool of
 * one long-lived worker: each job sees its own submitter's value, not the
 * worker's first copy, nor what the previous job set. */
struct jobs {
    void *seen[2];
};

static struct jobs *jobs_state;

static void *jobs_job(void *arg)
{
    int k = (int)(uintptr_t)arg;
    jobs_state->seen[k] = weft_local_get(&key);
    weft_local_set(&key, V(99)); /* must not reach the next job */
    return NULL;
}

static void *jobs_submitter(void *arg)
{
    int k = (int)(uintptr_t)arg;
    weft_local_set(&key, V(10 + k));
    weft_await(weft_to_thread(jobs_job, arg), NULL);
    return NULL;
}

static void *jobs_main(void *arg)
{
    (void)arg;
    weft_await(weft_spawn("first", jobs_submitter, V(0)), NULL);
    weft_await(weft_spawn("second", jobs_submitter, V(1)), NULL);
    return NULL;
}

static const char *jobs_ok(const struct jobs *s)
{
    EXPECT_PTR(s->seen[0], V(10));
    EXPECT_PTR(s->seen[1], V(11));
    return NULL;
}

static void jobs_body(void *arg)
{
    struct jobs *s = arg;
    jobs_state = s;
    memset(s, 0, sizeof *s);
    weft_run(jobs_main, NULL, NULL);
    CHECK_IN_BODY(jobs_ok(s));
}

static void each_to_thread_job_sees_its_own_submitters_locals(void **state)
{
    (void)state;
    struct jobs s;
    struct outcome o;
    weft_config_t c;
    config(&c, 1, 5);
    c.loop_workers = 1;
    explore_cfg(&c, jobs_body, &s, sizeof s, &o);
    assert_no_finding(&o);
    CHECK_AFTER(jobs_ok(&s));
}

/* Coroutines share their loop's thread, but not their locals; and the
 * main coroutine starts with the values of the thread that runs it. */
struct shared_thread {
    void *main_first;
    void *seen[2];
};

static struct shared_thread *st_state;

static void *st_co(void *arg)
{
    int k = (int)(uintptr_t)arg;
    weft_local_set(&key, V(20 + k));
    for (int i = 0; i < 3; i++)
        weft_await_yield(); /* the other coroutine sets its own */
    st_state->seen[k] = weft_local_get(&key);
    return NULL;
}

static void *st_main(void *arg)
{
    (void)arg;
    st_state->main_first = weft_local_get(&key);
    weft_future_t *a = weft_spawn("a", st_co, V(0));
    weft_future_t *b = weft_spawn("b", st_co, V(1));
    weft_await(a, NULL);
    weft_await(b, NULL);
    return NULL;
}

static const char *shared_thread_ok(const struct shared_thread *s)
{
    EXPECT_PTR(s->main_first, V(7));
    EXPECT_PTR(s->seen[0], V(20));
    EXPECT_PTR(s->seen[1], V(21));
    return NULL;
}

static void st_body(void *arg)
{
    struct shared_thread *s = arg;
    st_state = s;
    memset(s, 0, sizeof *s);
    weft_local_set(&key, V(7));
    weft_run(st_main, NULL, NULL);
    CHECK_IN_BODY(shared_thread_ok(s));
}

static void coroutines_sharing_a_thread_keep_their_own_locals(void **state)
{
    (void)state;
    struct shared_thread s;
    struct outcome o;
    explore(st_body, &s, sizeof s, 1, 10, &o);
    assert_no_finding(&o);
    CHECK_AFTER(shared_thread_ok(&s));
}

/* --------------------------------------------------------------- channels */

struct chan {
    weft_chan_t c;
    int order[8];
    int n;
    int put_rc[8];
    int64_t put_at[8];
    int get_rc;
    bool co_producer; /* else the coroutine consumes */
};

static int chan_sleep(int64_t ns)
{
    return weft_in_coroutine() ? weft_await_sleep_for(ns) : weft_sleep_for(ns);
}

static void chan_produce(struct chan *s)
{
    for (int i = 0; i < 6; i++) {
        s->put_rc[i] = weft_chan_put(&s->c, V(i + 1), WEFT_FOREVER);
        s->put_at[i] = weft_now();
    }
}

static void chan_consume(struct chan *s)
{
    chan_sleep(10 * WEFT_MSEC); /* the channel fills up first */
    for (int i = 0; i < 6; i++) {
        void *v = NULL;
        int rc = weft_chan_get(&s->c, &v, WEFT_FOREVER);
        if (rc != 0) {
            s->get_rc = rc;
            return;
        }
        s->order[s->n++] = (int)(uintptr_t)v;
        chan_sleep(WEFT_MSEC);
    }
}

static void *chan_co(void *arg)
{
    struct chan *s = arg;
    if (s->co_producer)
        chan_produce(s);
    else
        chan_consume(s);
    return NULL;
}

static void *chan_thread(void *arg)
{
    struct chan *s = arg;
    if (s->co_producer)
        chan_consume(s);
    else
        chan_produce(s);
    return NULL;
}

static const char *chan_ok(const struct chan *s)
{
    EXPECT_EQ(s->get_rc, 0);
    EXPECT_EQ(s->n, 6);
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(s->order[i], i + 1); /* first in, first out */
        EXPECT_EQ(s->put_rc[i], 0);
    }
    /* Capacity 2: two puts go through at once, the third waits for the
     * first get at 10 ms, then one more per get, a millisecond apart. */
    EXPECT_EQ(s->put_at[0], 0);
    EXPECT_EQ(s->put_at[1], 0);
    EXPECT_EQ(s->put_at[2], 10 * WEFT_MSEC);
    EXPECT_EQ(s->put_at[3], 11 * WEFT_MSEC);
    EXPECT_EQ(s->put_at[4], 12 * WEFT_MSEC);
    EXPECT_EQ(s->put_at[5], 13 * WEFT_MSEC);
    return NULL;
}

static void chan_body(void *arg)
{
    struct chan *s = arg;
    bool co_producer = s->co_producer;
    weft_thread_t t;
    memset(s, 0, sizeof *s);
    s->co_producer = co_producer;
    weft_chan_init(&s->c, 2);
    weft_thread_spawn(&t, co_producer ? "consumer" : "producer", chan_thread,
                      s);
    weft_run(chan_co, s, NULL);
    weft_thread_join(t, NULL);
    CHECK_IN_BODY(chan_ok(s));
}

static void check_chan(bool co_producer)
{
    struct chan s;
    struct outcome o;
    memset(&s, 0, sizeof s);
    s.co_producer = co_producer;
    explore(chan_body, &s, sizeof s, 19, 100, &o);
    assert_no_finding(&o);
    CHECK_AFTER(chan_ok(&s));
}

static void
a_channel_from_a_coroutine_to_a_thread_is_bounded_and_fifo(void **state)
{
    (void)state;
    check_chan(true);
}

static void
a_channel_from_a_thread_to_a_coroutine_is_bounded_and_fifo(void **state)
{
    (void)state;
    check_chan(false);
}

/* close */
struct closing {
    weft_chan_t c, empty, full;
    int put_after_close, close_again;
    int get_rc[3];
    void *got[2];
    int blocked_get_rc, blocked_put_rc;
    int64_t blocked_get_at, blocked_put_at;
};

static void *closing_getter(void *arg)
{
    struct closing *s = arg;
    s->blocked_get_rc = weft_chan_get(&s->empty, NULL, WEFT_FOREVER);
    s->blocked_get_at = weft_now();
    return NULL;
}

static void *closing_putter(void *arg)
{
    struct closing *s = arg;
    s->blocked_put_rc = weft_chan_put(&s->full, V(2), WEFT_FOREVER);
    s->blocked_put_at = weft_now();
    return NULL;
}

static void *closing_main(void *arg)
{
    struct closing *s = arg;
    weft_future_t *g = weft_spawn("getter", closing_getter, s);
    weft_future_t *p = weft_spawn("putter", closing_putter, s);
    weft_chan_put(&s->c, V(1), WEFT_FOREVER);
    weft_chan_put(&s->c, V(2), WEFT_FOREVER);
    weft_chan_close(&s->c);
    s->put_after_close = weft_chan_put(&s->c, V(3), WEFT_FOREVER);
    s->close_again = weft_chan_close(&s->c);
    for (int i = 0; i < 3; i++)
        s->get_rc[i] =
            weft_chan_get(&s->c, i < 2 ? &s->got[i] : NULL, WEFT_FOREVER);
    /* Closing wakes a blocked getter and a blocked putter. */
    weft_await_sleep_for(4 * WEFT_MSEC);
    weft_chan_close(&s->empty);
    weft_chan_close(&s->full);
    weft_await(g, NULL);
    weft_await(p, NULL);
    return NULL;
}

static const char *closing_ok(const struct closing *s)
{
    EXPECT_EQ(s->put_after_close, -EPIPE);
    EXPECT_EQ(s->close_again, -EPIPE);
    EXPECT_EQ(s->get_rc[0], 0);
    EXPECT_PTR(s->got[0], V(1));
    EXPECT_EQ(s->get_rc[1], 0);
    EXPECT_PTR(s->got[1], V(2));
    EXPECT_EQ(s->get_rc[2], -EPIPE);
    EXPECT_EQ(s->blocked_get_rc, -EPIPE);
    EXPECT_EQ(s->blocked_get_at, 4 * WEFT_MSEC);
    EXPECT_EQ(s->blocked_put_rc, -EPIPE);
    EXPECT_EQ(s->blocked_put_at, 4 * WEFT_MSEC);
    return NULL;
}

static void closing_body(void *arg)
{
    struct closing *s = arg;
    memset(s, 0, sizeof *s);
    s->blocked_get_rc = s->blocked_put_rc = 1;
    weft_chan_init(&s->c, 4);
    weft_chan_init(&s->empty, 1);
    weft_chan_init(&s->full, 1);
    weft_chan_put(&s->full, V(1), 0);
    weft_run(closing_main, s, NULL);
    CHECK_IN_BODY(closing_ok(s));
}

static void close_fails_puts_with_epipe_and_gets_drain_then_epipe(void **state)
{
    (void)state;
    struct closing s;
    struct outcome o;
    explore(closing_body, &s, sizeof s, 1, 50, &o);
    assert_no_finding(&o);
    CHECK_AFTER(closing_ok(&s));
}

/* One item, two waiting getters; the one the put wakes is cancelled (its
 * scope) before it runs. Either it still takes the item, or the other
 * getter gets it: the wake-up must not be lost with the cancelled one. */
struct handoff {
    weft_chan_t c;
    weft_scope_t sc;
    int rc[2];
    void *v[2];
    int64_t got_at[2];
    int in_scope; /* getter 0 is inside its scope */
    uint64_t runs, took[2];
};

static void *handoff_getter(void *arg)
{
    struct handoff *s = (struct handoff *)((uintptr_t)arg & ~(uintptr_t)1);
    int k = (int)((uintptr_t)arg & 1);
    if (k == 0) {
        weft_scope_enter(&s->sc, WEFT_FOREVER, 0);
        s->in_scope = 1;
    }
    s->rc[k] = weft_chan_get(&s->c, &s->v[k], WEFT_FOREVER);
    s->got_at[k] = weft_now();
    if (k == 0)
        weft_scope_exit(&s->sc);
    return NULL;
}

static const char *handoff_ok(const struct handoff *s)
{
    /* Getter 0 took the item, or was cancelled and getter 1 took it (the
     * body closes the channel afterwards, so a getter left waiting ends
     * with -EPIPE). */
    EXPECT(s->rc[0] == 0 || s->rc[0] == -ECANCELED);
    EXPECT_EQ(s->rc[1], s->rc[0] == 0 ? -EPIPE : 0);
    if (s->rc[1] == 0)
        EXPECT_EQ(s->got_at[1], WEFT_MSEC);
    return NULL;
}

static struct handoff handoff_st; /* aligned: its low bit is free */

static void handoff_body(void *arg)
{
    struct handoff *s = arg;
    weft_thread_t t[2];
    s->rc[0] = s->rc[1] = 1;
    s->v[0] = s->v[1] = NULL;
    s->in_scope = 0;
    weft_chan_init(&s->c, 1);
    for (int k = 0; k < 2; k++)
        weft_thread_spawn(&t[k], "getter", handoff_getter,
                          (void *)((uintptr_t)s | (uintptr_t)k));
    weft_sleep_for(WEFT_MSEC); /* both wait in weft_chan_get */
    weft_atomic_begin();       /* no getter runs in between */
    weft_chan_put(&s->c, V(1), 0);
    weft_scope_cancel(&s->sc);
    weft_atomic_end();
    weft_sleep_for(WEFT_MSEC); /* the item is taken by now */
    weft_chan_close(&s->c);    /* a getter still waiting ends */
    for (int k = 0; k < 2; k++)
        weft_thread_join(t[k], NULL);
    s->runs++;
    for (int k = 0; k < 2; k++)
        s->took[k] += s->rc[k] == 0;
    CHECK_IN_BODY(handoff_ok(s));
}

static void
a_getter_cancelled_after_its_wake_up_does_not_lose_the_item(void **state)
{
    (void)state;
    struct handoff *s = &handoff_st;
    struct outcome o;
    memset(s, 0, sizeof *s);
    explore(handoff_body, s, sizeof *s, 5, 200, &o);
    assert_no_finding(&o);
    assert_int_equal(s->runs, 200);
}

/* deadlines */
struct chandl {
    weft_chan_t empty, full;
    /* [0] a thread, [1] a coroutine */
    int get_rc[2], put_rc[2], get0_rc[2], put0_rc[2];
    int64_t get_at[2], put_at[2], get0_at[2], put0_at[2];
};

static void chandl_waits(struct chandl *s, int who)
{
    int64_t base = who * 100 * WEFT_MSEC;
    chan_sleep(base + WEFT_MSEC - weft_now()); /* start at 1 ms or 101 ms */
    s->get0_rc[who] = weft_chan_get(&s->empty, NULL, 0);
    s->put0_rc[who] = weft_chan_put(&s->full, V(5), 0);
    s->get0_at[who] = s->put0_at[who] = weft_now();
    s->get_rc[who] = weft_chan_get(&s->empty, NULL, base + 5 * WEFT_MSEC);
    s->get_at[who] = weft_now();
    s->put_rc[who] = weft_chan_put(&s->full, V(5), base + 8 * WEFT_MSEC);
    s->put_at[who] = weft_now();
}

static void *chandl_co(void *arg)
{
    chandl_waits(arg, 1);
    return NULL;
}

static const char *chandl_ok(const struct chandl *s)
{
    for (int who = 0; who < 2; who++) { /* a thread, then a coroutine */
        int64_t base = who * 100 * WEFT_MSEC;
        /* deadline 0: no wait, -EAGAIN even at a time after 0 */
        EXPECT_EQ(s->get0_rc[who], -EAGAIN);
        EXPECT_EQ(s->put0_rc[who], -EAGAIN);
        EXPECT_EQ(s->get0_at[who], base + WEFT_MSEC);
        EXPECT_EQ(s->get_rc[who], -ETIMEDOUT);
        EXPECT_EQ(s->get_at[who], base + 5 * WEFT_MSEC);
        EXPECT_EQ(s->put_rc[who], -ETIMEDOUT);
        EXPECT_EQ(s->put_at[who], base + 8 * WEFT_MSEC);
    }
    return NULL;
}

static void chandl_body(void *arg)
{
    struct chandl *s = arg;
    memset(s, 0, sizeof *s);
    weft_chan_init(&s->empty, 1);
    weft_chan_init(&s->full, 1);
    weft_chan_put(&s->full, V(1), 0);
    chandl_waits(s, 0);
    weft_run(chandl_co, s, NULL);
    CHECK_IN_BODY(chandl_ok(s));
}

static void channel_deadlines_end_waits_at_exactly_the_deadline(void **state)
{
    (void)state;
    struct chandl s;
    struct outcome o;
    explore(chandl_body, &s, sizeof s, 1, 10, &o);
    assert_no_finding(&o);
    CHECK_AFTER(chandl_ok(&s));
}

/* ------------------------------------------------------------------ main */

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/weft-test-group-XXXXXX");
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(group_wait_returns_zero_when_every_child_succeeds),
        cmocka_unit_test(
            group_children_are_coroutines_from_a_coroutine_threads_else),
        cmocka_unit_test(
            the_first_failure_cancels_the_siblings_and_wait_returns_it),
        cmocka_unit_test(a_group_collects_every_childs_error),
        cmocka_unit_test(group_cancel_cancels_the_live_children),
        cmocka_unit_test(
            cancelling_the_parent_cancels_the_children_and_still_waits),
        cmocka_unit_test(
            children_start_siblings_into_their_own_group_while_the_parent_waits),
        cmocka_unit_test(
            a_child_started_into_a_cancelled_group_starts_cancelled),
        cmocka_unit_test(a_group_keeps_every_childs_outcome_uncapped),
        cmocka_unit_test(a_group_never_waited_is_a_task_leak),
        cmocka_unit_test(
            a_local_group_whose_parent_returned_unwaited_is_a_task_leak),
        cmocka_unit_test(destroying_a_group_with_a_live_child_is_a_task_leak),
        cmocka_unit_test(destroying_a_waited_group_is_no_finding),
        cmocka_unit_test(
            a_child_coroutine_starts_with_a_copy_of_its_parents_locals),
        cmocka_unit_test(
            a_child_thread_starts_with_a_copy_of_its_parents_locals),
        cmocka_unit_test(
            group_children_start_with_a_copy_of_their_parents_locals),
        cmocka_unit_test(
            a_to_thread_job_starts_with_a_copy_of_its_submitters_locals),
        cmocka_unit_test(each_to_thread_job_sees_its_own_submitters_locals),
        cmocka_unit_test(coroutines_sharing_a_thread_keep_their_own_locals),
        cmocka_unit_test(
            a_channel_from_a_coroutine_to_a_thread_is_bounded_and_fifo),
        cmocka_unit_test(
            a_channel_from_a_thread_to_a_coroutine_is_bounded_and_fifo),
        cmocka_unit_test(close_fails_puts_with_epipe_and_gets_drain_then_epipe),
        cmocka_unit_test(
            a_getter_cancelled_after_its_wake_up_does_not_lose_the_item),
        cmocka_unit_test(channel_deadlines_end_waits_at_exactly_the_deadline),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
