//! `ucwa_event`: events pulled by the host (`ucwa_client_next_event`), so no library thread
//! ever runs host code; read with accessors, freed with `ucwa_event_free`.

use std::ffi::{c_char, CString};
use std::time::Duration;

use super::client::write_out;
use super::error::new_error;
use super::handles::Handled;
use super::strings::{lendable, lent};
use super::{
    ucwa_availability, ucwa_connection_state, ucwa_error, ucwa_event_kind, ucwa_presence_cause,
    ucwa_status,
};
use crate::error::Error;
use crate::types::Event;

/// One event from a client's keep-alive supervisor. Opaque; read it with the ucwa_event_*
/// accessors and free it with ucwa_event_free.
pub struct ucwa_event {
    _private: (),
}

pub(crate) struct EventObj {
    event: Event,
    activity: Option<CString>,
    text: Option<CString>,
    contact: Option<CString>,
    resource: Option<CString>,
    authorization_uri: Option<CString>,
}

handled!(EventObj => ucwa_event);

/// Waits up to timeout_ms for the client's next event (0 = just look).
///
/// - out_event: required; on success receives an owned event (free with ucwa_event_free), or
///   NULL when none arrived in time.
///
/// Returns at once with UCWA_ERROR_INVALID_STATE when the client is signed out and every event
/// has been read, and UCWA_ERROR_INVALID_HANDLE (or INVALID_STATE) when the client is freed
/// from another thread while waiting. Events are kept in order, at most 1024 unread (the oldest
/// are dropped). Each event goes to one caller.
#[no_mangle]
pub extern "C" fn ucwa_client_next_event(
    client: *mut super::ucwa_client,
    timeout_ms: u32,
    out_event: *mut *mut ucwa_event,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        if out_event.is_null() {
            return Err(Error::InvalidArgument("out_event is NULL".into()));
        }
        let next = c.next_event(Duration::from_millis(timeout_ms as u64))?;
        let handle = match next {
            None => std::ptr::null_mut(),
            Some(event) => {
                let (activity, text) = match &event {
                    Event::PresenceChanged(p)
                    | Event::ContactPresenceChanged { presence: p, .. } => {
                        (p.activity.as_deref().map(lendable), None)
                    }
                    Event::NoteChanged(n)
                    | Event::LocationChanged(n)
                    | Event::ContactNoteChanged { note: n, .. }
                    | Event::ContactLocationChanged { location: n, .. }
                    | Event::EffectivePresenceChanged { note: n, .. } => {
                        (None, n.as_deref().map(lendable))
                    }
                    _ => (None, None),
                };
                let contact = match &event {
                    Event::EffectivePresenceChanged { source, .. } => {
                        source.as_deref().map(lendable)
                    }
                    other => other.contact().map(lendable),
                };
                let (resource, authorization_uri) = match &event {
                    Event::TokenNeeded {
                        resource,
                        authorization_uri,
                    } => (
                        Some(lendable(resource)),
                        authorization_uri.as_deref().map(lendable),
                    ),
                    _ => (None, None),
                };
                EventObj {
                    event,
                    activity,
                    text,
                    contact,
                    resource,
                    authorization_uri,
                }
                .into_handle()
            }
        };
        write_out(out_event, handle);
        Ok(())
    })
}

/// The kind of an event (a ucwa_event_kind value; named get_kind because C has one namespace for types and functions); UCWA_EVENT_KIND_NONE (0) for an invalid
/// handle.
#[no_mangle]
pub extern "C" fn ucwa_event_get_kind(event: *const ucwa_event) -> u32 {
    let none = ucwa_event_kind::UCWA_EVENT_KIND_NONE as u32;
    ffi_read!(event => EventObj, none, |e: &EventObj| ucwa_event_kind::from(
        e.event.kind()
    ) as u32)
}

/// For UCWA_EVENT_KIND_PRESENCE_CHANGED and UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED: the new
/// availability (a ucwa_availability value); for UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED
/// the availability the library now keeps (UCWA_AVAILABILITY_UNSPECIFIED when nobody decides);
/// UCWA_AVAILABILITY_UNSPECIFIED (0) for any other kind or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_availability(event: *const ucwa_event) -> u32 {
    let none = ucwa_availability::UCWA_AVAILABILITY_UNSPECIFIED as u32;
    ffi_read!(event => EventObj, none, |e: &EventObj| match &e.event {
        Event::PresenceChanged(p) | Event::ContactPresenceChanged { presence: p, .. } => {
            ucwa_availability::from(p.availability) as u32
        }
        Event::EffectivePresenceChanged {
            availability: Some(a),
            ..
        } => ucwa_availability::from(*a) as u32,
        _ => none,
    })
}

/// For the contact kinds (UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED, _NOTE_CHANGED,
/// _LOCATION_CHANGED): the contact's SIP URI ("sip:bob@contoso.com", the address lower-cased).
/// Returns a borrowed string, valid until ucwa_event_free(event); NULL for the user's own
/// events, other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_contact(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e: &EventObj| match e.event {
        Event::EffectivePresenceChanged { .. } => std::ptr::null(),
        _ => lent(&e.contact),
    })
}

