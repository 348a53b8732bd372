/*
 * test_windows_auth.c: the Windows grant (urn:microsoft.rtc:windows) through the C ABI against
 * ucwa-sim, which verifies NTLMv2 itself and binds the handshake to its TCP connection as IIS
 * does (owned by bindings/c/tests): NTLM and Negotiate (SPNEGO) on a windows-only pool, auto
 * preferring the password grant when both are offered and grant=windows running the
 * handshake anyway, a DOMAIN\user name, and a wrong password or domain refused as
 * AUTHENTICATION without the password in the message. Every test reads the simulator's token
 * log (which legs came, under which scheme, on which connection, what it decided) as well as
 * what the library returned. The handshake through a proxy is in test_proxy.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

#define WINDOWS_GRANT "urn:microsoft.rtc:windows"

/* Applications the simulator created (POST applications answered 201). */
static size_t applications_created(const sim *s)
{
    json_value *log = sim_log(s);
    size_t n = 0;
    for (size_t i = 0; log && i < log->count; i++) {
        const json_value *e = json_at(log, i);
        const char *route = json_get_str(e, "route");
        n += (size_t)(route && strcmp(route, "applications") == 0
                      && (int)json_get_num(e, "status", 0) == 201);
    }
    json_free(log);
    return n;
}

/* Token-log entries of a grant other than the Windows one (the password grant's). */
static size_t other_grants(const json_value *token_log)
{
    size_t n = 0;
    for (size_t i = 0; token_log && i < token_log->count; i++) {
        const char *g = json_get_str(json_at(token_log, i), "grant");
        n += (size_t)(!g || strcmp(g, WINDOWS_GRANT) != 0);
    }
    return n;
}

/* The n-th entry of the Windows grant in the token log. */
static const json_value *windows_leg(const json_value *token_log, size_t n)
{
    for (size_t i = 0; token_log && i < token_log->count; i++) {
        const json_value *e = json_at(token_log, i);
        const char *g = json_get_str(e, "grant");
        if (g && strcmp(g, WINDOWS_GRANT) == 0 && n-- == 0) {
            return e;
        }
    }
    return NULL;
}

static int is_true(const json_value *e, const char *key)
{
    const json_value *v = json_get(e, key);
    return v && v->type == JSON_BOOL && v->boolean;
}

static void a_windows_only_ntlm_pool_signs_in_in_three_legs_on_one_connection_and_the_session_works(void)
{
    const char *const args[] = { "--grants", WINDOWS_GRANT, "--windows-auth", "ntlm", NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    /* grant stays auto: the pool offers no password grant, so the same credentials go to the
     * Windows grant. */
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    json_value *tl = sim_token_log(s);
    REQUIRE(tl);
    CHECK_ONE_HANDSHAKE(tl, "NTLM", "granted alice@contoso.com");
    CHECK(other_grants(tl) == 0); /* the password grant was never tried */
    const json_value *auth = windows_leg(tl, 2);
    REQUIRE(auth);
    /* A UPN travels to NTLM as the user with an empty domain, as Windows sends it. */
    CHECK(json_get_str(auth, "ntlm_user") && strcmp(json_get_str(auth, "ntlm_user"), ALICE) == 0);
    CHECK(json_get_str(auth, "ntlm_domain") && strcmp(json_get_str(auth, "ntlm_domain"), "") == 0);
    CHECK(!is_true(auth, "spnego"));
    CHECK((int)json_get_num(auth, "status", 0) == 200);
    json_free(tl);

    /* The web ticket works on the pool: presence set and read back. */
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), err);
    uint32_t availability = 0;
    char *activity = NULL;
    REQUIRE_OK(ucwa_get_presence(c, &availability, &activity, &err), err);
    CHECK(availability == UCWA_AVAILABILITY_BUSY);
    ucwa_string_free(activity);
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(json_get_str(user, "availability") && strcmp(json_get_str(user, "availability"), "Busy") == 0);
    json_free(user);
    CHECK(applications_created(s) == 1);
}

static void negotiate_is_preferred_when_offered_and_wraps_ntlm_in_spnego(void)
{
    const char *const args[] = { "--grants", WINDOWS_GRANT, "--windows-auth", "ntlm,negotiate", NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    json_value *tl = sim_token_log(s);
    REQUIRE(tl);
    /* NTLM is offered first here, and Negotiate still wins. */
    CHECK_ONE_HANDSHAKE(tl, "Negotiate", "granted alice@contoso.com");
    CHECK(is_true(windows_leg(tl, 1), "spnego"));
    CHECK(is_true(windows_leg(tl, 2), "spnego"));
    json_free(tl);
    CHECK(applications_created(s) == 1);
}

static void with_both_grants_offered_auto_uses_the_password_grant(void)
{
    sim *s = sim_start(NULL); /* offers windows, anonmeeting and password */
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    json_value *tl = sim_token_log(s);
    REQUIRE(tl);
    REQUIRE(tl->count == 1);
    const json_value *e = json_at(tl, 0);
    CHECK(json_get_str(e, "grant") && strcmp(json_get_str(e, "grant"), "password") == 0);
    CHECK(json_get_str(e, "outcome") && strcmp(json_get_str(e, "outcome"), "granted alice@contoso.com") == 0);
    CHECK(json_get(e, "leg") && json_get(e, "leg")->type == JSON_NULL);
    json_free(tl);
    CHECK(applications_created(s) == 1);
}

static void with_both_grants_offered_grant_windows_runs_the_handshake(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "grant", "windows", &err), err);
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    json_value *tl = sim_token_log(s);
    REQUIRE(tl);
    CHECK_ONE_HANDSHAKE(tl, "Negotiate", "granted alice@contoso.com"); /* IIS's default order */
    CHECK(other_grants(tl) == 0);
    json_free(tl);
    CHECK(applications_created(s) == 1);
}

