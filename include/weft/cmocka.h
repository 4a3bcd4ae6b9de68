/*
 * weft/cmocka.h: cmocka's assertions inside weft tasks, and weft
 * explorations as cmocka tests.
 *
 * NAME
 *     weft_cmocka_explore - run a weft exploration as (part of) a cmocka
 *     test; cmocka's assert_* macros, fail(), fail_msg() and skip() made
 *     safe to call from any weft task
 *
 * SYNOPSIS
 *     #include <weft/cmocka.h>      (includes <cmocka.h> and <weft.h>)
 *
 *     void weft_cmocka_explore(const weft_config_t *cfg, weft_body_fn *body,
 *                              void *arg);                  (a macro)
 *
 *     assert_true, assert_false, assert_null, assert_non_null,
 *     assert_int_equal, assert_int_not_equal, assert_ptr_equal,
 *     assert_ptr_not_equal, assert_float_equal, assert_float_not_equal,
 *     assert_string_equal, assert_string_not_equal, assert_memory_equal,
 *     assert_memory_not_equal, assert_in_range, assert_not_in_range,
 *     assert_in_set, assert_not_in_set, assert_return_code, fail, fail_msg,
 *     skip, expect_assert_failure                        (redefined)
 *
 * DESCRIPTION
 *     cmocka fails a test by longjmp()ing to a buffer on the main stack. A
 *     weft task runs on a stack of its own, so a cmocka assertion failing
 *     inside a task would jump out of the middle of the scheduler and leave
 *     the exploration broken. This header includes <cmocka.h> and then
 *     redefines every cmocka macro that can fail (or skip) a test as
 *
 *         weft_running() ? <weft's check> : <cmocka 1.1.5's own expansion>
 *
 *     Outside an exploration (weft_running() is false: in the cmocka test
 *     function itself, in setup and teardown) each macro is exactly
 *     cmocka's. Inside any weft task (the body included) a failing one is
 *     a weft assertion finding: it ends that execution only, and control
 *     returns to the scheduler, which reports the failure with its seed
 *     and replay line like any weft_assert(). The finding's message says
 *     what cmocka would, with the macro, its arguments and the location:
 *
 *         assertion failed: assert_int_equal(x, 2): 1 != 2 at t.c:42
 *         assertion failed: assert_string_equal(s, "a"): "b" != "a" at t.c:43
 *         failure: fail() at t.c:44
 *         failure: queue full (3 items) at t.c:45          (fail_msg)
 *
 *     Integers print in decimal (assert_int_*: signed, assert_*range and
 *     assert_*set: unsigned, as cmocka compares them), pointers with %p.
 *     The checks compare exactly as cmocka 1.1.5 does (the same casts, the
 *     same float tolerance, the same return-code bounds), so a macro passes
 *     inside a task exactly when it would pass outside. A NULL string in
 *     assert_string_equal is a failure rather than cmocka's crash. skip()
 *     inside a task is a finding too ("skip() inside a weft task"): a skip
 *     decides for the whole cmocka test, so call it before exploring.
 *     The header includes <cmocka.h> itself, with the headers cmocka 1.1
 *     needs first; include it before the first use of the macros (an
 *     earlier #include <cmocka.h> is harmless).
 *
 *     weft_cmocka_explore(cfg, body, arg) runs weft_explore(cfg, body, arg)
 *     from a cmocka test function (on the main stack, never from a task).
 *     cfg may be NULL for the defaults; cfg->name defaults to the calling
 *     function's name (__func__), which then titles the report. The WEFT_*
 *     environment applies as in weft_explore (when cfg->use_env is set, as
 *     it is by default); a bad value prints a message and exits with
 *     status 2. When the exploration passes the macro returns (and,
 *     unless quiet, prints weft's one-line summary on stderr). When an
 *     execution fails, the cmocka test fails through cmocka's own error
 *     path, so the failure shows in every output format
 *     (CMOCKA_MESSAGE_OUTPUT=stdout, subunit, tap or xml, the JUnit file
 *     of CMOCKA_XML_FILE included), and the group goes on with its next
 *     test. The failure's text is
 *
 *         weft: <the finding's one-line message>
 *           seed:      <seed of the failing execution>
 *           replay:    WEFT_SEED=<seed> WEFT_ITERATIONS=1 <command line>
 *
 *     (the report's replay line; with a strategy that does not replay by
 *     seed it names the schedule file, WEFT_REPLAY=<file>), followed by
 *     weft's whole report unless cfg->quiet or WEFT_QUIET=1. The report
 *     is shown once: weft runs quiet and this macro hands the report on.
 *     With CMOCKA_MESSAGE_OUTPUT=tap or xml it is part of the failure's
 *     text (TAP "# " lines, the CDATA of the JUnit <failure>); in the
 *     stdout and subunit formats, which cmocka 1.1.5 prints through a
 *     1024-byte buffer, the failure's text is the three lines above and
 *     the report goes to stderr, before cmocka's failure lines. "]]>" and
 *     control characters in the text are broken up or replaced ('?') so
 *     that the XML stays well formed. If weft_explore cannot run (it
 *     returns a negative errno: out of memory, a bad configuration, an
 *     unreadable schedule file, even one named by WEFT_REPLAY) the test
 *     fails with that error.
 *
 * EXAMPLE
 *     #include <weft/cmocka.h>
 *
 *     static int hits;
 *
 *     static void *bump(void *arg)
 *     {
 *         (void)arg;
 *         int v = hits;     // read...
 *         weft_yield();     // ...another thread may run here...
 *         hits = v + 1;     // ...and its increment is lost
 *         return NULL;
 *     }
 *
 *     static void body(void *arg)
 *     {
 *         (void)arg;
 *         weft_thread_t a, b;
 *         hits = 0;
 *         weft_thread_spawn(&a, "a", bump, NULL);
 *         weft_thread_spawn(&b, "b", bump, NULL);
 *         weft_thread_join(a, NULL);
 *         weft_thread_join(b, NULL);
 *         assert_int_equal(hits, 2);        // fails this execution only
 *     }
 *
 *     static void two_increments_make_two(void **state)
 *     {
 *         (void)state;
 *         weft_cmocka_explore(NULL, body, NULL);   // fails the test
 *     }
 *
 *     int main(void)
 *     {
 *         const struct CMUnitTest tests[] = {
 *             cmocka_unit_test(two_increments_make_two),
 *         };
 *         return cmocka_run_group_tests(tests, NULL, NULL);
 *     }
 *
 *     Build with -lweft -lcmocka -pthread. The test fails with
 *     "weft: assertion failed: assert_int_equal(hits, 2): 1 != 2 at ...",
 *     the seed and the line that replays it.
 *
 * LIMITS
 *     Only the macros above are task-aware. Inside tasks, do not rely on
 *     cmocka's mocking: mock(), will_return(), expect_*(),
 *     check_expected() and function_called() keep one global queue for
 *     the whole cmocka test (every execution would draw from it), and when
 *     they fail they call cmocka's _fail() directly, which longjmps out of
 *     the task. The same holds for mock_assert() (a function, so it cannot
 *     be redefined here) failing unexpectedly in code under test, and for
 *     test_free() finding a corrupt guard block: route such assertions to
 *     weft_assert() or assert_true() while under weft. test_malloc() leak
 *     checks span the whole cmocka test: an execution ended by a finding
 *     never frees its blocks, so cmocka also reports them. Inside a task,
 *     expect_assert_failure(call) works when call makes no visible weft
 *     operation (cmocka's jump buffer is one global: another task would
 *     overwrite it). The checks are not scheduling points. The replay line
 *     reruns the whole test program; other weft tests in it run with that
 *     seed too (use cmocka's test filter, cmocka_set_test_filter(), to run
 *     one). cmocka's cm_print_error() is exported but undeclared by
 *     cmocka 1.1.5; this header declares it. For a cmocka that names it
 *     differently, define WEFT_CMOCKA_PRINT_ERROR to that function (same
 *     printf-like signature) before including this header.
 *
 * SEE ALSO
 *     weft.h (weft_explore, weft_assert, weft_running), cmocka's
 *     documentation (CMOCKA_MESSAGE_OUTPUT, CMOCKA_XML_FILE).
 */
