/*
 * test_robustness.c: every exported function of include/ucwa.h fed NULLs, freed handles,
 * double frees, garbage handles, handles of the wrong type, bad UTF-8 and out-of-range
 * integers (owned by bindings/c/tests). The contract (design §3, the header's conventions):
 * a clear status (INVALID_HANDLE / INVALID_ARGUMENT), a neutral value from accessors, a no-op
 * from _free, outputs untouched on failure, out_error NULL allowed — never a crash.
 * The first test fails when the header gains a function this file does not cover.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

#ifndef UCWA_HEADER_PATH
#define UCWA_HEADER_PATH "../../include/ucwa.h"
#endif

/* Every function this file exercises with bad input. */
static const char *const covered[] = {
    "ucwa_abi_version", "ucwa_version", "ucwa_status_str", "ucwa_client_new",
    "ucwa_client_set_option", "ucwa_sign_in", "ucwa_make_me_available",
    "ucwa_set_availability", "ucwa_reset_availability", "ucwa_get_presence", "ucwa_set_note",
    "ucwa_get_note", "ucwa_set_location", "ucwa_get_location", "ucwa_report_activity",
    "ucwa_sign_out", "ucwa_client_free", "ucwa_client_request_count", "ucwa_error_status",
    "ucwa_error_message", "ucwa_error_http_status", "ucwa_error_code", "ucwa_error_subcode",
    "ucwa_error_free", "ucwa_client_next_event", "ucwa_event_get_kind",
    "ucwa_event_availability", "ucwa_event_activity", "ucwa_event_note",
    "ucwa_event_location", "ucwa_event_connection_state", "ucwa_event_reason",
    "ucwa_event_free", "ucwa_string_free", "ucwa_get_contact_presence",
    "ucwa_get_contact_note", "ucwa_get_contact_location", "ucwa_get_contacts_presence",
    "ucwa_subscribe_presence", "ucwa_unsubscribe_presence", "ucwa_event_contact",
    "ucwa_client_set_token", "ucwa_sign_in_with_tokens", "ucwa_error_auth_resource",
    "ucwa_error_authorization_uri", "ucwa_event_resource", "ucwa_event_authorization_uri",
    "ucwa_sign_in_current_user", "ucwa_set_source_presence", "ucwa_clear_source_presence",
    "ucwa_set_preferred_availability", "ucwa_clear_preferred_availability",
    "ucwa_set_note_until", "ucwa_event_source", "ucwa_event_cause",
};
#define N_COVERED (sizeof covered / sizeof covered[0])

static void every_header_function_is_covered_by_the_robustness_tests(void)
{
    FILE *f = fopen(UCWA_HEADER_PATH, "r");
    REQUIRE(f);
    char line[1024];
    size_t found = 0;
    int seen[N_COVERED] = { 0 };
    while (fgets(line, sizeof line, f)) {
        /* Declarations start in column 0 with a type; comments and macros do not. */
        if (line[0] == ' ' || line[0] == '*' || line[0] == '/' || line[0] == '#') {
            continue;
        }
        char *open = strchr(line, '(');
        char *name = strstr(line, "ucwa_");
        while (name && open && strstr(name + 1, "ucwa_") && strstr(name + 1, "ucwa_") < open) {
            name = strstr(name + 1, "ucwa_");
        }
        if (!name || !open || name > open) {
            continue;
        }
        size_t len = (size_t)(open - name);
        int known = 0;
        for (size_t i = 0; i < N_COVERED; i++) {
            if (strlen(covered[i]) == len && strncmp(covered[i], name, len) == 0) {
                known = 1;
                seen[i] = 1;
            }
        }
        found++;
        if (!known) {
            harness_fail(__FILE__, __LINE__, "header function %.*s has no robustness test", (int)len, name);
        }
    }
    fclose(f);
    CHECK(found == N_COVERED);
    for (size_t i = 0; i < N_COVERED; i++) {
        if (!seen[i]) {
            harness_fail(__FILE__, __LINE__, "%s is covered here but not declared in the header", covered[i]);
        }
    }
}

