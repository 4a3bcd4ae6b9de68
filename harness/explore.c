/*
 * explore.c: running a test body for many executions, and the result.
 *
 * The k-th execution of an exploration uses seed cfg->seed + k, so the
 * replay line of a failure is just that seed with one iteration. A
 * failing execution's schedule is written (if asked) before the report is
 * printed, so a crash of the reporter cannot lose it.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void weft_result_destroy(weft_result_t *res)
{
    if (res == NULL)
        return;
    weft__free(res->report);
    res->report = NULL;
}

/* This program's command line, shell-quoted, for the replay line. */
static void command_line(struct weft__buf *b)
{
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (f == NULL) {
        weft__buf_printf(b, "<this program>");
        return;
    }
    char arg[1024];
    size_t n = 0;
    int c;
    bool first = true;
    while ((c = fgetc(f)) != EOF) {
        if (c != '\0' && n + 1 < sizeof arg) {
            arg[n++] = (char)c;
            continue;
        }
        if (c != '\0')
            continue;
        arg[n] = '\0';
        bool plain = n > 0 && strspn(arg, "abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-+=./:,@%") == n;
        weft__buf_printf(b, first ? "%s%s%s" : " %s%s%s", plain ? "" : "'",
                         arg, plain ? "" : "'");
        first = false;
        n = 0;
    }
    fclose(f);
}

static void replay_line(struct weft__run *r, const weft_config_t *cfg,
                        const char *wrote, struct weft__buf *out)
{
    struct weft__buf cmd = { 0 };
    if (cfg->replay_hint)
        weft__buf_printf(&cmd, "%s", cfg->replay_hint);
    else
        command_line(&cmd);
    weft_config_t def;
    weft_config_init(&def);
    if (!r->strategy->seed_replays) {
        if (wrote)
            weft__buf_printf(out, "  replay:    WEFT_REPLAY=%s %s\n", wrote,
                             cmd.s ? cmd.s : "");
        weft__free(cmd.s);
        return;
    }
    weft__buf_printf(out, "  replay:    WEFT_SEED=%llu WEFT_ITERATIONS=1",
                     (unsigned long long)r->seed);
    r->strategy->describe(r->strategy_state, out);
    if (cfg->max_steps != def.max_steps)
        weft__buf_printf(out, " WEFT_MAX_STEPS=%llu",
                         (unsigned long long)cfg->max_steps);
    if (cfg->spurious != def.spurious)
        weft__buf_printf(out, " WEFT_SPURIOUS=%u", cfg->spurious);
    if (cfg->stack_size != def.stack_size)
        weft__buf_printf(out, " WEFT_STACK_SIZE=%zu", cfg->stack_size);
    weft__buf_printf(out, " %s\n", cmd.s ? cmd.s : "");
    if (wrote)
        weft__buf_printf(out, "  or:        WEFT_REPLAY=%s %s\n", wrote,
                         cmd.s ? cmd.s : "");
    weft__free(cmd.s);
}

static void fill_result(weft_result_t *res, struct weft__run *r,
                        uint64_t executions, uint64_t total_steps)
{
    res->finding = r->failed ? r->finding.kind : WEFT_FINDING_NONE;
    res->executions = executions;
    res->seed = r->seed;
    res->steps = r->step;
    res->time = r->now;
    res->trace_hash = weft__mix(r->hash);
    res->total_steps = total_steps;
    snprintf(res->message, sizeof res->message, "%s",
             r->failed ? r->finding.message : "");
}

