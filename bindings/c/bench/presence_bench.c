/*
 * presence_bench.c: the warm-path benchmark (owned by bindings/c/bench; not part of the test
 * suite): a warm ucwa_set_availability through the C ABI against a bare libcurl POST on a
 * kept-alive connection to the same simulator endpoint. Targets: client CPU per call with the
 * event channel off at most 1.10x libcurl's; instructions per call (callgrind, run-bench.sh) at
 * most 1.15x. The parts are listed in bench.h.
 *
 * It starts its own ucwa-sim on 127.0.0.1:0 and measures three paths against it:
 *   ucwa          alice, through the C ABI, event channel on (what a real host runs)
 *   ucwa-noevents carol, through the C ABI, event channel off (no P-GET traffic beside the POSTs)
 *   curl          bob, one libcurl easy handle doing the protocol by hand, then bare presence POSTs
 * Each path does the same warm request: POST {"availability":"Busy"|"Online"} on the user's
 * presence resource, alternating. The timed loops are interleaved in blocks (one block of each
 * path per round, the order rotating) so machine noise falls on all paths alike. Afterwards the
 * simulator's log must show exactly warmup+N presence POSTs per user, else the run fails: a
 * benchmark that silently sent extra (or fewer) requests would measure the wrong thing.
 *
 * Under valgrind --tool=callgrind (--callgrind, one path with --only) each timed loop runs as one
 * block between CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT, so the dump holds the
 * instructions of exactly those N calls, on every thread of the process (the library's runtime
 * threads included); run-bench.sh divides by N.
 */
#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>

#include "bench.h"

