//! The small value types of the public API: availability, presence, events and connection states,
//! with their fixed numeric values (shared with the C ABI) and their UCWA wire names.

use crate::error::Error;

/// An availability, as set by the host or read from the server. Numeric values are fixed by
/// the C ABI (`ucwa_availability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Availability {
    /// For make_me_available: let the server choose. Never returned.
    Unspecified = 0,
    Online = 1,
    Busy = 2,
    DoNotDisturb = 3,
    BeRightBack = 4,
    Away = 5,
    OffWork = 6,
    IdleOnline = 7,
    IdleBusy = 8,
    Offline = 9,
    /// The server sent a value this version does not know.
    Unknown = 10,
}

impl Availability {
    pub const ALL: [Availability; 11] = [
        Availability::Unspecified,
        Availability::Online,
        Availability::Busy,
        Availability::DoNotDisturb,
        Availability::BeRightBack,
        Availability::Away,
        Availability::OffWork,
        Availability::IdleOnline,
        Availability::IdleBusy,
        Availability::Offline,
        Availability::Unknown,
    ];

    /// The value for a C integer; anything out of range is an error, never undefined behaviour.
    pub fn from_u32(value: u32) -> Option<Availability> {
        Self::ALL.get(value as usize).copied()
    }

    /// Whether a host may set this value (the six PreferredAvailability values).
    pub fn is_settable(self) -> bool {
        (1..=6).contains(&(self as u32))
    }

    /// The PreferredAvailability token sent in POST presence / makeMeAvailable `signInAs`.
    pub fn wire_name(self) -> Option<&'static str> {
        Some(match self {
            Availability::Online => "Online",
            Availability::Busy => "Busy",
            Availability::DoNotDisturb => "DoNotDisturb",
            Availability::BeRightBack => "BeRightBack",
            Availability::Away => "Away",
            Availability::OffWork => "Offwork",
            Availability::IdleOnline => "IdleOnline",
            Availability::IdleBusy => "IdleBusy",
            Availability::Offline => "Offline",
            Availability::Unspecified | Availability::Unknown => return None,
        })
    }

    /// Reads the server's `availability`; an unknown token is `Unknown`, not an error.
    pub fn from_wire(token: &str) -> Availability {
        let t = token.trim();
        for a in Self::ALL {
            if a.wire_name().is_some_and(|w| w.eq_ignore_ascii_case(t)) {
                return a;
            }
        }
        if t.eq_ignore_ascii_case("OffWork") {
            return Availability::OffWork;
        }
        Availability::Unknown
    }

    /// Validates a host-supplied value that is to be set on the server.
    /// An availability number as the C ABI passes it; out of range is an invalid argument.
    pub(crate) fn from_abi(value: u32) -> Result<Availability, Error> {
        Availability::from_u32(value).ok_or_else(|| {
            Error::InvalidArgument(format!("availability {value} is out of range (0..10)"))
        })
    }
}

/// An availability the host may set (one of the six PreferredAvailability values), checked
/// once where it enters (the Rust API); the core takes it as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settable(Availability);

impl Settable {
    pub fn new(a: Availability) -> Result<Settable, Error> {
        if a.is_settable() {
            Ok(Settable(a))
        } else {
            Err(Error::InvalidArgument(format!(
                "availability {} ({a:?}) cannot be set; only 1..6 (Online..OffWork) can",
                a as u32
            )))
        }
    }

    pub fn get(self) -> Availability {
        self.0
    }

    /// The PreferredAvailability token sent in POST presence / makeMeAvailable `signInAs`.
    pub fn wire_name(self) -> &'static str {
        self.0.wire_name().unwrap_or("Online")
    }
}

/// The user's own presence as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub availability: Availability,
    /// The server's `activity` (e.g. `in-a-meeting`, localized text), if it sent one.
    pub activity: Option<String>,
}

/// Who decides the availability the library keeps (see `Client::effective_presence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// The person's preferred choice (`set_availability`, `set_preferred_availability`, or a
    /// change made elsewhere that was adopted).
    Preferred,
    /// The live source of highest precedence.
    Source,
    /// Nobody: the server's own state stands.
    Nobody,
}

/// Why the effective presence changed. Numeric values are fixed by the C ABI
/// (`ucwa_presence_cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum PresenceCause {
    /// The host set a source, the preferred choice or the note.
    Set = 1,
    /// The host cleared a source, the preferred choice or the note.
    Cleared = 2,
    /// A source, the preferred choice or a timed note expired.
    Expired = 3,
    /// The presence was changed elsewhere (another client of the person) and adopted as the
    /// preferred choice.
    ChangedElsewhere = 4,
}

/// One live source, as `Client::effective_presence` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePresence {
    pub name: String,
    pub availability: Availability,
    pub note: Option<String>,
    /// How long it has left; `None`: until cleared.
    pub expires_in: Option<std::time::Duration>,
}

/// The presence the library keeps, composed from its layers: the live preferred choice; else
/// the live source of highest precedence; else nobody decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePresence {
    /// `None`: nobody decides; the server's own state stands.
    pub availability: Option<Availability>,
    /// The deciding source's note when it has one, else the host's note (`None`: none set).
    pub note: Option<String>,
    /// The deciding source, when a source decides.
    pub source: Option<String>,
    pub decider: Decider,
    /// The live preferred choice and how long it has left (`None` inside: no expiry).
    pub preferred: Option<(Availability, Option<std::time::Duration>)>,
    /// Every live source, highest precedence first.
    pub sources: Vec<SourcePresence>,
}

