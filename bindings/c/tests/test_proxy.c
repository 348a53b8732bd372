/*
 * test_proxy.c: the `proxy` option through the C ABI, proxy on and off (owned by
 * bindings/c/tests), with a small HTTP proxy of the tests' own in this file: an explicit
 * proxy=http://127.0.0.1:PORT carries plain-http requests (absolute-form) and sign-in and
 * presence work through it; against a --tls simulator https goes through CONNECT tunnels, the
 * Windows grant's dedicated connection included (the token log shows one handshake on one
 * connection); proxy=none and the default (system, which never proxies loopback) go direct
 * even with a proxy in the environment. Each test asserts on what the proxy and the simulator
 * saw as well as on what the library returned.
 *
 * The proxy runs on threads of the test process (pthreads; winpthreads in the Windows build),
 * on loopback only: it listens on 127.0.0.1 and refuses (502) any target that is not
 * 127.0.0.1 or localhost, so nothing leaves the machine. It records the first request of every
 * client connection (a tunnel or a kept-alive connection then carries bytes it does not read).
 * The --tls test needs sim_start_tls, which this suite has on POSIX only (see sim.c); on
 * Windows it reports NOT RUN with the reason. The others run under Wine too.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "portable.h"
#include "sim.h"

#define PROXY_MAX_CONNS 64
#define PROXY_MAX_LOG 64

typedef struct proxy_entry {
    char method[16];
    char target[256];
    int answered; /* the status the proxy answered itself (200 tunnel, 502), 0 when forwarded */
} proxy_entry;

typedef struct test_proxy test_proxy;

typedef struct proxy_conn {
    test_proxy *proxy;
    portable_socket client;
    portable_socket upstream;
    atomic_int done; /* either side closed: both relays stop */
    pthread_t thread;
} proxy_conn;

struct test_proxy {
    portable_socket listener;
    int port;
    atomic_int stop;
    pthread_t acceptor;
    pthread_mutex_t lock; /* log and log_count */
    proxy_entry log[PROXY_MAX_LOG];
    size_t log_count;
    proxy_conn conns[PROXY_MAX_CONNS]; /* written by the acceptor only; read after it ended */
    size_t conn_count;
};

static void record(test_proxy *p, const char *method, const char *target, int answered)
{
    pthread_mutex_lock(&p->lock);
    if (p->log_count < PROXY_MAX_LOG) {
        proxy_entry *e = &p->log[p->log_count++];
        snprintf(e->method, sizeof e->method, "%s", method);
        snprintf(e->target, sizeof e->target, "%s", target);
        e->answered = answered;
    }
    pthread_mutex_unlock(&p->lock);
}

/* The port of "127.0.0.1:PORT" or "localhost:PORT" (the only targets it serves), else 0. */
static int loopback_port(const char *authority, size_t len)
{
    static const char *const hosts[] = { "127.0.0.1:", "localhost:" };
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(hosts[i]);
        if (len > n && strncmp(authority, hosts[i], n) == 0) {
            int port = atoi(authority + n);
            return port > 0 && port < 65536 ? port : 0;
        }
    }
    return 0;
}

/* Copies from -> to until either side closes or the proxy stops; polls so a stop is seen. */
static void relay(proxy_conn *c, portable_socket from, portable_socket to)
{
    char buf[16384];
    while (!atomic_load(&c->done) && !atomic_load(&c->proxy->stop)) {
        if (!portable_readable(from, 100)) {
            continue;
        }
        long r = portable_recv(from, buf, sizeof buf);
        if (r <= 0 || !portable_send_all(to, buf, (size_t)r)) {
            break;
        }
    }
    atomic_store(&c->done, 1);
}

static void *relay_back(void *arg)
{
    proxy_conn *c = arg;
    relay(c, c->upstream, c->client);
    return NULL;
}

static void answer(portable_socket s, int status, const char *text)
{
    char line[128];
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", status, text);
    portable_send_all(s, line, (size_t)n);
}

/* One client connection: its request head, then a tunnel (CONNECT) or the request forwarded
 * as it came (absolute-form, which HTTP/1.1 servers accept) and the connection relayed. */
