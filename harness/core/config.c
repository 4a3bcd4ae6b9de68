/*
 * config.c: the configuration struct and its WEFT_* environment variables.
 *
 * Every knob has one row in `vars` below: its variable, the accepted form
 * and its parser; the table is also what a bad value's message quotes.
 * Parsing is strict (no trailing junk, no silent wrap-around), because a
 * CI job that mistypes a seed must fail loudly, not test something else.
 */
#include "core/core.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const weft__cov_names[WEFT__COV__COUNT] = {
    "reached", "contended", "blocked", "preempted", "woke",
};

int weft__cov_measure(const char *name)
{
    for (int i = 0; i < WEFT__COV__COUNT; i++)
        if (strcmp(name, weft__cov_names[i]) == 0)
            return i;
    return -1;
}

extern char **environ;

/* argv as weft_args left it: the replay line repeats these arguments,
 * without the --weft-* options (they would override its variables). */
char **weft__args_argv;
int weft__args_argc;

void weft_config_init(weft_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->iterations = 1000;
    cfg->max_steps = 100000;
    cfg->stack_size = 256 * 1024;
    cfg->trace_tail = 24;
    cfg->spurious = 0;
    cfg->strategy = "random";
    cfg->pct_depth = 3;
    cfg->pct_steps = 0;
    cfg->preemption_bound = WEFT_PREEMPTIONS_ITERATE;
    cfg->jobs = 1;
    cfg->shard_index = 1;
    cfg->shard_count = 1;
    cfg->shrink = true;
    cfg->progress = -1;
    cfg->blocking = WEFT_BLOCKING_ERROR;
    cfg->loop_workers = 4;
    cfg->loop_debug = 0;
    cfg->lock_order = 1;
    cfg->hang_timeout = 10;
    cfg->use_env = true;
}

static bool parse_uint(const char *s, uint64_t *out)
{
    char *end;
    if (*s == '\0' || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    /* decimal, or hex with 0x: a leading zero is not octal */
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool parse_size(const char *s, uint64_t *out)
{
    char buf[32];
    size_t n = strlen(s);
    uint64_t mul = 1;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n + 1);
    switch (buf[n - 1]) {
    case 'k':
    case 'K':
        mul = 1024;
        break;
    case 'm':
    case 'M':
        mul = 1024 * 1024;
        break;
    case 'g':
    case 'G':
        mul = 1024 * 1024 * 1024;
        break;
    }
    if (mul != 1)
        buf[n - 1] = '\0';
    uint64_t v;
    if (!parse_uint(buf, &v) || v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

/* A duration: digits with an optional fraction, then an optional unit
 * (s, ms, m, h); at most 1e9 seconds once the unit is applied. No sign,
 * blank, exponent, hex, inf or nan (strtod takes all of those). */
static bool parse_seconds(const char *s, double *out)
{
    size_t digits = strspn(s, "0123456789"), n = digits;
    if (s[n] == '.') {
        size_t frac = strspn(s + n + 1, "0123456789");
        digits += frac;
        n += 1 + frac;
    }
    if (digits == 0 || digits > 30)
        return false;
    const char *unit = s + n;
    double mul = !strcmp(unit, "") || !strcmp(unit, "s") ? 1
                 : !strcmp(unit, "ms")                   ? 1e-3
                 : !strcmp(unit, "m")                    ? 60
                 : !strcmp(unit, "h")                    ? 3600
                                                         : -1;
    if (mul < 0)
        return false;
    /* by hand: strtod would read "1.5" as 1 in a locale with a comma */
    double d = 0, scale = 1;
    bool frac = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            frac = true;
            continue;
        }
        d = d * 10 + (s[i] - '0');
        if (frac)
            scale *= 10;
    }
    d = d / scale * mul;
    if (!(d >= 0) || d > 1e9)
        return false;
    *out = d;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no")) {
        *out = false;
        return true;
    }
    return false;
}

enum kind {
    U64,
    COUNT,
    SIZE,
    BOOL,
    STRATEGY,
    PATH,
    BOUND,
    SECONDS,
    SHARD,
    TRISTATE,
    POLICY,
    MEASURE
};

