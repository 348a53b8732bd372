//! The C ABI: fixed status and enum values, opaque validated handles, owned error
//! objects, pulled events, and one panic boundary around every exported body.
//!
//! This module converts and delegates; it holds no protocol logic. It is one of the two places
//! in the crate with `unsafe` (the other is `sys`, the platform calls), each block justified by
//! a `// SAFETY:` line. Exported functions take raw pointers without being `unsafe fn`: every
//! pointer that can be checked (NULL, handles, which are ids looked up in registries) is
//! checked, and the header states the rest of the contract.
#![allow(non_camel_case_types, clippy::not_unsafe_ptr_arg_deref)]

#[macro_use]
mod boundary;
#[macro_use]
mod handles;

// Its own group, so that rustfmt keeps it first and the header lists the version functions first.
mod version;

mod client;
mod error;
mod event;
mod strings;
#[cfg(test)]
mod tests;

pub use client::*;
pub use error::*;
pub use event::*;
pub use strings::ucwa_string_free;
pub use version::*;

use crate::types::{Availability, ConnectionState, EventKind, PresenceCause};
use crate::Status;

/// The one mapping between a Rust enum and its C twin: each pair of variants is listed once,
/// their numeric values are checked equal when the crate compiles, and `From` is generated, so
/// either side may be passed on as `u32`.
macro_rules! abi_mirror {
    ($rust:ident => $abi:ident { $($r:ident => $a:ident),* $(,)? }) => {
        $(const _: () = assert!($rust::$r as u32 == $abi::$a as u32);)*
        impl From<$rust> for $abi {
            fn from(v: $rust) -> $abi {
                match v {
                    $($rust::$r => $abi::$a),*
                }
            }
        }
    };
}

/// The status every fallible call returns. Values are fixed forever; none is ever reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ucwa_status {
    /// Success.
    UCWA_OK = 0,
    /// NULL where not allowed, bad UTF-8, an out-of-range value, an unknown option.
    UCWA_ERROR_INVALID_ARGUMENT = 1,
    /// A freed, stale or never-valid handle.
    UCWA_ERROR_INVALID_HANDLE = 2,
    /// Out of order: e.g. set presence before make_me_available.
    UCWA_ERROR_INVALID_STATE = 3,
    /// DNS, connect, reset.
    UCWA_ERROR_NETWORK = 4,
    /// A request or a whole call ran out of time.
    UCWA_ERROR_TIMEOUT = 5,
    /// The TLS handshake failed (e.g. an untrusted certificate).
    UCWA_ERROR_TLS = 6,
    /// Credentials refused, or 401 again right after a fresh token.
    UCWA_ERROR_AUTHENTICATION = 7,
    /// A UCWA error response: see the error's code, subcode and HTTP status.
    UCWA_ERROR_SERVER = 8,
    /// Not UCWA-shaped: HTML or bad JSON where JSON was due, a link missing.
    UCWA_ERROR_PROTOCOL = 9,
    /// Refused: plain http off loopback, a token or password to a foreign origin, an unsafe redirect.
    UCWA_ERROR_INSECURE = 10,
    /// A bug (a caught panic); the process keeps running.
    UCWA_ERROR_INTERNAL = 11,
}

/// An availability. 1..6 can be set; 7..10 are only ever read; 0 means "let the server
/// choose" for ucwa_make_me_available and is never returned.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ucwa_availability {
    UCWA_AVAILABILITY_UNSPECIFIED = 0,
    UCWA_AVAILABILITY_ONLINE = 1,
    UCWA_AVAILABILITY_BUSY = 2,
    UCWA_AVAILABILITY_DO_NOT_DISTURB = 3,
    UCWA_AVAILABILITY_BE_RIGHT_BACK = 4,
    UCWA_AVAILABILITY_AWAY = 5,
    UCWA_AVAILABILITY_OFF_WORK = 6,
    /// Read-only: inactive while Online.
    UCWA_AVAILABILITY_IDLE_ONLINE = 7,
    /// Read-only: inactive while Busy.
    UCWA_AVAILABILITY_IDLE_BUSY = 8,
    /// Read-only.
    UCWA_AVAILABILITY_OFFLINE = 9,
    /// Read-only: the server sent a value this version does not know.
    UCWA_AVAILABILITY_UNKNOWN = 10,
}

