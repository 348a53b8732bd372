/*
 * sim.c: the ucwa-sim fixture and control-API client declared in sim.h
 * (owned by bindings/c/tests), and the token-log check shared by the tests of the Windows grant.
 *
 * A --tls simulator serves its control API over https as well. The suite carries no TLS
 * client of its own, so on POSIX those control requests are made by curl (trusting the
 * simulator's CA, never a proxy). On Windows there is no such route: under Wine the simulator
 * is a Linux program behind the broker, whose CA file a Windows path cannot name and whose
 * https a Windows test could only read through a curl it cannot start and read; so
 * sim_tls_supported() is 0 there and the --tls tests say they did not run.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

#ifndef _WIN32
#include <unistd.h>
#endif

#ifndef UCWA_SIM_DEFAULT
#define UCWA_SIM_DEFAULT "../../target/debug/ucwa-sim"
#endif

static void sim_stop(void *arg)
{
    sim *s = arg;
    portable_stop(&s->proc, 5000);
#ifndef _WIN32
    if (s->ca_dir[0]) {
        unlink(s->ca_file);
        rmdir(s->ca_dir);
    }
#endif
    free(s);
}

#ifndef _WIN32
/* curl on PATH, for the https control API; NULL when there is none. */
static const char *curl_path(void)
{
    static char found[512];
    const char *path = getenv("PATH");
    while (!found[0] && path && *path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n + 6 < sizeof found) {
            snprintf(found, sizeof found, "%.*s/curl", (int)n, path);
            if (!portable_is_executable(found)) {
                found[0] = '\0';
            }
        }
        path += n + (path[n] == ':');
    }
    return found[0] ? found : NULL;
}
#endif

int sim_tls_supported(void)
{
#ifdef _WIN32
    return 0;
#else
    return curl_path() != NULL;
#endif
}

static sim *start(const char *const *extra_args, int tls);

sim *sim_start(const char *const *extra_args)
{
    return start(extra_args, 0);
}

sim *sim_start_tls(const char *const *extra_args)
{
    return start(extra_args, 1);
}

