//! What the supervisor does with what happened on the event channel: host events for the
//! user's own and the watched contacts' presence, note and location; presence kept true
//! (restored after the server dropped it, Idle answered, `enforce_presence` applied); the
//! presence subscription's news passed to `subscriptions`. Every request it makes for one
//! event set is bounded by `pacing`.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Method;
use url::Url;

use crate::error::{Error, Step};
use crate::event_set::{Events, Happened, Part, Snapshot};
use crate::pacing::{ListRequests, MAX_CONTACT_FOLLOW_UPS, MAX_FOLLOW_UPS};
use crate::resources::TextField;
use crate::session::{contact_below, sip, Payload, Session};
use crate::types::{Availability, Event};

/// Turns one event set into host events, and keeps presence true. The user's own changes
/// that carry only a link are followed with one GET per resource, at most
/// [`MAX_FOLLOW_UPS`] per set, and a deleted presence is restored once per set; contact
/// changes are gathered and handled by [`handle_contact_changes`].
pub(super) async fn handle_events(inner: &Arc<Session>, events: Events) {
    let mut turn = Turn::new(inner);
    for (target, happened) in events.resolved() {
        match happened {
            Happened::SubscriptionUpdated => inner.subscription_event(&target, false),
            Happened::SubscriptionDeleted => inner.subscription_event(&target, true),
            Happened::ContactChanged { part, current } => {
                turn.contact_changed(inner, target, ContactChange { part, current })
            }
            Happened::PresenceDeleted => turn.restore_presence(inner).await,
            Happened::OwnChanged { part, current } => {
                turn.own_changed(inner, &target, part, current).await
            }
        }
    }
    if let Some(people) = turn.people {
        handle_contact_changes(inner, &people, turn.changes).await;
    }
}

/// What handling one event set keeps from one event to the next: the bounds on its requests
/// and the contact changes gathered.
struct Turn {
    follow_ups: ListRequests,
    restores: ListRequests,
    changes: ContactChanges,
    /// The application's `people` link, under which the contacts' resources are.
    people: Option<Url>,
}

impl Turn {
    fn new(inner: &Session) -> Turn {
        Turn {
            follow_ups: ListRequests::new(MAX_FOLLOW_UPS),
            restores: ListRequests::new(1),
            changes: ContactChanges::default(),
            people: inner
                .current_app(Step::Events)
                .ok()
                .and_then(|app| app.link("people").cloned()),
        }
    }

    /// Keeps a change of a contact the host watches now (an unsubscribe takes effect at once).
    fn contact_changed(&mut self, inner: &Session, target: Url, change: ContactChange) {
        let watched = self
            .people
            .as_ref()
            .and_then(|p| contact_below(p, &target))
            .is_some_and(|a| inner.is_watched(&a));
        if watched {
            self.changes.add(target, change);
        }
    }

    /// Back in lurker mode: the server dropped our availability. One restore of the
    /// application answers every such event of the set.
    async fn restore_presence(&mut self, inner: &Session) {
        let app = inner.current_app(Step::Events);
        if let Some(app) = app.ok().filter(|a| self.restores.admit(&a.self_url)) {
            let cause = Error::InvalidState("presence was deleted by the server".into());
            let _ = inner.restore_availability(app.generation, cause).await;
        }
    }

    /// The user's own presence, note or location changed: tell the host (presence kept true
    /// first), reading the resource when the event did not embed it.
    async fn own_changed(
        &mut self,
        inner: &Arc<Session>,
        target: &Url,
        part: Part,
        current: Option<Box<Snapshot>>,
    ) {
        let current = match current {
            Some(r) => *r,
            None => {
                // One GET shows the resource's state now: a second event for it in the same
                // set has nothing more to tell.
                if !self.follow_ups.admit(target) {
                    return;
                }
                let step = match part {
                    Part::Presence => Step::GetPresence,
                    Part::Text(field) => field.step(),
                };
                match fetch(inner, step, target).await {
                    Some(r) => r,
                    None => return,
                }
            }
        };
        match part {
            Part::Presence => {
                if let Some(p) = current.presence() {
                    keep_true(inner, p.availability).await;
                    inner.emit(Event::PresenceChanged(p));
                }
            }
            Part::Text(TextField::Note) => {
                inner.emit(Event::NoteChanged(current.text(TextField::Note)))
            }
            Part::Text(TextField::Location) => {
                inner.emit(Event::LocationChanged(current.text(TextField::Location)))
            }
        }
    }
}

