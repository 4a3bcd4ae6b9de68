/*
 * test_output.c: the files weft writes (schedules, the JSON result, the
 * Perfetto trace, synchronization coverage) as an attacker or an unlucky
 * user meets them: a symbolic link or a directory planted where weft
 * writes, paths longer than any buffer, names that are not UTF-8, a disk
 * that fills up. Each exploration runs in a forked child (its stderr
 * comes back through a pipe); files live in a fresh scratch directory.
 */
#include "weft.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------- helpers */

static char dir[1024]; /* this test's scratch directory */

static int make_dir(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/weft-test-output-XXXXXX",
             t && *t ? t : "/tmp");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The whole file ("" if it cannot be read), malloc'd. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t cap = 4096, n = 0, k;
    char *s = malloc(cap);
    assert_non_null(s);
    while (f != NULL && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            s = realloc(s, cap *= 2);
            assert_non_null(s);
        }
    }
    if (f != NULL)
        fclose(f);
    s[n] = '\0';
    return s;
}

#define assert_contains(hay, needle) \
    contains_at((hay), (needle), __FILE__, __LINE__)

static void contains_at(const char *hay, const char *needle, const char *file,
                        int line)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("%s:%d: expected \"%s\" in:\n%s\n", file, line, needle,
                    hay ? hay : "(null)");
        _fail(file, line);
    }
}

static void exit_now(int status, void *arg)
{
    (void)arg;
    _exit(status);
}

/* Run fn(arg) in a forked child; its stderr into err (malloc'd). Returns
 * the child's exit status, or 128 + the signal that ended it. */
static int in_child(int (*fn)(void *), void *arg, char **err)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        on_exit(exit_now, NULL);
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        _exit(fn(arg));
    }
    close(p[1]);
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    ssize_t k;
    while ((k = read(p[0], s + n, cap - n - 1)) > 0) {
        n += (size_t)k;
        if (n + 1 == cap) {
            s = realloc(s, cap *= 2);
            assert_non_null(s);
        }
    }
    s[n] = '\0';
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    *err = s;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* An explore's return value as an exit status: 0, 1, or 100 + errno. */
static int status_of(int rc)
{
    return rc >= 0 ? rc : 100 + -rc;
}

static void pinned(weft_config_t *c, uint64_t iterations)
{
    weft_config_init(c);
    c->use_env = false;
    c->progress = 0;
    c->seed = 3;
    c->iterations = iterations;
    c->strategy = "random";
}

/* Two tasks, one lost update: fails within a few executions. */
static int counter;

static void *bump(void *arg)
{
    int v = counter;
    weft_yield();
    counter = v + 1;
    return arg;
}

static void racy_body(void *arg)
{
    (void)arg;
    counter = 0;
    weft_thread_t a, b;
    weft_thread_spawn(&a, "bump\xff", bump, NULL);
    weft_thread_spawn(&b, "bump", bump, NULL);
    weft_thread_join(a, NULL);
    weft_thread_join(b, NULL);
    weft_assert(counter == 2, "counter is %d \x80\xfe (not UTF-8)", counter);
}

static void clean_body(void *arg)
{
    (void)arg;
    weft_mutex_t m = WEFT_MUTEX_INITIALIZER;
    weft_mutex_lock(&m);
    weft_mutex_unlock(&m);
}