/* ----- main ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: presence_bench [--iterations N] [--block B] [--warmup W]\n"
            "                      [--only ucwa|ucwa-noevents|curl] [--callgrind]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long n = 2000;
    long block = 100;
    long warmup = 50;
    int only = -1;
    int callgrind = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            n = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc) {
            block = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) {
            warmup = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            const char *name = argv[++i];
            for (int p = 0; p < PATH_COUNT; p++) {
                if (strcmp(name, PATH_NAMES[p]) == 0) {
                    only = p;
                }
            }
            if (only < 0) {
                usage();
            }
        } else if (strcmp(argv[i], "--callgrind") == 0) {
            callgrind = 1;
        } else {
            usage();
        }
    }
    /* Bounded: the simulator's log (100000 entries) must hold every presence POST and P-GET. */
    if (n < 1 || n > 20000 || block < 1 || warmup < 0 || warmup > 1000) {
        usage();
    }
    if (callgrind) {
        block = n; /* one zeroed-and-dumped region per path */
    }
    int enabled[PATH_COUNT];
    for (int p = 0; p < PATH_COUNT; p++) {
        enabled[p] = only < 0 || only == p;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        die("curl_global_init failed");
    }
    char url[512];
    start_sim(url, sizeof url);
    char origin[256];
    snprintf(origin, sizeof origin, "%.*s", (int)(strchr(url + 7, '/') - url), url);

    ucwa_client *clients[PATH_COUNT] = { NULL };
    curl_path cp;
    memset(&cp, 0, sizeof cp);
    for (int p = 0; p < PATH_COUNT; p++) {
        if (!enabled[p]) {
            continue;
        }
        if (p == PATH_CURL) {
            curl_sign_in(&cp, url);
        } else {
            clients[p] = ucwa_setup(url, p);
        }
    }

    /* Warm-up, untimed: first-use costs (connection setup, lazy allocations) stay out. */
    for (long i = 0; i < warmup; i++) {
        for (int p = 0; p < PATH_COUNT; p++) {
            if (!enabled[p]) {
                continue;
            }
            if (p == PATH_CURL) {
                curl_post_presence(&cp, i % 2 == 0);
            } else {
                ucwa_post_presence(clients[p], i % 2 == 0);
            }
        }
    }

    double *samples[PATH_COUNT] = { NULL };
    for (int p = 0; p < PATH_COUNT; p++) {
        samples[p] = calloc((size_t)n, sizeof(double));
        if (!samples[p]) {
            die("out of memory");
        }
    }
    double cpu_us[PATH_COUNT] = { 0 };
    double switches[PATH_COUNT] = { 0 };
    uint64_t requests_before[PATH_COUNT] = { 0 };
    for (int p = 0; p < PATH_COUNT; p++) {
        if (clients[p]) {
            ucwa_error *err = NULL;
            ucwa_check(ucwa_client_request_count(clients[p], &requests_before[p], &err), err,
                       "ucwa_client_request_count");
        }
    }
    long done = 0;
    long round = 0;
    double wall_start = now_us();
    while (done < n) {
        long len = n - done < block ? n - done : block;
        for (int k = 0; k < PATH_COUNT; k++) {
            int p = (int)((k + round) % PATH_COUNT); /* rotate who goes first */
            if (!enabled[p]) {
                continue;
            }
            if (callgrind) {
                CALLGRIND_ZERO_STATS;
            }
            double cpu0, sw0;
            usage_now(&cpu0, &sw0);
            for (long i = 0; i < len; i++) {
                /* Continue the warm-up's alternation so every timed call really changes state. */
                int busy = (warmup + done + i) % 2 == 0;
                double t0 = now_us();
                if (p == PATH_CURL) {
                    curl_post_presence(&cp, busy);
                } else {
                    ucwa_post_presence(clients[p], busy);
                }
                samples[p][done + i] = now_us() - t0;
            }
            double cpu1, sw1;
            usage_now(&cpu1, &sw1);
            cpu_us[p] += cpu1 - cpu0;
            switches[p] += sw1 - sw0;
            if (callgrind) {
                char name[64];
                snprintf(name, sizeof name, "bench-%s-x%ld", PATH_NAMES[p], len);
                CALLGRIND_DUMP_STATS_AT(name);
            }
            if (clients[p] && p == PATH_UCWA) {
                ucwa_drain(clients[p]);
            }
        }
        done += len;
        round++;
    }
    double wall_s = (now_us() - wall_start) / 1e6;

    /* Kept-alive on both sides: libcurl opened no connection for the last POST, and each
     * ucwa_set_availability was one request (§7: "each later presence change = 1 request"). */
    long new_conns = -1;
    if (cp.h) {
        curl_easy_getinfo(cp.h, CURLINFO_NUM_CONNECTS, &new_conns);
    }

    /* Correctness: the server saw exactly the requests we think we measured. */
    json_value *log = sim_get(origin, "/_sim/log");
    int failed = 0;
    printf("ucwa presence benchmark: %ld warm calls per path (+%ld warm-up), blocks of %ld, "
           "%.1f s, simulator %s\n", n, warmup, block, wall_s, url);
    for (int p = 0; p < PATH_COUNT; p++) {
        if (!enabled[p]) {
            continue;
        }
        size_t seen = presence_posts(log, PATH_USERS[p]);
        char path[256];
        snprintf(path, sizeof path, "/_sim/users/%s", PATH_USERS[p]);
        json_value *user = sim_get(origin, path);
        const char *avail = json_get_str(user, "availability");
        const char *want = (warmup + n) % 2 == 0 ? "Online" : "Busy"; /* the last one sent */
        int ok = seen == (size_t)(warmup + n) && avail && strcmp(avail, want) == 0;
        printf("check %-14s %-18s presence POSTs seen by server %zu (expected %ld), "
               "availability %s (expected %s): %s\n",
               PATH_NAMES[p], PATH_USERS[p], seen, warmup + n, avail ? avail : "(none)", want,
               ok ? "ok" : "MISMATCH");
        if (p == PATH_CURL) {
            printf("check curl           new connections for the last POST: %ld (expected 0): %s\n",
                   new_conns, new_conns == 0 ? "ok" : "MISMATCH");
            ok &= new_conns == 0;
        }
        if (clients[p]) {
            uint64_t after = 0;
            ucwa_error *err = NULL;
            ucwa_check(ucwa_client_request_count(clients[p], &after, &err), err,
                       "ucwa_client_request_count");
            double per_call = (double)(after - requests_before[p]) / (double)n;
            /* Without the event channel each call must be exactly one request; with it, the
             * echo events add P-GETs (reported, not judged). */
            int req_ok = p != PATH_UCWA_NOEVENTS || after - requests_before[p] == (uint64_t)n;
            printf("check %-14s requests sent by the client per call: %.2f%s: %s\n",
                   PATH_NAMES[p], per_call, p == PATH_UCWA ? " (presence POST + event P-GETs)" : "",
                   req_ok ? "ok" : "MISMATCH");
            ok &= req_ok;
        }
        failed |= !ok;
        json_free(user);
    }
    json_free(log);

    stats st[PATH_COUNT];
    printf("%-14s %10s %10s %10s %10s %10s %10s | %9s %9s\n", "path", "median", "mean", "p90",
           "p99", "min", "max", "cpu/call", "csw/call");
    for (int p = 0; p < PATH_COUNT; p++) {
        if (!enabled[p]) {
            continue;
        }
        st[p] = compute(samples[p], (size_t)n);
        printf("%-14s %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f | %9.1f %9.2f\n", PATH_NAMES[p],
               st[p].median, st[p].mean, st[p].p90, st[p].p99, st[p].min, st[p].max,
               cpu_us[p] / (double)n, switches[p] / (double)n);
    }
    printf("(wall-clock microseconds per call; cpu/call: client-process CPU microseconds, all "
           "threads; csw/call: its context switches)\n");
    if (enabled[PATH_CURL]) {
        for (int p = 0; p < PATH_CURL; p++) {
            if (!enabled[p]) {
                continue;
            }
            printf("wall ratio %s/curl: median %.3f, mean %.3f\n", PATH_NAMES[p],
                   st[p].median / st[PATH_CURL].median, st[p].mean / st[PATH_CURL].mean);
        }
        if (enabled[PATH_UCWA_NOEVENTS]) {
            /* The design's figure: client CPU per call, event channel off (the other path's
             * CPU includes its P-GETs and events, reported above but not judged). */
            double r = cpu_us[PATH_UCWA_NOEVENTS] / cpu_us[PATH_CURL];
            printf("cpu ratio ucwa-noevents/curl: %.3f; target: ratio <= 1.10: %s\n", r,
                   r <= 1.10 ? "MET" : "MISSED");
        }
    }

    for (int p = 0; p < PATH_COUNT; p++) {
        free(samples[p]);
        if (clients[p]) {
            ucwa_client_free(clients[p]);
        }
    }
    if (cp.h) {
        curl_slist_free_all(cp.post_headers);
        curl_easy_cleanup(cp.h);
        free(cp.body.data);
        free(cp.headers.data);
    }
    stop_sim();
    curl_global_cleanup();
    if (failed) {
        fprintf(stderr, "presence_bench: FAILED: the server's log does not match the calls made\n");
        return 1;
    }
    return 0;
}
