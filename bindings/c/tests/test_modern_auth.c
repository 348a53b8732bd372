/*
 * test_modern_auth.c: signing in with host-supplied tokens through the C ABI against
 * ucwa-sim --modern-auth (owned by bindings/c/tests): tokens minted by the control API
 * (POST /_sim/tokens) and given with ucwa_client_set_token sign in with no password and no
 * token request; a missing token makes the error name the resource and the authorization_uri;
 * UCWA_EVENT_KIND_TOKEN_NEEDED arrives ahead of a token's expiry; a token left to expire makes
 * the connection RECOVERING (AUTHENTICATION naming the resource) and a new one given later
 * brings it back (RECOVERED). Every test asserts on what the simulator saw as well as on what
 * the library returned.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

static const char *const modern[] = { "--modern-auth", NULL };

/* The simulator's origin: its root URL without the trailing slash. */
static void origin_of(const sim *s, char *out, size_t len)
{
    snprintf(out, len, "%s", s->url);
    size_t n = strlen(out);
    if (n > 0 && out[n - 1] == '/') {
        out[n - 1] = '\0';
    }
}

/* Mints a token for alice through the control API; the caller frees the returned JSON. */
static json_value *mint(const sim *s, int lifetime_s)
{
    char body[96];
    snprintf(body, sizeof body, "{\"user\":\"%s\",\"lifetime_s\":%d}", ALICE, lifetime_s);
    char *answer = NULL;
    if (sim_http(s, "POST", "/_sim/tokens", body, &answer) != 200 || !answer) {
        free(answer);
        harness_fail(__FILE__, __LINE__, "POST /_sim/tokens failed");
        return NULL;
    }
    json_value *v = json_parse(answer);
    free(answer);
    return v;
}

/* Mints a token for alice of `lifetime_s` and gives it to `c` for the simulator's origin,
 * as a host does with what its identity provider issued; 1 when both worked. */
static int give_token(const sim *s, ucwa_client *c, int lifetime_s)
{
    json_value *t = mint(s, lifetime_s);
    if (!t) {
        return 0;
    }
    char origin[256];
    origin_of(s, origin, sizeof origin);
    ucwa_error *err = NULL;
    CHECK(strcmp(json_get_str(t, "resource"), origin) == 0);
    uint32_t st = ucwa_client_set_token(c, origin, json_get_str(t, "access_token"),
                                        (uint32_t)lifetime_s, &err);
    json_free(t);
    if (st != UCWA_OK) {
        harness_fail(__FILE__, __LINE__, "set_token: %s", ucwa_error_message(err));
        ucwa_error_free(err);
        return 0;
    }
    return 1;
}

static void host_tokens_sign_in_with_no_password_and_no_token_request(void)
{
    sim *s = sim_start(modern);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    REQUIRE(give_token(s, c, 600));
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in_with_tokens(c, ALICE, &err), err);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), err);
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(strcmp(json_get_str(user, "availability"), "Busy") == 0);
    json_free(user);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "token") == 0);
    CHECK(log_count(log, "POST", "applications") == 1);
    json_free(log);
}

static void a_missing_token_names_the_resource_and_the_authorization_uri(void)
{
    sim *s = sim_start(modern);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in_with_tokens(c, ALICE, &err), UCWA_ERROR_AUTHENTICATION);
    REQUIRE(err);
    char origin[256], uri[300];
    origin_of(s, origin, sizeof origin);
    snprintf(uri, sizeof uri, "%s/_sim/oauth2/authorize", origin);
    const char *resource = ucwa_error_auth_resource(err);
    const char *from = ucwa_error_authorization_uri(err);
    CHECK(resource && strcmp(resource, origin) == 0);
    CHECK(from && strcmp(from, uri) == 0);
    CHECK(ucwa_error_http_status(err) == 401);
    ucwa_error_free(err);
    err = NULL;
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "token") == 0);
    CHECK(log_count(log, "POST", "applications") == 0);
    json_free(log);

    /* Acquire what the error named, give it, sign in again. */
    REQUIRE(give_token(s, c, 600));
    REQUIRE_OK(ucwa_sign_in_with_tokens(c, ALICE, &err), err);
}

