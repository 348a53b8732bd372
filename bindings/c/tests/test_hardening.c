/*
 * test_hardening.c: the library is never a danger to its host or to the pool, seen through the
 * C ABI (owned by bindings/c/tests): a 300 MiB body is refused as PROTOCOL, a foreign origin
 * reflecting the pool's challenge gets no token (INSECURE), a server that loses every
 * application is met with a handful of recreations and a LOST event, echoed secrets reach no
 * error message, and sign-in/free and sign-in/sign-out cycles leave no application behind.
 * Each test asserts on the simulator's log or state as well as on what the library returned.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

static int inject(const sim *s, const char *fault_json)
{
    return sim_http(s, "POST", "/_sim/faults", fault_json, NULL);
}

/* Waits until the client followed makeMeAvailable's bare presence/note/location events with its
 * GETs (real servers, and ucwa-sim by default, do not embed the resource), so a fault injected
 * next is met by the test's own call, not by one of those background GETs. */
static int wait_for_follow_ups(const sim *s)
{
    int64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        json_value *log = sim_log(s);
        int done = log && log_count(log, "GET", "presence") >= 1 && log_count(log, "GET", "note") >= 1 &&
                   log_count(log, "GET", "location") >= 1;
        json_free(log);
        if (done) {
            return 1;
        }
        sleep_ms(50);
    }
    return 0;
}

/* Live applications of alice on the simulator. */
static size_t alice_applications(const sim *s)
{
    json_value *u = sim_user(s, ALICE);
    if (!u) {
        return (size_t)-1;
    }
    const json_value *apps = json_get(u, "applications");
    size_t n = apps ? apps->count : (size_t)-1;
    json_free(u);
    return n;
}

static void a_300_mib_body_is_a_protocol_error_and_the_next_call_works(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    REQUIRE(wait_for_follow_ups(s));
    json_value *before = sim_log(s);
    REQUIRE(before);
    size_t gets_before = log_count(before, "GET", "presence");
    json_free(before);
    REQUIRE(inject(s, "{\"route\":\"presence\",\"method\":\"GET\",\"count\":1,"
                      "\"action\":{\"Oversized\":{\"status\":200,\"bytes\":314572800}}}") == 204);
    uint32_t av = 0;
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_get_presence(c, &av, NULL, &err), UCWA_ERROR_PROTOCOL);
    CHECK(err && strstr(ucwa_error_message(err), "larger than 4194304 bytes"));
    CHECK(av == 0); /* outputs are written only on success */
    ucwa_error_free(err);
    err = NULL;
    REQUIRE_OK(ucwa_get_presence(c, &av, NULL, &err), err);
    CHECK(av == UCWA_AVAILABILITY_ONLINE);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "GET", "presence") - gets_before == 2);
    json_free(log);
}

static void a_foreign_origin_reflecting_the_challenge_is_refused_and_gets_no_token(void)
{
    const char *args[] = { "--foreign-challenge", "reflect", "--foreign-apps-user", ALICE, NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), UCWA_ERROR_INSECURE);
    ucwa_error_free(err);
    json_value *log = sim_log(s);
    REQUIRE(log);
    size_t foreign = 0;
    for (size_t i = 0; i < log->count; i++) {
        const json_value *e = json_at(log, i);
        const char *pool = json_get_str(e, "pool");
        if (pool && strcmp(pool, "foreign") == 0) {
            foreign++;
            const json_value *auth = json_get(e, "authorization");
            CHECK(auth && auth->type == JSON_BOOL && !auth->boolean);
        }
    }
    CHECK(foreign >= 1);
    CHECK(log_count(log, "POST", "token") == 1);
    json_free(log);
}

static void losing_every_application_costs_a_handful_of_recreations_and_reports_lost(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "event_timeout_s", "1", &err), err);
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_BUSY, &err), err);
    REQUIRE(inject(s, "{\"route\":\"events\",\"count\":0,\"action\":{\"Respond\":{\"status\":404,"
                      "\"headers\":[[\"Content-Type\",\"application/json\"]],"
                      "\"body\":\"{\\\"code\\\":\\\"NotFound\\\",\\\"subcode\\\":\\\"ApplicationNotFound\\\"}\"}}}") == 204);
    int lost = 0;
    int64_t deadline = now_ms() + 20000;
    while (!lost && now_ms() < deadline) {
        ucwa_event *ev = NULL;
        REQUIRE_OK(ucwa_client_next_event(c, 250, &ev, &err), err);
        if (ev && ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_CONNECTION_STATE_CHANGED &&
            ucwa_event_connection_state(ev) == UCWA_CONNECTION_STATE_LOST) {
            lost = 1;
            const ucwa_error *why = ucwa_event_reason(ev);
            CHECK(why && ucwa_error_http_status(why) == 404);
        }
        ucwa_event_free(ev);
    }
    CHECK(lost);
    json_value *log = sim_log(s);
    REQUIRE(log);
    size_t created = log_count(log, "POST", "applications");
    CHECK(created >= 2 && created <= 5); /* sign-in's one plus at most four recreations */
    CHECK(log->count < 200);
    json_free(log);
}