static bool is_file(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* --------------------------------------------------- planted symlinks */

struct planted {
    char out[PATH_MAX], json[PATH_MAX], trace[PATH_MAX], cov[PATH_MAX];
    char victim[8][PATH_MAX];
};

/* In the child: plant links at the names the old code used (PATH.tmp<pid>
 * beside a schedule and a tracefile) and at the JSON, trace and coverage
 * targets themselves, then explore a failing body writing all of them. */
static int planted_child(void *arg)
{
    struct planted *p = arg;
    char name[PATH_MAX + 32];
    snprintf(name, sizeof name, "%s.tmp%ld", p->out, (long)getpid());
    if (symlink(p->victim[0], name) != 0)
        return 90;
    snprintf(name, sizeof name, "%s.tmp%ld", p->cov, (long)getpid());
    if (symlink(p->victim[1], name) != 0)
        return 91;
    if (symlink(p->victim[2], p->json) != 0 ||
        symlink(p->victim[3], p->trace) != 0 ||
        symlink(p->victim[4], p->cov) != 0)
        return 92;
    weft_config_t c;
    pinned(&c, 200);
    c.quiet = true;
    c.schedule_out = p->out;
    c.json_out = p->json;
    c.trace_out = p->trace;
    c.sync_coverage = p->cov;
    return status_of(weft_explore(&c, racy_body, NULL, NULL));
}

/* Every file weft writes is created under a fresh name (O_EXCL) and
 * renamed into place: a symlink planted at a guessable temporary name, or
 * at the target itself, is never followed, and its target keeps its
 * content. The old code wrote PATH.tmp<pid> with fopen("w") and opened the
 * JSON and trace files in place, overwriting whatever a link pointed at. */
static void planted_symlinks_are_never_followed(void **state)
{
    (void)state;
    static struct planted p;
    snprintf(p.out, sizeof p.out, "%s/out.schedule", dir);
    snprintf(p.json, sizeof p.json, "%s/result.json", dir);
    snprintf(p.trace, sizeof p.trace, "%s/trace.json", dir);
    snprintf(p.cov, sizeof p.cov, "%s/sync.info", dir);
    for (int i = 0; i < 5; i++) {
        snprintf(p.victim[i], sizeof p.victim[i], "%s/victim%d", dir, i);
        write_text(p.victim[i], "precious\n");
    }
    char *err;
    int rc = in_child(planted_child, &p, &err);
    if (rc != 1)
        print_error("status %d, stderr:\n%s\n", rc, err);
    free(err);
    assert_int_equal(rc, 1);
    for (int i = 0; i < 5; i++) {
        char *v = slurp(p.victim[i]);
        if (strcmp(v, "precious\n") != 0)
            fail_msg("%s was written through a planted link: \"%.60s\"",
                     p.victim[i], v);
        free(v);
    }
    const char *targets[] = { p.out, p.json, p.trace, p.cov };
    const char *starts[] = { "weft-schedule 1\n", "{\n  \"weft\"",
                             "{\"displayTimeUnit\"", "TN:weft_sync_" };
    for (int i = 0; i < 4; i++) {
        if (!is_file(targets[i]))
            fail_msg("%s is not a regular file of its own", targets[i]);
        char *t = slurp(targets[i]);
        if (strncmp(t, starts[i], strlen(starts[i])) != 0)
            fail_msg("%s starts \"%.40s\"", targets[i], t);
        free(t);
    }
}

/* ------------------------------------------ the temporary directory */

struct tmpdir_case {
    char tmp[PATH_MAX], victim[PATH_MAX];
};

static int tmpdir_child(void *arg)
{
    struct tmpdir_case *k = arg;
    setenv("TMPDIR", k->tmp, 1);
    /* what the old names were: weft-<pid>-<k>.schedule and .tmp<pid> */
    char name[PATH_MAX + 64];
    snprintf(name, sizeof name, "%s/weft-%ld-0.schedule", k->tmp,
             (long)getpid());
    if (mkdir(name, 0700) != 0)
        return 90;
    snprintf(name, sizeof name, "%s/weft-%ld-0.schedule.tmp%ld", k->tmp,
             (long)getpid(), (long)getpid());
    if (symlink(k->victim, name) != 0)
        return 91;
    weft_config_t c;
    pinned(&c, 200);
    c.strategy = "dfs"; /* no seed replays it: the file is the replay */
    return status_of(weft_explore(&c, racy_body, NULL, NULL));
}

/* A failing schedule in $TMPDIR gets a name nobody can guess or plant in
 * advance (mkstemps), mode 0600; a planted directory no longer makes the
 * write fail and the replay line disappear (dfs has no other). */
static void temporary_schedules_are_private_and_unguessable(void **state)
{
    (void)state;
    static struct tmpdir_case k;
    snprintf(k.tmp, sizeof k.tmp, "%s/tmp", dir);
    assert_int_equal(mkdir(k.tmp, 0777), 0);
    snprintf(k.victim, sizeof k.victim, "%s/victim", dir);
    write_text(k.victim, "precious\n");
    char *err;
    int rc = in_child(tmpdir_child, &k, &err);
    if (rc != 1)
        print_error("status %d, stderr:\n%s\n", rc, err);
    assert_int_equal(rc, 1);
    char *v = slurp(k.victim);
    assert_string_equal(v, "precious\n");
    free(v);
    const char *line = strstr(err, "replay:    WEFT_REPLAY=");
    if (line == NULL)
        fail_msg("no replay line in:\n%s", err);
    char path[PATH_MAX];
    line += strlen("replay:    WEFT_REPLAY=");
    size_t n = strcspn(line, " \n");
    assert_true(n < sizeof path);
    memcpy(path, line, n);
    path[n] = '\0';
    assert_true(strncmp(path, k.tmp, strlen(k.tmp)) == 0);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    free(err);

    /* and it replays the failure */
    weft_config_t c;
    pinned(&c, 1);
    c.quiet = true;
    c.replay_file = path;
    weft_result_t r;
    assert_int_equal(weft_explore(&c, racy_body, NULL, &r), 1);
    assert_int_equal(r.finding, WEFT_FINDING_ASSERTION);
    weft_result_destroy(&r);
}

/* ------------------------------------------------------- long paths */

/* base/<n components of `width` x's>, each made; the result in out. */
static void deep_dir(char *out, size_t len, const char *base, int n, int width)
{
    snprintf(out, len, "%s", base);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        assert_true(l + (size_t)width + 2 < len);
        out[l] = '/';
        memset(out + l + 1, 'a' + i, (size_t)width);
        out[l + 1 + width] = '\0';
        if (mkdir(out, 0700) != 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", out, strerror(errno));
    }
}

struct long_case {
    const char *schedule_out, *failure_dir, *name;
    char schedule_file[256];
};

static int long_child(void *arg)
{
    struct long_case *k = arg;
    weft_config_t c;
    pinned(&c, 200);
    c.schedule_out = k->schedule_out;
    c.failure_dir = k->failure_dir;
    c.name = k->name;
    weft_result_t r;
    int rc = weft_explore(&c, racy_body, NULL, &r);
    if (strlen(r.schedule_file) > 0)
        return 80; /* too long for the field: must be left out */
    weft_result_destroy(&r);
    return status_of(rc);
}

/* Paths longer than the old fixed buffers (700 bytes for a schedule, 400
 * for a failure folder, 128 for a test name) are used whole: the file
 * lands exactly there, never under a cut name, a sibling folder or a
 * shorter test name. */
static void long_paths_are_used_whole(void **state)
{
    (void)state;
    static char deep[2048], out[PATH_MAX], fdir[2048];
    deep_dir(deep, sizeof deep, dir, 4, 200);
    snprintf(out, sizeof out, "%s/failing.schedule", deep);
    assert_true(strlen(out) > 800);
    struct long_case k = { out, NULL, NULL, "" };
    char *err;
    int rc = in_child(long_child, &k, &err);
    if (rc != 1 || !is_file(out))
        fail_msg("status %d, %s not written; stderr:\n%s", rc, out, err);
    assert_contains(err, out); /* the replay line names it whole */
    free(err);

    /* a failure folder of 460 bytes and a test name of 200 */
    deep_dir(fdir, sizeof fdir, dir, 3, 150);
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    name[150] = '/'; /* a slash in a name stays inside the folder */
    struct long_case k2 = { NULL, fdir, name, "" };
    rc = in_child(long_child, &k2, &err);
    free(err);
    assert_int_equal(rc, 1);
    char want[PATH_MAX];
    name[150] = '_';
    snprintf(want, sizeof want, "%s/%s", fdir, name);
    DIR *d = opendir(want);
    if (d == NULL)
        fail_msg("no folder %s", want);
    struct dirent *e;
    int schedules = 0;
    while ((e = readdir(d)) != NULL)
        schedules += strstr(e->d_name, ".schedule") != NULL;
    closedir(d);
    assert_int_equal(schedules, 1);
    /* and nothing landed beside the failure folder */
    char *slash = strrchr(fdir, '/');
    *slash = '\0';
    d = opendir(fdir);
    assert_non_null(d);
    int entries = 0;
    while ((e = readdir(d)) != NULL)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
}

/* ----------------------------------------------------------- UTF-8 */

/* Is s (n bytes) valid UTF-8, as a strict JSON reader wants it? */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 4, cp = c & 0x07;
        else
            return false;
        if (i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += k;
    }
    return true;
}

