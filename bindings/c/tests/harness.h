/*
 * harness.h: the tiny test harness of the C test suite (owned by bindings/c/tests).
 *
 * Each test is a `void f(void)` listed in a `test_case` table. The runner (harness.c) forks a
 * fresh child per test so that a crash, a hang or a leak in one test is reported as that
 * test's failure instead of ending the run, and so that every test starts with a fresh
 * library state. Under AddressSanitizer the child's LeakSanitizer check runs at its exit;
 * under valgrind the child's leak check does; either turns the test's exit status non-zero.
 *
 * CHECK records a failure and goes on; REQUIRE records a failure and returns from the test.
 * Whatever a test registered (sims via sim_start, clients via track_client) is torn down by
 * the runner after the test function returns, also when a REQUIRE returned early.
 */
#ifndef UCWA_TESTS_HARNESS_H
#define UCWA_TESTS_HARNESS_H

#include <stdint.h>

#include "ucwa.h"

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/* Tables defined by the test files; each ends with a { NULL, NULL } entry. */
extern const test_case flow_tests[];
extern const test_case robustness_tests[];
extern const test_case event_tests[];
extern const test_case concurrency_tests[];
extern const test_case header_tests[];
extern const test_case hardening_tests[];

/* Records a failure of the running test, with where and why. */
void harness_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Frees `client` when the test ends (ucwa_client_free of a freed handle is a no-op). */
ucwa_client *track_client(ucwa_client *client);
/* Registers a cleanup to run when the test ends (used by sim_start). */
void harness_defer(void (*fn)(void *), void *arg);

/* Monotonic milliseconds. */
int64_t now_ms(void);
void sleep_ms(int ms);

/* The name of a status for messages ("UCWA_ERROR_INVALID_HANDLE"). */
const char *status_name(uint32_t status);

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                            \
        }                                                                                    \
    } while (0)

#define REQUIRE(cond)                                                                        \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            harness_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                          \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* Compares two statuses and names both on failure. */
#define CHECK_STATUS(got_expr, want)                                                         \
    do {                                                                                     \
        uint32_t got_ = (uint32_t)(got_expr);                                                \
        uint32_t want_ = (uint32_t)(want);                                                   \
        if (got_ != want_) {                                                                 \
            harness_fail(__FILE__, __LINE__, "%s returned %s, expected %s", #got_expr,      \
                         status_name(got_), status_name(want_));                             \
        }                                                                                    \
    } while (0)

#define REQUIRE_STATUS(got_expr, want)                                                       \
    do {                                                                                     \
        uint32_t got_ = (uint32_t)(got_expr);                                                \
        uint32_t want_ = (uint32_t)(want);                                                   \
        if (got_ != want_) {                                                                 \
            harness_fail(__FILE__, __LINE__, "%s returned %s, expected %s", #got_expr,      \
                         status_name(got_), status_name(want_));                             \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* Runs a call that must succeed; on failure prints the library's error and returns. */
#define REQUIRE_OK(call_with_err, err_var)                                                   \
    do {                                                                                     \
        uint32_t got_ = (uint32_t)(call_with_err);                                           \
        if (got_ != UCWA_OK) {                                                               \
            harness_fail(__FILE__, __LINE__, "%s returned %s: %s (HTTP %u)", #call_with_err, \
                         status_name(got_), ucwa_error_message(err_var),                     \
                         (unsigned)ucwa_error_http_status(err_var));                         \
            ucwa_error_free(err_var);                                                        \
            return;                                                                          \
        }                                                                                    \
    } while (0)

#endif
