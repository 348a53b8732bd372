/*
 * ucwa_demo.c: the demo host of ucwa, also a small command-line tool (owned by
 * bindings/c/examples). It shows the whole C ABI flow a host program needs: create a client,
 * sign in, make the user available, set availability/note/location, read them back, sign out,
 * and turn every failure into a readable report (status, message, HTTP status, code/subcode).
 *
 *   ucwa_demo                      starts the bundled ucwa-sim and runs the flow against it
 *   ucwa_demo --server URL --user NAME --password-env VAR [--availability Busy]
 *             [--note TEXT] [--location TEXT] [--ca-file FILE]
 *                                  talks to a real server (https); the password is read from
 *                                  the environment variable VAR and never printed
 *   presence from several sources (either mode):
 *   --source NAME,AVAILABILITY[,EXPIRES_S[,NOTE]]   a presence source (repeatable, up to 16)
 *   --preferred-for SECONDS        the --availability is the preferred one for SECONDS only
 *   --note-for SECONDS             the --note is a timed note for SECONDS only
 *   --watch SECONDS                then prints each change of the effective presence for
 *                                  SECONDS (expiries happen without any call)
 *   --sim PATH                     the simulator to start (else $UCWA_SIM, else found next to
 *                                  this program or in the workspace's target/debug)
 *
 * Exit status: 0 when every step succeeded, 1 when a step failed, 2 on a usage error.
 */
#define _GNU_SOURCE

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __linux__
#include <unistd.h>
#endif

#include "portable.h"
#include "ucwa.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#ifndef UCWA_SIM_DEFAULT
#define UCWA_SIM_DEFAULT ""
#endif

/* The simulator's built-in demo user (see ucwa-sim --help). */
#define SIM_USER "alice@contoso.com"
#define SIM_PASSWORD "alice-password"

static const char *const availability_names[] = {
    "Unspecified", "Online", "Busy", "DoNotDisturb", "BeRightBack", "Away", "OffWork",
    "IdleOnline", "IdleBusy", "Offline", "Unknown",
};

static const char *availability_name(uint32_t a)
{
    return a < sizeof availability_names / sizeof availability_names[0] ? availability_names[a] : "?";
}

/* 1..6 for a settable availability name (case-insensitive), 0 otherwise. */
static uint32_t parse_availability(const char *name)
{
    for (uint32_t a = UCWA_AVAILABILITY_ONLINE; a <= UCWA_AVAILABILITY_OFF_WORK; a++) {
        if (strcasecmp(name, availability_names[a]) == 0) {
            return a;
        }
    }
    return 0;
}

static const char *status_name(uint32_t status)
{
    static const char *const names[] = {
        "UCWA_OK", "UCWA_ERROR_INVALID_ARGUMENT", "UCWA_ERROR_INVALID_HANDLE",
        "UCWA_ERROR_INVALID_STATE", "UCWA_ERROR_NETWORK", "UCWA_ERROR_TIMEOUT",
        "UCWA_ERROR_TLS", "UCWA_ERROR_AUTHENTICATION", "UCWA_ERROR_SERVER",
        "UCWA_ERROR_PROTOCOL", "UCWA_ERROR_INSECURE", "UCWA_ERROR_INTERNAL",
    };
    return status < sizeof names / sizeof names[0] ? names[status] : "UCWA_ERROR_UNKNOWN";
}

/* ----- steps ---------------------------------------------------------------------------- */

static int step_no;
static int step_total;

static void step_begin(const char *fmt, const char *arg)
{
    printf("[%d/%d] ", ++step_no, step_total);
    printf(fmt, arg);
    printf(" ... ");
    fflush(stdout);
}

/* Prints "ok" or the failure report; frees the error. Returns 1 on success. Call it after the
 * library call, never as `step_end(call(&err), err)`: C leaves the order in which arguments
 * are evaluated unspecified, so `err` could be read before the call wrote it. */
