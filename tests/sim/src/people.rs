//! People: `search` over the configured users (by name, SIP URI or e-mail), contact resources
//! keyed by e-mail with `contactPresence`, `contactNote` and `contactLocation`, and
//! `presenceSubscriptions` (create with `duration`, extend, add and remove memberships, delete,
//! expiry). Contact changes reach subscribers through [`Shared::notify_watchers`].

use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::http::{get_ci, href, Req, Resp};
use crate::paths::{Classified, Owner};
use crate::resources;
use crate::state::{random_hex, secs, user_key, Pool, Shared, State, Subscription};

/// Longest subscription accepted, in minutes (a day; the docs give no bound).
const MAX_DURATION_MIN: u64 = 1440;
/// Search results returned when the request gives no `limit`.
const DEFAULT_LIMIT: usize = 100;

fn bad(names: &[&str], why: &str) -> Resp {
    Resp::parameter_failure(names, why)
}

/// Answers a request below the application's `people` resource.
pub(crate) fn handle(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    id: &str,
    c: &Classified,
) -> Resp {
    let paths = &pool.paths;
    let fold = |s: String| {
        if paths.tolerant() {
            s.to_ascii_lowercase()
        } else {
            s
        }
    };
    let base = fold(paths.suffix_of(Owner::People, "self"));
    let Some(rest) = c.rest.strip_prefix(base.as_str()) else {
        return Resp::not_found();
    };
    let below = |rel: &str| {
        let s = fold(paths.suffix_of(Owner::People, rel));
        s.strip_prefix(base.as_str()).unwrap_or(&s).to_owned()
    };
    let (search, subs, contacts, groups) = (
        below("search"),
        below("presenceSubscriptions"),
        below("myContacts"),
        below("myGroups"),
    );
    let app = &st.apps[id];
    if rest.is_empty() {
        return get_only(req, || resources::people(pool, app));
    }
    if rest == search {
        return get_only(req, || search_result(pool, req, st, id));
    }
    if rest == contacts || rest == groups {
        let rel = if rest == contacts {
            "myContacts"
        } else {
            "myGroups"
        };
        let embedded = if rest == contacts { "contact" } else { "group" };
        let self_href = paths.app_href(id, &paths.suffix_of(Owner::People, rel));
        return get_only(
            req,
            || json!({ "_links": { "self": href(self_href.clone()) }, "_embedded": { embedded: [] }, "rel": rel }),
        );
    }
    if rest == subs {
        return subscriptions(shared, pool, req, st, id);
    }
    if let Some(sub_rest) = rest.strip_prefix(&format!("{subs}/")) {
        return subscription(shared, pool, req, st, id, sub_rest);
    }
    contact(shared, pool, req, st, id, rest.trim_start_matches('/'))
}

fn get_only(req: &Req, body: impl FnOnce() -> Value) -> Resp {
    if req.method != "GET" {
        return Resp::method_not_allowed("GET");
    }
    Resp::json(200, &body())
}

/// `search?query=Q[&limit=N]`: configured users whose display name, SIP URI or e-mail contains
/// Q (case-insensitive), sorted by address.
fn search_result(pool: &Pool, req: &Req, st: &State, id: &str) -> Value {
    let query = req.query_param("query").unwrap_or_default().to_lowercase();
    let limit = req
        .query_param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT);
    let needle = query.trim().trim_start_matches("sip:").to_owned();
    let mut keys: Vec<&String> = st
        .users
        .iter()
        .filter(|(key, user)| {
            !needle.is_empty()
                && (key.contains(&needle)
                    || user.name.to_lowercase().contains(&needle)
                    || user
                        .name
                        .split('@')
                        .next()
                        .is_some_and(|local| local.to_lowercase().contains(&needle)))
        })
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    let more = keys.len() > limit;
    let found: Vec<Value> = keys
        .into_iter()
        .take(limit)
        .map(|k| resources::contact(pool, id, k, &st.users[k]))
        .collect();
    let self_path = pool.paths.suffix_of(Owner::People, "search");
    json!({
        "moreResultsAvailable": more,
        "_links": { "self": href(pool.paths.app_href(id, &self_path)) },
        "_embedded": { "contact": found },
        "rel": "search",
    })
}

/// `people/<e-mail>[/presence|/note|/location]`.
fn contact(shared: &Shared, pool: &Pool, req: &Req, st: &State, id: &str, rest: &str) -> Resp {
    let (who, tail) = match rest.split_once('/') {
        Some((w, t)) => (w, t),
        None => (rest, ""),
    };
    let key = user_key(&crate::http::decode_segment(who));
    let Some(user) = st.users.get(&key) else {
        return Resp::not_found();
    };
    match tail.to_ascii_lowercase().as_str() {
        "" => get_only(req, || resources::contact(pool, id, &key, user)),
        "presence" => get_only(req, || {
            resources::contact_presence(pool, id, &key, &shared.aggregate(st, &key))
        }),
        "note" => get_only(req, || {
            resources::contact_note(pool, id, &key, user.note.as_deref())
        }),
        "location" => get_only(req, || {
            resources::contact_location(pool, id, &key, user.location.as_deref())
        }),
        _ => Resp::not_found(),
    }
}

