/*
 * test_concurrency.c: one client shared by several threads (owned by bindings/c/tests):
 * concurrent calls all succeed and their changes reach the server, paced; a free from another thread while
 * calls are in flight makes them return OK, INVALID_HANDLE or INVALID_STATE — nothing else,
 * never a crash; freeing a client with an active keep-alive returns within a bounded time,
 * also when the server does not answer the sign-out.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "sim.h"

#define THREADS 4

typedef struct worker {
    ucwa_client *client;
    int index;
    atomic_int *stop;
    atomic_int *finished;
    int calls;
    int ok;
    int unexpected;          /* statuses other than OK / INVALID_HANDLE / INVALID_STATE */
    uint32_t first_unexpected;
    char unexpected_msg[256];
    uint32_t last_status;
} worker;

static void record(worker *w, uint32_t st, ucwa_error *err)
{
    w->calls++;
    w->last_status = st;
    if (st == UCWA_OK) {
        w->ok++;
    } else if (st != UCWA_ERROR_INVALID_HANDLE && st != UCWA_ERROR_INVALID_STATE) {
        if (w->unexpected++ == 0) {
            w->first_unexpected = st;
            snprintf(w->unexpected_msg, sizeof w->unexpected_msg, "%s", ucwa_error_message(err));
        }
    }
    ucwa_error_free(err);
}

/* Loops set/get calls until the client is gone (INVALID_HANDLE) or told to stop. */
static void *hammer(void *arg)
{
    worker *w = arg;
    char note[64];
    for (int i = 0; !atomic_load(w->stop); i++) {
        ucwa_error *err = NULL;
        uint32_t st;
        uint32_t av = (i % 2) ? UCWA_AVAILABILITY_BUSY : UCWA_AVAILABILITY_ONLINE;
        st = ucwa_set_availability(w->client, av, &err);
        record(w, st, err);
        err = NULL;
        uint32_t got = 0;
        char *activity = NULL;
        st = ucwa_get_presence(w->client, &got, &activity, &err);
        if (st == UCWA_OK) {
            ucwa_string_free(activity);
        }
        record(w, st, err);
        err = NULL;
        snprintf(note, sizeof note, "thread %d call %d", w->index, i);
        st = ucwa_set_note(w->client, note, &err);
        record(w, st, err);
        err = NULL;
        char *n = NULL;
        st = ucwa_get_note(w->client, &n, &err);
        if (st == UCWA_OK) {
            ucwa_string_free(n);
        }
        record(w, st, err);
        if (w->last_status == UCWA_ERROR_INVALID_HANDLE) {
            break;
        }
    }
    atomic_fetch_add(w->finished, 1);
    return NULL;
}

static void threads_using_one_client_while_another_frees_it_see_only_ok_or_invalid(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    atomic_int stop;
    atomic_int finished;
    atomic_init(&stop, 0);
    atomic_init(&finished, 0);
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].client = c;
        w[i].index = i;
        w[i].stop = &stop;
        w[i].finished = &finished;
        REQUIRE(pthread_create(&t[i], NULL, hammer, &w[i]) == 0);
    }
    sleep_ms(800);
    ucwa_client_free(c);
    /* After the free every call must fail with INVALID_HANDLE, so the workers end by
     * themselves within one call's time; `stop` is only a safety net so that a broken
     * library cannot hang the test (the workers' last status then shows it). */
    int64_t freed_at = now_ms();
    while (atomic_load(&finished) < THREADS && now_ms() - freed_at < 10000) {
        sleep_ms(10);
    }
    atomic_store(&stop, 1);
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        if (w[i].unexpected) {
            harness_fail(__FILE__, __LINE__, "thread %d: %d unexpected statuses, first %s: %s", i,
                         w[i].unexpected, status_name(w[i].first_unexpected), w[i].unexpected_msg);
        }
        CHECK(w[i].calls > 0);
        if (w[i].last_status != UCWA_ERROR_INVALID_HANDLE) {
            harness_fail(__FILE__, __LINE__, "thread %d: last call after the free returned %s",
                         i, status_name(w[i].last_status));
        }
    }
    CHECK(ok > 0);
    /* The library kept serving calls until the free: the server saw them. */
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "POST", "presence") >= 1);
    json_free(log);
}

typedef struct fixed_worker {
    ucwa_client *client;
    int index;
    int failures;
} fixed_worker;

