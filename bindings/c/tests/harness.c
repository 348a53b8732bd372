/*
 * harness.c: the runner of the C test suite (owned by bindings/c/tests).
 *
 * Runs every test of every table in its own forked child (see harness.h for why), with a
 * per-test time limit, prints one line per test and, as its LAST line, exactly
 * "N passed, M failed". Exits non-zero when a test failed or when no test ran.
 *
 * Usage: ucwa_tests [SUBSTRING]   runs only the tests whose name contains SUBSTRING.
 * UCWA_TEST_TIMEOUT_S overrides the per-test limit (default 120 s; valgrind is slow).
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* Leak checking on even without ASAN_OPTIONS, and a leak report exits with 23 (not the 1 of a
 * failed assertion) so the runner can say which it was. ASAN_OPTIONS still overrides these. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=1:exitcode=23";
}
#endif

static int current_failures;

typedef struct deferred {
    void (*fn)(void *);
    void *arg;
} deferred;

static deferred defers[64];
static size_t defer_count;

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    current_failures++;
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void harness_defer(void (*fn)(void *), void *arg)
{
    if (defer_count == sizeof defers / sizeof defers[0]) {
        harness_fail(__FILE__, __LINE__, "too many deferred cleanups");
        fn(arg);
        return;
    }
    defers[defer_count].fn = fn;
    defers[defer_count].arg = arg;
    defer_count++;
}

static void free_client(void *c)
{
    ucwa_client_free((ucwa_client *)c);
}

ucwa_client *track_client(ucwa_client *client)
{
    if (client) {
        harness_defer(free_client, client);
    }
    return client;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

const char *status_name(uint32_t status)
{
    static const char *const names[] = {
        "UCWA_OK",
        "UCWA_ERROR_INVALID_ARGUMENT",
        "UCWA_ERROR_INVALID_HANDLE",
        "UCWA_ERROR_INVALID_STATE",
        "UCWA_ERROR_NETWORK",
        "UCWA_ERROR_TIMEOUT",
        "UCWA_ERROR_TLS",
        "UCWA_ERROR_AUTHENTICATION",
        "UCWA_ERROR_SERVER",
        "UCWA_ERROR_PROTOCOL",
        "UCWA_ERROR_INSECURE",
        "UCWA_ERROR_INTERNAL",
    };
    return status < sizeof names / sizeof names[0] ? names[status] : "(unknown status)";
}

/* Runs one test in this (child) process and returns its exit status. */
static int run_in_child(const test_case *t)
{
    current_failures = 0;
    defer_count = 0;
    t->fn();
    /* Last registered, first torn down: clients before the simulators they talk to. */
    while (defer_count > 0) {
        defer_count--;
        defers[defer_count].fn(defers[defer_count].arg);
    }
    fflush(stdout);
    return current_failures == 0 ? 0 : 1;
}

/* Forks, runs the test, waits with a time limit; returns 1 when it passed. */
static int run_one(const test_case *t, int timeout_s)
{
    fflush(stdout);
    fflush(stderr);
    int64_t start = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL %s: fork: %s\n", t->name, strerror(errno));
        return 0;
    }
    if (pid == 0) {
        /* Own process group, so a hung test's simulators go down with it. */
        setpgid(0, 0);
        exit(run_in_child(t));
    }
    setpgid(pid, pid);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            printf("FAIL %s: waitpid: %s\n", t->name, strerror(errno));
            return 0;
        }
        if (now_ms() - start > (int64_t)timeout_s * 1000) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            printf("FAIL %s: no result after %d s (hung; killed)\n", t->name, timeout_s);
            return 0;
        }
        sleep_ms(10);
    }
    /* Anything the test left in its process group (a simulator) goes now. */
    kill(-pid, SIGKILL);
    double secs = (double)(now_ms() - start) / 1000.0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("PASS %s (%.2f s)\n", t->name, secs);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        printf("FAIL %s: crashed with signal %d (%.2f s)\n", t->name, WTERMSIG(status), secs);
    } else if (WEXITSTATUS(status) == 1) {
        printf("FAIL %s (%.2f s)\n", t->name, secs);
    } else if (WEXITSTATUS(status) == 23) {
        printf("FAIL %s: LeakSanitizer found leaks (report above) (%.2f s)\n", t->name, secs);
    } else if (WEXITSTATUS(status) == 99) {
        printf("FAIL %s: valgrind found errors or definite leaks (report above) (%.2f s)\n", t->name, secs);
    } else {
        printf("FAIL %s: exit status %d (sanitizer or valgrind report above) (%.2f s)\n",
               t->name, WEXITSTATUS(status), secs);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const test_case *const tables[] = {
        header_tests, robustness_tests, flow_tests, event_tests, concurrency_tests,
        hardening_tests,
    };
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *limit = getenv("UCWA_TEST_TIMEOUT_S");
    int timeout_s = limit && atoi(limit) > 0 ? atoi(limit) : 120;
    int passed = 0;
    int failed = 0;
    int64_t start = now_ms();

    /* A simulator whose stdout reader went away must not take the runner with it. */
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        for (const test_case *t = tables[i]; t->name; t++) {
            if (filter && !strstr(t->name, filter)) {
                continue;
            }
            if (run_one(t, timeout_s)) {
                passed++;
            } else {
                failed++;
            }
        }
    }
    printf("ran in %.1f s\n", (double)(now_ms() - start) / 1000.0);
    printf("%d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed == 0 && passed > 0 ? 0 : 1;
}
