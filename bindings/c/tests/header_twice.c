/*
 * header_twice.c: compiled (not run) by test_header.c as C11 and as C++ with
 * -Wall -Wextra -Werror -pedantic, and linked against libucwa, to prove that include/ucwa.h
 * is valid in both languages, guards against double inclusion, and matches the exported
 * symbols (owned by bindings/c/tests).
 */
#include "ucwa.h"
#include "ucwa.h"

int main(void)
{
    ucwa_status status = UCWA_OK;
    ucwa_availability availability = UCWA_AVAILABILITY_BUSY;
    ucwa_event_kind kind = UCWA_EVENT_KIND_SIGNED_OUT;
    ucwa_connection_state state = UCWA_CONNECTION_STATE_LOST;
    ucwa_client *client = 0;
    ucwa_error *error = 0;
    (void)availability;
    (void)kind;
    (void)state;
    status = ucwa_client_request_count(client, 0, &error);
    ucwa_error_free(error);
    return ucwa_abi_version() == UCWA_ABI_VERSION && status == UCWA_ERROR_INVALID_HANDLE ? 0 : 1;
}
