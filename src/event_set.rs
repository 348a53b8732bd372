//! The event channel's answer, read straight from its bytes into what the supervisor uses: the
//! link to follow next and, per event it acts on, the event's rel, type and target and the few
//! properties of an embedded resource it reads ([`Snapshot`]). No JSON tree of the answer is
//! built and nothing else is kept, so an answer costs memory in proportion to what is used, not
//! a multiple of its size. Events that are not UCWA-shaped are skipped one by one; only an
//! answer that is not JSON, not an object, has malformed `_links`/`_embedded`, or has no
//! `next`/`resume`/`resync` link is a protocol error.

mod read;

use serde::de::DeserializeSeed;
use url::Url;

use crate::error::{Error, Step};
use crate::hal::{self, Resource};
use crate::lenient::Lenient;
use crate::resources::{presence_of, text_of, TextField};
use crate::types::Presence;
use read::Answer;

/// One event-channel answer: where to go next and the events the supervisor acts on.
pub struct EventSet {
    pub next: Url,
    pub events: Events,
    /// Whether the answer carried any event at all, acted on or not (for pacing: an answer
    /// with events is never an early empty one).
    pub had_events: bool,
}

/// The rels of the events the supervisor acts on (matched exactly, as the protocol spells
/// them); events with other rels are dropped as they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    Presence,
    Note,
    Location,
    ContactPresence,
    ContactNote,
    ContactLocation,
    PresenceSubscription,
}

impl Rel {
    const ALL: [Rel; 7] = [
        Rel::Presence,
        Rel::Note,
        Rel::Location,
        Rel::ContactPresence,
        Rel::ContactNote,
        Rel::ContactLocation,
        Rel::PresenceSubscription,
    ];

    fn wire(self) -> &'static str {
        match self {
            Rel::Presence => "presence",
            Rel::Note => "note",
            Rel::Location => "location",
            Rel::ContactPresence => "contactPresence",
            Rel::ContactNote => "contactNote",
            Rel::ContactLocation => "contactLocation",
            Rel::PresenceSubscription => "presenceSubscription",
        }
    }

    fn from_wire(rel: &str) -> Option<Rel> {
        Rel::ALL.into_iter().find(|r| r.wire() == rel)
    }
}

/// The event types the supervisor acts on; others are dropped as they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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

/// One event of an event set, as the protocol shapes it. Its href is kept as sent (32 bytes
/// and the href's own text per event) and resolved when the event is handled.
#[derive(Debug)]
pub struct EventRef {
    pub rel: Rel,
    pub kind: Kind,
    href: Box<str>,
    /// The resource, when the server embedded a UCWA-shaped one under the event's rel.
    pub embedded: Option<Box<Snapshot>>,
}

/// Events per chunk of [`Events`].
const CHUNK: usize = 1024;

/// The events of one answer the supervisor acts on, in order, kept in chunks of a fixed size
/// so that the list grows without ever holding two copies of itself (as a doubling `Vec`
/// does while it moves).
pub struct Events {
    base: Url,
    chunks: Vec<Vec<EventRef>>,
}

impl Events {
    fn new(base: &Url) -> Events {
        Events {
            base: base.clone(),
            chunks: Vec::new(),
        }
    }

