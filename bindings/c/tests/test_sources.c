/*
 * test_sources.c: presence from several sources through the C ABI (owned by bindings/c/tests):
 * precedence among sources, the preferred availability overriding then handing back, expiry
 * of a source, of the preferred availability and of a timed note without a host call, the
 * state a recreated application gets, a change made elsewhere kept (and overwritten with
 * enforce_presence), a flapping source paced, and bad input refused with nothing changed.
 * Each asserts on what ucwa-sim stored and on UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

/* Whether alice's stored availability and note (NULL: none or empty) are these within 6 s. */
static int lands(const sim *s, const char *availability, const char *note)
{
    int64_t deadline = now_ms() + 6000;
    do {
        json_value *user = sim_user(s, ALICE);
        if (!user) {
            return 0;
        }
        const char *a = json_get_str(user, "availability");
        const char *n = json_get_str(user, "note");
        int same_note = note ? (n && strcmp(n, note) == 0) : (!n || !*n);
        int ok = a && strcmp(a, availability) == 0 && same_note;
        json_free(user);
        if (ok) {
            return 1;
        }
        sleep_ms(50);
    } while (now_ms() < deadline);
    return 0;
}

static size_t presence_posts(const sim *s)
{
    json_value *log = sim_log(s);
    size_t n = log ? log_count(log, "POST", "presence") : 0;
    json_free(log);
    return n;
}

/* Waits for an effective-presence event with this availability and cause; checks its source
 * (NULL: the preferred choice or nobody decides). */
static int effective_event(ucwa_client *c, uint32_t availability, uint32_t cause,
                           const char *source)
{
    int64_t deadline = now_ms() + 8000;
    while (now_ms() < deadline) {
        ucwa_event *ev = NULL;
        if (ucwa_client_next_event(c, 250, &ev, NULL) != UCWA_OK) {
            return 0;
        }
        if (ev && ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED &&
            ucwa_event_availability(ev) == availability && ucwa_event_cause(ev) == cause) {
            const char *got = ucwa_event_source(ev);
            int ok = source ? (got && strcmp(got, source) == 0) : got == NULL;
            CHECK(ucwa_event_contact(ev) == NULL);
            ucwa_event_free(ev);
            return ok;
        }
        ucwa_event_free(ev);
    }
    return 0;
}

static void sources_compose_by_precedence_and_the_preferred_choice_hands_back(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_source_presence(c, "lock", UCWA_AVAILABILITY_AWAY, NULL, 0, &err), err);
    REQUIRE_OK(ucwa_set_source_presence(c, "phone", UCWA_AVAILABILITY_BUSY, "On a call", 0, &err),
               err);
    CHECK(lands(s, "Busy", "On a call"));
    CHECK(effective_event(c, UCWA_AVAILABILITY_BUSY, UCWA_PRESENCE_CAUSE_SET, "phone"));
    REQUIRE_OK(ucwa_set_note(c, "Working from home", &err), err);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_DO_NOT_DISTURB, &err), err);
    CHECK(lands(s, "DoNotDisturb", "Working from home"));
    CHECK(effective_event(c, UCWA_AVAILABILITY_DO_NOT_DISTURB, UCWA_PRESENCE_CAUSE_SET, NULL));
    REQUIRE_OK(ucwa_clear_preferred_availability(c, &err), err);
    CHECK(lands(s, "Busy", "On a call"));
    CHECK(effective_event(c, UCWA_AVAILABILITY_BUSY, UCWA_PRESENCE_CAUSE_CLEARED, "phone"));
    REQUIRE_OK(ucwa_clear_source_presence(c, "phone", &err), err);
    CHECK(lands(s, "Away", "Working from home"));
    CHECK(effective_event(c, UCWA_AVAILABILITY_AWAY, UCWA_PRESENCE_CAUSE_CLEARED, "lock"));
}

