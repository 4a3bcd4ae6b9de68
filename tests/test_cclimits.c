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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clocks_saturate_at_the_end_of_virtual_time),
    };
    return cmocka_run_group_tests(tests, locate, cleanup);
}
