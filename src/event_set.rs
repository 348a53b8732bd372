//! The event channel's answer, read straight from its bytes into what the supervisor uses: the
//! link to follow next and, per event it acts on, what happened ([`Happened`]: decided here,
//! once, from the event's rel and type) with the event's target and the few properties of an
//! embedded resource it reads ([`Snapshot`]). No JSON tree of the answer is built and nothing
//! else is kept, so an answer costs memory in proportion to what is used, not a multiple of its
//! size. Events that are not UCWA-shaped are skipped one by one; only an answer that is not
//! JSON, not an object, has malformed `_links`/`_embedded`, or has no `next`/`resume`/`resync`
//! link is a protocol error.

mod read;

use serde::de::DeserializeSeed;
use url::Url;

use crate::error::{Error, Step};
use crate::hal::{self, Resource};
use crate::lenient::Lenient;
use crate::resources::{presence_of, text_of, TextField};
use crate::types::Presence;
use read::Answer;

/// One event-channel answer: where to go next and what happened.
pub struct EventSet {
    pub next: Url,
    pub events: Events,
    /// Whether the answer carried any event at all, acted on or not (for pacing: an answer
    /// with events is never an early empty one).
    pub had_events: bool,
}

/// Which part of someone's presence an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Presence,
    Text(TextField),
}

/// What one event says happened, for the events the client acts on.
#[derive(Debug)]
pub enum Happened {
    /// The user's own presence, note or location was added or updated; `current` is its state
    /// when the server embedded it (else a GET of the event's target shows it).
    OwnChanged {
        part: Part,
        current: Option<Box<Snapshot>>,
    },
    /// The user's own presence was deleted: the server put the application back in lurker
    /// mode, and presence updates stopped.
    PresenceDeleted,
    /// A contact's presence, note or location was added or updated.
    ContactChanged {
        part: Part,
        current: Option<Box<Snapshot>>,
    },
    /// The presence subscription was updated: it lives on.
    SubscriptionUpdated,
    /// The server ended the presence subscription.
    SubscriptionDeleted,
}

impl Happened {
    /// What an event of `rel` and `kind` means; `None` for those nothing follows from (a
    /// subscription added, a contact's or the user's own note or location deleted).
    fn of(rel: Rel, kind: Kind, embedded: Option<Snapshot>) -> Option<Happened> {
        let current = embedded.map(Box::new);
        Some(match (rel, kind) {
            (Rel::Own(part), Kind::Added | Kind::Updated) => Happened::OwnChanged { part, current },
            (Rel::Own(Part::Presence), Kind::Deleted) => Happened::PresenceDeleted,
            (Rel::Contact(part), Kind::Added | Kind::Updated) => {
                Happened::ContactChanged { part, current }
            }
            (Rel::PresenceSubscription, Kind::Updated) => Happened::SubscriptionUpdated,
            (Rel::PresenceSubscription, Kind::Deleted) => Happened::SubscriptionDeleted,
            _ => return None,
        })
    }
}

/// The rels of the events the client acts on (matched exactly, as the protocol spells them);
/// events with other rels are dropped as they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Own(Part),
    Contact(Part),
    PresenceSubscription,
}

impl Rel {
    const ALL: [Rel; 7] = [
        Rel::Own(Part::Presence),
        Rel::Own(Part::Text(TextField::Note)),
        Rel::Own(Part::Text(TextField::Location)),
        Rel::Contact(Part::Presence),
        Rel::Contact(Part::Text(TextField::Note)),
        Rel::Contact(Part::Text(TextField::Location)),
        Rel::PresenceSubscription,
    ];

    fn wire(self) -> &'static str {
        match self {
            Rel::Own(Part::Presence) => "presence",
            Rel::Own(Part::Text(field)) => field.rel(),
            Rel::Contact(Part::Presence) => "contactPresence",
            Rel::Contact(Part::Text(TextField::Note)) => "contactNote",
            Rel::Contact(Part::Text(TextField::Location)) => "contactLocation",
            Rel::PresenceSubscription => "presenceSubscription",
        }
    }

    fn from_wire(rel: &str) -> Option<Rel> {
        Rel::ALL.into_iter().find(|r| r.wire() == rel)
    }
}

/// The event types the client acts on; others are dropped as they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Added,
    Updated,
    Deleted,
}