static void token_needed_arrives_ahead_of_expiry_naming_the_resource(void)
{
    sim *s = sim_start(modern);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    REQUIRE(give_token(s, c, 4));
    char origin[256];
    origin_of(s, origin, sizeof origin);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in_with_tokens(c, ALICE, &err), err);
    int64_t started = now_ms();
    ucwa_event *needed = NULL;
    while (!needed && now_ms() - started < 6000) {
        ucwa_event *ev = NULL;
        REQUIRE_OK(ucwa_client_next_event(c, 200, &ev, &err), err);
        if (ev && ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_TOKEN_NEEDED) {
            needed = ev;
        } else {
            ucwa_event_free(ev);
        }
    }
    REQUIRE(needed);
    CHECK(now_ms() - started < 4000); /* ahead of the 4 s expiry */
    const char *resource = ucwa_event_resource(needed);
    CHECK(resource && strcmp(resource, origin) == 0);
    CHECK(ucwa_event_availability(needed) == UCWA_AVAILABILITY_UNSPECIFIED);
    ucwa_event_free(needed);
    /* A fresh token keeps the session past the first one's expiry. */
    REQUIRE(give_token(s, c, 600));
    portable_sleep_ms(3000);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "token") == 0);
    json_free(log);
}

/* Waits up to `ms` for a CONNECTION_STATE_CHANGED event to `state`; returns it (owned) or NULL. */
static ucwa_event *wait_state(ucwa_client *c, uint32_t state, int ms)
{
    int64_t started = now_ms();
    ucwa_error *err = NULL;
    while (now_ms() - started < ms) {
        ucwa_event *ev = NULL;
        if (ucwa_client_next_event(c, 200, &ev, &err) != UCWA_OK) {
            harness_fail(__FILE__, __LINE__, "next_event: %s", ucwa_error_message(err));
            ucwa_error_free(err);
            return NULL;
        }
        if (ev && ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_CONNECTION_STATE_CHANGED
            && ucwa_event_connection_state(ev) == state) {
            return ev;
        }
        ucwa_event_free(ev);
    }
    return NULL;
}

static void an_expired_token_is_recovered_from_once_the_host_gives_a_new_one(void)
{
    /* P-GETs released after 1 s, so the channel meets the expired token within the wait. */
    const char *const args[] = { "--modern-auth", "--event-timeout-s", "1", "--event-timeout-min-s", "1",
                                 NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "event_timeout_s", "1", &err), err);
    REQUIRE(give_token(s, c, 2));
    char origin[256];
    origin_of(s, origin, sizeof origin);
    REQUIRE_OK(ucwa_sign_in_with_tokens(c, ALICE, &err), err);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    /* The host ignores TOKEN_NEEDED: once the token is gone the channel fails. */
    ucwa_event *recovering = wait_state(c, UCWA_CONNECTION_STATE_RECOVERING, 10000);
    REQUIRE(recovering);
    ucwa_error *why = ucwa_event_reason(recovering);
    CHECK(why && ucwa_error_status(why) == UCWA_ERROR_AUTHENTICATION);
    CHECK(why && ucwa_error_auth_resource(why) && strcmp(ucwa_error_auth_resource(why), origin) == 0);
    ucwa_error_free(why);
    ucwa_event_free(recovering);
    /* A call now names what to acquire. */
    CHECK_STATUS(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), UCWA_ERROR_AUTHENTICATION);
    CHECK(err && ucwa_error_auth_resource(err) && strcmp(ucwa_error_auth_resource(err), origin) == 0);
    ucwa_error_free(err);
    err = NULL;
    /* The host gives a new token: the connection recovers, and presence can be set. */
    REQUIRE(give_token(s, c, 600));
    ucwa_event *recovered = wait_state(c, UCWA_CONNECTION_STATE_RECOVERED, 20000);
    REQUIRE(recovered);
    ucwa_event_free(recovered);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), err);
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(json_get_str(user, "availability") && strcmp(json_get_str(user, "availability"), "Busy") == 0);
    json_free(user);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "token") == 0);
    json_free(log);
}

const test_case modern_auth_tests[] = {
    { "host_tokens_sign_in_with_no_password_and_no_token_request", host_tokens_sign_in_with_no_password_and_no_token_request },
    { "a_missing_token_names_the_resource_and_the_authorization_uri", a_missing_token_names_the_resource_and_the_authorization_uri },
    { "token_needed_arrives_ahead_of_expiry_naming_the_resource", token_needed_arrives_ahead_of_expiry_naming_the_resource },
    { "an_expired_token_is_recovered_from_once_the_host_gives_a_new_one", an_expired_token_is_recovered_from_once_the_host_gives_a_new_one },
    { NULL, NULL },
};
