/*
 * test_contacts.c: other people's presence through the C ABI against ucwa-sim (owned by
 * bindings/c/tests): one contact read after changes made elsewhere (the control API, the
 * contact's own client), before and after makeMeAvailable; a bulk read of 200 contacts with the
 * number of batch requests the simulator saw; unknown contacts. Every test asserts on what the
 * simulator saw (/_sim/log, /_sim/users) as well as on what the library returned.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

#define BOB "bob@contoso.com"
#define N_USERS 200
/* Parts in one batch request: the library's bound (see ucwa_get_contacts_presence). */
#define BATCH_PARTS 96

static int str_is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = s ? strlen(s) : 0, m = strlen(tail);
    return s && n >= m && strcmp(s + n - m, tail) == 0;
}

/* Whether `e` is one of alice's requests other than her event channel and the GETs of her own
 * presence, note and location with which the library follows makeMeAvailable's events. */
static int is_alices(const json_value *e)
{
    const char *route = json_get_str(e, "route");
    return str_is(json_get_str(e, "user"), ALICE) && !str_is(route, "events")
           && !str_is(route, "presence") && !str_is(route, "note") && !str_is(route, "location");
}

/* How many such requests `log` holds; `route` NULL: any. */
static size_t alices(const json_value *log, const char *route)
{
    size_t n = 0;
    for (size_t i = 0; i < log->count; i++) {
        const json_value *e = json_at(log, i);
        if (is_alices(e) && (!route || str_is(json_get_str(e, "route"), route))) {
            n++;
        }
    }
    return n;
}

/* The n-th such request of alice. */
static const json_value *alices_nth(const json_value *log, size_t nth)
{
    for (size_t i = 0; i < log->count; i++) {
        const json_value *e = json_at(log, i);
        if (is_alices(e) && nth-- == 0) {
            return e;
        }
    }
    return NULL;
}

static void set_elsewhere(const sim *s, const char *user, const char *body)
{
    char path[160];
    snprintf(path, sizeof path, "/_sim/users/%s/presence", user);
    CHECK(sim_http(s, "POST", path, body, NULL) == 204);
}

