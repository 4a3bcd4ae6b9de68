/*
 * test_cclimits.c: weft-cc's runtime at the edges of its input: clocks
 * read after sleeping past the end of virtual time, and weft-cc's own
 * settings given empty or malformed values. Each case builds a small
 * program with scripts/weft-cc in a scratch directory and runs it as a
 * user would (see weftcc.h). Missing build tools are a failure, never a
 * skip.
 */
#include "weftcc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Write src into <tmp>/<name>.c and build <tmp>/<name> with weft-cc. */
static void build_prog(const char *name, const char *src, char *path,
                       size_t len)
{
    char c[PATH_MAX + 64];
    snprintf(c, sizeof c, "%s/%s.c", tmp, name);
    FILE *f = fopen(c, "w");
    assert_non_null(f);
    fputs(src, f);
    fclose(f);
    snprintf(path, len, "%s/%s", tmp, name);
    sh("weft-cc", "sh '%s/scripts/weft-cc' -O1 -o '%s' '%s'", root, path, c);
}

/* Run path with env; its exit status (or 128 + signal), stderr in *out. */
static int run_prog(const char path[PATH_MAX + 64], const char *env[],
                    char **out)
{
    char err[PATH_MAX + 128];
    snprintf(err, sizeof err, "%s.err", path);
    int st;
    waitpid(start(path, err, env), &st, 0);
    *out = slurp(err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------- clocks */

/* Three sleeps of UINT_MAX seconds pass the end of virtual time (INT64_MAX
 * ns): every clock then reads a valid time at the end, never a negative
 * one or a tv_nsec out of range (the clocks' bases were added to
 * weft_now() without saturation). */
static const char clocks_src[] =
    "#include <limits.h>\n"
    "#include <sys/time.h>\n"
    "#include <time.h>\n"
    "#include <unistd.h>\n"
    "static int bad(const struct timespec *ts) {\n"
    "    return ts->tv_sec < 0 || ts->tv_nsec < 0 ||\n"
    "           ts->tv_nsec >= 1000000000;\n"
    "}\n"
    "int main(void) {\n"
    "    static const clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC,\n"
    "                                     CLOCK_BOOTTIME, CLOCK_TAI };\n"
    "    struct timespec before[4], ts;\n"
    "    for (int i = 0; i < 4; i++)\n"
    "        clock_gettime(ids[i], &before[i]);\n"
    "    for (int i = 0; i < 3; i++)\n"
    "        sleep(UINT_MAX);\n"
    "    for (int i = 0; i < 4; i++) {\n"
    "        if (clock_gettime(ids[i], &ts) != 0 || bad(&ts))\n"
    "            return 10 + i;\n"
    "        if (ts.tv_sec < before[i].tv_sec)\n"
    "            return 20 + i; /* a clock went backwards */\n"
    "    }\n"
    "    struct timeval tv;\n"
    "    gettimeofday(&tv, NULL);\n"
    "    if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)\n"
    "        return 30;\n"
    "    if (time(NULL) < 0)\n"
    "        return 31;\n"
    "    if (timespec_get(&ts, TIME_UTC) != TIME_UTC || bad(&ts))\n"
    "        return 32;\n"
    "    usleep(1000);\n"
    "    struct timespec d = { 5, 0 };\n"
    "    nanosleep(&d, NULL);\n"
    "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
    "    return bad(&ts) ? 33 : 0;\n"
    "}\n";

static void clocks_saturate_at_the_end_of_virtual_time(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    build_prog("clocks", clocks_src, path, sizeof path);
    const char *env[] = { "WEFT_ITERATIONS=3", NULL };
    char *out;
    int rc = run_prog(path, env, &out);
    if (rc != 0)
        print_error("%s\n", out);
    free(out);
    assert_int_equal(rc, 0);
}

/* ----------------------------------------------------------- settings */

static const char plain_src[] =
    "#include <pthread.h>\n"
    "static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;\n"
    "static int n;\n"
    "static void *work(void *a) {\n"
    "    pthread_mutex_lock(&m); n++; pthread_mutex_unlock(&m);\n"
    "    return a;\n"
    "}\n"
    "int main(void) {\n"
    "    pthread_t t;\n"
    "    pthread_create(&t, NULL, work, NULL);\n"
    "    work(NULL);\n"
    "    pthread_join(t, NULL);\n"
    "    return n == 2 ? 0 : 1;\n"
    "}\n";

/* One rule for every WEFT_* variable, the library's and weft-cc's own: an
 * empty value is the same as an unset one; anything else must parse
 * strictly, or the program stops with a message naming the variable and
 * status 2. weft-cc refused empty values of its own variables and took
 * " 5" and "+5" as a hang timeout. */
static void empty_settings_are_unset_and_malformed_ones_exit_2(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    build_prog("plain", plain_src, path, sizeof path);
    char *out;
    const char *empty[] = { "WEFT_ITERATIONS=20",
                            "WEFT_ISOLATE=",
                            "WEFT_HANG_TIMEOUT=",
                            "WEFT_GRANULARITY=",
                            "WEFT_RACE=",
                            "WEFT_SEED=",
                            NULL };
    int rc = run_prog(path, empty, &out);
    if (rc != 0 || strstr(out, "OK: 20 executions") == NULL)
        print_error("empty settings: status %d\n%s\n", rc, out);
    assert_int_equal(rc, 0);
    free(out);

    static const struct {
        const char *setting, *name;
    } bad[] = {
        { "WEFT_HANG_TIMEOUT= 5", "WEFT_HANG_TIMEOUT" },
        { "WEFT_HANG_TIMEOUT=+5", "WEFT_HANG_TIMEOUT" },
        { "WEFT_HANG_TIMEOUT=5s", "WEFT_HANG_TIMEOUT" },
        { "WEFT_HANG_TIMEOUT=4294967306", "WEFT_HANG_TIMEOUT" },
        { "WEFT_HANG_TIMEOUT=-1", "WEFT_HANG_TIMEOUT" },
        { "WEFT_ISOLATE= 1", "WEFT_ISOLATE" },
        { "WEFT_RACE=fail ", "WEFT_RACE" },
        { "WEFT_SHARD=4294967297/4294967298", "WEFT_SHARD" },
        { "WEFT_TIME_BUDGET=1e9h", "WEFT_TIME_BUDGET" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *env[] = { "WEFT_ITERATIONS=5", bad[i].setting, NULL };
        rc = run_prog(path, env, &out);
        if (rc != 2 || strstr(out, bad[i].name) == NULL)
            print_error("%s: status %d\n%s\n", bad[i].setting, rc, out);
        free(out);
        assert_int_equal(rc, 2);
    }
}

/* The build-time setting follows the same rule: WEFT_CC_INSTRUMENT empty
 * is the default, anything but 0 or 1 is refused. */
static void weft_cc_refuses_a_malformed_instrument_setting(void **state)
{
    (void)state;
    char c[PATH_MAX + 64], path[PATH_MAX + 64];
    build_prog("plain", plain_src, path, sizeof path);
    snprintf(c, sizeof c, "%s/plain.c", tmp);
    sh("weft-cc with WEFT_CC_INSTRUMENT=",
       "WEFT_CC_INSTRUMENT= sh '%s/scripts/weft-cc' -o '%s' '%s'", root, path,
       c);
    char cmd[5 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "WEFT_CC_INSTRUMENT=maybe sh '%s/scripts/weft-cc' -o '%s.x' "
             "'%s' 2>'%s/instr.err'",
             root, path, c, tmp);
    int st = system(cmd);
    char err[PATH_MAX + 64];
    snprintf(err, sizeof err, "%s/instr.err", tmp);
    char *out = slurp(err);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 2 ||
        strstr(out, "WEFT_CC_INSTRUMENT") == NULL)
        print_error("status %d\n%s\n", st, out);
    free(out);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

/* -------------------------------------------------------- replay lines */

static const char racy_src[] = "#include <pthread.h>\n"
                               "static int n;\n"
                               "static void *work(void *a) { n++; return a; }\n"
                               "int main(void) {\n"
                               "    pthread_t t;\n"
                               "    pthread_create(&t, NULL, work, NULL);\n"
                               "    work(NULL);\n"
                               "    pthread_join(t, NULL);\n"
                               "    return 0;\n"
                               "}\n";

/* weft-cc's replay line repeats the WEFT_* settings in force: a variable
 * whose name holds shell syntax (env 'WEFT_$(cmd)=1' is legal) was
 * pasted as it was and ran the command. The line, run by sh, must
 * reproduce the failure and run nothing else. */
static void replay_line_runs_nothing_but_the_replay(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    build_prog("racy", racy_src, path, sizeof path);
    char name[PATH_MAX + 160], pwned[PATH_MAX + 16], arg[PATH_MAX + 160];
    snprintf(pwned, sizeof pwned, "%s/pwned", tmp);
    snprintf(name, sizeof name, "WEFT_X$(touch %s)=1", pwned);
    snprintf(arg, sizeof arg, "x'; touch %s; echo '", pwned);
    const char *env[] = { name, "WEFT_STRATEGY=pct", NULL };
    char err[PATH_MAX + 64];
    snprintf(err, sizeof err, "%s/racy.err", tmp);
    int st;
    waitpid(start_arg(path, arg, err, env), &st, 0);
    char *out = slurp(err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    /* every replay line (a forked child's report and its parent's verdict
     * make two) */
    int lines = 0;
    for (const char *r = out; (r = strstr(r, "  replay:    ")) != NULL;) {
        r += strlen("  replay:    ");
        char line[8192];
        size_t n = strcspn(r, "\n");
        assert_true(n < sizeof line);
        memcpy(line, r, n);
        line[n] = '\0';
        lines++;
        char cmd[sizeof line + PATH_MAX + 64];
        snprintf(cmd, sizeof cmd, "( %s ) > /dev/null 2> '%s/pasted.err'", line,
                 tmp);
        st = system(cmd);
        if (access(pwned, F_OK) == 0)
            fail_msg("pasting the replay line ran a command: %s", line);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
            fail_msg("the pasted line exited %d: %s", st, line);
    }
    free(out);
    assert_true(lines >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clocks_saturate_at_the_end_of_virtual_time),
        cmocka_unit_test(empty_settings_are_unset_and_malformed_ones_exit_2),
        cmocka_unit_test(weft_cc_refuses_a_malformed_instrument_setting),
        cmocka_unit_test(replay_line_runs_nothing_but_the_replay),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
