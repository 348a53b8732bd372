//! The desired presence: what the host asked its own presence to be (availability, note,
//! location), kept true by enforcement and re-applied after recovery, and how the server
//! showed the host's availability when it differed from what was asked (so enforcement never
//! loops on a server that renders a choice its own way). This is where anything that decides
//! the presence the library keeps belongs.

use serde_json::{json, Value};
use url::Url;

use crate::error::Step;
use crate::resources::{App, TextField};
use crate::types::{Availability, Settable};

/// What the host asked for; re-applied after recovery.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    availability: Option<Settable>,
    note: Option<String>,
    location: Option<String>,
    /// How the server showed the host's availability when it differed (desired, shown).
    rendering: Option<(Availability, Availability)>,
}

impl Desired {
    /// The availability the host wants kept, if it chose one.
    pub fn availability(&self) -> Option<Settable> {
        self.availability
    }

    /// Records the host's choice (`None`: let the server choose) and returns the previous one.
    pub fn choose_availability(&mut self, chosen: Option<Settable>) -> Option<Settable> {
        std::mem::replace(&mut self.availability, chosen)
    }

    /// A POST of `chosen` failed: the previous choice holds again, unless the host chose
    /// once more meanwhile.
    pub fn undo_availability(&mut self, chosen: Option<Settable>, previous: Option<Settable>) {
        if self.availability == chosen {
            self.availability = previous;
        }
    }

    /// Records the note or the location the server took (`""`: cleared).
    pub fn set_text(&mut self, field: TextField, value: &str) {
        let text = match field {
            TextField::Note => &mut self.note,
            TextField::Location => &mut self.location,
        };
        *text = Some(value.to_string());
    }

    /// Whether the server is known to show the host's `chosen` availability as `seen`.
    pub fn is_shown_as(&self, chosen: Availability, seen: Availability) -> bool {
        self.rendering == Some((chosen, seen))
    }

    /// Remembers that the server shows `chosen` as `shown`.
    pub fn shown_as(&mut self, chosen: Availability, shown: Availability) {
        self.rendering = Some((chosen, shown));
    }

    /// The POSTs that make `app`'s presence what the host asked for: availability, then a note
    /// and a location that are not empty, each where the application links it.
    pub fn posts<'a>(&self, app: &'a App) -> Vec<(Step, &'a Url, Value)> {
        let mut posts = Vec::new();
        if let (Some(a), Some(url)) = (
            self.availability.map(Settable::wire_name),
            app.link("presence"),
        ) {
            posts.push((Step::SetPresence, url, json!({ "availability": a })));
        }
        for (field, text) in [
            (TextField::Note, &self.note),
            (TextField::Location, &self.location),
        ] {
            if let (Some(t), Some(url)) = (
                text.as_ref().filter(|t| !t.is_empty()),
                app.link(field.rel()),
            ) {
                posts.push((field.step(), url, json!({ field.property(): t })));
            }
        }
        posts
    }
}