static sim *start(const char *const *extra_args, int tls)
{
    const char *path = getenv("UCWA_SIM");
    if (!path || !*path) {
        path = UCWA_SIM_DEFAULT;
    }
    /* Sized for the extra arguments: a test may configure hundreds of users (--user each). */
    size_t extra = 0;
    while (extra_args && extra_args[extra]) {
        extra++;
    }
    const char **argv = calloc(extra + 9, sizeof *argv);
    sim *s = calloc(1, sizeof *s);
    if (!argv || !s) {
        free(argv);
        free(s);
        harness_fail(__FILE__, __LINE__, "out of memory");
        return NULL;
    }
    if (tls) {
#ifdef _WIN32
        free(argv);
        free(s);
        harness_fail(__FILE__, __LINE__, "a --tls simulator is not supported on Windows (sim.c)");
        return NULL;
#else
        snprintf(s->ca_dir, sizeof s->ca_dir, "/tmp/ucwa-c-tls-XXXXXX");
        if (!mkdtemp(s->ca_dir)) {
            free(argv);
            free(s);
            harness_fail(__FILE__, __LINE__, "mkdtemp failed");
            return NULL;
        }
        snprintf(s->ca_file, sizeof s->ca_file, "%s/ca.pem", s->ca_dir);
        s->tls = 1;
#endif
    }
    size_t n = 0;
    argv[n++] = path;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    /* Events are answered at once: tests wait for them, not for the server's batching. */
    argv[n++] = "--event-hold-s";
    argv[n++] = "0";
    if (s->tls) {
        argv[n++] = "--tls";
        argv[n++] = "--ca-out";
        argv[n++] = s->ca_file;
    }
    for (size_t i = 0; i < extra; i++) {
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;

    char err[512];
    int started = portable_start_sim(&s->proc, argv, s->url, sizeof s->url, 15000, err, sizeof err);
    free(argv);
    if (!started) {
        harness_fail(__FILE__, __LINE__, "%s (build it: cargo build -p ucwa-sim, or set UCWA_SIM)", err);
        s->proc.live = 0;
        sim_stop(s);
        return NULL;
    }
    harness_defer(sim_stop, s);
    const char *colon = strrchr(s->url, ':');
    const char *origin = s->tls ? "https://127.0.0.1:" : "http://127.0.0.1:";
    if (strncmp(s->url, origin, strlen(origin)) != 0 || !colon || (s->port = atoi(colon + 1)) <= 0) {
        harness_fail(__FILE__, __LINE__, "unexpected first line from ucwa-sim: %s", s->url);
        return NULL;
    }
    return s;
}

/* Decodes a chunked body in place; returns its length, or -1 when malformed. */
static long dechunk(char *body, size_t len)
{
    size_t in = 0;
    size_t out = 0;
    for (;;) {
        char *end;
        unsigned long size = strtoul(body + in, &end, 16);
        char *crlf = strstr(body + in, "\r\n");
        if (end == body + in || !crlf) {
            return -1;
        }
        in = (size_t)(crlf - body) + 2;
        if (size == 0) {
            body[out] = '\0';
            return (long)out;
        }
        if (in + size > len) {
            return -1;
        }
        memmove(body + out, body + in, size);
        out += size;
        in += size + 2;
    }
}

#ifndef _WIN32
/* A control request to a --tls simulator, made by curl: the status from its -w line, the body
 * through a file beside the CA. */
static int sim_https(const sim *s, const char *method, const char *path, const char *body,
                     char **out_body)
{
    const char *curl = curl_path();
    if (!curl) {
        return -1;
    }
    char url[512], answer[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", s->port, path);
    snprintf(answer, sizeof answer, "%s/answer", s->ca_dir);
    const char *argv[20];
    size_t n = 0;
    argv[n++] = curl;
    argv[n++] = "-sS";
    argv[n++] = "--noproxy"; /* the control API is never asked through a test's proxy */
    argv[n++] = "*";
    argv[n++] = "--cacert";
    argv[n++] = s->ca_file;
    argv[n++] = "-X";
    argv[n++] = method;
    argv[n++] = "-o";
    argv[n++] = answer;
    argv[n++] = "-w";
    argv[n++] = "%{http_code}\n";
    if (body) {
        argv[n++] = "-H";
        argv[n++] = "Content-Type: application/json";
        argv[n++] = "--data-binary";
        argv[n++] = body;
    }
    argv[n++] = url;
    argv[n] = NULL;
    portable_proc p;
    char err[256], line[64];
    if (!portable_spawn(&p, argv, PORTABLE_STDOUT_PIPE, err, sizeof err)) {
        return -1;
    }
    int got = portable_read_line(&p, line, sizeof line, 15000);
    int code = -1;
    portable_wait(&p, 5000, &code);
    portable_stop(&p, 0);
    int status = got == 1 && code == 0 ? atoi(line) : -1;
    FILE *f = fopen(answer, "rb");
    char *buf = NULL;
    if (f) {
        size_t cap = 8192, len = 0;
        buf = malloc(cap);
        size_t r;
        while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
            len += r;
            if (len + 1 == cap) {
                char *bigger = realloc(buf, cap * 2);
                if (!bigger) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = bigger;
                cap *= 2;
            }
        }
        if (buf) {
            buf[len] = '\0';
        }
        fclose(f);
        unlink(answer);
    }
    if (out_body) {
        *out_body = buf;
    } else {
        free(buf);
    }
    return buf ? status : -1;
}
#endif

int sim_http(const sim *s, const char *method, const char *path, const char *body,
             char **out_body)
{
    if (out_body) {
        *out_body = NULL;
    }
    if (s->tls) {
#ifdef _WIN32
        return -1;
#else
        return sim_https(s, method, path, body, out_body);
#endif
    }
    portable_socket fd = portable_connect_loopback(s->port, 15);
    if (fd == PORTABLE_NO_SOCKET) {
        return -1;
    }
    size_t body_len = body ? strlen(body) : 0;
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                      "Accept: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                      method, path, s->port,
                      body ? "Content-Type: application/json\r\n" : "", body_len);
    if (hl <= 0 || (size_t)hl >= sizeof head || !portable_send_all(fd, head, (size_t)hl) ||
        (body_len && !portable_send_all(fd, body, body_len))) {
        portable_close_socket(fd);
        return -1;
    }

    size_t cap = 8192;
    size_t len = 0;
    char *buf = malloc(cap);
    long content_length = -1;
    size_t body_start = 0; /* offset just past the blank line; 0 until the headers are in */
    while (buf) {
        if (len + 4096 + 1 > cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        long r = portable_recv(fd, buf + len, cap - len - 1);
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
        buf[len] = '\0';
        char *hend;
        if (!body_start && (hend = strstr(buf, "\r\n\r\n"))) {
            body_start = (size_t)(hend - buf) + 4;
            for (char *line = strstr(buf, "\r\n"); line && line < hend; line = strstr(line + 2, "\r\n")) {
                if (strncasecmp(line + 2, "content-length:", 15) == 0) {
                    content_length = strtol(line + 17, NULL, 10);
                }
            }
        }
        /* With a length we need not wait for the server to close the connection. */
        if (body_start && content_length >= 0 && len >= body_start + (size_t)content_length) {
            break;
        }
    }
    portable_close_socket(fd);
    if (!buf) {
        return -1;
    }
    buf[len] = '\0';
    int status = -1;
    char *hend = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || !hend || sscanf(buf + 8, " %d", &status) != 1) {
        free(buf);
        return -1;
    }
    size_t body_off = (size_t)(hend + 4 - buf);
    size_t blen = len - body_off;
    int chunked = 0;
    for (char *line = strstr(buf, "\r\n"); line && line < hend; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "transfer-encoding:", 18) == 0 && strstr(line, "chunked") &&
            strstr(line, "chunked") < strstr(line + 2, "\r\n")) {
            chunked = 1;
        }
    }
    memmove(buf, buf + body_off, blen + 1);
    if (chunked) {
        long d = dechunk(buf, blen);
        if (d < 0) {
            free(buf);
            return -1;
        }
    } else if (content_length >= 0 && (size_t)content_length < blen) {
        buf[content_length] = '\0';
    }
    if (out_body) {
        *out_body = buf;
    } else {
        free(buf);
    }
    return status;
}

