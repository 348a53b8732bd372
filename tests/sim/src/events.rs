//! The event channel: P-GET parking, `ack`/`next` numbering, the `timeout` and `medium`
//! parameters, PGetReplaced, resync, and answering a parked P-GET when its application ends.
//!
//! A parked P-GET is a future waiting on its application's `Notify` (never a thread), so a
//! thousand of them cost a thousand small tasks and sockets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::config::{EmptyEvents, SimConfig};
use crate::handlers::{authorize_app, clamp_secs, gone, Outcome};
use crate::http::{href, Req, Resp, JSON};
use crate::paths::{Classified, Route};
use crate::state::{PendingEvent, Pool, Sender, Shared};

/// The protocol's ceiling for `timeout` and `medium`.
const MAX_WAIT_S: f64 = 1800.0;

/// Clears the parked marker if the P-GET goes away without answering (client hung up), so the
/// application-expiry clock starts from then.
struct ParkGuard<'a> {
    shared: &'a Shared,
    app_id: String,
    pget_id: u64,
}

impl Drop for ParkGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if let Some(app) = st.apps.get_mut(&self.app_id) {
            if app.channel.parked == Some(self.pget_id) {
                app.channel.parked = None;
                app.channel.last_release = Instant::now();
            }
        }
    }
}

/// Builds one event-set response as JSON text: `self`/`next` links and the senders in queue
/// order, with consecutive events of one sender grouped together. Events are already
/// serialized, so they are spliced in rather than re-parsed. A set without events carries
/// `"sender":[]` when `empty_sender` is set, else only `_links`.
fn event_set(
    pool: &Pool,
    app_id: &str,
    ack: u64,
    pending: Vec<PendingEvent>,
    empty_sender: bool,
) -> Bytes {
    let links = json!({
        "self": href(pool.paths.events_href(app_id, ack)),
        "next": href(pool.paths.events_href(app_id, ack + 1)),
    });
    let mut out = format!("{{\"_links\":{links}");
    let mut current: Option<Sender> = None;
    for p in pending {
        if current == Some(p.sender) {
            out.push(',');
        } else {
            let (rel, route) = match p.sender {
                Sender::Me => ("me", Route::Me),
                Sender::Communication => ("communication", Route::Communication),
                Sender::People => ("people", Route::People),
            };
            out.push_str(if current.is_none() {
                ",\"sender\":["
            } else {
                "]},"
            });
            out.push_str(&format!(
                "{{\"rel\":{},\"href\":{},\"events\":[",
                Value::from(rel),
                Value::from(pool.paths.route_href(app_id, route))
            ));
            current = Some(p.sender);
        }
        out.push_str(&p.event);
    }
    if current.is_some() {
        out.push_str("]}]");
    } else if empty_sender {
        out.push_str(",\"sender\":[]");
    }
    out.push('}');
    Bytes::from(out)
}

fn set_response(set: Bytes) -> Resp {
    Resp {
        status: 200,
        headers: vec![("Content-Type".into(), JSON.into())],
        body: set,
    }
}

fn resync(pool: &Pool, app_id: &str, ack: u64) -> Resp {
    Resp::json(
        200,
        &json!({ "_links": { "resync": href(pool.paths.events_href(app_id, ack)) } }),
    )
}

fn replaced() -> Resp {
    Resp::error(
        409,
        "Conflict",
        Some("PGetReplaced"),
        "A newer event channel request replaced this one.",
    )
}

/// Handles `GET <events>?ack=N[&timeout=S][&medium=S]`.
pub(crate) async fn pget(
    shared: &Arc<Shared>,
    pool: &Arc<Pool>,
    req: &Req,
    c: &Classified,
) -> Outcome {
    let app_id = c.app_id.clone().unwrap_or_default();
    let (timeout, hold) = wait_times(&shared.config, req);
    let ack = req
        .query_param("ack")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let pget_id = shared.next_id();
    let (notify, user) = match park(shared, pool, req, &app_id, ack, pget_id) {
        Ok(parked) => parked,
        Err(answered) => return answered,
    };
    let _guard = ParkGuard {
        shared,
        app_id: app_id.clone(),
        pget_id,
    };
    let deadline = Instant::now() + timeout;
    let ack = ack.unwrap_or_default();
    loop {
        // Register for wake-ups before looking at the state, so a notification sent between
        // the check and the wait is not lost.
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let parked = Parked {
            app_id: &app_id,
            pget_id,
            ack,
            hold,
            deadline,
        };
        let wake_at = match parked.answer_if_due(shared, pool) {
            Due::Answer(resp) => return Outcome::new(resp, Some(user.clone())),
            Due::WaitUntil(at) => at,
        };
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(wake_at.into()) => {}
        }
    }
}

