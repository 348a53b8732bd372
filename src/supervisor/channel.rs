//! The event channel: one P-GET parked at a time (following `next`, `resume`, `resync`), the
//! previous answer's events handled while the next one is parked, and the recovery ladder
//! when it fails. What the host hears about the connection is the `connection` machine's to
//! decide; this file only tells it what the channel saw.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use tokio::sync::watch;
use url::Url;

use super::happened::handle_events;
use super::{current, pause};
use crate::error::{Error, Result, Step};
use crate::event_set::{parse_event_set, EventSet, Events};
use crate::log::ucwa_log;
use crate::options::Options;
use crate::pacing::{self, EventPacer, Health, LADDER};
use crate::resources::App;
use crate::session::{Payload, Recovery, Session};
use crate::transport::{Kept, Reply};

pub(super) async fn event_loop(inner: Arc<Session>, session: u64, mut stop: watch::Receiver<bool>) {
    let mut channel = Channel::default();
    // The previous answer's events, handled while the next P-GET is already parked.
    let mut pending: Option<Events> = None;
    while current(&inner, session) {
        let Ok(app) = inner.current_app(Step::Events) else {
            break;
        };
        let (generation, url) = channel.target(&app);
        let opts = inner.options();
        let requested = Duration::from_secs(opts.event_timeout_s as u64);
        let held_back = channel.pacer.delay(requested);
        if !held_back.is_zero() {
            ucwa_log!(
                Debug,
                inner.log(),
                "pacing: next P-GET held back {} ms (the server answered the last ones at once)",
                held_back.as_millis()
            );
        }
        if !pause(&mut stop, held_back).await {
            break;
        }
        let handled = async {
            if let Some(events) = pending.take() {
                Box::pin(handle_events(&inner, events)).await;
            }
        };
        let (result, held) = tokio::select! {
            // The P-GET boxed, like the handling: the task then keeps only what a parked P-GET
            // holds, not the room of every other step of the loop (~19 KiB a client before).
            (r, ()) = async { tokio::join!(Box::pin(park(&inner, &url, &opts, &channel.conn)), handled) } => r,
            _ = stop.changed() => break,
        };
        if !current(&inner, session) {
            break;
        }
        match result.and_then(|reply| parse_event_set(&reply.url, &reply.body)) {
            Ok(set) => pending = Some(channel.answered(&inner, generation, set, held, requested)),
            Err(e) => {
                if !climb_ladder(&inner, &mut channel.health, generation, e, &mut stop).await {
                    break;
                }
            }
        }
    }
}

/// Where the channel reads next, and how it has fared.
#[derive(Default)]
struct Channel {
    /// The application generation the cursor belongs to, and the next P-GET's URL.
    cursor: Option<(u64, Url)>,
    health: Health,
    pacer: EventPacer,
    /// The connection its P-GETs go on, kept for the channel's life.
    conn: Kept,
}

impl Channel {
    /// The application generation and URL of the next P-GET: a new application's channel
    /// starts at its own events link.
    fn target(&mut self, app: &App) -> (u64, Url) {
        match &self.cursor {
            Some((generation, url)) if *generation == app.generation => (*generation, url.clone()),
            _ => {
                self.cursor = Some((app.generation, app.events_url.clone()));
                (app.generation, app.events_url.clone())
            }
        }
    }

    /// An answer came: follow its link, count the channel healthy, and tell the connection
    /// it works (a transition only when something had failed). Returns its events.
    fn answered(
        &mut self,
        inner: &Session,
        generation: u64,
        set: EventSet,
        held: Duration,
        requested: Duration,
    ) -> Events {
        ucwa_log!(
            Trace,
            inner.log(),
            "P-GET answered after {} ms, events: {}",
            held.as_millis(),
            set.had_events
        );
        self.cursor = Some((generation, set.next));
        self.health.succeeded(held);
        self.pacer.answered(held, set.had_events, requested);
        inner.connection.recovered(&inner.events);
        set.events
    }
}

/// One P-GET on `url`, on the channel's own connection `conn` (with the requested `timeout` unless the link names one), bounded by
/// that timeout plus the call timeout; returns its result and how long it was held.
async fn park(
    inner: &Session,
    url: &Url,
    opts: &Options,
    conn: &Kept,
) -> (Result<Reply>, Duration) {
    let requested = Duration::from_secs(opts.event_timeout_s as u64);
    let mut pget = url.clone();
    if !pget
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("timeout"))
    {
        pget.query_pairs_mut()
            .append_pair("timeout", &opts.event_timeout_s.to_string());
    }
    let started = Instant::now();
    let limit = requested + opts.timeout;
    let r = inner
        .call_kept(
            Step::Events,
            Method::GET,
            &pget,
            Payload::Empty,
            opts,
            limit,
            conn,
        )
        .await;
    (r, started.elapsed())
}

/// The recovery ladder for a failed P-GET on application `generation`: the step the error
/// calls for, paced by `health`. Returns whether the channel goes on.
async fn climb_ladder(
    inner: &Session,
    health: &mut Health,
    generation: u64,
    e: Error,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let step = Recovery::for_error(&e);
    ucwa_log!(
        Warn,
        inner.log(),
        "event channel failed: {e}; recovery step: {step:?}"
    );
    match step {
        Recovery::EndSession => {
            inner.end_session(Some(e));
            return false;
        }
        Recovery::RetakeChannel => {
            // Ours is the only P-GET we send, so another instance replaced it: take the
            // channel back after a pause rather than fight in a tight loop.
            health.fail();
            return pause(stop, health.delay()).await;
        }
        _ => {}
    }
    let failures = health.fail();
    inner.connection.recovering(&inner.events, e.clone());
    let mut wait = health.delay();
    let budget = match step {
        Recovery::RecreateApplication => inner.recreation_wait(),
        _ => None,
    };
    let result = match budget {
        Some(budget_wait) => {
            // The budget is spent: the host hears Lost now, and the channel retries at the
            // slow pace until the budget frees up.
            wait = wait.max(budget_wait.min(pacing::MAX_BACKOFF));
            ucwa_log!(Warn, inner.log(), "recovery held back: {} applications recreated within {} s already; next try in {} s", pacing::RECREATIONS, pacing::RECREATION_WINDOW.as_secs(), wait.as_secs());
            inner.connection.lost(&inner.events, e.clone());
            Err(e)
        }
        None => Box::pin(inner.recover(step, generation, e)).await,
    };
    // A recovery step that "succeeded" proves nothing until the channel holds: the failure
    // count stays, so a server that loses every new application at once is met at the
    // backoff pace, not in a loop.
    match result {
        Ok(()) => {}
        Err(e) if Recovery::for_error(&e) == Recovery::EndSession => {
            inner.end_session(Some(e));
            return false;
        }
        Err(e) if failures >= LADDER => inner.connection.lost(&inner.events, e),
        Err(_) => {}
    }
    ucwa_log!(
        Debug,
        inner.log(),
        "event channel: {failures} failures in a row, next P-GET in {} ms",
        wait.as_millis()
    );
    pause(stop, wait).await
}
