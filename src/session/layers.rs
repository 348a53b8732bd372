//! The layers the presence the library keeps is composed of ([`Layers`]): the person's
//! preferred choice, the host's named sources (each with an optional note and expiry), and the
//! host's note with an optional timed note over it; and the one rule that composes them
//! ([`Layers::effective`]). Pure state: the clock comes in as an argument, nothing is sent.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::types::{Availability, Decider, EffectivePresence, Settable, SourcePresence};

/// Most sources one client may hold at once.
pub const MAX_SOURCES: usize = 16;
/// Longest source name, in characters.
pub const MAX_SOURCE_NAME: usize = 32;
/// Longest note a source or a timed note may carry, in characters.
pub const MAX_LAYER_NOTE: usize = 1024;
/// Longest expiry a source, the preferred choice or a timed note may have: 7 days (Graph's
/// longest, for the user-preferred presence).
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A source name as the host gives it: 1..=[`MAX_SOURCE_NAME`] characters, no control
/// characters, not only whitespace.
pub fn source_name(name: &str) -> Result<&str> {
    let bad = |why: &str| Err(Error::InvalidArgument(format!("source name: {why}")));
    let chars = name.chars().count();
    if name.trim().is_empty() {
        return bad("empty");
    }
    if chars > MAX_SOURCE_NAME {
        return bad(&format!("{chars} characters, at most {MAX_SOURCE_NAME}"));
    }
    if name.chars().any(char::is_control) {
        return bad("holds a control character");
    }
    Ok(name)
}

/// An expiry as the host gives it: `None` (until cleared) or 1 s..=[`MAX_EXPIRY`].
pub fn expiry(expires: Option<Duration>) -> Result<Option<Duration>> {
    match expires {
        Some(d) if d < Duration::from_secs(1) || d > MAX_EXPIRY => {
            Err(Error::InvalidArgument(format!(
                "expiry {} s: give 1 s to {} s (7 days), or none for until cleared",
                d.as_secs_f64(),
                MAX_EXPIRY.as_secs()
            )))
        }
        other => Ok(other),
    }
}

/// A note a layer carries: at most [`MAX_LAYER_NOTE`] characters; `""` is none.
pub fn layer_note(note: Option<&str>) -> Result<Option<String>> {
    match note {
        Some(n) if n.chars().count() > MAX_LAYER_NOTE => Err(Error::InvalidArgument(format!(
            "note: longer than {MAX_LAYER_NOTE} characters"
        ))),
        Some("") | None => Ok(None),
        Some(n) => Ok(Some(n.to_string())),
    }
}

/// How strongly an availability claims the person, highest first: DoNotDisturb > Busy >
/// BeRightBack > Online > Away > OffWork (Graph's order for the four it names; BeRightBack
/// sits between Busy and Online as a short absence that still ends, OffWork last as the
/// weakest claim).
pub fn precedence(a: Availability) -> u8 {
    match a {
        Availability::DoNotDisturb => 6,
        Availability::Busy => 5,
        Availability::BeRightBack => 4,
        Availability::Online => 3,
        Availability::Away => 2,
        Availability::OffWork => 1,
        _ => 0,
    }
}

#[derive(Debug, Clone)]
struct Source {
    name: String,
    availability: Settable,
    note: Option<String>,
    until: Option<Instant>,
    /// When it was set, in the order of calls: among equals, the latest wins.
    order: u64,
}

/// The state the layers compose to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// `None`: nobody decides.
    pub availability: Option<Settable>,
    /// The deciding source's note, else the host's note (`Some("")`: cleared by the host).
    pub note: Option<String>,
    pub source: Option<String>,
    pub decider: Decider,
}

impl Default for Effective {
    fn default() -> Self {
        Effective {
            availability: None,
            note: None,
            source: None,
            decider: Decider::Nobody,
        }
    }
}

/// The layers. Each setter replaces its layer; [`Layers::expire`] removes what ran out.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    preferred: Option<(Settable, Option<Instant>)>,
    sources: Vec<Source>,
    /// The host's note (`Some("")`: cleared by the host).
    note: Option<String>,
    /// A note with an expiry, shown over `note` until then.
    timed_note: Option<(String, Instant)>,
    order: u64,
}