static void a_source_the_preferred_choice_and_a_timed_note_expire_without_a_host_call(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_source_presence(c, "calendar", UCWA_AVAILABILITY_BUSY, "Meeting", 0, &err),
               err);
    REQUIRE_OK(ucwa_set_source_presence(c, "phone", UCWA_AVAILABILITY_DO_NOT_DISTURB, NULL, 2, &err),
               err);
    REQUIRE_OK(ucwa_set_preferred_availability(c, UCWA_AVAILABILITY_ONLINE, 1, &err), err);
    REQUIRE_OK(ucwa_set_note(c, "Back at 3", &err), err);
    REQUIRE_OK(ucwa_set_note_until(c, "Lunch", 1, &err), err);
    CHECK(lands(s, "Online", "Lunch"));
    CHECK(effective_event(c, UCWA_AVAILABILITY_DO_NOT_DISTURB, UCWA_PRESENCE_CAUSE_EXPIRED,
                          "phone"));
    CHECK(lands(s, "DoNotDisturb", "Back at 3"));
    CHECK(effective_event(c, UCWA_AVAILABILITY_BUSY, UCWA_PRESENCE_CAUSE_EXPIRED, "calendar"));
    CHECK(lands(s, "Busy", "Meeting"));
}

static void a_recreated_application_gets_the_effective_state(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_source_presence(c, "calendar", UCWA_AVAILABILITY_BUSY, "Meeting", 0, &err),
               err);
    CHECK(lands(s, "Busy", "Meeting"));
    REQUIRE(sim_http(s, "POST", "/_sim/users/alice@contoso.com/delete-applications", "", NULL) ==
            204);
    int64_t deadline = now_ms() + 10000;
    int recreated = 0;
    while (!recreated && now_ms() < deadline) {
        ucwa_event *ev = NULL;
        REQUIRE(ucwa_client_next_event(c, 250, &ev, NULL) == UCWA_OK);
        recreated = ev && ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_APPLICATION_RECREATED;
        ucwa_event_free(ev);
    }
    REQUIRE(recreated);
    CHECK(lands(s, "Busy", "Meeting"));
}

static void a_change_elsewhere_is_kept_and_with_enforce_presence_overwritten(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_set_source_presence(c, "phone", UCWA_AVAILABILITY_BUSY, NULL, 0, &err), err);
    CHECK(lands(s, "Busy", NULL));
    sleep_ms(2500); /* past the window in which a read-back is our own POST's rendering */
    size_t posts = presence_posts(s);
    REQUIRE(sim_http(s, "POST", "/_sim/users/alice@contoso.com/presence",
                     "{\"availability\":\"DoNotDisturb\"}", NULL) == 204);
    CHECK(effective_event(c, UCWA_AVAILABILITY_DO_NOT_DISTURB,
                          UCWA_PRESENCE_CAUSE_CHANGED_ELSEWHERE, NULL));
    CHECK(presence_posts(s) == posts);

    REQUIRE_OK(ucwa_client_set_option(c, "enforce_presence", "1", &err), err);
    REQUIRE_OK(ucwa_set_availability(c, UCWA_AVAILABILITY_ONLINE, &err), err);
    CHECK(lands(s, "Online", NULL));
    sleep_ms(2500);
    REQUIRE(sim_http(s, "POST", "/_sim/users/alice@contoso.com/presence",
                     "{\"availability\":\"Away\"}", NULL) == 204);
    sleep_ms(300);
    CHECK(lands(s, "Online", NULL));
    CHECK(presence_posts(s) > posts + 1);
}

