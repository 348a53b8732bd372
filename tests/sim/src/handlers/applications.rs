//! Applications: creation (and the re-POST of the same endpointId), the application resource,
//! and the routing of every request inside an application to its handler.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::me::{
    make_me_available, note_or_location, plain_resource, presence, report_my_activity,
};
use super::{authorize_app, require, Outcome};
use crate::http::{get_ci, get_str_ci, Req, Resp};
use crate::paths::{Classified, Route};
use crate::resources;
use crate::state::{
    random_app_id, random_hex, App, Channel, GoneReason, Pool, Shared, Stage, State,
};

/// 32-bit FNV-1a of the representation: changes whenever what the client would see changes.
pub(super) fn etag_of(body: &[u8]) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in body {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("\"{h}\"")
}

pub(super) fn app_response(
    shared: &Shared,
    pool: &Pool,
    app: &App,
    st: &State,
    status: u16,
    req: Option<&Req>,
) -> Resp {
    let Some(user) = st.users.get(&app.user_key) else {
        return Resp::not_found();
    };
    let body = resources::application(pool, app, user);
    let resp = Resp::json(status, &body);
    let etag = etag_of(&resp.body);
    if let Some(inm) = req.and_then(|r| r.header("if-none-match")) {
        if inm.split(',').any(|t| t.trim() == etag || t.trim() == "*") {
            return Resp::empty(304).with_header("Etag", &etag);
        }
    }
    // The photo cookie lives as long as the token; both creation and GET (re)issue it.
    let secure = if shared.config.tls { "; secure" } else { "" };
    resp.with_header("Etag", &etag).with_header(
        "Set-Cookie",
        &format!(
            "cwt_ucwa={}; path={}{secure}; HttpOnly",
            random_hex(32),
            pool.paths.photos_path(&app.id)
        ),
    )
}

/// The identity of an application as its creation request gives it.
struct Endpoint {
    user_agent: String,
    endpoint_id: String,
    culture: String,
    instance_id: Option<String>,
}

pub(super) fn applications(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    let mut st = shared.lock();
    let key = match shared.authenticate(&mut st, pool, req) {
        Ok(k) => k,
        Err(r) => return Outcome::anon(r),
    };
    let name = st
        .users
        .get(&key)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    if let Err(r) = require(req, &["POST"]) {
        return Outcome::of(r, &name);
    }
    let endpoint = match read_endpoint(req) {
        Ok(e) => e,
        Err(r) => return Outcome::of(r, &name),
    };
    let user_apps = st
        .users
        .get(&key)
        .map(|u| u.apps.clone())
        .unwrap_or_default();
    if let Some(id) = same_endpoint(&st, pool, &user_apps, &endpoint) {
        let app = &st.apps[id];
        // Real servers answer a plain re-POST 200 with the same (possibly available) app.
        let status = if endpoint.instance_id.is_some() {
            200
        } else {
            shared.config.repost_status
        };
        let resp = app_response(shared, pool, app, &st, status, None);
        return Outcome::of(
            resp.with_header("Location", &pool.paths.route_href(id, Route::Application)),
            &name,
        );
    }
    if user_apps.len() >= shared.config.max_apps as usize {
        return Outcome::of(
            Resp::error(
                410,
                "Gone",
                Some("TooManyApplications"),
                "The user has too many applications.",
            ),
            &name,
        );
    }
    let id = fresh_app_id(&st);
    let app = new_app(id.clone(), key.clone(), pool, endpoint);
    let resp = app_response(shared, pool, &app, &st, 201, None)
        .with_header("Location", &pool.paths.route_href(&id, Route::Application));
    st.apps.insert(id.clone(), app);
    if let Some(u) = st.users.get_mut(&key) {
        u.apps.push(id);
    }
    Outcome::of(resp, &name)
}