static void echoed_password_and_token_never_reach_an_error_message(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    REQUIRE(inject(s, "{\"route\":\"token\",\"count\":1,\"action\":{\"EchoSecrets\":{\"status\":400}}}") == 204);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), UCWA_ERROR_AUTHENTICATION);
    REQUIRE(err);
    CHECK(strstr(ucwa_error_message(err), ALICE_PASSWORD) == NULL);
    CHECK(strstr(ucwa_error_message(err), "[redacted]") != NULL);
    ucwa_error_free(err);
    err = NULL;

    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    REQUIRE_OK(ucwa_make_me_available(c, 0, &err), err);
    REQUIRE(inject(s, "{\"route\":\"note\",\"method\":\"POST\",\"count\":1,"
                      "\"action\":{\"EchoSecrets\":{\"status\":400}}}") == 204);
    CHECK_STATUS(ucwa_set_note(c, "hello", &err), UCWA_ERROR_SERVER);
    REQUIRE(err);
    const char *msg = ucwa_error_message(err);
    CHECK(strstr(msg, "cwt=") == NULL);
    CHECK(strstr(msg, ALICE_PASSWORD) == NULL);
    CHECK(strstr(msg, "[redacted]") != NULL);
    const char *sub = ucwa_error_subcode(err);
    CHECK(sub && strcmp(sub, "EchoedSecrets") == 0);
    ucwa_error_free(err);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "note") == 1);
    json_free(log);
}

static void three_hundred_sign_in_and_free_cycles_leave_no_application(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_error *err = NULL;
    for (int i = 0; i < 300; i++) {
        /* Not tracked: this loop frees each client itself, right after making it available. */
        ucwa_client *c = NULL;
        REQUIRE_OK(ucwa_client_new(s->url, &c, &err), err);
        REQUIRE_OK(ucwa_client_set_option(c, "event_timeout_s", "1", &err), err);
        if (ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err) != UCWA_OK ||
            ucwa_make_me_available(c, 0, &err) != UCWA_OK) {
            harness_fail(__FILE__, __LINE__, "cycle %d: %s", i, ucwa_error_message(err));
            ucwa_error_free(err);
            ucwa_client_free(c);
            return;
        }
        ucwa_client_free(c);
    }
    int64_t deadline = now_ms() + 10000;
    while (alice_applications(s) != 0 && now_ms() < deadline) {
        sleep_ms(50);
    }
    CHECK(alice_applications(s) == 0);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "applications") == 300);
    json_free(log);
}

static void three_hundred_sign_out_cycles_leave_no_application(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    for (int i = 0; i < 300; i++) {
        REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
        REQUIRE_OK(ucwa_make_me_available(c, 0, &err), err);
        REQUIRE_OK(ucwa_sign_out(c, &err), err);
    }
    CHECK(alice_applications(s) == 0);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "applications") == 300);
    CHECK(log_count(log, "DELETE", "application") == 300);
    json_free(log);
}

static void header_bound_options_refuse_control_characters(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_client_set_option(c, "user_agent", "demo\r\nX-Injected: 1", &err),
                 UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_error_free(err);
    err = NULL;
    CHECK_STATUS(ucwa_client_set_option(c, "ca_file", "/dev/zero", &err), UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_error_free(err);
    err = NULL;
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    json_value *u = sim_user(s, ALICE);
    REQUIRE(u);
    const json_value *app = json_at(json_get(u, "applications"), 0);
    const char *ua = json_get_str(app, "user_agent");
    CHECK(ua && strncmp(ua, "ucwa/", 5) == 0);
    json_free(u);
}

const test_case hardening_tests[] = {
    { "a_300_mib_body_is_a_protocol_error_and_the_next_call_works",
      a_300_mib_body_is_a_protocol_error_and_the_next_call_works },
    { "a_foreign_origin_reflecting_the_challenge_is_refused_and_gets_no_token",
      a_foreign_origin_reflecting_the_challenge_is_refused_and_gets_no_token },
    { "losing_every_application_costs_a_handful_of_recreations_and_reports_lost",
      losing_every_application_costs_a_handful_of_recreations_and_reports_lost },
    { "echoed_password_and_token_never_reach_an_error_message",
      echoed_password_and_token_never_reach_an_error_message },
    { "three_hundred_sign_in_and_free_cycles_leave_no_application",
      three_hundred_sign_in_and_free_cycles_leave_no_application },
    { "three_hundred_sign_out_cycles_leave_no_application",
      three_hundred_sign_out_cycles_leave_no_application },
    { "header_bound_options_refuse_control_characters",
      header_bound_options_refuse_control_characters },
    { NULL, NULL },
};
