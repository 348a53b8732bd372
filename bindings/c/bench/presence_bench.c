/*
 * presence_bench.c: the benchmark for design target §7 "a warm ucwa_set_availability through the
 * C ABI costs within 15% of a bare libcurl POST on a kept-alive connection to the same simulator
 * endpoint" (owned by bindings/c/bench; not part of the test suite).
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

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "json.h"
#include "portable.h"
#include "ucwa.h"

#ifndef UCWA_SIM_DEFAULT
#define UCWA_SIM_DEFAULT "../../target/release/ucwa-sim"
#endif

enum { PATH_UCWA, PATH_UCWA_NOEVENTS, PATH_CURL, PATH_COUNT };
static const char *const PATH_NAMES[PATH_COUNT] = { "ucwa", "ucwa-noevents", "curl" };
static const char *const PATH_USERS[PATH_COUNT] = { "alice@contoso.com", "carol@contoso.com",
                                                    "bob@contoso.com" };
static const char *const PATH_PASSWORDS[PATH_COUNT] = { "alice-password", "carol-password",
                                                        "bob-password" };

static portable_proc g_sim; /* common/portable.h: the launcher shared with the tests and demo */

static void die(const char *fmt, ...)
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
static void usage_now(double *cpu_us, double *switches)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    *switches = (double)(ru.ru_nvcsw + ru.ru_nivcsw);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ----- the simulator process ----------------------------------------------------------- */

/* Starts ucwa-sim and returns its root URL (first stdout line) in url. */
static void start_sim(char *url, size_t url_len)
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

static void stop_sim(void)
{
    portable_stop(&g_sim, 5000);
}