struct utf8_case {
    char json[PATH_MAX], trace[PATH_MAX];
};

static int utf8_child(void *arg)
{
    struct utf8_case *k = arg;
    weft_config_t c;
    pinned(&c, 200);
    c.quiet = true;
    c.name = "caf\xc3\xa9 \xff\xfe latin-1 \xe9t\xe9";
    c.json_out = k->json;
    c.trace_out = k->trace;
    return status_of(weft_explore(&c, racy_body, NULL, NULL));
}

/* Bytes that are not UTF-8 (a Latin-1 test name, a message, a task name)
 * become U+FFFD in the JSON result and the trace, so both parse; valid
 * UTF-8 is kept as it is. The old code copied every byte >= 0x80 raw. */
static void json_and_trace_are_valid_utf8(void **state)
{
    (void)state;
    static struct utf8_case k;
    snprintf(k.json, sizeof k.json, "%s/result.json", dir);
    snprintf(k.trace, sizeof k.trace, "%s/trace.json", dir);
    char *err;
    int rc = in_child(utf8_child, &k, &err);
    free(err);
    assert_int_equal(rc, 1);
    const char *files[] = { k.json, k.trace };
    for (int i = 0; i < 2; i++) {
        char *t = slurp(files[i]);
        if (!valid_utf8((const unsigned char *)t, strlen(t)))
            fail_msg("%s is not valid UTF-8:\n%.400s", files[i], t);
        assert_contains(t, "\\ufffd");
        free(t);
    }
    char *j = slurp(k.json);
    assert_contains(j, "\"name\": \"caf\xc3\xa9 \\ufffd\\ufffd latin-1 "
                       "\\ufffdt\\ufffd\"");
    assert_contains(j, "counter is 1 \\ufffd\\ufffd (not UTF-8)");
    free(j);
}