static void a_contact_read_shows_changes_made_elsewhere_before_and_after_make_me_available(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_error *err = NULL;
    ucwa_client *bob = sim_client(s);
    REQUIRE(bob);
    REQUIRE_OK(ucwa_sign_in(bob, BOB, "bob-password", &err), err);
    REQUIRE_OK(ucwa_make_me_available(bob, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    REQUIRE_OK(ucwa_set_note(bob, "Heads down today", &err), err);
    REQUIRE_OK(ucwa_set_location(bob, "Building 7", &err), err);
    set_elsewhere(s, BOB, "{\"availability\":\"Busy\",\"activity\":\"in-a-meeting\"}");

    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    uint32_t av = 0;
    char *activity = NULL;
    REQUIRE_OK(ucwa_get_contact_presence(c, "sip:bob@contoso.com", &av, &activity, &err), err);
    CHECK(av == UCWA_AVAILABILITY_BUSY);
    CHECK(str_is(activity, "in-a-meeting"));
    ucwa_string_free(activity);
    char *note = NULL;
    REQUIRE_OK(ucwa_get_contact_note(c, BOB, &note, &err), err);
    CHECK(str_is(note, "Heads down today"));
    ucwa_string_free(note);
    char *location = NULL;
    REQUIRE_OK(ucwa_get_contact_location(c, BOB, &location, &err), err);
    CHECK(str_is(location, "Building 7"));
    ucwa_string_free(location);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(alices(log, NULL) == 4); /* the contact once, then its three links */
    const char *tails[] = { "/people/bob@contoso.com", "/people/bob@contoso.com/presence",
                            "/people/bob@contoso.com/note", "/people/bob@contoso.com/location" };
    for (size_t i = 0; i < 4; i++) {
        const json_value *e = alices_nth(log, i);
        CHECK(e && str_is(json_get_str(e, "method"), "GET"));
        CHECK(e && json_get_num(e, "status", 0) == 200);
        CHECK(e && ends_with(json_get_str(e, "path"), tails[i]));
    }
    json_free(log);

    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    set_elsewhere(s, BOB, "{\"availability\":\"BeRightBack\"}");
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    activity = (char *)0x1;
    REQUIRE_OK(ucwa_get_contact_presence(c, BOB, &av, &activity, &err), err);
    CHECK(av == UCWA_AVAILABILITY_BE_RIGHT_BACK);
    CHECK(activity == NULL);
    log = sim_log(s);
    REQUIRE(log);
    CHECK(alices(log, NULL) == 1);
    CHECK(ends_with(json_get_str(alices_nth(log, 0), "path"), "/people/bob@contoso.com/presence"));
    json_free(log);
    json_value *user = sim_user(s, BOB);
    REQUIRE(user);
    CHECK(str_is(json_get_str(user, "availability"), "BeRightBack"));
    json_free(user);
}

static void an_unknown_contact_is_server_404_alone_and_unknown_in_bulk(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    ucwa_error *err = NULL;
    uint32_t av = 0xA5A5u;
    CHECK_STATUS(ucwa_get_contact_presence(c, "sip:nobody@contoso.com", &av, NULL, &err),
                 UCWA_ERROR_SERVER);
    CHECK(av == 0xA5A5u);
    REQUIRE(err);
    CHECK(ucwa_error_http_status(err) == 404);
    CHECK(str_is(ucwa_error_code(err), "NotFound"));
    CHECK(str_is(ucwa_error_subcode(err), "ResourceNotFound"));
    ucwa_error_free(err);
    char *text = (char *)0x1;
    err = NULL;
    CHECK_STATUS(ucwa_get_contact_note(c, "nobody@contoso.com", &text, &err), UCWA_ERROR_SERVER);
    CHECK(ucwa_error_http_status(err) == 404);
    ucwa_error_free(err);
    CHECK_STATUS(ucwa_get_contact_location(c, "nobody@contoso.com", &text, NULL), UCWA_ERROR_SERVER);
    CHECK(text == (char *)0x1);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(alices(log, "people") == 3);
    for (size_t i = 0; i < 3; i++) {
        const json_value *e = alices_nth(log, i);
        CHECK(e && json_get_num(e, "status", 0) == 404);
        CHECK(e && ends_with(json_get_str(e, "path"), "/people/nobody@contoso.com"));
    }
    json_free(log);

    set_elsewhere(s, BOB, "{\"availability\":\"DoNotDisturb\"}");
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    const char *const names[] = { "nobody@contoso.com", "sip:bob@contoso.com" };
    uint32_t out[2] = { 0, 0 };
    err = NULL;
    REQUIRE_OK(ucwa_get_contacts_presence(c, names, 2, out, &err), err);
    CHECK(out[0] == UCWA_AVAILABILITY_UNKNOWN);
    CHECK(out[1] == UCWA_AVAILABILITY_DO_NOT_DISTURB);
    log = sim_log(s);
    REQUIRE(log);
    CHECK(alices(log, NULL) == 2 && alices(log, "batch") == 2); /* look-up, then presence */
    json_free(log);
}

static void a_bulk_read_of_200_contacts_takes_as_few_batches_as_the_part_limit_allows(void)
{
    static char names[N_USERS][40];
    static char args[N_USERS][56];
    static const char *argv[2 * N_USERS + 3];
    const char *list[N_USERS];
    size_t k = 0;
    argv[k++] = "--user";
    argv[k++] = ALICE ":" ALICE_PASSWORD;
    for (int i = 0; i < N_USERS; i++) {
        snprintf(names[i], sizeof names[i], "user%03d@contoso.com", i);
        snprintf(args[i], sizeof args[i], "user%03d@contoso.com:pw", i);
        argv[k++] = "--user";
        argv[k++] = args[i];
        list[i] = names[i];
    }
    argv[k] = NULL;
    sim *s = sim_start(argv);
    REQUIRE(s);
    for (int i = 0; i < N_USERS; i += 2) {
        set_elsewhere(s, names[i], "{\"availability\":\"Away\"}");
    }
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    uint32_t out[N_USERS];
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_get_contacts_presence(c, list, N_USERS, out, &err), err);
    for (int i = 0; i < N_USERS; i++) {
        CHECK(out[i] == (i % 2 == 0 ? UCWA_AVAILABILITY_AWAY : UCWA_AVAILABILITY_OFFLINE));
    }
    const size_t batches = (N_USERS + BATCH_PARTS - 1) / BATCH_PARTS;
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(alices(log, NULL) == 2 * batches);
    CHECK(alices(log, "batch") == 2 * batches);
    json_free(log);

    set_elsewhere(s, names[1], "{\"availability\":\"Busy\"}");
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    REQUIRE_OK(ucwa_get_contacts_presence(c, list, N_USERS, out, &err), err);
    CHECK(out[1] == UCWA_AVAILABILITY_BUSY);
    log = sim_log(s);
    REQUIRE(log);
    CHECK(alices(log, "batch") == batches); /* the contacts' links are kept */
    CHECK(alices(log, NULL) == batches);
    json_free(log);
}

const test_case contacts_tests[] = {
    { "a_contact_read_shows_changes_made_elsewhere_before_and_after_make_me_available", a_contact_read_shows_changes_made_elsewhere_before_and_after_make_me_available },
    { "an_unknown_contact_is_server_404_alone_and_unknown_in_bulk", an_unknown_contact_is_server_404_alone_and_unknown_in_bulk },
    { "a_bulk_read_of_200_contacts_takes_as_few_batches_as_the_part_limit_allows", a_bulk_read_of_200_contacts_takes_as_few_batches_as_the_part_limit_allows },
    { NULL, NULL },
};
