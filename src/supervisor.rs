//! The keep-alive supervisor: two tasks per signed-in client on the shared engine that keep
//! the host's presence true until sign-out or free.
//!
//! - the event loop keeps one P-GET parked (following `next`, `resume`, `resync`), turns the
//!   server's events into host events, answers inactivity with an activity report, and runs the
//!   recovery ladder when the channel fails;
//! - the housekeeper reports activity on a timer and renews tokens ahead of expiry.
//!
//! Both stop when the session's stop signal fires or a newer session replaces theirs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::sync::watch;

use crate::error::{Error, Step};
use crate::hal::Resource;
use crate::session::{presence_from, Inner, Payload, Phase, TextField};
use crate::types::{Availability, ConnectionState, Event};

/// Consecutive failures after which the host is told the connection is lost.
const LADDER: u32 = 6;
/// The slowest retry pace once lost.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub fn start(inner: Arc<Inner>, session: u64, stop: watch::Receiver<bool>) {
    let engine = crate::engine::handle();
    if inner.options().event_channel {
        engine.spawn(event_loop(inner.clone(), session, stop.clone()));
    }
    engine.spawn(housekeeping(inner, session, stop));
}

fn current(inner: &Inner, session: u64) -> bool {
    let st = inner.state();
    st.session == session && st.phase != Phase::Idle && !inner.is_closed()
}

/// Sleeps, or returns false at once when the session is stopped.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// Exponential backoff with jitter, so a thousand clients do not retry in step.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(250)
        .saturating_mul(1u32 << failures.min(8))
        .min(MAX_BACKOFF);
    let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    base.mul_f64(0.5 + jitter)
}

