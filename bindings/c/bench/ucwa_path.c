/*
 * ucwa_path.c: the library's side of the presence benchmark (owned by bindings/c/bench): a
 * client signed in through the C ABI (event channel on or off), its warm presence POST, and
 * draining the events its own changes cause.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

/* ----- the ucwa path ------------------------------------------------------------------- */

void ucwa_check(uint32_t st, ucwa_error *err, const char *what)
{
    if (st != UCWA_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ucwa_error_message(err));
        ucwa_error_free(err);
        die("%s: %s: %s", what, ucwa_status_str(st), msg);
    }
}

ucwa_client *ucwa_setup(const char *url, int path)
{
    ucwa_client *c = NULL;
    ucwa_error *err = NULL;
    ucwa_check(ucwa_client_new(url, &c, &err), err, "ucwa_client_new");
    /* No timer traffic: the only requests in the timed loop are the host's own (and, with the
     * event channel on, the P-GETs its echo events wake). */
    ucwa_check(ucwa_client_set_option(c, "keepalive_interval_s", "0", &err), err,
               "keepalive_interval_s");
    ucwa_check(ucwa_client_set_option(c, "event_channel", path == PATH_UCWA ? "1" : "0", &err),
               err, "event_channel");
    ucwa_check(ucwa_sign_in(c, PATH_USERS[path], PATH_PASSWORDS[path], &err), err, "ucwa_sign_in");
    ucwa_check(ucwa_make_me_available(c, UCWA_AVAILABILITY_UNSPECIFIED, &err), err,
               "ucwa_make_me_available");
    return c;
}

void ucwa_post_presence(ucwa_client *c, int busy)
{
    ucwa_error *err = NULL;
    uint32_t st = ucwa_set_availability(c, busy ? UCWA_AVAILABILITY_BUSY : UCWA_AVAILABILITY_ONLINE,
                                        &err);
    ucwa_check(st, err, "ucwa_set_availability");
}

/* A real host drains its events; done between blocks, outside the timed region. */
void ucwa_drain(ucwa_client *c)
{
    for (;;) {
        ucwa_event *ev = NULL;
        ucwa_error *err = NULL;
        if (ucwa_client_next_event(c, 0, &ev, &err) != UCWA_OK || !ev) {
            ucwa_error_free(err);
            return;
        }
        ucwa_event_free(ev);
    }
}