impl Layers {
    /// Sets or replaces source `name`; a new one past [`MAX_SOURCES`] is refused.
    pub fn set_source(
        &mut self,
        name: &str,
        availability: Settable,
        note: Option<String>,
        until: Option<Instant>,
    ) -> Result<()> {
        self.order += 1;
        let source = Source {
            name: name.to_string(),
            availability,
            note,
            until,
            order: self.order,
        };
        let live = self.sources.len();
        match self.sources.iter_mut().find(|s| s.name == name) {
            Some(s) => *s = source,
            None if live >= MAX_SOURCES => {
                return Err(Error::InvalidArgument(format!(
                    "source {name:?}: {MAX_SOURCES} sources are live already, at most {MAX_SOURCES} a client"
                )))
            }
            None => self.sources.push(source),
        }
        Ok(())
    }

    /// Removes source `name`; whether it was there.
    pub fn clear_source(&mut self, name: &str) -> bool {
        let before = self.sources.len();
        self.sources.retain(|s| s.name != name);
        self.sources.len() != before
    }

    /// Sets (or with `None` clears) the preferred choice.
    pub fn set_preferred(&mut self, preferred: Option<(Settable, Option<Instant>)>) {
        self.preferred = preferred;
    }

    /// The host's note, with no expiry: it replaces the note and any timed note.
    pub fn set_note(&mut self, note: &str) {
        self.note = Some(note.to_string());
        self.timed_note = None;
    }

    /// A note shown until `until`; then the note set before it comes back.
    pub fn set_timed_note(&mut self, note: &str, until: Instant) {
        self.timed_note = Some((note.to_string(), until));
    }

    /// Removes every layer that ran out by `now`; whether one did.
    pub fn expire(&mut self, now: Instant) -> bool {
        let out = |until: Option<Instant>| until.is_some_and(|u| u <= now);
        let mut expired = false;
        if self.preferred.is_some_and(|(_, u)| out(u)) {
            self.preferred = None;
            expired = true;
        }
        if self.timed_note.as_ref().is_some_and(|(_, u)| out(Some(*u))) {
            self.timed_note = None;
            expired = true;
        }
        let before = self.sources.len();
        self.sources.retain(|s| !out(s.until));
        expired || self.sources.len() != before
    }

    /// When the next layer runs out.
    pub fn next_expiry(&self) -> Option<Instant> {
        let sources = self.sources.iter().filter_map(|s| s.until);
        let preferred = self.preferred.and_then(|(_, u)| u);
        let note = self.timed_note.as_ref().map(|(_, u)| *u);
        sources.chain(preferred).chain(note).min()
    }

    /// The live source of highest precedence (the latest set among equals).
    fn top_source(&self) -> Option<&Source> {
        self.sources
            .iter()
            .max_by_key(|s| (precedence(s.availability.get()), s.order))
    }

    /// The host's note: the timed one while it lives, else the one set without expiry.
    fn host_note(&self) -> Option<String> {
        match &self.timed_note {
            Some((n, _)) => Some(n.clone()),
            None => self.note.clone(),
        }
    }

    /// The composition: the preferred choice; else the top source; else nobody. The note is
    /// the deciding source's when it has one, else the host's.
    pub fn effective(&self) -> Effective {
        if let Some((a, _)) = self.preferred {
            return Effective {
                availability: Some(a),
                note: self.host_note(),
                source: None,
                decider: Decider::Preferred,
            };
        }
        match self.top_source() {
            Some(s) => Effective {
                availability: Some(s.availability),
                note: s.note.clone().or_else(|| self.host_note()),
                source: Some(s.name.clone()),
                decider: Decider::Source,
            },
            None => Effective {
                note: self.host_note(),
                ..Effective::default()
            },
        }
    }

