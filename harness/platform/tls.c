/*
 * tls.c: each task's own thread-local storage, for glibc 2.36 on x86-64
 * and aarch64 (weft-cc: a program's __thread variables and errno are per
 * thread, as they are outside weft).
 *
 * A block is a complete glibc thread block: the static TLS area, a struct
 * pthread (with the TCB), and a DTV in glibc's format. Making a task's
 * block current is one write of the thread pointer, done by the context
 * switch (weft__ctx_switch_tp); nothing is copied at a switch. A block
 * starts as a new thread's would, from the modules' TLS images (so a
 * `__thread int x = 5` starts at 5 in every task), except the main task's,
 * which starts from what the host thread's held when weft__tls_init ran
 * (constructors may have set it). Blocks are pooled: reusing one costs a
 * copy of the template and of a struct pthread.
 *
 *   x86-64 (TLS variant II, TCB at TP):
 *     [ static TLS area: modules at TP - offset ][ struct pthread 2368 B ]
 *                                                 ^ TP = FS base
 *   aarch64 (TLS variant I, DTV pointer at TP):
 *     [ struct pthread 1856 B ][ tcbhead {dtv, private} ][ static TLS area ]
 *                              ^ TP = TPIDR_EL0
 *
 * The struct pthread offsets below are glibc 2.36's (read from the DWARF of
 * libc6-dbg for both architectures); weft__tls_init checks every one it
 * can against the live host thread and refuses whatever it cannot prove
 * right: weft then runs with the tasks sharing the host's TLS, and says so.
 * Fields a task must not share (the robust-mutex list, keys, resolver
 * state, strerror buffers, rseq) are reset as a new thread's; malloc's
 * thread cache is shared (one OS thread, no switch inside malloc; a fresh
 * cache would make glibc create an arena per task). weft's own state is
 * not in TLS in the builds that switch it (WEFT_SINGLE_THREAD, platform.h).
 */
#include "platform/platform.h"

/* The switch the core calls while blocks are in use. */
void (*weft__tls_switch)(struct weft__ctx *from, struct weft__ctx *to);

#if defined(__x86_64__) || defined(__aarch64__)

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <locale.h>
#include <pthread.h>
#include <resolv.h>
#undef p_type /* resolv.h renames it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <asm/prctl.h>
#define PD_SIZE  2368    /* sizeof (struct pthread) */
#define PD_HDR   704     /* tcbhead_t header union */
#define TCB_SIZE PD_SIZE /* TLS_TCB_SIZE: counted in the static size */
#else
#define PD_SIZE  1856 /* sizeof (struct pthread) == TLS_PRE_TCB_SIZE */
#define PD_HDR   192  /* {multiple_threads, gscope_flag} padded to 24 ptrs */
#define TCB_SIZE 16   /* tcbhead_t {dtv, private} at TP */
#endif

/* struct pthread fields after the header union: the same offsets on both
 * architectures (x86-64 offset = PD_HDR + T_x = aarch64 offset + 512). */
#define T_LIST               0
#define T_TID                16
#define T_ROBUST_PREV        24
#define T_ROBUST_HEAD        32 /* list, futex_offset, list_op_pending */
#define T_CLEANUP            56
#define T_CLEANUP_JMP_BUF    64
#define T_CANCELHANDLING     72
#define T_SPECIFIC_1ST       80  /* struct {uintptr_t seq; void *data;}[32] */
#define T_SPECIFIC           592 /* struct pthread_key_data *[32] */
#define T_SPECIFIC_USED      848
#define T_USER_STACK         850
#define T_STOPPED_START      851
#define T_SETUP_FAILED       852
#define T_LOCK               856
#define T_SETXID_FUTEX       860
#define T_JOINID             864
#define T_RESULT             872
#define T_START_ROUTINE      888
#define T_ARG                896
#define T_EVENTBUF           904 /* 24 bytes, then nextevent */
#define T_STACKBLOCK         976
#define T_STACKBLOCK_SIZE    984
#define T_GUARDSIZE          992
#define T_REPORTED_GUARDSIZE 1000
#define T_TPP                1008
#define T_RES                1016 /* struct __res_state, 568 bytes */
#define T_SIGMASK            1584
#define T_TLS_STATE          1600 /* strsignal_buf, strerror_l_buf */
#define T_RSEQ               1632 /* cpu_id_start, cpu_id, ...: 32 bytes */
#define T_END                (PD_SIZE - PD_HDR)