/// What an event is about (see ucwa_client_next_event).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ucwa_event_kind {
    /// Not an event: returned by ucwa_event_kind for an invalid handle.
    UCWA_EVENT_KIND_NONE = 0,
    /// The user's presence changed (by this client, another device, or the server's inactivity
    /// model): read ucwa_event_availability and ucwa_event_activity.
    UCWA_EVENT_KIND_PRESENCE_CHANGED = 1,
    /// The note changed: read ucwa_event_note.
    UCWA_EVENT_KIND_NOTE_CHANGED = 2,
    /// The location changed: read ucwa_event_location.
    UCWA_EVENT_KIND_LOCATION_CHANGED = 3,
    /// The keep-alive connection changed state: read ucwa_event_connection_state and
    /// ucwa_event_reason.
    UCWA_EVENT_KIND_CONNECTION_STATE_CHANGED = 4,
    /// The server had lost the application; it was created again and the desired state re-applied.
    UCWA_EVENT_KIND_APPLICATION_RECREATED = 5,
    /// The session ended: by the host (no reason) or by the server (ucwa_event_reason says why,
    /// e.g. 410 InactiveApplicationExpired).
    UCWA_EVENT_KIND_SIGNED_OUT = 6,
    /// A subscribed contact's presence changed (see ucwa_subscribe_presence): read
    /// ucwa_event_contact, ucwa_event_availability and ucwa_event_activity.
    UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED = 7,
    /// A subscribed contact's note changed: read ucwa_event_contact and ucwa_event_note.
    UCWA_EVENT_KIND_CONTACT_NOTE_CHANGED = 8,
    /// A subscribed contact's location changed: read ucwa_event_contact and
    /// ucwa_event_location.
    UCWA_EVENT_KIND_CONTACT_LOCATION_CHANGED = 9,
    /// Signed in with ucwa_sign_in_with_tokens: the token for a resource expires soon or was
    /// refused; read ucwa_event_resource and ucwa_event_authorization_uri, acquire a token and
    /// give it with ucwa_client_set_token.
    UCWA_EVENT_KIND_TOKEN_NEEDED = 10,
    /// The presence the library keeps changed (composed from the preferred choice, the
    /// sources and the host's note; see ucwa_set_source_presence): read
    /// ucwa_event_availability (UCWA_AVAILABILITY_UNSPECIFIED when nobody decides and the
    /// server's own state stands), ucwa_event_note (NULL: none), ucwa_event_source (the deciding
    /// source; NULL when the preferred choice or nobody decides) and ucwa_event_cause.
    UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED = 11,
}

/// Why the presence the library keeps changed (ucwa_event_cause).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ucwa_presence_cause {
    /// Not an UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED event, or an invalid handle.
    UCWA_PRESENCE_CAUSE_NONE = 0,
    /// The host set a source, the preferred availability or the note (or makeMeAvailable
    /// took an availability).
    UCWA_PRESENCE_CAUSE_SET = 1,
    /// The host cleared a source, the preferred availability or the note.
    UCWA_PRESENCE_CAUSE_CLEARED = 2,
    /// A source, the preferred availability or a timed note expired.
    UCWA_PRESENCE_CAUSE_EXPIRED = 3,
    /// The availability was changed elsewhere (e.g. the person's desktop client) and adopted
    /// as the preferred choice (without enforce_presence; with it, the change is overwritten).
    UCWA_PRESENCE_CAUSE_CHANGED_ELSEWHERE = 4,
}