static int step_end(uint32_t status, ucwa_error *err)
{
    if (status == UCWA_OK) {
        printf("ok\n");
        return 1;
    }
    const char *code = ucwa_error_code(err);
    const char *subcode = ucwa_error_subcode(err);
    printf("FAILED\n");
    printf("      status:      %s (%s)\n", status_name(status), ucwa_status_str(status));
    printf("      message:     %s\n", ucwa_error_message(err));
    printf("      http status: %u\n", (unsigned)ucwa_error_http_status(err));
    printf("      code:        %s\n", code ? code : "(none)");
    printf("      subcode:     %s\n", subcode ? subcode : "(none)");
    ucwa_error_free(err);
    return 0;
}

/* ----- the bundled simulator ------------------------------------------------------------ */

/* Processes go through common/portable.h, shared with the C tests and the benchmark. */
typedef struct sim_process {
    portable_proc proc;
    char url[256];
} sim_process;

static int is_executable(const char *path)
{
    return portable_is_executable(path);
}

/* Finds ucwa-sim: --sim, $UCWA_SIM, beside this program, the workspace's target/debug (seen
 * from this program's directory or from the working directory), the build-time default. */
static int find_sim(const char *explicit_path, char *out, size_t out_len)
{
    if (explicit_path) {
        snprintf(out, out_len, "%s", explicit_path);
        return is_executable(out);
    }
    const char *env = getenv("UCWA_SIM");
    if (env && *env) {
        snprintf(out, out_len, "%s", env);
        return is_executable(out);
    }
#ifdef __linux__
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
        }
        const char *relative[] = {
            "ucwa-sim",
            "../../target/debug/ucwa-sim",      /* bindings/c/ucwa_demo */
            "../../../target/debug/ucwa-sim",   /* bindings/c/build/ucwa_demo */
            "../../../../target/debug/ucwa-sim",
        };
        for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
            char candidate[PATH_MAX];
            int w = snprintf(candidate, sizeof candidate, "%s/%s", exe, relative[i]);
            if (w > 0 && (size_t)w < sizeof candidate && is_executable(candidate)) {
                /* Print a clean path, not ".../build/../../../target/...". */
                char *resolved = realpath(candidate, NULL);
                snprintf(out, out_len, "%s", resolved ? resolved : candidate);
                free(resolved);
                return 1;
            }
        }
    }
#endif
    const char *fallback[] = { UCWA_SIM_DEFAULT, "target/debug/ucwa-sim", "../../target/debug/ucwa-sim" };
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        if (is_executable(fallback[i])) {
            snprintf(out, out_len, "%s", fallback[i]);
            return 1;
        }
    }
    return 0;
}

static void stop_sim(sim_process *sim)
{
    /* Give it 3 s to exit on SIGTERM, then make sure. */
    portable_stop(&sim->proc, 3000);
}

