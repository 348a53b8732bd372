//! The desired presence: what the library keeps the host's presence to be — the availability
//! and note composed from the layers (`layers`: the preferred choice, the sources, the host's
//! note), and the location — with what this client last put on the wire, the pace of its
//! presence POSTs, the state the host was last told of, and how the server showed the host's
//! availability when it differed from what was sent (so enforcement never loops on a server
//! that renders a choice its own way). This is where anything that decides the presence the
//! library keeps belongs.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;

use super::layers::{Effective, Layers};
use crate::error::Step;
use crate::pacing::PresencePacer;
use crate::resources::{App, TextField};
use crate::types::{Availability, EffectivePresence, Event, PresenceCause, Settable};

/// How long after this client's own availability POST a different value read back is taken
/// for the server's rendering of it (Offwork shown as Away), not for a change made elsewhere.
const ECHO_WINDOW: Duration = Duration::from_secs(2);

/// What the library keeps; re-applied after recovery.
#[derive(Debug, Default)]
pub struct Desired {
    layers: Layers,
    /// What this client last put on the server.
    applied: Applied,
    /// The effective state the host was last told of.
    announced: Effective,
    pacer: PresencePacer,
    location: Option<String>,
    /// How the server showed the host's availability when it differed (desired, shown).
    rendering: Option<(Availability, Availability)>,
    /// The last availability this client POSTed, and when.
    last_post: Option<(Settable, Instant)>,
    /// The server is behind and it is the keep-alive's to catch up: the pace held a host's
    /// change back, a round failed, a layer expired, or enforcement found another state. A
    /// host's change it sends itself (and gets the server's answer), so the keep-alive never
    /// takes that round from under it.
    backlog: bool,
}

/// The presence this client last put on the server.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Applied {
    /// `None`: nothing of ours stands; the server decides.
    availability: Option<Settable>,
    note: Option<String>,
    /// The host asked for the server to decide again (an empty POST), whatever stood.
    reset_due: bool,
}

/// One round of presence POSTs: the availability (`Some(None)`: the empty POST that lets the
/// server decide) and the note (`""` clears it), with what stood before, should they fail.
/// Who asks for a round of presence POSTs, which decides how the pace holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The keep-alive: what the pace held back or a failure left; held to the bucket and the
    /// backoff.
    KeepAlive,
    /// A host's call that changes a source: held to the bucket, so a flapping signal costs a
    /// few POSTs a second and its last state lands through the keep-alive.
    Source,
    /// A host's own choice (preferred availability, note, reset): sent by the call itself,
    /// one request per change of the effective state, and the host gets the server's answer;
    /// the call's round trip is its pace, so it makes no loop of the library's.
    Choice,
}

#[derive(Debug)]
pub struct Round {
    pub availability: Option<Option<Settable>>,
    pub note: Option<String>,
    previous: Applied,
}

impl Desired {
    /// The availability the library keeps, when someone decides.
    pub fn availability(&self) -> Option<Settable> {
        self.layers.effective().availability
    }

    /// The availability this client last put on the server.
    pub fn applied_availability(&self) -> Option<Settable> {
        self.applied.availability
    }

    /// Changes the layers with `change` and says what the host is to be told (`cause`).
    /// When `change` fails, nothing changed.
    pub fn change<R>(
        &mut self,
        cause: PresenceCause,
        change: impl FnOnce(&mut Layers) -> crate::error::Result<R>,
    ) -> crate::error::Result<(R, Option<Event>)> {
        let r = change(&mut self.layers)?;
        Ok((r, self.announce(cause)))
    }

    /// The host asked the server to decide again: the preferred choice is cleared, and when
    /// nobody else decides, the empty POST goes out even if it did before.
    pub fn reset(&mut self) -> Option<Event> {
        self.layers.set_preferred(None);
        self.applied.reset_due = true;
        self.announce(PresenceCause::Cleared)
    }

    /// makeMeAvailable took `goal`: it is the preferred choice, and on the server.
    pub fn made_available(&mut self, goal: Settable) -> Option<Event> {
        self.layers.set_preferred(Some((goal, None)));
        self.applied.availability = Some(goal);
        self.announce(PresenceCause::Set)
    }

    /// Removes the layers that ran out by `now`.
    pub fn expire(&mut self, now: Instant) -> Option<Event> {
        if self.layers.expire(now) {
            self.backlog = true;
            self.announce(PresenceCause::Expired)
        } else {
            None
        }
    }

    /// A change made elsewhere the server confirmed: it becomes the preferred choice.
    pub fn adopt(&mut self, seen: Settable) -> Option<Event> {
        self.layers.set_preferred(Some((seen, None)));
        self.applied.availability = Some(seen);
        self.announce(PresenceCause::ChangedElsewhere)
    }

    /// The event for the host when the effective state differs from what it was told.
    fn announce(&mut self, cause: PresenceCause) -> Option<Event> {
        let now = self.layers.effective();
        if now == self.announced {
            return None;
        }
        self.announced = now.clone();
        Some(Event::EffectivePresenceChanged {
            availability: now.availability.map(Settable::get),
            note: now.note.filter(|n| !n.is_empty()),
            source: now.source,
            decider: now.decider,
            cause,
        })
    }

