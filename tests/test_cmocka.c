/*
 * test_cmocka.c: include/weft/cmocka.h: cmocka's assertions inside weft
 * tasks, and weft explorations as cmocka tests in every output format.
 *
 * The claims whose point is that a cmocka test FAILS are made by a second
 * cmocka group, the scenarios, which a forked child runs once per output
 * format (CMOCKA_MESSAGE_OUTPUT=stdout, tap, subunit, xml; xml both to
 * standard output and to CMOCKA_XML_FILE) with its output captured; the
 * tests of the main group read that text. The scenarios use the WEFT_*
 * environment the child is given (seed, iterations and strategy pinned,
 * everything else cleared). The redefined macros' messages are checked
 * directly on weft_explore's result, with the seed pinned and the
 * environment ignored. `test_cmocka scenarios` runs the scenario group
 * alone, with the caller's environment, to see what a user would see.
 */
#include "weft.h"
#include "weft/cmocka.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* A private folder for schedule files, captured output and JUnit files. */
static char tmpdir[256];

/* ------------------------------------------------------------- helpers */

static void pinned(weft_config_t *c, uint64_t seed, uint64_t iterations)
{
    static char schedule[300];
    snprintf(schedule, sizeof schedule, "%s/direct.schedule", tmpdir);
    weft_config_init(c);
    c->use_env = false;
    c->quiet = true;
    c->seed = seed;
    c->iterations = iterations;
    c->strategy = "random";
    c->progress = 0;
    c->schedule_out = schedule;
}

/* Text is quoted with every line indented, so that the Makefile's count
 * of cmocka summary lines never reads a captured child's. */
