//! The user's own resources inside an application: makeMeAvailable, presence, note, location,
//! reportMyActivity, and the plain resources that only answer GET.

use std::time::Instant;

use serde_json::{Map, Value};

use super::applications::string_array;
use super::require;
use crate::config::SETTABLE_AVAILABILITIES;
use crate::http::{get_str_ci, Req, Resp};
use crate::paths::{Classified, Owner, Route};
use crate::resources;
use crate::state::{Pool, Presence, Sender, Shared, Stage, State};

pub(super) fn make_me_available_required() -> Resp {
    Resp::error(
        409,
        "Conflict",
        Some("MakeMeAvailableRequired"),
        "Please make yourself available first.",
    )
}

/// Canonical spelling of a settable availability, compared case-insensitively.
pub(super) fn canonical_availability(value: &str) -> Option<&'static str> {
    SETTABLE_AVAILABILITIES
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(value.trim()))
}

/// What a makeMeAvailable body asks for, in canonical spellings.
struct Request {
    modalities: Vec<String>,
    message_formats: Vec<String>,
    sign_in_as: Option<&'static str>,
}

pub(super) fn make_me_available(
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
    let request = match read_request(req) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let seen_before = shared.aggregate(st, key);
    let chosen_changed = choose_sign_in_presence(st, key, id, request.sign_in_as);
    mark_available(st, id, request);
    push_confirmation_events(shared, pool, st, key, id);
    if chosen_changed {
        shared.broadcast_except(st, key, Route::Presence, Some(id));
    } else if shared.aggregate(st, key) != seen_before {
        // Offline → available: people watching this user hear it.
        shared.notify_watchers(st, key, Route::Presence);
    }
    Resp::empty(204)
}

/// Reads and checks the body, in the order real servers report the first bad field.
fn read_request(req: &Req) -> Result<Request, Resp> {
    let body = req.json_body()?.unwrap_or_default();
    let modalities = canonical_modalities(&body)?;
    let message_formats = canonical_formats(&body)?;
    let sign_in_as = match get_str_ci(&body, "signInAs") {
        Ok(None) => None,
        Ok(Some(v)) => match canonical_availability(&v) {
            Some(a) => Some(a),
            None => return Err(Resp::parameter_failure(&["signInAs"], "Unknown value")),
        },
        Err(()) => return Err(Resp::parameter_failure(&["signInAs"], "Expected a string")),
    };
    match get_str_ci(&body, "audioPreference") {
        Ok(None) => {}
        Ok(Some(v))
            if ["PhoneAudio", "VoipAudio"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&v)) => {}
        _ => {
            return Err(Resp::parameter_failure(
                &["audioPreference"],
                "Unknown value",
            ))
        }
    }
    if get_str_ci(&body, "phoneNumber").is_err() {
        return Err(Resp::parameter_failure(
            &["phoneNumber"],
            "Expected a string",
        ));
    }
    Ok(Request {
        modalities,
        message_formats,
        sign_in_as,
    })
}

/// `supportedModalities` in canonical spelling; any other value is 403.
fn canonical_modalities(body: &Map<String, Value>) -> Result<Vec<String>, Resp> {
    let modalities = string_array(body, "supportedModalities")?.unwrap_or_default();
    modalities
        .iter()
        .map(|m| {
            // The reference allows only these two for this operation (UNCONFIRMED against the enum).
            ["Messaging", "PhoneAudio"]
                .iter()
                .find(|k| k.eq_ignore_ascii_case(m))
                .map(|k| (*k).to_owned())
                .ok_or_else(|| {
                    Resp::error(
                        403,
                        "Forbidden",
                        None,
                        "The requested modalities are not supported.",
                    )
                })
        })
        .collect()
}

/// `supportedMessageFormats` in canonical spelling.
fn canonical_formats(body: &Map<String, Value>) -> Result<Vec<String>, Resp> {
    let formats = string_array(body, "supportedMessageFormats")?.unwrap_or_default();
    formats
        .iter()
        .map(|f| {
            ["Plain", "Html"]
                .iter()
                .find(|k| k.eq_ignore_ascii_case(f))
                .map(|k| (*k).to_owned())
                .ok_or_else(|| {
                    Resp::parameter_failure(&["supportedMessageFormats"], "Unknown value")
                })
        })
        .collect()
}

/// Applies `signInAs` (or the default) to the user's choice; whether the choice changed.
fn choose_sign_in_presence(
    st: &mut State,
    key: &str,
    id: &str,
    sign_in_as: Option<&'static str>,
) -> bool {
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
    user.chosen != chosen_before
}

fn mark_available(st: &mut State, id: &str, request: Request) {
    let app = st.apps.get_mut(id).expect("authorized app exists");
    app.made_available = true;
    app.modalities = request.modalities;
    app.message_formats = request.message_formats;
    app.last_activity = Instant::now();
    app.stage = Stage::Active;
    app.comm_version += 1;
}

/// The confirmation events (EventChannelDetails sample): sender me, then communication.
fn push_confirmation_events(shared: &Shared, pool: &Pool, st: &mut State, key: &str, id: &str) {
    let presence = shared.aggregate(st, key);
    let user = &st.users[key];
    let app = &st.apps[id];
    // Real servers send the four `me` events bare (the client GETs what it needs); only the
    // communication event carries its resource. `--embed-self-events` embeds them all.
    let embed = shared.config.embed_self_events;
    let event = |route, rel, kind, embedded| {
        (
            Sender::Me,
            resources::event(pool, id, route, rel, kind, embedded),
        )
    };
    let events = [
        event(
            Route::Me,
            "me",
            "updated",
            embed.then(|| resources::me(pool, app, user)),
        ),
        event(
            Route::Presence,
            "presence",
            "added",
            embed.then(|| resources::presence(pool, id, &presence)),
        ),
        event(
            Route::Note,
            "note",
            "added",
            embed.then(|| resources::note(pool, id, user.note.as_deref())),
        ),
        event(
            Route::Location,
            "location",
            "added",
            embed.then(|| resources::location(pool, id, user.location.as_deref())),
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
}

pub(super) fn presence(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    key: &str,
    id: &str,
) -> Resp {
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
pub(super) fn note_or_location(
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

pub(super) fn report_my_activity(
    shared: &Shared,
    req: &Req,
    st: &mut State,
    key: &str,
    id: &str,
) -> Resp {
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

pub(super) fn plain_resource(
    pool: &Pool,
    req: &Req,
    st: &State,
    key: &str,
    id: &str,
    c: &Classified,
) -> Resp {
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