/// The `timeout` (when the P-GET is released without events) and `medium` (how long events
/// are held before release) of a request, clamped to what the server allows.
fn wait_times(cfg: &SimConfig, req: &Req) -> (Duration, Duration) {
    let param = |name: &str| {
        req.query_param(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let timeout = clamp_secs(
        param("timeout"),
        cfg.event_timeout_s,
        cfg.event_timeout_min_s,
        MAX_WAIT_S,
    );
    let hold = clamp_secs(
        param("medium"),
        cfg.event_hold_s,
        cfg.event_hold_s.min(5.0),
        MAX_WAIT_S,
    );
    (timeout, hold)
}

/// Checks the request and the `ack`, then parks it as the application's one P-GET: its
/// wake-up and the caller's name, or (`Err`) the answer it gets at once (a resync, a set
/// resent, or a refusal).
fn park(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    app_id: &str,
    ack: Option<u64>,
    pget_id: u64,
) -> Result<(Arc<Notify>, String), Outcome> {
    let mut st = shared.lock();
    let (_, name) = authorize_app(shared, &mut st, pool, req, app_id)?;
    if req.method != "GET" {
        return Err(Outcome::new(Resp::method_not_allowed("GET"), Some(name)));
    }
    let app = st.apps.get_mut(app_id).expect("authorized app exists");
    let answered = |resp: Resp| Outcome::new(resp, Some(name.clone()));
    // Only one P-GET per application: any newer request replaces a parked one, which then
    // answers 409 PGetReplaced when it wakes and finds itself no longer registered.
    if app.channel.parked.take().is_some() {
        app.notify.notify_waiters();
    }
    let ch = &mut app.channel;
    let now = Instant::now();
    let Some(ack) = ack.filter(|a| *a >= ch.acked_below && *a <= ch.next_set) else {
        ch.last_release = now;
        return Err(answered(resync(pool, app_id, ch.acked_below)));
    };
    ch.acked_below = ack;
    ch.sets.retain(|(n, _)| *n >= ack);
    if let Some((_, set)) = ch.sets.iter().find(|(n, _)| *n == ack) {
        // Asked again for a set already sent (its answer was lost): resend it as it was.
        let set = set.clone();
        ch.last_release = now;
        return Err(answered(set_response(set)));
    }
    ch.parked = Some(pget_id);
    Ok((app.notify.clone(), name))
}

/// A parked P-GET between wake-ups.
struct Parked<'a> {
    app_id: &'a str,
    pget_id: u64,
    ack: u64,
    hold: Duration,
    deadline: Instant,
}

/// What a parked P-GET does after a wake-up.
enum Due {
    Answer(Resp),
    WaitUntil(Instant),
}

impl Parked<'_> {
    /// Answers when the application is gone, the P-GET was replaced, the events were held
    /// long enough or the deadline passed; else says when to look again.
    fn answer_if_due(&self, shared: &Shared, pool: &Pool) -> Due {
        let mut st = shared.lock();
        let now = Instant::now();
        let Some(app) = st.apps.get_mut(self.app_id) else {
            return Due::Answer(gone(shared, &st, self.app_id));
        };
        if app.channel.parked != Some(self.pget_id) {
            return Due::Answer(replaced());
        }
        let ch = &mut app.channel;
        let ready_at = ch.pending_since.map(|t| t + self.hold);
        if ready_at.is_some_and(|r| now >= r) || now >= self.deadline {
            let empty_sender = shared.config.empty_events == EmptyEvents::SenderEmpty;
            let pending = std::mem::take(&mut ch.pending);
            let set = event_set(pool, self.app_id, self.ack, pending, empty_sender);
            ch.pending_since = None;
            ch.next_set = self.ack + 1;
            ch.sets.push_back((self.ack, set.clone()));
            ch.parked = None;
            ch.last_release = now;
            return Due::Answer(set_response(set));
        }
        Due::WaitUntil(ready_at.map_or(self.deadline, |r| r.min(self.deadline)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Layout;
    use crate::paths::Paths;
    use crate::state::PoolKind;

    fn pool() -> Pool {
        Pool {
            kind: PoolKind::Pool1,
            addr: "127.0.0.1:1".parse().unwrap(),
            paths: Paths::new(
                Layout::Standard,
                "http://127.0.0.1:1".into(),
                "contoso.com".into(),
            ),
            link_revisions: true,
            bearer: Default::default(),
            grants: "password".into(),
            fold_challenges: false,
            modern_auth: false,
        }
    }

    fn ev(sender: Sender, n: u32) -> PendingEvent {
        PendingEvent {
            sender,
            event: json!({ "n": n }).to_string().into_boxed_str(),
        }
    }

    #[test]
    fn event_set_groups_consecutive_events_of_a_sender_in_order() {
        let set = event_set(
            &pool(),
            "a1",
            3,
            vec![
                ev(Sender::Me, 1),
                ev(Sender::Me, 2),
                ev(Sender::Communication, 3),
                ev(Sender::Me, 4),
            ],
            true,
        );
        let v: Value = serde_json::from_slice(&set).unwrap();
        assert_eq!(
            v["_links"]["self"]["href"],
            "/ucwa/oauth/v1/applications/a1/events?ack=3"
        );
        assert_eq!(
            v["_links"]["next"]["href"],
            "/ucwa/oauth/v1/applications/a1/events?ack=4"
        );
        let senders: Vec<(String, Vec<u64>)> = v["sender"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let ns = s["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["n"].as_u64().unwrap())
                    .collect();
                (s["rel"].as_str().unwrap().to_owned(), ns)
            })
            .collect();
        assert_eq!(
            senders,
            [
                ("me".to_owned(), vec![1, 2]),
                ("communication".to_owned(), vec![3]),
                ("me".to_owned(), vec![4])
            ]
        );
    }

    #[test]
    fn empty_event_set_has_only_links_when_sender_is_absent() {
        let set = event_set(&pool(), "a1", 1, Vec::new(), false);
        let v: Value = serde_json::from_slice(&set).unwrap();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["_links"]
        );
    }

    #[test]
    fn empty_event_set_carries_an_empty_sender_array_by_default() {
        let set = event_set(&pool(), "a1", 1, Vec::new(), true);
        let v: Value = serde_json::from_slice(&set).unwrap();
        assert_eq!(v["sender"], json!([]));
        assert!(v["_links"]["next"]["href"].is_string());
    }
}