static void show(const char *what, const char *text)
{
    print_error("%s:\n", what);
    for (const char *p = text ? text : "(null)"; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        print_error("    | %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

#define assert_contains(hay, needle) \
    contains_at((hay), (needle), true, __FILE__, __LINE__)
#define assert_not_contains(hay, needle) \
    contains_at((hay), (needle), false, __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, bool want,
                        const char *file, int line)
{
    bool found = hay != NULL && strstr(hay, needle) != NULL;
    if (found != want) {
        print_error("%s:%d: expected %s\"%s\" in the text below\n", file, line,
                    want ? "" : "no ", needle);
        show("text", hay);
        _fail(file, line);
    }
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* From the first occurrence of from to the next occurrence of to (both
 * included), copied into a new string; "" if from does not occur. */
static char *section(const char *text, const char *from, const char *to)
{
    const char *a = text ? strstr(text, from) : NULL;
    if (a == NULL)
        return strdup("");
    const char *b = strstr(a + strlen(from), to);
    size_t n = b ? (size_t)(b - a) + strlen(to) : strlen(a);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

static char *read_all(int fd)
{
    size_t len = 0, cap = 4096;
    char *s = malloc(cap);
    assert_non_null(s);
    for (;;) {
        if (cap - len < 1024) {
            cap *= 2;
            s = realloc(s, cap);
            assert_non_null(s);
        }
        ssize_t n = read(fd, s + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    s[len] = '\0';
    return s;
}

static char *read_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return strdup("");
    char *s = read_all(fd);
    close(fd);
    return s;
}

/* ------------------------------------------------ bodies and checks */

static void check_positive(int v)
{
    mock_assert(v > 0, "v > 0", __FILE__, __LINE__);
}

/* Every redefined macro, each used so that it passes. */
static void every_macro_passing(void)
{
    int x = 2;
    long minus_one = -1;
    const char *s = "weft";
    const unsigned char m1[4] = { 1, 2, 3, 4 }, m2[4] = { 1, 2, 3, 4 };
    const unsigned char m3[4] = { 1, 2, 3, 5 };
    const LargestIntegralType set[] = { 1, 2, 3 };

    assert_true(x == 2);
    assert_false(x == 3);
    assert_null(NULL);
    assert_non_null(s);
    assert_int_equal(x, 2);
    assert_int_equal(minus_one, -1);
    assert_int_not_equal(x, 3);
    assert_ptr_equal(s, s);
    assert_ptr_not_equal(s, NULL);
    assert_float_equal(0.1f + 0.2f, 0.3f, 0.0001f);
    assert_float_not_equal(1.0f, 2.0f, 0.5f);
    assert_string_equal(s, "weft");
    assert_string_not_equal(s, "woof");
    assert_memory_equal(m1, m2, sizeof m1);
    assert_memory_not_equal(m1, m3, sizeof m1);
    assert_in_range(x, 1, 3);
    assert_not_in_range(x, 3, 5);
    assert_in_set(2, set, 3);
    assert_not_in_set(7, set, 3);
    assert_return_code(0, 0);
    assert_return_code(x, EINVAL);
}

/* One failing use of a macro per case. A case writes the message it
 * expects into `want` (and `tail`, what follows the location) and runs the
 * check through AT(), which records the check's line in `where`; `went_on`
 * shows whether anything after the check ran. */
static char want[256];
static const char *tail;
static int where;
static bool went_on;

#define AT(check)         \
    do {                  \
        where = __LINE__; \
        check;            \
        went_on = true;   \
    } while (0)

static int val = 3, neg = -12;
static float flt = 1.5f;
static const char *waft = "waft", *nul;
static const unsigned char mem_a[4] = { 1, 2, 3, 4 };
static const unsigned char mem_b[4] = { 1, 2, 3, 4 };
static const unsigned char mem_c[4] = { 1, 2, 3, 5 };
static const LargestIntegralType s456[] = { 4, 5, 6 }, s13[] = { 1, 3 };

#define WANT(...) snprintf(want, sizeof want, __VA_ARGS__)
#define AF        "assertion failed: "

static void c_true(void)
{
    WANT(AF "assert_true(val == 4): false");
    AT(assert_true(val == 4));
}
static void c_false(void)
{
    WANT(AF "assert_false(val == 3): true");
    AT(assert_false(val == 3));
}
static void c_null(void)
{
    WANT(AF "assert_null(&val): %p is not NULL", (void *)&val);
    AT(assert_null(&val));
}
static void c_non_null(void)
{
    WANT(AF "assert_non_null(nul): NULL");
    AT(assert_non_null(nul));
}
static void c_int_equal(void)
{
    WANT(AF "assert_int_equal(val, 4): 3 != 4");
    AT(assert_int_equal(val, 4));
}
static void c_int_equal_negative(void)
{
    WANT(AF "assert_int_equal(neg, 1): -12 != 1");
    AT(assert_int_equal(neg, 1));
}
static void c_int_not_equal(void)
{
    WANT(AF "assert_int_not_equal(val, 3): 3 == 3");
    AT(assert_int_not_equal(val, 3));
}
static void c_ptr_equal(void)
{
    WANT(AF "assert_ptr_equal(&val, nul): %p != %p", (void *)&val,
         (void *)NULL);
    AT(assert_ptr_equal(&val, nul));
}
static void c_ptr_not_equal(void)
{
    WANT(AF "assert_ptr_not_equal(&val, &val): %p == %p", (void *)&val,
         (void *)&val);
    AT(assert_ptr_not_equal(&val, &val));
}
static void c_float_equal(void)
{
    WANT(AF "assert_float_equal(flt, 2.0f, 0.001f): 1.500000 != 2.000000 "
            "(epsilon 0.001)");
    AT(assert_float_equal(flt, 2.0f, 0.001f));
}
static void c_float_not_equal(void)
{
    WANT(AF "assert_float_not_equal(flt, 1.5f, 0.001f): 1.500000 == 1.500000 "
            "(epsilon 0.001)");
    AT(assert_float_not_equal(flt, 1.5f, 0.001f));
}
static void c_string_equal(void)
{
    WANT(AF "assert_string_equal(waft, \"weft\"): \"waft\" != \"weft\"");
    AT(assert_string_equal(waft, "weft"));
}
static void c_string_equal_null(void)
{
    WANT(AF "assert_string_equal(nul, \"x\"): NULL != \"x\"");
    AT(assert_string_equal(nul, "x"));
}
static void c_string_not_equal(void)
{
    WANT(AF "assert_string_not_equal(waft, \"waft\"): \"waft\" == \"waft\"");
    AT(assert_string_not_equal(waft, "waft"));
}
static void c_memory_equal(void)
{
    WANT(AF
         "assert_memory_equal(mem_a, mem_c, 4): 1 of 4 bytes differ, the first "
         "at offset 3: 0x04 != 0x05");
    AT(assert_memory_equal(mem_a, mem_c, 4));
}
static void c_memory_not_equal(void)
{
    WANT(AF
         "assert_memory_not_equal(mem_a, mem_b, 4): all 4 bytes are the same");
    AT(assert_memory_not_equal(mem_a, mem_b, 4));
}
static void c_in_range(void)
{
    WANT(AF "assert_in_range(val, 4, 9): 3 is not within the range 4-9");
    AT(assert_in_range(val, 4, 9));
}
static void c_not_in_range(void)
{
    WANT(AF "assert_not_in_range(val, 1, 5): 3 is within the range 1-5");
    AT(assert_not_in_range(val, 1, 5));
}
static void c_in_set(void)
{
    WANT(AF "assert_in_set(val, s456, 3): 3 is not in the set {4, 5, 6}");
    AT(assert_in_set(val, s456, 3));
}
static void c_not_in_set(void)
{
    WANT(AF "assert_not_in_set(val, s13, 2): 3 is in the set {1, 3}");
    AT(assert_not_in_set(val, s13, 2));
}
static void c_return_code_errno(void)
{
    int rc = -1;
    WANT(AF "assert_return_code(rc, ENOENT): -1 < 0, errno(%d): %s", ENOENT,
         strerror(ENOENT));
    AT(assert_return_code(rc, ENOENT));
}
static void c_return_code(void)
{
    long rc = -22;
    WANT(AF "assert_return_code(rc, 0): -22 < 0");
    AT(assert_return_code(rc, 0));
}
static void c_fail(void)
{
    WANT("failure: fail()");
    AT(fail());
}
static void c_fail_msg(void)
{
    WANT("failure: queue full (%d items)", val);
    AT(fail_msg("queue full (%d items)", val));
}
static void c_fail_msg_plain(void)
{
    WANT("failure: no format arguments");
    AT(fail_msg("no format arguments"));
}
static void c_skip(void)
{
    WANT("failure: skip() inside a weft task");
    tail = " (a skip decides for the whole cmocka test: call skip() before "
           "exploring)";
    AT(skip());
}
static void c_expect_assert_failure(void)
{
    WANT(AF "expect_assert_failure(check_positive(1)): no assertion failed");
    AT(expect_assert_failure(check_positive(1)));
}

static const struct check_case {
    const char *name;
    void (*run)(void);
} cases[] = {
    { "assert_true", c_true },
    { "assert_false", c_false },
    { "assert_null", c_null },
    { "assert_non_null", c_non_null },
    { "assert_int_equal", c_int_equal },
    { "assert_int_equal (negative)", c_int_equal_negative },
    { "assert_int_not_equal", c_int_not_equal },
    { "assert_ptr_equal", c_ptr_equal },
    { "assert_ptr_not_equal", c_ptr_not_equal },
    { "assert_float_equal", c_float_equal },
    { "assert_float_not_equal", c_float_not_equal },
    { "assert_string_equal", c_string_equal },
    { "assert_string_equal (NULL)", c_string_equal_null },
    { "assert_string_not_equal", c_string_not_equal },
    { "assert_memory_equal", c_memory_equal },
    { "assert_memory_not_equal", c_memory_not_equal },
    { "assert_in_range", c_in_range },
    { "assert_not_in_range", c_not_in_range },
    { "assert_in_set", c_in_set },
    { "assert_not_in_set", c_not_in_set },
    { "assert_return_code (errno)", c_return_code_errno },
    { "assert_return_code", c_return_code },
    { "fail", c_fail },
    { "fail_msg", c_fail_msg },
    { "fail_msg (no arguments)", c_fail_msg_plain },
    { "skip", c_skip },
    { "expect_assert_failure", c_expect_assert_failure },
};

static void *run_case(void *arg)
{
    ((const struct check_case *)arg)->run();
    return NULL;
}

/* arg: the case; in_body selects where it runs: in the body (task 0) or
 * in a thread of its own. */
static bool in_body;

static void case_body(void *arg)
{
    went_on = false;
    if (in_body) {
        run_case(arg);
        return;
    }
    weft_thread_t t;
    weft_thread_spawn(&t, "checker", run_case, arg);
    weft_thread_join(t, NULL);
}

static void *run_every_macro_passing(void *arg)
{
    (void)arg;
    every_macro_passing();
    return NULL;
}

static void passing_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "checker", run_every_macro_passing, NULL);
    every_macro_passing();
    weft_thread_join(t, NULL);
}

/* mock_assert()'s longjmp lands in the same task: once is enough (cmocka
 * prints a line for each caught assertion). */
static void *catch_an_assertion(void *arg)
{
    (void)arg;
    expect_assert_failure(check_positive(0));
    return NULL;
}

static void catching_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    weft_thread_spawn(&t, "catcher", catch_an_assertion, NULL);
    weft_thread_join(t, NULL);
}

/* ---------------------------------------------------------- the scenarios */

/* A lost update: two threads read, yield, write back. The second one to
 * finish checks the total with a cmocka assertion. */
static int counter;
static weft_atomic32_t finished;
static weft_mutex_t counter_lock = WEFT_MUTEX_INITIALIZER;

static void *racy_bump(void *arg)
{
    (void)arg;
    int seen = counter;
    weft_yield();
    counter = seen + 1;
    if (weft_atomic32_fetch_add(&finished, 1) == 1)
        assert_int_equal(counter, 2);
    return NULL;
}

static void *locked_bump(void *arg)
{
    (void)arg;
    weft_mutex_lock(&counter_lock);
    int seen = counter;
    weft_yield();
    counter = seen + 1;
    if (weft_atomic32_fetch_add(&finished, 1) == 1)
        assert_int_equal(counter, 2);
    weft_mutex_unlock(&counter_lock);
    return NULL;
}

/* arg: a struct bumper naming the threads' function. */
struct bumper {
    weft_thread_fn *fn;
};
static const struct bumper racy = { racy_bump }, locked = { locked_bump };

static void two_bumps(void *arg)
{
    const struct bumper *b = arg;
    weft_thread_t t1, t2;
    counter = 0;
    weft_atomic32_store(&finished, 0);
    weft_thread_spawn(&t1, "bump-1", b->fn, NULL);
    weft_thread_spawn(&t2, "bump-2", b->fn, NULL);
    weft_thread_join(t1, NULL);
    weft_thread_join(t2, NULL);
}

/* Text that XML's CDATA cannot hold as is: "]]>" and a control byte. */
static void xml_unsafe_body(void *arg)
{
    (void)arg;
    const char *got = "]]>";
    assert_string_equal(got, "]]><&\x01");
}

static void racy_counter_fails_with_seed_and_replay(void **state)
{
    (void)state;
    weft_cmocka_explore(NULL, two_bumps, (void *)&racy);
}

static void next_test_still_runs_and_passes(void **state)
{
    (void)state;
    weft_config_t c;
    weft_config_init(&c);
    c.name = "counter under a mutex";
    weft_cmocka_explore(&c, two_bumps, (void *)&locked);
}

static void bad_config_fails_with_the_error(void **state)
{
    (void)state;
    weft_config_t c;
    weft_config_init(&c);
    c.use_env = false;
    c.iterations = 0;
    weft_cmocka_explore(&c, two_bumps, (void *)&locked);
}

static void cmocka_asserts_outside_weft_pass(void **state)
{
    (void)state;
    every_macro_passing();
}

static void cmocka_assert_outside_weft_fails_as_cmocka(void **state)
{
    (void)state;
    assert_int_equal(1, 2);
}

static void xml_unsafe_text_is_made_safe(void **state)
{
    (void)state;
    weft_cmocka_explore(NULL, xml_unsafe_body, NULL);
}

#define SCENARIO_FAILURES 4

static int run_scenario_group(void)
{
    const struct CMUnitTest scenarios[] = {
        cmocka_unit_test(racy_counter_fails_with_seed_and_replay),
        cmocka_unit_test(next_test_still_runs_and_passes),
        cmocka_unit_test(bad_config_fails_with_the_error),
        cmocka_unit_test(cmocka_asserts_outside_weft_pass),
        cmocka_unit_test(cmocka_assert_outside_weft_fails_as_cmocka),
        cmocka_unit_test(xml_unsafe_text_is_made_safe),
    };
    return cmocka_run_group_tests_name("weft_cmocka_scenarios", scenarios, NULL,
                                       NULL);
}

/* What a run of the scenario group in one output format printed. */
struct capture {
    int status; /* waitpid's */
    char *out;  /* standard output */
    char *err;  /* standard error */
    char *xml;  /* the CMOCKA_XML_FILE, or "" */
};

static void clear_weft_env(void)
{
    char name[128];
    for (;;) {
        char **e = environ;
        while (e && *e && strncmp(*e, "WEFT_", 5) != 0)
            e++;
        if (e == NULL || *e == NULL)
            return;
        size_t n = strcspn(*e, "=");
        snprintf(name, sizeof name, "%.*s", (int)n, *e);
        unsetenv(name);
    }
}

static void run_scenarios(const char *format, bool xml_file, struct capture *c)
{
    char err_path[300], xml_path[300];
    snprintf(err_path, sizeof err_path, "%s/stderr-%s%s", tmpdir, format,
             xml_file ? "-file" : "");
    snprintf(xml_path, sizeof xml_path, "%s/junit-%s.xml", tmpdir, format);
    unlink(xml_path);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(p[1], 1) < 0 || dup2(fd, 2) < 0)
            _exit(100);
        close(p[0]);
        clear_weft_env();
        setenv("WEFT_SEED", "1", 1);
        setenv("WEFT_ITERATIONS", "100", 1);
        setenv("WEFT_STRATEGY", "random", 1);
        setenv("WEFT_PROGRESS", "0", 1);
        setenv("TMPDIR", tmpdir, 1);
        setenv("CMOCKA_MESSAGE_OUTPUT", format, 1);
        if (xml_file)
            setenv("CMOCKA_XML_FILE", xml_path, 1);
        else
            unsetenv("CMOCKA_XML_FILE");
        alarm(60); /* a hang ends as a signal, not a stuck test */
        int failed = run_scenario_group();
        fflush(NULL);
        _exit(failed);
    }
    close(p[1]);
    c->out = read_all(p[0]);
    close(p[0]);
    while (waitpid(pid, &c->status, 0) < 0)
        assert_int_equal(errno, EINTR);
    c->err = read_file(err_path);
    c->xml = xml_file ? read_file(xml_path) : strdup("");
}

static void capture_free(struct capture *c)
{
    free(c->out);
    free(c->err);
    free(c->xml);
}

/* The child ended normally with one failure per failing scenario. */
static void check_status(const struct capture *c)
{
    if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != SCENARIO_FAILURES) {
        print_error("scenario child: status %#x, want exit %d\n", c->status,
                    SCENARIO_FAILURES);
        show("its standard output", c->out);
        show("its standard error", c->err);
        fail();
    }
}