/* x86-64 tcbhead_t */
#define H_TCB              0
#define H_DTV              8
#define H_SELF             16
#define H_MULTIPLE_THREADS 24
#define H_GSCOPE_FLAG      28
#define H_VGETCPU          56
#define H_PRIVATE_TM       80
#define H_PRIVATE_SS       112

#define PTHREAD_KEY_1STLEVEL            32
#define DTV_SURPLUS                     14
#define TLS_DTV_UNALLOCATED             ((void *)-1l)
#define RSEQ_CPU_ID_REGISTRATION_FAILED (-2)

typedef union {
    size_t counter;
    struct {
        void *val;
        void *to_free;
    } pointer;
} dtv_t;

typedef struct {
    unsigned long ti_module, ti_offset;
} tls_index;
extern void *__tls_get_addr(tls_index *ti);
extern void *__libc_stack_end;

struct weft__tls {
    char *tp;
    void *mem;
    struct weft__tls *next, *prev; /* every block (for fork, sync) */
    struct weft__tls *free_next;   /* the pool */
};

struct mod {
    size_t modid;
    const char *name;
    const void *image;
    size_t filesz, memsz;
    ptrdiff_t off; /* block address - TP */
    bool is_static;
};

enum { TP_WRFSBASE = 1, TP_ARCH_PRCTL, TP_MSR };

static struct {
    bool inited, failed;
    char err[256];
    int method;
    bool inherit_keys;
    char *host_tp, *host_pd;
    size_t static_size, static_align;
    ptrdiff_t area_lo, area_hi; /* static area, relative to TP */
    char *tmpl;                 /* a new thread's [area_lo, area_hi) */
    char *main_tmpl;            /* the host's at init: the main task's */
    struct mod *mods;
    size_t nmods, max_modid;
    unsigned long long adds, subs;
    ptrdiff_t ctype_off[3];
    const void *ctype_val[3];
    ptrdiff_t resp_off;    /* glibc's __resp, or 0 */
    ptrdiff_t dlerror_off; /* glibc's __libc_dlerror_result, or 0 */
    ptrdiff_t tcache_off;  /* glibc malloc's tcache, or 0 */
    struct weft__tls all;  /* list head (not a block) */
    struct weft__tls *pool;
} g;

static void seterr(const char *fmt, ...) WEFT__PRINTF(1, 2);
static void seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g.err, sizeof g.err, fmt, ap);
    va_end(ap);
}

#define F(pd, off, type) (*(type *)(void *)((char *)(pd) + PD_HDR + (off)))
#define H(tp, off, type) (*(type *)(void *)((char *)(tp) + (off)))

static char *pd_of(char *tp)
{
#if defined(__x86_64__)
    return tp;
#else
    return tp - PD_SIZE;
#endif
}

static dtv_t **dtv_slot(char *tp)
{
#if defined(__x86_64__)
    return (dtv_t **)(void *)(tp + H_DTV);
#else
    return (dtv_t **)(void *)tp;
#endif
}

/* ---------------------------------------------------------- thread pointer */

void *weft__tls_get_tp(void)
{
    void *tp;
#if defined(__x86_64__)
    __asm__ volatile("movq %%fs:0, %0" : "=r"(tp)); /* tcbhead_t.tcb == TP */
#else
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
#endif
    return tp;
}

void weft__tls_set_tp(void *tp)
{
#if defined(__x86_64__)
    if (g.method == TP_WRFSBASE)
        __asm__ volatile("wrfsbase %0" ::"r"(tp) : "memory");
    else
        syscall(SYS_arch_prctl, ARCH_SET_FS, tp);
#else
    __asm__ volatile("msr tpidr_el0, %0" ::"r"(tp) : "memory");
#endif
}

/* The switch where the assembly one cannot write the thread pointer
 * (arch_prctl is a system call; ucontext): set it, then switch. What runs
 * between the two, on this stack with the next task's TLS, uses no TLS. */
static void switch_set_tp(struct weft__ctx *from, struct weft__ctx *to)
{
    from->tp = weft__tls_get_tp();
    weft__tls_set_tp(to->tp);
    weft__ctx_switch(from, to);
}

const char *weft__tls_method(void)
{
    switch (g.method) {
    case TP_WRFSBASE:
        return "wrfsbase";
    case TP_ARCH_PRCTL:
        return "arch_prctl (a system call per switch: the kernel does not "
               "enable FSGSBASE)";
    case TP_MSR:
        return "msr tpidr_el0";
    }
    return "none";
}