json_value *sim_get_json(const sim *s, const char *path)
{
    char *body = NULL;
    int status = sim_http(s, "GET", path, NULL, &body);
    json_value *v = status == 200 ? json_parse(body) : NULL;
    if (!v) {
        harness_fail(__FILE__, __LINE__, "GET %s: status %d, body %s", path, status,
                     body ? body : "(none)");
    }
    free(body);
    return v;
}

json_value *sim_log(const sim *s)
{
    return sim_get_json(s, "/_sim/log");
}

json_value *sim_user(const sim *s, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/_sim/users/%s", name);
    return sim_get_json(s, path);
}

json_value *sim_token_log(const sim *s)
{
    return sim_get_json(s, "/_sim/token-log");
}

int sim_proxy_url(const sim *s, char *out, size_t len)
{
    json_value *info = sim_get_json(s, "/_sim/proxy");
    const char *url = json_get_str(info, "url");
    int ok = url && strlen(url) < len;
    if (ok) {
        snprintf(out, len, "%s", url);
    } else if (info) {
        harness_fail(__FILE__, __LINE__, "GET /_sim/proxy: no url that fits %u bytes", (unsigned)len);
    }
    json_free(info);
    return ok;
}

json_value *sim_proxy_log(const sim *s)
{
    return sim_get_json(s, "/_sim/proxy/log");
}

static int str_is(const json_value *e, const char *key, const char *want)
{
    const char *got = json_get_str(e, key);
    return want ? got && strcmp(got, want) == 0 : got == NULL;
}

