//! The user's own presence: makeMeAvailable, availability, note and location (set and read).

use std::ffi::c_char;

use super::{require_out, ucwa_client, write_out, write_text};
use crate::error::Step;
use crate::ffi::strings::{opt_arg, to_owned_c};
use crate::ffi::{ucwa_availability, ucwa_error, ucwa_status};
use crate::types::Availability;

/// makeMeAvailable: leaves "lurker mode" so presence can be set and read, and starts the
/// keep-alive (activity reports every keepalive_interval_s).
///
/// - sign_in_as: UCWA_AVAILABILITY_UNSPECIFIED (0) lets the server choose, or 1..6.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (7..10 or out of range; nothing is sent),
/// INVALID_STATE (not signed in), NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL,
/// INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_make_me_available(
    client: *mut ucwa_client,
    sign_in_as: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.make_me_available(Availability::from_abi(sign_in_as)?)
    })
}

/// Sets the availability (1..6); it becomes the state the keep-alive keeps true. One request.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (0, 7..10 or out of range; nothing is sent),
/// INVALID_STATE (before ucwa_make_me_available; nothing is sent), NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_set_availability(
    client: *mut ucwa_client,
    availability: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_availability(Availability::from_abi(availability)?)
    })
}

/// Resets the availability (an empty POST): the server derives it again from activity and
/// calendar; the keep-alive then keeps no particular availability.
///
/// Errors: INVALID_HANDLE, INVALID_STATE, NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER,
/// PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_reset_availability(
    client: *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| { c.reset_availability() })
}

/// Reads the user's presence from the server.
///
/// - out_availability: required; receives a ucwa_availability value (1..10).
/// - out_activity: may be NULL; else receives an owned string (free with ucwa_string_free), or
///   NULL when the server sent no activity.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL
/// out_availability), INVALID_STATE, NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL,
/// INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_presence(
    client: *mut ucwa_client,
    out_availability: *mut u32,
    out_activity: *mut *mut c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        require_out(out_availability, "out_availability")?;
        let p = c.presence()?;
        let activity = match (&p.activity, out_activity.is_null()) {
            (Some(a), false) => to_owned_c(Step::GetPresence, a)?,
            _ => std::ptr::null_mut(),
        };
        write_out(
            out_availability,
            ucwa_availability::from(p.availability) as u32,
        );
        write_out(out_activity, activity);
        Ok(())
    })
}

/// Sets the personal note. NULL or "" clears it. It becomes part of the state re-applied after
/// recovery.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (bad UTF-8), INVALID_STATE, NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_set_note(
    client: *mut ucwa_client,
    message: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_note(opt_arg(message, "message")?.unwrap_or(""))
    })
}

/// Reads the note.
///
/// - out_message: required; receives an owned string (free with ucwa_string_free), or NULL when
///   there is no note.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT,
/// INVALID_STATE, NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_note(
    client: *mut ucwa_client,
    out_message: *mut *mut c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        require_out(out_message, "out_message")?;
        write_text(out_message, Step::Note, c.note()?)
    })
}

/// Sets the location. NULL or "" clears it. It becomes part of the state re-applied after
/// recovery.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (bad UTF-8), INVALID_STATE, NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_set_location(
    client: *mut ucwa_client,
    location: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_location(opt_arg(location, "location")?.unwrap_or(""))
    })
}

/// Reads the location.
///
/// - out_location: required; receives an owned string (free with ucwa_string_free), or NULL
///   when there is none.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT,
/// INVALID_STATE, NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_location(
    client: *mut ucwa_client,
    out_location: *mut *mut c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        require_out(out_location, "out_location")?;
        write_text(out_location, Step::Location, c.location()?)
    })
}