/* The failure text of the racy scenario, in any format: the message, the
 * seed, a replay line with that seed; with the whole report, the report
 * naming the test. */
static void check_failure_text(const char *text, bool whole)
{
    assert_contains(text, "assertion failed: assert_int_equal(counter, 2): "
                          "1 != 2 at " __FILE__ ":");
    /* The summary's seed line, else the report's execution line. */
    const char *s = strstr(text, "  seed:      ");
    const char *e = strstr(text, "  execution: ");
    if (s != NULL)
        s += strlen("  seed:      ");
    else if (e != NULL && (s = strstr(e, ", seed ")) != NULL)
        s += strlen(", seed ");
    assert_non_null(s);
    unsigned long long seed = strtoull(s, NULL, 10);
    assert_true(seed > 0);
    char replay[96];
    snprintf(replay, sizeof replay,
             "replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1", seed);
    assert_contains(text, replay);
    if (whole) {
        assert_contains(text, "  test:      racy_counter_fails_with_seed_and_"
                              "replay\n");
        assert_contains(text, "  kind:      assertion\n");
    } else {
        assert_contains(text, "weft: assertion failed: assert_int_equal(");
        assert_not_contains(text, "  kind:      assertion\n");
    }
}

/* ------------------------------------------------------------ the tests */