/* ----- libcurl helpers ----------------------------------------------------------------- */

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) {
            return 0;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One request on handle h (kept alive across calls); returns the HTTP status. The body and the
 * response headers land in body/headers (reset first), each NUL-terminated. */
static long curl_request(CURL *h, const char *method, const char *url, struct curl_slist *hdrs,
                         const char *post, buf *body, buf *headers)
{
    body->len = 0;
    headers->len = 0;
    buf_write("", 1, 0, body);
    buf_write("", 1, 0, headers);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, headers);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        die("%s %s: %s", method, url, curl_easy_strerror(rc));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static CURL *new_handle(void)
{
    CURL *h = curl_easy_init();
    if (!h) {
        die("curl_easy_init failed");
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, buf_write);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    return h;
}

/* Resolves a (possibly relative) href against the server origin ("http://127.0.0.1:P"). */
static void resolve(const char *origin, const char *href, char *out, size_t out_len)
{
    if (strncmp(href, "http://", 7) == 0 || strncmp(href, "https://", 8) == 0) {
        snprintf(out, out_len, "%s", href);
    } else {
        snprintf(out, out_len, "%s%s%s", origin, href[0] == '/' ? "" : "/", href);
    }
}

static const char *link_href(const json_value *obj, const char *rel)
{
    const char *h = json_get_str(json_get(json_get(obj, "_links"), rel), "href");
    if (!h) {
        die("no _links.%s.href in a response", rel);
    }
    return h;
}

static json_value *parse_or_die(const buf *b, const char *what)
{
    json_value *v = json_parse(b->data);
    if (!v) {
        die("%s: response is not JSON", what);
    }
    return v;
}

/* The curl path: bob's whole sign-in done by hand on one handle (so one kept-alive connection),
 * leaving h configured for the presence POSTs. Fills presence_url and auth_header. */
typedef struct curl_path {
    CURL *h;
    struct curl_slist *post_headers;
    char presence_url[1024];
    buf body;
    buf headers;
} curl_path;

static void curl_sign_in(curl_path *cp, const char *root_url)
{
    char origin[256];
    const char *slash = strchr(root_url + 7, '/');
    snprintf(origin, sizeof origin, "%.*s", (int)(slash ? slash - root_url : (long)strlen(root_url)),
             root_url);
    char url[1024];
    char auth[512];
    cp->h = new_handle();
    struct curl_slist *accept = curl_slist_append(NULL, "Accept: application/json");

    /* discovery root → user */
    long st = curl_request(cp->h, "GET", root_url, accept, NULL, &cp->body, &cp->headers);
    if (st != 200) {
        die("GET root: %ld", st);
    }
    json_value *root = parse_or_die(&cp->body, "root");
    char user_url[1024];
    resolve(origin, link_href(root, "user"), user_url, sizeof user_url);
    json_free(root);

    /* user without a token → 401 with the MsRtcOAuth challenge naming the token endpoint */
    st = curl_request(cp->h, "GET", user_url, accept, NULL, &cp->body, &cp->headers);
    const char *ch = strstr(cp->headers.data, "MsRtcOAuth href=\"");
    if (st != 401 || !ch) {
        die("GET user without token: %ld, no MsRtcOAuth challenge", st);
    }
    ch += strlen("MsRtcOAuth href=\"");
    const char *end = strchr(ch, '"');
    if (!end) {
        die("unterminated MsRtcOAuth href");
    }
    snprintf(url, sizeof url, "%.*s", (int)(end - ch), ch);

    /* password grant → token */
    char *u = curl_easy_escape(cp->h, PATH_USERS[PATH_CURL], 0);
    char *p = curl_easy_escape(cp->h, PATH_PASSWORDS[PATH_CURL], 0);
    char form[512];
    snprintf(form, sizeof form, "grant_type=password&username=%s&password=%s", u, p);
    curl_free(u);
    curl_free(p);
    struct curl_slist *form_h = curl_slist_append(NULL, "Accept: application/json");
    form_h = curl_slist_append(form_h,
                               "Content-Type: application/x-www-form-urlencoded;charset=UTF-8");
    st = curl_request(cp->h, "POST", url, form_h, form, &cp->body, &cp->headers);
    curl_slist_free_all(form_h);
    if (st != 200) {
        die("POST token: %ld", st);
    }
    json_value *tok = parse_or_die(&cp->body, "token");
    const char *at = json_get_str(tok, "access_token");
    const char *tt = json_get_str(tok, "token_type");
    if (!at || !tt) {
        die("token response without access_token/token_type");
    }
    snprintf(auth, sizeof auth, "Authorization: %s %s", tt, at);
    json_free(tok);

    /* The headers every later request carries: what ucwa sends (transport.rs). */
    struct curl_slist *get_h = curl_slist_append(NULL, "Accept: application/json");
    get_h = curl_slist_append(get_h, auth);
    struct curl_slist *post_h = curl_slist_append(NULL, "Accept: application/json");
    post_h = curl_slist_append(post_h, auth);
    post_h = curl_slist_append(post_h, "Content-Type: application/json");
    post_h = curl_slist_append(post_h, "Expect:"); /* never wait for 100-continue */
    cp->post_headers = post_h;

    /* user with the token → applications */
    st = curl_request(cp->h, "GET", user_url, get_h, NULL, &cp->body, &cp->headers);
    if (st != 200) {
        die("GET user with token: %ld", st);
    }
    json_value *user = parse_or_die(&cp->body, "user");
    char apps_url[1024];
    resolve(origin, link_href(user, "applications"), apps_url, sizeof apps_url);
    json_free(user);

    /* create the application */
    st = curl_request(cp->h, "POST", apps_url, post_h,
                      "{\"userAgent\":\"curl-bench\",\"endpointId\":\"curl-bench-1\","
                      "\"culture\":\"en-US\"}",
                      &cp->body, &cp->headers);
    if (st != 201 && st != 200) {
        die("POST applications: %ld", st);
    }
    json_value *app = parse_or_die(&cp->body, "application");
    char app_url[1024];
    char mma_url[1024];
    resolve(origin, link_href(app, "self"), app_url, sizeof app_url);
    resolve(origin, link_href(json_get(json_get(app, "_embedded"), "me"), "makeMeAvailable"),
            mma_url, sizeof mma_url);
    json_free(app);

    st = curl_request(cp->h, "POST", mma_url, post_h, "{\"supportedModalities\":[\"Messaging\"]}",
                      &cp->body, &cp->headers);
    if (st != 204 && st != 200) {
        die("POST makeMeAvailable: %ld", st);
    }

    /* the application again: me now links presence */
    st = curl_request(cp->h, "GET", app_url, get_h, NULL, &cp->body, &cp->headers);
    if (st != 200) {
        die("GET application: %ld", st);
    }
    app = parse_or_die(&cp->body, "application");
    resolve(origin, link_href(json_get(json_get(app, "_embedded"), "me"), "presence"),
            cp->presence_url, sizeof cp->presence_url);
    json_free(app);
    curl_slist_free_all(accept);
    curl_slist_free_all(get_h);

    /* Leave the handle set up for the warm loop: only the body changes per request. */
    curl_easy_setopt(cp->h, CURLOPT_URL, cp->presence_url);
    curl_easy_setopt(cp->h, CURLOPT_HTTPHEADER, cp->post_headers);
}

static const char BODY_BUSY[] = "{\"availability\":\"Busy\"}";
static const char BODY_ONLINE[] = "{\"availability\":\"Online\"}";

/* One warm bare-libcurl presence POST. */
static void curl_post_presence(curl_path *cp, int busy)
{
    const char *b = busy ? BODY_BUSY : BODY_ONLINE;
    cp->body.len = 0;
    cp->headers.len = 0;
    curl_easy_setopt(cp->h, CURLOPT_POSTFIELDS, b);
    curl_easy_setopt(cp->h, CURLOPT_POSTFIELDSIZE, (long)(busy ? sizeof BODY_BUSY - 1
                                                               : sizeof BODY_ONLINE - 1));
    CURLcode rc = curl_easy_perform(cp->h);
    long status = 0;
    curl_easy_getinfo(cp->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
        die("curl presence POST: %s, HTTP %ld", curl_easy_strerror(rc), status);
    }
}

/* ----- the ucwa path ------------------------------------------------------------------- */

static void ucwa_check(uint32_t st, ucwa_error *err, const char *what)
{
    if (st != UCWA_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ucwa_error_message(err));
        ucwa_error_free(err);
        die("%s: %s: %s", what, ucwa_status_str(st), msg);
    }
}