static const struct var {
    const char *name;
    enum kind kind;
    size_t offset;
    uint64_t min, max;
    const char *form;
} vars[] = {
    { "WEFT_SEED", U64, offsetof(weft_config_t, seed), 0, UINT64_MAX,
      "an unsigned 64-bit integer, decimal or 0x-hex" },
    { "WEFT_ITERATIONS", U64, offsetof(weft_config_t, iterations), 1,
      UINT64_MAX, "a positive integer (executions to run)" },
    { "WEFT_MAX_STEPS", U64, offsetof(weft_config_t, max_steps), 1, UINT64_MAX,
      "a positive integer (visible operations per execution)" },
    { "WEFT_STACK_SIZE", SIZE, offsetof(weft_config_t, stack_size), 16384,
      1ULL << 30, "a size from 16k to 1G, with an optional k, M or G suffix" },
    { "WEFT_TRACE", COUNT, offsetof(weft_config_t, trace_tail), 0, 65536,
      "an integer from 0 to 65536 (events shown in a report)" },
    { "WEFT_SPURIOUS", COUNT, offsetof(weft_config_t, spurious), 0, 1000000,
      "an integer from 0 to 1000000 (spurious wake-ups per execution)" },
    { "WEFT_STRATEGY", STRATEGY, offsetof(weft_config_t, strategy), 0, 0,
      "one of: random, pct, dfs, dpor, pos, replay" },
    { "WEFT_PCT_DEPTH", COUNT, offsetof(weft_config_t, pct_depth), 1, 64,
      "an integer from 1 to 64 (the bug depth pct aims at)" },
    { "WEFT_PCT_STEPS", U64, offsetof(weft_config_t, pct_steps), 0, UINT64_MAX,
      "an integer, 0 to learn it (steps pct spreads its change "
      "points over)" },
    { "WEFT_PREEMPTIONS", BOUND, offsetof(weft_config_t, preemption_bound), 0,
      1000000,
      "iterate (the default), none or -1 (unbounded), or an integer "
      "from 0 to 1000000" },
    { "WEFT_REPLAY", PATH, offsetof(weft_config_t, replay_file), 0, 0,
      "the path of a schedule file" },
    { "WEFT_SCHEDULE_OUT", PATH, offsetof(weft_config_t, schedule_out), 0, 0,
      "a path where a failing schedule is written" },
    { "WEFT_QUIET", BOOL, offsetof(weft_config_t, quiet), 0, 0,
      "1, 0, true, false, yes or no" },
    { "WEFT_TIME_BUDGET", SECONDS, offsetof(weft_config_t, time_budget), 0, 0,
      "a duration: seconds (30, 1.5) or with a unit (500ms, 2m, 1h)" },
    { "WEFT_HANG_TIMEOUT", COUNT, offsetof(weft_config_t, hang_timeout), 0,
      86400,
      "whole seconds from 0 (no watchdog) to 86400 (a step making no "
      "progress that long is a hang)" },
    { "WEFT_KEEP_GOING", BOOL, offsetof(weft_config_t, keep_going), 0, 0,
      "1, 0, true, false, yes or no" },
    { "WEFT_JOBS", COUNT, offsetof(weft_config_t, jobs), 1, 256,
      "an integer from 1 to 256 (worker processes)" },
    { "WEFT_SHARD", SHARD, offsetof(weft_config_t, shard_index), 0, 0,
      "k/n with 1 <= k <= n (this machine's share of the executions)" },
    { "WEFT_SHRINK", BOOL, offsetof(weft_config_t, shrink), 0, 0,
      "1, 0, true, false, yes or no" },
    { "WEFT_FAILURE_DIR", PATH, offsetof(weft_config_t, failure_dir), 0, 0,
      "a directory for persisted failing schedules" },
    { "WEFT_JSON", PATH, offsetof(weft_config_t, json_out), 0, 0,
      "a path for the JSON result" },
    { "WEFT_PERFETTO", PATH, offsetof(weft_config_t, trace_out), 0, 0,
      "a path for the Chrome/Perfetto trace of a failure" },
    { "WEFT_BLOCKING", POLICY, offsetof(weft_config_t, blocking), 0, 0,
      "error, warn or allow (a blocking call made from a coroutine)" },
    { "WEFT_LOOP_WORKERS", COUNT, offsetof(weft_config_t, loop_workers), 1,
      1024, "an integer from 1 to 1024 (to_thread workers per loop)" },
    { "WEFT_LOOP_DEBUG", COUNT, offsetof(weft_config_t, loop_debug), 0,
      1000000000,
      "an integer from 0 (off) to 1000000000 (visible operations a "
      "coroutine or callback may run without awaiting)" },
    { "WEFT_LOCK_ORDER", COUNT, offsetof(weft_config_t, lock_order), 0, 1,
      "0 (off) or 1 (a lock-order cycle is a finding)" },
    { "WEFT_SYNC_COVERAGE", PATH, offsetof(weft_config_t, sync_coverage), 0, 0,
      "a path for the synchronization coverage lcov tracefile" },
    { "WEFT_SYNC_MEASURE", MEASURE, offsetof(weft_config_t, sync_measure), 0, 0,
      "reached, contended, blocked, preempted or woke" },
    { "WEFT_PROGRESS", TRISTATE, offsetof(weft_config_t, progress), 0, 0,
      "0, 1 or auto (a bar on a terminal)" },
};

