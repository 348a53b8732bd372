//! The keep-alive supervisor: two tasks per signed-in client on the shared engine that keep
//! the host's presence true until sign-out or free.
//!
//! - the event loop keeps one P-GET parked (following `next`, `resume`, `resync`), turns the
//!   server's events into host events while the next P-GET is already parked, answers
//!   inactivity with an activity report, and runs the recovery ladder when the channel fails;
//! - the housekeeper reports activity on a timer, renews tokens ahead of expiry (or, for
//!   host-supplied tokens, tells the host), and keeps the presence subscription in line with
//!   the contacts the host watches.
//!
//! Both stop when the session's stop signal fires, sign-out begins, or a newer session replaces
//! theirs. Their pace under failure is set by `pacing`, never here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::sync::watch;
use url::Url;

use crate::error::{Error, Step};
use crate::event_set::{parse_event_set, Events, Kind, Rel, Snapshot};
use crate::pacing::{self, EventPacer, Health, ListRequests, LADDER};
use crate::pacing::{MAX_CONTACT_FOLLOW_UPS, MAX_FOLLOW_UPS};
use crate::resources::TextField;
use crate::session::{contact_below, sip, Payload, Recovery, Session, Started};
use crate::types::{Availability, ConnectionState, Event};

pub fn start(inner: Arc<Session>, started: Started) {
    let Started { session, stop } = started;
    let engine = crate::engine::handle();
    let mut tasks = Vec::with_capacity(2);
    if inner.options().event_channel {
        tasks.push(engine.spawn(event_loop(inner.clone(), session, stop.clone())));
    }
    tasks.push(engine.spawn(housekeeping(inner.clone(), session, stop)));
    inner.track_tasks(tasks);
}

fn current(inner: &Session, session: u64) -> bool {
    inner.is_current(session)
}

/// Sleeps, or returns false at once when the session is stopped.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    if d.is_zero() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

async fn event_loop(inner: Arc<Session>, session: u64, mut stop: watch::Receiver<bool>) {
    let mut cursor: Option<(u64, Url)> = None;
    let mut health = Health::new();
    let mut pacer = EventPacer::default();
    let mut recovering = false;
    let mut lost = false;
    // The previous answer's events, handled while the next P-GET is already parked.
    let mut pending: Option<Events> = None;
    while current(&inner, session) {
        let Ok(app) = inner.current_app(Step::Events) else {
            break;
        };
        if cursor.as_ref().is_none_or(|(g, _)| *g != app.generation) {
            cursor = Some((app.generation, app.events_url.clone()));
        }
        let Some((generation, url)) = cursor.clone() else {
            break;
        };
        let opts = inner.options();
        let requested = Duration::from_secs(opts.event_timeout_s as u64);
        if !pause(&mut stop, pacer.delay(requested)).await {
            break;
        }
        let mut pget = url.clone();
        if !pget
            .query_pairs()
            .any(|(k, _)| k.eq_ignore_ascii_case("timeout"))
        {
            pget.query_pairs_mut()
                .append_pair("timeout", &opts.event_timeout_s.to_string());
        }
        let limit = requested + opts.timeout;
        let started = Instant::now();
        // Boxed, like the handling below: the task then keeps only what a parked P-GET holds,
        // not the room of every other step of the loop (issue 18: ~19 KiB a client before).
        let parked = Box::pin(async {
            let r = inner
                .call_with(
                    Step::Events,
                    Method::GET,
                    &pget,
                    Payload::Empty,
                    &opts,
                    limit,
                )
                .await;
            (r, started.elapsed())
        });
        let handled = async {
            if let Some(events) = pending.take() {
                Box::pin(handle_events(&inner, events)).await;
            }
        };
        let (result, held) = tokio::select! {
            (r, ()) = async { tokio::join!(parked, handled) } => r,
            _ = stop.changed() => break,
        };
        if !current(&inner, session) {
            break;
        }
        let outcome = result.and_then(|reply| parse_event_set(&reply.url, &reply.body));
        match outcome {
            Ok(set) => {
                cursor = Some((generation, set.next));
                health.succeeded(held);
                pacer.answered(held, set.had_events, requested);
                if recovering {
                    recovering = false;
                    lost = false;
                    inner.emit(Event::ConnectionStateChanged {
                        state: ConnectionState::Recovered,
                        reason: None,
                    });
                }
                pending = Some(set.events);
            }
            Err(e) => match Recovery::for_error(&e) {
                Recovery::EndSession => {
                    inner.end_session(Some(e));
                    break;
                }
                Recovery::RetakeChannel => {
                    // Ours is the only P-GET we send, so another instance replaced it: take
                    // the channel back after a pause rather than fight in a tight loop.
                    health.fail();
                    if !pause(&mut stop, health.delay()).await {
                        break;
                    }
                }
                step => {
                    let failures = health.fail();
                    if !recovering {
                        recovering = true;
                        inner.emit(Event::ConnectionStateChanged {
                            state: ConnectionState::Recovering,
                            reason: Some(e.clone()),
                        });
                    }
                    let mut wait = health.delay();
                    // `recovering` was set above, so the ladder's own Recovering is not
                    // repeated by the step.
                    let budget = match step {
                        Recovery::RecreateApplication => inner.recreation_wait(),
                        _ => None,
                    };
                    let result = match budget {
                        Some(budget_wait) => {
                            // The budget is spent: the host hears Lost now, and the channel
                            // retries at the slow pace until the budget frees up.
                            wait = wait.max(budget_wait.min(pacing::MAX_BACKOFF));
                            if !lost {
                                lost = true;
                                inner.emit(Event::ConnectionStateChanged {
                                    state: ConnectionState::Lost,
                                    reason: Some(e.clone()),
                                });
                            }
                            Err(e)
                        }
                        None => Box::pin(inner.recover(step, generation, e, false)).await,
                    };
                    // A recovery step that "succeeded" proves nothing until the channel
                    // holds: the failure count stays, so a server that loses every new
                    // application at once is met at the backoff pace, not in a loop.
                    match result {
                        Ok(()) => {}
                        Err(e) if Recovery::for_error(&e) == Recovery::EndSession => {
                            inner.end_session(Some(e));
                            break;
                        }
                        Err(e) => {
                            if failures >= LADDER && !lost {
                                lost = true;
                                inner.emit(Event::ConnectionStateChanged {
                                    state: ConnectionState::Lost,
                                    reason: Some(e),
                                });
                            }
                        }
                    }
                    if !pause(&mut stop, wait).await {
                        break;
                    }
                }
            },
        }
    }
}