int check_one_handshake(const json_value *token_log, const char *scheme, const char *outcome,
                        const char *file, int line)
{
    static const char *const legs[3] = { "challenge", "negotiate", "authenticate" };
    const json_value *w[3] = { NULL, NULL, NULL };
    size_t n = 0;
    for (size_t i = 0; token_log && i < token_log->count; i++) {
        const json_value *e = json_at(token_log, i);
        if (str_is(e, "grant", "urn:microsoft.rtc:windows")) {
            if (n < 3) {
                w[n] = e;
            }
            n++;
        }
    }
    if (n != 3) {
        harness_fail(file, line, "%u token requests of the Windows grant, expected 3", (unsigned)n);
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < 3; i++) {
        /* The first leg carries no Authorization, so no scheme; the others the pool's. */
        if (!str_is(w[i], "leg", legs[i]) || !str_is(w[i], "scheme", i == 0 ? NULL : scheme)) {
            harness_fail(file, line, "leg %u is %s under %s, expected %s under %s", (unsigned)i + 1,
                         json_get_str(w[i], "leg") ? json_get_str(w[i], "leg") : "null",
                         json_get_str(w[i], "scheme") ? json_get_str(w[i], "scheme") : "null",
                         legs[i], i == 0 ? "null" : scheme);
            ok = 0;
        }
        /* IIS binds the handshake to its TCP connection: one conn for all three legs. */
        if (json_get_num(w[i], "conn", -1) != json_get_num(w[0], "conn", -2)) {
            harness_fail(file, line, "leg %u on connection %.0f, the first on %.0f", (unsigned)i + 1,
                         json_get_num(w[i], "conn", -1), json_get_num(w[0], "conn", -1));
            ok = 0;
        }
    }
    if (!str_is(w[2], "outcome", outcome)) {
        harness_fail(file, line, "the handshake ended \"%s\", expected \"%s\"",
                     json_get_str(w[2], "outcome") ? json_get_str(w[2], "outcome") : "null", outcome);
        ok = 0;
    }
    return ok;
}

static int entry_matches(const json_value *e, const char *method, const char *route)
{
    const char *m = json_get_str(e, "method");
    const char *r = json_get_str(e, "route");
    return (!method || (m && strcmp(m, method) == 0)) && (!route || (r && strcmp(r, route) == 0));
}

size_t log_count(const json_value *log, const char *method, const char *route)
{
    size_t n = 0;
    for (size_t i = 0; log && i < log->count; i++) {
        n += (size_t)entry_matches(log->items[i], method, route);
    }
    return n;
}

const json_value *log_nth(const json_value *log, const char *method, const char *route,
                          size_t n)
{
    for (size_t i = 0; log && i < log->count; i++) {
        if (entry_matches(log->items[i], method, route) && n-- == 0) {
            return log->items[i];
        }
    }
    return NULL;
}

size_t log_count_foreground(const json_value *log)
{
    size_t n = 0;
    for (size_t i = 0; log && i < log->count; i++) {
        const char *r = json_get_str(log->items[i], "route");
        n += (size_t)(!r || strcmp(r, "events") != 0);
    }
    return n;
}

ucwa_client *sim_client(const sim *s)
{
    ucwa_client *c = NULL;
    ucwa_error *err = NULL;
    uint32_t st = ucwa_client_new(s->url, &c, &err);
    if (st != UCWA_OK) {
        harness_fail(__FILE__, __LINE__, "ucwa_client_new(%s): %s: %s", s->url, status_name(st),
                     ucwa_error_message(err));
        ucwa_error_free(err);
        return NULL;
    }
    return track_client(c);
}

/* Alice's client, signed in, and made available when `available`. */
static ucwa_client *alice(const sim *s, int available)
{
    ucwa_client *c = sim_client(s);
    ucwa_error *err = NULL;
    if (!c) {
        return NULL;
    }
    uint32_t st = ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err);
    if (st == UCWA_OK && available) {
        st = ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err);
    }
    if (st != UCWA_OK) {
        harness_fail(__FILE__, __LINE__, "sign in%s: %s: %s", available ? " + make available" : "",
                     status_name(st), ucwa_error_message(err));
        ucwa_error_free(err);
        return NULL;
    }
    return c;
}

ucwa_client *sim_signed_in_client(const sim *s)
{
    return alice(s, 0);
}

ucwa_client *sim_available_client(const sim *s)
{
    return alice(s, 1);
}
