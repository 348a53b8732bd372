//! The user's own presence: makeMeAvailable, availability, note and location (set and read),
//! and the layers the presence the library keeps is composed of (sources, the preferred
//! availability, a timed note).

use std::ffi::c_char;
use std::time::Duration;

use super::{require_out, ucwa_client, write_out, write_text};
use crate::error::Step;
use crate::ffi::strings::{arg, opt_arg, to_owned_c};
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

/// Sets the person's preferred availability (1..6) without expiry: it decides over every
/// source until cleared (ucwa_reset_availability, ucwa_clear_preferred_availability), and the
/// keep-alive keeps it true. The same as ucwa_set_preferred_availability with expires_s 0.
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

/// Clears the preferred availability, handing the decision to the sources
/// (ucwa_set_source_presence); when no source is live, an empty POST lets the server derive
/// the availability again from activity and calendar, and the keep-alive keeps no particular
/// availability.
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

/// Sets the host's note without expiry (it replaces a timed note too). NULL or "" clears it.
/// A deciding source's own note shows over it (see ucwa_set_source_presence); the note that
/// shows is part of the state re-applied after recovery.
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

/// Most presence sources live on one client (ucwa_set_source_presence).
pub const UCWA_MAX_SOURCES: usize = 16;
const _: () = assert!(UCWA_MAX_SOURCES == crate::MAX_SOURCES);
/// Longest source name, in characters.
pub const UCWA_MAX_SOURCE_NAME: usize = 32;
const _: () = assert!(UCWA_MAX_SOURCE_NAME == crate::MAX_SOURCE_NAME);
/// Longest expiry of a source, the preferred availability or a timed note: 7 days, in seconds.
pub const UCWA_MAX_EXPIRY_S: u32 = 604_800;
const _: () = assert!(UCWA_MAX_EXPIRY_S as u64 == crate::MAX_EXPIRY.as_secs());

/// expires_s as the C ABI passes it: 0 is until cleared.
fn expires(expires_s: u32) -> Option<Duration> {
    (expires_s > 0).then(|| Duration::from_secs(expires_s as u64))
}

/// Sets (or replaces) a presence source: one of the host's reasons for a presence, such as
/// "phone" (in a call), "calendar" (in a meeting) or "lock" (screen locked).
///
/// - source: 1..UCWA_MAX_SOURCE_NAME (32) characters of UTF-8, no control characters; at
///   most UCWA_MAX_SOURCES (16) live on a client.
/// - availability: 1..6.
/// - note: NULL or "": none; else at most 1024 characters, shown while this source decides.
/// - expires_s: 0 = until cleared; else 1..UCWA_MAX_EXPIRY_S (7 days). When it expires, the
///   source is removed without any host call (to within about a second).
///
/// The presence the library keeps is composed: the live preferred availability
/// (ucwa_set_availability, ucwa_set_preferred_availability) decides; else the live source of
/// highest precedence, DoNotDisturb > Busy > BeRightBack > Online > Away > OffWork (the latest
/// set among equals); else nobody decides and the server's own state stands. The note is the
/// deciding source's note when it has one, else the host's note (ucwa_set_note,
/// ucwa_set_note_until). That state is what recovery re-applies, what enforce_presence
/// enforces and what a recreated application gets. A presence change made elsewhere (the
/// person's desktop client) is adopted as their preferred availability, unless the
/// enforce_presence option is on: then it is overwritten.
///
/// Only a change of the composed state goes to the server, paced: a burst of 5 changes, then
/// one per 300 ms; the last state always lands (the keep-alive sends what the pace held
/// back, so this call may return before it is on the server). Each change of the composed
/// state is told as UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (a bad name, availability, note or expiry, or a
/// 17th source; nothing changes), INVALID_STATE (before ucwa_make_me_available; nothing
/// changes), NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL, INSECURE (the source
/// stays set; the keep-alive sends it again later).
#[no_mangle]
pub extern "C" fn ucwa_set_source_presence(
    client: *mut ucwa_client,
    source: *const c_char,
    availability: u32,
    note: *const c_char,
    expires_s: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let source = arg(source, "source")?;
        let availability = Availability::from_abi(availability)?;
        let note = opt_arg(note, "note")?;
        c.set_source_presence(source, availability, note, expires(expires_s))
    })
}

/// Removes a presence source (one not live is no error); the decision goes to the next layer.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL or a bad name), INVALID_STATE (before
/// ucwa_make_me_available), NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_clear_source_presence(
    client: *mut ucwa_client,
    source: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.clear_source_presence(arg(source, "source")?)
    })
}

/// Sets the person's preferred availability (1..6), which decides over every source, for
/// expires_s seconds (0 = until cleared; at most UCWA_MAX_EXPIRY_S, 7 days); when it expires
/// the sources decide again, without any host call. See ucwa_set_source_presence.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (0, 7..10, out of range, or a bad expiry; nothing
/// changes), INVALID_STATE (before ucwa_make_me_available), NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_set_preferred_availability(
    client: *mut ucwa_client,
    availability: u32,
    expires_s: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_preferred_availability(Availability::from_abi(availability)?, expires(expires_s))
    })
}

/// Clears the preferred availability: the sources decide again (when none is live, the
/// server's state stands as it is; ucwa_reset_availability also asks the server to derive it
/// again).
///
/// Errors: INVALID_HANDLE, INVALID_STATE (before ucwa_make_me_available), NETWORK, TIMEOUT,
/// TLS, AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_clear_preferred_availability(
    client: *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| { c.clear_preferred_availability() })
}

/// Sets the host's note for expires_s seconds (0 = until cleared, as ucwa_set_note; at most
/// UCWA_MAX_EXPIRY_S, 7 days; the note at most 1024 characters). When it expires, the note
/// set before it comes back, without any host call. A deciding source's own note shows over
/// it.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad UTF-8, too long, or a bad expiry;
/// nothing changes), INVALID_STATE (before ucwa_make_me_available), NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_set_note_until(
    client: *mut ucwa_client,
    message: *const c_char,
    expires_s: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_note_until(arg(message, "message")?, expires(expires_s))
    })
}
