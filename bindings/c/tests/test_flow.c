/*
 * test_flow.c: the sign-in → available → presence/note/location → sign-out flow through the
 * C ABI against ucwa-sim, and the error objects of failed calls (owned by bindings/c/tests).
 * Every test asserts on what the simulator saw (/_sim/log, /_sim/users) as well as on what the
 * library returned.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

/* The log entry's JSON request body, parsed and compared with `want` (JSON text). */
static int body_is(const json_value *entry, const char *want)
{
    const char *body = json_get_str(entry, "body");
    json_value *parsed = json_parse(body);
    int eq = parsed && json_equals_text(parsed, want);
    json_free(parsed);
    return eq;
}

static void full_flow_sets_and_reads_state_and_server_saw_each_request(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = (ucwa_error *)0x1; /* must be overwritten with NULL on success */

    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    CHECK(err == NULL);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), err);
    REQUIRE_OK(ucwa_set_note(c, "In the lab until 3", &err), err);
    REQUIRE_OK(ucwa_set_location(c, "Building 7", &err), err);

    uint32_t availability = 0xA5A5;
    char *activity = (char *)0x1;
    REQUIRE_OK(ucwa_get_presence(c, &availability, &activity, &err), err);
    CHECK(availability == UCWA_AVAILABILITY_BUSY);
    CHECK(activity != (char *)0x1);
    ucwa_string_free(activity);

    char *note = NULL;
    REQUIRE_OK(ucwa_get_note(c, &note, &err), err);
    CHECK(note && strcmp(note, "In the lab until 3") == 0);
    ucwa_string_free(note);
    char *location = NULL;
    REQUIRE_OK(ucwa_get_location(c, &location, &err), err);
    CHECK(location && strcmp(location, "Building 7") == 0);
    ucwa_string_free(location);
    REQUIRE_OK(ucwa_report_activity(c, &err), err);

    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(json_get_str(user, "availability") && strcmp(json_get_str(user, "availability"), "Busy") == 0);
    CHECK(json_get_str(user, "note") && strcmp(json_get_str(user, "note"), "In the lab until 3") == 0);
    CHECK(json_get_str(user, "location") && strcmp(json_get_str(user, "location"), "Building 7") == 0);
    const json_value *apps = json_get(user, "applications");
    CHECK(apps && apps->count == 1);
    const json_value *made = json_get(json_at(apps, 0), "made_available");
    CHECK(made && made->type == JSON_BOOL && made->boolean);
    CHECK(json_get_num(json_at(apps, 0), "activity_reports", 0) >= 1);
    json_free(user);

    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "applications") == 1);
    CHECK(log_count(log, "POST", "makeMeAvailable") == 1);
    CHECK(log_count(log, "POST", "presence") == 1);
    CHECK(body_is(log_nth(log, "POST", "presence", 0), "{\"availability\":\"Busy\"}"));
    CHECK(log_count(log, "POST", "note") == 1);
    CHECK(body_is(log_nth(log, "POST", "note", 0), "{\"message\":\"In the lab until 3\"}"));
    CHECK(log_count(log, "POST", "location") == 1);
    CHECK(body_is(log_nth(log, "POST", "location", 0), "{\"location\":\"Building 7\"}"));
    CHECK(log_count(log, "GET", "presence") == 1);
    CHECK(log_count(log, "GET", "note") == 1);
    CHECK(log_count(log, "GET", "location") == 1);
    CHECK(log_count(log, "POST", "reportMyActivity") >= 1);
    /* Every request on an application resource carried the bearer token. */
    const char *authed[] = { "applications", "makeMeAvailable", "presence", "note", "location" };
    for (size_t r = 0; r < sizeof authed / sizeof authed[0]; r++) {
        for (size_t i = 0; i < log_count(log, NULL, authed[r]); i++) {
            const json_value *a = json_get(log_nth(log, NULL, authed[r], i), "authorization");
            CHECK(a && a->type == JSON_BOOL && a->boolean);
        }
    }
    json_free(log);

    REQUIRE_OK(ucwa_sign_out(c, &err), err);
    CHECK(err == NULL);
    log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "DELETE", "application") == 1);
    uint64_t count = 0;
    REQUIRE_OK(ucwa_client_request_count(c, &count, &err), err);
    /* The count includes every request the server logged for this (only) client. */
    CHECK(count >= (uint64_t)log_count_foreground(log));
    CHECK(count <= (uint64_t)log->count + 1);
    json_free(log);
    user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(json_get(user, "applications") && json_get(user, "applications")->count == 0);
    json_free(user);
}