/// Which part of a contact's presence an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContactPart {
    Presence,
    Text(TextField),
}

impl ContactPart {
    fn of(rel: Rel) -> Option<ContactPart> {
        match rel {
            Rel::ContactPresence => Some(ContactPart::Presence),
            Rel::ContactNote => Some(ContactPart::Text(TextField::Note)),
            Rel::ContactLocation => Some(ContactPart::Text(TextField::Location)),
            _ => None,
        }
    }
}

/// One change of a subscribed contact, as the event set gave it.
struct ContactChange {
    part: ContactPart,
    embedded: Option<Box<Snapshot>>,
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
                if change.embedded.is_some() {
                    self.unique[i].embedded = change.embedded;
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

/// Turns one event set into host events, and keeps presence true. The user's own events that
/// carry only a link are followed with one GET per resource, at most [`MAX_FOLLOW_UPS`] per
/// set, and a deleted presence is restored once per set; contact events are handled by
/// [`handle_contact_changes`].
async fn handle_events(inner: &Arc<Session>, events: Events) {
    let mut follow_ups = ListRequests::new(MAX_FOLLOW_UPS);
    let mut restores = ListRequests::new(1);
    let mut changes = ContactChanges::default();
    let people = inner
        .current_app(Step::Events)
        .ok()
        .and_then(|app| app.link("people").cloned());
    for (target, ev) in events.resolved() {
        if ev.rel == Rel::PresenceSubscription {
            match ev.kind {
                Kind::Deleted => inner.subscription_event(&target, true),
                Kind::Updated => inner.subscription_event(&target, false),
                Kind::Added => {}
            }
            continue;
        }
        if let Some(part) = ContactPart::of(ev.rel) {
            // Only contacts the host watches now: an unsubscribe takes effect at once.
            let watched = people
                .as_ref()
                .and_then(|p| contact_below(p, &target))
                .is_some_and(|a| inner.is_watched(&a));
            if watched && matches!(ev.kind, Kind::Added | Kind::Updated) {
                let embedded = ev.embedded;
                changes.add(target, ContactChange { part, embedded });
            }
            continue;
        }
        if ev.kind == Kind::Deleted {
            if ev.rel == Rel::Presence {
                // Back in lurker mode: the server dropped our availability. One restore of
                // the application answers every such event of the set.
                let app = inner.current_app(Step::Events);
                if let Some(app) = app.ok().filter(|a| restores.admit(&a.self_url)) {
                    let _ = inner
                        .restore_availability(
                            app.generation,
                            Error::InvalidState("presence was deleted by the server".into()),
                            true,
                        )
                        .await;
                }
            }
            continue;
        }
        let (field, step) = match ev.rel {
            Rel::Presence => (None, Step::GetPresence),
            Rel::Note => (Some(TextField::Note), TextField::Note.step()),
            Rel::Location => (Some(TextField::Location), TextField::Location.step()),
            _ => continue,
        };
        let current = match ev.embedded {
            Some(r) => r,
            None => {
                // One GET shows the resource's state now: a second event for it in the same
                // set has nothing more to tell.
                if !follow_ups.admit(&target) {
                    continue;
                }
                match fetch(inner, step, &target).await {
                    Some(r) => Box::new(r),
                    None => continue,
                }
            }
        };
        match field {
            None => {
                if let Some(p) = current.presence() {
                    keep_true(inner, p.availability).await;
                    inner.emit(Event::PresenceChanged(p));
                }
            }
            Some(TextField::Note) => inner.emit(Event::NoteChanged(current.text(TextField::Note))),
            Some(TextField::Location) => {
                inner.emit(Event::LocationChanged(current.text(TextField::Location)))
            }
        }
    }
    if let Some(people) = people {
        handle_contact_changes(inner, &people, changes).await;
    }
}

/// Turns contact changes into host events. Those without the resource embedded (what real
/// servers send) are read together, at most [`MAX_CONTACT_FOLLOW_UPS`] per set.
async fn handle_contact_changes(inner: &Session, people: &Url, changes: ContactChanges) {
    let mut unique: Vec<(Url, ContactChange)> = changes.into_ordered().collect();
    let bare: Vec<usize> = (0..unique.len())
        .filter(|&i| unique[i].1.embedded.is_none())
        .take(MAX_CONTACT_FOLLOW_UPS)
        .collect();
    if !bare.is_empty() {
        let urls: Vec<Url> = bare.iter().map(|&i| unique[i].0.clone()).collect();
        if let Ok(found) = inner.read_many(&urls).await {
            for (&i, r) in bare.iter().zip(found) {
                unique[i].1.embedded = r.map(|r| Box::new(Snapshot::of(&r)));
            }
        }
    }
    for (target, c) in unique {
        let (Some(current), Some(address)) = (c.embedded, contact_below(people, &target)) else {
            continue;
        };
        let contact = sip(&address);
        let event = match c.part {
            ContactPart::Presence => match current.presence() {
                Some(presence) => Event::ContactPresenceChanged { contact, presence },
                None => continue,
            },
            ContactPart::Text(TextField::Note) => Event::ContactNoteChanged {
                contact,
                note: current.text(TextField::Note),
            },
            ContactPart::Text(TextField::Location) => Event::ContactLocationChanged {
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

/// Idle, which the host never asks for, is answered at once with an activity report;
/// with `enforce_presence`, a change made elsewhere is overwritten by the host's choice.
async fn keep_true(inner: &Arc<Session>, seen: Availability) {
    let (available, desired) = inner.availability_goal();
    if !available {
        return;
    }
    // Only Idle is unambiguous: Away may be the user's own choice on another device, and an
    // Away reached through inactivity is undone by the next timed report anyway.
    let decayed = matches!(seen, Availability::IdleOnline | Availability::IdleBusy);
    if decayed && inner.options().keepalive_interval.is_some() {
        let _ = inner.report_activity().await;
    }
    if inner.options().enforce_presence
        && desired.is_some_and(|d| d != seen)
        && !matches!(seen, Availability::IdleOnline | Availability::IdleBusy)
    {
        let _ = inner.enforce_availability().await;
    }
}

async fn housekeeping(inner: Arc<Session>, session: u64, mut stop: watch::Receiver<bool>) {
    let mut next_report: Option<Instant> = None;
    let mut renew_failures: u32 = 0;
    let mut renew_not_before = Instant::now();
    while current(&inner, session) {
        let (available, _) = inner.availability_goal();
        let interval = inner.options().keepalive_interval;
        let now = Instant::now();
        match (available, interval) {
            (true, Some(iv)) => {
                let due = *next_report.get_or_insert(now + iv);
                if now >= due {
                    // Each step boxed: the task sleeps between them, and should hold only its
                    // few locals while it does, not the room of its largest step (~5 KiB).
                    let _ = Box::pin(inner.report_activity()).await;
                    next_report = Some(Instant::now() + iv);
                }
            }
            _ => next_report = None,
        }
        if let Some((origin, url, generation, at)) = inner.next_renewal() {
            if Instant::now() >= at && Instant::now() >= renew_not_before {
                match Box::pin(inner.renew_now(&origin, &url, generation)).await {
                    Ok(()) => renew_failures = 0,
                    Err(e) => {
                        renew_failures += 1;
                        renew_not_before = Instant::now() + pacing::backoff(renew_failures);
                        let refused = e.status() == crate::Status::Authentication;
                        if renew_failures == LADDER || (refused && renew_failures == 1) {
                            inner.emit(Event::ConnectionStateChanged {
                                state: ConnectionState::Lost,
                                reason: Some(e),
                            });
                        }
                    }
                }
            }
        }
        Box::pin(inner.keep_subscription()).await;
        inner.announce_expiring_tokens();
        // Wake for whichever is due first, at least once a second to notice a new phase.
        let mut wake = Instant::now() + Duration::from_secs(1);
        if let Some(at) = inner.next_token_announcement() {
            wake = wake.min(at.max(Instant::now() + Duration::from_millis(50)));
        }
        if let Some(r) = next_report {
            wake = wake.min(r);
        }
        if let Some((_, _, _, at)) = inner.next_renewal() {
            wake = wake.min(
                at.max(renew_not_before)
                    .max(Instant::now() + Duration::from_millis(50)),
            );
        }
        if !pause(&mut stop, wake.saturating_duration_since(Instant::now())).await {
            break;
        }
    }
}
