/*
 * sim.c: the ucwa-sim fixture and control-API client declared in sim.h
 * (owned by bindings/c/tests).
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

#ifndef UCWA_SIM_DEFAULT
#define UCWA_SIM_DEFAULT "../../target/debug/ucwa-sim"
#endif

static void sim_stop(void *arg)
{
    sim *s = arg;
    portable_stop(&s->proc, 5000);
    free(s);
}

sim *sim_start(const char *const *extra_args)
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
    const char **argv = calloc(extra + 6, sizeof *argv);
    if (!argv) {
        harness_fail(__FILE__, __LINE__, "out of memory");
        return NULL;
    }
    size_t n = 0;
    argv[n++] = path;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    /* Events are answered at once: tests wait for them, not for the server's batching. */
    argv[n++] = "--event-hold-s";
    argv[n++] = "0";
    for (size_t i = 0; i < extra; i++) {
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;

    sim *s = calloc(1, sizeof *s);
    if (!s) {
        free(argv);
        harness_fail(__FILE__, __LINE__, "out of memory");
        return NULL;
    }
    char err[512];
    int started = portable_start_sim(&s->proc, argv, s->url, sizeof s->url, 15000, err, sizeof err);
    free(argv);
    if (!started) {
        harness_fail(__FILE__, __LINE__, "%s (build it: cargo build -p ucwa-sim, or set UCWA_SIM)", err);
        free(s);
        return NULL;
    }
    harness_defer(sim_stop, s);
    const char *colon = strrchr(s->url, ':');
    if (strncmp(s->url, "http://127.0.0.1:", 17) != 0 || !colon || (s->port = atoi(colon + 1)) <= 0) {
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

int sim_http(const sim *s, const char *method, const char *path, const char *body,
             char **out_body)
{
    if (out_body) {
        *out_body = NULL;
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