fn subscription_href(pool: &Pool, id: &str, sub: &str, tail: &str) -> String {
    let subs = pool.paths.suffix_of(Owner::People, "presenceSubscriptions");
    pool.paths.app_href(id, &format!("{subs}/{sub}{tail}"))
}

fn subscription_body(pool: &Pool, id: &str, s: &Subscription) -> Value {
    let link = |tail: &str| href(subscription_href(pool, id, &s.id, tail));
    json!({
        "id": s.id,
        "duration": s.duration_min,
        "_links": {
            "self": link(""),
            "memberships": link("/memberships"),
            "addToPresenceSubscription": link("/memberships"),
        },
        "rel": "presenceSubscription",
    })
}

fn membership_body(pool: &Pool, id: &str, sub: &str, key: &str) -> Value {
    json!({
        "_links": {
            "self": href(subscription_href(pool, id, sub, &format!("/memberships/{key}"))),
            "contact": href(resources::contact_href(pool, id, key, "")),
            "presenceSubscription": href(subscription_href(pool, id, sub, "")),
        },
        "rel": "presenceSubscriptionMembership",
    })
}

/// `duration` in minutes from the body or the query; `Err` is the 400 to answer.
fn duration_of(body: &Map<String, Value>, req: &Req) -> Result<Option<u64>, Resp> {
    let raw = match get_ci(body, "duration") {
        Some(Value::Number(n)) => Some(n.as_f64().unwrap_or(-1.0)),
        Some(Value::String(s)) => Some(s.trim().parse::<f64>().unwrap_or(-1.0)),
        Some(Value::Null) | None => req
            .query_param("duration")
            .map(|d| d.trim().parse::<f64>().unwrap_or(-1.0)),
        Some(_) => Some(-1.0),
    };
    match raw {
        None => Ok(None),
        Some(d) if d >= 1.0 && d <= MAX_DURATION_MIN as f64 && d.fract() == 0.0 => {
            Ok(Some(d as u64))
        }
        Some(_) => Err(bad(
            &["duration"],
            "Expected a whole number of minutes in [1, 1440]",
        )),
    }
}

