//! The event-set reader checked against a reading through a whole JSON tree, and on hostile
//! answers.

use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn base() -> Url {
    Url::parse("http://127.0.0.1/ucwa/oauth/v1/applications/1/events").unwrap()
}

fn parse(body: &[u8]) -> Result<EventSet, Error> {
    parse_event_set(&base(), body)
}

/// What an event of `rel` and `type` means, spelled out as a table independent of
/// [`Happened::of`], and whether its embedded resource is kept.
fn meaning(rel: &str, kind: &str) -> Option<(&'static str, bool)> {
    Some(match (rel, kind) {
        ("presence", "added" | "updated") => ("own presence", true),
        ("note", "added" | "updated") => ("own note", true),
        ("location", "added" | "updated") => ("own location", true),
        ("presence", "deleted") => ("presence deleted", false),
        ("contactPresence", "added" | "updated") => ("contact presence", true),
        ("contactNote", "added" | "updated") => ("contact note", true),
        ("contactLocation", "added" | "updated") => ("contact location", true),
        ("presenceSubscription", "updated") => ("subscription updated", false),
        ("presenceSubscription", "deleted") => ("subscription deleted", false),
        _ => return None,
    })
}

fn describe(h: Happened) -> (String, Option<Snapshot>) {
    let part = |p: Part| match p {
        Part::Presence => "presence",
        Part::Text(TextField::Note) => "note",
        Part::Text(TextField::Location) => "location",
    };
    let (name, current) = match h {
        Happened::OwnChanged { part: p, current } => (format!("own {}", part(p)), current),
        Happened::ContactChanged { part: p, current } => (format!("contact {}", part(p)), current),
        Happened::PresenceDeleted => ("presence deleted".into(), None),
        Happened::SubscriptionUpdated => ("subscription updated".into(), None),
        Happened::SubscriptionDeleted => ("subscription deleted".into(), None),
    };
    (name, current.map(|b| *b))
}

/// The reading this module replaced, through a whole JSON tree and `Resource`, for the
/// events it keeps: (what happened, target, embedded state).
fn through_a_tree(body: &Value) -> Vec<(String, Url, Option<Snapshot>)> {
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
            let Some((name, with_state)) = meaning(rel, kind) else {
                continue;
            };
            let embedded = ev.get("_embedded").and_then(|e| e.get(rel)).cloned();
            let embedded = embedded
                .filter(|_| with_state)
                .and_then(|v| Resource::from_value(Step::Events, res.base(), v).ok())
                .map(|r| Snapshot::of(&r));
            out.push((name.to_string(), target, embedded));
        }
    }
    out
}

fn kept(set: EventSet) -> Vec<(String, Url, Option<Snapshot>)> {
    set.events
        .resolved()
        .map(|(target, h)| {
            let (name, current) = describe(h);
            (name, target, current)
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
        Just("location"),
        Just("contactPresence"),
        Just("contactNote"),
        Just("contactLocation"),
        Just("presenceSubscription"),
        Just("me"),
        Just("Presence"),
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
    assert_eq!(
        events[0].0.as_str(),
        "http://127.0.0.1/ucwa/oauth/v1/applications/1/me/presence"
    );
    match &events[..] {
        [(
            _,
            Happened::OwnChanged {
                part: Part::Presence,
                current: presence,
            },
        ), (
            _,
            Happened::OwnChanged {
                part: Part::Text(TextField::Note),
                current: Some(note),
            },
        )] => {
            // A malformed embedded resource is read with a GET, as if it were not there.
            assert!(presence.is_none());
            assert_eq!(note.text(TextField::Note).as_deref(), Some("hi"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_repeated_key_replaces_the_earlier_one_across_chunks() {
    let many =
        vec![json!({"link": {"rel": "note", "href": "me/note"}, "type": "added"}); 2 * CHUNK + 5];
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
    let parts: Vec<_> = set
        .events
        .resolved()
        .map(|(_, h)| match h {
            Happened::OwnChanged { part, .. } => Some(part),
            _ => None,
        })
        .collect();
    assert_eq!(parts, [Some(Part::Presence); 3]);
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