/// The keep-alive supervisor's view of the connection. Numeric values are fixed by the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ConnectionState {
    /// The event channel is parked and healthy.
    Connected = 1,
    /// Something failed; the recovery ladder is running.
    Recovering = 2,
    /// Recovery succeeded; presence was re-applied where needed.
    Recovered = 3,
    /// The recovery ladder ran out; the supervisor keeps retrying at its slowest pace.
    Lost = 4,
}

/// What a pulled event is about. Numeric values are fixed by the C ABI (`ucwa_event_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum EventKind {
    PresenceChanged = 1,
    NoteChanged = 2,
    LocationChanged = 3,
    ConnectionStateChanged = 4,
    ApplicationRecreated = 5,
    SignedOut = 6,
    ContactPresenceChanged = 7,
    ContactNoteChanged = 8,
    ContactLocationChanged = 9,
    TokenNeeded = 10,
    EffectivePresenceChanged = 11,
}

/// News from the keep-alive supervisor, pulled by the host with `Client::next_event`. New
/// kinds are added as the library grows, so a `match` needs a catch-all arm.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    PresenceChanged(Presence),
    NoteChanged(Option<String>),
    LocationChanged(Option<String>),
    ConnectionStateChanged {
        state: ConnectionState,
        reason: Option<Error>,
    },
    ApplicationRecreated,
    /// The session ended: by the host (no reason) or by the server (the reason says why).
    SignedOut {
        reason: Option<Error>,
    },
    /// A subscribed contact's presence changed; `contact` is its SIP URI (`sip:bob@contoso.com`).
    ContactPresenceChanged {
        contact: String,
        presence: Presence,
    },
    /// A subscribed contact's note changed (`None`: cleared).
    ContactNoteChanged {
        contact: String,
        note: Option<String>,
    },
    /// A subscribed contact's location changed (`None`: cleared).
    ContactLocationChanged {
        contact: String,
        location: Option<String>,
    },
    /// Signed in with host-supplied tokens: the token for `resource` (an origin) expires soon
    /// or was refused; acquire a new one (from `authorization_uri`, when the server named it)
    /// and give it with `Client::set_token`.
    TokenNeeded {
        resource: String,
        authorization_uri: Option<String>,
    },
    /// The presence the library keeps (composed from the preferred choice, the sources and
    /// the host's note) changed: `availability` `None` when nobody decides (the server's own
    /// state stands), `source` the deciding source (`None` when the preferred choice or
    /// nobody decides), and why it changed.
    EffectivePresenceChanged {
        availability: Option<Availability>,
        note: Option<String>,
        source: Option<String>,
        decider: Decider,
        cause: PresenceCause,
    },
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::PresenceChanged(_) => EventKind::PresenceChanged,
            Event::NoteChanged(_) => EventKind::NoteChanged,
            Event::LocationChanged(_) => EventKind::LocationChanged,
            Event::ConnectionStateChanged { .. } => EventKind::ConnectionStateChanged,
            Event::ApplicationRecreated => EventKind::ApplicationRecreated,
            Event::SignedOut { .. } => EventKind::SignedOut,
            Event::ContactPresenceChanged { .. } => EventKind::ContactPresenceChanged,
            Event::ContactNoteChanged { .. } => EventKind::ContactNoteChanged,
            Event::ContactLocationChanged { .. } => EventKind::ContactLocationChanged,
            Event::TokenNeeded { .. } => EventKind::TokenNeeded,
            Event::EffectivePresenceChanged { .. } => EventKind::EffectivePresenceChanged,
        }
    }

    /// The contact an event is about (its SIP URI); `None` for the user's own events.
    pub fn contact(&self) -> Option<&str> {
        match self {
            Event::ContactPresenceChanged { contact, .. }
            | Event::ContactNoteChanged { contact, .. }
            | Event::ContactLocationChanged { contact, .. } => Some(contact),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_numbers_match_the_abi_and_round_trip_names() {
        for (i, a) in Availability::ALL.iter().enumerate() {
            assert_eq!(*a as u32, i as u32);
            assert_eq!(Availability::from_u32(i as u32), Some(*a));
            if let Some(w) = a.wire_name() {
                assert_eq!(Availability::from_wire(w), *a);
            }
        }
        assert_eq!(Availability::from_u32(11), None);
        assert_eq!(Availability::from_wire("Inactive"), Availability::Unknown);
        assert!(Settable::new(Availability::IdleOnline).is_err());
        assert!(Settable::new(Availability::Unspecified).is_err());
        assert!(Availability::from_abi(99).is_err());
        let off = Settable::new(Availability::from_abi(6).unwrap()).unwrap();
        assert_eq!(off.wire_name(), "Offwork");
        for a in Availability::ALL.iter().filter(|a| a.is_settable()) {
            assert_eq!(
                Settable::new(*a).unwrap().wire_name(),
                a.wire_name().unwrap()
            );
        }
    }
}
