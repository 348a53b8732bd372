//! The readers of an event-channel answer: serde visitors (through `lenient`) that walk the
//! answer's bytes once and keep, of each event, only what happened and its href ([`Kept`]).

use std::borrow::Cow;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess};

use super::{Events, Happened, Kept, Kind, Rel, Snapshot};
use crate::lenient::{next_key, next_value, IsMap, Lenient, LinksReader, Read, TextReader};

/// The links an answer is followed by, in the order they are tried.
const NEXT_RELS: [&str; 3] = ["next", "resume", "resync"];

/// The answer being read: its `next`/`resume`/`resync` hrefs and the events kept so far.
pub(super) struct Answer {
    pub(super) events: Events,
    pub(super) had_events: bool,
    pub(super) next: [Option<String>; 3],
}

/// The answer itself: whether it is an object, and errors for malformed `_links` or
/// `_embedded` (what makes a body not a UCWA resource).
impl<'de> Read<'de> for &mut Answer {
    type Value = bool;

    fn skipped(self) -> bool {
        false
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(key) = next_key(&mut map)? {
            match key.as_ref() {
                "_links" => {
                    let links = next_value(&mut map, LinksReader(NEXT_RELS))?
                        .ok_or_else(|| de::Error::custom("malformed _links"))?;
                    self.next = links.map(|h| h.map(Cow::into_owned));
                }
                "_embedded" => {
                    if !next_value(&mut map, IsMap)? {
                        return Err(de::Error::custom("malformed _embedded"));
                    }
                }
                k if k.eq_ignore_ascii_case("sender") => {
                    // A repeated key replaces the earlier one, as in any JSON object.
                    self.events.truncate(0);
                    self.had_events = false;
                    next_value(&mut map, Senders(&mut *self))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(true)
    }
}

/// The `sender` list.
struct Senders<'a>(&'a mut Answer);

impl<'de> Read<'de> for Senders<'_> {
    type Value = ();

    fn skipped(self) {}

    fn seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while seq
            .next_element_seed(Lenient(Sender(&mut *self.0)))?
            .is_some()
        {}
        Ok(())
    }
}

/// One sender: only its `events` list is read.
struct Sender<'a>(&'a mut Answer);

impl<'de> Read<'de> for Sender<'_> {
    type Value = ();

    fn skipped(self) {}

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let start = self.0.events.len();
        while let Some(key) = next_key(&mut map)? {
            if key == "events" {
                // A repeated key replaces the earlier one, as in any JSON object.
                self.0.events.truncate(start);
                next_value(&mut map, EventList(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A sender's `events` list: every event read, the ones the client acts on kept.
struct EventList<'a>(&'a mut Answer);

impl<'de> Read<'de> for EventList<'_> {
    type Value = ();

    fn skipped(self) {}

    fn seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(ev) = seq.next_element_seed(Lenient(EventReader))? {
            self.0.had_events = true;
            if let Some(ev) = ev.into_event() {
                self.0.events.push(ev);
            }
        }
        Ok(())
    }
}

/// One event as sent: any JSON value is one, and only an object with a rel and type the
/// client acts on is kept.
#[derive(Default)]
struct WireEvent<'a> {
    rel: Option<Cow<'a, str>>,
    href: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    embedded: Embedded,
}

impl WireEvent<'_> {
    fn into_event(mut self) -> Option<Kept> {
        let rel = Rel::from_wire(self.rel.as_deref()?)?;
        let kind = Kind::from_wire(self.kind.as_deref()?)?;
        Some(Kept {
            happened: Happened::of(rel, kind, self.embedded.take(rel))?,
            href: self.href.unwrap_or_default().into(),
        })
    }
}

struct EventReader;

impl<'de> Read<'de> for EventReader {
    type Value = WireEvent<'de>;

    fn skipped(self) -> WireEvent<'de> {
        WireEvent::default()
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireEvent<'de>, A::Error> {
        let mut ev = WireEvent::default();
        while let Some(key) = next_key(&mut map)? {
            match key.as_ref() {
                "link" => (ev.rel, ev.href) = next_value(&mut map, EventLinkReader)?,
                "type" => ev.kind = next_value(&mut map, TextReader)?,
                "_embedded" => ev.embedded = next_value(&mut map, EmbeddedReader)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ev)
    }
}

/// An event's `link`: its rel and href, when they are strings.
struct EventLinkReader;

type RelHref<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>);

impl<'de> Read<'de> for EventLinkReader {
    type Value = RelHref<'de>;

    fn skipped(self) -> RelHref<'de> {
        (None, None)
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<RelHref<'de>, A::Error> {
        let (mut rel, mut href) = (None, None);
        while let Some(key) = next_key(&mut map)? {
            match key.as_ref() {
                "rel" => rel = next_value(&mut map, TextReader)?,
                "href" => href = next_value(&mut map, TextReader)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((rel, href))
    }
}

/// An event's `_embedded`: the resources under the rels the client acts on, read before
/// the event's own rel may be known (keys come in any order); at most one per rel.
#[derive(Default)]
struct Embedded(Vec<(Rel, Option<Snapshot>)>);

impl Embedded {
    fn take(&mut self, rel: Rel) -> Option<Snapshot> {
        let i = self.0.iter().position(|(r, _)| *r == rel)?;
        self.0.swap_remove(i).1
    }
}

struct EmbeddedReader;

impl<'de> Read<'de> for EmbeddedReader {
    type Value = Embedded;

    fn skipped(self) -> Embedded {
        Embedded::default()
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Embedded, A::Error> {
        let mut found = Embedded::default();
        while let Some(key) = next_key(&mut map)? {
            match Rel::from_wire(&key) {
                Some(rel) => {
                    let res = next_value(&mut map, ResourceReader)?;
                    // A repeated key replaces the earlier one, as in any JSON object.
                    found.take(rel);
                    found.0.push((rel, res));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// An embedded resource: its [`Snapshot`] when it is UCWA-shaped (an object with well-formed
/// `_links` and `_embedded`, as [`Resource`] requires), else none.
struct ResourceReader;

impl<'de> Read<'de> for ResourceReader {
    type Value = Option<Snapshot>;

    fn skipped(self) -> Option<Snapshot> {
        None
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Snapshot>, A::Error> {
        let (mut snapshot, mut ok) = (Snapshot::default(), true);
        while let Some(key) = next_key(&mut map)? {
            match key.as_ref() {
                "_links" => ok &= next_value(&mut map, LinksReader([]))?.is_some(),
                "_embedded" => ok &= next_value(&mut map, IsMap)?,
                name => match snapshot.field(name) {
                    Some(field) => {
                        *field = next_value(&mut map, TextReader)?.map(Cow::into_owned);
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        Ok(ok.then_some(snapshot))
    }
}
