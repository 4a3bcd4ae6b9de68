/*
 * export.c: results for machines and traces for people.
 *
 * weft__export_json writes one exploration's result as a JSON object (for
 * CI). weft__export_trace writes the reported execution in the Chrome
 * trace-event format, which Perfetto and chrome://tracing open: one track
 * per task, virtual time on the axis, every visible operation a slice,
 * every wait a slice from the moment the task blocks to its wake-up, and
 * an arrow from the operation that woke it. Operations at the same
 * virtual instant are spread 1 ns apart, in step order, so their order is
 * visible; the real virtual time is in each event's arguments.
 */
#include "report/report.h"

#include <errno.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0: overlong
 * forms, surrogates and code points past U+10FFFF are invalid too (JSON
 * readers such as Python's json reject them). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

/* A JSON string: valid UTF-8 is copied, every byte that is not (a test
 * name or message in Latin-1, a cut sequence) becomes U+FFFD, so the file
 * always parses. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p != '\0') {
        unsigned char c = *p;
        int n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
        } else if (n > 1) {
            fwrite(p, 1, (size_t)n, f);
            p += n;
        } else {
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
            p++;
        }
    }
    fputc('"', f);
}

/* Open path for one of the exports; the message says why not. */
static int out_open(struct weft__out *o, const char *path, const char *what)
{
    int rc = weft__out_open(o, path);
    if (rc != 0)
        fprintf(stderr, "weft: cannot write the %s %s: %s\n", what, path,
                strerror(-rc));
    return rc;
}

static int out_close(struct weft__out *o, const char *path, const char *what)
{
    int rc = weft__out_close(o);
    if (rc != 0)
        fprintf(stderr,
                "weft: cannot write the %s %s: %s (any older file is left as "
                "it was)\n",
                what, path, strerror(-rc));
    return rc;
}

int weft__export_json(const char *path, const weft_config_t *cfg,
                      const char *strategy, const weft_result_t *res, int rc,
                      const char *status)
{
    struct weft__out o;
    int e = out_open(&o, path, "JSON result");
    if (e != 0)
        return e;
    FILE *f = o.f;
    fprintf(f, "{\n  \"weft\": \"%s\",\n  \"name\": ", WEFT_VERSION);
    json_str(f, cfg->name ? cfg->name : "");
    fprintf(f, ",\n  \"strategy\": \"%s\",\n", strategy);
    fprintf(f, "  \"status\": \"%s\",\n",
            status != NULL      ? status
            : rc < 0            ? "error"
            : res->finding != 0 ? "failed"
                                : "passed");
    fprintf(f, "  \"seed\": %llu,\n  \"executions\": %llu,\n",
            (unsigned long long)cfg->seed, (unsigned long long)res->executions);
    fprintf(f, "  \"distinct\": %llu,\n  \"total_steps\": %llu,\n",
            (unsigned long long)res->distinct,
            (unsigned long long)res->total_steps);
    fprintf(f, "  \"exhausted\": %s,\n  \"failures\": %u,\n",
            res->exhausted ? "true" : "false", res->failures);
    fprintf(f, "  \"preemption_level\": %d,\n", res->preemption_level);
    fprintf(f, "  \"shard\": \"%u/%u\",\n", cfg->shard_index, cfg->shard_count);
    if (res->finding == 0) {
        fprintf(f, "  \"finding\": null\n}\n");
    } else {
        fprintf(f, "  \"finding\": {\n    \"kind\": ");
        json_str(f, weft_finding_name(res->finding));
        fprintf(f, ",\n    \"message\": ");
        json_str(f, res->message);
        fprintf(f, ",\n    \"execution\": %llu,\n",
                (unsigned long long)res->execution);
        fprintf(f, "    \"seed\": %llu,\n    \"steps\": %llu,\n",
                (unsigned long long)res->seed, (unsigned long long)res->steps);
        fprintf(f, "    \"steps_before_shrinking\": %llu,\n",
                (unsigned long long)res->shrunk_steps);
        fprintf(f, "    \"preemptions\": %u,\n", res->preemptions);
        fprintf(f, "    \"time_ns\": %lld,\n", (long long)res->time);
        fprintf(f, "    \"trace_hash\": \"%016llx\",\n",
                (unsigned long long)res->trace_hash);
        fprintf(f, "    \"schedule_file\": ");
        json_str(f, res->schedule_file);
        fprintf(f, ",\n    \"report\": ");
        json_str(f, res->report);
        fprintf(f, "\n  }\n}\n");
    }
    return out_close(&o, path, "JSON result");
}

/* Microseconds on the trace's axis for event i. */
static double ts_of(const struct weft__event *e, uint64_t i)
{
    return (double)e->time / 1000.0 + (double)i / 1000.0;
}

static void where(FILE *f, const struct weft__event *e)
{
    fprintf(f, "\"where\": ");
    char buf[300];
    snprintf(buf, sizeof buf, "%s", weft__site(e->file, e->line));
    json_str(f, buf);
}

int weft__export_trace(const char *path, struct weft__run *r)
{
    struct weft__out o;
    int rc = out_open(&o, path, "Perfetto trace");
    if (rc != 0)
        return rc;
    FILE *f = o.f;
    uint64_t n = r->nevents < r->ring_cap ? r->nevents : r->ring_cap;
    uint64_t first = r->nevents - n;
    fprintf(f,
            "{\"displayTimeUnit\": \"ns\", \"otherData\": "
            "{\"tool\": \"weft\", \"events_dropped\": %llu},\n"
            "\"traceEvents\": [\n",
            (unsigned long long)first);
    fprintf(f, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, "
               "\"args\": {\"name\": \"weft execution\"}}");
    for (uint32_t t = 0; t < r->ntasks; t++) {
        char name[64];
        snprintf(name, sizeof name, "%u %s", t, r->tasks[t]->name);
        fprintf(f,
                ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
                "\"tid\": %u, \"args\": {\"name\": ",
                t);
        json_str(f, name);
        fprintf(f, "}}");
    }
    bool *blocked = weft__alloc((r->ntasks + 1) * sizeof *blocked);
    if (blocked)
        memset(blocked, 0, (r->ntasks + 1) * sizeof *blocked);
    uint64_t flow = 0;
    uint32_t last_task = 0;
    for (uint64_t i = first; i < r->nevents; i++) {
        const struct weft__event *e = &r->ring[i & (r->ring_cap - 1)];
        double ts = ts_of(e, i);
        char what[48];
        if (e->obj)
            snprintf(what, sizeof what, "%s %c%u", weft__op_name(e->op),
                     weft__op_letter(e->wait_op ? e->wait_op : e->op), e->obj);
        else
            snprintf(what, sizeof what, "%s", weft__op_name(e->op));
        if (e->op == WEFT__OP_BLOCK) {
            fprintf(f,
                    ",\n{\"name\": \"blocked\", \"ph\": \"B\", "
                    "\"pid\": 1, \"tid\": %u, \"ts\": %.3f, \"args\": {",
                    e->task, ts);
            where(f, e);
            fprintf(f, "}}");
            if (blocked && e->task < r->ntasks)
                blocked[e->task] = true;
            continue;
        }
        if (e->op == WEFT__OP_WAKEUP || e->op == WEFT__OP_TIMEOUT) {
            if (blocked && e->task < r->ntasks && blocked[e->task]) {
                fprintf(f,
                        ",\n{\"ph\": \"E\", \"pid\": 1, \"tid\": %u, "
                        "\"ts\": %.3f}",
                        e->task, ts);
                blocked[e->task] = false;
            }
            if (e->op == WEFT__OP_WAKEUP) {
                /* an arrow from the waker's operation to the woken task */
                flow++;
                fprintf(f,
                        ",\n{\"name\": \"wakes\", \"ph\": \"s\", "
                        "\"cat\": \"wake\", \"id\": %llu, \"pid\": 1, "
                        "\"tid\": %u, \"ts\": %.3f}",
                        (unsigned long long)flow, last_task, ts);
                fprintf(f,
                        ",\n{\"name\": \"wakes\", \"ph\": \"f\", "
                        "\"bp\": \"e\", \"cat\": \"wake\", \"id\": %llu, "
                        "\"pid\": 1, \"tid\": %u, \"ts\": %.3f}",
                        (unsigned long long)flow, e->task, ts + 0.0005);
            }
            continue;
        }
        last_task = e->task;
        fprintf(f, ",\n{\"name\": ");
        json_str(f, what);
        fprintf(f,
                ", \"ph\": \"X\", \"pid\": 1, \"tid\": %u, \"ts\": %.3f, "
                "\"dur\": 0.001, \"args\": {\"step\": %llu, "
                "\"virtual_time_ns\": %lld, ",
                e->task, ts, (unsigned long long)e->step, (long long)e->time);
        where(f, e);
        fprintf(f, "}}");
    }
    weft__free(blocked);
    if (r->failed) {
        fprintf(f, ",\n{\"name\": ");
        json_str(f, weft_finding_name(r->finding.kind));
        fprintf(f,
                ", \"ph\": \"i\", \"s\": \"g\", \"pid\": 1, \"tid\": %u, "
                "\"ts\": %.3f, \"args\": {\"message\": ",
                r->finding.task,
                (double)r->now / 1000.0 + (double)r->nevents / 1000.0);
        json_str(f, r->finding.message);
        fprintf(f, "}}");
    }
    fprintf(f, "\n]}\n");
    return out_close(&o, path, "Perfetto trace");
}