/// The user keys named by `uris` (SIP URIs or e-mail addresses); `Err` is the 400 to answer.
fn members_of(st: &State, body: &Map<String, Value>) -> Result<Vec<String>, Resp> {
    let uris = match get_ci(body, "uris") {
        Some(Value::Array(items)) => items,
        _ => return Err(bad(&["uris"], "Expected an array of SIP URIs")),
    };
    let mut keys = Vec::new();
    for u in uris {
        let Some(text) = u.as_str() else {
            return Err(bad(&["uris"], "Expected an array of SIP URIs"));
        };
        let key = user_key(text);
        if !st.users.contains_key(&key) {
            return Err(bad(&["uris"], "Unknown contact"));
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn body_of(req: &Req) -> Result<Map<String, Value>, Resp> {
    req.json_body().map(Option::unwrap_or_default)
}

/// `presenceSubscriptions`: GET lists, POST `{duration, uris}` creates (201).
fn subscriptions(shared: &Shared, pool: &Pool, req: &Req, st: &mut State, id: &str) -> Resp {
    match req.method.as_str() {
        "GET" => {
            let now = Instant::now();
            let subs: Vec<Value> = st.apps[id]
                .subscriptions
                .iter()
                .filter(|s| s.expires_at > now)
                .map(|s| subscription_body(pool, id, s))
                .collect();
            let self_path = pool.paths.suffix_of(Owner::People, "presenceSubscriptions");
            Resp::json(
                200,
                &json!({
                    "_links": { "self": href(pool.paths.app_href(id, &self_path)) },
                    "_embedded": { "presenceSubscription": subs },
                    "rel": "presenceSubscriptions",
                }),
            )
        }
        "POST" => {
            let body = match body_of(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let duration = match duration_of(&body, req) {
                Ok(Some(d)) => d,
                Ok(None) => return bad(&["duration"], "Required"),
                Err(r) => return r,
            };
            let members = match members_of(st, &body) {
                Ok(m) => m,
                Err(r) => return r,
            };
            let sub = Subscription {
                id: random_hex(8),
                members,
                duration_min: duration,
                expires_at: Instant::now()
                    + secs(duration as f64 * shared.config.subscription_minute_s),
            };
            let body = subscription_body(pool, id, &sub);
            let location = subscription_href(pool, id, &sub.id, "");
            if let Some(app) = st.apps.get_mut(id) {
                app.subscriptions.push(sub);
            }
            Resp::json(201, &body).with_header("Location", &location)
        }
        _ => Resp::method_not_allowed("GET, POST"),
    }
}

/// `presenceSubscriptions/<sub>[/memberships[/<e-mail>]]`.
fn subscription(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    id: &str,
    rest: &str,
) -> Resp {
    let (sub_id, tail) = match rest.split_once('/') {
        Some((s, t)) => (s, t),
        None => (rest, ""),
    };
    let now = Instant::now();
    let Some(index) = st.apps[id]
        .subscriptions
        .iter()
        .position(|s| s.id.eq_ignore_ascii_case(sub_id) && s.expires_at > now)
    else {
        // Expired or deleted: gone, the client must create a new one.
        return Resp::not_found();
    };
    let at = SubAt { id, index };
    let membership = tail.to_ascii_lowercase();
    match membership.as_str() {
        "" => subscription_itself(shared, pool, req, st, at, now),
        "memberships" => memberships(pool, req, st, at),
        m => match m.strip_prefix("memberships/") {
            Some(member) => one_membership(pool, req, st, at, member),
            None => Resp::not_found(),
        },
    }
}

/// A live subscription: its application and its place in the application's list.
#[derive(Clone, Copy)]
struct SubAt<'a> {
    id: &'a str,
    index: usize,
}

impl SubAt<'_> {
    fn get(self, st: &State) -> &Subscription {
        &st.apps[self.id].subscriptions[self.index]
    }

    fn get_mut(self, st: &mut State) -> &mut Subscription {
        &mut st
            .apps
            .get_mut(self.id)
            .expect("authorized app")
            .subscriptions[self.index]
    }
}

/// The subscription itself: GET, extend (POST) or DELETE.
fn subscription_itself(
    shared: &Shared,
    pool: &Pool,
    req: &Req,
    st: &mut State,
    at: SubAt<'_>,
    now: Instant,
) -> Resp {
    match req.method.as_str() {
        "GET" => Resp::json(200, &subscription_body(pool, at.id, at.get(st))),
        // Extend: `POST <subscription>?duration=N` (captured) or `{duration}` in the body.
        "POST" => {
            let body = match body_of(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let duration = match duration_of(&body, req) {
                Ok(d) => d,
                Err(r) => return r,
            };
            let minute = shared.config.subscription_minute_s;
            let sub = at.get_mut(st);
            if let Some(d) = duration {
                sub.duration_min = d;
            }
            sub.expires_at = now + secs(sub.duration_min as f64 * minute);
            Resp::empty(204)
        }
        "DELETE" => {
            st.apps
                .get_mut(at.id)
                .expect("authorized app")
                .subscriptions
                .remove(at.index);
            Resp::empty(204)
        }
        _ => Resp::method_not_allowed("GET, POST, DELETE"),
    }
}

/// `memberships`: list them (GET) or add contacts (POST).
fn memberships(pool: &Pool, req: &Req, st: &mut State, at: SubAt<'_>) -> Resp {
    match req.method.as_str() {
        "GET" => {
            let sub = at.get(st);
            let members: Vec<Value> = sub
                .members
                .iter()
                .map(|k| membership_body(pool, at.id, &sub.id, k))
                .collect();
            Resp::json(
                200,
                &json!({
                    "_links": { "self": href(subscription_href(pool, at.id, &sub.id, "/memberships")) },
                    "_embedded": { "presenceSubscriptionMembership": members },
                    "rel": "memberships",
                }),
            )
        }
        "POST" => {
            let body = match body_of(req) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let added = match members_of(st, &body) {
                Ok(m) => m,
                Err(r) => return r,
            };
            let sub = at.get_mut(st);
            for key in added {
                if !sub.members.contains(&key) {
                    sub.members.push(key);
                }
            }
            Resp::empty(204)
        }
        _ => Resp::method_not_allowed("GET, POST"),
    }
}

/// `memberships/<e-mail>`: one membership, read (GET) or removed (DELETE).
fn one_membership(pool: &Pool, req: &Req, st: &mut State, at: SubAt<'_>, member: &str) -> Resp {
    let key = user_key(&crate::http::decode_segment(member));
    let sub_ref = at.get(st);
    if !sub_ref.members.contains(&key) {
        return Resp::not_found();
    }
    match req.method.as_str() {
        "GET" => Resp::json(200, &membership_body(pool, at.id, &sub_ref.id, &key)),
        "DELETE" => {
            at.get_mut(st).members.retain(|k| *k != key);
            Resp::empty(204)
        }
        _ => Resp::method_not_allowed("GET, DELETE"),
    }
}