    fn push(&mut self, ev: EventRef) {
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

    /// Each event with its target, the href resolved against the answer's URL; an event
    /// whose href does not resolve is skipped. A chunk is freed once it has been walked.
    pub fn resolved(self) -> impl Iterator<Item = (Url, EventRef)> {
        let base = self.base;
        self.chunks
            .into_iter()
            .flatten()
            .filter_map(move |ev| Some((base.join(&ev.href).ok()?, ev)))
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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn base() -> Url {
        Url::parse("http://127.0.0.1/ucwa/oauth/v1/applications/1/events").unwrap()
    }

    fn parse(body: &[u8]) -> Result<EventSet, Error> {
        parse_event_set(&base(), body)
    }

    /// The reading this module replaced, through a whole JSON tree and `Resource`, for the
    /// events it keeps: (rel, type, target, embedded state).
    fn through_a_tree(body: &Value) -> Vec<(String, String, Url, Option<Snapshot>)> {
        let res = Resource::from_value(Step::Events, &base(), body.clone()).unwrap();
        let sender = body
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("sender")));
        let mut out = Vec::new();
        for sender in sender.and_then(|(_, v)| v.as_array()).into_iter().flatten() {
            for ev in sender
                .get("events")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let text = |p: &str| ev.pointer(p).and_then(Value::as_str).unwrap_or_default();
                let (rel, href, kind) = (text("/link/rel"), text("/link/href"), text("/type"));
                let Ok(target) = res.base().join(href) else {
                    continue;
                };
                let embedded = ev.get("_embedded").and_then(|e| e.get(rel)).cloned();
                let embedded = embedded
                    .and_then(|v| Resource::from_value(Step::Events, res.base(), v).ok())
                    .map(|r| Snapshot::of(&r));
                if Rel::from_wire(rel).is_some() && Kind::from_wire(kind).is_some() {
                    out.push((rel.into(), kind.into(), target, embedded));
                }
            }
        }
        out
    }

    fn kept(set: EventSet) -> Vec<(String, String, Url, Option<Snapshot>)> {
        set.events
            .resolved()
            .map(|(target, e)| {
                let kind = format!("{:?}", e.kind).to_ascii_lowercase();
                (e.rel.wire().into(), kind, target, e.embedded.map(|b| *b))
            })
            .collect()
    }

    fn embedded_part() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!({"availability": "Busy", "activity": "in-a-call"})),
            Just(json!({"Availability": "Away", "_links": {"self": {"href": "x"}}})),
            Just(json!({"message": "hi", "_links": {"self": [{"href": "a"}, {"href": "b"}]}})),
            Just(json!({"location": "Oslo", "_links": 5})),
            Just(json!({"availability": 7, "_embedded": []})),
            Just(json!({"availability": "Busy", "_links": {"self": {"href": 1}}})),
            Just(json!("presence")),
            Just(json!(null)),
        ]
    }

    fn event() -> impl Strategy<Value = Value> {
        let rel = prop_oneof![
            Just("presence"),
            Just("note"),
            Just("contactPresence"),
            Just("presenceSubscription"),
            Just("me"),
            Just("")
        ];
        let kind = prop_oneof![Just("added"), Just("updated"), Just("deleted"), Just("x")];
        let href = "[a-z/?=:.%#]{0,12}";
        (rel, kind, href, embedded_part(), 0..5u8).prop_map(|(rel, kind, href, part, shape)| {
            match shape {
                0 => json!(5),
                1 => json!({"link": "x", "type": kind}),
                2 => json!({"type": kind, "link": {"href": href, "rel": rel}}),
                _ => json!({"_embedded": {rel: part, "other": 1}, "link": {"rel": rel, "href": href}, "type": kind}),
            }
        })
    }

    proptest! {
        #[test]
        fn any_event_answer_bytes_give_a_set_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&body);
        }

        #[test]
        fn event_shaped_answers_never_panic(rels in proptest::collection::vec("[a-z]{0,9}", 0..20), hrefs in proptest::collection::vec("[a-z/?=:.%#]{0,30}", 0..20), next in "[a-z/?=&]{0,20}") {
            let events: Vec<Value> = rels.iter().zip(hrefs.iter().cycle()).map(|(r, h)| json!({"link": {"rel": r, "href": h}, "type": "updated", "_embedded": {r: {"availability": 7}}})).collect();
            let body = json!({"_links": {"next": {"href": next}}, "sender": [{"events": events}, 5, {"events": "x"}]});
            if let Ok(set) = parse(body.to_string().as_bytes()) {
                prop_assert!(set.events.len() <= rels.len());
            }
        }

        #[test]
        fn events_read_from_the_bytes_are_those_a_json_tree_gives(events in proptest::collection::vec(event(), 0..12), split in 0..12usize) {
            let (a, b) = events.split_at(split.min(events.len()));
            let body = json!({"_links": {"next": {"href": "events?ack=2"}}, "Sender": [{"events": a}, 5, {"rel": "me", "events": b}]});
            let set = parse(body.to_string().as_bytes()).unwrap();
            prop_assert_eq!(set.had_events, !events.is_empty());
            prop_assert_eq!(kept(set), through_a_tree(&body));
        }
    }

    #[test]
    fn an_event_answer_without_a_next_link_is_a_protocol_error() {
        let e = parse(br#"{"sender":[]}"#).err().unwrap();
        assert_eq!(e.status(), crate::Status::Protocol);
        let set = parse(br#"{"_links":{"resync":{"href":"events?ack=1"}}}"#)
            .ok()
            .unwrap();
        assert_eq!(set.events.len(), 0);
        assert_eq!(set.next.query(), Some("ack=1"));
    }

    #[test]
    fn next_is_tried_before_resume_and_resync_and_a_list_gives_its_first() {
        let body = br#"{"_links":{"Resync":{"href":"events?r"},"NEXT":[{"href":"events?n"},{"href":"x"}],"resume":{"href":"events?m"}}}"#;
        assert_eq!(parse(body).ok().unwrap().next.query(), Some("n"));
        let body =
            br#"{"_links":{"resync":{"href":"events?r"},"next":[],"resume":{"href":"events?m"}}}"#;
        assert_eq!(parse(body).ok().unwrap().next.query(), Some("m"));
    }

    #[test]
    fn answers_that_are_not_ucwa_resources_are_protocol_errors_naming_no_server_text() {
        for body in [
            &b"<html>secret</html>"[..],
            b"[1,2]",
            b"\"secret\"",
            br#"{"_links":5,"sender":[]}"#,
            br#"{"_links":{"next":{"href":"e"},"self":{"href":"secret"},"x":{"nohref":1}}}"#,
            br#"{"_links":{"next":{"href":"e"}},"_embedded":[]}"#,
            br#"{"_links":{"next":{"href":"e"}}} trailing"#,
        ] {
            let e = parse(body).err().unwrap();
            assert_eq!(e.status(), crate::Status::Protocol);
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn a_bad_event_costs_only_itself() {
        let body = br#"{"_links":{"next":{"href":"events?ack=2"}},"sender":[{"events":[
            5, [], {"link":[1]}, {"link":{"rel":"presence","href":"http://[::1"},"type":"updated"},
            {"link":{"rel":"presence","href":"me/presence"},"type":"updated","_embedded":{"presence":{"availability":"Busy","_links":{"self":5}}}},
            {"link":{"rel":"note","href":"me/note"},"type":"added","_embedded":{"note":{"Message":"hi","_links":{"self":{"href":"me/note"}}}}},
            {"link":{"rel":"communication","href":"communication"},"type":"updated"}
        ]}]}"#;
        let set = parse(body).ok().unwrap();
        assert!(set.had_events);
        let events: Vec<_> = set.events.resolved().collect();
        let kept: Vec<_> = events.iter().map(|(_, e)| (e.rel, e.kind)).collect();
        assert_eq!(
            kept,
            [(Rel::Presence, Kind::Updated), (Rel::Note, Kind::Added)]
        );
        assert_eq!(
            events[0].0.as_str(),
            "http://127.0.0.1/ucwa/oauth/v1/applications/1/me/presence"
        );
        // A malformed embedded resource is read with a GET, as if it were not there.
        assert!(events[0].1.embedded.is_none());
        let note = events[1].1.embedded.as_deref().unwrap();
        assert_eq!(note.text(TextField::Note).as_deref(), Some("hi"));
    }

    #[test]
    fn a_repeated_key_replaces_the_earlier_one_across_chunks() {
        let many = vec![
            json!({"link": {"rel": "note", "href": "me/note"}, "type": "added"});
            2 * CHUNK + 5
        ];
        let one = json!({"link": {"rel": "presence", "href": "me/presence"}, "type": "updated"});
        let sender = |events: &Value| format!(r#"{{"rel":"me","events":{events}}}"#);
        // A second `events` of one sender, and a second `sender` (in another casing).
        let twice = format!(r#"{{"events":{},"events":[{one},{one}]}}"#, json!(many));
        let body = format!(
            r#"{{"_links":{{"next":{{"href":"e"}}}},"sender":[{a},{{"events":[{one}],"events":{many}}}],"Sender":[{b},{twice}]}}"#,
            a = sender(&json!(many)),
            many = json!(many),
            b = sender(&json!([one])),
        );
        let set = parse(body.as_bytes()).ok().unwrap();
        let rels: Vec<_> = set.events.resolved().map(|(_, e)| e.rel).collect();
        assert_eq!(rels, [Rel::Presence; 3]);
        let set = parse(
            format!(
                r#"{{"_links":{{"next":{{"href":"e"}}}},"sender":[{}]}}"#,
                sender(&json!(many))
            )
            .as_bytes(),
        )
        .ok()
        .unwrap();
        assert_eq!(set.events.len(), 2 * CHUNK + 5);
        assert_eq!(set.events.chunks.len(), 3);
        assert_eq!(set.events.resolved().count(), 2 * CHUNK + 5);
    }
}