/// Reads and checks the creation body: missing fields are reported before invalid ones.
fn read_endpoint(req: &Req) -> Result<Endpoint, Resp> {
    let body = req.json_body()?.unwrap_or_default();
    let mut values = Vec::new();
    let mut missing = Vec::new();
    let mut invalid = Vec::new();
    for field in ["userAgent", "endpointId", "culture", "instanceId"] {
        match get_str_ci(&body, field) {
            Ok(Some(v)) if v.len() > 100 => invalid.push(field),
            Ok(Some(v)) if v.trim().is_empty() && field != "instanceId" => missing.push(field),
            Ok(Some(v)) => values.push(Some(v)),
            Ok(None) if field == "instanceId" => values.push(None),
            Ok(None) => missing.push(field),
            Err(()) => invalid.push(field),
        }
    }
    if !missing.is_empty() {
        return Err(Resp::parameter_failure(&missing, "Required"));
    }
    if !invalid.is_empty() {
        return Err(Resp::parameter_failure(
            &invalid,
            "Expected a string of at most 100 characters",
        ));
    }
    let [Some(user_agent), Some(endpoint_id), Some(culture), instance_id] =
        <[Option<String>; 4]>::try_from(values).unwrap_or_default()
    else {
        return Err(Resp::parameter_failure(&["userAgent"], "Required"));
    };
    Ok(Endpoint {
        user_agent,
        endpoint_id,
        culture,
        instance_id,
    })
}

/// Same endpoint, agent, culture (and instance) on this pool: the docs' multi-tab rule says
/// these share one application, so the live one is returned instead of making another.
fn same_endpoint<'a>(
    st: &State,
    pool: &Pool,
    user_apps: &'a [String],
    e: &Endpoint,
) -> Option<&'a String> {
    user_apps.iter().find(|id| {
        st.apps.get(*id).is_some_and(|a| {
            a.pool == pool.kind
                && a.endpoint_id == e.endpoint_id
                && a.user_agent == e.user_agent
                && a.culture == e.culture
                && a.instance_id == e.instance_id
        })
    })
}

/// 12-digit ids like real servers' (104082042405), never reused within a run.
fn fresh_app_id(st: &State) -> String {
    loop {
        let candidate = random_app_id();
        if !st.apps.contains_key(&candidate) && !st.gone.contains_key(&candidate) {
            return candidate;
        }
    }
}

/// A new application, active and not yet made available, with an empty event channel.
fn new_app(id: String, user_key: String, pool: &Pool, e: Endpoint) -> App {
    let now = Instant::now();
    App {
        id,
        user_key,
        pool: pool.kind,
        user_agent: e.user_agent,
        endpoint_id: e.endpoint_id,
        culture: e.culture,
        instance_id: e.instance_id,
        made_available: false,
        modalities: Vec::new(),
        message_formats: Vec::new(),
        last_activity: now,
        stage: Stage::Active,
        activity_reports: 0,
        channel: Channel {
            acked_below: 1,
            next_set: 1,
            sets: Default::default(),
            pending: Vec::new(),
            pending_since: None,
            parked: None,
            last_release: now,
        },
        notify: Arc::default(),
        comm_guid: uuid::Uuid::new_v4().to_string(),
        comm_version: 0,
        subscriptions: Vec::new(),
    }
}

pub(super) fn app_route(shared: &Shared, pool: &Pool, req: &Req, c: &Classified) -> Outcome {
    let id = c.app_id.as_deref().unwrap_or_default();
    let mut st = shared.lock();
    let (key, name) = match authorize_app(shared, &mut st, pool, req, id) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let st = &mut *st;
    let resp = match c.route {
        Route::Application => application(shared, pool, req, st, id),
        Route::MakeMeAvailable => make_me_available(shared, pool, req, st, &key, id),
        Route::Presence => presence(shared, pool, req, st, &key, id),
        Route::Note => note_or_location(shared, pool, req, st, &key, id, Route::Note),
        Route::Location => note_or_location(shared, pool, req, st, &key, id, Route::Location),
        Route::ReportMyActivity => report_my_activity(shared, req, st, &key, id),
        Route::People => crate::people::handle(shared, pool, req, st, id, c),
        _ => plain_resource(pool, req, st, &key, id, c),
    };
    Outcome::of(resp, &name)
}

pub(super) fn application(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    id: &str,
) -> Resp {
    match req.method.as_str() {
        "GET" => app_response(shared, pool, &st.apps[id], st, 200, Some(req)),
        "DELETE" => {
            shared.end_app(st, id, GoneReason::Deleted);
            Resp::empty(204)
        }
        _ => Resp::method_not_allowed("GET, DELETE"),
    }
}

pub(super) fn string_array(
    body: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, Resp> {
    match get_ci(body, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| Resp::parameter_failure(&[name], "Expected an array of strings")),
        Some(_) => Err(Resp::parameter_failure(
            &[name],
            "Expected an array of strings",
        )),
    }
}
