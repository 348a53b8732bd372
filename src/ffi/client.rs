//! `ucwa_client`: the exported client functions. Each validates its handle and arguments,
//! delegates to `crate::Client`, and writes outputs only on success.

use std::ffi::c_char;
use std::sync::Arc;

use super::handles::Handled;
use super::strings::{arg, opt_arg, to_owned_c};
use super::{ucwa_availability, ucwa_error, ucwa_status};
use crate::error::{Error, Step};
use crate::types::Availability;
use crate::Client;

/// A client for one user on one server. Opaque: create it with ucwa_client_new, free it with
/// ucwa_client_free. Every function may be called on it from any thread, concurrently.
pub struct ucwa_client {
    _private: (),
}

handled!(Client => ucwa_client);

/// The live client behind a handle, or INVALID_HANDLE.
pub(crate) fn lookup(handle: *const ucwa_client) -> Result<Arc<Client>, Error> {
    Client::lookup(handle).ok_or_else(|| {
        Error::InvalidHandle(
            "the ucwa_client handle is NULL, freed or not one this library made".into(),
        )
    })
}

/// Most contacts one ucwa_get_contacts_presence, ucwa_subscribe_presence or
/// ucwa_unsubscribe_presence call may name (the library's own bound on what a host can make it
/// send; more is UCWA_ERROR_INVALID_ARGUMENT).
pub const UCWA_MAX_CONTACTS_PER_CALL: usize = 1000;
const _: () = assert!(UCWA_MAX_CONTACTS_PER_CALL == crate::MAX_CONTACTS_PER_CALL);

/// Most contacts one client may be subscribed to at once (ucwa_subscribe_presence).
pub const UCWA_MAX_SUBSCRIBED_CONTACTS: usize = 10000;
const _: () = assert!(UCWA_MAX_SUBSCRIBED_CONTACTS == crate::MAX_SUBSCRIBED_CONTACTS);

/// Writes an output parameter that the caller promised is writable (checked for NULL first).
pub(crate) fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: not NULL, and the header requires every out-parameter that is not NULL to
        // point to writable storage of its type.
        unsafe { out.write(value) };
    }
}

/// Writes an owned copy of a text the server sent (or NULL for none) to a checked output.
fn write_text(out: *mut *mut c_char, step: Step, text: Option<String>) -> Result<(), Error> {
    let s = match text {
        Some(t) => to_owned_c(step, &t)?,
        None => std::ptr::null_mut(),
    };
    write_out(out, s);
    Ok(())
}

fn require_out<T>(out: *mut T, name: &str) -> Result<(), Error> {
    if out.is_null() {
        Err(Error::InvalidArgument(format!("{name} is NULL")))
    } else {
        Ok(())
    }
}

/// Creates a client. Nothing is sent to the network until ucwa_sign_in.
///
/// - server: a discovery URL ("https://lyncdiscover.contoso.com", "http://127.0.0.1:8080/")
///   or a bare SIP domain ("contoso.com": lyncdiscoverinternal.<d>, then lyncdiscover.<d>,
///   over https). Plain http is accepted only for loopback hosts (else UCWA_ERROR_INSECURE).
/// - out_client: receives the new handle on success; free it with ucwa_client_free.
///
/// Errors: INVALID_ARGUMENT (NULL, bad UTF-8, not a URL or domain), INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_client_new(
    server: *const c_char,
    out_client: *mut *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_status!(out_error, {
        let server = arg(server, "server")?;
        require_out(out_client, "out_client")?;
        let c = Client::new(server)?;
        write_out(out_client, c.into_handle());
        Ok(())
    })
}

/// Sets an option by key. Keys: user_agent, culture, endpoint_id, timeout_ms, ca_file,
/// modalities, keepalive_interval_s (0 = off), event_timeout_s, event_channel,
/// enforce_presence, allowed_hosts, retry_after_max_s, max_body_bytes (default 4 MiB: a longer
/// response body is PROTOCOL), min_token_lifetime_s (default 60: renewals never come faster),
/// subscription_refresh_s (default 300: how often the presence subscription is extended),
/// proxy (system (default: the environment as curl reads it, loopback always direct), none,
/// or http://[user:password@]host:port; https goes through CONNECT), grant (auto (default:
/// the password grant when the server offers it, else the Windows grant with the same
/// credentials), password, or windows (NTLM or Negotiate on the token request); a server that
/// offers no grant the call can use fails sign-in with AUTHENTICATION naming the offered
/// grants, and no password is sent) (see the README for meanings and defaults). Options that shape the application
/// (user_agent, culture, endpoint_id, modalities) apply from the next sign-in or
/// makeMeAvailable; the others at once. Text that becomes a header (user_agent, culture,
/// endpoint_id, modalities, allowed_hosts) must hold no control characters. ca_file must be a
/// regular file of at most 1 MiB; it is read and parsed here, once, and never again.
///
/// - key, value: NUL-terminated UTF-8.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, unknown key, bad value; nothing changes).
#[no_mangle]
pub extern "C" fn ucwa_client_set_option(
    client: *mut ucwa_client,
    key: *const c_char,
    value: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.set_option(arg(key, "key")?, arg(value, "value")?)
    })
}