#ifndef WEFT_CMOCKA_H
#define WEFT_CMOCKA_H

#include "../weft.h"

/* cmocka 1.1 needs setjmp.h, stdarg.h, stddef.h and stdint.h first. */
#include <float.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * cmocka's error channel: text given to it is kept with the failing test
 * and shown by every output format (stdout, subunit, TAP as "# " lines,
 * the <failure> element of JUnit XML), unlike print_error(), which 1.1.5
 * writes straight to stderr.
 */
#ifndef WEFT_CMOCKA_PRINT_ERROR
void cm_print_error(const char *const format, ...)
    CMOCKA_PRINTF_ATTRIBUTE(1, 2);
#define WEFT_CMOCKA_PRINT_ERROR cm_print_error
#endif

/* ------------------------------------------------- the checks in a task */

/*
 * Each check below runs only inside a task (the macros test weft_running()
 * first) and reports a failure with weft__assert_fail(), whose message is
 * "assertion failed: <expr>: <what> at <file>:<line>" (or "failure: ..."
 * for fail() and friends). They never return on failure.
 */

/* assert_true, assert_false, assert_non_null: ok or "<what>". */
static inline void weft__cm_true(LargestIntegralType ok, const char *expr,
                                 const char *what, const char *file, int line)
{
    if (!ok)
        weft__assert_fail(file, line, expr, "%s at %s:%d", what, file, line);
}

