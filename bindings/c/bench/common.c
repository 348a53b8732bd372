/*
 * common.c: what every part of the presence benchmark shares (owned by bindings/c/bench): the
 * paths' names and users, failing loudly, clocks and CPU accounting, the simulator process.
 */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifndef UCWA_SIM_DEFAULT
#define UCWA_SIM_DEFAULT "../../target/release/ucwa-sim"
#endif

const char *const PATH_NAMES[PATH_COUNT] = { "ucwa", "ucwa-noevents", "curl" };
const char *const PATH_USERS[PATH_COUNT] = { "alice@contoso.com", "carol@contoso.com",
                                                    "bob@contoso.com" };
const char *const PATH_PASSWORDS[PATH_COUNT] = { "alice-password", "carol-password",
                                                        "bob-password" };

static portable_proc g_sim; /* common/portable.h: the launcher shared with the tests and demo */

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "presence_bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    portable_stop(&g_sim, 0);
    exit(1);
}

/* CPU time (user + system, every thread of this process; the simulator is another process) and
 * context switches, so the figure says how much work a call costs the host, not only how long. */
void usage_now(double *cpu_us, double *switches)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    *switches = (double)(ru.ru_nvcsw + ru.ru_nivcsw);
}

double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ----- the simulator process ----------------------------------------------------------- */

/* Starts ucwa-sim and returns its root URL (first stdout line) in url. */
void start_sim(char *url, size_t url_len)
{
    const char *path = getenv("UCWA_SIM");
    if (!path || !*path) {
        path = UCWA_SIM_DEFAULT;
    }
    if (access(path, X_OK) != 0) {
        die("ucwa-sim not found at %s (cargo build --release -p ucwa-sim, or set UCWA_SIM)", path);
    }
    /* --event-hold-s 0: the echo event of each POST is answered at once, as in the tests;
     * --log-limit: the whole run must stay in the log for the request-count check;
     * --app-expiry-s: bob's application has no P-GET parked and must outlive the run. */
    const char *argv[] = { path, "--listen", "127.0.0.1:0", "--event-hold-s", "0",
                           "--log-limit", "100000", "--app-expiry-s", "86400",
                           "--user", "alice@contoso.com:alice-password",
                           "--user", "bob@contoso.com:bob-password",
                           "--user", "carol@contoso.com:carol-password", NULL };
    char err[512];
    if (!portable_start_sim(&g_sim, argv, url, url_len, 15000, err, sizeof err)) {
        die("%s", err);
    }
    if (strncmp(url, "http://127.0.0.1:", 17) != 0) {
        die("unexpected first line from ucwa-sim: %s", url);
    }
}

void stop_sim(void)
{
    portable_stop(&g_sim, 5000);
}
