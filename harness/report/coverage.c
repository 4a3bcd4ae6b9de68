/*
 * coverage.c: synchronization coverage.
 *
 * For every source line that holds a visible operation, counted over all
 * executions of the process: reached (the operation ran), contended (it
 * had to wait, or it released a task that waited), blocked (it waited),
 * preempted (the scheduler switched away there although the task could
 * go on) and woke (it made another task ready). Also the distinct
 * preemption-site pairs: the line preempted at, and the line of the task
 * that ran next. Counting costs one hash lookup per visible operation and
 * is on only when a tracefile is asked for (WEFT_SYNC_COVERAGE).
 *
 * The tracefile is lcov's format with one measure as the line hit count,
 * so genhtml renders it as its own report (never merge it with line
 * coverage: lcov would add the counts). Entries are keyed by the address
 * of the __FILE__ string and the line in memory, for speed; everything
 * written is sorted by file name and line, so output never depends on an
 * address. Worker processes (jobs) start from zero and write their own
 * tracefiles, PATH.worker<pid>, which `lcov -a` (scripts/weft-coverage.sh
 * merge) adds up with the parent's.
 */
#include "report/report.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct site {
    const char *file;
    int line;
    uint64_t n[WEFT__COV__COUNT];
};

struct pair {
    const char *f1, *f2;
    int l1, l2;
};

struct weft__cov {
    struct site *sites;
    uint32_t nsites, cap;
    struct pair *pairs;
    uint32_t npairs, pcap;
    uint64_t schedules;
};

static WEFT__TLS struct weft__cov *cov;

struct weft__cov *weft__cov_get(void)
{
    if (cov == NULL) {
        cov = weft__alloc(sizeof *cov);
        if (cov != NULL)
            memset(cov, 0, sizeof *cov);
    }
    return cov;
}

static inline uint32_t slot(const void *p, int line, uint32_t cap)
{
    return (uint32_t)weft__mix((uint64_t)(uintptr_t)p * 31 + (unsigned)line) &
           (cap - 1);
}

static struct site *site_of(struct weft__cov *c, const char *file, int line)
{
    if (file == NULL)
        return NULL;
    if ((c->nsites + 1) * 2 > c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 256;
        struct site *s = weft__alloc(cap * sizeof *s);
        if (s == NULL)
            return NULL;
        memset(s, 0, cap * sizeof *s);
        for (uint32_t i = 0; i < c->cap; i++) {
            if (c->sites[i].file == NULL)
                continue;
            uint32_t j = slot(c->sites[i].file, c->sites[i].line, cap);
            while (s[j].file != NULL)
                j = (j + 1) & (cap - 1);
            s[j] = c->sites[i];
        }
        weft__free(c->sites);
        c->sites = s;
        c->cap = cap;
    }
    uint32_t j = slot(file, line, c->cap);
    while (c->sites[j].file != NULL) {
        if (c->sites[j].file == file && c->sites[j].line == line)
            return &c->sites[j];
        j = (j + 1) & (c->cap - 1);
    }
    c->sites[j].file = file;
    c->sites[j].line = line;
    c->nsites++;
    return &c->sites[j];
}

static void count(struct weft__cov *c, int measure, const char *file, int line)
{
    struct site *s = site_of(c, file, line);
    if (s != NULL)
        s->n[measure]++;
}

static void pair(struct weft__cov *c, const char *f1, int l1, const char *f2,
                 int l2)
{
    if ((c->npairs + 1) * 2 > c->pcap) {
        uint32_t cap = c->pcap ? c->pcap * 2 : 256;
        struct pair *p = weft__alloc(cap * sizeof *p);
        if (p == NULL)
            return;
        memset(p, 0, cap * sizeof *p);
        for (uint32_t i = 0; i < c->pcap; i++) {
            if (c->pairs[i].f1 == NULL)
                continue;
            uint32_t j = slot(c->pairs[i].f1,
                              (int)((uint32_t)c->pairs[i].l1 * 65599u +
                                    (uint32_t)c->pairs[i].l2),
                              cap);
            while (p[j].f1 != NULL)
                j = (j + 1) & (cap - 1);
            p[j] = c->pairs[i];
        }
        weft__free(c->pairs);
        c->pairs = p;
        c->pcap = cap;
    }
    uint32_t j = slot(f1, (int)((uint32_t)l1 * 65599u + (uint32_t)l2), c->pcap);
    while (c->pairs[j].f1 != NULL) {
        struct pair *q = &c->pairs[j];
        if (q->f1 == f1 && q->l1 == l1 && q->f2 == f2 && q->l2 == l2)
            return;
        j = (j + 1) & (c->pcap - 1);
    }
    c->pairs[j] = (struct pair){ f1, f2, l1, l2 };
    c->npairs++;
}

const struct weft__cov_ops weft__cov_ops = {
    .count = count,
    .pair = pair,
};

void weft__cov_schedules(uint64_t n)
{
    if (cov != NULL)
        cov->schedules += n;
}

/* ----------------------------------------------------------------- output */

struct row {
    char *file; /* absolute when it can be known; allocated */
    int line;
    uint64_t n[WEFT__COV__COUNT];
};

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* The file's absolute name (realpath allocates it: no length limit), or
 * a copy of the name as written. */
static char *absolute(const char *file)
{
    char *real = realpath(file, NULL);
    char *out = weft__strdup(real != NULL ? real : file);
    free(real); /* realpath's, from malloc */
    return out;
}

static void free_rows(struct row *rows, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        weft__free(rows[i].file);
    weft__free(rows);
}