impl Kind {
    fn from_wire(kind: &str) -> Option<Kind> {
        match kind {
            "added" => Some(Kind::Added),
            "updated" => Some(Kind::Updated),
            "deleted" => Some(Kind::Deleted),
            _ => None,
        }
    }
}

/// One event kept: what happened and its href as sent (32 bytes and the href's own text per
/// event), resolved when the event is handled.
#[derive(Debug)]
struct Kept {
    href: Box<str>,
    happened: Happened,
}

/// Events per chunk of [`Events`].
const CHUNK: usize = 1024;

/// The events of one answer the supervisor acts on, in order, kept in chunks of a fixed size
/// so that the list grows without ever holding two copies of itself (as a doubling `Vec`
/// does while it moves).
pub struct Events {
    base: Url,
    chunks: Vec<Vec<Kept>>,
}

impl Events {
    fn new(base: &Url) -> Events {
        Events {
            base: base.clone(),
            chunks: Vec::new(),
        }
    }

    fn push(&mut self, ev: Kept) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(ev),
            _ => {
                // Grown as it fills (to CHUNK at most, a power of two): most answers carry a
                // handful of events, and a full chunk up front was 32 KiB a client while its
                // events were handled (issue 18).
                self.chunks.push(vec![ev]);
            }
        }
    }

    fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    fn truncate(&mut self, len: usize) {
        let full = len / CHUNK;
        self.chunks.truncate(len.div_ceil(CHUNK));
        if let Some(last) = self.chunks.get_mut(full) {
            last.truncate(len - full * CHUNK);
        }
    }

    /// What happened, with each event's target (its href resolved against the answer's
    /// URL); an event whose href does not resolve is skipped. A chunk is freed once it has
    /// been walked.
    pub fn resolved(self) -> impl Iterator<Item = (Url, Happened)> {
        let base = self.base;
        self.chunks
            .into_iter()
            .flatten()
            .filter_map(move |ev| Some((base.join(&ev.href).ok()?, ev.happened)))
    }
}

/// The properties of a presence, note or location resource the supervisor reads, each kept
/// only when it is a string; names match case-insensitively (both casings appear in
/// Microsoft's docs), as [`Resource::str_prop`] does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    availability: Option<String>,
    activity: Option<String>,
    message: Option<String>,
    location: Option<String>,
}

impl Snapshot {
    /// The same properties of a resource read whole (a follow-up GET or a batch part).
    pub fn of(res: &Resource) -> Snapshot {
        let prop = |name: &str| res.str_prop(name).map(str::to_owned);
        Snapshot {
            availability: prop("availability"),
            activity: prop("activity"),
            message: prop(TextField::Note.property()),
            location: prop(TextField::Location.property()),
        }
    }

    /// Presence, when the resource has an availability.
    pub fn presence(&self) -> Option<Presence> {
        Some(presence_of(
            self.availability.as_deref()?,
            self.activity.as_deref(),
        ))
    }

    /// A note's or location's text; empty means none.
    pub fn text(&self, field: TextField) -> Option<String> {
        text_of(match field {
            TextField::Note => self.message.as_deref(),
            TextField::Location => self.location.as_deref(),
        })
    }

    fn field(&mut self, name: &str) -> Option<&mut Option<String>> {
        let fields = [
            ("availability", &mut self.availability),
            ("activity", &mut self.activity),
            (TextField::Note.property(), &mut self.message),
            (TextField::Location.property(), &mut self.location),
        ];
        fields
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| f)
    }
}

/// Reads an event-channel answer; `base` is the URL it came from, against which every href
/// resolves.
pub fn parse_event_set(base: &Url, body: &[u8]) -> Result<EventSet, Error> {
    let mut answer = Answer {
        events: Events::new(base),
        had_events: false,
        next: [None, None, None],
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let object = Lenient(&mut answer)
        .deserialize(&mut de)
        .and_then(|object| de.end().map(|()| object))
        .map_err(|e| hal::json_error(Step::Events, base, &e))?;
    if !object {
        return Err(hal::shape_error(Step::Events, base));
    }
    let next = answer
        .next
        .iter()
        .flatten()
        .find_map(|href| base.join(href).ok())
        .ok_or_else(|| Error::Protocol {
            step: Step::Events,
            detail: "event response has no next, resume or resync link".into(),
            http_status: None,
            path: base.path().to_string(),
        })?;
    Ok(EventSet {
        next,
        events: answer.events,
        had_events: answer.had_events,
    })
}

#[cfg(test)]
mod tests;
