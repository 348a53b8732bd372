//! Resource shapes the session and the supervisor read, beside `hal`: the application's links
//! ([`App`]), the two free-text parts of presence ([`TextField`]), presence itself
//! ([`presence_from`]), and a contact's links ([`ContactLinks`]). The `multipart/batching`
//! request and answer are `batch`'s; the event-channel answer is read by `event_set`.

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
        text_of(res.str_prop(self.property()))
    }
}

/// A note's or location's text as the server sent it; empty means none.
pub fn text_of(value: Option<&str>) -> Option<String> {
    value.filter(|t| !t.is_empty()).map(str::to_string)
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
    Ok(presence_of(availability, res.str_prop("activity")))
}

/// Presence from its two properties as the server sent them; an empty activity is none.
pub fn presence_of(availability: &str, activity: Option<&str>) -> Presence {
    Presence {
        availability: Availability::from_wire(availability),
        activity: activity.filter(|a| !a.is_empty()).map(str::to_string),
    }
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