/* ---------------------------------------------------------------- modules */

struct scan {
    struct mod *mods;
    size_t n, cap;
    unsigned long long adds, subs;
    bool oom;
};

static int scan_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *s = arg;
    (void)size;
    s->adds = info->dlpi_adds;
    s->subs = info->dlpi_subs;
    if (info->dlpi_tls_modid == 0)
        return 0;
    const ElfW(Phdr) *tls = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_TLS)
            tls = &info->dlpi_phdr[i];
    if (tls == NULL)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct mod *m = realloc(s->mods, cap * sizeof *m);
        if (m == NULL) {
            s->oom = true;
            return 1;
        }
        s->mods = m;
        s->cap = cap;
    }
    struct mod *m = &s->mods[s->n++];
    m->modid = info->dlpi_tls_modid;
    m->name = info->dlpi_name;
    m->image = (const char *)info->dlpi_addr + tls->p_vaddr;
    m->filesz = tls->p_filesz;
    m->memsz = tls->p_memsz;
    /* dlpi_tls_data is the calling (host) thread's block for the module,
     * or NULL while its DTV entry is not allocated yet. */
    m->off = info->dlpi_tls_data
                 ? (char *)info->dlpi_tls_data - (char *)g.host_tp
                 : PTRDIFF_MAX;
    return 0;
}

/* Read the loaded modules; the caller must be on the host block. */
static int scan_modules(struct scan *s)
{
    memset(s, 0, sizeof *s);
    dl_iterate_phdr(scan_cb, s);
    if (s->oom) {
        seterr("out of memory reading the loaded modules");
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct mod *m = &s->mods[i];
        if (m->off == PTRDIFF_MAX) {
            /* Not yet allocated in the host: ask glibc, which computes a
             * static module's address or allocates a dynamic one. */
            tls_index ti = { m->modid, 0 };
            m->off = (char *)__tls_get_addr(&ti) - g.host_tp;
        }
        m->is_static =
            m->off >= g.area_lo && m->off + (ptrdiff_t)m->memsz <= g.area_hi;
        if (!m->is_static && m->off >= g.area_lo && m->off < g.area_hi) {
            seterr("module %s: its TLS block straddles the static area",
                   m->name);
            return -1;
        }
    }
    return 0;
}

static void tmpl_init_mod(char *area_base, const struct mod *m)
{
    char *d = area_base + (m->off - g.area_lo);
    memcpy(d, m->image, m->filesz);
    memset(d + m->filesz, 0, m->memsz - m->filesz);
}

static int adds_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *a = arg;
    (void)size;
    a[0] = info->dlpi_adds;
    a[1] = info->dlpi_subs;
    return 1;
}

static bool modules_changed(void)
{
    unsigned long long a[2] = { 0, 0 };
    dl_iterate_phdr(adds_cb, a);
    return a[0] != g.adds || a[1] != g.subs;
}

/* ------------------------------------------------ libc internals we locate */

