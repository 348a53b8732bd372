//! Resource shapes the session and the supervisor read, beside `hal`: the application's links
//! ([`App`]), the two free-text parts of presence ([`TextField`]) and presence itself
//! ([`presence_from`]).

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