/* ------------------------------------------------------- a full disk */

struct full_case {
    char json[PATH_MAX], trace[PATH_MAX];
    bool failing;
};

static int full_child(void *arg)
{
    struct full_case *k = arg;
    /* A file size limit fails writes as a full disk does (EFBIG, where a
     * full disk gives ENOSPC); its signal is ignored, as a full disk
     * sends none. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = { 100, 100 };
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        return 90;
    weft_config_t c;
    pinned(&c, 50);
    c.quiet = true;
    c.json_out = k->json;
    c.trace_out = k->failing ? k->trace : NULL;
    return status_of(
        weft_explore(&c, k->failing ? racy_body : clean_body, NULL, NULL));
}

/* When the disk is full, the file asked for is not written: the older one
 * stays whole (never a truncated or empty file), the message says which
 * file and why, and a clean exploration's result is an error. The old code
 * truncated the file in place, printed no reason and returned 0. */
static void a_full_disk_keeps_the_old_file_and_says_why(void **state)
{
    (void)state;
    static struct full_case k;
    snprintf(k.json, sizeof k.json, "%s/result.json", dir);
    snprintf(k.trace, sizeof k.trace, "%s/trace.json", dir);
    write_text(k.json, "old result\n");
    write_text(k.trace, "old trace\n");
    char *err;
    int rc = in_child(full_child, &k, &err);
    if (rc != 100 + EFBIG)
        fail_msg("status %d, expected the error EFBIG (%d); stderr:\n%s", rc,
                 100 + EFBIG, err);
    char want[PATH_MAX + 80];
    snprintf(want, sizeof want,
             "weft: cannot write the JSON result %s: File too large", k.json);
    assert_contains(err, want);
    free(err);
    char *t = slurp(k.json);
    assert_string_equal(t, "old result\n");
    free(t);

    /* with a finding, the finding stays the verdict, the trace says why */
    k.failing = true;
    rc = in_child(full_child, &k, &err);
    assert_int_equal(rc, 1);
    snprintf(want, sizeof want,
             "weft: cannot write the Perfetto trace %s: File too large",
             k.trace);
    assert_contains(err, want);
    free(err);
    t = slurp(k.trace);
    assert_string_equal(t, "old trace\n");
    free(t);
    /* no temporary file left behind */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 &&
            strcmp(e->d_name, "..") != 0)
            fail_msg("left behind: %s/%s", dir, e->d_name);
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(planted_symlinks_are_never_followed,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(
            temporary_schedules_are_private_and_unguessable, make_dir,
            remove_dir),
        cmocka_unit_test_setup_teardown(long_paths_are_used_whole, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(json_and_trace_are_valid_utf8, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(
            a_full_disk_keeps_the_old_file_and_says_why, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