    /// The composition with every live layer, as the host reads it at `now`.
    pub fn snapshot(&self, now: Instant) -> EffectivePresence {
        let left = |u: Option<Instant>| u.map(|u| u.saturating_duration_since(now));
        let e = self.effective();
        let mut sources: Vec<&Source> = self.sources.iter().collect();
        sources.sort_by_key(|s| std::cmp::Reverse((precedence(s.availability.get()), s.order)));
        EffectivePresence {
            availability: e.availability.map(Settable::get),
            note: e.note.filter(|n| !n.is_empty()),
            source: e.source,
            decider: e.decider,
            preferred: self.preferred.map(|(a, u)| (a.get(), left(u))),
            sources: sources
                .into_iter()
                .map(|s| SourcePresence {
                    name: s.name.clone(),
                    availability: s.availability.get(),
                    note: s.note.clone(),
                    expires_in: left(s.until),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: Availability) -> Settable {
        Settable::new(a).unwrap()
    }

    #[test]
    fn the_preferred_choice_decides_then_the_source_of_highest_precedence() {
        let mut l = Layers::default();
        assert_eq!(l.effective(), Effective::default());
        l.set_source(
            "calendar",
            s(Availability::Busy),
            Some("Meeting".into()),
            None,
        )
        .unwrap();
        l.set_source("lock", s(Availability::Away), None, None)
            .unwrap();
        l.set_source("phone", s(Availability::DoNotDisturb), None, None)
            .unwrap();
        let e = l.effective();
        assert_eq!(e.availability, Some(s(Availability::DoNotDisturb)));
        assert_eq!(e.source.as_deref(), Some("phone"));
        l.set_note("host note");
        assert_eq!(l.effective().note.as_deref(), Some("host note"));
        l.set_preferred(Some((s(Availability::Online), None)));
        let e = l.effective();
        assert_eq!((e.decider, e.source), (Decider::Preferred, None));
        l.set_preferred(None);
        assert!(l.clear_source("phone"));
        let e = l.effective();
        assert_eq!(e.source.as_deref(), Some("calendar"));
        assert_eq!(e.note.as_deref(), Some("Meeting"));
    }

    #[test]
    fn precedence_follows_graphs_order_with_ties_to_the_latest() {
        let order = [
            Availability::DoNotDisturb,
            Availability::Busy,
            Availability::BeRightBack,
            Availability::Online,
            Availability::Away,
            Availability::OffWork,
        ];
        assert!(order
            .windows(2)
            .all(|w| precedence(w[0]) > precedence(w[1])));
        let mut l = Layers::default();
        l.set_source("a", s(Availability::Busy), None, None)
            .unwrap();
        l.set_source("b", s(Availability::Busy), None, None)
            .unwrap();
        assert_eq!(l.effective().source.as_deref(), Some("b"));
    }

    #[test]
    fn expiry_removes_a_layer_and_a_timed_note_gives_back_the_note_before_it() {
        let t0 = Instant::now();
        let mut l = Layers::default();
        l.set_note("before");
        l.set_timed_note("for a while", t0 + Duration::from_secs(5));
        l.set_source(
            "phone",
            s(Availability::Busy),
            None,
            Some(t0 + Duration::from_secs(3)),
        )
        .unwrap();
        assert_eq!(l.next_expiry(), Some(t0 + Duration::from_secs(3)));
        assert!(!l.expire(t0 + Duration::from_secs(2)));
        assert!(l.expire(t0 + Duration::from_secs(3)));
        assert_eq!(l.effective().availability, None);
        assert_eq!(l.effective().note.as_deref(), Some("for a while"));
        assert!(l.expire(t0 + Duration::from_secs(6)));
        assert_eq!(l.effective().note.as_deref(), Some("before"));
        assert_eq!(l.next_expiry(), None);
    }

    #[test]
    fn bad_names_expiries_and_a_seventeenth_source_are_refused() {
        for bad in ["", "  ", "a\nb", &"x".repeat(MAX_SOURCE_NAME + 1)] {
            assert!(source_name(bad).is_err(), "{bad:?}");
        }
        assert!(source_name(&"é".repeat(MAX_SOURCE_NAME)).is_ok());
        assert!(expiry(Some(Duration::ZERO)).is_err());
        assert!(expiry(Some(MAX_EXPIRY + Duration::from_secs(1))).is_err());
        assert!(expiry(Some(MAX_EXPIRY)).is_ok());
        assert!(layer_note(Some(&"n".repeat(MAX_LAYER_NOTE + 1))).is_err());
        let mut l = Layers::default();
        for i in 0..MAX_SOURCES {
            l.set_source(&i.to_string(), s(Availability::Online), None, None)
                .unwrap();
        }
        let before = l.effective();
        assert!(l
            .set_source("one more", s(Availability::DoNotDisturb), None, None)
            .is_err());
        assert_eq!(l.effective(), before);
        assert!(l.set_source("3", s(Availability::Busy), None, None).is_ok());
    }
}