/* Starts the simulator and reads its first stdout line, the discovery root URL. */
static int start_sim(const char *path, sim_process *sim)
{
    const char *argv[] = { path, "--listen", "127.0.0.1:0", NULL };
    char err[512];
    if (!portable_start_sim(&sim->proc, argv, sim->url, sizeof sim->url, 15000, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 0;
    }
    return sim->url[0] != '\0';
}

/* ----- the flow ------------------------------------------------------------------------- */

/* One --source NAME,AVAILABILITY[,EXPIRES_S[,NOTE]]. */
typedef struct source_arg {
    char name[UCWA_MAX_SOURCE_NAME * 4 + 1];
    uint32_t availability;
    uint32_t expires_s;
    const char *note;
} source_arg;

typedef struct settings {
    source_arg sources[UCWA_MAX_SOURCES];
    int n_sources;
    uint32_t preferred_for;
    uint32_t note_for;
    uint32_t watch_s;
    const char *server;
    const char *user;
    const char *password;
    uint32_t availability;
    const char *note;
    const char *location;
    const char *ca_file;
} settings;

static const char *const cause_names[] = { "none", "set", "cleared", "expired", "changed elsewhere" };

/* Prints every change of the effective presence for `seconds`; 0 when the event stream fails. */
static int watch_effective(ucwa_client *client, uint32_t seconds)
{
    int64_t end = portable_now_ms() + (int64_t)seconds * 1000;
    while (portable_now_ms() < end) {
        ucwa_event *ev = NULL;
        ucwa_error *err = NULL;
        uint32_t st = ucwa_client_next_event(client, 250, &ev, &err);
        if (st != UCWA_OK) {
            return step_end(st, err);
        }
        if (ev && ucwa_event_get_kind(ev) == UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED) {
            uint32_t cause = ucwa_event_cause(ev);
            const char *source = ucwa_event_source(ev);
            const char *note = ucwa_event_note(ev);
            uint32_t a = ucwa_event_availability(ev);
            printf("      effective: %s by %s, note %s (%s)\n",
                   a ? availability_name(a) : "(the server's own)",
                   source ? source : (a ? "the preferred choice" : "nobody"),
                   note ? note : "(none)", cause < 5 ? cause_names[cause] : "?");
        }
        ucwa_event_free(ev);
    }
    printf("      ok\n");
    return 1;
}

static int run_flow(const settings *cfg)
{
    ucwa_client *client = NULL;
    ucwa_error *err = NULL;
    int ok = 1;
    step_total = 4 + (cfg->note ? 1 : 0) + (cfg->location ? 1 : 0) + 1 + cfg->n_sources +
                 (cfg->watch_s ? 1 : 0);

    printf("ucwa %s (ABI %u), server %s\n", ucwa_version(), ucwa_abi_version(), cfg->server);
    uint32_t st = ucwa_client_new(cfg->server, &client, &err);
    if (st != UCWA_OK) {
        printf("creating the client ... ");
        return step_end(st, err);
    }
    if (cfg->ca_file) {
        st = ucwa_client_set_option(client, "ca_file", cfg->ca_file, &err);
        if (st != UCWA_OK) {
            printf("setting ca_file ... ");
            step_end(st, err);
            ucwa_client_free(client);
            return 0;
        }
    }

    step_begin("sign in as %s", cfg->user);
    st = ucwa_sign_in(client, cfg->user, cfg->password, &err);
    ok = step_end(st, err);
    if (ok) {
        step_begin("make me available%s", "");
        st = ucwa_make_me_available(client, UCWA_AVAILABILITY_UNSPECIFIED, &err);
        ok = step_end(st, err);
    }
    if (ok) {
        step_begin("set availability %s", availability_name(cfg->availability));
        /* The preferred availability decides over every source; with --preferred-for it
         * hands the decision back to them when it expires. */
        st = cfg->preferred_for
                 ? ucwa_set_preferred_availability(client, cfg->availability, cfg->preferred_for, &err)
                 : ucwa_set_availability(client, cfg->availability, &err);
        ok = step_end(st, err);
    }
    for (int i = 0; ok && i < cfg->n_sources; i++) {
        const source_arg *src = &cfg->sources[i];
        step_begin("set source %s", src->name);
        st = ucwa_set_source_presence(client, src->name, src->availability, src->note,
                                      src->expires_s, &err);
        ok = step_end(st, err);
    }
    if (ok && cfg->note) {
        step_begin("set note \"%s\"", cfg->note);
        st = cfg->note_for ? ucwa_set_note_until(client, cfg->note, cfg->note_for, &err)
                           : ucwa_set_note(client, cfg->note, &err);
        ok = step_end(st, err);
    }
    if (ok && cfg->location) {
        step_begin("set location \"%s\"", cfg->location);
        st = ucwa_set_location(client, cfg->location, &err);
        ok = step_end(st, err);
    }
    if (ok) {
        uint32_t availability = 0;
        char *activity = NULL;
        char *note = NULL;
        char *location = NULL;
        step_begin("read presence, note and location back%s", "");
        st = ucwa_get_presence(client, &availability, &activity, &err);
        if (st == UCWA_OK) {
            st = ucwa_get_note(client, &note, &err);
        }
        if (st == UCWA_OK) {
            st = ucwa_get_location(client, &location, &err);
        }
        ok = step_end(st, err);
        if (ok) {
            printf("      availability: %s\n", availability_name(availability));
            printf("      activity:     %s\n", activity ? activity : "(none)");
            printf("      note:         %s\n", note ? note : "(none)");
            printf("      location:     %s\n", location ? location : "(none)");
            if (availability != cfg->availability) {
                printf("      (the server reports %s, not the %s just set)\n",
                       availability_name(availability), availability_name(cfg->availability));
            }
        }
        ucwa_string_free(activity);
        ucwa_string_free(note);
        ucwa_string_free(location);
    }
    if (ok && cfg->watch_s) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", (unsigned)cfg->watch_s);
        step_begin("watch the effective presence for %s s", secs);
        printf("\n");
        ok = watch_effective(client, cfg->watch_s);
    }
    if (ok) {
        step_begin("sign out%s", "");
        st = ucwa_sign_out(client, &err);
        ok = step_end(st, err);
    }
    uint64_t requests = 0;
    if (ucwa_client_request_count(client, &requests, NULL) == UCWA_OK) {
        printf("HTTP requests sent: %llu\n", (unsigned long long)requests);
    }
    /* After a failure this also signs out (bounded), so the server keeps no stale endpoint. */
    ucwa_client_free(client);
    return ok;
}