static void cold_start_takes_at_most_8_requests_and_each_later_change_one(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), err);
    json_value *log = sim_log(s);
    REQUIRE(log);
    size_t cold = log_count_foreground(log);
    CHECK(cold <= 8);
    CHECK(log_count(log, "POST", "presence") == 1);
    json_free(log);

    /* Exactly one request: the POST. (A keep-alive that mistakes our own Away, echoed on the
     * event channel before the call returns, for inactivity would add a reportMyActivity.) */
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_AWAY, &err), err);
    log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count_foreground(log) == cold + 1);
    if (log_count_foreground(log) != cold + 1) {
        for (size_t i = 0; i < log->count; i++) {
            printf("    log: %s %s (%s)\n", json_get_str(log->items[i], "method"),
                   json_get_str(log->items[i], "route"), json_get_str(log->items[i], "path"));
        }
    }
    CHECK(log_count(log, "POST", "presence") == 2);
    CHECK(body_is(log_nth(log, "POST", "presence", 1), "{\"availability\":\"Away\"}"));
    json_free(log);
}

static void utf8_note_and_location_round_trip_byte_for_byte(void)
{
    /* German, an em dash, CJK and an emoji outside the BMP (a surrogate pair in JSON). */
    const char *note = "Gr\xC3\xBC\xC3\x9F" "e \xE2\x80\x94 \xE4\xBC\x9A\xE8\xAE\xAE\xE4\xB8\xAD \xF0\x9F\x8E\x89";
    const char *where = "M\xC3\xBCnchen, Stra\xC3\x9F" "e 5";
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_note(c, note, &err), err);
    REQUIRE_OK(ucwa_set_location(c, where, &err), err);
    char *got = NULL;
    REQUIRE_OK(ucwa_get_note(c, &got, &err), err);
    CHECK(got && strcmp(got, note) == 0);
    ucwa_string_free(got);
    got = NULL;
    REQUIRE_OK(ucwa_get_location(c, &got, &err), err);
    CHECK(got && strcmp(got, where) == 0);
    ucwa_string_free(got);
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(json_get_str(user, "note") && strcmp(json_get_str(user, "note"), note) == 0);
    CHECK(json_get_str(user, "location") && strcmp(json_get_str(user, "location"), where) == 0);
    json_free(user);
}

static void null_and_empty_note_clear_it_on_the_server(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_note(c, "temporary", &err), err);
    REQUIRE_OK(ucwa_set_note(c, NULL, &err), err);
    char *got = (char *)0x1;
    REQUIRE_OK(ucwa_get_note(c, &got, &err), err);
    REQUIRE(got != (char *)0x1);
    CHECK(got == NULL || strcmp(got, "") == 0);
    ucwa_string_free(got);
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    const char *n = json_get_str(user, "note");
    CHECK(n == NULL || strcmp(n, "") == 0);
    json_free(user);

    REQUIRE_OK(ucwa_set_location(c, "somewhere", &err), err);
    REQUIRE_OK(ucwa_set_location(c, "", &err), err);
    user = sim_user(s, ALICE);
    REQUIRE(user);
    const char *l = json_get_str(user, "location");
    CHECK(l == NULL || strcmp(l, "") == 0);
    json_free(user);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "note") == 2);
    CHECK(log_count(log, "POST", "location") == 2);
    json_free(log);
}

static void wrong_password_is_authentication_error_without_the_password(void)
{
    const char *password = "not-alices-password-7731";
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in(c, ALICE, password, &err), UCWA_ERROR_AUTHENTICATION);
    REQUIRE(err);
    CHECK(ucwa_error_status(err) == UCWA_ERROR_AUTHENTICATION);
    const char *msg = ucwa_error_message(err);
    CHECK(msg && *msg);
    CHECK(msg && !strstr(msg, password));
    ucwa_error_free(err);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "token") >= 1);
    CHECK(log_count(log, NULL, "applications") == 0);
    json_free(log);
    /* Not signed in: presence calls are out of order and send nothing. */
    CHECK_STATUS(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, NULL), UCWA_ERROR_INVALID_STATE);
}

static void server_409_fault_exposes_code_subcode_and_http_status(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    int st = sim_http(s, "POST", "/_sim/faults",
                      "{\"route\":\"note\",\"method\":\"POST\",\"count\":1,\"action\":{\"Respond\":"
                      "{\"status\":409,\"headers\":[[\"Content-Type\",\"application/json\"]],"
                      "\"body\":\"{\\\"code\\\":\\\"Conflict\\\",\\\"subcode\\\":\\\"AlreadyExists\\\","
                      "\\\"message\\\":\\\"The note is locked.\\\"}\"}}}",
                      NULL);
    REQUIRE(st == 204);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_set_note(c, "blocked", &err), UCWA_ERROR_SERVER);
    REQUIRE(err);
    CHECK(ucwa_error_status(err) == UCWA_ERROR_SERVER);
    CHECK(ucwa_error_http_status(err) == 409);
    CHECK(ucwa_error_code(err) && strcmp(ucwa_error_code(err), "Conflict") == 0);
    CHECK(ucwa_error_subcode(err) && strcmp(ucwa_error_subcode(err), "AlreadyExists") == 0);
    const char *msg = ucwa_error_message(err);
    CHECK(msg && *msg && strstr(msg, "409"));
    ucwa_error_free(err);
    json_value *log = sim_log(s);
    REQUIRE(log);
    const json_value *e = log_nth(log, "POST", "note", 0);
    CHECK(e && json_get_num(e, "status", 0) == 409);
    json_free(log);

    /* The fault was one-shot: the next call goes through. */
    err = NULL;
    CHECK_STATUS(ucwa_set_note(c, "unblocked", &err), UCWA_OK);
    ucwa_error_free(err);
}