static inline void weft__cm_null(LargestIntegralType p, const char *expr,
                                 const char *file, int line)
{
    if (p != 0)
        weft__assert_fail(file, line, expr, "%p is not NULL at %s:%d",
                          (void *)(uintptr_t)p, file, line);
}

/* assert_int_(not_)equal compare all bits, as cmocka does; the values
 * print as signed, the common case (-1 reads better than 2^64 - 1). */
static inline void weft__cm_int(LargestIntegralType a, LargestIntegralType b,
                                bool want_equal, const char *expr,
                                const char *file, int line)
{
    if ((a == b) != want_equal)
        weft__assert_fail(file, line, expr, "%lld %s %lld at %s:%d",
                          (long long)a, want_equal ? "!=" : "==", (long long)b,
                          file, line);
}

static inline void weft__cm_ptr(LargestIntegralType a, LargestIntegralType b,
                                bool want_equal, const char *expr,
                                const char *file, int line)
{
    if ((a == b) != want_equal)
        weft__assert_fail(
            file, line, expr, "%p %s %p at %s:%d", (void *)(uintptr_t)a,
            want_equal ? "!=" : "==", (void *)(uintptr_t)b, file, line);
}

/* cmocka 1.1.5's float_compare(): equal within epsilon, or within the
 * float's own relative precision. */
static inline bool weft__cm_float_same(float a, float b, float epsilon)
{
    float diff = a - b;
    diff = diff >= 0.f ? diff : -diff;
    if (diff <= epsilon)
        return true;
    float abs_a = a >= 0.f ? a : -a;
    float abs_b = b >= 0.f ? b : -b;
    float largest = abs_b > abs_a ? abs_b : abs_a;
    return !(diff > largest * FLT_EPSILON);
}

static inline void weft__cm_float(float a, float b, float epsilon,
                                  bool want_equal, const char *expr,
                                  const char *file, int line)
{
    if (weft__cm_float_same(a, b, epsilon) != want_equal)
        weft__assert_fail(file, line, expr, "%f %s %f (epsilon %g) at %s:%d",
                          (double)a, want_equal ? "!=" : "==", (double)b,
                          (double)epsilon, file, line);
}

/* A string for a message: quoted and cut at 120 bytes, or NULL. */
static inline const char *weft__cm_quote(const char *s, char *buf, size_t len)
{
    if (s == NULL)
        return "NULL";
    size_t n = strlen(s);
    snprintf(buf, len, "\"%.120s\"%s", s, n > 120 ? "..." : "");
    return buf;
}

static inline void weft__cm_string(const char *a, const char *b,
                                   bool want_equal, const char *expr,
                                   const char *file, int line)
{
    bool equal = a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
    if (equal == want_equal)
        return;
    char qa[128], qb[128];
    weft__assert_fail(
        file, line, expr, "%s %s %s at %s:%d", weft__cm_quote(a, qa, sizeof qa),
        want_equal ? "!=" : "==", weft__cm_quote(b, qb, sizeof qb), file, line);
}

