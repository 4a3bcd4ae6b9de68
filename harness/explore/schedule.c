/*
 * schedule.c: the text form of a recorded schedule.
 *
 *   weft-schedule 1
 *   strategy random
 *   seed 42
 *   max_steps 100000
 *   spurious 0
 *   decisions 3
 *   T 5 6 2 8c1f0e27a3b4c5d6 1   # step op options set-hash chosen
 *   V 9 21 4 0 3
 *   T 12 7 2 1a2b3c4d5e6f7081 0
 *
 * T lines choose a task (chosen is its id), V lines a value. Anything after
 * '#' is a comment. Reading is strict: a wrong header, an unknown key, a
 * malformed line or a count that does not match is an error naming the
 * line, never a partial replay.
 */
#include "explore/explore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int weft__schedule_snapshot(struct weft__schedule *s, const struct weft__run *r)
{
    memset(s, 0, sizeof *s);
    s->seed = r->seed;
    s->steps = r->step;
    s->max_steps = r->max_steps;
    s->spurious = r->cfg->spurious;
    if (r->ndecisions > 0) {
        s->d = weft__alloc(r->ndecisions * sizeof *s->d);
        if (s->d == NULL)
            return -ENOMEM;
        memcpy(s->d, r->decisions, r->ndecisions * sizeof *s->d);
    }
    s->n = r->ndecisions;
    return 0;
}

void weft__schedule_free(struct weft__schedule *s)
{
    weft__free(s->d);
    s->d = NULL;
    s->n = 0;
}

unsigned weft__schedule_preemptions(const struct weft__schedule *s)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < s->n; i++)
        n += weft__is_preemption(&s->d[i]);
    return n;
}

int weft__schedule_write(const char *path, struct weft__run *r)
{
    struct weft__schedule s = {
        .seed = r->seed,
        .max_steps = r->max_steps,
        .spurious = r->cfg->spurious,
        .d = r->decisions,
        .n = r->ndecisions,
    };
    return weft__schedule_write_s(path, &s, r->strategy->name);
}

int weft__schedule_write_s(const char *path, const struct weft__schedule *s,
                           const char *strategy)
{
    /* Written aside and renamed (file.c): a reader never sees half a
     * schedule, and nothing planted at the path is followed. */
    struct weft__out o;
    int rc = weft__out_open(&o, path);
    if (rc != 0)
        return rc;
    return weft__schedule_put(&o, s, strategy);
}

int weft__schedule_put(struct weft__out *o, const struct weft__schedule *s,
                       const char *strategy)
{
    weft__schedule_print(o->f, s, strategy);
    return weft__out_close(o);
}

size_t (*weft__schedule_points_get)(char *out, size_t len);
int (*weft__schedule_points_set)(const char *v, char *err, size_t len);

void weft__schedule_print(FILE *f, const struct weft__schedule *s,
                          const char *strategy)
{
    static char points[4096];
    fprintf(f, "weft-schedule 1\n");
    fprintf(f, "strategy %s\n", strategy);
    fprintf(f, "seed %" PRIu64 "\n", s->seed);
    fprintf(f, "max_steps %" PRIu64 "\n", s->max_steps);
    fprintf(f, "spurious %u\n", s->spurious);
    if (s->finding != 0)
        fprintf(f, "finding %u # %s\n", s->finding,
                weft_finding_name((weft_finding_t)s->finding));
    if (s->hash != 0)
        fprintf(f, "trace_hash %016" PRIx64 "\n", s->hash);
    if (weft__schedule_points_get != NULL &&
        weft__schedule_points_get(points, sizeof points) > 0)
        fprintf(f, "race_points %s\n", points);
    fprintf(f, "decisions %u\n", s->n);
    for (uint32_t i = 0; i < s->n; i++) {
        const struct weft__decision *d = &s->d[i];
        fprintf(f, "%c %" PRIu64 " %u %u %016" PRIx64 " %u # %s\n",
                d->kind == WEFT__CHOOSE_TASK ? 'T' : 'V', d->step, d->op, d->n,
                d->set_hash, d->chosen, weft__op_name(d->op));
    }
}

static int bad(char *err, size_t len, const char *path, unsigned line,
               const char *what)
{
    snprintf(err, len, "%s:%u: corrupt schedule file: %s", path, line, what);
    return -EINVAL;
}

static bool parse_u64(const char *s, uint64_t *v, int base)
{
    char *end;
    if (*s == '-' || *s == '\0')
        return false;
    errno = 0;
    unsigned long long x = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0')
        return false;
    *v = x;
    return true;
}