static void a_domain_backslash_user_signs_in_as_that_domain_and_user(void)
{
    const char *const args[] = { "--grants", WINDOWS_GRANT, NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, "CONTOSO\\alice", ALICE_PASSWORD, &err), err);
    json_value *tl = sim_token_log(s);
    REQUIRE(tl);
    CHECK_ONE_HANDSHAKE(tl, "Negotiate", "granted alice@contoso.com");
    const json_value *auth = windows_leg(tl, 2);
    REQUIRE(auth);
    CHECK(json_get_str(auth, "ntlm_user") && strcmp(json_get_str(auth, "ntlm_user"), "alice") == 0);
    CHECK(json_get_str(auth, "ntlm_domain") && strcmp(json_get_str(auth, "ntlm_domain"), "CONTOSO") == 0);
    json_free(tl);
    CHECK(applications_created(s) == 1);
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    const json_value *apps = json_get(user, "applications");
    CHECK(apps && apps->type == JSON_ARRAY && apps->count == 1);
    json_free(user);
}

/* Signs in with credentials the pool must refuse, under each scheme alone, and checks the
 * error, the token log's outcome, and that no application was created. */
static void refused(const char *user, const char *password, const char *outcome)
{
    static const char *const schemes[][2] = { { "ntlm", "NTLM" }, { "negotiate", "Negotiate" } };
    for (size_t i = 0; i < 2; i++) {
        const char *const args[] = { "--grants", WINDOWS_GRANT, "--windows-auth", schemes[i][0], NULL };
        sim *s = sim_start(args);
        REQUIRE(s);
        ucwa_client *c = sim_client(s);
        REQUIRE(c);
        ucwa_error *err = NULL;
        CHECK_STATUS(ucwa_sign_in(c, user, password, &err), UCWA_ERROR_AUTHENTICATION);
        REQUIRE(err);
        const char *msg = ucwa_error_message(err);
        REQUIRE(msg);
        CHECK(strstr(msg, "the server refused the Windows credentials of") != NULL);
        CHECK(strstr(msg, schemes[i][1]) != NULL);
        CHECK(strstr(msg, password) == NULL);
        ucwa_error_free(err);
        json_value *tl = sim_token_log(s);
        REQUIRE(tl);
        CHECK_ONE_HANDSHAKE(tl, schemes[i][1], outcome);
        CHECK((int)json_get_num(windows_leg(tl, 2), "status", 0) == 401);
        json_free(tl);
        CHECK(applications_created(s) == 0);
    }
}

static void a_wrong_password_is_authentication_and_the_simulator_refused_the_password(void)
{
    refused(ALICE, "not-alices-password", "refused: bad password");
}

static void a_wrong_domain_is_authentication_and_the_simulator_refused_the_domain(void)
{
    refused("FABRIKAM\\alice", ALICE_PASSWORD, "refused: wrong domain");
}

const test_case windows_auth_tests[] = {
    { "a_windows_only_ntlm_pool_signs_in_in_three_legs_on_one_connection_and_the_session_works", a_windows_only_ntlm_pool_signs_in_in_three_legs_on_one_connection_and_the_session_works },
    { "negotiate_is_preferred_when_offered_and_wraps_ntlm_in_spnego", negotiate_is_preferred_when_offered_and_wraps_ntlm_in_spnego },
    { "with_both_grants_offered_auto_uses_the_password_grant", with_both_grants_offered_auto_uses_the_password_grant },
    { "with_both_grants_offered_grant_windows_runs_the_handshake", with_both_grants_offered_grant_windows_runs_the_handshake },
    { "a_domain_backslash_user_signs_in_as_that_domain_and_user", a_domain_backslash_user_signs_in_as_that_domain_and_user },
    { "a_wrong_password_is_authentication_and_the_simulator_refused_the_password", a_wrong_password_is_authentication_and_the_simulator_refused_the_password },
    { "a_wrong_domain_is_authentication_and_the_simulator_refused_the_domain", a_wrong_domain_is_authentication_and_the_simulator_refused_the_domain },
    { NULL, NULL },
};