/// One change of a subscribed contact, as the event set gave it.
struct ContactChange {
    part: Part,
    current: Option<Box<Snapshot>>,
}

/// The contact changes of one event set, one per resource, in the order first seen: a
/// second event for the same resource has nothing more to tell but a newer embedded state.
/// Found through a map from target to position, so the work is linear in the events; each
/// target is held once, as text, in that map.
#[derive(Default)]
struct ContactChanges {
    unique: Vec<ContactChange>,
    positions: HashMap<Box<str>, usize>,
}

impl ContactChanges {
    fn add(&mut self, target: Url, change: ContactChange) {
        let target = String::from(target).into_boxed_str();
        match self.positions.get(&target) {
            Some(&i) => {
                if change.current.is_some() {
                    self.unique[i].current = change.current;
                }
            }
            None => {
                self.positions.insert(target, self.unique.len());
                self.unique.push(change);
            }
        }
    }

    /// Each change with its target, in the order first seen.
    fn into_ordered(self) -> impl Iterator<Item = (Url, ContactChange)> {
        let mut targets: Vec<Option<Box<str>>> = vec![None; self.unique.len()];
        for (target, i) in self.positions {
            targets[i] = Some(target);
        }
        targets
            .into_iter()
            .zip(self.unique)
            .filter_map(|(t, c)| Some((Url::parse(&t?).ok()?, c)))
    }
}

/// Turns contact changes into host events. Those without the resource embedded (what real
/// servers send) are read together, at most [`MAX_CONTACT_FOLLOW_UPS`] per set.
async fn handle_contact_changes(inner: &Session, people: &Url, changes: ContactChanges) {
    let mut unique: Vec<(Url, ContactChange)> = changes.into_ordered().collect();
    let bare: Vec<usize> = (0..unique.len())
        .filter(|&i| unique[i].1.current.is_none())
        .take(MAX_CONTACT_FOLLOW_UPS)
        .collect();
    if !bare.is_empty() {
        let urls: Vec<Url> = bare.iter().map(|&i| unique[i].0.clone()).collect();
        if let Ok(found) = inner.read_many(&urls).await {
            for (&i, r) in bare.iter().zip(found) {
                unique[i].1.current = r.map(|r| Box::new(Snapshot::of(&r)));
            }
        }
    }
    for (target, c) in unique {
        let (Some(current), Some(address)) = (c.current, contact_below(people, &target)) else {
            continue;
        };
        let contact = sip(&address);
        let event = match c.part {
            Part::Presence => match current.presence() {
                Some(presence) => Event::ContactPresenceChanged { contact, presence },
                None => continue,
            },
            Part::Text(TextField::Note) => Event::ContactNoteChanged {
                contact,
                note: current.text(TextField::Note),
            },
            Part::Text(TextField::Location) => Event::ContactLocationChanged {
                contact,
                location: current.text(TextField::Location),
            },
        };
        inner.emit(event);
    }
}

async fn fetch(inner: &Session, step: Step, url: &Url) -> Option<Snapshot> {
    let reply = inner
        .call(step, Method::GET, url, Payload::Empty)
        .await
        .ok()?;
    reply.resource(step).ok().map(|r| Snapshot::of(&r))
}

/// Idle, which the host never asks for, is answered at once with an activity report; a change
/// made elsewhere is adopted as the person's preferred choice, or with `enforce_presence`
/// overwritten by the state the library keeps (`Session::answer_change_elsewhere`).
async fn keep_true(inner: &Arc<Session>, seen: Availability) {
    let (available, applied) = inner.availability_goal();
    if !available {
        return;
    }
    // Only Idle is unambiguous: Away may be the user's own choice on another device, and an
    // Away reached through inactivity is undone by the next timed report anyway.
    let decayed = matches!(seen, Availability::IdleOnline | Availability::IdleBusy);
    if decayed && inner.options().keepalive_interval.is_some() {
        let _ = inner.report_activity().await;
    }
    if !decayed && applied.is_some_and(|d| d != seen) {
        let _ = inner.answer_change_elsewhere().await;
    }
}
