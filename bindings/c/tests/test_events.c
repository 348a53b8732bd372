/*
 * test_events.c: events pulled with ucwa_client_next_event (owned by bindings/c/tests):
 * a presence change from another device arrives with the right kind and values, sign-out
 * ends the stream, a timeout gives OK with no event, and a waiter returns at once when
 * another thread frees the client.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

/* Waits up to timeout_ms for an event of `kind`, freeing others; NULL when none came. */
static ucwa_event *wait_for_kind(ucwa_client *c, uint32_t kind, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        ucwa_event *ev = NULL;
        ucwa_error *err = NULL;
        uint32_t st = ucwa_client_next_event(c, 250, &ev, &err);
        if (st != UCWA_OK) {
            harness_fail(__FILE__, __LINE__, "next_event: %s: %s", status_name(st), ucwa_error_message(err));
            ucwa_error_free(err);
            return NULL;
        }
        if (ev && ucwa_event_get_kind(ev) == kind) {
            return ev;
        }
        ucwa_event_free(ev);
    }
    return NULL;
}

static void presence_change_from_another_device_arrives_as_an_event(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "POST", "/_sim/users/alice@contoso.com/presence",
                     "{\"availability\":\"Away\",\"activity\":\"in-a-meeting\"}", NULL) == 204);
    ucwa_event *ev = NULL;
    int64_t deadline = now_ms() + 10000;
    /* Earlier presence events (our own makeMeAvailable) may come first; wait for Away. */
    while (now_ms() < deadline) {
        ev = wait_for_kind(c, UCWA_EVENT_KIND_PRESENCE_CHANGED, (int)(deadline - now_ms()));
        if (!ev || ucwa_event_availability(ev) == UCWA_AVAILABILITY_AWAY) {
            break;
        }
        ucwa_event_free(ev);
        ev = NULL;
    }
    REQUIRE(ev);
    CHECK(ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_PRESENCE_CHANGED);
    CHECK(ucwa_event_availability(ev) == UCWA_AVAILABILITY_AWAY);
    const char *activity = ucwa_event_activity(ev);
    CHECK(activity && strcmp(activity, "in-a-meeting") == 0);
    /* Accessors for other kinds are neutral on a presence event. */
    CHECK(ucwa_event_note(ev) == NULL);
    CHECK(ucwa_event_location(ev) == NULL);
    CHECK(ucwa_event_connection_state(ev) == UCWA_CONNECTION_STATE_NONE);
    CHECK(ucwa_event_reason(ev) == NULL);
    ucwa_event_free(ev);

    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "GET", "events") >= 1);
    json_free(log);
    /* The library's own reading agrees with the event. */
    uint32_t av = 0;
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_get_presence(c, &av, NULL, &err), err);
    CHECK(av == UCWA_AVAILABILITY_AWAY);
}

static void sign_out_delivers_signed_out_then_next_event_is_invalid_state(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_sign_out(c, &err), err);
    ucwa_event *ev = wait_for_kind(c, UCWA_EVENT_KIND_SIGNED_OUT, 5000);
    REQUIRE(ev);
    /* The host asked for it: no reason. */
    CHECK(ucwa_event_reason(ev) == NULL);
    ucwa_event_free(ev);
    /* Drained: every further read returns INVALID_STATE at once, even with a long timeout. */
    int64_t t0 = now_ms();
    ev = (ucwa_event *)0x1;
    err = NULL;
    uint32_t st;
    while ((st = ucwa_client_next_event(c, 5000, &ev, &err)) == UCWA_OK && now_ms() - t0 < 5000) {
        ucwa_event_free(ev);   /* stragglers queued before the sign-out */
        ev = (ucwa_event *)0x1;
    }
    CHECK_STATUS(st, UCWA_ERROR_INVALID_STATE);
    CHECK(ev == (ucwa_event *)0x1);
    CHECK(ucwa_error_status(err) == UCWA_ERROR_INVALID_STATE);
    ucwa_error_free(err);
    CHECK(now_ms() - t0 < 1000);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "DELETE", "application") == 1);
    json_free(log);
}

static void next_event_times_out_with_ok_and_no_event(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    /* Signed in but not made available: sign-in's CONNECTED is queued before it returns, and
     * nothing else comes (makeMeAvailable would start presence events, whose arrival under a
     * slow host such as Wine can outlast any drain window). */
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    ucwa_event *ev = NULL;
    ucwa_error *err = NULL;
    do {
        ucwa_event_free(ev);
        ev = NULL;
        REQUIRE_OK(ucwa_client_next_event(c, 1000, &ev, &err), err);
    } while (ev);
    int64_t t0 = now_ms();
    ev = (ucwa_event *)0x1;
    err = (ucwa_error *)0x1;
    CHECK_STATUS(ucwa_client_next_event(c, 400, &ev, &err), UCWA_OK);
    int64_t took = now_ms() - t0;
    CHECK(ev == NULL);
    CHECK(err == NULL);
    CHECK(took >= 350 && took < 5000);
    t0 = now_ms();
    CHECK_STATUS(ucwa_client_next_event(c, 0, &ev, NULL), UCWA_OK);
    CHECK(ev == NULL);
    CHECK(now_ms() - t0 < 200);
}

typedef struct waiter {
    ucwa_client *client;
    atomic_int done;
    uint32_t status;
    int64_t returned_at;
} waiter;

static void *wait_forever(void *arg)
{
    waiter *w = arg;
    ucwa_event *ev = NULL;
    ucwa_error *err = NULL;
    uint32_t st;
    /* Read until something other than an event comes back; UINT32_MAX ms is ~49 days. */
    while ((st = ucwa_client_next_event(w->client, 0xFFFFFFFFu, &ev, &err)) == UCWA_OK) {
        ucwa_event_free(ev);
        ev = NULL;
    }
    ucwa_error_free(err);
    w->status = st;
    w->returned_at = now_ms();
    atomic_store(&w->done, 1);
    return NULL;
}

static void next_event_returns_promptly_when_another_thread_frees_the_client(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    waiter w;
    memset(&w, 0, sizeof w);
    w.client = c;
    atomic_init(&w.done, 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, wait_forever, &w) == 0);
    sleep_ms(500);
    CHECK(atomic_load(&w.done) == 0);
    int64_t freed_at = now_ms();
    ucwa_client_free(c);
    int64_t free_took = now_ms() - freed_at;
    while (!atomic_load(&w.done) && now_ms() - freed_at < 15000) {
        sleep_ms(10);
    }
    REQUIRE(atomic_load(&w.done));   /* else the waiter is stuck: the test process ends it */
    pthread_join(t, NULL);
    CHECK(w.status == UCWA_ERROR_INVALID_HANDLE || w.status == UCWA_ERROR_INVALID_STATE);
    CHECK(w.returned_at - freed_at < 3000);
    CHECK(free_took < 10000);
}

const test_case event_tests[] = {
    { "presence_change_from_another_device_arrives_as_an_event", presence_change_from_another_device_arrives_as_an_event },
    { "sign_out_delivers_signed_out_then_next_event_is_invalid_state", sign_out_delivers_signed_out_then_next_event_is_invalid_state },
    { "next_event_times_out_with_ok_and_no_event", next_event_times_out_with_ok_and_no_event },
    { "next_event_returns_promptly_when_another_thread_frees_the_client", next_event_returns_promptly_when_another_thread_frees_the_client },
    { NULL, NULL },
};