static inline void weft__cm_memory(const void *a, const void *b, size_t size,
                                   bool want_equal, const char *expr,
                                   const char *file, int line)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;
    size_t differ = 0, first = 0;
    for (size_t i = 0; i < size; i++)
        if (pa[i] != pb[i] && differ++ == 0)
            first = i;
    if (want_equal && differ != 0)
        weft__assert_fail(file, line, expr,
                          "%zu of %zu bytes differ, the first at offset %zu: "
                          "0x%02x != 0x%02x at %s:%d",
                          differ, size, first, pa[first], pb[first], file,
                          line);
    if (!want_equal && differ == 0)
        weft__assert_fail(file, line, expr,
                          "all %zu bytes are the same at %s:%d", size, file,
                          line);
}

/* Ranges and sets compare unsigned, as cmocka does, and print so. */
static inline void weft__cm_range(LargestIntegralType v, LargestIntegralType lo,
                                  LargestIntegralType hi, bool want_in,
                                  const char *expr, const char *file, int line)
{
    if ((v >= lo && v <= hi) != want_in)
        weft__assert_fail(
            file, line, expr, "%llu is %swithin the range %llu-%llu at %s:%d",
            (unsigned long long)v, want_in ? "not " : "",
            (unsigned long long)lo, (unsigned long long)hi, file, line);
}

static inline void weft__cm_set(LargestIntegralType v,
                                const LargestIntegralType values[],
                                size_t count, bool want_in, const char *expr,
                                const char *file, int line)
{
    bool in = false;
    for (size_t i = 0; i < count && !in; i++)
        in = values[i] == v;
    if (in == want_in)
        return;
    char set[200];
    size_t n = 0;
    set[0] = '\0';
    for (size_t i = 0; i < count && n < sizeof set - 32; i++) {
        int w = snprintf(set + n, sizeof set - n, "%s%llu", i ? ", " : "",
                         (unsigned long long)values[i]);
        n += w > 0 ? (size_t)w : 0;
        if (i + 1 < count && n >= sizeof set - 32)
            snprintf(set + n, sizeof set - n, ", ...");
    }
    weft__assert_fail(file, line, expr, "%llu is %sin the set {%s} at %s:%d",
                      (unsigned long long)v, want_in ? "not " : "", set, file,
                      line);
}

/* cmocka 1.1.5's _assert_return_code(): negative for the size of rc means
 * "result > valmax - 1", quirks included (one byte: valmax 255). */
static inline void weft__cm_return_code(LargestIntegralType result, size_t rlen,
                                        LargestIntegralType error,
                                        const char *expr, const char *file,
                                        int line)
{
    LargestIntegralType valmax;
    switch (rlen) {
    case 1:
        valmax = 255;
        break;
    case 2:
        valmax = 32767;
        break;
    case 4:
        valmax = 2147483647;
        break;
    default:
        valmax = rlen > sizeof valmax ? 2147483647 : 9223372036854775807UL;
        break;
    }
    if (result <= valmax - 1)
        return;
    if (error > 0)
        weft__assert_fail(file, line, expr,
                          "%lld < 0, errno(%llu): %s at %s:%d",
                          (long long)result, (unsigned long long)error,
                          strerror((int)error), file, line);
    weft__assert_fail(file, line, expr, "%lld < 0 at %s:%d", (long long)result,
                      file, line);
}

WEFT__NORETURN static inline void weft__cm_fail(const char *file, int line)
{
    weft__assert_fail(file, line, NULL, "fail() at %s:%d", file, line);
}

WEFT__NORETURN static inline void weft__cm_fail_msg(const char *file, int line,
                                                    const char *fmt, ...)
    WEFT__PRINTF(3, 4);
WEFT__NORETURN static inline void weft__cm_fail_msg(const char *file, int line,
                                                    const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* fail_msg's format ends with the newline cmocka prints; a weft
     * message is one line. */
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    weft__assert_fail(file, line, NULL, "%s at %s:%d", msg, file, line);
}

WEFT__NORETURN static inline void weft__cm_skip(const char *file, int line)
{
    weft__assert_fail(file, line, NULL,
                      "skip() inside a weft task at %s:%d (a skip decides "
                      "for the whole cmocka test: call skip() before "
                      "exploring)",
                      file, line);
}

