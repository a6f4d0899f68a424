/*
 * An LD_PRELOAD shim for the reproduction scripts (scripts/repro-stale-ack-3.ts): a slow disk on demand.
 *
 * It wraps fsync(2) and fdatasync(2). While the file named by FSYNC_HOLD_FILE exists, a call blocks (polling every
 * 2 ms) before it reaches the real call; once the file is removed, the call goes through. The JVM's
 * FileChannel.force(false), which ZooKeeper's FileTxnLog.commit uses for its write-ahead log, is fdatasync on
 * Linux (sun.nio.ch.FileDispatcherImpl.force0); FileDescriptor.sync (AtomicFileOutputStream, the epoch files) is
 * fsync. The data written before the call is untouched: write(2) is not wrapped, so the bytes reach the page
 * cache as usual; only the durability barrier, and so everything the caller does after it, waits.
 *
 * FSYNC_HOLD_LOG, if set, names a file that gets one line per call: "call", "held" (the call found the hold file)
 * and "released" (with the time it was held), each with the function, the fd, the file the fd refers to and a
 * CLOCK_REALTIME stamp in ms. FSYNC_HOLD_MAX_MS (default 120000) bounds one hold, so a forgotten hold file cannot
 * wedge a server for ever.
 *
 * Build: gcc -shared -fPIC -O2 -o fsync-hold.so fsync-hold.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

static long long now_ms(int clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void note(const char *fmt, ...) {
    const char *path = getenv("FSYNC_HOLD_LOG");
    if (path == NULL || path[0] == '\0') return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    if (n >= (int)sizeof line) n = (int)sizeof line - 1;
    /* One write(2) of one line with O_APPEND: lines of concurrent threads do not interleave. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

static void target_of(int fd, char *out, size_t size) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, size - 1);
    if (n < 0) n = 0;
    out[n] = '\0';
}

/* Blocks while the hold file exists (at most FSYNC_HOLD_MAX_MS), logging the call. errno is left as it was. */
static void gate(const char *fn, int fd) {
    int saved = errno;
    char target[512];
    target_of(fd, target, sizeof target);
    const char *hold = getenv("FSYNC_HOLD_FILE");
    long long t = now_ms(CLOCK_REALTIME);
    note("%lld call %s fd=%d %s\n", t, fn, fd, target);
    if (hold != NULL && hold[0] != '\0' && access(hold, F_OK) == 0) {
        const char *max_env = getenv("FSYNC_HOLD_MAX_MS");
        long long max_ms = max_env != NULL ? atoll(max_env) : 120000;
        if (max_ms <= 0) max_ms = 120000;
        long long start = now_ms(CLOCK_MONOTONIC);
        note("%lld held %s fd=%d %s\n", now_ms(CLOCK_REALTIME), fn, fd, target);
        struct timespec pause = {0, 2 * 1000 * 1000};
        while (access(hold, F_OK) == 0 && now_ms(CLOCK_MONOTONIC) - start < max_ms) nanosleep(&pause, NULL);
        long long held = now_ms(CLOCK_MONOTONIC) - start;
        note("%lld released %s fd=%d %s after %lld ms%s\n", now_ms(CLOCK_REALTIME), fn, fd, target, held,
             access(hold, F_OK) == 0 ? " (FSYNC_HOLD_MAX_MS reached)" : "");
    }
    errno = saved;
}

static sync_fn real(const char *name) {
    sync_fn f = (sync_fn)dlsym(RTLD_NEXT, name);
    if (f == NULL) {
        note("%lld error dlsym(%s) failed\n", now_ms(CLOCK_REALTIME), name);
        abort();
    }
    return f;
}

int fsync(int fd) {
    static sync_fn f = NULL;
    if (f == NULL) f = real("fsync");
    gate("fsync", fd);
    return f(fd);
}

int fdatasync(int fd) {
    static sync_fn f = NULL;
    if (f == NULL) f = real("fdatasync");
    gate("fdatasync", fd);
    return f(fd);
}
