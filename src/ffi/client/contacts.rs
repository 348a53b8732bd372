//! Other people's presence: one contact's presence, note and location, many contacts'
//! availability in batches, and presence subscriptions; with the bounds on how many contacts
//! one call may name.

use std::ffi::c_char;

use super::{require_out, ucwa_client, write_out, write_text};
use crate::error::{Error, Step};
use crate::ffi::strings::{arg, to_owned_c};
use crate::ffi::{ucwa_availability, ucwa_error, ucwa_status};

/// Most contacts one ucwa_get_contacts_presence, ucwa_subscribe_presence or
/// ucwa_unsubscribe_presence call may name (the library's own bound on what a host can make it
/// send; more is UCWA_ERROR_INVALID_ARGUMENT).
pub const UCWA_MAX_CONTACTS_PER_CALL: usize = 1000;
const _: () = assert!(UCWA_MAX_CONTACTS_PER_CALL == crate::MAX_CONTACTS_PER_CALL);

/// Most contacts one client may be subscribed to at once (ucwa_subscribe_presence).
pub const UCWA_MAX_SUBSCRIBED_CONTACTS: usize = 10000;
const _: () = assert!(UCWA_MAX_SUBSCRIBED_CONTACTS == crate::MAX_SUBSCRIBED_CONTACTS);

/// Reads a contact's presence: another person's availability and activity. Works once signed
/// in; makeMeAvailable is not needed (the protocol requires it only for the user's own
/// presence, note and location).
///
/// - contact: a SIP URI ("sip:bob@contoso.com") or the bare address ("bob@contoso.com").
/// - out_availability: required; receives a ucwa_availability value (1..10).
/// - out_activity: may be NULL; else receives an owned string (free with ucwa_string_free), or
///   NULL when the server sent no activity.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad
/// UTF-8 or not a SIP address; NULL out_availability), INVALID_STATE (not signed in), NETWORK,
/// TIMEOUT, TLS, AUTHENTICATION, SERVER (a contact the server does not know: HTTP 404 with the
/// server's code and subcode, e.g. NotFound/ResourceNotFound), PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_contact_presence(
    client: *mut ucwa_client,
    contact: *const c_char,
    out_availability: *mut u32,
    out_activity: *mut *mut c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let contact = arg(contact, "contact")?;
        require_out(out_availability, "out_availability")?;
        let p = c.contact_presence(contact)?;
        let activity = match (&p.activity, out_activity.is_null()) {
            (Some(a), false) => to_owned_c(Step::Contact, a)?,
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

/// Reads a contact's note, as ucwa_get_contact_presence reads presence.
///
/// - contact: a SIP URI or the bare address.
/// - out_note: required; receives an owned string (free with ucwa_string_free), or NULL when
///   the contact has no note.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad
/// UTF-8 or not a SIP address; NULL out_note), INVALID_STATE (not signed in), NETWORK, TIMEOUT,
/// TLS, AUTHENTICATION, SERVER (an unknown contact: HTTP 404 with the server's code and
/// subcode), PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_contact_note(
    client: *mut ucwa_client,
    contact: *const c_char,
    out_note: *mut *mut c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let contact = arg(contact, "contact")?;
        require_out(out_note, "out_note")?;
        write_text(out_note, Step::Contact, c.contact_note(contact)?)
    })
}

/// Reads a contact's location, as ucwa_get_contact_presence reads presence.
///
/// - contact: a SIP URI or the bare address.
/// - out_location: required; receives an owned string (free with ucwa_string_free), or NULL
///   when the contact has none.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad
/// UTF-8 or not a SIP address; NULL out_location), INVALID_STATE (not signed in), NETWORK,
/// TIMEOUT, TLS, AUTHENTICATION, SERVER (an unknown contact: HTTP 404 with the server's code
/// and subcode), PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_contact_location(
    client: *mut ucwa_client,
    contact: *const c_char,
    out_location: *mut *mut c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let contact = arg(contact, "contact")?;
        require_out(out_location, "out_location")?;
        write_text(out_location, Step::Contact, c.contact_location(contact)?)
    })
}