static void a_flapping_source_is_paced_and_its_last_state_lands(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    size_t before = presence_posts(s);
    ucwa_error *err = NULL;
    int64_t t0 = now_ms();
    for (int i = 0; i < 100; i++) {
        uint32_t a = i % 2 ? UCWA_AVAILABILITY_BUSY : UCWA_AVAILABILITY_AWAY;
        REQUIRE_OK(ucwa_set_source_presence(c, "lock", a, NULL, 0, &err), err);
        sleep_ms(10);
    }
    int64_t flapped = now_ms() - t0;
    REQUIRE_OK(ucwa_set_source_presence(c, "lock", UCWA_AVAILABILITY_BE_RIGHT_BACK, NULL, 0, &err),
               err);
    CHECK(lands(s, "BeRightBack", NULL));
    sleep_ms(400);
    size_t posts = presence_posts(s) - before;
    size_t bound = 5 + (size_t)(flapped / 300) + 3;
    if (posts > bound) {
        /* %llu, not %zu: MinGW's printf (the Windows run) has no z. */
        harness_fail(__FILE__, __LINE__, "%llu presence POSTs for 101 changes in %lld ms (<= %llu)",
                     (unsigned long long)posts, (long long)flapped, (unsigned long long)bound);
    }
}

static void every_bad_input_is_refused_and_changes_nothing(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    CHECK_STATUS(ucwa_set_source_presence(c, "phone", UCWA_AVAILABILITY_BUSY, NULL, 0, NULL),
                 UCWA_ERROR_INVALID_STATE);
    CHECK_STATUS(ucwa_set_note_until(c, "Lunch", 60, NULL), UCWA_ERROR_INVALID_STATE);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err);
    char name[16];
    for (int i = 0; i < UCWA_MAX_SOURCES; i++) {
        snprintf(name, sizeof name, "s%d", i);
        REQUIRE_OK(ucwa_set_source_presence(c, name, UCWA_AVAILABILITY_ONLINE, NULL, 0, &err), err);
    }
    CHECK(lands(s, "Online", NULL));
    sleep_ms(400);
    size_t posts = presence_posts(s);
    char long_name[UCWA_MAX_SOURCE_NAME + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const uint32_t arg = UCWA_ERROR_INVALID_ARGUMENT;
    CHECK_STATUS(ucwa_set_source_presence(c, "s99", UCWA_AVAILABILITY_BUSY, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, NULL, UCWA_AVAILABILITY_BUSY, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, "", UCWA_AVAILABILITY_BUSY, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, "a\nb", UCWA_AVAILABILITY_BUSY, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, long_name, UCWA_AVAILABILITY_BUSY, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, "s1", 0, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, "s1", UCWA_AVAILABILITY_IDLE_BUSY, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, "s1", 99, NULL, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_source_presence(c, "s1", UCWA_AVAILABILITY_BUSY, NULL,
                                          UCWA_MAX_EXPIRY_S + 1, NULL), arg);
    CHECK_STATUS(ucwa_clear_source_presence(c, NULL, NULL), arg);
    CHECK_STATUS(ucwa_set_preferred_availability(c, UCWA_AVAILABILITY_OFFLINE, 0, NULL), arg);
    CHECK_STATUS(ucwa_set_preferred_availability(c, UCWA_AVAILABILITY_BUSY, 0xFFFFFFFFu, NULL),
                 arg);
    CHECK_STATUS(ucwa_set_note_until(c, NULL, 60, NULL), arg);
    sleep_ms(300);
    CHECK(presence_posts(s) == posts);
    CHECK(lands(s, "Online", NULL));
}

const test_case source_tests[] = {
    { "sources_compose_by_precedence_and_the_preferred_choice_hands_back", sources_compose_by_precedence_and_the_preferred_choice_hands_back },
    { "a_source_the_preferred_choice_and_a_timed_note_expire_without_a_host_call", a_source_the_preferred_choice_and_a_timed_note_expire_without_a_host_call },
    { "a_recreated_application_gets_the_effective_state", a_recreated_application_gets_the_effective_state },
    { "a_change_elsewhere_is_kept_and_with_enforce_presence_overwritten", a_change_elsewhere_is_kept_and_with_enforce_presence_overwritten },
    { "a_flapping_source_is_paced_and_its_last_state_lands", a_flapping_source_is_paced_and_its_last_state_lands },
    { "every_bad_input_is_refused_and_changes_nothing", every_bad_input_is_refused_and_changes_nothing },
    { NULL, NULL },
};