static void every_macro_failing_in_a_task_is_an_assertion_finding(void **state)
{
    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        in_body = pass == 1;
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            weft_config_t c;
            weft_result_t r;
            pinned(&c, 7, 1);
            want[0] = '\0';
            tail = "";
            where = 0;
            int rc = weft_explore(&c, case_body, (void *)&cases[i], &r);
            char expect[512];
            snprintf(expect, sizeof expect, "%s at %s:%d%s", want, __FILE__,
                     where, tail);
            if (rc != 1 || r.finding != WEFT_FINDING_ASSERTION ||
                strcmp(r.message, expect) != 0 || went_on) {
                print_error("%s (in %s): rc %d, finding %s, went on: %d\n"
                            "  message: %s\n  want:    %s\n",
                            cases[i].name, in_body ? "the body" : "a thread",
                            rc, weft_finding_name(r.finding), went_on,
                            r.message, expect);
                fail();
            }
            char task[160];
            snprintf(task, sizeof task, "  task:      task %s at %s:%d\n",
                     in_body ? "0 \"main\"" : "1 \"checker\"", __FILE__, where);
            assert_contains(r.report, task);
            weft_result_destroy(&r);
        }
    }
}

static void every_macro_passing_in_tasks_passes(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 11, 50);
    assert_int_equal(weft_explore(&c, passing_body, NULL, &r), 0);
    assert_int_equal(r.finding, WEFT_FINDING_NONE);
    assert_int_equal(r.executions, 50);
    weft_result_destroy(&r);

    pinned(&c, 11, 1);
    assert_int_equal(weft_explore(&c, catching_body, NULL, &r), 0);
    weft_result_destroy(&r);
}