int weft__schedule_read(const char *path, struct weft__schedule *s, char *err,
                        size_t err_len)
{
    /* Non-blocking, then checked: opening a FIFO for reading would wait
     * for a writer forever, and a directory is no file at all. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot open schedule file: %s", path,
                 strerror(errno));
        return -EINVAL;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_len, "%s: cannot read schedule file: %s", path,
                 strerror(errno));
        close(fd);
        return -EINVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: %s", path,
                 S_ISDIR(st.st_mode) ? "is a directory, not a schedule file"
                                     : "is not a regular file (a FIFO, "
                                       "device or socket), not a schedule "
                                       "file");
        close(fd);
        return -EINVAL;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        snprintf(err, err_len, "%s: cannot open schedule file: %s", path,
                 strerror(errno));
        close(fd);
        return -ENOMEM;
    }
    int rc = weft__schedule_parse(f, path, s, err, err_len);
    fclose(f);
    return rc;
}

int weft__schedule_parse(FILE *f, const char *path, struct weft__schedule *s,
                         char *err, size_t err_len)
{
    char buf[4608]; /* a race_points line is long */
    unsigned ln = 0;
    uint64_t want = UINT64_MAX;
    uint32_t cap = 0;
    int rc = 0;
    bool header = false;
    memset(s, 0, sizeof *s);
    s->max_steps = 100000;
    while (fgets(buf, sizeof buf, f) != NULL) {
        ln++;
        if (strchr(buf, '\n') == NULL && !feof(f)) {
            rc = bad(err, err_len, path, ln, "line too long");
            goto out;
        }
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *tok[8];
        unsigned nt = 0;
        for (char *p = strtok(buf, " \t\r\n"); p && nt < 8;
             p = strtok(NULL, " \t\r\n"))
            tok[nt++] = p;
        if (nt == 0)
            continue;
        if (!header) {
            if (nt != 2 || strcmp(tok[0], "weft-schedule") != 0) {
                rc = bad(err, err_len, path, ln,
                         "not a weft schedule (expected 'weft-schedule 1')");
                goto out;
            }
            if (strcmp(tok[1], "1") != 0) {
                rc = bad(err, err_len, path, ln,
                         "unsupported schedule version (this weft reads 1)");
                goto out;
            }
            header = true;
            continue;
        }
        uint64_t v[5];
        if ((tok[0][0] == 'T' || tok[0][0] == 'V') && tok[0][1] == '\0') {
            if (want == UINT64_MAX) {
                rc = bad(err, err_len, path, ln,
                         "decision before the 'decisions' line");
                goto out;
            }
            if (nt != 6 || !parse_u64(tok[1], &v[0], 10) ||
                !parse_u64(tok[2], &v[1], 10) ||
                !parse_u64(tok[3], &v[2], 10) ||
                !parse_u64(tok[4], &v[3], 16) ||
                !parse_u64(tok[5], &v[4], 10) || v[1] >= WEFT__OP__COUNT ||
                v[2] > UINT32_MAX || v[4] > UINT32_MAX || v[2] < 2) {
                rc = bad(err, err_len, path, ln,
                         "malformed decision (expected: T|V step op options "
                         "set-hash chosen)");
                goto out;
            }
            if (s->n >= want) {
                rc = bad(err, err_len, path, ln,
                         "more decisions than the header announces");
                goto out;
            }
            if (weft__grow(&s->d, &cap, s->n + 1, sizeof *s->d) != 0) {
                rc = -ENOMEM;
                snprintf(err, err_len, "%s: out of memory", path);
                goto out;
            }
            struct weft__decision *d = &s->d[s->n++];
            d->kind = tok[0][0] == 'T' ? WEFT__CHOOSE_TASK : WEFT__CHOOSE_VALUE;
            d->step = v[0];
            d->op = (uint8_t)v[1];
            d->n = (uint32_t)v[2];
            d->set_hash = v[3];
            d->chosen = (uint32_t)v[4];
            d->cur = WEFT__NO_TASK;
            continue;
        }
        if (nt != 2) {
            rc = bad(err, err_len, path, ln, "expected 'key value'");
            goto out;
        }
        if (strcmp(tok[0], "strategy") == 0)
            continue; /* informational: which strategy recorded it */
        if (strcmp(tok[0], "race_points") == 0 &&
            weft__schedule_points_set != NULL) {
            char why[700];
            if (weft__schedule_points_set(tok[1], why, sizeof why) != 0) {
                rc = bad(err, err_len, path, ln, why);
                goto out;
            }
            continue;
        }
        uint64_t x;
        if (strcmp(tok[0], "trace_hash") == 0) {
            if (!parse_u64(tok[1], &x, 16)) {
                rc = bad(err, err_len, path, ln, "trace_hash is not hex");
                goto out;
            }
            s->hash = x;
            continue;
        }
        if (!parse_u64(tok[1], &x, 10)) {
            rc = bad(err, err_len, path, ln, "value is not a number");
            goto out;
        }
        if (strcmp(tok[0], "seed") == 0)
            s->seed = x;
        else if (strcmp(tok[0], "max_steps") == 0 && x > 0)
            s->max_steps = x;
        else if (strcmp(tok[0], "spurious") == 0 && x <= UINT32_MAX)
            s->spurious = (unsigned)x;
        else if (strcmp(tok[0], "decisions") == 0 && x <= UINT32_MAX)
            want = x;
        else if (strcmp(tok[0], "finding") == 0 && x > 0 &&
                 x < WEFT_FINDING__COUNT)
            s->finding = (unsigned)x;
        else {
            rc = bad(err, err_len, path, ln, "unknown key or bad value");
            goto out;
        }
    }
    if (!header)
        rc = bad(err, err_len, path, ln, "empty file");
    else if (want == UINT64_MAX)
        rc = bad(err, err_len, path, ln, "no 'decisions' line");
    else if (s->n != want)
        rc = bad(err, err_len, path, ln,
                 "truncated: fewer decisions than the header announces");
out:
    if (rc != 0) {
        weft__free(s->d);
        s->d = NULL;
        s->n = 0;
    }
    return rc;
}