/* Rows of this process's table, sorted by absolute file name and line. */
static struct row *collect(struct weft__cov *c, uint32_t *n)
{
    struct row *rows = weft__alloc((c->nsites + 1) * sizeof *rows);
    uint32_t k = 0;
    if (rows == NULL)
        return NULL;
    for (uint32_t i = 0; i < c->cap; i++) {
        if (c->sites[i].file == NULL)
            continue;
        char src[PATH_MAX];
        int line = c->sites[i].line;
        const char *name = c->sites[i].file;
        /* a program's code address (weft-cc): its source line */
        if (name == weft__pc_site &&
            weft__pc_source(line, src, sizeof src, &line))
            name = src;
        rows[k].file = absolute(name);
        if (rows[k].file == NULL) {
            free_rows(rows, k);
            return NULL;
        }
        rows[k].line = line;
        memcpy(rows[k].n, c->sites[i].n, sizeof rows[k].n);
        k++;
    }
    qsort(rows, k, sizeof *rows, cmp_row);
    /* the same file may be named two ways (two __FILE__ spellings) */
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (m > 0 && cmp_row(&rows[m - 1], &rows[i]) == 0) {
            for (int j = 0; j < WEFT__COV__COUNT; j++)
                rows[m - 1].n[j] += rows[i].n[j];
            weft__free(rows[i].file);
            continue;
        }
        rows[m++] = rows[i];
    }
    *n = m;
    return rows;
}

/* Write the tracefile: one record per source file, the measure as count
 * (whole or not at all: file.c). */
static int write_lcov(const char *path, const struct row *rows, uint32_t n,
                      int measure)
{
    struct weft__out o;
    int rc = weft__out_open(&o, path);
    if (rc != 0)
        return rc;
    FILE *f = o.f;
    fprintf(f, "TN:weft_sync_%s\n", weft__cov_names[measure]);
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i, hit = 0;
        fprintf(f, "SF:%s\n", rows[i].file);
        for (; j < n && strcmp(rows[j].file, rows[i].file) == 0; j++) {
            fprintf(f, "DA:%d,%llu\n", rows[j].line,
                    (unsigned long long)rows[j].n[measure]);
            hit += rows[j].n[measure] > 0;
        }
        fprintf(f, "LH:%u\nLF:%u\nend_of_record\n", hit, j - i);
        i = j;
    }
    return weft__out_close(&o);
}

int weft__cov_write(const weft_config_t *cfg, bool worker)
{
    struct weft__cov *c = cov;
    if (c == NULL || cfg->sync_coverage == NULL)
        return 0;
    int measure =
        weft__cov_measure(cfg->sync_measure ? cfg->sync_measure : "contended");
    if (measure < 0)
        measure = WEFT__COV_CONTENDED;
    uint32_t n = 0;
    struct row *rows = collect(c, &n);
    char *path = worker ? weft__aprintf("%s.worker%ld", cfg->sync_coverage,
                                        (long)getpid())
                        : weft__strdup(cfg->sync_coverage);
    if (rows == NULL || path == NULL) {
        fprintf(stderr, "weft: cannot write the sync coverage %s: %s\n",
                cfg->sync_coverage, strerror(ENOMEM));
        if (rows != NULL)
            free_rows(rows, n);
        weft__free(path);
        return -ENOMEM;
    }
    int rc = write_lcov(path, rows, n, measure);
    if (rc != 0)
        fprintf(stderr, "weft: cannot write the sync coverage %s: %s\n", path,
                strerror(-rc));
    if (!worker && !cfg->quiet && rc == 0) {
        uint32_t contended = 0, never = 0;
        for (uint32_t i = 0; i < n; i++) {
            contended += rows[i].n[WEFT__COV_CONTENDED] > 0;
            never += rows[i].n[WEFT__COV_REACHED] > 0 &&
                     rows[i].n[WEFT__COV_CONTENDED] == 0;
        }
        fprintf(stderr,
                "weft: sync coverage (%s) in %s: %u sites, %u contended, %u "
                "never contended; %u distinct preemption-site pairs; %llu "
                "distinct schedules\n",
                weft__cov_names[measure], path, n, contended, never, c->npairs,
                (unsigned long long)c->schedules);
        unsigned shown = 0;
        for (uint32_t i = 0; i < n && shown < 8; i++)
            if (rows[i].n[WEFT__COV_REACHED] > 0 &&
                rows[i].n[WEFT__COV_CONTENDED] == 0) {
                fprintf(stderr, "weft:   never contended: %s:%d\n",
                        rows[i].file, rows[i].line);
                shown++;
            }
    }
    free_rows(rows, n);
    weft__free(path);
    return rc;
}

void weft__cov_stats(uint64_t *sites, uint64_t *pairs, uint64_t *never)
{
    *sites = *pairs = *never = 0;
    if (cov == NULL)
        return;
    *sites = cov->nsites;
    *pairs = cov->npairs;
    for (uint32_t i = 0; i < cov->cap; i++)
        *never += cov->sites[i].file != NULL &&
                  cov->sites[i].n[WEFT__COV_REACHED] > 0 &&
                  cov->sites[i].n[WEFT__COV_CONTENDED] == 0;
}

uint64_t weft_sync_count(const char *file, int line, const char *measure)
{
    int m = weft__cov_measure(measure);
    if (cov == NULL || m < 0 || file == NULL)
        return 0;
    uint64_t n = 0;
    for (uint32_t i = 0; i < cov->cap; i++)
        if (cov->sites[i].file != NULL && cov->sites[i].line == line &&
            strcmp(cov->sites[i].file, file) == 0)
            n += cov->sites[i].n[m];
    return n;
}

void weft_sync_reset(void)
{
    if (cov == NULL)
        return;
    weft__free(cov->sites);
    weft__free(cov->pairs);
    weft__free(cov);
    cov = NULL;
}