    pub fn snapshot(&self, now: Instant) -> EffectivePresence {
        self.layers.snapshot(now)
    }

    /// The note to send for `effective`, when it differs from what stands.
    fn note_due(&self, effective: &Effective) -> Option<String> {
        match (&effective.note, &self.applied.note) {
            (Some(n), applied) if applied.as_ref() != Some(n) => Some(n.clone()),
            (None, Some(applied)) if !applied.is_empty() => Some(String::new()),
            _ => None,
        }
    }

    /// The availability POST due for `effective` (`Some(None)`: the empty one).
    fn availability_due(&self, effective: &Effective) -> Option<Option<Settable>> {
        match effective.availability {
            Some(a) if self.applied.availability != Some(a) => Some(Some(a)),
            None if self.applied.reset_due || self.applied.availability.is_some() => Some(None),
            _ => None,
        }
    }

    /// When the presence needs attention next: a layer's expiry, or the pace's next slot
    /// when the server is behind.
    pub fn due(&mut self, now: Instant) -> Option<Instant> {
        let e = self.layers.effective();
        let behind = self.availability_due(&e).is_some() || self.note_due(&e).is_some();
        let paced = (behind && self.backlog).then(|| self.pacer.ready_at(now));
        [self.layers.next_expiry(), paced]
            .into_iter()
            .flatten()
            .min()
    }

    /// The POSTs that bring the server to the effective state, when they differ and the pace
    /// allows (see [`Sender`]: a source's change is held to the bucket, the keep-alive also to
    /// the backoff, a host's own choice is not held); what
    /// they send counts as applied from now (their echoes are no change
    /// elsewhere), until [`Desired::round_failed`].
    pub fn take_round(&mut self, now: Instant, sender: Sender) -> Option<Round> {
        let e = self.layers.effective();
        let availability = self.availability_due(&e);
        let note = self.note_due(&e);
        let by_host = sender != Sender::KeepAlive;
        if (availability.is_none() && note.is_none()) || !(by_host || self.backlog) {
            return None;
        }
        if sender != Sender::Choice && !self.pacer.take(now, by_host) {
            self.backlog = true;
            return None;
        }
        self.backlog = false;
        let previous = self.applied.clone();
        if let Some(a) = availability {
            self.applied.availability = a;
            self.applied.reset_due = false;
            self.last_post = a.map(|a| (a, now));
        }
        if let Some(n) = &note {
            self.applied.note = Some(n.clone());
        }
        Some(Round {
            availability,
            note,
            previous,
        })
    }

    /// A POST of `round` failed: what stood before stands, and the pace backs off.
    pub fn round_failed(&mut self, round: &Round, now: Instant) {
        if round.availability.is_some() {
            self.applied.availability = round.previous.availability;
            self.applied.reset_due = round.previous.reset_due;
        }
        if round.note.is_some() {
            self.applied.note = round.previous.note.clone();
        }
        self.backlog = true;
        self.pacer.failed(now);
    }

    pub fn round_done(&mut self) {
        self.pacer.succeeded();
    }

    /// Whether a value read back soon after this client's own POST is how the server shows
    /// it (remembered as such), rather than a change made elsewhere.
    pub fn is_rendering(&mut self, seen: Availability, now: Instant) -> bool {
        match self.last_post {
            Some((sent, at)) if now.saturating_duration_since(at) < ECHO_WINDOW => {
                if self.applied.availability == Some(sent) {
                    self.rendering = Some((sent.get(), seen));
                }
                true
            }
            _ => false,
        }
    }

    /// `enforce_presence` found another availability on the server: what this client put
    /// there no longer stands, so the next round sends the effective one again.
    pub fn forget_applied_availability(&mut self) {
        self.applied.availability = None;
        self.backlog = true;
    }

    /// Records the location the server took (`""`: cleared).
    pub fn set_location(&mut self, value: &str) {
        self.location = Some(value.to_string());
    }

    /// Whether the server is known to show the host's `chosen` availability as `seen`.
    pub fn is_shown_as(&self, chosen: Availability, seen: Availability) -> bool {
        self.rendering == Some((chosen, seen))
    }

    /// A new application got [`Desired::posts`]: that is what stands on the server now.
    pub fn reapplied(&mut self) {
        let e = self.layers.effective();
        self.applied = Applied {
            availability: e.availability,
            note: e.note.filter(|n| !n.is_empty()),
            reset_due: false,
        };
    }

    /// The POSTs that make `app`'s presence what the library keeps: availability, then a note
    /// and a location that are not empty, each where the application links it.
    pub fn posts<'a>(&self, app: &'a App) -> Vec<(Step, &'a Url, Value)> {
        let e = self.layers.effective();
        let mut posts = Vec::new();
        if let (Some(a), Some(url)) = (
            e.availability.map(Settable::wire_name),
            app.link("presence"),
        ) {
            posts.push((Step::SetPresence, url, json!({ "availability": a })));
        }
        for (field, text) in [
            (TextField::Note, &e.note),
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