/// For UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED: the source that now decides (as given to
/// ucwa_set_source_presence). Returns a borrowed string, valid until ucwa_event_free(event);
/// NULL when the preferred availability or nobody decides, for other kinds or an invalid
/// handle.
#[no_mangle]
pub extern "C" fn ucwa_event_source(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e: &EventObj| match e.event {
        Event::EffectivePresenceChanged { .. } => lent(&e.contact),
        _ => std::ptr::null(),
    })
}

/// For UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED: why it changed (a ucwa_presence_cause
/// value); UCWA_PRESENCE_CAUSE_NONE (0) for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_cause(event: *const ucwa_event) -> u32 {
    let none = ucwa_presence_cause::UCWA_PRESENCE_CAUSE_NONE as u32;
    ffi_read!(event => EventObj, none, |e: &EventObj| match &e.event {
        Event::EffectivePresenceChanged { cause, .. } => ucwa_presence_cause::from(*cause) as u32,
        _ => none,
    })
}

/// For UCWA_EVENT_KIND_TOKEN_NEEDED: the resource (an origin such as
/// "https://lyncweb.contoso.com") whose token expires soon or was refused. Returns a borrowed
/// string, valid until ucwa_event_free(event); NULL for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_resource(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e: &EventObj| lent(&e.resource))
}

/// For UCWA_EVENT_KIND_TOKEN_NEEDED: where the server says its tokens come from (its Bearer
/// challenge's authorization_uri), or NULL when it named none. Returns a borrowed string,
/// valid until ucwa_event_free(event); NULL for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_authorization_uri(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e: &EventObj| lent(
        &e.authorization_uri
    ))
}

/// For UCWA_EVENT_KIND_PRESENCE_CHANGED and UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED: the
/// activity the server sent (e.g. "in-a-meeting"), or NULL. Returns a borrowed string, valid
/// until ucwa_event_free(event); NULL for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_activity(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e: &EventObj| lent(&e.activity))
}

/// The lent text of an event of one of `kinds` (NULL for any other kind).
fn text_of<const N: usize>(e: &EventObj, kinds: [ucwa_event_kind; N]) -> *const c_char {
    if kinds.contains(&ucwa_event_kind::from(e.event.kind())) {
        lent(&e.text)
    } else {
        std::ptr::null()
    }
}

/// For UCWA_EVENT_KIND_NOTE_CHANGED and UCWA_EVENT_KIND_CONTACT_NOTE_CHANGED: the new note, or
/// NULL when it was cleared; for UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED the note the library
/// now keeps, or NULL for none. Returns a borrowed string, valid until ucwa_event_free(event);
/// NULL for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_note(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e| text_of(
        e,
        [
            ucwa_event_kind::UCWA_EVENT_KIND_NOTE_CHANGED,
            ucwa_event_kind::UCWA_EVENT_KIND_CONTACT_NOTE_CHANGED,
            ucwa_event_kind::UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED
        ]
    ))
}

/// For UCWA_EVENT_KIND_LOCATION_CHANGED and UCWA_EVENT_KIND_CONTACT_LOCATION_CHANGED: the new
/// location, or NULL when it was cleared. Returns a borrowed string, valid until
/// ucwa_event_free(event); NULL for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_location(event: *const ucwa_event) -> *const c_char {
    ffi_read!(event => EventObj, std::ptr::null(), |e| text_of(
        e,
        [
            ucwa_event_kind::UCWA_EVENT_KIND_LOCATION_CHANGED,
            ucwa_event_kind::UCWA_EVENT_KIND_CONTACT_LOCATION_CHANGED
        ]
    ))
}

/// For UCWA_EVENT_KIND_CONNECTION_STATE_CHANGED: the new state (a ucwa_connection_state
/// value); UCWA_CONNECTION_STATE_NONE (0) for other kinds or an invalid handle.
#[no_mangle]
pub extern "C" fn ucwa_event_connection_state(event: *const ucwa_event) -> u32 {
    let none = ucwa_connection_state::UCWA_CONNECTION_STATE_NONE as u32;
    ffi_read!(event => EventObj, none, |e: &EventObj| match &e.event {
        Event::ConnectionStateChanged { state, .. } => ucwa_connection_state::from(*state) as u32,
        _ => none,
    })
}

/// Why a connection state changed or the session was signed out by the server.
/// Returns a new owned error (free with ucwa_error_free), or NULL when the event has no reason
/// (e.g. a sign-out the host asked for) or the handle is invalid.
#[no_mangle]
pub extern "C" fn ucwa_event_reason(event: *const ucwa_event) -> *mut ucwa_error {
    ffi_read!(event => EventObj, std::ptr::null_mut(), |e: &EventObj| match &e.event {
        Event::ConnectionStateChanged {
            reason: Some(r), ..
        }
        | Event::SignedOut { reason: Some(r) } => new_error(r),
        _ => std::ptr::null_mut(),
    })
}

/// Frees an event; its borrowed strings die with it.
/// NULL, an already-freed or a garbage handle: no-op.
#[no_mangle]
pub extern "C" fn ucwa_event_free(event: *mut ucwa_event) {
    ffi_value!((), {
        EventObj::release(event);
    })
}