static void static_functions_answer_and_status_str_has_a_fallback(void)
{
    CHECK(ucwa_abi_version() == UCWA_ABI_VERSION);
    CHECK(ucwa_version() && strcmp(ucwa_version(), UCWA_VERSION_STRING) == 0);
    for (uint32_t s = 0; s <= 11; s++) {
        const char *str = ucwa_status_str(s);
        CHECK(str && *str && strcmp(str, "unknown status") != 0);
        for (uint32_t t = 0; t < s; t++) {
            CHECK(strcmp(str, ucwa_status_str(t)) != 0);
        }
    }
    const uint32_t unknown[] = { 12, 999, 0x7FFFFFFFu, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *str = ucwa_status_str(unknown[i]);
        CHECK(str && strcmp(str, "unknown status") == 0);
    }
}

/* Calls every function taking a client with `c` (not a live client) and checks each returns
 * INVALID_HANDLE, hands back a matching error, and leaves its outputs untouched. */
static void expect_invalid_client(ucwa_client *c)
{
    ucwa_error *err;
#define EXPECT_BAD(call)                                                                     \
    do {                                                                                     \
        err = (ucwa_error *)0x1;                                                             \
        CHECK_STATUS(call, UCWA_ERROR_INVALID_HANDLE);                                       \
        CHECK(err != (ucwa_error *)0x1 && err != NULL);                                      \
        CHECK(ucwa_error_status(err) == UCWA_ERROR_INVALID_HANDLE);                          \
        CHECK(*ucwa_error_message(err) != '\0');                                             \
        ucwa_error_free(err == (ucwa_error *)0x1 ? NULL : err);                              \
    } while (0)
    EXPECT_BAD(ucwa_client_set_option(c, "user_agent", "x", &err));
    EXPECT_BAD(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err));
    EXPECT_BAD(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err));
    EXPECT_BAD(ucwa_set_availability(c, UCWA_AVAILABILITY_BUSY, &err));
    EXPECT_BAD(ucwa_reset_availability(c, &err));
    uint32_t av = 0xA5A5A5A5u;
    char *activity = (char *)0x2;
    EXPECT_BAD(ucwa_get_presence(c, &av, &activity, &err));
    CHECK(av == 0xA5A5A5A5u && activity == (char *)0x2);
    EXPECT_BAD(ucwa_set_note(c, "n", &err));
    char *note = (char *)0x3;
    EXPECT_BAD(ucwa_get_note(c, &note, &err));
    CHECK(note == (char *)0x3);
    EXPECT_BAD(ucwa_set_location(c, "l", &err));
    char *location = (char *)0x4;
    EXPECT_BAD(ucwa_get_location(c, &location, &err));
    CHECK(location == (char *)0x4);
    EXPECT_BAD(ucwa_report_activity(c, &err));
    EXPECT_BAD(ucwa_sign_out(c, &err));
    uint64_t count = 0x5A5A5A5Au;
    EXPECT_BAD(ucwa_client_request_count(c, &count, &err));
    CHECK(count == 0x5A5A5A5Au);
    ucwa_event *ev = (ucwa_event *)0x5;
    EXPECT_BAD(ucwa_client_next_event(c, 0, &ev, &err));
    CHECK(ev == (ucwa_event *)0x5);
    uint32_t cav = 0xA5A5A5A5u;
    char *ctext = (char *)0x6;
    EXPECT_BAD(ucwa_get_contact_presence(c, "sip:bob@contoso.com", &cav, &ctext, &err));
    EXPECT_BAD(ucwa_get_contact_note(c, "bob@contoso.com", &ctext, &err));
    EXPECT_BAD(ucwa_get_contact_location(c, "bob@contoso.com", &ctext, &err));
    const char *const names[] = { "bob@contoso.com" };
    uint32_t slots[1] = { 0xA5A5A5A5u };
    EXPECT_BAD(ucwa_get_contacts_presence(c, names, 1, slots, &err));
    EXPECT_BAD(ucwa_subscribe_presence(c, names, 1, &err));
    EXPECT_BAD(ucwa_client_set_token(c, "https://lyncweb.contoso.com", "t0ken", 60, &err));
    EXPECT_BAD(ucwa_sign_in_with_tokens(c, ALICE, &err));
    EXPECT_BAD(ucwa_sign_in_current_user(c, &err));
    EXPECT_BAD(ucwa_unsubscribe_presence(c, names, 1, &err));
    EXPECT_BAD(ucwa_set_source_presence(c, "phone", UCWA_AVAILABILITY_BUSY, "On a call", 60, &err));
    EXPECT_BAD(ucwa_clear_source_presence(c, "phone", &err));
    EXPECT_BAD(ucwa_set_preferred_availability(c, UCWA_AVAILABILITY_BUSY, 60, &err));
    EXPECT_BAD(ucwa_clear_preferred_availability(c, &err));
    EXPECT_BAD(ucwa_set_note_until(c, "Lunch", 60, &err));
    CHECK(cav == 0xA5A5A5A5u && ctext == (char *)0x6 && slots[0] == 0xA5A5A5A5u);