/* Variables other parts of weft (and its build) read; not config knobs. */
/* Read by others: the benchmarks, and weft-cc's programs (harness/cc). */
static const char *const other_vars[] = {
    "WEFT_BENCH_DIR", "WEFT_ISOLATE",     "WEFT_GRANULARITY",   "WEFT_RACE",
    "WEFT_CC",        "WEFT_CC_LIBDIR",   "WEFT_CC_INSTRUMENT", "WEFT_TLS",
    "WEFT__SKIP",     "WEFT_RACE_POINTS", "WEFT_LEAN",
};

static int set(weft_config_t *cfg, const struct var *v, const char *s,
               char *err, size_t len)
{
    char *field = (char *)cfg + v->offset;
    uint64_t x;
    switch (v->kind) {
    case U64:
    case COUNT:
    case SIZE:
        if (!(v->kind == SIZE ? parse_size(s, &x) : parse_uint(s, &x)) ||
            x < v->min || x > v->max)
            goto bad;
        if (v->kind == U64)
            *(uint64_t *)(void *)field = x;
        else if (v->kind == COUNT)
            *(unsigned *)(void *)field = (unsigned)x;
        else
            *(size_t *)(void *)field = (size_t)x;
        return 0;
    case BOOL:
        if (!parse_bool(s, (bool *)(void *)field))
            goto bad;
        return 0;
    case BOUND:
        if (strcmp(s, "iterate") == 0) {
            *(int *)(void *)field = WEFT_PREEMPTIONS_ITERATE;
            return 0;
        }
        if (strcmp(s, "-1") == 0 || strcmp(s, "none") == 0) {
            *(int *)(void *)field = -1;
            return 0;
        }
        if (!parse_uint(s, &x) || x > v->max)
            goto bad;
        *(int *)(void *)field = (int)x;
        return 0;
    case SECONDS: {
        double d;
        if (!parse_seconds(s, &d))
            goto bad;
        *(double *)(void *)field = d;
        return 0;
    }
    case SHARD: {
        /* k and n parsed apart, each strictly (sscanf's %u wraps
         * 4294967297 to 1 and skips blanks) */
        const char *slash = strchr(s, '/');
        char k_text[32];
        uint64_t k, n;
        if (slash == NULL || (size_t)(slash - s) >= sizeof k_text)
            goto bad;
        memcpy(k_text, s, (size_t)(slash - s));
        k_text[slash - s] = '\0';
        if (!parse_uint(k_text, &k) || !parse_uint(slash + 1, &n) || k < 1 ||
            k > n || n > 1000000)
            goto bad;
        cfg->shard_index = (unsigned)k;
        cfg->shard_count = (unsigned)n;
        return 0;
    }
    case MEASURE:
        if (weft__cov_measure(s) < 0)
            goto bad;
        *(const char **)(void *)field = s;
        return 0;
    case POLICY:
        if (!strcmp(s, "error"))
            *(int *)(void *)field = WEFT_BLOCKING_ERROR;
        else if (!strcmp(s, "warn"))
            *(int *)(void *)field = WEFT_BLOCKING_WARN;
        else if (!strcmp(s, "allow"))
            *(int *)(void *)field = WEFT_BLOCKING_ALLOW;
        else
            goto bad;
        return 0;
    case TRISTATE: {
        bool b;
        if (!strcmp(s, "auto"))
            *(int *)(void *)field = -1;
        else if (parse_bool(s, &b))
            *(int *)(void *)field = b;
        else
            goto bad;
        return 0;
    }
    case STRATEGY:
        if (strcmp(s, "random") != 0 && strcmp(s, "replay") != 0 &&
            strcmp(s, "pct") != 0 && strcmp(s, "dfs") != 0 &&
            strcmp(s, "dpor") != 0 && strcmp(s, "pos") != 0)
            goto bad;
        *(const char **)(void *)field = s;
        return 0;
    case PATH:
        *(const char **)(void *)field = s;
        return 0;
    }
bad:
    snprintf(err, len, "%s='%s' is not valid: expected %s", v->name, s,
             v->form);
    return -EINVAL;
}

