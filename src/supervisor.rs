//! The keep-alive supervisor: two tasks per signed-in client on the shared engine that keep
//! the host's presence true until sign-out or free.
//!
//! - the event loop (`channel`) keeps one P-GET parked (following `next`, `resume`, `resync`),
//!   acts on what happened (`happened`: host events, presence kept true, inactivity answered
//!   with an activity report) while the next P-GET is already parked, and runs the recovery
//!   ladder when the channel fails;
//! - the housekeeper reports activity on a timer, renews tokens ahead of expiry (or, for
//!   host-supplied tokens, tells the host), removes presence layers that ran out and sends
//!   the presence the pace held back (woken for it by the host's changes), and keeps the
//!   presence subscription in line with the contacts the host watches.
//!
//! Both stop when the session's stop signal fires, sign-out begins, or a newer session replaces
//! theirs. Their pace under failure is set by `pacing`, never here; what the host hears about
//! the connection is decided by `connection`, which they only tell what they saw.

mod channel;
mod happened;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::pacing::{self, LADDER};
use crate::session::{Session, Started};

pub fn start(inner: Arc<Session>, started: Started) {
    let Started { session, stop } = started;
    let engine = crate::engine::handle();
    let mut tasks = Vec::with_capacity(2);
    if inner.options().event_channel {
        tasks.push(engine.spawn(channel::event_loop(inner.clone(), session, stop.clone())));
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
                            inner.connection.lost(&inner.events, e);
                        }
                    }
                }
            }
        }
        Box::pin(inner.keep_presence()).await;
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
        if let Some(at) = inner.presence_due() {
            wake = wake.min(at.max(Instant::now() + Duration::from_millis(10)));
        }
        let sleep = wake.saturating_duration_since(Instant::now());
        tokio::select! {
            go_on = pause(&mut stop, sleep) => if !go_on { break },
            // A host change held back by the pace, or a new expiry: plan again.
            _ = inner.presence_changed() => {}
        }
    }
}
