/*
 * test_proxy.c: the `proxy` option through the C ABI, proxy on and off (owned by
 * bindings/c/tests), against the simulator's forward proxy (its URL and request log through
 * the control API, see sim.h): an explicit proxy=http://127.0.0.1:PORT/ carries plain-http
 * requests (absolute-form) and sign-in and presence work through it; against a --tls
 * simulator https goes through CONNECT tunnels, the Windows grant's dedicated connection
 * included (the token log shows one handshake on one connection); proxy=none and the default
 * (system, which never proxies loopback) go direct even with a proxy in the environment. Each
 * test asserts on what the proxy and the simulator saw as well as on what the library
 * returned.
 *
 * The proxy reaches loopback targets only and answers 502 to anything else, so nothing leaves
 * the machine. The --tls test needs sim_start_tls, which this suite has on POSIX only (see
 * sim.c); on Windows it reports NOT RUN with the reason. The others run under Wine too (the
 * simulator's proxy is on the host's loopback, which the Windows test process shares).
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "portable.h"
#include "sim.h"

/* Entry i of the proxy's log: its method, target and the status the proxy answered itself
 * (200 for a tunnel, 407, 502; 0 when it forwarded the request, "answered": null). */
static const char *entry_str(const json_value *log, size_t i, const char *key)
{
    const char *v = json_get_str(json_at(log, i), key);
    return v ? v : "";
}

static int entry_answered(const json_value *log, size_t i)
{
    return (int)json_get_num(json_at(log, i), "answered", 0);
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
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    char url[128];
    REQUIRE(sim_proxy_url(s, url, sizeof url));
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "proxy", url, &err), err);
    REQUIRE(sign_in_and_presence(s, c, ALICE));

    json_value *seen = sim_proxy_log(s);
    REQUIRE(seen);
    size_t n = seen->count;
    CHECK(n >= 1);
    /* The first request of the sign-in, discovery, came to the proxy in absolute form. */
    char root[300];
    snprintf(root, sizeof root, "http://127.0.0.1:%d/", s->port);
    CHECK(strcmp(entry_str(seen, 0, "method"), "GET") == 0);
    CHECK(strcmp(entry_str(seen, 0, "target"), root) == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK(strcmp(entry_str(seen, i, "method"), "CONNECT") != 0); /* plain http: no tunnel */
        CHECK(strncmp(entry_str(seen, i, "target"), root, strlen(root)) == 0);
        CHECK(entry_answered(seen, i) == 0); /* forwarded, none refused */
    }
    json_free(seen);
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
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    char url[128];
    REQUIRE(sim_proxy_url(s, url, sizeof url));
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "ca_file", s->ca_file, &err), err);
    REQUIRE_OK(ucwa_client_set_option(c, "proxy", url, &err), err);
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "windows", &err), err);
    REQUIRE(sign_in_and_presence(s, c, ALICE));

    json_value *seen = sim_proxy_log(s);
    REQUIRE(seen);
    /* At least the pooled connection and the handshake's dedicated one, each a tunnel to the
     * simulator: the proxy saw no request inside them. */
    CHECK(seen->count >= 2);
    char authority[64];
    snprintf(authority, sizeof authority, "127.0.0.1:%d", s->port);
    for (size_t i = 0; i < seen->count; i++) {
        CHECK(strcmp(entry_str(seen, i, "method"), "CONNECT") == 0);
        CHECK(strcmp(entry_str(seen, i, "target"), authority) == 0);
        CHECK(entry_answered(seen, i) == 200);
    }
    json_free(seen);
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
    char url[128];
    REQUIRE(sim_proxy_url(s, url, sizeof url));
    proxy_environment(url);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    if (option) {
        REQUIRE_OK(ucwa_client_set_option(c, "proxy", option, &err), err);
    }
    REQUIRE(sign_in_and_presence(s, c, ALICE));
    json_value *seen = sim_proxy_log(s);
    REQUIRE(seen);
    CHECK(seen->count == 0);
    json_free(seen);
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