static void *serve(void *arg)
{
    proxy_conn *c = arg;
    test_proxy *p = c->proxy;
    char head[16384];
    size_t len = 0;
    char *end = NULL;
    while (!end && len + 1 < sizeof head && !atomic_load(&p->stop)) {
        if (!portable_readable(c->client, 100)) {
            continue;
        }
        long r = portable_recv(c->client, head + len, sizeof head - len - 1);
        if (r <= 0) {
            return NULL;
        }
        len += (size_t)r;
        head[len] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (!end) {
        return NULL;
    }
    char method[16] = "", target[256] = "";
    if (sscanf(head, "%15s %255s", method, target) != 2) {
        return NULL;
    }
    int is_connect = strcmp(method, "CONNECT") == 0;
    const char *authority = target;
    if (!is_connect) {
        authority = strncmp(target, "http://", 7) == 0 ? target + 7 : "";
    }
    int port = loopback_port(authority, strcspn(authority, "/"));
    if (port) {
        c->upstream = portable_connect_loopback(port, 0);
    }
    if (c->upstream == PORTABLE_NO_SOCKET) {
        record(p, method, target, 502);
        answer(c->client, 502, "Bad Gateway");
        return NULL;
    }
    size_t head_len = (size_t)(end + 4 - head);
    if (is_connect) {
        record(p, method, target, 200);
        answer(c->client, 200, "Connection Established");
        /* Bytes that came after the head belong to the tunnel. */
        if (len > head_len && !portable_send_all(c->upstream, head + head_len, len - head_len)) {
            return NULL;
        }
    } else {
        record(p, method, target, 0);
        if (!portable_send_all(c->upstream, head, len)) {
            return NULL;
        }
    }
    pthread_t back;
    if (pthread_create(&back, NULL, relay_back, c) != 0) {
        return NULL;
    }
    relay(c, c->client, c->upstream);
    pthread_join(back, NULL);
    return NULL;
}

static void *accept_loop(void *arg)
{
    test_proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        portable_socket s = portable_accept(p->listener, 100);
        if (s == PORTABLE_NO_SOCKET) {
            continue;
        }
        if (p->conn_count == PROXY_MAX_CONNS) {
            portable_close_socket(s); /* more than any test opens */
            continue;
        }
        proxy_conn *c = &p->conns[p->conn_count];
        c->proxy = p;
        c->client = s;
        c->upstream = PORTABLE_NO_SOCKET;
        atomic_store(&c->done, 0);
        if (pthread_create(&c->thread, NULL, serve, c) != 0) {
            portable_close_socket(s);
            continue;
        }
        p->conn_count++;
    }
    return NULL;
}

static void proxy_stop(void *arg)
{
    test_proxy *p = arg;
    atomic_store(&p->stop, 1);
    pthread_join(p->acceptor, NULL);
    for (size_t i = 0; i < p->conn_count; i++) {
        pthread_join(p->conns[i].thread, NULL);
        portable_close_socket(p->conns[i].client);
        portable_close_socket(p->conns[i].upstream);
    }
    portable_close_socket(p->listener);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Starts the proxy on 127.0.0.1; stopped when the test ends, after the clients started later
 * (so their sign-out still goes through it). NULL (and a failure) when it cannot start. */
static test_proxy *proxy_start(void)
{
    test_proxy *p = calloc(1, sizeof *p);
    if (!p) {
        harness_fail(__FILE__, __LINE__, "out of memory");
        return NULL;
    }
    p->listener = portable_listen_loopback(&p->port);
    if (p->listener == PORTABLE_NO_SOCKET) {
        free(p);
        harness_fail(__FILE__, __LINE__, "the test proxy cannot listen on 127.0.0.1");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    if (pthread_create(&p->acceptor, NULL, accept_loop, p) != 0) {
        portable_close_socket(p->listener);
        pthread_mutex_destroy(&p->lock);
        free(p);
        harness_fail(__FILE__, __LINE__, "pthread_create failed");
        return NULL;
    }
    harness_defer(proxy_stop, p);
    return p;
}

/* A copy of what the proxy saw so far. */
static size_t proxy_seen(test_proxy *p, proxy_entry *out, size_t max)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->log_count < max ? p->log_count : max;
    memcpy(out, p->log, n * sizeof *out);
    pthread_mutex_unlock(&p->lock);
    return n;
}

static void proxy_url(const test_proxy *p, char *out, size_t len)
{
    snprintf(out, len, "http://127.0.0.1:%d", p->port);
}

/* Signs alice in, makes her available, sets Busy and reads it back; checks the simulator's
 * copy too. 1 when all of it worked. */
static int sign_in_and_presence(const sim *s, ucwa_client *c, const char *user)
{
    ucwa_error *err = NULL;
    uint32_t availability = 0;
    char *activity = NULL;
    uint32_t st = ucwa_sign_in(c, user, ALICE_PASSWORD, &err);
    if (st == UCWA_OK) {
        st = ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err);
    }
    if (st == UCWA_OK) {
        st = ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err);
    }
    if (st == UCWA_OK) {
        st = ucwa_get_presence(c, &availability, &activity, &err);
    }
    if (st != UCWA_OK) {
        harness_fail(__FILE__, __LINE__, "sign in and presence: %s: %s", status_name(st),
                     ucwa_error_message(err));
        ucwa_error_free(err);
        return 0;
    }
    ucwa_string_free(activity);
    CHECK(availability == UCWA_AVAILABILITY_BUSY);
    json_value *u = sim_user(s, ALICE);
    if (!u) {
        return 0;
    }
    const char *seen = json_get_str(u, "availability");
    int ok = seen && strcmp(seen, "Busy") == 0;
    CHECK(ok);
    json_free(u);
    return ok && availability == UCWA_AVAILABILITY_BUSY;
}

/* Points every proxy variable curl reads at `url` for this test process (each test runs in a
 * process of its own, and the library reads them when its first client connects). */
