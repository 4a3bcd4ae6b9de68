/*
 * file.c: the files weft writes (schedules, the JSON result, Perfetto
 * traces, coverage tracefiles), written whole or not at all.
 *
 * A file is written under a temporary name that mkstemp makes in the
 * target's own directory (O_CREAT | O_EXCL, mode 0600: nothing planted at
 * a guessable name is ever followed or truncated), then renamed over the
 * target. A reader, a crash or a full disk never leaves half a file, and
 * an older file stays as it was when the new one cannot be written; a
 * symbolic link at the target is replaced by the file, never written
 * through. A target that exists as a FIFO or a character device
 * (/dev/stdout, /dev/null, a pipe a caller reads) is written in place:
 * those are streams a user named on purpose. Files of their own in a
 * shared directory (a failing schedule in $TMPDIR) get a unique name from
 * mkstemps and stay 0600. Every failure comes back as -errno, for a
 * message that says why.
 */
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *weft__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = weft__alloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

char *weft__aprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *p = n < 0 ? NULL : weft__alloc((size_t)n + 1);
    if (p != NULL)
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void weft__buf_shell_word(struct weft__buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 0 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789_-+=./:,@%") == n) {
        weft__buf_printf(b, "%s", s);
        return;
    }
    /* Inside '...' the shell takes every byte as it is but ', which
     * becomes '\'' (close, an escaped quote, reopen). */
    weft__buf_printf(b, "'");
    for (const char *p = s; *p != '\0';) {
        size_t k = strcspn(p, "'");
        weft__buf_printf(b, "%.*s", (int)k, p);
        p += k;
        if (*p == '\'') {
            weft__buf_printf(b, "'\\''");
            p++;
        }
    }
    weft__buf_printf(b, "'");
}

/* The mode a plain creat(path, 0666) would give: the process's umask,
 * read without changing it (umask() sets it, a race with other threads
 * creating files). */
static mode_t created_mode(void)
{
    static mode_t mode;
    static bool known;
    if (known)
        return mode;
    mode_t mask = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (f != NULL) {
        char line[128];
        unsigned m;
        while (fgets(line, sizeof line, f) != NULL)
            if (sscanf(line, "Umask: %o", &m) == 1) {
                mask = (mode_t)m & 0777;
                break;
            }
        fclose(f);
    }
    mode = 0666 & ~mask;
    known = true;
    return mode;
}

static int take(struct weft__out *o, int fd, const char *mode)
{
    o->f = fdopen(fd, mode);
    if (o->f == NULL) {
        int e = errno;
        close(fd);
        return -e;
    }
    return 0;
}

static void forget(struct weft__out *o)
{
    weft__free(o->path);
    weft__free(o->tmp);
    o->path = o->tmp = NULL;
    o->f = NULL;
    o->unique = false;
}

int weft__out_open(struct weft__out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    struct stat st;
    if (stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
        /* A stream: in place. Non-blocking open, so a FIFO nobody reads
         * is an error (ENXIO), not a hang; then blocking writes. */
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        /* swapped for a regular file since the stat: never in place */
        if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            o->path = weft__strdup(path);
            if (o->path == NULL) {
                close(fd);
                return -ENOMEM;
            }
            int rc = take(o, fd, "w");
            if (rc != 0)
                forget(o);
            return rc;
        }
        close(fd);
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return -EISDIR;
    /* .<name>.XXXXXX beside the target */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (*base == '\0')
        return -EISDIR;
    o->path = weft__strdup(path);
    o->tmp = weft__aprintf("%.*s.%s.XXXXXX", (int)dir_len, path, base);
    if (o->path == NULL || o->tmp == NULL) {
        forget(o);
        return -ENOMEM;
    }
    int fd = mkostemp(o->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        forget(o);
        return -e;
    }
    int rc = take(o, fd, "w");
    if (rc != 0) {
        unlink(o->tmp);
        forget(o);
    }
    return rc;
}

int weft__out_open_unique(struct weft__out *o, const char *dir,
                          const char *prefix, const char *suffix)
{
    memset(o, 0, sizeof *o);
    o->path = weft__aprintf("%s/%sXXXXXX%s", dir, prefix, suffix);
    if (o->path == NULL)
        return -ENOMEM;
    int fd = mkostemps(o->path, (int)strlen(suffix), O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        forget(o);
        return -e;
    }
    int rc = take(o, fd, "w");
    if (rc != 0) {
        unlink(o->path);
        forget(o);
    }
    o->unique = rc == 0;
    return rc;
}

int weft__out_close(struct weft__out *o)
{
    if (o->f == NULL)
        return -EBADF;
    errno = 0;
    int rc = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        rc = errno != 0 ? -errno : -EIO;
    if (rc == 0 && o->tmp != NULL &&
        fchmod(fileno(o->f), created_mode() & 0777) != 0)
        rc = -errno;
    if (fclose(o->f) != 0 && rc == 0)
        rc = errno != 0 ? -errno : -EIO;
    o->f = NULL;
    if (o->tmp != NULL) {
        if (rc == 0 && rename(o->tmp, o->path) != 0)
            rc = -errno;
        if (rc != 0)
            unlink(o->tmp);
    } else if (o->unique && rc != 0) {
        unlink(o->path); /* half a file of our own: nobody's */
    }
    forget(o);
    return rc;
}

void weft__out_discard(struct weft__out *o)
{
    if (o->f != NULL)
        fclose(o->f);
    if (o->tmp != NULL)
        unlink(o->tmp);
    else if (o->unique)
        unlink(o->path);
    forget(o);
}