int weft_config_from_env(weft_config_t *cfg, char *err, size_t err_len)
{
    char dummy[1];
    if (err == NULL || err_len == 0) {
        err = dummy;
        err_len = sizeof dummy;
    }
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *s = getenv(vars[i].name);
        if (s == NULL || *s == '\0')
            continue;
        int rc = set(cfg, &vars[i], s, err, err_len);
        if (rc != 0)
            return rc;
    }
    /* A misspelt variable silently changes nothing: say so, once. */
    static WEFT__TLS bool warned;
    for (char **e = environ; e && *e && !warned; e++) {
        if (strncmp(*e, "WEFT_", 5) != 0)
            continue;
        size_t n = strcspn(*e, "=");
        bool known = false;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0] && !known; i++)
            known =
                strlen(vars[i].name) == n && strncmp(vars[i].name, *e, n) == 0;
        for (size_t i = 0; i < sizeof other_vars / sizeof *other_vars; i++)
            known = known || (strlen(other_vars[i]) == n &&
                              strncmp(other_vars[i], *e, n) == 0);
        if (!known) {
            fprintf(stderr, "weft: warning: unknown variable %.*s ignored\n",
                    (int)n, *e);
            warned = true;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ command line */

static const struct var *find_option(const char *name, size_t n, char *env,
                                     size_t len)
{
    if (n + 6 > len)
        return NULL;
    memcpy(env, "WEFT_", 5);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        env[5 + i] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? c - 32 : c;
    }
    env[5 + n] = '\0';
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strcmp(vars[i].name, env) == 0)
            return &vars[i];
    return NULL;
}

static void option_help(void)
{
    printf("weft options (each also an environment variable):\n");
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        char opt[40];
        size_t k = 0;
        for (const char *p = vars[i].name + 5; *p && k + 1 < sizeof opt; p++)
            opt[k++] = *p == '_' ? '-' : (char)(*p | 0x20);
        opt[k] = '\0';
        printf("  --weft-%-14s %-18s %s\n", opt, vars[i].name, vars[i].form);
    }
}

void weft_args(int *argc, char **argv)
{
    if (argc == NULL || argv == NULL || *argc < 1)
        return;
    int out = 1;
    int i;
    for (i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (strncmp(a, "--weft-", 7) != 0) {
            argv[out++] = argv[i];
            continue;
        }
        const char *name = a + 7, *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        if (n == 4 && strncmp(name, "help", 4) == 0) {
            option_help();
            exit(0);
        }
        char env[64], err[300];
        const struct var *v = find_option(name, n, env, sizeof env);
        if (v == NULL) {
            fprintf(stderr,
                    "weft: unknown option --weft-%.*s (try --weft-help)\n",
                    (int)n, name);
            exit(2);
        }
        const char *val = eq ? eq + 1 : NULL;
        if (val == NULL && v->kind == BOOL)
            val = "1";
        if (val == NULL && i + 1 < *argc)
            val = argv[++i];
        if (val == NULL) {
            fprintf(stderr, "weft: option --weft-%.*s needs a value: %s\n",
                    (int)n, name, v->form);
            exit(2);
        }
        weft_config_t scratch;
        weft_config_init(&scratch);
        if (set(&scratch, v, val, err, sizeof err) != 0) {
            fprintf(stderr, "weft: option --weft-%.*s: %s\n", (int)n, name,
                    err);
            exit(2);
        }
        setenv(env, val, 1);
    }
    for (; i < *argc; i++) /* "--" and everything after it stay */
        argv[out++] = argv[i];
    argv[out] = NULL;
    *argc = out;
    weft__args_argv = argv;
    weft__args_argc = out;
}