static void proxy_environment(const char *url)
{
    static const char *const names[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                         "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
#ifdef _WIN32
        _putenv_s(names[i], url);
#else
        setenv(names[i], url, 1);
#endif
    }
#ifdef _WIN32
    _putenv_s("no_proxy", "");
    _putenv_s("NO_PROXY", "");
#else
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
#endif
}

static void an_explicit_proxy_carries_plain_http_and_sign_in_and_presence_work(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    test_proxy *p = proxy_start();
    REQUIRE(p);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    char url[64];
    proxy_url(p, url, sizeof url);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "proxy", url, &err), err);
    REQUIRE(sign_in_and_presence(s, c, ALICE));

    proxy_entry seen[PROXY_MAX_LOG];
    size_t n = proxy_seen(p, seen, PROXY_MAX_LOG);
    REQUIRE(n >= 1);
    /* The first request of the sign-in, discovery, came to the proxy in absolute form. */
    char root[300];
    snprintf(root, sizeof root, "http://127.0.0.1:%d/", s->port);
    CHECK(strcmp(seen[0].method, "GET") == 0);
    CHECK(strcmp(seen[0].target, root) == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(strcmp(seen[i].method, "CONNECT") != 0); /* plain http is not tunnelled */
        CHECK(strncmp(seen[i].target, root, strlen(root)) == 0);
        CHECK(seen[i].answered == 0); /* forwarded, none refused */
    }
    /* And the simulator got the sign-in the proxy carried. */
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "token") == 1);
    CHECK(log_count(log, "POST", "applications") == 1);
    json_free(log);
}

static void https_goes_through_connect_tunnels_the_windows_grants_own_connection_too(void)
{
    if (!sim_tls_supported()) {
#ifdef _WIN32
        harness_not_run("a --tls simulator's control API is https, which this suite reads with "
                        "curl on POSIX only; under Wine the simulator is a Linux program whose CA "
                        "file and https answers a Windows test cannot reach (sim.c)");
#else
        /* run-tests.sh installs curl: its absence here is a broken setup, not a platform limit. */
        harness_fail(__FILE__, __LINE__, "no curl on PATH to read the --tls simulator's control API");
#endif
        return;
    }
    sim *s = sim_start_tls(NULL); /* offers both grants; Negotiate and NTLM */
    REQUIRE(s);
    test_proxy *p = proxy_start();
    REQUIRE(p);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    char url[64];
    proxy_url(p, url, sizeof url);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "ca_file", s->ca_file, &err), err);
    REQUIRE_OK(ucwa_client_set_option(c, "proxy", url, &err), err);
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "windows", &err), err);
    REQUIRE(sign_in_and_presence(s, c, ALICE));

    proxy_entry seen[PROXY_MAX_LOG];
    size_t n = proxy_seen(p, seen, PROXY_MAX_LOG);
    /* At least the pooled connection and the handshake's dedicated one, each a tunnel to the
     * simulator: the proxy saw no request inside them. */
    CHECK(n >= 2);
    char authority[64];
    snprintf(authority, sizeof authority, "127.0.0.1:%d", s->port);
    for (size_t i = 0; i < n; i++) {
        CHECK(strcmp(seen[i].method, "CONNECT") == 0);
        CHECK(strcmp(seen[i].target, authority) == 0);
        CHECK(seen[i].answered == 200);
    }
    json_value *tl = sim_token_log(s);
    REQUIRE(tl);
    CHECK_ONE_HANDSHAKE(tl, "Negotiate", "granted alice@contoso.com");
    CHECK(tl->count == 3); /* no password grant besides */
    json_free(tl);
}

/* With the environment pointing at the proxy, a client with `option` (NULL: the default)
 * signs in and sets presence without the proxy seeing anything. */
static void goes_direct(const char *option)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    test_proxy *p = proxy_start();
    REQUIRE(p);
    char url[64];
    proxy_url(p, url, sizeof url);
    proxy_environment(url);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    if (option) {
        REQUIRE_OK(ucwa_client_set_option(c, "proxy", option, &err), err);
    }
    REQUIRE(sign_in_and_presence(s, c, ALICE));
    proxy_entry seen[PROXY_MAX_LOG];
    CHECK(proxy_seen(p, seen, PROXY_MAX_LOG) == 0);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "token") == 1);
    CHECK(log_count(log, "POST", "applications") == 1);
    json_free(log);
}

static void proxy_none_goes_direct_even_with_a_proxy_in_the_environment(void)
{
    goes_direct("none");
}

static void the_default_system_proxy_never_proxies_loopback(void)
{
    goes_direct(NULL);
}

const test_case proxy_tests[] = {
    { "an_explicit_proxy_carries_plain_http_and_sign_in_and_presence_work", an_explicit_proxy_carries_plain_http_and_sign_in_and_presence_work },
    { "https_goes_through_connect_tunnels_the_windows_grants_own_connection_too", https_goes_through_connect_tunnels_the_windows_grants_own_connection_too },
    { "proxy_none_goes_direct_even_with_a_proxy_in_the_environment", proxy_none_goes_direct_even_with_a_proxy_in_the_environment },
    { "the_default_system_proxy_never_proxies_loopback", the_default_system_proxy_never_proxies_loopback },
    { NULL, NULL },
};