/// Reads many contacts' availability at once, through UCWA batch requests (at most 96 reads a
/// request; contacts not read before take one more batched look-up first, whose links the
/// client then keeps for up to 1024 contacts). Works once signed in, like
/// ucwa_get_contact_presence.
///
/// - contacts: `count` SIP URIs or bare addresses (duplicates are read once); may be NULL
///   when count is 0 (then nothing is sent).
/// - count: at most UCWA_MAX_CONTACTS_PER_CALL (1000).
/// - out_availabilities: `count` slots, required when count > 0; slot i receives contact i's
///   ucwa_availability value (1..10). A contact the server does not know gets
///   UCWA_AVAILABILITY_UNKNOWN and the call still succeeds.
///
/// Outputs are written only on success. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL
/// contacts or out_availabilities with count > 0, count over 1000, an entry NULL, bad UTF-8 or
/// not a SIP address), INVALID_STATE (not signed in), NETWORK, TIMEOUT, TLS, AUTHENTICATION,
/// SERVER (the batch, or a read inside it other than a 404, refused), PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_get_contacts_presence(
    client: *mut ucwa_client,
    contacts: *const *const c_char,
    count: usize,
    out_availabilities: *mut u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let names = contact_names(contacts, count)?;
        if count == 0 {
            return Ok(());
        }
        require_out(out_availabilities, "out_availabilities")?;
        let found = c.contacts_availability(&names)?;
        // SAFETY: not NULL, and the header requires `out_availabilities` to point to `count`
        // writable uint32_t slots; `found` has exactly `count` entries.
        let slots = unsafe { std::slice::from_raw_parts_mut(out_availabilities, count) };
        for (slot, a) in slots.iter_mut().zip(found) {
            *slot = ucwa_availability::from(a) as u32;
        }
        Ok(())
    })
}

/// The host's array of `count` contacts (NULL only when count is 0), each checked as an
/// argument; count at most UCWA_MAX_CONTACTS_PER_CALL.
fn contact_names<'a>(contacts: *const *const c_char, count: usize) -> Result<Vec<&'a str>, Error> {
    if count > UCWA_MAX_CONTACTS_PER_CALL {
        return Err(Error::InvalidArgument(format!(
            "count {count} is over {UCWA_MAX_CONTACTS_PER_CALL}"
        )));
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    if contacts.is_null() {
        return Err(Error::InvalidArgument("contacts is NULL".into()));
    }
    // SAFETY: not NULL, and the header requires `contacts` to point to `count` readable
    // pointers for the duration of the call; count is bounded above.
    let entries = unsafe { std::slice::from_raw_parts(contacts, count) };
    entries
        .iter()
        .enumerate()
        .map(|(i, p)| arg(*p, &format!("contacts[{i}]")))
        .collect()
}

/// Subscribes to contacts' presence, note and location: each change arrives as an event
/// (UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED, _NOTE_CHANGED, _LOCATION_CHANGED; read
/// ucwa_event_contact for whose). The library keeps the server's presence subscription alive
/// (extends it every subscription_refresh_s, creates it again after it expired or after the
/// application was recreated) until the contacts are unsubscribed, the user signs out or the
/// client is freed. Subscribing to a contact twice is harmless. Needs ucwa_sign_in, not
/// ucwa_make_me_available (the protocol asks for that only on the user's own presence), and
/// the event channel (option event_channel, on by default) to deliver the changes.
///
/// - contacts: `count` SIP URIs or bare addresses; may be NULL when count is 0 (a no-op).
/// - count: at most UCWA_MAX_CONTACTS_PER_CALL (1000); at most UCWA_MAX_SUBSCRIBED_CONTACTS
///   (10000) in all.
///
/// When the server refuses (e.g. a contact it does not know), none of this call's contacts is
/// subscribed. Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL contacts with count > 0, count
/// over 1000 or the total over 10000, an entry NULL, bad UTF-8 or not a SIP address),
/// INVALID_STATE (not signed in), NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL,
/// INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_subscribe_presence(
    client: *mut ucwa_client,
    contacts: *const *const c_char,
    count: usize,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let names = contact_names(contacts, count)?;
        c.subscribe_presence(&names)
    })
}

/// Unsubscribes from contacts: from this call on, no event comes for them, even when telling
/// the server fails (that error is returned, and the library tells the server again later).
/// Contacts not subscribed are ignored. Arguments as ucwa_subscribe_presence.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (as ucwa_subscribe_presence), NETWORK, TIMEOUT,
/// TLS, AUTHENTICATION, SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_unsubscribe_presence(
    client: *mut ucwa_client,
    contacts: *const *const c_char,
    count: usize,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let names = contact_names(contacts, count)?;
        c.unsubscribe_presence(&names)
    })
}