async fn event_loop(inner: Arc<Inner>, session: u64, mut stop: watch::Receiver<bool>) {
    let mut cursor: Option<(u64, url::Url)> = None;
    let mut failures: u32 = 0;
    let mut recovering = false;
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
        let mut pget = url.clone();
        if !pget
            .query_pairs()
            .any(|(k, _)| k.eq_ignore_ascii_case("timeout"))
        {
            pget.query_pairs_mut()
                .append_pair("timeout", &opts.event_timeout_s.to_string());
        }
        let limit = Duration::from_secs(opts.event_timeout_s as u64) + opts.timeout;
        let result = tokio::select! {
            r = inner.call_with(Step::Events, Method::GET, &pget, Payload::None, &opts, limit) => r,
            _ = stop.changed() => break,
        };
        if !current(&inner, session) {
            break;
        }
        let outcome = match result {
            Ok(reply) => Resource::parse(Step::Events, &url, &reply.body).and_then(|res| {
                let next = res
                    .link("next")
                    .or_else(|| res.link("resume"))
                    .or_else(|| res.link("resync"))
                    .ok_or_else(|| Error::Protocol {
                        step: Step::Events,
                        detail: "event response has no next, resume or resync link".into(),
                        http_status: None,
                        path: url.path().to_string(),
                    })?;
                Ok((next, res))
            }),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((next, res)) => {
                cursor = Some((generation, next));
                failures = 0;
                if recovering {
                    recovering = false;
                    inner.emit(Event::ConnectionStateChanged {
                        state: ConnectionState::Recovered,
                        reason: None,
                    });
                }
                handle_events(&inner, &res).await;
            }
            Err(e) if e.is_gone() => {
                inner.end_session(Some(e));
                break;
            }
            Err(e) if e.is_subcode(409, "PGetReplaced") => {
                // Ours is the only P-GET we send, so another instance replaced it: take the
                // channel back after a short pause rather than fight in a tight loop.
                failures += 1;
                if !pause(&mut stop, backoff(failures.min(3))).await {
                    break;
                }
            }
            Err(e) => {
                failures += 1;
                if !recovering {
                    recovering = true;
                    inner.emit(Event::ConnectionStateChanged {
                        state: ConnectionState::Recovering,
                        reason: Some(e.clone()),
                    });
                }
                if failures == LADDER {
                    inner.emit(Event::ConnectionStateChanged {
                        state: ConnectionState::Lost,
                        reason: Some(e.clone()),
                    });
                }
                // `recovering` was set above, so the ladder's own Recovering is not repeated.
                let step_result = if e.is_application_gone() {
                    inner.recover_application(generation, e, false).await
                } else if e.is_subcode(409, "MakeMeAvailableRequired") {
                    inner.restore_availability(generation, e, false).await
                } else {
                    Err(e)
                };
                match step_result {
                    Ok(()) => {
                        failures = 0;
                        recovering = false;
                    }
                    Err(e) if e.is_gone() => {
                        inner.end_session(Some(e));
                        break;
                    }
                    Err(_) => {
                        if !pause(&mut stop, backoff(failures)).await {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Turns one event-channel response into host events, and keeps presence true.
async fn handle_events(inner: &Arc<Inner>, res: &Resource) {
    let Some(senders) = res.raw("sender").and_then(|v| v.as_array().cloned()) else {
        return;
    };
    for sender in senders {
        let Some(events) = sender.get("events").and_then(|e| e.as_array()) else {
            continue;
        };
        for ev in events {
            let rel = ev
                .pointer("/link/rel")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let href = ev
                .pointer("/link/href")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let kind = ev.get("type").and_then(|v| v.as_str()).unwrap_or_default();
            let embedded = ev
                .get("_embedded")
                .and_then(|e| e.get(rel))
                .cloned()
                .and_then(|v| Resource::from_json(Step::Events, res.base(), v).ok());
            let Ok(target) = res.base().join(href) else {
                continue;
            };
            match kind {
                "deleted" if rel == "presence" => {
                    // Back in lurker mode: the server dropped our availability.
                    if let Ok(app) = inner.current_app(Step::Events) {
                        let _ = inner
                            .restore_availability(
                                app.generation,
                                Error::InvalidState("presence was deleted by the server".into()),
                                true,
                            )
                            .await;
                    }
                    continue;
                }
                "added" | "updated" => {}
                _ => continue,
            }
            let field = TextField::from_rel(rel);
            let step = match (rel, field) {
                ("presence", _) => Step::GetPresence,
                (_, Some(f)) => f.step(),
                _ => continue,
            };
            let current = match embedded {
                Some(r) => r,
                None => match fetch(inner, step, &target).await {
                    Some(r) => r,
                    None => continue,
                },
            };
            match field {
                None => {
                    if let Ok(p) = presence_from(Step::Events, &current) {
                        keep_true(inner, p.availability).await;
                        inner.emit(Event::PresenceChanged(p));
                    }
                }
                Some(TextField::Note) => {
                    inner.emit(Event::NoteChanged(TextField::Note.read(&current)))
                }
                Some(TextField::Location) => {
                    inner.emit(Event::LocationChanged(TextField::Location.read(&current)))
                }
            }
        }
    }
}

async fn fetch(inner: &Inner, step: Step, url: &url::Url) -> Option<Resource> {
    let reply = inner
        .call(step, Method::GET, url, Payload::None)
        .await
        .ok()?;
    Resource::parse(step, url, &reply.body).ok()
}

/// Idle, which the host never asks for, is answered at once with an activity report;
/// with `enforce_presence`, a change made elsewhere is overwritten by the host's choice.
async fn keep_true(inner: &Arc<Inner>, seen: Availability) {
    let (phase, desired) = {
        let st = inner.state();
        (st.phase, st.desired.availability)
    };
    if phase != Phase::Available {
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

async fn housekeeping(inner: Arc<Inner>, session: u64, mut stop: watch::Receiver<bool>) {
    let mut next_report: Option<Instant> = None;
    let mut renew_failures: u32 = 0;
    let mut renew_not_before = Instant::now();
    while current(&inner, session) {
        let available = inner.state().phase == Phase::Available;
        let interval = inner.options().keepalive_interval;
        let now = Instant::now();
        match (available, interval) {
            (true, Some(iv)) => {
                let due = *next_report.get_or_insert(now + iv);
                if now >= due {
                    let _ = inner.report_activity().await;
                    next_report = Some(Instant::now() + iv);
                }
            }
            _ => next_report = None,
        }
        if let Some((origin, url, generation, at)) = inner.next_renewal() {
            if Instant::now() >= at && Instant::now() >= renew_not_before {
                match inner.renew_now(&origin, &url, generation).await {
                    Ok(()) => renew_failures = 0,
                    Err(_) => {
                        renew_failures += 1;
                        renew_not_before = Instant::now() + backoff(renew_failures);
                    }
                }
            }
        }
        // Wake for whichever is due first, at least once a second to notice a new phase.
        let mut wake = Instant::now() + Duration::from_secs(1);
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