static void *set_ten_times(void *arg)
{
    fixed_worker *w = arg;
    char note[64];
    for (int i = 0; i < 10; i++) {
        snprintf(note, sizeof note, "t%d-%d", w->index, i);
        uint32_t av = (uint32_t)(1 + (w->index + i) % 6);
        if (ucwa_set_availability(w->client, av, NULL) != UCWA_OK ||
            ucwa_set_note(w->client, note, NULL) != UCWA_OK) {
            w->failures++;
        }
        uint32_t got = 0;
        if (ucwa_get_presence(w->client, &got, NULL, NULL) != UCWA_OK ||
            got < UCWA_AVAILABILITY_ONLINE || got > UCWA_AVAILABILITY_UNKNOWN) {
            w->failures++;
        }
    }
    return NULL;
}

static void concurrent_calls_on_one_client_all_succeed_and_reach_the_server(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    fixed_worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].client = c;
        w[i].index = i;
        w[i].failures = 0;
        REQUIRE(pthread_create(&t[i], NULL, set_ten_times, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].failures == 0);
    }
    json_value *log = sim_log(s);
    REQUIRE(log);
    /* Only changes of the presence the library keeps go out, paced (a burst, then one per
     * 300 ms; the last state always lands): every call succeeded, at most one POST each. */
    size_t presence = log_count(log, "POST", "presence");
    size_t notes = log_count(log, "POST", "note");
    CHECK(presence >= 1 && presence <= THREADS * 10);
    CHECK(notes >= 1 && notes <= THREADS * 10);
    json_free(log);
}

static void free_with_active_keepalive_returns_within_10_s_and_signs_out(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_client(s);
    REQUIRE(c);
    ucwa_error *err = NULL;
    REQUIRE_OK(ucwa_client_set_option(c, "keepalive_interval_s", "0.5", &err), err);
    REQUIRE_OK(ucwa_sign_in(c, ALICE, ALICE_PASSWORD, &err), err);
    REQUIRE_OK(ucwa_make_me_available(c, UCWA_AVAILABILITY_ONLINE, &err), err);
    /* The keep-alive is running: a P-GET parked and activity reported on its timer (the
     * supervisor notices the new phase within a second, then reports every 0.5 s). */
    json_value *user = NULL;
    const json_value *app = NULL;
    int64_t deadline = now_ms() + 5000;
    do {
        json_free(user);
        sleep_ms(100);
        user = sim_user(s, ALICE);
        REQUIRE(user);
        app = json_at(json_get(user, "applications"), 0);
    } while (json_get_num(app, "activity_reports", 0) < 1 && now_ms() < deadline);
    CHECK(json_get_num(app, "parked_pgets", 0) == 1);
    CHECK(json_get_num(app, "activity_reports", 0) >= 1);
    json_free(user);

    int64_t t0 = now_ms();
    ucwa_client_free(c);
    int64_t took = now_ms() - t0;
    printf("    free with an active keep-alive took %lld ms\n", (long long)took);
    CHECK(took < 10000);
    user = sim_user(s, ALICE);
    REQUIRE(user);
    CHECK(json_get(user, "applications") && json_get(user, "applications")->count == 0);
    json_free(user);
    json_value *log = sim_log(s);
    REQUIRE(log);
    CHECK(log_count(log, "DELETE", "application") == 1);
    json_free(log);
}

static void free_returns_within_10_s_when_the_server_never_answers_the_sign_out(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    ucwa_client *c = sim_available_client(s);
    REQUIRE(c);
    REQUIRE(sim_http(s, "POST", "/_sim/faults",
                     "{\"route\":\"application\",\"method\":\"DELETE\",\"count\":0,"
                     "\"action\":{\"Delay\":{\"ms\":60000}}}", NULL) == 204);
    int64_t t0 = now_ms();
    ucwa_client_free(c);
    int64_t took = now_ms() - t0;
    printf("    free against a hanging server took %lld ms\n", (long long)took);
    CHECK(took < 10000);
    /* And the handle is gone. */
    CHECK_STATUS(ucwa_report_activity(c, NULL), UCWA_ERROR_INVALID_HANDLE);
}

const test_case concurrency_tests[] = {
    { "concurrent_calls_on_one_client_all_succeed_and_reach_the_server", concurrent_calls_on_one_client_all_succeed_and_reach_the_server },
    { "threads_using_one_client_while_another_frees_it_see_only_ok_or_invalid", threads_using_one_client_while_another_frees_it_see_only_ok_or_invalid },
    { "free_with_active_keepalive_returns_within_10_s_and_signs_out", free_with_active_keepalive_returns_within_10_s_and_signs_out },
    { "free_returns_within_10_s_when_the_server_never_answers_the_sign_out", free_returns_within_10_s_when_the_server_never_answers_the_sign_out },
    { NULL, NULL },
};
