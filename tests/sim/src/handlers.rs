//! The UCWA protocol handlers: discovery, the token endpoint, user and redirect resources,
//! application creation and deletion, makeMeAvailable, presence, note, location,
//! reportMyActivity and the plain resources. Every handler here is synchronous (one short
//! critical section); only the event channel ([`crate::events`]) waits.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::batch;
use crate::config::SETTABLE_AVAILABILITIES;
use crate::events;
use crate::http::{get_ci, get_str_ci, href, Req, Resp};
use crate::paths::{Classified, Owner, Route};
use crate::resources;
use crate::state::{
    random_app_id, random_hex, secs, App, Channel, GoneReason, Pool, PoolKind, Presence, Sender,
    Shared, Stage, State,
};

/// A handled request: the answer and who made it (for the log).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub resp: Resp,
    pub user: Option<String>,
}

impl Outcome {
    pub(crate) fn anon(resp: Resp) -> Outcome {
        Outcome { resp, user: None }
    }

    fn of(resp: Resp, user: &str) -> Outcome {
        Outcome {
            resp,
            user: Some(user.to_owned()),
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
        Route::Token => token(shared, pool, req),
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

fn require(req: &Req, methods: &[&str]) -> Result<(), Resp> {
    if methods.iter().any(|m| req.method.eq_ignore_ascii_case(m)) {
        Ok(())
    } else {
        Err(Resp::method_not_allowed(&methods.join(", ")))
    }
}

// ----- discovery, xframe, redirect --------------------------------------------------------------

fn discovery(shared: &Shared, pool: &Pool, req: &Req, hop: Option<u32>) -> Resp {
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    let total = shared.config.discovery_redirects;
    match hop {
        Some(k) if k < total && shared.config.bare_redirects => Resp::json_plain(
            200,
            &json!({ "_links": { "redirect": href(pool.paths.hop_url(k + 1, total)) } }),
        ),
        // A captured redirect root also carries `self` and `xframe`: a client must decide by
        // the presence of `user`, not by "only redirect".
        Some(k) if k < total => Resp::json_plain(
            200,
            &json!({ "_links": {
                "self": href(if k == 0 {
                    format!("{}/", pool.paths.origin())
                } else {
                    pool.paths.hop_url(k, total)
                }),
                "xframe": href(pool.paths.xframe_url()),
                "redirect": href(pool.paths.hop_url(k + 1, total)),
            }}),
        ),
        _ => Resp::json_plain(
            200,
            &json!({ "_links": {
                "self": href(pool.paths.root_url()),
                "user": href(pool.paths.user_url()),
                "xframe": href(pool.paths.xframe_url()),
            }}),
        ),
    }
}

fn xframe(req: &Req) -> Resp {
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    Resp::html(
        200,
        "<!DOCTYPE html><html><head><title>XFrame</title></head><body>\
         <script>/* ucwa-sim cross-domain frame */</script></body></html>",
    )
}

fn redirect(pool: &Pool, req: &Req) -> Resp {
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    Resp::json_plain(
        200,
        &json!({ "rel": "redirect", "_links": {
            "self": href(pool.paths.redirect_url()),
            "user": href(pool.paths.user_url()),
            "xframe": href(pool.paths.xframe_url()),
        }}),
    )
}

// ----- token endpoint ------------------------------------------------------------------------

fn oauth_error(error: &str) -> Resp {
    Resp::json_plain(400, &json!({ "error": error }))
}

fn token(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    let no_store = |r: Resp| {
        r.with_header("Cache-Control", "no-store")
            .with_header("Pragma", "no-cache")
    };
    if let Err(r) = require(req, &["POST"]) {
        return Outcome::anon(r);
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let username = field("username");
    let outcome = |resp: Resp| Outcome {
        resp: no_store(resp),
        user: username.clone(),
    };
    if !req
        .content_type()
        .contains("application/x-www-form-urlencoded")
    {
        return outcome(oauth_error("invalid_request"));
    }
    let Some(grant) = field("grant_type") else {
        return outcome(oauth_error("invalid_request"));
    };
    match grant.as_str() {
        "password" => {
            let (Some(name), Some(password)) = (username.clone(), field("password")) else {
                return outcome(oauth_error("invalid_request"));
            };
            let mut st = shared.lock();
            let key = shared.resolve_user_name(&st, &name).unwrap_or_default();
            let valid = st.users.get(&key).is_some_and(|u| u.password == password);
            if !valid {
                return outcome(oauth_error("invalid_grant").with_header(
                    "X-Ms-diagnostics",
                    &format!(
                        "28020;source=\"{}\";reason=\"The user name or password is incorrect.\"",
                        pool.fqdn()
                    ),
                ));
            }
            let (token, lifetime) = shared.issue_token(&mut st, &key, pool.kind);
            // Integer seconds as real servers send; rounded up so a sub-second test lifetime
            // does not read as "already expired".
            let expires_in = if lifetime > 0.0 {
                lifetime.ceil() as u64
            } else {
                0
            };
            outcome(Resp::json_plain(
                200,
                &json!({
                    "access_token": token,
                    "expires_in": expires_in,
                    "ms_rtc_identityscope": "local",
                    "token_type": "Bearer",
                }),
            ))
        }
        "urn:microsoft.rtc:passive" => outcome(Resp::json_plain(
            400,
            &json!({
                "error": "invalid_grant",
                "ms_rtc_passiveauthuri": pool.paths.abs("/passiveauth/PassiveAuth.aspx"),
            }),
        )),
        _ => outcome(oauth_error("unsupported_grant_type").with_header(
            "X-Ms-diagnostics",
            &format!(
                "28029;source=\"{}\";reason=\"Authentication type not allowed.\"",
                pool.fqdn()
            ),
        )),
    }
}

// ----- user, applications ----------------------------------------------------------------------

fn user(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
    if let Err(r) = require(req, &["GET"]) {
        return Outcome::anon(r);
    }
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
    drop(st);
    let mut links = serde_json::Map::new();
    links.insert("self".into(), href(pool.paths.user_url()));
    if pool.kind == PoolKind::Pool1 && shared.is_pool2_user(&key) {
        links.insert("redirect".into(), href(shared.pool2.paths.redirect_url()));
    } else {
        let apps = match &shared.foreign {
            Some(f) if pool.kind == PoolKind::Pool1 && shared.is_foreign_apps_user(&key) => {
                f.paths.applications_url()
            }
            _ if pool.kind == PoolKind::Pool1 && shared.is_pool2_apps_user(&key) => {
                shared.pool2.paths.applications_url()
            }
            _ => pool.paths.applications_url(),
        };
        links.insert("applications".into(), href(apps));
    }
    links.insert("xframe".into(), href(pool.paths.xframe_url()));
    Outcome::of(
        Resp::json_plain(200, &json!({ "rel": "user", "_links": links })),
        &name,
    )
}

/// 32-bit FNV-1a of the representation: changes whenever what the client would see changes.
fn etag_of(body: &[u8]) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in body {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("\"{h}\"")
}

fn app_response(
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

fn applications(shared: &Shared, pool: &Pool, req: &Req) -> Outcome {
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
    let body = match req.json_body() {
        Ok(b) => b.unwrap_or_default(),
        Err(r) => return Outcome::of(r, &name),
    };
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
        return Outcome::of(Resp::parameter_failure(&missing, "Required"), &name);
    }
    if !invalid.is_empty() {
        return Outcome::of(
            Resp::parameter_failure(&invalid, "Expected a string of at most 100 characters"),
            &name,
        );
    }
    let [Some(user_agent), Some(endpoint_id), Some(culture), instance_id] =
        <[Option<String>; 4]>::try_from(values).unwrap_or_default()
    else {
        return Outcome::of(Resp::parameter_failure(&["userAgent"], "Required"), &name);
    };
    let user_apps = st
        .users
        .get(&key)
        .map(|u| u.apps.clone())
        .unwrap_or_default();
    // Same endpoint, agent, culture (and instance) on this pool: the docs' multi-tab rule says
    // these share one application, so return the live one instead of making another.
    let existing = user_apps.iter().find(|id| {
        st.apps.get(*id).is_some_and(|a| {
            a.pool == pool.kind
                && a.endpoint_id == endpoint_id
                && a.user_agent == user_agent
                && a.culture == culture
                && a.instance_id == instance_id
        })
    });
    if let Some(id) = existing {
        let app = &st.apps[id];
        // Real servers answer a plain re-POST 200 with the same (possibly available) app.
        let status = if instance_id.is_some() {
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
    let id = loop {
        // 12-digit ids like real servers' (104082042405), never reused within a run.
        let candidate = random_app_id();
        if !st.apps.contains_key(&candidate) && !st.gone.contains_key(&candidate) {
            break candidate;
        }
    };
    let now = Instant::now();
    let app = App {
        id: id.clone(),
        user_key: key.clone(),
        pool: pool.kind,
        user_agent,
        endpoint_id,
        culture,
        instance_id,
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
    };
    let resp = app_response(shared, pool, &app, &st, 201, None)
        .with_header("Location", &pool.paths.route_href(&id, Route::Application));
    st.apps.insert(id.clone(), app);
    if let Some(u) = st.users.get_mut(&key) {
        u.apps.push(id);
    }
    Outcome::of(resp, &name)
}

// ----- application resources -----------------------------------------------------------------

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

fn make_me_available_required() -> Resp {
    Resp::error(
        409,
        "Conflict",
        Some("MakeMeAvailableRequired"),
        "Please make yourself available first.",
    )
}

/// Canonical spelling of a settable availability, compared case-insensitively.
fn canonical_availability(value: &str) -> Option<&'static str> {
    SETTABLE_AVAILABILITIES
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(value.trim()))
}

fn app_route(shared: &Shared, pool: &Pool, req: &Req, c: &Classified) -> Outcome {
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

fn application(shared: &Shared, pool: &Pool, req: &Req, st: &mut State, id: &str) -> Resp {
    match req.method.as_str() {
        "GET" => app_response(shared, pool, &st.apps[id], st, 200, Some(req)),
        "DELETE" => {
            shared.end_app(st, id, GoneReason::Deleted);
            Resp::empty(204)
        }
        _ => Resp::method_not_allowed("GET, DELETE"),
    }
}

fn string_array(
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

fn make_me_available(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    key: &str,
    id: &str,
) -> Resp {
    if let Err(r) = require(req, &["POST"]) {
        return r;
    }
    if st.apps[id].made_available {
        return Resp::error(
            409,
            "Conflict",
            Some("AlreadyExists"),
            "The requested resource already exists. Please wait and try again.",
        );
    }
    let body = match req.json_body() {
        Ok(b) => b.unwrap_or_default(),
        Err(r) => return r,
    };
    let modalities = match string_array(&body, "supportedModalities") {
        Ok(m) => m.unwrap_or_default(),
        Err(r) => return r,
    };
    let mut canonical_modalities = Vec::new();
    for m in &modalities {
        // The reference allows only these two for this operation (UNCONFIRMED against the enum).
        match ["Messaging", "PhoneAudio"]
            .iter()
            .find(|k| k.eq_ignore_ascii_case(m))
        {
            Some(k) => canonical_modalities.push((*k).to_owned()),
            None => {
                return Resp::error(
                    403,
                    "Forbidden",
                    None,
                    "The requested modalities are not supported.",
                )
            }
        }
    }
    let formats = match string_array(&body, "supportedMessageFormats") {
        Ok(f) => f.unwrap_or_default(),
        Err(r) => return r,
    };
    let mut canonical_formats = Vec::new();
    for f in &formats {
        match ["Plain", "Html"].iter().find(|k| k.eq_ignore_ascii_case(f)) {
            Some(k) => canonical_formats.push((*k).to_owned()),
            None => return Resp::parameter_failure(&["supportedMessageFormats"], "Unknown value"),
        }
    }
    let sign_in_as = match get_str_ci(&body, "signInAs") {
        Ok(None) => None,
        Ok(Some(v)) => match canonical_availability(&v) {
            Some(a) => Some(a),
            None => return Resp::parameter_failure(&["signInAs"], "Unknown value"),
        },
        Err(()) => return Resp::parameter_failure(&["signInAs"], "Expected a string"),
    };
    match get_str_ci(&body, "audioPreference") {
        Ok(None) => {}
        Ok(Some(v))
            if ["PhoneAudio", "VoipAudio"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&v)) => {}
        _ => return Resp::parameter_failure(&["audioPreference"], "Unknown value"),
    }
    if get_str_ci(&body, "phoneNumber").is_err() {
        return Resp::parameter_failure(&["phoneNumber"], "Expected a string");
    }

    let seen_before = shared.aggregate(st, key);
    let others_available = st.users[key]
        .apps
        .iter()
        .any(|a| a != id && st.apps.get(a).is_some_and(|x| x.made_available));
    let user = st.users.get_mut(key).expect("authorized user exists");
    let chosen_before = user.chosen.clone();
    match sign_in_as {
        Some(a) => user.chosen = Presence::new(a, None),
        // Default availability is Online unless another endpoint already publishes a choice.
        None if !others_available => user.chosen = Presence::new("Online", None),
        None => {}
    }
    let chosen_changed = user.chosen != chosen_before;
    {
        let app = st.apps.get_mut(id).expect("authorized app exists");
        app.made_available = true;
        app.modalities = canonical_modalities;
        app.message_formats = canonical_formats;
        app.last_activity = Instant::now();
        app.stage = Stage::Active;
        app.comm_version += 1;
    }
    // The confirmation events (EventChannelDetails sample): sender me, then communication.
    let presence = shared.aggregate(st, key);
    let user = &st.users[key];
    let app = &st.apps[id];
    // Real servers send the four `me` events bare (the client GETs what it needs); only the
    // communication event carries its resource. `--embed-self-events` embeds them all.
    let embed = shared.config.embed_self_events;
    let me_ev = resources::event(
        pool,
        id,
        Route::Me,
        "me",
        "updated",
        embed.then(|| resources::me(pool, app, user)),
    );
    let events = [
        (Sender::Me, me_ev),
        (
            Sender::Me,
            resources::event(
                pool,
                id,
                Route::Presence,
                "presence",
                "added",
                embed.then(|| resources::presence(pool, id, &presence)),
            ),
        ),
        (
            Sender::Me,
            resources::event(
                pool,
                id,
                Route::Note,
                "note",
                "added",
                embed.then(|| resources::note(pool, id, user.note.as_deref())),
            ),
        ),
        (
            Sender::Me,
            resources::event(
                pool,
                id,
                Route::Location,
                "location",
                "added",
                embed.then(|| resources::location(pool, id, user.location.as_deref())),
            ),
        ),
        (
            Sender::Communication,
            resources::event(
                pool,
                id,
                Route::Communication,
                "communication",
                "updated",
                Some(resources::communication(pool, app)),
            ),
        ),
    ];
    let app = st.apps.get_mut(id).expect("authorized app exists");
    for (sender, ev) in events {
        shared.push_event(app, sender, ev);
    }
    if chosen_changed {
        shared.broadcast_except(st, key, Route::Presence, Some(id));
    } else if shared.aggregate(st, key) != seen_before {
        // Offline → available: people watching this user hear it.
        shared.notify_watchers(st, key, Route::Presence);
    }
    Resp::empty(204)
}

fn presence(shared: &Shared, pool: &Pool, req: &Req, st: &mut State, key: &str, id: &str) -> Resp {
    if let Err(r) = require(req, &["GET", "POST"]) {
        return r;
    }
    if !st.apps[id].made_available {
        return make_me_available_required();
    }
    if req.method == "GET" {
        return Resp::json(
            200,
            &resources::presence(pool, id, &shared.aggregate(st, key)),
        );
    }
    let body = match req.json_body() {
        Ok(b) => b.unwrap_or_default(),
        Err(r) => return r,
    };
    let requested = match get_str_ci(&body, "availability") {
        Ok(v) => v.or_else(|| req.query_param("availability")),
        Err(()) => return Resp::parameter_failure(&["availability"], "Expected a string"),
    };
    let chosen = match requested.as_deref().map(str::trim) {
        // An empty body resets: the server recomputes, which here means Online.
        None | Some("") => Presence::new("Online", None),
        Some(v) => match canonical_availability(v) {
            Some(a) => Presence::new(a, None),
            None => return Resp::parameter_failure(&["availability"], "Unknown value"),
        },
    };
    if let Some(user) = st.users.get_mut(key) {
        user.chosen = chosen;
    }
    if let Some(app) = st.apps.get_mut(id) {
        app.last_activity = Instant::now();
        app.stage = Stage::Active;
    }
    shared.broadcast(st, key, Route::Presence);
    Resp::empty(204)
}

#[allow(clippy::too_many_arguments)]
fn note_or_location(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    key: &str,
    id: &str,
    route: Route,
) -> Resp {
    if let Err(r) = require(req, &["GET", "POST"]) {
        return r;
    }
    if !st.apps[id].made_available {
        return make_me_available_required();
    }
    let field = if route == Route::Note {
        "message"
    } else {
        "location"
    };
    if req.method == "GET" {
        let user = &st.users[key];
        return Resp::json(
            200,
            &if route == Route::Note {
                resources::note(pool, id, user.note.as_deref())
            } else {
                resources::location(pool, id, user.location.as_deref())
            },
        );
    }
    let body = match req.json_body() {
        Ok(b) => b.unwrap_or_default(),
        Err(r) => return r,
    };
    let value = match get_str_ci(&body, field) {
        Ok(v) => v.or_else(|| req.query_param(field)),
        Err(()) => return Resp::parameter_failure(&[field], "Expected a string"),
    };
    let value = value.filter(|v| !v.trim().is_empty());
    if route == Route::Location && value.as_ref().is_some_and(|v| v.chars().count() > 60) {
        return Resp::parameter_failure(&["location"], "At most 60 characters");
    }
    if let Some(user) = st.users.get_mut(key) {
        if route == Route::Note {
            user.note = value;
        } else {
            user.location = value;
        }
    }
    shared.broadcast(st, key, route);
    Resp::empty(204)
}

fn report_my_activity(shared: &Shared, req: &Req, st: &mut State, key: &str, id: &str) -> Resp {
    if let Err(r) = require(req, &["POST"]) {
        return r;
    }
    let app = st.apps.get_mut(id).expect("authorized app exists");
    if !app.made_available {
        return make_me_available_required();
    }
    app.last_activity = Instant::now();
    app.activity_reports += 1;
    if app.stage != Stage::Active {
        app.stage = Stage::Active;
        shared.broadcast(st, key, Route::Presence);
    }
    Resp::empty(204)
}

fn plain_resource(pool: &Pool, req: &Req, st: &State, key: &str, id: &str, c: &Classified) -> Resp {
    let Some(def) = c.link else {
        return Resp::not_found();
    };
    if let Err(r) = require(req, &["GET"]) {
        return r;
    }
    let app = &st.apps[id];
    let user = &st.users[key];
    let body = match (def.route, def.rel, def.owner) {
        (Route::Me, _, _) => resources::me(pool, app, user),
        (Route::Policies, _, _) => resources::policies(pool, app, user),
        (Route::People, "self", Owner::People) => resources::people(pool, app),
        (Route::Communication, "self", Owner::Communication) => resources::communication(pool, app),
        (Route::Other, "self", Owner::OnlineMeetings) => resources::online_meetings(pool, app),
        _ => resources::minimal(pool, app, def),
    };
    Resp::json(200, &body)
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
