/*
 * test_signin.c: how sign-in chooses and reads its grant, through the C ABI against ucwa-sim
 * (owned by bindings/c/tests): challenges folded into one WWW-Authenticate line by a proxy
 * still sign in; a pool whose challenge offers no grant this sign-in can use (grant=password
 * on a windows-only pool, grant=windows on a password-only one, an anonymous-meetings-only
 * pool) fails with AUTHENTICATION naming the offered and the usable grants, and the password
 * is never sent (the simulator saw no token request); signing in as the current Windows user
 * off Windows fails at once, before any request, and leaves the client able to sign in. The
 * Windows grant itself is test_windows_auth.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

/* How many token requests and application creations the simulator saw. */
static void seen(const sim *s, size_t *tokens, size_t *created)
{
    json_value *log = sim_log(s);
    if (!log) {
        harness_fail(__FILE__, __LINE__, "no log from the simulator");
        return;
    }
    *tokens = log_count(log, NULL, "token");
    *created = 0;
    for (size_t i = 0; i < log->count; i++) {
        const json_value *e = json_at(log, i);
        const char *route = json_get_str(e, "route");
        if (route && strcmp(route, "applications") == 0
            && (int)json_get_num(e, "status", 0) == 201) {
            (*created)++;
        }
    }
    json_free(log);
}

static void folded_challenges_still_sign_in(void)
{
    const char *const args[] = { "--fold-challenges", NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    REQUIRE(sim_signed_in_client(s));
    size_t tokens = 0, created = 0;
    seen(s, &tokens, &created);
    CHECK(tokens == 1);
    CHECK(created == 1);
}

/* The error and what the simulator saw when no offered grant is one this sign-in may use: the
 * message names both lists, never the password, and no token request (the only request that
 * carries the password) was made, nor an application. */
static void refused_before_the_token_request(const sim *s, ucwa_client *c, const char *names)
{
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), UCWA_ERROR_AUTHENTICATION);
    REQUIRE(err);
    const char *msg = ucwa_error_message(err);
    CHECK(msg && strstr(msg, names) != NULL);
    CHECK(msg && strstr(msg, ALICE_PASSWORD) == NULL);
    ucwa_error_free(err);
    size_t tokens = 9, created = 9;
    seen(s, &tokens, &created);
    CHECK(tokens == 0); /* the password never left */
    CHECK(created == 0);
    json_value *log = sim_log(s);
    REQUIRE(log);
    /* The challenge was the last thing asked for. */
    const json_value *last = log->count ? json_at(log, log->count - 1) : NULL;
    CHECK(last && json_get_str(last, "route") && strcmp(json_get_str(last, "route"), "user") == 0);
    CHECK(last && (int)json_get_num(last, "status", 0) == 401);
    json_free(log);
}

static void grant_password_on_a_windows_only_pool_fails_naming_its_grants_without_a_token_request(void)
{
    for (int fold = 0; fold < 2; fold++) {
        const char *const plain[] = { "--grants", "urn:microsoft.rtc:windows", NULL };
        const char *const folded[] = { "--grants", "urn:microsoft.rtc:windows", "--fold-challenges", NULL };
        sim *s = sim_start(fold ? folded : plain);
        REQUIRE(s);
        ucwa_client *c = sim_client(s);
        REQUIRE(c);
        ucwa_error *err = NULL;
        REQUIRE_OK(ucwa_client_set_option(c, "grant", "password", &err), err);
        refused_before_the_token_request(
            s, c, "the server offers urn:microsoft.rtc:windows; this sign-in can use password");
    }
}

static void an_anonymous_meetings_only_pool_names_its_grant_and_both_usable_ones(void)
{
    const char *const args[] = { "--grants", "urn:microsoft.rtc:anonmeeting", "--fold-challenges", NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    /* grant auto: either grant would do, and the pool offers neither. */
    refused_before_the_token_request(s, c,
        "the server offers urn:microsoft.rtc:anonmeeting; this sign-in can use password, "
        "urn:microsoft.rtc:windows");
}

static void grant_windows_on_a_password_only_pool_fails_without_a_token_request(void)
{
    const char *const args[] = { "--grants", "password", NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_client_set_option(c, "grant", "kerberos", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "windows", &err), err);
    refused_before_the_token_request(
        s, c, "the server offers password; this sign-in can use urn:microsoft.rtc:windows");
    /* grant=password against the same pool signs in, with one token request. */
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "password", &err), err);
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    size_t tokens = 0, created = 0;
    seen(s, &tokens, &created);
    CHECK(tokens == 1 && created == 1);
}

/* Off Windows there is no logged-on Windows user to sign in as: the call must say so before it
 * sends anything, so a host learns it needs DOMAIN\user and a password without touching the
 * pool, and a failed attempt must not leave the client half signed in. */
static void sign_in_current_user_off_windows_fails_at_once_and_the_client_still_signs_in(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    uint32_t st = ucwa_sign_in_current_user(c, &err);
    REQUIRE(err);
    CHECK(ucwa_error_status(err) == st);
#ifdef _WIN32
    /* Under Wine (scripts/test-windows.sh c) the call really runs SSPI's handshake against the
     * simulator as Wine's logged-on user, who is none of the simulator's users (and Wine's
     * SSPI may have no NTLM at all): any documented failure will do, but never success, and
     * not a handle, argument or state error on this fresh client. */
    CHECK(st == UCWA_ERROR_AUTHENTICATION || st == UCWA_ERROR_NETWORK || st == UCWA_ERROR_TIMEOUT
          || st == UCWA_ERROR_TLS || st == UCWA_ERROR_SERVER || st == UCWA_ERROR_PROTOCOL
          || st == UCWA_ERROR_INSECURE);
    ucwa_error_free(err);
    err = NULL;
#else
    CHECK_STATUS(st, UCWA_ERROR_AUTHENTICATION);
    const char *msg = ucwa_error_message(err);
    CHECK(msg && strstr(msg, "signing in as the current user needs Windows") != NULL);
    ucwa_error_free(err);
    err = NULL;
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log->count == 0); /* not even discovery */
    json_free(log);
    uint64_t count = 99;
    REQUIRE_OK(ucwa_client_request_count(c, &count, &err), err);
    CHECK(count == 0);
#endif
    /* The same client signs in with a password afterwards. */
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    size_t tokens = 0, created = 0;
    seen(s, &tokens, &created);
    CHECK(created == 1);
    REQUIRE_OK(ucwa_sign_out(c, &err), err);
}

const test_case signin_tests[] = {
    { "folded_challenges_still_sign_in", folded_challenges_still_sign_in },
    { "grant_password_on_a_windows_only_pool_fails_naming_its_grants_without_a_token_request", grant_password_on_a_windows_only_pool_fails_naming_its_grants_without_a_token_request },
    { "an_anonymous_meetings_only_pool_names_its_grant_and_both_usable_ones", an_anonymous_meetings_only_pool_names_its_grant_and_both_usable_ones },
    { "grant_windows_on_a_password_only_pool_fails_without_a_token_request", grant_windows_on_a_password_only_pool_fails_without_a_token_request },
    { "sign_in_current_user_off_windows_fails_at_once_and_the_client_still_signs_in", sign_in_current_user_off_windows_fails_at_once_and_the_client_still_signs_in },
    { NULL, NULL },
};
