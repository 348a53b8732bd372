/*
 * bench.h: the parts of the presence benchmark (owned by bindings/c/bench) and what they share.
 *
 *   common.c      paths, failing loudly, clocks and CPU accounting, the simulator process
 *   curl_path.c   the libcurl baseline: sign in by hand, then bare presence POSTs; the
 *                 simulator's control API
 *   ucwa_path.c   the same through the C ABI
 *   stats.c       median, mean and percentiles of the samples
 *   presence_bench.c  main: options, the interleaved timed loops, the checks, the report
 */
#ifndef UCWA_BENCH_H
#define UCWA_BENCH_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "portable.h"
#include "ucwa.h"

enum { PATH_UCWA, PATH_UCWA_NOEVENTS, PATH_CURL, PATH_COUNT };
extern const char *const PATH_NAMES[PATH_COUNT];
extern const char *const PATH_USERS[PATH_COUNT];
extern const char *const PATH_PASSWORDS[PATH_COUNT];

/* common.c */
void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
void usage_now(double *cpu_us, double *switches);
double now_us(void);
void start_sim(char *url, size_t url_len);
void stop_sim(void);

/* curl_path.c */
typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

typedef struct curl_path {
    CURL *h;
    struct curl_slist *post_headers;
    char presence_url[1024];
    buf body;
    buf headers;
} curl_path;

void curl_sign_in(curl_path *cp, const char *root_url);
void curl_post_presence(curl_path *cp, int busy);
json_value *sim_get(const char *origin, const char *path);
size_t presence_posts(const json_value *log, const char *user);

/* ucwa_path.c */
void ucwa_check(uint32_t st, ucwa_error *err, const char *what);
ucwa_client *ucwa_setup(const char *url, int path);
void ucwa_post_presence(ucwa_client *c, int busy);
void ucwa_drain(ucwa_client *c);

/* stats.c */
typedef struct stats {
    double median, mean, p90, p99, min, max;
} stats;

stats compute(double *v, size_t n);

#endif