int weft_explore(const weft_config_t *cfg_in, weft_body_fn *body, void *arg,
                 weft_result_t *res)
{
    weft_config_t cfg;
    char err[512];
    weft_result_t dummy;
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof *res);
    if (weft__current != NULL)
        weft__misuse("weft_explore", "called inside an exploration");
    if (body == NULL)
        return -EINVAL;
    if (cfg_in != NULL)
        cfg = *cfg_in;
    else
        weft_config_init(&cfg);
    bool replay_from_env = false;
    if (cfg.use_env) {
        const char *before = cfg.replay_file;
        if (weft_config_from_env(&cfg, err, sizeof err) != 0) {
            fprintf(stderr, "weft: %s\n", err);
            exit(2);
        }
        replay_from_env = cfg.replay_file != before;
    }
    if (cfg.iterations == 0 || cfg.max_steps == 0 ||
        cfg.stack_size < 16384) {
        fprintf(stderr, "weft: invalid configuration: iterations and "
                        "max_steps must be positive, stack_size >= 16k\n");
        return -EINVAL;
    }

    static const struct weft__strategy *const strategies[] = {
        &weft__strategy_random, &weft__strategy_pct, &weft__strategy_dfs,
        &weft__strategy_replay,
    };
    const struct weft__strategy *st = NULL;
    const char *want = cfg.replay_file ? "replay"
                       : cfg.strategy  ? cfg.strategy
                                       : "random";
    for (size_t i = 0; i < sizeof strategies / sizeof *strategies; i++)
        if (strcmp(want, strategies[i]->name) == 0)
            st = strategies[i];
    if (st == NULL) {
        fprintf(stderr, "weft: unknown strategy '%s' (random, pct, dfs, "
                        "replay)\n",
                want);
        return -EINVAL;
    }
    void *state = NULL;
    int rc = st->create(&state, &cfg, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "weft: %s\n", err);
        if (replay_from_env && rc == -EINVAL)
            exit(2);
        return rc;
    }
    if (st == &weft__strategy_replay) {
        /* A schedule carries the configuration that shaped it. */
        struct weft__schedule *s = state; /* first member of its state */
        cfg.seed = s->seed;
        cfg.max_steps = s->max_steps;
        cfg.spurious = s->spurious;
        cfg.iterations = 1;
    }

    struct weft__run *r = weft__alloc(sizeof *r);
    if (r == NULL || weft__run_setup(r, &cfg) != 0) {
        if (r)
            weft__run_teardown(r);
        weft__free(r);
        st->destroy(state);
        return -ENOMEM;
    }
    r->strategy = st;
    r->strategy_state = state;
    if (weft__signals_install() != 0) {
        rc = -ENOMEM;
        goto out;
    }

    uint64_t total = 0, executions = 0;
    bool exhausted = false;
    rc = 0;
    while (executions < cfg.iterations) {
        r->seed = cfg.seed + executions++;
        int e = weft__run_one(r, body, arg);
        total += r->step;
        if (e != 0) {
            rc = e;
            break;
        }
        if (r->failed) {
            rc = 1;
            break;
        }
        if (!st->next(state, r->step)) {
            exhausted = st != &weft__strategy_replay;
            break;
        }
    }
    fill_result(res, r, executions, total);
    res->exhausted = exhausted;
    if (rc == 1) {
        /* A seed cannot replay a systematic search's execution: then the
         * schedule always goes to a file. */
        char path[512];
        const char *out = cfg.schedule_out, *wrote = NULL;
        if (out == NULL && !st->seed_replays &&
            st != &weft__strategy_replay) {
            const char *tmp = getenv("TMPDIR");
            snprintf(path, sizeof path, "%s/weft-%ld-%llu.schedule",
                     tmp && *tmp ? tmp : "/tmp", (long)getpid(),
                     (unsigned long long)executions);
            out = path;
        }
        if (out != NULL) {
            int w = weft__schedule_write(out, r);
            if (w != 0)
                fprintf(stderr, "weft: cannot write %s: %s\n", out,
                        strerror(-w));
            else
                wrote = out;
        }
        struct weft__buf rep = { 0 };
        weft__report(r, executions, &rep);
        replay_line(r, &cfg, wrote, &rep);
        if (!cfg.quiet && rep.s)
            fputs(rep.s, stderr);
        res->report = rep.s;
    } else if (rc == 0 && !cfg.quiet) {
        fprintf(stderr,
                "weft: %s%s%llu executions%s, no failure (strategy %s, "
                "%llu steps, seeds %llu..%llu)\n",
                cfg.name ? cfg.name : "", cfg.name ? ": " : "",
                (unsigned long long)executions,
                exhausted ? " (all of them: the search is exhausted)" : "",
                st->name, (unsigned long long)total,
                (unsigned long long)cfg.seed,
                (unsigned long long)(cfg.seed + executions - 1));
    }
    weft__signals_restore();
out:
    weft__run_teardown(r);
    weft__free(r);
    st->destroy(state);
    weft__stack_trim(64);
    return rc;
}