#undef EXPECT_BAD

    /* The same with out_error NULL: the status alone, no crash. */
    CHECK_STATUS(ucwa_client_set_option(c, "user_agent", "x", NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_make_me_available(c, 1, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_set_availability(c, 2, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_reset_availability(c, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_presence(c, &av, NULL, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_set_note(c, NULL, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_note(c, &note, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_set_location(c, NULL, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_location(c, &location, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_report_activity(c, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_sign_out(c, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_client_request_count(c, &count, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_client_next_event(c, 0, &ev, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_contact_presence(c, "bob@contoso.com", &av, NULL, NULL),
                 UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_contact_note(c, "bob@contoso.com", &note, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_contact_location(c, "bob@contoso.com", &location, NULL),
                 UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_get_contacts_presence(c, NULL, 0, NULL, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_subscribe_presence(c, NULL, 0, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_client_set_token(c, NULL, NULL, 0, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_sign_in_with_tokens(c, NULL, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_sign_in_current_user(c, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_unsubscribe_presence(c, NULL, 0, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_set_source_presence(c, NULL, 0, NULL, 0xFFFFFFFFu, NULL),
                 UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_clear_source_presence(c, NULL, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_set_preferred_availability(c, 99, 0xFFFFFFFFu, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_clear_preferred_availability(c, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_set_note_until(c, NULL, 0, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK(av == 0xA5A5A5A5u && note == (char *)0x3 && location == (char *)0x4);
    CHECK(count == 0x5A5A5A5Au && ev == (ucwa_event *)0x5);
    /* Freeing a non-client is a no-op; twice too. */
    ucwa_client_free(c);
    ucwa_client_free(c);
}

static void client_functions_refuse_a_null_handle(void)
{
    expect_invalid_client(NULL);
}

static void client_functions_refuse_garbage_handles(void)
{
    char stack_bytes[64];
    memset(stack_bytes, 0x41, sizeof stack_bytes);
    expect_invalid_client((ucwa_client *)0xdeadbeef);
    expect_invalid_client((ucwa_client *)0x1);
    expect_invalid_client((ucwa_client *)(uintptr_t)0xFFFFFFFFFFFFFFF0ull);
    expect_invalid_client((ucwa_client *)(void *)stack_bytes);
}

static void client_functions_refuse_a_freed_handle_and_double_free_is_a_no_op(void)
{
    ucwa_client *c = NULL;
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_new("http://127.0.0.1:9/", &c, &err), err);
    REQUIRE(c);
    uint64_t count = 99;
    REQUIRE_OK(ucwa_client_request_count(c, &count, &err), err);
    CHECK(count == 0);
    ucwa_client_free(c);
    expect_invalid_client(c); /* frees it twice more */

    /* Handles are never reused: a new client does not revive the old handle. */
    ucwa_client *c2 = NULL;
    REQUIRE_OK(ucwa_client_new("http://127.0.0.1:9/", &c2, &err), err);
    track_client(c2);
    CHECK(c2 != c);
    CHECK_STATUS(ucwa_client_request_count(c, &count, NULL), UCWA_ERROR_INVALID_HANDLE);
    CHECK_STATUS(ucwa_client_request_count(c2, &count, NULL), UCWA_OK);
}

static void handles_of_another_type_are_refused(void)
{
    ucwa_client *c = NULL;
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_new("http://127.0.0.1:9/", &c, &err), err);
    track_client(c);
    /* An error handle from a failed call. */
    CHECK_STATUS(ucwa_client_set_option(c, "no_such_option", "1", &err), UCWA_ERROR_INVALID_ARGUMENT);
    REQUIRE(err);
    /* An error used as a client, and a client used as an error or an event. */
    expect_invalid_client((ucwa_client *)(void *)err);
    CHECK(ucwa_error_status((const ucwa_error *)(void *)c) == UCWA_ERROR_INVALID_HANDLE);
    CHECK(ucwa_error_http_status((const ucwa_error *)(void *)c) == 0);
    CHECK(ucwa_error_code((const ucwa_error *)(void *)c) == NULL);
    CHECK(ucwa_event_get_kind((const ucwa_event *)(void *)c) == UCWA_EVENT_KIND_NONE);
    CHECK(ucwa_event_get_kind((const ucwa_event *)(void *)err) == UCWA_EVENT_KIND_NONE);
    ucwa_event_free((ucwa_event *)(void *)c);
    ucwa_event_free((ucwa_event *)(void *)err);
    ucwa_error_free((ucwa_error *)(void *)c);
    ucwa_string_free((char *)(void *)c);
    ucwa_string_free((char *)(void *)err);
    /* Both survived the confusion. */
    CHECK(ucwa_error_status(err) == UCWA_ERROR_INVALID_ARGUMENT);
    uint64_t count = 7;
    CHECK_STATUS(ucwa_client_request_count(c, &count, NULL), UCWA_OK);
    ucwa_error_free(err);
}

static void expect_neutral_error(const ucwa_error *e)
{
    CHECK(ucwa_error_status(e) == UCWA_ERROR_INVALID_HANDLE);
    const char *msg = ucwa_error_message(e);
    CHECK(msg && strcmp(msg, "invalid ucwa_error handle") == 0);
    CHECK(ucwa_error_http_status(e) == 0);
    CHECK(ucwa_error_code(e) == NULL);
    CHECK(ucwa_error_subcode(e) == NULL);
    CHECK(ucwa_error_auth_resource(e) == NULL);
    CHECK(ucwa_error_authorization_uri(e) == NULL);
}

static void error_accessors_give_neutral_values_for_bad_handles_and_free_is_a_no_op(void)
{
    expect_neutral_error(NULL);
    expect_neutral_error((const ucwa_error *)0x12345678);
    expect_neutral_error((const ucwa_error *)0xdeadbeef);
    ucwa_error_free(NULL);
    ucwa_error_free((ucwa_error *)0x12345678);

    ucwa_client *c = NULL;
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_client_new(NULL, &c, &err), UCWA_ERROR_INVALID_ARGUMENT);
    REQUIRE(err);
    CHECK(c == NULL);
    CHECK(ucwa_error_status(err) == UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(*ucwa_error_message(err) != '\0');
    CHECK(ucwa_error_http_status(err) == 0);
    CHECK(ucwa_error_code(err) == NULL && ucwa_error_subcode(err) == NULL);
    ucwa_error_free(err);
    expect_neutral_error(err);   /* freed */
    ucwa_error_free(err);        /* double free */
    expect_neutral_error(err);
}

static void client_new_refuses_null_bad_utf8_and_non_urls(void)
{
    ucwa_client *c = (ucwa_client *)0x7;
    ucwa_error *err = (ucwa_error *)0x1;
    CHECK_STATUS(ucwa_client_new(NULL, &c, &err), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(c == (ucwa_client *)0x7);
    CHECK(err != (ucwa_error *)0x1 && ucwa_error_status(err) == UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_error_free(err == (ucwa_error *)0x1 ? NULL : err);
    CHECK_STATUS(ucwa_client_new("http://127.0.0.1:9/", NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_new("http://127.0.0.1:9/\xff\xfe", &c, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_new("", &c, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_new("not a url or a domain!", &c, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(c == (ucwa_client *)0x7);
    /* Success overwrites a non-NULL out_error with NULL. */
    err = (ucwa_error *)0x1;
    CHECK_STATUS(ucwa_client_new("http://127.0.0.1:9/", &c, &err), UCWA_OK);
    CHECK(err == NULL);
    CHECK(c != (ucwa_client *)0x7 && c != NULL);
    if (c != (ucwa_client *)0x7) {
        track_client(c);
    }
}

static void null_and_bad_utf8_arguments_are_invalid_argument_and_send_nothing(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *fresh = sim_client(s);
    REQUIRE(fresh);
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_sign_in(fresh, NULL, ALICE_PASSWORD, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_sign_in(fresh, ALICE, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_sign_in(fresh, "alice\xc3\x28@contoso.com", ALICE_PASSWORD, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_option(fresh, NULL, "x", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_option(fresh, "user_agent", NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_option(fresh, "user_\xff", "x", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_option(fresh, "user_agent", "x\xff", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log->count == 0);
    json_free(log);

    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "DELETE", "/_sim/log", NULL, NULL) == 204);
    err = (ucwa_error *)0x1;
    CHECK_STATUS(ucwa_get_presence(c, NULL, NULL, &err), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(err != (ucwa_error *)0x1 && ucwa_error_status(err) == UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_error_free(err == (ucwa_error *)0x1 ? NULL : err);
    char *out = (char *)0x9;
    CHECK_STATUS(ucwa_get_presence(c, NULL, &out, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(out == (char *)0x9);
    CHECK_STATUS(ucwa_get_note(c, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_location(c, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_request_count(c, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_next_event(c, 0, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_note(c, "caf\xc3", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_note(c, "\xed\xa0\x80 surrogate", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_location(c, "\xff\xfe", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    /* Presence sources: NULL and bad UTF-8 names and notes, out-of-range values. */
    CHECK_STATUS(ucwa_set_source_presence(c, NULL, 2, NULL, 0, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_source_presence(c, "ph\xc3", 2, NULL, 0, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_source_presence(c, "phone", 2, "\xff", 0, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_source_presence(c, "phone", 0xFFFFFFFFu, NULL, 0, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_source_presence(c, "phone", 2, NULL, 0xFFFFFFFFu, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_clear_source_presence(c, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_clear_source_presence(c, "\xff", NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_preferred_availability(c, 0xFFFFFFFFu, 0, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_preferred_availability(c, 2, 0xFFFFFFFFu, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_note_until(c, NULL, 60, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_note_until(c, "caf\xc3", 60, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_set_note_until(c, "Lunch", 0xFFFFFFFFu, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    /* Contacts: NULL, bad UTF-8 and non-SIP names, NULL outputs, NULL entries, too many. */
    uint32_t cav = 0xA5A5A5A5u;
    char *ctext = (char *)0x6;
    CHECK_STATUS(ucwa_get_contact_presence(c, NULL, &cav, &ctext, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_presence(c, "bob\xc3@contoso.com", &cav, NULL, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_presence(c, "bob@contoso.com/x", &cav, NULL, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_presence(c, "bob@contoso.com", NULL, &ctext, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_note(c, NULL, &ctext, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_note(c, "bob@contoso.com", NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_location(c, "not an address", &ctext, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contact_location(c, "bob@contoso.com", NULL, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(cav == 0xA5A5A5A5u && ctext == (char *)0x6);
    const char *const pair[] = { "bob@contoso.com", NULL };
    uint32_t slots[2] = { 0xA5A5A5A5u, 0xA5A5A5A5u };
    CHECK_STATUS(ucwa_get_contacts_presence(c, NULL, 1, slots, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contacts_presence(c, pair, 1, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contacts_presence(c, pair, 2, slots, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_get_contacts_presence(c, pair, 1001, slots, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(slots[0] == 0xA5A5A5A5u && slots[1] == 0xA5A5A5A5u);
    REQUIRE_OK(ucwa_get_contacts_presence(c, NULL, 0, NULL, &err), err);
    /* Subscriptions: the same checks of the list, before anything is sent. */
    CHECK_STATUS(ucwa_subscribe_presence(c, NULL, 1, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_subscribe_presence(c, pair, 2, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_subscribe_presence(c, pair, 1001, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    const char *const odd[] = { "bob\xc3@contoso.com", "not an address" };
    CHECK_STATUS(ucwa_subscribe_presence(c, odd, 1, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_subscribe_presence(c, odd + 1, 1, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_unsubscribe_presence(c, NULL, 1, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_unsubscribe_presence(c, pair, 2, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    REQUIRE_OK(ucwa_subscribe_presence(c, NULL, 0, &err), err);
    REQUIRE_OK(ucwa_unsubscribe_presence(c, NULL, 0, &err), err);
    /* Tokens: NULLs, bad UTF-8, not an origin, an unsendable token, a lifetime out of range. */
    CHECK_STATUS(ucwa_client_set_token(c, NULL, "t0ken", 60, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_token(c, "https://lyncweb.contoso.com", NULL, 60, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_token(c, "https://lync\xc3.contoso.com", "t0ken", 60, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_token(c, "lyncweb.contoso.com", "t0ken", 60, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_token(c, "https://lyncweb.contoso.com", "a\r\nb", 60, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_client_set_token(c, "https://lyncweb.contoso.com", "t0ken", 0, NULL),
                 UCWA_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(ucwa_sign_in_with_tokens(c, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, NULL, "people") == 0);
    CHECK(log_count(log, NULL, "batch") == 0);
    CHECK(log_count(log, NULL, "presence") == 0);
    CHECK(log_count(log, NULL, "note") == 0);
    CHECK(log_count(log, NULL, "location") == 0);
    json_free(log);

    /* out_activity may be NULL: then only the availability is written. */
    uint32_t av = 0;
    err = NULL;
    REQUIRE_OK(ucwa_get_presence(c, &av, NULL, &err), err);
    CHECK(av >= UCWA_AVAILABILITY_ONLINE && av <= UCWA_AVAILABILITY_UNKNOWN);
}

static void failed_network_calls_leave_outputs_untouched(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    /* Every GET on presence, note and location fails with a 500 from now on. */
    const char *routes[] = { "presence", "note", "location" };
    for (size_t i = 0; i < 3; i++) {
        char fault[512];
        snprintf(fault, sizeof fault,
                 "{\"route\":\"%s\",\"method\":\"GET\",\"count\":0,\"action\":{\"Respond\":{\"status\":500,"
                 "\"headers\":[[\"Content-Type\",\"application/json\"]],\"body\":"
                 "\"{\\\"code\\\":\\\"ServiceFailure\\\",\\\"message\\\":\\\"broken\\\"}\"}}}",
                 routes[i]);
        REQUIRE(sim_http(s, "POST", "/_sim/faults", fault, NULL) == 204);
    }
    uint32_t av = 0xA5A5A5A5u;
    char *activity = (char *)0x2;
    ucwa_error *err = NULL;
    uint32_t st = ucwa_get_presence(c, &av, &activity, &err);
    CHECK(st != UCWA_OK);
    CHECK(av == 0xA5A5A5A5u && activity == (char *)0x2);
    CHECK(ucwa_error_status(err) == st);
    CHECK(ucwa_error_http_status(err) == 500);
    ucwa_error_free(err);
    char *note = (char *)0x3;
    CHECK(ucwa_get_note(c, &note, NULL) != UCWA_OK);
    CHECK(note == (char *)0x3);
    char *location = (char *)0x4;
    CHECK(ucwa_get_location(c, &location, NULL) != UCWA_OK);
    CHECK(location == (char *)0x4);
}

static void string_free_ignores_null_garbage_foreign_and_freed_pointers(void)
{
    ucwa_string_free(NULL);
    ucwa_string_free((char *)0x12345678);
    ucwa_string_free((char *)0xdeadbeef);
    char local[] = "not from the library";
    ucwa_string_free(local);
    CHECK(strcmp(local, "not from the library") == 0);
    /* A heap string of ours: the library must not free it (we do, below). */
    char *mine = malloc(16);
    REQUIRE(mine);
    strcpy(mine, "mine");
    ucwa_string_free(mine);
    CHECK(strcmp(mine, "mine") == 0);
    free(mine);

    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_note(c, "owned", &err), err);
    char *note = NULL;
    REQUIRE_OK(ucwa_get_note(c, &note, &err), err);
    REQUIRE(note);
    ucwa_string_free(note + 1); /* a pointer into a live owned string: no-op */
    CHECK(strcmp(note, "owned") == 0);
    ucwa_string_free(note);
    ucwa_string_free(note); /* double free: no-op */
}

static void event_accessors_give_neutral_values_for_bad_and_freed_handles(void)
{
    const ucwa_event *bad[] = { NULL, (const ucwa_event *)0x12345678, (const ucwa_event *)0xdeadbeef };
    for (size_t i = 0; i < 3; i++) {
        CHECK(ucwa_event_get_kind(bad[i]) == UCWA_EVENT_KIND_NONE);
        CHECK(ucwa_event_availability(bad[i]) == UCWA_AVAILABILITY_UNSPECIFIED);
        CHECK(ucwa_event_activity(bad[i]) == NULL);
        CHECK(ucwa_event_note(bad[i]) == NULL);
        CHECK(ucwa_event_location(bad[i]) == NULL);
        CHECK(ucwa_event_contact(bad[i]) == NULL);
        CHECK(ucwa_event_resource(bad[i]) == NULL);
        CHECK(ucwa_event_authorization_uri(bad[i]) == NULL);
        CHECK(ucwa_event_connection_state(bad[i]) == UCWA_CONNECTION_STATE_NONE);
        CHECK(ucwa_event_reason(bad[i]) == NULL);
        CHECK(ucwa_event_source(bad[i]) == NULL);
        CHECK(ucwa_event_cause(bad[i]) == UCWA_PRESENCE_CAUSE_NONE);
        ucwa_event_free((ucwa_event *)(uintptr_t)bad[i]);
    }

    /* A real event (a presence change from another device), then freed. */
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "POST", "/_sim/users/alice@contoso.com/presence",
                     "{\"availability\":\"Away\"}", NULL) == 204);
    ucwa_event *ev = NULL;
    ucwa_error *err = NULL;
    int64_t deadline = now_ms() + 10000;
    while (!ev && now_ms() < deadline) {
        REQUIRE_OK(ucwa_client_next_event(c, 500, &ev, &err), err);
    }
    REQUIRE(ev);
    CHECK(ucwa_event_get_kind(ev) != UCWA_EVENT_KIND_NONE);
    CHECK(ucwa_event_contact(ev) == NULL); /* the user's own event names no contact */
    ucwa_event_free(ev);
    CHECK(ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_NONE);
    CHECK(ucwa_event_availability(ev) == UCWA_AVAILABILITY_UNSPECIFIED);
    CHECK(ucwa_event_activity(ev) == NULL);
    CHECK(ucwa_event_note(ev) == NULL);
    CHECK(ucwa_event_location(ev) == NULL);
    CHECK(ucwa_event_contact(ev) == NULL);
    CHECK(ucwa_event_resource(ev) == NULL);
    CHECK(ucwa_event_authorization_uri(ev) == NULL);
    CHECK(ucwa_event_connection_state(ev) == UCWA_CONNECTION_STATE_NONE);
    CHECK(ucwa_event_reason(ev) == NULL);
    CHECK(ucwa_event_source(ev) == NULL);
    CHECK(ucwa_event_cause(ev) == UCWA_PRESENCE_CAUSE_NONE);
    ucwa_event_free(ev); /* double free: no-op */
}

const test_case robustness_tests[] = {
    { "every_header_function_is_covered_by_the_robustness_tests", every_header_function_is_covered_by_the_robustness_tests },
    { "static_functions_answer_and_status_str_has_a_fallback", static_functions_answer_and_status_str_has_a_fallback },
    { "client_functions_refuse_a_null_handle", client_functions_refuse_a_null_handle },
    { "client_functions_refuse_garbage_handles", client_functions_refuse_garbage_handles },
    { "client_functions_refuse_a_freed_handle_and_double_free_is_a_no_op", client_functions_refuse_a_freed_handle_and_double_free_is_a_no_op },
    { "handles_of_another_type_are_refused", handles_of_another_type_are_refused },
    { "error_accessors_give_neutral_values_for_bad_handles_and_free_is_a_no_op", error_accessors_give_neutral_values_for_bad_handles_and_free_is_a_no_op },
    { "client_new_refuses_null_bad_utf8_and_non_urls", client_new_refuses_null_bad_utf8_and_non_urls },
    { "null_and_bad_utf8_arguments_are_invalid_argument_and_send_nothing", null_and_bad_utf8_arguments_are_invalid_argument_and_send_nothing },
    { "failed_network_calls_leave_outputs_untouched", failed_network_calls_leave_outputs_untouched },
    { "string_free_ignores_null_garbage_foreign_and_freed_pointers", string_free_ignores_null_garbage_foreign_and_freed_pointers },
    { "event_accessors_give_neutral_values_for_bad_and_freed_handles", event_accessors_give_neutral_values_for_bad_and_freed_handles },
    { NULL, NULL },
};