/* Is [lo, lo + len) readable? (to probe candidate pointers) */
static bool readable(uintptr_t lo, size_t len)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    static char buf[1 << 16];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 &&
           (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    for (char *line = buf; line && *line;) {
        unsigned long a, b;
        char perm[5];
        if (sscanf(line, "%lx-%lx %4s", &a, &b, perm) == 3 && perm[0] == 'r' &&
            lo >= a && lo + len <= b)
            return true;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return false;
}

/*
 * glibc's malloc keeps `tcache` (the thread's cache struct) in its static
 * TLS at a private offset: found by behaviour. Free a chunk, find the word
 * of libc's TLS block that points at a struct holding it, check that malloc
 * pops it and free pushes it back. Reads go through volatile: the compiler
 * may assume malloc and free touch no memory of ours.
 */
static ptrdiff_t find_tcache(const struct mod *libc)
{
    void *volatile p = malloc(24);
    free(p);
    char *lo = g.host_tp + libc->off;
    for (size_t w = 0; w + sizeof(void *) <= libc->memsz; w += sizeof(void *)) {
        uintptr_t v = *(uintptr_t *)(void *)(lo + w);
        if (v == 0 || (v & 15) != 0 || !readable(v, 1024))
            continue;
        void *volatile *t = (void *volatile *)v;
        for (size_t j = 0; j < 1024 / sizeof(void *); j++) {
            if (t[j] != p)
                continue;
            void *q = malloc(24);
            bool popped = q == p && t[j] != p;
            free(q);
            if (popped && t[j] == p)
                return (lo + w) - g.host_tp;
            return 0;
        }
    }
    return 0; /* not glibc's malloc (ASan), or tcache disabled */
}

static const struct mod *mod_containing(ptrdiff_t off)
{
    for (size_t i = 0; i < g.nmods; i++)
        if (off >= g.mods[i].off &&
            off < g.mods[i].off + (ptrdiff_t)g.mods[i].memsz)
            return &g.mods[i];
    return NULL;
}

/* ------------------------------------------------------------------- init */

static int check_layout(void)
{
    char *tp = g.host_tp, *pd = g.host_pd;
#if defined(__x86_64__)
    if (H(tp, H_TCB, char *) != tp || H(tp, H_SELF, char *) != tp) {
        seterr("tcbhead_t.tcb/self is not the thread pointer");
        return -1;
    }
#endif
    if (F(pd, T_TID, pid_t) != (pid_t)syscall(SYS_gettid)) {
        seterr("struct pthread: tid is not at the expected offset");
        return -1;
    }
    char *rh = pd + PD_HDR + T_ROBUST_HEAD;
    if (F(pd, T_ROBUST_HEAD, char *) != rh ||
        F(pd, T_ROBUST_PREV, char *) != rh) {
        seterr("struct pthread: robust_head is not at the expected offset");
        return -1;
    }
    if (F(pd, T_SPECIFIC, char *) != pd + PD_HDR + T_SPECIFIC_1ST) {
        seterr("struct pthread: specific[0] is not &specific_1stblock");
        return -1;
    }
    if (F(pd, T_USER_STACK, bool) != true ||
        F(pd, T_STACKBLOCK_SIZE, size_t) != (size_t)__libc_stack_end) {
        seterr("not called on the program's initial thread");
        return -1;
    }
    if (tp + __rseq_offset != pd + PD_HDR + T_RSEQ) {
        seterr("struct pthread: rseq_area is not at __rseq_offset");
        return -1;
    }
    return 0;
}

/* In a child of fork: the kernel wrote the child's tid into the forking
 * block's struct pthread only (CLONE_CHILD_SETTID); the other blocks and
 * the host still hold the parent's, which pthread_kill would signal. */
static void atfork_child(void)
{
    if (!g.inited)
        return;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    F(g.host_pd, T_TID, pid_t) = tid;
    for (struct weft__tls *b = g.all.next; b != &g.all; b = b->next)
        F(pd_of(b->tp), T_TID, pid_t) = tid;
}

static int init(void)
{
    const char *v = gnu_get_libc_version();
    if (strcmp(v, "2.36") != 0) {
        seterr("glibc %s: struct pthread's layout is known for 2.36 only", v);
        return -1;
    }
    g.host_tp = weft__tls_get_tp();
    g.host_pd = pd_of(g.host_tp);
    if (check_layout() != 0)
        return -1;
    /* ASan finds its per-thread state through pthread_getspecific. */
    g.inherit_keys = dlsym(RTLD_DEFAULT, "__asan_init") != NULL;
#if defined(__x86_64__)
    g.method = (getauxval(AT_HWCAP2) & 2 /* HWCAP2_FSGSBASE */) ? TP_WRFSBASE
                                                                : TP_ARCH_PRCTL;
#else
    g.method = TP_MSR;
#endif
#ifdef WEFT_SWITCH_UCONTEXT
    weft__tls_switch = switch_set_tp;
#else
    weft__tls_switch =
        g.method == TP_ARCH_PRCTL ? switch_set_tp : weft__ctx_switch_tp;
#endif
    /* The static TLS size, surplus included (where dlopen puts
     * initial-exec modules): GLIBC_PRIVATE, as ASan reads it too. */
    void (*get_static)(size_t *, size_t *) =
        (void (*)(size_t *, size_t *))dlvsym(
            RTLD_DEFAULT, "_dl_get_tls_static_info", "GLIBC_PRIVATE");
    if (get_static == NULL) {
        seterr("_dl_get_tls_static_info not found");
        return -1;
    }
    get_static(&g.static_size, &g.static_align);
    if (g.static_align < 64)
        g.static_align = 64;
#if defined(__x86_64__)
    g.area_lo = -(ptrdiff_t)(g.static_size - TCB_SIZE);
    g.area_hi = 0;
#else
    g.area_lo = TCB_SIZE;
    g.area_hi = (ptrdiff_t)g.static_size;
#endif
    struct scan s;
    if (scan_modules(&s) != 0)
        return -1;
    g.mods = s.mods;
    g.nmods = s.n;
    g.adds = s.adds;
    g.subs = s.subs;
    dtv_t *hdtv = *dtv_slot(g.host_tp);
    for (size_t i = 0; i < g.nmods; i++) {
        struct mod *m = &g.mods[i];
        if (m->modid > g.max_modid)
            g.max_modid = m->modid;
        if (m->is_static &&
            (m->modid >= hdtv[-1].counter ||
             hdtv[m->modid].pointer.val != g.host_tp + m->off)) {
            seterr("the DTV entry of module %s is not its static block",
                   m->name);
            return -1;
        }
    }
    size_t area = (size_t)(g.area_hi - g.area_lo);
    g.tmpl = calloc(1, area);
    g.main_tmpl = malloc(area);
    if (g.tmpl == NULL || g.main_tmpl == NULL) {
        seterr("out of memory");
        return -1;
    }
    for (size_t i = 0; i < g.nmods; i++)
        if (g.mods[i].is_static)
            tmpl_init_mod(g.tmpl, &g.mods[i]);
    memcpy(g.main_tmpl, g.host_tp + g.area_lo, area);

    /* The locale caches a new thread sets in __ctype_init(): the global
     * locale's tables, where __ctype_*_loc() point. */
    locale_t old = uselocale(LC_GLOBAL_LOCALE);
    const void **loc[3] = { (const void **)__ctype_b_loc(),
                            (const void **)__ctype_tolower_loc(),
                            (const void **)__ctype_toupper_loc() };
    for (int i = 0; i < 3; i++) {
        g.ctype_off[i] = (char *)loc[i] - g.host_tp;
        g.ctype_val[i] = *loc[i];
        if (mod_containing(g.ctype_off[i]) == NULL) {
            seterr("the ctype caches are not in static TLS");
            return -1;
        }
    }
    uselocale(old);
    /* start_thread sets __resp = &pd->res: each thread its own resolver
     * state. dlsym of a TLS symbol gives the calling thread's copy. */
    void *resp = dlvsym(RTLD_DEFAULT, "__resp", "GLIBC_PRIVATE");
    if (resp != NULL && mod_containing((char *)resp - g.host_tp) != NULL)
        g.resp_off = (char *)resp - g.host_tp;
    void *dle = dlvsym(RTLD_DEFAULT, "__libc_dlerror_result", "GLIBC_PRIVATE");
    if (dle != NULL && mod_containing((char *)dle - g.host_tp) != NULL)
        g.dlerror_off = (char *)dle - g.host_tp;
    const struct mod *libc = mod_containing((char *)&errno - g.host_tp);
    if (libc == NULL) {
        seterr("errno is not in static TLS");
        return -1;
    }
    g.tcache_off = find_tcache(libc);
    g.all.next = g.all.prev = &g.all;
    pthread_atfork(NULL, NULL, atfork_child);
    return 0;
}

const char *weft__tls_init(void)
{
    if (g.inited)
        return NULL;
    if (g.failed)
        return g.err;
    if (init() != 0) {
        g.failed = true;
        return g.err;
    }
    g.inited = true;
    return NULL;
}

bool weft__tls_active(void)
{
    return g.inited;
}

/* ----------------------------------------------------------------- blocks */

static int dtv_reset(struct weft__tls *b)
{
    dtv_t *hdtv = *dtv_slot(g.host_tp);
    size_t len = hdtv[-1].counter;
    if (len < g.max_modid + DTV_SURPLUS)
        len = g.max_modid + DTV_SURPLUS;
    dtv_t *dtv = *dtv_slot(b->tp);
    if (dtv == NULL || dtv[-1].counter < len) {
        /* glibc's format: [len][generation][module 1..len]; glibc
         * reallocs it from &dtv[-1] (_dl_resize_dtv): glibc's malloc. */
        if (dtv != NULL)
            free(&dtv[-1]);
        dtv_t *a = calloc(len + 2, sizeof(dtv_t));
        if (a == NULL) {
            *dtv_slot(b->tp) = NULL;
            return -1;
        }
        a[0].counter = len;
        dtv = a + 1;
    }
    len = dtv[-1].counter;
    /* The host's generation is never newer than what the entries below
     * describe: at worst glibc re-checks on the first __tls_get_addr. */
    dtv[0].counter = hdtv[0].counter;
    for (size_t i = 1; i <= len; i++) {
        dtv[i].pointer.val = TLS_DTV_UNALLOCATED;
        dtv[i].pointer.to_free = NULL;
    }
    for (size_t i = 0; i < g.nmods; i++)
        if (g.mods[i].is_static)
            dtv[g.mods[i].modid].pointer.val = b->tp + g.mods[i].off;
    *dtv_slot(b->tp) = dtv;
    return 0;
}

static void pd_fix(struct weft__tls *b, void *stack_lo, size_t stack_size,
                   bool main)
{
    char *tp = b->tp, *pd = pd_of(tp);
    dtv_t *dtv = *dtv_slot(tp); /* kept across the copy */
    memcpy(pd, g.host_pd, PD_SIZE);
#if defined(__x86_64__)
    /* tcbhead_t: keep sysinfo, stack_guard (fs:0x28, the canary),
     * pointer_guard (fs:0x30, PTR_MANGLE), feature_1 (CET), ssp_base. */
    H(tp, H_TCB, char *) = tp;
    H(tp, H_SELF, char *) = tp; /* THREAD_SELF, pthread_self() */
    /* catomic_* skip the lock prefix while this is 0. */
    H(tp, H_MULTIPLE_THREADS, int) = 1;
    H(tp, H_GSCOPE_FLAG, int) = 0;
    memset(tp + H_VGETCPU, 0, 16);
    memset(tp + H_PRIVATE_TM, 0, 32);
    H(tp, H_PRIVATE_SS, void *) = NULL; /* -fsplit-stack: unsupported */
#else
    *(int *)(void *)(pd + 4) = 0; /* header.gscope_flag */
    ((void **)(void *)tp)[1] = ((void **)(void *)g.host_tp)[1];
#endif
    *dtv_slot(tp) = dtv;
    /* Not on glibc's thread lists: a self-linked node makes the list_del
     * of fork's reclaim_stacks a no-op if a task forks. */
    char *list = pd + PD_HDR + T_LIST;
    ((char **)(void *)list)[0] = list;
    ((char **)(void *)list)[1] = list;
    /* Robust mutexes locked in the task are listed here. */
    char *rh = pd + PD_HDR + T_ROBUST_HEAD;
    F(pd, T_ROBUST_PREV, char *) = rh;
    ((char **)(void *)rh)[0] = rh;
    ((void **)(void *)rh)[2] = NULL; /* list_op_pending */
    F(pd, T_CLEANUP, void *) = NULL;
    F(pd, T_CLEANUP_JMP_BUF, void *) = NULL;
    F(pd, T_CANCELHANDLING, int) = 0;
    /* pthread keys: NULL for every key, as a new thread sees them (glibc
     * reads keys 0-31 from specific_1stblock, the others through
     * second-level blocks it callocs). The main task is the initial
     * thread: it keeps the values (a constructor may have set some), in
     * copies of its own. ASan finds its per-thread state there: under ASan
     * every task keeps keys 0-31. */
    void **spec = (void **)(void *)(pd + PD_HDR + T_SPECIFIC);
    void **host_spec = (void **)(void *)(g.host_pd + PD_HDR + T_SPECIFIC);
    memset(spec, 0, PTHREAD_KEY_1STLEVEL * sizeof(void *));
    spec[0] = pd + PD_HDR + T_SPECIFIC_1ST;
    if (main) {
        for (int i = 1; i < PTHREAD_KEY_1STLEVEL; i++)
            if (host_spec[i] != NULL && (spec[i] = malloc(32 * 16)) != NULL)
                memcpy(spec[i], host_spec[i], 32 * 16);
    } else if (!g.inherit_keys) {
        memset(pd + PD_HDR + T_SPECIFIC_1ST, 0, 32 * 16);
        F(pd, T_SPECIFIC_USED, bool) = false;
    }
    F(pd, T_STOPPED_START, bool) = false;
    F(pd, T_SETUP_FAILED, int) = 0;
    F(pd, T_LOCK, int) = 0;
    F(pd, T_SETXID_FUTEX, unsigned) = 0;
    F(pd, T_JOINID, void *) = NULL;
    F(pd, T_RESULT, void *) = NULL;
    F(pd, T_START_ROUTINE, void *) = NULL;
    F(pd, T_ARG, void *) = NULL;
    memset(pd + PD_HDR + T_EVENTBUF, 0, T_STACKBLOCK - T_EVENTBUF);
    if (stack_lo != NULL) {
        /* pthread_getattr_np reports it, and glibc's internal alloca is
         * limited to a quarter of it (the host's is the whole initial
         * stack). */
        F(pd, T_STACKBLOCK, void *) = stack_lo;
        F(pd, T_STACKBLOCK_SIZE, size_t) = stack_size;
        F(pd, T_GUARDSIZE, size_t) = 0;
        F(pd, T_REPORTED_GUARDSIZE, size_t) = 0;
    }
    F(pd, T_TPP, void *) = NULL;
    memset(pd + PD_HDR + T_RES, 0, T_SIGMASK - T_RES);
    memset(pd + PD_HDR + T_SIGMASK, 0, T_TLS_STATE - T_SIGMASK);
    /* strsignal/strerror_l buffers: the host's are malloc'ed. */
    memset(pd + PD_HDR + T_TLS_STATE, 0, 16);
    /* rseq: the kernel updates only the host's area; a negative cpu_id
     * sends sched_getcpu() and rseq users to the system call. */
    memset(pd + PD_HDR + T_RSEQ, 0, T_END - T_RSEQ);
    F(pd, T_RSEQ + 4, int32_t) = RSEQ_CPU_ID_REGISTRATION_FAILED;
}

struct weft__tls *weft__tls_get(void *stack_lo, size_t stack_size, bool main)
{
    if (!g.inited || weft__alloc_should_fail())
        return NULL;
    if (modules_changed() && weft__tls_sync() < 0)
        return NULL;
    struct weft__tls *b = g.pool;
    if (b != NULL) {
        g.pool = b->free_next;
    } else {
        b = calloc(1, sizeof *b);
        if (b == NULL)
            return NULL;
#if defined(__x86_64__)
        size_t below = (size_t)(-g.area_lo), above = PD_SIZE;
#else
        size_t below = PD_SIZE, above = (size_t)g.area_hi;
#endif
        if (posix_memalign(&b->mem, g.static_align,
                           below + above + g.static_align) != 0) {
            free(b);
            return NULL;
        }
        uintptr_t tp = ((uintptr_t)b->mem + below + g.static_align - 1) &
                       ~(uintptr_t)(g.static_align - 1);
        b->tp = (char *)tp;
        *dtv_slot(b->tp) = NULL;
        b->next = &g.all;
        b->prev = g.all.prev;
        g.all.prev->next = b;
        g.all.prev = b;
    }
    memcpy(b->tp + g.area_lo, main ? g.main_tmpl : g.tmpl,
           (size_t)(g.area_hi - g.area_lo));
    pd_fix(b, stack_lo, stack_size, main);
    if (dtv_reset(b) != 0) {
        b->free_next = g.pool;
        g.pool = b;
        return NULL;
    }
    /* libc's TLS as start_thread leaves it. */
    for (int i = 0; i < 3; i++)
        *(const void **)(void *)(b->tp + g.ctype_off[i]) = g.ctype_val[i];
    if (g.resp_off != 0)
        *(void **)(void *)(b->tp + g.resp_off) = pd_of(b->tp) + PD_HDR + T_RES;
    if (g.dlerror_off != 0)
        *(void **)(void *)(b->tp + g.dlerror_off) = NULL;
    if (g.tcache_off != 0)
        *(void **)(void *)(b->tp + g.tcache_off) =
            *(void **)(void *)(g.host_tp + g.tcache_off);
    return b;
}

void *weft__tls_tp(const struct weft__tls *b)
{
    return b->tp;
}

static void drain_dlerror(void)
{
    for (int i = 0; i < 4 && dlerror() != NULL; i++)
        ;
}

void weft__tls_put(struct weft__tls *b)
{
    if (b == NULL)
        return;
    char *pd = pd_of(b->tp);
    /* What glibc's thread exit (__libc_thread_freeres) would free. */
    if (g.dlerror_off != 0 &&
        *(void **)(void *)(b->tp + g.dlerror_off) != NULL) {
        void *was = weft__tls_get_tp();
        weft__tls_set_tp(b->tp);
        drain_dlerror();
        weft__tls_set_tp(was);
    }
    struct __res_state *res =
        (struct __res_state *)(void *)(pd + PD_HDR + T_RES);
    if (res->options & RES_INIT)
        res_nclose(res);
    dtv_t *dtv = *dtv_slot(b->tp); /* glibc may have reallocated it */
    for (size_t i = 1; dtv != NULL && i <= dtv[-1].counter; i++) {
        free(dtv[i].pointer.to_free); /* dynamic TLS (__tls_get_addr) */
        dtv[i].pointer.to_free = NULL;
    }
    void **spec = (void **)(void *)(pd + PD_HDR + T_SPECIFIC);
    for (int i = 1; i < PTHREAD_KEY_1STLEVEL; i++) {
        free(spec[i]);
        spec[i] = NULL;
    }
    void **st = (void **)(void *)(pd + PD_HDR + T_TLS_STATE);
    free(st[0]);
    free(st[1]);
    st[0] = st[1] = NULL;
    b->free_next = g.pool;
    g.pool = b;
}

int weft__tls_sync(void)
{
    /* Read the modules on the host block: dlpi_tls_data is the calling
     * thread's, and __tls_get_addr may have to allocate. */
    void *was = weft__tls_get_tp();
    if (was != g.host_tp)
        weft__tls_set_tp(g.host_tp);
    struct scan s;
    int rc = scan_modules(&s);
    if (was != g.host_tp)
        weft__tls_set_tp(was);
    if (rc != 0) {
        free(s.mods);
        return -1;
    }
    int added = 0;
    for (size_t i = 0; i < s.n; i++) {
        struct mod *m = &s.mods[i];
        if (m->modid > g.max_modid)
            g.max_modid = m->modid;
        if (!m->is_static)
            continue;
        bool known = false;
        for (size_t j = 0; j < g.nmods; j++)
            if (g.mods[j].is_static && g.mods[j].modid == m->modid &&
                g.mods[j].image == m->image && g.mods[j].off == m->off)
                known = true;
        if (known)
            continue;
        /* New static TLS (an initial-exec library loaded by dlopen): glibc
         * initialised it in the threads on its lists only. */
        tmpl_init_mod(g.tmpl, m);
        tmpl_init_mod(g.main_tmpl, m);
        for (struct weft__tls *b = g.all.next; b != &g.all; b = b->next)
            tmpl_init_mod(b->tp + g.area_lo, m);
        added++;
    }
    free(g.mods);
    g.mods = s.mods;
    g.nmods = s.n;
    g.adds = s.adds;
    g.subs = s.subs;
    return added;
}

void weft__tls_area(const struct weft__tls *b, uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)(b->tp + g.area_lo);
    *hi = (uintptr_t)(b->tp + g.area_hi);
}