static void presence_calls_before_make_me_available_are_invalid_state_and_send_nothing(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    err = (ucwa_error *)0x1;
    CHECK_STATUS(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err), UCWA_ERROR_INVALID_STATE);
    CHECK(err != (ucwa_error *)0x1 && ucwa_error_status(err) == UCWA_ERROR_INVALID_STATE);
    CHECK(*ucwa_error_message(err) != '\0');
    CHECK(ucwa_error_http_status(err) == 0);
    ucwa_error_free(err == (ucwa_error *)0x1 ? NULL : err);
    CHECK_STATUS(ucwa_set_note(c, "x", NULL), UCWA_ERROR_INVALID_STATE);
    CHECK_STATUS(ucwa_set_location(c, "x", NULL), UCWA_ERROR_INVALID_STATE);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "presence") == 0);
    CHECK(log_count(log, NULL, "note") == 0);
    CHECK(log_count(log, NULL, "location") == 0);
    json_free(log);
}

static void out_of_range_availability_is_invalid_argument_and_sends_nothing(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    const uint32_t bad_sign_in_as[] = { 7, 8, 9, 10, 11, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof bad_sign_in_as / sizeof bad_sign_in_as[0]; i++) {
        CHECK_STATUS(ucwa_make_me_available(c, bad_sign_in_as[i], NULL), UCWA_ERROR_INVALID_ARGUMENT);
    }
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "makeMeAvailable") == 0);
    json_free(log);

    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_ONLINE, &err), err);
    const uint32_t bad[] = { 0, 7, 8, 9, 10, 11, 0x80000000u, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        CHECK_STATUS(ucwa_set_availability(c, bad[i], &err), UCWA_ERROR_INVALID_ARGUMENT);
        CHECK(ucwa_error_status(err) == UCWA_ERROR_INVALID_ARGUMENT);
        ucwa_error_free(err);
    }
    log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "presence") == 0);
    json_free(log);
}

static void options_accept_known_keys_and_refuse_unknown_ones(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "user_agent", "ucwa-c-tests/1.0", &err), err);
    REQUIRE_OK(ucwa_client_set_option(c, "endpoint_id", "c-tests-endpoint", &err), err);
    REQUIRE_OK(ucwa_client_set_option(c, "timeout_ms", "20000", &err), err);
    CHECK_STATUS(ucwa_client_set_option(c, "no_such_option", "1", &err), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(ucwa_error_status(err) == UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_error_free(err);
    err = NULL;
    CHECK_STATUS(ucwa_client_set_option(c, "timeout_ms", "soon", &err), UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_error_free(err);
    err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    /* The options shaped the application the server created. */
    json_value *user = sim_user(s, ALICE);
    REQUIRE(user);
    const json_value *app = json_at(json_get(user, "applications"), 0);
    CHECK(json_get_str(app, "user_agent") && strcmp(json_get_str(app, "user_agent"), "ucwa-c-tests/1.0") == 0);
    CHECK(json_get_str(app, "endpoint_id") && strcmp(json_get_str(app, "endpoint_id"), "c-tests-endpoint") == 0);
    json_free(user);
}

static void plain_http_to_a_non_loopback_host_is_insecure(void)
{
    ucwa_client *c = (ucwa_client *)0x1;
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_client_new("http://ucwa.example.com/", &c, &err), UCWA_ERROR_INSECURE);
    CHECK(c == (ucwa_client *)0x1);
    CHECK(ucwa_error_status(err) == UCWA_ERROR_INSECURE);
    ucwa_error_free(err);
}

const test_case flow_tests[] = {
    { "full_flow_sets_and_reads_state_and_server_saw_each_request", full_flow_sets_and_reads_state_and_server_saw_each_request },
    { "cold_start_takes_at_most_8_requests_and_each_later_change_one", cold_start_takes_at_most_8_requests_and_each_later_change_one },
    { "utf8_note_and_location_round_trip_byte_for_byte", utf8_note_and_location_round_trip_byte_for_byte },
    { "null_and_empty_note_clear_it_on_the_server", null_and_empty_note_clear_it_on_the_server },
    { "wrong_password_is_authentication_error_without_the_password", wrong_password_is_authentication_error_without_the_password },
    { "server_409_fault_exposes_code_subcode_and_http_status", server_409_fault_exposes_code_subcode_and_http_status },
    { "presence_calls_before_make_me_available_are_invalid_state_and_send_nothing", presence_calls_before_make_me_available_are_invalid_state_and_send_nothing },
    { "out_of_range_availability_is_invalid_argument_and_sends_nothing", out_of_range_availability_is_invalid_argument_and_sends_nothing },
    { "options_accept_known_keys_and_refuse_unknown_ones", options_accept_known_keys_and_refuse_unknown_ones },
    { "plain_http_to_a_non_loopback_host_is_insecure", plain_http_to_a_non_loopback_host_is_insecure },
    { NULL, NULL },
};