/// Signs in: discovery → OAuth challenge → token (the grant option decides which) → user
/// (redirects, pool changes) → POST applications, then parks the event channel. Blocks up to
/// 4 × timeout_ms.
///
/// - username: the SIP address (sip:user@contoso.com), a UPN (user@contoso.com), or
///   DOMAIN\user (for the Windows grant; the password grant sends it as given). With
///   DOMAIN\user there is no sign-in domain: credentials go only to the discovery host and
///   allowed_hosts.
///
/// The password grant sends the password in the token request. The Windows grant (NTLMv2,
/// or Negotiate wrapping NTLM) proves it without sending it, on one connection of its own.
/// The password is kept only while re-authentication may need it (until sign-out or free),
/// used only with token endpoints on the sign-in domain, the discovery domain or
/// allowed_hosts, and never logged or put into an error message.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT, INVALID_STATE (already signed in), NETWORK,
/// TIMEOUT, TLS, AUTHENTICATION (refused credentials, or no usable grant: the message names
/// the grants the server offered and those the call could use), SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_in(
    client: *mut ucwa_client,
    username: *const c_char,
    password: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        c.sign_in(arg(username, "username")?, arg(password, "password")?)
    })
}

/// Signs in as the logged-on Windows user: the Windows grant (Negotiate, else NTLM) with the
/// credentials of the account the process runs as, through Windows' own SSPI, so the host
/// holds no password at all (a Windows service signing in as its own account). Blocks up to
/// 4 × timeout_ms. The grant option must be auto or windows.
///
/// On other systems it fails at once with UCWA_ERROR_AUTHENTICATION saying so; use
/// ucwa_sign_in with DOMAIN\user (or a UPN) and the password there.
///
/// Errors: INVALID_HANDLE, INVALID_STATE (already signed in), NETWORK, TIMEOUT, TLS,
/// AUTHENTICATION (not Windows, the server offers no Windows grant, or refused the
/// account), SERVER, PROTOCOL, INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_in_current_user(
    client: *mut ucwa_client,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| { c.sign_in_current_user() })
}

/// Signs in with host-supplied tokens only (modern authentication: ADFS or Azure AD in front
/// of the pool; the host acquires tokens itself, e.g. with MSAL). Every origin that challenges
/// must have a token given with ucwa_client_set_token; no password is used or sent.
///
/// - username: the sign-in address (user@contoso.com or sip:user@contoso.com).
///
/// When an origin has no live token, or refuses the one given, the call fails with
/// UCWA_ERROR_AUTHENTICATION and the error tells what to acquire: ucwa_error_auth_resource
/// (the origin) and ucwa_error_authorization_uri (where the server says tokens come from);
/// give the token and call again. Once signed in, UCWA_EVENT_KIND_TOKEN_NEEDED comes ahead of
/// a token's expiry (five minutes, or half the lifetime of a shorter one) and when the server
/// refuses one; if no new token comes in time, the connection goes RECOVERING and LOST as for
/// any other failure, and recovers once one arrives. Sign-out forgets every token.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad UTF-8, not a sign-in address),
/// INVALID_STATE (already signed in), NETWORK, TIMEOUT, TLS, AUTHENTICATION, SERVER, PROTOCOL,
/// INSECURE.
#[no_mangle]
pub extern "C" fn ucwa_sign_in_with_tokens(
    client: *mut ucwa_client,
    username: *const c_char,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let username = arg(username, "username")?;
        c.sign_in_with_tokens(username)
    })
}

/// Gives or replaces the bearer token for one resource, for ucwa_sign_in_with_tokens. May be
/// called before sign-in and at any time after, from any thread. The token is sent to that
/// origin only, and is never repeated in an error message.
///
/// - resource: the origin the token is for, "https://host[:port]" (plain http only to
///   loopback, for tests); nothing after the authority.
/// - access_token: the token as the identity provider issued it (at most 16 KiB of characters
///   a header can carry); sent as "Authorization: Bearer <access_token>".
/// - expires_in_s: its remaining lifetime in seconds, 1..604800.
///
/// Errors: INVALID_HANDLE, INVALID_ARGUMENT (NULL, bad UTF-8, not an origin, an empty or
/// unsendable token, a lifetime out of range).
#[no_mangle]
pub extern "C" fn ucwa_client_set_token(
    client: *mut ucwa_client,
    resource: *const c_char,
    access_token: *const c_char,
    expires_in_s: u32,
    out_error: *mut *mut ucwa_error,
) -> ucwa_status {
    ffi_client!(client, out_error, |c| {
        let resource = arg(resource, "resource")?;
        let token = arg(access_token, "access_token")?;
        c.set_token(resource, token, expires_in_s)
    })
}

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