const char *weft__tls_locate(const void *tp, const void *p, size_t *off,
                             bool *is_errno)
{
    ptrdiff_t at = (const char *)p - (const char *)tp;
    if (!g.inited || tp == NULL)
        return NULL;
    if (at < g.area_lo || at >= g.area_hi)
        return NULL;
    *is_errno = at == (char *)&errno - g.host_tp;
    for (size_t i = 0; i < g.nmods; i++) {
        const struct mod *m = &g.mods[i];
        if (m->is_static && at >= m->off && at < m->off + (ptrdiff_t)m->memsz) {
            *off = (size_t)(at - m->off);
            return m->name != NULL ? m->name : "";
        }
    }
    *off = 0;
    return "?";
}

#else /* no per-task TLS on this architecture */

const char *weft__tls_init(void)
{
    return "per-task thread-local storage is supported on x86-64 and "
           "aarch64 only";
}

bool weft__tls_active(void)
{
    return false;
}

const char *weft__tls_method(void)
{
    return "none";
}

void *weft__tls_get_tp(void)
{
    return NULL;
}

void weft__tls_set_tp(void *tp)
{
    (void)tp;
}

struct weft__tls *weft__tls_get(void *stack_lo, size_t stack_size, bool main)
{
    (void)stack_lo;
    (void)stack_size;
    (void)main;
    return NULL;
}

void *weft__tls_tp(const struct weft__tls *b)
{
    (void)b;
    return NULL;
}

void weft__tls_put(struct weft__tls *b)
{
    (void)b;
}

int weft__tls_sync(void)
{
    return 0;
}

void weft__tls_area(const struct weft__tls *b, uintptr_t *lo, uintptr_t *hi)
{
    (void)b;
    *lo = *hi = 0;
}

const char *weft__tls_locate(const void *tp, const void *p, size_t *off,
                             bool *is_errno)
{
    (void)tp;
    (void)p;
    (void)off;
    (void)is_errno;
    return NULL;
}

#endif
