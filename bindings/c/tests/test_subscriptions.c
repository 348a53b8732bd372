/*
 * test_subscriptions.c: watching other people's presence through the C ABI against ucwa-sim
 * (owned by bindings/c/tests): changes made through the control API arrive as contact events
 * naming the contact, unsubscribe stops them, the subscription is extended before it runs out
 * and made again after the application was recreated, and an unknown contact subscribes
 * nothing. Every test asserts on what the simulator saw (/_sim/log) as well as on what the
 * library returned.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

#define BOB "bob@contoso.com"
#define CAROL "carol@contoso.com"

static const char *const three_users[] = {
    "--user", ALICE ":" ALICE_PASSWORD, "--user", BOB ":pw", "--user", CAROL ":pw", NULL,
};

static int str_is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

/* Alice's requests to the subscription resources answered `status` (0: any), by `method`, whose
 * path holds `part` (NULL: any). */
static size_t subscription_requests(const json_value *log, const char *method, int status,
                                    const char *part)
{
    size_t n = 0;
    for (size_t i = 0; i < log->count; i++) {
        const json_value *e = json_at(log, i);
        const char *path = json_get_str(e, "path");
        if (str_is(json_get_str(e, "user"), ALICE) && path && strstr(path, "presenceSubscriptions")
            && (!method || str_is(json_get_str(e, "method"), method))
            && (!status || (int)json_get_num(e, "status", 0) == status)
            && (!part || strstr(path, part))) {
            n++;
        }
    }
    return n;
}

static size_t seen_now(const sim *s, const char *method, int status, const char *part)
{
    json_value *log = sim_log(s);
    if (!log) {
        harness_fail(__FILE__, __LINE__, "no log from the simulator");
        return 0;
    }
    size_t n = subscription_requests(log, method, status, part);
    json_free(log);
    return n;
}

static void change(const sim *s, const char *user, const char *what, const char *body)
{
    char path[160];
    snprintf(path, sizeof path, "/_sim/users/%s/%s", user, what);
    CHECK(sim_http(s, "POST", path, body, NULL) == 204);
}

/* The first event of `kind` for `contact` within `limit_ms` (the caller frees it), or NULL.
 * Events of other kinds or contacts are counted in *others when it is not NULL. */
static ucwa_event *await_contact(ucwa_client *c, uint32_t kind, const char *contact,
                                 int64_t limit_ms, int *others)
{
    int64_t deadline = now_ms() + limit_ms;
    while (now_ms() < deadline) {
        ucwa_event *ev = NULL;
        ucwa_error *err = NULL;
        if (ucwa_client_next_event(c, 100, &ev, &err) != UCWA_OK) {
            ucwa_error_free(err);
            return NULL;
        }
        if (!ev) {
            continue;
        }
        if (ucwa_event_get_kind(ev) == kind && str_is(ucwa_event_contact(ev), contact)) {
            return ev;
        }
        if (others && ucwa_event_contact(ev)) {
            (*others)++;
        }
        ucwa_event_free(ev);
    }
    return NULL;
}

static void contact_changes_arrive_as_events_naming_the_contact(void)
{
    sim *s = sim_start(three_users);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    ucwa_error *err = NULL;
    const char *const who[] = { "sip:bob@contoso.com", CAROL };
    REQUIRE_OK(ucwa_subscribe_presence(c, who, 2, &err), err);
    CHECK(seen_now(s, "POST", 201, NULL) == 1);

    change(s, BOB, "presence", "{\"availability\":\"Busy\",\"activity\":\"in-a-meeting\"}");
    ucwa_event *ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED,
                                   "sip:bob@contoso.com", 10000, NULL);
    REQUIRE(ev);
    CHECK(ucwa_event_availability(ev) == UCWA_AVAILABILITY_BUSY);
    CHECK(str_is(ucwa_event_activity(ev), "in-a-meeting"));
    CHECK(ucwa_event_note(ev) == NULL);
    ucwa_event_free(ev);

    change(s, CAROL, "note", "{\"message\":\"Back at 3\"}");
    ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_NOTE_CHANGED, "sip:carol@contoso.com", 10000,
                       NULL);
    REQUIRE(ev);
    CHECK(str_is(ucwa_event_note(ev), "Back at 3"));
    CHECK(ucwa_event_availability(ev) == UCWA_AVAILABILITY_UNSPECIFIED);
    ucwa_event_free(ev);

    change(s, BOB, "location", "{\"location\":\"Building 7\"}");
    ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_LOCATION_CHANGED, "sip:bob@contoso.com", 10000,
                       NULL);
    REQUIRE(ev);
    CHECK(str_is(ucwa_event_location(ev), "Building 7"));
    ucwa_event_free(ev);
}

