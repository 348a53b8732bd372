/*
 * harness.c: the runner of the C test suite (owned by bindings/c/tests).
 *
 * Runs every test of every table in a fresh child process (see harness.h for why), with a
 * per-test time limit, prints one line per test and, as its LAST line, exactly
 * "N passed, M failed". A test that cannot run on this platform says why (harness_not_run) and
 * is counted on a line of its own before that one, never as passed. Exits non-zero when a test failed or when no test ran. The tables are
 * every `const test_case NAME[]` of the tests/test_*.c files: the Makefile lists them in a
 * generated file (harness_tables), so a new test file joins the run without editing this one.
 *
 * The child: on POSIX a fork of the runner, in its own process group so that whatever it
 * started goes down with it; on Windows the runner's own executable started again with
 * "--run-one NAME" (Windows has no fork), whose simulators die with it through the job objects
 * of common/portable.c.
 *
 * Usage: ucwa_tests [SUBSTRING...]   runs only the tests whose name contains one of them.
 * UCWA_TEST_TIMEOUT_S overrides the per-test limit (default 120 s; valgrind is slow).
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "portable.h"

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
static int current_not_run;

void harness_not_run(const char *reason)
{
    printf("    not run here: %s\n", reason);
    current_not_run = 1;
}

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
    return portable_now_ms();
}

void sleep_ms(int ms)
{
    portable_sleep_ms(ms);
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
    current_not_run = 0;
    defer_count = 0;
    t->fn();
    /* Last registered, first torn down: clients before the simulators they talk to. */
    while (defer_count > 0) {
        defer_count--;
        defers[defer_count].fn(defers[defer_count].arg);
    }
    fflush(stdout);
    if (current_failures == 0 && current_not_run) {
        return HARNESS_NOT_RUN_EXIT;
    }
    return current_failures == 0 ? 0 : 1;
}

#ifdef _WIN32
/* Starts this executable again for one test, waits with a time limit; 1 when it passed. */
static int run_one(const test_case *t, int timeout_s)
{
    fflush(stdout);
    fflush(stderr);
    char self[MAX_PATH];
    DWORD n = GetModuleFileNameA(NULL, self, sizeof self);
    if (n == 0 || n >= sizeof self) {
        printf("FAIL %s: GetModuleFileName: error %lu\n", t->name, GetLastError());
        return 0;
    }
    const char *argv[] = { self, "--run-one", t->name, NULL };
    portable_proc child;
    char err[256];
    int64_t start = now_ms();
    if (!portable_spawn(&child, argv, 0, err, sizeof err)) {
        printf("FAIL %s: %s\n", t->name, err);
        return 0;
    }
    int status = -1;
    int r = portable_wait(&child, timeout_s * 1000, &status);
    /* Killing the child closes its handles, and with them the jobs of its simulators. */
    portable_stop(&child, 0);
    double secs = (double)(now_ms() - start) / 1000.0;
    if (r == 0) {
        printf("FAIL %s: no result after %d s (hung; killed)\n", t->name, timeout_s);
        return 0;
    }
    if (r < 0) {
        printf("FAIL %s: cannot wait for the test process\n", t->name);
        return 0;
    }
    if (status == 0) {
        printf("PASS %s (%.2f s)\n", t->name, secs);
        return 1;
    }
    if (status == HARNESS_NOT_RUN_EXIT) {
        printf("NOT RUN %s (reason above)\n", t->name);
        return 2;
    }
    if (status == 1) {
        printf("FAIL %s (%.2f s)\n", t->name, secs);
    } else {
        /* e.g. 0xC0000005: an access violation; 0xC0000135: a DLL not found */
        printf("FAIL %s: crashed or exited with 0x%08X (%.2f s)\n", t->name, (unsigned)status, secs);
    }
    return 0;
}
#else
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
    if (WIFEXITED(status) && WEXITSTATUS(status) == HARNESS_NOT_RUN_EXIT) {
        printf("NOT RUN %s (reason above)\n", t->name);
        return 2;
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

#endif

int main(int argc, char **argv)
{
#ifdef _WIN32
    if (argc == 3 && strcmp(argv[1], "--run-one") == 0) {
        /* A crash ends the test process with its exception code (reported by the runner)
         * instead of opening an error dialog or a debugger. */
        SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
        for (size_t i = 0; harness_tables[i]; i++) {
            for (const test_case *t = harness_tables[i]; t->name; t++) {
                if (strcmp(t->name, argv[2]) == 0) {
                    return run_in_child(t);
                }
            }
        }
        printf("    no test named %s\n", argv[2]);
        return 2;
    }
#endif
    char **filters = argv + 1;
    int filter_count = argc - 1;
    const char *limit = getenv("UCWA_TEST_TIMEOUT_S");
    int timeout_s = limit && atoi(limit) > 0 ? atoi(limit) : 120;
    int passed = 0;
    int failed = 0;
    int not_run = 0;
    int64_t start = now_ms();

#ifndef _WIN32
    /* A simulator whose stdout reader went away must not take the runner with it. */
    signal(SIGPIPE, SIG_IGN);
#endif
    for (size_t i = 0; harness_tables[i]; i++) {
        for (const test_case *t = harness_tables[i]; t->name; t++) {
            int wanted = filter_count == 0;
            for (int f = 0; f < filter_count && !wanted; f++) {
                wanted = strstr(t->name, filters[f]) != NULL;
            }
            if (!wanted) {
                continue;
            }
            int r = run_one(t, timeout_s);
            if (r == 1) {
                passed++;
            } else if (r == 2) {
                not_run++;
            } else {
                failed++;
            }
        }
    }
    printf("ran in %.1f s\n", (double)(now_ms() - start) / 1000.0);
    if (not_run > 0) {
        /* Counted apart, so the last line never counts a test that did not run as passed. */
        printf("%d not run on this platform (the NOT RUN lines above say why)\n", not_run);
    }
    printf("%d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed == 0 && passed > 0 ? 0 : 1;
}