/// The keep-alive supervisor's connection state.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ucwa_connection_state {
    /// Not a connection-state event.
    UCWA_CONNECTION_STATE_NONE = 0,
    /// The event channel is parked and healthy.
    UCWA_CONNECTION_STATE_CONNECTED = 1,
    /// Something failed; the recovery ladder is running.
    UCWA_CONNECTION_STATE_RECOVERING = 2,
    /// Recovery succeeded; the desired state holds again.
    UCWA_CONNECTION_STATE_RECOVERED = 3,
    /// The ladder ran out; the supervisor keeps retrying at its slowest pace (30 s).
    UCWA_CONNECTION_STATE_LOST = 4,
}

abi_mirror!(Status => ucwa_status {
    Ok => UCWA_OK,
    InvalidArgument => UCWA_ERROR_INVALID_ARGUMENT,
    InvalidHandle => UCWA_ERROR_INVALID_HANDLE,
    InvalidState => UCWA_ERROR_INVALID_STATE,
    Network => UCWA_ERROR_NETWORK,
    Timeout => UCWA_ERROR_TIMEOUT,
    Tls => UCWA_ERROR_TLS,
    Authentication => UCWA_ERROR_AUTHENTICATION,
    Server => UCWA_ERROR_SERVER,
    Protocol => UCWA_ERROR_PROTOCOL,
    Insecure => UCWA_ERROR_INSECURE,
    Internal => UCWA_ERROR_INTERNAL,
});

abi_mirror!(Availability => ucwa_availability {
    Unspecified => UCWA_AVAILABILITY_UNSPECIFIED,
    Online => UCWA_AVAILABILITY_ONLINE,
    Busy => UCWA_AVAILABILITY_BUSY,
    DoNotDisturb => UCWA_AVAILABILITY_DO_NOT_DISTURB,
    BeRightBack => UCWA_AVAILABILITY_BE_RIGHT_BACK,
    Away => UCWA_AVAILABILITY_AWAY,
    OffWork => UCWA_AVAILABILITY_OFF_WORK,
    IdleOnline => UCWA_AVAILABILITY_IDLE_ONLINE,
    IdleBusy => UCWA_AVAILABILITY_IDLE_BUSY,
    Offline => UCWA_AVAILABILITY_OFFLINE,
    Unknown => UCWA_AVAILABILITY_UNKNOWN,
});

abi_mirror!(EventKind => ucwa_event_kind {
    PresenceChanged => UCWA_EVENT_KIND_PRESENCE_CHANGED,
    NoteChanged => UCWA_EVENT_KIND_NOTE_CHANGED,
    LocationChanged => UCWA_EVENT_KIND_LOCATION_CHANGED,
    ConnectionStateChanged => UCWA_EVENT_KIND_CONNECTION_STATE_CHANGED,
    ApplicationRecreated => UCWA_EVENT_KIND_APPLICATION_RECREATED,
    SignedOut => UCWA_EVENT_KIND_SIGNED_OUT,
    ContactPresenceChanged => UCWA_EVENT_KIND_CONTACT_PRESENCE_CHANGED,
    ContactNoteChanged => UCWA_EVENT_KIND_CONTACT_NOTE_CHANGED,
    ContactLocationChanged => UCWA_EVENT_KIND_CONTACT_LOCATION_CHANGED,
    TokenNeeded => UCWA_EVENT_KIND_TOKEN_NEEDED,
    EffectivePresenceChanged => UCWA_EVENT_KIND_EFFECTIVE_PRESENCE_CHANGED,
});

abi_mirror!(PresenceCause => ucwa_presence_cause {
    Set => UCWA_PRESENCE_CAUSE_SET,
    Cleared => UCWA_PRESENCE_CAUSE_CLEARED,
    Expired => UCWA_PRESENCE_CAUSE_EXPIRED,
    ChangedElsewhere => UCWA_PRESENCE_CAUSE_CHANGED_ELSEWHERE,
});

abi_mirror!(ConnectionState => ucwa_connection_state {
    Connected => UCWA_CONNECTION_STATE_CONNECTED,
    Recovering => UCWA_CONNECTION_STATE_RECOVERING,
    Recovered => UCWA_CONNECTION_STATE_RECOVERED,
    Lost => UCWA_CONNECTION_STATE_LOST,
});