static void unsubscribe_stops_the_events_and_the_server_saw_the_membership_go(void)
{
    sim *s = sim_start(three_users);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    const char *const who[] = { BOB, CAROL };
    REQUIRE_OK(ucwa_subscribe_presence(c, who, 2, &err), err);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    REQUIRE_OK(ucwa_unsubscribe_presence(c, who, 1, &err), err);
    CHECK(seen_now(s, "DELETE", 204, "/memberships/") == 1);

    change(s, BOB, "presence", "{\"availability\":\"Busy\"}");
    change(s, CAROL, "presence", "{\"availability\":\"Away\"}");
    int others = 0;
    ucwa_event *ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED,
                                   "sip:carol@contoso.com", 10000, &others);
    REQUIRE(ev);
    CHECK(ucwa_event_availability(ev) == UCWA_AVAILABILITY_AWAY);
    ucwa_event_free(ev);
    /* Bob's change was made first: had it come, it would have come before Carol's. */
    CHECK(others == 0);
    ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED, "sip:bob@contoso.com", 1000,
                       NULL);
    CHECK(ev == NULL);
    ucwa_event_free(ev);
}

static void the_subscription_is_extended_before_it_runs_out(void)
{
    /* A "minute" of 0.1 s: the 30 minutes asked for last 3 s; extended every second. */
    const char *const args[] = { "--user", ALICE ":" ALICE_PASSWORD, "--user", BOB ":pw",
                                 "--subscription-minute-s", "0.1", NULL };
    sim *s = sim_start(args);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "subscription_refresh_s", "1", &err), err);
    const char *const who[] = { BOB };
    REQUIRE_OK(ucwa_subscribe_presence(c, who, 1, &err), err);
    portable_sleep_ms(5000);
    CHECK(seen_now(s, "POST", 204, "duration=30") >= 3);
    CHECK(seen_now(s, "POST", 201, NULL) == 1);
    change(s, BOB, "presence", "{\"availability\":\"Away\"}");
    ucwa_event *ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED,
                                   "sip:bob@contoso.com", 10000, NULL);
    CHECK(ev != NULL);
    ucwa_event_free(ev);
}

static void the_subscription_survives_application_recovery(void)
{
    sim *s = sim_start(three_users);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    const char *const who[] = { BOB };
    REQUIRE_OK(ucwa_subscribe_presence(c, who, 1, &err), err);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    REQUIRE(sim_http(s, "POST", "/_sim/users/alice@contoso.com/delete-applications", NULL, NULL)
            == 204);
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline && seen_now(s, "POST", 201, NULL) == 0) {
        portable_sleep_ms(100);
    }
    CHECK(seen_now(s, "POST", 201, NULL) == 1);
    change(s, BOB, "presence", "{\"availability\":\"BeRightBack\"}");
    ucwa_event *ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED,
                                   "sip:bob@contoso.com", 10000, NULL);
    REQUIRE(ev);
    CHECK(ucwa_event_availability(ev) == UCWA_AVAILABILITY_BE_RIGHT_BACK);
    ucwa_event_free(ev);
}

static void an_unknown_contact_is_server_400_and_subscribes_nothing(void)
{
    sim *s = sim_start(three_users);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    ucwa_error *err = NULL;
    const char *const who[] = { BOB, "nobody@contoso.com" };
    CHECK_STATUS(ucwa_subscribe_presence(c, who, 2, &err), UCWA_ERROR_SERVER);
    CHECK(ucwa_error_http_status(err) == 400);
    ucwa_error_free(err);
    err = NULL;
    CHECK(seen_now(s, "POST", 400, NULL) == 1);
    CHECK(seen_now(s, NULL, 0, NULL) == 1);
    /* Bob was not subscribed by the refused call: his change brings no event. */
    change(s, BOB, "presence", "{\"availability\":\"Busy\"}");
    ucwa_event *ev = await_contact(c, UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED,
                                   "sip:bob@contoso.com", 1000, NULL);
    CHECK(ev == NULL);
    ucwa_event_free(ev);
    CHECK(seen_now(s, NULL, 0, NULL) == 1);
}

const test_case subscriptions_tests[] = {
    { "contact_changes_arrive_as_events_naming_the_contact", contact_changes_arrive_as_events_naming_the_contact },
    { "unsubscribe_stops_the_events_and_the_server_saw_the_membership_go", unsubscribe_stops_the_events_and_the_server_saw_the_membership_go },
    { "the_subscription_is_extended_before_it_runs_out", the_subscription_is_extended_before_it_runs_out },
    { "the_subscription_survives_application_recovery", the_subscription_survives_application_recovery },
    { "an_unknown_contact_is_server_400_and_subscribes_nothing", an_unknown_contact_is_server_400_and_subscribes_nothing },
    { NULL, NULL },
};
