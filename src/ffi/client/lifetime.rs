//! The rest of a signed-in client's life: reporting activity, signing out, freeing the handle,
//! and the count of requests sent.

use super::{require_out, ucwa_client, write_out};
use crate::ffi::handles::Handled;
use crate::ffi::{ucwa_error, ucwa_status};
use crate::Client;

/// reportMyActivity now: the user is active (the keep-alive also does this on its timer).
///
/// Errors: INVALID_HANDLE, INVALID_STATE, NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER,
/// PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_report_activity(
    client: *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| { c.report_activity() })
}

/// Signs out: stops the keep-alive, DELETEs the application, and forgets the token, the
/// password and the links (even if the DELETE fails, which is then reported). The client can
/// sign in again afterwards.
///
/// Errors: INVALID_HANDLE, INVALID_STATE (not signed in), NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_out(
    client: *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| { c.sign_out() })
}

/// Frees a client: stops its background work, signs out (bounded to 5 s), and wipes its
/// credentials. NULL, an already-freed or a garbage handle: no-op.
///
/// Calls in flight on other threads keep the client alive until they return; they then return
/// OK, or INVALID_HANDLE / INVALID_STATE if the free cut them short. A thread waiting in
/// ucwa_client_next_event returns at once.
#[no_mangle]
pub extern "C" fn ucwa_client_free(client: *mut ucwa_client) {
    ffi_value!((), {
        if let Some(c) = Client::release(client) {
            c.close();
        }
    })
}

/// How many HTTP requests the client has sent so far, background ones included.
///
/// - out_count: required; receives the count.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn ucwa_client_request_count(
    client: *mut ucwa_client,
    out_count: *mut u64,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        require_out(out_count, "out_count")?;
        write_out(out_count, c.request_count());
        Ok(())
    })
}
