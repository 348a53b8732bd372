/*
 * sim.c: the ucwa-sim fixture and control-API client declared in sim.h
 * (owned by bindings/c/tests).
 */
#define _GNU_SOURCE

#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef UCWA_SIM_DEFAULT
#define UCWA_SIM_DEFAULT "../../target/debug/ucwa-sim"
#endif

static void sim_stop(void *arg)
{
    sim *s = arg;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int status;
        int64_t deadline = now_ms() + 5000;
        while (waitpid(s->pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &status, 0);
                break;
            }
            sleep_ms(5);
        }
    }
    if (s->stdout_fd >= 0) {
        close(s->stdout_fd);
    }
    free(s);
}

sim *sim_start(const char *const *extra_args)
{
    const char *path = getenv("UCWA_SIM");
    if (!path || !*path) {
        path = UCWA_SIM_DEFAULT;
    }
    if (access(path, X_OK) != 0) {
        harness_fail(__FILE__, __LINE__, "ucwa-sim not found at %s (build it: cargo build -p ucwa-sim, or set UCWA_SIM)", path);
        return NULL;
    }
    const char *argv[48];
    size_t n = 0;
    argv[n++] = path;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    /* Events are answered at once: tests wait for them, not for the server's batching. */
    argv[n++] = "--event-hold-s";
    argv[n++] = "0";
    for (size_t i = 0; extra_args && extra_args[i] && n < sizeof argv / sizeof argv[0] - 1; i++) {
        argv[n++] = extra_args[i];
    }
    argv[n] = NULL;

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        harness_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
        return NULL;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        harness_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        /* The simulator dies with its test even if the test crashes. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        dup2(fds[1], STDOUT_FILENO);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("UCWA_SIM_STDERR")) {
            dup2(devnull, STDERR_FILENO);
        }
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);

    sim *s = calloc(1, sizeof *s);
    if (!s) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fds[0]);
        return NULL;
    }
    s->pid = pid;
    s->stdout_fd = fds[0];
    harness_defer(sim_stop, s);

    /* The first line is the URL; read byte by byte so nothing after it is consumed. */
    size_t len = 0;
    int64_t deadline = now_ms() + 15000;
    for (;;) {
        struct pollfd p = { s->stdout_fd, POLLIN, 0 };
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            harness_fail(__FILE__, __LINE__, "ucwa-sim printed no URL within 15 s");
            return NULL;
        }
        char c;
        ssize_t r = read(s->stdout_fd, &c, 1);
        if (r <= 0) {
            harness_fail(__FILE__, __LINE__, "ucwa-sim exited before printing its URL");
            return NULL;
        }
        if (c == '\n') {
            break;
        }
        if (len + 1 < sizeof s->url) {
            s->url[len++] = c;
        }
    }
    s->url[len] = '\0';
    if (len > 0 && s->url[len - 1] == '\r') {
        s->url[--len] = '\0';
    }
    const char *colon = strrchr(s->url, ':');
    if (strncmp(s->url, "http://127.0.0.1:", 17) != 0 || !colon || (s->port = atoi(colon + 1)) <= 0) {
        harness_fail(__FILE__, __LINE__, "unexpected first line from ucwa-sim: %s", s->url);
        return NULL;
    }
    return s;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return 0;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 1;
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
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct timeval tv = { 15, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)s->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    size_t body_len = body ? strlen(body) : 0;
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                      "Accept: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                      method, path, s->port,
                      body ? "Content-Type: application/json\r\n" : "", body_len);
    if (hl <= 0 || (size_t)hl >= sizeof head || !send_all(fd, head, (size_t)hl) ||
        (body_len && !send_all(fd, body, body_len))) {
        close(fd);
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
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
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
    close(fd);
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

ucwa_client *sim_available_client(const sim *s)
{
    ucwa_client *c = sim_client(s);
    ucwa_error *err = NULL;
    if (!c) {
        return NULL;
    }
    uint32_t st = ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err);
    if (st == UCWA_OK) {
        st = ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err);
    }
    if (st != UCWA_OK) {
        harness_fail(__FILE__, __LINE__, "sign in + make available: %s: %s", status_name(st),
                     ucwa_error_message(err));
        ucwa_error_free(err);
        return NULL;
    }
    return c;
}