/* Seconds 0..UCWA_MAX_EXPIRY_S, digits only. */
static int parse_seconds(const char *text, uint32_t *out)
{
    char *end = NULL;
    if (!*text || strspn(text, "0123456789") != strlen(text)) {
        return 0;
    }
    unsigned long n = strtoul(text, &end, 10);
    if (n > UCWA_MAX_EXPIRY_S) {
        return 0;
    }
    *out = (uint32_t)n;
    return 1;
}

/* NAME,AVAILABILITY[,EXPIRES_S[,NOTE]]: the note is last, so it may hold commas. The library
 * checks the name itself (and refuses a bad one with a clear error). */
static int parse_source(char *text, source_arg *out)
{
    memset(out, 0, sizeof *out);
    char *comma = strchr(text, ',');
    if (!comma || (size_t)(comma - text) >= sizeof out->name) {
        return 0;
    }
    memcpy(out->name, text, (size_t)(comma - text));
    char *avail = comma + 1;
    char *rest = strchr(avail, ',');
    if (rest) {
        *rest++ = '\0';
    }
    if (!(out->availability = parse_availability(avail))) {
        return 0;
    }
    if (rest) {
        char *note = strchr(rest, ',');
        if (note) {
            *note++ = '\0';
            out->note = note;
        }
        if (!parse_seconds(rest, &out->expires_s)) {
            return 0;
        }
    }
    return 1;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: ucwa_demo [--sim PATH]\n"
            "       ucwa_demo --server URL --user NAME --password-env VAR\n"
            "                 [--availability NAME] [--note TEXT] [--location TEXT] [--ca-file FILE]\n"
            "\n"
            "Without --server, starts the bundled ucwa-sim and signs in as " SIM_USER ".\n"
            "NAME for --availability: Online, Busy, DoNotDisturb, BeRightBack, Away, OffWork\n"
            "(default Busy). The password is read from the environment variable VAR.\n"
            "\n"
            "Presence from several sources (with either form):\n"
            "  --source NAME,AVAILABILITY[,EXPIRES_S[,NOTE]]\n"
            "                     a presence source, e.g. --source phone,Busy,0,\"On a call\"\n"
            "                     (repeatable, at most 16; EXPIRES_S 0 = until cleared, at most\n"
            "                     604800). The preferred availability decides over sources;\n"
            "                     else the source of highest precedence: DoNotDisturb > Busy >\n"
            "                     BeRightBack > Online > Away > OffWork.\n"
            "  --preferred-for SECONDS  --availability is the preferred one for SECONDS only\n"
            "  --note-for SECONDS       --note is a timed note for SECONDS only\n"
            "  --watch SECONDS          then print each change of the effective presence\n");
}