WEFT__NORETURN static inline void weft__cm_no_assert(const char *expr,
                                                     const char *file, int line)
{
    weft__assert_fail(file, line, expr, "no assertion failed at %s:%d", file,
                      line);
}

/* ------------------------------------------------ the redefined macros */

/* Each: weft_running() ? weft's check : cmocka 1.1.5's expansion,
 * verbatim. The arguments are evaluated once, in whichever branch runs. */

#undef assert_true
#define assert_true(c)                                                       \
    (weft_running()                                                          \
         ? weft__cm_true(cast_to_largest_integral_type(c),                   \
                         "assert_true(" #c ")", "false", __FILE__, __LINE__) \
         : _assert_true(cast_to_largest_integral_type(c), #c, __FILE__,      \
                        __LINE__))

#undef assert_false
#define assert_false(c)                                                      \
    (weft_running()                                                          \
         ? weft__cm_true(!(cast_to_largest_integral_type(c)),                \
                         "assert_false(" #c ")", "true", __FILE__, __LINE__) \
         : _assert_true(!(cast_to_largest_integral_type(c)), #c, __FILE__,   \
                        __LINE__))

#undef assert_return_code
#define assert_return_code(rc, error)                                          \
    (weft_running()                                                            \
         ? weft__cm_return_code(cast_to_largest_integral_type(rc), sizeof(rc), \
                                cast_to_largest_integral_type(error),          \
                                "assert_return_code(" #rc ", " #error ")",     \
                                __FILE__, __LINE__)                            \
         : _assert_return_code(cast_to_largest_integral_type(rc), sizeof(rc),  \
                               cast_to_largest_integral_type(error), #rc,      \
                               __FILE__, __LINE__))

#undef assert_non_null
#define assert_non_null(c)                                                   \
    (weft_running() ? weft__cm_true(cast_ptr_to_largest_integral_type(c),    \
                                    "assert_non_null(" #c ")", "NULL",       \
                                    __FILE__, __LINE__)                      \
                    : _assert_true(cast_ptr_to_largest_integral_type(c), #c, \
                                   __FILE__, __LINE__))

#undef assert_null
#define assert_null(c)                                                         \
    (weft_running() ? weft__cm_null(cast_ptr_to_largest_integral_type(c),      \
                                    "assert_null(" #c ")", __FILE__, __LINE__) \
                    : _assert_true(!(cast_ptr_to_largest_integral_type(c)),    \
                                   #c, __FILE__, __LINE__))

#undef assert_ptr_equal
#define assert_ptr_equal(a, b)                                                 \
    (weft_running() ? weft__cm_ptr(cast_ptr_to_largest_integral_type(a),       \
                                   cast_ptr_to_largest_integral_type(b), true, \
                                   "assert_ptr_equal(" #a ", " #b ")",         \
                                   __FILE__, __LINE__)                         \
                    : _assert_int_equal(cast_ptr_to_largest_integral_type(a),  \
                                        cast_ptr_to_largest_integral_type(b),  \
                                        __FILE__, __LINE__))

#undef assert_ptr_not_equal
#define assert_ptr_not_equal(a, b)                                        \
    (weft_running()                                                       \
         ? weft__cm_ptr(cast_ptr_to_largest_integral_type(a),             \
                        cast_ptr_to_largest_integral_type(b), false,      \
                        "assert_ptr_not_equal(" #a ", " #b ")", __FILE__, \
                        __LINE__)                                         \
         : _assert_int_not_equal(cast_ptr_to_largest_integral_type(a),    \
                                 cast_ptr_to_largest_integral_type(b),    \
                                 __FILE__, __LINE__))

#undef assert_int_equal
#define assert_int_equal(a, b)                                             \
    (weft_running() ? weft__cm_int(cast_to_largest_integral_type(a),       \
                                   cast_to_largest_integral_type(b), true, \
                                   "assert_int_equal(" #a ", " #b ")",     \
                                   __FILE__, __LINE__)                     \
                    : _assert_int_equal(cast_to_largest_integral_type(a),  \
                                        cast_to_largest_integral_type(b),  \
                                        __FILE__, __LINE__))

#undef assert_int_not_equal
#define assert_int_not_equal(a, b)                                            \
    (weft_running() ? weft__cm_int(cast_to_largest_integral_type(a),          \
                                   cast_to_largest_integral_type(b), false,   \
                                   "assert_int_not_equal(" #a ", " #b ")",    \
                                   __FILE__, __LINE__)                        \
                    : _assert_int_not_equal(cast_to_largest_integral_type(a), \
                                            cast_to_largest_integral_type(b), \
                                            __FILE__, __LINE__))

/* cmocka casts a, b and epsilon without parentheses; so does the weft
 * branch, so that both compare the same values. */
#undef assert_float_equal
#define assert_float_equal(a, b, epsilon)                                     \
    (weft_running()                                                           \
         ? weft__cm_float((float)a, (float)b, (float)epsilon, true,           \
                          "assert_float_equal(" #a ", " #b ", " #epsilon ")", \
                          __FILE__, __LINE__)                                 \
         : _assert_float_equal((float)a, (float)b, (float)epsilon, __FILE__,  \
                               __LINE__))

#undef assert_float_not_equal
#define assert_float_not_equal(a, b, epsilon)                                \
    (weft_running()                                                          \
         ? weft__cm_float((float)a, (float)b, (float)epsilon, false,         \
                          "assert_float_not_equal(" #a ", " #b ", " #epsilon \
                          ")",                                               \
                          __FILE__, __LINE__)                                \
         : _assert_float_not_equal((float)a, (float)b, (float)epsilon,       \
                                   __FILE__, __LINE__))

#undef assert_string_equal
#define assert_string_equal(a, b)                                           \
    (weft_running()                                                         \
         ? weft__cm_string((const char *)(a), (const char *)(b), true,      \
                           "assert_string_equal(" #a ", " #b ")", __FILE__, \
                           __LINE__)                                        \
         : _assert_string_equal((const char *)(a), (const char *)(b),       \
                                __FILE__, __LINE__))

#undef assert_string_not_equal
#define assert_string_not_equal(a, b)                                     \
    (weft_running()                                                       \
         ? weft__cm_string((const char *)(a), (const char *)(b), false,   \
                           "assert_string_not_equal(" #a ", " #b ")",     \
                           __FILE__, __LINE__)                            \
         : _assert_string_not_equal((const char *)(a), (const char *)(b), \
                                    __FILE__, __LINE__))

#undef assert_memory_equal
#define assert_memory_equal(a, b, size)                                      \
    (weft_running()                                                          \
         ? weft__cm_memory((const void *)(a), (const void *)(b), size, true, \
                           "assert_memory_equal(" #a ", " #b ", " #size ")", \
                           __FILE__, __LINE__)                               \
         : _assert_memory_equal((const void *)(a), (const void *)(b), size,  \
                                __FILE__, __LINE__))

#undef assert_memory_not_equal
#define assert_memory_not_equal(a, b, size)                                   \
    (weft_running()                                                           \
         ? weft__cm_memory((const void *)(a), (const void *)(b), size, false, \
                           "assert_memory_not_equal(" #a ", " #b ", " #size   \
                           ")",                                               \
                           __FILE__, __LINE__)                                \
         : _assert_memory_not_equal((const void *)(a), (const void *)(b),     \
                                    size, __FILE__, __LINE__))

#undef assert_in_range
#define assert_in_range(value, minimum, maximum)                              \
    (weft_running()                                                           \
         ? weft__cm_range(cast_to_largest_integral_type(value),               \
                          cast_to_largest_integral_type(minimum),             \
                          cast_to_largest_integral_type(maximum), true,       \
                          "assert_in_range(" #value ", " #minimum             \
                          ", " #maximum ")",                                  \
                          __FILE__, __LINE__)                                 \
         : _assert_in_range(cast_to_largest_integral_type(value),             \
                            cast_to_largest_integral_type(minimum),           \
                            cast_to_largest_integral_type(maximum), __FILE__, \
                            __LINE__))

#undef assert_not_in_range
#define assert_not_in_range(value, minimum, maximum)                     \
    (weft_running()                                                      \
         ? weft__cm_range(cast_to_largest_integral_type(value),          \
                          cast_to_largest_integral_type(minimum),        \
                          cast_to_largest_integral_type(maximum), false, \
                          "assert_not_in_range(" #value ", " #minimum    \
                          ", " #maximum ")",                             \
                          __FILE__, __LINE__)                            \
         : _assert_not_in_range(cast_to_largest_integral_type(value),    \
                                cast_to_largest_integral_type(minimum),  \
                                cast_to_largest_integral_type(maximum),  \
                                __FILE__, __LINE__))

#undef assert_in_set
#define assert_in_set(value, values, number_of_values)                    \
    (weft_running() ? weft__cm_set(value, values, number_of_values, true, \
                                   "assert_in_set(" #value ", " #values   \
                                   ", " #number_of_values ")",            \
                                   __FILE__, __LINE__)                    \
                    : _assert_in_set(value, values, number_of_values,     \
                                     __FILE__, __LINE__))

#undef assert_not_in_set
#define assert_not_in_set(value, values, number_of_values)                  \
    (weft_running() ? weft__cm_set(value, values, number_of_values, false,  \
                                   "assert_not_in_set(" #value ", " #values \
                                   ", " #number_of_values ")",              \
                                   __FILE__, __LINE__)                      \
                    : _assert_not_in_set(value, values, number_of_values,   \
                                         __FILE__, __LINE__))

#undef fail
#define fail()                                          \
    (weft_running() ? weft__cm_fail(__FILE__, __LINE__) \
                    : _fail(__FILE__, __LINE__))

#undef skip
#define skip()                                          \
    (weft_running() ? weft__cm_skip(__FILE__, __LINE__) \
                    : _skip(__FILE__, __LINE__))

/* cmocka's is do { print_error("ERROR: " msg "\n", ...); fail(); }: msg
 * is a string literal, as there. */
#undef fail_msg
#define fail_msg(msg, ...)                                                  \
    do {                                                                    \
        if (weft_running())                                                 \
            weft__cm_fail_msg(__FILE__, __LINE__, msg "\n", ##__VA_ARGS__); \
        print_error("ERROR: " msg "\n", ##__VA_ARGS__);                     \
        _fail(__FILE__, __LINE__);                                          \
    } while (0)

/* cmocka's, but for the failure when no assertion came (which calls
 * _fail). mock_assert()'s longjmp back to the setjmp here stays on the
 * task's stack, so the rest is safe in a task (see LIMITS). */
#undef expect_assert_failure
#define expect_assert_failure(function_call)                               \
    {                                                                      \
        const int result = setjmp(global_expect_assert_env);               \
        global_expecting_assert = 1;                                       \
        if (result) {                                                      \
            print_message("Expected assertion %s occurred\n",              \
                          global_last_failed_assert);                      \
            global_expecting_assert = 0;                                   \
        } else {                                                           \
            function_call;                                                 \
            global_expecting_assert = 0;                                   \
            if (weft_running())                                            \
                weft__cm_no_assert("expect_assert_failure(" #function_call \
                                   ")",                                    \
                                   __FILE__, __LINE__);                    \
            print_error("Expected assert in %s\n", #function_call);        \
            _fail(__FILE__, __LINE__);                                     \
        }                                                                  \
    }

/* --------------------------------------------- explorations as tests */

/*
 * Hand text to cmocka's error channel: in pieces under cmocka 1.1.5's
 * 1024-byte formatting buffer (longer ones lose a byte), with "]]>" broken
 * up and control characters replaced, since JUnit XML puts it in a CDATA
 * section.
 */
static inline void weft__cm_emit(const char *text)
{
    char chunk[512];
    size_t n = 0;
    char last = 0, before = 0; /* the two characters emitted last */
    for (const char *p = text; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        char out = (ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f
                       ? '?'
                       : (char)ch;
        if (out == '>' && last == ']' && before == ']')
            chunk[n++] = ' ';
        chunk[n++] = out;
        before = last;
        last = out;
        if (n >= sizeof chunk - 2 || out == '\n') {
            chunk[n] = '\0';
            WEFT_CMOCKA_PRINT_ERROR("%s", chunk);
            n = 0;
        }
    }
    if (n > 0) {
        chunk[n] = '\0';
        WEFT_CMOCKA_PRINT_ERROR("%s", chunk);
    }
}

/*
 * Whether cmocka shows a failure's text whole. cmocka 1.1.5 prints it
 * through a 1024-byte buffer in the stdout and subunit formats (a longer
 * text is cut, and subunit's closing bracket with it); TAP prints it line
 * by line and XML with fprintf, whole. CMOCKA_MESSAGE_OUTPUT overrides
 * cmocka_set_message_output() there, so it tells the format; without it
 * the format may be any, and the text is kept short.
 */
static inline bool weft__cm_whole_text(void)
{
    const char *o = getenv("CMOCKA_MESSAGE_OUTPUT");
    if (o == NULL)
        return false;
    char lower[8];
    size_t n = 0;
    for (; o[n] != '\0' && n < sizeof lower - 1; n++)
        lower[n] = (char)(o[n] >= 'A' && o[n] <= 'Z' ? o[n] + 32 : o[n]);
    lower[n] = '\0';
    return o[n] == '\0' &&
           (strcmp(lower, "tap") == 0 || strcmp(lower, "xml") == 0);
}

/* The report's line that starts with "  replay:", newline included, into
 * buf; a note if there is none. */
static inline const char *weft__cm_replay_line(const char *report, char *buf,
                                               size_t len)
{
    const char *p = report;
    while (p != NULL && *p != '\0' && strncmp(p, "  replay:", 9) != 0) {
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    if (p == NULL || *p == '\0') {
        snprintf(buf, len,
                 "  replay:    (none: no seed or schedule file "
                 "replays it)\n");
        return buf;
    }
    size_t n = strcspn(p, "\n");
    snprintf(buf, len, "%.*s\n", (int)n, p);
    return buf;
}

static inline void weft__cm_explore(const weft_config_t *cfg,
                                    weft_body_fn *body, void *arg,
                                    const char *test, const char *file,
                                    int line)
{
    weft_config_t c;
    weft_result_t res;
    char text[2048];

    if (cfg != NULL)
        c = *cfg;
    else
        weft_config_init(&c);
    if (c.name == NULL)
        c.name = test;
    /* Apply the environment here, as weft_explore would, to learn whether
     * a report is wanted (WEFT_QUIET); then weft runs quiet and the report
     * goes through cmocka, so that it is shown once and lands in every
     * output format. */
    if (c.use_env) {
        if (weft_config_from_env(&c, text, sizeof text) != 0) {
            fprintf(stderr, "weft: %s\n", text);
            exit(2);
        }
        c.use_env = false;
    }
    bool report = !c.quiet;
    c.quiet = true;

    int rc = weft_explore(&c, body, arg, &res);
    if (rc == 0) {
        if (report)
            fprintf(stderr,
                    "weft: %s: %llu execution%s, no failure (%llu distinct, "
                    "%llu steps%s)\n",
                    c.name, (unsigned long long)res.executions,
                    res.executions == 1 ? "" : "s",
                    (unsigned long long)res.distinct,
                    (unsigned long long)res.total_steps,
                    res.exhausted ? "; the search is exhausted" : "");
        weft_result_destroy(&res);
        return;
    }
    if (rc < 0) {
        snprintf(text, sizeof text,
                 "weft: %s: weft_explore could not run: %s (%d)\n", c.name,
                 weft_strerror(rc), rc);
        weft__cm_emit(text);
        _fail(file, line);
        return;
    }
    /* The summary: cmocka's prefixes and failure line must fit beside it
     * in 1024 bytes (see weft__cm_whole_text). */
    size_t flen = strlen(file);
    size_t budget = flen < 1024 - 100 - 256 ? 1024 - 100 - flen : 256;
    char replay[320];
    int n = snprintf(text, budget, "weft: %.300s\n  seed:      %llu\n%s",
                     res.message, (unsigned long long)res.seed,
                     weft__cm_replay_line(res.report, replay, sizeof replay));
    if (n > 0 && (size_t)n >= budget)
        text[budget - 2] = '\n';
    if (res.failures > 1 && strlen(text) + 64 < budget)
        snprintf(text + strlen(text), budget - strlen(text),
                 "  note:      %u distinct failures; the first is shown\n",
                 res.failures);
    weft__cm_emit(text);
    if (report && res.report != NULL) {
        if (weft__cm_whole_text())
            weft__cm_emit(res.report);
        else
            fputs(res.report, stderr);
    }
    weft_result_destroy(&res);
    _fail(file, line);
}

#define weft_cmocka_explore(cfg, body, arg) \
    weft__cm_explore((cfg), (body), (arg), __func__, __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CMOCKA_H */
