//! The UCWA protocol handlers: dispatch and the access checks every handler shares. The
//! handlers live beside this file — `signin` (discovery, xframe, redirect, user),
//! `applications` (creation, the application resource, routing inside it), `me` (makeMeAvailable,
//! presence, note, location, reportMyActivity, plain resources) — and the token endpoint with the
//! rest of the token logic in [`crate::tokens`]. Every handler is synchronous (one short critical
//! section); only the event channel ([`crate::events`]) waits.

mod applications;
mod me;
mod signin;

use std::sync::Arc;

use crate::batch;
use crate::events;
use crate::http::{Req, Resp};
use crate::paths::{Classified, Route};
use crate::state::{secs, GoneReason, Pool, Shared, State};
use crate::tokens::TokenNote;

use applications::{app_route, applications};
use signin::{discovery, redirect, user, xframe};

/// A handled request: the answer and who made it (for the log), and for the token endpoint
/// what the grant did (for the token log).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub resp: Resp,
    pub user: Option<String>,
    pub token: Option<Box<TokenNote>>,
}

impl Outcome {
    pub(crate) fn anon(resp: Resp) -> Outcome {
        Outcome::new(resp, None)
    }

    pub(super) fn of(resp: Resp, user: &str) -> Outcome {
        Outcome::new(resp, Some(user.to_owned()))
    }

    pub(crate) fn new(resp: Resp, user: Option<String>) -> Outcome {
        Outcome {
            resp,
            user,
            token: None,
        }
    }
}

/// Entry point for a non-control request on pool 1 or pool 2.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    pool: &Arc<Pool>,
    req: &Req,
    c: &Classified,
) -> Outcome {
    if c.route == Route::Events && c.app_id.is_some() {
        if let Some(resp) = origin_check(shared, pool, req) {
            return Outcome::anon(resp);
        }
        return events::pget(shared, pool, req, c).await;
    }
    handle_sync(shared, pool, req, c)
}

/// Everything but the event channel; also what batch parts run through.
pub(crate) fn handle_sync(shared: &Shared, pool: &Pool, req: &Req, c: &Classified) -> Outcome {
    if !matches!(c.route, Route::Discovery | Route::Xframe) {
        if let Some(resp) = origin_check(shared, pool, req) {
            return Outcome::anon(resp);
        }
    }
    match c.route {
        Route::Discovery => Outcome::anon(discovery(shared, pool, req, c.hop)),
        Route::Xframe => Outcome::anon(xframe(req)),
        Route::Token => crate::tokens::endpoint(shared, pool, req),
        Route::Redirect => Outcome::anon(redirect(pool, req)),
        Route::User => user(shared, pool, req),
        Route::Applications => applications(shared, pool, req),
        Route::Batch if c.app_id.is_some() => batch::run(shared, pool, req, c),
        _ if c.app_id.is_some() => app_route(shared, pool, req, c),
        _ => Outcome::anon(Resp::not_found()),
    }
}

/// `X-Ms-Origin` present and not allowed → 403 with diagnostic 28070 (Clarity blog).
fn origin_check(shared: &Shared, pool: &Pool, req: &Req) -> Option<Resp> {
    let origin = req.header("x-ms-origin")?;
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    if shared
        .config
        .allowed_origins
        .iter()
        .any(|o| norm(o) == norm(origin))
    {
        return None;
    }
    let reason = "Service does not allow a cross domain request from this origin.";
    Some(Resp::error(403, "Forbidden", None, reason).with_header(
        "X-Ms-diagnostics",
        &format!("28070;source=\"{}\";reason=\"{reason}\"", pool.fqdn()),
    ))
}

pub(super) fn require(req: &Req, methods: &[&str]) -> Result<(), Resp> {
    if methods.iter().any(|m| req.method.eq_ignore_ascii_case(m)) {
        Ok(())
    } else {
        Err(Resp::method_not_allowed(&methods.join(", ")))
    }
}

/// The answer for an application id that is not (or no longer) live for this user and pool.
pub(crate) fn gone(shared: &Shared, st: &State, id: &str) -> Resp {
    match st.gone.get(id) {
        Some(GoneReason::Expired) if shared.config.expired_status.status() == 410 => Resp::error(
            410,
            "Gone",
            Some("InactiveApplicationExpired"),
            "The application expired because it was inactive.",
        ),
        _ => Resp::error(
            404,
            "NotFound",
            Some("ApplicationNotFound"),
            "The application does not exist.",
        ),
    }
}

/// Authenticates and finds the caller's application. `Err` is the answer to send.
pub(crate) fn authorize_app(
    shared: &Shared,
    st: &mut State,
    pool: &Pool,
    req: &Req,
    id: &str,
) -> Result<(String, String), Outcome> {
    let key = shared.authenticate(st, pool, req).map_err(Outcome::anon)?;
    let name = st
        .users
        .get(&key)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    match st.apps.get(id) {
        Some(app) if app.user_key == key && app.pool == pool.kind => Ok((key, name)),
        _ => Err(Outcome::of(gone(shared, st, id), &name)),
    }
}

/// Seconds as the `Duration` the event channel waits.
pub(crate) fn clamp_secs(
    value: Option<f64>,
    default: f64,
    min: f64,
    max: f64,
) -> std::time::Duration {
    let v = value
        .filter(|v| v.is_finite())
        .map_or(default, |v| v.clamp(min, max.max(min)));
    secs(v)
}