static ucwa_client *ucwa_setup(const char *url, int path)
{
    ucwa_client *c = NULL;
    ucwa_error *err = NULL;
    ucwa_check(ucwa_client_new(url, &c, &err), err, "ucwa_client_new");
    /* No timer traffic: the only requests in the timed loop are the host's own (and, with the
     * event channel on, the P-GETs its echo events wake). */
    ucwa_check(ucwa_client_set_option(c, "keepalive_interval_s", "0", &err), err,
               "keepalive_interval_s");
    ucwa_check(ucwa_client_set_option(c, "event_channel", path == PATH_UCWA ? "1" : "0", &err),
               err, "event_channel");
    ucwa_check(ucwa_sign_in(c, PATH_USERS[path], PATH_PASSWORDS[path], &err), err, "ucwa_sign_in");
    ucwa_check(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err,
               "ucwa_make_me_available");
    return c;
}

static void ucwa_post_presence(ucwa_client *c, int busy)
{
    ucwa_error *err = NULL;
    uint32_t st = ucwa_set_availability(c, busy ? UCWA_AVAILABILITY_BUSY : UCWA_AVAILABILITY_ONLINE,
                                        &err);
    ucwa_check(st, err, "ucwa_set_availability");
}

/* A real host drains its events; done between blocks, outside the timed region. */
static void ucwa_drain(ucwa_client *c)
{
    for (;;) {
        ucwa_event *ev = NULL;
        ucwa_error *err = NULL;
        if (ucwa_client_next_event(c, 0, &ev, &err) != UCWA_OK || !ev) {
            ucwa_error_free(err);
            return;
        }
        ucwa_event_free(ev);
    }
}

/* ----- statistics and the simulator's log ---------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double median, mean, p90, p99, min, max;
} stats;

static double percentile(const double *sorted, size_t n, double q)
{
    /* nearest rank */
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > n) {
        rank = n;
    }
    return sorted[rank - 1];
}

static stats compute(double *v, size_t n)
{
    stats s = { 0 };
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
    }
    s.mean = sum / (double)n;
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.p90 = percentile(v, n, 0.90);
    s.p99 = percentile(v, n, 0.99);
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

static json_value *sim_get(const char *origin, const char *path)
{
    CURL *h = new_handle();
    buf body = { 0 };
    buf headers = { 0 };
    char url[512];
    snprintf(url, sizeof url, "%s%s", origin, path);
    long st = curl_request(h, "GET", url, NULL, NULL, &body, &headers);
    curl_easy_cleanup(h);
    free(headers.data);
    if (st != 200) {
        die("GET %s: %ld", path, st);
    }
    json_value *v = json_parse(body.data);
    free(body.data);
    if (!v) {
        die("GET %s: not JSON", path);
    }
    return v;
}

static size_t presence_posts(const json_value *log, const char *user)
{
    size_t n = 0;
    for (size_t i = 0; log && i < log->count; i++) {
        const json_value *e = log->items[i];
        const char *m = json_get_str(e, "method");
        const char *r = json_get_str(e, "route");
        const char *u = json_get_str(e, "user");
        n += m && r && u && strcmp(m, "POST") == 0 && strcmp(r, "presence") == 0 &&
             strcmp(u, user) == 0;
    }
    return n;
}

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
        int met_all = 1;
        for (int p = 0; p < PATH_CURL; p++) {
            if (!enabled[p]) {
                continue;
            }
            double rm = st[p].median / st[PATH_CURL].median;
            double ra = st[p].mean / st[PATH_CURL].mean;
            int met = rm <= 1.15 && ra <= 1.15;
            met_all &= met;
            printf("ratio %s/curl: median %.3f, mean %.3f; target: ratio <= 1.15: %s\n",
                   PATH_NAMES[p], rm, ra, met ? "MET" : "MISSED");
        }
        if (enabled[PATH_UCWA] || enabled[PATH_UCWA_NOEVENTS]) {
            printf("target §7 (ratio <= 1.15, median and mean): %s\n", met_all ? "MET" : "MISSED");
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