static void every_macro_outside_weft_behaves_like_cmocka(void **state)
{
    (void)state;
    assert_false(weft_running());
    every_macro_passing();
    /* cmocka's own failure path still works here: expect_assert_failure
     * catches mock_assert's longjmp on the main stack. */
    expect_assert_failure(check_positive(-1));
}

/* The body draws a number; 3 fails the check. Only that execution ends:
 * the ones before passed, nothing after the check ran, and weft works
 * afterwards. */
static uint64_t passed;

static void *draw_and_check(void *arg)
{
    (void)arg;
    uint64_t n = weft_choose(4);
    AT(assert_int_not_equal(n, 3));
    passed++;
    return NULL;
}

static void draw_body(void *arg)
{
    (void)arg;
    weft_thread_t t;
    went_on = false;
    weft_thread_spawn(&t, "drawer", draw_and_check, NULL);
    weft_thread_join(t, NULL);
}

static void failing_check_ends_that_execution_only(void **state)
{
    (void)state;
    weft_config_t c;
    weft_result_t r;
    pinned(&c, 3, 200);
    c.shrink = false;
    passed = 0;
    assert_int_equal(weft_explore(&c, draw_body, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    assert_false(went_on);
    assert_true(r.executions >= 1);
    assert_int_equal(passed, r.executions - 1);
    char expect[160];
    snprintf(expect, sizeof expect,
             "assertion failed: assert_int_not_equal(n, 3): 3 == 3 at %s:%d",
             __FILE__, where);
    assert_string_equal(r.message, expect);
    weft_result_destroy(&r);

    assert_false(weft_running());
    pinned(&c, 3, 50);
    assert_int_equal(weft_explore(&c, two_bumps, (void *)&locked, &r), 0);
    weft_result_destroy(&r);
}

static void stdout_format_fails_the_test_and_runs_the_next(void **state)
{
    (void)state;
    struct capture c;
    run_scenarios("stdout", false, &c);
    check_status(&c);
    /* cmocka 1.1.5 prints results on stdout, errors on stderr. */
    size_t n = strlen(c.out) + strlen(c.err) + 2;
    char *all = malloc(n);
    assert_non_null(all);
    snprintf(all, n, "%s\n%s", c.out, c.err);
    assert_contains(all,
                    "[  FAILED  ] racy_counter_fails_with_seed_and_replay");
    assert_contains(all, "[       OK ] next_test_still_runs_and_passes");
    assert_contains(all, "[  FAILED  ] bad_config_fails_with_the_error");
    assert_contains(all, "[       OK ] cmocka_asserts_outside_weft_pass");
    assert_contains(all,
                    "[  FAILED  ] cmocka_assert_outside_weft_fails_as_cmocka");
    assert_contains(all, "[  FAILED  ] xml_unsafe_text_is_made_safe");
    assert_contains(all, "[  PASSED  ] 2 test(s).");
    /* cmocka prints a failure's text through 1024 bytes here: the summary
     * goes through cmocka, whole (the failure line after it survives), the
     * report to stderr, once. */
    char *f = section(c.err,
                      "[  ERROR   ] --- weft: assertion failed: "
                      "assert_int_equal(",
                      "error: Failure!\n");
    check_failure_text(f, false);
    assert_contains(f, "[   LINE   ] --- " __FILE__ ":");
    free(f);
    check_failure_text(c.err, true);
    assert_int_equal(count(c.err, "  test:      racy_counter_fails_with_"), 1);
    assert_int_equal(count(c.err, "error: Failure!\n"), SCENARIO_FAILURES);
    assert_contains(c.err, "weft: counter under a mutex: 100 executions, no "
                           "failure");
    assert_contains(c.err, "weft: bad_config_fails_with_the_error: "
                           "weft_explore could not run: invalid argument");
    /* Outside weft a failure is cmocka's own, not a weft finding. */
    assert_not_contains(all, "assert_int_equal(1, 2)");
    free(all);
    capture_free(&c);
}

static void tap_format_carries_seed_and_replay_as_comments(void **state)
{
    (void)state;
    struct capture c;
    run_scenarios("tap", false, &c);
    check_status(&c);
    assert_contains(c.out, "1..6\n");
    assert_contains(c.out,
                    "not ok 1 - racy_counter_fails_with_seed_and_replay\n");
    assert_contains(c.out, "ok 2 - next_test_still_runs_and_passes\n");
    assert_contains(c.out, "not ok 3 - bad_config_fails_with_the_error\n");
    assert_contains(c.out, "ok 4 - cmocka_asserts_outside_weft_pass\n");
    assert_contains(c.out, "not ok 6 - xml_unsafe_text_is_made_safe\n");
    assert_contains(c.out, "\n# weft: assertion failed: assert_int_equal(");
    assert_contains(c.out, "\n#   seed:      ");
    assert_contains(c.out, "\n#   replay:    WEFT_SEED=");
    /* TAP shows the text line by line, so the whole report is there. */
    assert_contains(c.out, "\n#   kind:      assertion\n");
    assert_not_contains(c.err, "  kind:      assertion");
    check_failure_text(c.out, true);
    capture_free(&c);
}

static void subunit_format_puts_the_report_in_the_failure(void **state)
{
    (void)state;
    struct capture c;
    run_scenarios("subunit", false, &c);
    check_status(&c);
    assert_contains(c.out, "test: racy_counter_fails_with_seed_and_replay\n");
    assert_contains(c.out, "success: next_test_still_runs_and_passes\n");
    assert_contains(c.out, "success: cmocka_asserts_outside_weft_pass\n");
    char *f = section(
        c.out, "failure: racy_counter_fails_with_seed_and_replay [\n", "\n]\n");
    /* The summary (seed and replay line) in the failure, the report on
     * stderr: subunit's 1024 bytes would cut it, and the bracket with it. */
    check_failure_text(f, false);
    assert_contains(f, "error: Failure!\n]\n");
    free(f);
    check_failure_text(c.err, true);
    assert_int_equal(count(c.out, " [\n"), SCENARIO_FAILURES);
    assert_int_equal(count(c.out, "\n]\n"), SCENARIO_FAILURES);
    capture_free(&c);
}

/* The JUnit checks: the failing test has a <failure> with the seed and the
 * replay line, the next one has none, the CDATA sections are intact. */
static void check_junit(const char *xml)
{
    assert_contains(xml, "<testsuite name=\"weft_cmocka_scenarios\"");
    assert_contains(xml, "tests=\"6\" failures=\"4\"");
    char *t = section(xml,
                      "<testcase name=\"racy_counter_fails_with_seed_and_"
                      "replay\"",
                      "</testcase>");
    assert_contains(t, "<failure><![CDATA[weft: assertion failed: "
                       "assert_int_equal(counter, 2)");
    char *f = section(t, "<failure>", "</failure>");
    check_failure_text(f, true);
    assert_contains(f, "]]></failure>");
    free(f);
    free(t);
    t = section(xml, "<testcase name=\"next_test_still_runs_and_passes\"",
                "</testcase>");
    assert_contains(t, "next_test_still_runs_and_passes");
    assert_not_contains(t, "<failure");
    free(t);
    /* "]]>" in a message would end its CDATA early; a control byte is not
     * XML at all. */
    assert_int_equal(count(xml, "<![CDATA["), count(xml, "]]>"));
    assert_int_equal(count(xml, "<![CDATA["), 4);
    assert_not_contains(xml, "\x01");
    t = section(xml, "<testcase name=\"xml_unsafe_text_is_made_safe\"",
                "</testcase>");
    assert_contains(t, "\"]] >\" != \"]] ><&?\"");
    free(t);
}

static void xml_format_to_a_file_has_a_failure_with_the_seed(void **state)
{
    (void)state;
    struct capture c;
    run_scenarios("xml", true, &c);
    check_status(&c);
    check_junit(c.xml);
    assert_not_contains(c.out, "<testsuite");
    capture_free(&c);
}

static void xml_format_on_stdout_has_a_failure_with_the_seed(void **state)
{
    (void)state;
    struct capture c;
    run_scenarios("xml", false, &c);
    check_status(&c);
    check_junit(c.out);
    capture_free(&c);
}

/* ------------------------------------------------------------------ main */

static int make_tmpdir(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/weft-test-cmocka-XXXXXX",
             t && *t ? t : "/tmp");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    /* `test_cmocka scenarios` runs the scenario group alone, to look at. */
    if (argc > 1 && strcmp(argv[1], "scenarios") == 0)
        return run_scenario_group();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_macro_failing_in_a_task_is_an_assertion_finding),
        cmocka_unit_test(every_macro_passing_in_tasks_passes),
        cmocka_unit_test(every_macro_outside_weft_behaves_like_cmocka),
        cmocka_unit_test(failing_check_ends_that_execution_only),
        cmocka_unit_test(stdout_format_fails_the_test_and_runs_the_next),
        cmocka_unit_test(tap_format_carries_seed_and_replay_as_comments),
        cmocka_unit_test(subunit_format_puts_the_report_in_the_failure),
        cmocka_unit_test(xml_format_to_a_file_has_a_failure_with_the_seed),
        cmocka_unit_test(xml_format_on_stdout_has_a_failure_with_the_seed),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
