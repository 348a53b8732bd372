/*
 * sim.h: the ucwa-sim fixture for the C tests (owned by bindings/c/tests).
 *
 * sim_start launches one simulator on 127.0.0.1:0, reads its first stdout line (the discovery
 * root URL) and registers its shutdown with the harness, so every test gets its own server.
 * Processes and sockets go through common/portable.h (POSIX and Windows; with
 * UCWA_SIM_BROKER set, the simulator is started by the broker, see there).
 * The control API (/_sim/...) is spoken with a minimal HTTP/1.1 client over a loopback socket
 * (with curl for a --tls simulator, whose control API is https too), and its JSON is parsed
 * with json.h so tests assert on exactly what the server saw, the token log and the forward
 * proxy's log included.
 */
#ifndef UCWA_TESTS_SIM_H
#define UCWA_TESTS_SIM_H

#include <stddef.h>

#include "json.h"
#include "portable.h"
#include "ucwa.h"

typedef struct sim {
    portable_proc proc; /* the simulator process (or its broker connection) */
    char url[256];      /* discovery root, e.g. "http://127.0.0.1:41234/" */
    int port;
    int tls;            /* started with --tls: every listener, the control API too, is https */
    char ca_file[512];  /* --tls: the CA it wrote (PEM), to trust; in a directory of its own */
    char ca_dir[64];    /* the directory holding ca_file (and the curl answers) */
} sim;

#define ALICE "alice@contoso.com"
#define ALICE_PASSWORD "alice-password"

/* Starts a simulator with extra arguments (a NULL-terminated list, or NULL); NULL on failure
 * (the test has then been marked failed). Stopped automatically when the test ends. */
sim *sim_start(const char *const *extra_args);

/* Whether this build can start a --tls simulator and read its control API (POSIX: when curl,
 * which makes the https control requests, is on PATH; never on Windows, see sim.c). */
int sim_tls_supported(void);
/* sim_start with --tls --ca-out (a fresh temporary file, removed with the simulator): the
 * URL is https://127.0.0.1:PORT/, s->ca_file the CA to trust (ucwa option ca_file). */
sim *sim_start_tls(const char *const *extra_args);

/* One control request; returns the HTTP status (-1 on a transport failure). *out_body (may be
 * NULL) receives a malloc'd body to free(). */
int sim_http(const sim *s, const char *method, const char *path, const char *body,
             char **out_body);

/* GET path and parse it; NULL (and a test failure) when it fails. json_free the result. */
json_value *sim_get_json(const sim *s, const char *path);
/* The request log (a JSON array of entries). */
json_value *sim_log(const sim *s);
/* The state of one user (GET /_sim/users/{name}). */
json_value *sim_user(const sim *s, const char *name);
/* The token log (GET /_sim/token-log): one entry per token-endpoint request, with the grant,
 * the Windows handshake's leg, scheme and TCP connection, and what the simulator decided. */
json_value *sim_token_log(const sim *s);

/* The simulator's forward proxy (GET /_sim/proxy): its URL, "http://127.0.0.1:PORT/", into
 * out; 1 on success, 0 (and a test failure) otherwise. */
int sim_proxy_url(const sim *s, char *out, size_t len);
/* The proxy's request log (GET /_sim/proxy/log): one entry per plain request or CONNECT
 * tunnel, with "conn", "method", "target", "version", "credentials", "user", "authorized" and
 * "answered" (the proxy's own status, null when it forwarded the request). */
json_value *sim_proxy_log(const sim *s);

/* Checks that the token log's urn:microsoft.rtc:windows entries are exactly one handshake:
 * legs challenge, negotiate, authenticate (the last two under `scheme`), all on one TCP
 * connection, the last one's outcome `outcome`. Records failures at file:line; 1 when it held. */
int check_one_handshake(const json_value *token_log, const char *scheme, const char *outcome,
                        const char *file, int line);
#define CHECK_ONE_HANDSHAKE(log, scheme, outcome)                                            \
    check_one_handshake((log), (scheme), (outcome), __FILE__, __LINE__)

/* Entries of `log` with this method (NULL: any) and route. */
size_t log_count(const json_value *log, const char *method, const char *route);
/* The n-th (0-based) such entry, or NULL. */
const json_value *log_nth(const json_value *log, const char *method, const char *route,
                          size_t n);
/* Entries whose route is not "events" (the keep-alive's P-GETs come and go on their own). */
size_t log_count_foreground(const json_value *log);

/* A new client for this simulator, tracked for cleanup; NULL (and a failure) if it fails. */
ucwa_client *sim_client(const sim *s);
/* A client signed in as alice; NULL (and a failure) on failure. */
ucwa_client *sim_signed_in_client(const sim *s);
/* A client signed in as alice and made available (sign_in_as 0); NULL on failure. */
ucwa_client *sim_available_client(const sim *s);

#endif