int main(int argc, char **argv)
{
    settings cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.availability = UCWA_AVAILABILITY_BUSY;
    const char *password_env = NULL;
    const char *sim_path = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ucwa_demo: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        char *v = argv[++i];
        if (strcmp(a, "--server") == 0) {
            cfg.server = v;
        } else if (strcmp(a, "--user") == 0) {
            cfg.user = v;
        } else if (strcmp(a, "--password-env") == 0) {
            password_env = v;
        } else if (strcmp(a, "--availability") == 0) {
            if (!(cfg.availability = parse_availability(v))) {
                fprintf(stderr, "ucwa_demo: unknown availability '%s'\n", v);
                usage(stderr);
                return 2;
            }
        } else if (strcmp(a, "--note") == 0) {
            cfg.note = v;
        } else if (strcmp(a, "--location") == 0) {
            cfg.location = v;
        } else if (strcmp(a, "--ca-file") == 0) {
            cfg.ca_file = v;
        } else if (strcmp(a, "--sim") == 0) {
            sim_path = v;
        } else if (strcmp(a, "--source") == 0) {
            if (cfg.n_sources >= UCWA_MAX_SOURCES || !parse_source(v, &cfg.sources[cfg.n_sources])) {
                fprintf(stderr, "ucwa_demo: bad --source '%s' (NAME,AVAILABILITY[,EXPIRES_S[,NOTE]], at most %d)\n",
                        v, UCWA_MAX_SOURCES);
                usage(stderr);
                return 2;
            }
            cfg.n_sources++;
        } else if (strcmp(a, "--preferred-for") == 0 || strcmp(a, "--note-for") == 0 ||
                   strcmp(a, "--watch") == 0) {
            uint32_t n = 0;
            if (!parse_seconds(v, &n) || n == 0) {
                fprintf(stderr, "ucwa_demo: %s needs a number of seconds (1..%u), not '%s'\n", a,
                        (unsigned)UCWA_MAX_EXPIRY_S, v);
                return 2;
            }
            *(a[2] == 'p' ? &cfg.preferred_for : a[2] == 'n' ? &cfg.note_for : &cfg.watch_s) = n;
        } else {
            fprintf(stderr, "ucwa_demo: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }

    if (password_env) {
        cfg.password = getenv(password_env);
        if (!cfg.password || !*cfg.password) {
            fprintf(stderr, "ucwa_demo: environment variable %s is not set or empty\n", password_env);
            return 2;
        }
    }

    if (cfg.server) {
        if (!cfg.user || !cfg.password) {
            fprintf(stderr, "ucwa_demo: --server needs --user and --password-env\n");
            usage(stderr);
            return 2;
        }
        if (sim_path) {
            fprintf(stderr, "ucwa_demo: --sim and --server exclude each other\n");
            return 2;
        }
        return run_flow(&cfg) ? 0 : 1;
    }

    /* Simulator mode: the bundled ucwa-sim and its demo user, unless told otherwise. */
    char path[PATH_MAX];
    if (!find_sim(sim_path, path, sizeof path)) {
        fprintf(stderr,
                "ucwa_demo: ucwa-sim not found%s%s; build it with `cargo build -p ucwa-sim`, "
                "or pass --sim PATH or set UCWA_SIM\n",
                sim_path ? " at " : "", sim_path ? sim_path : "");
        return 1;
    }
    if (!cfg.user) {
        cfg.user = SIM_USER;
    }
    if (!cfg.password) {
        cfg.password = SIM_PASSWORD;
    }
    if (!cfg.note) {
        cfg.note = "Trying out ucwa from C";
    }
    if (!cfg.location) {
        cfg.location = "Building 7, room 1042";
    }
    sim_process sim;
    printf("starting %s ... ", path);
    fflush(stdout);
    if (!start_sim(path, &sim)) {
        printf("FAILED\n");
        return 1;
    }
    printf("ok, listening at %s\n", sim.url);
    cfg.server = sim.url;
    int ok = run_flow(&cfg);
    stop_sim(&sim);
    printf("simulator stopped; %s\n", ok ? "all steps succeeded" : "a step failed");
    return ok ? 0 : 1;
}
