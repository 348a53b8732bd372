//! Resource shapes the session and the supervisor read, beside `hal`: the application's links
//! ([`App`]), the two free-text parts of presence ([`TextField`]), presence itself
//! ([`presence_from`]), a contact's links ([`ContactLinks`]), and the event-channel answer
//! ([`parse_event_set`]). The `multipart/batching` request and answer are `batch`'s.

use std::collections::HashMap;

use url::Url;

use crate::error::{Error, Result, Step};
use crate::hal::Resource;
use crate::types::{Availability, Presence};

/// The links of our application that operations follow; replaced whole on recovery.
#[derive(Debug, Clone)]
pub struct App {
    pub generation: u64,
    pub self_url: Url,
    pub events_url: Url,
    links: HashMap<String, Url>,
}

impl App {
    /// Collects links from the application and its embedded resources. Where the same rel
    /// appears twice, `me` wins, as the docs place presence links there.
    pub fn from_resource(res: &Resource, generation: u64) -> Result<App> {
        let self_url = res.require_link(Step::Application, "self")?;
        let events_url = res.require_link(Step::Application, "events")?;
        let mut links = HashMap::new();
        let rels = [
            "makeMeAvailable",
            "presence",
            "note",
            "location",
            "reportMyActivity",
            "batch",
        ];
        let me = res.embedded("me");
        let sources = [
            me.as_ref(),
            Some(res),
            res.embedded("communication").as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|r| {
            rels.iter()
                .filter_map(|rel| r.link(rel).map(|u| (rel.to_string(), u)))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
        for found in sources.into_iter().rev() {
            links.extend(found);
        }
        // Contacts are reached below `people` (its own `self`), not from a link of the
        // application itself.
        if let Some(people) = res.embedded("people") {
            for (rel, key) in [
                ("self", "people"),
                ("presenceSubscriptions", "presenceSubscriptions"),
            ] {
                if let Some(url) = people.link(rel) {
                    links.insert(key.to_string(), url);
                }
            }
        }
        Ok(App {
            generation,
            self_url,
            events_url,
            links,
        })
    }

    pub fn link(&self, rel: &str) -> Option<&Url> {
        self.links.get(rel)
    }
}

/// The two free-text parts of presence, which work alike: a link, one property, POST to set,
/// an empty value to clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Note,
    Location,
}

impl TextField {
    pub fn from_rel(rel: &str) -> Option<TextField> {
        match rel {
            "note" => Some(TextField::Note),
            "location" => Some(TextField::Location),
            _ => None,
        }
    }

    pub fn rel(self) -> &'static str {
        match self {
            TextField::Note => "note",
            TextField::Location => "location",
        }
    }

    pub fn property(self) -> &'static str {
        match self {
            TextField::Note => "message",
            TextField::Location => "location",
        }
    }

    pub fn step(self) -> Step {
        match self {
            TextField::Note => Step::Note,
            TextField::Location => Step::Location,
        }
    }

    /// The text a resource holds; empty means none.
    pub fn read(self, res: &Resource) -> Option<String> {
        res.str_prop(self.property())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
}

pub fn presence_from(step: Step, res: &Resource) -> Result<Presence> {
    let availability = res
        .str_prop("availability")
        .ok_or_else(|| Error::Protocol {
            step,
            detail: "presence has no availability".into(),
            http_status: None,
            path: res.base().path().to_string(),
        })?;
    Ok(Presence {
        availability: Availability::from_wire(availability),
        activity: res
            .str_prop("activity")
            .filter(|a| !a.is_empty())
            .map(str::to_string),
    })
}

/// The links of one contact resource (`people/<address>`), as the contact gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLinks {
    pub presence: Url,
    pub note: Url,
    pub location: Url,
}

impl ContactLinks {
    pub fn from_resource(step: Step, res: &Resource) -> Result<ContactLinks> {
        Ok(ContactLinks {
            presence: res.require_link(step, "contactPresence")?,
            note: res.require_link(step, "contactNote")?,
            location: res.require_link(step, "contactLocation")?,
        })
    }

    pub fn text(&self, field: TextField) -> &Url {
        match field {
            TextField::Note => &self.note,
            TextField::Location => &self.location,
        }
    }
}

/// One event-channel answer: where to go next and the events it carried.
pub struct EventSet {
    pub next: Url,
    pub events: Vec<EventRef>,
}

/// One event of an event set, as the protocol shapes it.
#[derive(Debug)]
pub struct EventRef {
    pub rel: String,
    pub kind: String,
    pub target: Url,
    pub embedded: Option<Resource>,
}

/// Reads an event-channel answer. Events that are not UCWA-shaped are skipped; a missing
/// `next`/`resume`/`resync` link is a protocol error.
pub fn parse_event_set(res: &Resource) -> Result<EventSet, Error> {
    let next = res
        .link("next")
        .or_else(|| res.link("resume"))
        .or_else(|| res.link("resync"))
        .ok_or_else(|| Error::Protocol {
            step: Step::Events,
            detail: "event response has no next, resume or resync link".into(),
            http_status: None,
            path: res.base().path().to_string(),
        })?;
    let mut events = Vec::new();
    let senders = res.raw("sender").and_then(|v| v.as_array());
    for sender in senders.into_iter().flatten() {
        let Some(list) = sender.get("events").and_then(|e| e.as_array()) else {
            continue;
        };
        for ev in list {
            let text = |ptr: &str| ev.pointer(ptr).and_then(|v| v.as_str()).unwrap_or_default();
            let (rel, href, kind) = (text("/link/rel"), text("/link/href"), text("/type"));
            let Ok(target) = res.base().join(href) else {
                continue;
            };
            let embedded = ev
                .get("_embedded")
                .and_then(|e| e.get(rel))
                .cloned()
                .and_then(|v| Resource::from_value(Step::Events, res.base(), v).ok());
            events.push(EventRef {
                rel: rel.to_string(),
                kind: kind.to_string(),
                target,
                embedded,
            });
        }
    }
    Ok(EventSet { next, events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(body: &[u8]) -> Result<EventSet, Error> {
        let base = Url::parse("http://127.0.0.1/ucwa/oauth/v1/applications/1/events").unwrap();
        parse_event_set(&Resource::parse(Step::Events, &base, body)?)
    }

    proptest! {
        #[test]
        fn any_event_answer_bytes_give_a_set_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&body);
        }

        #[test]
        fn event_shaped_answers_never_panic(rels in proptest::collection::vec("[a-z]{0,9}", 0..20), hrefs in proptest::collection::vec("[a-z/?=:.%#]{0,30}", 0..20), next in "[a-z/?=&]{0,20}") {
            let events: Vec<serde_json::Value> = rels.iter().zip(hrefs.iter().cycle()).map(|(r, h)| serde_json::json!({"link": {"rel": r, "href": h}, "type": "updated", "_embedded": {r: {"availability": 7}}})).collect();
            let body = serde_json::json!({"_links": {"next": {"href": next}}, "sender": [{"events": events}, 5, {"events": "x"}]});
            if let Ok(set) = parse(body.to_string().as_bytes()) {
                prop_assert!(set.events.len() <= rels.len());
            }
        }
    }

    #[test]
    fn an_event_answer_without_a_next_link_is_a_protocol_error() {
        let e = parse(br#"{"sender":[]}"#).err().unwrap();
        assert_eq!(e.status(), crate::Status::Protocol);
        let set = parse(br#"{"_links":{"resync":{"href":"events?ack=1"}}}"#)
            .ok()
            .unwrap();
        assert!(set.events.is_empty());
        assert_eq!(set.next.query(), Some("ack=1"));
    }
}
