/*
 * test_signin.c: how sign-in chooses and reads its grant, through the C ABI against ucwa-sim
 * (owned by bindings/c/tests): challenges folded into one WWW-Authenticate line by a proxy
 * still sign in; a pool whose challenge offers no grant this sign-in can use, or option
 * grant=windows, fails with AUTHENTICATION naming the offered grants, and the password is
 * never sent (the simulator saw no token request).
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

static void a_pool_without_the_password_grant_is_authentication_naming_its_grants(void)
{
    const char *const args[] = { "--grants", "urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting",
                                 NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), UCWA_ERROR_AUTHENTICATION);
    REQUIRE(err);
    const char *msg = ucwa_error_message(err);
    CHECK(strstr(msg, "urn:microsoft.rtc:windows") != NULL);
    CHECK(strstr(msg, "urn:microsoft.rtc:anonmeeting") != NULL);
    CHECK(strstr(msg, ALICE_PASSWORD) == NULL);
    ucwa_error_free(err);
    size_t tokens = 9, created = 9;
    seen(s, &tokens, &created);
    CHECK(tokens == 0); /* the password never left */
    CHECK(created == 0);
}

static void option_grant_windows_fails_without_sending_the_password(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_client_set_option(c, "grant", "kerberos", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "windows", &err), err);
    CHECK_STATUS(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), UCWA_ERROR_AUTHENTICATION);
    REQUIRE(err);
    CHECK(strstr(ucwa_error_message(err), "password") != NULL); /* the grants it offers */
    ucwa_error_free(err);
    err = NULL;
    size_t tokens = 9, created = 9;
    seen(s, &tokens, &created);
    CHECK(tokens == 0);
    CHECK(created == 0);
    /* grant=password (or auto) against the same pool signs in. */
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "password", &err), err);
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    seen(s, &tokens, &created);
    CHECK(tokens == 1 && created == 1);
}

const test_case signin_tests[] = {
    { "folded_challenges_still_sign_in", folded_challenges_still_sign_in },
    { "a_pool_without_the_password_grant_is_authentication_naming_its_grants", a_pool_without_the_password_grant_is_authentication_naming_its_grants },
    { "option_grant_windows_fails_without_sending_the_password", option_grant_windows_fails_without_sending_the_password },
    { NULL, NULL },
};
