/*
 * test_log.c: the library's log records through the C ABI (owned by bindings/c/tests): pulled
 * with level, time, target, client and message, never holding the password or the user's
 * name; levels past TRACE and garbage records refused or read as neutral; and the zero-code
 * switch in an unmodified host: the demo under UCWA_LOG=debug logs to stderr (or to
 * UCWA_LOG_FILE), without it (or with a value it does not understand, which it says once)
 * writes no record, and with --verbose prints them itself.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "harness.h"
#include "sim.h"

static void log_records_name_their_client_and_hold_no_secret_or_name(void)
{
    sim *s = sim_start(NULL);
    REQUIRE(s);
    REQUIRE_STATUS(ucwa_log_set_level(UCWA_LOG_LEVEL_DEBUG, NULL), UCWA_OK);
    ucwa_client *c = sim_signed_in_client(s);
    REQUIRE(c);
    REQUIRE_STATUS(ucwa_log_set_level(UCWA_LOG_LEVEL_OFF, NULL), UCWA_OK);
    int exchanges = 0, sign_in = 0;
    ucwa_log_record *r = NULL;
    while (ucwa_log_next(0, &r, NULL) == UCWA_OK && r) {
        const char *msg = ucwa_log_record_message(r);
        const char *target = ucwa_log_record_target(r);
        CHECK(msg && target && strncmp(target, "ucwa::", 6) == 0);
        CHECK(ucwa_log_record_time_ms(r) > 1700000000000ULL);
        CHECK(ucwa_log_record_level(r) >= UCWA_LOG_LEVEL_ERROR &&
              ucwa_log_record_level(r) <= UCWA_LOG_LEVEL_DEBUG);
        CHECK(!strstr(msg, "alice-password") && !strstr(msg, "AAEB") && !strstr(msg, "alice"));
        if (ucwa_log_record_client(r) == (uint64_t)(uintptr_t)c) {
            exchanges += strncmp(msg, "POST ", 5) == 0 || strncmp(msg, "GET ", 4) == 0;
            sign_in += strncmp(msg, "signed in", 9) == 0;
        }
        ucwa_log_record_free(r);
    }
    json_value *log = sim_log(s);
    REQUIRE(log);
    /* Every request the simulator saw during sign-in has its record (P-GETs may be parked). */
    CHECK(exchanges >= (int)log_count_foreground(log));
    CHECK(sign_in == 1);
    json_free(log);
}

static void log_levels_past_trace_and_garbage_records_are_refused(void)
{
    ucwa_error *err = NULL;
    CHECK_STATUS(ucwa_log_set_level(6, &err), UCWA_ERROR_INVALID_ARGUMENT);
    CHECK(err && strstr(ucwa_error_message(err), "log level"));
    ucwa_error_free(err);
    CHECK_STATUS(ucwa_log_next(0, NULL, NULL), UCWA_ERROR_INVALID_ARGUMENT);
    ucwa_log_record *garbage = (ucwa_log_record *)(uintptr_t)0xdeadbeef;
    CHECK(ucwa_log_record_level(garbage) == UCWA_LOG_LEVEL_OFF);
    CHECK(ucwa_log_record_message(garbage) == NULL && ucwa_log_record_target(NULL) == NULL);
    CHECK(ucwa_log_record_client(garbage) == 0 && ucwa_log_record_time_ms(NULL) == 0);
    ucwa_log_record_free(garbage);
    ucwa_log_record *none = (ucwa_log_record *)(uintptr_t)1;
    CHECK_STATUS(ucwa_log_next(0, &none, NULL), UCWA_OK);
    CHECK(none == NULL);
}

#if !defined(_WIN32) && defined(UCWA_DEMO_PATH)
/* Runs the demo against its bundled simulator with `env` before it; stdout to /dev/null,
 * stderr to `err_path`. Returns the demo's exit status. */
static int run_demo(const char *env, const char *args, const char *err_path)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "env -u UCWA_LOG -u UCWA_LOG_FILE -u UCWA_LOG_IDENTITY %s '%s' %s "
             ">/dev/null 2>'%s'", env, UCWA_DEMO_PATH, args, err_path);
    int st = system(cmd);
    return st == -1 ? -1 : (st >> 8) & 0xff;
}

/* Whole file as a string (freed by the caller), NULL when unreadable. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
    }
    return buf;
}
#endif

static void the_unmodified_demo_logs_under_ucwa_log_and_is_silent_without(void)
{
#if defined(_WIN32) || !defined(UCWA_DEMO_PATH)
    harness_not_run("runs the demo through a POSIX shell");
#else
    char err1[] = "/tmp/ucwa-log-stderr-XXXXXX", err2[] = "/tmp/ucwa-log-stderr2-XXXXXX",
         err3[] = "/tmp/ucwa-log-stderr3-XXXXXX", file[] = "/tmp/ucwa-log-file-XXXXXX";
    char *paths[] = { err1, err2, err3, file };
    for (int i = 0; i < 4; i++) {
        int fd = mkstemp(paths[i]);
        REQUIRE(fd >= 0);
        close(fd);
    }
    CHECK(run_demo("UCWA_LOG=debug", "", err1) == 0);
    char env[256];
    snprintf(env, sizeof env, "UCWA_LOG=debug UCWA_LOG_FILE='%s'", file);
    CHECK(run_demo(env, "", err2) == 0);
    CHECK(run_demo("", "", err3) == 0);
    char *on = slurp(err1), *to_file_err = slurp(err2), *off = slurp(err3), *in_file = slurp(file);
    CHECK(on && strstr(on, " DEBUG ucwa::transport::logged client=") && strstr(on, "POST "));
    CHECK(on && strstr(on, " INFO  ucwa::session::lifecycle client=") && !strstr(on, "alice"));
    CHECK(in_file && strstr(in_file, " DEBUG ucwa::transport::logged client="));
    CHECK(to_file_err && !strstr(to_file_err, "ucwa::"));
    CHECK(off && !strstr(off, "ucwa::"));
    free(on);
    free(to_file_err);
    free(off);
    free(in_file);
    /* A value it does not understand: said once, logging off, the host unharmed. */
    CHECK(run_demo("UCWA_LOG=verbose", "", err3) == 0);
    char *bad = slurp(err3);
    CHECK(bad && strstr(bad, "ucwa: UCWA_LOG=\"verbose\" is not one of error, warn, info, debug, trace or off"));
    CHECK(bad && !strstr(bad, "ucwa::"));
    free(bad);
    /* --verbose: the demo pulls the records itself. */
    CHECK(run_demo("", "--verbose", err3) == 0);
    char *verbose = slurp(err3);
    CHECK(verbose && strstr(verbose, "  log DEBUG ucwa::transport::logged client=") && !strstr(verbose, "alice"));
    free(verbose);
    for (int i = 0; i < 4; i++) {
        remove(paths[i]);
    }
#endif
}

const test_case log_tests[] = {
    { "log_records_name_their_client_and_hold_no_secret_or_name", log_records_name_their_client_and_hold_no_secret_or_name },
    { "log_levels_past_trace_and_garbage_records_are_refused", log_levels_past_trace_and_garbage_records_are_refused },
    { "the_unmodified_demo_logs_under_ucwa_log_and_is_silent_without", the_unmodified_demo_logs_under_ucwa_log_and_is_silent_without },
    { NULL, NULL },
};
